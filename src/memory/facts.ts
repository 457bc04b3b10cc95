/**
 * Facts: short statements an agent wants remembered, by key, with ADD / UPDATE / DELETE / NOOP
 * decisions. Each decision that changes something is a unit in the space's facts context
 * (`facts/<space>`); an UPDATE or DELETE REPLACES the unit it supersedes, so a fact's whole
 * history stays in the log. The facts are the replay of that context (memory/projection.ts),
 * decided one at a time per space, so two agents adding the same fact at once get one ADD and
 * one NOOP, never two copies.
 *
 * "Already known" means the same key with the same value (compared without case, spacing or a
 * final full stop), or a value the search embedder finds near-identical (cosine similarity at or
 * above `memory.factSimilarity`) that also has the same numbers in it: word-vector embedders
 * score "port 8080" and "port 9090" alike, and a fact must not be dropped for that.
 */
import { memoryOperation } from './memory-spans.js';
import type { TraceSpan, Tracer } from '../basics/tracer.js';
import type { Principal } from '../tenancy/access.js';
import type { Gate } from '../gate/gate.js';
import { EngramError } from '../basics/errors.js';
import { FACT_LIMITS } from '../basics/limits.js';
import { UlidFactory } from '../basics/ids.js';
import { LruMap } from '../basics/lru-map.js';
import { memoryContext } from './memory.js';
import { Projection, type ProjectionOf, type ProjectionOptions } from './projection.js';
import type { WorkUnit } from '../basics/types.js';

export type FactDecision = 'ADD' | 'UPDATE' | 'DELETE' | 'NOOP';

export interface FactVersion {
  op: 'ADD' | 'UPDATE' | 'DELETE';
  value: string;
  /** Why it was decided (changes decided from a conversation turn say; others may not). */
  reason?: string;
  unitId: string;
  seq: number;
  agentId: string;
  ts: string;
}

export interface Fact {
  key: string;
  value: string;
  deleted: boolean;
  /** The unit of the latest version (what the next change REPLACES). */
  unitId: string;
  agentId: string;
  ts: string;
  history: FactVersion[];
}

export interface FactOutcome {
  decision: FactDecision;
  reason: string;
  /** The fact after the decision (absent when a DELETE or NOOP named no known fact). */
  fact?: PublicFact;
  /** For UPDATE: the value it replaced. */
  replaced?: string;
  /** For a near-identical NOOP: the similarity that decided it. */
  similarity?: number;
}

export type PublicFact = Omit<Fact, 'history'>;

/** The facts of one space: by key, in the order first added. */
type Facts = Map<string, Fact>;

interface FactPayload {
  op: 'ADD' | 'UPDATE' | 'DELETE';
  key: string;
  value: string;
}

/** One decision of a batch (a conversation turn): on `key`, to the value given (ADD, UPDATE) or away (DELETE), or nothing (NOOP). */
export interface PlannedFactChange {
  decision: FactDecision;
  key?: string;
  value: string;
  reason: string;
}

/** A decision of a batch as stored: the fact after it, and for UPDATE and DELETE the version it replaced. */
export interface FactChangeOutcome {
  decision: FactDecision;
  reason: string;
  fact?: PublicFact;
  replaces?: PublicFact;
}

/** Bytes of fact vectors kept for deduplication: 40,000 of the default embedder's 100 dimensions. */
const FACT_VECTOR_BYTES = 16 * 1024 * 1024;

/** Exported for tests that compare rebuilt states. */
export const FACTS_PROJECTION: ProjectionOf<Facts> = {
  empty: () => new Map(),
  apply(facts, u) {
    const f = u.payload as FactPayload;
    if (u.type !== 'SYSTEM' || u.meta.memory !== 'fact' || !isFactPayload(f)) return;
    const version: FactVersion = {
      op: f.op,
      value: f.value,
      unitId: u.id,
      seq: u.seq,
      agentId: u.agentId,
      ts: u.ts,
      ...(u.meta.reason === undefined ? {} : { reason: u.meta.reason }),
    };
    const known = facts.get(f.key);
    const history = known === undefined ? [version] : [...known.history, version];
    facts.set(f.key, { key: f.key, value: f.value, deleted: f.op === 'DELETE', unitId: u.id, agentId: u.agentId, ts: u.ts, history });
  },
  snapshot: { name: 'facts', version: 1, encode: (facts) => [...facts.values()], decode: factsFrom },
};

