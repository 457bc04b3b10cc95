/**
 * Fan-out latency, one system per process (`--system engram | redis | nats | floor`):
 * from a unit's intended send time (open loop) to its arrival at the *slowest* of N
 * subscribers of one context, for 1, 100 and 1000 subscribers (and 100 SSE on Engram).
 *
 * Every system gets the same subscriber: the C program bench/native/fanout-subscriber
 * (one epoll loop scanning received bytes for unit markers; `make bench` builds it) speaking
 * each system's protocol just far enough: a WebSocket upgrade or SSE GET for Engram, XREAD
 * BLOCK from the last id for Redis, a NATS SUB on a JetStream push consumer's deliver
 * subject. Without a C compiler Engram falls back to JavaScript raw-socket subscribers
 * (which on 2 cores cost more than the fan-out itself; the result says so) and the peers
 * are skipped. `floor` is a bare uWS server publishing each POST: the transport alone.
 */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { AckPolicy, DeliverPolicy } from '@nats-io/jetstream';
import { ENGRAM_DURABILITY, startEngram } from './lib/engram-server.js';
import { connect, openLoop, openLoopOps } from './lib/load.js';
import { NativeSubscribers, nativeSubscriberAvailable, type Arrivals } from './lib/native-subscribers.js';
import { startPeer } from './lib/peers.js';
import { postJson } from './lib/raw-http.js';
import { ArrivalBoard, marker, RawSubscriber } from './lib/raw-subscriber.js';
import { announceProcess, describeSystem, duration, emit, histogram, option, QUICK, summarize, TINY } from './lib/stats.js';
import { NatsPeer, natsStream, natsSubject, openWriters, unitJson } from './lib/writers.js';

type SystemName = 'engram' | 'redis' | 'nats' | 'floor';
const system = (option('system') ?? 'engram') as SystemName;

interface Scenario {
  kind: 'ws' | 'sse' | 'redis' | 'nats';
  subscribers: number;
  rate: number;
}

const PEER_CASES: Array<[number, number]> = [[1, 1000], [100, 500], [1000, 50], ...(QUICK && !TINY ? [] : ([[1000, 100]] as Array<[number, number]>))];
const SCENARIOS: Record<SystemName, Scenario[]> = {
  engram: [...PEER_CASES.map(([subscribers, rate]) => ({ kind: 'ws' as const, subscribers, rate })), { kind: 'sse', subscribers: 100, rate: 500 }],
  redis: PEER_CASES.map(([subscribers, rate]) => ({ kind: 'redis', subscribers, rate })),
  nats: PEER_CASES.map(([subscribers, rate]) => ({ kind: 'nats', subscribers, rate })),
  floor: [{ kind: 'ws', subscribers: 1000, rate: 50 }],
};
const SECONDS = duration(6);
const native = nativeSubscriberAvailable() && !process.argv.includes('--js-subscribers');
const KIND_LABEL = { ws: 'WebSocket subscribers', sse: 'SSE subscribers', redis: 'XREAD BLOCK readers', nats: 'JetStream push consumers' };

function handshake(s: Scenario, context: string): { request: string; ready: string; mode?: string } {
  switch (s.kind) {
    case 'ws':
      return {
        request: `GET /stream?context=${context} HTTP/1.1\\r\\nHost: bench\\r\\nUpgrade: websocket\\r\\nConnection: Upgrade\\r\\nSec-WebSocket-Version: 13\\r\\nSec-WebSocket-Key: ZW5ncmFtLWJlbmNoLWtleQ==\\r\\n\\r\\n`,
        ready: '"event":"subscribed"',
      };
    case 'sse':
      return { request: `GET /stream-sse?context=${context} HTTP/1.1\\r\\nHost: bench\\r\\n\\r\\n`, ready: 'event: subscribed' };
    case 'redis':
      return { request: 'PING\\r\\n', ready: '+PONG\\r\\n', mode: `redis:${context}` };
    case 'nats':
      return { request: `CONNECT {"verbose":false,"pedantic":false}\\r\\nSUB deliver.${context}.%d 1\\r\\nPING\\r\\n`, ready: 'PONG' };
  }
}

