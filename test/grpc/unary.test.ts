/**
 * Every unary RPC of engram.v3.EngramService against a real server, with a client generated
 * from the .proto: the wire contract, and that gRPC and HTTP see the same data.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { status } from '@grpc/grpc-js';
import { grpcServerPerFile, payloadValue, rejectsWith, trailer, tsMs, unaryCall, unitRequest, type EngramGrpc, type Msg } from '../helpers/grpc.js';
import { unit } from '../helpers/http.js';
import { eventually, WAIT_MS } from '../helpers/wait.js';

const env = grpcServerPerFile({ args: ['--locks-max-ttl', '10m', '--locks-max-wait', '60s'] });
/** The file's gRPC client (a getter: the server starts in a hook). */
const g = new Proxy({} as EngramGrpc, { get: (_, key) => Reflect.get(env.grpc, key) });

const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;
const json = (v: unknown) => ({ json: JSON.stringify(v) });
const lockPath = (resource: string) => `/locks/${encodeURIComponent(resource)}`;

/** A WorkUnit message as the HTTP API's JSON shape, to compare units across the two wires. */
function asHttpJson(u: Msg): Record<string, unknown> {
  const p = payloadValue(u.payload) as { data?: Buffer; contentType?: string };
  return {
    id: u.id,
    contextId: u.contextId,
    seq: u.seq,
    agentId: u.agentId,
    type: u.type.replace(/^WORK_UNIT_TYPE_/, ''),
    ts: new Date(tsMs(u.ts)).toISOString(),
    meta: u.meta,
    payload: u.payload.kind === 'binary' ? { $binary: p.data!.toString('base64'), contentType: p.contentType } : p,
    relationships: u.relationships.map((r: Msg) => ({ targetId: r.targetId, type: r.type.replace(/^RELATIONSHIP_TYPE_/, ''), meta: r.meta })),
  };
}

