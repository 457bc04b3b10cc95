/**
 * Authentication and authorization through every interface: API keys and JWTs (HS256 and
 * ES256 from a JWKS file, minted by jose, an implementation independent of the server's),
 * each with good, expired, tampered, wrongly signed and missing credentials over HTTP,
 * WebSocket, SSE and gRPC; scopes, context patterns and acting as another client.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync, createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { SignJWT } from 'jose';
import { EngramGrpc, rejectsWith, StreamReader, unitRequest } from '../helpers/grpc.js';
import { HttpClient, unit } from '../helpers/http.js';
import { removeDir, startServer, tempDir, type RunningServer } from '../helpers/server.js';
import { SseReader } from '../helpers/sse.js';
import { eventually, WAIT_MS } from '../helpers/wait.js';
import { WsClient } from '../helpers/ws.js';

const hash = (key: string) => 'sha256:' + createHash('sha256').update(key).digest('hex');

const KEYS = {
  writer: 'egk_writer-key-0123456789abcdefghijklmnopqrstuvwxyz',
  reader: 'egk_reader-key-0123456789abcdefghijklmnopqrstuvwxyz',
  admin: 'egk_admin-key-0123456789abcdefghijklmnopqrstuvwxyz',
  limited: 'egk_limited-key-0123456789abcdefghijklmnopqrstuvwxyz',
  expired: 'egk_expired-key-0123456789abcdefghijklmnopqrstuvwxyz',
};

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

function meta(headers: Record<string, string>): grpc.Metadata {
  const m = new grpc.Metadata();
  for (const [k, v] of Object.entries(headers)) m.set(k, v);
  return m;
}

interface Env {
  server: RunningServer;
  http: HttpClient;
  grpc: EngramGrpc;
  dir: string;
}

function serverWith(configYaml: (dir: string) => string, args: string[] = []): Env {
  const env = {} as Env;
  before(async () => {
    env.dir = tempDir('engram-auth-');
    writeFileSync(join(env.dir, 'engram.yaml'), configYaml(env.dir));
    // Keyword search only (no embedder to load): enough to check what search lets through.
    env.server = await startServer({ args: ['--config', join(env.dir, 'engram.yaml'), '--search-embedder', 'none', ...args] });
    env.http = new HttpClient(env.server.url);
    env.grpc = new EngramGrpc(env.server.grpcAddr);
  });
  after(async () => {
    env.grpc.close();
    env.http.close();
    assert.equal(await env.server.stop(), 0);
    removeDir(env.server.dataDir);
    removeDir(env.dir);
  });
  return env;
}

const wsUrl = (env: Env, query: string) => `${env.server.url.replace('http', 'ws')}/stream${query}`;

/** Asserts a refusal over HTTP, WebSocket upgrade, SSE and gRPC alike. */
async function refusedEverywhere(env: Env, headers: Record<string, string>, status: number, code: string, grpcStatus: grpc.status): Promise<void> {
  const r = await env.http.post('/workunit', unit('auth-ctx'), headers);
  assert.equal(r.status, status, r.text);
  assert.equal(r.json.error.code, code);
  if (status === 401) assert.match(String(r.headers['www-authenticate']), /^Bearer realm="engram"/);
  const ws = new WsClient(wsUrl(env, '?context=auth-ctx'), undefined, headers);
  await assert.rejects(ws.open(), new RegExp(`upgrade refused: ${status}`));
  const sse = new SseReader(`${env.server.url}/stream-sse?context=auth-ctx`, headers);
  await sse.until(() => sse.ended);
  assert.equal(sse.status, status);
  assert.match(sse.body, new RegExp(code));
  sse.close();
  await rejectsWith(env.grpc.CreateWorkUnit(unitRequest('auth-ctx'), { metadata: meta(headers) }), grpcStatus, code);
  const stream = new StreamReader(env.grpc.Subscribe({ contextId: 'auth-ctx' }, { metadata: meta(headers) }));
  assert.equal((await stream.done()).code, grpcStatus);
}

