/** Locks in process memory: for unit tests, and the reference the contract suite holds others to. */
import type { LockBatch, LockEntry, LockStore, LockStoreCapabilities, StoredLock } from '../locks/lock-types.js';
import { scopedKey } from '../basics/compound-key.js';

export class MemoryLockStore implements LockStore {
  readonly capabilities: LockStoreCapabilities = { sharedWriters: false };
  private counter = 0;
  private revision = 0;
  private readonly locks = new Map<string, StoredLock>();
  /** When set, the next commit fails with this error. */
  failNextCommit: Error | undefined;

  /** Only this process writes it, so no change ever comes from elsewhere. */
  async open(_onChange?: (entry: LockEntry) => void): Promise<{ counter: number; locks: LockEntry[] }> {
    const locks = [...this.locks.values()].map((l) => ({ clientId: l.clientId, resource: l.record.resource, revision: ++this.revision, record: structuredClone(l.record) }));
    return { counter: this.counter, locks };
  }

  async commit(batch: LockBatch): Promise<{ revisions: number[] }> {
    const failure = this.failNextCommit;
    if (failure !== undefined) {
      this.failNextCommit = undefined;
      throw failure;
    }
    for (const c of batch.changes) {
      if (c.record === null) this.locks.delete(scopedKey(c.clientId, c.resource));
      else this.locks.set(scopedKey(c.clientId, c.resource), { clientId: c.clientId, record: structuredClone(c.record) });
    }
    this.counter = batch.counter;
    return { revisions: batch.changes.map(() => ++this.revision) };
  }

  async sync(): Promise<void> {}

  close(): void {}
}
