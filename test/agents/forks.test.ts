/**
 * Forks through a real server (docs/agents.md, Forks): a fork reads one continuous history (its
 * parent's units up to the fork seq, then its own) over HTTP, gRPC, both SDK clients, WebSocket,
 * SSE and search; it diverges from its parent; forks of forks; deleting a fork keeps the parent,
 * deleting a parent with forks is refused unless cascaded; the lineage survives a restart; bad
 * input stores nothing. One server for the file (restarted once on the same data dir).
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { EngramClient, EngramClientError, GrpcEngramClient, type WorkUnit } from '../../src/client/index.js';
import { HttpClient } from '../helpers/http.js';
import { SseReader } from '../helpers/sse.js';
import { WsClient, range } from '../helpers/ws.js';
import { removeDir, startServer, tempDir, type RunningServer } from '../helpers/server.js';
import { withTimeout, WAIT_MS } from '../helpers/wait.js';

interface Unit {
  id: string;
  contextId: string;
  seq: number;
  payload: { text: string };
}

const dataDir = tempDir();
const configDir = tempDir('engram-forks-');
const args = ['--config', join(configDir, 'engram.yaml')];
let server: RunningServer;
let http: HttpClient;
let sdk: EngramClient;
let grpc: GrpcEngramClient;

function connect(): void {
  http = new HttpClient(server.url);
  sdk = new EngramClient(server.url);
  grpc = new GrpcEngramClient(server.grpcAddr);
}

function disconnect(): void {
  http.close();
  grpc.close();
}

before(async () => {
  writeFileSync(join(configDir, 'engram.yaml'), 'retention:\n  interval: 7d\n  policies:\n    - {contexts: ["trim/*"], maxUnits: 3}\n');
  server = await startServer({ dataDir, args });
  connect();
});

after(async () => {
  disconnect();
  const code = await server.stop();
  removeDir(dataDir);
  removeDir(configDir);
  assert.equal(code, 0, 'the server exited cleanly');
});

async function post(contextId: string, text: string): Promise<Unit> {
  const r = await http.post('/workunit', { contextId, agentId: 'planner', type: 'MESSAGE', payload: { text } });
  assert.equal(r.status, 201, r.text);
  return r.json as Unit;
}

async function units(contextId: string, query = ''): Promise<Unit[]> {
  const r = await http.get(`/workunits/${encodeURIComponent(contextId)}${query}`);
  assert.equal(r.status, 200, r.text);
  return r.json.workUnits as Unit[];
}

const parentText = (i: number) => (i === 3 ? 'we migrate the database with logical replication' : i === 8 ? 'logical replication rollback, on the main line' : `main step ${i}`);
const where = (us: Array<Pick<Unit, 'contextId' | 'seq'>>) => us.map((u) => `${u.contextId}@${u.seq}`);

/** The first `n` units of a subscription, with a hard timeout. */
async function take(iter: AsyncIterableIterator<WorkUnit>, n: number): Promise<WorkUnit[]> {
  const out: WorkUnit[] = [];
  await withTimeout(
    (async () => {
      for await (const u of iter) {
        out.push(u);
        if (out.length === n) break;
      }
    })(),
    WAIT_MS,
    `${n} units`,
  );
  return out;
}

