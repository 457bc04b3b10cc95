/**
 * The one group-commit queue, used by the engine (writes) and the lock manager (lock changes).
 * Operations that arrive in the same turn of the event loop are committed together as one batch;
 * only one batch is in flight, and what arrives meanwhile forms the next. Committing in batches
 * is what makes one storage write (one LevelDB batch, one JetStream publish per context) serve
 * many callers, and one batch at a time is what lets a batch be decided against the state the
 * previous one left, so a failed commit leaves no gap.
 */
export interface GroupCommitOptions<Op> {
  /** Commits one batch (it settles each op itself); the next batch waits for it. */
  commit: (ops: Op[]) => Promise<void>;
  /** Most ops in one batch (default: everything queued). */
  maxBatch?: number;
  /** Told before a flush takes its first batch and after it takes its last (the engine freezes its cache between). */
  onFlushStart?: () => void;
  onFlushEnd?: () => void;
}

export class GroupCommitQueue<Op> {
  private queue: Op[] = [];
  private flushing = false;
  private scheduled = false;
  private readonly idleWaiters: Array<() => void> = [];

  constructor(private readonly options: GroupCommitOptions<Op>) {}

  /** Ops waiting for a batch. */
  get length(): number {
    return this.queue.length;
  }

  /** True when nothing is queued, scheduled or being committed. */
  get idle(): boolean {
    return !this.flushing && !this.scheduled && this.queue.length === 0;
  }

  push(op: Op): void {
    this.queue.push(op);
    if (!this.flushing && !this.scheduled) {
      // One turn of the event loop gathers every request that arrived in the same poll into one batch.
      this.scheduled = true;
      setImmediate(() => void this.flush());
    }
  }

  /** Puts ops back at the front, in their order: the flush in progress takes them first in its next batch. */
  requeue(ops: Op[]): void {
    if (ops.length > 0) this.queue.unshift(...ops);
  }

  /** Resolves once nothing is queued or being committed. */
  drained(): Promise<void> {
    if (this.idle) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private async flush(): Promise<void> {
    this.scheduled = false;
    this.flushing = true;
    this.options.onFlushStart?.();
    try {
      const max = this.options.maxBatch ?? Infinity;
      while (this.queue.length > 0) {
        let ops: Op[];
        if (this.queue.length <= max) {
          ops = this.queue;
          this.queue = [];
        } else {
          ops = this.queue.splice(0, max);
        }
        await this.options.commit(ops);
      }
    } finally {
      this.flushing = false;
      this.options.onFlushEnd?.();
      // A commit that queued more (requeue after the loop's last look) is flushed on the next turn.
      if (this.queue.length > 0) {
        this.scheduled = true;
        setImmediate(() => void this.flush());
      } else {
        for (const resolve of this.idleWaiters.splice(0)) resolve();
      }
    }
  }
}
