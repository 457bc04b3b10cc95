/**
 * server.tls without a client CA: one real server with a certificate of a CA made at test time,
 * and every transport driven over TLS by real clients that trust that CA: HTTPS writes and reads,
 * a WSS subscription and publish, SSE, gRPC unary and streaming calls, both SDK clients, and the
 * CLI by URL and through the data dir's discovery file. Clients that do not trust the CA, and a
 * plain-HTTP client on the TLS port, fail with a clear error while the server goes on serving.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { EngramClient, GrpcEngramClient, type EngramClientError, type NewWorkUnit, type WorkUnit } from '../../src/client/index.js';
import { makeCerts, type Certs } from '../helpers/certs.js';
import { EngramGrpc, StreamReader, unitRequest, type Msg } from '../helpers/grpc.js';
import { HttpClient } from '../helpers/http.js';
import { ENGRAM_BIN, removeDir, startServer, tempDir, type RunningServer } from '../helpers/server.js';
import { SseReader } from '../helpers/sse.js';
import { WAIT_MS, withTimeout } from '../helpers/wait.js';
import { WsClient } from '../helpers/ws.js';

const run = promisify(execFile);

let certs: Certs;
let server: RunningServer;
let http: HttpClient;
const closers: Array<() => void> = [];

before(async () => {
  certs = await makeCerts(tempDir('engram-tls-certs-'));
  // Search off: nothing here searches, and the server starts sooner without the word vectors.
  server = await startServer({ args: ['--search-enabled', 'false', '--server-tls-cert-file', certs.serverCert, '--server-tls-key-file', certs.serverKey] });
  http = new HttpClient(server.url, { ca: certs.ca });
});

after(async () => {
  for (const close of closers) close();
  http.close();
  const code = await server.stop();
  removeDir(server.dataDir);
  removeDir(certs.dir);
  assert.equal(code, 0, 'the server exits cleanly');
});

const unit = (contextId: string, text: string): NewWorkUnit => ({ contextId, agentId: 'agent-1', type: 'MESSAGE', payload: { text } });

/** The client's error, with the reason a request failed in its message. */
async function refusal(promise: Promise<unknown>): Promise<EngramClientError> {
  const err = await promise.then(
    () => assert.fail('expected the call to fail'),
    (e: unknown) => e as EngramClientError,
  );
  assert.equal(err.name, 'EngramClientError', String(err));
  return err;
}

