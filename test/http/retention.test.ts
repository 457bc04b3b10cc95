/**
 * Retention through a real server: policies from the config file trim contexts by count, bytes
 * and age (POST /retention/sweep runs them now; the periodic sweeper too), reads start at the
 * first seq kept, pinned units stay readable by id, memory contexts are never trimmed, and a
 * subscription asked to start below the first seq gets a `trimmed` event over WebSocket, SSE and
 * gRPC alike: it ends, or goes on from the first seq when it asked for that.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { EngramClient, EngramClientError, GrpcEngramClient, type WorkUnit } from '../../src/client/index.js';
import { EngramGrpc, StreamReader } from '../helpers/grpc.js';
import { HttpClient, unit } from '../helpers/http.js';
import { removeDir, startServer, tempDir, type RunningServer } from '../helpers/server.js';
import { SseReader } from '../helpers/sse.js';
import { eventually, WAIT_MS, withTimeout } from '../helpers/wait.js';
import { WsClient } from '../helpers/ws.js';

const CONFIG = `retention:
  interval: 7d
  policies:
    - {contexts: ["logs/*"], maxUnits: 10}
    - {contexts: ["big/*"], maxBytes: 2KiB, keepPinned: false}
    - {contexts: ["aged/*"], maxAge: 1s}
    - {contexts: ["*"], clients: [tight], maxUnits: 1}
`;

describe('retention', () => {
  const dir = tempDir('engram-retention-');
  let server: RunningServer;
  let http: HttpClient;
  const ids: string[] = [];
  before(async () => {
    writeFileSync(join(dir, 'engram.yaml'), CONFIG);
    server = await startServer({ args: ['--config', join(dir, 'engram.yaml')] });
    http = new HttpClient(server.url);
  });
  after(async () => {
    http.close();
    await server.stop();
    removeDir(server.dataDir);
    removeDir(dir);
  });
  const sweep = async () => (await http.post('/retention/sweep', {})).json as { contexts: number; trimmed: number; units: number; bytes: number };
  const wsUrl = (q: string) => `${server.url.replace('http', 'ws')}/stream${q}`;

  test('a count policy trims the oldest units; the head, pinned units and other contexts stay; reads start at the first seq', async () => {
    for (let i = 1; i <= 30; i++) ids.push((await http.post('/workunit', unit('logs/a', { payload: { text: `numbat line ${i}` } }))).json.id);
    await http.post('/workunit', unit('other', { payload: { text: 'numbat untouched' } }));
    await http.patch('/contexts/logs%2Fa', { pinUnits: [ids[4]] });
    await eventually(async () => (await http.post('/search', { query: 'numbat', mode: 'keyword', limit: 50 })).json.total === 31, WAIT_MS, 'everything searchable');
    const report = await sweep();
    assert.equal(report.trimmed, 1);
    assert.equal(report.units, 19, 'units 1..20 but the pinned one');
    assert.ok(report.bytes > 0);
    const ctx = (await http.get('/contexts/logs%2Fa')).json;
    assert.deepEqual([ctx.firstSeq, ctx.headSeq], [21, 30]);
    const page = (await http.get('/workunits/logs%2Fa?after=0&limit=100')).json;
    assert.equal(page.firstSeq, 21);
    assert.deepEqual(
      page.workUnits.map((u: WorkUnit) => u.seq),
      Array.from({ length: 10 }, (_, i) => 21 + i),
    );
    assert.equal((await http.get(`/workunit/${ids[4]}`)).json.seq, 5, 'the pinned unit is kept');
    assert.equal((await http.get(`/workunit/${ids[2]}`)).status, 404);
    assert.equal((await http.get('/contexts/other')).json.firstSeq, 1);
    // Searching finds only what is kept (and the pinned unit).
    await eventually(async () => (await http.post('/search', { query: 'numbat', mode: 'keyword', limit: 50 })).json.total === 12, WAIT_MS, 'the trimmed units gone from search');
    // A second sweep has nothing to do; a write goes on from the head.
    assert.equal((await sweep()).trimmed, 0);
    assert.equal((await http.post('/workunit', unit('logs/a', { payload: { text: 'numbat 31' } }))).json.seq, 31);
  });

  test('a subscription from below the first seq is told over WebSocket, SSE and gRPC; it ends, or goes on when asked', async () => {
    // WebSocket, ending.
    const ws = new WsClient(wsUrl('?context=logs%2Fa&since=0'));
    await ws.open();
    const trimmed = await ws.next((f) => f.event === 'trimmed');
    assert.deepEqual(trimmed, { event: 'trimmed', contextId: 'logs/a', firstSeq: 21, continues: false });
    // The connection goes on without that subscription: a ping is answered, and no unit of it comes.
    ws.send({ op: 'ping', ref: 1 });
    await ws.next((f) => f.event === 'pong');
    assert.deepEqual(ws.seqs('logs/a'), []);
    // The same connection asks again, going on this time.
    ws.send({ op: 'subscribe', contextId: 'logs/a', since: 3, onTrimmed: 'continue' });
    await ws.untilSeq('logs/a', 31);
    assert.deepEqual(
      ws.seqs('logs/a'),
      Array.from({ length: 11 }, (_, i) => 21 + i),
    );
    assert.deepEqual(
      ws.frames.filter((f) => f.event === 'trimmed').map((f) => f.continues),
      [false, true],
    );
    ws.send({ op: 'subscribe', contextId: 'logs/a', onTrimmed: 'sometimes' });
    assert.equal((await ws.next((f) => f.event === 'error')).error.code, 'INVALID_FIELD');
    ws.close();
    // SSE.
    const ending = new SseReader(`${server.url}/stream-sse?context=logs%2Fa&since=0`);
    await eventually(async () => ending.ended, WAIT_MS, 'the SSE response to end');
    assert.deepEqual(
      ending.events.map((e) => e.event),
      ['subscribed', 'trimmed'],
    );
    const going = new SseReader(`${server.url}/stream-sse?context=logs%2Fa&since=0&onTrimmed=continue`);
    await eventually(async () => going.events.filter((e) => e.event === 'workunit').length === 11, WAIT_MS, 'the kept units over SSE');
    assert.deepEqual(JSON.parse(going.events[1]!.data), { event: 'trimmed', contextId: 'logs/a', firstSeq: 21, continues: true });
    going.close();
    assert.equal((await http.get(`/stream-sse?context=logs%2Fa&since=0&onTrimmed=maybe`)).json.error.code, 'INVALID_QUERY');
    // gRPC.
    const g = new EngramGrpc(server.grpcAddr);
    const ends = new StreamReader(g.Subscribe({ contextId: 'logs/a', since: 0 }));
    assert.equal((await ends.done()).code, grpc.status.OK);
    assert.deepEqual(ends.messages.at(-1).trimmed, { contextId: 'logs/a', firstSeq: 21, continues: false });
    const goes = new StreamReader(g.Subscribe({ contextId: 'logs/a', since: 0, continueAfterTrim: true }));
    await goes.until((m) => m.filter((x: { workUnit?: unknown }) => x.workUnit !== undefined).length === 11, WAIT_MS, 'the kept units over gRPC');
    assert.deepEqual(goes.messages[1].trimmed, { contextId: 'logs/a', firstSeq: 21, continues: true });
    goes.stream.cancel();
    g.close();
  });

  test('the SDK: a subscription below the first seq throws TRIMMED, or goes on from it with onTrimmed: continue', async () => {
    for (const client of [new EngramClient(server.url), new GrpcEngramClient(server.grpcAddr)]) {
      const it = client.subscribe('logs/a', { since: 0 });
      await assert.rejects(withTimeout(it.next(), WAIT_MS, 'TRIMMED'), (e: EngramClientError) => e.code === 'TRIMMED');
      const going = client.subscribe('logs/a', { since: 0, onTrimmed: 'continue' });
      const first = await withTimeout(going.next(), WAIT_MS, 'the first kept unit');
      assert.equal(first.value?.seq, 21);
      await going.return!();
      assert.equal((await client.list('logs/a', { after: 0 })).firstSeq, 21);
      assert.equal((await client.getContext('logs/a')).firstSeq, 21);
      if (client instanceof GrpcEngramClient) client.close();
    }
  });

  test('a bytes policy keeps the newest units that fit, pinned or not; an age policy trims what is older', async () => {
    const pinned = (await http.post('/workunit', unit('big/one', { payload: { text: 'x'.repeat(600) } }))).json.id;
    for (let i = 0; i < 9; i++) await http.post('/workunit', unit('big/one', { payload: { text: 'x'.repeat(600) } }));
    await http.patch('/contexts/big%2Fone', { pinUnits: [pinned] });
    await sweep();
    const big = (await http.get('/contexts/big%2Fone')).json;
    const kept = (await http.get('/workunits/big%2Fone')).json.workUnits as WorkUnit[];
    const bytes = kept.reduce((n, u) => n + JSON.stringify(u).length, 0);
    assert.ok(bytes <= 2048 && kept.length >= 2, `${kept.length} units, ${bytes} bytes kept under 2 KiB`);
    assert.equal(big.firstSeq, 11 - kept.length);
    assert.equal((await http.get(`/workunit/${pinned}`)).status, 404, 'keepPinned: false');
    for (let i = 0; i < 3; i++) await http.post('/workunit', unit('aged/x', { payload: i }));
    // The age limit is a second: once the units are older, a sweep takes them.
    await eventually(async () => (await sweep(), (await http.get('/contexts/aged%2Fx')).json.firstSeq === 4), WAIT_MS, 'the aged units trimmed');
  });

  test('memory contexts are never trimmed, whatever the policy', async () => {
    const c = { 'x-client-id': 'tight' };
    for (const text of ['one', 'two', 'three']) {
      await http.post('/memory/notes/command', { command: 'create', path: `/memories/${text}.md`, file_text: text }, c);
    }
    for (let i = 0; i < 3; i++) await http.post('/workunit', unit('scratch', { payload: i }), c);
    await sweep();
    assert.equal((await http.get('/contexts/memories%2Fnotes', c)).json.firstSeq, 1);
    assert.equal((await http.get('/contexts/scratch', c)).json.firstSeq, 3, 'the client-wide policy keeps one unit');
    const view = await http.post('/memory/notes/command', { command: 'view', path: '/memories' }, c);
    assert.match(view.json.result, /one\.md[\s\S]*three\.md[\s\S]*two\.md|one\.md/);
    assert.equal((await http.post('/memory/notes/command', { command: 'view', path: '/memories/one.md' }, c)).json.isError, false);
  });
});

describe('the periodic sweeper', () => {
  const dir = tempDir('engram-retention-');
  let server: RunningServer;
  before(async () => {
    writeFileSync(join(dir, 'engram.yaml'), 'retention:\n  interval: 1s\n  policies:\n    - {contexts: ["*"], maxUnits: 2}\n');
    server = await startServer({ args: ['--config', join(dir, 'engram.yaml'), '--search-enabled', 'false'] });
  });
  after(async () => {
    await server.stop();
    removeDir(server.dataDir);
    removeDir(dir);
  });

  test('trims by itself, every interval', async () => {
    const http = new HttpClient(server.url);
    for (let i = 0; i < 5; i++) await http.post('/workunit', unit('auto', { payload: i }));
    await eventually(async () => (await http.get('/contexts/auto')).json.firstSeq === 4, WAIT_MS, 'the sweeper to trim');
    http.close();
  });
});
