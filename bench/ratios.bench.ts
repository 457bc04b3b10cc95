/**
 * Engram against its floors, as ratios from one run: the write path beside the transport's own
 * floor (GET /healthz on the same server, same client), the speed-of-light server
 * (bench/sol-server.ts: uWS + classic-level, group commit, no validation) and Redis; fan-out
 * beside the same speed-of-light server and Redis pub/sub, to the same native subscribers.
 *
 * Every system runs at once; each round measures every case once, in an order rotated from
 * round to round, so slow spells of the machine fall on all systems alike. A ratio is taken
 * within a round; the report gives the median over rounds and its spread (min–max).
 *
 *   --rounds N   rounds (default 5; quick 2; tiny 1)
 *   --pin        servers on core 0, this process and the subscribers on core 1 (taskset)
 *
 * Writes: sequential, one raw-socket connection, units of ~200 bytes of JSON (HTTP POST,
 * WebSocket publish waiting for the ack, Redis XADD). Fan-out: an open loop of raw HTTP writes
 * (Redis: PUBLISH), latency from each unit's intended send time to its arrival at the slowest
 * subscriber.
 */
import { execFileSync } from 'node:child_process';
import { ENGRAM_DURABILITY, startEngram } from './lib/engram-server.js';
import { closedLoopOps, connect, openLoop, openLoopOps, type Operation } from './lib/load.js';
import { NativeSubscribers, nativeSubscriberAvailable } from './lib/native-subscribers.js';
import { startPeer } from './lib/peers.js';
import { startSol } from './lib/sol.js';
import { get, postJson, type RawHttpConnection } from './lib/raw-http.js';
import { marker } from './lib/raw-subscriber.js';
import { RawRedis, RawWsPublisher } from './lib/raw-wire.js';
import { describeSystem, emit, histogram, median, option, QUICK, quantity, size, summarize, TINY, type Histogram } from './lib/stats.js';

/** Which system a case measures, and how durable its acknowledged write is. */
const SOL_DURABILITY = 'speed-of-light server: LevelDB batch written to the OS before the ack, not fsynced';
function describeCase(name: string, redisDurability: string): void {
  if (name.includes('Redis')) describeSystem('redis', redisDurability);
  else if (name.includes('speed of light')) describeSystem('floor', SOL_DURABILITY);
  else if (name.includes('healthz')) describeSystem('floor', 'none (answers from memory)');
  else describeSystem('engram', ENGRAM_DURABILITY);
}

const ROUNDS = Number(option('rounds') ?? (TINY ? 1 : QUICK ? 2 : 5));
const PIN = process.argv.includes('--pin');
const WRITES = size(5000, 50, 1000);
const FANOUT_SECONDS = TINY ? 0.5 : QUICK ? 2 : 4;
const PIN_LABEL = PIN ? ', pinned' : '';

/** ~200 bytes of JSON, the same unit for every system. */
const unit = (context: string, i: number, text = `unit ${i}: the planner asked the coder to retry with exponential backoff and jitter; result pending`) =>
  JSON.stringify({ contextId: context, agentId: 'agent-1', type: 'MESSAGE', payload: { text } });

function pin(pid: number, cpus: string): void {
  if (PIN) execFileSync('taskset', ['-a', '-p', '-c', cpus, String(pid)], { stdio: 'ignore' });
}

if (PIN) execFileSync('taskset', ['-a', '-p', '-c', '1', String(process.pid)], { stdio: 'ignore' });
const engram = await startEngram();
const sol = await startSol();
const redis = await startPeer('redis');
pin(engram.pid, '0');
pin(sol.pid, '0');
pin(redis.pid, '0');

const [engramHttp] = await connect(engram.port, 1);
const [solHttp] = await connect(sol.port, 1);
const engramWs = await RawWsPublisher.open(engram.port);
const solWs = await RawWsPublisher.open(sol.port);
const redisConn = await RawRedis.open(redis.port);

const http =
  (c: RawHttpConnection, status: number, body: (i: number) => Buffer): Operation =>
  async (_, i) => {
    const r = await c.request(body(i));
    if (r.status !== status) throw new Error(`status ${r.status}: ${r.body.toString().slice(0, 200)}`);
  };
