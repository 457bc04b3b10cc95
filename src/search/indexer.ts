/**
 * Keeps the search index a view of the log, off the write path. Committed units are
 * queued in memory as they commit and handed to the index in slices that yield to the
 * event loop between them; whenever the queue does not continue the indexed position
 * (at start, or after it overflowed because indexing fell far behind) units are read
 * back from the log by position instead. Nothing is skipped: the index position only
 * moves over units it has taken. It also tracks how long a unit takes from commit to
 * searchable, and saves vector snapshots now and then.
 */
import type { Engine } from '../engine/engine.js';
import type { Log } from '../engine/log.js';
import type { IngestUnit } from './search.js';

/** Where the indexer puts units: the search service itself, or a worker thread running one. */
export interface SearchSink {
  /** Indexes units (in log order); resolves once they are searchable. `through`: positions up to it hold no other unit (deleted). */
  ingest(units: IngestUnit[], through?: number): Promise<void>;
  /** Log position up to which every unit is searchable. */
  readonly position: number;
  saveSnapshots(): void | Promise<void>;
  /** Drops idle clients' partitions from memory (their units are skipped until restored). */
  drop(clientIds: string[]): unknown;
  /** Units deleted from the log: drops the partition, and its saved vectors lose theirs (rebuilt on the next search). */
  forget(clientId: string, positions: number[]): void | Promise<void>;
  /** Rebuilding a partition from the log: begin (live units held back), units in order, end. */
  restoreBegin(clientId: string): void | Promise<void>;
  restore(clientId: string, units: IngestUnit[]): void | Promise<void>;
  restoreEnd(clientId: string): void | Promise<void>;
}

export interface IndexerOptions {
  /** Units read from the log at a time. */
  pageSize: number;
  /** Units indexed between two yields to the event loop. */
  sliceUnits: number;
  /** How often vector snapshots are saved (when the index moved). 0: only at stop. */
  snapshotIntervalMs: number;
  /**
   * While the main thread is busier than this share of its time (event-loop utilization), indexing
   * waits: a burst of writes gets the CPU, and the index catches up once it is over. At most
   * YIELD_MAX_MS at a time, so a load that never stops still gets indexed. Undefined: never waits.
   */
  yieldAboveUtilization?: number;
  onError: (err: unknown) => void;
}

/** Most units queued in memory; beyond, the queue is dropped and the log is read instead. */
const MAX_QUEUED = 20_000;
/** How many recent commit-to-searchable delays the statistics keep. */
const LAG_SAMPLES = 10_000;
/** Freshness is reported over this recent window unless asked for another. */
export const LAG_WINDOW_MS = 10_000;
const RETRY_MAX_MS = 30_000;
/** Log positions looked at per step of a partition rebuild. */
const REBUILD_SCAN = 10_000;
/** How often a yielding indexer looks at the main thread's load again. */
const YIELD_SAMPLE_MS = 25;
/** Longest wait for a quieter moment before a slice is indexed anyway. */
const YIELD_MAX_MS = 1000;

export class Indexer {
  private running = false;
  private again = false;
  private stopped = false;
  private retryMs = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private snapshotTimer: NodeJS.Timeout | undefined;
  private savedAt = 0;
  private readonly commitTimes = new Map<number, number>();
  /** Committed units not yet indexed, by increasing position, contiguous. */
  private queued: IngestUnit[] = [];
  private readonly lags = new Float64Array(LAG_SAMPLES);
  /** When each sample in `lags` was taken (performance.now()). */
  private readonly lagTimes = new Float64Array(LAG_SAMPLES);
  private lagCount = 0;
  private waiters: Array<{ pos: number; resolve: () => void }> = [];
  /** The committed position as of the last commit event, and as of the one before the first queued unit. */
  private lastCommitted = 0;
  private queueFrom = Infinity;
  private unlisten: (() => void) | undefined;
  /** Clients whose partitions were dropped as idle, and rebuilds under way. */
  private readonly dropped = new Set<string>();
  private readonly restoring = new Map<string, Promise<void>>();
  /** The main thread's event-loop utilization when last sampled, and the verdict then. */
  private elu = performance.eventLoopUtilization();
  private eluAt = performance.now();
  private writesBusy = false;
  /** Time indexing spent waiting for writes to quieten, and how often (for /search/status). */
  private yieldedMs = 0;

  constructor(
    private readonly engine: Engine,
    private readonly log: Log,
    private readonly search: SearchSink,
    private readonly options: IndexerOptions,
  ) {}

