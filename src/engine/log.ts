/**
 * The storage contract. The engine assigns ids and seqs and hands the log whole
 * batches; a log only has to store a batch atomically and read it back. Every
 * implementation runs the contract suite in test/contract/log.suite.ts.
 *
 * Everything is scoped by `clientId`, so ids never collide across clients.
 */
import type { CommitEvent } from './engine-types.js';
import type { ContextRecord } from '../basics/types.js';

export interface UnitEntry {
  clientId: string;
  contextId: string;
  seq: number;
  id: string;
  /** Position in the whole log: 1, 2, 3, … across all clients and contexts, in commit order, no gaps. */
  pos: number;
  /** The unit's canonical JSON text, exactly as served. */
  json: string;
  /** A vector the client sent with the unit (search), stored beside it. */
  embedding?: Float32Array;
}

/** A unit read back by log position (for consumers such as the search indexer). */
export interface PositionedUnit {
  pos: number;
  clientId: string;
  contextId: string;
  seq: number;
  json: string;
  /** The stored embedding, if the client sent one or an indexer stored one. */
  embedding: Float32Array | undefined;
}

export interface IdempotencyEntry {
  clientId: string;
  contextId: string;
  key: string;
  id: string;
  seq: number;
  /** Epoch ms after which the key may be forgotten. */
  expiresAt: number;
}

export interface CommitBatch {
  units: UnitEntry[];
  /**
   * Every context the batch touched, with its new headSeq and updatedAt. Only when
   * `changed` is true did the rest of the record change (a PATCH, a new agent); a log
   * may then store only the head, so a big record is not rewritten with every unit.
   */
  contexts: Array<{ clientId: string; record: ContextRecord; changed: boolean; base?: ContextBase }>;
  idempotency: IdempotencyEntry[];
}

/**
 * The record a context's part of a batch was staged from: its headSeq and version (0 and 0 for a
 * context that did not exist). A shared log refuses the part if the context has moved on since.
 */
export interface ContextBase {
  headSeq: number;
  version: number;
}

/**
 * What a shared log (one that several nodes write, storage/log-jetstream.ts) answers for each
 * context of a batch, in the order of `batch.contexts`. Each context's part is stored whole or
 * not at all; parts of different contexts succeed or fail on their own.
 */
export type ContextOutcome =
  | { status: 'committed' }
  /** Another node changed the context first; nothing of this part was stored. Restage it. */
  | { status: 'conflict' }
  /** The part was one unit whose idempotency key was already stored (a retry through another node): this is that unit. */
  | { status: 'replayed'; unit: { id: string; seq: number; json: string } }
  | { status: 'failed'; error: unknown };

/** One context's part of a batch as a shared log reports it once it is stored, in log order: the commit event, and the head it left. */
export interface CommittedContext extends CommitEvent {
  headSeq: number;
  updatedAt: number;
}

/** The engine's side of a shared log: it learns every committed part here, its own included, in log order. */
export type CommittedListener = (parts: CommittedContext[], position: number) => Promise<void>;

export interface UnitLocation {
  contextId: string;
  seq: number;
}

export interface ContextListOptions {
  /** Only ids sorting after this one. */
  after?: string;
  /** Only ids starting with this. */
  prefix?: string;
  limit: number;
}

export interface Log {
  /** Opens storage, recovering whatever the previous process left (a crash included). */
  open(): Promise<void>;
  close(): Promise<void>;
  /**
   * The epoch of this log's history (basics/ids.ts, newEpoch), known once open: stream positions
   * (a context and a seq) mean the same only within one epoch. A shared log's nodes all report
   * the same one.
   */
  epoch(): string;
  /**
   * Stores the whole batch or nothing. Resolves once it is durable to the configured degree.
   * A shared log instead answers each context on its own (ContextOutcome) and assigns the
   * positions itself; it reports every stored part through `follow` before it resolves.
   */
  commit(batch: CommitBatch): Promise<void | ContextOutcome[]>;
  /**
   * Present on shared logs: the engine then takes committed parts from the log, in log order, for
   * its own writes and other nodes' alike, instead of applying its batches itself.
   */
  follow?(listener: CommittedListener): void;
  getContext(clientId: string, contextId: string): Promise<ContextRecord | undefined>;
  /** Contexts in id order. */
  listContexts(clientId: string, options: ContextListOptions): Promise<ContextRecord[]>;
  /** JSON texts of seqs fromSeq..toSeq inclusive, ascending; seqs absent from storage are skipped. */
  readUnits(clientId: string, contextId: string, fromSeq: number, toSeq: number): Promise<string[]>;
  getUnit(clientId: string, id: string): Promise<string | undefined>;
  locateUnit(clientId: string, id: string): Promise<UnitLocation | undefined>;
  getIdempotency(clientId: string, contextId: string, key: string): Promise<IdempotencyEntry | undefined>;
  /** Forgets idempotency keys that expired before `now`, at most `max` of them; returns how many. */
  sweepIdempotency(now: number, max: number): Promise<number>;
  /** The highest log position committed so far (0 for an empty log). */
  lastPosition(): Promise<number>;
  /** Units with positions from..from+limit-1 that exist, in position order. */
  readByPosition(from: number, limit: number): Promise<PositionedUnit[]>;
  /** JSON texts of the units at these positions (undefined where there is none). */
  unitsAt(positions: number[]): Promise<Array<string | undefined>>;
  /**
   * One space's units in position order, from position `from`, looking at `scan` positions of
   * the whole log at most (a rebuild of one idle client's search partition). `next`: where to
   * go on; it is past the end when `units` came up to the last position.
   */
  readSpace(clientId: string, from: number, scan: number): Promise<{ units: PositionedUnit[]; next: number }>;
  /** Ids of the spaces (clients, shared groups) that have at least one context, in id order. */
  listSpaces(options: { after?: string; limit: number }): Promise<string[]>;
  /** What a space holds: its contexts, its units, and the bytes they take (an estimate where the store only has one). */
  spaceUsage(clientId: string): Promise<SpaceUsage>;
}

export interface SpaceUsage {
  contexts: number;
  units: number;
  bytes: number;
}
