import assert from 'node:assert/strict';
import { test } from 'node:test';
import { unit } from '../helpers/http.js';
import { serverPerFile } from '../helpers/server.js';

const env = serverPerFile();

test('a context exists after its first unit, with the writer as an agent', async () => {
  const u = await env.http.post('/workunit', unit('born-by-unit', { agentId: 'coder' }));
  const r = await env.http.get('/contexts/born-by-unit');
  assert.equal(r.status, 200);
  assert.equal(r.headers.etag, '"1"');
  assert.deepEqual(
    { ...r.json, createdAt: undefined, updatedAt: undefined },
    {
      id: 'born-by-unit',
      displayName: 'born-by-unit',
      agentIds: ['coder'],
      pinnedUnits: [],
      meta: {},
      version: 1,
      headSeq: 1,
      firstSeq: 1,
      createdAt: undefined,
      updatedAt: undefined,
    },
  );
  assert.equal(r.json.createdAt, u.json.ts);
});

test('a context exists after its first PATCH; PATCH merges meta and manages agents and pins', async () => {
  const created = await env.http.patch('/contexts/born-by-patch', { displayName: 'Design review', meta: { owner: 'ana', stage: 'draft' }, addAgents: ['ana', 'bo'] });
  assert.equal(created.status, 200, created.text);
  assert.deepEqual([created.json.version, created.json.headSeq, created.json.agentIds], [1, 0, ['ana', 'bo']]);
  const u1 = await env.http.post('/workunit', unit('born-by-patch', { agentId: 'ana' }));
  const u2 = await env.http.post('/workunit', unit('born-by-patch', { agentId: 'ana' }));
  const patched = await env.http.patch('/contexts/born-by-patch', { meta: { stage: 'final', owner: null }, removeAgents: ['bo'], pinUnits: [u1.json.id, u2.json.id] });
  assert.equal(patched.status, 200, patched.text);
  assert.deepEqual(patched.json.meta, { stage: 'final' });
  assert.deepEqual(patched.json.agentIds, ['ana']);
  assert.deepEqual(patched.json.pinnedUnits, [u1.json.id, u2.json.id]);
  assert.equal(patched.json.version, 2);
  assert.equal(patched.json.headSeq, 2);
  assert.equal(patched.headers.etag, '"2"');
  const unpinned = await env.http.patch('/contexts/born-by-patch', { unpinUnits: [u1.json.id] });
  assert.deepEqual(unpinned.json.pinnedUnits, [u2.json.id]);
  const elsewhere = await env.http.post('/workunit', unit('other-ctx'));
  const bad = await env.http.patch('/contexts/born-by-patch', { pinUnits: [elsewhere.json.id] });
  assert.equal(bad.status, 400);
  assert.equal(bad.json.error.code, 'UNIT_NOT_IN_CONTEXT');
});

test('If-Match: the current version applies, a stale one is 412 and changes nothing', async () => {
  const v1 = await env.http.patch('/contexts/guarded', { displayName: 'one' });
  const ok = await env.http.patch('/contexts/guarded', { displayName: 'two' }, { 'If-Match': `"${v1.json.version}"` });
  assert.equal(ok.status, 200);
  const stale = await env.http.patch('/contexts/guarded', { displayName: 'three' }, { 'If-Match': `"${v1.json.version}"` });
  assert.equal(stale.status, 412);
  assert.equal(stale.json.error.code, 'VERSION_MISMATCH');
  assert.equal((await env.http.get('/contexts/guarded')).json.displayName, 'two');
  const star = await env.http.patch('/contexts/guarded', { displayName: 'four' }, { 'If-Match': '*' });
  assert.equal(star.status, 200);
  const missing = await env.http.patch('/contexts/not-there', { displayName: 'x' }, { 'If-Match': '*' });
  assert.equal(missing.status, 412);
  assert.equal((await env.http.get('/contexts/not-there')).status, 404);
  const garbage = await env.http.patch('/contexts/guarded', { displayName: 'x' }, { 'If-Match': 'yesterday' });
  assert.equal(garbage.status, 400);
});

test('GET /contexts pages in id order with a cursor and filters by prefix', async () => {
  for (const id of ['list/c', 'list/a', 'list/b', 'list/d', 'list/e']) await env.http.post('/workunit', unit(id));
  const p1 = await env.http.get(`/contexts?limit=2&prefix=${encodeURIComponent('list/')}`);
  assert.deepEqual(
    p1.json.contexts.map((c: { id: string }) => c.id),
    ['list/a', 'list/b'],
  );
  assert.equal(p1.json.nextCursor, 'list/b');
  const p2 = await env.http.get(`/contexts?limit=2&prefix=list%2F&after=${encodeURIComponent(p1.json.nextCursor)}`);
  assert.deepEqual(
    p2.json.contexts.map((c: { id: string }) => c.id),
    ['list/c', 'list/d'],
  );
  const p3 = await env.http.get(`/contexts?limit=2&prefix=list%2F&after=${encodeURIComponent(p2.json.nextCursor)}`);
  assert.deepEqual([p3.json.contexts.map((c: { id: string }) => c.id), p3.json.nextCursor], [['list/e'], null]);
  const all = await env.http.get('/contexts?limit=1000');
  assert.ok(all.json.contexts.length >= 8);
  assert.equal((await env.http.get('/contexts?limit=0')).json.error.code, 'INVALID_QUERY');
});

test('context ids with slashes and spaces work percent-encoded in paths', async () => {
  const id = 'team a/plan #1?';
  await env.http.post('/workunit', unit(id));
  const r = await env.http.get(`/contexts/${encodeURIComponent(id)}`);
  assert.equal(r.status, 200);
  assert.equal(r.json.id, id);
  assert.equal((await env.http.get(`/workunits/${encodeURIComponent(id)}`)).json.workUnits.length, 1);
});

test('health and readiness', async () => {
  assert.deepEqual((await env.http.get('/healthz')).json, { status: 'ok' });
  assert.deepEqual((await env.http.get('/readyz')).json, { status: 'ready' });
});
