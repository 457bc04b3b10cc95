/** Locks and the fencing counter in the same LevelDB as the log (one process per data dir). */
import { diskFull, isNoSpace } from './disk-full.js';
import type { ClassicLevel } from 'classic-level';
import { pack, unpack } from 'msgpackr';
import type { LockBatch, LockEntry, LockRecord, LockStore, LockStoreCapabilities } from '../locks/lock-types.js';
import { keys } from './keys.js';
import { SEP } from '../basics/compound-key.js';

const COUNTER = keys.meta('lockCounter');
/**
 * Fencing tokens reserved ahead, always fsynced: with storage.sync false a power loss can take
 * the counter's last writes back, but never this, so a token is never handed out twice. A new
 * reservation (one synced batch) is made once every RESERVE tokens; after a restart the counter
 * goes on from the reservation, leaving the rest of it unused.
 */
const RESERVED = keys.meta('lockTokensReserved');
const RESERVE = 256;

export class LevelLockStore implements LockStore {
  /** One process per data dir. */
  readonly capabilities: LockStoreCapabilities = { sharedWriters: false };
  /** Revisions only order this process's changes, so they are counted in memory. */
  private revision = 0;
  /** The highest token reserved on disk (RESERVED). */
  private reserved = 0;

  constructor(
    private readonly db: ClassicLevel<string, Buffer>,
    private readonly fsync: boolean,
    /** The log's full-disk state: lock writes are refused while it lasts, and can start its recovery. */
    private readonly disk: { full(): boolean; noSpace(): void } = { full: () => false, noSpace: () => undefined },
  ) {}

  /** Only this process writes it, so no change ever comes from elsewhere. */
  async open(_onChange?: (entry: LockEntry) => void): Promise<{ counter: number; locks: LockEntry[] }> {
    const counter = Number((await this.db.get<string, string>(COUNTER, { valueEncoding: 'utf8' })) ?? 0);
    this.reserved = Number((await this.db.get<string, string>(RESERVED, { valueEncoding: 'utf8' })) ?? 0);
    const locks: LockEntry[] = [];
    for await (const [key, value] of this.db.iterator({ gte: keys.lockStart, lt: keys.lockEnd })) {
      const clientId = key.split(SEP)[1]!;
      const record = unpack(value) as LockRecord;
      locks.push({ clientId, resource: record.resource, revision: ++this.revision, record });
    }
    // Past a power loss the counter may be behind a token handed out; the reservation never is.
    return { counter: Math.max(counter, this.reserved), locks };
  }

  async commit(batch: LockBatch): Promise<{ revisions: number[] }> {
    const ops: Array<{ type: 'put'; key: string; value: Buffer | string } | { type: 'del'; key: string }> = [];
    for (const { clientId, resource, record } of batch.changes) {
      ops.push(record === null ? { type: 'del', key: keys.lock(clientId, resource) } : { type: 'put', key: keys.lock(clientId, resource), value: pack(record) });
    }
    // The counter goes down in the same batch as the tokens it covers, so no token is ever issued twice.
    ops.push({ type: 'put', key: COUNTER, value: String(batch.counter) });
    const reserve = batch.counter > this.reserved ? batch.counter + RESERVE : undefined;
    if (reserve !== undefined) ops.push({ type: 'put', key: RESERVED, value: String(reserve) });
    if (this.disk.full()) throw diskFull();
    try {
      await this.db.batch(ops as never[], { sync: this.fsync || reserve !== undefined });
      if (reserve !== undefined) this.reserved = reserve;
    } catch (err) {
      if (!isNoSpace(err)) throw err;
      this.disk.noSpace();
      throw diskFull();
    }
    return { revisions: batch.changes.map(() => ++this.revision) };
  }

  async sync(): Promise<void> {}

  close(): void {}
}
