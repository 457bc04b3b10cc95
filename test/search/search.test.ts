/** Search over a memory log with the real keyword and vector indexes, driven through the indexer. */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { describe, test } from 'node:test';
import { Engine } from '../../src/engine/engine.js';
import { EngramError } from '../../src/basics/errors.js';
import { Indexer } from '../../src/search/indexer.js';
import type { Embedder } from '../../src/search/search-types.js';
import { SearchService, type SearchResponse } from '../../src/search/search.js';
import { DEFAULT_WORD_VECTORS } from '../../src/cli/search-wiring.js';
import { OfflineEmbedder } from '../../src/search/embedder-offline.js';
import { FlexKeywordIndex } from '../../src/search/keyword-flexsearch.js';
import { FlatVectorIndex } from '../../src/search/vector-flat.js';
import { UsearchVectorIndex } from '../../src/search/vector-usearch.js';
import { MemoryLog } from '../../src/storage/log-memory.js';

const C = 'client';

/** Both vector indexes: the flat scan (the default) and the HNSW graph (search.vectorIndex: hnsw). */
const VECTOR_INDEXES = {
  flat: (d: number) => new FlatVectorIndex(d),
  hnsw: (d: number) => new UsearchVectorIndex(d),
} as const;

async function setup(embedder: Embedder | undefined, dimensions: number | undefined, vectorIndex: keyof typeof VECTOR_INDEXES = 'flat', yieldAboveUtilization?: number) {
  const log = new MemoryLog();
  const engine = new Engine(log, { idempotencyTtlMs: 60_000, maxBatchUnits: 256, tailUnits: 64, maxCachedContexts: 100, maxTailBytes: 1 << 24, embeddingDims: dimensions });
  await engine.open();
  const service = new SearchService({
    embedder,
    dimensions,
    metaKeys: ['title'],
    factories: { keyword: () => new FlexKeywordIndex(), vector: VECTOR_INDEXES[vectorIndex] },
  });
  const indexer = new Indexer(engine, log, service, { pageSize: 64, sliceUnits: 8, snapshotIntervalMs: 0, yieldAboveUtilization, onError: (e) => assert.fail(String(e)) });
  indexer.start();
  const write = async (contextId: string, payload: unknown, extra: Record<string, unknown> = {}) =>
    engine.append(C, { contextId, agentId: 'agent', type: 'MESSAGE', payload, ...extra });
  const settle = () => indexer.waitFor(engine.committedPosition);
  const search = (q: Record<string, unknown>) => service.search(C, q, log);
  return { engine, service, indexer, write, settle, search };
}

const texts = (r: SearchResponse) => r.results.map((x) => JSON.parse(x.workUnit).payload as string);
const isCode = (code: string) => (e: unknown) => e instanceof EngramError && e.code === code;

describe('keyword search', () => {
  test('units matching every word rank above those matching some; scores follow rank', async () => {
    const s = await setup(undefined, undefined);
    await s.write('k', 'the retry policy uses exponential backoff');
    await s.write('k', 'lunch is at noon');
    await s.write('k', 'retry the request later');
    await s.write('k', 'the backoff doubles each time');
    await s.settle();
    const r = await s.search({ query: 'retry backoff', mode: 'keyword' });
    assert.equal(texts(r)[0], 'the retry policy uses exponential backoff');
    assert.deepEqual(new Set(texts(r).slice(1)), new Set(['retry the request later', 'the backoff doubles each time']));
    assert.equal(r.total, 3);
    assert.equal(r.results[0]!.keywordScore, 1);
    assert.equal(r.results[0]!.vectorScore, null);
    for (let i = 1; i < r.results.length; i++) assert.ok(r.results[i - 1]!.score > r.results[i]!.score);
    // Stemming: "retries" finds "retry".
    assert.ok(texts(await s.search({ query: 'retries', mode: 'keyword' })).includes('retry the request later'));
    assert.deepEqual(texts(await s.search({ query: 'zebra', mode: 'keyword' })), []);
    await s.indexer.stop();
  });

  test('payload objects and selected meta are indexed; other meta is not', async () => {
    const s = await setup(undefined, undefined);
    await s.write('m', { tool: 'grep', args: ['needle in a haystack'] });
    await s.write('m', 'plain', { meta: { title: 'quarterly roadmap', owner: 'zanzibar' } });
    await s.settle();
    assert.equal(texts(await s.search({ query: 'haystack', mode: 'keyword' })).length, 1);
    assert.equal((await s.search({ query: 'roadmap', mode: 'keyword' })).results.length, 1);
    assert.equal((await s.search({ query: 'zanzibar', mode: 'keyword' })).results.length, 0);
    await s.indexer.stop();
  });

  test('binary values are not words: their base64 and content type are not indexed, the strings beside them are', async () => {
    const s = await setup(undefined, undefined);
    // 'aGF5c3RhY2s=' is base64 of "haystack"; the word itself appears only in the base64 form.
    await s.write('b', { text: 'needle notes', value: { $binary: 'aGF5c3RhY2s=', contentType: 'application/zanzibar' } });
    await s.write('b', { $binary: 'bmVlZGxl', contentType: 'text/plain' });
    await s.settle();
    assert.equal((await s.search({ query: 'needle', mode: 'keyword' })).results.length, 1);
    assert.equal((await s.search({ query: 'aGF5c3RhY2s', mode: 'keyword' })).results.length, 0);
    assert.equal((await s.search({ query: 'zanzibar', mode: 'keyword' })).results.length, 0);
    assert.equal((await s.search({ query: 'bmVlZGxl', mode: 'keyword' })).results.length, 0);
    await s.indexer.stop();
  });
});

