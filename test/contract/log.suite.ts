/**
 * The storage contract every Log implementation must pass. A backend's test file
 * calls runLogContract with a factory that makes a fresh, empty log (and may reopen it).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { CommitBatch, CommittedContext, Log } from '../../src/engine/log.js';
import type { ContextRecord } from '../../src/basics/types.js';

export interface LogFactory {
  /** A new empty log. */
  create(): Promise<Log>;
  /** The same storage opened again after close (omit for logs that do not persist). */
  reopen?(log: Log): Promise<Log>;
}

function record(id: string, headSeq: number, extra: Partial<ContextRecord> = {}): ContextRecord {
  return { id, displayName: id, agentIds: ['a'], pinnedUnits: [], meta: {}, createdAt: 1, updatedAt: 2, version: 1, headSeq, ...extra };
}

let nextPos = 1;

function batchOf(client: string, context: string, fromSeq: number, count: number): CommitBatch {
  const units = [];
  for (let s = fromSeq; s < fromSeq + count; s++) {
    units.push({
      clientId: client,
      contextId: context,
      seq: s,
      id: `${client}-${context}-${s}`,
      pos: nextPos++,
      json: JSON.stringify({ id: `${client}-${context}-${s}`, context, seq: s }),
    });
  }
  return { parts: [{ clientId: client, record: record(context, fromSeq + count - 1), changed: fromSeq === 1, units, idempotency: [] }] };
}

