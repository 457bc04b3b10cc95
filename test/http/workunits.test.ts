import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { unit } from '../helpers/http.js';
import { serverPerFile } from '../helpers/server.js';

const env = serverPerFile();

describe('POST /workunit and GET /workunit/{id}', () => {
  test('every field round-trips', async () => {
    const payloads: unknown[] = ['plain text', { text: 'héllo 🦊', nested: { list: [1, 2.5, -3e-7, true, false, null], empty: {} } }, [1, 'two', { three: 3 }], 42, null, true, ''];
    for (const [i, payload] of payloads.entries()) {
      const sent = {
        contextId: 'round/trip ✓',
        agentId: 'planner-1',
        type: ['MESSAGE', 'REASONING', 'TOOL_CALL', 'TOOL_RESULT', 'FILE_CHANGE', 'TASK_STATUS', 'ERROR', 'SYSTEM'][i]!,
        meta: { model: 'x-1', 'tool name': 'grep', empty: '' },
        payload,
        relationships: [
          { targetId: '01ARZ3NDEKTSV4RRFFQ69G5FAV', type: 'RESPONDS_TO', meta: { note: 'answer' } },
          { targetId: 'external:ticket-9', type: 'REFERENCES' },
        ],
      };
      const before = Date.now();
      const created = await env.http.post('/workunit', sent);
      assert.equal(created.status, 201, created.text);
      const u = created.json;
      assert.match(u.id, /^[0-9A-HJKMNP-TV-Z]{26}$/);
      assert.equal(u.seq, i + 1);
      assert.equal(created.headers.location, `/workunit/${u.id}`);
      assert.ok(Date.parse(u.ts) >= before - 5 && Date.parse(u.ts) <= Date.now() + 5, u.ts);
      assert.match(u.ts, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      assert.deepEqual(u, {
        id: u.id,
        contextId: sent.contextId,
        seq: i + 1,
        agentId: sent.agentId,
        type: sent.type,
        ts: u.ts,
        meta: sent.meta,
        payload,
        relationships: [sent.relationships[0], { ...sent.relationships[1], meta: {} }],
      });
      const fetched = await env.http.get(`/workunit/${u.id}`);
      assert.equal(fetched.status, 200);
      assert.deepEqual(fetched.json, u);
      assert.equal(fetched.text, created.text, 'the stored JSON is served byte for byte');
    }
    const listed = await env.http.get(`/workunits/${encodeURIComponent('round/trip ✓')}`);
    assert.equal(listed.status, 200);
    assert.deepEqual(
      listed.json.workUnits.map((u: { payload: unknown }) => u.payload),
      payloads,
    );
  });

  test('an unknown id is 404 WORKUNIT_NOT_FOUND', async () => {
    const r = await env.http.get('/workunit/01ARZ3NDEKTSV4RRFFQ69G5FAV');
    assert.equal(r.status, 404);
    assert.equal(r.json.error.code, 'WORKUNIT_NOT_FOUND');
  });
});

describe('seqs', () => {
  test('50 concurrent writers on one context get gap-free, distinct seqs', async () => {
    const writers = 50;
    const perWriter = 20;
    const acks: Array<{ seq: number; id: string; agentId: string; payload: { writer: number; n: number } }> = [];
    await Promise.all(
      Array.from({ length: writers }, async (_, w) => {
        for (let n = 0; n < perWriter; n++) {
          const r = await env.http.post('/workunit', unit('concurrent', { agentId: `writer-${w}`, payload: { writer: w, n } }));
          assert.equal(r.status, 201, r.text);
          acks.push(r.json);
        }
      }),
    );
    const total = writers * perWriter;
    assert.deepEqual(
      acks.map((a) => a.seq).sort((a, b) => a - b),
      Array.from({ length: total }, (_, i) => i + 1),
    );
    assert.equal(new Set(acks.map((a) => a.id)).size, total);
    // Reading the context back gives the same units in seq order, and each writer's units in the order it wrote them.
    const stored: Array<{ seq: number; id: string; payload: { writer: number; n: number } }> = [];
    let after = 0;
    for (;;) {
      const page = await env.http.get(`/workunits/concurrent?limit=1000&after=${after}`);
      stored.push(...page.json.workUnits);
      if (page.json.nextCursor === null) break;
      after = page.json.nextCursor;
    }
    assert.deepEqual(
      stored.map((u) => u.seq),
      Array.from({ length: total }, (_, i) => i + 1),
    );
    const byId = new Map(acks.map((a) => [a.id, a.seq]));
    for (const u of stored) assert.equal(byId.get(u.id), u.seq);
    const lastN = new Map<number, number>();
    for (const u of stored) {
      assert.ok((lastN.get(u.payload.writer) ?? -1) < u.payload.n, "a writer's units appear in the order it wrote them");
      lastN.set(u.payload.writer, u.payload.n);
    }
    const ctx = await env.http.get('/contexts/concurrent');
    assert.equal(ctx.json.headSeq, total);
    assert.equal(ctx.json.agentIds.length, writers);
  });
});

describe('GET /workunits/{contextId}', () => {
  const seqs = (r: { json: { workUnits: Array<{ seq: number }> } }) => r.json.workUnits.map((u) => u.seq);

  before(async () => {
    for (let i = 0; i < 250; i++) {
      const r = await env.http.post('/workunit', unit('paging', { payload: i }));
      assert.equal(r.status, 201);
    }
  });

  test('defaults to the first 100, oldest first, with a cursor', async () => {
    const r = await env.http.get('/workunits/paging');
    assert.deepEqual(
      seqs(r),
      Array.from({ length: 100 }, (_, i) => i + 1),
    );
    assert.equal(r.json.nextCursor, 100);
  });

  test('pages forward with after and backward with before and reverse', async () => {
    const forward: number[] = [];
    let cursor: number | null = 0;
    while (cursor !== null) {
      const r = await env.http.get(`/workunits/paging?limit=60&after=${cursor}`);
      forward.push(...seqs(r));
      cursor = r.json.nextCursor;
    }
    assert.deepEqual(
      forward,
      Array.from({ length: 250 }, (_, i) => i + 1),
    );

    const backward: number[] = [];
    let r = await env.http.get('/workunits/paging?limit=70&reverse=true');
    backward.push(...seqs(r));
    while (r.json.nextCursor !== null) {
      r = await env.http.get(`/workunits/paging?limit=70&reverse=true&before=${r.json.nextCursor}`);
      backward.push(...seqs(r));
    }
    assert.deepEqual(
      backward,
      Array.from({ length: 250 }, (_, i) => 250 - i),
    );
  });

  test('the last 100, newest first', async () => {
    const r = await env.http.get('/workunits/paging?limit=100&reverse=true');
    assert.deepEqual(
      seqs(r),
      Array.from({ length: 100 }, (_, i) => 250 - i),
    );
    assert.equal(r.json.nextCursor, 151);
  });

  test('after and before bound a window', async () => {
    assert.deepEqual(seqs(await env.http.get('/workunits/paging?after=10&before=15')), [11, 12, 13, 14]);
    assert.deepEqual(seqs(await env.http.get('/workunits/paging?after=10&before=15&reverse=1')), [14, 13, 12, 11]);
    const empty = await env.http.get('/workunits/paging?after=250');
    assert.deepEqual([seqs(empty), empty.json.nextCursor], [[], null]);
    assert.equal((await env.http.get('/workunits/paging?limit=1000')).json.workUnits.length, 250);
  });

  test('an unknown context is 404 CONTEXT_NOT_FOUND', async () => {
    const r = await env.http.get('/workunits/never-written');
    assert.equal(r.status, 404);
    assert.equal(r.json.error.code, 'CONTEXT_NOT_FOUND');
  });
});

describe('idempotent retries', () => {
  test('the Idempotency-Key header returns the original unit and appends nothing', async () => {
    const first = await env.http.post('/workunit', unit('idem', { payload: 'once' }), { 'Idempotency-Key': 'req-1' });
    assert.equal(first.status, 201);
    assert.equal(first.headers['idempotent-replayed'], undefined);
    const retry = await env.http.post('/workunit', unit('idem', { payload: 'once' }), { 'Idempotency-Key': 'req-1' });
    assert.equal(retry.status, 201);
    assert.equal(retry.headers['idempotent-replayed'], 'true');
    assert.equal(retry.text, first.text);
    assert.equal((await env.http.get('/contexts/idem')).json.headSeq, 1);
  });

  test('the idempotencyKey field works the same, also for retries racing each other', async () => {
    const results = await Promise.all(Array.from({ length: 10 }, () => env.http.post('/workunit', unit('idem-race', { idempotencyKey: 'race' }))));
    assert.ok(results.every((r) => r.status === 201));
    assert.equal(new Set(results.map((r) => r.json.id)).size, 1);
    assert.equal((await env.http.get('/contexts/idem-race')).json.headSeq, 1);
  });

  test('the same key in another context is a new write', async () => {
    const a = await env.http.post('/workunit', unit('idem-a'), { 'Idempotency-Key': 'shared' });
    const b = await env.http.post('/workunit', unit('idem-b'), { 'Idempotency-Key': 'shared' });
    assert.notEqual(a.json.id, b.json.id);
  });
});
