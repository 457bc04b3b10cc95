/**
 * Client isolation through every interface: two clients (X-Client-ID / x-client-id) on one
 * server use the same context ids, resources and texts, and neither can read, list,
 * search, lock, subscribe to or guess its way into the other's data.
 */
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { describe, test } from 'node:test';
import { EngramGrpc, grpcServerPerFile, rejectsWith, StreamReader, unitRequest } from '../helpers/grpc.js';
import { unit, type HttpResult } from '../helpers/http.js';
import { SseReader } from '../helpers/sse.js';
import { eventually, WAIT_MS } from '../helpers/wait.js';
import { WsClient } from '../helpers/ws.js';

const env = grpcServerPerFile();
const A = { 'x-client-id': 'team-a' };
const B = { 'x-client-id': 'team-b' };
const wsUrl = (query: string) => `${env.server.url.replace('http', 'ws')}/stream${query}`;

function meta(clientId: string): grpc.Metadata {
  const m = new grpc.Metadata();
  m.set('x-client-id', clientId);
  return m;
}

function ok(r: HttpResult, status = 200): HttpResult {
  assert.equal(r.status, status, r.text);
  return r;
}

async function write(headers: Record<string, string>, contextId: string, text: string): Promise<{ id: string; seq: number }> {
  return ok(await env.http.post('/workunit', unit(contextId, { payload: { text } }), headers), 201).json;
}

describe('two clients, the same ids', () => {
  test('units, contexts and seqs are separate; ids of the other client are not found', async () => {
    const a1 = await write(A, 'shared-name', 'a one');
    const a2 = await write(A, 'shared-name', 'a two');
    const b1 = await write(B, 'shared-name', 'b one');
    // Each client's context counts its own seqs from 1.
    assert.deepEqual([a1.seq, a2.seq, b1.seq], [1, 2, 1]);

    const listA = ok(await env.http.get('/workunits/shared-name', A)).json.workUnits.map((u: { payload: { text: string } }) => u.payload.text);
    const listB = ok(await env.http.get('/workunits/shared-name', B)).json.workUnits.map((u: { payload: { text: string } }) => u.payload.text);
    assert.deepEqual(listA, ['a one', 'a two']);
    assert.deepEqual(listB, ['b one']);

    // A unit id is no key into another client's data.
    assert.equal(ok(await env.http.get(`/workunit/${a1.id}`, A)).json.payload.text, 'a one');
    const guessed = await env.http.get(`/workunit/${a1.id}`, B);
    assert.equal(guessed.status, 404);
    assert.equal(guessed.json.error.code, 'WORKUNIT_NOT_FOUND');
  });

  test('contexts: listing, reading and patching stay within the client', async () => {
    await write(A, 'only-a', 'private to a');
    const namesB = ok(await env.http.get('/contexts?limit=1000', B)).json.contexts.map((c: { id: string }) => c.id);
    assert.ok(!namesB.includes('only-a'), 'B lists A context');
    const namesA = ok(await env.http.get('/contexts?limit=1000', A)).json.contexts.map((c: { id: string }) => c.id);
    assert.ok(namesA.includes('only-a'));
    assert.equal((await env.http.get('/contexts/only-a', B)).json.error.code, 'CONTEXT_NOT_FOUND');
    assert.equal((await env.http.get('/workunits/only-a', B)).json.error.code, 'CONTEXT_NOT_FOUND');

    // B's PATCH of the same name makes B's own context; A's is untouched.
    ok(await env.http.patch('/contexts/only-a', { displayName: 'written by b' }, B));
    assert.equal(ok(await env.http.get('/contexts/only-a', B)).json.displayName, 'written by b');
    const a = ok(await env.http.get('/contexts/only-a', A)).json;
    assert.notEqual(a.displayName, 'written by b');
    assert.equal(a.headSeq, 1);
  });

  test('requests without X-Client-ID belong to the default client', async () => {
    const d = await write({}, 'default-ctx', 'from nobody in particular');
    assert.equal(ok(await env.http.get(`/workunit/${d.id}`, { 'x-client-id': 'default' })).json.payload.text, 'from nobody in particular');
    assert.equal((await env.http.get(`/workunit/${d.id}`, A)).status, 404);
  });
});

