/**
 * Deleting a context through a real server on real LevelDB: everything of it goes (checked in the
 * LevelDB key space and the search index's saved vectors after the server stops), its subscribers
 * over WebSocket, SSE and gRPC are told and closed, memory state goes with a memory context, and a
 * later write to the id starts a new history in a new epoch, across a restart.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { ClassicLevel } from 'classic-level';
import { unpack } from 'msgpackr';
import { HttpClient, unit } from '../helpers/http.js';
import { EngramGrpc, StreamReader } from '../helpers/grpc.js';
import { removeDir, startServer, tempDir, type RunningServer } from '../helpers/server.js';
import { SseReader } from '../helpers/sse.js';
import { WAIT_MS, eventually } from '../helpers/wait.js';
import { WsClient } from '../helpers/ws.js';

const SEP = '\u0000';
const CLIENT = 'default';

/** Every key and value of a stopped server's LevelDB, as text. */
async function keySpace(dataDir: string): Promise<Array<[string, Buffer]>> {
  const db = new ClassicLevel<string, Buffer>(dataDir, { keyEncoding: 'utf8', valueEncoding: 'buffer' });
  const out: Array<[string, Buffer]> = [];
  try {
    for await (const pair of db.iterator()) out.push(pair as [string, Buffer]);
  } finally {
    await db.close();
  }
  return out;
}

/** The positions in the search index's saved vectors of the default client. */
function savedPositions(dataDir: string): number[] {
  const dir = join(dataDir, 'search');
  if (!existsSync(dir)) return [];
  const out: number[] = [];
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.vectors'))) {
    const data = readFileSync(join(dir, f));
    const nl = data.indexOf(10);
    const header = JSON.parse(data.toString('utf8', 0, nl)) as { count: number };
    const copy = new Uint8Array(data.subarray(nl + 1, nl + 1 + header.count * 8));
    out.push(...new Float64Array(copy.buffer, 0, header.count));
  }
  return out;
}

