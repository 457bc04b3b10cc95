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
  /**
   * Position in the whole log, across all clients and contexts, increasing in commit order and
   * never reused: 1, 2, 3, … on the embedded logs (gaps where units were deleted); derived from
   * the stream sequence on the shared log.
   */
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

/**
 * One context's part of a batch: the units appended to it, the idempotency keys they carry, and
 * its record after them. Each part is stored whole or not at all.
 */
export interface CommitPart {
  clientId: string;
  /** The context's record after this part: its new headSeq and updatedAt at least. */
  record: ContextRecord;
  /**
   * Whether more than the head changed (a PATCH, a new agent, creation). When false a log may
   * store only the head, so a big record is not rewritten with every unit.
   */
  changed: boolean;
  /** The record this part was staged from: a shared log refuses the part if the context has moved on since. */
  base?: ContextBase;
  /** In seq order. */
  units: UnitEntry[];
  idempotency: IdempotencyEntry[];
}

export interface CommitBatch {
  /** At most one part per context. */
  parts: CommitPart[];
}

/**
 * The record a context's part of a batch was staged from: its headSeq and version (0 and 0 for a
 * context that did not exist).
 */
export interface ContextBase {
  headSeq: number;
  version: number;
}

/**
 * What a log answers for each part of a batch, in the order of `batch.parts`. A log only this
 * process writes commits every part; a shared one (several nodes write it,
 * storage/log-jetstream.ts) decides each part on its own.
 */
export type ContextOutcome =
  | { status: 'committed' }
  /** Another node changed the context first; nothing of this part was stored. Restage it. */
  | { status: 'conflict' }
  /** The part was one unit whose idempotency key was already stored (a retry through another node): this is that unit. */
  | { status: 'replayed'; unit: { id: string; seq: number; json: string } }
  | { status: 'failed'; error: unknown };

export const COMMITTED: ContextOutcome = Object.freeze({ status: 'committed' });

/** One context's part as a log reports it once it is stored: the commit event, and the head it left. */
export interface CommittedContext extends CommitEvent {
  headSeq: number;
  updatedAt: number;
}

/** What deleting a context removed (Log.deleteContext). */
export interface ContextDeletion {
  clientId: string;
  contextId: string;
  /** The id of the context's next history: a record created under this id later carries it (ContextRecord.incarnation). */
  incarnation: string;
  /** Units removed, and the bytes of their JSON text. */
  units: number;
  bytes: number;
  /** Log positions of the removed units (the search index drops them). */
  positions: number[];
}

/** What trimming a context removed (Log.trimContext). */
export interface ContextTrim {
  clientId: string;
  contextId: string;
  /** The context's first seq now: units below it are gone but the kept ones (readable by id only). */
  firstSeq: number;
  units: number;
  bytes: number;
  positions: number[];
}

/** A reported part that removed units (a trim or a deletion): no units of its own. */
function removal(clientId: string, contextId: string, firstSeq: number, change: Pick<CommittedContext, 'trimmed' | 'deleted'>): CommittedContext {
  return { clientId, contextId, firstSeq, units: [], positions: [], embeddings: [], record: undefined, headSeq: 0, updatedAt: 0, ...change };
}

/** How a trim is reported through `Log.follow`: a part with no units and `trimmed` set. */
export function trimmedContext(t: ContextTrim): CommittedContext {
  return removal(t.clientId, t.contextId, t.firstSeq, { trimmed: { firstSeq: t.firstSeq, positions: t.positions, bytes: t.bytes } });
}

/** How a deletion is reported through `Log.follow`: a part with no units and `deleted` set. */
export function deletedContext(d: ContextDeletion): CommittedContext {
  return removal(d.clientId, d.contextId, 1, { deleted: { incarnation: d.incarnation, positions: d.positions, bytes: d.bytes } });
}

/**
 * The engine's side of a log: it learns every stored part here, in log order, its own writes and
 * (on a shared log) other nodes' alike. `position`: the log position of the last unit of these
 * parts (0 when they added none). It should not reject; a log ignores it if it does.
 */
export type CommittedListener = (parts: CommittedContext[], position: number) => Promise<void>;

/** What a log can do, declared by the log (the engine asks, it does not probe). */
export interface LogCapabilities {
  /**
   * Other processes append to this log too. It may then answer a part `conflict` or `replayed`,
   * and it can tell a replay only for a part that is one keyed unit, so the engine stages a unit
   * with an idempotency key as its context's whole part.
   */
  readonly sharedWriters: boolean;
}

/** How a stored part is reported: the same for every log. */
export function committedContext(part: CommitPart): CommittedContext {
  const n = part.units.length;
  const units = new Array<string>(n);
  const positions = new Array<number>(n);
  const embeddings = new Array<Float32Array | undefined>(n);
  for (let i = 0; i < n; i++) {
    const u = part.units[i]!;
    units[i] = u.json;
    positions[i] = u.pos;
    embeddings[i] = u.embedding;
  }
  const r = part.record;
  return {
    clientId: part.clientId,
    contextId: r.id,
    firstSeq: r.headSeq - n + 1,
    units,
    positions,
    embeddings,
    record: part.changed ? r : undefined,
    headSeq: r.headSeq,
    updatedAt: r.updatedAt,
  };
}

/**
 * Reports a batch stored by a log that only this process writes, and answers every part
 * committed (storage/log-leveldb.ts, storage/log-memory.ts). The batch is durable by now: a
 * listener's failure must not turn it into a failed commit (whose seqs would be handed out again).
 */
