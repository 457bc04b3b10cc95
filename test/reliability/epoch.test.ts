/**
 * Stream positions carry the epoch of the log's history. A restart keeps the epoch, so a reader
 * resumes as before; `engram restore` of an older backup starts a new one, so a reader that
 * resumes with its old epoch is refused with EPOCH_MISMATCH (and the current epoch) over
 * WebSocket, SSE, gRPC and the SDK, instead of silently resuming on seqs that now name other units.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { status } from '@grpc/grpc-js';
import { EngramClient } from '../../src/client/index.js';
import { EngramGrpc, StreamReader } from '../helpers/grpc.js';
import { HttpClient, unit } from '../helpers/http.js';
import { ENGRAM_BIN, removeDir, startServer, tempDir, type RunningServer } from '../helpers/server.js';
import { SseReader } from '../helpers/sse.js';
import { WAIT_MS } from '../helpers/wait.js';
import { WsClient, type ServerFrame } from '../helpers/ws.js';

const dirs: string[] = [];
after(() => dirs.forEach(removeDir));
const CTX = 'ep/plan';

function cli(args: string[]): Promise<{ status: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(ENGRAM_BIN, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('exit', (code) => resolve({ status: code, stderr }));
  });
}

async function write(server: RunningServer, n: number, tag: string): Promise<void> {
  const http = new HttpClient(server.url);
  try {
    for (let i = 0; i < n; i++) assert.equal((await http.post('/workunit', unit(CTX, { payload: { tag, i } }))).status, 201);
  } finally {
    http.close();
  }
}

/** Subscribes over WebSocket from `since` (in `epoch`) and returns the subscribed frame, or the error frame. */
async function wsSubscribe(server: RunningServer, since: number, epoch?: string): Promise<ServerFrame> {
  const ws = new WsClient(`${server.url.replace('http', 'ws')}/stream?context=${encodeURIComponent(CTX)}&since=${since}${epoch === undefined ? '' : `&epoch=${epoch}`}`);
  try {
    await ws.open();
    return await ws.next((f) => f.event === 'subscribed' || f.event === 'error');
  } finally {
    ws.close();
  }
}

test('a resume with the epoch of a history that was restored from a backup is refused over WebSocket, SSE, gRPC and the SDK', { timeout: 240_000 }, async () => {
  const work = tempDir('engram-epoch-');
  dirs.push(work);
  const backup = join(work, 'backup.ndjson');
  const restoredDir = join(work, 'restored');
  dirs.push(restoredDir);

  // Five units, a backup, five more: a reader has seen seq 10 in the first epoch.
  let server = await startServer();
  dirs.push(server.dataDir);
  let first: string;
  try {
    await write(server, 5, 'before the backup');
    const b = await cli(['backup', '--out', backup, '--url', server.url]);
    assert.equal(b.status, 0, b.stderr);
    await write(server, 5, 'after the backup');
    const sub = await wsSubscribe(server, 0);
    assert.equal(sub.event, 'subscribed');
    assert.equal(sub.headSeq, 10);
    assert.match(sub.epoch ?? '', /^[0-9a-f]{12}$/);
    first = sub.epoch!;
  } finally {
    assert.equal(await server.stop(), 0);
  }

  // A restart keeps the history and its epoch: resuming at seq 10 in it works.
  server = await startServer({ dataDir: server.dataDir });
  try {
    const again = await wsSubscribe(server, 10, first);
    assert.equal(again.event, 'subscribed', JSON.stringify(again));
    assert.equal(again.epoch, first);
  } finally {
    assert.equal(await server.stop(), 0);
  }

  // The backup restored: seqs 6 and on will name other units now, so the epoch is new.
  const r = await cli(['restore', '--in', backup, '--data-dir', restoredDir]);
  assert.equal(r.status, 0, r.stderr);
  server = await startServer({ dataDir: restoredDir });
  const grpc = new EngramGrpc(server.grpcAddr);
  try {
    await write(server, 5, 'a different seq 6 to 10');
    const fresh = await wsSubscribe(server, 0);
    const second = fresh.epoch!;
    assert.notEqual(second, first);
    assert.equal(fresh.headSeq, 10);

    // WebSocket, in the URL and in a subscribe op.
    const ws = await wsSubscribe(server, 10, first);
    assert.equal(ws.event, 'error');
    assert.equal(ws.error?.code, 'EPOCH_MISMATCH');
    assert.equal(ws.error?.details?.epoch, second);
    const conn = new WsClient(`${server.url.replace('http', 'ws')}/stream`);
    await conn.open();
    conn.send({ op: 'subscribe', ref: 'r1', contextId: CTX, since: 10, epoch: first });
    const refused = await conn.next((f) => f.event === 'error' && f.ref === 'r1');
    assert.equal(refused.error.code, 'EPOCH_MISMATCH');
    assert.ok(!conn.frames.some((f) => f.event === 'workunit'), 'no unit of the new history was sent as if it continued the old');
    conn.close();

    // SSE: EventSource resumes with Last-Event-ID on the URL it was given, epoch included.
    const sse = new SseReader(`${server.url}/stream-sse?context=${encodeURIComponent(CTX)}&epoch=${first}`, { 'last-event-id': '10' });
    await sse.responded;
    assert.equal(sse.status, 409);
    await sse.until(() => sse.ended, WAIT_MS, 'the refusal body');
    assert.equal(JSON.parse(sse.body).error.code, 'EPOCH_MISMATCH');

    // gRPC.
    const call = new StreamReader(grpc.Subscribe({ contextId: CTX, since: 10, epoch: first }));
    const end = await call.done();
    assert.equal(end.code, status.FAILED_PRECONDITION, end.details);
    assert.equal(end.metadata.get('engram-error-code')[0], 'EPOCH_MISMATCH');
    assert.equal(call.messages.length, 0);
    // Resuming in the current epoch works, and says so.
    const ok = new StreamReader(grpc.Subscribe({ contextId: CTX, since: 10, epoch: second }));
    await ok.until((m) => m.length >= 1, WAIT_MS, 'subscribed');
    assert.deepEqual(ok.messages[0], { event: 'subscribed', subscribed: { contextId: CTX, headSeq: 10, epoch: second } });
    ok.stream.cancel();
    await ok.done();

    // The SDK's resuming iterator ends with the error rather than going on.
    const client = new EngramClient(server.url);
    const units = client.subscribe(CTX, { since: 10, epoch: first });
    await assert.rejects(units.next(), (err: Error & { code?: string }) => err.code === 'EPOCH_MISMATCH');
    const fromNow = client.subscribe(CTX, { since: 9, epoch: second });
    const next = await fromNow.next();
    assert.equal((next.value as { seq: number }).seq, 10);
    await fromNow.return?.();
  } finally {
    grpc.close();
    assert.equal(await server.stop(), 0);
  }
});
