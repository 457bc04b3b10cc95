/**
 * A context window under a token budget, through a real server: pinned, relevant and recent units
 * in order, never over the budget, each counted as the tokenizer counts it (gpt-tokenizer here is
 * the oracle), counted once and kept across a restart; bad input refused.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { countTokens as o200k } from 'gpt-tokenizer/encoding/o200k_base';
import { countTokens as cl100k } from 'gpt-tokenizer/encoding/cl100k_base';
import { GrpcEngramClient } from '../../src/client/index.js';
import { HttpClient } from '../helpers/http.js';
import { removeDir, startServer, tempDir } from '../helpers/server.js';
import { eventually, WAIT_MS } from '../helpers/wait.js';

interface Unit {
  id: string;
  seq: number;
  agentId: string;
  type: string;
  payload: unknown;
}
interface Chosen {
  seq: number;
  tokens: number;
  reason: string;
  workUnit: Unit;
}

/** The line a model is handed for a unit, as docs/agents.md states it. */
function line(u: Unit): string {
  const p = u.payload as { text?: unknown } | string;
  const text = typeof p === 'string' ? p : typeof p === 'object' && p !== null && typeof p.text === 'string' ? p.text : JSON.stringify(p);
  return `${u.agentId} (${u.type}): ${text}`;
}

const payloadOf = (i: number): unknown =>
  i === 7
    ? { text: 'We chose PostgreSQL logical replication for the zero-downtime migration.' }
    : i % 3 === 0
      ? `step ${i}: ran the test suite, ${i * 7} tests passed`
      : i % 3 === 1
        ? { text: `note ${i}: the build is green again after fixing the flaky lint step ${'again '.repeat(i % 5)}` }
        : { tool: 'grep', args: ['-n', `pattern${i}`], exitCode: i % 2 };