export function runLogContract(name: string, factory: LogFactory): void {
  describe(`Log contract: ${name}`, () => {
    let log: Log;
    /** Everything the log reported, from the test that starts following it on. */
    const reported: CommittedContext[] = [];
    /** Positions of units deleted by an earlier test: reads by position skip them. */
    const deletedPositions = new Set<number>();
    before(async () => {
      log = await factory.create();
      await log.open();
    });
    after(async () => {
      await log.close();
    });

    test('a committed batch reads back by range, by id and as a context record', async () => {
      await log.commit(batchOf('c1', 'ctx', 1, 5));
      assert.deepEqual(
        (await log.readUnits('c1', 'ctx', 2, 4)).map((j) => JSON.parse(j).seq),
        [2, 3, 4],
      );
      assert.deepEqual((await log.readUnits('c1', 'ctx', 1, 100)).length, 5);
      assert.deepEqual(await log.readUnits('c1', 'ctx', 4, 3), []);
      assert.equal(await log.getUnit('c1', 'c1-ctx-3'), JSON.stringify({ id: 'c1-ctx-3', context: 'ctx', seq: 3 }));
      assert.deepEqual(await log.locateUnit('c1', 'c1-ctx-3'), { contextId: 'ctx', seq: 3 });
      assert.equal((await log.getContext('c1', 'ctx'))?.headSeq, 5);
      assert.equal(await log.getUnit('c1', 'missing'), undefined);
      assert.equal(await log.getContext('c1', 'missing'), undefined);
    });

    test('every stored part is reported, with the head it left, before the commit is answered', async () => {
      const reports: CommittedContext[] = [];
      let answered = false;
      let late = 0;
      let position = 0;
      log.follow(async (parts, pos) => {
        if (answered) late++;
        reports.push(...parts);
        reported.push(...parts);
        position = Math.max(position, pos);
      });
      const one = batchOf('rep', 'one', 1, 3);
      const staged = one.parts[0]!.units.map((u) => u.pos);
      assert.deepEqual(await log.commit(one), [{ status: 'committed' }]);
      answered = true;
      assert.equal(late, 0, 'reported before the answer');
      assert.equal(reports.length, 1);
      const r = reports[0]!;
      assert.deepEqual([r.clientId, r.contextId, r.firstSeq, r.headSeq, r.updatedAt], ['rep', 'one', 1, 3, 2]);
      assert.deepEqual(
        r.units.map((j) => JSON.parse(j).seq),
        [1, 2, 3],
      );
      // A shared log gives positions of its own (increasing); any other keeps the batch's.
      if (log.capabilities.sharedWriters)
        assert.deepEqual(
          r.positions,
          [...r.positions].sort((a, b) => a - b),
        );
      else assert.deepEqual(r.positions, staged);
      assert.equal(r.record?.id, 'one', 'a new context is reported with its whole record');
      assert.equal(position, r.positions[2]);
      // Two contexts in one batch: one answer each, in the batch's order; a head-only part carries no record.
      reports.length = 0;
      answered = false;
      const two = { parts: [...batchOf('rep', 'one', 4, 1).parts, ...batchOf('rep', 'two', 1, 2).parts] };
      assert.deepEqual(await log.commit(two), [{ status: 'committed' }, { status: 'committed' }]);
      answered = true;
      assert.deepEqual(reports.map((p) => [p.contextId, p.firstSeq, p.units.length, p.record === undefined]).sort(), [
        ['one', 4, 1, true],
        ['two', 1, 2, false],
      ]);
      assert.equal(late, 0);
    });

    test('a deleted context is gone (units, id index, positions, keys, record), reported, and leaves a tombstone naming its next incarnation', async () => {
      const gone = batchOf('del', 'gone', 1, 4);
      gone.parts[0]!.idempotency = [{ clientId: 'del', contextId: 'gone', key: 'k1', id: 'del-gone-4', seq: 4, expiresAt: Date.now() + 600_000 }];
      await log.commit(gone);
      await log.commit(batchOf('del', 'gone/kept', 1, 2));
      const positions = (await log.readSpace('del', 1, 1_000_000)).units.filter((u) => u.contextId === 'gone').map((u) => u.pos);
      assert.equal(positions.length, 4);
      const seen = reported.length;
      const d = await log.deleteContext('del', 'gone');
      assert.ok(d !== undefined);
      for (const p of d.positions) deletedPositions.add(p);
      assert.deepEqual([d.clientId, d.contextId, d.units, d.positions], ['del', 'gone', 4, positions]);
      assert.equal(d.bytes, [1, 2, 3, 4].map((s) => JSON.stringify({ id: `del-gone-${s}`, context: 'gone', seq: s })).join('').length);
      const report = reported.slice(seen);
      assert.deepEqual(
        report.map((r) => [r.contextId, r.units.length, r.deleted]),
        [['gone', 0, { incarnation: d.incarnation, positions, bytes: d.bytes }]],
        'reported before the answer',
      );
      assert.equal(await log.getContext('del', 'gone'), undefined);
      assert.deepEqual(await log.readUnits('del', 'gone', 1, 100), []);
      assert.equal(await log.getUnit('del', 'del-gone-2'), undefined);
      assert.equal(await log.locateUnit('del', 'del-gone-2'), undefined);
      assert.equal(await log.getIdempotency('del', 'gone', 'k1'), undefined);
      assert.deepEqual(await log.unitsAt(positions), [undefined, undefined, undefined, undefined]);
      assert.deepEqual(
        (await log.readSpace('del', 1, 1_000_000)).units.map((u) => u.contextId),
        ['gone/kept', 'gone/kept'],
      );
      assert.deepEqual(
        (await log.listContexts('del', { limit: 10 })).map((r) => r.id),
        ['gone/kept'],
      );
      assert.equal((await log.readUnits('del', 'gone/kept', 1, 10)).length, 2, 'a context whose id starts with the deleted one stays');
      assert.equal(await log.incarnation('del', 'gone'), d.incarnation);
      assert.equal(await log.incarnation('del', 'gone/kept'), undefined);
      // Nothing there: nothing stored, nothing reported.
      assert.equal(await log.deleteContext('del', 'gone'), undefined);
      assert.equal(await log.deleteContext('del', 'never'), undefined);
      assert.equal(reported.length, seen + 1);
      // The id again: a new history, which carries the incarnation in its record.
      const again = batchOf('del', 'gone', 1, 1);
      again.parts[0]!.record.incarnation = d.incarnation;
      assert.deepEqual(await log.commit(again), [{ status: 'committed' }]);
      assert.deepEqual([(await log.getContext('del', 'gone'))?.headSeq, (await log.getContext('del', 'gone'))?.incarnation], [1, d.incarnation]);
      assert.deepEqual(
        (await log.readUnits('del', 'gone', 1, 10)).map((j) => JSON.parse(j).seq),
        [1],
      );
      // A second deletion names another incarnation.
      const d2 = await log.deleteContext('del', 'gone');
      assert.ok(d2 !== undefined && d2.incarnation !== d.incarnation && d2.units === 1);
      for (const p of d2.positions) deletedPositions.add(p);
      if (factory.reopen !== undefined) {
        log = await factory.reopen(log);
        log.follow(async (parts) => void reported.push(...parts));
        assert.equal(await log.getContext('del', 'gone'), undefined);
        assert.equal(await log.incarnation('del', 'gone'), d2.incarnation, 'the tombstone survives a restart');
        assert.equal((await log.readUnits('del', 'gone/kept', 1, 10)).length, 2);
      }
    });

    test('a trim removes the units below a first seq but the kept ones, keeps the head, is reported, and never goes back', async () => {
      const batch = batchOf('trim', 'ctx', 1, 10);
      batch.parts[0]!.idempotency = [
        { clientId: 'trim', contextId: 'ctx', key: 'low', id: 'trim-ctx-2', seq: 2, expiresAt: Date.now() + 600_000 },
        { clientId: 'trim', contextId: 'ctx', key: 'high', id: 'trim-ctx-8', seq: 8, expiresAt: Date.now() + 600_000 },
      ];
      await log.commit(batch);
      await log.commit(batchOf('trim', 'ctx/next', 1, 2));
      const before = (await log.readSpace('trim', 1, 1_000_000)).units.filter((u) => u.contextId === 'ctx');
      const seen = reported.length;
      const t = await log.trimContext('trim', 'ctx', 7, new Set(['trim-ctx-3']));
      assert.ok(t !== undefined);
      for (const p of t.positions) deletedPositions.add(p);
      const gone = before.filter((u) => u.seq < 7 && u.seq !== 3).map((u) => u.pos);
      assert.deepEqual([t.firstSeq, t.units, t.positions], [7, 5, gone]);
      assert.equal(t.bytes, [1, 2, 4, 5, 6].map((s) => JSON.stringify({ id: `trim-ctx-${s}`, context: 'ctx', seq: s })).join('').length);
      assert.deepEqual(
        reported.slice(seen).map((r) => [r.contextId, r.units.length, r.trimmed]),
        [['ctx', 0, { firstSeq: 7, positions: gone, bytes: t.bytes }]],
      );
      const record = await log.getContext('trim', 'ctx');
      assert.deepEqual([record?.headSeq, record?.firstSeq, record?.version], [10, 7, 1], 'the head and the version stay');
      assert.deepEqual(
        (await log.readUnits('trim', 'ctx', 7, 10)).map((j) => JSON.parse(j).seq),
        [7, 8, 9, 10],
      );
      assert.equal(await log.getUnit('trim', 'trim-ctx-2'), undefined);
      assert.equal(await log.locateUnit('trim', 'trim-ctx-5'), undefined);
      assert.notEqual(await log.getUnit('trim', 'trim-ctx-3'), undefined, 'a kept (pinned) unit stays readable by id');
      assert.equal(await log.getIdempotency('trim', 'ctx', 'low'), undefined);
      assert.equal((await log.getIdempotency('trim', 'ctx', 'high'))?.seq, 8);
      assert.deepEqual(
        await log.unitsAt(gone),
        gone.map(() => undefined),
      );
      assert.equal((await log.readUnits('trim', 'ctx/next', 1, 10)).length, 2);
      // Not lower, not again; beyond the head it stops at the head + 1 (seqs are never reused).
      assert.equal(await log.trimContext('trim', 'ctx', 5, new Set()), undefined);
      assert.equal(await log.trimContext('trim', 'ctx', 7, new Set()), undefined);
      assert.equal(await log.trimContext('trim', 'none', 7, new Set()), undefined);
      assert.equal(reported.length, seen + 1);
      const all = await log.trimContext('trim', 'ctx', 100, new Set());
      assert.ok(all !== undefined);
      for (const p of all.positions) deletedPositions.add(p);
      assert.deepEqual([all.firstSeq, all.units], [11, 5], 'the kept unit goes too when it is not kept any more');
      assert.deepEqual([(await log.getContext('trim', 'ctx'))?.headSeq, (await log.getContext('trim', 'ctx'))?.firstSeq], [10, 11]);
      // The next write follows the head.
      const next = batchOf('trim', 'ctx', 11, 1);
      next.parts[0]!.record.firstSeq = 11;
      await log.commit(next);
      assert.deepEqual(
        (await log.readUnits('trim', 'ctx', 1, 100)).map((j) => JSON.parse(j).seq),
        [11],
      );
    });

    test('a trim keeps SUMMARY units (they stand in for what it drops), however low; a deletion takes them', async () => {
      const batch = batchOf('sum', 'ctx', 1, 6);
      const s = batch.parts[0]!.units[3]!;
      s.json = JSON.stringify({ id: s.id, contextId: 'ctx', seq: 4, agentId: 'a', type: 'SUMMARY', payload: { text: 'one to three', covers: { from: 1, to: 3 } } });
      await log.commit(batch);
      const t = await log.trimContext('sum', 'ctx', 6, new Set());
      assert.ok(t !== undefined);
      for (const p of t.positions) deletedPositions.add(p);
      assert.equal(t.units, 4, 'seqs 1-5 but the summary');
      assert.deepEqual(
        (await log.readUnits('sum', 'ctx', 1, 10)).map((j) => JSON.parse(j).seq),
        [4, 6],
      );
      const again = await log.trimContext('sum', 'ctx', 7, new Set());
      assert.ok(again !== undefined);
      for (const p of again.positions) deletedPositions.add(p);
      assert.notEqual(await log.getUnit('sum', s.id), undefined, 'still kept by a later trim');
      const d = await log.deleteContext('sum', 'ctx');
      assert.ok(d !== undefined);
      for (const p of d.positions) deletedPositions.add(p);
      assert.equal(await log.getUnit('sum', s.id), undefined);
    });

    test('ids that are prefixes of each other never share a range', async () => {
      await log.commit(batchOf('p', 'a', 1, 3));
      await log.commit(batchOf('p', 'ab', 1, 2));
      await log.commit(batchOf('p', 'a/b', 1, 1));
      await log.commit(batchOf('pq', 'a', 1, 4));
      assert.equal((await log.readUnits('p', 'a', 1, 1000)).length, 3);
      assert.equal((await log.readUnits('p', 'ab', 1, 1000)).length, 2);
      assert.equal((await log.readUnits('pq', 'a', 1, 1000)).length, 4);
      assert.deepEqual(
        (await log.listContexts('p', { limit: 10 })).map((r) => r.id),
        ['a', 'a/b', 'ab'],
      );
      assert.deepEqual(
        (await log.listContexts('pq', { limit: 10 })).map((r) => r.id),
        ['a'],
      );
    });

    test('clients are isolated: the same ids in two clients do not meet', async () => {
      await log.commit(batchOf('x', 'shared', 1, 2));
      await log.commit(batchOf('y', 'shared', 1, 7));
      assert.equal((await log.readUnits('x', 'shared', 1, 100)).length, 2);
      assert.equal((await log.getContext('y', 'shared'))?.headSeq, 7);
      assert.equal(await log.getUnit('x', 'y-shared-5'), undefined);
    });

    test('contexts list in id order, after a cursor, and by prefix', async () => {
      for (const id of ['team/b', 'team/a', 'other', 'team/c', 'tea']) await log.commit(batchOf('lst', id, 1, 1));
      const all = (await log.listContexts('lst', { limit: 100 })).map((r) => r.id);
      assert.deepEqual(all, ['other', 'tea', 'team/a', 'team/b', 'team/c']);
      assert.deepEqual(
        (await log.listContexts('lst', { limit: 2, after: 'tea' })).map((r) => r.id),
        ['team/a', 'team/b'],
      );
      assert.deepEqual(
        (await log.listContexts('lst', { limit: 100, prefix: 'team/' })).map((r) => r.id),
        ['team/a', 'team/b', 'team/c'],
      );
      assert.deepEqual(
        (await log.listContexts('lst', { limit: 100, prefix: 'team/', after: 'team/a' })).map((r) => r.id),
        ['team/b', 'team/c'],
      );
      assert.deepEqual(
        (await log.listContexts('lst', { limit: 100, prefix: 'zz' })).map((r) => r.id),
        [],
      );
    });

    test('a record is replaced by a later commit', async () => {
      await log.commit({ parts: [{ clientId: 'r', record: record('ctx', 0, { displayName: 'one', meta: { k: 'v' } }), changed: true, units: [], idempotency: [] }] });
      await log.commit({ parts: [{ clientId: 'r', record: record('ctx', 0, { displayName: 'two', version: 2 }), changed: true, units: [], idempotency: [] }] });
      const r = await log.getContext('r', 'ctx');
      assert.equal(r?.displayName, 'two');
      assert.equal(r?.version, 2);
      assert.deepEqual(r?.meta, {});
    });

    test('a head-only update moves headSeq and updatedAt and keeps the rest of the record', async () => {
      await log.commit({ parts: [{ clientId: 'h', record: record('ctx', 0, { displayName: 'kept', agentIds: ['a', 'b'] }), changed: true, units: [], idempotency: [] }] });
      await log.commit({ parts: [{ clientId: 'h', record: record('ctx', 9, { displayName: 'ignored', updatedAt: 99 }), changed: false, units: [], idempotency: [] }] });
      const r = await log.getContext('h', 'ctx');
      assert.deepEqual([r?.displayName, r?.agentIds, r?.headSeq, r?.updatedAt], ['kept', ['a', 'b'], 9, 99]);
      const listed = await log.listContexts('h', { limit: 10 });
      assert.deepEqual([listed[0]?.displayName, listed[0]?.headSeq, listed[0]?.updatedAt], ['kept', 9, 99]);
    });

    test('idempotency keys are stored, found, and swept once expired', async () => {
      const b = batchOf('i', 'ctx', 1, 2);
      b.parts[0]!.idempotency.push({ clientId: 'i', contextId: 'ctx', key: 'k1', id: 'i-ctx-1', seq: 1, expiresAt: 1000 });
      b.parts[0]!.idempotency.push({ clientId: 'i', contextId: 'ctx', key: 'k2', id: 'i-ctx-2', seq: 2, expiresAt: 5000 });
      await log.commit(b);
      assert.deepEqual(await log.getIdempotency('i', 'ctx', 'k1'), { clientId: 'i', contextId: 'ctx', key: 'k1', id: 'i-ctx-1', seq: 1, expiresAt: 1000 });
      assert.equal(await log.getIdempotency('i', 'other', 'k1'), undefined);
      assert.equal(await log.sweepIdempotency(2000, 100), 1);
      assert.equal(await log.getIdempotency('i', 'ctx', 'k1'), undefined);
      assert.equal((await log.getIdempotency('i', 'ctx', 'k2'))?.seq, 2);
    });

    test('a unit JSON with any Unicode round-trips byte for byte', async () => {
      const json = JSON.stringify({ text: 'héllo 🦊 \u2028 "quoted" \\ \ud800' });
      await log.commit({
        parts: [{ clientId: 'u', record: record('ctx', 1), changed: true, units: [{ clientId: 'u', contextId: 'ctx', seq: 1, id: 'u1', pos: nextPos++, json }], idempotency: [] }],
      });
      assert.equal(await log.getUnit('u', 'u1'), json);
      assert.deepEqual(await log.readUnits('u', 'ctx', 1, 1), [json]);
    });

    test('units read back by log position, in order, with their stored embeddings; deleted positions are skipped, never reused', async () => {
      const before = await log.lastPosition();
      assert.ok(before >= Math.max(...deletedPositions), 'the positions of deleted units stay taken');
      const vector = new Float32Array([0.5, -1.25, 3]);
      await log.commit({
        parts: [
          {
            clientId: 'v',
            record: record('ctx', 1),
            changed: true,
            units: [{ clientId: 'v', contextId: 'ctx', seq: 1, id: 'v1', pos: nextPos++, json: '{"v":1}', embedding: vector }],
            idempotency: [],
          },
        ],
      });
      // The embedded logs keep the batch's positions; a shared log gives its own, always higher.
      const pos = await log.lastPosition();
      assert.ok(pos > before);
      const all = await log.readByPosition(1, 100_000);
      const positions = all.map((u) => u.pos);
      assert.deepEqual(
        positions,
        [...positions].sort((a, b) => a - b),
      );
      assert.equal(new Set(positions).size, positions.length);
      assert.equal(positions[positions.length - 1], pos);
      assert.ok(positions.every((p) => !deletedPositions.has(p)));
      // A read from inside a run of deleted positions goes on past it.
      const firstDeleted = Math.min(...deletedPositions);
      assert.ok((await log.readByPosition(firstDeleted, 1))[0]!.pos > firstDeleted);
      assert.deepEqual(
        (await log.readByPosition(positions[2]!, 2)).map((u) => u.pos),
        positions.slice(2, 4),
      );
      const mine = (await log.readByPosition(pos, 1))[0]!;
      assert.deepEqual([mine.pos, mine.clientId, mine.contextId, mine.seq, mine.json], [pos, 'v', 'ctx', 1, '{"v":1}']);
      assert.deepEqual([...mine.embedding!], [0.5, -1.25, 3]);
      assert.equal(all[0]!.embedding, undefined);
      assert.deepEqual(await log.readByPosition(pos + 1, 5), []);
      assert.deepEqual(await log.unitsAt([pos, pos + 7, all[0]!.pos, firstDeleted]), ['{"v":1}', undefined, all[0]!.json, undefined]);
    });

    test("one space's units in position order, a bounded scan at a time, and the spaces and their usage", async () => {
      const start = (await log.lastPosition()) + 1;
      // Interleaved commits of two spaces.
      for (let i = 1; i <= 5; i++) {
        await log.commit(batchOf('sp-a', 'c', i, 1));
        await log.commit(batchOf('sp-b', 'c', i, 1));
      }
      const last = await log.lastPosition();
      const seen: number[] = [];
      for (let from = start, steps = 0; steps < 100; steps++) {
        const r = await log.readSpace('sp-a', from, 3);
        assert.ok(r.units.every((u) => u.clientId === 'sp-a'));
        seen.push(...r.units.map((u) => u.seq));
        if (r.next <= from || r.next > last) break;
        from = r.next;
      }
      assert.deepEqual(seen, [1, 2, 3, 4, 5]);
      // Three positions looked at: a, b, a.
      const first = await log.readSpace('sp-a', start, 3);
      assert.deepEqual(
        first.units.map((u) => u.seq),
        [1, 2],
      );
      const third = (await log.readByPosition(start, 3))[2]!.pos;
      assert.equal(first.next, third + 1);
      assert.deepEqual((await log.readSpace('sp-a', last + 1, 10)).units, []);
      const spaces = await log.listSpaces({ limit: 1000 });
      assert.ok(spaces.includes('sp-a') && spaces.includes('sp-b'));
      assert.deepEqual(spaces, [...spaces].sort());
      assert.deepEqual(await log.listSpaces({ after: 'sp-a', limit: 1 }), ['sp-b']);
      const usage = await log.spaceUsage('sp-a');
      assert.equal(usage.contexts, 1);
      assert.equal(usage.units, 5);
      assert.equal(typeof usage.bytes, 'number');
    });

    test('projection snapshots: the latest at or below a seq, per projection and context, replaced, deleted', async () => {
      const bytes = (...xs: number[]) => Uint8Array.from(xs);
      const seqs = async (context: string, projection: string) => {
        const out: number[] = [];
        for (let at = 1_000_000; ;) {
          const s = await log.latestSnapshot('snap', context, projection, at);
          if (s === undefined) return out.reverse();
          out.push(s.seq);
          at = s.seq - 1;
        }
      };
      assert.equal(await log.latestSnapshot('snap', 'ctx', 'files', 100), undefined);
      await log.putSnapshot('snap', 'ctx', { projection: 'files', seq: 10, data: bytes(1, 2, 3) });
      await log.putSnapshot('snap', 'ctx', { projection: 'files', seq: 0x100, data: bytes(4) });
      await log.putSnapshot('snap', 'ctx', { projection: 'facts', seq: 50, data: bytes(5) });
      // Ids that are prefixes of each other, and another client, never meet.
      await log.putSnapshot('snap', 'ctx2', { projection: 'files', seq: 20, data: bytes(6) });
      await log.putSnapshot('snap2', 'ctx', { projection: 'files', seq: 30, data: bytes(7) });
      const at = async (seq: number, projection = 'files', context = 'ctx') => {
        const s = await log.latestSnapshot('snap', context, projection, seq);
        return s === undefined ? undefined : [s.projection, s.seq, [...s.data]];
      };
      assert.deepEqual(await at(9), undefined);
      assert.deepEqual(await at(10), ['files', 10, [1, 2, 3]]);
      assert.deepEqual(await at(255), ['files', 10, [1, 2, 3]]);
      assert.deepEqual(await at(256), ['files', 256, [4]]);
      assert.deepEqual(await at(1e9), ['files', 256, [4]]);
      assert.deepEqual(await at(100, 'facts'), ['facts', 50, [5]]);
      assert.deepEqual(await at(100, 'graph'), undefined);
      assert.deepEqual(await at(100, 'files', 'ctx2'), ['files', 20, [6]]);
      assert.deepEqual(await at(100, 'files', 'ct'), undefined);
      // The same projection and seq again: replaced.
      await log.putSnapshot('snap', 'ctx', { projection: 'files', seq: 10, data: bytes(9) });
      assert.deepEqual(await at(10), ['files', 10, [9]]);
      // Older ones of one projection go; the rest stay.
      await log.putSnapshot('snap', 'ctx', { projection: 'files', seq: 5, data: bytes(8) });
      assert.deepEqual(await seqs('ctx', 'files'), [5, 10, 256]);
      assert.equal(await log.deleteSnapshots('snap', 'ctx', { projection: 'files', below: 256 }), 2);
      assert.deepEqual(await seqs('ctx', 'files'), [256]);
      assert.deepEqual(await seqs('ctx', 'facts'), [50]);
      // A whole context's: every projection, no other context or client.
      assert.equal(await log.deleteSnapshots('snap', 'ctx'), 2);
      assert.deepEqual([await at(1e9), await at(1e9, 'facts')], [undefined, undefined]);
      assert.deepEqual(await at(100, 'files', 'ctx2'), ['files', 20, [6]]);
      assert.equal((await log.latestSnapshot('snap2', 'ctx', 'files', 100))?.seq, 30);
      assert.equal(await log.deleteSnapshots('snap', 'ctx'), 0);
    });

    test("deleting a context deletes its snapshots with it, and no other context's", async () => {
      await log.commit(batchOf('snapdel', 'ctx', 1, 3));
      await log.commit(batchOf('snapdel', 'ctx/kept', 1, 2));
      await log.putSnapshot('snapdel', 'ctx', { projection: 'files', seq: 2, data: Uint8Array.from([1]) });
      await log.putSnapshot('snapdel', 'ctx', { projection: 'graph', seq: 3, data: Uint8Array.from([2]) });
      await log.putSnapshot('snapdel', 'ctx/kept', { projection: 'files', seq: 2, data: Uint8Array.from([3]) });
      assert.ok((await log.deleteContext('snapdel', 'ctx')) !== undefined);
      assert.equal(await log.latestSnapshot('snapdel', 'ctx', 'files', 100), undefined);
      assert.equal(await log.latestSnapshot('snapdel', 'ctx', 'graph', 100), undefined);
      assert.equal((await log.latestSnapshot('snapdel', 'ctx/kept', 'files', 100))?.seq, 2);
    });

    if (factory.reopen) {
      test('projection snapshots are there after close and reopen', async () => {
        await log.putSnapshot('snap-re', 'ctx', { projection: 'graph', seq: 7, data: Uint8Array.from([1, 2]) });
        log = await factory.reopen!(log);
        const s = await log.latestSnapshot('snap-re', 'ctx', 'graph', 7);
        assert.deepEqual(s === undefined ? undefined : [s.seq, [...s.data]], [7, [1, 2]]);
      });

      test('everything committed is there after close and reopen, in the same epoch', async () => {
        await log.commit(batchOf('re', 'ctx', 1, 10));
        const epoch = log.epoch();
        assert.match(epoch, /^[A-Za-z0-9_-]{1,64}$/);
        log = await factory.reopen!(log);
        assert.equal(log.epoch(), epoch, 'a reopened log keeps its history, and so its epoch');
        assert.equal((await log.readUnits('re', 'ctx', 1, 100)).length, 10);
        assert.equal((await log.getContext('re', 'ctx'))?.headSeq, 10);
        assert.equal((await log.listContexts('lst', { limit: 100 })).length, 5);
      });
    }
  });
}
