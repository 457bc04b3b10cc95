/** The lock manager over HTTP, with real clients: contention, waiting, expiry, fencing, restart, bad input. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { HttpClient, unit } from '../helpers/http.js';
import { removeDir, serverPerFile, startServer, tempDir } from '../helpers/server.js';
import { SseReader } from '../helpers/sse.js';
import { eventually as eventuallyWithin, WAIT_MS, withTimeout } from '../helpers/wait.js';
import { WsClient } from '../helpers/ws.js';

// Waits up to 2 minutes: a waiter that times out is a failure here, and 50 agents queue on one lock.
const env = serverPerFile({ args: ['--locks-max-ttl', '10m', '--locks-max-wait', '2m'] });
const MAX_WAIT = 120_000;
const path = (resource: string) => `/locks/${encodeURIComponent(resource)}`;

interface Lock {
  resource: string;
  agentId: string;
  lockId: string;
  token: number;
  expiresAt: string;
  ttlMs: number;
}

async function acquire(body: Record<string, unknown>, http = env.http): Promise<Lock> {
  const r = await http.post('/locks', body);
  assert.equal(r.status, 200, r.text);
  return r.json;
}

/** Resolves when `check` holds, re-reading the server state (bounded). */
const eventually = (check: () => Promise<boolean>, what: string) => eventuallyWithin(check, WAIT_MS, what);

describe('contention', () => {
  test('50 agents taking turns on one resource: never two holders, tokens strictly increase, fences hold', async () => {
    const resource = 'shared/plan.md';
    const grants: number[] = [];
    let holder: string | undefined;
    await Promise.all(
      Array.from({ length: 50 }, async (_, a) => {
        const agentId = `agent-${a}`;
        for (let round = 0; round < 3; round++) {
          const lock = await acquire({ resource, agentId, waitMs: MAX_WAIT, ttlMs: 60_000 });
          assert.equal(holder, undefined, `${agentId} got the lock while ${holder} held it`);
          holder = agentId;
          grants.push(lock.token);
          const w = await env.http.post('/workunit', unit('contention', { agentId, fence: { resource, token: lock.token } }));
          assert.equal(w.status, 201, w.text);
          holder = undefined;
          const r = await env.http.request('DELETE', `${path(resource)}?agentId=${agentId}&lockId=${lock.lockId}`);
          assert.equal(r.status, 200, r.text);
          // The old fence is dead the moment the lock is released.
          const stale = await env.http.post('/workunit', unit('contention', { agentId, fence: { resource, token: lock.token } }));
          assert.equal(stale.status, 409);
          assert.equal(stale.json.error.code, 'FENCE_REJECTED');
        }
      }),
    );
    assert.equal(grants.length, 150);
    for (let i = 1; i < grants.length; i++) assert.ok(grants[i]! > grants[i - 1]!, `token ${grants[i]} after ${grants[i - 1]}`);
    assert.equal((await env.http.get('/contexts/contention')).json.headSeq, 150);
  });

  test('waiters are served in the order they arrived', async () => {
    const resource = 'fifo';
    const first = await acquire({ resource, agentId: 'holder' });
    const order: string[] = [];
    const waiting: Array<Promise<void>> = [];
    for (const agentId of ['w1', 'w2', 'w3', 'w4']) {
      waiting.push(
        acquire({ resource, agentId, waitMs: MAX_WAIT }).then(async (lock) => {
          order.push(agentId);
          await env.http.request('DELETE', `${path(resource)}?agentId=${agentId}&lockId=${lock.lockId}`);
        }),
      );
      const queued = waiting.length;
      await eventually(async () => (await env.http.get(path(resource))).json.waiting === queued, `${agentId} queued`);
    }
    await env.http.request('DELETE', `${path(resource)}?agentId=holder&lockId=${first.lockId}`);
    await Promise.all(waiting);
    assert.deepEqual(order, ['w1', 'w2', 'w3', 'w4']);
  });

  test('overlapping multi-resource acquires finish without deadlock', async () => {
    const names = ['m/a', 'm/b', 'm/c', 'm/d'];
    await withTimeout(
      Promise.all(
        Array.from({ length: 8 }, async (_, a) => {
          for (let round = 0; round < 5; round++) {
            const resources = a % 2 === 0 ? names.slice(0, 3) : [...names].reverse().slice(0, 3);
            const r = await env.http.post('/locks', { resources, agentId: `m${a}`, waitMs: MAX_WAIT });
            assert.equal(r.status, 200, r.text);
            assert.deepEqual(
              r.json.locks.map((l: Lock) => l.resource),
              [...resources].sort(),
            );
            for (const l of r.json.locks as Lock[]) await env.http.request('DELETE', `${path(l.resource)}?agentId=${l.agentId}&lockId=${l.lockId}`);
          }
        }),
      ),
      2 * MAX_WAIT,
      'all multi-resource rounds',
    );
  });

  test('a waiting client that disconnects gives up its place', async () => {
    const resource = 'abandoned';
    const held = await acquire({ resource, agentId: 'holder' });
    const quitter = new HttpClient(env.server.url);
    const gone = quitter.post('/locks', { resource, agentId: 'quitter', waitMs: MAX_WAIT }).catch(() => 'closed');
    await eventually(async () => (await env.http.get(path(resource))).json.waiting === 1, 'the quitter queued');
    quitter.close();
    assert.equal(await gone, 'closed');
    await eventually(async () => (await env.http.get(path(resource))).json.waiting === 0, 'the quitter withdrawn');
    await env.http.request('DELETE', `${path(resource)}?agentId=holder&lockId=${held.lockId}`);
    const next = await acquire({ resource, agentId: 'next' });
    assert.equal(next.agentId, 'next');
  });
});

