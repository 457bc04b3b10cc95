/**
 * Contexts kept in memory: each one's record and the tail of its recent units, in
 * LRU order, within a count and a byte budget. Concurrent loads of one context share
 * one read. A state that is retained (a subscription holds it) is never evicted, and
 * nothing is evicted while the engine has a batch in flight (it holds states it loaded).
 */
import type { ContextCacheOptions } from './engine-types.js';
import type { Log } from './log.js';
import { UnitTail } from './tail.js';
import type { ContextRecord } from '../basics/types.js';
import { clientOfKey } from '../basics/compound-key.js';

export interface ContextState {
  /** Undefined until the context exists (its first unit or PATCH). */
  record: ContextRecord | undefined;
  tail: UnitTail;
  /** Open handles (subscriptions); a retained state is never evicted. */
  retained: number;
  /** Which history of the id this is: the record's, or, with no record, what the last deletion left (undefined: never deleted). */
  incarnation: string | undefined;
}

export class ContextCache {
  private readonly states = new Map<string, ContextState>();
  private readonly loading = new Map<string, Promise<ContextState>>();
  private tailBytes = 0;
  /** While true (a batch is in flight), eviction waits. */
  frozen = false;

  constructor(
    private readonly log: Log,
    private readonly options: ContextCacheOptions,
  ) {}

  /** The canonical state of a loaded context, without touching its recency. */
  peek(key: string): ContextState | undefined {
    return this.states.get(key);
  }

  /** The state of a context, from memory or loaded from the log. */
  get(clientId: string, key: string): ContextState | Promise<ContextState> {
    const cached = this.states.get(key);
    if (cached !== undefined) {
      // Map order is recency order: re-inserting marks it most recently used.
      this.states.delete(key);
      this.states.set(key, cached);
      return cached;
    }
    let pending = this.loading.get(key);
    if (pending === undefined) {
      const contextId = key.slice(clientId.length + 1);
      pending = this.log
        .getContext(clientId, contextId)
        .then(async (record) => ({ record, incarnation: record !== undefined ? record.incarnation : await this.log.incarnation(clientId, contextId) }))
        .then(
          ({ record, incarnation }) => {
            this.loading.delete(key);
            const state: ContextState = { record, tail: new UnitTail((record?.headSeq ?? 0) + 1, this.options.tailUnits), retained: 0, incarnation };
            this.states.set(key, state);
            this.evict();
            return state;
          },
          (err: unknown) => {
            this.loading.delete(key);
            throw err;
          },
        );
      this.loading.set(key, pending);
    }
    return pending;
  }

  /** The load in flight for a context not yet in memory, if any. */
  loadingState(key: string): Promise<ContextState> | undefined {
    return this.loading.get(key);
  }

  /** Empties a state's tail so it starts after the record's head (its units are read from the log again). */
  resetTail(state: ContextState): void {
    this.tailBytes -= state.tail.bytes;
    state.tail = new UnitTail((state.record?.headSeq ?? 0) + 1, this.options.tailUnits);
  }

  /** Drops units below `seq` from a state's tail (retention trimmed them). */
  dropTailBelow(state: ContextState, seq: number): void {
    this.tailBytes -= state.tail.dropBelow(seq);
  }

  /** Appends a committed unit to a state's tail, keeping the byte count. */
  pushTail(state: ContextState, json: string): void {
    this.tailBytes += state.tail.push(json);
  }

  /** Adds units just older than a state's tail (a read that ended where the tail starts). */
  prependTail(state: ContextState, lo: number, jsons: string[]): void {
    this.tailBytes += state.tail.prepend(lo, jsons);
  }

  /** Drops least recently used, unretained states while over budget. */
  evict(): void {
    if (this.frozen) return;
    for (const [key, state] of this.states) {
      if (this.states.size <= this.options.maxCachedContexts && this.tailBytes <= this.options.maxTailBytes) return;
      if (state.retained > 0) continue;
      this.tailBytes -= state.tail.bytes;
      this.states.delete(key);
    }
  }

  /** Drops every unretained state of these spaces (idle clients'), in one pass; returns how many. Waits out a batch in flight like evict(). */
  dropSpaces(spaces: ReadonlySet<string>): number {
    if (this.frozen || spaces.size === 0) return 0;
    let dropped = 0;
    for (const [key, state] of this.states) {
      if (state.retained > 0 || !spaces.has(clientOfKey(key))) continue;
      this.tailBytes -= state.tail.bytes;
      this.states.delete(key);
      dropped++;
    }
    return dropped;
  }

  stats(): { cachedContexts: number; tailBytes: number } {
    return { cachedContexts: this.states.size, tailBytes: this.tailBytes };
  }
}
