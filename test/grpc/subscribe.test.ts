/**
 * Subscribe: replay from `since` then live, gap-free and in order whichever wire wrote the
 * units; resume after a cancel; bad `since`; a slow reader; the server stopping.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { status } from '@grpc/grpc-js';
import { bulkWrite, EngramGrpc, grpcServerPerFile, payloadValue, rejectsWith, StreamReader, unitRequest, type Msg } from '../helpers/grpc.js';
import { unit } from '../helpers/http.js';
import { removeDir, startServer } from '../helpers/server.js';
import { WAIT_MS } from '../helpers/wait.js';

const env = grpcServerPerFile();

const units = (messages: Msg[]) => messages.filter((m) => m.event === 'workUnit').map((m) => m.workUnit);
const seqs = (messages: Msg[]) => units(messages).map((u: Msg) => u.seq);
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

function subscribe(contextId: string, since?: number, g: EngramGrpc = env.grpc): StreamReader {
  return new StreamReader(g.Subscribe(since === undefined ? { contextId } : { contextId, since }));
}

describe('Subscribe', () => {
  test('since=0 replays everything, then goes live with units written over HTTP and gRPC', async () => {
    const ctx = 'sub/replay';
    for (let i = 1; i <= 5; i++) assert.equal((await env.http.post('/workunit', unit(ctx, { payload: { n: i } }))).status, 201);
    const r = subscribe(ctx, 0);
    await r.until((m) => seqs(m).length >= 5, WAIT_MS, 'the replay');
    assert.deepEqual(r.messages[0], { event: 'subscribed', subscribed: { contextId: ctx, headSeq: 5, epoch: r.messages[0]?.subscribed?.epoch } });
    assert.match(r.messages[0]!.subscribed.epoch, /^[0-9a-f]{12}$/, 'the log names its epoch');
    // Live: both wires, concurrently.
    await Promise.all([
      (async () => {
        for (let i = 6; i <= 25; i++) assert.equal((await env.http.post('/workunit', unit(ctx, { agentId: 'http' }))).status, 201);
      })(),
      (async () => {
        for (let i = 6; i <= 25; i++) await env.grpc.CreateWorkUnit(unitRequest(ctx, { agentId: 'grpc' }));
      })(),
    ]);
    await r.until((m) => seqs(m).length >= 45, WAIT_MS, 'every live unit');
    assert.deepEqual(seqs(r.messages), range(1, 45), 'every seq exactly once, in order');
    assert.deepEqual(
      units(r.messages)
        .slice(0, 5)
        .map((u: Msg) => payloadValue(u.payload)),
      range(1, 5).map((n) => ({ n })),
    );
    // Units arrive as GetWorkUnit answers them.
    const last = units(r.messages)[44];
    assert.deepEqual(await env.grpc.GetWorkUnit({ id: last.id }), last);
    r.stream.cancel();
    const end = await r.done();
    assert.equal(end.code, status.CANCELLED);
  });

  test('resuming with since=k after a cancel gets exactly k+1..N', async () => {
    const ctx = 'sub/resume';
    const first = subscribe(ctx, 0);
    await first.until((m) => m.length >= 1, WAIT_MS, 'subscribed');
    assert.deepEqual(first.messages[0].subscribed, { contextId: ctx, headSeq: 0, epoch: first.messages[0].subscribed.epoch });
    for (let i = 0; i < 10; i++) await env.grpc.CreateWorkUnit(unitRequest(ctx));
    await first.until((m) => seqs(m).length >= 4, WAIT_MS, 'four units');
    first.stream.cancel();
    assert.equal((await first.done()).code, status.CANCELLED);
    const k = seqs(first.messages).at(-1)!;
    assert.deepEqual(seqs(first.messages), range(1, k));
    for (let i = 0; i < 5; i++) await env.http.post('/workunit', unit(ctx));
    const resumed = subscribe(ctx, k);
    await resumed.until((m) => seqs(m).length >= 15 - k, WAIT_MS, 'the missed units');
    assert.deepEqual(resumed.messages[0].subscribed, { contextId: ctx, headSeq: 15, epoch: first.messages[0].subscribed.epoch });
    // One more, live: nothing arrived twice or out of order before it.
    await env.grpc.CreateWorkUnit(unitRequest(ctx));
    await resumed.until((m) => seqs(m).includes(16), WAIT_MS, 'the live unit');
    assert.deepEqual(seqs(resumed.messages), range(k + 1, 16));
    resumed.stream.cancel();
    await resumed.done();
  });

  test('without since: only units written from now on', async () => {
    const ctx = 'sub/live-only';
    await env.grpc.CreateWorkUnit(unitRequest(ctx));
    const r = subscribe(ctx);
    await r.until((m) => m.length >= 1, WAIT_MS, 'subscribed');
    assert.deepEqual(r.messages[0].subscribed, { contextId: ctx, headSeq: 1, epoch: r.messages[0].subscribed.epoch });
    await env.grpc.CreateWorkUnit(unitRequest(ctx));
    await r.until((m) => seqs(m).length >= 1, WAIT_MS, 'the live unit');
    assert.deepEqual(seqs(r.messages), [2]);
    r.stream.cancel();
    await r.done();
  });

  test('context changes and lock events of the context arrive too', async () => {
    const ctx = 'sub/events';
    await env.grpc.CreateWorkUnit(unitRequest(ctx));
    const r = subscribe(ctx);
    await r.until((m) => m.length >= 1, WAIT_MS, 'subscribed');
    await env.grpc.UpdateContext({ contextId: ctx, displayName: 'Renamed' });
    await r.until((m) => m.some((x) => x.event === 'context'), WAIT_MS, 'the context event');
    assert.equal(r.messages.find((x) => x.event === 'context').context.displayName, 'Renamed');
    const [lock] = (await env.grpc.AcquireLock({ resources: ['sub/events/file'], agentId: 'a', contextId: ctx })).locks;
    await env.grpc.ReleaseLock({ resource: 'sub/events/file', agentId: 'a', lockId: lock.lockId });
    await r.until((m) => m.filter((x) => x.event === 'lock').length >= 2, WAIT_MS, 'the lock events');
    const lockEvents = r.messages.filter((x) => x.event === 'lock').map((x) => [x.lock.action, x.lock.lock.resource, x.lock.lock.lockId]);
    assert.deepEqual(lockEvents.slice(-2), [
      ['acquired', 'sub/events/file', lock.lockId],
      ['released', 'sub/events/file', lock.lockId],
    ]);
    r.stream.cancel();
    await r.done();
  });

  test('since beyond the head is INVALID_ARGUMENT; a bad context id too', async () => {
    const ctx = 'sub/short';
    await env.grpc.CreateWorkUnit(unitRequest(ctx));
    const beyond = subscribe(ctx, 5);
    const end = await beyond.done();
    assert.equal(end.code, status.INVALID_ARGUMENT, end.details);
    assert.equal(end.metadata.get('engram-error-code')[0], 'INVALID_QUERY');
    assert.equal(seqs(beyond.messages).length, 0);
    await rejectsWith(
      new Promise((resolve, reject) => {
        const s = env.grpc.Subscribe({ contextId: '' });
        s.on('data', resolve);
        s.on('error', reject);
      }),
      status.INVALID_ARGUMENT,
      'INVALID_ID',
    );
  });

  test('cancelled subscriptions end with CANCELLED and the server keeps serving', async () => {
    // No endpoint reports router subscription counts; this checks that many cancels leave the
    // server healthy and that a new subscriber still gets every unit.
    const ctx = 'sub/churn';
    for (let round = 0; round < 20; round++) {
      const r = subscribe(ctx, 0);
      await r.until((m) => m.length >= 1, WAIT_MS, 'subscribed');
      await env.grpc.CreateWorkUnit(unitRequest(ctx));
      r.stream.cancel();
      assert.equal((await r.done()).code, status.CANCELLED);
    }
    const r = subscribe(ctx, 0);
    await r.until((m) => seqs(m).length >= 20, WAIT_MS, 'the replay');
    assert.deepEqual(seqs(r.messages), range(1, 20));
    r.stream.cancel();
    await r.done();
  });

  test('a reader slower than the writers gets every unit once it reads again', async () => {
    const ctx = 'sub/slow';
    const r = subscribe(ctx, 0);
    await r.until((m) => m.length >= 1, WAIT_MS, 'subscribed');
    r.stream.pause();
    // Far more than the flow-control windows and the server's per-subscriber buffer hold.
    const total = 4000;
    const acks = await bulkWrite(env.grpc, ctx, total);
    assert.equal(acks.filter((a) => !a.error).length, total);
    r.stream.resume();
    await r.until((m) => seqs(m).length >= total, WAIT_MS, 'every unit after resuming');
    assert.deepEqual(seqs(r.messages), range(1, total));
    r.stream.cancel();
    await r.done();
  });
});

describe('Subscribe and a stopping server', () => {
  test('SIGTERM ends an active Subscribe with UNAVAILABLE, and the server exits cleanly', async () => {
    const server = await startServer();
    const g = new EngramGrpc(server.grpcAddr);
    try {
      await g.CreateWorkUnit(unitRequest('stop/ctx'));
      const r = subscribe('stop/ctx', 0, g);
      await r.until((m) => seqs(m).length >= 1, WAIT_MS, 'the replay');
      const exited = server.stop('SIGTERM');
      const end = await r.done();
      assert.equal(end.code, status.UNAVAILABLE, end.details);
      assert.equal(await exited, 0);
    } finally {
      g.close();
      await server.stop('SIGKILL');
      removeDir(server.dataDir);
    }
  });
});
