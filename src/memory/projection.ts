/**
 * State derived from one context's units, for the memory services (files, facts, graph): the
 * replay of the context in seq order, cached per storage space and read again only from where it
 * stopped. Changes run one at a time per context, each against the state as the log has it, so
 * many writers (processes, agents, transports) never lose a change: the second sees the first.
 * Each unit is appended expecting the seq after the state it was decided on: a writer this
 * serialization does not see (another node on a shared log, a unit posted by hand) makes it fail
 * with SEQ_CONFLICT, and the change is decided again on the caught-up state.
 *
 * With snapshots (memory/snapshots.ts), a state that is `every` units past its latest snapshot
 * is written as a new one, off the write path (after the change that got there is answered, or
 * after the rebuild or catch-up that got there), and a rebuild starts from the latest snapshot at
 * or below the context's head, replaying only the units after it.
 */
import type { Principal } from '../tenancy/access.js';
import type { Gate } from '../gate/gate.js';
import { EngramError } from '../basics/errors.js';
import { parseWorkUnitDraft } from '../basics/validate.js';
import type { WorkUnit } from '../basics/types.js';
import { scopedKey } from '../basics/compound-key.js';
import { NO_PROJECTION_OBSERVER, type ProjectionObserver } from '../basics/observer.js';
import type { Tracer } from '../basics/tracer.js';
import { decodeSnapshot, encodeSnapshot, type SnapshotCodec, type SnapshotStore } from './snapshots.js';

export interface ProjectionOf<S> {
  /** A new, empty state. */
  empty(): S;
  /** Folds one unit of the context into the state (units it does not understand are history only). */
  apply(state: S, unit: WorkUnit): void;
  /** How the state is snapshotted; a projection without one is always replayed from the start. */
  snapshot?: SnapshotCodec<S>;
}

export interface SnapshotOptions {
  store: SnapshotStore;
  /** A snapshot is written once the state is this many units past the latest one (0: snapshots off). */
  every: number;
}

export interface ProjectionOptions {
  /** Replayed states kept in memory (MAX_LOADED). */
  maxLoaded?: number;
  snapshots?: SnapshotOptions;
  observer?: ProjectionObserver;
  /** Spans of the memory operations of the services that keep these projections (memory/memory-spans.ts). */
  tracer?: Tracer;
}

/** What a projection has done since it was made (tests, benchmarks; the observer feeds metrics). */
export interface ProjectionStats {
  /** States made afresh from the log (first use, or after being dropped from memory). */
  rebuilds: number;
  /** Units folded in from the log by rebuilds and catch-ups (not the projection's own changes). */
  unitsReplayed: number;
  snapshotsLoaded: number;
  snapshotsRejected: number;
  snapshotsWritten: number;
  snapshotsFailed: number;
}

/** A unit to append: everything but the context, which the projection owns. */
export interface ProjectedDraft {
  agentId: string;
  type: WorkUnit['type'];
  meta: Record<string, string>;
  payload: unknown;
  relationships?: WorkUnit['relationships'];
}

/** What a change decided: units to append (none for a read or a refused change) and the answer. */
export interface Decision<R> {
  units: ProjectedDraft[];
  result: R;
}

/** The decision's answer and the units it appended, as stored. */
export interface Changed<R> {
  result: R;
  units: WorkUnit[];
}

interface Loaded<S> {
  state: S;
  /** Seq of the last unit applied. */
  seq: number;
  /** Catch-ups from the log, one at a time (two reads at once must not both fold the same units in). */
  catching: Promise<void>;
  /**
   * The context's createdAt: which history of it this state is of (snapshots name it). Read with
   * the head before each change and read, so a context this projection created has one from its
   * second use on.
   */
  origin?: string;
  /** Seq of the latest snapshot stored or loaded for this state (0: none). */
  snapshotSeq: number;
  snapshotting: boolean;
  /** The context was deleted: this state is of a history that is gone. */
  deleted?: boolean;
}

