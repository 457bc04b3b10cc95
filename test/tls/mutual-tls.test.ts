/**
 * server.tls with a client CA (mutual TLS): one real server, and clients with the CA's client
 * certificate, with none, and with another CA's. The right certificate works on every transport
 * (HTTPS, WSS, SSE, gRPC, both SDK clients, the CLI and `engram mcp`); the others are refused in
 * the handshake on HTTPS, WSS and gRPC, and the server goes on serving the clients that have one.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { EngramClient, GrpcEngramClient, type EngramClientError, type NewWorkUnit, type TlsOptions } from '../../src/client/index.js';
import { makeCerts, type Certs } from '../helpers/certs.js';
import { EngramGrpc, StreamReader, unitRequest, type Msg } from '../helpers/grpc.js';
import { HttpClient } from '../helpers/http.js';
import { ENGRAM_BIN, removeDir, startServer, tempDir, type RunningServer } from '../helpers/server.js';
import { SseReader } from '../helpers/sse.js';
import { WAIT_MS, withTimeout } from '../helpers/wait.js';
import { WsClient } from '../helpers/ws.js';

const run = promisify(execFile);
const MAIN_JS = resolve(import.meta.dirname, '../../src/main.js');

let certs: Certs;
let server: RunningServer;
const closers: Array<() => unknown> = [];

before(async () => {
  certs = await makeCerts(tempDir('engram-mtls-certs-'));
  server = await startServer({
    args: ['--search-enabled', 'false', '--server-tls-cert-file', certs.serverCert, '--server-tls-key-file', certs.serverKey, '--server-tls-client-ca-file', certs.caFile],
  });
});

after(async () => {
  for (const close of closers) await close();
  const code = await server.stop();
  removeDir(server.dataDir);
  removeDir(certs.dir);
  assert.equal(code, 0, 'the server exits cleanly');
});

const unit = (contextId: string, text: string): NewWorkUnit => ({ contextId, agentId: 'agent-1', type: 'MESSAGE', payload: { text } });
/** What each kind of client presents. */
const withCert = (): TlsOptions => ({ ca: certs.ca, ...certs.client });
const withoutCert = (): TlsOptions => ({ ca: certs.ca });
const withStrangerCert = (): TlsOptions => ({ ca: certs.ca, ...certs.stranger });

async function refusal(promise: Promise<unknown>): Promise<EngramClientError> {
  return promise.then(
    () => assert.fail('expected the call to be refused'),
    (e: unknown) => e as EngramClientError,
  );
}

