/**
 * The searchable side of one client's units: a table of what filters need (context,
 * agent, type, time, meta), one row per indexed unit, in log-position order, and the
 * text a unit contributes to the keyword index.
 */
import type { SearchQuery } from './search-query.js';
import { isBinaryJson, type StringMap, type WorkUnitType } from '../basics/types.js';

/** Longest text a unit contributes to the keyword index and to its embedding. */
export const MAX_INDEXED_TEXT = 8192;

export interface IndexedUnit {
  pos: number;
  contextId: string;
  agentId: string;
  type: WorkUnitType;
  /** Epoch ms of the unit's ts. */
  ts: number;
  meta: StringMap;
}

/**
 * The words of a unit: its payload's strings (depth first) and the values of selected meta keys.
 * Binary values (`{$binary, contentType}`, anywhere in the payload) have none: base64 is not words.
 */
export function unitText(payload: unknown, meta: StringMap, metaKeys: readonly string[]): string {
  const parts: string[] = [];
  let size = 0;
  const stack: unknown[] = [payload];
  while (stack.length > 0 && size < MAX_INDEXED_TEXT) {
    const v = stack.pop();
    if (typeof v === 'string') {
      parts.push(v);
      size += v.length + 1;
    } else if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push(v[i]);
    } else if (typeof v === 'object' && v !== null && !isBinaryJson(v)) {
      const values = Object.values(v);
      for (let i = values.length - 1; i >= 0; i--) stack.push(values[i]);
    }
  }
  for (const k of metaKeys) {
    const v = meta[k];
    if (v !== undefined) parts.push(v);
  }
  const text = parts.join(' ');
  return text.length > MAX_INDEXED_TEXT ? text.slice(0, MAX_INDEXED_TEXT) : text;
}

/** Interns strings as small integers, so rows hold numbers. */
class Interner {
  private readonly ids = new Map<string, number>();
  readonly values: string[] = [];

  id(s: string): number {
    let id = this.ids.get(s);
    if (id === undefined) {
      id = this.values.length;
      this.ids.set(s, id);
      this.values.push(s);
    }
    return id;
  }

  find(s: string): number | undefined {
    return this.ids.get(s);
  }
}

export class DocTable {
  readonly pos: number[] = [];
  private readonly context: number[] = [];
  private readonly agent: number[] = [];
  private readonly type: WorkUnitType[] = [];
  private readonly ts: number[] = [];
  private readonly meta: Array<StringMap | undefined> = [];
  private readonly contexts = new Interner();
  private readonly agents = new Interner();
  /** Slots of each context and of each agent, ascending: where filtered searches start. */
  private readonly byContext: number[][] = [];
  private readonly byAgent: number[][] = [];
  /** Distinct terms of each unit, and in how many units each term occurs. */
  private readonly termsOf: Int32Array[] = [];
  private readonly termIds = new Interner();
  private readonly df: number[] = [];

  get size(): number {
    return this.pos.length;
  }

  /** Adds a unit; positions must arrive in increasing order. Returns its slot. */
  add(u: IndexedUnit): number {
    const slot = this.pos.length;
    const ctx = this.contexts.id(u.contextId);
    this.pos.push(u.pos);
    this.context.push(ctx);
    const agent = this.agents.id(u.agentId);
    this.agent.push(agent);
    (this.byAgent[agent] ??= []).push(slot);
    this.type.push(u.type);
    this.ts.push(u.ts);
    this.meta.push(Object.keys(u.meta).length === 0 ? undefined : u.meta);
    (this.byContext[ctx] ??= []).push(slot);
    return slot;
  }

  /** Records a unit's terms (for term statistics and scoring narrow candidate sets). */
  setTerms(slot: number, terms: string[]): void {
    const ids = [...new Set(terms.map((t) => this.termIds.id(t)))];
    for (const id of ids) this.df[id] = (this.df[id] ?? 0) + 1;
    this.termsOf[slot] = Int32Array.from(ids);
  }