describe('locks', () => {
  test('the same resource name is a different lock per client; neither sees nor frees the other', async () => {
    const a = ok(await env.http.post('/locks', { resource: 'src/main.ts', agentId: 'writer', ttlMs: 60_000 }, A)).json;
    assert.equal(ok(await env.http.get('/locks', B)).json.locks.length, 0);
    assert.equal((await env.http.get('/locks/src%2Fmain.ts', B)).json.error.code, 'LOCK_NOT_HELD');
    // B cannot release A's lock, even knowing its lockId.
    const release = await env.http.request('DELETE', `/locks/src%2Fmain.ts?agentId=writer&lockId=${a.lockId}`, { headers: B });
    assert.equal(release.json.error.code, 'LOCK_NOT_HELD');
    assert.equal(ok(await env.http.get('/locks/src%2Fmain.ts', A)).json.lockId, a.lockId);
    // B takes the same name at once: it is B's own resource.
    const b = ok(await env.http.post('/locks', { resource: 'src/main.ts', agentId: 'writer', ttlMs: 60_000 }, B)).json;
    assert.notEqual(b.lockId, a.lockId);
    assert.deepEqual(
      ok(await env.http.get('/locks', A)).json.locks.map((l: { lockId: string }) => l.lockId),
      [a.lockId],
    );
  });
});

describe('search', () => {
  test("a client's search never returns another client's units", async () => {
    await write(A, 'search-a', 'the quokka audit of the penguin pipeline');
    await write(B, 'search-b', 'an unrelated note about lunch');
    await eventually(async () => ok(await env.http.post('/search', { query: 'quokka penguin' }, A)).json.results.length > 0, WAIT_MS, 'A finds its unit');
    for (const mode of ['keyword', 'vector', 'hybrid']) {
      const r = ok(await env.http.post('/search', { query: 'quokka penguin pipeline audit', mode, limit: 50 }, B)).json;
      const texts = r.results.map((x: { workUnit: { payload: { text: string } } }) => x.workUnit.payload.text);
      assert.ok(!texts.some((t: string) => t.includes('quokka')), `${mode}: B found A's unit`);
    }
  });
});

describe('streams', () => {
  test('WebSocket: a subscriber sees only its client units; its publishes land in its client', async () => {
    const a = new WsClient(wsUrl('?context=live'), undefined, A);
    const b = new WsClient(wsUrl('?context=live'), undefined, B);
    await Promise.all([a.open(), b.open()]);
    await Promise.all([a.next((f) => f.event === 'subscribed'), b.next((f) => f.event === 'subscribed')]);
    await write(A, 'live', 'for a');
    b.send({ op: 'publish', ref: 'p', contextId: 'live', agentId: 'b-agent', type: 'MESSAGE', payload: { text: 'for b' } });
    const ack = await b.next((f) => f.event === 'ack');
    assert.equal(ack.seq, 1);
    await a.untilSeq('live', 1);
    await b.untilSeq('live', 1);
    // A marker written after both: once each stream has it, nothing else can still arrive out of order.
    await write(A, 'live', 'a marker');
    await a.untilSeq('live', 2);
    const units = (c: WsClient) => c.frames.filter((f) => f.event === 'workunit').map((f) => f.workUnit.payload.text);
    assert.deepEqual(units(a), ['for a', 'a marker']);
    assert.deepEqual(units(b), ['for b']);
    assert.equal(ok(await env.http.get('/workunits/live', B)).json.workUnits[0].payload.text, 'for b');
    a.close();
    b.close();
  });

  test('SSE: a subscriber sees only its client units, also when resuming', async () => {
    await write(A, 'sse-iso', 'a first');
    await write(B, 'sse-iso', 'b first');
    const b = new SseReader(`${env.server.url}/stream-sse?context=sse-iso&since=0`, B);
    await b.until(() => b.seqs().includes(1));
    await write(A, 'sse-iso', 'a second');
    await write(B, 'sse-iso', 'b second');
    await b.until(() => b.seqs().includes(2));
    const texts = b.events.filter((e) => e.event === 'workunit').map((e) => JSON.parse(e.data).workUnit.payload.text);
    assert.deepEqual(texts, ['b first', 'b second']);
    b.close();
  });

  test('the lock stream shows only the client locks', async () => {
    const b = new WsClient(wsUrl('?locks=1'), undefined, B);
    await b.open();
    await b.next((f) => f.event === 'subscribed' && f.locks === true);
    ok(await env.http.post('/locks', { resource: 'lock-stream-a', agentId: 'x', ttlMs: 60_000 }, A));
    ok(await env.http.post('/locks', { resource: 'lock-stream-b', agentId: 'x', ttlMs: 60_000 }, B));
    await b.next((f) => f.event === 'lock' && f.lock?.resource === 'lock-stream-b');
    assert.ok(!JSON.stringify(b.frames).includes('lock-stream-a'));
    b.close();
  });
});