/** The facts of a snapshot (each with its history), in their order; throws on anything else. */
function factsFrom(data: unknown): Facts {
  if (!Array.isArray(data)) throw new TypeError('facts: expected a list');
  const facts: Facts = new Map();
  for (const f of data as Fact[]) {
    if (typeof f !== 'object' || f === null || typeof f.key !== 'string' || typeof f.value !== 'string' || typeof f.deleted !== 'boolean' || !Array.isArray(f.history))
      throw new TypeError('facts: not a fact');
    facts.set(f.key, f);
  }
  return facts;
}

function isFactPayload(f: unknown): f is FactPayload {
  if (typeof f !== 'object' || f === null) return false;
  const x = f as Record<string, unknown>;
  return (x.op === 'ADD' || x.op === 'UPDATE' || x.op === 'DELETE') && typeof x.key === 'string' && typeof x.value === 'string';
}

export function factsContext(space: string): string {
  return 'facts/' + memoryContext(space).slice('memories/'.length);
}

/** The first `n` UTF-16 units of `s`, without a pair of them cut in half (a lone surrogate is not valid Unicode). */
function cut(s: string, n: number): string {
  const head = s.slice(0, n);
  return /[\uD800-\uDBFF]$/.test(head) ? head.slice(0, -1) : head;
}

/** Text as compared for "the same value": no case, runs of space as one, no final full stop. */
export function normalized(s: string): string {
  return s
    .trim()
    .replace(/\s+/g, ' ')
    .replace(/[.!]+$/, '')
    .toLowerCase();
}

/** The numbers in a text, in order: two values that differ in them are different facts. */
export function numbers(s: string): string {
  return (s.match(/\d+(?:[.,:]\d+)*/g) ?? []).join(' ');
}

export function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}

function publicFact(f: Fact): PublicFact {
  return { key: f.key, value: f.value, deleted: f.deleted, unitId: f.unitId, agentId: f.agentId, ts: f.ts };
}

function checkText(v: unknown, field: string, max: number): string {
  if (typeof v !== 'string' || v.trim() === '') throw new EngramError('INVALID_FIELD', `${field}: must be a non-empty string`);
  if (v.length > max) throw new EngramError('INVALID_FIELD', `${field}: at most ${max} characters`);
  if (field === 'key' && /[\u0000-\u001f\u007f]/.test(v)) throw new EngramError('INVALID_FIELD', 'key: no control characters');
  return v;
}

export interface FactOptions {
  /** The search embedder (absent or null: only exact matches count as already known). */
  embed?: (texts: string[]) => Promise<Float32Array[] | null>;
  /** Cosine similarity at or above which two values are the same fact, 0–1. */
  similarity: number;
}

export class FactService {
  private readonly facts: Projection<Facts>;
  /**
   * Vectors of fact versions by unit id (a version never changes, so neither does its vector). A
   * cache: superseded versions and deleted facts and spaces fall out of it, and a vector that fell
   * out is embedded again when needed.
   */
  private readonly vectors = new LruMap<string, Float32Array>(FACT_VECTOR_BYTES, (v) => v.byteLength);
  private readonly keys = new UlidFactory();
  private readonly tracer: Tracer | undefined;

  constructor(
    gate: Gate,
    private readonly options: FactOptions,
    projection: ProjectionOptions = {},
  ) {
    this.facts = new Projection(gate, FACTS_PROJECTION, projection);
    this.tracer = projection.tracer;
  }

  /** Resolves once no snapshot of this service's states is being written (tests, benchmarks). */
  idle(): Promise<void> {
    return this.facts.snapshotsSettled();
  }

