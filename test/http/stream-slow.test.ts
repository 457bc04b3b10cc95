/**
 * Slow consumers: a reader that stops reading must not slow the writer or the other
 * subscribers; it is paused and caught up from the log, or, if it stays stuck, closed
 * with code 4001 and the last seq it was sent, and it can resume from there.
 */
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { test } from 'node:test';
import { unit } from '../helpers/http.js';
import { removeDir, serverPerFile, startServer } from '../helpers/server.js';
import { range, WsClient } from '../helpers/ws.js';
import { HttpClient } from '../helpers/http.js';

const env = serverPerFile({ args: ['--stream-max-buffered-bytes', '64KiB', '--stream-slow-consumer-timeout', '2s'] });
/** 64 KiB payloads: a few hundred of them are more than loopback socket buffers hold. */
const BIG = 'x'.repeat(64 * 1024);
const UNITS = 400;

function socketOf(c: WsClient): Socket {
  return (c.ws as unknown as { _socket: Socket })._socket;
}

async function writeMany(http: HttpClient, contextId: string, count: number): Promise<void> {
  let next = 1;
  await Promise.all(
    range(1, 8).map(async () => {
      while (next <= count) {
        next++;
        const r = await http.post('/workunit', unit(contextId, { payload: BIG }));
        assert.equal(r.status, 201);
      }
    }),
  );
}

test('a stalled reader does not hold back the writer or a healthy subscriber; it is closed with 4001 and resumes from its last seq', async () => {
  const base = env.server.url.replace('http', 'ws');
  const stalled = new WsClient(`${base}/stream?context=stall`);
  const healthy = new WsClient(`${base}/stream?context=stall`);
  await Promise.all([stalled.open(), healthy.open()]);
  await stalled.next((f) => f.event === 'subscribed');
  await healthy.next((f) => f.event === 'subscribed');
  socketOf(stalled).pause();

  await writeMany(env.http, 'stall', UNITS); // every write is acknowledged while the reader is stuck
  await healthy.untilSeq('stall', UNITS, 60_000);
  assert.deepEqual(healthy.seqs('stall'), range(1, UNITS));

  await env.server.waitForLine((r) => r.msg === 'closed a slow stream consumer', 30_000);
  socketOf(stalled).resume();
  const closed = await stalled.untilClosed();
  assert.equal(closed.code, 4001);
  const lastSeq = JSON.parse(closed.reason).lastSeqs.stall as number;
  const got = stalled.seqs('stall');
  assert.ok(lastSeq < UNITS, `the stalled reader was cut off before the end (last seq ${lastSeq})`);
  assert.deepEqual(got, range(1, lastSeq), 'what it did get is gap-free and ends at the seq the close reason names');

  const resumed = new WsClient(`${base}/stream?context=stall&since=${lastSeq}`);
  await resumed.open();
  await resumed.untilSeq('stall', UNITS, 60_000);
  assert.deepEqual(resumed.seqs('stall'), range(lastSeq + 1, UNITS));
  healthy.close();
  resumed.close();
});

test('a reader that pauses and then reads again is caught up from the log without a gap', async () => {
  const server = await startServer({ args: ['--stream-max-buffered-bytes', '64KiB', '--cache-tail-units', '16'] });
  const http = new HttpClient(server.url);
  const reader = new WsClient(`${server.url.replace('http', 'ws')}/stream?context=pause`);
  await reader.open();
  await reader.next((f) => f.event === 'subscribed');
  socketOf(reader).pause();
  await writeMany(http, 'pause', UNITS);
  socketOf(reader).resume();
  await reader.untilSeq('pause', UNITS, 60_000);
  assert.deepEqual(reader.seqs('pause'), range(1, UNITS));
  assert.equal(reader.closed, undefined);
  reader.close();
  http.close();
  assert.equal(await server.stop(), 0);
  removeDir(server.dataDir);
});
