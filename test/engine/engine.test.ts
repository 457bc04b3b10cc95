import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Engine, type EngineOptions } from '../../src/engine/engine.js';
import { EngramError } from '../../src/basics/errors.js';
import { MemoryLog } from '../../src/storage/log-memory.js';

const C = 'client';

async function openEngine(options: Partial<EngineOptions> = {}, log = new MemoryLog()) {
  const engine = new Engine(log, {
    idempotencyTtlMs: 60_000,
    maxBatchUnits: 1024,
    tailUnits: 256,
    maxCachedContexts: 1000,
    maxTailBytes: 1 << 20,
    ...options,
  });
  await engine.open();
  return { engine, log };
}

const draft = (contextId: string, payload: unknown = 'x', extra: Record<string, unknown> = {}) => ({
  contextId,
  agentId: 'agent',
  type: 'MESSAGE',
  payload,
  ...extra,
});

const seqsOf = (units: string[]) => units.map((j) => JSON.parse(j).seq as number);

function isCode(code: string) {
  return (err: unknown) => err instanceof EngramError && err.code === code;
}

describe('engine writes', () => {
  test('concurrent appends to one context get distinct gap-free seqs in commit order', async () => {
    const { engine } = await openEngine({ maxBatchUnits: 7 });
    const results = await Promise.all(Array.from({ length: 300 }, (_, i) => engine.append(C, draft('one', i))));
    assert.deepEqual(
      results.map((r) => r.seq).sort((a, b) => a - b),
      Array.from({ length: 300 }, (_, i) => i + 1),
    );
    // ids are time-ordered in seq order
    const bySeq = [...results].sort((a, b) => a.seq - b.seq);
    for (let i = 1; i < bySeq.length; i++) assert.ok(bySeq[i - 1]!.id < bySeq[i]!.id);
    const page = await engine.listUnits(C, 'one', { limit: 1000 });
    assert.deepEqual(
      seqsOf(page.units),
      Array.from({ length: 300 }, (_, i) => i + 1),
    );
    await engine.close();
  });

  test('a failed commit leaves no gap: the next write takes the seq that failed', async () => {
    const { engine, log } = await openEngine();
    await engine.append(C, draft('f'));
    log.failNextCommit = new Error('disk on fire');
    const failed = await Promise.allSettled([engine.append(C, draft('f')), engine.append(C, draft('f'))]);
    for (const r of failed) {
      assert.equal(r.status, 'rejected');
      assert.ok(isCode('STORAGE_UNAVAILABLE')((r as PromiseRejectedResult).reason));
    }
    assert.equal((await engine.append(C, draft('f'))).seq, 2);
    assert.equal((await engine.getContext(C, 'f')).headSeq, 2);
    await engine.close();
  });

  test('a stale PATCH in a batch fails alone; the appends beside it commit', async () => {
    const { engine } = await openEngine();
    await engine.append(C, draft('p'));
    const [a, stale, b] = await Promise.allSettled([engine.append(C, draft('p')), engine.patchContext(C, 'p', { displayName: 'x' }, 99), engine.append(C, draft('p'))]);
    assert.equal(a.status, 'fulfilled');
    assert.equal(b.status, 'fulfilled');
    assert.ok(stale.status === 'rejected' && isCode('VERSION_MISMATCH')(stale.reason));
    assert.equal((await engine.getContext(C, 'p')).displayName, 'p');
    await engine.close();
  });

  test('writers become agents of the context; that bumps the version, appends alone do not', async () => {
    const { engine } = await openEngine();
    await engine.append(C, draft('v'));
    const v1 = await engine.getContext(C, 'v');
    assert.deepEqual([v1.version, v1.agentIds, v1.headSeq], [1, ['agent'], 1]);
    await engine.append(C, draft('v'));
    assert.equal((await engine.getContext(C, 'v')).version, 1);
    await engine.append(C, { ...draft('v'), agentId: 'second' });
    const v2 = await engine.getContext(C, 'v');
    assert.deepEqual([v2.version, v2.agentIds, v2.headSeq], [2, ['agent', 'second'], 3]);
    await engine.close();
  });
});

