/**
 * gRPC Subscribe obeys the rules of every stream, from the same code (streams/hub.ts): it counts
 * towards `stream.maxConnections` with WebSocket and SSE streams, and a call that takes nothing
 * for `stream.slowConsumerTimeout` while its buffer is full is ended with SLOW_CONSUMER, after
 * which it resumes from the last seq it got. (Ending at credential expiry: test/http/auth.test.ts.)
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { status } from '@grpc/grpc-js';
import { bulkWrite, grpcServerPerFile, StreamReader, type Msg } from '../helpers/grpc.js';
import { WAIT_MS } from '../helpers/wait.js';
import { WsClient } from '../helpers/ws.js';

// Two streams in all; a stall of 2 s ends a call (the paused reader below reads nothing at all).
const env = grpcServerPerFile({ args: ['--stream-max-connections', '2', '--stream-slow-consumer-timeout', '2s'] });

const seqs = (messages: Msg[]) => messages.filter((m) => m.event === 'workUnit').map((m) => Number(m.workUnit.seq));
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

function subscribe(contextId: string, since?: number): StreamReader {
  return new StreamReader(env.grpc.Subscribe(since === undefined ? { contextId } : { contextId, since }));
}

describe('gRPC Subscribe under the stream rules', () => {
  test('Subscribe calls and WebSockets share stream.maxConnections; a freed slot is taken again', async () => {
    const ws = new WsClient(`${env.server.url.replace('http', 'ws')}/stream?context=cap`);
    await ws.open();
    const first = subscribe('cap');
    await first.until((m) => m.length >= 1, WAIT_MS, 'subscribed');

    // Both slots are taken, one by each transport: a third stream is refused over either.
    const third = subscribe('cap');
    const refused = await third.done();
    assert.equal(refused.code, status.UNAVAILABLE, refused.details);
    assert.equal(refused.metadata.get('engram-error-code')[0], 'TOO_MANY_CONNECTIONS');
    const ws2 = new WsClient(`${env.server.url.replace('http', 'ws')}/stream?context=cap`);
    await assert.rejects(ws2.open(), /upgrade refused: 503/);

    // Ending the gRPC call frees its slot (the server sees the cancel on its own time: try until it has).
    first.stream.cancel();
    await first.done();
    let again: StreamReader | undefined;
    const until = Date.now() + WAIT_MS;
    while (again === undefined) {
      const attempt = subscribe('cap');
      await attempt.until((m) => m.length >= 1 || attempt.status !== undefined, WAIT_MS, 'subscribed or refused');
      if (attempt.messages.length >= 1) again = attempt;
      else if (Date.now() > until) assert.fail('the slot of the cancelled call was never freed');
    }
    assert.equal(again.messages[0]!.event, 'subscribed');
    again.stream.cancel();
    await again.done();
    ws.close();
    await ws.untilClosed();
  });

  test('a call that takes nothing while its buffer is full is ended with SLOW_CONSUMER, and resumes from its last seq', async () => {
    const ctx = 'slow/stalled';
    const stalled = subscribe(ctx);
    await stalled.until((m) => m.length >= 1, WAIT_MS, 'subscribed');
    stalled.stream.pause();
    // A second one never reads again: its status cannot get past the messages it does not take,
    // so the server resets the call; it must end all the same (and leave the connection count).
    const never = subscribe(ctx);
    await never.until((m) => m.length >= 1, WAIT_MS, 'subscribed');
    never.stream.pause();
    // Far more than the flow-control windows and the server's per-subscriber buffer hold.
    const total = 4000;
    const acks = await bulkWrite(env.grpc, ctx, total);
    assert.equal(acks.filter((a) => !a.error).length, total);
    await env.server.waitForLine((r) => r.msg === 'closed a slow stream consumer' && r.kind === 'grpc', 60_000);
    stalled.stream.resume();
    const end = await stalled.done();
    assert.equal(end.code, status.UNAVAILABLE, end.details);
    assert.equal(end.metadata.get('engram-error-code')[0], 'SLOW_CONSUMER');
    const got = seqs(stalled.messages);
    const last = got.at(-1) ?? 0;
    assert.ok(last < total, `it was ended before the last unit (got up to ${last})`);
    assert.deepEqual(got, range(1, last), 'what it got is gap-free');

    const neverEnd = await never.done();
    assert.notEqual(neverEnd.code, status.OK, 'the call that never read again was ended');

    // Resubscribing from the last seq it got delivers exactly the rest.
    const resumed = subscribe(ctx, last);
    await resumed.until((m) => seqs(m).length >= total - last, WAIT_MS, 'the rest');
    assert.deepEqual(seqs(resumed.messages), range(last + 1, total));
    resumed.stream.cancel();
    await resumed.done();
  });
});