  start(): void {
    this.lastCommitted = this.engine.committedPosition;
    this.unlisten = this.engine.onCommit((events) => {
      const now = performance.now();
      const units: IngestUnit[] = [];
      // The committed position before these events: the queue continues from there when it is empty now.
      const before = this.lastCommitted;
      this.lastCommitted = this.engine.committedPosition;
      for (const e of events) {
        if (e.deleted !== undefined || e.trimmed !== undefined) {
          const positions = (e.deleted ?? e.trimmed)!.positions;
          if (this.queued.length > 0 && positions.length > 0) {
            const gone = new Set(positions);
            this.queued = this.queued.filter((u) => !gone.has(u.pos));
          }
          void this.forget(e.clientId, positions);
          continue;
        }
        e.positions.forEach((pos, i) => {
          this.commitTimes.set(pos, now);
          units.push({ pos, clientId: e.clientId, contextId: e.contextId, json: e.units[i]!, embedding: e.embeddings[i] });
        });
      }
      units.sort((a, b) => a.pos - b.pos);
      if (this.queued.length === 0) this.queueFrom = before;
      if (this.queued.length + units.length > MAX_QUEUED) {
        this.queued = [];
        this.queueFrom = Infinity;
      } else for (const u of units) this.queued.push(u);
      this.kick();
    });
    if (this.options.snapshotIntervalMs > 0) {
      this.snapshotTimer = setInterval(() => void this.snapshot(), this.options.snapshotIntervalMs);
      this.snapshotTimer.unref();
    }
    this.kick();
  }

  /**
   * Stops indexing and saves a last snapshot of what is indexed, waiting at most
   * `graceMs`: a snapshot only saves work at the next start, so shutdown never waits long for it.
   */
  async stop(graceMs = 3000): Promise<void> {
    this.stopped = true;
    this.unlisten?.();
    clearInterval(this.snapshotTimer);
    clearTimeout(this.retryTimer);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((r) => (timer = setTimeout(r, graceMs)));
    const finish = (async () => {
      while (this.running) await new Promise((r) => setTimeout(r, 5));
      await this.snapshot();
    })();
    await Promise.race([finish, deadline]);
    clearTimeout(timer);
  }

  /**
   * Frees the search partitions of idle clients. Their units stay in the log; the next search
   * of such a client rebuilds its partition first (`ensure`), without embedding again (the
   * partition's vectors are saved with it).
   */
  async drop(clientIds: string[]): Promise<void> {
    const ids = clientIds.filter((id) => !this.dropped.has(id) && !this.restoring.has(id));
    if (ids.length === 0) return;
    for (const id of ids) this.dropped.add(id);
    await this.search.drop(ids);
  }

  /**
   * Units of the client were deleted (a context) or trimmed (retention): its partition is rebuilt from the log on the next search
   * (SearchSink.forget). Units of the client still queued are skipped by the sink (dropped), and a
   * rebuild under way finishes first, then is dropped too.
   */
  private async forget(clientId: string, positions: number[]): Promise<void> {
    try {
      await this.restoring.get(clientId)?.catch(() => undefined);
      this.dropped.add(clientId);
      await this.search.forget(clientId, positions);
    } catch (err) {
      this.options.onError(err);
    }
  }

  /** Undefined when the client's partition is in memory; else a promise of it being rebuilt from the log. */
  ensure(clientId: string): Promise<void> | undefined {
    const running = this.restoring.get(clientId);
    if (running !== undefined) return running;
    if (!this.dropped.has(clientId)) return undefined;
    this.dropped.delete(clientId);
    const rebuild = this.rebuild(clientId).finally(() => this.restoring.delete(clientId));
    this.restoring.set(clientId, rebuild);
    return rebuild;
  }

  private async rebuild(clientId: string): Promise<void> {
    try {
      // Units sent to the index from here on are held back for this client; everything
      // committed before is in the log, read below up to the head as it is now.
      await this.search.restoreBegin(clientId);
      const end = this.engine.committedPosition;
      for (let from = 1; from <= end;) {
        const r = await this.log.readSpace(clientId, from, REBUILD_SCAN);
        if (r.units.length > 0) await this.search.restore(clientId, r.units);
        if (r.next <= from) break;
        from = r.next;
      }
      await this.search.restoreEnd(clientId);
    } catch (err) {
      // Try again on the next search rather than answering from half a partition.
      this.dropped.add(clientId);
      await this.search.drop([clientId]);
      throw err;
    }
  }