describe('TLS on every transport', () => {
  test('the server announces an https:// URL and TLS on its first log line', () => {
    assert.match(server.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const first = JSON.parse(server.lines[0]!) as { tls?: string };
    assert.equal(first.tls, 'on');
  });

  test('HTTPS: a unit written is read back', async () => {
    const w = await http.post('/workunit', unit('tls/http', 'over https'));
    assert.equal(w.status, 201, w.text);
    const r = await http.get(`/workunit/${w.json.id}`);
    assert.equal(r.status, 200);
    assert.deepEqual(r.json.payload, { text: 'over https' });
  });

  test('WSS: a subscription gets what is published on another socket, and the publish is acked', async () => {
    const wsUrl = server.url.replace(/^https/, 'wss');
    const reader = new WsClient(`${wsUrl}/stream?context=tls/ws&since=0`, undefined, undefined, { ca: certs.ca });
    const writer = new WsClient(`${wsUrl}/stream`, undefined, undefined, { ca: certs.ca });
    closers.push(
      () => reader.close(),
      () => writer.close(),
    );
    await Promise.all([reader.open(), writer.open()]);
    await reader.next((f) => f.event === 'subscribed');
    writer.send({ op: 'publish', ref: 1, ...unit('tls/ws', 'over wss') });
    const ack = await writer.next((f) => f.event === 'ack');
    assert.equal(ack.seq, 1);
    await reader.untilSeq('tls/ws', 1);
    assert.deepEqual(reader.frames.find((f) => f.event === 'workunit')!.workUnit.payload, { text: 'over wss' });
  });

  test('SSE over TLS: the units of a context, then a live one', async () => {
    assert.equal((await http.post('/workunit', unit('tls/sse', 'first'))).status, 201);
    const sse = new SseReader(`${server.url}/stream-sse?context=tls/sse&since=0`, {}, { ca: certs.ca });
    closers.push(() => sse.close());
    await sse.until(() => sse.seqs().includes(1));
    assert.equal((await http.post('/workunit', unit('tls/sse', 'second'))).status, 201);
    await sse.until(() => sse.seqs().includes(2));
    assert.equal(sse.status, 200);
    assert.deepEqual(sse.seqs(), [1, 2]);
  });

  test('gRPC over TLS: unary calls and a Subscribe stream', async () => {
    const g = new EngramGrpc(server.grpcAddr, {}, grpc.credentials.createSsl(certs.ca));
    closers.push(() => g.close());
    const created = await g.CreateWorkUnit(unitRequest('tls/grpc'));
    assert.equal(Number(created.workUnit.seq), 1);
    const got = await g.GetWorkUnit({ id: created.workUnit.id });
    assert.equal(got.id, created.workUnit.id);
    const sub = new StreamReader(g.Subscribe({ contextId: 'tls/grpc', since: 0 }));
    const seqs = (m: Msg[]) => m.filter((x) => x.event === 'workUnit').map((x) => Number(x.workUnit.seq));
    await sub.until((m) => seqs(m).includes(1));
    await g.CreateWorkUnit(unitRequest('tls/grpc'));
    await sub.until((m) => seqs(m).includes(2));
    sub.stream.cancel();
  });

  test('the SDK over HTTPS and WSS: write, read, subscribe and publish, trusting the CA given as ca', async () => {
    const engram = new EngramClient(server.url, { ca: certs.ca });
    closers.push(() => engram.close());
    const stop = new AbortController();
    const units = engram.subscribe('tls/sdk', { since: 0, signal: stop.signal });
    await engram.write(unit('tls/sdk', 'written'));
    const published = await engram.publish(unit('tls/sdk', 'published'));
    assert.equal(published.seq, 2);
    const seen: WorkUnit[] = [];
    for await (const u of units) {
      seen.push(u);
      if (seen.length === 2) break;
    }
    stop.abort();
    assert.deepEqual(
      seen.map((u) => u.payload),
      [{ text: 'written' }, { text: 'published' }],
    );
    assert.equal((await engram.list('tls/sdk')).workUnits.length, 2);
  });

  test('the gRPC SDK with an https:// address: write, read and subscribe', async () => {
    const engram = new GrpcEngramClient(`https://${server.grpcAddr}`, { ca: certs.ca });
    closers.push(() => engram.close());
    const w = await engram.write(unit('tls/grpc-sdk', 'over grpc+tls'));
    assert.deepEqual((await engram.get(w.workUnit.id)).payload, { text: 'over grpc+tls' });
    const stop = new AbortController();
    for await (const u of engram.subscribe('tls/grpc-sdk', { since: 0, signal: stop.signal })) {
      assert.equal(u.seq, 1);
      break;
    }
    stop.abort();
  });

  test('a client that does not trust the CA is refused with UNAVAILABLE naming the certificate problem', async () => {
    const untrusting = new EngramClient(server.url);
    const err = await refusal(untrusting.getContext('tls/http'));
    assert.equal(err.code, 'UNAVAILABLE');
    assert.match(err.message, /certificate/i);
    const g = new GrpcEngramClient(`https://${server.grpcAddr}`, { waitForReady: false, timeoutMs: WAIT_MS });
    closers.push(() => g.close());
    const gErr = await refusal(g.getContext('tls/http'));
    assert.equal(gErr.code, 'UNAVAILABLE');
  });

  test('TLS options with a plain URL are a mistake the SDK names at once', () => {
    assert.throws(
      () => new EngramClient(server.url.replace(/^https/, 'http'), { ca: certs.ca }),
      (e: EngramClientError) => e.code === 'INVALID_FIELD' && /https:\/\//.test(e.message),
    );
    assert.throws(
      () => new GrpcEngramClient(`http://${server.grpcAddr}`, { ca: certs.ca }),
      (e: EngramClientError) => e.code === 'INVALID_FIELD',
    );
    assert.throws(
      () => new EngramClient(server.url, { cert: certs.client.cert }),
      (e: EngramClientError) => e.code === 'INVALID_FIELD' && /key/.test(e.message),
    );
  });

  test('plain HTTP and plaintext gRPC on the TLS ports fail, and the server goes on serving', async () => {
    const plain = new EngramClient(server.url.replace(/^https/, 'http'));
    assert.equal((await refusal(plain.getContext('tls/http'))).code, 'UNAVAILABLE');
    const g = new GrpcEngramClient(server.grpcAddr, { waitForReady: false, timeoutMs: WAIT_MS });
    closers.push(() => g.close());
    assert.equal((await refusal(g.getContext('tls/http'))).code, 'UNAVAILABLE');
    const r = await http.get('/readyz');
    assert.equal(r.status, 200);
  });
});

describe('the CLI against an https:// server', () => {
  const engram = (...args: string[]) => withTimeout(run(ENGRAM_BIN, args, { encoding: 'utf8' }), WAIT_MS, `engram ${args[0]}`);

  test('put and get with --url and --ca, and through the data dir (its discovery file names the https:// URL)', async () => {
    const put = await engram('put', 'tls/cli', 'from the command line', '--url', server.url, '--ca', certs.caFile);
    assert.match(put.stdout, /^tls\/cli #1 /);
    const got = await engram('get', 'tls/cli', '--data-dir', server.dataDir, '--ca', certs.caFile);
    assert.equal(got.stdout, '#1 cli MESSAGE: from the command line\n');
  });

  test('without the CA it exits 1 with the certificate problem; with an unreadable --ca, 2', async () => {
    const untrusting = await engram('get', 'tls/cli', '--url', server.url).then(
      () => assert.fail('expected a failure'),
      (e: { code: number; stderr: string }) => e,
    );
    assert.equal(untrusting.code, 1);
    assert.match(untrusting.stderr, /^engram get: UNAVAILABLE: .*certificate/);
    const missing = await engram('get', 'tls/cli', '--url', server.url, '--ca', `${certs.dir}/none.pem`).then(
      () => assert.fail('expected a failure'),
      (e: { code: number; stderr: string }) => e,
    );
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /--ca .*none\.pem: cannot be read/);
  });
});
