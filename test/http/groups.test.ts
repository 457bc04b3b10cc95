/**
 * Shared spaces: group team-a shares contexts (and lock resources) matching shared/* between
 * alice (read-write) and bob (read-only); carol is no member. Every interface honours it.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { grpcServerPerFile, rejectsWith, unitRequest } from '../helpers/grpc.js';
import { unit, type HttpResult } from '../helpers/http.js';
import { removeDir, tempDir } from '../helpers/server.js';
import { SseReader } from '../helpers/sse.js';
import { eventually, WAIT_MS } from '../helpers/wait.js';
import { WsClient } from '../helpers/ws.js';

const dir = tempDir('engram-groups-');
writeFileSync(
  join(dir, 'engram.yaml'),
  `clients:
  groups:
    team-a:
      contexts: ["shared/*"]
      members: {alice: write, bob: read, dave: write}
    stars:
      contexts: ["*-*-*-*-*.log"]
      members: {alice: write}
`,
);
const env = grpcServerPerFile({ args: ['--config', join(dir, 'engram.yaml')] });
after(() => removeDir(dir));
const alice = { 'x-client-id': 'alice' };
const bob = { 'x-client-id': 'bob' };
const carol = { 'x-client-id': 'carol' };
const dave = { 'x-client-id': 'dave' };
const wsUrl = (query: string) => `${env.server.url.replace('http', 'ws')}/stream${query}`;
const texts = (r: HttpResult) => r.json.workUnits.map((u: { payload: { text: string } }) => u.payload.text);

function meta(clientId: string): grpc.Metadata {
  const m = new grpc.Metadata();
  m.set('x-client-id', clientId);
  return m;
}

describe('a group shares its contexts with its members', () => {
  let planId = '';

  test('a read-write member writes; a read-only member reads; a non-member has its own space', async () => {
    const a = await env.http.post('/workunit', unit('shared/plan', { payload: { text: 'the zebra migration plan' } }), alice);
    assert.equal(a.status, 201, a.text);
    planId = a.json.id;
    await env.http.post('/workunit', unit('mine', { payload: { text: 'alice private' } }), alice);

    assert.deepEqual(texts(await env.http.get('/workunits/shared%2Fplan', bob)), ['the zebra migration plan']);
    assert.equal((await env.http.get(`/workunit/${planId}`, bob)).json.payload.text, 'the zebra migration plan');
    // Bob lists the shared context but not alice's own.
    const bobs = (await env.http.get('/contexts', bob)).json.contexts.map((c: { id: string }) => c.id);
    assert.deepEqual(bobs, ['shared/plan']);
    const alices = (await env.http.get('/contexts', alice)).json.contexts.map((c: { id: string }) => c.id);
    assert.deepEqual(alices, ['mine', 'shared/plan']);

    // Carol is no member: the same name is a context of her own, and alice's unit id is nothing to her.
    assert.equal((await env.http.get('/workunits/shared%2Fplan', carol)).json.error.code, 'CONTEXT_NOT_FOUND');
    assert.equal((await env.http.get(`/workunit/${planId}`, carol)).status, 404);
    const c = await env.http.post('/workunit', unit('shared/plan', { payload: { text: 'carol alone' } }), carol);
    assert.equal(c.json.seq, 1);
    assert.deepEqual(texts(await env.http.get('/workunits/shared%2Fplan', alice)), ['the zebra migration plan']);
  });

  test('a fork of a shared context lives in the group space; a read-only member may not fork', async () => {
    const f = await env.http.post('/contexts/shared%2Fplan/fork', { seq: 1 }, alice);
    assert.equal(f.status, 201, f.text);
    assert.match(f.json.id, /^shared\/plan\/fork-/, 'the made-up id maps to the group space');
    assert.deepEqual(texts(await env.http.get(`/workunits/${encodeURIComponent(f.json.id)}`, bob)), ['the zebra migration plan']);
    const outside = await env.http.post('/contexts/shared%2Fplan/fork', { seq: 1, id: 'alice-own' }, alice);
    assert.deepEqual([outside.status, outside.json.error.code], [400, 'INVALID_FIELD']);
    assert.equal((await env.http.post('/contexts/shared%2Fplan/fork', { seq: 1, id: 'shared/bobs' }, bob)).status, 403);
    assert.deepEqual((await env.http.request('DELETE', `/contexts/${encodeURIComponent(f.json.id)}`, { headers: alice })).json.deleted, true);
  });

  test('read-only is enforced on every write path', async () => {
    const post = await env.http.post('/workunit', unit('shared/plan'), bob);
    assert.equal(post.status, 403);
    assert.equal(post.json.error.code, 'FORBIDDEN');
    assert.match(post.json.error.message, /read-only member of group "team-a"/);
    assert.equal((await env.http.patch('/contexts/shared%2Fplan', { displayName: 'bob was here' }, bob)).status, 403);
    assert.equal((await env.http.post('/locks', { resource: 'shared/doc', agentId: 'b' }, bob)).status, 403);
    await rejectsWith(env.grpc.CreateWorkUnit(unitRequest('shared/plan'), { metadata: meta('bob') }), grpc.status.PERMISSION_DENIED, 'FORBIDDEN');
    const ws = new WsClient(wsUrl('?context=shared/plan'), undefined, bob);
    await ws.open();
    await ws.next((f) => f.event === 'subscribed');
    ws.send({ op: 'publish', ref: 'p', contextId: 'shared/plan', agentId: 'b', type: 'MESSAGE', payload: {} });
    assert.equal((await ws.next((f) => f.event === 'error' && f.ref === 'p')).error.code, 'FORBIDDEN');
    ws.close();
    // Bob's own contexts outside the pattern are his to write.
    assert.equal((await env.http.post('/workunit', unit('bob-notes'), bob)).status, 201);
    assert.equal((await env.http.get('/contexts/shared%2Fplan', alice)).json.headSeq, 1);
  });

  test('members see shared units live over WebSocket, SSE and gRPC; a non-member does not', async () => {
    const wsBob = new WsClient(wsUrl('?context=shared/plan'), undefined, bob);
    const wsCarol = new WsClient(wsUrl('?context=shared/plan'), undefined, carol);
    await Promise.all([wsBob.open(), wsCarol.open()]);
    await Promise.all([wsBob.next((f) => f.event === 'subscribed'), wsCarol.next((f) => f.event === 'subscribed')]);
    const sse = new SseReader(`${env.server.url}/stream-sse?context=shared/plan&since=0`, bob);
    const written = await env.http.post('/workunit', unit('shared/plan', { payload: { text: 'step two' } }), alice);
    await wsBob.untilSeq('shared/plan', written.json.seq);
    await sse.until(() => sse.seqs().includes(written.json.seq));
    const listed = await env.grpc.ListWorkUnits({ contextId: 'shared/plan' }, { metadata: meta('bob') });
    assert.deepEqual(
      listed.workUnits.map((u: { seq: number }) => u.seq),
      [1, 2],
    );
    // Carol's subscription is to her own context: a write of hers arrives, alice's never did.
    await env.http.post('/workunit', unit('shared/plan', { payload: { text: 'carol again' } }), carol);
    await wsCarol.untilSeq('shared/plan', 2);
    const carolTexts = wsCarol.frames.filter((f) => f.event === 'workunit').map((f) => f.workUnit.payload.text);
    assert.deepEqual(carolTexts, ['carol again']);
    wsBob.close();
    wsCarol.close();
    sse.close();
  });

  test('shared lock resources: a member sees the holder, a read-only member cannot take it, a non-member has its own', async () => {
    const lock = await env.http.post('/locks', { resource: 'shared/doc', agentId: 'alice-agent', ttlMs: 60_000 }, alice);
    assert.equal(lock.status, 200, lock.text);
    const seen = (await env.http.get('/locks/shared%2Fdoc', bob)).json;
    assert.equal(seen.agentId, 'alice-agent');
    assert.equal(seen.lockId, undefined, "another member does not get the holder's lockId");
    assert.ok((await env.http.get('/locks', bob)).json.locks.some((l: { resource: string }) => l.resource === 'shared/doc'));
    assert.equal((await env.http.get('/locks/shared%2Fdoc', carol)).json.error.code, 'LOCK_NOT_HELD');
    const bobLocks = new WsClient(wsUrl('?locks=1'), undefined, bob);
    await bobLocks.open();
    await bobLocks.next((f) => f.event === 'subscribed' && f.locks === true);
    await env.http.request('DELETE', `/locks/shared%2Fdoc?agentId=alice-agent&lockId=${lock.json.lockId}`, { headers: alice });
    const released = await bobLocks.next((f) => f.event === 'lock' && f.lock?.resource === 'shared/doc');
    assert.equal(released.action, 'released');
    bobLocks.close();
  });

  test("one member cannot release, renew, take over or fence with another member's lock, nor see its lockId and token", async () => {
    const lock = await env.http.post('/locks', { resource: 'shared/spec', agentId: 'writer', ttlMs: 60_000 }, alice);
    assert.equal(lock.status, 200, lock.text);
    const { lockId, token } = lock.json;
    assert.equal(typeof lockId, 'string');
    // Dave sees who holds it, not the holder's proof.
    const seen = (await env.http.get('/locks/shared%2Fspec', dave)).json;
    assert.equal(seen.agentId, 'writer');
    assert.equal(seen.lockId, undefined);
    assert.equal(seen.token, undefined);
    assert.ok(!(await env.http.get('/locks', dave)).text.includes(lockId));
    assert.equal((await env.http.get('/locks/shared%2Fspec', alice)).json.lockId, lockId);
    // Even knowing them (a guessed token, a leaked lockId), he cannot use them.
    const release = await env.http.request('DELETE', `/locks/shared%2Fspec?agentId=writer&lockId=${lockId}`, { headers: dave });
    assert.equal(release.json.error.code, 'NOT_LOCK_HOLDER');
    const renew = await env.http.post('/locks/shared%2Fspec/renew', { agentId: 'writer', lockId, ttlMs: 60_000 }, dave);
    assert.equal(renew.json.error.code, 'NOT_LOCK_HOLDER');
    const takeover = await env.http.post('/locks', { resource: 'shared/spec', agentId: 'writer', ttlMs: 60_000 }, dave);
    assert.equal(takeover.json.error.code, 'LOCK_HELD');
    const fenced = await env.http.post('/workunit', unit('shared/plan', { fence: { resource: 'shared/spec', token } }), dave);
    assert.equal(fenced.json.error.code, 'FENCE_REJECTED');
    // The holder's own fenced write goes through.
    assert.equal((await env.http.post('/workunit', unit('shared/plan', { fence: { resource: 'shared/spec', token } }), alice)).status, 201);
    assert.equal((await env.http.get('/locks/shared%2Fspec', alice)).json.lockId, lockId);
  });

  test('group patterns with many stars meet huge ids safely: the id is refused before any matching', async () => {
    const huge = '-'.repeat(200_000) + 'x';
    const r = await env.http.post('/workunit', unit(huge), alice);
    assert.equal(r.status, 400);
    assert.equal(r.json.error.code, 'INVALID_ID');
    const lock = await env.http.post('/locks', { resource: huge, agentId: 'a' }, alice);
    assert.equal(lock.json.error.code, 'INVALID_FIELD');
    // A matching id lives in the group's space.
    assert.equal((await env.http.post('/workunit', unit('a-b-c-d-e.log'), alice)).status, 201);
    assert.equal((await env.http.get('/contexts/a-b-c-d-e.log', alice)).json.headSeq, 1);
    assert.equal((await env.http.get('/contexts/a-b-c-d-e.log', bob)).status, 404);
  });

  test('search covers the shared space for members only', async () => {
    await eventually(
      async () => (await env.http.post('/search', { query: 'zebra migration', mode: 'keyword' }, bob)).json.results.length > 0,
      WAIT_MS,
      'bob finds the shared unit',
    );
    const found = (await env.http.post('/search', { query: 'zebra migration', mode: 'keyword' }, bob)).json.results;
    assert.equal(found[0].workUnit.id, planId);
    const forCarol = (await env.http.post('/search', { query: 'zebra migration', mode: 'keyword' }, carol)).json.results;
    assert.ok(!forCarol.some((r: { workUnit: { id: string } }) => r.workUnit.id === planId));
    const scoped = (await env.http.post('/search', { query: 'zebra', contextId: 'shared/plan' }, bob)).json.results;
    assert.equal(scoped[0]?.workUnit.id, planId);
  });
});