describe('CreateWorkUnit and GetWorkUnit', () => {
  test('JSON payloads of every kind and every field round-trip', async () => {
    const payloads: unknown[] = [{ text: 'héllo 🦊', nested: { list: [1, 2.5, -3e-7, true, null], empty: {} } }, [1, 'two', { three: 3 }], 'plain text', '', null, 42, false];
    for (const [i, payload] of payloads.entries()) {
      const started = Date.now();
      const res = await g.CreateWorkUnit({
        contextId: 'grpc/round trip ✓',
        agentId: 'planner-1',
        type: 'WORK_UNIT_TYPE_TOOL_CALL',
        meta: { model: 'x-1', empty: '' },
        payload: json(payload),
        relationships: [
          { targetId: '01ARZ3NDEKTSV4RRFFQ69G5FAV', type: 'RELATIONSHIP_TYPE_RESPONDS_TO', meta: { note: 'answer' } },
          { targetId: 'external:ticket-9', type: 'RELATIONSHIP_TYPE_REFERENCES' },
        ],
      });
      assert.equal(res.replayed, false);
      const u = res.workUnit;
      assert.match(u.id, ULID);
      assert.deepEqual(
        { ...u, id: undefined, ts: undefined },
        {
          id: undefined,
          contextId: 'grpc/round trip ✓',
          seq: i + 1,
          agentId: 'planner-1',
          type: 'WORK_UNIT_TYPE_TOOL_CALL',
          ts: undefined,
          meta: { model: 'x-1', empty: '' },
          payload: { kind: 'json', json: JSON.stringify(payload) },
          relationships: [
            { targetId: '01ARZ3NDEKTSV4RRFFQ69G5FAV', type: 'RELATIONSHIP_TYPE_RESPONDS_TO', meta: { note: 'answer' } },
            { targetId: 'external:ticket-9', type: 'RELATIONSHIP_TYPE_REFERENCES', meta: {} },
          ],
        },
      );
      assert.deepEqual(payloadValue(u.payload), payload);
      assert.ok(tsMs(u.ts) >= started - 5 && tsMs(u.ts) <= Date.now() + 5);
      assert.deepEqual(await g.GetWorkUnit({ id: u.id }), u);
      const overHttp = await env.http.get(`/workunit/${u.id}`);
      assert.equal(overHttp.status, 200);
      assert.deepEqual(overHttp.json, asHttpJson(u));
    }
  });

  test('a binary payload round-trips byte for byte; HTTP readers see it as {$binary, contentType}', async () => {
    const data = Buffer.from([0, 1, 2, 0xfe, 0xff, 0x80, 0x7f, ...Buffer.from('PNG\r\n\x1a\n'), ...Array.from({ length: 300 }, (_, i) => (i * 37) & 0xff)]);
    const res = await g.CreateWorkUnit(unitRequest('grpc/binary', { payload: { binary: { data, contentType: 'image/png' } } }));
    const u = res.workUnit;
    assert.equal(u.payload.kind, 'binary');
    assert.deepEqual(payloadValue(u.payload), { data, contentType: 'image/png' });
    const read = await g.GetWorkUnit({ id: u.id });
    assert.ok(Buffer.from(read.payload.binary.data).equals(data));
    assert.equal(read.payload.binary.contentType, 'image/png');
    const overHttp = await env.http.get(`/workunit/${u.id}`);
    assert.equal(overHttp.status, 200);
    assert.deepEqual(overHttp.json.payload, { $binary: data.toString('base64'), contentType: 'image/png' });
    // Empty bytes and an empty content type are a binary payload too.
    const empty = await g.CreateWorkUnit(unitRequest('grpc/binary', { payload: { binary: { data: Buffer.alloc(0), contentType: '' } } }));
    assert.deepEqual(payloadValue((await g.GetWorkUnit({ id: empty.workUnit.id })).payload), { data: Buffer.alloc(0), contentType: '' });
    assert.deepEqual((await env.http.get(`/workunit/${empty.workUnit.id}`)).json.payload, { $binary: '', contentType: '' });
  });

  test('a unit written over HTTP reads the same over gRPC, and the other way round', async () => {
    const sent = {
      contextId: 'grpc/mixed',
      agentId: 'http-writer',
      type: 'FILE_CHANGE',
      meta: { path: 'src/a.ts' },
      payload: { diff: '+1 -0', lines: [1, 2] },
      relationships: [{ targetId: 'external:x', type: 'MODIFIES', meta: { why: 'fix' } }],
    };
    const created = await env.http.post('/workunit', sent);
    assert.equal(created.status, 201, created.text);
    const viaGrpc = await g.GetWorkUnit({ id: created.json.id });
    assert.deepEqual(asHttpJson(viaGrpc), created.json);
    assert.equal(viaGrpc.type, 'WORK_UNIT_TYPE_FILE_CHANGE');
    assert.equal(viaGrpc.relationships[0].type, 'RELATIONSHIP_TYPE_MODIFIES');

    const written = (
      await g.CreateWorkUnit({
        contextId: 'grpc/mixed',
        agentId: 'grpc-writer',
        type: 'WORK_UNIT_TYPE_TASK_STATUS',
        meta: { stage: 'done' },
        payload: json({ status: 'ok' }),
        relationships: [{ targetId: created.json.id, type: 'RELATIONSHIP_TYPE_CAUSES' }],
      })
    ).workUnit;
    assert.equal(written.seq, 2);
    const viaHttp = await env.http.get(`/workunit/${written.id}`);
    assert.deepEqual(viaHttp.json, asHttpJson(written));
    assert.deepEqual(viaHttp.json.relationships, [{ targetId: created.json.id, type: 'CAUSES', meta: {} }]);
    const listed = await g.ListWorkUnits({ contextId: 'grpc/mixed' });
    assert.deepEqual(listed.workUnits.map(asHttpJson), (await env.http.get('/workunits/grpc%2Fmixed')).json.workUnits);
  });

  test('a retried idempotency key returns the first write, replayed, and stores nothing new', async () => {
    const first = await g.CreateWorkUnit(unitRequest('grpc/idem', { idempotencyKey: 'retry-1', payload: json('first') }));
    assert.equal(first.replayed, false);
    const retry = await g.CreateWorkUnit(unitRequest('grpc/idem', { idempotencyKey: 'retry-1', payload: json('second') }));
    assert.equal(retry.replayed, true);
    assert.deepEqual(retry.workUnit, first.workUnit);
    // The same key over HTTP is the same key.
    const overHttp = await env.http.post('/workunit', unit('grpc/idem', { idempotencyKey: 'retry-1' }));
    assert.equal(overHttp.json.id, first.workUnit.id);
    assert.equal(overHttp.headers['idempotent-replayed'], 'true');
    const other = await g.CreateWorkUnit(unitRequest('grpc/idem', { idempotencyKey: 'retry-2' }));
    assert.deepEqual([other.replayed, other.workUnit.seq], [false, 2]);
    assert.equal((await g.GetContext({ contextId: 'grpc/idem' })).headSeq, 2);
  });

  test("a fenced write: the holder's token is accepted, a stale one is FAILED_PRECONDITION / FENCE_REJECTED", async () => {
    const resource = 'grpc/fenced.md';
    const [held] = (await g.AcquireLock({ resources: [resource], agentId: 'editor' })).locks;
    const ok = await g.CreateWorkUnit(unitRequest('grpc/fence', { agentId: 'editor', fence: { resource, token: held.token } }));
    assert.equal(ok.workUnit.seq, 1);
    await g.ReleaseLock({ resource, agentId: 'editor', lockId: held.lockId });
    const [next] = (await g.AcquireLock({ resources: [resource], agentId: 'other' })).locks;
    assert.ok(next.token > held.token);
    const err = await rejectsWith(
      g.CreateWorkUnit(unitRequest('grpc/fence', { agentId: 'editor', fence: { resource, token: held.token } })),
      status.FAILED_PRECONDITION,
      'FENCE_REJECTED',
    );
    assert.deepEqual(JSON.parse(trailer(err, 'engram-error-details')!), { resource, token: held.token, currentToken: next.token });
    assert.equal((await g.GetContext({ contextId: 'grpc/fence' })).headSeq, 1, 'the refused write stored nothing');
    const current = await g.CreateWorkUnit(unitRequest('grpc/fence', { agentId: 'other', fence: { resource, token: next.token } }));
    assert.equal(current.workUnit.seq, 2);
  });

  test('GetWorkUnit of an unknown id is NOT_FOUND / WORKUNIT_NOT_FOUND', async () => {
    await rejectsWith(g.GetWorkUnit({ id: '01ARZ3NDEKTSV4RRFFQ69G5FAV' }), status.NOT_FOUND, 'WORKUNIT_NOT_FOUND');
  });
});

