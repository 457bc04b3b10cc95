/**
 * Search at 100k units: query latency (keyword, vector, hybrid, hybrid with a context
 * filter), recall of ten paraphrase queries whose targets hide among them, indexing time
 * and memory, commit-to-searchable freshness under steady writes, write latency with search
 * on vs off, and the index's own throughput on one core (in this process, no server).
 *
 *   --vector-index flat | hnsw   the server's search.vectorIndex (default flat)
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ENGRAM_DURABILITY, startEngram, type BenchServer } from './lib/engram-server.js';
import { closedLoop, connect, openLoop } from './lib/load.js';
import { get, postJson } from './lib/raw-http.js';
import { describeSystem, duration, emit, histogram, nowUs, option, quantity, QUICK, size, summarize, TINY } from './lib/stats.js';
import { createEmbedder, createSearchService } from '../src/search/search-parts.js';
import type { SearchSettings } from '../src/search/search-settings.js';
import type { IngestUnit } from '../src/search/search.js';
import { loadWordVectors } from '../src/search/word-vectors.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// 100k in a full run; a quick run indexes 4k (the tiny one of the test suite, 400).
const UNITS = TINY ? 400 : QUICK ? 2000 : 100_000;
const QUERIES = size(1500, 30);

// English words by frequency, from the offline embedder's vocabulary (ranks 100..20100,
// alphabetic only), drawn with Zipf's law and a fixed seed: text with a realistic mix of
// common and rare words.
const WORDS = await loadVocabulary(resolve(import.meta.dirname, '../models/wink-sg-100d.bin'));
let seed = 42;
const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
// p(rank) ∝ 1 / (rank + 100): the list already starts below the 100 most common words.
const zipf = () => WORDS[Math.min(WORDS.length - 1, Math.floor(100 * Math.pow((WORDS.length + 100) / 100, rand())) - 100)]!;
const sentence = (n: number) => Array.from({ length: n }, zipf).join(' ');

async function loadVocabulary(path: string): Promise<string[]> {
  const wv = await loadWordVectors(path);
  const words: string[] = [];
  for (let rank = 100; rank < Math.min(30_000, wv.count) && words.length < 20_000; rank++) {
    const w = wv.word(rank);
    if (/^[a-z]{3,}$/.test(w)) words.push(w);
  }
  return words;
}
const TYPES = ['MESSAGE', 'REASONING', 'TOOL_CALL', 'TOOL_RESULT'];
const VECTOR_INDEX = (option('vector-index') ?? 'flat') as 'flat' | 'hnsw';
/** Result names carry the index kind when it is not the default. */
const KIND = VECTOR_INDEX === 'flat' ? '' : ` (${VECTOR_INDEX})`;

/**
 * Paraphrase queries and the one unit each should find, sharing few or no words with it (the
 * set of test/search/search.test.ts). The targets are written among the corpus; recall@10 says
 * how many of them each mode finds in its first ten results.
 */
const PARAPHRASES: Array<[string, string]> = [
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
/** Unit i of the corpus is paraphrase target k when i = PLANT_AT[k]. */
const PLANT_AT = PARAPHRASES.map((_, k) => Math.floor(((k + 0.5) * UNITS) / PARAPHRASES.length));

function unitBody(i: number): string {
  const planted = PLANT_AT.indexOf(i);
  return JSON.stringify({
    contextId: `ctx-${i % 200}`,
    agentId: `agent-${i % 20}`,
    type: TYPES[i % TYPES.length],
    payload: { text: planted === -1 ? sentence(8 + (i % 12)) : PARAPHRASES[planted]![1] },
  });
}

/** How many paraphrase targets each mode finds in its first ten results. */
async function recall(server: BenchServer): Promise<void> {
  const [c] = await connect(server.port, 1);
  for (const mode of ['keyword', 'vector', 'hybrid'] as const) {
    let found = 0;
    for (const [query, target] of PARAPHRASES) {
      const r = await c!.request(postJson('/search', JSON.stringify(mode === 'hybrid' ? { query, limit: 10 } : { query, mode, limit: 10 })));
      const texts = (JSON.parse(r.body.toString()) as { results: Array<{ workUnit: { payload: { text: string } } }> }).results.map((x) => x.workUnit.payload.text);
      if (texts.includes(target)) found++;
    }
    emit(quantity('search-recall', `${mode} recall@10 of ${PARAPHRASES.length} paraphrase queries, ${UNITS / 1000}k units${KIND}`, found, `of ${PARAPHRASES.length}`));
  }
  c!.close();
}

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : 0;
}

