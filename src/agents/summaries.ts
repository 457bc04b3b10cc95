/**
 * Summaries that stand in for ranges (docs/agents.md#summaries). A SUMMARY unit names the seq
 * range it covers (basics/summary.ts); this index knows each context's summaries, and a read
 * that asks for them gets each applied summary in place of its range, at the range's position.
 *
 * Which summaries apply: the newest first, each unless its range overlaps one applied already. So
 * a summary of summaries (a range that holds older summaries) applies in their place, and of two
 * that overlap in part the newer wins. A SUMMARY unit never shows at its own seq in such a read:
 * it is either in place of its range or left out.
 *
 * The index is built per context on first use by one scan of its units (kept ones below the
 * first seq too: a trim keeps summaries), then read on from where it stopped; a context deleted
 * and written again (a new epoch) is scanned afresh.
 */
import type { Principal } from '../tenancy/access.js';
import type { Gate } from '../gate/gate.js';
import type { ContextView, WorkUnit } from '../basics/types.js';
import { EngramError } from '../basics/errors.js';
import { summaryRange } from '../basics/summary.js';
import { LIMITS } from '../basics/limits.js';
import { normalizeListQuery } from '../basics/validate.js';

export interface Summary {
  /** The SUMMARY unit's own seq and id. */
  seq: number;
  id: string;
  /** The range it stands in for. */
  from: number;
  to: number;
}

interface Indexed {
  epoch: string;
  /** In seq order. */
  list: Summary[];
  /** Seq scanned through. */
  seq: number;
  scanning: Promise<void>;
  /** Derived from `list` on first use after it grew. */
  applied?: Summary[];
  hidden?: ReadonlySet<number>;
}

/** Contexts whose summaries stay in memory; the least recently used beyond this are scanned again on use. */
const MAX_CONTEXTS = 1024;
/** Units read per step of a scan. */
const SCAN_PAGE = 1000;

/** A stored unit's seq, read from its JSON without parsing it (the stored form begins `{"id":…,"contextId":…,"seq":N`; ids have no quotes). */
export function seqOf(json: string): number {
  const at = json.indexOf('"seq":');
  const seq = at === -1 ? NaN : parseInt(json.slice(at + 6, at + 22), 10);
  return Number.isSafeInteger(seq) ? seq : (JSON.parse(json) as WorkUnit).seq;
}

/** Whether a stored unit is a SUMMARY (a cheap look first; the type is the one after the agent id). */
function isSummary(json: string): WorkUnit | undefined {
  if (!json.includes('"type":"SUMMARY"')) return undefined;
  const u = JSON.parse(json) as WorkUnit;
  return u.type === 'SUMMARY' ? u : undefined;
}