describe('ListWorkUnits', () => {
  const seqs = (r: Msg) => r.workUnits.map((u: Msg) => u.seq);

  before(async () => {
    for (let i = 0; i < 7; i++) await g.CreateWorkUnit(unitRequest('grpc/paging', { payload: json(i) }));
  });

  test('pages forward with limit and after; next_cursor is absent on the last page', async () => {
    const all = await g.ListWorkUnits({ contextId: 'grpc/paging' });
    assert.deepEqual(seqs(all), [1, 2, 3, 4, 5, 6, 7]);
    assert.equal(all.nextCursor, undefined);
    assert.deepEqual(
      all.workUnits.map((u: Msg) => payloadValue(u.payload)),
      [0, 1, 2, 3, 4, 5, 6],
    );
    const p1 = await g.ListWorkUnits({ contextId: 'grpc/paging', limit: 3 });
    assert.deepEqual([seqs(p1), p1.nextCursor], [[1, 2, 3], 3]);
    const p2 = await g.ListWorkUnits({ contextId: 'grpc/paging', limit: 3, after: p1.nextCursor });
    assert.deepEqual([seqs(p2), p2.nextCursor], [[4, 5, 6], 6]);
    const p3 = await g.ListWorkUnits({ contextId: 'grpc/paging', limit: 3, after: p2.nextCursor });
    assert.deepEqual([seqs(p3), p3.nextCursor], [[7], undefined]);
    // after = 0 is a value (proto3 optional), the same as absent here.
    assert.deepEqual(seqs(await g.ListWorkUnits({ contextId: 'grpc/paging', limit: 2, after: 0 })), [1, 2]);
  });

  test('pages backward with reverse and before', async () => {
    const p1 = await g.ListWorkUnits({ contextId: 'grpc/paging', limit: 3, reverse: true });
    assert.deepEqual([seqs(p1), p1.nextCursor], [[7, 6, 5], 5]);
    const p2 = await g.ListWorkUnits({ contextId: 'grpc/paging', limit: 3, reverse: true, before: p1.nextCursor });
    assert.deepEqual([seqs(p2), p2.nextCursor], [[4, 3, 2], 2]);
    const p3 = await g.ListWorkUnits({ contextId: 'grpc/paging', limit: 3, reverse: true, before: p2.nextCursor });
    assert.deepEqual([seqs(p3), p3.nextCursor], [[1], undefined]);
    const window = await g.ListWorkUnits({ contextId: 'grpc/paging', after: 2, before: 6 });
    assert.deepEqual(seqs(window), [3, 4, 5]);
  });

  test('matches the HTTP listing', async () => {
    const viaGrpc = await g.ListWorkUnits({ contextId: 'grpc/paging', limit: 4, after: 1 });
    const viaHttp = await env.http.get('/workunits/grpc%2Fpaging?limit=4&after=1');
    assert.deepEqual(viaGrpc.workUnits.map(asHttpJson), viaHttp.json.workUnits);
    assert.equal(viaGrpc.nextCursor, viaHttp.json.nextCursor);
  });

  test('bad input and unknown contexts', async () => {
    await rejectsWith(g.ListWorkUnits({ contextId: 'grpc/never-written' }), status.NOT_FOUND, 'CONTEXT_NOT_FOUND');
    await rejectsWith(g.ListWorkUnits({ contextId: 'grpc/paging', limit: 1001 }), status.INVALID_ARGUMENT);
    await rejectsWith(g.ListWorkUnits({ contextId: '' }), status.INVALID_ARGUMENT);
  });
});

