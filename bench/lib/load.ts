/**
 * Load generation for any client: closed loop (each lane sends its next operation when the
 * previous one finished: peak throughput) and open loop (operations due at fixed times,
 * latency from the intended send time: no coordinated omission). A lane is one client
 * connection; an operation is whatever the system under test calls a write or a read.
 * Raw-HTTP wrappers at the bottom serve Engram's HTTP scenarios.
 */
import { RawHttpConnection } from './raw-http.js';
import { histogram, nowUs, type Histogram } from './stats.js';

/** One operation on lane `lane`, the `i`-th of the run. */
export type Operation = (lane: number, i: number) => Promise<void>;

/** `perLane` operations on each lane, or fewer when `maxSeconds` runs out first (slow systems). */
export async function closedLoopOps(lanes: number, perLane: number, op: Operation, maxSeconds = Infinity): Promise<{ h: Histogram; seconds: number }> {
  const h = histogram();
  const t0 = nowUs();
  const deadline = t0 + maxSeconds * 1e6;
  await Promise.all(
    Array.from({ length: lanes }, async (_, lane) => {
      for (let i = 0; i < perLane && nowUs() < deadline; i++) {
        const start = nowUs();
        await op(lane, lane * perLane + i);
        h.recordValue(Math.max(1, nowUs() - start));
      }
    }),
  );
  return { h, seconds: (nowUs() - t0) / 1e6 };
}

export interface OpenLoopResult {
  h: Histogram;
  seconds: number;
  /** Sends that found every lane busy and queued behind another operation. */
  behind: number;
  /** Intended time (µs) of operation 0, and the interval between intended sends. */
  start: number;
  interval: number;
  /** Operations completed (fewer than planned when the run was cut short as unsustainable). */
  done: number;
  /** True when the backlog outgrew `maxBacklogSeconds` of sends and the run stopped early. */
  overloaded: boolean;
}

export interface OpenLoopOptions {
  /** Stop sending when this many seconds of sends are queued (default 1). */
  maxBacklogSeconds?: number;
  /** false: send in ≤1 ms bursts on a timer instead of spinning for the exact time (leaves the CPU to a busy server). */
  spin?: boolean;
  /**
   * 'sent': latency counts from when the operation was started rather than when it was due,
   * leaving out the load generator's own timer lateness. For comparing setups whose generators
   * differ (one process or several on a 2-core machine) at loads well below saturation; the
   * result's `behind` still says how often an operation had to queue.
   */
  measureFrom?: 'due' | 'sent';
  /** Start this much later (µs): several generators at one total rate interleave their sends instead of bursting together. */
  startDelayUs?: number;
}

/**
 * Operations at `rate` per second for `seconds`, send times fixed in advance. Each lane
 * runs one operation at a time (as a client connection does); a due operation goes to an
 * idle lane, or queues on one when all are busy, and its latency still counts from when it
 * was due. A backlog beyond `maxBacklogSeconds` of sends means the rate is past what the
 * system sustains: sending stops there and the result says so, instead of queueing for minutes.
 */
export function openLoopOps(lanes: number, rate: number, seconds: number, op: Operation, options: OpenLoopOptions = {}): Promise<OpenLoopResult> {
  const h = histogram();
  const total = Math.max(1, Math.round(rate * seconds));
  const interval = 1e6 / rate;
  const start = nowUs() + 2000 + (options.startDelayUs ?? 0);
  const maxBacklog = Math.max(lanes * 4, Math.round(rate * (options.maxBacklogSeconds ?? 1)));
  const queues: number[][] = Array.from({ length: lanes }, () => []);
  const busy: boolean[] = new Array<boolean>(lanes).fill(false);
  let next = 0;
  let done = 0;
  let behind = 0;
  let queued = 0;
  let overloaded = false;
  let failed = false;
  return new Promise((resolve, reject) => {
    const finish = () => resolve({ h, seconds: (nowUs() - start) / 1e6, behind, start, interval, done, overloaded });
    const send = (lane: number) => {
      const i = queues[lane]!.shift();
      if (i === undefined) {
        busy[lane] = false;
        if (overloaded && busy.every((b) => !b)) finish();
        return;
      }
      queued--;
      busy[lane] = true;
      const intended = options.measureFrom === 'sent' ? nowUs() : start + i * interval;
      op(lane, i).then(
        () => {
          h.recordValue(Math.max(1, nowUs() - intended));
          if (++done === total) finish();
          else send(lane);
        },
        (e: unknown) => {
          if (!failed) reject(e instanceof Error ? e : new Error(String(e)));
          failed = true;
        },
      );
    };
    const pump = () => {
      if (failed) return;
      const now = nowUs();
      while (next < total && start + next * interval <= now) {
        let lane = busy.indexOf(false);
        if (lane === -1) {
          behind++;
          lane = next % lanes;
        }
        queues[lane]!.push(next++);
        queued++;
        if (!busy[lane]) send(lane);
      }
      if (queued > maxBacklog) {
        // Past the sustainable rate: drop what is still queued and let the in-flight ones finish.
        overloaded = true;
        for (const q of queues) q.length = 0;
        queued = 0;
        if (busy.every((b) => !b)) finish();
        return;
      }
      if (next >= total) return;
      // Sleep on a timer while the next send is far off (timers are good to ~1 ms) and spin
      // only for the last stretch: a spinning load generator would take a whole core from
      // the server it measures on a 2-core machine.
      const wait = start + next * interval - nowUs();
      if (wait > 2500) setTimeout(pump, Math.floor((wait - 1500) / 1000));
      else if (options.spin === false) setTimeout(pump, 1);
      else setImmediate(pump);
    };
    pump();
  });
}

/** Whether an open-loop run kept up: (nearly) every operation sent on time and a bounded tail. */
export function sustained(r: OpenLoopResult, rate: number, seconds: number): boolean {
  return !r.overloaded && r.done >= Math.round(rate * seconds) && r.h.getValueAtPercentile(99) <= 20_000;
}

/** Rates for the open-loop ladders, stopping after the first rate a system cannot sustain. */
export const RATE_LADDER = [1000, 2000, 5000, 10_000, 20_000];

// ---- raw HTTP (Engram) ----

export async function connect(port: number, count: number): Promise<RawHttpConnection[]> {
  const conns = Array.from({ length: count }, () => new RawHttpConnection(port));
  await Promise.all(conns.map((c) => c.ready));
  return conns;
}

const httpOp =
  (conns: RawHttpConnection[], request: (lane: number, i: number) => Buffer, expectStatus: number): Operation =>
  async (lane, i) => {
    const r = await conns[lane]!.request(request(lane, i));
    if (r.status !== expectStatus) throw new Error(`unexpected status ${r.status}: ${r.body.toString()}`);
  };

/** Each connection sends its next request as soon as the previous answer arrives. */
export function closedLoop(conns: RawHttpConnection[], perConnection: number, request: (conn: number, i: number) => Buffer, expectStatus: number) {
  return closedLoopOps(
    conns.length,
    perConnection,
    httpOp(conns, (lane, i) => request(lane, i - lane * perConnection), expectStatus),
  );
}

/** Requests at a fixed rate over raw HTTP connections (see openLoopOps). */
export function openLoop(conns: RawHttpConnection[], rate: number, seconds: number, request: (i: number) => Buffer, expectStatus: number, options?: OpenLoopOptions) {
  return openLoopOps(
    conns.length,
    rate,
    seconds,
    httpOp(conns, (_, i) => request(i), expectStatus),
    options,
  );
}