describe('mutual TLS: a client with a certificate of the CA', () => {
  test('HTTPS, WSS and SSE work, and the first log line says mutual', async () => {
    assert.equal((JSON.parse(server.lines[0]!) as { tls?: string }).tls, 'mutual');
    const http = new HttpClient(server.url, withCert());
    closers.push(() => http.close());
    const w = await http.post('/workunit', unit('mtls/http', 'one'));
    assert.equal(w.status, 201, w.text);
    assert.deepEqual((await http.get(`/workunit/${w.json.id}`)).json.payload, { text: 'one' });

    const ws = new WsClient(`${server.url.replace(/^https/, 'wss')}/stream?context=mtls/http&since=0`, undefined, undefined, withCert());
    closers.push(() => ws.close());
    await ws.open();
    ws.send({ op: 'publish', ref: 1, ...unit('mtls/http', 'two') });
    await ws.untilSeq('mtls/http', 2);
    assert.equal((await ws.next((f) => f.event === 'ack')).seq, 2);

    const sse = new SseReader(`${server.url}/stream-sse?context=mtls/http&since=0`, {}, withCert());
    closers.push(() => sse.close());
    await sse.until(() => sse.seqs().includes(2));
    assert.deepEqual(sse.seqs(), [1, 2]);
  });

  test('gRPC: unary calls and a Subscribe stream', async () => {
    const c = withCert();
    const g = new EngramGrpc(server.grpcAddr, {}, grpc.credentials.createSsl(certs.ca, certs.client.key, certs.client.cert));
    closers.push(() => g.close());
    assert.equal(Number((await g.CreateWorkUnit(unitRequest('mtls/grpc'))).workUnit.seq), 1);
    const sub = new StreamReader(g.Subscribe({ contextId: 'mtls/grpc', since: 0 }));
    await sub.until((m: Msg[]) => m.some((x) => x.event === 'workUnit' && Number(x.workUnit.seq) === 1));
    sub.stream.cancel();
    // The SDK's gRPC client, given the same material.
    const sdk = new GrpcEngramClient(`https://${server.grpcAddr}`, c);
    closers.push(() => sdk.close());
    assert.equal((await sdk.write(unit('mtls/grpc', 'sdk'))).workUnit.seq, 2);
  });

  test('the SDK over HTTPS and WSS: write, publish and subscribe', async () => {
    const engram = new EngramClient(server.url, withCert());
    closers.push(() => engram.close());
    await engram.write(unit('mtls/sdk', 'written'));
    assert.equal((await engram.publish(unit('mtls/sdk', 'published'))).seq, 2);
    const stop = new AbortController();
    const seqs: number[] = [];
    for await (const u of engram.subscribe('mtls/sdk', { since: 0, signal: stop.signal })) {
      seqs.push(u.seq);
      if (seqs.length === 2) break;
    }
    stop.abort();
    assert.deepEqual(seqs, [1, 2]);
  });

  test('the CLI with --ca, --cert and --key; engram mcp with the same, through the data dir', async () => {
    const tlsArgs = ['--ca', certs.caFile, '--cert', certs.clientCert, '--key', certs.clientKey];
    const put = await withTimeout(run(ENGRAM_BIN, ['put', 'mtls/cli', 'hello', '--url', server.url, ...tlsArgs], { encoding: 'utf8' }), WAIT_MS, 'engram put');
    assert.match(put.stdout, /^mtls\/cli #1 /);
    // Without a certificate the handshake fails: exit 1, UNAVAILABLE.
    const refused = await withTimeout(run(ENGRAM_BIN, ['get', 'mtls/cli', '--url', server.url, '--ca', certs.caFile], { encoding: 'utf8' }), WAIT_MS, 'engram get').then(
      () => assert.fail('expected a refusal'),
      (e: { code: number; stderr: string }) => e,
    );
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /^engram get: UNAVAILABLE: .*client certificate/);

    // --no-start: it must find this server (discovery file, https:// URL) and get through its check.
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [MAIN_JS, 'mcp', '--data-dir', server.dataDir, '--no-start', '--space', 'mtls', '--agent', 'ide', ...tlsArgs],
      stderr: 'pipe',
    });
    const stderr: string[] = [];
    transport.stderr?.on('data', (b: Buffer) => stderr.push(b.toString()));
    const mcp = new Client({ name: 'engram-test', version: '1.0.0' });
    closers.push(() => mcp.close());
    await mcp.connect(transport, { timeout: WAIT_MS });
    const posted = (await mcp.callTool({ name: 'post_unit', arguments: { contextId: 'mtls/cli', text: 'from mcp' } }, undefined, { timeout: WAIT_MS })) as {
      content: Array<{ text: string }>;
      isError?: boolean;
    };
    assert.notEqual(posted.isError, true, posted.content[0]?.text);
    assert.equal(JSON.parse(posted.content[0]!.text).seq, 2, stderr.join(''));
    const got = await withTimeout(run(ENGRAM_BIN, ['get', 'mtls/cli', '--data-dir', server.dataDir, ...tlsArgs], { encoding: 'utf8' }), WAIT_MS, 'engram get');
    assert.equal(got.stdout, '#1 cli MESSAGE: hello\n#2 ide MESSAGE: from mcp\n');
  });
});

describe('mutual TLS: clients without the right certificate are refused', () => {
  for (const [who, tls] of [
    ['without a certificate', withoutCert],
    ['with another CA’s certificate', withStrangerCert],
  ] as const) {
    test(`HTTPS and WSS ${who}`, async () => {
      const engram = new EngramClient(server.url, tls());
      const err = await refusal(engram.getContext('mtls/http'));
      assert.equal(err.code, 'UNAVAILABLE', err.message);
      assert.match(err.message, /certificate/, 'the message points at the certificate');
      const ws = new WsClient(`${server.url.replace(/^https/, 'wss')}/stream?context=mtls/http`, undefined, undefined, tls());
      closers.push(() => ws.close());
      await assert.rejects(ws.open());
    });

    test(`gRPC ${who}`, async () => {
      const o = tls();
      const g = new EngramGrpc(
        server.grpcAddr,
        {},
        grpc.credentials.createSsl(certs.ca, o.key === undefined ? null : Buffer.from(o.key), o.cert === undefined ? null : Buffer.from(o.cert)),
      );
      closers.push(() => g.close());
      await assert.rejects(g.GetContext({ contextId: 'mtls/grpc' }, { deadlineMs: WAIT_MS }), (e: grpc.ServiceError) => e.code === grpc.status.UNAVAILABLE);
      const sdk = new GrpcEngramClient(`https://${server.grpcAddr}`, { ...o, waitForReady: false });
      closers.push(() => sdk.close());
      assert.equal((await refusal(sdk.getContext('mtls/grpc'))).code, 'UNAVAILABLE');
    });
  }

  test('a plain-HTTP client on the TLS port fails, and clients with a certificate are served after all of these', async () => {
    assert.equal((await refusal(new EngramClient(server.url.replace(/^https/, 'http')).getContext('mtls/http'))).code, 'UNAVAILABLE');
    const engram = new EngramClient(server.url, withCert());
    assert.equal((await engram.getContext('mtls/http')).headSeq, 2);
    const g = new GrpcEngramClient(`https://${server.grpcAddr}`, withCert());
    closers.push(() => g.close());
    assert.equal((await g.getContext('mtls/grpc')).headSeq, 2);
  });
});