describe('contexts', () => {
  test('GetContext answers what HTTP answers', async () => {
    const u = await g.CreateWorkUnit(unitRequest('grpc/ctx', { agentId: 'coder' }));
    const c = await g.GetContext({ contextId: 'grpc/ctx' });
    assert.deepEqual(
      { ...c, createdAt: undefined, updatedAt: undefined },
      {
        id: 'grpc/ctx',
        displayName: 'grpc/ctx',
        agentIds: ['coder'],
        pinnedUnits: [],
        meta: {},
        createdAt: undefined,
        updatedAt: undefined,
        version: 1,
        headSeq: 1,
        firstSeq: 1,
        lineage: [],
        forks: [],
      },
    );
    assert.equal(tsMs(c.createdAt), tsMs(u.workUnit.ts));
    const h = (await env.http.get('/contexts/grpc%2Fctx')).json;
    // Not a fork and without forks: HTTP leaves out what proto3 shows as empty lists.
    const { lineage: _lineage, forks: _forks, ...rest } = c;
    assert.deepEqual({ ...rest, createdAt: new Date(tsMs(c.createdAt)).toISOString(), updatedAt: new Date(tsMs(c.updatedAt)).toISOString() }, h);
    await rejectsWith(g.GetContext({ contextId: 'grpc/no-such-context' }), status.NOT_FOUND, 'CONTEXT_NOT_FOUND');
  });

  test('UpdateContext: display name, agents, pins, meta set and delete', async () => {
    const id = 'grpc/patched';
    const v1 = await g.UpdateContext({ contextId: id, displayName: 'Design review', addAgents: ['ana', 'bo'], setMeta: { owner: 'ana', stage: 'draft' } });
    assert.deepEqual([v1.displayName, v1.agentIds, v1.meta, v1.version, v1.headSeq], ['Design review', ['ana', 'bo'], { owner: 'ana', stage: 'draft' }, 1, 0]);
    const u1 = (await g.CreateWorkUnit(unitRequest(id, { agentId: 'ana' }))).workUnit;
    const v2 = await g.UpdateContext({ contextId: id, removeAgents: ['bo'], setMeta: { stage: 'final' }, deleteMeta: ['owner'], pinUnits: [u1.id] });
    assert.deepEqual([v2.displayName, v2.agentIds, v2.meta, v2.pinnedUnits, v2.version, v2.headSeq], ['Design review', ['ana'], { stage: 'final' }, [u1.id], v1.version + 1, 1]);
    const v3 = await g.UpdateContext({ contextId: id, unpinUnits: [u1.id] });
    assert.deepEqual([v3.displayName, v3.pinnedUnits, v3.version], ['Design review', [], v2.version + 1]);
    const h = (await env.http.get(`/contexts/${encodeURIComponent(id)}`)).json;
    assert.deepEqual([h.displayName, h.agentIds, h.meta, h.pinnedUnits, h.version], ['Design review', ['ana'], { stage: 'final' }, [], v3.version]);
    // display_name is proto3 optional: an empty one is sent, and refused as over HTTP.
    await rejectsWith(g.UpdateContext({ contextId: id, displayName: '' }), status.INVALID_ARGUMENT, 'INVALID_FIELD');
    await rejectsWith(g.UpdateContext({ contextId: id, setMeta: { k: 'v' }, deleteMeta: ['k'] }), status.INVALID_ARGUMENT, 'INVALID_FIELD');
    const elsewhere = (await g.CreateWorkUnit(unitRequest('grpc/other'))).workUnit;
    await rejectsWith(g.UpdateContext({ contextId: id, pinUnits: [elsewhere.id] }), status.INVALID_ARGUMENT, 'UNIT_NOT_IN_CONTEXT');
  });

  test('UpdateContext preconditions: if_version and if_exists', async () => {
    const id = 'grpc/guarded';
    const v1 = await g.UpdateContext({ contextId: id, displayName: 'one' });
    const v2 = await g.UpdateContext({ contextId: id, displayName: 'two', ifVersion: v1.version });
    assert.equal(v2.version, v1.version + 1);
    await rejectsWith(g.UpdateContext({ contextId: id, displayName: 'three', ifVersion: v1.version }), status.ABORTED, 'VERSION_MISMATCH');
    assert.equal((await g.GetContext({ contextId: id })).displayName, 'two', 'a refused update changes nothing');
    const v3 = await g.UpdateContext({ contextId: id, displayName: 'four', ifExists: true });
    assert.deepEqual([v3.displayName, v3.version], ['four', v2.version + 1]);
    // if_exists on a missing context is refused as HTTP's `If-Match: *` is (412 VERSION_MISMATCH there), and creates nothing.
    await rejectsWith(g.UpdateContext({ contextId: 'grpc/not-there', displayName: 'x', ifExists: true }), status.ABORTED, 'VERSION_MISMATCH');
    await rejectsWith(g.GetContext({ contextId: 'grpc/not-there' }), status.NOT_FOUND, 'CONTEXT_NOT_FOUND');
    assert.equal((await env.http.get('/contexts/grpc%2Fnot-there')).status, 404);
  });

  test('ListContexts pages in id order and filters by prefix', async () => {
    for (const id of ['grpc-list/c', 'grpc-list/a', 'grpc-list/b', 'grpc-list/d', 'grpc-list/e']) await g.CreateWorkUnit(unitRequest(id));
    const ids = (r: Msg) => r.contexts.map((c: Msg) => c.id);
    const p1 = await g.ListContexts({ prefix: 'grpc-list/', limit: 2 });
    assert.deepEqual([ids(p1), p1.nextCursor], [['grpc-list/a', 'grpc-list/b'], 'grpc-list/b']);
    const p2 = await g.ListContexts({ prefix: 'grpc-list/', limit: 2, after: p1.nextCursor });
    assert.deepEqual([ids(p2), p2.nextCursor], [['grpc-list/c', 'grpc-list/d'], 'grpc-list/d']);
    const p3 = await g.ListContexts({ prefix: 'grpc-list/', limit: 2, after: p2.nextCursor });
    assert.deepEqual([ids(p3), p3.nextCursor], [['grpc-list/e'], undefined]);
    const viaHttp = (await env.http.get('/contexts?limit=1000')).json.contexts.map((c: { id: string }) => c.id);
    assert.deepEqual(ids(await g.ListContexts({ limit: 1000 })), viaHttp);
    assert.ok(viaHttp.length >= 5);
    await rejectsWith(g.ListContexts({ limit: 100_000 }), status.INVALID_ARGUMENT);
  });
});

