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
}

export class ClientRegistry {
  private readonly entries = new Map<string, Entry>();

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
        storedBase: undefined,
        measuring: undefined,
      };
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

  /**
   * Admits one write or throws QUOTA_EXCEEDED. Returns a promise only when the storage
   * quota needs the client's stored size measured first (once per entry).
   */
  admitWrite(clientId: string): Promise<void> | undefined {
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
      e.measuring ??= this.storedBytes(clientId).then((n) => {
        e.storedBase = n;
      });
      return e.measuring.then(() => this.checkStorage(e));
    }
    this.checkStorage(e);
    return undefined;
  }

  private checkStorage(e: Entry): void {
    const used = (e.storedBase ?? 0) + e.bytesWritten;
    if (used >= e.limits.storageBytes) {
      throw quotaError('storageBytes', e.limits.storageBytes, 60_000, `client ${JSON.stringify(e.clientId)} has used its storage quota of ${e.limits.storageBytes} bytes`);
    }
  }

  wrote(clientId: string, bytes: number): void {
    const e = this.entry(clientId);
    e.unitsWritten++;
    e.bytesWritten += bytes;
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
    const { limits: _l, bucket: _b, storedBase: _s, measuring: _m, ...view } = e;
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
      if (e.connections === 0 && e.subscriptions === 0 && e.lastActivity <= cutoff) {
        this.entries.delete(id);
        dropped.push(id);
      }
    }
    return dropped;
  }
}
