/**
 * Per-client quotas: a token bucket for the write rate, counters for open connections and
 * subscriptions, and a ceiling on stored bytes. Over a quota the request fails with
 * QUOTA_EXCEEDED (HTTP 429 with Retry-After, gRPC RESOURCE_EXHAUSTED) and nothing is
 * stored; nothing is ever dropped silently. 0 means unlimited.
 */
import { EngramError } from '../basics/errors.js';

export interface QuotaLimits {
  /** Sustained work units per second. */
  writesPerSecond: number;
  /** Units a client may write at once above the sustained rate (the bucket's size). 0: one second's worth. */
  writeBurst: number;
  /** Open WebSocket and SSE connections and gRPC Subscribe calls. */
  connections: number;
  /** Context subscriptions across all of a client's streams. */
  subscriptions: number;
  /** Bytes of stored units (their JSON text) a client may write in all. */
  storageBytes: number;
}

export interface QuotaConfig {
  defaults: QuotaLimits;
  /** Per-client overrides of the defaults. */
  clients: Readonly<Record<string, Partial<QuotaLimits>>>;
}

export const NO_QUOTAS: QuotaConfig = {
  defaults: { writesPerSecond: 0, writeBurst: 0, connections: 0, subscriptions: 0, storageBytes: 0 },
  clients: {},
};

export function limitsFor(config: QuotaConfig, clientId: string): QuotaLimits {
  const own = config.clients[clientId];
  return own === undefined ? config.defaults : { ...config.defaults, ...own };
}

export function quotaError(quota: keyof QuotaLimits, limit: number, retryAfterMs: number, message: string): EngramError {
  return new EngramError('QUOTA_EXCEEDED', message, { details: { quota, limit, retryAfterMs: Math.ceil(retryAfterMs) } });
}

/** A token bucket: `rate` tokens a second, at most `burst` saved up. */
export class TokenBucket {
  private tokens: number;
  private at: number;

  constructor(
    private readonly rate: number,
    private readonly burst: number,
    now: number,
  ) {
    this.tokens = burst;
    this.at = now;
  }

  /** Takes one token, or returns how many ms until one is there. */
  take(now: number): number {
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.at) * this.rate) / 1000);
    this.at = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    return ((1 - this.tokens) * 1000) / this.rate;
  }
}
