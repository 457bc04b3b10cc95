/**
 * Retention (docs/lifecycle.md): a sweeper that looks at every context now and then and trims
 * the units beyond its rule (max age, max units, max bytes), oldest first. It runs off the write
 * path: it reads the log, and each trim is an operation in the engine's queue (Engine.trimContext),
 * so a trim never races an append, and the head and the seqs stay.
 */
import type { Engine } from './engine.js';
import type { Log } from './log.js';
import { sharedThrough } from './forks.js';
import type { ContextRecord, RetentionRule } from '../basics/types.js';
import { EngramError } from '../basics/errors.js';

export interface RetentionOptions {
  /** How often the sweeper runs (0: only when asked, `sweep()`). */
  intervalMs: number;
  /** The rule of a context of a space, or undefined to keep all of it. */
  ruleFor(space: string, contextId: string): RetentionRule | undefined;
  /** Contexts retention never trims (memory contexts: their state is rebuilt from their units). */
  protect(contextId: string): boolean;
  /**
   * How many of the seqs from..cut-1 a trim drops an applied summary covers (the report's
   * `summarized`; the log keeps SUMMARY units itself, Log.trimContext).
   */
  summarized?(space: string, contextId: string, from: number, cut: number): Promise<number>;
  now?: () => number;
  onError(err: unknown): void;
}

export interface SweepReport {
  /** Contexts a rule applied to. */
  contexts: number;
  /** Contexts trimmed, and the units and bytes removed. */
  trimmed: number;
  units: number;
  bytes: number;
  /** Of the trimmed seqs, those a summary kept in their place covers. */
  summarized: number;
}

/** Spaces and contexts read per page while sweeping. */
const PAGE = 500;
/** Units read per step when summing sizes back from the head (maxBytes). */
const SIZE_PAGE = 256;

export class RetentionSweeper {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<SweepReport> | undefined;
  private readonly now: () => number;

  constructor(
    private readonly engine: Engine,
    private readonly log: Log,
    private readonly options: RetentionOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  start(): void {
    if (this.options.intervalMs <= 0) return;
    this.timer = setInterval(() => {
      this.sweep().catch((err: unknown) => this.options.onError(err));
    }, this.options.intervalMs);
    this.timer.unref();
  }

  /** Stops the timer and waits for a sweep under way. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running?.catch(() => undefined);
  }

  /** One pass over every context (one at a time: a second call while one runs joins it). */
  sweep(): Promise<SweepReport> {
    this.running ??= this.pass().finally(() => (this.running = undefined));
    return this.running;
  }

  private async pass(): Promise<SweepReport> {
    const report: SweepReport = { contexts: 0, trimmed: 0, units: 0, bytes: 0, summarized: 0 };
    let afterSpace: string | undefined;
    for (;;) {
      const spaces = await this.log.listSpaces({ after: afterSpace, limit: PAGE });
      for (const space of spaces) {
        let after: string | undefined;
        for (;;) {
          const records = await this.log.listContexts(space, { after, limit: PAGE });
          for (const r of records) {
            const rule = this.options.ruleFor(space, r.id);
            if (rule === undefined || this.options.protect(r.id)) continue;
            report.contexts++;
            const cut = await this.cutFor(space, r, rule);
            if (cut <= (r.firstSeq ?? 1)) continue;
            if (!this.engine.ready) return report;
            const summarized = await this.summarized(space, r, cut);
            const t = await this.engine.trimContext(space, r.id, cut, rule.keepPinned);
            if (t === undefined) continue;
            report.summarized += summarized;
            report.trimmed++;
            report.units += t.units;
            report.bytes += t.bytes;
          }
          if (records.length < PAGE) break;
          after = records[records.length - 1]!.id;
        }
      }
      if (spaces.length < PAGE) return report;
      afterSpace = spaces[spaces.length - 1];
    }
  }

  /** For the report only: a failure to count (the context deleted meanwhile, say) never stops the trim or the sweep. */
  private async summarized(space: string, r: ContextRecord, cut: number): Promise<number> {
    if (this.options.summarized === undefined) return 0;
    // A fork's shared seqs are its parent's: a trim of the fork drops only its own.
    const from = Math.max(r.firstSeq ?? 1, r.lineage === undefined ? 1 : sharedThrough(r.lineage) + 1);
    try {
      return await this.options.summarized(space, r.id, from, cut);
    } catch (err) {
      if (!(err instanceof EngramError && err.code === 'CONTEXT_NOT_FOUND')) this.options.onError(err);
      return 0;
    }
  }

  /** The first seq the rule keeps: every unit below it is beyond one of its limits. */
  async cutFor(space: string, r: ContextRecord, rule: RetentionRule): Promise<number> {
    const head = r.headSeq;
    let cut = r.firstSeq ?? 1;
    // A fork's own units start after what it shares; the shared part follows its parent's retention (docs/agents.md, Forks).
    const own = r.lineage === undefined ? 1 : sharedThrough(r.lineage) + 1;
    if (rule.maxUnits !== undefined) cut = Math.max(cut, head - rule.maxUnits + 1);
    if (rule.maxAgeMs !== undefined && cut <= head) cut = Math.max(cut, await this.firstNewer(space, r.id, Math.max(cut, own), head, this.now() - rule.maxAgeMs));
    if (rule.maxBytes !== undefined && cut <= head) cut = Math.max(cut, await this.firstWithin(space, r.id, Math.max(cut, own), head, rule.maxBytes));
    if (cut <= own) return r.firstSeq ?? 1;
    return Math.min(cut, head + 1);
  }

  /** The lowest seq in lo..hi whose unit was written at or after `since` (hi + 1 when none): units' times grow with their seqs. */
  private async firstNewer(space: string, contextId: string, lo: number, hi: number, since: number): Promise<number> {
    let a = lo;
    let b = hi + 1;
    while (a < b) {
      const mid = Math.floor((a + b) / 2);
      const [json] = await this.log.readUnits(space, contextId, mid, mid);
      // A unit that is not there (trimmed meanwhile) counts as old.
      const ts = json === undefined ? -Infinity : Date.parse((JSON.parse(json) as { ts: string }).ts);
      if (ts >= since) b = mid;
      else a = mid + 1;
    }
    return a;
  }

  /** The lowest seq in lo..hi from which the units up to hi take at most `maxBytes`. */
  private async firstWithin(space: string, contextId: string, lo: number, hi: number, maxBytes: number): Promise<number> {
    let total = 0;
    for (let to = hi; to >= lo; to -= SIZE_PAGE) {
      const from = Math.max(lo, to - SIZE_PAGE + 1);
      const units = await this.log.readUnits(space, contextId, from, to);
      for (let i = units.length - 1; i >= 0; i--) {
        total += units[i]!.length;
        if (total > maxBytes) return from + i + 1;
      }
    }
    return lo;
  }
}
