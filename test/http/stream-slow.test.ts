/**
 * Slow consumers: a reader that stops reading must not slow the writer or the other
 * subscribers; it is paused and caught up from the log, or, if it stays stuck (takes
 * nothing at all), closed with code 4001 and the last seq it was sent, and it can resume
 * from there. A reader that is slow but keeps reading is never closed.
 */
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { test } from 'node:test';
import { unit } from '../helpers/http.js';
import { removeDir, serverPerFile, startServer } from '../helpers/server.js';
import { range, WsClient } from '../helpers/ws.js';
import { Backlog } from '../../src/streams/hub.js';
import { HttpClient } from '../helpers/http.js';

// 5 s: a healthy reader starved by a busy machine still reads something within that; the stalled one reads nothing.
const env = serverPerFile({ args: ['--stream-max-buffered-bytes', '64KiB', '--stream-slow-consumer-timeout', '5s'] });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
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

test('a reader slower than the writers for much longer than the slow-consumer timeout, but reading, is paused and caught up, never closed', async () => {
  // The reader takes one socket chunk (≤ 64 KiB) every 25 ms while ~20 MB is written, so it is over
  // its 64 KiB limit, paused, most of the seconds this takes; it keeps reading, so it is never stuck.
  const server = await startServer({ args: ['--stream-max-buffered-bytes', '64KiB', '--stream-slow-consumer-timeout', '3s'] });
  const http = new HttpClient(server.url);
  const reader = new WsClient(`${server.url.replace('http', 'ws')}/stream?context=trickle`);
  await reader.open();
  await reader.next((f) => f.event === 'subscribed');
  const socket = socketOf(reader);
  socket.pause();
  let reading = true;
  const trickle = (async () => {
    while (reading && reader.closed === undefined) {
      socket.once('data', () => socket.pause());
      socket.resume();
      await sleep(25);
    }
    socket.resume();
  })();
  const units = 300;
  await writeMany(http, 'trickle', units);
  await reader.until(() => reader.seqs('trickle').includes(units) || reader.closed !== undefined, 120_000, 'the last unit or a close');
  reading = false;
  await trickle;
  assert.equal(reader.closed, undefined, `the slow reader was closed: ${JSON.stringify(reader.closed)}`);
  assert.deepEqual(reader.seqs('trickle'), range(1, units));
  assert.ok(!server.lines.some((l) => l.includes('closed a slow stream consumer')), 'no connection was closed as a slow consumer');
  reader.close();
  http.close();
  assert.equal(await server.stop(), 0);
  removeDir(server.dataDir);
});

test('the slow-consumer clock runs only while nothing leaves the buffer', () => {
  const b = new Backlog();
  assert.equal(b.tick(500), 0, 'not full: no clock');
  b.enter();
  assert.equal(b.tick(500), 500);
  assert.equal(b.tick(500), 1000);
  b.progress();
  assert.equal(b.tick(500), 0, 'a byte went out: stuck for no time');
  assert.equal(b.tick(300), 300);
  b.enter();
  assert.equal(b.tick(300), 600, 'entering again while full keeps the clock');
  b.leave();
  assert.equal(b.tick(300), 0);
  b.enter();
  assert.equal(b.tick(200), 200, 'a new episode starts from zero');
});
