/** The lock manager without HTTP: a memory store, real timers for leases and waits. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { EngramError } from '../../src/basics/errors.js';
import { LockManager, type LockEvent } from '../../src/locks/locks.js';
import { MemoryLockStore } from '../../src/storage/lock-store-memory.js';
import { eventually, Latch, WAIT_MS, withTimeout } from '../helpers/wait.js';

const C = 'client';
const LIMITS = { defaultTtlMs: 30_000, maxTtlMs: 3_600_000, maxWaitMs: 60_000 };

async function open(store = new MemoryLockStore()) {
  const locks = new LockManager(store, LIMITS);
  await locks.open();
  const events: LockEvent[] = [];
  locks.onEvent((e) => events.push(...e));
  return { locks, store, events };
}

const isCode = (code: string) => (e: unknown) => e instanceof EngramError && e.code === code;
const acquire = (locks: LockManager, body: Record<string, unknown>) => locks.acquire(C, body).result;

describe('locks', () => {
  test('acquire, conflict with holder details, re-acquire keeps lockId and token, release frees', async () => {
    const { locks, events } = await open();
    const [a] = await acquire(locks, { resource: 'docs/plan.md', agentId: 'alice', ttlMs: 10_000 });
    assert.equal(a!.token, 1);
    await assert.rejects(acquire(locks, { resource: 'docs/plan.md', agentId: 'bob' }), (e: unknown) => {
      assert.ok(isCode('LOCK_HELD')(e));
      assert.equal((e as EngramError).details?.holder, 'alice');
      assert.ok(typeof (e as EngramError).details?.expiresAt === 'string');
      return true;
    });
    const [again] = await acquire(locks, { resource: 'docs/plan.md', agentId: 'alice', ttlMs: 20_000 });
    assert.deepEqual([again!.lockId, again!.token], [a!.lockId, a!.token]);
    assert.ok(Date.parse(again!.expiresAt) > Date.parse(a!.expiresAt));
    await assert.rejects(locks.release(C, 'docs/plan.md', 'bob', a!.lockId), isCode('NOT_LOCK_HOLDER'));
    await assert.rejects(locks.release(C, 'docs/plan.md', 'alice', 'wrong'), isCode('NOT_LOCK_HOLDER'));
    await locks.release(C, 'docs/plan.md', 'alice', a!.lockId);
    await assert.rejects(locks.release(C, 'docs/plan.md', 'alice', a!.lockId), isCode('LOCK_NOT_HELD'));
    const [b] = await acquire(locks, { resource: 'docs/plan.md', agentId: 'bob' });
    assert.equal(b!.token, 2);
    assert.deepEqual(
      events.map((e) => e.action),
      ['acquired', 'renewed', 'released', 'acquired'],
    );
    await locks.close();
  });

  test('waiters are served first come, first served', async () => {
    const { locks } = await open();
    const [held] = await acquire(locks, { resource: 'r', agentId: 'a0' });
    const order: string[] = [];
    const waits = ['a1', 'a2', 'a3', 'a4'].map((agentId) =>
      acquire(locks, { resource: 'r', agentId, waitMs: LIMITS.maxWaitMs }).then(async ([v]) => {
        order.push(agentId);
        await locks.release(C, 'r', agentId, v!.lockId);
      }),
    );
    // A latecomer without waiting may not jump the queue even when the lock is free for a moment.
    await locks.release(C, 'r', 'a0', held!.lockId);
    await Promise.all(waits);
    assert.deepEqual(order, ['a1', 'a2', 'a3', 'a4']);
    await locks.close();
  });

  test('a lease that runs out frees the lock by itself and says so', async () => {
    const { locks, events } = await open();
    const expired = new Latch(1);
    locks.onEvent((es) => es.some((e) => e.action === 'expired') && expired.countDown());
    const [v] = await acquire(locks, { resource: 'short', agentId: 'a', ttlMs: 50 });
    await expired.wait(WAIT_MS, 'the expired event');
    assert.throws(() => locks.get(C, 'short'), isCode('LOCK_NOT_HELD'));
    assert.throws(() => locks.checkFence(C, 'short', v!.token!), isCode('FENCE_REJECTED'));
    assert.deepEqual(
      events.map((e) => e.action),
      ['acquired', 'expired'],
    );
    await locks.close();
  });

  test('a waiter whose wait runs out gets LOCK_HELD with the holder', async () => {
    const { locks } = await open();
    await acquire(locks, { resource: 'w', agentId: 'a' });
    await assert.rejects(acquire(locks, { resource: 'w', agentId: 'b', waitMs: 30 }), (e: unknown) => isCode('LOCK_HELD')(e) && /after waiting 30 ms/.test((e as Error).message));
    await locks.close();
  });

  test('a withdrawn waiter is skipped; what it was granted meanwhile is released', async () => {
    const { locks } = await open();
    const [held] = await acquire(locks, { resource: 'x', agentId: 'a' });
    const pending = locks.acquire(C, { resource: 'x', agentId: 'gone', waitMs: LIMITS.maxWaitMs });
    await new Promise((r) => setTimeout(r, 5));
    pending.cancel();
    await assert.rejects(pending.result, isCode('LOCK_HELD'));
    await locks.release(C, 'x', 'a', held!.lockId);
    const [next] = await acquire(locks, { resource: 'x', agentId: 'c' });
    assert.equal(next!.agentId, 'c');
    await locks.close();
  });

  test('all or none: a multi-resource acquire takes nothing if one resource is held', async () => {
    const { locks } = await open();
    await acquire(locks, { resource: 'b', agentId: 'x' });
    await assert.rejects(acquire(locks, { resources: ['a', 'b', 'c'], agentId: 'y' }), isCode('LOCK_HELD'));
    assert.throws(() => locks.get(C, 'a'), isCode('LOCK_NOT_HELD'));
    assert.throws(() => locks.get(C, 'c'), isCode('LOCK_NOT_HELD'));
    const views = await acquire(locks, { resources: ['c', 'a', 'a'], agentId: 'y' });
    assert.deepEqual(
      views.map((v) => v.resource),
      ['a', 'c'],
    );
    assert.equal(new Set(views.map((v) => v.lockId)).size, 1);
    assert.ok(views[1]!.token! > views[0]!.token!);
    await locks.close();
  });

  test('overlapping multi-resource acquires under contention never deadlock and never overlap', async () => {
    const { locks } = await open();
    const resources = ['r0', 'r1', 'r2', 'r3', 'r4'];
    const holders = new Map<string, string>();
    let grants = 0;
    await withTimeout(
      Promise.all(
        Array.from({ length: 12 }, async (_, a) => {
          for (let round = 0; round < 15; round++) {
            const want = resources.filter((_, i) => (a + round + i) % 3 !== 0);
            const views = await acquire(locks, { resources: want, agentId: `agent-${a}`, waitMs: LIMITS.maxWaitMs, ttlMs: 60_000 });
            for (const v of views) {
              assert.equal(holders.get(v.resource), undefined, `${v.resource} has two holders`);
              holders.set(v.resource, v.agentId);
            }
            grants++;
            await new Promise((r) => setImmediate(r));
            for (const v of views) holders.delete(v.resource);
            await Promise.all(views.map((v) => locks.release(C, v.resource, v.agentId, v.lockId)));
          }
        }),
      ),
      2 * LIMITS.maxWaitMs,
      'every agent to finish its rounds',
    );
    assert.equal(grants, 12 * 15);
    await locks.close();
  });

  test('leases and the token order survive a restart; expired ones do not come back', async () => {
    const store = new MemoryLockStore();
    const first = await open(store);
    const before = Date.now();
    const [long] = await acquire(first.locks, { resource: 'long', agentId: 'a', ttlMs: 60_000 });
    await acquire(first.locks, { resource: 'brief', agentId: 'a', ttlMs: 20 });
    await first.locks.close();
    await new Promise((r) => setTimeout(r, 40));
    const second = await open(store);
    const view = second.locks.get(C, 'long');
    const elapsed = Date.now() - before;
    assert.deepEqual([view.lockId, view.token], [long!.lockId, long!.token]);
    // The time left of the lease, not a new one (however long the restart took).
    assert.ok(view.ttlMs >= 60_000 - elapsed - 1 && view.ttlMs <= 60_000, `${view.ttlMs} ms left ${elapsed} ms after a 60 s lease was taken`);
    assert.throws(() => second.locks.get(C, 'brief'), isCode('LOCK_NOT_HELD'));
    // The lease that ran out while the manager was closed is freed in the store too, as any expiry.
    const stored = async () => (await store.open(() => undefined)).locks.map((l) => l.resource).sort();
    await eventually(async () => (await stored()).join() === 'long', WAIT_MS, 'the expired lease freed in the store');
    assert.deepEqual(second.locks.stats(), { held: 1, waiting: 0 });
    const [fresh] = await acquire(second.locks, { resource: 'brief', agentId: 'b' });
    assert.equal(fresh!.token, 3, 'tokens continue after the highest ever issued');
    assert.equal((await store.open(() => undefined)).locks.length, 2);
    await second.locks.close();
  });

  test('a failed store commit hands out nothing and leaves no trace', async () => {
    const { locks, store } = await open();
    store.failNextCommit = new Error('disk gone');
    await assert.rejects(acquire(locks, { resource: 'f', agentId: 'a' }), isCode('STORAGE_UNAVAILABLE'));
    assert.throws(() => locks.get(C, 'f'), isCode('LOCK_NOT_HELD'));
    const [v] = await acquire(locks, { resource: 'f', agentId: 'a' });
    assert.equal(v!.token, 1, 'the token of the failed batch is issued again, never skipped backwards');
    await locks.close();
  });

  test('bad requests are refused with clear codes', async () => {
    const { locks } = await open();
    const cases: Array<[unknown, string, RegExp]> = [
      [{ agentId: 'a' }, 'MISSING_FIELD', /resource: required/],
      [{ resource: 'r' }, 'MISSING_FIELD', /agentId/],
      [{ resource: 'r', agentId: 'a', ttlMs: 0 }, 'INVALID_FIELD', /ttlMs: must be from 1/],
      [{ resource: 'r', agentId: 'a', ttlMs: -5 }, 'INVALID_FIELD', /ttlMs/],
      [{ resource: 'r', agentId: 'a', ttlMs: 3_600_001 }, 'INVALID_FIELD', /ttlMs/],
      [{ resource: 'r', agentId: 'a', ttlMs: 1.5 }, 'INVALID_FIELD', /integer/],
      [{ resource: 'r', agentId: 'a', waitMs: 60_001 }, 'INVALID_FIELD', /waitMs/],
      [{ resource: 'x'.repeat(1025), agentId: 'a' }, 'INVALID_FIELD', /longer than 1024/],
      [{ resource: '', agentId: 'a' }, 'INVALID_FIELD', /empty/],
      [{ resource: 'a\nb', agentId: 'a' }, 'INVALID_FIELD', /control/],
      [{ resource: 'r', resources: ['s'], agentId: 'a' }, 'INVALID_FIELD', /not both/],
      [{ resources: [], agentId: 'a' }, 'INVALID_FIELD', /non-empty/],
      [{ resources: Array.from({ length: 65 }, (_, i) => `r${i}`), agentId: 'a' }, 'INVALID_FIELD', /at most 64/],
      [{ resource: 'r', agentId: 'a', colour: 1 }, 'UNKNOWN_FIELD', /colour/],
      ['text', 'INVALID_FIELD', /JSON object/],
    ];
    for (const [body, code, message] of cases) {
      await assert.rejects(locks.acquire(C, body).result, (e: unknown) => isCode(code)(e) && message.test((e as Error).message), JSON.stringify(body));
    }
    assert.deepEqual(locks.stats(), { held: 0, waiting: 0 });
    await locks.close();
  });
});