  /** Remembers a fact: ADD, UPDATE (a new value for a known key) or NOOP (already known), with the reason. */
  remember(p: Principal, space: string, input: { key?: unknown; value?: unknown }, agentId = 'memory'): Promise<FactOutcome> {
    return memoryOperation(this.tracer, 'remember_fact', `facts/${space}`, agentId, async (span) => decided(span, await this.rememberNow(p, space, input, agentId)));
  }

  private async rememberNow(p: Principal, space: string, input: { key?: unknown; value?: unknown }, agentId: string): Promise<FactOutcome> {
    const value = checkText(input.value, 'value', FACT_LIMITS.valueChars);
    const key = input.key === undefined || input.key === null ? undefined : checkText(input.key, 'key', FACT_LIMITS.keyChars);
    const changed = await this.facts.change<FactOutcome>(p, factsContext(space), async (facts) => {
      const outcome = await this.decide(facts, key, value);
      if (outcome.decision === 'NOOP') return { units: [], result: outcome };
      const k = outcome.fact!.key;
      const prior = facts.get(k);
      const op = outcome.decision as 'ADD' | 'UPDATE';
      return {
        units: [
          {
            agentId,
            type: 'SYSTEM' as const,
            meta: { memory: 'fact', op, key: k.slice(0, 200) },
            payload: { op, key: k, value } satisfies FactPayload,
            relationships: prior === undefined ? [] : [{ targetId: prior.unitId, type: 'REPLACES' as const, meta: {} }],
          },
        ],
        result: outcome,
      };
    });
    return this.settled(changed.result, changed.units);
  }

  /** Marks a fact gone; its history stays. NOOP when no live fact has the key. */
  forget(p: Principal, space: string, rawKey: unknown, agentId = 'memory'): Promise<FactOutcome> {
    return memoryOperation(this.tracer, 'forget_fact', `facts/${space}`, agentId, async (span) => decided(span, await this.forgetNow(p, space, rawKey, agentId)));
  }

  private async forgetNow(p: Principal, space: string, rawKey: unknown, agentId: string): Promise<FactOutcome> {
    const key = checkText(rawKey, 'key', FACT_LIMITS.keyChars);
    const changed = await this.facts.change<FactOutcome>(p, factsContext(space), (facts) => {
      const known = facts.get(key);
      if (known === undefined) return { units: [], result: { decision: 'NOOP' as const, reason: `no fact has the key ${JSON.stringify(key)}` } };
      if (known.deleted) return { units: [], result: { decision: 'NOOP' as const, reason: `the fact ${JSON.stringify(key)} was already deleted`, fact: publicFact(known) } };
      return {
        units: [
          {
            agentId,
            type: 'SYSTEM' as const,
            meta: { memory: 'fact', op: 'DELETE', key: key.slice(0, 200) },
            payload: { op: 'DELETE', key, value: known.value } satisfies FactPayload,
            relationships: [{ targetId: known.unitId, type: 'REPLACES' as const, meta: {} }],
          },
        ],
        result: { decision: 'DELETE' as const, reason: `the fact ${JSON.stringify(key)} is marked deleted; its history is kept` },
      };
    });
    return this.settled(changed.result, changed.units);
  }

