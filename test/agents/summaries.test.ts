/**
 * Summaries that stand in for ranges, through a real server: a SUMMARY names the seq range it
 * covers (checked when written); reads with summaries give it in place of the range (HTTP, gRPC,
 * the SDK, MCP's read_recent), the originals stay readable and searchable; a summary of summaries
 * applies in their place; the window uses them; retention trims a covered range but keeps the
 * summary and says what it covered; after a restart the index is scanned again.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { EngramClient, GrpcEngramClient } from '../../src/client/index.js';
import { HttpClient } from '../helpers/http.js';
import { removeDir, startServer, tempDir } from '../helpers/server.js';
import { eventually, WAIT_MS } from '../helpers/wait.js';

interface Unit {
  id: string;
  seq: number;
  type: string;
  payload: { text?: string; covers?: { from: number; to: number } } | string;
}

const summary = (text: string, from: number, to: number) => ({ contextId: 'run', agentId: 'summarizer', type: 'SUMMARY', payload: { text, covers: { from, to } } });

test('summaries stand in for their ranges in reads and windows; retention keeps them and says so', async () => {
  const dir = tempDir('engram-summaries-');
  writeFileSync(join(dir, 'engram.yaml'), 'retention:\n  interval: 7d\n  policies:\n    - {contexts: ["run"], maxUnits: 25}\n');
  const args = ['--config', join(dir, 'engram.yaml')];
  let server = await startServer({ args });
  let http = new HttpClient(server.url);
  const post = async (body: unknown) => {
    const r = await http.post('/workunit', body);
    assert.equal(r.status, 201, r.text);
    return r.json as Unit;
  };
  const seqs = async (q: string) => ((await http.get(`/workunits/run?${q}`)).json.workUnits as Unit[]).map((u) => (u.type === 'SUMMARY' ? `S${u.seq}` : u.seq));
  for (let i = 1; i <= 20; i++)
    await post({ contextId: 'run', agentId: 'worker', type: 'MESSAGE', payload: { text: `step ${i}: the worker ran the migration dry-run number ${i}` } });

  // A SUMMARY's range is checked as it is written: it covers seqs before its own.
  for (const [payload, code] of [
    [{ text: 'x' }, 'MISSING_FIELD'],
    [{ covers: { from: 1, to: 2 } }, 'MISSING_FIELD'],
    [{ text: 'x', covers: { from: 0, to: 2 } }, 'INVALID_FIELD'],
    [{ text: 'x', covers: { from: 5, to: 4 } }, 'INVALID_FIELD'],
    [{ text: 'x', covers: { from: 1, to: 21 } }, 'INVALID_FIELD'],
    [{ text: 'x', covers: { from: 1, to: 2, by: 3 } }, 'UNKNOWN_FIELD'],
    ['just text', 'INVALID_FIELD'],
  ] as const) {
    const r = await http.post('/workunit', { contextId: 'run', agentId: 'summarizer', type: 'SUMMARY', payload });
    assert.equal(r.json.error?.code, code, JSON.stringify(payload));
  }
  assert.equal((await http.get('/contexts/run')).json.headSeq, 20, 'nothing stored by bad summaries');

  const s1 = await post(summary('Steps 1-10: dry-runs of the migration, all clean.', 1, 10)); // seq 21
  for (let i = 22; i <= 30; i++) await post({ contextId: 'run', agentId: 'worker', type: 'MESSAGE', payload: { text: `step ${i}: more work` } });
  assert.equal(s1.seq, 21);

  // Plain reads are unchanged; with summaries the range 1-10 is one item, and S21 is not shown twice.
  assert.deepEqual(await seqs('limit=5'), [1, 2, 3, 4, 5]);
  assert.deepEqual(await seqs('summaries=true&limit=100'), ['S21', 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 22, 23, 24, 25, 26, 27, 28, 29, 30]);
  // Pages: a cursor is the last seq a page consumed (a summary consumes its range), both ways.
  const p1 = (await http.get('/workunits/run?summaries=true&limit=2')).json;
  assert.equal(p1.nextCursor, 11);
  assert.deepEqual(await seqs(`summaries=true&limit=3&after=${p1.nextCursor}`), [12, 13, 14]);
  assert.deepEqual(await seqs('summaries=true&reverse=true&limit=100'), [30, 29, 28, 27, 26, 25, 24, 23, 22, 20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 'S21']);
  const r1 = (await http.get('/workunits/run?summaries=true&reverse=true&limit=10')).json;
  assert.equal(r1.nextCursor, 20);
  assert.deepEqual(await seqs(`summaries=true&reverse=true&limit=10&before=${r1.nextCursor}`), [19, 18, 17, 16, 15, 14, 13, 12, 11, 'S21']);
  // The originals stay readable and searchable.
  assert.equal((await http.get('/workunits/run?after=2&limit=1')).json.workUnits[0].seq, 3);
  await eventually(
    async () =>
      ((await http.post('/search', { query: 'dry-run number 7', contextId: 'run', mode: 'keyword', limit: 5 })).json.results ?? []).some(
        (h: { workUnit: Unit }) => h.workUnit.seq === 7,
      ),
    WAIT_MS,
    'a summarized unit is still found',
  );

  // A summary of summaries (1-30 holds S21) applies in its place; an older one overlapping it does not.
  const s2 = await post(summary('Steps 1-30: migration rehearsed and ready.', 1, 30)); // seq 31
  await post({ contextId: 'run', agentId: 'worker', type: 'MESSAGE', payload: { text: 'step 32: cut over' } });
  assert.deepEqual(await seqs('summaries=true'), [`S${s2.seq}`, 32]);

  // The same over gRPC and the SDK's clients, and MCP's read_recent.
  const grpc = new GrpcEngramClient(server.grpcAddr);
  const viaGrpc = await grpc.list('run', { summaries: true });
  assert.deepEqual(
    viaGrpc.workUnits.map((u) => u.seq),
    [31, 32],
  );
  assert.equal(viaGrpc.workUnits[0]!.type, 'SUMMARY');
  const sdk = new EngramClient(server.url);
  assert.deepEqual(
    (await sdk.list('run', { summaries: true, reverse: true, limit: 1 })).workUnits.map((u) => u.seq),
    [32],
  );
  const mcp = new Client({ name: 'engram-test', version: '1.0.0' });
  await mcp.connect(new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`)));
  const called = (await mcp.callTool({ name: 'read_recent', arguments: { contextId: 'run', limit: 5, summaries: true } })) as { content: Array<{ text: string }> };
  await mcp.close();
  const recent = JSON.parse(called.content[0]!.text) as Unit[];
  assert.deepEqual(
    recent.map((u) => u.seq),
    [31, 32],
  );

  // The window: summaries come before relevant and recent units, and the run does not repeat what they cover.
  const w = (await http.post('/contexts/run/window', { budget: 200, summaries: true })).json as { units: Array<{ seq: number; reason: string }>; tokens: number };
  assert.deepEqual(
    w.units.map((u) => [u.seq, u.reason]),
    [
      [31, 'summary'],
      [32, 'recent'],
    ],
  );
  const viaGrpcWindow = await grpc.window('run', { budget: 200, summaries: true });
  assert.deepEqual(
    viaGrpcWindow.units.map((u) => [u.seq, u.reason]),
    w.units.map((u) => [u.seq, u.reason]),
  );
  // Without summaries, the window is the plain recent run.
  const plain = (await http.post('/contexts/run/window', { budget: 200 })).json as { units: Array<{ seq: number; reason: string }> };
  assert.ok(plain.units.every((u) => u.reason === 'recent') && plain.units.at(-1)!.seq === 32);
  grpc.close();
  // A summary's own seq inside the recent run is no gap in it.
  for (let i = 1; i <= 10; i++) await post({ contextId: 'mid', agentId: 'worker', type: 'MESSAGE', payload: `mid ${i}` });
  await post({ contextId: 'mid', agentId: 'summarizer', type: 'SUMMARY', payload: { text: 'mid 1-3', covers: { from: 1, to: 3 } } });
  for (let i = 12; i <= 15; i++) await post({ contextId: 'mid', agentId: 'worker', type: 'MESSAGE', payload: `mid ${i}` });
  const mid = (await http.post('/contexts/mid/window', { budget: 10_000, summaries: true })).json as { units: Array<{ seq: number; reason: string }>; recentFrom: number };
  assert.deepEqual(
    mid.units.map((u) => (u.reason === 'summary' ? `S${u.seq}` : u.seq)),
    ['S11', 4, 5, 6, 7, 8, 9, 10, 12, 13, 14, 15],
  );

  // A fork shares its parent's summaries up to its fork point.
  assert.equal((await http.post('/contexts/mid/fork', { seq: 12, id: 'mid-what-if' })).status, 201);
  await post({ contextId: 'mid-what-if', agentId: 'worker', type: 'MESSAGE', payload: 'what if 13' });
  assert.deepEqual(
    ((await http.get('/workunits/mid-what-if?summaries=true')).json.workUnits as Unit[]).map((u) => (u.type === 'SUMMARY' ? `S${u.seq}` : u.seq)),
    ['S11', 4, 5, 6, 7, 8, 9, 10, 12, 13],
  );

  // Retention (the newest 25 units: seqs 36-60 stay) trims units a summary covers but keeps the summaries, and says how many it covered.
  for (let i = 33; i <= 60; i++) await post({ contextId: 'run', agentId: 'worker', type: 'MESSAGE', payload: { text: `step ${i}: after the cut-over` } });
  const report = (await http.post('/retention/sweep', {})).json as { trimmed: number; units: number; summarized: number };
  assert.equal(report.trimmed, 1);
  assert.equal(report.summarized, 30, 'of seqs 1-35, the summary of 1-30 covers 30');
  assert.equal(report.units, 33, 'seqs 1-35 but the two summaries');
  assert.equal((await http.get('/contexts/run')).json.firstSeq, 36);
  assert.equal((await http.get(`/workunit/${s1.id}`)).status, 200);
  assert.equal((await http.get(`/workunit/${s2.id}`)).status, 200);
  // Seqs 32-35 are gone without a summary: the read goes from the summary to the first seq kept.
  assert.deepEqual(await seqs('summaries=true&limit=3'), [`S${s2.seq}`, 36, 37]);

  // After a restart the index is scanned again from the log, kept summaries below the first seq included.
  http.close();
  sdk.close();
  assert.equal(await server.stop(), 0);
  server = await startServer({ dataDir: server.dataDir, args });
  http = new HttpClient(server.url);
  assert.deepEqual(await seqs('summaries=true&limit=3'), [`S${s2.seq}`, 36, 37]);
  assert.equal((await seqs('summaries=true&reverse=true&limit=100')).at(-1), `S${s2.seq}`);
  http.close();
  assert.equal(await server.stop(), 0);
  removeDir(server.dataDir);
  removeDir(dir);
});

test('a key allowed only a fork reads the parent summaries and pins it shares; a pinned summary keeps its range out of relevant; bad cursors are refused', async () => {
  const dir = tempDir('engram-summaries-auth-');
  const hash = (key: string) => 'sha256:' + createHash('sha256').update(key).digest('hex');
  const all = 'egk_summaries-all-0123456789abcdefghijklmnopqrstuvwxyz';
  const forkOnly = 'egk_summaries-fork-0123456789abcdefghijklmnopqrstuvwxyz';
  writeFileSync(
    join(dir, 'engram.yaml'),
    `auth:\n  mode: apikey\n  keys:\n    - {client: team, hash: "${hash(all)}", scopes: [read, write]}\n    - {client: team, hash: "${hash(forkOnly)}", scopes: [read], contexts: ["what-if"]}\n`,
  );
  const server = await startServer({ args: ['--config', join(dir, 'engram.yaml')] });
  const http = new HttpClient(server.url);
  const asAll = { authorization: `Bearer ${all}` };
  const asFork = { authorization: `Bearer ${forkOnly}` };
  const post = async (body: unknown) => {
    const r = await http.post('/workunit', body, asAll);
    assert.equal(r.status, 201, r.text);
    return r.json as Unit;
  };
  const topics = ['database index tuning', 'deploy pipeline', 'cache eviction', 'billing export', 'login flow', 'search ranking'];
  for (let i = 1; i <= 6; i++) await post({ contextId: 'base', agentId: 'worker', type: 'MESSAGE', payload: { text: `step ${i}: worked on the ${topics[i - 1]}` } });
  const s = await post({ contextId: 'base', agentId: 'summarizer', type: 'SUMMARY', payload: { text: 'Steps 1-3: index, deploy and cache.', covers: { from: 1, to: 3 } } }); // seq 7
  const five = (await http.get('/workunits/base?after=4&limit=1', asAll)).json.workUnits[0] as Unit;
  assert.equal((await http.patch('/contexts/base', { pinUnits: [s.id, five.id] }, asAll)).status, 200);
  assert.equal((await http.post('/contexts/base/fork', { seq: 7, id: 'what-if' }, asAll)).status, 201);
  await post({ contextId: 'what-if', agentId: 'worker', type: 'MESSAGE', payload: { text: 'step 8: what if we skip the cache' } });

  // The fork-only key cannot read the parent, but reads its summaries and pins through the fork.
  assert.equal((await http.get('/workunits/base', asFork)).status, 403);
  const read = (await http.get('/workunits/what-if?summaries=true', asFork)).json as { workUnits: Unit[] };
  assert.deepEqual(
    read.workUnits.map((u) => (u.type === 'SUMMARY' ? `S${u.seq}` : u.seq)),
    ['S7', 4, 5, 6, 8],
  );
  const w = (await http.post('/contexts/what-if/window', { budget: 10_000, summaries: true }, asFork)).json as { units: Array<{ seq: number; reason: string }> };
  assert.deepEqual(
    w.units.map((u) => [u.seq, u.reason]),
    [
      [5, 'pinned'],
      [7, 'pinned'],
      [4, 'recent'],
      [6, 'recent'],
      [8, 'recent'],
    ],
  );

  // A pinned summary stands in for its range all the same: the units it covers are never "relevant".
  const whole = (await http.post('/contexts/base/window', { budget: 10_000 }, asAll)).json as { units: Array<{ seq: number; tokens: number }> };
  const tokens = (seq: number) => whole.units.find((u) => u.seq === seq)!.tokens;
  // The pins, and room for about two units, nearly all of it held for relevant ones: the recent run cannot reach seqs 1-3 first.
  const budget = tokens(5) + tokens(7) + 2 * tokens(1);
  await eventually(
    async () => ((await http.post('/search', { query: 'database index tuning', contextId: 'base', mode: 'keyword' }, asAll)).json.results ?? []).length > 0,
    WAIT_MS,
    'step 1 is searchable',
  );
  const q = (await http.post('/contexts/base/window', { budget, summaries: true, query: 'database index tuning', relevantShare: 0.9 }, asAll)).json as {
    units: Array<{ seq: number; reason: string }>;
  };
  assert.ok(
    q.units.every((u) => u.seq > 3),
    `seqs 1-3 are the pinned summary's: ${JSON.stringify(q.units)}`,
  );

  // Reads with summaries check their cursors as plain reads do.
  for (const bad of ['after=-1', 'before=0', 'after=1.5', 'limit=0']) {
    const r = await http.get(`/workunits/base?summaries=true&${bad}`, asAll);
    assert.equal(r.status, 400, bad);
    assert.equal(r.json.error.code, 'INVALID_QUERY', bad);
  }
  http.close();
  assert.equal(await server.stop(), 0);
  removeDir(server.dataDir);
  removeDir(dir);
});

test('summaries by the language model: the range as read with summaries goes to the model, the SUMMARY covers all it read; a bad answer stores nothing', async (t) => {
  // A provider on loopback speaking the OpenAI chat-completions format; answers are queued.
  const answers: unknown[] = [];
  const prompts: string[] = [];
  const fake = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const b = JSON.parse(body) as { model: string; messages: Array<{ role: string; content: string }> };
      prompts.push(b.messages.find((m) => m.role === 'user')!.content);
      const content = JSON.stringify(answers.shift() ?? {});
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify({
          id: 'c1',
          object: 'chat.completion',
          model: b.model,
          choices: [{ index: 0, message: { role: 'assistant', content, refusal: null }, finish_reason: 'stop' }],
        }),
      );
    });
  });
  await new Promise<void>((r) => fake.listen(0, '127.0.0.1', r));
  t.after(() => {
    fake.closeAllConnections();
    fake.close();
  });
  const url = `http://127.0.0.1:${(fake.address() as { port: number }).port}/v1`;
  const server = await startServer({ args: ['--memory-model-provider', 'openai', '--memory-model-url', url, '--memory-model-name', 'test-model', '--search-enabled', 'false'] });
  const http = new HttpClient(server.url);
  t.after(async () => {
    http.close();
    await server.stop();
    removeDir(server.dataDir);
  });
  for (let i = 1; i <= 6; i++) await http.post('/workunit', { contextId: 'job', agentId: 'worker', type: 'MESSAGE', payload: { text: `step ${i}` } });
  await http.post('/workunit', { contextId: 'job', agentId: 'me', type: 'SUMMARY', payload: { text: 'Steps 1-3 went fine.', covers: { from: 1, to: 3 } } }); // seq 7

  answers.push({ summary: 'Steps 1-6 went fine; nothing is open.' });
  const sdk = new EngramClient(server.url);
  const made = await sdk.summarize('job', { from: 2, to: 6 });
  // The model read the earlier summary in place of 1-3 (so the new one covers 1-6), then 4-6.
  assert.equal(prompts[0], '[1-3] me (SUMMARY): Steps 1-3 went fine.\n[4] worker (MESSAGE): step 4\n[5] worker (MESSAGE): step 5\n[6] worker (MESSAGE): step 6');
  assert.deepEqual([made.type, made.seq, made.agentId, made.meta.model], ['SUMMARY', 8, 'engram-summarizer', 'openai:test-model']);
  assert.deepEqual(made.payload, { text: 'Steps 1-6 went fine; nothing is open.', covers: { from: 1, to: 6 } });
  assert.deepEqual(
    ((await http.get('/workunits/job?summaries=true')).json.workUnits as Unit[]).map((u) => u.seq),
    [8],
  );

  // An answer that is not a summary is refused, and nothing is stored.
  answers.push({ summary: '' });
  const bad = await http.post('/contexts/job/summarize', {});
  assert.deepEqual([bad.status, bad.json.error.code], [502, 'MODEL_OUTPUT_INVALID']);
  for (const [body, code] of [
    [{ from: 0 }, 'INVALID_FIELD'],
    [{ to: 99 }, 'INVALID_FIELD'],
    [{ from: 5, to: 4 }, 'INVALID_FIELD'],
    [{ range: 1 }, 'UNKNOWN_FIELD'],
  ] as const) {
    assert.equal((await http.post('/contexts/job/summarize', body)).json.error?.code, code, JSON.stringify(body));
  }
  assert.equal((await http.get('/contexts/job')).json.headSeq, 8);

  // Through MCP's summarize_context: a summary of everything (the one of 1-6 stands in for its part).
  answers.push({ summary: 'The whole job: six steps, all fine.' });
  const mcp = new Client({ name: 'engram-test', version: '1.0.0' });
  await mcp.connect(new StreamableHTTPClientTransport(new URL(`${server.url}/mcp?agentId=mcp-agent`)));
  const r = (await mcp.callTool({ name: 'summarize_context', arguments: { contextId: 'job' } })) as { content: Array<{ text: string }>; isError?: boolean };
  await mcp.close();
  assert.notEqual(r.isError, true, r.content[0]!.text);
  const viaMcp = JSON.parse(r.content[0]!.text) as Unit & { agentId: string };
  assert.deepEqual([viaMcp.seq, viaMcp.agentId, viaMcp.payload], [9, 'mcp-agent', { text: 'The whole job: six steps, all fine.', covers: { from: 1, to: 8 } }]);
  assert.equal(prompts.at(-1), '[1-6] engram-summarizer (SUMMARY): Steps 1-6 went fine; nothing is open.');
  sdk.close();
});
