/**
 * The SDK covers every HTTP route a client may call. Each route of the server's GET /openapi.json
 * is either mapped here to the EngramClient methods that call it, or on a commented list of
 * routes the SDK leaves to other tools: a new route with neither fails the first test. The
 * second test calls every mapped method against a real server and records the requests each
 * one made (a wrapped `fetch`), so the map cannot claim a route a method does not call; it also
 * drives the methods added for issue 23 (createContext, the memory views, the graph, the
 * `/clients/*` reads and the other admin routes) and checks what they answer. The last test
 * runs the admin methods with auth on: an admin key may, a client's own key may not.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { EngramClient, EngramClientError } from '../../src/client/index.js';
import { removeDir, startServer, tempDir, type RunningServer } from '../helpers/server.js';
import { eventually, WAIT_MS } from '../helpers/wait.js';

type Method = { [K in keyof EngramClient]: EngramClient[K] extends (...a: never[]) => unknown ? K : never }[keyof EngramClient];

/** Route (as /openapi.json names it) → the SDK methods that call it. */
const COVERED: Record<string, Method[]> = {
  'GET /stream': ['subscribe'],
  'POST /workunit': ['write'],
  'GET /workunit/{id}': ['get'],
  'GET /workunits/{contextId}': ['list'],
  'GET /contexts': ['listContexts'],
  'GET /contexts/{id}': ['getContext'],
  'PATCH /contexts/{id}': ['createContext', 'updateContext'],
  'DELETE /contexts/{id}': ['deleteContext'],
  'GET /contexts/{id}/presence': ['presence'],
  'POST /contexts/{id}/window': ['window'],
  'POST /contexts/{id}/summarize': ['summarize'],
  'POST /contexts/{id}/fork': ['fork'],
  'GET /contexts/{id}/forks': ['listForks'],
  'POST /locks': ['acquire', 'acquireAll', 'withLock'],
  'GET /locks': ['listLocks'],
  'GET /locks/{resource}': ['getLock'],
  'DELETE /locks/{resource}': ['release', 'withLock'],
  'POST /locks/{resource}/renew': ['renew'],
  'POST /search': ['search'],
  'GET /search/status': ['searchStatus'],
  'GET /clients/list': ['listClients'],
  'GET /clients/status/{clientId}': ['clientStatus'],
  'DELETE /clients/{clientId}': ['eraseClient'],
  'POST /clients/cleanup': ['cleanupClients'],
  'POST /retention/sweep': ['sweepRetention'],
  'POST /memory/{space}/command': ['memory'],
  'GET /memory/{space}/tree': ['memoryTree'],
  'GET /memory/{space}/file': ['memoryFile'],
  'GET /memory/{space}/history': ['memoryHistory'],
  'POST /memory/{space}/process-turn': ['processTurn'],
  'POST /memory/{space}/query': ['queryMemory'],
  'GET /facts/{space}': ['facts'],
  'POST /facts/{space}': ['remember'],
  'POST /facts/{space}/forget': ['forget'],
  'GET /facts/{space}/fact': ['fact'],
  'POST /facts/{space}/recall': ['recall'],
  'GET /graph/{space}': ['readGraph'],
  'POST /graph/{space}/{tool}': ['graph'],
  'GET /health/detailed': ['healthDetailed'],
  'POST /contexts/{id}/approvals': ['requestApproval'],
  'GET /contexts/{id}/approvals/{requestId}': ['getApproval', 'waitForApproval'],
  'POST /contexts/{id}/approvals/{requestId}/decision': ['decideApproval'],
  'GET /approvals': ['approvals'],
};

/** Routes the SDK leaves out on purpose, and why. */
const EXCLUDED: Record<string, string> = {
  // The same stream as /stream, for curl and browsers (EventSource); the SDK streams over WebSocket.
  'GET /stream-sse': 'SSE',
  // Probes for load balancers and supervisors, without credentials.
  'GET /healthz': 'probe',
  'GET /health': 'probe',
  'GET /readyz': 'probe',
  // The Model Context Protocol: MCP clients speak it (`engram mcp`, or any MCP SDK).
  'POST /mcp': 'MCP',
  // Prometheus text, for a scraper.
  'GET /metrics': 'metrics',
  // An NDJSON stream of the whole log, for `engram backup` (docs/reliability.md).
  'GET /admin/backup': 'backup',
  // The dashboard's page and files, for a browser.
  'GET /': 'dashboard',
  'GET /dashboard/{file}': 'dashboard',
  // The API's description and the page that renders it.
  'GET /openapi.json': 'document',
  'GET /docs': 'document',
  'GET /redoc': 'document',
};

