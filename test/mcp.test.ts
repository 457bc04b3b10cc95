/**
 * MCP, driven by the SDK's own client: `engram mcp` over stdio (auto-starting the data dir's
 * server, reusing a running one, recovering after the server is killed with SIGKILL and its
 * discovery file goes stale) and /mcp over Streamable HTTP (with its Origin check).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { after, describe, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { isEngramProcess } from '../src/cli/discovery.js';
import { removeDir, serverPerFile, tempDir } from './helpers/server.js';
import { WAIT_MS } from './helpers/wait.js';
import { WsClient } from './helpers/ws.js';

const MAIN_JS = resolve(import.meta.dirname, '../src/main.js');
const dirs: string[] = [];
const clients: Client[] = [];
/** Servers the MCP processes started for us, by PID, to end after the tests. */
const startedServers = new Set<number>();

after(async () => {
  await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
  for (const pid of startedServers) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
  // Wait (bounded) for them to exit before removing their data dirs.
  const deadline = Date.now() + WAIT_MS;
  while ([...startedServers].some((pid) => isEngramProcess(pid)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  for (const d of dirs) removeDir(d);
});

async function stdioClient(dataDir: string, extra: string[] = []): Promise<{ client: Client; stderr: string[] }> {
  // The server it starts may take a while to be ready on a busy machine (its default patience is 30 s).
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [MAIN_JS, 'mcp', '--data-dir', dataDir, '--start-timeout-ms', String(2 * WAIT_MS), ...extra],
    stderr: 'pipe',
    env: { ...process.env } as Record<string, string>,
  });
  const stderr: string[] = [];
  transport.stderr?.on('data', (b: Buffer) => stderr.push(b.toString()));
  const client = new Client({ name: 'engram-test', version: '1.0.0' });
  await client.connect(transport, { timeout: 2 * WAIT_MS });
  clients.push(client);
  return { client, stderr };
}

function discovery(dataDir: string): { pid: number; url: string } {
  const d = JSON.parse(readFileSync(join(dataDir, 'engram.server.json'), 'utf8')) as { pid: number; url: string };
  startedServers.add(d.pid);
  return d;
}

type ToolResult = { content: Array<{ type: string; text: string }>; isError?: boolean };
async function call(client: Client, name: string, args: Record<string, unknown>): Promise<ToolResult> {
  // As long as a server start may take (the first call after a kill starts a new one).
  return (await client.callTool({ name, arguments: args }, undefined, { timeout: 2 * WAIT_MS })) as ToolResult;
}
const textOf = (r: ToolResult) => r.content.map((c) => c.text).join('');