describe('locks', () => {
  test('acquire, get, renew, release; LOCK_HELD names the holder; NOT_LOCK_HOLDER', async () => {
    const resource = 'grpc/plan.md';
    const started = Date.now();
    const { locks } = await g.AcquireLock({ resources: [resource], agentId: 'alice', ttlMs: 60_000, contextId: 'grpc/locks' });
    assert.equal(locks.length, 1);
    const lock = locks[0];
    assert.deepEqual([lock.resource, lock.agentId, lock.ttlMs, lock.contextId], [resource, 'alice', 60_000, 'grpc/locks']);
    assert.ok(lock.token > 0);
    assert.ok(lock.lockId.length > 0);
    assert.ok(tsMs(lock.expiresAt) >= started + 60_000 - 5);
    assert.ok(tsMs(lock.acquiredAt) >= started - 5);

    const got = await g.GetLock({ resource });
    assert.deepEqual({ ...got, expiresAt: undefined, ttlMs: undefined }, { ...lock, expiresAt: undefined, ttlMs: undefined, waiting: 0 });
    const overHttp = (await env.http.get(lockPath(resource))).json;
    assert.deepEqual([overHttp.agentId, overHttp.lockId, overHttp.token], ['alice', lock.lockId, lock.token]);

    const held = await rejectsWith(g.AcquireLock({ resources: [resource], agentId: 'bob' }), status.ABORTED, 'LOCK_HELD');
    const details = JSON.parse(trailer(held, 'engram-error-details')!);
    assert.equal(details.holder, 'alice');
    assert.equal(details.resource, resource);
    assert.equal(Date.parse(details.expiresAt), tsMs(lock.expiresAt));
    assert.match(held.details, /alice/);

    await rejectsWith(g.RenewLock({ resource, agentId: 'bob', lockId: lock.lockId }), status.PERMISSION_DENIED, 'NOT_LOCK_HOLDER');
    await rejectsWith(g.RenewLock({ resource, agentId: 'alice', lockId: 'not-the-lock' }), status.PERMISSION_DENIED, 'NOT_LOCK_HOLDER');
    const renewed = await g.RenewLock({ resource, agentId: 'alice', lockId: lock.lockId, ttlMs: 120_000 });
    assert.deepEqual([renewed.lockId, renewed.token, renewed.ttlMs], [lock.lockId, lock.token, 120_000]);
    assert.ok(tsMs(renewed.expiresAt) > tsMs(lock.expiresAt));

    await rejectsWith(g.ReleaseLock({ resource, agentId: 'bob', lockId: lock.lockId }), status.PERMISSION_DENIED, 'NOT_LOCK_HOLDER');
    const released = await g.ReleaseLock({ resource, agentId: 'alice', lockId: lock.lockId });
    assert.equal(released.lockId, lock.lockId);
    await rejectsWith(g.GetLock({ resource }), status.NOT_FOUND, 'LOCK_NOT_HELD');
    await rejectsWith(g.ReleaseLock({ resource, agentId: 'alice', lockId: lock.lockId }), status.NOT_FOUND, 'LOCK_NOT_HELD');
    const bob = await g.AcquireLock({ resources: [resource], agentId: 'bob' });
    assert.ok(bob.locks[0].token > lock.token);
    await g.ReleaseLock({ resource, agentId: 'bob', lockId: bob.locks[0].lockId });
  });

  test('several resources are taken all or none, in resource order, under one lock id', async () => {
    const { locks } = await g.AcquireLock({ resources: ['grpc/m/c', 'grpc/m/a', 'grpc/m/b'], agentId: 'multi' });
    assert.deepEqual(
      locks.map((l: Msg) => l.resource),
      ['grpc/m/a', 'grpc/m/b', 'grpc/m/c'],
    );
    assert.equal(new Set(locks.map((l: Msg) => l.lockId)).size, 1);
    for (const l of locks) assert.equal((await env.http.get(lockPath(l.resource))).json.agentId, 'multi');
    // One of them held: nothing of the other request is taken.
    await rejectsWith(g.AcquireLock({ resources: ['grpc/m/z', 'grpc/m/b'], agentId: 'other' }), status.ABORTED, 'LOCK_HELD');
    await rejectsWith(g.GetLock({ resource: 'grpc/m/z' }), status.NOT_FOUND, 'LOCK_NOT_HELD');
    for (const l of locks) await g.ReleaseLock({ resource: l.resource, agentId: 'multi', lockId: l.lockId });
    await rejectsWith(g.AcquireLock({ resources: [], agentId: 'other' }), status.INVALID_ARGUMENT, 'MISSING_FIELD');
  });

  test('a waiter gets the lock when the holder releases it', async () => {
    const resource = 'grpc/handover';
    const [first] = (await g.AcquireLock({ resources: [resource], agentId: 'first' })).locks;
    const waiting = g.AcquireLock({ resources: [resource], agentId: 'second', waitMs: 60_000 });
    await eventually(async () => (await g.GetLock({ resource })).waiting === 1, WAIT_MS, 'the second agent queued');
    await g.ReleaseLock({ resource, agentId: 'first', lockId: first.lockId });
    const [second] = (await waiting).locks;
    assert.equal(second.agentId, 'second');
    assert.ok(second.token > first.token);
    await g.ReleaseLock({ resource, agentId: 'second', lockId: second.lockId });
  });

  test('a wait whose deadline passes is DEADLINE_EXCEEDED and withdraws the waiter', async () => {
    const resource = 'grpc/deadline';
    const [holder] = (await g.AcquireLock({ resources: [resource], agentId: 'holder' })).locks;
    // The deadline must pass, but only after the waiter was seen queued: 6 s leaves a busy machine time for that.
    const waiter = g.AcquireLock({ resources: [resource], agentId: 'late', waitMs: 60_000 }, { deadlineMs: 6000 });
    let sawQueued = false;
    const watch = eventually(async () => (sawQueued = (await g.GetLock({ resource })).waiting === 1), WAIT_MS, 'the late agent queued');
    await rejectsWith(waiter, status.DEADLINE_EXCEEDED);
    await watch;
    assert.ok(sawQueued);
    await eventually(async () => (await g.GetLock({ resource })).waiting === 0, WAIT_MS, 'the late agent withdrawn');
    await g.ReleaseLock({ resource, agentId: 'holder', lockId: holder.lockId });
    // Not passed on to the withdrawn waiter: the resource is free, and a third agent gets it at once.
    await rejectsWith(g.GetLock({ resource }), status.NOT_FOUND, 'LOCK_NOT_HELD');
    const [third] = (await g.AcquireLock({ resources: [resource], agentId: 'third' })).locks;
    assert.equal(third.agentId, 'third');
    await g.ReleaseLock({ resource, agentId: 'third', lockId: third.lockId });
  });

  test('a waiter that cancels its call is withdrawn too', async () => {
    const resource = 'grpc/cancelled-wait';
    const [holder] = (await g.AcquireLock({ resources: [resource], agentId: 'holder' })).locks;
    const { call, response } = unaryCall(g.client, 'AcquireLock', { resources: [resource], agentId: 'quitter', waitMs: 60_000 });
    await eventually(async () => (await g.GetLock({ resource })).waiting === 1, WAIT_MS, 'the quitter queued');
    call.cancel();
    await rejectsWith(response, status.CANCELLED);
    await eventually(async () => (await g.GetLock({ resource })).waiting === 0, WAIT_MS, 'the quitter withdrawn');
    await g.ReleaseLock({ resource, agentId: 'holder', lockId: holder.lockId });
    const [next] = (await g.AcquireLock({ resources: [resource], agentId: 'next' })).locks;
    assert.equal(next.agentId, 'next');
    await g.ReleaseLock({ resource, agentId: 'next', lockId: next.lockId });
  });

  test('a wait that runs out on the server is LOCK_HELD', async () => {
    const resource = 'grpc/short-wait';
    const [holder] = (await g.AcquireLock({ resources: [resource], agentId: 'holder' })).locks;
    const err = await rejectsWith(g.AcquireLock({ resources: [resource], agentId: 'patient', waitMs: 50 }), status.ABORTED, 'LOCK_HELD');
    assert.equal(JSON.parse(trailer(err, 'engram-error-details')!).holder, 'holder');
    assert.equal((await g.GetLock({ resource })).waiting, 0);
    await g.ReleaseLock({ resource, agentId: 'holder', lockId: holder.lockId });
  });
});