/** Replayed states kept per projection; the least recently used beyond this are dropped and replayed again on use. */
export const MAX_LOADED = 1024;

/** Times one change is decided again because other writers moved its context first. */
const MAX_DECISIONS = 50;

export class Projection<S> {
  /** In least-recently-used order (a use moves an entry to the end). */
  private readonly loaded = new Map<string, Loaded<S>>();
  private readonly queues = new Map<string, Promise<unknown>>();
  private readonly maxLoaded: number;
  /** Set when the projection has a codec and snapshots are on. */
  private readonly snapshots: (SnapshotOptions & { codec: SnapshotCodec<S> }) | undefined;
  private readonly observer: ProjectionObserver;
  private readonly counts: ProjectionStats = { rebuilds: 0, unitsReplayed: 0, snapshotsLoaded: 0, snapshotsRejected: 0, snapshotsWritten: 0, snapshotsFailed: 0 };

  constructor(
    private readonly gate: Gate,
    private readonly of: ProjectionOf<S>,
    options: ProjectionOptions = {},
  ) {
    this.maxLoaded = options.maxLoaded ?? MAX_LOADED;
    const s = options.snapshots;
    this.snapshots = s !== undefined && s.every > 0 && of.snapshot !== undefined ? { ...s, codec: of.snapshot } : undefined;
    this.observer = options.observer ?? NO_PROJECTION_OBSERVER;
    // A deleted context's state goes with it (on any node): a new history of the id replays from
    // nothing. Its snapshots go in the deletion's own batch (Log.deleteContext); one being written
    // now is deleted once stored (maybeSnapshot).
    gate.engine.onCommit((events) => {
      for (const e of events) {
        if (e.deleted === undefined) continue;
        const key = scopedKey(e.clientId, e.contextId);
        const gone = this.loaded.get(key);
        if (gone !== undefined) gone.deleted = true;
        this.loaded.delete(key);
      }
    });
  }

  /** What this projection has done so far. */
  stats(): ProjectionStats {
    return { ...this.counts };
  }

  /** Resolves once no snapshot is being written (tests, and a benchmark that restarts next). */
  async snapshotsSettled(): Promise<void> {
    while (this.writing.size > 0) await Promise.all([...this.writing]);
  }

  private readonly writing = new Set<Promise<void>>();

  /** How many contexts have a replayed state in memory. */
  get size(): number {
    return this.loaded.size;
  }

  /** The state as the log has it now, for reading. */
  async read(p: Principal, contextId: string): Promise<S> {
    const space = this.spaceOf(p, contextId, 'read');
    return (await this.current(p, space, contextId)).state;
  }

  /**
   * Runs `decide` against the current state, appends the units it returns in order and folds
   * them in; one change at a time per context. `decide` may be async (an embedding), but the
   * state it sees stays current: nothing else changes this context until it is done.
   * Rejects (never throws) on a bad id or a refused scope.
   */
  change<R>(p: Principal, contextId: string, decide: (state: S) => Decision<R> | Promise<Decision<R>>): Promise<Changed<R>> {
    let space: string;
    try {
      space = this.spaceOf(p, contextId, 'write');
    } catch (err) {
      return Promise.reject(err);
    }
    const key = scopedKey(space, contextId);
    const run = (this.queues.get(key) ?? Promise.resolve()).then(() => this.runOne(p, space, contextId, decide));
    const tail = run.catch(() => undefined);
    this.queues.set(key, tail);
    void tail.then(() => {
      if (this.queues.get(key) === tail) this.queues.delete(key);
    });
    return run;
  }

