/**
 * What the server holds in memory per client: activity (for /clients/status), open
 * connections and subscriptions, and quota state. An entry is made on a client's first
 * request and dropped once the client has been idle past a threshold with nothing open;
 * everything in it is either a live count or rebuilt from the log on next use, so dropping
 * it frees memory and never data.
 */
import { limitsFor, quotaError, TokenBucket, type QuotaConfig, type QuotaLimits } from './quotas.js';

export interface ClientActivity {
  clientId: string;
  /** Epoch ms of the entry's creation (first request since start or since the last cleanup). */
  since: number;
  lastActivity: number;
  connections: number;
  subscriptions: number;
  /** Units written since `since`. */
  unitsWritten: number;
  /** Bytes of unit JSON written since `since`. */
  bytesWritten: number;
}

interface Entry extends ClientActivity {
  limits: QuotaLimits;
  bucket: TokenBucket | undefined;
  /** Stored bytes of the client's own space when first measured (storage quota only). */
  storedBase: number | undefined;
  measuring: Promise<void> | undefined;
  /** Bytes of writes admitted and not yet committed (so concurrent writes cannot overshoot the storage quota). */
  reserved: number;
  /** Bytes of units deleted or trimmed since the entry was made: they count no more. */
  freed: number;
}

export class ClientRegistry {
  private readonly entries = new Map<string, Entry>();
  /**
   * Stored bytes of clients with a storage quota whose entry was dropped as idle: one number each,
   * so the quota survives cleanup exactly (LevelDB's size estimate would undercount recent writes).
   */
  private readonly carried = new Map<string, number>();

  constructor(
    private readonly quotas: QuotaConfig,
    /** Bytes a client's own space holds in the log (for the storage quota). */
    private readonly storedBytes: (clientId: string) => Promise<number>,
    private readonly now: () => number = Date.now,
  ) {}

  private entry(clientId: string): Entry {
    let e = this.entries.get(clientId);
    const now = this.now();
    if (e === undefined) {
      const limits = limitsFor(this.quotas, clientId);
      e = {
        clientId,
        since: now,
        lastActivity: now,
        connections: 0,
        subscriptions: 0,
        unitsWritten: 0,
        bytesWritten: 0,
        limits,
        bucket: limits.writesPerSecond > 0 ? new TokenBucket(limits.writesPerSecond, limits.writeBurst || limits.writesPerSecond, now) : undefined,
        storedBase: this.carried.get(clientId),
        measuring: undefined,
        reserved: 0,
        freed: 0,
      };
      this.carried.delete(clientId);
      this.entries.set(clientId, e);
    } else {
      e.lastActivity = now;
    }
    return e;
  }

  /** Notes a request of the client. */
  touch(clientId: string): void {
    this.entry(clientId);
  }

  /** Whether writes of this client are counted against a storage quota (so callers measure their size). */
  hasStorageQuota(clientId: string): boolean {
    return this.limits(clientId).storageBytes > 0;
  }

  /**
   * Admits one write of about `bytes` bytes or throws QUOTA_EXCEEDED; the bytes stay reserved
   * until `wrote` or `failed`. Returns a promise only when the storage quota needs the client's
   * stored size measured first (once per entry).
   */
  admitWrite(clientId: string, bytes = 0): Promise<void> | undefined {
    const e = this.entry(clientId);
    if (e.bucket !== undefined) {
      const wait = e.bucket.take(this.now());
      if (wait > 0) {
        throw quotaError('writesPerSecond', e.limits.writesPerSecond, wait, `client ${JSON.stringify(clientId)} is over its write rate of ${e.limits.writesPerSecond}/s`);
      }
    }
    const max = e.limits.storageBytes;
    if (max === 0) return undefined;
    if (e.storedBase === undefined) {
      e.measuring ??= this.storedBytes(clientId).then(
        (n) => {
          e.storedBase = n;
        },
        (err: unknown) => {
          // Measure again next time rather than refusing every write of this entry.
          e.measuring = undefined;
          throw err;
        },
      );
      return e.measuring.then(() => this.reserve(e, bytes));
    }
    this.reserve(e, bytes);
    return undefined;
  }