describe('engine reads', () => {
  test('pages are exact in both directions, from the tail and from the log', async () => {
    // A tail of 5 units forces most pages to the log, and some across the boundary.
    const { engine } = await openEngine({ tailUnits: 5 });
    for (let i = 0; i < 23; i++) await engine.append(C, draft('pg', i));
    const all = Array.from({ length: 23 }, (_, i) => i + 1);
    for (const limit of [1, 3, 5, 10, 100]) {
      for (const after of [0, 4, 17, 22, 23, 30]) {
        for (const before of [undefined, 1, 6, 20, 24]) {
          for (const reverse of [false, true]) {
            const expected = all.filter((s) => s > after && s < (before ?? Infinity));
            const want = reverse ? expected.reverse().slice(0, limit) : expected.slice(0, limit);
            const page = await engine.listUnits(C, 'pg', { limit, after, before, reverse });
            assert.deepEqual(seqsOf(page.units), want, JSON.stringify({ limit, after, before, reverse }));
            const more = expected.length > limit;
            assert.equal(page.nextCursor, more ? want[want.length - 1] : null);
          }
        }
      }
    }
    await engine.close();
  });

  test('following nextCursor walks the whole context once, either way', async () => {
    const { engine } = await openEngine({ tailUnits: 4 });
    for (let i = 0; i < 37; i++) await engine.append(C, draft('walk', i));
    for (const reverse of [false, true]) {
      const seen: number[] = [];
      let cursor: number | null = null;
      do {
        const q: { limit: number; reverse: boolean; after?: number; before?: number } = { limit: 6, reverse };
        if (cursor !== null) q[reverse ? 'before' : 'after'] = cursor;
        const page = await engine.listUnits(C, 'walk', q);
        seen.push(...seqsOf(page.units));
        cursor = page.nextCursor;
      } while (cursor !== null);
      const expected = Array.from({ length: 37 }, (_, i) => i + 1);
      assert.deepEqual(seen, reverse ? expected.reverse() : expected);
    }
    await engine.close();
  });

  test('contexts evicted from memory are reloaded and continue from the right seq', async () => {
    const { engine } = await openEngine({ maxCachedContexts: 2, tailUnits: 3 });
    for (let round = 0; round < 3; round++) {
      for (const ctx of ['e1', 'e2', 'e3', 'e4', 'e5']) await engine.append(C, draft(ctx, round));
    }
    await engine.getContext(C, 'e1'); // a load outside a flush enforces the budget
    assert.ok(engine.stats().cachedContexts <= 2, `cached: ${engine.stats().cachedContexts}`);
    for (const ctx of ['e1', 'e2', 'e3', 'e4', 'e5']) {
      assert.equal((await engine.append(C, draft(ctx))).seq, 4);
      assert.deepEqual(seqsOf((await engine.listUnits(C, ctx, {})).units), [1, 2, 3, 4]);
    }
    await engine.close();
  });

  test('unknown contexts and units are not found', async () => {
    const { engine } = await openEngine();
    await assert.rejects(engine.getContext(C, 'nope'), isCode('CONTEXT_NOT_FOUND'));
    await assert.rejects(engine.listUnits(C, 'nope', {}), isCode('CONTEXT_NOT_FOUND'));
    await assert.rejects(engine.getUnit(C, '01ARZ3NDEKTSV4RRFFQ69G5FAV'), isCode('WORKUNIT_NOT_FOUND'));
    await engine.close();
  });
});

describe('idempotency', () => {
  test('concurrent writes with one key store one unit; later retries return it', async () => {
    const { engine } = await openEngine();
    const results = await Promise.all(Array.from({ length: 20 }, () => engine.append(C, draft('idem', 'p'), 'k')));
    assert.equal(new Set(results.map((r) => r.id)).size, 1);
    assert.equal(results.filter((r) => !r.replayed).length, 1);
    const retry = await engine.append(C, draft('idem', 'p', { idempotencyKey: 'k' }));
    assert.deepEqual([retry.id, retry.seq, retry.replayed], [results[0]!.id, 1, true]);
    assert.equal((await engine.getContext(C, 'idem')).headSeq, 1);
    // the same key in another context is another write
    assert.equal((await engine.append(C, draft('idem2'), 'k')).replayed, false);
    await engine.close();
  });

  test('an expired key no longer deduplicates', async () => {
    let now = 1_000_000;
    const { engine } = await openEngine({ idempotencyTtlMs: 1000, now: () => now });
    const first = await engine.append(C, draft('exp'), 'k');
    now += 500;
    assert.equal((await engine.append(C, draft('exp'), 'k')).id, first.id);
    now += 1000;
    const later = await engine.append(C, draft('exp'), 'k');
    assert.notEqual(later.id, first.id);
    assert.equal(later.seq, 2);
    await engine.close();
  });
});