describe('gRPC', () => {
  test('x-client-id metadata scopes every call the same way as HTTP', async () => {
    const g: EngramGrpc = env.grpc;
    const a = await g.CreateWorkUnit(unitRequest('grpc-iso'), { metadata: meta('team-a') });
    const b = await g.CreateWorkUnit(unitRequest('grpc-iso'), { metadata: meta('team-b') });
    assert.deepEqual([a.workUnit.seq, b.workUnit.seq], [1, 1]);
    await rejectsWith(g.GetWorkUnit({ id: a.workUnit.id }, { metadata: meta('team-b') }), grpc.status.NOT_FOUND, 'WORKUNIT_NOT_FOUND');
    const listed = await g.ListWorkUnits({ contextId: 'grpc-iso' }, { metadata: meta('team-b') });
    assert.deepEqual(
      listed.workUnits.map((u: { id: string }) => u.id),
      [b.workUnit.id],
    );
    // Over HTTP the same client sees the same unit.
    assert.equal(ok(await env.http.get(`/workunit/${a.workUnit.id}`, A)).json.id, a.workUnit.id);
    assert.equal((await env.http.get(`/workunit/${a.workUnit.id}`, B)).status, 404);

    const stream = new StreamReader(g.Subscribe({ contextId: 'grpc-iso', since: 0 }, { metadata: meta('team-b') }));
    await stream.until((m) => m.some((x: { workUnit?: { id: string } }) => x.workUnit?.id === b.workUnit.id), WAIT_MS, "B's unit");
    assert.ok(!stream.messages.some((x: { workUnit?: { id: string } }) => x.workUnit?.id === a.workUnit.id));
    stream.stream.cancel();

    const ingest = g.CreateWorkUnits({ metadata: meta('team-b') });
    const acks = new StreamReader(ingest as unknown as grpc.ClientReadableStream<unknown>);
    ingest.write(unitRequest('grpc-iso'));
    ingest.end();
    await acks.done();
    assert.equal(acks.messages[0].seq, 2);
    assert.equal(ok(await env.http.get('/contexts/grpc-iso', A)).json.headSeq, 1);
  });
});

describe('browsers', () => {
  test('with auth off, a WebSocket from another origin is refused; from this one it opens', async () => {
    const evil = new WsClient(wsUrl('?context=o'), undefined, { origin: 'http://evil.invalid' });
    await assert.rejects(evil.open(), /upgrade refused: 403/);
    const own = new WsClient(wsUrl('?context=o'), undefined, { origin: env.server.url });
    await own.open();
    own.close();
  });
});

describe('bad client ids', () => {
  const bad = ['has space', '../etc', 'x'.repeat(65), '-leading-dash', 'ünïcode'];

  test('HTTP, WebSocket and SSE refuse them with 400 INVALID_CLIENT_ID and store nothing', async () => {
    for (const id of bad) {
      const r = await env.http.post('/workunit', unit('bad-client'), { 'x-client-id': encodeURI(id) === id ? id : id.replace(/[^\x20-\x7e]/g, '?') });
      assert.equal(r.status, 400, id);
      assert.equal(r.json.error.code, 'INVALID_CLIENT_ID', id);
    }
    const ws = new WsClient(wsUrl('?context=bad-client'), undefined, { 'x-client-id': 'has space' });
    await assert.rejects(ws.open(), /upgrade refused: 400/);
    const sse = new SseReader(`${env.server.url}/stream-sse?context=bad-client`, { 'x-client-id': 'has space' });
    await sse.until(() => sse.ended);
    assert.equal(sse.status, 400);
    assert.match(sse.body, /INVALID_CLIENT_ID/);
    sse.close();
    for (const c of [{}, A, B, { 'x-client-id': 'default' }]) {
      assert.equal((await env.http.get('/contexts/bad-client', c)).json.error.code, 'CONTEXT_NOT_FOUND');
    }
  });

  test('gRPC refuses them with INVALID_ARGUMENT', async () => {
    await rejectsWith(env.grpc.CreateWorkUnit(unitRequest('bad-client'), { metadata: meta('has space') }), grpc.status.INVALID_ARGUMENT, 'INVALID_CLIENT_ID');
    const stream = new StreamReader(env.grpc.Subscribe({ contextId: 'bad-client' }, { metadata: meta('../x') }));
    const status = await stream.done();
    assert.equal(status.code, grpc.status.INVALID_ARGUMENT);
  });
});