/** Asserts that the credentials work over all four: a write, a stream that sees it, a read. */
async function acceptedEverywhere(env: Env, headers: Record<string, string>, contextId: string): Promise<void> {
  const ws = new WsClient(wsUrl(env, `?context=${contextId}`), undefined, headers);
  await ws.open();
  await ws.next((f) => f.event === 'subscribed');
  const created = await env.http.post('/workunit', unit(contextId, { payload: { text: 'over http' } }), headers);
  assert.equal(created.status, 201, created.text);
  await ws.untilSeq(contextId, created.json.seq);
  ws.close();
  const sse = new SseReader(`${env.server.url}/stream-sse?context=${contextId}&since=0`, headers);
  await sse.until(() => sse.seqs().includes(created.json.seq));
  sse.close();
  const g = await env.grpc.CreateWorkUnit(unitRequest(contextId), { metadata: meta(headers) });
  assert.equal(g.workUnit.seq, created.json.seq + 1);
  const stream = new StreamReader(env.grpc.Subscribe({ contextId, since: 0 }, { metadata: meta(headers) }));
  await stream.until((m) => m.some((x: { workUnit?: { seq: number } }) => x.workUnit?.seq === g.workUnit.seq), WAIT_MS, 'the gRPC write on the stream');
  stream.stream.cancel();
}

