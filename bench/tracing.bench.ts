/**
 * What OpenTelemetry tracing costs a write: three Engram servers run at once, alike but for
 * tracing: off (the default), on with every write sampled (each carries a sampled traceparent,
 * so each makes a span that is exported to a local OTLP receiver, bench/otlp-sink.ts), and on
 * with writes whose traceparent is not sampled (the spans are made and dropped). Each round
 * measures every case once, sequential HTTP writes of ~200 bytes from one raw-socket client, in
 * an order rotated from round to round; ratios are taken within a round, and the report gives
 * their median over rounds and the spread (min–max), since this machine's absolute times drift.
 *
 *   --rounds N   rounds (default 6; quick 2; tiny 1)
 *
 * Beside latency, the CPU each server spent over a round (utime + stime from /proc, in 10 ms
 * ticks) per write it took: a figure that a busy machine delays but does not inflate, unlike a
 * latency.
 *
 * Search is off on every server (`--search-enabled false`): indexing is not on the write path,
 * and three offline embedders would only add noise. Every write carries the same traceparent
 * header, whether or not its server traces, so every request has the same bytes.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ENGRAM_DURABILITY, startEngram } from './lib/engram-server.js';
import { closedLoopOps, connect, type Operation } from './lib/load.js';
import { postJson, type RawHttpConnection } from './lib/raw-http.js';
import { announceProcess, describeSystem, emit, option, QUICK, quantity, size, summarize, TINY, type Histogram } from './lib/stats.js';

const ROUNDS = Number(option('rounds') ?? (TINY ? 1 : QUICK ? 2 : 6));
const WRITES = size(5000, 50, 1000);

/** ~200 bytes of JSON, as in ratios.bench.ts. */
const unit = (i: number) =>
  JSON.stringify({
    contextId: 'traced',
    agentId: 'agent-1',
    type: 'MESSAGE',
    payload: { text: `unit ${i}: the planner asked the coder to retry with exponential backoff and jitter; result pending` },
  });
const traceparent = (i: number, sampled: boolean) => `traceparent: 00-${(0x1000 + i).toString(16).padStart(32, '0')}-${'b'.repeat(16)}-${sampled ? '01' : '00'}\r\n`;

/** bench/otlp-sink.ts in its own process. */
async function startSink(): Promise<{ port: number; stop(): Promise<void> }> {
  const proc = spawn(process.execPath, [resolve(import.meta.dirname, 'otlp-sink.js')], { stdio: ['ignore', 'pipe', 'inherit'] });
  announceProcess(proc.pid!, 'otlp-sink');
  const kill = () => proc.kill('SIGKILL');
  process.once('exit', kill);
  const port = await new Promise<number>((r) => proc.stdout.once('data', (d: Buffer) => r(Number(d.toString().trim()))));
  return { port, stop: () => new Promise<void>((r) => (proc.once('exit', () => (process.removeListener('exit', kill), r())), proc.kill('SIGTERM'))) };
}

const sink = await startSink();
const traced = (ratio: string) => ['--tracing-enabled', '--tracing-endpoint', `http://127.0.0.1:${sink.port}/v1/traces`, '--tracing-sample-ratio', ratio];
const common = ['--search-enabled', 'false'];
const [off, on, unsampled] = await Promise.all([startEngram(common), startEngram([...common, ...traced('1')]), startEngram([...common, ...traced('0')])]);

const OFF = 'tracing off';
const ON = 'tracing on, every write sampled and exported';
const UNSAMPLED = 'tracing on, writes not sampled';
const pids = new Map<string, number>([
  [OFF, off.pid],
  [ON, on.pid],
  [UNSAMPLED, unsampled.pid],
]);
/** CPU seconds the process has used (Linux USER_HZ ticks of utime + stime). */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = fields.slice(fields.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}
const conns = new Map<string, RawHttpConnection>([
  [OFF, (await connect(off.port, 1))[0]!],
  [ON, (await connect(on.port, 1))[0]!],
  [UNSAMPLED, (await connect(unsampled.port, 1))[0]!],
]);
const write =
  (c: RawHttpConnection, sampled: boolean): Operation =>
  async (_, i) => {
    const r = await c.request(postJson('/workunit', unit(i), traceparent(i, sampled)));
    if (r.status !== 201) throw new Error(`status ${r.status}: ${r.body.toString().slice(0, 200)}`);
  };
