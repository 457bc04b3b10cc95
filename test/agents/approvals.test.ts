/**
 * Approvals through a real server (docs/agents.md#approvals): asking under a lock, a long poll
 * that answers the decision, one decision per request (concurrent deciders included), expiry,
 * plain appends held to the same rules, a stale worker that lost its lease refused, and pending
 * approvals and decisions rebuilt from the log after a restart.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { EngramClient, EngramClientError, GrpcEngramClient } from '../../src/client/index.js';
import { HttpClient } from '../helpers/http.js';
import { removeDir, startOnFixedPort, startServer, tempDir, type RunningServer } from '../helpers/server.js';
import { eventually, WAIT_MS } from '../helpers/wait.js';

const dataDir = tempDir();
const configDir = tempDir('engram-approvals-config-');
let server: RunningServer;
let http: HttpClient;
let port = 0;

before(async () => {
  // A fixed port, so the restart test can bind it again and an SDK waiter can ride the restart out.
  // A retention policy for the trim test; its periodic sweep is far off, so only the test's sweep trims.
  writeFileSync(join(configDir, 'engram.yaml'), 'retention:\n  interval: 24h\n  policies:\n    - {contexts: ["trim/*"], maxUnits: 1}\n');
  ({ server, port } = await startOnFixedPort((p) => ({ dataDir, args: ['--addr', `127.0.0.1:${p}`, '--config', join(configDir, 'engram.yaml')] })));
  http = new HttpClient(server.url);
});
after(async () => {
  http.close();
  await server.stop();
  removeDir(dataDir);
  removeDir(configDir);
});

async function lock(resource: string, agentId: string): Promise<{ token: number; lockId: string }> {
  const r = await http.post('/locks', { resource, agentId, ttlMs: 600_000 });
  assert.equal(r.status, 200, r.text);
  return r.json;
}

async function ask(contextId: string, agentId: string, resource: string, token: number, extra: Record<string, unknown> = {}) {
  const r = await http.post(`/contexts/${encodeURIComponent(contextId)}/approvals`, {
    agentId,
    action: { tool: 'deploy', target: resource },
    ttlMs: 600_000,
    lock: { resource, token },
    ...extra,
  });
  assert.equal(r.status, 201, r.text);
  return r.json as { requestId: string; status: string; lock: { resource: string; token: number }; expiresAt: string };
}

const decide = (contextId: string, requestId: string, decision: string, by = 'alice') =>
  http.post(`/contexts/${encodeURIComponent(contextId)}/approvals/${requestId}/decision`, { decision, by, reason: `${decision} by ${by}` });

async function decisionsOf(contextId: string, requestId: string): Promise<Array<{ agentId: string; payload: { decision: string } }>> {
  const units = (await http.get(`/workunits/${contextId}?limit=1000`)).json.workUnits as Array<{ type: string; agentId: string; payload: { requestId: string; decision: string } }>;
  return units.filter((u) => u.type === 'APPROVAL_DECISION' && u.payload.requestId === requestId);
}

test('ask under a lock, wait by long poll, one decision, its unit on the log; a second decision is refused', async () => {
  // The log's older approval units are read on first use, not at start.
  assert.equal((await http.get('/health/detailed')).json.approvals.loaded, false);
  const { token } = await lock('deploy/prod', 'agent-1');
  const req = await ask('run-1', 'agent-1', 'deploy/prod', token);
  assert.equal(req.status, 'pending');
  assert.deepEqual(req.lock, { resource: 'deploy/prod', token });

  const waiting = http.get(`/contexts/run-1/approvals/${req.requestId}?wait=30`);
  const d = await decide('run-1', req.requestId, 'approve');
  assert.equal(d.status, 200, d.text);
  assert.equal(d.json.status, 'approved');
  const answer = await waiting;
  assert.equal(answer.status, 200, answer.text);
  assert.equal(answer.json.status, 'approved');
  assert.deepEqual(answer.json.lock, { resource: 'deploy/prod', token });
  assert.equal(answer.json.decision.by, 'alice');
  assert.deepEqual(answer.json.action, { tool: 'deploy', target: 'deploy/prod' });

  // The decision unit: RESPONDS_TO the request, carrying its lock.
  const units = (await http.get('/workunits/run-1')).json.workUnits as Array<{
    id: string;
    type: string;
    agentId: string;
    payload: Record<string, unknown>;
    relationships: unknown[];
  }>;
  const decision = units.find((u) => u.type === 'APPROVAL_DECISION')!;
  assert.equal(decision.agentId, 'alice');
  assert.deepEqual(decision.payload, { requestId: req.requestId, decision: 'approve', reason: 'approve by alice', lock: { resource: 'deploy/prod', token } });
  assert.deepEqual(decision.relationships, [{ targetId: req.requestId, type: 'RESPONDS_TO', meta: {} }]);

  const again = await decide('run-1', req.requestId, 'deny', 'bob');
  assert.equal(again.status, 409);
  assert.equal(again.json.error.code, 'APPROVAL_DECIDED');
  assert.equal(again.json.error.details.decision.decision, 'approve');
  // A plain append of a second decision is held to the same rule.
  const plain = await http.post('/workunit', { contextId: 'run-1', agentId: 'bob', type: 'APPROVAL_DECISION', payload: { requestId: req.requestId, decision: 'deny' } });
  assert.equal(plain.status, 409);
  assert.equal(plain.json.error.code, 'APPROVAL_DECIDED');
  assert.equal((await decisionsOf('run-1', req.requestId)).length, 1);
});

test('concurrent deciders: exactly one wins, the others get APPROVAL_DECIDED, one unit is stored', async () => {
  const { token } = await lock('db/migrate', 'agent-2');
  const req = await ask('run-2', 'agent-2', 'db/migrate', token);
  const answers = await Promise.all(
    Array.from({ length: 8 }, (_, i) =>
      i % 2 === 0
        ? decide('run-2', req.requestId, i % 4 === 0 ? 'approve' : 'deny', `human-${i}`)
        : http.post('/workunit', { contextId: 'run-2', agentId: `human-${i}`, type: 'APPROVAL_DECISION', payload: { requestId: req.requestId, decision: 'deny' } }),
    ),
  );
  const won = answers.filter((a) => a.status === 200 || a.status === 201);
  assert.equal(won.length, 1, answers.map((a) => a.text).join('\n'));
  for (const a of answers) if (a !== won[0]) assert.equal(a.json.error.code, 'APPROVAL_DECIDED', a.text);
  const stored = await decisionsOf('run-2', req.requestId);
  assert.equal(stored.length, 1);
  const view = (await http.get(`/contexts/run-2/approvals/${req.requestId}`)).json;
  assert.equal(view.decision.by, stored[0]!.agentId);
});

test('bad requests and decisions are refused with stable codes, and store nothing', async () => {
  const { token } = await lock('bad/one', 'agent-3');
  const cases: Array<[string, unknown, string]> = [
    ['/contexts/run-3/approvals', { agentId: 'a', action: 1, ttlMs: 1000 }, 'MISSING_FIELD'],
    ['/contexts/run-3/approvals', { agentId: 'a', action: 1, lock: { resource: 'bad/one', token } }, 'MISSING_FIELD'],
    ['/contexts/run-3/approvals', { agentId: 'a', action: 1, ttlMs: 0, lock: { resource: 'bad/one', token } }, 'INVALID_FIELD'],
    ['/contexts/run-3/approvals', { agentId: 'a', action: 1, ttlMs: 1000, lock: { resource: 'bad/one', token: token + 1000 } }, 'FENCE_REJECTED'],
    ['/contexts/run-3/approvals', { agentId: 'a', action: 1, ttlMs: 1000, lock: { resource: 'bad/one', token }, extra: true }, 'UNKNOWN_FIELD'],
    ['/workunit', { contextId: 'run-3', agentId: 'a', type: 'APPROVAL_REQUEST', payload: { action: 1, ttlMs: 1000 } }, 'MISSING_FIELD'],
    ['/workunit', { contextId: 'run-3', agentId: 'a', type: 'APPROVAL_REQUEST', payload: 'please' }, 'INVALID_FIELD'],
    [
      '/workunit',
      {
        contextId: 'run-3',
        agentId: 'a',
        type: 'APPROVAL_REQUEST',
        payload: { action: 1, ttlMs: 1000, lock: { resource: 'bad/one', token } },
        fence: { resource: 'other', token },
      },
      'INVALID_FIELD',
    ],
    ['/workunit', { contextId: 'run-3', agentId: 'a', type: 'APPROVAL_DECISION', payload: { requestId: '01NOSUCHREQUEST', decision: 'approve' } }, 'APPROVAL_NOT_FOUND'],
    ['/workunit', { contextId: 'run-3', agentId: 'a', type: 'APPROVAL_DECISION', payload: { requestId: '01NOSUCHREQUEST', decision: 'maybe' } }, 'INVALID_FIELD'],
    ['/contexts/run-3/approvals/01NOSUCHREQUEST/decision', { decision: 'approve' }, 'APPROVAL_NOT_FOUND'],
    ['/contexts/run-3/approvals/01NOSUCHREQUEST/decision', { decision: 'yes' }, 'INVALID_FIELD'],
    // A decision's idempotency key is not for other units (one would block the decision it stands in for).
    ['/workunit', { contextId: 'run-3', agentId: 'a', type: 'MESSAGE', payload: 'x', idempotencyKey: 'approval:01SOMEREQUEST' }, 'INVALID_FIELD'],
  ];
  for (const [path, body, code] of cases) {
    const r = await http.post(path, body);
    assert.equal(r.json?.error?.code, code, `${path} ${JSON.stringify(body)}: ${r.text}`);
  }
  assert.equal((await http.get('/contexts/run-3')).status, 404, 'nothing was stored');
  assert.equal((await http.get('/contexts/run-3/approvals/01NOSUCHREQUEST')).json.error.code, 'APPROVAL_NOT_FOUND');

  // A plain append of a request, fenced by its lock, is an approval like any other (ttlMs becomes expiresAt).
  const plain = await http.post('/workunit', {
    contextId: 'run-3',
    agentId: 'a',
    type: 'APPROVAL_REQUEST',
    payload: { action: { x: 1 }, ttlMs: 60_000, lock: { resource: 'bad/one', token } },
  });
  assert.equal(plain.status, 201, plain.text);
  assert.equal(typeof plain.json.payload.expiresAt, 'string');
  const view = (await http.get(`/contexts/run-3/approvals/${plain.json.id}`)).json;
  assert.equal(view.status, 'pending');
  // A decision in another context is not one of this request.
  const elsewhere = await http.post('/workunit', { contextId: 'run-3b', agentId: 'a', type: 'APPROVAL_DECISION', payload: { requestId: plain.json.id, decision: 'approve' } });
  assert.equal(elsewhere.json.error.code, 'APPROVAL_NOT_FOUND');
});

test('an expired request cannot be decided; it reads as expired', async () => {
  const { token } = await lock('slow/one', 'agent-4');
  const req = await ask('run-4', 'agent-4', 'slow/one', token, { ttlMs: 1 });
  await eventually(async () => (await http.get(`/contexts/run-4/approvals/${req.requestId}`)).json.status === 'expired', WAIT_MS, 'expired');
  const d = await decide('run-4', req.requestId, 'approve');
  assert.equal(d.status, 409);
  assert.equal(d.json.error.code, 'APPROVAL_EXPIRED');
  assert.equal((await decisionsOf('run-4', req.requestId)).length, 0);
  const listed = (await http.get('/approvals?status=expired&contextId=run-4')).json.approvals as Array<{ requestId: string }>;
  assert.deepEqual(
    listed.map((a) => a.requestId),
    [req.requestId],
  );
});

test('a stale worker that lost its lease cannot act on an approval given after it asked', async () => {
  const first = await lock('repo/main', 'worker-a');
  const req = await ask('run-5', 'worker-a', 'repo/main', first.token);
  // The lease passes to another worker while the request waits.
  assert.equal((await http.request('DELETE', `/locks/repo%2Fmain?agentId=worker-a&lockId=${first.lockId}`)).status, 200);
  const second = await lock('repo/main', 'worker-b');
  assert.ok(second.token > first.token);
  const waiting = http.get(`/contexts/run-5/approvals/${req.requestId}?wait=30`);
  assert.equal((await decide('run-5', req.requestId, 'approve')).status, 200);
  const stale = await waiting;
  assert.equal(stale.status, 409, stale.text);
  assert.equal(stale.json.error.code, 'FENCE_REJECTED');
  assert.equal(stale.json.error.details.currentToken, second.token);
  // Its follow-up write, fenced with the token it asked under, is refused too.
  const write = await http.post('/workunit', {
    contextId: 'run-5',
    agentId: 'worker-a',
    type: 'TOOL_CALL',
    payload: 'git push',
    fence: { resource: 'repo/main', token: first.token },
  });
  assert.equal(write.json.error.code, 'FENCE_REJECTED');
  // The listing (for people, not for acting) still shows the decision.
  const listed = (await http.get('/approvals?status=approved&contextId=run-5')).json.approvals;
  assert.equal(listed[0].decision.decision, 'approve');
});

test('retention: a request it removes is forgotten, one it keeps because it is pinned stays', async () => {
  const { token } = await lock('trim/lock', 'agent-8');
  const gone = await ask('trim/a', 'agent-8', 'trim/lock', token);
  const kept = await ask('trim/a', 'agent-8', 'trim/lock', token);
  assert.equal((await http.patch('/contexts/trim%2Fa', { pinUnits: [kept.requestId] })).status, 200);
  assert.equal((await http.post('/workunit', { contextId: 'trim/a', agentId: 'agent-8', type: 'MESSAGE', payload: 'later' })).status, 201);
  const swept = await http.post('/retention/sweep', {});
  assert.equal(swept.status, 200, swept.text);
  assert.equal((await http.get(`/contexts/trim%2Fa/approvals/${gone.requestId}`)).json.error.code, 'APPROVAL_NOT_FOUND');
  assert.equal((await http.get(`/contexts/trim%2Fa/approvals/${kept.requestId}`)).json.status, 'pending');
});

test('SDK and gRPC: a gRPC client asks through the plain unit write, and the decision reaches its Subscribe stream and the SDK waiter', async () => {
  const sdk = new EngramClient(server.url);
  const grpc = new GrpcEngramClient(server.grpcAddr);
  try {
    const held = await sdk.acquire('grpc/one', { agentId: 'g-agent', ttlMs: 600_000 });
    await assert.rejects(
      grpc.requestApproval('run-7', { agentId: 'g-agent', action: 'x', ttlMs: 60_000, lock: { resource: 'grpc/one', token: held.token + 1000 } }),
      (e: EngramClientError) => e.code === 'FENCE_REJECTED',
    );
    const req = await grpc.requestApproval('run-7', { agentId: 'g-agent', action: { migrate: 'users' }, ttlMs: 600_000, lock: held });
    assert.equal(req.type, 'APPROVAL_REQUEST');
    const onStream = grpc.waitForApproval('run-7', req, { timeoutMs: WAIT_MS });
    const waiter = sdk.waitForApproval('run-7', req.id, { timeoutMs: WAIT_MS });
    const decided = await sdk.decideApproval('run-7', req.id, { decision: 'deny', by: 'erin', reason: 'not on a Friday' });
    assert.equal(decided.status, 'denied');
    const unit = await onStream;
    assert.equal(unit.id, decided.decision!.id);
    assert.deepEqual(unit.payload, { requestId: req.id, decision: 'deny', reason: 'not on a Friday', lock: { resource: 'grpc/one', token: held.token } });
    const answer = await waiter;
    assert.deepEqual([answer.status, answer.decision?.by], ['denied', 'erin']);
  } finally {
    grpc.close();
    sdk.close();
  }
});

test('pending approvals and decisions are rebuilt from the log after a restart; a waiter then sees the decision', async () => {
  const { token } = await lock('restart/one', 'agent-6');
  const pending = await ask('run-6', 'agent-6', 'restart/one', token);
  const other = await ask('run-6b', 'agent-6', 'restart/one', token);
  assert.equal((await decide('run-6b', other.requestId, 'deny')).status, 200);

  // An agent waiting through the SDK while the server restarts: it asks again until it has an answer.
  const agent = new EngramClient(server.url, { backoff: { initialMs: 20, maxMs: 200 } });
  const sdkWaits = agent.waitForApproval('run-6', pending.requestId, { timeoutMs: WAIT_MS });

  assert.equal(await server.stop(), 0);
  server = await startServer({ dataDir, args: ['--addr', `127.0.0.1:${port}`, '--config', join(configDir, 'engram.yaml')] });
  http.close();
  http = new HttpClient(server.url);

  const list = (await http.get('/approvals')).json.approvals as Array<{ requestId: string; status: string }>;
  const health = (await http.get('/health/detailed')).json.approvals;
  // (`waiting` counts the SDK waiter when its long poll has reached this server already.)
  assert.deepEqual([health.loaded, health.pending], [true, list.length]);
  assert.equal(health.known, (await http.get('/approvals?status=all')).json.approvals.length);
  assert.ok(
    list.some((a) => a.requestId === pending.requestId && a.status === 'pending'),
    JSON.stringify(list),
  );
  assert.ok(!list.some((a) => a.requestId === other.requestId));
  const again = await decide('run-6b', other.requestId, 'approve');
  assert.equal(again.json.error.code, 'APPROVAL_DECIDED', 'the decision before the restart stands');

  const waiting = http.get(`/contexts/run-6/approvals/${pending.requestId}?wait=30`);
  assert.equal((await decide('run-6', pending.requestId, 'approve')).status, 200);
  const answer = await waiting;
  assert.equal(answer.status, 200, answer.text);
  assert.equal(answer.json.status, 'approved', 'the lock came back with the restart, so the approval may be acted on');
  const sdkAnswer = await sdkWaits;
  agent.close();
  assert.deepEqual([sdkAnswer.status, sdkAnswer.decision?.decision], ['approved', 'approve']);
  // Another client sees none of this client's approvals.
  assert.deepEqual((await http.get('/approvals?status=all', { 'X-Client-ID': 'someone-else' })).json.approvals, []);
});