test('a fork shares its parent history up to the fork seq, diverges after it, and lists as a fork', async () => {
  for (let i = 1; i <= 10; i++) await post('run', parentText(i));
  const r = await http.post('/contexts/run/fork', { seq: 5, id: 'run-whatif', meta: { branch: 'what-if' } });
  assert.equal(r.status, 201, r.text);
  assert.deepEqual(
    [r.json.id, r.json.headSeq, r.json.firstSeq, r.json.forkOf, r.json.lineage, r.json.meta],
    ['run-whatif', 5, 1, { contextId: 'run', seq: 5 }, [{ contextId: 'run', seq: 5 }], { branch: 'what-if' }],
  );
  assert.deepEqual((await http.get('/contexts/run')).json.forks, ['run-whatif']);
  assert.deepEqual(
    (await http.get('/contexts/run/forks')).json.forks.map((c: { id: string }) => c.id),
    ['run-whatif'],
  );

  // Diverge: the fork goes on from 6, the parent from 11.
  for (const t of ['fork step 6', 'try streaming replication instead', 'fork step 8']) await post('run-whatif', t);
  assert.equal((await post('run', 'main step 11')).seq, 11);

  const all = await units('run-whatif');
  assert.deepEqual(where(all), [...range(1, 5).map((s) => `run@${s}`), 'run-whatif@6', 'run-whatif@7', 'run-whatif@8']);
  assert.deepEqual(
    all.slice(0, 5).map((u) => u.payload.text),
    range(1, 5).map(parentText),
  );
  // Newest first, across the fork point, and paged by cursor.
  assert.deepEqual(where(await units('run-whatif', '?reverse=true&limit=4')), ['run-whatif@8', 'run-whatif@7', 'run-whatif@6', 'run@5']);
  const page = await http.get('/workunits/run-whatif?limit=3&after=3');
  assert.deepEqual([where(page.json.workUnits), page.json.nextCursor], [['run@4', 'run@5', 'run-whatif@6'], 6]);
  // By seq, a stretch of the shared part alone.
  assert.deepEqual(where(await units('run-whatif', '?after=1&before=4')), ['run@2', 'run@3']);
  // The context window reads the same history.
  const w = await http.post('/contexts/run-whatif/window', { budget: 100000 });
  assert.equal(w.status, 200, w.text);
  assert.deepEqual(
    w.json.units.map((u: { seq: number; workUnit: Unit }) => `${u.workUnit.contextId}@${u.seq}`),
    where(all),
  );
  // The parent sees none of the fork's units.
  assert.deepEqual(
    where(await units('run')),
    range(1, 11).map((s) => `run@${s}`),
  );
});

test('forks of forks over gRPC and the SDKs: one continuous history through the lineage', async () => {
  const f2 = await grpc.fork('run-whatif', { seq: 7, id: 'run-whatif-2' });
  assert.deepEqual(
    [f2.headSeq, f2.forkOf, f2.lineage],
    [
      7,
      { contextId: 'run-whatif', seq: 7 },
      [
        { contextId: 'run', seq: 5 },
        { contextId: 'run-whatif', seq: 7 },
      ],
    ],
  );
  // A fork of the fork below the fork point reads from the root alone.
  const f3 = await sdk.fork('run-whatif', { seq: 4, id: 'run-whatif-early' });
  assert.deepEqual(f3.lineage, [{ contextId: 'run', seq: 4 }]);
  assert.deepEqual((await sdk.listForks('run-whatif')).map((c) => c.id).sort(), ['run-whatif-2', 'run-whatif-early']);
  assert.deepEqual((await grpc.getContext('run-whatif')).forks?.sort(), ['run-whatif-2', 'run-whatif-early']);

  const w = await sdk.write({ contextId: 'run-whatif-2', agentId: 'critic', type: 'MESSAGE', payload: { text: 'second branch' } });
  assert.equal(w.workUnit.seq, 8);
  const viaGrpc = await grpc.list('run-whatif-2', { limit: 100 });
  assert.deepEqual(where(viaGrpc.workUnits), [...range(1, 5).map((s) => `run@${s}`), 'run-whatif@6', 'run-whatif@7', 'run-whatif-2@8']);
  const lastTwo = await sdk.list('run-whatif-2', { limit: 2, reverse: true });
  assert.deepEqual(where(lastTwo.workUnits), ['run-whatif-2@8', 'run-whatif@7']);
  assert.deepEqual(
    where((await sdk.list('run-whatif-early')).workUnits),
    range(1, 4).map((s) => `run@${s}`),
  );
});