test('window: pins, relevant, then recent; never over budget; counts as the tokenizer does, once, kept across a restart', async () => {
  const dataDir = tempDir();
  let server = await startServer({ dataDir });
  let http = new HttpClient(server.url);
  for (let i = 1; i <= 300; i++) {
    const r = await http.post('/workunit', { contextId: 'run', agentId: `agent-${i % 4}`, type: i % 3 === 2 ? 'TOOL_CALL' : 'MESSAGE', payload: payloadOf(i) });
    assert.equal(r.status, 201, r.text);
  }
  const third = (await http.get('/workunits/run?limit=3')).json.workUnits[2] as Unit;
  assert.equal((await http.request('PATCH', '/contexts/run', { body: { pinUnits: [third.id] } })).status, 200);
  await eventually(
    async () => (await http.post('/search', { query: 'logical replication migration', contextId: 'run', limit: 1 })).json.results?.[0]?.workUnit.seq === 7,
    WAIT_MS,
    'unit 7 indexed',
  );

  const budget = 600;
  const r = await http.post('/contexts/run/window', { budget, query: 'how did we migrate the database without downtime?' });
  assert.equal(r.status, 200, r.text);
  const w = r.json as { tokens: number; units: Chosen[]; headSeq: number; recentFrom: number; encoding: string; exact: boolean; counted: number };
  assert.deepEqual([w.encoding, w.exact, w.headSeq], ['o200k_base', true, 300]);
  for (const u of w.units) {
    assert.equal(u.seq, u.workUnit.seq);
    assert.equal(u.tokens, o200k(line(u.workUnit)), `seq ${u.seq}`);
  }
  const sum = w.units.reduce((a, u) => a + u.tokens, 0);
  assert.equal(w.tokens, sum);
  assert.ok(sum <= budget, `${sum} tokens for a budget of ${budget}`);
  const reasons = w.units.map((u) => u.reason);
  assert.deepEqual(
    reasons,
    [...reasons].sort((a, b) => ['pinned', 'relevant', 'recent'].indexOf(a) - ['pinned', 'relevant', 'recent'].indexOf(b)),
    'pinned, then relevant, then recent',
  );
  assert.deepEqual(
    w.units.filter((u) => u.reason === 'pinned').map((u) => u.seq),
    [3],
  );
  assert.ok(
    w.units.some((u) => u.reason === 'relevant' && u.seq === 7),
    'the unit the query is about',
  );
  const recent = w.units.filter((u) => u.reason === 'recent').map((u) => u.seq);
  assert.deepEqual(
    recent,
    Array.from({ length: recent.length }, (_, i) => w.recentFrom + i),
    'the recent run has no gap',
  );
  assert.equal(recent.at(-1), 300);
  // The next older unit did not fit in what was left.
  const older = (await http.get(`/workunits/run?after=${w.recentFrom - 2}&limit=1`)).json.workUnits[0] as Unit;
  assert.ok(o200k(line(older)) > budget - sum, 'the run stops only when the next unit does not fit');

  // Another model family counts with its own tokenizer; one without a published tokenizer is an estimate.
  const gpt4 = (await http.post('/contexts/run/window', { budget, model: 'gpt-4-turbo' })).json as { encoding: string; units: Chosen[] };
  assert.equal(gpt4.encoding, 'cl100k_base');
  for (const u of gpt4.units) assert.equal(u.tokens, cl100k(line(u.workUnit)));
  assert.equal((await http.post('/contexts/run/window', { budget, model: 'claude-sonnet-4-5' })).json.exact, false);

  // Counted once: a window over everything counts what was not counted yet, the next counts nothing.
  await http.post('/contexts/run/window', { budget: 1_000_000 });
  const again = (await http.post('/contexts/run/window', { budget: 1_000_000 })).json as { counted: number; units: Chosen[] };
  assert.equal(again.counted, 0);
  assert.equal(again.units.length, 300);
  // Every count kept is the count of the unit at that seq.
  for (const u of again.units) assert.deepEqual([u.seq, u.tokens], [u.workUnit.seq, o200k(line(u.workUnit))]);
  // After a restart the complete chunks (seqs 1–256) are read back; only the rest is counted again.
  http.close();
  assert.equal(await server.stop(), 0);
  server = await startServer({ dataDir });
  http = new HttpClient(server.url);
  const restarted = (await http.post('/contexts/run/window', { budget: 1_000_000 })).json as { counted: number; tokens: number };
  assert.equal(restarted.counted, 300 - 256);

  // The same window over gRPC (GetWindow) and the SDK's gRPC client.
  const grpc = new GrpcEngramClient(server.grpcAddr);
  const viaGrpc = await grpc.window('run', { budget, query: 'how did we migrate the database without downtime?' });
  const viaHttp = (await http.post('/contexts/run/window', { budget, query: 'how did we migrate the database without downtime?' })).json as typeof w;
  assert.deepEqual(
    viaGrpc.units.map((u) => [u.seq, u.tokens, u.reason, u.workUnit.id]),
    viaHttp.units.map((u) => [u.seq, u.tokens, u.reason, u.workUnit.id]),
  );
  assert.deepEqual([viaGrpc.tokens, viaGrpc.encoding, viaGrpc.headSeq], [viaHttp.tokens, 'o200k_base', 300]);
  await assert.rejects(grpc.window('run', { budget: 0 }), (e: { code?: string }) => e.code === 'INVALID_FIELD');
  grpc.close();

  // Only what is handed out is counted: a small window of a context never counted before counts
  // at most one step (32 units) past the units it gives, not the whole page it read.
  for (let i = 1; i <= 100; i++)
    assert.equal((await http.post('/workunit', { contextId: 'fresh', agentId: 'a', type: 'MESSAGE', payload: `line ${i} of a fresh context` })).status, 201);
  const small = (await http.post('/contexts/fresh/window', { budget: 40 })).json as { counted: number; units: Chosen[] };
  assert.ok(small.units.length > 0 && small.counted <= small.units.length + 32, `counted ${small.counted} for ${small.units.length} units`);
  // Deleted and written again, a context's seqs name other units: their counts are counted anew.
  await http.post('/contexts/fresh/window', { budget: 1_000_000 });
  assert.equal((await http.request('DELETE', '/contexts/fresh')).status, 200);
  for (let i = 1; i <= 5; i++)
    assert.equal(
      (await http.post('/workunit', { contextId: 'fresh', agentId: 'b', type: 'MESSAGE', payload: `a much longer line ${i}: ${'tokens '.repeat(40 * i)}` })).status,
      201,
    );
  const reborn = (await http.post('/contexts/fresh/window', { budget: 1_000_000 })).json as { counted: number; tokens: number; units: Chosen[] };
  assert.equal(reborn.units.length, 5);
  assert.equal(reborn.counted, 5);
  for (const u of reborn.units) assert.equal(u.tokens, o200k(line(u.workUnit)), `seq ${u.seq} of the new history`);

  // Bad input: a stable code, nothing else.
  for (const [body, code] of [
    [{}, 'MISSING_FIELD'],
    [{ budget: 0 }, 'INVALID_FIELD'],
    [{ budget: 1.5 }, 'INVALID_FIELD'],
    [{ budget: 10, model: 'gpt-4o', encoding: 'cl100k_base' }, 'INVALID_FIELD'],
    [{ budget: 10, encoding: 'p50k' }, 'INVALID_FIELD'],
    [{ budget: 10, relevantShare: 2 }, 'INVALID_FIELD'],
    [{ budget: 10, limit: 3 }, 'UNKNOWN_FIELD'],
  ] as const) {
    assert.equal((await http.post('/contexts/run/window', body)).json.error?.code, code, JSON.stringify(body));
  }
  assert.deepEqual(
    [(await http.post('/contexts/none/window', { budget: 10 })).status, (await http.post('/contexts/none/window', { budget: 10 })).json.error.code],
    [404, 'CONTEXT_NOT_FOUND'],
  );
  // A budget smaller than any unit: an empty window, not an error.
  const tiny = (await http.post('/contexts/run/window', { budget: 1 })).json as { units: Chosen[]; tokens: number };
  assert.deepEqual([tiny.units.length, tiny.tokens], [0, 0]);
  http.close();
  assert.equal(await server.stop(), 0);
  removeDir(dataDir);
});
