/**
 * Hybrid search over work units: keyword retrieval (flexsearch) and vector
 * retrieval (HNSW, or an exact scan when filters narrow the candidates), fused by
 * reciprocal rank fusion. Filters run inside retrieval: a retriever is asked for more
 * and more candidates until enough pass the filters or none are left, so a filter
 * never empties a page that a deeper search would fill.
 *
 * Each client has its own index (documents, keyword, vectors), created on first use.
 */
import { EngramError } from '../basics/errors.js';
import type { Log } from '../engine/log.js';
import { DocTable, unitText } from './search-docs.js';
import { parseSearchQuery, SEARCH_LIMITS, type SearchQuery } from './search-query.js';
import type { Embedder, KeywordIndex, SearchFactories, VectorIndex, VectorSnapshots } from './search-types.js';
import type { StringMap, WorkUnitType } from '../basics/types.js';

/** The constant of reciprocal rank fusion: score = Σ 1 / (RRF_K + rank). */
export const RRF_K = 60;
/** Below this many filtered candidates, vectors are compared exactly instead of through the HNSW graph. */
const EXACT_SCAN_MAX = 20_000;
/** Candidates taken from each retriever before fusion, at least. */
const MIN_DEPTH = 100;
/** Up to this many filtered candidates, keyword matching is done over them directly. */
const NARROW_KEYWORD_MAX = 5000;
/** A query word in more than this share of a client's units is dropped (unless it is the only one): it does not discriminate, and long posting lists are slow. */
const COMMON_TERM_SHARE = 0.25;
/** …in an index of at least this many units (in a small one every word is "common" by chance). */
const COMMON_TERM_MIN_UNITS = 1000;

export interface SearchOptions {
  /** Undefined for `none`: keyword only, except for units that carry their own embedding. */
  embedder: Embedder | undefined;
  /** Dimensions of the vector index (the embedder's, or configured for client vectors); undefined: no vectors. */
  dimensions: number | undefined;
  /** Meta keys whose values are indexed as text with the payload. */
  metaKeys: readonly string[];
  factories: SearchFactories;
  snapshots?: VectorSnapshots;
}

export interface SearchHit {
  /** Log position of the unit. */
  pos: number;
  score: number;
  keywordScore: number | null;
  vectorScore: number | null;
}

/** One page of hits: what an index answers, before the units are read from the log. */
export interface SearchHits {
  hits: SearchHit[];
  total: number;
  /** 'eq' when `total` is exact; 'gte' when retrieval stopped at the candidate depth. */
  totalRelation: 'eq' | 'gte';
}

export interface SearchResult {
  /** The unit's JSON text, as stored. */
  workUnit: string;
  score: number;
  keywordScore: number | null;
  vectorScore: number | null;
}

export interface SearchResponse {
  results: SearchResult[];
  total: number;
  totalRelation: 'eq' | 'gte';
}

/** A unit handed to the index, in log order. */
export interface IngestUnit {
  pos: number;
  clientId: string;
  contextId: string;
  json: string;
  embedding: Float32Array | undefined;
}

/** Anything that answers parsed queries with hits: the in-process service, or a worker that runs one. */
export interface SearchQuerier {
  query(clientId: string, q: SearchQuery): Promise<SearchHits>;
}

/** Validates a request, asks the index, and reads the page's units from the log. */
export async function runSearch(querier: SearchQuerier, log: Pick<Log, 'unitsAt'>, clientId: string, input: unknown): Promise<SearchResponse> {
  const q = parseSearchQuery(input);
  const found = await querier.query(clientId, q);
  const jsons = await log.unitsAt(found.hits.map((h) => h.pos));
  const results: SearchResult[] = [];
  found.hits.forEach((h, i) => {
    const json = jsons[i];
    if (json !== undefined) results.push({ workUnit: json, score: h.score, keywordScore: h.keywordScore, vectorScore: h.vectorScore });
  });
  return { results, total: found.total, totalRelation: found.totalRelation };
}

interface ClientIndex {
  docs: DocTable;
  keyword: KeywordIndex;
  vector: VectorIndex | undefined;
  /** Vectors by slot, for exact scans (dimensions × slots). */
  vectors: Float32Array;
  hasVector: Uint8Array;
  /** Vectors saved by an earlier run, by position, used instead of embedding again until caught up. */
  saved: Map<number, Float32Array> | undefined;
}

