/**
 * A context window under a token budget: the units of a context to hand a model, in order,
 * never more tokens than the budget. First the context's pinned units, then the older units most
 * relevant to a query (Engram's hybrid search), then the most recent units, as many as fit going
 * back from the newest without a gap. Each unit comes with its token count (token-counts.ts) and
 * why it was chosen. A share of the budget (`relevantShare`) is held for relevant units while the
 * recent ones are chosen; whatever they leave goes back to recency.
 */
import type { Principal } from '../tenancy/access.js';
import type { Gate } from '../gate/gate.js';
import { EngramError } from '../basics/errors.js';
import { WINDOW_LIMITS } from '../basics/limits.js';
import type { ContextView, WorkUnit } from '../basics/types.js';
import { readWithSummaries, seqOf, summaryUnit, type CollapsedItem, type SummaryIndex } from './summaries.js';
import { ENCODINGS, type CountTally, type Encoding, type TokenCounts } from './token-counts.js';

export interface WindowUnit {
  seq: number;
  tokens: number;
  reason: 'pinned' | 'summary' | 'relevant' | 'recent';
  /** The search's score, for relevant units. */
  score?: number;
  /** The unit's JSON as stored: passed through, never parsed again and re-encoded (a window is hundreds of units). */
  json: string;
}

export interface ContextWindow {
  contextId: string;
  encoding: Encoding;
  /** Whether the encoding is the model's own (false for models whose tokenizer is not published: an estimate, keep headroom). */
  exact: boolean;
  budget: number;
  /** Tokens of the units given (≤ budget). */
  tokens: number;
  units: WindowUnit[];
  /** The context's newest seq, and the oldest seq of the recent run (units below it are in only when pinned or relevant). */
  headSeq: number;
  recentFrom: number;
  /** Units counted for this answer (the rest were counted before). */
  counted: number;
}

interface WindowRequest {
  budget: number;
  query: string | undefined;
  encoding: Encoding;
  exact: boolean;
  relevantShare: number;
  relevantLimit: number;
  summaries: boolean;
  summaryShare: number;
}

/** The encoding of a model family, and whether it is exact. */
export function encodingOf(model: string): { encoding: Encoding; exact: boolean } {
  const m = model.toLowerCase();
  if (/^(?:gpt-4o|gpt-4\.1|gpt-4\.5|gpt-5|o1|o3|o4|chatgpt-4o)/.test(m)) return { encoding: 'o200k_base', exact: true };
  if (/^(?:gpt-4|gpt-3\.5|text-embedding-3|text-embedding-ada)/.test(m)) return { encoding: 'cl100k_base', exact: true };
  // Claude, Gemini, Llama…: no tokenizer of theirs is published as a library; o200k_base is a close estimate.
  return { encoding: 'o200k_base', exact: false };
}

function parseRequest(input: unknown): WindowRequest {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new EngramError('INVALID_FIELD', 'the body: a JSON object');
  const o = input as Record<string, unknown>;
  for (const k of Object.keys(o))
    if (!['budget', 'query', 'model', 'encoding', 'relevantShare', 'relevantLimit', 'summaries', 'summaryShare'].includes(k))
      throw new EngramError('UNKNOWN_FIELD', `unknown field ${JSON.stringify(k)}`);
  if (o.budget === undefined) throw new EngramError('MISSING_FIELD', 'budget: the most tokens the window may hold');
  if (typeof o.budget !== 'number' || !Number.isInteger(o.budget) || o.budget < 1 || o.budget > WINDOW_LIMITS.budgetMax)
    throw new EngramError('INVALID_FIELD', `budget: an integer, 1–${WINDOW_LIMITS.budgetMax}`);
  if (o.query !== undefined && (typeof o.query !== 'string' || o.query.length > WINDOW_LIMITS.queryChars))
    throw new EngramError('INVALID_FIELD', `query: a string of at most ${WINDOW_LIMITS.queryChars} characters`);
  if (o.model !== undefined && (typeof o.model !== 'string' || o.model === '' || o.model.length > 200)) throw new EngramError('INVALID_FIELD', 'model: a model name, like gpt-4o');
  if (o.encoding !== undefined && !(ENCODINGS as readonly unknown[]).includes(o.encoding)) throw new EngramError('INVALID_FIELD', `encoding: ${ENCODINGS.join(' or ')}`);
  if (o.model !== undefined && o.encoding !== undefined) throw new EngramError('INVALID_FIELD', 'give model or encoding, not both');
  const share = o.relevantShare ?? 0.25;
  if (typeof share !== 'number' || !(share >= 0 && share <= 1)) throw new EngramError('INVALID_FIELD', 'relevantShare: 0–1');
  const limit = o.relevantLimit ?? 20;
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 0 || limit > 100) throw new EngramError('INVALID_FIELD', 'relevantLimit: 0–100');
  if (o.summaries !== undefined && typeof o.summaries !== 'boolean') throw new EngramError('INVALID_FIELD', 'summaries: true or false');
  const summaryShare = o.summaryShare ?? 0.5;
  if (typeof summaryShare !== 'number' || !(summaryShare >= 0 && summaryShare <= 1)) throw new EngramError('INVALID_FIELD', 'summaryShare: 0–1');
  const { encoding, exact } = o.encoding !== undefined ? { encoding: o.encoding as Encoding, exact: true } : encodingOf((o.model as string | undefined) ?? 'gpt-4o');
  const query = typeof o.query === 'string' && o.query.trim() !== '' ? o.query : undefined;
  return { budget: o.budget, query, encoding, exact, relevantShare: share, relevantLimit: limit, summaries: o.summaries === true, summaryShare };
}