export async function reportStored(batch: CommitBatch, listener: CommittedListener | undefined): Promise<ContextOutcome[]> {
  if (listener !== undefined && batch.parts.length > 0) {
    let position = 0;
    for (const p of batch.parts) if (p.units.length > 0) position = Math.max(position, p.units[p.units.length - 1]!.pos);
    await listener(batch.parts.map(committedContext), position).catch(() => undefined);
  }
  return batch.parts.map(() => COMMITTED);
}

/** The one listener a log reports to (the engine): a second would silently take the first one's place. */
export function onlyListener(current: CommittedListener | undefined, next: CommittedListener): CommittedListener {
  if (current !== undefined) throw new Error('this log already reports to a listener (one engine per log)');
  return next;
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
  /**
   * The epoch of this log's history (basics/ids.ts, newEpoch), known once open: stream positions
   * (a context and a seq) mean the same only within one epoch. A shared log's nodes all report
   * the same one.
   */
  epoch(): string;
  readonly capabilities: LogCapabilities;
  /**
   * Stores the batch and answers each part (ContextOutcome, in the order of `batch.parts`) once
   * what it stored is durable to the configured degree. Every stored part is reported through
   * `follow` before the answer. Rejects when nothing of the batch was stored. A shared log assigns
   * positions itself; any other keeps the ones the batch carries.
   */
  commit(batch: CommitBatch): Promise<ContextOutcome[]>;
  /** Where the engine learns what was stored, in log order (a shared log: other nodes' parts too). */
  follow(listener: CommittedListener): void;
  /**
   * Resolves once this process has applied and reported everything the log held when it was
   * called: a decision taken after it sees every write acknowledged before, through any node. Only
   * other writers can make it wait (a log only this process writes resolves at once).
   */
  catchUp(): Promise<void>;
  getContext(clientId: string, contextId: string): Promise<ContextRecord | undefined>;
  /**
   * Removes a context for good: its record and head, its units with their id index, positions and
   * embeddings, and its idempotency keys, in one atomic step; leaves a tombstone naming the
   * context's next incarnation (`incarnation`). Reported through `follow` (deletedContext) before
   * it resolves. Undefined, storing nothing, when there is no such context. The disk space comes
   * back in the background (LevelDB compacts the removed ranges).
   */
  deleteContext(clientId: string, contextId: string): Promise<ContextDeletion | undefined>;
  /**
   * Removes a context's units below `firstSeq` (at most up to its head: seqs are never reused), but
   * those whose ids `keep` holds (pinned units) and SUMMARY units (they stand in for what a trim
   * drops: docs/agents.md#summaries; every replica keeps them alike, from its own units), with
   * their id index entries, positions, embeddings and idempotency keys, and writes the record's
   * new `firstSeq` (not a new version), in one atomic step. Reported through `follow` (trimmedContext) before it resolves. Undefined,
   * storing nothing, when there is no such context or nothing below `firstSeq` is left.
   */
  trimContext(clientId: string, contextId: string, firstSeq: number, keep: ReadonlySet<string>): Promise<ContextTrim | undefined>;
  /** The incarnation a context deleted under this id left for its next history (undefined: never deleted). */
  incarnation(clientId: string, contextId: string): Promise<string | undefined>;
  /** Contexts in id order. */
  listContexts(clientId: string, options: ContextListOptions): Promise<ContextRecord[]>;
  /** JSON texts of seqs fromSeq..toSeq inclusive, ascending; seqs absent from storage are skipped. */
  readUnits(clientId: string, contextId: string, fromSeq: number, toSeq: number): Promise<string[]>;
  getUnit(clientId: string, id: string): Promise<string | undefined>;
  locateUnit(clientId: string, id: string): Promise<UnitLocation | undefined>;
  getIdempotency(clientId: string, contextId: string, key: string): Promise<IdempotencyEntry | undefined>;
  /** Forgets idempotency keys that expired before `now`, at most `max` of them; returns how many. */
  sweepIdempotency(now: number, max: number): Promise<number>;
  /** The highest log position committed so far, deleted units included (0 for an empty log). */
  lastPosition(): Promise<number>;
  /** The first `limit` units at positions from `from` on, in position order (positions of deleted units are skipped). */
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
  /**
   * Stores a projection snapshot of a context (memory/projection.ts): a side record beside its
   * units, never one of them, replacing any with the same projection and seq. The bytes are
   * opaque to the log. On a shared log each node keeps its own (its replica's): a snapshot is a
   * function of the units up to its seq, which every node holds alike.
   */
  putSnapshot(clientId: string, contextId: string, snapshot: SnapshotRecord): Promise<void>;
  /** The context's snapshot of `projection` with the highest seq at or below `atOrBelow`. */
  latestSnapshot(clientId: string, contextId: string, projection: string, atOrBelow: number): Promise<SnapshotRecord | undefined>;
  /**
   * Deletes snapshots of the context and returns how many: every one (what a context deletion
   * calls), or with `only`, those of one projection below a seq (the older ones a newer snapshot
   * replaces).
   */
  deleteSnapshots(clientId: string, contextId: string, only?: { projection: string; below: number }): Promise<number>;
}

/** A projection's state as of a seq of its context, encoded by the projection (the log keeps the bytes). */
export interface SnapshotRecord {
  /** Which projection (`files`, `facts`, `graph`): a name without control characters. */
  projection: string;
  /** The seq of the last unit the state includes. */
  seq: number;
  data: Uint8Array;
}

export interface SpaceUsage {
  contexts: number;
  units: number;
  bytes: number;
}
