/** withLock for both clients: take a lock, keep renewing it while the work runs, release it after. */
import { EngramClientError, isRetryable } from './errors.js';
import type { AcquireRequest, Lock } from './types.js';

export interface LockApi {
  acquire(resource: string, request: AcquireRequest): Promise<Lock>;
  renew(resource: string, holder: { agentId: string; lockId: string; ttlMs?: number }): Promise<Lock>;
  release(resource: string, holder: { agentId: string; lockId: string }): Promise<Lock>;
}

/** The lock as granted, and a signal that aborts if the lease is lost (a renewal was refused). */
export interface HeldLock extends Lock {
  readonly signal: AbortSignal;
}

/**
 * Runs `fn` while holding `resource`. The lease is renewed every third of its length, so a
 * long task keeps it; if a renewal is refused (the lease ran out, say after a long pause),
 * `lock.signal` aborts and `fn` should stop writing: its fence token is no longer good.
 * The lock is released when `fn` settles, whether it returned or threw.
 */
export async function withLock<T>(api: LockApi, resource: string, request: AcquireRequest, fn: (lock: HeldLock) => Promise<T>): Promise<T> {
  const lock = await api.acquire(resource, request);
  const holder = { agentId: lock.agentId, lockId: lock.lockId };
  const controller = new AbortController();
  const interval = Math.max(50, Math.floor(lock.ttlMs / 3));
  let expiresAt = Date.now() + lock.ttlMs;
  let stopped = false;
  let renewing: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;

  const renew = async (): Promise<void> => {
    try {
      const renewed = await api.renew(resource, { ...holder, ttlMs: request.ttlMs });
      expiresAt = Date.now() + renewed.ttlMs;
      schedule(interval);
    } catch (err) {
      if (stopped) return;
      // A transient failure is retried while the lease lasts; a refusal means the lock is gone.
      if (isRetryable(err) && Date.now() + 100 < expiresAt) schedule(Math.min(interval, 100));
      else controller.abort(err instanceof EngramClientError ? err : new EngramClientError('LOCK_NOT_HELD', String(err), undefined));
    }
  };
  const schedule = (ms: number) => {
    if (stopped) return;
    timer = setTimeout(() => {
      renewing = renew();
    }, ms);
  };
  schedule(interval);

  try {
    return await fn({ ...lock, signal: controller.signal });
  } finally {
    stopped = true;
    clearTimeout(timer);
    await renewing;
    if (!controller.signal.aborted) {
      await api.release(resource, holder).catch((err: unknown) => {
        // Already gone (expired): nothing to release.
        if (!(err instanceof EngramClientError && err.code === 'LOCK_NOT_HELD')) throw err;
      });
    }
  }
}
