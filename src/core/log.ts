/**
 * The storage contract. The engine assigns ids and seqs and hands the log whole
 * batches; a log only has to store a batch atomically and read it back. Every
 * implementation runs the contract suite in test/contract/log.suite.ts.
 *
 * Everything is scoped by `clientId`, so ids never collide across clients.
 */
import type { ContextRecord } from './types.js';

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
  contexts: Array<{ clientId: string; record: ContextRecord; changed: boolean }>;
  idempotency: IdempotencyEntry[];
}

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
  /** Stores the whole batch or nothing. Resolves once it is durable to the configured degree. */
  commit(batch: CommitBatch): Promise<void>;
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
