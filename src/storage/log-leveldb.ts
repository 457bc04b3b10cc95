/**
 * The embedded log on LevelDB (classic-level). One process per data dir: LevelDB
 * holds a LOCK file, and a second server on the same dir fails to open.
 */
import { ClassicLevel } from 'classic-level';
import { statfsSync } from 'node:fs';
import { pack, unpack } from 'msgpackr';
import { diskFull, isNoSpace } from './disk-full.js';
import {
  deletedContext,
  onlyListener,
  reportStored,
  trimmedContext,
  type CommitBatch,
  type ContextDeletion,
  type ContextTrim,
  type CommittedListener,
  type ContextListOptions,
  type ContextOutcome,
  type IdempotencyEntry,
  type Log,
  type LogCapabilities,
  type PositionedUnit,
  type SnapshotRecord,
  type SpaceUsage,
  type UnitLocation,
} from '../engine/log.js';
import type { ContextRecord } from '../basics/types.js';
import { keys, parseExpiryKey } from './keys.js';
import { AFTER_SEP, SEP } from '../basics/compound-key.js';
import { LevelLockStore } from './lock-store-leveldb.js';
import { newEpoch } from '../basics/ids.js';

const DEFAULT_WRITE_BUFFER = 4 * 1024 * 1024;
const DEFAULT_CACHE = 8 * 1024 * 1024;

/** Bumped when the key schema or value encodings change incompatibly. */
const FORMAT_VERSION = '1';
/** Metadata: the highest position of a deleted or trimmed unit (lastPosition never goes below it). */
const DELETED_THROUGH = 'positions.deletedThrough';

export interface LevelLogOptions {
  /** fsync each committed batch (slower; survives power loss, not only process crashes). */
  sync: boolean;
  /** LevelDB memtable size in bytes; larger means fewer flushes and compactions under write load. */
  writeBufferSize?: number;
  /** LevelDB block cache in bytes. */
  cacheSize?: number;
  /** Snappy-compress table blocks (less disk, more CPU in compactions). */
  compression?: boolean;
  /** Read every stored block once at open, so damage stops the start instead of surfacing later. */
  verifyOnStart?: boolean;
}

/** What a deletion or a trim removes: units, the bytes of their JSON, their positions and ids. */
interface Found {
  units: number;
  bytes: number;
  positions: number[];
  ids: string[];
}

/** Keys are UTF-8 strings; values are msgpack Buffers or UTF-8 strings (unit JSON). */
type BatchOp = { type: 'put'; key: string; value: Buffer | string } | { type: 'del'; key: string };

export class StorageOpenError extends Error {
  constructor(
    message: string,
    readonly reason: 'locked' | 'corrupt' | 'format' | 'io',
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'StorageOpenError';
  }
}