describe('auth.mode apikey', () => {
  const env = serverWith(
    () => `auth:
  mode: apikey
  keys:
    - {client: team-a, hash: "${hash(KEYS.writer)}", scopes: [read, write]}
    - {client: team-a, hash: "${hash(KEYS.reader)}", scopes: [read]}
    - {client: ops, hash: "${hash(KEYS.admin)}", scopes: [read, write, admin]}
    - {client: team-a, hash: "${hash(KEYS.limited)}", scopes: [read, write], contexts: ["agent-1/*"]}
    - {client: team-a, hash: "${hash(KEYS.expired)}", scopes: [read, write], expires: "2020-01-01T00:00:00Z"}
`,
  );

  test('missing, unknown (a tampered key is one), expired and malformed credentials get 401 (gRPC UNAUTHENTICATED) everywhere, and store nothing', async () => {
    await refusedEverywhere(env, {}, 401, 'UNAUTHENTICATED', grpc.status.UNAUTHENTICATED);
    await refusedEverywhere(env, bearer(KEYS.expired), 401, 'UNAUTHENTICATED', grpc.status.UNAUTHENTICATED);
    await refusedEverywhere(env, bearer(KEYS.writer.slice(0, -1) + 'Z'), 401, 'UNAUTHENTICATED', grpc.status.UNAUTHENTICATED);
    assert.match((await env.http.get('/contexts', bearer(KEYS.expired))).json.error.message, /expired/);
    await refusedEverywhere(env, bearer('egk_not-a-key'), 401, 'UNAUTHENTICATED', grpc.status.UNAUTHENTICATED);
    await refusedEverywhere(env, { authorization: 'Basic dXNlcjpwYXNz' }, 401, 'UNAUTHENTICATED', grpc.status.UNAUTHENTICATED);
    const r = await env.http.get('/contexts/auth-ctx', bearer(KEYS.writer));
    assert.equal(r.json.error.code, 'CONTEXT_NOT_FOUND');
  });

  test('a good key works over HTTP, WebSocket, SSE and gRPC (header, X-API-Key and access_token)', async () => {
    await acceptedEverywhere(env, bearer(KEYS.writer), 'key-ok');
    await acceptedEverywhere(env, { 'x-api-key': KEYS.writer }, 'key-ok-2');
    // Browsers cannot set headers on WebSocket and EventSource: the query parameter does it.
    const ws = new WsClient(wsUrl(env, `?context=key-ok&since=0&access_token=${KEYS.reader}`));
    await ws.open();
    await ws.untilSeq('key-ok', 2);
    ws.close();
    const sse = new SseReader(`${env.server.url}/stream-sse?context=key-ok&since=0&access_token=${KEYS.reader}`);
    await sse.until(() => sse.seqs().includes(2));
    sse.close();
  });

  test('health checks need no credentials; metrics, detailed health and search status need admin', async () => {
    assert.equal((await env.http.get('/healthz')).status, 200);
    assert.equal((await env.http.get('/readyz')).status, 200);
    assert.equal((await env.http.get('/metrics')).status, 401);
    assert.equal((await env.http.get('/health/detailed')).status, 401);
    for (const path of ['/metrics', '/health/detailed', '/search/status']) assert.equal((await env.http.get(path, bearer(KEYS.reader))).status, 403, path);
    assert.equal((await env.http.get('/metrics', bearer(KEYS.admin))).status, 200);
    assert.equal((await env.http.get('/health/detailed', bearer(KEYS.admin))).json.clients.authMode, 'apikey');
  });

  test('a read-only key reads but cannot write: 403 FORBIDDEN (gRPC PERMISSION_DENIED)', async () => {
    assert.equal((await env.http.get('/workunits/key-ok', bearer(KEYS.reader))).status, 200);
    const r = await env.http.post('/workunit', unit('key-ok'), bearer(KEYS.reader));
    assert.equal(r.status, 403);
    assert.equal(r.json.error.code, 'FORBIDDEN');
    assert.equal((await env.http.post('/locks', { resource: 'r', agentId: 'a' }, bearer(KEYS.reader))).status, 403);
    assert.equal((await env.http.patch('/contexts/key-ok', { displayName: 'x' }, bearer(KEYS.reader))).status, 403);
    await rejectsWith(env.grpc.CreateWorkUnit(unitRequest('key-ok'), { metadata: meta(bearer(KEYS.reader)) }), grpc.status.PERMISSION_DENIED, 'FORBIDDEN');
    const ws = new WsClient(wsUrl(env, '?context=key-ok'), undefined, bearer(KEYS.reader));
    await ws.open();
    ws.send({ op: 'publish', ref: 1, contextId: 'key-ok', agentId: 'a', type: 'MESSAGE', payload: {} });
    const err = await ws.next((f) => f.event === 'error');
    assert.equal(err.error.code, 'FORBIDDEN');
    ws.close();
    assert.equal((await env.http.get('/contexts/key-ok', bearer(KEYS.writer))).json.headSeq, 2);
  });

  test('memory, facts, graph and /mcp need credentials, and the write scope to change anything', async () => {
    const mcpCall = (name: string, args: unknown, headers: Record<string, string>) =>
      fetch(`${env.server.url}/mcp?space=auth`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name, arguments: args } }),
      });
    const routes: Array<[string, string, unknown?]> = [
      ['post', '/memory/auth/command', { command: 'view', path: '/memories' }],
      ['get', '/memory/auth/tree'],
      ['get', '/facts/auth'],
      ['post', '/facts/auth', { value: 'v' }],
      ['get', '/graph/auth'],
      ['post', '/graph/auth/read_graph', {}],
    ];
    for (const [method, path, body] of routes) {
      const r = method === 'get' ? await env.http.get(path) : await env.http.post(path, body);
      assert.equal(r.status, 401, `${method} ${path}`);
    }
    assert.equal((await mcpCall('list_facts', {}, {})).status, 401);
    // A read-only key reads, and every change is refused (over MCP as a tool error).
    assert.equal((await env.http.get('/facts/auth', bearer(KEYS.reader))).status, 200);
    assert.equal((await env.http.post('/facts/auth', { value: 'v' }, bearer(KEYS.reader))).json.error.code, 'FORBIDDEN');
    assert.equal((await env.http.post('/memory/auth/command', { command: 'create', path: '/memories/x', file_text: 'x' }, bearer(KEYS.reader))).json.error.code, 'FORBIDDEN');
    assert.equal((await env.http.post('/graph/auth/create_entities', { entities: [{ name: 'n', entityType: 't' }] }, bearer(KEYS.reader))).json.error.code, 'FORBIDDEN');
    const refused = (await (await mcpCall('memory', { command: 'create', path: '/memories/x', file_text: 'x' }, bearer(KEYS.reader))).json()) as {
      result: { isError: boolean; content: Array<{ text: string }> };
    };
    assert.equal(refused.result.isError, true);
    assert.match(refused.result.content[0]!.text, /^FORBIDDEN: /);
    const written = (await (await mcpCall('memory', { command: 'create', path: '/memories/x', file_text: 'x' }, bearer(KEYS.writer))).json()) as {
      result: { isError?: boolean; content: Array<{ text: string }> };
    };
    assert.equal(written.result.content[0]!.text, 'File created successfully at: /memories/x');
    // Another client's key does not see it.
    assert.deepEqual((await env.http.get('/memory/auth/tree', bearer(KEYS.admin))).json.files, []);
  });

  test('a key limited to context patterns touches only those', async () => {
    assert.equal((await env.http.post('/workunit', unit('agent-1/notes'), bearer(KEYS.limited))).status, 201);
    const outside = await env.http.post('/workunit', unit('agent-2/notes'), bearer(KEYS.limited));
    assert.equal(outside.status, 403);
    assert.equal(outside.json.error.code, 'FORBIDDEN');
    assert.equal((await env.http.get('/workunits/key-ok', bearer(KEYS.limited))).status, 403);
    const listed = (await env.http.get('/contexts', bearer(KEYS.limited))).json.contexts.map((c: { id: string }) => c.id);
    assert.deepEqual(listed, ['agent-1/notes']);
    await assert.rejects(new WsClient(wsUrl(env, '?context=key-ok'), undefined, bearer(KEYS.limited)).open(), /upgrade refused: 403/);
    // A lock may not name a context outside the patterns (its events would reach that context's subscribers).
    const lock = await env.http.post('/locks', { resource: 'r-limited', agentId: 'a', contextId: 'agent-2/notes' }, bearer(KEYS.limited));
    assert.equal(lock.json.error.code, 'FORBIDDEN');
    // Search sees only the allowed contexts: neither results nor the total tell of the others.
    await env.http.post('/workunit', unit('agent-1/notes', { payload: { text: 'the zebra report' } }), bearer(KEYS.writer));
    await env.http.post('/workunit', unit('agent-9/notes', { payload: { text: 'the zebra secret' } }), bearer(KEYS.writer));
    await eventually(async () => (await env.http.post('/search', { query: 'zebra', mode: 'keyword' }, bearer(KEYS.writer))).json.total === 2, WAIT_MS, 'both indexed');
    const found = (await env.http.post('/search', { query: 'zebra', mode: 'keyword' }, bearer(KEYS.limited))).json;
    assert.deepEqual(
      found.results.map((r: { workUnit: { contextId: string } }) => r.workUnit.contextId),
      ['agent-1/notes'],
    );
    assert.equal(found.total, 1);
    const ws = new WsClient(wsUrl(env, '?context=agent-1/notes'), undefined, bearer(KEYS.limited));
    await ws.open();
    await ws.next((f) => f.event === 'subscribed');
    ws.send({ op: 'subscribe', ref: 'other', contextId: 'key-ok' });
    const err = await ws.next((f) => f.event === 'error' && f.ref === 'other');
    assert.equal(err.error.code, 'FORBIDDEN');
    ws.close();
  });

  test('X-Client-ID cannot switch clients, except for admin credentials', async () => {
    const r = await env.http.get('/contexts', { ...bearer(KEYS.writer), 'x-client-id': 'ops' });
    assert.equal(r.status, 403);
    const asA = await env.http.get('/contexts/key-ok', { ...bearer(KEYS.admin), 'x-client-id': 'team-a' });
    assert.equal(asA.status, 200);
    assert.equal(asA.json.headSeq, 2);
    // The admin's own space does not have team-a's context.
    assert.equal((await env.http.get('/contexts/key-ok', bearer(KEYS.admin))).status, 404);
  });

  test('management needs the admin scope', async () => {
    assert.equal((await env.http.get('/clients/list', bearer(KEYS.writer))).status, 403);
    const list = await env.http.get('/clients/list', bearer(KEYS.admin));
    assert.equal(list.status, 200);
    assert.ok(list.json.clients.some((c: { clientId: string }) => c.clientId === 'team-a'));
  });
});

