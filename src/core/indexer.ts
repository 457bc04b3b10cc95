/**
 * Keeps the search index a view of the log, off the write path. After each commit
 * it reads the new units back from the log by position (the same path it uses to
 * catch up at start), embeds and indexes them in small slices that yield to the event
 * loop between them, so writes never wait for indexing. It tracks how long a unit
 * takes from commit to searchable, and saves vector snapshots now and then.
 */
import type { Engine } from './engine.js';
import type { Log } from './log.js';
import type { SearchService } from './search.js';

export interface IndexerOptions {
  /** Units read from the log at a time. */
  pageSize: number;
  /** Units indexed between two yields to the event loop. */
  sliceUnits: number;
  /** How often vector snapshots are saved (when the index moved). 0: only at stop. */
  snapshotIntervalMs: number;
  onError: (err: unknown) => void;
}

/** How many recent commit-to-searchable delays the statistics keep. */
const LAG_SAMPLES = 10_000;
const RETRY_MAX_MS = 30_000;

export class Indexer {
  private running = false;
  private again = false;
  private stopped = false;
  private retryMs = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private snapshotTimer: NodeJS.Timeout | undefined;
  private savedAt = 0;
  private readonly commitTimes = new Map<number, number>();
  private readonly lags = new Float64Array(LAG_SAMPLES);
  private lagCount = 0;
  private waiters: Array<{ pos: number; resolve: () => void }> = [];
  private unlisten: (() => void) | undefined;

  constructor(
    private readonly engine: Engine,
    private readonly log: Log,
    private readonly search: SearchService,
    private readonly options: IndexerOptions,
  ) {}

  start(): void {
    this.unlisten = this.engine.onCommit((events) => {
      const now = performance.now();
      for (const e of events) for (const pos of e.positions) this.commitTimes.set(pos, now);
      this.kick();
    });
    if (this.options.snapshotIntervalMs > 0) {
      this.snapshotTimer = setInterval(() => this.snapshot(), this.options.snapshotIntervalMs);
      this.snapshotTimer.unref();
    }
    this.kick();
  }

  /** Stops indexing and saves a last snapshot of what is indexed. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.unlisten?.();
    clearInterval(this.snapshotTimer);
    clearTimeout(this.retryTimer);
    while (this.running) await new Promise((r) => setImmediate(r));
    this.snapshot();
  }

  /** Resolves once every unit up to `pos` is searchable. */
  waitFor(pos: number): Promise<void> {
    if (this.search.position >= pos) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ pos, resolve }));
  }

  private kick(): void {
    if (this.stopped || this.retryTimer !== undefined) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    setImmediate(() => void this.run());
  }

  private async run(): Promise<void> {
    try {
      while (!this.stopped && this.search.position < this.engine.committedPosition) {
        const units = await this.log.readByPosition(this.search.position + 1, this.options.pageSize);
        if (units.length === 0) break;
        for (let i = 0; i < units.length && !this.stopped; i += this.options.sliceUnits) {
          const slice = units.slice(i, i + this.options.sliceUnits);
          await this.search.ingest(slice);
          this.indexed(slice.map((u) => u.pos));
          await new Promise((r) => setImmediate(r)); // let writes and reads through
        }
      }
      this.retryMs = 0;
    } catch (err) {
      // The embedder or the log failed: try again later, backing off; nothing is skipped.
      this.options.onError(err);
      this.retryMs = Math.min(RETRY_MAX_MS, Math.max(500, this.retryMs * 2));
      this.retryTimer = setTimeout(() => {
        this.retryTimer = undefined;
        this.kick();
      }, this.retryMs);
    } finally {
      this.running = false;
      if (this.again) {
        this.again = false;
        this.kick();
      }
    }
  }

  private indexed(positions: number[]): void {
    const now = performance.now();
    for (const pos of positions) {
      const committed = this.commitTimes.get(pos);
      if (committed === undefined) continue;
      this.commitTimes.delete(pos);
      this.lags[this.lagCount++ % LAG_SAMPLES] = now - committed;
    }
    if (this.waiters.length > 0) {
      const done = this.waiters.filter((w) => w.pos <= this.search.position);
      this.waiters = this.waiters.filter((w) => w.pos > this.search.position);
      for (const w of done) w.resolve();
    }
  }

  private snapshot(): void {
    // Only a caught-up index is saved: its position then covers every unit before it.
    if (this.search.position === this.savedAt || this.search.position < this.engine.committedPosition) return;
    try {
      this.search.saveSnapshots();
      this.savedAt = this.search.position;
    } catch (err) {
      this.options.onError(err);
    }
  }

  /** Progress and freshness: how far indexing is, and commit-to-searchable delays (ms) of recent units. */
  status(): { position: number; logPosition: number; behind: number; freshness: { samples: number; p50: number; p99: number; max: number } } {
    const n = Math.min(this.lagCount, LAG_SAMPLES);
    const sorted = Array.from(this.lags.subarray(0, n)).sort((a, b) => a - b);
    const at = (q: number) => (n === 0 ? 0 : Math.round(sorted[Math.min(n - 1, Math.floor(q * n))]! * 1000) / 1000);
    return {
      position: this.search.position,
      logPosition: this.engine.committedPosition,
      behind: this.engine.committedPosition - this.search.position,
      freshness: { samples: n, p50: at(0.5), p99: at(0.99), max: at(1) },
    };
  }
}
