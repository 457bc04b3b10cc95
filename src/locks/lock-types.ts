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

/** One atomic change to the lock table. */
export interface LockBatch {
  puts: StoredLock[];
  dels: Array<{ clientId: string; resource: string }>;
  /** The fencing counter after this batch (the highest token ever issued). */
  counter: number;
}

/** Durable storage of locks. Implementations: storage/lock-store-leveldb.ts, storage/lock-store-memory.ts. */
export interface LockStore {
  /** Everything stored: the locks (expired ones included) and the fencing counter. */
  load(): Promise<{ counter: number; locks: StoredLock[] }>;
  /** Stores the whole batch or nothing. */
  commit(batch: LockBatch): Promise<void>;
}

/** One key's change in a shared lock store (several nodes; storage/lock-store-jetstream.ts). */
export interface SharedLockWrite {
  clientId: string;
  resource: string;
  /** The holder's record, or null to free the key. */
  record: LockRecord | null;
  /** A new acquisition: its fencing token is the revision this write gets (record.token is not stored). */
  fresh: boolean;
  /** For a freed key: why, and the record it held (what other nodes report). */
  reason?: 'released' | 'expired';
  freed?: LockRecord;
  /** What the key held before (put back if a later change of the same request is refused). */
  before: LockRecord | null;
}

/** A key as stored in a shared lock store, at a revision. */
export interface SharedLockEntry {
  clientId: string;
  resource: string;
  /** Increases with every write to the store, across nodes and restarts. */
  revision: number;
  record: LockRecord | null;
  reason?: 'released' | 'expired';
  freed?: LockRecord;
  /** The node that wrote it. */
  node: string;
}

/** Locks shared by several nodes: compare-and-set on each key's revision, and a feed of every change. */
export interface SharedLockStore {
  readonly shared: true;
  /** This node's id, written with its changes. */
  readonly node: string;
  /** Every key as it stands now; `onChange` then gets each later change, by any node, in order. */
  watch(onChange: (entry: SharedLockEntry) => void): Promise<SharedLockEntry[]>;
  /**
   * Writes the changes in order, each only if nothing changed since this node's view. On the first
   * refusal, the ones already written are put back, the feed is caught up (onChange has brought the
   * change that won), and the index of the refused one is returned.
   */
  write(changes: SharedLockWrite[]): Promise<{ revisions: number[] } | { conflict: number }>;
  /** Resolves once onChange has brought every change stored before the call. */
  sync(): Promise<void>;
  close(): void;
}
