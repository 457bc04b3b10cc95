/**
 * Per-client quotas (write rate, connections, subscriptions, storage bytes) answer 429 with
 * Retry-After (gRPC RESOURCE_EXHAUSTED), store nothing, and recover; client management shows
 * what a client holds, and idle cleanup frees its in-memory state while its data stays.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { grpcServerPerFile, rejectsWith, unitRequest } from '../helpers/grpc.js';
import { unit } from '../helpers/http.js';
import { removeDir, tempDir } from '../helpers/server.js';
import { eventually, WAIT_MS } from '../helpers/wait.js';
import { WsClient } from '../helpers/ws.js';

const dir = tempDir('engram-quotas-');
writeFileSync(
  join(dir, 'engram.yaml'),
  `quotas:
  writesPerSecond: 5
  writeBurst: 5
  connections: 2
  subscriptions: 3
  clients:
    unlimited: {writesPerSecond: 0, connections: 0, subscriptions: 0}
    tiny: {writesPerSecond: 0, storageBytes: 3000}
    tiny-burst: {writesPerSecond: 0, storageBytes: 3000}
`,
);
const env = grpcServerPerFile({ args: ['--config', join(dir, 'engram.yaml'), '--search-enabled', 'false'] });
after(() => removeDir(dir));
const as = (clientId: string) => ({ 'x-client-id': clientId });
const wsUrl = (query: string) => `${env.server.url.replace('http', 'ws')}/stream${query}`;

function meta(clientId: string): grpc.Metadata {
  const m = new grpc.Metadata();
  m.set('x-client-id', clientId);
  return m;
}

describe('quotas', () => {
  test('write rate: the burst goes through, then 429 with Retry-After on every interface, then it recovers', async () => {
    const c = as('rate');
    // The bucket refills at 5/s while this runs, so on a busy machine a write may earn its way in
    // between two refused ones. What must hold is the quota itself: no more writes admitted than the
    // burst plus what refilled meanwhile, and each interface refused once the bucket is empty.
    const started = Date.now();
    let admitted = 0;
    let stored = 0;
    const withinQuota = () => assert.ok(admitted <= 5 + (5 * (Date.now() - started)) / 1000, `${admitted} writes admitted in ${Date.now() - started} ms at 5/s with a burst of 5`);
    /** Writes until one is refused (a write a refill let in is counted), and returns the refusal. */
    async function refused<T>(write: () => Promise<T>, ok: (r: T) => boolean, units = 1): Promise<T> {
      for (let i = 0; i < 100; i++) {
        const r = await write();
        if (!ok(r)) return r;
        admitted++;
        stored += units;
        withinQuota();
      }
      assert.fail('100 writes in a row were let in');
    }
    for (let i = 0; i < 5; i++) assert.equal((await env.http.post('/workunit', unit('r'), c)).status, 201, `write ${i}`);
    admitted = stored = 5;
    const over = await refused(
      () => env.http.post('/workunit', unit('r'), c),
      (r) => r.status === 201,
    );
    assert.equal(over.status, 429, over.text);
    assert.equal(over.json.error.code, 'QUOTA_EXCEEDED');
    assert.equal(over.json.error.details.quota, 'writesPerSecond');
    assert.ok(Number(over.headers['retry-after']) >= 1);
    const grpcError = await refused(
      () =>
        env.grpc.CreateWorkUnit(unitRequest('r'), { metadata: meta('rate') }).then(
          () => undefined,
          (err: unknown) => err,
        ),
      (err) => err === undefined,
    );
    await rejectsWith(Promise.reject(grpcError), grpc.status.RESOURCE_EXHAUSTED, 'QUOTA_EXCEEDED');
    // A context PATCH writes too (no unit), and counts against the same rate.
    const patch = await refused(
      () => env.http.patch('/contexts/r', { displayName: 'over' }, c),
      (r) => r.status === 200,
      0,
    );
    assert.equal(patch.json.error.code, 'QUOTA_EXCEEDED');
    // Nothing refused was stored.
    assert.equal((await env.http.get('/contexts/r', c)).json.headSeq, stored);
    // Another client is not affected.
    assert.equal((await env.http.post('/workunit', unit('r'), as('neighbour'))).status, 201);
    // The bucket refills at 5/s: a write goes through again.
    await eventually(async () => (await env.http.post('/workunit', unit('r'), c)).status === 201, WAIT_MS, 'the rate quota to recover');
  });

  test('a per-client override lifts the rate quota', async () => {
    for (let i = 0; i < 20; i++) assert.equal((await env.http.post('/workunit', unit('u'), as('unlimited'))).status, 201);
  });

  test('connections: the third stream is refused with 429 until one closes', async () => {
    const c = as('conns');
    const a = new WsClient(wsUrl(''), undefined, c);
    const b = new WsClient(wsUrl(''), undefined, c);
    await Promise.all([a.open(), b.open()]);
    await assert.rejects(new WsClient(wsUrl(''), undefined, c).open(), /upgrade refused: 429/);
    const status = (await env.http.get('/clients/status/conns')).json;
    assert.equal(status.connections, 2);
    a.close();
    await eventually(async () => (await env.http.get('/clients/status/conns')).json.connections === 1, WAIT_MS, 'the closed connection to be given back');
    const d = new WsClient(wsUrl(''), undefined, c);
    await d.open();
    b.close();
    d.close();
  });

  test('subscriptions: past the quota a subscribe gets an error frame; unsubscribing frees one', async () => {
    const ws = new WsClient(wsUrl('?context=s1&context=s2&context=s3'), undefined, as('subs'));
    await ws.open();
    await ws.until(() => ws.frames.filter((f) => f.event === 'subscribed').length === 3);
    ws.send({ op: 'subscribe', ref: 'fourth', contextId: 's4' });
    const err = await ws.next((f) => f.event === 'error' && f.ref === 'fourth');
    assert.equal(err.error.code, 'QUOTA_EXCEEDED');
    assert.equal((await env.http.get('/clients/status/subs')).json.subscriptions, 3);
    ws.send({ op: 'unsubscribe', ref: 'u', contextId: 's1' });
    await ws.next((f) => f.event === 'unsubscribed');
    ws.send({ op: 'subscribe', ref: 'again', contextId: 's4' });
    await ws.next((f) => f.event === 'subscribed' && f.ref === 'again');
    ws.close();
  });

  test('storage bytes: writes stop at the quota with nothing stored', async () => {
    const c = as('tiny');
    const text = 'x'.repeat(500);
    let stored = 0;
    let refused: { status: number; json: { error: { code: string; details: { quota: string } } } } | undefined;
    for (let i = 0; i < 20 && refused === undefined; i++) {
      const r = await env.http.post('/workunit', unit('big', { payload: { text } }), c);
      if (r.status === 201) stored++;
      else refused = r;
    }
    assert.ok(refused, 'the storage quota never applied');
    assert.equal(refused.status, 429);
    assert.equal(refused.json.error.details.quota, 'storageBytes');
    assert.ok(stored >= 4 && stored <= 6, `stored ${stored} units of ~600 bytes under 3000`);
    assert.equal((await env.http.get('/contexts/big', c)).json.headSeq, stored);
    // Writes in flight at once cannot overshoot: what is admitted is reserved until it commits.
    const burst = await Promise.all(Array.from({ length: 20 }, () => env.http.post('/workunit', unit('burst', { payload: { text } }), as('tiny-burst'))));
    const ok = burst.filter((r) => r.status === 201).length;
    assert.ok(ok >= 1 && ok <= 5, `${ok} of 20 concurrent writes of ~600 bytes were stored under a 3000-byte quota`);
    assert.ok(burst.filter((r) => r.status === 429).every((r) => r.json.error.details.quota === 'storageBytes'));
    const ws = new WsClient(wsUrl(''), undefined, c);
    await ws.open();
    ws.send({ op: 'publish', ref: 1, contextId: 'big', agentId: 'a', type: 'MESSAGE', payload: { text } });
    assert.equal((await ws.next((f) => f.event === 'error')).error.code, 'QUOTA_EXCEEDED');
    ws.close();
    // Deleting the context gives its bytes back: the client writes again.
    assert.equal((await env.http.request('DELETE', '/contexts/big', { headers: c })).status, 200);
    assert.equal((await env.http.post('/workunit', unit('big', { payload: { text } }), c)).status, 201);
  });
});