export class SearchService implements SearchQuerier {
  private readonly clients = new Map<string, ClientIndex>();
  /** Partitions dropped as idle: their units are skipped until a restore rebuilds them from the log. */
  private readonly dropped = new Set<string>();
  /** Partitions being rebuilt: live units that arrive meanwhile wait here, in log order. */
  private readonly restoring = new Map<string, IngestUnit[]>();
  /**
   * Positions of deleted or trimmed units that may still arrive (the indexer had them queued or
   * read when they went): never indexed. Kept until the index position has passed them.
   */
  private readonly gone = new Set<number>();
  /** Log position up to which every unit is indexed (or belongs to a dropped partition). */
  position = 0;

  constructor(readonly options: SearchOptions) {}

  private client(clientId: string): ClientIndex {
    let ci = this.clients.get(clientId);
    if (ci === undefined) {
      const dims = this.options.dimensions;
      let saved: Map<number, Float32Array> | undefined;
      if (dims !== undefined) {
        const snap = this.options.snapshots?.load(clientId, this.embedderId(), dims);
        if (snap !== undefined) {
          saved = new Map();
          for (let i = 0; i < snap.positions.length; i++) saved.set(snap.positions[i]!, snap.vectors.subarray(i * dims, (i + 1) * dims));
        }
      }
      ci = {
        docs: new DocTable(),
        keyword: this.options.factories.keyword(),
        vector: dims === undefined ? undefined : this.options.factories.vector(dims),
        vectors: new Float32Array((dims ?? 0) * 1024),
        hasVector: new Uint8Array(1024),
        saved,
      };
      this.clients.set(clientId, ci);
    }
    return ci;
  }

  private embedderId(): string {
    return this.options.embedder?.id ?? 'none';
  }

  /**
   * Indexes units in log order. Embeddings come from the units (stored by the client) or
   * from the embedder; units the vector snapshot already holds are not embedded again.
   */
  /** `through`: every position up to it is taken care of (positions with no unit: deleted ones). */
  async ingest(units: IngestUnit[], through = 0): Promise<void> {
    const live: IngestUnit[] = [];
    for (const u of units) {
      if (this.gone.has(u.pos)) continue;
      const held = this.restoring.get(u.clientId);
      if (held !== undefined) held.push(u);
      else if (!this.dropped.has(u.clientId)) live.push(u);
    }
    await this.index(live);
    for (const u of units) this.position = Math.max(this.position, u.pos);
    this.position = Math.max(this.position, through);
    // What the index position has passed cannot come again (a rebuild reads the log, which no longer has them).
    if (this.gone.size > 0 && this.restoring.size === 0) for (const pos of this.gone) if (pos <= this.position) this.gone.delete(pos);
  }

  /**
   * Drops idle partitions from memory, their vectors saved first (a rebuild then embeds
   * nothing again). Their units stay in the log; until `restoreBegin`, new ones are skipped.
   */
  drop(clientIds: string[]): number {
    let dropped = 0;
    for (const id of clientIds) {
      if (this.restoring.has(id)) continue;
      const ci = this.clients.get(id);
      if (ci !== undefined) {
        this.saveClient(id, ci);
        this.clients.delete(id);
        dropped++;
      }
      this.dropped.add(id);
    }
    return dropped;
  }

  /**
   * Units were deleted from the log (a context deleted): the partition is dropped like an idle one,
   * and its saved vectors are written again without theirs, so nothing of them stays on disk. The
   * next search rebuilds it from the log (which no longer has them) without embedding again.
   */
  forget(clientId: string, positions: number[]): void {
    const gone = new Set(positions);
    for (const pos of positions) if (pos > this.position || this.restoring.size > 0) this.gone.add(pos);
    const ci = this.clients.get(clientId);
    if (ci !== undefined) {
      this.saveClient(clientId, ci, gone);
      this.clients.delete(clientId);
    } else {
      const dims = this.options.dimensions;
      const snap = dims === undefined ? undefined : this.options.snapshots?.load(clientId, this.embedderId(), dims);
      if (snap !== undefined && dims !== undefined && snap.positions.some((p) => gone.has(p))) {
        const keep: number[] = [];
        snap.positions.forEach((p, i) => gone.has(p) || keep.push(i));
        this.saveVectors(
          clientId,
          snap.position,
          keep.length,
          (k) => snap.positions[keep[k]!]!,
          (k) => snap.vectors.subarray(keep[k]! * dims, (keep[k]! + 1) * dims),
          true,
        );
      }
    }
    this.restoring.delete(clientId);
    this.dropped.add(clientId);
  }

  /** Starts rebuilding a partition: from now on its live units are held back until `restoreEnd`. */
  restoreBegin(clientId: string): void {
    this.dropped.delete(clientId);
    this.clients.delete(clientId);
    this.restoring.set(clientId, []);
  }

