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