test('streams replay the shared history, then the fork own units, then go live: WebSocket, SSE, gRPC', async () => {
  const ws = new WsClient(`${server.url.replace('http', 'ws')}/stream`);
  await ws.open();
  ws.send({ op: 'subscribe', contextId: 'run-whatif-2', since: 0, ref: 'f' });
  const sse = new SseReader(`${server.url}/stream-sse?context=run-whatif&since=3`);
  const viaGrpc = grpc.subscribe('run-whatif', { since: 0 });
  const viaSdk = sdk.subscribe('run-whatif-2', { since: 6 });

  const wsSeqs = () => ws.frames.filter((f) => f.event === 'workunit').map((f) => f.workUnit.seq as number);
  await ws.until(() => wsSeqs().length >= 8);
  await sse.until(() => sse.seqs().includes(8));
  // Live: one more unit on each fork arrives after the replay, with no gap and no duplicate.
  await post('run-whatif-2', 'live on the second branch');
  await post('run-whatif', 'live on the first branch');
  await ws.until(() => wsSeqs().includes(9));
  await sse.until(() => sse.seqs().includes(9));
  assert.deepEqual(wsSeqs(), range(1, 9));
  assert.deepEqual(
    ws.frames.filter((f) => f.event === 'workunit').map((f) => f.workUnit.contextId),
    ['run', 'run', 'run', 'run', 'run', 'run-whatif', 'run-whatif', 'run-whatif-2', 'run-whatif-2'],
  );
  assert.deepEqual(sse.seqs(), range(4, 9));
  const g = await take(viaGrpc, 9);
  assert.deepEqual(where(g), [...range(1, 5).map((s) => `run@${s}`), ...range(6, 9).map((s) => `run-whatif@${s}`)]);
  const s = await take(viaSdk, 3);
  assert.deepEqual(where(s), ['run-whatif@7', 'run-whatif-2@8', 'run-whatif-2@9']);
  ws.close();
  sse.close();

  // A subscription opened on an id before a fork is made under it gets the shared seqs too, before the fork's first own unit.
  const early = new WsClient(`${server.url.replace('http', 'ws')}/stream?context=run-late`);
  await early.open();
  await early.next((f) => f.event === 'subscribed');
  assert.equal((await http.post('/contexts/run/fork', { seq: 2, id: 'run-late' })).status, 201);
  await post('run-late', 'late own');
  const earlyUnits = () => early.frames.filter((f) => f.event === 'workunit').map((f) => `${f.workUnit.contextId}@${f.workUnit.seq}`);
  await early.until(() => earlyUnits().length >= 3);
  assert.deepEqual(earlyUnits(), ['run@1', 'run@2', 'run-late@3']);
  early.close();
  assert.equal((await http.request('DELETE', '/contexts/run-late')).status, 200);
});

test('search filtered to a fork finds the parent units it shares, not the parent later ones', async () => {
  const r = await http.post('/search', { query: 'logical replication', contextId: 'run-whatif', fresh: true, mode: 'keyword', limit: 10 });
  assert.equal(r.status, 200, r.text);
  const hits = r.json.results.map((h: { workUnit: Unit }) => `${h.workUnit.contextId}@${h.workUnit.seq}`);
  assert.ok(hits.includes('run@3'), `shared unit found: ${hits}`);
  assert.ok(!hits.includes('run@8'), `the parent's unit after the fork point is not: ${hits}`);
  const own = await http.post('/search', { query: 'streaming replication', contextId: 'run-whatif', mode: 'keyword', limit: 10 });
  assert.ok(own.json.results.some((h: { workUnit: Unit }) => h.workUnit.contextId === 'run-whatif' && h.workUnit.seq === 7));
  const parent = await http.post('/search', { query: 'replication', contextId: 'run', mode: 'keyword', limit: 10 });
  const parentHits = parent.json.results.map((h: { workUnit: Unit }) => `${h.workUnit.contextId}@${h.workUnit.seq}`).sort();
  assert.deepEqual(parentHits, ['run@3', 'run@8'], 'the parent does not see the fork units');
});

