/** Waiting on events with hard timeouts (never sleeps). */

/**
 * The bound of a wait on a condition: a wait ends as soon as its condition holds, so a generous
 * bound costs nothing; it only turns a hang into a failure, and must hold on a busy machine
 * (make test runs two files at once on two cores, perhaps beside other work), not just an idle one.
 */
export const WAIT_MS = 60_000;

export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** A countdown latch: `wait()` resolves after `count` calls of `countDown()`, or rejects at the timeout. */
export class Latch {
  private resolveFn!: () => void;
  private readonly done: Promise<void>;

  constructor(private count: number) {
    this.done = new Promise((r) => (this.resolveFn = r));
    if (count <= 0) this.resolveFn();
  }

  countDown(): void {
    if (--this.count === 0) this.resolveFn();
  }

  wait(ms: number, what = 'latch'): Promise<void> {
    return withTimeout(this.done, ms, what);
  }
}

/** Re-checks waiting conditions whenever the owner says something changed. */
export class Watcher {
  private readonly checks = new Set<() => void>();

  notify(): void {
    for (const check of [...this.checks]) check();
  }

  /** Resolves once `check` holds (tested now and on every notify), or rejects after `ms`. */
  until(check: () => boolean, ms: number, what: string): Promise<void> {
    if (check()) return Promise.resolve();
    let listener!: () => void;
    const holds = new Promise<void>((resolve) => {
      listener = () => {
        if (check()) resolve();
      };
      this.checks.add(listener);
    });
    return withTimeout(holds, ms, what).finally(() => this.checks.delete(listener));
  }
}

/** Re-checks an asynchronous condition (for example a status endpoint) until it holds, or rejects after `ms`. */
export async function eventually(check: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  await withTimeout(
    (async () => {
      while (!(await check())) await new Promise((r) => setTimeout(r, 5));
    })(),
    ms,
    what,
  );
}