  /**
   * Decides a batch against the facts as they are (`plan` sees every fact, deleted ones too) and
   * stores it: one unit per fact that ends up changed, so a key the batch touches twice (added,
   * then corrected) is one ADD with the last value. Nothing is stored when `plan` throws.
   */
  async changeMany(p: Principal, space: string, plan: (facts: Fact[]) => Promise<PlannedFactChange[]>, agentId = 'memory'): Promise<FactChangeOutcome[]> {
    const changed = await this.facts.change(p, factsContext(space), async (facts) => {
      const planned = await plan([...facts.values()]);
      const last = new Map<string, PlannedFactChange>();
      for (const d of planned) if (d.decision !== 'NOOP' && d.key !== undefined) last.set(d.key, d);
      const units = [];
      for (const [key, d] of last) {
        const prior = facts.get(key);
        const live = prior !== undefined && !prior.deleted;
        if (d.decision === 'DELETE' && !live) continue;
        const op = d.decision === 'DELETE' ? 'DELETE' : live ? 'UPDATE' : 'ADD';
        if (op === 'UPDATE' && normalized(prior!.value) === normalized(d.value)) continue;
        checkText(key, 'key', FACT_LIMITS.keyChars);
        const value = op === 'DELETE' ? prior!.value : checkText(d.value, 'value', FACT_LIMITS.valueChars);
        units.push({
          agentId,
          type: 'SYSTEM' as const,
          // The reason is meta, not payload: the search indexes payloads, and a reason is not the fact.
          meta: { memory: 'fact', op, key: key.slice(0, 200), reason: cut(d.reason, 1000) },
          payload: { op, key, value } satisfies FactPayload,
          relationships: prior === undefined ? [] : [{ targetId: prior.unitId, type: 'REPLACES' as const, meta: {} }],
        });
      }
      const before = new Map(planned.flatMap((d) => (d.key === undefined || !facts.has(d.key) ? [] : [[d.key, publicFact(facts.get(d.key)!)] as const])));
      return { units, result: { planned, before } };
    });
    const stored = new Map<string, PublicFact>();
    for (const u of changed.units) {
      const f = u.payload as FactPayload;
      stored.set(f.key, { key: f.key, value: f.value, deleted: f.op === 'DELETE', unitId: u.id, agentId: u.agentId, ts: u.ts });
    }
    const { planned, before } = changed.result;
    return planned.map((d) => {
      const prior = d.key === undefined ? undefined : before.get(d.key);
      const fact = d.key === undefined ? undefined : (stored.get(d.key) ?? prior);
      const replaces = (d.decision === 'UPDATE' || d.decision === 'DELETE') && prior !== undefined ? prior : undefined;
      return { decision: d.decision, reason: d.reason, ...(fact === undefined ? {} : { fact }), ...(replaces === undefined ? {} : { replaces }) };
    });
  }

  /** The outcome with the fact as its unit stored it (unit id, agent, time). */
  private settled(outcome: FactOutcome, units: WorkUnit[]): FactOutcome {
    const u = units[0];
    if (u === undefined) return outcome;
    const f = u.payload as FactPayload;
    return { ...outcome, fact: { key: f.key, value: f.value, deleted: f.op === 'DELETE', unitId: u.id, agentId: u.agentId, ts: u.ts } };
  }

  private async decide(facts: Facts, key: string | undefined, value: string): Promise<FactOutcome> {
    const norm = normalized(value);
    const pending = (k: string): PublicFact => ({ key: k, value, deleted: false, unitId: '', agentId: '', ts: '' });
    if (key !== undefined) {
      const known = facts.get(key);
      if (known === undefined) return { decision: 'ADD', reason: `a new key ${JSON.stringify(key)}`, fact: pending(key) };
      if (known.deleted) return { decision: 'ADD', reason: `the key ${JSON.stringify(key)} was deleted; added again (its history is kept)`, fact: pending(key) };
      if (normalized(known.value) === norm) return { decision: 'NOOP', reason: `already known: the key ${JSON.stringify(key)} has this value`, fact: publicFact(known) };
      const [similarity] = await this.similarities(value, [known]);
      if (similarity !== undefined && similarity >= this.options.similarity && numbers(known.value) === numbers(value)) {
        return {
          decision: 'NOOP',
          reason: `already known: the key ${JSON.stringify(key)} has a near-identical value (similarity ${similarity.toFixed(3)})`,
          fact: publicFact(known),
          similarity,
        };
      }
      return { decision: 'UPDATE', reason: `a new value for the key ${JSON.stringify(key)}; the old one is kept in its history`, fact: pending(key), replaced: known.value };
    }
    const live = [...facts.values()].filter((f) => !f.deleted);
    const same = live.find((f) => normalized(f.value) === norm);
    if (same !== undefined) return { decision: 'NOOP', reason: `already known as ${JSON.stringify(same.key)}`, fact: publicFact(same) };
    const sims = await this.similarities(value, live);
    let best = -1;
    for (let i = 0; i < sims.length; i++) if (best === -1 || sims[i]! > sims[best]!) best = i;
    if (best !== -1 && sims[best]! >= this.options.similarity && numbers(live[best]!.value) === numbers(value)) {
      return {
        decision: 'NOOP',
        reason: `already known as ${JSON.stringify(live[best]!.key)}: a near-identical value (similarity ${sims[best]!.toFixed(3)})`,
        fact: publicFact(live[best]!),
        similarity: sims[best]!,
      };
    }
    const newKey = `fact-${this.keys.next(Date.now()).toLowerCase()}`;
    return { decision: 'ADD', reason: 'not known yet', fact: pending(newKey) };
  }