describe('context patches', () => {
  test('create, merge meta, manage agents and pins, bump versions only on change', async () => {
    const { engine } = await openEngine();
    const created = await engine.patchContext(C, 'ctx', { displayName: 'Plan', meta: { a: '1', b: '2' } });
    assert.deepEqual([created.version, created.headSeq, created.displayName], [1, 0, 'Plan']);
    const u = await engine.append(C, draft('ctx'));
    const other = await engine.append(C, draft('elsewhere'));
    const patched = await engine.patchContext(C, 'ctx', { meta: { a: null, c: '3' }, addAgents: ['x', 'y'], removeAgents: ['agent'], pinUnits: [u.id] }, '*');
    assert.deepEqual(patched.meta, { b: '2', c: '3' });
    assert.deepEqual(patched.agentIds, ['x', 'y']);
    assert.deepEqual(patched.pinnedUnits, [u.id]);
    const same = await engine.patchContext(C, 'ctx', { displayName: 'Plan' }, patched.version);
    assert.equal(same.version, patched.version);
    await assert.rejects(engine.patchContext(C, 'ctx', { pinUnits: [other.id] }), isCode('UNIT_NOT_IN_CONTEXT'));
    await assert.rejects(engine.patchContext(C, 'ctx', { pinUnits: ['01ARZ3NDEKTSV4RRFFQ69G5FAV'] }), isCode('UNIT_NOT_IN_CONTEXT'));
    await assert.rejects(engine.patchContext(C, 'fresh', {}, '*'), isCode('VERSION_MISMATCH'));
    const unpinned = await engine.patchContext(C, 'ctx', { unpinUnits: [u.id] });
    assert.deepEqual(unpinned.pinnedUnits, []);
    assert.equal(unpinned.version, patched.version + 1);
    await engine.close();
  });

  test('contexts list in pages with a cursor', async () => {
    const { engine } = await openEngine();
    for (let i = 0; i < 7; i++) await engine.append(C, draft(`list-${i}`));
    const p1 = await engine.listContexts(C, { limit: 3 });
    assert.deepEqual(
      p1.contexts.map((c) => c.id),
      ['list-0', 'list-1', 'list-2'],
    );
    const p3 = await engine.listContexts(C, { limit: 3, after: 'list-5' });
    assert.deepEqual([p3.contexts.map((c) => c.id), p3.nextCursor], [['list-6'], null]);
    assert.equal(p1.nextCursor, 'list-2');
    await engine.close();
  });
});

describe('lifecycle', () => {
  test('writes before open and after close are refused as NOT_READY; close lets queued writes finish', async () => {
    const log = new MemoryLog();
    const engine = new Engine(log, { idempotencyTtlMs: 1000, maxBatchUnits: 10, tailUnits: 10, maxCachedContexts: 10, maxTailBytes: 1000 });
    await assert.rejects(engine.append(C, draft('l')), isCode('NOT_READY'));
    await engine.open();
    const queued = Array.from({ length: 25 }, () => engine.append(C, draft('l')));
    const closing = engine.close();
    const results = await Promise.all(queued);
    await closing;
    assert.equal(results.length, 25);
    await assert.rejects(engine.append(C, draft('l')), isCode('NOT_READY'));
    await log.open();
    assert.equal((await log.getContext(C, 'l'))?.headSeq, 25);
  });
});