async function status(
  port: number,
  windowMs = 10_000,
): Promise<{
  behind: number;
  position: number;
  embedder: { ready: boolean | null };
  documents: number;
  vectors: number;
  freshness: { samples: number; p50: number; p99: number; max: number };
}> {
  const [c] = await connect(port, 1);
  const r = await c!.request(get(`/search/status?window=${windowMs}`));
  c!.close();
  return JSON.parse(r.body.toString());
}

async function caughtUp(port: number): Promise<void> {
  for (;;) {
    const s = await status(port);
    if (s.behind === 0 && s.embedder.ready !== false) return;
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function queryLatency(server: BenchServer): Promise<void> {
  const conns = await connect(server.port, 1);
  const queries = Array.from({ length: 50 }, (_, i) => sentence(1 + (i % 3)));
  const modes: Array<[string, (q: string, i: number) => Record<string, unknown>]> = [
    ['keyword', (q) => ({ query: q, mode: 'keyword' })],
    ['vector', (q) => ({ query: q, mode: 'vector' })],
    ['hybrid', (q) => ({ query: q })],
    ['hybrid, one context', (q, i) => ({ query: q, contextId: `ctx-${i % 200}` })],
    ['hybrid, agent and type filters', (q, i) => ({ query: q, agentIds: [`agent-${i % 20}`], types: ['MESSAGE'] })],
  ];
  for (const [name, make] of modes) {
    const bodies = queries.map((q, i) => postJson('/search', JSON.stringify(make(q, i))));
    await closedLoop(conns, 100, (_, i) => bodies[i % bodies.length]!, 200); // warm-up
    const r = await closedLoop(conns, QUERIES, (_, i) => bodies[i % bodies.length]!, 200);
    emit(summarize('search', `${name}, ${UNITS / 1000}k units${KIND}`, r.h, r.seconds));
  }
  conns.forEach((c) => c.close());
}

// 1. Fill, index, measure memory and query latency.
describeSystem('engram', ENGRAM_DURABILITY);
const server = await startEngram(['--search-vector-index', VECTOR_INDEX]);
try {
  const rssBefore = rssMiB(server.pid);
  const conns = await connect(server.port, 16);
  const t0 = nowUs();
  await closedLoop(conns, Math.ceil(UNITS / 16), (c, i) => postJson('/workunit', unitBody(c * Math.ceil(UNITS / 16) + i)), 201);
  const written = (nowUs() - t0) / 1e6;
  await caughtUp(server.port);
  const indexed = (nowUs() - t0) / 1e6;
  const s = await status(server.port);
  emit(
    quantity('search-index', `writing and indexing ${UNITS / 1000}k units${KIND}`, Math.round(UNITS / indexed), 'units/s', undefined, {
      writeSeconds: Math.round(written * 10) / 10,
      indexedSeconds: Math.round(indexed * 10) / 10,
      rssBeforeMiB: rssBefore,
      rssAfterMiB: rssMiB(server.pid),
      documents: s.documents,
      vectors: s.vectors,
    }),
  );
  conns.forEach((c) => c.close());
  await queryLatency(server);
  await recall(server);

  // 2. Freshness under steady writes (the server keeps the last 10k commit-to-searchable delays).
  const steady = await connect(server.port, 8);
  for (const rate of [200, 1000]) {
    const seconds = duration(5);
    await openLoop(steady, rate, seconds, (i) => postJson('/workunit', unitBody(UNITS + rate * 100 + i)), 201, { spin: false });
    await caughtUp(server.port);
    const f = (await status(server.port, seconds * 1000)).freshness;
    const fh = histogram();
    fh.recordValue(1);
    // The server measures freshness itself (commit to searchable) and reports p50, p99 and max, in ms.
    const r = summarize('search-freshness', `commit to searchable, ${rate} writes/s`, fh, 1, { serverMeasured: true });
    emit({ ...r, throughput: rate, p50: Math.round(f.p50 * 1000), p90: 0, p99: Math.round(f.p99 * 1000), p999: 0, max: Math.round(f.max * 1000), count: f.samples });
  }
  steady.forEach((c) => c.close());
} finally {
  await server.stop();
}

// 3. Write latency with search on and off, same load: steady agent-like traffic (open loop,
// 200/s) and a sequential writer as fast as it can go (indexing then runs flat out beside it).
// Measured in the steady state: after the embedder has loaded and indexing has caught up with
// the warm-up (loading the word vectors takes a core for a few seconds after start).
for (const on of (QUICK && !TINY) || VECTOR_INDEX !== 'flat' ? [] : [true, false]) {
  const s = await startEngram(on ? [] : ['--search-enabled', 'false']);
  const conns = await connect(s.port, 8);
  await closedLoop(conns, 300, (c, i) => postJson('/workunit', unitBody(c * 1000 + i)), 201);
  if (on) await caughtUp(s.port);
  const r = await openLoop(conns, 200, duration(4), (i) => postJson('/workunit', unitBody(i)), 201);
  emit(summarize('search-write', `write open loop 200/s, search ${on ? 'on' : 'off'}`, r.h, r.seconds));
  const seq = await closedLoop([conns[0]!], size(10_000, 100), (_, i) => postJson('/workunit', unitBody(i)), 201);
  emit(summarize('search-write', `write sequential, search ${on ? 'on' : 'off'}`, seq.h, seq.seconds));
  conns.forEach((c) => c.close());
  await s.stop();
}

// 4. The index alone on one core: the corpus's units handed to a search service in this process
// in slices of 256 (as the indexer does), embedding, keyword and vector inserts included.
{
  const dataDir = mkdtempSync(join(tmpdir(), 'engram-index-bench-'));
  const settings: SearchSettings = {
    embedder: 'offline',
    embedderUrl: '',
    embedderModel: '',
    embedderApiKey: '',
    dimensions: 0,
    vectorIndex: VECTOR_INDEX,
    metaKeys: [],
    wordVectors: resolve(import.meta.dirname, '../models/wink-sg-100d.bin'),
    dataDir,
    snapshotDir: 'search',
  };
  const embedder = createEmbedder(settings);
  await embedder!.ready();
  const service = createSearchService(settings, embedder);
  const ts = new Date().toISOString();
  const units: IngestUnit[] = Array.from({ length: UNITS }, (_, i) => {
    const body = JSON.parse(unitBody(i)) as Record<string, unknown>;
    return { pos: i + 1, clientId: 'bench', contextId: body.contextId as string, json: JSON.stringify({ id: `u${i}`, seq: i + 1, ts, meta: {}, ...body }), embedding: undefined };
  });
  const cpu0 = process.cpuUsage();
  const t0 = nowUs();
  for (let i = 0; i < units.length; i += 256) await service.ingest(units.slice(i, i + 256));
  const seconds = (nowUs() - t0) / 1e6;
  const cpu = process.cpuUsage(cpu0);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  emit(
    quantity('search-index', `index throughput on one core, ${UNITS / 1000}k units, offline embedder${KIND}`, Math.round(UNITS / cpuSeconds), 'units/s', undefined, {
      wallSeconds: Math.round(seconds * 100) / 100,
      cpuSeconds: Math.round(cpuSeconds * 100) / 100,
      microsecondsPerUnit: Math.round((cpuSeconds / UNITS) * 1e6),
    }),
  );
  rmSync(dataDir, { recursive: true, force: true });
}
