/** MCP inputs: JSON-RPC on POST /mcp with bad methods, params, batches and tool calls with bad arguments. */
import { unitKey, bounded, judgeHttp, NASTY_STRINGS, NASTY_VALUES, type FuzzTarget, type Outcome, type Rng } from './common.js';

// Not called: fork_context (a fork's head counts the parent's units), request_approval and
// wait_for_approval (an approval is a unit, and waiting is the point), summarize_context (needs a model).
const TOOLS = [
  'memory',
  'remember_fact',
  'forget_fact',
  'list_facts',
  'recall_facts',
  'process_turn',
  'query_memory',
  'post_unit',
  'read_recent',
  'search_units',
  'lock',
  'unlock',
  'context_window',
  'who_is_here',
  'create_entities',
  'read_graph',
  'search_nodes',
  'open_nodes',
  'nope',
  '',
];
const ARG_KEYS = [
  'contextId',
  'text',
  'payload',
  'type',
  'meta',
  'agentId',
  'key',
  'value',
  'query',
  'limit',
  'command',
  'path',
  'file_text',
  'resource',
  'ttlMs',
  'lockId',
  'budget',
  'messages',
  'entities',
  'names',
  'bogus',
];
const METHODS = [
  'tools/call',
  'tools/call',
  'tools/call',
  'tools/list',
  'initialize',
  'ping',
  'resources/list',
  'prompts/get',
  'notifications/initialized',
  'nope',
  '',
  'rpc.discover',
];

function args(r: Rng): unknown {
  if (r.next() < 0.1) return r.pick(NASTY_VALUES);
  const a: Record<string, unknown> = { contextId: `fz-mcp-${r.int(3)}`, text: 'hello' };
  for (let k = r.int(4); k > 0; k--) {
    const key = r.pick(ARG_KEYS);
    // No long waits: a waiting lock is a test of patience, not of input handling.
    a[key] = key === 'ttlMs' ? r.pick([null, -1, 0, 1.5, 'x', 1000]) : r.pick(NASTY_VALUES);
  }
  return a;
}

function message(r: Rng, id: unknown): Record<string, unknown> {
  const method = r.pick(METHODS);
  const m: Record<string, unknown> = { jsonrpc: r.next() < 0.95 ? '2.0' : r.pick(['1.0', 2, null]), method, id };
  if (method === 'tools/call') m.params = r.next() < 0.9 ? { name: r.pick(TOOLS), arguments: args(r) } : r.pick(NASTY_VALUES);
  else if (method === 'initialize')
    m.params = { protocolVersion: r.pick(['2025-06-18', '2024-11-05', 'nope', 1]), capabilities: r.pick(NASTY_VALUES), clientInfo: { name: 'fz', version: '1' } };
  else if (r.next() < 0.3) m.params = r.pick(NASTY_VALUES);
  if (r.next() < 0.05) delete m.id;
  return m;
}

/** Units a post_unit result acknowledged in an answer (one message or a batch). */
function ackedUnits(body: unknown, names: Map<unknown, string>): string[] {
  const keys: string[] = [];
  for (const item of Array.isArray(body) ? body : [body]) {
    const it = item as { id?: unknown; result?: { isError?: boolean; content?: Array<{ text?: string }> } };
    if (names.get(it?.id) !== 'post_unit' || it.result === undefined || it.result.isError === true) continue;
    try {
      const u = JSON.parse(it.result.content?.[0]?.text ?? '') as { contextId?: unknown; seq?: unknown };
      if (typeof u.seq === 'number') keys.push(...unitKey(u));
    } catch {
      /* not a unit */
    }
  }
  return keys;
}

export async function mcpInput(r: Rng, t: FuzzTarget, i: number): Promise<Outcome> {
  const batch = r.next() < 0.15;
  const msgs = Array.from({ length: batch ? 1 + r.int(4) : 1 }, (_, k) => message(r, r.next() < 0.9 ? `m${i}-${k}` : r.pick(NASTY_VALUES)));
  const names = new Map<unknown, string>();
  for (const m of msgs) if (m.method === 'tools/call') names.set(m.id, String((m.params as { name?: unknown } | null)?.name));
  const body = batch ? msgs : msgs[0];
  const accept = r.next() < 0.8 ? 'application/json, text/event-stream' : r.pick(['application/json', 'text/html', '']);
  const query = r.pick(['', '?space=fz', `?space=${r.pick(NASTY_STRINGS).slice(0, 300)}`, '?agentId=%00']);
  const res = await bounded(
    r.next() < 0.05
      ? t.http.request('POST', `/mcp${query}`, { raw: r.pick(['{', '[]', '', '{"jsonrpc":"2.0"}', 'null']), headers: { 'content-type': 'application/json', accept } })
      : t.http.post(`/mcp${query}`, body, accept ? { accept } : {}),
  );
  if (res === 'timeout') return { answer: 'timeout', timedOut: true };
  const acked = res.status === 200 ? ackedUnits(res.json, names) : [];
  return { answer: String(res.status), acked, failure: judgeHttp(t, res.status, res.text, `MCP ${JSON.stringify(body).slice(0, 300)}`) };
}
