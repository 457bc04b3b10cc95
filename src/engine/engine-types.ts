/** The engine's public types: options, results, commit events, context handles. */
import type { ContextRecord, ContextView } from '../basics/types.js';
import type { TraceSpan, Tracer } from '../basics/tracer.js';

export interface ContextCacheOptions {
  tailUnits: number;
  maxCachedContexts: number;
  /** Budget for the JSON text held in tails, in UTF-16 code units (about bytes). */
  maxTailBytes: number;
}

export interface EngineOptions extends ContextCacheOptions {
  /** How long an idempotency key is remembered. */
  idempotencyTtlMs: number;
  /** Most units in one storage batch. */
  maxBatchUnits: number;
  /** Clock, replaceable in tests. */
  now?: () => number;
  /** Checks a write's fence against the lock table (the lock manager); without it, fenced writes are refused. */
  fences?: FenceChecker;
  /** Dimensions of the vector index; a unit's own `embedding` must have this many (undefined: search is off). */
  embeddingDims?: number;
  /** A span per write (engram.write); the default does nothing. */
  tracer?: Tracer;
}

export interface FenceChecker {
  /** Throws FENCE_REJECTED unless `token` is the current holder's token for `resource`. */
  checkFence(clientId: string, resource: string, token: number, writer: string): void;
  /** Declared by the lock table: other nodes change it too, so a fence is checked only after `refresh`. */
  readonly sharedWriters: boolean;
  /** Brings this node's view of the lock table up to every change stored so far. */
  refresh(): Promise<void>;
}

/** What a write returns: the stored unit's id, seq and canonical JSON. */
export interface AppendResult {
  id: string;
  contextId: string;
  seq: number;
  json: string;
  /** True when an idempotency key matched an earlier write and nothing new was stored. */
  replayed: boolean;
}

export interface UnitPage {
  /** JSON texts of the units, in the order asked for. */
  units: string[];
  /** Pass as `after` (ascending) or `before` (reverse) for the next page; null when there is none. */
  nextCursor: number | null;
  /** The context's first seq still stored: a page asked below it starts there (retention). */
  firstSeq: number;
}

export interface ContextPage {
  contexts: ContextView[];
  nextCursor: string | null;
}

/** What one committed batch did to one context, in seq order; published only once durable. */
export interface CommitEvent {
  clientId: string;
  contextId: string;
  /** Seq of units[0] (when there are units). */
  firstSeq: number;
  /** JSON texts of the appended units. */
  units: string[];
  /** Log positions of those units (increasing; units of other contexts may sit between them). */
  positions: number[];
  /** The embeddings clients sent with those units (undefined where none). */
  embeddings: Array<Float32Array | undefined>;
  /**
   * With tracing on, each unit's write span (undefined for units this node did not write): the
   * parent of its fan-out span. Absent with tracing off.
   */
  traces?: Array<TraceSpan | undefined>;
  /** The record after the batch, when more than its head changed (created, PATCH, a new agent). */
  record: ContextRecord | undefined;
  /**
   * Set when the context was deleted (there are no units then): the incarnation its next history
   * will carry, and the log positions of the units removed.
   */
  deleted?: { incarnation: string; positions: number[]; bytes: number };
  /** Set when units below `firstSeq` were trimmed (there are no units then): the log positions of those removed, and their bytes. */
  trimmed?: { firstSeq: number; positions: number[]; bytes: number };
}

/**
 * A context kept in memory for as long as it is held, with synchronous access to its
 * committed head: what a subscription needs to switch from catch-up to live without a gap.
 */
export interface ContextHandle {
  readonly clientId: string;
  readonly contextId: string;
  /** Seq of the newest committed unit (0 before the first). */
  head(): number;
  record(): ContextRecord | undefined;
  /** The first seq still stored (1 unless retention trimmed below it). */
  firstSeq(): number;
  /** The epoch of the context's current history (Engine.epochOf): what a subscription to it is told. */
  epoch(): string;
  /** Units with after < seq ≤ min(head, after + limit): synchronously from the tail when it holds them. */
  unitsAfter(after: number, limit: number): string[] | Promise<string[]>;
  release(): void;
}