const CASES: Record<string, Operation> = {
  [OFF]: write(conns.get(OFF)!, true),
  [ON]: write(conns.get(ON)!, true),
  [UNSAMPLED]: write(conns.get(UNSAMPLED)!, false),
};
const names = Object.keys(CASES);

// Warm every path (JIT, LevelDB files, connections, the exporter) before anything counts.
for (const name of names) await closedLoopOps(1, Math.min(WRITES, 500), CASES[name]!);

type Measured = { p50: number; p99: number; h: Histogram; seconds: number; cpuUs: number };
const rounds: Array<Map<string, Measured>> = [];
for (let round = 0; round < ROUNDS; round++) {
  const results = new Map<string, Measured>();
  // Each server's CPU over the whole round: its own writes, and what it does while the others are
  // measured (the traced one exports its last batch then), which costs every server alike otherwise.
  const cpu0 = new Map(names.map((name) => [name, cpuSeconds(pids.get(name)!)]));
  for (const name of names.map((_, k) => names[(k + round) % names.length]!)) {
    const r = await closedLoopOps(1, WRITES, CASES[name]!);
    results.set(name, { p50: r.h.getValueAtPercentile(50), p99: r.h.getValueAtPercentile(99), h: r.h, seconds: r.seconds, cpuUs: 0 });
  }
  for (const name of names) results.get(name)!.cpuUs = ((cpuSeconds(pids.get(name)!) - cpu0.get(name)!) * 1e6) / WRITES;
  rounds.push(results);
  process.stderr.write(`  round ${round + 1}/${ROUNDS} done\n`);
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const round3 = (x: number) => Math.round(x * 1000) / 1000;

describeSystem('engram', ENGRAM_DURABILITY);
for (const name of names) {
  const p50s = rounds.map((r) => r.get(name)!.p50);
  const p99s = rounds.map((r) => r.get(name)!.p99);
  const mid = rounds.map((r) => r.get(name)!).sort((a, b) => a.p99 - b.p99)[Math.floor(rounds.length / 2)]!;
  emit(
    summarize('tracing-write', `HTTP write, ${name}`, mid.h, mid.seconds, {
      rounds: rounds.length,
      p50MedianUs: median(p50s),
      p50MinUs: Math.min(...p50s),
      p50MaxUs: Math.max(...p50s),
      p99MedianUs: median(p99s),
      p99MinUs: Math.min(...p99s),
      p99MaxUs: Math.max(...p99s),
    }),
  );
}
for (const [label, num] of [
  ['on (sampled, exported)', ON],
  ['on (not sampled)', UNSAMPLED],
] as const) {
  // A toy run's CPU rounds to whole 10 ms ticks, often 0: only measuring runs report it.
  for (const q of TINY ? (['p50', 'p99'] as const) : (['p50', 'p99', 'cpuUs'] as const)) {
    const values = rounds.map((r) => r.get(num)![q] / r.get(OFF)![q]);
    const what = q === 'cpuUs' ? 'server CPU per write' : `HTTP write ${q}`;
    emit(
      quantity('tracing', `${what}, tracing ${label} ÷ off`, round3(median(values)), '×', undefined, {
        min: round3(Math.min(...values)),
        max: round3(Math.max(...values)),
        rounds: values.length,
      }),
    );
  }
}
if (!TINY) {
  for (const name of names) {
    const all = rounds.map((r) => r.get(name)!.cpuUs);
    emit(
      quantity('tracing', `server CPU per write, ${name}`, Math.round(median(all)), 'µs', undefined, {
        min: Math.round(Math.min(...all)),
        max: Math.round(Math.max(...all)),
        rounds: all.length,
      }),
    );
  }
}

for (const c of conns.values()) c.close();
// The traced server sends what it holds as it stops; then the receiver has every span.
await Promise.all([off.stop(), on.stop(), unsampled.stop()]);
const received = Number(await (await fetch(`http://127.0.0.1:${sink.port}/count`)).text());
const sampledWrites = (Math.min(WRITES, 500) + ROUNDS * WRITES) as number;
emit(quantity('tracing', 'spans received from the sampled server (one per write)', received, 'spans', undefined, { writes: sampledWrites }));
await sink.stop();