function vectorBytes(v: Float32Array): Buffer {
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

function bytesVector(b: Buffer): Float32Array {
  // Copy: LevelDB's buffer may be unaligned for a Float32Array view.
  const out = new Float32Array(b.byteLength / 4);
  new Uint8Array(out.buffer).set(b);
  return out;
}

/** Puts the separately stored head (headSeq, updatedAt) into a record. */
function withHead(record: ContextRecord, head: Buffer | undefined): ContextRecord {
  if (head !== undefined) {
    const [headSeq, updatedAt] = unpack(head) as [number, number];
    record.headSeq = headSeq;
    record.updatedAt = updatedAt;
  }
  return record;
}

const MiB = 1024 * 1024;
/** How often a full disk is checked for room again. */
const SPACE_CHECK_MS = 500;

export class LevelLog implements Log {
  /** Only this process writes it. */
  readonly capabilities: LogCapabilities = { sharedWriters: false };
  private epochName: string | undefined;
  private readonly db: ClassicLevel<string, Buffer>;
  private listener: CommittedListener | undefined;

  constructor(
    readonly location: string,
    private readonly options: LevelLogOptions,
  ) {
    this.db = new ClassicLevel<string, Buffer>(location, {
      keyEncoding: 'utf8',
      valueEncoding: 'buffer',
      writeBufferSize: options.writeBufferSize ?? DEFAULT_WRITE_BUFFER,
      cacheSize: options.cacheSize ?? DEFAULT_CACHE,
      compression: options.compression ?? true,
    });
  }

  follow(listener: CommittedListener): void {
    this.listener = onlyListener(this.listener, listener);
  }

  /** Every write to it is this process's, applied before it was answered. */
  async catchUp(): Promise<void> {}

  async open(): Promise<void> {
    try {
      await this.db.open();
    } catch (err) {
      const code = (err as { cause?: { code?: string } }).cause?.code;
      const detail = (err as { cause?: Error }).cause?.message ?? String(err);
      if (code === 'LEVEL_LOCKED') {
        throw new StorageOpenError(`data dir ${this.location} is in use by another process (${detail})`, 'locked', { cause: err });
      }
      if (code === 'LEVEL_CORRUPTION') {
        throw new StorageOpenError(
          `data dir ${this.location} is damaged: ${detail}. Stop here and run: engram repair --data-dir ${this.location} (it copies the dir first, recovers what it can and reports what was lost)`,
          'corrupt',
          { cause: err },
        );
      }
      throw new StorageOpenError(`cannot open data dir ${this.location}: ${detail}`, 'io', { cause: err });
    }
    const format = await this.db.get<string, string>(keys.meta('format'), { valueEncoding: 'utf8' });
    if (format === undefined) {
      await this.db.put(keys.meta('format'), FORMAT_VERSION, { valueEncoding: 'utf8', sync: true });
    } else if (format !== FORMAT_VERSION) {
      await this.db.close();
      throw new StorageOpenError(`data dir ${this.location} has storage format ${format}; this build reads format ${FORMAT_VERSION}`, 'format');
    }
    this.epochName = await this.db.get<string, string>(keys.meta('epoch'), { valueEncoding: 'utf8' });
    if (this.epochName === undefined) {
      // A new data dir, or one written before epochs: its history starts an epoch here.
      this.epochName = newEpoch();
      await this.db.put(keys.meta('epoch'), this.epochName, { valueEncoding: 'utf8', sync: true });
    }
    if (this.options.verifyOnStart) await this.verify();
  }

  /**
   * Reads every key once (LevelDB decodes, and so checks, each block it reads), without
   * filling the block cache. LevelDB itself checks only its manifest and log at open: a damaged
   * table would otherwise pass unnoticed until a read of it failed.
   */
  private async verify(): Promise<void> {
    try {
      for await (const _ of this.db.keys({ fillCache: false })) void _;
    } catch (err) {
      await this.db.close().catch(() => undefined);
      const detail = (err as { cause?: Error }).cause?.message ?? (err as Error).message;
      throw new StorageOpenError(
        `data dir ${this.location} is damaged: ${detail}. Stop here and run: engram repair --data-dir ${this.location} (it copies the dir first, recovers what it can and reports what was lost)`,
        'corrupt',
        { cause: err },
      );
    }
  }

  epoch(): string {
    if (this.epochName === undefined) throw new Error('the log is not open');
    return this.epochName;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.full !== undefined) clearInterval(this.full);
    this.full = undefined;
    // A compaction running now ends first (the queued ones see `closed` and skip).
    await this.compacting;
    await this.db.close();
  }

  /** Every key and value, as of one moment (an iterator reads a snapshot), for backups. */
  async *snapshotPairs(): AsyncGenerator<[string, Buffer]> {
    for await (const pair of this.db.iterator({ keyEncoding: 'utf8', valueEncoding: 'buffer' })) yield pair as [string, Buffer];
  }

  /** The lock table, kept in this same database. */
  lockStore(): LevelLockStore {
    return new LevelLockStore(this.db, this.options.sync, { full: () => this.full !== undefined, noSpace: () => this.awaitSpace() });
  }

  /** Set while the disk is full: writes are refused until space is back and LevelDB is reopened. */
  private full: NodeJS.Timeout | undefined;
  private closed = false;

  /** `marks`: storage metadata written in the same batch (a replica's applied stream position). */
  async commit(batch: CommitBatch, marks?: Record<string, string>): Promise<ContextOutcome[]> {
    if (this.full !== undefined) throw diskFull();
    const ops: BatchOp[] = [];
    if (marks !== undefined) for (const [name, value] of Object.entries(marks)) ops.push({ type: 'put', key: keys.meta(name), value });
    for (const { clientId, record, changed, units, idempotency } of batch.parts) {
      for (const u of units) {
        ops.push({ type: 'put', key: keys.unit(u.clientId, u.contextId, u.seq), value: u.json });
        ops.push({ type: 'put', key: keys.unitId(u.clientId, u.id), value: pack([u.contextId, u.seq, u.pos]) });
        ops.push({ type: 'put', key: keys.position(u.pos), value: pack([u.clientId, u.contextId, u.seq]) });
        if (u.embedding !== undefined) ops.push({ type: 'put', key: keys.embedding(u.pos), value: vectorBytes(u.embedding) });
      }
      if (changed) ops.push({ type: 'put', key: keys.context(clientId, record.id), value: pack(record) });
      ops.push({ type: 'put', key: keys.head(clientId, record.id), value: pack([record.headSeq, record.updatedAt]) });
      for (const k of idempotency) {
        ops.push({ type: 'put', key: keys.idempotency(k.clientId, k.contextId, k.key), value: pack([k.id, k.seq, k.expiresAt]) });
        ops.push({ type: 'put', key: keys.expiry(k.expiresAt, k.clientId, k.contextId, k.key), value: '' });
      }
    }
    await this.writeOrFull(ops);
    return reportStored(batch, this.listener);
  }

  /**
   * The disk is full. LevelDB keeps a failed background write as an error for every later
   * write, so once there is room again the database is closed and reopened (recovering its log
   * as after a restart), in this process: writes resume with no restart. Reads go on meanwhile.
   * Every write is refused from the first failure until the reopen: a batch whose log record was
   * torn by the full disk is then the log's last record, which recovery drops, and no
   * acknowledged write can sit behind it in the same log block (where recovery would skip it too).
   * A record that was written whole was also acknowledged whole, so nothing "comes back" that the
   * engine believes failed.
   */
  private awaitSpace(): void {
    if (this.full !== undefined || this.closed) return;
    const need = Math.max(MiB, 2 * (this.options.writeBufferSize ?? DEFAULT_WRITE_BUFFER));
    let busy = false;
    this.full = setInterval(() => {
      if (busy) return;
      let free = 0;
      try {
        const s = statfsSync(this.location);
        free = s.bavail * s.bsize;
      } catch {
        return;
      }
      if (free < need) return;
      busy = true;
      this.db
        .close()
        // A shutdown that came meanwhile wins: the database stays closed.
        .then(() => (this.closed ? undefined : this.db.open()))
        .then(
          () => {
            clearInterval(this.full);
            this.full = undefined;
          },
          () => undefined, // still no room for LevelDB's recovery: try again
        )
        .finally(() => (busy = false));
    }, SPACE_CHECK_MS);
    this.full.unref();
  }

  /** Writes a batch; a full disk turns into STORAGE_FULL, and writes wait for room (awaitSpace). */
  private async writeOrFull(ops: BatchOp[]): Promise<void> {
    try {
      await this.writeBatch(ops);
    } catch (err) {
      if (!isNoSpace(err)) throw err;
      this.awaitSpace();
      throw diskFull();
    }
  }

  /**
   * Writes pre-encoded operations (string or Buffer keys and values) straight to
   * classic-level's native batch. The public batch() clones, validates and re-encodes
   * every operation, which cost about a third of the server's CPU in the write
   * benchmark (docs/performance-notes.md). classic-level is pinned to an exact version, and
   * the contract suite exercises this path.
   */
  private writeBatch(ops: BatchOp[]): Promise<void> {
    const native = this.db as unknown as { _batch?: (ops: BatchOp[], options: { sync: boolean }) => Promise<void>; status: string };
    if (typeof native._batch === 'function' && native.status === 'open') return native._batch(ops, { sync: this.options.sync });
    return this.db.batch(ops as never[], { sync: this.options.sync });
  }

  /** A metadata value written with `commit`'s marks. */
  getMark(name: string): Promise<string | undefined> {
    return this.db.get<string, string>(keys.meta(name), { valueEncoding: 'utf8' });
  }

  async getContext(clientId: string, contextId: string): Promise<ContextRecord | undefined> {
    const [record, head] = await this.db.getMany([keys.context(clientId, contextId), keys.head(clientId, contextId)]);
    return record === undefined ? undefined : withHead(unpack(record) as ContextRecord, head);
  }

  async incarnation(clientId: string, contextId: string): Promise<string | undefined> {
    return this.db.get<string, string>(keys.tombstone(clientId, contextId), { valueEncoding: 'utf8' });
  }

  /**
   * One batch removes every key of the context (Log.deleteContext); it is read first, while the
   * engine holds its queue, so nothing is written to the context in between. `incarnation`: given
   * by a replica applying a deletion decided elsewhere, so every node names the same one.
   */
  async deleteContext(clientId: string, contextId: string, incarnation?: string, marks?: Record<string, string>): Promise<ContextDeletion | undefined> {
    if (this.full !== undefined) throw diskFull();
    const ops: BatchOp[] = [];
    if (marks !== undefined) for (const [name, value] of Object.entries(marks)) ops.push({ type: 'put', key: keys.meta(name), value });
    if ((await this.db.get(keys.context(clientId, contextId))) === undefined) {
      // A replica told of a deletion keeps its tombstone even without the context (it never saw the parts the deletion purged).
      if (incarnation !== undefined) ops.push({ type: 'put', key: keys.tombstone(clientId, contextId), value: incarnation });
      if (ops.length > 0) await this.writeBatch(ops);
      return undefined;
    }
    const found = await this.unitKeys(clientId, contextId, ops);
    // Its projection snapshots (memory/projection.ts) go in the same batch.
    const [snapshotsFrom, snapshotsTo] = keys.snapshotRange(clientId, contextId);
    for await (const key of this.db.keys({ gte: snapshotsFrom, lt: snapshotsTo })) ops.push({ type: 'del', key });
    const deletion: ContextDeletion = { clientId, contextId, incarnation: incarnation ?? newEpoch(), units: found.units, bytes: found.bytes, positions: found.positions };
    ops.push({ type: 'del', key: keys.context(clientId, contextId) }, { type: 'del', key: keys.head(clientId, contextId) });
    ops.push({ type: 'put', key: keys.tombstone(clientId, contextId), value: deletion.incarnation });
    await this.writeOrFull(ops);
    if (this.listener !== undefined) await this.listener([deletedContext(deletion)], 0).catch(() => undefined);
    this.compactAfterDeletion(clientId, contextId, found);
    return deletion;
  }

  /**
   * Adds a delete of units of the context to `ops`, with their id index entries, positions,
   * embeddings and idempotency keys: every unit, or (`below`) those with a lower seq whose id
   * `keep` does not hold.
   */
  private async unitKeys(clientId: string, contextId: string, ops: BatchOp[], below?: number, keep: ReadonlySet<string> = new Set()): Promise<Found> {
    const ids: string[] = [];
    const seqs = new Set<number>();
    let bytes = 0;
    const end = below === undefined ? keys.contextUnitsEnd(clientId, contextId) : keys.unit(clientId, contextId, below);
    for await (const [key, json] of this.db.iterator<string, string>({ gte: keys.contextUnits(clientId, contextId), lt: end, valueEncoding: 'utf8' })) {
      const unit = JSON.parse(json) as { id: string; seq: number; type: string };
      // A trim keeps the summaries (Log.trimContext); a deletion takes everything.
      if (keep.has(unit.id) || (below !== undefined && unit.type === 'SUMMARY')) continue;
      ops.push({ type: 'del', key });
      ids.push(unit.id);
      seqs.add(unit.seq);
      bytes += json.length;
    }
    const positions: number[] = [];
    let unplaced = 0;
    for (let i = 0; i < ids.length; i += 1000) {
      const chunk = ids.slice(i, i + 1000);
      const located = await this.db.getMany(chunk.map((id) => keys.unitId(clientId, id)));
      chunk.forEach((id, j) => {
        ops.push({ type: 'del', key: keys.unitId(clientId, id) });
        const pos = located[j] === undefined ? undefined : (unpack(located[j]!) as [string, number, number?])[2];
        if (pos === undefined) unplaced++;
        else positions.push(pos);
      });
    }
    if (unplaced > 0) {
      // Units stored before the id index held positions: one pass over the whole log finds theirs.
      const known = new Set(positions);
      for await (const [key, value] of this.db.iterator({ gte: keys.positionStart, lt: keys.positionEnd })) {
        const [c, ctx, seq] = unpack(value) as [string, string, number];
        if (c !== clientId || ctx !== contextId || !seqs.has(seq)) continue;
        const pos = parseInt(key.slice(2), 16);
        if (!known.has(pos)) positions.push(pos);
      }
    }
    positions.sort((a, b) => a - b);
    for (const pos of positions) ops.push({ type: 'del', key: keys.position(pos) }, { type: 'del', key: keys.embedding(pos) });
    for await (const [key, value] of this.db.iterator({ gte: keys.contextKeys(clientId, contextId), lt: keys.contextKeysEnd(clientId, contextId) })) {
      const [, seq, expiresAt] = unpack(value) as [string, number, number];
      if (below !== undefined && !seqs.has(seq)) continue;
      ops.push({ type: 'del', key }, { type: 'del', key: keys.expiry(expiresAt, clientId, contextId, key.slice(keys.contextKeys(clientId, contextId).length)) });
    }
    const highest = positions[positions.length - 1] ?? 0;
    if (highest > Number((await this.getMark(DELETED_THROUGH)) ?? 0)) ops.push({ type: 'put', key: keys.meta(DELETED_THROUGH), value: String(highest) });
    return { units: ids.length, bytes, positions, ids };
  }

  /**
   * Removes the units below `firstSeq` but those `keep` names (Log.trimContext), in one batch with
   * the record's new `firstSeq`. `marks`: a replica's stream position, written with it.
   */
  async trimContext(clientId: string, contextId: string, firstSeq: number, keep: ReadonlySet<string>, marks?: Record<string, string>): Promise<ContextTrim | undefined> {
    if (this.full !== undefined) throw diskFull();
    const ops: BatchOp[] = [];
    if (marks !== undefined) for (const [name, value] of Object.entries(marks)) ops.push({ type: 'put', key: keys.meta(name), value });
    const record = await this.getContext(clientId, contextId);
    const target = record === undefined ? 0 : Math.min(firstSeq, record.headSeq + 1);
    if (record === undefined || target <= (record.firstSeq ?? 1)) {
      if (ops.length > 0) await this.writeBatch(ops);
      return undefined;
    }
    const found = await this.unitKeys(clientId, contextId, ops, target, keep);
    ops.push({ type: 'put', key: keys.context(clientId, contextId), value: pack({ ...record, firstSeq: target }) });
    await this.writeOrFull(ops);
    const trim: ContextTrim = { clientId, contextId, firstSeq: target, units: found.units, bytes: found.bytes, positions: found.positions };
    if (this.listener !== undefined) await this.listener([trimmedContext(trim)], 0).catch(() => undefined);
    this.compactAfterDeletion(clientId, contextId, found);
    return trim;
  }

  /** Compactions of the ranges a deletion emptied, one after another, in the background: they give the disk space back. */
  private compactAfterDeletion(clientId: string, contextId: string, found: { positions: number[]; ids: string[] }): void {
    const ranges: Array<[string, string]> = [[keys.contextUnits(clientId, contextId), keys.contextUnitsEnd(clientId, contextId)]];
    if (found.positions.length > 0) {
      const lo = found.positions[0]!;
      const hi = found.positions[found.positions.length - 1]!;
      ranges.push([keys.position(lo), keys.position(hi + 1)], [keys.embedding(lo), keys.embedding(hi + 1)]);
    }
    if (found.ids.length > 0) {
      const sorted = [...found.ids].sort();
      ranges.push([keys.unitId(clientId, sorted[0]!), keys.unitId(clientId, sorted[sorted.length - 1]!) + AFTER_SEP]);
    }
    const run = ranges.reduce<Promise<void>>((done, [start, end]) => done.then(() => (this.closed ? undefined : this.db.compactRange(start, end))), this.compacting);
    this.compacting = run.catch(() => undefined);
  }

  /** The background compactions queued so far (after deletions): resolves when they are done. */
  private compacting: Promise<void> = Promise.resolve();
  compacted(): Promise<void> {
    return this.compacting;
  }

  async listContexts(clientId: string, options: ContextListOptions): Promise<ContextRecord[]> {
    const start = keys.context(clientId, options.prefix ?? '');
    const range = options.after !== undefined && keys.context(clientId, options.after) >= start ? { gt: keys.context(clientId, options.after) } : { gte: start };
    const prefixKey = keys.context(clientId, options.prefix ?? '');
    const out: ContextRecord[] = [];
    for await (const [key, value] of this.db.iterator({ ...range, lt: keys.contextRangeEnd(clientId) })) {
      if (!key.startsWith(prefixKey)) break;
      out.push(unpack(value) as ContextRecord);
      if (out.length >= options.limit) break;
    }
    const heads = out.length === 0 ? [] : await this.db.getMany(out.map((r) => keys.head(clientId, r.id)));
    return out.map((r, i) => withHead(r, heads[i]));
  }

  async readUnits(clientId: string, contextId: string, fromSeq: number, toSeq: number): Promise<string[]> {
    if (toSeq < fromSeq) return [];
    return this.db
      .values<string, string>({
        gte: keys.unit(clientId, contextId, fromSeq),
        lte: keys.unit(clientId, contextId, toSeq),
        valueEncoding: 'utf8',
      })
      .all();
  }

  async locateUnit(clientId: string, id: string): Promise<UnitLocation | undefined> {
    const value = await this.db.get(keys.unitId(clientId, id));
    if (value === undefined) return undefined;
    const [contextId, seq] = unpack(value) as [string, number];
    return { contextId, seq };
  }

  async getUnit(clientId: string, id: string): Promise<string | undefined> {
    const loc = await this.locateUnit(clientId, id);
    if (loc === undefined) return undefined;
    return this.db.get<string, string>(keys.unit(clientId, loc.contextId, loc.seq), { valueEncoding: 'utf8' });
  }

  async getIdempotency(clientId: string, contextId: string, key: string): Promise<IdempotencyEntry | undefined> {
    const value = await this.db.get(keys.idempotency(clientId, contextId, key));
    if (value === undefined) return undefined;
    const [id, seq, expiresAt] = unpack(value) as [string, number, number];
    return { clientId, contextId, key, id, seq, expiresAt };
  }

  async listSpaces(options: { after?: string; limit: number }): Promise<string[]> {
    const out: string[] = [];
    // One seek per space: after each hit, jump past every context key of that space.
    let from = options.after === undefined ? keys.contextsStart : keys.contextRangeEnd(options.after);
    while (out.length < options.limit) {
      const [key] = await this.db.keys({ gte: from, lt: keys.contextsEnd, limit: 1 }).all();
      if (key === undefined) break;
      const space = key.split(SEP)[1]!;
      out.push(space);
      from = keys.contextRangeEnd(space);
    }
    return out;
  }

  async spaceUsage(clientId: string): Promise<SpaceUsage> {
    let contexts = 0;
    let units = 0;
    for await (const value of this.db.values({ gte: keys.head(clientId, ''), lt: keys.headRangeEnd(clientId) })) {
      contexts++;
      units += (unpack(value) as [number, string])[0];
    }
    // LevelDB's estimate covers what reached its tables; what is still only in the memtable counts as 0.
    const bytes = await this.db.approximateSize(keys.unitRangeStart(clientId), keys.unitRangeEnd(clientId));
    return { contexts, units, bytes };
  }

  /** LevelDB's estimate of the whole store on disk (what is still only in the memtable is not counted). */
  storageBytes(): Promise<number> {
    return this.db.approximateSize('', '\uffff');
  }

  async lastPosition(): Promise<number> {
    // Deleted units keep their positions taken: a position is never handed out twice.
    const deleted = Number((await this.getMark(DELETED_THROUGH)) ?? 0);
    for await (const key of this.db.keys({ gte: keys.positionStart, lt: keys.positionEnd, reverse: true, limit: 1 })) {
      return Math.max(deleted, parseInt(key.slice(2), 16));
    }
    return deleted;
  }

  async readByPosition(from: number, limit: number): Promise<PositionedUnit[]> {
    const pointers = await this.db.iterator({ gte: keys.position(Math.max(1, from)), lt: keys.positionEnd, limit }).all();
    if (pointers.length === 0) return [];
    const located = pointers.map(([key, value]) => {
      const [clientId, contextId, seq] = unpack(value) as [string, string, number];
      return { pos: parseInt(key.slice(2), 16), clientId, contextId, seq };
    });
    return this.readLocated(located);
  }

  /** The units (and stored embeddings) at these places, skipping any that are not there. */
  private async readLocated(located: Array<{ pos: number; clientId: string; contextId: string; seq: number }>): Promise<PositionedUnit[]> {
    if (located.length === 0) return [];
    const [jsons, vectors] = await Promise.all([
      this.db.getMany<string, string>(
        located.map((l) => keys.unit(l.clientId, l.contextId, l.seq)),
        { valueEncoding: 'utf8' },
      ),
      this.db.getMany(located.map((l) => keys.embedding(l.pos))),
    ]);
    const out: PositionedUnit[] = [];
    located.forEach((l, i) => {
      const json = jsons[i];
      if (json !== undefined) out.push({ ...l, json, embedding: vectors[i] === undefined ? undefined : bytesVector(vectors[i]!) });
    });
    return out;
  }

  async readSpace(clientId: string, from: number, scan: number): Promise<{ units: PositionedUnit[]; next: number }> {
    const pointers = await this.db.iterator({ gte: keys.position(from), lt: keys.positionEnd, limit: scan }).all();
    const next = pointers.length === 0 ? from : parseInt(pointers[pointers.length - 1]![0].slice(2), 16) + 1;
    const located: Array<{ pos: number; clientId: string; contextId: string; seq: number }> = [];
    for (const [key, value] of pointers) {
      const [c, contextId, seq] = unpack(value) as [string, string, number];
      if (c === clientId) located.push({ pos: parseInt(key.slice(2), 16), clientId, contextId, seq });
    }
    return { units: await this.readLocated(located), next };
  }

  async unitsAt(positions: number[]): Promise<Array<string | undefined>> {
    if (positions.length === 0) return [];
    const pointers = await this.db.getMany(positions.map((p) => keys.position(p)));
    const unitKeys = pointers.map((value) => {
      if (value === undefined) return undefined;
      const [clientId, contextId, seq] = unpack(value) as [string, string, number];
      return keys.unit(clientId, contextId, seq);
    });
    const present = unitKeys.filter((k): k is string => k !== undefined);
    const jsons = await this.db.getMany<string, string>(present, { valueEncoding: 'utf8' });
    let i = 0;
    return unitKeys.map((k) => (k === undefined ? undefined : jsons[i++]));
  }

  async sweepIdempotency(now: number, max: number): Promise<number> {
    const ops: BatchOp[] = [];
    let swept = 0;
    for await (const key of this.db.keys({ gte: keys.expiryStart, lt: keys.expiryBefore(now), limit: max })) {
      const e = parseExpiryKey(key);
      ops.push({ type: 'del', key });
      const current = await this.getIdempotency(e.client, e.context, e.key);
      // A key reused after it expired has a newer record; only the record this index entry describes goes.
      if (current !== undefined && current.expiresAt === e.expiresAt) {
        ops.push({ type: 'del', key: keys.idempotency(e.client, e.context, e.key) });
        swept++;
      }
    }
    if (ops.length > 0) await this.writeBatch(ops);
    return swept;
  }

  // ---- projection snapshots: a cache beside the units, never fsynced (a lost one costs a longer replay) ----

  async putSnapshot(clientId: string, contextId: string, snapshot: SnapshotRecord): Promise<void> {
    if (this.full !== undefined) throw diskFull();
    await this.db.put(keys.snapshot(clientId, contextId, snapshot.projection, snapshot.seq), Buffer.from(snapshot.data.buffer, snapshot.data.byteOffset, snapshot.data.byteLength));
  }

  async latestSnapshot(clientId: string, contextId: string, projection: string, atOrBelow: number): Promise<SnapshotRecord | undefined> {
    if (atOrBelow < 1) return undefined;
    const [start] = keys.snapshotProjection(clientId, contextId, projection);
    for await (const [key, value] of this.db.iterator({ gte: start, lte: keys.snapshot(clientId, contextId, projection, atOrBelow), reverse: true, limit: 1 })) {
      return { projection, seq: parseInt(key.slice(key.lastIndexOf(SEP) + 1), 16), data: value };
    }
    return undefined;
  }

  async deleteSnapshots(clientId: string, contextId: string, only?: { projection: string; below: number }): Promise<number> {
    const [start, end] =
      only === undefined
        ? keys.snapshotRange(clientId, contextId)
        : [keys.snapshotProjection(clientId, contextId, only.projection)[0], keys.snapshot(clientId, contextId, only.projection, Math.max(0, only.below))];
    const ops: BatchOp[] = [];
    for await (const key of this.db.keys({ gte: start, lt: end })) ops.push({ type: 'del', key });
    if (ops.length > 0) await this.writeBatch(ops);
    return ops.length;
  }
}