test('bad forks are refused with stable codes and store nothing', async () => {
  const before = (await http.get('/contexts/run')).json;
  const count = (await http.get('/contexts?limit=100')).json.contexts.length;
  const cases: Array<[string, unknown, number, string]> = [
    ['/contexts/nope/fork', { seq: 1, id: 'bad-1' }, 404, 'CONTEXT_NOT_FOUND'],
    ['/contexts/run/fork', { seq: 99, id: 'bad-2' }, 400, 'FORK_BEYOND_HEAD'],
    ['/contexts/run/fork', { seq: 1, id: 'run-whatif' }, 409, 'CONTEXT_EXISTS'],
    ['/contexts/run/fork', { seq: -1, id: 'bad-3' }, 400, 'INVALID_FIELD'],
    ['/contexts/run/fork', { seq: 1.5, id: 'bad-4' }, 400, 'INVALID_FIELD'],
    ['/contexts/run/fork', { id: 'bad-5' }, 400, 'MISSING_FIELD'],
    ['/contexts/run/fork', { seq: 1, id: 'bad-6', parent: 'x' }, 400, 'UNKNOWN_FIELD'],
    ['/contexts/run/fork', { seq: 1, id: '' }, 400, 'INVALID_ID'],
  ];
  for (const [path, body, status, code] of cases) {
    const r = await http.post(path, body);
    assert.deepEqual([r.status, r.json.error?.code], [status, code], `${path} ${JSON.stringify(body)}: ${r.text}`);
  }
  assert.equal((await http.get('/contexts/run/fork')).status, 405);
  const beyond = await grpc.fork('run', { seq: 500, id: 'bad-7' }).catch((e: unknown) => e);
  assert.ok(beyond instanceof EngramClientError && beyond.code === 'FORK_BEYOND_HEAD', String(beyond));
  assert.equal((await http.get('/contexts?limit=100')).json.contexts.length, count, 'no context was made');
  const afterBad = (await http.get('/contexts/run')).json;
  assert.deepEqual([afterBad.version, afterBad.forks], [before.version, before.forks]);

  // Seq 0 shares nothing (and an id is made up): the fork starts at seq 1.
  const empty = await http.post('/contexts/run/fork', { seq: 0 });
  assert.equal(empty.status, 201, empty.text);
  assert.match(empty.json.id, /^fork-/);
  assert.deepEqual([empty.json.headSeq, empty.json.lineage, (await units(empty.json.id)).length], [0, [], 0]);
  assert.equal((await post(empty.json.id, 'from scratch')).seq, 1);
  assert.equal((await sdk.deleteContext(empty.json.id)).deleted, true);
});