describe('leases and fencing', () => {
  test('an expired lease frees the lock on time, emits events, and kills the old fence', async () => {
    const base = env.server.url.replace('http', 'ws');
    const follower = new WsClient(`${base}/stream?locks=1`);
    const ctxSub = new WsClient(`${base}/stream?context=lease-ctx`);
    await Promise.all([follower.open(), ctxSub.open()]);
    await follower.next((f) => f.event === 'subscribed' && f.locks === true);
    await ctxSub.next((f) => f.event === 'subscribed');
    const lock = await acquire({ resource: 'lease', agentId: 'staller', ttlMs: 300, contextId: 'lease-ctx' });
    const expired = await follower.next((f) => f.event === 'lock' && f.action === 'expired' && f.lock.resource === 'lease');
    assert.equal(expired.lock.token, lock.token);
    await ctxSub.next((f) => f.event === 'lock' && f.action === 'expired');
    assert.deepEqual(
      ctxSub.frames.filter((f) => f.event === 'lock').map((f) => f.action),
      ['acquired', 'expired'],
    );
    assert.equal((await env.http.get(path('lease'))).status, 404);
    const stale = await env.http.post('/workunit', unit('lease-ctx', { agentId: 'staller', fence: { resource: 'lease', token: lock.token } }));
    assert.equal(stale.status, 409);
    assert.equal(stale.json.error.code, 'FENCE_REJECTED');
    const next = await acquire({ resource: 'lease', agentId: 'successor' });
    assert.ok(next.token > lock.token);
    assert.equal((await env.http.post('/workunit', unit('lease-ctx', { agentId: 'successor', fence: { resource: 'lease', token: next.token } }))).status, 201);
    follower.close();
    ctxSub.close();
  });

  test('renew extends the lease and keeps lockId and token; others may not renew or release', async () => {
    const lock = await acquire({ resource: 'renew/me', agentId: 'a', ttlMs: 30_000 });
    const renewed = await env.http.post(`${path('renew/me')}/renew`, { agentId: 'a', lockId: lock.lockId, ttlMs: 60_000 });
    assert.equal(renewed.status, 200, renewed.text);
    assert.deepEqual([renewed.json.lockId, renewed.json.token], [lock.lockId, lock.token]);
    assert.ok(Date.parse(renewed.json.expiresAt) > Date.parse(lock.expiresAt));
    const byOther = await env.http.post(`${path('renew/me')}/renew`, { agentId: 'b', lockId: lock.lockId });
    assert.deepEqual([byOther.status, byOther.json.error.code], [403, 'NOT_LOCK_HOLDER']);
    const release = await env.http.request('DELETE', `${path('renew/me')}?agentId=b&lockId=${lock.lockId}`);
    assert.deepEqual([release.status, release.json.error.code], [403, 'NOT_LOCK_HOLDER']);
    assert.equal((await env.http.get(path('renew/me'))).json.agentId, 'a', 'a refused release changes nothing');
    const notHeld = await env.http.post(`${path('never-locked')}/renew`, { agentId: 'a', lockId: lock.lockId });
    assert.deepEqual([notHeld.status, notHeld.json.error.code], [404, 'LOCK_NOT_HELD']);
  });

  test('a conflict names the holder and the expiry', async () => {
    await acquire({ resource: 'busy', agentId: 'owner', ttlMs: 60_000 });
    const r = await env.http.post('/locks', { resource: 'busy', agentId: 'other' });
    assert.equal(r.status, 409);
    assert.equal(r.json.error.code, 'LOCK_HELD');
    assert.equal(r.json.error.details.holder, 'owner');
    assert.ok(Date.parse(r.json.error.details.expiresAt) > Date.now());
    const waited = await env.http.post('/locks', { resource: 'busy', agentId: 'other', waitMs: 50 });
    assert.equal(waited.status, 409);
    assert.match(waited.json.error.message, /after waiting 50 ms/);
  });

  test('GET /locks lists held locks by agent and prefix, in resource order', async () => {
    for (const r of ['list/b', 'list/a', 'list/c']) await acquire({ resource: r, agentId: 'lister' });
    await acquire({ resource: 'list/z', agentId: 'someone-else' });
    const mine = await env.http.get('/locks?agentId=lister&prefix=list%2F');
    assert.deepEqual(
      mine.json.locks.map((l: Lock) => l.resource),
      ['list/a', 'list/b', 'list/c'],
    );
    const page = await env.http.get('/locks?prefix=list%2F&limit=2');
    assert.deepEqual([page.json.locks.length, page.json.nextCursor], [2, 'list/b']);
  });
});

