/**
 * `engram backup --out FILE`: a consistent backup of a running server (GET /admin/backup),
 * written to FILE.partial and renamed once its trailer arrived, so FILE is always whole.
 * `engram restore --in FILE --data-dir DIR`: the backup into a new data dir, checked line by
 * line and against its checksum; `engram serve --data-dir DIR` then serves exactly the snapshot.
 * `engram repair --data-dir DIR`: a damaged data dir, recovered as far as it goes, with a report.
 */
import { createWriteStream, renameSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { once } from 'node:events';
import { RestoreError, restoreBackup } from '../storage/backup.js';
import { failureText, tlsFetch, tlsMaterial } from '../client/tls.js';
import { parse, serverUrl, tlsFiles, UsageError } from './client-commands.js';
import { isEngramProcess, readDiscovery } from './discovery.js';

export async function runBackup(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let out: string;
  let url: string;
  let token: string | undefined;
  let fetchOver: typeof fetch;
  try {
    const p = parse(args);
    const o = p.flags.get('--out');
    if (o === undefined) throw new UsageError('--out FILE is required');
    out = resolve(o);
    url = serverUrl(p, env);
    token = p.flags.get('--token') ?? env.ENGRAM_TOKEN;
    fetchOver = tlsFetch(tlsMaterial(tlsFiles(p, env)));
  } catch (err) {
    process.stderr.write(`engram backup: ${(err as Error).message}\n`);
    return 2;
  }
  const partial = `${out}.partial`;
  try {
    const res = await fetchOver(`${url}/admin/backup`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
    if (!res.ok || res.body === null) {
      const text = await res.text();
      process.stderr.write(`engram backup: the server answered ${res.status}: ${text.slice(0, 300)}\n`);
      return 1;
    }
    const file = createWriteStream(partial);
    let tail = '';
    let bytes = 0;
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      bytes += chunk.length;
      tail = (tail + Buffer.from(chunk).toString('utf8')).slice(-300);
      if (!file.write(chunk)) await once(file, 'drain');
    }
    file.end();
    await once(file, 'finish');
    const last = tail.trimEnd().split('\n').pop() ?? '';
    let trailer: { end?: boolean; pairs?: number } = {};
    try {
      trailer = JSON.parse(last) as { end?: boolean; pairs?: number };
    } catch {
      // no trailer: the answer ended early
    }
    if (trailer.end !== true) throw new Error('the backup ended early (the server stopped or failed mid-way); nothing was kept');
    renameSync(partial, out);
    process.stdout.write(`backup of ${trailer.pairs} stored pairs (${bytes} bytes) written to ${out}\n`);
    return 0;
  } catch (err) {
    rmSync(partial, { force: true });
    process.stderr.write(`engram backup: ${failureText(err, url.startsWith('https:'))}\n`);
    return 1;
  }
}

export async function runRestore(args: string[]): Promise<number> {
  let file: string;
  let dataDir: string;
  try {
    const p = parse(args);
    const i = p.flags.get('--in');
    const d = p.flags.get('--data-dir');
    if (i === undefined || d === undefined) throw new UsageError('--in FILE and --data-dir DIR are required');
    file = resolve(i);
    dataDir = resolve(d);
  } catch (err) {
    process.stderr.write(`engram restore: ${(err as Error).message}\n`);
    return 2;
  }
  try {
    const r = await restoreBackup(file, dataDir);
    process.stdout.write(`restored ${r.pairs} stored pairs from the backup of ${r.createdAt} into ${dataDir}\n`);
    return 0;
  } catch (err) {
    process.stderr.write(`engram restore: ${err instanceof RestoreError ? err.message : String(err)}\n`);
    return 1;
  }
}

/** `engram repair --data-dir DIR [--no-copy]`: see storage/repair.ts. */
export async function runRepair(args: string[]): Promise<number> {
  let dataDir: string;
  let copy: boolean;
  try {
    const p = parse(args, new Set(['--no-copy']));
    copy = !p.bools.has('--no-copy');
    const d = p.flags.get('--data-dir');
    if (d === undefined) throw new UsageError('--data-dir DIR is required');
    dataDir = resolve(d);
  } catch (err) {
    process.stderr.write(`engram repair: ${(err as Error).message}\n`);
    return 2;
  }
  const running = readDiscovery(dataDir);
  if (running !== undefined && isEngramProcess(running.pid)) {
    process.stderr.write(`engram repair: the Engram server with pid ${running.pid} is using ${dataDir}; stop it first\n`);
    return 1;
  }
  try {
    const { repairDataDir } = await import('../storage/repair.js');
    const r = await repairDataDir(dataDir, { copy });
    const out = (s: string) => process.stdout.write(s + '\n');
    if (r.copy) out(`copied the data dir to ${r.copy} before repairing`);
    out(`repaired ${dataDir}: ${r.units} units in ${r.contexts} contexts recovered`);
    for (const m of r.missing) out(`  lost: ${m.count} units of context ${JSON.stringify(m.context)} (client ${m.client}): seqs ${m.seqs}`);
    for (const h of r.headsRaised) out(`  context ${JSON.stringify(h.context)} (client ${h.client}): head raised from ${h.from} to ${h.to}, the highest unit stored`);
    for (const f of r.lostFiles)
      out(`  file set aside by LevelDB: lost/${f.name} (${f.bytes} bytes; what could be read of it was recovered, units that could not are listed as lost)`);
    if (r.missing.length === 0) out('  no unit was lost');
    return 0;
  } catch (err) {
    process.stderr.write(`engram repair: ${(err as Error).message}\n`);
    return 1;
  }
}