describe('filters and paging', () => {
  test('each filter is applied inside retrieval, so a narrow filter still fills its page', async () => {
    const s = await setup(undefined, undefined);
    const t0 = Date.now();
    // 300 strong matches elsewhere would fill any truncated top-k before these few.
    for (let i = 0; i < 300; i++) await s.write('busy', 'deploy deploy deploy pipeline failure', { agentId: 'bot' });
    await s.write('quiet', 'deploy note', { agentId: 'alice', type: 'REASONING', meta: { phase: 'beta' } });
    await s.write('quiet', 'deploy again', { agentId: 'bob', type: 'MESSAGE', meta: { phase: 'alpha' } });
    await s.write('other', 'deploy elsewhere', { agentId: 'alice', type: 'TOOL_CALL' });
    await s.settle();
    const q = { query: 'deploy', mode: 'keyword' };
    assert.deepEqual(new Set(texts(await s.search({ ...q, contextId: 'quiet' }))), new Set(['deploy note', 'deploy again']));
    assert.deepEqual(new Set(texts(await s.search({ ...q, contextIds: ['quiet', 'other'] }))), new Set(['deploy note', 'deploy again', 'deploy elsewhere']));
    assert.deepEqual(new Set(texts(await s.search({ ...q, agentIds: ['alice'] }))), new Set(['deploy note', 'deploy elsewhere']));
    assert.deepEqual(texts(await s.search({ ...q, types: ['REASONING'] })), ['deploy note']);
    assert.deepEqual(texts(await s.search({ ...q, meta: { phase: 'alpha' } })), ['deploy again']);
    assert.equal((await s.search({ ...q, since: new Date(t0 - 60_000).toISOString(), limit: 100 })).total >= 100, true);
    assert.equal((await s.search({ ...q, until: new Date(t0 - 60_000).toISOString() })).results.length, 0);
    assert.equal((await s.search({ ...q, contextId: 'nope' })).total, 0);
    await s.indexer.stop();
  });

  test('pages do not overlap and together give the whole result list', async () => {
    const s = await setup(undefined, undefined);
    for (let i = 0; i < 45; i++) await s.write('p', `topic alpha number ${i}`);
    await s.settle();
    const all = await s.search({ query: 'alpha', mode: 'keyword', limit: 100 });
    assert.equal(all.total, 45);
    assert.equal(all.totalRelation, 'eq');
    const paged: string[] = [];
    for (let offset = 0; offset < 45; offset += 10) paged.push(...texts(await s.search({ query: 'alpha', mode: 'keyword', limit: 10, offset })));
    assert.deepEqual(paged, texts(all));
    assert.equal(new Set(paged).size, 45);
    await s.indexer.stop();
  });
});