  /** Units of a partition being rebuilt, read back from the log in position order. */
  async restore(clientId: string, units: IngestUnit[]): Promise<void> {
    if (!this.restoring.has(clientId)) return;
    await this.index(units.filter((u) => u.clientId === clientId && !this.gone.has(u.pos)));
  }

  /** Ends a rebuild: the units that arrived meanwhile are indexed (those the log already gave are skipped). */
  async restoreEnd(clientId: string): Promise<void> {
    const held = (this.restoring.get(clientId) ?? []).filter((u) => !this.gone.has(u.pos));
    await this.index(held);
    this.restoring.delete(clientId);
  }

  /** Whether a client's partition is in memory (or has nothing to hold). */
  loaded(clientId: string): boolean {
    return !this.dropped.has(clientId) && !this.restoring.has(clientId);
  }

  private async index(units: IngestUnit[]): Promise<void> {
    if (units.length === 0) return;
    const parsed = units.map((u) => ({ u, w: JSON.parse(u.json) as { agentId: string; type: WorkUnitType; ts: string; meta: StringMap; payload: unknown } }));
    const texts = parsed.map(({ w }) => unitText(w.payload, w.meta, this.options.metaKeys));
    // Which units need a computed embedding: not carrying one, not in the loaded snapshot.
    const toEmbed: number[] = [];
    const dims = this.options.dimensions;
    if (dims !== undefined && this.options.embedder !== undefined) {
      parsed.forEach(({ u }, i) => {
        const ci = this.client(u.clientId);
        if (u.embedding === undefined && ci.saved?.get(u.pos) === undefined && texts[i]!.trim() !== '') toEmbed.push(i);
      });
    }
    const computed = new Map<number, Float32Array>();
    if (toEmbed.length > 0) {
      await this.options.embedder!.ready();
      const vectors = await this.options.embedder!.embed(toEmbed.map((i) => texts[i]!));
      toEmbed.forEach((i, k) => computed.set(i, vectors[k]!));
    }
    parsed.forEach(({ u, w }, i) => {
      const ci = this.client(u.clientId);
      if (ci.docs.size > 0 && ci.docs.pos[ci.docs.size - 1]! >= u.pos) return; // already indexed
      const slot = ci.docs.add({ pos: u.pos, contextId: u.contextId, agentId: w.agentId, type: w.type, ts: Date.parse(w.ts), meta: w.meta });
      if (texts[i] !== '') {
        ci.keyword.add(slot, texts[i]!);
        ci.docs.setTerms(slot, ci.keyword.terms(texts[i]!));
      }
      const v = u.embedding ?? computed.get(i) ?? ci.saved?.get(u.pos);
      if (ci.vector !== undefined && dims !== undefined && v !== undefined && v.length === dims) {
        const unitV = normalize(v);
        if (!ci.vector.has(u.pos)) ci.vector.add(u.pos, unitV);
        this.storeVector(ci, slot, unitV, dims);
      }
      ci.saved?.delete(u.pos);
      if (ci.saved?.size === 0) ci.saved = undefined;
    });
  }

  private storeVector(ci: ClientIndex, slot: number, v: Float32Array, dims: number): void {
    if ((slot + 1) * dims > ci.vectors.length) {
      const grown = new Float32Array(Math.max(ci.vectors.length * 2, (slot + 1) * dims));
      grown.set(ci.vectors);
      ci.vectors = grown;
      const has = new Uint8Array(grown.length / dims);
      has.set(ci.hasVector);
      ci.hasVector = has;
    }
    ci.vectors.set(v, slot * dims);
    ci.hasVector[slot] = 1;
  }

  /** Saves every client's vectors with the position they cover. */
  saveSnapshots(): void {
    const dims = this.options.dimensions;
    if (this.options.snapshots === undefined || dims === undefined) return;
    for (const [clientId, ci] of this.clients) this.saveClient(clientId, ci);
  }

  /** `without`: positions left out (deleted units). */
  private saveClient(clientId: string, ci: ClientIndex, without?: ReadonlySet<number>): void {
    const dims = this.options.dimensions;
    if (this.options.snapshots === undefined || dims === undefined) return;
    const slots: number[] = [];
    for (let slot = 0; slot < ci.docs.size; slot++) if (ci.hasVector[slot] === 1 && without?.has(ci.docs.pos[slot]!) !== true) slots.push(slot);
    this.saveVectors(
      clientId,
      this.position,
      slots.length,
      (i) => ci.docs.pos[slots[i]!]!,
      (i) => ci.vectors.subarray(slots[i]! * dims, (slots[i]! + 1) * dims),
      without !== undefined,
    );
  }