describe('client management', () => {
  test('status reports what a client holds; list names clients; cleanup frees memory and the data comes back', async () => {
    const c = as('managed');
    for (let i = 0; i < 3; i++) await env.http.post('/workunit', unit(`m${i}`, { payload: { text: `unit ${i}` } }), c);
    await env.http.post('/locks', { resource: 'managed-res', agentId: 'a', ttlMs: 60_000 }, c);
    const s = (await env.http.get('/clients/status/managed')).json;
    assert.equal(s.clientId, 'managed');
    assert.equal(s.known, true);
    assert.equal(s.contexts, 3);
    assert.equal(s.unitsWritten, 3);
    assert.equal(s.unitsWrittenRecently, 3);
    assert.equal(s.locksHeld, 1);
    assert.equal(typeof s.lastActivity, 'number');
    assert.equal(s.quotas.writesPerSecond, 5);
    assert.equal((await env.http.get('/clients/status/nobody-at-all')).json.known, false);
    assert.equal((await env.http.get('/clients/status/bad%20id')).json.error.code, 'INVALID_CLIENT_ID');

    const list = (await env.http.get('/clients/list?limit=1000')).json.clients.map((x: { clientId: string }) => x.clientId);
    for (const id of ['managed', 'rate', 'tiny', 'unlimited']) assert.ok(list.includes(id), id);
    const page = (await env.http.get('/clients/list?limit=2')).json;
    assert.equal(page.clients.length, 2);
    assert.notEqual(page.nextCursor, null);
    const next = (await env.http.get(`/clients/list?limit=1000&after=${page.nextCursor}`)).json.clients.map((x: { clientId: string }) => x.clientId);
    assert.ok(!next.includes(page.clients[0].clientId));

    const cleaned = (await env.http.post('/clients/cleanup?idle_threshold=0', {})).json;
    assert.ok(cleaned.dropped.includes('managed'), JSON.stringify(cleaned));
    assert.ok(cleaned.cachedContextsFreed >= 3);
    const after = (await env.http.get('/clients/status/managed')).json;
    assert.equal(after.lastActivity, null);
    assert.equal(after.unitsWritten, 3);
    // Data is untouched and served again from the log.
    const units = (await env.http.get('/workunits/m1', c)).json.workUnits;
    assert.equal(units[0].payload.text, 'unit 1');
    assert.equal((await env.http.get('/clients/status/managed')).json.locksHeld, 1);
  });

  test('the in-memory state of many idle clients goes at cleanup and comes back on use', async () => {
    const n = 200;
    for (let i = 0; i < n; i++) assert.equal((await env.http.post('/workunit', unit(`idle-ctx`, { payload: { i } }), as(`idle-${i}`))).status, 201);
    const before = (await env.http.get('/health/detailed')).json;
    assert.ok(before.clients.active >= n, JSON.stringify(before.clients));
    assert.ok(before.storage.cachedContexts >= n, JSON.stringify(before.storage));
    const cleaned = (await env.http.post('/clients/cleanup?idle_threshold=0', {})).json;
    assert.ok(cleaned.dropped.length >= n);
    const afterCleanup = (await env.http.get('/health/detailed')).json;
    // Only the client asking for the health document is active again.
    assert.ok(afterCleanup.clients.active <= 2, JSON.stringify(afterCleanup.clients));
    assert.ok(afterCleanup.storage.cachedContexts <= before.storage.cachedContexts - n, JSON.stringify(afterCleanup.storage));
    // Every client's data is there on its next request.
    for (const i of [0, 99, 199])
      assert.deepEqual(
        (await env.http.get('/workunits/idle-ctx', as(`idle-${i}`))).json.workUnits.map((u: { payload: { i: number } }) => u.payload.i),
        [i],
      );
  });
});