const HEALTHZ = get('/healthz');
const WRITE_CASES: Record<string, Operation> = {
  'Engram HTTP write': http(engramHttp!, 201, (i) => postJson('/workunit', unit('w-http', i))),
  'Engram WebSocket publish': (_, i) => engramWs.publish(unit('w-ws', i)),
  'floor: GET /healthz on Engram': http(engramHttp!, 200, () => HEALTHZ),
  'speed of light HTTP write': http(solHttp!, 201, (i) => postJson('/workunit', unit('w-http', i))),
  'speed of light WebSocket publish': (_, i) => solWs.publish(unit('w-ws', i)),
  'Redis XADD': async (_, i) => void (await redisConn.command('XADD', 'w-redis', '*', 'd', unit('w-redis', i))),
};

interface FanoutCase {
  name: string;
  subscribers: number;
  rate: number;
  kind: 'ws' | 'sse';
}
const FANOUT_CASES: FanoutCase[] = [
  { name: 'fan-out to 200 WebSocket subscribers, 200/s', subscribers: 200, rate: 200, kind: 'ws' },
  { name: 'fan-out to 1,000 WebSocket subscribers, 100/s', subscribers: 1000, rate: 100, kind: 'ws' },
  { name: 'fan-out to 200 SSE subscribers, 200/s', subscribers: 200, rate: 200, kind: 'sse' },
].map((c) => (TINY ? { ...c, subscribers: Math.min(c.subscribers, 10) } : c)) as FanoutCase[];
type FanoutSystem = 'Engram' | 'speed of light' | 'Redis pub/sub';
const FANOUT_SYSTEMS: FanoutSystem[] = ['Engram', 'speed of light', 'Redis pub/sub'];

const publishers = {
  Engram: await connect(engram.port, 8),
  'speed of light': await connect(sol.port, 8),
  redis: await Promise.all(Array.from({ length: 8 }, () => RawRedis.open(redis.port))),
};

let fanoutRun = 0;
async function fanout(c: FanoutCase, system: FanoutSystem): Promise<Histogram> {
  const context = `fan-${fanoutRun++}`;
  const units = Math.round(c.rate * FANOUT_SECONDS);
  const port = system === 'Engram' ? engram.port : system === 'speed of light' ? sol.port : redis.port;
  const handshake =
    system === 'Redis pub/sub'
      ? { request: `SUBSCRIBE ${context}\\r\\n`, ready: 'subscribe' }
      : c.kind === 'ws'
        ? {
            request: `GET /stream?context=${context} HTTP/1.1\\r\\nHost: bench\\r\\nUpgrade: websocket\\r\\nConnection: Upgrade\\r\\nSec-WebSocket-Version: 13\\r\\nSec-WebSocket-Key: ZW5ncmFtLWJlbmNoLWtleQ==\\r\\n\\r\\n`,
            ready: '"event":"subscribed"',
          }
        : { request: `GET /stream-sse?context=${context} HTTP/1.1\\r\\nHost: bench\\r\\n\\r\\n`, ready: 'event: subscribed' };
  const subs = new NativeSubscribers(port, c.subscribers, units, handshake.request, handshake.ready);
  await subs.whenReady();
  const text = (n: number) => `${marker(n)} a planner message fanned out to every subscriber, about two hundred bytes`;
  const sent =
    system === 'Redis pub/sub'
      ? await openLoopOps(8, c.rate, FANOUT_SECONDS, (lane, n) => publishers.redis[lane]!.command('PUBLISH', context, unit(context, n, text(n))).then(() => undefined))
      : await openLoop(publishers[system], c.rate, FANOUT_SECONDS, (n) => postJson('/workunit', unit(context, n, text(n))), 201);
  const arrivals = await subs.finish(60_000);
  const h = histogram();
  for (let n = Math.floor(units * 0.1); n < units; n++) {
    if (arrivals.counts[n]! >= c.subscribers) h.recordValue(Math.max(1, Math.round(arrivals.latest[n]! - (sent.start + n * sent.interval))));
  }
  return h;
}

/** p50 and p99 (µs) of every case in every round. */
const rounds: Array<Map<string, { p50: number; p99: number; h: Histogram; seconds: number }>> = [];
const writeNames = Object.keys(WRITE_CASES);
// Warm every path (JIT, LevelDB files, connections) before anything counts.
for (const name of writeNames) await closedLoopOps(1, Math.min(WRITES, 500), WRITE_CASES[name]!);