describe('whenReady', () => {
  test('resolves true once storage opens, false when it does not open in time', async () => {
    const engine = new Engine(new MemoryLog(), { idempotencyTtlMs: 1000, maxBatchUnits: 10, tailUnits: 10, maxCachedContexts: 10, maxTailBytes: 1000 });
    // whenReady's timer does not keep a process alive (a server stopping must not wait for it);
    // this one keeps the test's process running until the timer has fired.
    const alive = setInterval(() => undefined, 1000);
    assert.equal(await engine.whenReady(1), false);
    clearInterval(alive);
    const waiting = engine.whenReady(10_000);
    await engine.open();
    assert.equal(await waiting, true);
    assert.equal(await engine.whenReady(1), true);
    await engine.close();
    assert.equal(await engine.whenReady(1000), false, 'a closed engine will not be ready again');
  });
});

describe('engine deletion', () => {
  test('a deletion queued among writes is a batch of its own: writes queued before it are deleted with the context, those after start its new history', async () => {
    const { engine } = await openEngine({ maxBatchUnits: 1024 });
    await engine.append(C, draft('ctx', 'first'));
    const handle = await engine.retain(C, 'ctx');
    const oldEpoch = handle.epoch();
    const commits: Array<{ deleted: boolean; units: number }> = [];
    engine.onCommit((events) => {
      for (const e of events) if (e.contextId === 'ctx') commits.push({ deleted: e.deleted !== undefined, units: e.units.length });
    });
    // All queued in one turn: one group commit would take them all, but the deletion cuts it.
    const before = Array.from({ length: 20 }, (_, i) => engine.append(C, draft('ctx', `before ${i}`)));
    const other = engine.append(C, draft('other', 'untouched'));
    const deletion = engine.deleteContext(C, 'ctx');
    const afterIt = Array.from({ length: 5 }, (_, i) => engine.append(C, draft('ctx', `after ${i}`)));
    assert.deepEqual(
      (await Promise.all(before)).map((r) => r.seq),
      Array.from({ length: 20 }, (_, i) => i + 2),
    );
    const d = await deletion;
    assert.equal(d.units, 21);
    assert.deepEqual(
      (await Promise.all(afterIt)).map((r) => r.seq),
      [1, 2, 3, 4, 5],
    );
    assert.equal((await other).seq, 1);
    assert.deepEqual(commits, [
      { deleted: false, units: 20 },
      { deleted: true, units: 0 },
      { deleted: false, units: 5 },
    ]);
    // The held context followed: the new history, and an epoch of its own.
    assert.equal(handle.head(), 5);
    assert.notEqual(handle.epoch(), oldEpoch);
    assert.equal(handle.epoch(), `${engine.epoch}-${d.incarnation}`);
    assert.equal((await engine.getContext(C, 'ctx')).headSeq, 5);
    const page = await engine.listUnits(C, 'ctx', {});
    assert.deepEqual(
      page.units.map((j) => JSON.parse(j).payload),
      ['after 0', 'after 1', 'after 2', 'after 3', 'after 4'],
    );
    handle.release();
  });

  test('deleting a context that does not exist is CONTEXT_NOT_FOUND and changes nothing; a PATCH can start the new history', async () => {
    const { engine, log } = await openEngine();
    await assert.rejects(engine.deleteContext(C, 'never'), isCode('CONTEXT_NOT_FOUND'));
    await assert.rejects(engine.deleteContext(C, 'bad\u0001id'), isCode('INVALID_ID'));
    await engine.append(C, draft('p', 'x'));
    const d = await engine.deleteContext(C, 'p');
    await engine.patchContext(C, 'p', { displayName: 'again' });
    assert.equal((await log.getContext(C, 'p'))?.incarnation, d.incarnation, 'a context created by a PATCH carries the incarnation');
    assert.equal((await engine.getContext(C, 'p')).headSeq, 0);
  });

  test('an idempotency key of a deleted context is forgotten with it', async () => {
    const { engine } = await openEngine();
    const first = await engine.append(C, draft('k', 'one'), 'key-1');
    await engine.deleteContext(C, 'k');
    const again = await engine.append(C, draft('k', 'two'), 'key-1');
    assert.equal(again.replayed, false);
    assert.notEqual(again.id, first.id);
    assert.equal(again.seq, 1);
  });
});