/** Starts the subscribers; returns a function that collects the arrivals once publishing is over. */
async function subscribe(port: number, s: Scenario, context: string, units: number): Promise<(timeoutMs: number) => Promise<Arrivals>> {
  if (native) {
    const hs = handshake(s, context);
    const subs = new NativeSubscribers(port, s.subscribers, units, hs.request, hs.ready, hs.mode);
    await subs.whenReady();
    return (timeoutMs) => subs.finish(timeoutMs);
  }
  const board = new ArrivalBoard(units);
  const path = s.kind === 'ws' ? `/stream?context=${context}` : `/stream-sse?context=${context}`;
  const subs: RawSubscriber[] = [];
  for (let i = 0; i < s.subscribers; i++) {
    subs.push(new RawSubscriber(port, path, s.kind === 'sse' ? 'sse' : 'ws', board));
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
  announceProcess(proc.pid!, 'bare-fanout-server');
  process.once('exit', () => proc.kill('SIGKILL'));
  const port = await new Promise<number>((r) => proc.stdout.once('data', (d: Buffer) => r(Number(d.toString().trim()))));
  return { port, stop: () => new Promise<void>((r) => (proc.once('exit', () => r()), proc.kill('SIGTERM'))) };
}

/** Publishes into `context` at `rate`/s for `seconds` from 8 connections; returns the schedule. */
type Publish = (context: string, rate: number, seconds: number, text: (n: number) => string) => Promise<{ start: number; interval: number }>;

interface Target {
  port: number;
  prepare(context: string): Promise<void>;
  publish: Publish;
  stop(): Promise<void>;
}

/** One server for all of this process's scenarios (each in its own context), and its publishers. */
async function startTarget(): Promise<Target> {
  if (system === 'engram' || system === 'floor') {
    const server = system === 'floor' ? await startFloor() : await startEngram();
    describeSystem(system, system === 'engram' ? ENGRAM_DURABILITY : 'none (no storage)');
    const conns = await connect(server.port, 8);
    return {
      port: server.port,
      prepare: async () => undefined,
      publish: (ctx, rate, seconds, text) => openLoop(conns, rate, seconds, (n) => postJson('/workunit', unitJson(ctx, n, text(n))), 201),
      stop: async () => (conns.forEach((c) => c.close()), await server.stop()),
    };
  }
  const peer = await startPeer(system);
  describeSystem(system, peer.durability);
  const writers = await openWriters(system, 8, system === 'redis' ? { redisPort: peer.port } : { natsPort: peer.port });
  return {
    port: peer.port,
    prepare: (ctx) => writers.prepare(ctx),
    publish: (ctx, rate, seconds, text) => openLoopOps(8, rate, seconds, (lane, n) => writers.write(lane, ctx, n, text(n))),
    stop: async () => (await writers.close(), await peer.stop()),
  };
}

async function run(target: Target, s: Scenario, index: number): Promise<void> {
  const context = `fan-${index}`;
  const subscribers = TINY ? Math.min(s.subscribers, 10) : s.subscribers;
  const units = Math.round(s.rate * SECONDS);
  await target.prepare(context);
  const collect = await subscribe(target.port, { ...s, subscribers }, context, units);
  if (s.kind === 'nats') await addPushConsumers(target.port, context, subscribers);
  const sent = await target.publish(context, s.rate, SECONDS, (n) => `${marker(n)} a planner message fanned out to every subscriber`);
  const arrivals = await collect(60_000);
  const h = histogram();
  let missing = 0;
  for (let n = Math.floor(units * 0.1); n < units; n++) {
    if (arrivals.counts[n]! < subscribers) missing++;
    else h.recordValue(Math.max(1, Math.round(arrivals.latest[n]! - (sent.start + n * sent.interval))));
  }
  const label = `${subscribers} ${KIND_LABEL[s.kind]}, ${s.rate}/s${native ? '' : ' (JS subscribers)'}`;
  const compare = s.kind === 'sse' || system === 'floor' ? undefined : `fanout/${s.subscribers}/${s.rate}`;
  const name = system === 'floor' ? `bare uWS publish, ${label}` : label;
  emit(
    summarize(
      system === 'floor' ? 'fanout-floor' : 'fanout',
      name,
      h,
      SECONDS * 0.9,
      { subscribers, rate: s.rate, missing, subscriberClient: native ? 'c-epoll' : 'js', kind: s.kind },
      compare,
    ),
  );
}

/**
 * One push consumer per subscriber, each delivering the context's stream to its own
 * subject (`deliver.<context>.<i>`, which subscriber i listens on): AckNone and in memory
 * as an ordered consumer is, without the flow-control handshake a byte-scanning client
 * does not answer.
 */
async function addPushConsumers(port: number, context: string, count: number): Promise<void> {
  const admin = await NatsPeer.connect(port);
  const stream = natsStream(context);
  for (let i = 0; i < count; i += 32) {
    await Promise.all(
      Array.from({ length: Math.min(32, count - i) }, (_, k) =>
        admin.jsm.consumers.add(stream, {
          deliver_subject: `deliver.${context}.${i + k}`,
          filter_subject: natsSubject(context),
          ack_policy: AckPolicy.None,
          deliver_policy: DeliverPolicy.All,
          mem_storage: true,
        }),
      ),
    );
  }
  await admin.close();
}

if ((system === 'redis' || system === 'nats') && !native) {
  process.stdout.write(`fan-out for ${system} skipped: it needs the C subscriber (no C compiler found)\n`);
} else {
  const target = await startTarget();
  try {
    for (const [i, s] of SCENARIOS[system].entries()) await run(target, s, i);
  } finally {
    await target.stop();
  }
}