for (let round = 0; round < ROUNDS; round++) {
  const results = new Map<string, { p50: number; p99: number; h: Histogram; seconds: number }>();
  const order = writeNames.map((_, k) => writeNames[(k + round) % writeNames.length]!);
  for (const name of order) {
    const r = await closedLoopOps(1, WRITES, WRITE_CASES[name]!);
    results.set(name, { p50: r.h.getValueAtPercentile(50), p99: r.h.getValueAtPercentile(99), h: r.h, seconds: r.seconds });
  }
  if (nativeSubscriberAvailable()) {
    for (const c of FANOUT_CASES) {
      const systems = FANOUT_SYSTEMS.map((_, k) => FANOUT_SYSTEMS[(k + round) % FANOUT_SYSTEMS.length]!);
      for (const system of systems) {
        const h = await fanout(c, system);
        results.set(`${c.name}: ${system}`, { p50: h.getValueAtPercentile(50), p99: h.getValueAtPercentile(99), h, seconds: FANOUT_SECONDS });
      }
    }
  }
  rounds.push(results);
  process.stderr.write(`  round ${round + 1}/${ROUNDS} done\n`);
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;

// Absolute latencies: the median round's figures for each case, with the spread over rounds.
for (const name of rounds[0]!.keys()) {
  const p50s = rounds.map((r) => r.get(name)!.p50);
  const p99s = rounds.map((r) => r.get(name)!.p99);
  const mid = rounds.map((r) => r.get(name)!).sort((a, b) => a.p99 - b.p99)[Math.floor(rounds.length / 2)]!;
  const scenario = name.startsWith('fan-out') ? 'ratios-fanout' : 'ratios-write';
  describeCase(name.slice(name.lastIndexOf(':') + 1), redis.durability);
  emit(
    summarize(scenario, `${name}${PIN_LABEL}`, mid.h, mid.seconds, {
      rounds: rounds.length,
      p50MedianUs: median(p50s),
      p99MedianUs: median(p99s),
      p99MinUs: Math.min(...p99s),
      p99MaxUs: Math.max(...p99s),
    }),
  );
}

/** A ratio of two cases' percentiles within each round: the median and spread over rounds. */
describeSystem('engram', ENGRAM_DURABILITY);
function ratio(label: string, num: string, den: string, q: 'p50' | 'p99', target: number): void {
  if (!rounds[0]!.has(num) || !rounds[0]!.has(den)) return;
  const values = rounds.map((r) => r.get(num)![q] / r.get(den)![q]);
  emit(
    quantity('ratios', `${label}${PIN_LABEL}`, round3(median(values)), '×', undefined, {
      min: round3(Math.min(...values)),
      max: round3(Math.max(...values)),
      rounds: values.length,
      target,
      met: median(values) <= target,
    }),
  );
}

for (const [transport, write, sl] of [
  ['HTTP', 'Engram HTTP write', 'speed of light HTTP write'],
  ['WebSocket', 'Engram WebSocket publish', 'speed of light WebSocket publish'],
] as const) {
  ratio(`${transport} write p50 ÷ Redis XADD p50`, write, 'Redis XADD', 'p50', 1.5);
  ratio(`${transport} write p99 ÷ floor (GET /healthz) p99`, write, 'floor: GET /healthz on Engram', 'p99', 1.25);
  ratio(`${transport} write p99 ÷ speed-of-light ${transport} write p99`, write, sl, 'p99', 1.25);
}
for (const c of FANOUT_CASES) {
  ratio(`${c.name}, p99 ÷ speed of light`, `${c.name}: Engram`, `${c.name}: speed of light`, 'p99', 1.1);
  ratio(`${c.name}, p99 ÷ Redis pub/sub`, `${c.name}: Engram`, `${c.name}: Redis pub/sub`, 'p99', 1.2);
}

engramWs.close();
solWs.close();
redisConn.close();
for (const c of [engramHttp!, solHttp!, ...publishers.Engram, ...publishers['speed of light']]) c.close();
publishers.redis.forEach((r) => r.close());
await Promise.all([engram.stop(), sol.stop(), redis.stop()]);