test('deleting: a fork goes alone, a parent with forks is refused unless cascaded; the lineage survives a restart', async () => {
  const refused = await http.request('DELETE', '/contexts/run');
  assert.equal(refused.status, 409, refused.text);
  assert.deepEqual([refused.json.error.code, refused.json.error.details.forks], ['CONTEXT_HAS_FORKS', ['run-whatif']]);
  const viaGrpc = await grpc.deleteContext('run-whatif').catch((e: unknown) => e);
  assert.ok(viaGrpc instanceof EngramClientError && viaGrpc.code === 'CONTEXT_HAS_FORKS', String(viaGrpc));

  // Deleting a fork of a fork leaves its parent and the root whole.
  const d = await grpc.deleteContext('run-whatif-early');
  assert.deepEqual([d.deleted, d.forksDeleted], [true, []]);
  assert.deepEqual((await sdk.getContext('run-whatif')).forks, ['run-whatif-2']);
  assert.equal((await units('run')).length, 11);
  assert.equal((await units('run-whatif')).length, 9);

  // Restart: the lineage is in the durable records.
  disconnect();
  assert.equal(await server.stop(), 0);
  server = await startServer({ dataDir, args });
  connect();
  const f2 = await sdk.getContext('run-whatif-2');
  assert.deepEqual(
    [f2.forkOf, f2.lineage, f2.headSeq],
    [
      { contextId: 'run-whatif', seq: 7 },
      [
        { contextId: 'run', seq: 5 },
        { contextId: 'run-whatif', seq: 7 },
      ],
      9,
    ],
  );
  assert.deepEqual((await sdk.getContext('run')).forks, ['run-whatif']);
  assert.deepEqual(where(await units('run-whatif-2', '?limit=3&after=4')), ['run@5', 'run-whatif@6', 'run-whatif@7']);

  // Cascade: forks of forks first, then the fork, then the context; subscribers of a fork are told.
  const ws = new WsClient(`${server.url.replace('http', 'ws')}/stream?context=run-whatif-2`);
  await ws.open();
  await ws.next((f) => f.event === 'subscribed');
  const gone = await sdk.deleteContext('run', { cascade: true });
  // 11 units of run, 4 of run-whatif (6-9) and 2 of run-whatif-2 (8-9): what a cascade removed counts.
  assert.deepEqual([gone.deleted, gone.units, gone.forksDeleted], [true, 17, ['run-whatif-2', 'run-whatif']]);
  await ws.next((f) => f.event === 'deleted' && f.contextId === 'run-whatif-2');
  for (const id of ['run', 'run-whatif', 'run-whatif-2']) assert.equal((await http.get(`/contexts/${id}`)).status, 404, id);
  ws.close();
});

test('retention: a fork sees what its parent retention left, and its own rule trims only its own units', async () => {
  for (let i = 1; i <= 6; i++) await post('trim/p', `parent ${i}`);
  assert.equal((await http.post('/contexts/trim%2Fp/fork', { seq: 4, id: 'keep/f' })).status, 201);
  assert.equal((await http.post('/contexts/trim%2Fp/fork', { seq: 2, id: 'trim/f2' })).status, 201);
  await post('keep/f', 'fork 5');
  for (let i = 3; i <= 8; i++) await post('trim/f2', `fork ${i}`);
  // A summary the fork shares covers none of what the fork's own trim drops: the report counts nothing.
  for (let i = 1; i <= 2; i++) await post('trim/q', `q ${i}`);
  const s = await http.post('/workunit', { contextId: 'trim/q', agentId: 'a', type: 'SUMMARY', payload: { text: 'q 1-2', covers: { from: 1, to: 2 } } });
  assert.equal(s.status, 201, s.text);
  assert.equal((await http.post('/contexts/trim%2Fq/fork', { seq: 3, id: 'trim/fq' })).status, 201);
  for (let i = 4; i <= 8; i++) await post('trim/fq', `fq ${i}`);
  const sweep = await http.post('/retention/sweep', {});
  assert.equal(sweep.status, 200, sweep.text);
  assert.equal((await http.get('/contexts/trim%2Ffq')).json.firstSeq, 6);
  assert.equal(sweep.json.summarized, 0, 'the shared summary is the parent’s, over seqs the fork does not trim');
  assert.equal((await http.get('/contexts/trim%2Fp')).json.firstSeq, 4);
  // keep/f has no rule: it shared 1..4, and retention on the parent left 4.
  assert.equal((await http.get('/contexts/keep%2Ff')).json.firstSeq, 4);
  assert.deepEqual(where(await units('keep/f')), ['trim/p@4', 'keep/f@5']);
  // trim/f2 keeps its last 3 units, all its own.
  assert.equal((await http.get('/contexts/trim%2Ff2')).json.firstSeq, 6);
  assert.deepEqual(where(await units('trim/f2')), ['trim/f2@6', 'trim/f2@7', 'trim/f2@8']);
  const ws = new WsClient(`${server.url.replace('http', 'ws')}/stream?context=keep%2Ff&since=0`);
  await ws.open();
  const trimmed = await ws.next((f) => f.event === 'trimmed');
  assert.equal(trimmed.firstSeq, 4);
  ws.close();
});