describe('deleting a context', () => {
  const dataDir = tempDir('engram-delete-');
  let server: RunningServer | undefined;
  let http: HttpClient;
  after(async () => {
    http?.close();
    await server?.stop();
    removeDir(dataDir);
  });
  const start = async () => {
    server = await startServer({ dataDir });
    http = new HttpClient(server.url);
  };
  const stop = async () => {
    http.close();
    assert.equal(await server!.stop(), 0);
    server = undefined;
  };

  const doomedIds: string[] = [];
  let oldEpoch = '';

  test('everything of it goes, its subscribers on every transport are told and closed, and the rest stays', async () => {
    await start();
    for (let i = 1; i <= 6; i++) {
      const r = await http.post('/workunit', unit('doomed', { payload: { text: `zanzibar quokka note ${i}` } }), i === 6 ? { 'idempotency-key': 'the-key' } : {});
      assert.equal(r.status, 201);
      doomedIds.push(r.json.id);
    }
    await http.post('/workunit', unit('doomed/child', { payload: { text: 'zanzibar kept child' } }));
    await http.post('/workunit', unit('kept', { payload: { text: 'zanzibar kept' } }));
    await http.patch('/contexts/doomed', { pinUnits: [doomedIds[0]], meta: { owner: 'planner' } });
    const search = () => http.post('/search', { query: 'quokka', mode: 'keyword', limit: 50 });
    await eventually(async () => (await search()).json.total === 6, WAIT_MS, 'the doomed units searchable');
    // The search index saves its vectors at shutdown: the next start has them on disk.
    await stop();
    await start();

    const ws = new WsClient(`${server!.url.replace('http', 'ws')}/stream?context=doomed&since=0`);
    await ws.open();
    await ws.untilSeq('doomed', 6);
    oldEpoch = ws.frames.find((f) => f.event === 'subscribed')!.epoch;
    ws.send({ op: 'subscribe', contextId: 'kept', since: 0 });
    await ws.untilSeq('kept', 1);
    const sse = new SseReader(`${server!.url}/stream-sse?context=doomed&since=0`);
    const g = new EngramGrpc(server!.grpcAddr);
    const rpc = new StreamReader(g.Subscribe({ contextId: 'doomed', since: 0 }));
    await rpc.until((m) => m.filter((x: { workUnit?: unknown }) => x.workUnit !== undefined).length === 6, WAIT_MS, 'six units over gRPC');
    await eventually(async () => sse.events.filter((e) => e.event === 'workunit').length === 6, WAIT_MS, 'six units over SSE');

    const del = await http.request('DELETE', '/contexts/doomed');
    assert.equal(del.status, 200);
    assert.equal(del.json.contextId, 'doomed');
    assert.equal(del.json.deleted, true);
    assert.equal(del.json.units, 6);
    assert.ok(del.json.bytes > 0);

    // WebSocket: a `deleted` frame ends that subscription; the connection goes on with the other.
    await ws.next((f) => f.event === 'deleted' && f.contextId === 'doomed');
    await http.post('/workunit', unit('kept', { payload: { text: 'after the deletion' } }));
    await ws.untilSeq('kept', 2);
    assert.equal(ws.closed, undefined);
    // SSE: a `deleted` event, then the response ends.
    await eventually(async () => sse.ended, WAIT_MS, 'the SSE response to end');
    assert.deepEqual(JSON.parse(sse.events.at(-1)!.data), { event: 'deleted', contextId: 'doomed' });
    assert.equal(sse.events.at(-1)!.event, 'deleted');
    // gRPC: a `deleted` event, then the call ends with status OK.
    const status = await rpc.done();
    assert.equal(status.code, grpc.status.OK);
    assert.deepEqual(rpc.messages.at(-1).deleted, { contextId: 'doomed' });
    ws.close();
    g.close();
    // Each of them left the server's stream hub (the SSE response ended, the gRPC call ended, the WebSocket closed).
    await eventually(async () => (await http.get('/health/detailed')).json.streams.connections === 0, WAIT_MS, 'no stream connection left');
    // Stopped before any search could rebuild the partition: the saved vectors were written again
    // by the deletion itself, and hold only units that exist.
    await stop();
    const live = new Set((await keySpace(dataDir)).filter(([k]) => k.startsWith(`g${SEP}`)).map(([k]) => parseInt(k.slice(2), 16)));
    assert.equal(live.size, 3);
    const saved = savedPositions(dataDir);
    assert.ok(saved.length > 0, 'the vectors of the units kept are still saved');
    for (const pos of saved) assert.ok(live.has(pos), `saved vector at position ${pos}, which was deleted`);
    await start();

    // Gone through the API.
    assert.equal((await http.get('/contexts/doomed')).json.error.code, 'CONTEXT_NOT_FOUND');
    assert.equal((await http.get('/workunits/doomed')).json.error.code, 'CONTEXT_NOT_FOUND');
    for (const id of doomedIds) assert.equal((await http.get(`/workunit/${id}`)).status, 404);
    assert.deepEqual(
      (await http.get('/contexts')).json.contexts.map((c: { id: string }) => c.id),
      ['doomed/child', 'kept'],
    );
    // Once the restarted index has caught up with the log, the kept units are found and the deleted are not.
    await eventually(async () => (await http.post('/search', { query: 'zanzibar', mode: 'keyword' })).json.total === 2, WAIT_MS, 'the kept units searchable');
    const after = await search();
    assert.equal(after.json.total, 0);
    assert.deepEqual(after.json.results, []);
    // Nothing left to delete; a malformed id is refused.
    assert.equal((await http.request('DELETE', '/contexts/doomed')).json.error.code, 'CONTEXT_NOT_FOUND');
    assert.equal((await http.request('DELETE', `/contexts/${encodeURIComponent('bad\u0001id')}`)).status, 400);
    await stop();

    // The key space: no key names the context or its units, no value mentions them; one tombstone.
    const pairs = await keySpace(dataDir);
    const mentions = (s: string) => s.includes(`${SEP}doomed${SEP}`) || s.endsWith(`${SEP}doomed`) || doomedIds.some((id) => s.includes(id)) || s.includes('quokka');
    const left = pairs.filter(([k, v]) => mentions(k) || mentions(v.toString('latin1')));
    assert.deepEqual(
      left.map(([k]) => k),
      [`d${SEP}${CLIENT}${SEP}doomed`],
    );
    // The kept contexts are whole.
    assert.ok(pairs.some(([k]) => k === `c${SEP}${CLIENT}${SEP}kept`));
    assert.equal(pairs.filter(([k]) => k.startsWith(`u${SEP}${CLIENT}${SEP}doomed/child${SEP}`)).length, 1);
    // The search index's saved vectors hold only units that exist.
    const kept = new Set(pairs.filter(([k]) => k.startsWith(`g${SEP}`)).map(([k]) => parseInt(k.slice(2), 16)));
    assert.equal(kept.size, 3);
    for (const pos of savedPositions(dataDir)) assert.ok(kept.has(pos), `saved vector at position ${pos}, which was deleted`);
    // The idempotency key went with it: its expiry index too.
    assert.equal(pairs.filter(([k]) => k.startsWith(`x${SEP}`) || k.startsWith(`k${SEP}`)).length, 0);
    assert.ok(pairs.every(([k, v]) => !k.startsWith(`g${SEP}`) || (unpack(v) as string[])[1] !== 'doomed'));
  });

  test('a later write to the id starts a new history: seq 1, the key is new, and streams name a new epoch', async () => {
    await start();
    const again = await http.post('/workunit', unit('doomed', { payload: { text: 'a new beginning' } }), { 'idempotency-key': 'the-key' });
    assert.equal(again.status, 201, 'the old idempotency key does not replay a deleted unit');
    assert.equal(again.json.seq, 1);
    const ctx = (await http.get('/contexts/doomed')).json;
    assert.deepEqual([ctx.headSeq, ctx.pinnedUnits, ctx.meta], [1, [], {}]);
    // Resuming with the old history's epoch is refused; a fresh subscription names another epoch.
    const stale = new WsClient(`${server!.url.replace('http', 'ws')}/stream`);
    await stale.open();
    stale.send({ op: 'subscribe', contextId: 'doomed', since: 1, epoch: oldEpoch });
    const refused = await stale.next((f) => f.event === 'error');
    assert.equal(refused.error.code, 'EPOCH_MISMATCH');
    stale.send({ op: 'subscribe', contextId: 'doomed', since: 0 });
    const fresh = await stale.next((f) => f.event === 'subscribed' && f.contextId === 'doomed');
    assert.notEqual(fresh.epoch, oldEpoch);
    assert.ok(fresh.epoch.startsWith(oldEpoch), 'the log is the same; the context has a new incarnation');
    await stale.untilSeq('doomed', 1);
    stale.close();
    // The other contexts kept their epoch.
    const kept = new WsClient(`${server!.url.replace('http', 'ws')}/stream?context=kept&since=0&epoch=${oldEpoch}`);
    await kept.open();
    await kept.untilSeq('kept', 2);
    kept.close();
  });

  test('deleting a memory space’s context empties the memory; gRPC deletes too', async () => {
    const put = await http.post('/memory/notes/command', { command: 'create', path: '/memories/plan.md', file_text: 'quokka plan' });
    assert.equal(put.json.isError, false);
    const g = new EngramGrpc(server!.grpcAddr);
    const d = await g.call('DeleteContext', { contextId: 'memories/notes' });
    assert.deepEqual(d, { contextId: 'memories/notes', units: 1, bytes: d.bytes, forksDeleted: [] });
    const view = await http.post('/memory/notes/command', { command: 'view', path: '/memories/plan.md' });
    assert.equal(view.json.isError, true, 'the file is gone with its context');
    const err = await g.call('DeleteContext', { contextId: 'memories/notes' }).catch((e: grpc.ServiceError) => e);
    assert.equal((err as grpc.ServiceError).code, grpc.status.NOT_FOUND);
    // A new file in the space starts from nothing.
    await http.post('/memory/notes/command', { command: 'create', path: '/memories/other.md', file_text: 'x' });
    const listing = await http.post('/memory/notes/command', { command: 'view', path: '/memories' });
    assert.doesNotMatch(listing.json.result, /plan\.md/);
    g.close();
  });
});