describe('MCP over stdio (engram mcp)', () => {
  test('starts a server when none runs, reuses it for a second client, and recovers after the server is killed', { timeout: 240_000 }, async () => {
    const dataDir = tempDir('engram-mcp-');
    dirs.push(dataDir);
    const a = await stdioClient(dataDir, ['--space', 'team', '--agent', 'ide']);
    const started = discovery(dataDir);
    assert.ok(isEngramProcess(started.pid), 'a server runs for the data dir');
    assert.match(a.stderr.join(''), /started an Engram server/);

    const tools = (await a.client.listTools()).tools.map((t) => t.name);
    for (const name of [
      'memory',
      'remember_fact',
      'forget_fact',
      'list_facts',
      'recall_facts',
      'create_entities',
      'create_relations',
      'add_observations',
      'delete_entities',
      'delete_observations',
      'delete_relations',
      'read_graph',
      'search_nodes',
      'open_nodes',
      'post_unit',
      'read_recent',
      'search_units',
      'lock',
      'unlock',
      'who_is_here',
      'process_turn',
      'query_memory',
      'context_window',
      'fork_context',
      'request_approval',
      'wait_for_approval',
    ]) {
      assert.ok(tools.includes(name), `tool ${name} is listed`);
    }

    assert.equal(textOf(await call(a.client, 'memory', { command: 'create', path: '/memories/plan.md', file_text: 'step 1' })), 'File created successfully at: /memories/plan.md');
    const missing = await call(a.client, 'memory', { command: 'view', path: '/memories/none.md' });
    assert.equal(missing.isError, true);
    assert.equal(textOf(missing), 'The path /memories/none.md does not exist. Please provide a valid path.');

    // A second agent process on the same data dir uses the same server and sees the same memory.
    const b = await stdioClient(dataDir, ['--space', 'team', '--agent', 'desktop']);
    assert.equal(discovery(dataDir).pid, started.pid, 'no second server');
    assert.doesNotMatch(b.stderr.join(''), /started an Engram server/);
    assert.match(textOf(await call(b.client, 'memory', { command: 'view', path: '/memories/plan.md' })), /1\tstep 1/);

    // Facts, graph and work units through the tools.
    const fact = JSON.parse(textOf(await call(b.client, 'remember_fact', { key: 'repo.ci', value: 'CI runs make test' })));
    assert.equal(fact.decision, 'ADD');
    assert.equal(JSON.parse(textOf(await call(a.client, 'remember_fact', { key: 'repo.ci', value: 'CI runs make test' }))).decision, 'NOOP');
    assert.deepEqual(
      JSON.parse(textOf(await call(a.client, 'create_entities', { entities: [{ name: 'Engram', entityType: 'project', observations: ['written in TypeScript'] }] }))),
      [{ name: 'Engram', entityType: 'project', observations: ['written in TypeScript'] }],
    );
    assert.equal(JSON.parse(textOf(await call(b.client, 'read_graph', {}))).entities[0].name, 'Engram');
    const notFound = await call(b.client, 'add_observations', { observations: [{ entityName: 'Nope', contents: ['x'] }] });
    assert.equal(notFound.isError, true);
    assert.equal(textOf(notFound), 'NOT_FOUND: Entity with name Nope not found');
    const posted = JSON.parse(textOf(await call(a.client, 'post_unit', { contextId: 'team/chat', text: 'hello from the IDE' })));
    assert.equal(posted.agentId, 'ide');
    assert.equal(posted.seq, 1);
    const recent = JSON.parse(textOf(await call(b.client, 'read_recent', { contextId: 'team/chat' })));
    assert.deepEqual(
      recent.map((u: { payload: { text: string } }) => u.payload.text),
      ['hello from the IDE'],
    );
    const lock = JSON.parse(textOf(await call(a.client, 'lock', { resource: 'file:plan.md' })));
    assert.equal(lock.agentId, 'ide');
    const held = await call(b.client, 'lock', { resource: 'file:plan.md' });
    assert.equal(held.isError, true);
    assert.match(textOf(held), /^LOCK_HELD: /);
    assert.equal(JSON.parse(textOf(await call(a.client, 'unlock', { resource: 'file:plan.md', lockId: lock.lockId }))).resource, 'file:plan.md');
    const bad = await call(a.client, 'post_unit', { contextId: '', text: 'x' });
    assert.equal(bad.isError, true);
    assert.match(textOf(bad), /^INVALID_ID: /);
    // Memory from a conversation turn, through the thin client (HTTP) and back from the other agent.
    const turn = JSON.parse(textOf(await call(a.client, 'process_turn', { messages: [{ role: 'user', content: 'I prefer dark mode.' }] })));
    assert.deepEqual(
      turn.decisions.map((d: { decision: string; fact: { value: string; agentId: string } }) => [d.decision, d.fact.value, d.fact.agentId]),
      [['ADD', 'User prefers dark mode', 'ide']],
    );
    const changed = JSON.parse(textOf(await call(b.client, 'process_turn', { messages: [{ role: 'user', content: 'Actually I prefer light mode now.' }] })));
    assert.equal(changed.decisions[0].decision, 'UPDATE');
    assert.equal(changed.decisions[0].replaces.value, 'User prefers dark mode');
    const found = JSON.parse(textOf(await call(a.client, 'query_memory', { query: 'which mode does the user prefer', history: true })));
    assert.equal(found.memories[0].value, 'User prefers light mode');
    assert.deepEqual(
      found.memories[0].history.map((v: { value: string }) => v.value),
      ['User prefers dark mode', 'User prefers light mode'],
    );
    const win = JSON.parse(textOf(await call(b.client, 'context_window', { contextId: 'team/chat', budget: 1000 })));
    assert.deepEqual(
      win.units.map((u: { reason: string; workUnit: { payload: { text: string } } }) => [u.reason, u.workUnit.payload.text]),
      [['recent', 'hello from the IDE']],
    );
    // A what-if branch of the chat: it reads the shared unit, and the tool's errors carry the stable codes.
    const forked = JSON.parse(textOf(await call(a.client, 'fork_context', { contextId: 'team/chat', seq: 1, id: 'team/chat-whatif' })));
    assert.deepEqual([forked.id, forked.forkOf, forked.headSeq], ['team/chat-whatif', { contextId: 'team/chat', seq: 1 }, 1]);
    assert.deepEqual(
      JSON.parse(textOf(await call(b.client, 'read_recent', { contextId: 'team/chat-whatif' }))).map((u: { payload: { text: string } }) => u.payload.text),
      ['hello from the IDE'],
    );
    const beyond = await call(a.client, 'fork_context', { contextId: 'team/chat', seq: 9 });
    assert.equal(beyond.isError, true);
    assert.match(textOf(beyond), /^FORK_BEYOND_HEAD: /);
    // Approvals through the thin client: asked under a lock the agent holds, pending until decided.
    const held2 = JSON.parse(textOf(await call(a.client, 'lock', { resource: 'deploy/staging' })));
    const asked = JSON.parse(
      textOf(await call(a.client, 'request_approval', { contextId: 'team/chat', action: { deploy: 'staging' }, resource: 'deploy/staging', token: held2.token })),
    );
    assert.deepEqual([asked.status, asked.agentId, asked.lock.token], ['pending', 'ide', held2.token]);
    assert.equal(JSON.parse(textOf(await call(b.client, 'wait_for_approval', { contextId: 'team/chat', requestId: asked.requestId, waitSeconds: 0 }))).status, 'pending');
    const noTurn = await call(a.client, 'process_turn', { messages: [] });
    assert.equal(noTurn.isError, true);
    assert.match(textOf(noTurn), /^INVALID_FIELD: messages/);

    // kill -9: the discovery file stays behind, stale. The next call starts a new server and goes on.
    process.kill(started.pid, 'SIGKILL');
    const deadline = Date.now() + WAIT_MS;
    while (isEngramProcess(started.pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(JSON.parse(readFileSync(join(dataDir, 'engram.server.json'), 'utf8')).pid, started.pid, 'the stale file is still there');
    assert.match(textOf(await call(a.client, 'memory', { command: 'view', path: '/memories/plan.md' })), /1\tstep 1/, 'acknowledged memory survived the crash');
    const restarted = discovery(dataDir);
    assert.notEqual(restarted.pid, started.pid);
    assert.ok(isEngramProcess(restarted.pid));
    // The other client follows to the new server too.
    assert.equal(JSON.parse(textOf(await call(b.client, 'list_facts', {})))[0].key, 'repo.ci');
  });

  test('--no-start with no server: a clear error and exit 1', { timeout: 2 * WAIT_MS }, async () => {
    const dataDir = tempDir('engram-mcp-');
    dirs.push(dataDir);
    const { spawnSync } = await import('node:child_process');
    const r = spawnSync(process.execPath, [MAIN_JS, 'mcp', '--data-dir', dataDir, '--no-start'], { encoding: 'utf8', timeout: WAIT_MS });
    assert.equal(r.status, 1);
    assert.equal(r.stdout, '', 'nothing but MCP on stdout');
    assert.match(r.stderr, /no Engram server is running and ready for data dir .* --no-start/);
  });
});

describe('MCP over Streamable HTTP (/mcp)', () => {
  const env = serverPerFile({ args: ['--search-enabled', 'false'] });

  test('the SDK client lists and calls the tools', async () => {
    const transport = new StreamableHTTPClientTransport(new URL(`${env.server.url}/mcp?space=web&agentId=browser-agent`));
    const client = new Client({ name: 'engram-test', version: '1.0.0' });
    await client.connect(transport);
    clients.push(client);
    assert.ok((await client.listTools()).tools.some((t) => t.name === 'memory'));
    assert.equal(textOf(await call(client, 'memory', { command: 'create', path: '/memories/a.txt', file_text: 'A' })), 'File created successfully at: /memories/a.txt');
    // The same space over the plain HTTP API.
    const file = await env.http.get('/memory/web/file?path=/memories/a.txt');
    assert.equal(file.json.text, 'A');
    const history = await env.http.get('/memory/web/history?path=/memories/a.txt');
    assert.equal(history.json.changes[0].agentId, 'browser-agent');
    const g = JSON.parse(textOf(await call(client, 'create_entities', { entities: [{ name: 'X', entityType: 't', observations: [] }] })));
    assert.equal(g[0].name, 'X');
    // Presence: an agent following the context over a WebSocket is listed (the default client, as /mcp here).
    const ws = new WsClient(`${env.server.url.replace('http', 'ws')}/stream?context=web%2Fchat&agentId=streamer`);
    await ws.open();
    await ws.next((f) => f.event === 'subscribed');
    const here = JSON.parse(textOf(await call(client, 'who_is_here', { contextId: 'web/chat' })));
    ws.close();
    assert.deepEqual(
      here.members.map((m: { clientId: string; agentId: string; connections: number }) => `${m.clientId}/${m.agentId}×${m.connections}`),
      ['default/streamer×1'],
    );
    assert.match(here.members[0].since, /^\d{4}-\d\d-\d\dT/);
    // Memory from a conversation turn, in process; with search off, query ranks by similarity.
    const turn = JSON.parse(textOf(await call(client, 'process_turn', { messages: [{ role: 'user', content: 'I live in Oslo.' }] })));
    assert.equal(turn.decisions[0].fact.agentId, 'browser-agent');
    const moved = JSON.parse(textOf(await call(client, 'process_turn', { messages: [{ role: 'user', content: 'I moved to Bergen.' }] })));
    assert.deepEqual([moved.decisions[0].decision, moved.decisions[0].fact.value, moved.decisions[0].replaces.value], ['UPDATE', 'User lives in Bergen', 'User lives in Oslo']);
    const where = JSON.parse(textOf(await call(client, 'query_memory', { query: 'where does the user live' })));
    assert.equal(where.ranking, 'similarity');
    assert.equal(where.memories[0].value, 'User lives in Bergen');
    // Approvals in process: ask under the lock, a human decides over HTTP while the agent waits.
    const held = JSON.parse(textOf(await call(client, 'lock', { resource: 'deploy/prod' })));
    const asked = JSON.parse(textOf(await call(client, 'request_approval', { contextId: 'web/ops', action: { tool: 'deploy' }, resource: 'deploy/prod', token: held.token })));
    assert.equal(asked.status, 'pending');
    const waiting = call(client, 'wait_for_approval', { contextId: 'web/ops', requestId: asked.requestId, waitSeconds: 30 });
    assert.equal((await env.http.post(`/contexts/web%2Fops/approvals/${asked.requestId}/decision`, { decision: 'approve', by: 'carol' })).status, 200);
    const decided = JSON.parse(textOf(await waiting));
    assert.deepEqual([decided.status, decided.decision.by], ['approved', 'carol']);
    // Once the lock is gone, the approval cannot be acted on.
    await call(client, 'unlock', { resource: 'deploy/prod', lockId: held.lockId });
    const stale = await call(client, 'wait_for_approval', { contextId: 'web/ops', requestId: asked.requestId });
    assert.equal(stale.isError, true);
    assert.match(textOf(stale), /^FENCE_REJECTED: /);
    const unknown = await call(client, 'no_such_tool', {});
    assert.equal(unknown.isError, true);
  });

  test('origins: loopback and none allowed, any other refused with 403', async () => {
    const init = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } };
    const post = (origin?: string) =>
      fetch(`${env.server.url}/mcp`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...(origin ? { origin } : {}) },
        body: JSON.stringify(init),
      });
    const evil = await post('http://evil.example');
    assert.equal(evil.status, 403);
    assert.equal(((await evil.json()) as { error: { code: string } }).error.code, 'FORBIDDEN');
    const local = await post('http://localhost:5173');
    assert.equal(local.status, 200);
    assert.equal(((await local.json()) as { result: { serverInfo: { name: string } } }).result.serverInfo.name, 'engram');
    assert.equal((await post()).status, 200);
    // No server-initiated stream in stateless mode.
    assert.equal((await fetch(`${env.server.url}/mcp`)).status, 405);
    // A browser page on another loopback port: its preflight and its answers carry CORS headers.
    const pre = await fetch(`${env.server.url}/mcp`, {
      method: 'OPTIONS',
      headers: { origin: 'http://localhost:5173', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type, mcp-protocol-version' },
    });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers.get('access-control-allow-origin'), 'http://localhost:5173');
    assert.match(pre.headers.get('access-control-allow-headers')!, /mcp-protocol-version/);
    assert.equal((await post('http://localhost:5173')).headers.get('access-control-allow-origin'), 'http://localhost:5173');
    assert.equal((await fetch(`${env.server.url}/mcp`, { method: 'OPTIONS', headers: { origin: 'http://evil.example', 'access-control-request-method': 'POST' } })).status, 403);
  });
});