  /** Resolves once every unit up to `pos` is searchable; `signal` gives up waiting (and forgets the waiter). */
  waitFor(pos: number, signal?: AbortSignal): Promise<void> {
    if (this.search.position >= pos) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter = { pos, resolve };
      this.waiters.push(waiter);
      signal?.addEventListener(
        'abort',
        () => {
          this.waiters = this.waiters.filter((w) => w !== waiter);
          reject(signal.reason);
        },
        { once: true },
      );
    });
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
        const next = this.search.position + 1;
        let drop = 0;
        while (drop < this.queued.length && this.queued[drop]!.pos < next) drop++;
        if (drop > 0) this.queued = this.queued.slice(drop);
        let units: IngestUnit[];
        // The queue follows on from what is indexed: nothing committed lies between (positions may have gaps: deleted units, or the shared log's).
        if (this.queued.length > 0 && this.queueFrom <= this.search.position) {
          units = this.queued.slice(0, this.options.pageSize);
          this.queued = this.queued.slice(units.length);
        } else {
          // Committed before the read: every unit up to here that still exists is in the log.
          const committed = this.engine.committedPosition;
          units = await this.log.readByPosition(next, this.options.pageSize);
          if (units.length === 0) {
            // Nothing is left at or after `next`: the positions up to `committed` held deleted units.
            await this.search.ingest([], committed);
            this.indexed([]);
            break;
          }
        }
        for (let i = 0; i < units.length && !this.stopped; i += this.options.sliceUnits) {
          await this.yieldToWrites();
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

  /**
   * Waits while writes keep the main thread busy. Indexing costs more CPU per unit than the
   * write itself (docs/performance-notes.md), and on a machine with few cores the search worker
   * competes with the write path for them: during a bulk load the writes go first.
   */
  private async yieldToWrites(): Promise<void> {
    const threshold = this.options.yieldAboveUtilization;
    if (threshold === undefined) return;
    const started = performance.now();
    while (!this.stopped && this.busy(threshold) && performance.now() - started < YIELD_MAX_MS) {
      await new Promise((r) => setTimeout(r, YIELD_SAMPLE_MS));
    }
    this.yieldedMs += performance.now() - started;
  }

  /** Whether the main thread was busier than `threshold` since the last sample (taken at most every YIELD_SAMPLE_MS). */
  private busy(threshold: number): boolean {
    const now = performance.now();
    if (now - this.eluAt >= YIELD_SAMPLE_MS) {
      const elu = performance.eventLoopUtilization();
      this.writesBusy = performance.eventLoopUtilization(elu, this.elu).utilization > threshold;
      this.elu = elu;
      this.eluAt = now;
    }
    return this.writesBusy;
  }

  private indexed(positions: number[]): void {
    const now = performance.now();
    for (const pos of positions) {
      const committed = this.commitTimes.get(pos);
      if (committed === undefined) continue;
      this.commitTimes.delete(pos);
      this.lagTimes[this.lagCount % LAG_SAMPLES] = now;
      this.lags[this.lagCount++ % LAG_SAMPLES] = now - committed;
    }
    if (this.waiters.length > 0) {
      const done = this.waiters.filter((w) => w.pos <= this.search.position);
      this.waiters = this.waiters.filter((w) => w.pos > this.search.position);
      for (const w of done) w.resolve();
    }
  }

  private async snapshot(): Promise<void> {
    // Only a caught-up index is saved: its position then covers every unit before it.
    if (this.search.position === this.savedAt || this.search.position < this.engine.committedPosition) return;
    const at = this.search.position;
    try {
      await this.search.saveSnapshots();
      this.savedAt = at;
    } catch (err) {
      this.options.onError(err);
    }
  }

  /** Progress and freshness: how far indexing is, and commit-to-searchable delays (ms) of units indexed in the last 10 s. */
  status(windowMs = LAG_WINDOW_MS): {
    position: number;
    logPosition: number;
    behind: number;
    freshness: { samples: number; p50: number; p99: number; max: number };
    yieldedToWritesMs: number;
  } {
    const since = performance.now() - windowMs;
    const recent: number[] = [];
    for (let i = 0; i < Math.min(this.lagCount, LAG_SAMPLES); i++) if (this.lagTimes[i]! >= since) recent.push(this.lags[i]!);
    const n = recent.length;
    const sorted = recent.sort((a, b) => a - b);
    const at = (q: number) => (n === 0 ? 0 : Math.round(sorted[Math.min(n - 1, Math.floor(q * n))]! * 1000) / 1000);
    return {
      position: this.search.position,
      logPosition: this.engine.committedPosition,
      // Units queued when the queue follows on from the index; else the span of positions still to read (deleted ones included).
      behind:
        this.queueFrom <= this.search.position ? this.queued.filter((u) => u.pos > this.search.position).length : Math.max(0, this.engine.committedPosition - this.search.position),
      freshness: { samples: n, p50: at(0.5), p99: at(0.99), max: at(1) },
      yieldedToWritesMs: Math.round(this.yieldedMs),
    };
  }
}
