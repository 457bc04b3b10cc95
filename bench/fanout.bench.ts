/**
 * Fan-out latency: publish (HTTP POST) to receive, for the slowest of N subscribers
 * of one context, open loop at a fixed rate. Scenarios: 1, 100 and 1000 WebSocket
 * subscribers and 100 SSE subscribers.
 *
 * Subscribers are the C program bench/native/fanout-subscriber (one epoll loop
 * scanning bytes for unit markers) when it has been built (`make bench` builds it);
 * otherwise JavaScript raw-socket subscribers, which on 2 cores cost more than the
 * server's fan-out at 1000 subscribers, and the result says so. The last scenario
 * runs the same load against a bare uWS server (bench/bare-fanout-server.ts): the floor.
 */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { startEngram } from './lib/engram-server.js';
import { connect, openLoop } from './lib/load.js';
import { NativeSubscribers, nativeSubscriberAvailable, type Arrivals } from './lib/native-subscribers.js';
import { postJson } from './lib/raw-http.js';
import { ArrivalBoard, marker, RawSubscriber } from './lib/raw-subscriber.js';
import { emit, histogram, QUICK, summarize } from './lib/stats.js';

interface Scenario {
  kind: 'ws' | 'sse';
  subscribers: number;
  rate: number;
  /** Against the bare uWS floor server instead of Engram. */
  floor?: boolean;
}

const SCENARIOS: Scenario[] = [
  { kind: 'ws', subscribers: 1, rate: 1000 },
  { kind: 'ws', subscribers: 100, rate: 500 },
  { kind: 'ws', subscribers: 1000, rate: 50 },
  { kind: 'ws', subscribers: 1000, rate: 100 },
  { kind: 'sse', subscribers: 100, rate: 500 },
  { kind: 'ws', subscribers: 1000, rate: 50, floor: true },
];
const SECONDS = QUICK ? 2 : 10;
const native = nativeSubscriberAvailable() && !process.argv.includes('--js-subscribers');

function handshake(kind: 'ws' | 'sse', context: string): { request: string; ready: string } {
  return kind === 'ws'
    ? {
        request: `GET /stream?context=${context} HTTP/1.1\\r\\nHost: bench\\r\\nUpgrade: websocket\\r\\nConnection: Upgrade\\r\\nSec-WebSocket-Version: 13\\r\\nSec-WebSocket-Key: ZW5ncmFtLWJlbmNoLWtleQ==\\r\\n\\r\\n`,
        ready: '"event":"subscribed"',
      }
    : { request: `GET /stream-sse?context=${context} HTTP/1.1\\r\\nHost: bench\\r\\n\\r\\n`, ready: 'event: subscribed' };
}

/** Starts the subscribers; returns a function that collects the arrivals once publishing is over. */
async function subscribe(port: number, s: Scenario, context: string, units: number): Promise<(timeoutMs: number) => Promise<Arrivals>> {
  if (native) {
    const hs = handshake(s.kind, context);
    const subs = new NativeSubscribers(port, s.subscribers, units, hs.request, hs.ready);
    await subs.whenReady();
    return (timeoutMs) => subs.finish(timeoutMs);
  }
  const board = new ArrivalBoard(units);
  const path = s.kind === 'ws' ? `/stream?context=${context}` : `/stream-sse?context=${context}`;
  const subs: RawSubscriber[] = [];
  for (let i = 0; i < s.subscribers; i++) {
    subs.push(new RawSubscriber(port, path, s.kind, board));
    if (i % 50 === 49) await subs[i]!.ready;
  }
  await Promise.all(subs.map((x) => x.ready));
  return async (timeoutMs) => {
    const deadline = Date.now() + timeoutMs;
    while (board.complete(s.subscribers) < units && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    subs.forEach((x) => x.close());
    return { counts: board.counts, latest: board.latest };
  };
}

/** The bare uWS server of bench/bare-fanout-server.ts, as a stand-in for Engram. */
async function startFloor(): Promise<{ port: number; stop(): Promise<void> }> {
  const proc = spawn(process.execPath, [resolve(import.meta.dirname, 'bare-fanout-server.js')], { stdio: ['ignore', 'pipe', 'inherit'] });
  process.once('exit', () => proc.kill('SIGKILL'));
  const port = await new Promise<number>((r) => proc.stdout.once('data', (d: Buffer) => r(Number(d.toString().trim()))));
  return { port, stop: () => new Promise<void>((r) => (proc.once('exit', () => r()), proc.kill('SIGTERM'))) };
}

async function run(s: Scenario, index: number): Promise<void> {
  const server = s.floor ? await startFloor() : await startEngram();
  const context = `fan-${index}`;
  const units = Math.round(s.rate * SECONDS);
  const collect = await subscribe(server.port, s, context, units);
  const conns = await connect(server.port, 8);
  const body = (n: number) =>
    postJson(
      '/workunit',
      JSON.stringify({ contextId: context, agentId: 'bench', type: 'MESSAGE', payload: { text: `${marker(n)} a planner message fanned out to every subscriber` } }),
    );
  // Open loop: unit n is due at start + n × interval, whatever happened to earlier ones.
  const sent = await openLoop(conns, s.rate, SECONDS, body, 201);
  const arrivals = await collect(60_000);
  const h = histogram();
  let missing = 0;
  for (let n = Math.floor(units * 0.1); n < units; n++) {
    if (arrivals.counts[n]! < s.subscribers) missing++;
    else h.recordValue(Math.max(1, Math.round(arrivals.latest[n]! - (sent.start + n * sent.interval))));
  }
  const label = `${s.subscribers} ${s.kind === 'ws' ? 'WebSocket' : 'SSE'} subscribers, ${s.rate}/s${native ? '' : ' (JS subscribers)'}`;
  emit(summarize(s.floor ? 'fanout-floor' : 'fanout', s.floor ? `bare uWS publish, ${label}` : label, h, SECONDS * 0.9, { subscribers: s.subscribers, rate: s.rate, missing, subscriberClient: native ? 'c-epoll' : 'js' }));
  conns.forEach((c) => c.close());
  await server.stop();
}

for (const [i, s] of SCENARIOS.entries()) await run(s, i);