/** Units read back from the newest in the first page, doubling each page after it up to MAX_PAGE (a small budget reads little). */
const FIRST_PAGE = 64;
const MAX_PAGE = 1000;

/** A unit that is gone (WORKUNIT_NOT_FOUND) as undefined, to be skipped; any other failure thrown on. */
function unlessGone(e: unknown): undefined {
  if (e instanceof EngramError && e.code === 'WORKUNIT_NOT_FOUND') return undefined;
  throw e;
}

export class WindowService {
  constructor(
    private readonly gate: Gate,
    private readonly counts: TokenCounts,
    private readonly summaries: SummaryIndex,
  ) {}

  async window(p: Principal, contextId: string, input: unknown): Promise<ContextWindow> {
    const q = parseRequest(input);
    // A window is of one history: should the context be deleted and written again while this one
    // is read, it is read again (once; a second change in that time fails the request).
    for (let attempt = 0; ; attempt++) {
      const { view, epoch } = await this.gate.contextHistory(p, contextId);
      const w = await this.windowOf(p, contextId, view, epoch, q);
      if ((await this.gate.contextHistory(p, contextId)).epoch === epoch) return w;
      if (attempt === 1) throw new EngramError('SEQ_CONFLICT', `context ${JSON.stringify(contextId)} was deleted and written again while its window was read; ask again`);
    }
  }

