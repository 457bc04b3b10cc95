/** POST /search end to end: shapes, bad input, catch-up after a crash, rebuild, an HTTP embedder, search off. */
import assert from 'node:assert/strict';
import http from 'node:http';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { HttpClient, unit } from '../helpers/http.js';
import { removeDir, serverPerFile, startServer, tempDir, type RunningServer } from '../helpers/server.js';
import { eventually, WAIT_MS } from '../helpers/wait.js';

const env = serverPerFile();

async function caughtUp(client: HttpClient, ms = WAIT_MS): Promise<void> {
  await eventually(
    async () => {
      const s = (await client.get('/search/status')).json;
      return s.behind === 0 && s.position === s.logPosition;
    },
    ms,
    'the search index to catch up',
  );
}

const texts = (r: { json: { results: Array<{ workUnit: { payload: unknown } }> } }) => r.json.results.map((x) => x.workUnit.payload);

describe('POST /search', () => {
  test('answers units as stored, with scores and a total; the status tells freshness', async () => {
    await env.http.post('/workunit', unit('s1', { payload: 'the retry policy uses exponential backoff with jitter' }));
    await env.http.post('/workunit', unit('s1', { payload: 'lunch is at noon' }));
    const stored = await env.http.post('/workunit', unit('s1', { payload: 'automobile tires need replacing' }));
    await caughtUp(env.http);
    const r = await env.http.post('/search', { query: 'retry policy', limit: 5 });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.results[0].workUnit.payload, 'the retry policy uses exponential backoff with jitter');
    assert.equal(typeof r.json.results[0].score, 'number');
    assert.equal(r.json.results[0].keywordScore, 1);
    assert.equal(typeof r.json.results[0].vectorScore, 'number');
    assert.equal(typeof r.json.total, 'number');
    const car = await env.http.post('/search', { query: 'car', mode: 'vector', limit: 1 });
    assert.deepEqual(car.json.results[0].workUnit, stored.json, 'the unit comes back exactly as stored');
    const status = (await env.http.get('/search/status')).json;
    assert.deepEqual([status.embedder.kind, status.embedder.ready], ['offline', true]);
    assert.ok(status.freshness.samples >= 3);
    assert.ok(status.documents >= 3 && status.vectors >= 3);
  });

  test('bad requests get clear 4xx codes', async () => {
    const cases: Array<[unknown, number, string]> = [
      [{}, 400, 'MISSING_FIELD'],
      [{ query: '' }, 400, 'MISSING_FIELD'],
      [{ vector: [1, 2, 3] }, 400, 'INVALID_FIELD'],
      [{ query: 'x', limit: 1000 }, 400, 'INVALID_FIELD'],
      [{ query: 'x', limit: -1 }, 400, 'INVALID_FIELD'],
      [{ query: 'x', mode: 'semantic' }, 400, 'INVALID_FIELD'],
      [{ query: 'x', contextIds: [] }, 400, 'INVALID_FIELD'],
      [['query'], 400, 'INVALID_FIELD'],
      [{ query: 'x', fresh: 'yes' }, 400, 'INVALID_FIELD'],
    ];
    for (const [body, status, code] of cases) {
      const r = await env.http.post('/search', body);
      assert.equal(r.status, status, JSON.stringify(body));
      assert.equal(r.json.error.code, code, `${JSON.stringify(body)}: ${r.json.error.message}`);
    }
    assert.equal((await env.http.request('POST', '/search', { raw: 'query=x', headers: { 'content-type': 'text/plain' } })).status, 415);
    const wrongDims = await env.http.post('/workunit', unit('s2', { embedding: [1, 2, 3] }));
    assert.deepEqual([wrongDims.status, wrongDims.json.error.code], [400, 'INVALID_FIELD']);
  });
});

describe('fresh search', () => {
  test('fresh: true answers once the writes before it are searchable; without it, the index may be behind', async (t) => {
    // The model server holds its answers, so the unit cannot be indexed until the test lets it.
    const fake = await fakeEmbedder('openai');
    t.after(() => fake.close());
    const server = await startServer({ args: ['--search-embedder', 'openai', '--search-embedder-url', fake.url, '--search-embedder-model', 'm', '--search-dimensions', '8'] });
    const client = new HttpClient(server.url);
    try {
      await caughtUp(client);
      const release = fake.hold();
      const last = await client.post('/workunit', unit('fresh', { payload: 'the quokka decision is final' }));
      assert.equal(last.status, 201);
      await eventually(async () => fake.requests.some((r) => r.input.includes('the quokka decision is final')), WAIT_MS, 'the unit to reach the embedder');
      const fresh = client.post('/search', { query: 'quokka', mode: 'keyword', contextId: 'fresh', fresh: true });
      let answered = false;
      void fresh.then(() => (answered = true));
      // A search without fresh, sent after it, is answered at once: the unit is not searchable yet.
      const plain = await client.post('/search', { query: 'quokka', mode: 'keyword', contextId: 'fresh' });
      assert.deepEqual(plain.json.results, [], 'not searchable while its embedding is held');
      assert.equal(answered, false, 'the fresh search waits for the index');
      release();
      const r = await fresh;
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(
        r.json.results.map((x: { workUnit: { id: string } }) => x.workUnit.id),
        [last.json.id],
      );
    } finally {
      client.close();
      await server.stop();
      removeDir(server.dataDir);
    }
  });
});

