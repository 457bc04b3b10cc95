/** Locks and the fencing counter in the same LevelDB as the log (one process per data dir). */
import { diskFull, isNoSpace } from './disk-full.js';
import type { ClassicLevel } from 'classic-level';
import { pack, unpack } from 'msgpackr';
import type { LockBatch, LockRecord, LockStore, StoredLock } from '../locks/lock-types.js';
import { keys } from './keys.js';
import { SEP } from '../basics/compound-key.js';

const COUNTER = keys.meta('lockCounter');

export class LevelLockStore implements LockStore {
  constructor(
    private readonly db: ClassicLevel<string, Buffer>,
    private readonly sync: boolean,
    /** The log's full-disk state: lock writes are refused while it lasts, and can start its recovery. */
    private readonly disk: { full(): boolean; noSpace(): void } = { full: () => false, noSpace: () => undefined },
  ) {}

  async load(): Promise<{ counter: number; locks: StoredLock[] }> {
    const counter = await this.db.get<string, string>(COUNTER, { valueEncoding: 'utf8' });
    const locks: StoredLock[] = [];
    for await (const [key, value] of this.db.iterator({ gte: keys.lockStart, lt: keys.lockEnd })) {
      const clientId = key.split(SEP)[1]!;
      locks.push({ clientId, record: unpack(value) as LockRecord });
    }
    return { counter: counter === undefined ? 0 : Number(counter), locks };
  }

  async commit(batch: LockBatch): Promise<void> {
    const ops: Array<{ type: 'put'; key: string; value: Buffer | string } | { type: 'del'; key: string }> = [];
    for (const { clientId, record } of batch.puts) ops.push({ type: 'put', key: keys.lock(clientId, record.resource), value: pack(record) });
    for (const { clientId, resource } of batch.dels) ops.push({ type: 'del', key: keys.lock(clientId, resource) });
    // The counter goes down in the same batch as the tokens it covers, so no token is ever issued twice.
    ops.push({ type: 'put', key: COUNTER, value: String(batch.counter) });
    if (this.disk.full()) throw diskFull();
    try {
      await this.db.batch(ops as never[], { sync: this.sync });
    } catch (err) {
      if (!isNoSpace(err)) throw err;
      this.disk.noSpace();
      throw diskFull();
    }
  }
}