describe('lock streams', () => {
  test('SSE locks=1 and the WebSocket subscribeLocks op follow every lock event', async () => {
    const sse = new SseReader(`${env.server.url}/stream-sse?locks=1`);
    await sse.until(() => sse.events.some((e) => e.event === 'subscribed'));
    const ws = new WsClient(`${env.server.url.replace('http', 'ws')}/stream`);
    await ws.open();
    ws.send({ op: 'subscribeLocks', ref: 'L' });
    await ws.next((f) => f.event === 'subscribed' && f.ref === 'L' && f.locks === true);
    const lock = await acquire({ resource: 'streamed', agentId: 'a' });
    await env.http.request('DELETE', `${path('streamed')}?agentId=a&lockId=${lock.lockId}`);
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const actions = (frames: any[]) => frames.filter((f) => f.event === 'lock' && f.lock?.resource === 'streamed').map((f) => f.action);
    await ws.until(() => actions(ws.frames).length === 2);
    await sse.until(() => actions(sse.events.map((e) => JSON.parse(e.data))).length === 2);
    assert.deepEqual(actions(ws.frames), ['acquired', 'released']);
    // Each stream began with the locks held at that moment (none of 'streamed' yet).
    assert.equal(ws.frames.find((f) => f.event === 'lock')?.action, 'snapshot');
    assert.equal(JSON.parse(sse.events.find((e) => e.event === 'lock')!.data).action, 'snapshot');
    assert.deepEqual(actions(sse.events.map((e) => JSON.parse(e.data))), ['acquired', 'released']);
    ws.send({ op: 'unsubscribeLocks', ref: 'U' });
    await ws.next((f) => f.event === 'unsubscribed' && f.ref === 'U');
    await acquire({ resource: 'streamed-after', agentId: 'a' });
    ws.send({ op: 'ping', ref: 'P' });
    await ws.next((f) => f.event === 'pong');
    assert.equal(ws.frames.filter((f) => f.event === 'lock' && f.lock?.resource === 'streamed-after').length, 0);
    ws.close();
    sse.close();
  });
});