for (const kind of ['flat', 'hnsw'] as const)
  describe(`vector search (${kind} index)`, () => {
    test('client vectors: nearest first by cosine, through the index and through an exact filtered scan', async () => {
      const s = await setup(undefined, 3, kind);
      await s.write('v', 'east', { embedding: [1, 0, 0] });
      await s.write('v', 'north-east', { embedding: [1, 1, 0] });
      await s.write('v', 'north', { embedding: [0, 1, 0] });
      await s.write('w', 'west', { embedding: [-1, 0, 0] });
      await s.write('v', 'no vector');
      await s.settle();
      const r = await s.search({ vector: [1, 0.1, 0], mode: 'vector', limit: 4 });
      assert.deepEqual(texts(r), ['east', 'north-east', 'north', 'west']);
      assert.ok(Math.abs(r.results[0]!.vectorScore! - 0.995) < 0.01);
      assert.equal(r.results[0]!.keywordScore, null);
      assert.deepEqual(texts(await s.search({ vector: [1, 0.1, 0], mode: 'vector', contextId: 'w' })), ['west']);
      await assert.rejects(s.search({ vector: [1, 0], mode: 'vector' }), (e: unknown) => isCode('INVALID_FIELD')(e) && /2 dimensions; the index has 3/.test((e as Error).message));
      await assert.rejects(s.write('v', 'bad', { embedding: [1, 2] }), isCode('INVALID_FIELD'));
      await s.indexer.stop();
    });

    test('bad queries are refused with clear codes', async () => {
      const s = await setup(undefined, 3, kind);
      const cases: Array<[Record<string, unknown>, string]> = [
        [{}, 'MISSING_FIELD'],
        [{ query: '   ' }, 'MISSING_FIELD'],
        [{ vector: [1, 2, 3], mode: 'keyword' }, 'MISSING_FIELD'],
        [{ query: 'x', mode: 'fuzzy' }, 'INVALID_FIELD'],
        [{ query: 'x', limit: 0 }, 'INVALID_FIELD'],
        [{ query: 'x', limit: 101 }, 'INVALID_FIELD'],
        [{ query: 'x', offset: -1 }, 'INVALID_FIELD'],
        [{ query: 'x', offset: 995, limit: 10 }, 'INVALID_FIELD'],
        [{ query: 'x', types: ['NOPE'] }, 'INVALID_FIELD'],
        [{ query: 'x', since: 'yesterday' }, 'INVALID_FIELD'],
        [{ query: 'x', contextId: 'a', contextIds: ['b'] }, 'INVALID_FIELD'],
        [{ query: 'x', colour: 'red' }, 'UNKNOWN_FIELD'],
        [{ vector: ['a'] }, 'INVALID_FIELD'],
        [{ query: 'x'.repeat(1001) }, 'INVALID_FIELD'],
      ];
      for (const [q, code] of cases) await assert.rejects(s.search(q), isCode(code), JSON.stringify(q).slice(0, 60));
      await s.indexer.stop();
    });
  });

for (const kind of ['flat', 'hnsw'] as const)
  describe(`hybrid search with the offline embedder (${kind} index)`, { skip: existsSync(DEFAULT_WORD_VECTORS) ? false : 'word vectors not built (make build)' }, () => {
    test('on paraphrase queries, hybrid recall@5 beats keyword-only', async (t) => {
      const embedder = new OfflineEmbedder(DEFAULT_WORD_VECTORS);
      const s = await setup(embedder, 100, kind);
      // Each query paraphrases its target with few or no shared words; the rest is distraction.
      const labelled: Array<[string, string]> = [
        ['automobile maintenance', 'the car needs new tires and an oil change'],
        ['server crashed overnight', 'the machine went down at night with a fatal kernel error'],
        ['physician appointment', 'booked a visit with the doctor for tuesday'],
        ['purchase groceries', 'buy milk bread and eggs at the supermarket'],
        ['holiday travel plans', 'we fly to spain for a vacation in august'],
        ['salary increase request', 'asked my manager for a raise in pay'],
        ['residence relocation', 'moving to a new apartment across town next month'],
        ['canine veterinarian', 'took the dog to the vet for vaccines'],
        ['rainfall forecast', 'meteorologists expect heavy showers and storms tomorrow'],
        ['musical concert tickets', 'bought seats for the orchestra performance'],
      ];
      const distractors = [
        'the quarterly report is due friday',
        'please review the pull request',
        'coffee machine is broken again',
        'the meeting moved to room four',
        'update the onboarding checklist',
        'the printer is out of toner',
        'rotate the api keys this week',
        'the garden needs watering',
        'new chairs arrived for the office',
        'the build pipeline is green',
        'lunch is at noon in the cafeteria',
        'password policy changed',
      ];
      for (const d of distractors) await s.write('h', d);
      for (const [, target] of labelled) await s.write('h', target);
      for (const d of distractors) await s.write('h', `${d} again`);
      await s.settle();
      let keywordHits = 0;
      let hybridHits = 0;
      for (const [query, target] of labelled) {
        if (texts(await s.search({ query, mode: 'keyword', limit: 5 })).includes(target)) keywordHits++;
        const hybrid = await s.search({ query, limit: 5 });
        if (texts(hybrid).includes(target)) hybridHits++;
      }
      t.diagnostic(`recall@5: hybrid ${hybridHits}/10, keyword ${keywordHits}/10`);
      assert.ok(hybridHits > keywordHits, `hybrid recall@5 ${hybridHits}/10 vs keyword ${keywordHits}/10`);
      assert.ok(hybridHits >= 6, `hybrid recall@5 is ${hybridHits}/10`);
      await s.indexer.stop();
    });
  });