  private async windowOf(p: Principal, contextId: string, view: ContextView, epoch: string, q: WindowRequest): Promise<ContextWindow> {
    const space = this.gate.access.contextSpace(p, contextId, 'read');
    const tally: CountTally = { counted: 0 };
    const tokensOf = (seqs: number[], unitAt: (i: number) => WorkUnit) => this.counts.tokens(space, contextId, epoch, q.encoding, seqs, unitAt, tally);
    const parsed = (list: Array<{ json: string; unit: WorkUnit }>) =>
      tokensOf(
        list.map((x) => x.unit.seq),
        (i) => list[i]!.unit,
      );
    let left = q.budget;
    const chosen = new Map<number, WindowUnit>();

    // Pinned units first, in seq order, each if it fits. Read by the context's space, not the
    // caller's reach: a fork's inherited pins are its parent's units, in its history all the same.
    const pinned = (
      await Promise.all(
        view.pinnedUnits.map((id) =>
          this.gate.engine.getUnit(space, id).then(
            (json) => ({ json, unit: JSON.parse(json) as WorkUnit }),
            // A pin whose unit is gone (retention) is skipped; any other failure fails the window.
            unlessGone,
          ),
        ),
      )
    ).filter((x): x is { json: string; unit: WorkUnit } => x !== undefined && inHistoryOf(view, contextId, x.unit));
    pinned.sort((a, b) => a.unit.seq - b.unit.seq);
    const pinTokens = await parsed(pinned);
    pinned.forEach((x, i) => {
      if (pinTokens[i]! <= left) {
        chosen.set(x.unit.seq, { seq: x.unit.seq, tokens: pinTokens[i]!, reason: 'pinned', json: x.json });
        left -= pinTokens[i]!;
      }
    });

    // Summaries next, standing in for their ranges: the newest first, while they fit in their share.
    const covered: Array<{ from: number; to: number }> = [];
    // Taken once: the summaries' pages of the recent run below read the same state.
    const summaries = q.summaries ? await this.summaries.state(p, contextId) : undefined;
    if (summaries !== undefined) {
      let room = Math.floor(left * q.summaryShare);
      // Read and counted one at a time, newest first: the ones past the first that does not fit are neither.
      for (const s of [...summaries.applied].sort((a, b) => b.seq - a.seq)) {
        // A pinned summary is in already, and stands in for its range all the same.
        if (chosen.has(s.seq)) {
          covered.push(s);
          continue;
        }
        // Gone since the state was taken (deleted with its context): skipped, as a pin is.
        const json = await summaryUnit(this.gate, space, contextId, s).catch(unlessGone);
        if (json === undefined) continue;
        const [tokens] = await parsed([{ json, unit: JSON.parse(json) as WorkUnit }]);
        if (tokens! > room) break;
        chosen.set(s.seq, { seq: s.seq, tokens: tokens!, reason: 'summary', json });
        covered.push(s);
        room -= tokens!;
        left -= tokens!;
      }
    }
    const isCovered = (seq: number) => covered.some((c) => c.from <= seq && seq <= c.to);

    // The recent run, leaving the relevant share aside; then the relevant units; then recency takes what they left.
    const held = q.query === undefined ? 0 : Math.floor(left * q.relevantShare);
    const pages: Pager = summaries
      ? (before: number, limit: number) => readWithSummaries(this.gate, summaries, p, contextId, { before, limit, reverse: true })
      : async (before: number, limit: number) => {
          const page = await this.gate.listUnits(p, contextId, { before, limit, reverse: true });
          const items = page.units.map((json): CollapsedItem => {
            const seq = seqOf(json);
            return { json, seq, low: seq, high: seq };
          });
          return { items, nextCursor: page.nextCursor };
        };
    // Summary units are never in the recent run at their own seqs (they stand in for their ranges).
    const recent = new RecentRun(pages, view.headSeq, summaries?.hidden ?? new Set(), tokensOf);
    left = (await recent.extend(left - held, chosen)) + held;
    // With search off (search.enabled: false) there is no relevance: the held share goes back to recency.
    if (q.query !== undefined && q.relevantLimit > 0 && held > 0 && this.gate.searchable) {
      const r = await this.gate.search(p, { query: q.query, contextId, limit: q.relevantLimit });
      const hits = r.results
        .map((h) => ({ json: h.workUnit, unit: JSON.parse(h.workUnit) as WorkUnit, score: h.score }))
        .filter((h) => !chosen.has(h.unit.seq) && h.unit.seq < recent.from && h.unit.type !== 'SUMMARY' && !isCovered(h.unit.seq));
      const hitTokens = await parsed(hits);
      let room = held;
      hits.forEach((h, i) => {
        if (hitTokens[i]! <= room) {
          chosen.set(h.unit.seq, { seq: h.unit.seq, tokens: hitTokens[i]!, reason: 'relevant', score: h.score, json: h.json });
          room -= hitTokens[i]!;
          left -= hitTokens[i]!;
        }
      });
    }
    left = await recent.extend(left, chosen);

    const order = { pinned: 0, summary: 1, relevant: 2, recent: 3 } as const;
    const units = [...chosen.values()].sort((a, b) => order[a.reason] - order[b.reason] || a.seq - b.seq);
    return {
      contextId,
      encoding: q.encoding,
      exact: q.exact,
      budget: q.budget,
      tokens: q.budget - left,
      units,
      headSeq: view.headSeq,
      recentFrom: recent.from,
      counted: tally.counted,
    };
  }
}

/** Whether a unit is in a context's history: its own, or one a fork shares from its lineage (each stretch holds the seqs above the one before, up to its own). */
function inHistoryOf(view: ContextView, contextId: string, u: WorkUnit): boolean {
  if (u.contextId === contextId) return true;
  const lineage = view.lineage ?? [];
  return lineage.some((s, i) => s.contextId === u.contextId && u.seq > (lineage[i - 1]?.seq ?? 0) && u.seq <= s.seq);
}