  /**
   * Saves `count` vectors of a client, the i-th at position `posAt(i)`. `removing`: written because
   * units were deleted; when none is left, nothing of the client stays on disk.
   */
  private saveVectors(clientId: string, position: number, count: number, posAt: (i: number) => number, vectorAt: (i: number) => Float32Array, removing: boolean): void {
    const dims = this.options.dimensions!;
    if (removing && count === 0) {
      this.options.snapshots!.remove(clientId);
      return;
    }
    const positions = new Float64Array(count);
    const vectors = new Float32Array(count * dims);
    for (let i = 0; i < count; i++) {
      positions[i] = posAt(i);
      vectors.set(vectorAt(i), i * dims);
    }
    this.options.snapshots!.save(clientId, this.embedderId(), dims, { position, positions, vectors });
  }

  /** Validates and answers a request with the units read from `log` (in-process use). */
  search(clientId: string, input: unknown, log: Pick<Log, 'unitsAt'>): Promise<SearchResponse> {
    return runSearch(this, log, clientId, input);
  }

  async query(clientId: string, q: SearchQuery): Promise<SearchHits> {
    const dims = this.options.dimensions;
    if (q.vector !== undefined && q.vector.length !== dims) {
      throw new EngramError('INVALID_FIELD', dims === undefined ? 'vector: this server has no vector index' : `vector: has ${q.vector.length} dimensions; the index has ${dims}`);
    }
    const ci = this.clients.get(clientId);
    if (ci === undefined) return { hits: [], total: 0, totalRelation: 'eq' };
    const depth = Math.max(MIN_DEPTH, (q.offset + q.limit) * 2);
    const filter = ci.docs.filter(q);

    let keyword: { slots: number[]; exhausted: boolean } | undefined;
    if (q.mode !== 'vector' && q.query !== undefined) keyword = this.keywordCandidates(ci, q.query, filter, depth);

    let vector: { hits: Array<{ slot: number; similarity: number }>; exhausted: boolean } | undefined;
    if (q.mode !== 'keyword' && ci.vector !== undefined && dims !== undefined) {
      let qv = q.vector;
      if (qv === undefined && q.query !== undefined && this.options.embedder !== undefined) {
        await this.options.embedder.ready();
        qv = (await this.options.embedder.embed([q.query]))[0];
      }
      if (qv !== undefined) vector = this.vectorCandidates(ci, normalize(qv), filter, depth, dims);
    }
    if (q.mode === 'vector' && vector === undefined) {
      throw new EngramError('INVALID_FIELD', 'mode: vector search needs a vector, or an embedder to turn the query into one');
    }

    // Reciprocal rank fusion.
    const fused = new Map<number, { score: number; keywordScore: number | null; vectorScore: number | null }>();
    keyword?.slots.forEach((slot, i) => {
      fused.set(slot, { score: 1 / (RRF_K + i + 1), keywordScore: 1 / (i + 1), vectorScore: null });
    });
    vector?.hits.forEach((h, i) => {
      const entry = fused.get(h.slot) ?? { score: 0, keywordScore: null, vectorScore: null };
      entry.score += 1 / (RRF_K + i + 1);
      entry.vectorScore = h.similarity;
      fused.set(h.slot, entry);
    });
    const ranked = [...fused.entries()].sort((a, b) => b[1].score - a[1].score || ci.docs.pos[b[0]]! - ci.docs.pos[a[0]]!);
    const hits = ranked.slice(q.offset, q.offset + q.limit).map(([slot, s]) => ({ pos: ci.docs.pos[slot]!, ...s }));
    const exact = (keyword?.exhausted ?? true) && (vector?.exhausted ?? true);
    return { hits, total: ranked.length, totalRelation: exact ? 'eq' : 'gte' };
  }

  /** Keyword matches that pass the filters, best first, widening the retrieval until `depth` pass or none are left. */
  private keywordCandidates(ci: ClientIndex, query: string, filter: ReturnType<DocTable['filter']>, depth: number): { slots: number[]; exhausted: boolean } {
    if (filter.candidates !== undefined && filter.candidates.length === 0) return { slots: [], exhausted: true };
    if (filter.candidates !== undefined && filter.candidates.length <= NARROW_KEYWORD_MAX) {
      // Few candidates: match them directly instead of walking the whole index's lists.
      const ranked = ci.docs.rankByTerms(filter.candidates, ci.keyword.terms(query));
      return { slots: ranked.slice(0, depth), exhausted: ranked.length <= depth };
    }
    query = this.dropCommonWords(ci, query);
    // Ask for as many more as the filter is selective, so one round is usually enough.
    const selectivity = filter.candidates === undefined ? 1 : filter.candidates.length / Math.max(1, ci.docs.size);
    let limit = Math.min(ci.docs.size, Math.ceil(depth / selectivity));
    for (;;) {
      const found = ci.keyword.search(query, limit + 1);
      const accepted = filter.unfiltered ? found : found.filter(filter.accept);
      const exhausted = found.length <= limit;
      if (accepted.length >= depth || exhausted) return { slots: accepted.slice(0, depth), exhausted: exhausted && accepted.length <= depth };
      limit = Math.min(ci.docs.size, limit * 4);
    }
  }

