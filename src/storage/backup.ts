/**
 * Backups: every key and value of the LevelDB log, read through one iterator (LevelDB gives an
 * iterator a snapshot, so the backup is one consistent moment even while writes go on), as
 * NDJSON: a header line, one `{"k", "v"}` line per pair (value base64), and a trailer with the
 * pair count and the SHA-256 of every line before it, so a truncated or altered file is refused
 * on restore. Restoring writes the pairs into a new data dir: units, contexts, idempotency keys,
 * locks and the fencing-token counter come back exactly; search indexes are rebuilt from the log.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { ClassicLevel } from 'classic-level';
import { newEpoch } from '../basics/ids.js';
import { keys } from './keys.js';

export const BACKUP_FORMAT = 'engram-backup';
export const BACKUP_VERSION = 1;

export interface BackupHeader {
  format: typeof BACKUP_FORMAT;
  version: number;
  createdAt: string;
  serverVersion: string;
}

export interface BackupTrailer {
  end: true;
  pairs: number;
  sha256: string;
}

/** The backup's lines (each with its newline), from the pairs of one snapshot. */
export async function* backupLines(pairs: AsyncIterable<[string, Buffer]>, serverVersion: string): AsyncGenerator<string> {
  const hash = createHash('sha256');
  const emit = (obj: unknown) => {
    const line = JSON.stringify(obj) + '\n';
    hash.update(line);
    return line;
  };
  const header: BackupHeader = { format: BACKUP_FORMAT, version: BACKUP_VERSION, createdAt: new Date().toISOString(), serverVersion };
  yield emit(header);
  let n = 0;
  for await (const [k, v] of pairs) {
    n++;
    yield emit({ k, v: v.toString('base64') });
  }
  const trailer: BackupTrailer = { end: true, pairs: n, sha256: hash.digest('hex') };
  yield JSON.stringify(trailer) + '\n';
}

export class RestoreError extends Error {}

/** Writes a backup file into a new (absent or empty) data dir; refuses a damaged or partial file and leaves nothing behind. */
export async function restoreBackup(file: string, dataDir: string): Promise<{ pairs: number; createdAt: string }> {
  if (existsSync(dataDir) && readdirSync(dataDir).length > 0) throw new RestoreError(`${dataDir} is not empty: restore into a new data dir`);
  if (!existsSync(file)) throw new RestoreError(`${file} does not exist`);
  mkdirSync(dataDir, { recursive: true });
  const db = new ClassicLevel<string, Buffer>(dataDir, { keyEncoding: 'utf8', valueEncoding: 'buffer' });
  await db.open();
  let ok = false;
  try {
    const hash = createHash('sha256');
    let header: BackupHeader | undefined;
    let trailer: BackupTrailer | undefined;
    let pairs = 0;
    let batch = db.batch();
    let lineNo = 0;
    for await (const line of createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity })) {
      lineNo++;
      if (trailer !== undefined) throw new RestoreError(`line ${lineNo}: data after the end of the backup`);
      let obj: Record<string, unknown>;
      try {
        obj = JSON.parse(line) as Record<string, unknown>;
      } catch {
        throw new RestoreError(`line ${lineNo}: not JSON (the file is damaged)`);
      }
      if (header === undefined) {
        if (obj.format !== BACKUP_FORMAT) throw new RestoreError(`${file} is not an Engram backup`);
        if (obj.version !== BACKUP_VERSION) throw new RestoreError(`backup version ${String(obj.version)}; this build restores version ${BACKUP_VERSION}`);
        header = obj as unknown as BackupHeader;
        hash.update(line + '\n');
        continue;
      }
      if (obj.end === true) {
        trailer = obj as unknown as BackupTrailer;
        continue;
      }
      if (typeof obj.k !== 'string' || typeof obj.v !== 'string') throw new RestoreError(`line ${lineNo}: not a key and value`);
      hash.update(line + '\n');
      batch.put(obj.k, Buffer.from(obj.v, 'base64'));
      if (++pairs % 4096 === 0) {
        await batch.write();
        batch = db.batch();
      }
    }
    if (header === undefined) throw new RestoreError(`${file} is empty`);
    if (trailer === undefined) throw new RestoreError(`${file} ends before the backup does (truncated after ${pairs} pairs)`);
    if (trailer.pairs !== pairs) throw new RestoreError(`the backup says ${trailer.pairs} pairs but holds ${pairs}`);
    if (trailer.sha256 !== hash.digest('hex')) throw new RestoreError('the backup does not match its checksum (the file was altered or damaged)');
    // The restored history may be older than what readers of the backed-up server saw: a new epoch tells them.
    batch.put(keys.meta('epoch'), Buffer.from(newEpoch()));
    await batch.write({ sync: true });
    ok = true;
    return { pairs, createdAt: header.createdAt };
  } finally {
    await db.close();
    if (!ok) rmSync(dataDir, { recursive: true, force: true });
  }
}
