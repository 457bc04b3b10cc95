/**
 * Two agents share a context over the HTTP API: a planner posts a task, a coder answers
 * it (idempotently, so a retry is safe), and the planner reads the latest units back.
 *
 *   make run                                   # in one terminal
 *   node dist/examples/http-quickstart.js      # in another (ENGRAM_URL overrides the address)
 */
const base = process.env.ENGRAM_URL ?? 'http://127.0.0.1:8080';
const contextId = `example/${Date.now()}`;

interface WorkUnit {
  id: string;
  seq: number;
  agentId: string;
  type: string;
  payload: unknown;
}

async function call<T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
  const res = await fetch(base + path, {
    method,
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = (await res.json()) as T & { error?: { code: string; message: string } };
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${json.error?.code}: ${json.error?.message}`);
  return json;
}

const task = await call<WorkUnit>('POST', '/workunit', {
  contextId,
  agentId: 'planner',
  type: 'MESSAGE',
  payload: { text: 'Add retries with exponential backoff to the fetch client.' },
});
console.log(`planner wrote seq ${task.seq} (${task.id})`);

const answer = {
  contextId,
  agentId: 'coder',
  type: 'TOOL_RESULT',
  payload: { diff: '+ retry(fetch, { backoff: "exponential" })' },
  relationships: [{ targetId: task.id, type: 'RESPONDS_TO' }],
};
const first = await call<WorkUnit>('POST', '/workunit', answer, { 'Idempotency-Key': `answer-to-${task.id}` });
const retried = await call<WorkUnit>('POST', '/workunit', answer, { 'Idempotency-Key': `answer-to-${task.id}` });
console.log(`coder wrote seq ${first.seq}; its retry returned seq ${retried.seq} again (${first.id === retried.id ? 'same unit' : 'DIFFERENT'})`);

await call('PATCH', `/contexts/${encodeURIComponent(contextId)}`, { displayName: 'Retry policy', pinUnits: [task.id] });
const latest = await call<{ workUnits: WorkUnit[] }>('GET', `/workunits/${encodeURIComponent(contextId)}?limit=10&reverse=true`);
for (const u of latest.workUnits) console.log(`  #${u.seq} ${u.agentId} ${u.type} ${JSON.stringify(u.payload)}`);
const ctx = await call<{ displayName: string; agentIds: string[]; headSeq: number }>('GET', `/contexts/${encodeURIComponent(contextId)}`);
console.log(`context "${ctx.displayName}": agents ${ctx.agentIds.join(', ')}, head seq ${ctx.headSeq}`);