  /** Leaves out query words that occur in most units, keeping at least the rarest word. */
  private dropCommonWords(ci: ClientIndex, query: string): string {
    const words = query.split(/\s+/).filter((w) => w !== '');
    if (words.length < 2 || ci.docs.size < COMMON_TERM_MIN_UNITS) return query;
    const limit = COMMON_TERM_SHARE * ci.docs.size;
    const share = words.map((w) => {
      const terms = ci.keyword.terms(w);
      return terms.length === 0 ? 0 : Math.min(...terms.map((t) => ci.docs.documentFrequency(t)));
    });
    const kept = words.filter((_, i) => share[i]! <= limit);
    if (kept.length > 0) return kept.join(' ');
    return words[share.indexOf(Math.min(...share))]!;
  }

  /** Nearest vectors that pass the filters: exact over a narrow candidate set, else the HNSW graph, widened as needed. */
  private vectorCandidates(
    ci: ClientIndex,
    qv: Float32Array,
    filter: ReturnType<DocTable['filter']>,
    depth: number,
    dims: number,
  ): { hits: Array<{ slot: number; similarity: number }>; exhausted: boolean } {
    if (filter.candidates !== undefined && filter.candidates.length <= EXACT_SCAN_MAX) {
      const hits: Array<{ slot: number; similarity: number }> = [];
      for (const slot of filter.candidates) {
        if (ci.hasVector[slot] !== 1 || !filter.accept(slot)) continue;
        hits.push({ slot, similarity: dot(qv, ci.vectors, slot * dims, dims) });
      }
      hits.sort((a, b) => b.similarity - a.similarity);
      return { hits: hits.slice(0, depth), exhausted: hits.length <= depth };
    }
    const index = ci.vector!;
    const selectivity = filter.candidates === undefined ? 1 : filter.candidates.length / Math.max(1, ci.docs.size);
    let k = Math.ceil((filter.unfiltered ? depth : depth * 2) / Math.max(selectivity, 1e-6));
    for (;;) {
      // Twice as many as needed, re-scored at full precision: the index's own similarities are
      // estimates (quantized, or approximate in a graph) and decide only which candidates are looked at.
      const found = index.search(qv, Math.min(2 * k, index.size()));
      const hits: Array<{ slot: number; similarity: number }> = [];
      for (const f of found) {
        const slot = ci.docs.slotOf(f.pos);
        if (slot !== -1 && ci.hasVector[slot] === 1 && filter.accept(slot)) hits.push({ slot, similarity: dot(qv, ci.vectors, slot * dims, dims) });
      }
      hits.sort((a, b) => b.similarity - a.similarity);
      const exhausted = 2 * k >= index.size();
      if (hits.length >= depth || exhausted) return { hits: hits.slice(0, depth), exhausted: exhausted && hits.length <= depth };
      k *= 4;
    }
  }

  stats(): { clients: number; documents: number; vectors: number; position: number; droppedClients: number } {
    let documents = 0;
    let vectors = 0;
    for (const ci of this.clients.values()) {
      documents += ci.docs.size;
      vectors += ci.vector?.size() ?? 0;
    }
    return { clients: this.clients.size, documents, vectors, position: this.position, droppedClients: this.dropped.size };
  }
}

/** The dot product of `q` with the vector at `base` in `vectors` (both unit length: the cosine). */
function dot(q: Float32Array, vectors: Float32Array, base: number, dims: number): number {
  let sum = 0;
  for (let d = 0; d < dims; d++) sum += q[d]! * vectors[base + d]!;
  return sum;
}

/** Unit length, so the dot product is the cosine. */
export function normalize(v: Float32Array): Float32Array {
  let sum = 0;
  for (let i = 0; i < v.length; i++) sum += v[i]! * v[i]!;
  const norm = Math.sqrt(sum);
  if (norm === 0 || Math.abs(norm - 1) < 1e-6) return v;
  const out = new Float32Array(v.length);
  for (let i = 0; i < v.length; i++) out[i] = v[i]! / norm;
  return out;
}

export { SEARCH_LIMITS };
export type { SearchQuery };