  private reserve(e: Entry, bytes: number): void {
    const used = Math.max(0, (e.storedBase ?? 0) + e.bytesWritten - e.freed) + e.reserved;
    if (used + bytes > e.limits.storageBytes) {
      throw quotaError('storageBytes', e.limits.storageBytes, 60_000, `client ${JSON.stringify(e.clientId)} has used its storage quota of ${e.limits.storageBytes} bytes`);
    }
    e.reserved += bytes;
  }

  /** A write admitted with `reserved` bytes committed `bytes` bytes (0 for a replay that stored nothing). */
  wrote(clientId: string, bytes: number, reserved = 0): void {
    const e = this.entry(clientId);
    e.reserved = Math.max(0, e.reserved - reserved);
    if (bytes === 0) return;
    e.unitsWritten++;
    e.bytesWritten += bytes;
  }

  /** Forgets everything counted of a client (it was erased). */
  forget(clientId: string): void {
    this.entries.delete(clientId);
    this.carried.delete(clientId);
  }

  /** Units of the client's own space were deleted: their bytes no longer count against its storage quota. */
  freed(clientId: string, bytes: number): void {
    const e = this.entries.get(clientId);
    // Only once measured: a measurement taken later no longer counts them anyway.
    if (e !== undefined && e.storedBase !== undefined) e.freed += bytes;
    const carried = this.carried.get(clientId);
    if (carried !== undefined) this.carried.set(clientId, Math.max(0, carried - bytes));
  }

  /** A write admitted with `reserved` bytes stored nothing. */
  failed(clientId: string, reserved: number): void {
    const e = this.entries.get(clientId);
    if (e !== undefined) e.reserved = Math.max(0, e.reserved - reserved);
  }

  /** Counts a new stream connection, or throws QUOTA_EXCEEDED. */
  openConnection(clientId: string): void {
    const e = this.entry(clientId);
    if (e.limits.connections > 0 && e.connections >= e.limits.connections) {
      throw quotaError('connections', e.limits.connections, 5_000, `client ${JSON.stringify(clientId)} has its ${e.limits.connections} connections open already`);
    }
    e.connections++;
  }

  closeConnection(clientId: string): void {
    const e = this.entries.get(clientId);
    if (e !== undefined && e.connections > 0) e.connections--;
  }

  /** Counts a new subscription, or throws QUOTA_EXCEEDED. */
  addSubscription(clientId: string): void {
    const e = this.entry(clientId);
    if (e.limits.subscriptions > 0 && e.subscriptions >= e.limits.subscriptions) {
      throw quotaError('subscriptions', e.limits.subscriptions, 5_000, `client ${JSON.stringify(clientId)} has its ${e.limits.subscriptions} subscriptions already`);
    }
    e.subscriptions++;
  }

  removeSubscription(clientId: string): void {
    const e = this.entries.get(clientId);
    if (e !== undefined && e.subscriptions > 0) e.subscriptions--;
  }

  activity(clientId: string): ClientActivity | undefined {
    const e = this.entries.get(clientId);
    if (e === undefined) return undefined;
    const { limits: _l, bucket: _b, storedBase: _s, measuring: _m, reserved: _r, freed: _f, ...view } = e;
    return view;
  }

  limits(clientId: string): QuotaLimits {
    return this.entries.get(clientId)?.limits ?? limitsFor(this.quotas, clientId);
  }

  /** Client ids with an entry now. */
  active(): string[] {
    return [...this.entries.keys()];
  }

  /** Drops the entries idle for at least `idleMs` with no connection open; returns their client ids. */
  cleanup(idleMs: number): string[] {
    const cutoff = this.now() - idleMs;
    const dropped: string[] = [];
    for (const [id, e] of this.entries) {
      if (e.connections === 0 && e.subscriptions === 0 && e.reserved === 0 && e.lastActivity <= cutoff) {
        this.entries.delete(id);
        if (e.limits.storageBytes > 0 && e.storedBase !== undefined) this.carried.set(id, Math.max(0, e.storedBase + e.bytesWritten - e.freed));
        dropped.push(id);
      }
    }
    return dropped;
  }
}
