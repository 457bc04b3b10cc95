/**
 * Projection: state replayed from one context's units, changed one decision at a time, caught
 * up with units written past it, and rebuilt from the log after it was dropped from memory.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Access, trustedPrincipal } from '../../src/tenancy/access.js';
import { ClientRegistry } from '../../src/tenancy/client-registry.js';
import { Engine } from '../../src/engine/engine.js';
import { Gate } from '../../src/gate/gate.js';
import { LockManager } from '../../src/locks/locks.js';
import { Projection, type ProjectionOf } from '../../src/memory/projection.js';
import { NO_QUOTAS } from '../../src/tenancy/quotas.js';
import { Router } from '../../src/streams/router.js';
import { MemoryLockStore } from '../../src/storage/lock-store-memory.js';
import { MemoryLog } from '../../src/storage/log-memory.js';

async function gate(): Promise<Gate> {
  const log = new MemoryLog();
  const locks = new LockManager(new MemoryLockStore(), { defaultTtlMs: 30_000, maxTtlMs: 60_000, maxWaitMs: 10_000 });
  const engine = new Engine(log, { fences: locks, idempotencyTtlMs: 60_000, maxBatchUnits: 1024, tailUnits: 256, maxCachedContexts: 1000, maxTailBytes: 1 << 20 });
  await engine.open();
  await locks.open();
  return new Gate({ engine, locks, router: new Router(engine), access: new Access([]), clients: new ClientRegistry(NO_QUOTAS, async () => 0), search: undefined, log });
}

/** A list of numbers: units with payload {add: n}. */
const LIST: ProjectionOf<number[]> = {
  empty: () => [],
  apply: (s, u) => {
    const add = (u.payload as { add?: unknown }).add;
    if (typeof add === 'number') s.push(add);
  },
};

const p = trustedPrincipal('tester');
const unit = (add: number) => ({ agentId: 'a', type: 'MESSAGE' as const, meta: {}, payload: { add } });

test('each decision sees every change before it; units written past it are caught up in order', async () => {
  const g = await gate();
  const proj = new Projection(g, LIST);
  // Fifty concurrent "append the next number" decisions: serialized, so the list is 0..49.
  await Promise.all(Array.from({ length: 50 }, () => proj.change(p, 'ctx', (s) => ({ units: [unit(s.length)], result: s.length }))));
  assert.deepEqual(
    await proj.read(p, 'ctx'),
    Array.from({ length: 50 }, (_, i) => i),
  );
  // A unit written straight to the context is folded in before the next decision.
  await g.append(p, { contextId: 'ctx', agentId: 'b', type: 'MESSAGE', payload: { add: 1000 } });
  const changed = await proj.change(p, 'ctx', (s) => ({ units: [unit(s.at(-1)! + 1)], result: s.length }));
  assert.equal(changed.result, 51);
  assert.equal(changed.units[0]!.seq, 52);
  assert.deepEqual((await proj.read(p, 'ctx')).slice(-2), [1000, 1001]);
  // A decision that writes nothing stores nothing.
  const none = await proj.change(p, 'ctx', () => ({ units: [], result: 'noop' }));
  assert.deepEqual(none, { result: 'noop', units: [] });
  assert.equal((await g.getContext(p, 'ctx')).headSeq, 52);
});

test('a decision that throws appends nothing and the next one runs', async () => {
  const g = await gate();
  const proj = new Projection(g, LIST);
  await assert.rejects(
    proj.change(p, 'ctx', () => {
      throw new Error('refused');
    }),
    /refused/,
  );
  await proj.change(p, 'ctx', () => ({ units: [unit(7)], result: undefined }));
  assert.deepEqual(await proj.read(p, 'ctx'), [7]);
});

test('beyond its bound the least recently used state is dropped and replayed from the log on use', async () => {
  const g = await gate();
  const proj = new Projection(g, LIST, { maxLoaded: 2 });
  for (const c of ['a', 'b', 'c']) await proj.change(p, c, () => ({ units: [unit(1), unit(2)], result: undefined }));
  assert.equal(proj.size, 2);
  // 'a' was dropped; reading it replays the log.
  assert.deepEqual(await proj.read(p, 'a'), [1, 2]);
  assert.equal(proj.size, 2);
  await proj.change(p, 'a', (s) => ({ units: [unit(s.length + 1)], result: undefined }));
  assert.deepEqual(await proj.read(p, 'a'), [1, 2, 3]);
});

test('reads at once of a state not yet replayed fold each unit in once', async () => {
  const g = await gate();
  const writer = new Projection(g, LIST);
  for (let i = 0; i < 30; i++) await writer.change(p, 'ctx', (s) => ({ units: [unit(s.length)], result: undefined }));
  const fresh = new Projection(g, LIST);
  // Twenty reads and a change, all before any replay finished: one catch-up at a time, each unit once.
  const reads = Array.from({ length: 20 }, () => fresh.read(p, 'ctx'));
  const change = fresh.change(p, 'ctx', (s) => ({ units: [unit(s.length)], result: s.length }));
  for (const state of await Promise.all(reads))
    assert.deepEqual(
      state.slice(0, 30),
      Array.from({ length: 30 }, (_, i) => i),
    );
  assert.equal((await change).result, 30);
  assert.deepEqual(
    await fresh.read(p, 'ctx'),
    Array.from({ length: 31 }, (_, i) => i),
  );
  assert.equal(fresh.stats().unitsReplayed, 30);
});