  private async runOne<R>(p: Principal, space: string, contextId: string, decide: (state: S) => Decision<R> | Promise<Decision<R>>): Promise<Changed<R>> {
    for (let attempt = 1; ; attempt++) {
      const loaded = await this.current(p, space, contextId);
      const d = await decide(loaded.state);
      // A decision of several units is checked whole before its first is stored, so bad input never leaves half of it behind.
      for (const draft of d.units) parseWorkUnitDraft({ contextId, relationships: [], ...draft });
      const units: WorkUnit[] = [];
      try {
        for (const draft of d.units) {
          const r = await this.gate.append(p, { contextId, relationships: [], ...draft }, undefined, loaded.seq + 1);
          const unit = JSON.parse(r.json) as WorkUnit;
          // A read's catch-up may have folded it in already (it reads the log as it is).
          if (unit.seq > loaded.seq) {
            this.of.apply(loaded.state, unit);
            loaded.seq = unit.seq;
          }
          units.push(unit);
        }
      } catch (err) {
        // Someone else moved the context first: decide again on the state with their units (current() catches up).
        if (err instanceof EngramError && err.code === 'SEQ_CONFLICT' && units.length === 0 && attempt < MAX_DECISIONS) continue;
        // The log failed part-way (disk full, a quota, another node's write): what is stored stays, each unit a whole change; say so.
        if (err instanceof EngramError && units.length > 0) {
          throw new EngramError(err.code, `${err.message} (${units.length} of the ${d.units.length} changes were stored before this; deciding again completes the rest)`, {
            cause: err,
            details: { ...err.details, stored: units.length, of: d.units.length },
          });
        }
        throw err;
      }
      this.maybeSnapshot(space, contextId, loaded);
      return { result: d.result, units };
    }
  }

  /** The storage space a context lives in, checked for `need`. */
  private spaceOf(p: Principal, contextId: string, need: 'read' | 'write'): string {
    return this.gate.access.contextSpace(p, contextId, need);
  }

  private async current(p: Principal, space: string, contextId: string): Promise<Loaded<S>> {
    const key = scopedKey(space, contextId);
    let loaded = this.loaded.get(key);
    if (loaded === undefined) {
      loaded = { state: this.of.empty(), seq: 0, catching: Promise.resolve(), snapshotSeq: 0, snapshotting: false };
      // A dropped state is safe to drop at any time: a change in flight still folds into its
      // own copy, and the next use replays the log (its unit included) into a fresh one.
      if (this.loaded.size >= this.maxLoaded) this.loaded.delete(this.loaded.keys().next().value!);
    } else this.loaded.delete(key);
    this.loaded.set(key, loaded);
    let head: number;
    try {
      // With several nodes, another may have acknowledged a change this one has not applied yet:
      // deciding on it (or answering "no such file") would be deciding on the past.
      await this.gate.catchUp();
      const view = await this.gate.getContext(p, contextId);
      head = view.headSeq;
      loaded.origin ??= view.createdAt;
    } catch (err) {
      if (err instanceof EngramError && err.code === 'CONTEXT_NOT_FOUND') return loaded;
      throw err;
    }
    if (head > loaded.seq) {
      const entry = loaded;
      const run = entry.catching.then(() => this.catchUp(p, space, contextId, entry, head));
      entry.catching = run.catch(() => undefined);
      await run;
    }
    return loaded;
  }

  private async catchUp(p: Principal, space: string, contextId: string, loaded: Loaded<S>, upTo: number): Promise<void> {
    if (loaded.seq === 0) {
      this.counts.rebuilds++;
      if (upTo > 0) await this.loadSnapshot(space, contextId, loaded, upTo);
    }
    let replayed = 0;
    while (loaded.seq < upTo) {
      const page = await this.gate.listUnits(p, contextId, { after: loaded.seq, before: upTo + 1, limit: 1000 });
      if (page.units.length === 0) break;
      for (const json of page.units) {
        const u = JSON.parse(json) as WorkUnit;
        // A change of this projection folded it in while the page was read.
        if (u.seq <= loaded.seq) continue;
        this.of.apply(loaded.state, u);
        loaded.seq = u.seq;
        replayed++;
      }
    }
    if (replayed > 0) {
      this.counts.unitsReplayed += replayed;
      this.observer.replayed(this.of.snapshot?.name ?? 'other', replayed);
    }
    this.maybeSnapshot(space, contextId, loaded);
  }

