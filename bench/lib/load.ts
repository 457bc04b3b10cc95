/** Closed-loop and open-loop load over raw keep-alive HTTP connections. */
import { RawHttpConnection } from './raw-http.js';
import { histogram, nowUs, type Histogram } from './stats.js';

export async function connect(port: number, count: number): Promise<RawHttpConnection[]> {
  const conns = Array.from({ length: count }, () => new RawHttpConnection(port));
  await Promise.all(conns.map((c) => c.ready));
  return conns;
}

/** Each connection sends its next request as soon as the previous answer arrives. */
export async function closedLoop(
  conns: RawHttpConnection[],
  perConnection: number,
  request: (conn: number, i: number) => Buffer,
  expectStatus: number,
): Promise<{ h: Histogram; seconds: number }> {
  const h = histogram();
  const t0 = nowUs();
  await Promise.all(
    conns.map(async (c, ci) => {
      for (let i = 0; i < perConnection; i++) {
        const start = nowUs();
        const r = await c.request(request(ci, i));
        h.recordValue(Math.max(1, nowUs() - start));
        if (r.status !== expectStatus) throw new Error(`unexpected status ${r.status}: ${r.body.toString()}`);
      }
    }),
  );
  return { h, seconds: (nowUs() - t0) / 1e6 };
}

/**
 * Requests at a fixed rate, with send times fixed in advance. Latency runs from the
 * intended send time, so a stall shows as the queueing it causes (no coordinated omission).
 */
export function openLoop(
  conns: RawHttpConnection[],
  rate: number,
  seconds: number,
  request: (i: number) => Buffer,
  expectStatus: number,
  options: { spin?: boolean } = {},
): Promise<{ h: Histogram; seconds: number; behind: number; start: number; interval: number }> {
  const h = histogram();
  const total = Math.round(rate * seconds);
  const interval = 1e6 / rate;
  const start = nowUs() + 2000;
  const queues: number[][] = conns.map(() => []);
  const busy = conns.map(() => false);
  let next = 0;
  let done = 0;
  let behind = 0;
  return new Promise((resolve, reject) => {
    const send = (ci: number) => {
      const i = queues[ci]!.shift();
      if (i === undefined) {
        busy[ci] = false;
        return;
      }
      busy[ci] = true;
      const intended = start + i * interval;
      conns[ci]!.request(request(i)).then((r) => {
        if (r.status !== expectStatus) {
          reject(new Error(`unexpected status ${r.status}: ${r.body.toString()}`));
          return;
        }
        h.recordValue(Math.max(1, nowUs() - intended));
        if (++done === total) resolve({ h, seconds: (nowUs() - start) / 1e6, behind, start, interval });
        else send(ci);
      }, reject);
    };
    const pump = () => {
      const now = nowUs();
      while (next < total && start + next * interval <= now) {
        // Pick an idle connection if there is one; otherwise queue on the shortest queue.
        let ci = busy.indexOf(false);
        if (ci === -1) {
          behind++;
          ci = next % conns.length;
        }
        queues[ci]!.push(next++);
        if (!busy[ci]) send(ci);
      }
      if (next >= total) return;
      // Sleep on a timer while the next send is far off (timers are good to ~1 ms), and
      // spin only for the last stretch: a spinning load generator would take a whole core
      // from the server it measures on a 2-core machine.
      const wait = start + next * interval - nowUs();
      if (wait > 2500) setTimeout(pump, Math.floor((wait - 1500) / 1000));
      else if (options.spin === false) setTimeout(pump, 1); // sends in ≤1 ms bursts, leaving the CPU to the server
      else setImmediate(pump);
    };
    pump();
  });
}
