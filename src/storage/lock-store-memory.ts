/** Locks in process memory: for unit tests, and the reference the contract suite holds others to. */
import type { LockBatch, LockStore, StoredLock } from '../locks/lock-types.js';
import { scopedKey } from '../basics/compound-key.js';

export class MemoryLockStore implements LockStore {
  private counter = 0;
  private readonly locks = new Map<string, StoredLock>();
  /** When set, the next commit fails with this error. */
  failNextCommit: Error | undefined;

  async load(): Promise<{ counter: number; locks: StoredLock[] }> {
    return { counter: this.counter, locks: [...this.locks.values()].map((l) => structuredClone(l)) };
  }

  async commit(batch: LockBatch): Promise<void> {
    const failure = this.failNextCommit;
    if (failure !== undefined) {
      this.failNextCommit = undefined;
      throw failure;
    }
    for (const l of batch.puts) this.locks.set(scopedKey(l.clientId, l.record.resource), structuredClone(l));
    for (const d of batch.dels) this.locks.delete(scopedKey(d.clientId, d.resource));
    this.counter = batch.counter;
  }
}