  /** Similarity of `text` to each fact's value (empty when there is no embedder). */
  private async similarities(text: string, facts: Fact[]): Promise<number[]> {
    if (this.options.embed === undefined || facts.length === 0) return [];
    const known = facts.map((f) => this.vectors.get(f.unitId));
    const missing = facts.filter((_, i) => known[i] === undefined);
    const vectors = await this.options.embed([text, ...missing.map((f) => f.value)]);
    if (vectors === null) return [];
    let next = 1;
    return facts.map((f, i) => {
      let v = known[i];
      if (v === undefined) this.vectors.set(f.unitId, (v = vectors[next++]!));
      return cosine(vectors[0]!, v);
    });
  }

  /** Facts of a space, first added first; deleted ones too when asked. */
  async list(p: Principal, space: string, includeDeleted = false): Promise<PublicFact[]> {
    const facts = await this.facts.read(p, factsContext(space));
    return [...facts.values()].filter((f) => includeDeleted || !f.deleted).map(publicFact);
  }

  /** One fact with every version, oldest first. */
  async get(p: Principal, space: string, rawKey: unknown): Promise<Fact> {
    const key = checkText(rawKey, 'key', FACT_LIMITS.keyChars);
    const fact = (await this.facts.read(p, factsContext(space))).get(key);
    if (fact === undefined) throw new EngramError('NOT_FOUND', `no fact has the key ${JSON.stringify(key)}`);
    return fact;
  }

  /** Live facts most like the query: by embedder similarity, or by shared words without one. */
  recall(p: Principal, space: string, rawQuery: unknown, limit = 10): Promise<Array<PublicFact & { score: number }>> {
    return memoryOperation(this.tracer, 'recall_facts', `facts/${space}`, undefined, async (span) => {
      const found = await this.recallNow(p, space, rawQuery, limit);
      span.set({ 'engram.memory.results': found.length });
      return found;
    });
  }

  private async recallNow(p: Principal, space: string, rawQuery: unknown, limit: number): Promise<Array<PublicFact & { score: number }>> {
    const query = checkText(rawQuery, 'query', FACT_LIMITS.valueChars);
    if (!Number.isInteger(limit) || limit < 1 || limit > FACT_LIMITS.recallMax) throw new EngramError('INVALID_FIELD', `limit: 1–${FACT_LIMITS.recallMax}`);
    const live = [...(await this.facts.read(p, factsContext(space))).values()].filter((f) => !f.deleted);
    let scores = await this.similarities(query, live);
    if (scores.length === 0) {
      const words = new Set(normalized(query).split(/\W+/).filter(Boolean));
      scores = live.map((f) => {
        const fw = normalized(`${f.key} ${f.value}`).split(/\W+/).filter(Boolean);
        return words.size === 0 ? 0 : fw.filter((w) => words.has(w)).length / words.size;
      });
    }
    return live
      .map((f, i) => ({ ...publicFact(f), score: scores[i]! }))
      .filter((f) => f.score > 0)
      .sort((a, b) => b.score - a.score)
      .slice(0, limit);
  }
}

/** The decision on the operation's span. */
function decided(span: TraceSpan, outcome: FactOutcome): FactOutcome {
  span.set({ 'engram.memory.decision': outcome.decision });
  return outcome;
}
