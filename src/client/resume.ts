/**
 * A subscription as an async iterator that survives disconnects and server restarts: it
 * reconnects with exponential backoff and jitter and resumes from the last seq it
 * received, dropping any unit it already has, so the consumer sees every unit once, in order.
 * It resumes in the epoch the server first named: if the server's history was restored or
 * repaired meanwhile, the server refuses (EPOCH_MISMATCH) and the iterator ends with that error
 * rather than going on with seqs that mean something else. When the context is deleted the
 * iterator throws CONTEXT_DELETED after the units it delivered.
 */
import { EngramClientError } from './errors.js';
import type { SubscribeOptions, WorkUnit } from './types.js';

/** What a wire (WebSocket, gRPC) reports about one connection. */
export interface StreamEvents {
  subscribed(headSeq: number, epoch: string): void;
  unit(unit: WorkUnit): void;
  /** The context was deleted: the subscription is over (the iterator throws CONTEXT_DELETED). */
  deleted(): void;
  /** Retention trimmed units the subscription asked for; `continues`: it goes on from `firstSeq`. */
  trimmed(firstSeq: number, continues: boolean): void;
  /** The connection ended; `retry` false means resubscribing unchanged would fail again. */
  closed(err: EngramClientError, retry: boolean): void;
}

export interface StreamConnection {
  close(): void;
  pause(): void;
  resume(): void;
}

export type Connect = (since: number | undefined, epoch: string | undefined, events: StreamEvents) => StreamConnection;

export interface Backoff {
  initialMs: number;
  maxMs: number;
}

export const DEFAULT_BACKOFF: Backoff = { initialMs: 100, maxMs: 5000 };
/** Units held for a slow consumer before the connection is paused (the server then buffers, then pauses). */
const HIGH_WATER = 1000;

export function resumingSubscription(connect: Connect, options: SubscribeOptions, backoff: Backoff = DEFAULT_BACKOFF): AsyncIterableIterator<WorkUnit> {
  let cursor = options.since;
  let epoch = options.epoch;
  const queue: WorkUnit[] = [];
  let failure: EngramClientError | undefined;
  let done = false;
  let paused = false;
  let attempts = 0;
  let conn: StreamConnection | undefined;
  let retryTimer: NodeJS.Timeout | undefined;
  let wake: (() => void) | undefined;
  const notify = () => {
    wake?.();
    wake = undefined;
  };

  const open = () => {
    if (done) return;
    let ended = false;
    // Events arrive asynchronously, after `current` is assigned.
    const current: StreamConnection = connect(cursor, epoch, {
      subscribed(headSeq, named) {
        attempts = 0;
        // A server without epochs names none (''): then there is nothing to resume in.
        if (epoch === undefined && named !== '') epoch = named;
        // Without `since`, "from now on" is fixed at the first head: a reconnect resumes there.
        if (cursor === undefined) cursor = headSeq;
      },
      unit(u) {
        if (done || ended) return;
        if (cursor !== undefined && u.seq <= cursor) return; // already delivered before a reconnect
        if (cursor !== undefined && u.seq !== cursor + 1) {
          // Never expected (the server is gap-free); resubscribing from the cursor repairs it.
          ended = true;
          current.close();
          retryLater();
          return;
        }
        cursor = u.seq;
        queue.push(u);
        if (queue.length >= HIGH_WATER && !paused) {
          paused = true;
          current.pause();
        }
        notify();
      },
      trimmed(firstSeq, continues) {
        if (ended || done) return;
        if (continues) {
          // The units before firstSeq are gone: what follows continues from there (no gap to repair).
          cursor = Math.max(cursor ?? 0, firstSeq - 1);
          return;
        }
        ended = true;
        current.close();
        failure = new EngramClientError(
          'TRIMMED',
          `retention trimmed the units asked for; the first seq still stored is ${firstSeq} (subscribe with onTrimmed: 'continue' to go on from there)`,
          undefined,
        );
        done = true;
        notify();
      },
      deleted() {
        if (ended) return;
        ended = true;
        current.close();
        if (done) return;
        // Resuming would be in a history that no longer exists (a re-created context is a new epoch).
        failure = new EngramClientError('CONTEXT_DELETED', 'the context was deleted; the subscription is over', undefined);
        done = true;
        notify();
      },
      closed(err, retry) {
        if (ended) return;
        ended = true;
        if (done) return;
        if (!retry) {
          failure = err;
          done = true;
          notify();
          return;
        }
        retryLater();
      },
    });
    conn = current;
    paused = false;
  };
  const retryLater = () => {
    const delay = Math.min(backoff.maxMs, backoff.initialMs * 2 ** attempts) * (0.5 + Math.random() / 2);
    attempts = Math.min(attempts + 1, 30);
    retryTimer = setTimeout(open, delay);
  };
  const finish = () => {
    done = true;
    clearTimeout(retryTimer);
    conn?.close();
    notify();
  };
  options.signal?.addEventListener('abort', finish, { once: true });
  if (options.signal?.aborted) done = true;
  else open();

  const iterator: AsyncIterableIterator<WorkUnit> = {
    async next(): Promise<IteratorResult<WorkUnit>> {
      for (;;) {
        const u = queue.shift();
        if (u !== undefined) {
          if (paused && queue.length < HIGH_WATER / 2) {
            paused = false;
            conn?.resume();
          }
          return { value: u, done: false };
        }
        if (failure !== undefined) {
          const err = failure;
          failure = undefined;
          throw err;
        }
        if (done) return { value: undefined, done: true };
        await new Promise<void>((r) => (wake = r));
      }
    },
    async return(): Promise<IteratorResult<WorkUnit>> {
      finish();
      queue.length = 0;
      return { value: undefined, done: true };
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}
