/**
 * W3C traceparent on writes: from the HTTP header, a WebSocket publish frame's field and gRPC
 * metadata, stored on the unit as meta.traceparent and delivered with it to subscribers; a
 * malformed or conflicting one is refused and stores nothing.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { grpcServerPerFile, unitRequest } from '../helpers/grpc.js';
import { unit } from '../helpers/http.js';
import { WsClient } from '../helpers/ws.js';

const env = grpcServerPerFile();
const TP = (n: number) => `00-${n.toString(16).padStart(32, '0')}-${'a'.repeat(16)}-01`;

test('a traceparent from each transport is stored on the unit and travels with it to subscribers', async () => {
  const ws = new WsClient(`${env.server.url.replace('http', 'ws')}/stream?context=traced`);
  await ws.open();
  await ws.next((f) => f.event === 'subscribed');

  const http = await env.http.post('/workunit', unit('traced'), { traceparent: TP(1) });
  assert.equal(http.status, 201, http.text);
  assert.equal(http.json.meta.traceparent, TP(1));

  ws.send({ op: 'publish', ref: 'p', traceparent: TP(2), ...unit('traced') });
  const ack = await ws.next((f) => f.event === 'ack' || f.event === 'error');
  assert.equal(ack.event, 'ack', JSON.stringify(ack));

  const md = new grpc.Metadata();
  md.set('traceparent', TP(3));
  const viaGrpc = await env.grpc.call('CreateWorkUnit', unitRequest('traced'), { metadata: md });
  assert.equal(viaGrpc.workUnit.seq, 3);

  await ws.untilSeq('traced', 3);
  assert.deepEqual(
    ws.frames.filter((f) => f.event === 'workunit').map((f) => f.workUnit.meta.traceparent),
    [TP(1), TP(2), TP(3)],
  );
  ws.close();
  const stored = (await env.http.get('/workunits/traced')).json.workUnits.map((u: { meta: { traceparent: string } }) => u.meta.traceparent);
  assert.deepEqual(stored, [TP(1), TP(2), TP(3)]);
});

test("a tracing header never costs a write: a malformed one is left out, a body's own meta.traceparent is kept", async () => {
  const bad = await env.http.post('/workunit', unit('loose'), { traceparent: '01-' + '1'.repeat(32) + '-' + 'a'.repeat(16) + '-01' });
  assert.equal(bad.status, 201, bad.text);
  assert.equal(bad.json.meta.traceparent, undefined);
  const own = await env.http.post('/workunit', unit('loose', { meta: { traceparent: TP(5) } }), { traceparent: TP(4) });
  assert.equal(own.status, 201, own.text);
  assert.equal(own.json.meta.traceparent, TP(5));
  const free = await env.http.post('/workunit', unit('loose', { meta: { traceparent: 'any format a client used before' } }));
  assert.equal(free.status, 201, free.text);
});