describe('Search', () => {
  async function caughtUp(): Promise<void> {
    await eventually(
      async () => {
        const s = (await env.http.get('/search/status')).json;
        return s.behind === 0 && s.position === s.logPosition;
      },
      WAIT_MS,
      'the search index to catch up',
    );
  }

  test('keyword mode finds a unit by a word, as stored', async () => {
    const target = (await g.CreateWorkUnit(unitRequest('grpc/search', { payload: json('the xylophone quartet rehearses on tuesday'), agentId: 'musician' }))).workUnit;
    await g.CreateWorkUnit(unitRequest('grpc/search', { payload: json('lunch is at noon') }));
    await caughtUp();
    const r = await g.Search({ query: 'xylophone', mode: 'SEARCH_MODE_KEYWORD', limit: 5 });
    assert.equal(r.results.length, 1);
    assert.deepEqual(r.results[0].workUnit, target);
    assert.equal(typeof r.results[0].score, 'number');
    assert.equal(typeof r.results[0].keywordScore, 'number');
    assert.equal(r.results[0].vectorScore, undefined);
    assert.equal(r.total, 1);
    assert.equal(r.totalRelation, 'eq');
    // Filters travel: another agent or type finds nothing.
    assert.equal((await g.Search({ query: 'xylophone', mode: 'SEARCH_MODE_KEYWORD', agentIds: ['nobody'] })).results.length, 0);
    assert.equal((await g.Search({ query: 'xylophone', mode: 'SEARCH_MODE_KEYWORD', types: ['WORK_UNIT_TYPE_ERROR'] })).results.length, 0);
    assert.equal((await g.Search({ query: 'xylophone', mode: 'SEARCH_MODE_KEYWORD', types: ['WORK_UNIT_TYPE_MESSAGE'], contextIds: ['grpc/search'] })).results.length, 1);
    // Hybrid (the default mode) answers too.
    const hybrid = await g.Search({ query: 'xylophone quartet' });
    assert.equal(hybrid.results[0].workUnit.id, target.id);
  });

  test("bad input is INVALID_ARGUMENT with the engine's code", async () => {
    await rejectsWith(g.Search({ query: '', mode: 'SEARCH_MODE_KEYWORD' }), status.INVALID_ARGUMENT, 'MISSING_FIELD');
    await rejectsWith(g.Search({}), status.INVALID_ARGUMENT, 'MISSING_FIELD');
    await rejectsWith(g.Search({ query: 'x', limit: 1000 }), status.INVALID_ARGUMENT, 'INVALID_FIELD');
    await rejectsWith(g.Search({ vector: [1, 2, 3] }), status.INVALID_ARGUMENT, 'INVALID_FIELD');
  });
});
