/** Locks as stored, as served, and the storage contract the lock manager needs. */

/** A held lock. Times are epoch ms. */
export interface LockRecord {
  resource: string;
  agentId: string;
  /** Identifies one acquisition (shared by the resources of one multi-resource acquire). */
  lockId: string;
  /** Fencing token: strictly greater for every new holder, across restarts, forever. */
  token: number;
  expiresAt: number;
  acquiredAt: number;
  /** The context whose subscribers see this lock's events, if the acquirer named one. */
  contextId: string | undefined;
  /**
   * The client that acquired it, when that is not the space's own client (a member of a
   * shared group). Only that client may renew, release or fence with it.
   */
  owner?: string;
}

export interface LockView {
  resource: string;
  agentId: string;
  /** Absent when the viewer is another member of the shared group than the holder: the lockId and token are the holder's proof. */
  lockId?: string;
  token?: number;
  expiresAt: string;
  /** Milliseconds of lease left when this view was made. */
  ttlMs: number;
  acquiredAt: string;
  contextId?: string;
  /** Requests queued for this resource (only in GET /locks/{resource}). */
  waiting?: number;
}

/** The client allowed to act on a stored lock. */
export function lockOwner(l: StoredLock): string {
  return l.record.owner ?? l.clientId;
}

/** A view without the holder's proof (lockId, token), for other clients of a shared space. */
export function redactedLockView(r: LockRecord, now: number): LockView {
  const { lockId: _lockId, token: _token, ...rest } = lockView(r, now);
  return rest;
}

export function lockView(r: LockRecord, now: number): LockView {
  const view: LockView = {
    resource: r.resource,
    agentId: r.agentId,
    lockId: r.lockId,
    token: r.token,
    expiresAt: new Date(r.expiresAt).toISOString(),
    ttlMs: Math.max(0, r.expiresAt - now),
    acquiredAt: new Date(r.acquiredAt).toISOString(),
  };
  if (r.contextId !== undefined) view.contextId = r.contextId;
  return view;
}

export type LockAction = 'acquired' | 'renewed' | 'released' | 'expired';

export interface StoredLock {
  clientId: string;
  record: LockRecord;
}

/** One key's change, as the lock manager decided it. */
export interface LockChange {
  clientId: string;
  resource: string;
  /** The holder's record, or null to free the key. */
  record: LockRecord | null;
  /** A new acquisition (not the holder's renewal). */
  fresh: boolean;
  /** For a freed key: why, and the record it held (what other nodes report). */
  reason?: 'released' | 'expired';
  freed?: LockRecord;
  /** What the key held before (put back if a later change of the same batch is refused). */
  before: LockRecord | null;
}

/** The changes of one batch of decisions, stored all together or not at all. */
export interface LockBatch {
  changes: LockChange[];
  /** The fencing counter after this batch (the highest token ever issued by this process's table). */
  counter: number;
}

/** A key as a store holds it, at a revision. */
export interface LockEntry {
  clientId: string;
  resource: string;
  /** Increases with every change the store reports or stores. */
  revision: number;
  record: LockRecord | null;
  reason?: 'released' | 'expired';
  freed?: LockRecord;
}

/** What a lock store can do, declared by the store (the manager asks, it does not probe). */
export interface LockStoreCapabilities {
  /**
   * Other nodes change the table too (storage/lock-store-jetstream.ts). The manager then decides
   * one operation at a time, a commit may be refused because another node changed the table
   * first, other nodes' changes arrive through `open`'s feed, a fence is checked only after
   * `sync`, and a new acquisition's fencing token is the revision its write got (the one order
   * all nodes share) rather than the manager's counter.
   */
  readonly sharedWriters: boolean;
}

/**
 * Durable storage of locks. Implementations: storage/lock-store-leveldb.ts,
 * storage/lock-store-memory.ts, storage/lock-store-jetstream.ts; each passes the contract suite in
 * test/contract/lock-store.suite.ts.
 */
export interface LockStore {
  readonly capabilities: LockStoreCapabilities;
  /**
   * Everything stored (expired leases included) and the fencing counter; `onChange` then gets
   * each change another writer makes, in order (a store only this process writes never calls it).
   */
  open(onChange: (entry: LockEntry) => void): Promise<{ counter: number; locks: LockEntry[] }>;
  /**
   * Stores the batch, answering each change's revision. A shared store writes each change only
   * if nothing changed since this node's view; on the first refusal it puts back the ones already
   * written, catches its feed up (onChange has brought the change that won) and answers the index
   * of the refused one. Rejects when nothing was stored.
   */
  commit(batch: LockBatch): Promise<{ revisions: number[] } | { conflict: number }>;
  /** Resolves once onChange has brought every change stored before the call (at once for a store only this process writes). */
  sync(): Promise<void>;
  close(): void;
}