describe('index as a view of the log', () => {
  test('after a kill -9 the index catches up from the log; deleting its files rebuilds the same results', async () => {
    const dataDir = tempDir();
    let server = await startServer({ dataDir });
    let client = new HttpClient(server.url);
    const topics = ['database migration timeout', 'flaky integration test', 'memory leak in the worker', 'retry storm after deploy', 'dns resolution failure'];
    for (let i = 0; i < 60; i++) await client.post('/workunit', unit(`rb-${i % 3}`, { payload: `${topics[i % topics.length]} report ${i}`, agentId: `agent-${i % 4}` }));
    client.close();
    assert.equal(await server.stop('SIGKILL'), 'SIGKILL'); // no snapshot written, nothing flushed by us

    server = await startServer({ dataDir });
    client = new HttpClient(server.url);
    await caughtUp(client);
    const queries = [
      { query: 'memory leak', limit: 10 },
      { query: 'deploy failure', mode: 'vector', limit: 10 },
      { query: 'migration', contextId: 'rb-1', limit: 10 },
    ];
    const before = await Promise.all(queries.map((q) => client.post('/search', q)));
    assert.ok(before[0]!.json.results.length > 0);
    for (const r of before) assert.equal(r.status, 200);
    client.close();
    assert.equal(await server.stop(), 0); // saves a snapshot

    rmSync(join(dataDir, 'search'), { recursive: true, force: true });
    server = await startServer({ dataDir });
    client = new HttpClient(server.url);
    await caughtUp(client);
    const after = await Promise.all(queries.map((q) => client.post('/search', q)));
    for (let i = 0; i < queries.length; i++) {
      const ids = (r: (typeof before)[number]) => r.json.results.map((x: { workUnit: { id: string }; score: number }) => [x.workUnit.id, x.score.toFixed(6)]);
      assert.deepEqual(ids(after[i]!), ids(before[i]!), JSON.stringify(queries[i]));
    }
    client.close();
    assert.equal(await server.stop(), 0);
    removeDir(dataDir);
  });
});

/** A fake embedding server: deterministic 8-dimensional vectors from letter counts. */
/** A model server speaking the embedding API of `kind`; `hold()` keeps its answers until the function it returns is called. */
async function fakeEmbedder(
  kind: 'openai' | 'ollama',
): Promise<{ url: string; requests: Array<{ path: string; model: string; input: string[] }>; hold(): () => void; close(): void }> {
  const requests: Array<{ path: string; model: string; input: string[] }> = [];
  let held: Promise<void> | undefined;
  const vec = (t: string) => Array.from({ length: 8 }, (_, d) => [...t.toLowerCase()].filter((c) => c.charCodeAt(0) % 8 === d).length + 0.01);
  const server = http.createServer({ keepAlive: false }, (req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', async () => {
      const { model, input } = JSON.parse(body) as { model: string; input: string[] };
      requests.push({ path: req.url!, model, input });
      await held;
      res.setHeader('content-type', 'application/json');
      if (kind === 'openai') res.end(JSON.stringify({ data: input.map((t, index) => ({ index, embedding: vec(t) })).reverse() }));
      else res.end(JSON.stringify({ embeddings: input.map(vec) }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    hold: () => {
      let release!: () => void;
      held = new Promise<void>((r) => (release = r));
      return () => {
        held = undefined;
        release();
      };
    },
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}

describe('HTTP embedder', () => {
  for (const kind of ['openai', 'ollama'] as const) {
    test(`${kind}: units and queries are embedded by the model server; a restart does not embed the log again`, async (t) => {
      const fake = await fakeEmbedder(kind);
      t.after(() => fake.close());
      const dataDir = tempDir();
      const args = ['--search-embedder', kind, '--search-embedder-url', fake.url, '--search-embedder-model', 'test-model', '--search-dimensions', '8'];
      let server: RunningServer = await startServer({ dataDir, args });
      let client = new HttpClient(server.url);
      for (const p of ['aaaa aaaa', 'cccc cccc', 'eeee eeee', 'gggg gggg']) await client.post('/workunit', unit('he', { payload: p }));
      await caughtUp(client);
      assert.ok(fake.requests.length >= 1);
      assert.equal(fake.requests[0]!.path, kind === 'openai' ? '/v1/embeddings' : '/api/embed');
      assert.equal(fake.requests[0]!.model, 'test-model');
      assert.deepEqual(fake.requests.flatMap((r) => r.input).sort(), ['aaaa aaaa', 'cccc cccc', 'eeee eeee', 'gggg gggg']);
      const r = await client.post('/search', { query: 'aaaa', mode: 'vector', limit: 1 });
      assert.equal(r.status, 200, r.text);
      assert.equal(texts(r)[0], 'aaaa aaaa');
      client.close();
      assert.equal(await server.stop(), 0);

      const embeddedBefore = fake.requests.flatMap((q) => q.input).length;
      server = await startServer({ dataDir, args });
      client = new HttpClient(server.url);
      await caughtUp(client);
      const again = await client.post('/search', { query: 'cccc', mode: 'vector', limit: 1 });
      assert.equal(texts(again)[0], 'cccc cccc');
      const embeddedAfter = fake.requests.flatMap((q) => q.input);
      assert.deepEqual(embeddedAfter.slice(embeddedBefore), ['cccc'], 'only the new query was embedded');
      client.close();
      assert.equal(await server.stop(), 0);
      removeDir(dataDir);
    });
  }
});

test('with search off, /search is absent and writes carrying embeddings are refused', async () => {
  const server = await startServer({ args: ['--search-enabled', 'false'] });
  const client = new HttpClient(server.url);
  const r = await client.post('/search', { query: 'x' });
  assert.deepEqual([r.status, r.json.error.code], [404, 'NOT_FOUND']);
  assert.match(r.json.error.message, /search is disabled/);
  assert.equal((await client.post('/workunit', unit('off', { embedding: [1] }))).status, 400);
  assert.equal((await client.post('/workunit', unit('off'))).status, 201);
  client.close();
  assert.equal(await server.stop(), 0);
  removeDir(server.dataDir);
});
