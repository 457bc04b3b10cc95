/** The contract every LockStore passes: atomic batches, the counter, reloading. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { LockRecord, LockStore } from '../../src/locks/lock-types.js';

const rec = (resource: string, token: number, extra: Partial<LockRecord> = {}): LockRecord => ({
  resource,
  agentId: 'a',
  lockId: `L${token}`,
  token,
  expiresAt: 2_000_000_000_000,
  acquiredAt: 1_000,
  contextId: undefined,
  ...extra,
});

export function runLockStoreContract(name: string, make: () => Promise<{ store: LockStore; reopen: () => Promise<LockStore> }>): void {
  describe(`LockStore contract: ${name}`, () => {
    test('an empty store has counter 0 and no locks', async () => {
      const { store } = await make();
      assert.deepEqual(await store.load(), { counter: 0, locks: [] });
    });

    test('puts, deletes and the counter are stored together and survive a reopen', async () => {
      const { store, reopen } = await make();
      await store.commit({ puts: [{ clientId: 'c1', record: rec('src/a.ts', 1, { contextId: 'ctx' }) }, { clientId: 'c1', record: rec('b', 2) }], dels: [], counter: 2 });
      await store.commit({ puts: [{ clientId: 'c2', record: rec('src/a.ts', 3) }], dels: [{ clientId: 'c1', resource: 'b' }], counter: 3 });
      const again = await reopen();
      const { counter, locks } = await again.load();
      assert.equal(counter, 3);
      const byKey = new Map(locks.map((l) => [`${l.clientId}/${l.record.resource}`, l.record]));
      assert.deepEqual([...byKey.keys()].sort(), ['c1/src/a.ts', 'c2/src/a.ts']);
      assert.deepEqual(byKey.get('c1/src/a.ts'), rec('src/a.ts', 1, { contextId: 'ctx' }));
      assert.equal(byKey.get('c2/src/a.ts')?.token, 3);
    });

    test('a put replaces the record of the same client and resource', async () => {
      const { store } = await make();
      await store.commit({ puts: [{ clientId: 'c', record: rec('r', 1) }], dels: [], counter: 1 });
      await store.commit({ puts: [{ clientId: 'c', record: rec('r', 1, { expiresAt: 5 }) }], dels: [], counter: 1 });
      const { locks } = await store.load();
      assert.equal(locks.length, 1);
      assert.equal(locks[0]!.record.expiresAt, 5);
    });
  });
}