describe('auth.mode jwt', () => {
  const SECRET = 'a-test-secret-that-is-at-least-32-bytes-long';
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const other = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const env = serverWith((dir) => {
    const jwks = { keys: [{ ...ec.publicKey.export({ format: 'jwk' }), kid: 'k1', use: 'sig', alg: 'ES256' }] };
    writeFileSync(join(dir, 'jwks.json'), JSON.stringify(jwks));
    return `auth:\n  mode: jwt\n  jwtSecret: ${SECRET}\n  jwtKeysFile: ${join(dir, 'jwks.json')}\n  jwtAudience: engram-test\n`;
  });

  const hs = (claims: Record<string, unknown>, expSec = 3600) =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256' })
      .setAudience('engram-test')
      .setIssuedAt()
      .setExpirationTime(Math.floor(Date.now() / 1000) + expSec)
      .sign(new TextEncoder().encode(SECRET));
  const es = (claims: Record<string, unknown>, key = ec.privateKey) =>
    new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: 'k1' }).setAudience('engram-test').setExpirationTime('1h').sign(key);

  test('HS256 and ES256 (JWKS) tokens work over HTTP, WebSocket, SSE and gRPC', async () => {
    await acceptedEverywhere(env, bearer(await hs({ sub: 'team-j', scope: 'read write' })), 'jwt-hs');
    await acceptedEverywhere(env, bearer(await es({ sub: 'team-j', scopes: ['read', 'write'] })), 'jwt-es');
    // Both name the same client, so they see the same data.
    const r = await env.http.get('/contexts/jwt-hs', bearer(await es({ sub: 'team-j', scope: 'read' })));
    assert.equal(r.json.headSeq, 2);
  });

  test('expired, tampered, wrongly signed, unsigned, wrong-audience and malformed tokens get 401 everywhere', async () => {
    const good = await hs({ sub: 'team-j', scope: 'read write' });
    const [h, p, s] = good.split('.') as [string, string, string];
    const tamperedPayload = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p, 'base64url').toString()), sub: 'other' })).toString('base64url');
    const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${p}.`;
    const cases: Array<[string, string]> = [
      ['expired', await hs({ sub: 'team-j', scope: 'read write' }, -3600)],
      ['tampered', `${h}.${tamperedPayload}.${s}`],
      ['wrong key', await es({ sub: 'team-j' }, other.privateKey)],
      ['alg none', none],
      [
        'wrong audience',
        await new SignJWT({ sub: 'team-j' }).setProtectedHeader({ alg: 'HS256' }).setAudience('elsewhere').setExpirationTime('1h').sign(new TextEncoder().encode(SECRET)),
      ],
      ['malformed', 'not.a.jwt'],
      ['two parts', `${h}.${p}`],
    ];
    for (const [what, token] of cases) {
      const r = await env.http.post('/workunit', unit('jwt-bad'), bearer(token));
      assert.equal(r.status, 401, `${what}: ${r.text}`);
      assert.equal(r.json.error.code, 'UNAUTHENTICATED', what);
    }
    await refusedEverywhere(env, bearer(cases[0]![1]), 401, 'UNAUTHENTICATED', grpc.status.UNAUTHENTICATED);
    await refusedEverywhere(env, bearer(cases[1]![1]), 401, 'UNAUTHENTICATED', grpc.status.UNAUTHENTICATED);
    await refusedEverywhere(env, {}, 401, 'UNAUTHENTICATED', grpc.status.UNAUTHENTICATED);
    assert.equal((await env.http.get('/contexts/jwt-bad', bearer(good))).json.error.code, 'CONTEXT_NOT_FOUND');
  });

  test('streams end when their token expires: WebSocket 4401, gRPC UNAUTHENTICATED', async () => {
    // exp a second from now: with the 5 s clock tolerance it is good for 5 to 6 s more, time enough to
    // open both streams on a busy machine (refused at the upgrade, the WebSocket would fail the test).
    const token = await hs({ sub: 'team-j', scope: 'read write' }, 1);
    const ws = new WsClient(wsUrl(env, '?context=jwt-hs'), undefined, bearer(token));
    await ws.open();
    const stream = new StreamReader(env.grpc.Subscribe({ contextId: 'jwt-hs' }, { metadata: meta(bearer(token)) }));
    const closed = await ws.untilClosed();
    assert.equal(closed.code, 4401);
    assert.equal((await stream.done()).code, grpc.status.UNAUTHENTICATED);
  });

  test('missing scope is 403; the contexts claim limits contexts', async () => {
    await refusedEverywhere(env, bearer(await hs({ sub: 'team-j', scope: 'admin' })), 403, 'FORBIDDEN', grpc.status.PERMISSION_DENIED);
    const limited = bearer(await hs({ sub: 'team-j', scope: 'read write', contexts: ['jwt-hs'] }));
    assert.equal((await env.http.get('/contexts/jwt-hs', limited)).status, 200);
    assert.equal((await env.http.get('/contexts/jwt-es', limited)).status, 403);
  });
});