  /** Starts a fresh state from the latest snapshot at or below `head` that can be trusted, if any. */
  private async loadSnapshot(space: string, contextId: string, loaded: Loaded<S>, head: number): Promise<void> {
    const snap = this.snapshots;
    if (snap === undefined || loaded.origin === undefined) return;
    const name = snap.codec.name;
    let found;
    try {
      found = await snap.store.latestSnapshot(space, contextId, name, head);
    } catch {
      return; // unreadable: replay instead
    }
    if (found === undefined || loaded.seq !== 0) return;
    const state = found.seq >= 1 && found.seq <= head ? decodeSnapshot(snap.codec, found.data, found.seq, loaded.origin) : undefined;
    if (state === undefined) {
      this.counts.snapshotsRejected++;
      this.observer.snapshot(name, 'rejected');
      return;
    }
    loaded.state = state;
    loaded.seq = found.seq;
    loaded.snapshotSeq = found.seq;
    this.counts.snapshotsLoaded++;
    this.observer.snapshot(name, 'loaded');
  }

  /**
   * Writes a snapshot when the state is `every` units past its latest one: encoded after the
   * current task (so never before the answer of the change that got there), stored in the
   * background. A state's seq moves together with the state in one synchronous step, so whenever
   * it is encoded the two agree. Keeps the one before as well (a fallback should the newest be
   * unreadable); older ones go.
   */
  private maybeSnapshot(space: string, contextId: string, loaded: Loaded<S>): void {
    const snap = this.snapshots;
    if (snap === undefined || loaded.snapshotting || loaded.deleted || loaded.origin === undefined || loaded.seq - loaded.snapshotSeq < snap.every) return;
    loaded.snapshotting = true;
    const name = snap.codec.name;
    const write = new Promise<void>((resolve) => setImmediate(resolve)).then(async () => {
      const seq = loaded.seq;
      const previous = loaded.snapshotSeq;
      try {
        const data = encodeSnapshot(snap.codec, loaded.state, seq, loaded.origin!);
        if (loaded.deleted) return;
        await snap.store.putSnapshot(space, contextId, { projection: name, seq, data });
        // Deleted while it was written: it must not outlive the context (its origin would refuse it anyway).
        if (loaded.deleted) {
          await snap.store.deleteSnapshots(space, contextId);
          return;
        }
        loaded.snapshotSeq = Math.max(loaded.snapshotSeq, seq);
        this.counts.snapshotsWritten++;
        this.observer.snapshot(name, 'written');
        // Without a trusted one before (a full rebuild), every older one goes.
        await snap.store.deleteSnapshots(space, contextId, { projection: name, below: previous > 0 ? previous : seq });
      } catch {
        // A cache: the next one is tried after `every` more units; meanwhile rebuilds replay more.
        this.counts.snapshotsFailed++;
        this.observer.snapshot(name, 'failed');
        loaded.snapshotSeq = Math.max(loaded.snapshotSeq, seq);
      } finally {
        loaded.snapshotting = false;
      }
    });
    this.writing.add(write);
    void write.finally(() => this.writing.delete(write));
  }

  /** Every unit of the context, oldest first (for history views). */
  async *units(p: Principal, contextId: string): AsyncGenerator<WorkUnit> {
    let after = 0;
    for (;;) {
      let page;
      try {
        page = await this.gate.listUnits(p, contextId, { after, limit: 1000 });
      } catch (err) {
        if (err instanceof EngramError && err.code === 'CONTEXT_NOT_FOUND') return;
        throw err;
      }
      for (const json of page.units) {
        const u = JSON.parse(json) as WorkUnit;
        after = u.seq;
        yield u;
      }
      if (page.nextCursor === null) return;
    }
  }
}