/** The pieces of a window's JSON, in order: its units' stored JSON spliced in as they are. */
function windowParts(w: ContextWindow): string[] {
  const { units, ...rest } = w;
  const parts = [`${JSON.stringify(rest).slice(0, -1)},"units":[`];
  units.forEach((u, i) => {
    parts.push(
      `${i === 0 ? '' : ','}{"seq":${u.seq},"tokens":${u.tokens},"reason":"${u.reason}"${u.score === undefined ? '' : `,"score":${JSON.stringify(u.score)}`},"workUnit":`,
      u.json,
      '}',
    );
  });
  parts.push(']}');
  return parts;
}

/** A window as JSON text. */
export function windowJson(w: ContextWindow): string {
  return windowParts(w).join('');
}

/**
 * A window as UTF-8 JSON, written piece by piece into one buffer: a window is some 170 kB, and
 * joining it into one string first, then encoding that, copies it twice more (what a profile of
 * the window benchmark found to be the answer's largest cost).
 */
export function windowBytes(w: ContextWindow): Buffer {
  const parts = windowParts(w);
  let length = 0;
  for (const p of parts) length += Buffer.byteLength(p);
  const out = Buffer.allocUnsafe(length);
  let at = 0;
  for (const p of parts) at += out.write(p, at);
  return out;
}

/** Units counted at a time while the recent run grows: what does not fit is not counted. */
const COUNT_STEP = 32;

/** A page of a context's items back from `before`, newest first (units, or summaries in place of their ranges). */
type Pager = (before: number, limit: number) => Promise<{ items: CollapsedItem[]; nextCursor: number | null }>;

/** The newest items of a context, taken back from the head while they fit, without a gap. */
class RecentRun {
  /** The oldest seq the run stands for (head + 1 while it has nothing). */
  from: number;
  private done = false;
  /** Items read and not taken yet, newest first. */
  private items: CollapsedItem[] = [];
  private cursor: number | null;
  private page = FIRST_PAGE;

  constructor(
    private readonly pages: Pager,
    headSeq: number,
    /** Seqs a page leaves out (summary units, with summaries on): no gap where they are. */
    private readonly hidden: ReadonlySet<number>,
    private readonly tokensOf: (seqs: number[], unitAt: (i: number) => WorkUnit) => Promise<number[]>,
  ) {
    this.from = headSeq + 1;
    this.cursor = headSeq + 1;
  }

  /** Takes items older than the run while they fit in `room` (skipping ones chosen already); returns the room left. */
  async extend(room: number, chosen: Map<number, WindowUnit>): Promise<number> {
    while (!this.done) {
      if (this.items.length === 0 && !(await this.fill())) break;
      const items = this.items;
      // Counted a step at a time, so items past the first that does not fit are never counted.
      for (let start = 0; start < items.length; start += COUNT_STEP) {
        const step = items.slice(start, start + COUNT_STEP);
        const tokens = await this.tokensOf(
          step.map((x) => x.seq),
          (i) => JSON.parse(step[i]!.json) as WorkUnit,
        );
        for (let i = 0; i < step.length; i++) {
          const x = step[i]!;
          if (!chosen.has(x.seq)) {
            if (tokens[i]! > room) {
              // The run stops at the first item that does not fit: a window has no holes in its recent part.
              this.items = items.slice(start + i);
              return room;
            }
            chosen.set(x.seq, { seq: x.seq, tokens: tokens[i]!, reason: x.low === x.high && x.low === x.seq ? 'recent' : 'summary', json: x.json });
            room -= tokens[i]!;
          }
          this.from = x.low;
        }
      }
      this.items = [];
    }
    return room;
  }

  private async fill(): Promise<boolean> {
    if (this.cursor === null || this.cursor <= 1) {
      this.done = true;
      return false;
    }
    const before = this.cursor;
    const page = await this.pages(before, this.page);
    this.page = Math.min(MAX_PAGE, this.page * 2);
    this.items = page.items;
    this.cursor = page.nextCursor;
    // Each page must go on from the one before without a gap (a page of another history, or one
    // that retention trimmed meanwhile, ends the run: the window is asked again on a new history).
    let expect = before - 1;
    for (let i = 0; i < this.items.length; i++) {
      while (this.hidden.has(expect) && this.items[i]!.high < expect) expect--;
      if (this.items[i]!.high !== expect) {
        this.items = this.items.slice(0, i);
        this.cursor = null;
        break;
      }
      expect = this.items[i]!.low - 1;
    }
    if (this.items.length === 0) this.done = true;
    return this.items.length > 0;
  }
}
