/** The contract every LockStore passes: atomic batches, revisions, tokens, the counter, reloading. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { LockChange, LockEntry, LockRecord, LockStore } from '../../src/locks/lock-types.js';

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

const put = (clientId: string, record: LockRecord, fresh = true, before: LockRecord | null = null): LockChange => ({ clientId, resource: record.resource, record, fresh, before });
const del = (clientId: string, freed: LockRecord): LockChange => ({ clientId, resource: freed.resource, record: null, fresh: false, reason: 'released', freed, before: freed });

async function committed(store: LockStore, changes: LockChange[], counter: number): Promise<number[]> {
  const result = await store.commit({ changes, counter });
  assert.ok('revisions' in result, 'stored');
  return result.revisions;
}

/** The held keys, as `client/resource` → record. */
function held(locks: LockEntry[]): Map<string, LockRecord> {
  return new Map(locks.filter((l) => l.record !== null).map((l) => [`${l.clientId}/${l.resource}`, l.record!]));
}

export function runLockStoreContract(name: string, make: () => Promise<{ store: LockStore; reopen: () => Promise<LockStore> }>): void {
  describe(`LockStore contract: ${name}`, () => {
    test('an empty store has counter 0 and no locks', async () => {
      const { store } = await make();
      assert.deepEqual(await store.open(() => undefined), { counter: 0, locks: [] });
      await store.sync();
      store.close();
    });

    test('changes are stored together, with increasing revisions, and survive a reopen', async () => {
      const { store, reopen } = await make();
      await store.open(() => undefined);
      const first = await committed(store, [put('c1', rec('src/a.ts', 1, { contextId: 'ctx' })), put('c1', rec('b', 2))], 2);
      const second = await committed(store, [put('c2', rec('src/a.ts', 3)), del('c1', rec('b', 2))], 3);
      const revisions = [...first, ...second];
      assert.equal(revisions.length, 4);
      for (let i = 1; i < revisions.length; i++) assert.ok(revisions[i]! > revisions[i - 1]!, `revisions increase: ${revisions.join(', ')}`);
      store.close();
      const again = await reopen();
      const { counter, locks } = await again.open(() => undefined);
      const byKey = held(locks);
      assert.deepEqual([...byKey.keys()].sort(), ['c1/src/a.ts', 'c2/src/a.ts']);
      if (again.capabilities.sharedWriters) {
        // Tokens are the revisions of the acquiring writes, the one order every node shares.
        assert.equal(byKey.get('c1/src/a.ts')?.token, first[0]);
        assert.equal(byKey.get('c2/src/a.ts')?.token, second[0]);
      } else {
        // Tokens are the manager's, under a counter stored with them: reopened, it is at least every
        // token handed out (LevelDB's goes on from a reservation made ahead, fsynced whatever storage.sync says).
        assert.ok(counter >= 3, `counter ${counter} is behind token 3`);
        assert.deepEqual(byKey.get('c1/src/a.ts'), rec('src/a.ts', 1, { contextId: 'ctx' }));
        assert.equal(byKey.get('c2/src/a.ts')?.token, 3);
      }
      again.close();
    });

    test('a put replaces the record of the same client and resource', async () => {
      const { store, reopen } = await make();
      await store.open(() => undefined);
      const [revision] = await committed(store, [put('c', rec('r', 1))], 1);
      const token = store.capabilities.sharedWriters ? revision! : 1;
      await committed(store, [put('c', { ...rec('r', 1, { expiresAt: 5 }), token }, false, rec('r', 1))], 1);
      store.close();
      const again = await reopen();
      const byKey = held((await again.open(() => undefined)).locks);
      assert.deepEqual([...byKey.keys()], ['c/r']);
      assert.deepEqual([byKey.get('c/r')?.expiresAt, byKey.get('c/r')?.token], [5, token]);
      again.close();
    });
  });
}