describe('erasing a client', () => {
  const dataDir = tempDir('engram-erase-');
  let server: RunningServer | undefined;
  after(async () => {
    await server?.stop();
    removeDir(dataDir);
  });
  const A = { 'x-client-id': 'team-a' };
  const B = { 'x-client-id': 'team-b' };

  test('removes every context, lock and memory of the client, reports it, is safe to re-run, and leaves the others whole', async () => {
    server = await startServer({ dataDir });
    const http = new HttpClient(server.url);
    for (const h of [A, B]) {
      for (const ctx of ['plan', 'plan/sub', 'notes']) {
        for (let i = 0; i < 3; i++)
          assert.equal((await http.post('/workunit', unit(ctx, { payload: { text: `wombat ${ctx} ${i}` } }), { ...h, 'idempotency-key': `${ctx}-${i}` })).status, 201);
      }
      assert.equal((await http.post('/memory/mem/command', { command: 'create', path: '/memories/a.md', file_text: 'wombat memory' }, h)).json.isError, false);
      assert.equal((await http.post('/locks', { resource: 'file:x', agentId: 'coder', ttlMs: 600_000 }, h)).status, 200);
    }
    await eventually(async () => (await http.post('/search', { query: 'wombat', mode: 'keyword', limit: 50 }, A)).json.total === 10, WAIT_MS, "team-a's units searchable");
    const followA = new WsClient(`${server.url.replace('http', 'ws')}/stream?context=plan&since=0`, undefined, A);
    await followA.open();
    await followA.untilSeq('plan', 3);

    const erased = await http.request('DELETE', '/clients/team-a');
    assert.equal(erased.status, 200, erased.text);
    assert.deepEqual({ ...erased.json, bytes: 0 }, { clientId: 'team-a', contexts: 4, units: 10, bytes: 0, locks: 1 });
    assert.ok(erased.json.bytes > 0);
    await followA.next((f) => f.event === 'deleted' && f.contextId === 'plan');
    followA.close();
    // Again: nothing left.
    assert.deepEqual((await http.request('DELETE', '/clients/team-a')).json, { clientId: 'team-a', contexts: 0, units: 0, bytes: 0, locks: 0 });
    assert.deepEqual((await http.get('/contexts', A)).json.contexts, []);
    assert.equal((await http.get('/locks/file%3Ax', A)).json.error.code, 'LOCK_NOT_HELD');
    assert.equal((await http.post('/search', { query: 'wombat', mode: 'keyword' }, A)).json.total, 0);
    assert.equal((await http.post('/memory/mem/command', { command: 'view', path: '/memories/a.md' }, A)).json.isError, true);
    const status = (await http.get('/clients/status/team-a')).json;
    assert.deepEqual([status.contexts, status.unitsWritten, status.locksHeld], [0, 0, 0]);
    // The other client is whole.
    assert.equal((await http.get('/contexts', B)).json.contexts.length, 4);
    assert.equal((await http.post('/search', { query: 'wombat', mode: 'keyword', limit: 50 }, B)).json.total, 10);
    assert.equal((await http.get('/locks/file%3Ax', B)).json.agentId, 'coder');
    // Bad ids; only an admin may erase (auth is off here, so the refusal is tested in docs of auth).
    assert.equal((await http.request('DELETE', '/clients/%20bad')).json.error.code, 'INVALID_CLIENT_ID');
    http.close();
    assert.equal(await server.stop(), 0);
    server = undefined;
    const pairs = await keySpace(dataDir);
    const ofA = pairs.filter(([k, v]) => k.includes(`${SEP}team-a${SEP}`) || v.toString('latin1').includes('team-a'));
    // Only the tombstones stay, each an id and a random incarnation: a stream position of the erased history is never resumed into a new one.
    assert.deepEqual(ofA.map(([k]) => k.split(SEP)[0]).sort(), ['d', 'd', 'd', 'd']);
    assert.ok(pairs.filter(([k]) => k.includes(`${SEP}team-b${SEP}`)).length > 30);
    assert.ok(!existsSync(join(dataDir, 'search', `${Buffer.from('team-a').toString('base64url')}.vectors`)), "team-a's saved vectors are gone");
  });
});