const hash = (key: string) => 'sha256:' + createHash('sha256').update(key).digest('hex');

let server: RunningServer;
let configDir: string;
let documented: string[];
before(async () => {
  configDir = tempDir('engram-sdk-routes-');
  // A retention policy for sweepRetention to apply; the periodic sweep is far off, so only the call trims.
  writeFileSync(join(configDir, 'engram.yaml'), 'retention:\n  interval: 24h\n  policies:\n    - {contexts: ["trim/*"], maxUnits: 2}\n');
  server = await startServer({ args: ['--config', join(configDir, 'engram.yaml')] });
  const doc = (await (await fetch(`${server.url}/openapi.json`)).json()) as { paths: Record<string, Record<string, unknown>> };
  documented = Object.entries(doc.paths).flatMap(([path, methods]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${path}`));
});
after(async () => {
  await server.stop();
  removeDir(server.dataDir);
  removeDir(configDir);
});

test('every route of /openapi.json is called by an SDK method or excluded with a reason, and the lists name no other route', () => {
  const neither = documented.filter((r) => COVERED[r] === undefined && EXCLUDED[r] === undefined);
  assert.deepEqual(neither, [], 'routes with no SDK method: add one to EngramClient and to COVERED, or say in EXCLUDED why not');
  const both = documented.filter((r) => COVERED[r] !== undefined && EXCLUDED[r] !== undefined);
  assert.deepEqual(both, []);
  const stale = [...Object.keys(COVERED), ...Object.keys(EXCLUDED)].filter((r) => !documented.includes(r));
  assert.deepEqual(stale, [], 'listed routes the server does not serve');
  for (const [route, methods] of Object.entries(COVERED)) {
    for (const m of methods) assert.equal(typeof EngramClient.prototype[m], 'function', `${route}: EngramClient.${m}`);
  }
});

/** The documented route a request went to, e.g. `GET /contexts/{id}` for `GET /contexts/a%2Fb`. */
function routeOf(method: string, url: string): string {
  const path = new URL(url).pathname;
  const match = documented.find((r) => {
    const [m, pattern] = r.split(' ') as [string, string];
    return m === method && new RegExp(`^${pattern.replace(/\{[^}]+\}/g, '[^/]+')}$`).test(path);
  });
  return match ?? `${method} ${path} (undocumented)`;
}

describe('every mapped method calls its route, against a real server', () => {
  const called = new Map<Method, Set<string>>();
  let recording: string[] | undefined;
  const realFetch = globalThis.fetch;
  before(() => {
    globalThis.fetch = ((input: string | URL | Request, init?: RequestInit) => {
      const url = input instanceof Request ? input.url : String(input);
      recording?.push(routeOf((init?.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase(), url));
      return realFetch(input, init);
    }) as typeof fetch;
  });
  after(() => {
    globalThis.fetch = realFetch;
  });

  /** Runs one SDK call and notes the routes it requested under the method's name. */
  async function via<T>(method: Method, call: () => Promise<T>): Promise<T> {
    recording = [];
    try {
      return await call();
    } finally {
      const routes = called.get(method) ?? new Set<string>();
      for (const r of recording) routes.add(r);
      called.set(method, routes);
      recording = undefined;
    }
  }

  test('work units, contexts, locks, search, memory, facts, graph, clients and operations', async () => {
    const engram = new EngramClient(server.url, { clientId: 'sdk-routes' });

    // Contexts: created before their first unit, then written, read, changed and deleted.
    const created = await via('createContext', () => engram.createContext('plan', { displayName: 'The plan', addAgents: ['planner'], meta: { team: 'core' } }));
    assert.deepEqual(
      [created.id, created.displayName, created.agentIds, created.meta, created.version, created.headSeq],
      ['plan', 'The plan', ['planner'], { team: 'core' }, 1, 0],
    );
    // Creating it again applies what is given to the one that exists.
    assert.equal((await via('createContext', () => engram.createContext('plan', { displayName: 'The plan, v2' }))).version, 2);
    const w = await via('write', () => engram.write({ contextId: 'plan', agentId: 'planner', type: 'MESSAGE', payload: 'retry with exponential backoff' }));
    assert.equal(w.workUnit.seq, 1);
    assert.deepEqual(await via('get', () => engram.get(w.workUnit.id)), w.workUnit);
    assert.equal((await via('list', () => engram.list('plan'))).workUnits.length, 1);
    assert.equal((await via('getContext', () => engram.getContext('plan'))).headSeq, 1);
    assert.equal((await via('updateContext', () => engram.updateContext('plan', { meta: { stage: 'review' } }, { ifVersion: 2 }))).version, 3);
    assert.deepEqual(
      (await via('listContexts', () => engram.listContexts())).contexts.map((c) => c.id),
      ['plan'],
    );
    assert.deepEqual((await via('presence', () => engram.presence('plan'))).members, []);
    const windowed = await via('window', () => engram.window('plan', { budget: 1000, model: 'gpt-4o' }));
    assert.deepEqual(
      windowed.units.map((u) => [u.seq, u.reason]),
      [[1, 'recent']],
    );
    // No language model here: the route answers so (test/agents/summaries.test.ts drives one).
    await assert.rejects(
      via('summarize', () => engram.summarize('plan', { from: 1 })),
      (e: EngramClientError) => e.code === 'MODEL_UNAVAILABLE',
    );
    // A fork, listed by its parent, then deleted (which leaves the parent whole).
    const forked = await via('fork', () => engram.fork('plan', { seq: 1, id: 'plan-what-if' }));
    assert.deepEqual([forked.forkOf, forked.headSeq], [{ contextId: 'plan', seq: 1 }, 1]);
    assert.deepEqual(
      (await via('listForks', () => engram.listForks('plan'))).map((c) => c.id),
      ['plan-what-if'],
    );
    assert.deepEqual((await engram.deleteContext('plan-what-if')).forksDeleted, []);

    // Locks.
    const lock = await via('acquire', () => engram.acquire('doc', { agentId: 'a' }));
    assert.equal((await via('getLock', () => engram.getLock('doc'))).lockId, lock.lockId);
    assert.equal((await via('renew', () => engram.renew('doc', { agentId: 'a', lockId: lock.lockId }))).token, lock.token);
    assert.deepEqual(
      (await via('listLocks', () => engram.listLocks())).locks.map((l) => l.resource),
      ['doc'],
    );
    await via('release', () => engram.release('doc', { agentId: 'a', lockId: lock.lockId }));
    const both = await via('acquireAll', () => engram.acquireAll(['x', 'y'], { agentId: 'a' }));
    for (const l of both) await engram.release(l.resource, { agentId: 'a', lockId: l.lockId });
    assert.equal(await via('withLock', () => engram.withLock('z', { agentId: 'a' }, async (l) => l.resource)), 'z');

    // Search, and its status (admin).
    await eventually(async () => (await via('search', () => engram.search({ query: 'exponential backoff', mode: 'keyword' }))).total === 1, WAIT_MS, 'the unit to be searchable');
    const status = await via('searchStatus', () => engram.searchStatus({ windowMs: 60_000 }));
    assert.equal((status.embedder as { kind: string }).kind, 'offline');

    // Memory: a command, then the three views.
    const space = 'notes';
    assert.equal((await via('memory', () => engram.memory(space, { command: 'create', path: '/memories/a.md', file_text: 'one\ntwo\n' }, 'writer'))).isError, false);
    await engram.memory(space, { command: 'str_replace', path: '/memories/a.md', old_str: 'two', new_str: 'three' }, 'editor');
    await engram.memory(space, { command: 'create', path: '/memories/old/b.md', file_text: 'b' });
    await engram.memory(space, { command: 'rename', old_path: '/memories/old/b.md', new_path: '/memories/b.md' });
    assert.deepEqual(await via('memoryTree', () => engram.memoryTree(space)), [
      { path: '/memories/a.md', size: 10 },
      { path: '/memories/b.md', size: 1 },
    ]);
    assert.deepEqual(await via('memoryFile', () => engram.memoryFile(space, '/memories/a.md')), { path: '/memories/a.md', text: 'one\nthree\n' });
    await assert.rejects(engram.memoryFile(space, '/memories/none.md'), (e: EngramClientError) => e.code === 'NOT_FOUND');
    const fileHistory = await via('memoryHistory', () => engram.memoryHistory(space, '/memories/a.md'));
    assert.deepEqual(
      fileHistory.map((c) => [c.seq, c.agentId, c.command, c.change]),
      [
        [1, 'writer', 'create', { op: 'write', path: '/memories/a.md', text: 'one\ntwo\n' }],
        [2, 'editor', 'str_replace', { op: 'write', path: '/memories/a.md', text: 'one\nthree\n' }],
      ],
    );
    assert.deepEqual(
      (await via('memoryHistory', () => engram.memoryHistory(space))).map((c) => c.change.op),
      ['write', 'write', 'write', 'rename'],
    );

    // Facts.
    assert.equal((await via('remember', () => engram.remember(space, { key: 'editor', value: 'The user edits with Helix.' }))).decision, 'ADD');
    assert.deepEqual(
      (await via('facts', () => engram.facts(space))).map((f) => f.key),
      ['editor'],
    );
    assert.equal((await via('fact', () => engram.fact(space, 'editor'))).history.length, 1);
    assert.equal((await via('recall', () => engram.recall(space, 'which editor'))).length, 1);
    assert.equal((await via('forget', () => engram.forget(space, 'editor'))).decision, 'DELETE');

    // Memory from a conversation turn, and a question to it.
    const turn = await via('processTurn', () => engram.processTurn(space, [{ role: 'user', content: 'I live in Oslo.' }], { agentId: 'listener', extractor: 'rules' }));
    assert.deepEqual(
      turn.decisions.map((d) => [d.decision, d.fact?.value, d.fact?.agentId]),
      [['ADD', 'User lives in Oslo', 'listener']],
    );
    const found = await via('queryMemory', () => engram.queryMemory(space, 'where does the user live', { history: true }));
    assert.deepEqual(
      found.memories.map((m) => [m.value, m.history?.length]),
      [['User lives in Oslo', 1]],
    );

    // The knowledge graph: a tool, and the whole graph read back.
    await via('graph', () =>
      engram.graph(space, 'create_entities', {
        entities: [
          { name: 'Ada', entityType: 'person', observations: ['writes Rust'] },
          { name: 'Engram', entityType: 'project', observations: [] },
        ],
      }),
    );
    await engram.graph(space, 'create_relations', { relations: [{ from: 'Ada', to: 'Engram', relationType: 'works on' }] });
    assert.deepEqual(await via('readGraph', () => engram.readGraph(space)), {
      entities: [
        { name: 'Ada', entityType: 'person', observations: ['writes Rust'] },
        { name: 'Engram', entityType: 'project', observations: [] },
      ],
      relations: [{ from: 'Ada', to: 'Engram', relationType: 'works on' }],
    });

    // Retention, run now: the policy keeps 2 units of trim/*.
    for (let i = 1; i <= 5; i++) await engram.write({ contextId: 'trim/a', agentId: 'a', type: 'MESSAGE', payload: i });
    const swept = await via('sweepRetention', () => engram.sweepRetention());
    assert.deepEqual([swept.trimmed, swept.units], [1, 3], JSON.stringify(swept));
    assert.ok(swept.bytes > 0);
    assert.equal((await engram.getContext('trim/a')).firstSeq, 4);

    // Clients (admin; with auth off every client has the scope).
    const other = new EngramClient(server.url, { clientId: 'sdk-other' });
    await other.write({ contextId: 'mine', agentId: 'b', type: 'MESSAGE', payload: 'x' });
    const listed = await via('listClients', () => engram.listClients());
    assert.ok(
      ['sdk-routes', 'sdk-other'].every((id) => listed.clients.some((c) => c.clientId === id && c.active)),
      JSON.stringify(listed),
    );
    const page = await engram.listClients({ limit: 1 });
    assert.equal(page.clients.length, 1);
    assert.notEqual(page.nextCursor, null);
    assert.notEqual((await engram.listClients({ after: page.nextCursor!, limit: 1 })).clients[0]?.clientId, page.clients[0]!.clientId);
    const st = await via('clientStatus', () => engram.clientStatus('sdk-routes'));
    assert.deepEqual([st.clientId, st.known, st.contexts, st.locksHeld, st.groups], ['sdk-routes', true, 5, 0, []]);
    assert.ok(st.unitsWritten >= 10 && st.storageBytes > 0, JSON.stringify(st));
    const cleanup = await via('cleanupClients', () => engram.cleanupClients(3600));
    assert.deepEqual([cleanup.idleThresholdSeconds, cleanup.dropped], [3600, []]);
    const erased = await via('eraseClient', () => engram.eraseClient('sdk-other'));
    assert.deepEqual([erased.clientId, erased.contexts, erased.units], ['sdk-other', 1, 1]);
    assert.equal((await engram.clientStatus('sdk-other')).contexts, 0);
    assert.deepEqual(await engram.eraseClient('sdk-other'), { clientId: 'sdk-other', contexts: 0, units: 0, bytes: 0, locks: 0 }, 'again: nothing left');
    const health = await via('healthDetailed', () => engram.healthDetailed());
    assert.ok('storage' in health && 'streams' in health, Object.keys(health).join(','));

    assert.deepEqual(await via('deleteContext', () => engram.deleteContext('plan')), {
      contextId: 'plan',
      deleted: true,
      units: 1,
      bytes: JSON.stringify(w.workUnit).length,
      forksDeleted: [],
    });

    // Approvals (in a client of their own, so the counts above stand): ask under a lock, wait, decide.
    const agent = new EngramClient(server.url, { clientId: 'sdk-approvals' });
    const held = await agent.acquire('deploy/prod', { agentId: 'deployer' });
    const asked = await via('requestApproval', () => agent.requestApproval('ops', { agentId: 'deployer', action: { deploy: 'v2' }, ttlMs: 600_000, lock: held }));
    assert.deepEqual([asked.status, asked.lock], ['pending', { resource: 'deploy/prod', token: held.token }]);
    assert.equal((await via('getApproval', () => agent.getApproval('ops', asked.requestId))).status, 'pending');
    assert.deepEqual(
      (await via('approvals', () => agent.approvals())).approvals.map((a) => a.requestId),
      [asked.requestId],
    );
    // (A wait that a decision ends is driven in test/agents/approvals.test.ts; `via` records one call at a time.)
    const decided = await via('decideApproval', () => agent.decideApproval('ops', asked.requestId, { decision: 'approve', by: 'dana', reason: 'ship it' }));
    assert.equal(decided.status, 'approved');
    const answer = await via('waitForApproval', () => agent.waitForApproval('ops', asked.requestId, { timeoutMs: WAIT_MS }));
    assert.deepEqual([answer.status, answer.decision?.by, answer.decision?.reason], ['approved', 'dana', 'ship it']);
    await assert.rejects(agent.decideApproval('ops', asked.requestId, { decision: 'deny' }), (e: EngramClientError) => e.code === 'APPROVAL_DECIDED' && e.status === 409);
    await agent.release('deploy/prod', { agentId: 'deployer', lockId: held.lockId });
    await assert.rejects(agent.getApproval('ops', asked.requestId), (e: EngramClientError) => e.code === 'FENCE_REJECTED');

    // What each method requested is what the map says it calls (subscribe streams over WebSocket,
    // not fetch: test/client/sdk.test.ts drives it).
    for (const [route, methods] of Object.entries(COVERED)) {
      for (const m of methods) {
        if (m === 'subscribe') continue;
        assert.ok(called.get(m)?.has(route), `${m} was driven and requested ${route}: it requested ${[...(called.get(m) ?? [])].join(', ') || 'nothing'}`);
      }
    }
    for (const [m, routes] of called) {
      for (const r of routes) assert.ok(COVERED[r]?.includes(m), `${m} requested ${r}, which the map does not give it`);
    }
  });
});

describe('admin methods with auth on', () => {
  const keys = { admin: `egk_${randomBytes(24).toString('base64url')}`, alice: `egk_${randomBytes(24).toString('base64url')}` };
  let authed: RunningServer;
  let dir: string;
  before(async () => {
    dir = tempDir('engram-sdk-admin-');
    writeFileSync(
      join(dir, 'engram.yaml'),
      `auth:\n  mode: apikey\n  keys:\n    - {client: ops, hash: "${hash(keys.admin)}", scopes: [read, write, admin]}\n    - {client: alice, hash: "${hash(keys.alice)}", scopes: [read, write]}\n`,
    );
    authed = await startServer({ args: ['--config', join(dir, 'engram.yaml'), '--search-embedder', 'none'] });
  });
  after(async () => {
    await authed.stop();
    removeDir(authed.dataDir);
    removeDir(dir);
  });

  test('an admin key reads /clients/* and acts as a client; a client key gets FORBIDDEN; no key gets UNAUTHENTICATED', async () => {
    const alice = new EngramClient(authed.url, { token: keys.alice });
    await alice.createContext('alice/notes', { displayName: 'Notes' });
    const admin = new EngramClient(authed.url, { token: keys.admin });
    assert.equal((await admin.clientStatus('alice')).contexts, 1);
    assert.ok((await admin.listClients()).clients.some((c) => c.clientId === 'alice'));
    // Acting as alice with admin credentials: her contexts, not the admin's own.
    assert.deepEqual(
      (await new EngramClient(authed.url, { token: keys.admin, clientId: 'alice' }).listContexts()).contexts.map((c) => c.id),
      ['alice/notes'],
    );
    for (const call of [
      () => alice.clientStatus('alice'),
      () => alice.listClients(),
      () => alice.eraseClient('alice'),
      () => alice.cleanupClients(),
      () => alice.sweepRetention(),
      () => alice.healthDetailed(),
      () => alice.searchStatus(),
    ]) {
      await assert.rejects(call(), (e: EngramClientError) => e.code === 'FORBIDDEN' && e.status === 403);
    }
    await assert.rejects(new EngramClient(authed.url).createContext('x'), (e: EngramClientError) => e.code === 'UNAUTHENTICATED' && e.status === 401);
  });
});
