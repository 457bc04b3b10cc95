/**
 * State derived from one context's units, for the memory services (files, facts, graph): the
 * replay of the context in seq order, cached per storage space and read again only from where it
 * stopped. Changes run one at a time per context, each against the state as the log has it, so
 * many writers (processes, agents, transports) never lose a change: the second sees the first.
 * Each unit is appended expecting the seq after the state it was decided on: a writer this
 * serialization does not see (another node on a shared log, a unit posted by hand) makes it fail
 * with SEQ_CONFLICT, and the change is decided again on the caught-up state.
 */
import type { Principal } from '../tenancy/access.js';
import type { Gate } from '../gate/gate.js';
import { EngramError } from '../basics/errors.js';
import type { WorkUnit } from '../basics/types.js';
import { scopedKey } from '../basics/compound-key.js';

export interface ProjectionOf<S> {
  /** A new, empty state. */
  empty(): S;
  /** Folds one unit of the context into the state (units it does not understand are history only). */
  apply(state: S, unit: WorkUnit): void;
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
}

/** Replayed states kept per projection; the least recently used beyond this are dropped and replayed again on use. */
export const MAX_LOADED = 1024;

/** Times one change is decided again because other writers moved its context first. */
const MAX_DECISIONS = 50;

export class Projection<S> {
  /** In least-recently-used order (a use moves an entry to the end). */
  private readonly loaded = new Map<string, Loaded<S>>();
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(
    private readonly gate: Gate,
    private readonly of: ProjectionOf<S>,
    private readonly maxLoaded = MAX_LOADED,
  ) {
    // A deleted context's state goes with it (on any node): a new history of the id replays from nothing.
    gate.engine.onCommit((events) => {
      for (const e of events) if (e.deleted !== undefined) this.loaded.delete(scopedKey(e.clientId, e.contextId));
    });
  }

  /** How many contexts have a replayed state in memory. */
  get size(): number {
    return this.loaded.size;
  }

  /** The state as the log has it now, for reading. */
  async read(p: Principal, contextId: string): Promise<S> {
    return (await this.current(p, this.keyOf(p, contextId, 'read'), contextId)).state;
  }

  /**
   * Runs `decide` against the current state, appends the units it returns in order and folds
   * them in; one change at a time per context. `decide` may be async (an embedding), but the
   * state it sees stays current: nothing else changes this context until it is done.
   * Rejects (never throws) on a bad id or a refused scope.
   */
  change<R>(p: Principal, contextId: string, decide: (state: S) => Decision<R> | Promise<Decision<R>>): Promise<Changed<R>> {
    let key: string;
    try {
      key = this.keyOf(p, contextId, 'write');
    } catch (err) {
      return Promise.reject(err);
    }
    const run = (this.queues.get(key) ?? Promise.resolve()).then(() => this.runOne(p, key, contextId, decide));
    const tail = run.catch(() => undefined);
    this.queues.set(key, tail);
    void tail.then(() => {
      if (this.queues.get(key) === tail) this.queues.delete(key);
    });
    return run;
  }

  private async runOne<R>(p: Principal, key: string, contextId: string, decide: (state: S) => Decision<R> | Promise<Decision<R>>): Promise<Changed<R>> {
    for (let attempt = 1; ; attempt++) {
      const loaded = await this.current(p, key, contextId);
      const d = await decide(loaded.state);
      const units: WorkUnit[] = [];
      try {
        for (const draft of d.units) {
          const r = await this.gate.append(p, { contextId, relationships: [], ...draft }, undefined, loaded.seq + 1);
          const unit = JSON.parse(r.json) as WorkUnit;
          this.of.apply(loaded.state, unit);
          loaded.seq = unit.seq;
          units.push(unit);
        }
      } catch (err) {
        // Someone else moved the context first: decide again on the state with their units (current() catches up).
        if (err instanceof EngramError && err.code === 'SEQ_CONFLICT' && units.length === 0 && attempt < MAX_DECISIONS) continue;
        throw err;
      }
      return { result: d.result, units };
    }
  }

  /** The cache key of a context: the storage space it lives in (checked for `need`), and its id. */
  private keyOf(p: Principal, contextId: string, need: 'read' | 'write'): string {
    return scopedKey(this.gate.access.contextSpace(p, contextId, need), contextId);
  }

  private async current(p: Principal, key: string, contextId: string): Promise<Loaded<S>> {
    let loaded = this.loaded.get(key);
    if (loaded === undefined) {
      loaded = { state: this.of.empty(), seq: 0 };
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
      head = (await this.gate.getContext(p, contextId)).headSeq;
    } catch (err) {
      if (err instanceof EngramError && err.code === 'CONTEXT_NOT_FOUND') return loaded;
      throw err;
    }
    if (head > loaded.seq) await this.catchUp(p, contextId, loaded, head);
    return loaded;
  }

  private async catchUp(p: Principal, contextId: string, loaded: Loaded<S>, upTo: number): Promise<void> {
    while (loaded.seq < upTo) {
      const page = await this.gate.listUnits(p, contextId, { after: loaded.seq, before: upTo + 1, limit: 1000 });
      if (page.units.length === 0) break;
      for (const json of page.units) {
        const u = JSON.parse(json) as WorkUnit;
        this.of.apply(loaded.state, u);
        loaded.seq = u.seq;
      }
    }
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