/** In ranges that do not overlap, in range order: the index of the first that ends at or after `seq` (ranges.length when none does). */
function firstEndingFrom(ranges: readonly Summary[], seq: number): number {
  let lo = 0;
  let hi = ranges.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (ranges[mid]!.to < seq) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The summaries that apply: newest first, each unless it overlaps one taken already; in range order. */
export function appliedSummaries(list: readonly Summary[]): Summary[] {
  const taken: Summary[] = [];
  for (let i = list.length - 1; i >= 0; i--) {
    const s = list[i]!;
    // s overlaps the first taken range that ends at or after its start when that one starts by its end.
    const at = firstEndingFrom(taken, s.from);
    if (at < taken.length && taken[at]!.from <= s.to) continue;
    taken.splice(at, 0, s);
  }
  return taken;
}

export interface SummaryState {
  /** The context's storage space: a summary is read through its history (a fork's shares its parent's). */
  space: string;
  view: ContextView;
  epoch: string;
  /** Those that apply, in range order. */
  applied: readonly Summary[];
  /** The summaries' own seqs: a read with summaries never shows a summary there. */
  hidden: ReadonlySet<number>;
}

export class SummaryIndex {
  private readonly contexts = new Map<string, Indexed>();

  constructor(private readonly gate: Gate) {
    gate.engine.onCommit((events) => {
      for (const e of events) if (e.deleted !== undefined) this.contexts.delete(`${e.clientId}\u0000${e.contextId}`);
    });
  }

  /** The summaries of a context's current history, up to its head as it is now. */
  async state(p: Principal, contextId: string): Promise<SummaryState> {
    const space = this.gate.access.contextSpace(p, contextId, 'read');
    return this.stateIn(space, contextId);
  }

  /**
   * As state(), by storage space. `remember` false (retention, which visits every context) leaves
   * the cache as it was: a sweep would otherwise push out the contexts agents are reading.
   */
  private async stateIn(space: string, contextId: string, remember = true): Promise<SummaryState> {
    const { view, epoch } = await this.gate.engine.contextHistory(space, contextId);
    const key = `${space}\u0000${contextId}`;
    let x = this.contexts.get(key);
    if (x === undefined || x.epoch !== epoch) {
      x = { epoch, list: [], seq: 0, scanning: Promise.resolve() };
      // Not remembered, it is kept all the same while there is room: the next sweep reads on from where this one stopped.
      if (remember || this.contexts.size < MAX_CONTEXTS) this.contexts.set(key, x);
    }
    if (remember) {
      // The most recently used last; the least recently used go first.
      this.contexts.delete(key);
      this.contexts.set(key, x);
      while (this.contexts.size > MAX_CONTEXTS) this.contexts.delete(this.contexts.keys().next().value!);
    }
    if (x.seq < view.headSeq) {
      const entry = x;
      const run = entry.scanning.then(() => this.scan(space, contextId, entry, view));
      entry.scanning = run.catch(() => undefined);
      await run;
    }
    x.applied ??= appliedSummaries(x.list);
    x.hidden ??= new Set(x.list.map((s) => s.seq));
    return { space, view, epoch, applied: x.applied, hidden: x.hidden };
  }

  /** A page of a context read with each applied summary in place of its range (readWithSummaries). */
  async read(p: Principal, contextId: string, query: { after?: number; before?: number; limit?: number; reverse?: boolean }): Promise<CollapsedPage> {
    return readWithSummaries(this.gate, await this.state(p, contextId), p, contextId, query);
  }

  /** How many of the seqs from..cut-1 (a trim, for retention's report) the applied summaries cover. */
  async covered(space: string, contextId: string, from: number, cut: number): Promise<number> {
    const { applied } = await this.stateIn(space, contextId, false);
    let covered = 0;
    for (const s of applied) covered += Math.max(0, Math.min(s.to, cut - 1) - Math.max(s.from, from) + 1);
    return covered;
  }

  private async scan(space: string, contextId: string, x: Indexed, view: ContextView): Promise<void> {
    while (x.seq < view.headSeq) {
      // Below the first seq of a context that is no fork only what a trim kept is left (pins,
      // summaries): one step reads it all. A fork's first seq can pass parent units never trimmed.
      const hi = x.seq + 1 < view.firstSeq && view.lineage === undefined ? view.firstSeq - 1 : Math.min(view.headSeq, x.seq + SCAN_PAGE);
      for (const json of await this.gate.engine.scanUnits(space, contextId, x.seq + 1, hi)) {
        const u = isSummary(json);
        if (u === undefined || u.seq <= x.seq) continue;
        let range;
        try {
          range = summaryRange(u.payload);
        } catch {
          // Checked when written; one stored otherwise (by an older version) is not a summary to apply.
          continue;
        }
        x.list.push({ seq: u.seq, id: u.id, ...range });
        x.applied = undefined;
        x.hidden = undefined;
      }
      x.seq = hi;
    }
  }
}

/**
 * A summary's stored unit, read through the context's history: a fork's shared summaries are its
 * parent's units, which a principal allowed only the fork may still read here.
 * WORKUNIT_NOT_FOUND when it is gone (its context deleted since the state was taken).
 */
export async function summaryUnit(gate: Gate, space: string, contextId: string, s: Summary): Promise<string> {
  const [json] = await gate.engine.scanUnits(space, contextId, s.seq, s.seq);
  // Another unit at its seq: the context was deleted and written again since the state was taken.
  if (json === undefined || !json.includes(`"id":"${s.id}"`)) throw new EngramError('WORKUNIT_NOT_FOUND', `summary ${s.id} (seq ${s.seq}) is no longer stored`);
  return json;
}

/** One item of a read with summaries: a unit, or a summary in place of its range. */
export interface CollapsedItem {
  json: string;
  /** The unit's own seq. */
  seq: number;
  /** The seqs it stands for: its own, or the summary's range. */
  low: number;
  high: number;
}

/** A page of a context read with summaries in place of their ranges (as Gate.listUnits, with items). */
export interface CollapsedPage {
  items: CollapsedItem[];
  nextCursor: number | null;
  firstSeq: number;
}

/**
 * Reads a context with each applied summary in place of its range: a page of up to `limit` items
 * with after < seq < before, oldest first (or newest first with reverse). A cursor is a seq: the
 * last one a page consumed (a summary consumes its whole range). `state` is the context's
 * (SummaryIndex.state), taken once for as many pages as one answer reads.
 */
export async function readWithSummaries(
  gate: Gate,
  state: SummaryState,
  p: Principal,
  contextId: string,
  query: { after?: number; before?: number; limit?: number; reverse?: boolean },
): Promise<CollapsedPage> {
  const { space, view, applied, hidden } = state;
  const { limit, after, before } = normalizeListQuery(query);
  const firstSeq = view.firstSeq;
  const lowest = after + 1;
  const highest = Math.min(view.headSeq, before - 1);
  const items: CollapsedItem[] = [];
  const summaryItem = async (s: Summary): Promise<CollapsedItem> => ({ json: await summaryUnit(gate, space, contextId, s), seq: s.seq, low: s.from, high: s.to });
  if (!query.reverse) {
    let cur = lowest;
    while (items.length < limit && cur <= highest) {
      // The applied range holding `cur`, or else the next one after it.
      const next = applied[firstEndingFrom(applied, cur)];
      if (next !== undefined && next.from <= cur) {
        items.push(await summaryItem(next));
        cur = next.to + 1;
        continue;
      }
      const segEnd = Math.min(highest, next === undefined ? highest : next.from - 1);
      const page = await gate.listUnits(p, contextId, { after: cur - 1, before: segEnd + 1, limit: Math.min(LIMITS.listMax, limit - items.length + hidden.size) });
      if (page.units.length === 0) {
        cur = segEnd + 1;
        continue;
      }
      for (const json of page.units) {
        const seq = seqOf(json);
        cur = seq + 1;
        if (hidden.has(seq)) continue;
        items.push({ json, seq, low: seq, high: seq });
        if (items.length === limit) break;
      }
    }
    return { items, nextCursor: cur <= highest ? cur - 1 : null, firstSeq };
  }
  let cur = highest;
  while (items.length < limit && cur >= lowest) {
    // The applied range holding `cur`, or else the last one before it.
    const at = firstEndingFrom(applied, cur);
    const r = applied[at];
    if (r !== undefined && r.from <= cur) {
      items.push(await summaryItem(r));
      cur = r.from - 1;
      continue;
    }
    const prev = applied[at - 1];
    const segStart = Math.max(lowest, prev === undefined ? lowest : prev.to + 1);
    // Below the first seq retention kept there are no units to list: only summaries.
    if (cur < firstSeq) {
      cur = prev === undefined ? lowest - 1 : prev.to;
      continue;
    }
    const page = await gate.listUnits(p, contextId, { after: segStart - 1, before: cur + 1, limit: Math.min(LIMITS.listMax, limit - items.length + hidden.size), reverse: true });
    if (page.units.length === 0) {
      cur = segStart - 1;
      continue;
    }
    for (const json of page.units) {
      const seq = seqOf(json);
      cur = seq - 1;
      if (hidden.has(seq)) continue;
      items.push({ json, seq, low: seq, high: seq });
      if (items.length === limit) break;
    }
  }
  return { items, nextCursor: cur >= lowest ? cur + 1 : null, firstSeq };
}