describe('bad input', () => {
  test('each gets a clear 4xx and changes nothing', async () => {
    const cases: Array<[Record<string, unknown>, number, string]> = [
      [{ agentId: 'a' }, 400, 'MISSING_FIELD'],
      [{ resource: 'r' }, 400, 'MISSING_FIELD'],
      [{ resource: 'r', agentId: 'a', ttlMs: 0 }, 400, 'INVALID_FIELD'],
      [{ resource: 'r', agentId: 'a', ttlMs: -1 }, 400, 'INVALID_FIELD'],
      [{ resource: 'r', agentId: 'a', ttlMs: 600_001 }, 400, 'INVALID_FIELD'],
      [{ resource: 'r', agentId: 'a', ttlMs: 'long' }, 400, 'INVALID_FIELD'],
      [{ resource: 'r', agentId: 'a', waitMs: MAX_WAIT + 1 }, 400, 'INVALID_FIELD'],
      [{ resource: 'x'.repeat(5000), agentId: 'a' }, 400, 'INVALID_FIELD'],
      [{ resource: 'r', agentId: '' }, 400, 'INVALID_ID'],
      [{ resources: ['a', 5], agentId: 'a' }, 400, 'INVALID_FIELD'],
    ];
    for (const [body, status, code] of cases) {
      const r = await env.http.post('/locks', body);
      assert.equal(r.status, status, JSON.stringify(body).slice(0, 80));
      assert.equal(r.json.error.code, code, r.json.error.message);
    }
    assert.equal((await env.http.get(path('r'))).status, 404);
    const noLockId = await env.http.request('DELETE', `${path('r')}?agentId=a`);
    assert.deepEqual([noLockId.status, noLockId.json.error.code], [400, 'MISSING_FIELD']);
    const hugePath = await env.http.get(path('y'.repeat(2000)));
    assert.deepEqual([hugePath.status, hugePath.json.error.code], [400, 'INVALID_FIELD']);
    const wrongType = await env.http.request('POST', '/locks', { raw: '{"resource":"r","agentId":"a"}', headers: { 'content-type': 'text/plain' } });
    assert.equal(wrongType.status, 415);
    const notFound = await env.http.request('DELETE', `${path('nothing')}?agentId=a&lockId=L`);
    assert.deepEqual([notFound.status, notFound.json.error.code], [404, 'LOCK_NOT_HELD']);
  });
});

test('a restart keeps running leases (with their remaining time) and the token order', async () => {
  const dataDir = tempDir();
  let server = await startServer({ dataDir });
  let http = new HttpClient(server.url);
  const before = Date.now();
  const held = await acquire({ resource: 'survivor', agentId: 'a', ttlMs: 120_000 }, http);
  await acquire({ resource: 'gone-soon', agentId: 'a', ttlMs: 1 }, http);
  http.close();
  assert.equal(await server.stop('SIGKILL'), 'SIGKILL');
  server = await startServer({ dataDir });
  http = new HttpClient(server.url);
  const back = await http.get(path('survivor'));
  const elapsed = Date.now() - before;
  assert.equal(back.status, 200);
  assert.deepEqual([back.json.lockId, back.json.token, back.json.agentId], [held.lockId, held.token, 'a']);
  // The time left, not a new lease: the lease less the time since it was taken (however long the restart took).
  assert.ok(back.json.ttlMs >= 120_000 - elapsed - 1 && back.json.ttlMs <= 120_000, `${back.json.ttlMs} ms left ${elapsed} ms after a 120 s lease was taken`);
  assert.equal((await http.get(path('gone-soon'))).status, 404);
  const fresh = await acquire({ resource: 'gone-soon', agentId: 'b' }, http);
  assert.ok(fresh.token > held.token, 'tokens never go backwards');
  assert.equal((await http.post('/workunit', unit('after-restart', { fence: { resource: 'survivor', token: held.token } }))).status, 201);
  http.close();
  assert.equal(await server.stop(), 0);
  removeDir(dataDir);
});