describe('idle partitions', () => {
  test('a dropped partition is rebuilt from the log on demand, with what was written meanwhile, each unit once', async () => {
    const s = await setup(undefined, undefined);
    await s.write('p', 'alpha report one');
    await s.engine.append('other', { contextId: 'p', agentId: 'a', type: 'MESSAGE', payload: 'alpha of another client' });
    await s.settle();
    await s.indexer.drop([C]);
    assert.equal(s.service.loaded(C), false);
    assert.equal(s.service.stats().droppedClients, 1);
    // Written while dropped: skipped by the index, still in the log.
    await s.write('p', 'alpha report two');
    await s.settle();
    assert.deepEqual(texts(await s.search({ query: 'alpha', mode: 'keyword' })), [], 'a dropped partition answers nothing by itself');
    // The rebuild; units committed while it runs are held back and added after it, never twice.
    const rebuilding = s.indexer.ensure(C);
    assert.ok(rebuilding !== undefined);
    const during = s.write('p', 'alpha report three');
    await rebuilding;
    await during;
    await s.settle();
    assert.equal(s.indexer.ensure(C), undefined, 'loaded again');
    const found = texts(await s.search({ query: 'alpha report', mode: 'keyword', limit: 10 }));
    assert.deepEqual([...found].sort(), ['alpha report one', 'alpha report three', 'alpha report two']);
    assert.equal((await s.search({ query: 'alpha', mode: 'keyword' })).total, 3);
    // The other client's partition was never touched.
    assert.deepEqual(texts(await s.service.search('other', { query: 'alpha', mode: 'keyword' }, s.engine)), ['alpha of another client']);
    await s.indexer.stop();
  });
});

describe('indexing yields to writes', () => {
  /** Keeps this event loop busy (as a burst of writes would) in 20 ms spins until stopped; resolves `started` after the first spins. */
  function spin(): { started: Promise<void>; stop: () => Promise<void> } {
    let running = true;
    let spins = 0;
    let markStarted!: () => void;
    let markStopped!: () => void;
    const started = new Promise<void>((r) => (markStarted = r));
    const stopped = new Promise<void>((r) => (markStopped = r));
    const step = () => {
      if (!running) return markStopped();
      const until = Date.now() + 20;
      while (Date.now() < until);
      if (++spins === 3) markStarted();
      setImmediate(step);
    };
    setImmediate(step);
    return { started, stop: () => ((running = false), stopped) };
  }

  test('while the event loop is busy the index waits; once it is quiet the index catches up', async () => {
    const s = await setup(undefined, undefined, 'flat', 0.5);
    await s.write('y', 'before the burst');
    await s.settle();
    const busy = spin();
    await busy.started;
    const t0 = performance.now();
    const { seq } = await s.write('y', 'written during the burst');
    assert.equal(seq, 2, 'the write itself does not wait');
    // Well inside the longest wait (1 s): unless this process was stalled that long, nothing was indexed.
    await new Promise((r) => setTimeout(r, 300));
    const searchable = texts(await s.search({ query: 'burst', mode: 'keyword' }));
    assert.deepEqual(searchable.includes('before the burst'), true, 'what was indexed before stays searchable');
    if (performance.now() - t0 < 900) assert.ok(!searchable.includes('written during the burst'), 'not indexed while the event loop was busy');
    await busy.stop();
    await s.settle();
    assert.ok(texts(await s.search({ query: 'burst', mode: 'keyword' })).includes('written during the burst'));
    assert.ok(s.indexer.status().yieldedToWritesMs > 0);
    await s.indexer.stop();
  });

  test('without the option, indexing never waits', async () => {
    const s = await setup(undefined, undefined, 'flat');
    const busy = spin();
    await busy.started;
    await s.write('n', 'written during the burst');
    await s.settle();
    assert.deepEqual(texts(await s.search({ query: 'burst', mode: 'keyword' })), ['written during the burst']);
    assert.equal(s.indexer.status().yieldedToWritesMs, 0);
    await busy.stop();
    await s.indexer.stop();
  });
});