  /** In how many units a term occurs (0 if never). */
  documentFrequency(term: string): number {
    const id = this.termIds.find(term);
    return id === undefined ? 0 : (this.df[id] ?? 0);
  }

  /**
   * Ranks `slots` by how many distinct query terms they contain, then by the rarity of
   * those terms (inverse document frequency); slots containing none are left out.
   */
  rankByTerms(slots: number[], terms: string[]): number[] {
    const ids = [...new Set(terms.map((t) => this.termIds.find(t)).filter((x): x is number => x !== undefined))];
    if (ids.length === 0) return [];
    const n = this.pos.length;
    const idf = new Map(ids.map((id) => [id, Math.log(1 + n / (this.df[id] ?? 1))]));
    const scored: Array<[number, number, number]> = [];
    for (const slot of slots) {
      const own = this.termsOf[slot];
      if (own === undefined) continue;
      let matched = 0;
      let weight = 0;
      for (const id of own) {
        const w = idf.get(id);
        if (w !== undefined) {
          matched++;
          weight += w;
        }
      }
      if (matched > 0) scored.push([slot, matched, weight]);
    }
    scored.sort((a, b) => b[1] - a[1] || b[2] - a[2] || this.pos[b[0]]! - this.pos[a[0]]!);
    return scored.map((s) => s[0]);
  }

  /** The slot of a log position, or -1 (binary search: positions are stored in order). */
  slotOf(pos: number): number {
    let lo = 0;
    let hi = this.pos.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const p = this.pos[mid]!;
      if (p === pos) return mid;
      if (p < pos) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  /**
   * The filters of a query as a predicate on slots, and, when they name contexts,
   * the candidate slots (so a narrow search never scans the whole table).
   */
  filter(q: SearchQuery): { accept: (slot: number) => boolean; candidates: number[] | undefined; unfiltered: boolean } {
    // candidates: every qualifying slot (ascending) when the query filters at all.
    const ctxIds = q.contextIds?.map((c) => this.contexts.find(c)).filter((x): x is number => x !== undefined);
    const agentIds = q.agentIds === undefined ? undefined : new Set(q.agentIds.map((a) => this.agents.find(a) ?? -1));
    const types = q.types === undefined ? undefined : new Set(q.types);
    const metaPairs = q.meta === undefined ? undefined : Object.entries(q.meta);
    const ctxSet = ctxIds === undefined ? undefined : new Set(ctxIds);
    const accept = (slot: number): boolean => {
      if (ctxSet !== undefined && !ctxSet.has(this.context[slot]!)) return false;
      if (agentIds !== undefined && !agentIds.has(this.agent[slot]!)) return false;
      if (types !== undefined && !types.has(this.type[slot]!)) return false;
      const ts = this.ts[slot]!;
      if (q.since !== undefined && ts < q.since) return false;
      if (q.until !== undefined && ts >= q.until) return false;
      if (metaPairs !== undefined) {
        const m = this.meta[slot];
        if (m === undefined) return false;
        for (const [k, v] of metaPairs) if (m[k] !== v) return false;
      }
      return true;
    };
    const unfiltered = q.contextIds === undefined && q.agentIds === undefined && q.types === undefined && q.meta === undefined && q.since === undefined && q.until === undefined;
    let candidates: number[] | undefined;
    if (ctxIds !== undefined) {
      candidates = ctxIds.flatMap((c) => this.byContext[c] ?? []).filter(accept);
      if (ctxIds.length > 1) candidates.sort((a, b) => a - b);
    } else if (agentIds !== undefined) {
      candidates = [...agentIds].flatMap((a) => (a < 0 ? [] : (this.byAgent[a] ?? []))).filter(accept);
      if (agentIds.size > 1) candidates.sort((a, b) => a - b);
    } else if (!unfiltered) {
      // Other filters: one pass over the table tells exactly which units qualify.
      candidates = [];
      for (let slot = 0; slot < this.pos.length; slot++) if (accept(slot)) candidates.push(slot);
    }
    return { accept, candidates, unfiltered };
  }
}