describe('engine trimming (retention)', () => {
  test('trims under a steady write load: no gap above the first seq, no acknowledged unit above it lost, and reads start there', async () => {
    const { engine } = await openEngine({ maxBatchUnits: 16, tailUnits: 64 });
    const acked: number[] = [];
    let writing = true;
    const writer = (async () => {
      for (let i = 0; writing || i < 50; i++) {
        acked.push((await engine.append(C, draft('busy', i))).seq);
        // The memory log answers without I/O: without a turn of the event loop now and then, the
        // commit queue would keep this writer going and nothing else would run.
        if (i % 10 === 0) await new Promise((r) => setImmediate(r));
      }
    })();
    const firsts: number[] = [];
    for (let round = 0; round < 20; round++) {
      await new Promise((r) => setImmediate(r));
      const head = (await engine.getContext(C, 'busy')).headSeq;
      const t = await engine.trimContext(C, 'busy', Math.max(1, head - 10));
      if (t !== undefined) firsts.push(t.firstSeq);
    }
    writing = false;
    await writer;
    const ctx = await engine.getContext(C, 'busy');
    assert.ok(firsts.length > 5, `trimmed ${firsts.length} times`);
    assert.deepEqual(
      firsts,
      [...firsts].sort((a, b) => a - b),
      'the first seq only moves forward',
    );
    assert.equal(ctx.firstSeq, firsts.at(-1));
    assert.equal(ctx.headSeq, acked.length, 'every write was acknowledged once, with seqs 1..head');
    assert.deepEqual(
      [...acked].sort((a, b) => a - b),
      Array.from({ length: acked.length }, (_, i) => i + 1),
    );
    // Everything acknowledged at or above the first seq reads back, in order, with no gap.
    const seqs: number[] = [];
    for (let after = 0; ;) {
      const page = await engine.listUnits(C, 'busy', { after, limit: 100 });
      assert.equal(page.firstSeq, ctx.firstSeq);
      seqs.push(...page.units.map((j) => JSON.parse(j).seq as number));
      if (page.nextCursor === null) break;
      after = page.nextCursor;
    }
    assert.deepEqual(
      seqs,
      Array.from({ length: ctx.headSeq - ctx.firstSeq + 1 }, (_, i) => ctx.firstSeq + i),
    );
    // A reverse page and the tail agree: nothing below the first seq comes back.
    const last = await engine.listUnits(C, 'busy', { reverse: true, limit: 1000 });
    assert.equal(JSON.parse(last.units.at(-1)!).seq, ctx.firstSeq);
  });

  test('pinned units stay readable by id; a held context moves its first seq; a trim beyond the head stops there', async () => {
    const { engine } = await openEngine();
    const ids: string[] = [];
    for (let i = 1; i <= 8; i++) ids.push((await engine.append(C, draft('pins', i))).id);
    await engine.patchContext(C, 'pins', { pinUnits: [ids[1]] });
    const handle = await engine.retain(C, 'pins');
    const t = await engine.trimContext(C, 'pins', 6);
    assert.deepEqual([t?.firstSeq, t?.units], [6, 4]);
    assert.equal(handle.firstSeq(), 6);
    assert.equal(JSON.parse(await engine.getUnit(C, ids[1]!)).seq, 2, 'the pinned unit');
    await assert.rejects(engine.getUnit(C, ids[2]!), isCode('WORKUNIT_NOT_FOUND'));
    assert.deepEqual(
      ((await handle.unitsAfter(0, 100)) as string[]).map((j) => JSON.parse(j).seq),
      [6, 7, 8],
      'a read from below starts at the first seq',
    );
    const all = await engine.trimContext(C, 'pins', 1000, false);
    assert.deepEqual([all?.firstSeq, all?.units], [9, 4]);
    assert.equal((await engine.getContext(C, 'pins')).headSeq, 8);
    assert.equal((await engine.append(C, draft('pins', 'next'))).seq, 9, 'seqs are never reused');
    await assert.rejects(engine.trimContext(C, 'pins', 0), isCode('INVALID_FIELD'));
    handle.release();
  });
});
