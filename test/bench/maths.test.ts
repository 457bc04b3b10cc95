/** The harness's own maths: percentiles, open-loop timing, targets, ratios and the report. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { openLoopOps, sustained } from '../../bench/lib/load.js';
import { histogram, percentiles, type Result } from '../../bench/lib/stats.js';
import { LATEST, memoryTable, ratio, renderReport, type RunRecord } from '../../bench/report.js';
import { evaluate, TARGETS } from '../../bench/targets.js';

/** Within HdrHistogram's 3 significant digits. */
function near(actual: number, expected: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= expected * 0.001 + 1, `${what}: ${actual}, expected ${expected}`);
}

describe('percentiles', () => {
  test('of 1..1000 µs, each once, are the values at those ranks', () => {
    const h = histogram();
    for (let v = 1; v <= 1000; v++) h.recordValue(v);
    const p = percentiles(h, 2);
    assert.equal(p.count, 1000);
    assert.equal(p.throughput, 500);
    assert.equal(p.p50, 500);
    assert.equal(p.p90, 900);
    assert.equal(p.p99, 990);
    assert.equal(p.p999, 999);
    assert.equal(p.max, 1000);
  });

  test('a 1% tail of 10 ms under 100 µs shows at p99.9 and max, not at p99', () => {
    const h = histogram();
    for (let i = 0; i < 9900; i++) h.recordValue(100);
    for (let i = 0; i < 100; i++) h.recordValue(10_000);
    const p = percentiles(h, 1);
    assert.equal(p.p50, 100);
    assert.equal(p.p99, 100);
    near(p.p999, 10_000, 'p99.9');
    near(p.max, 10_000, 'max');
  });

  test('large values keep three significant digits', () => {
    const h = histogram();
    h.recordValue(123_456_789 / 10);
    near(percentiles(h, 1).max, 12_345_679, 'max');
  });
});

describe('open loop', () => {
  test('latency counts from the intended send time, so a stall shows in the operations queued behind it', async () => {
    // 1 lane at 1000/s for 50 ms: operation 0 stalls 40 ms; operations 1..39 were due during
    // the stall and can only start after it. Measured from their intended times, each of them
    // waited at least until the stall ended; measured from their actual sends, they would be ~0.
    // The stall's 40 ms count from when operation 0 starts, so a late start of the run (a busy
    // machine) only makes the queued operations wait longer, never shorter.
    const stall = () => new Promise<void>((r) => setTimeout(r, 40));
    const r = await openLoopOps(1, 1000, 0.05, (_, i) => (i === 0 ? stall() : Promise.resolve()));
    assert.equal(r.done, 50);
    assert.equal(r.h.totalCount, 50);
    // At least half the operations waited ≥ 10 ms: those due in the first 30 ms of the stall.
    assert.ok(r.h.getValueAtPercentile(50) >= 10_000, `median ${r.h.getValueAtPercentile(50)} µs`);
    assert.ok(r.behind >= 30, `behind ${r.behind}`);
  });

  test('a backlog beyond the allowed seconds stops the run and marks it overloaded', async () => {
    // Every operation takes 20 ms on 1 lane at 1000/s: the queue outgrows 0.01 s of sends at once.
    const slow = () => new Promise<void>((r) => setTimeout(r, 20));
    const r = await openLoopOps(1, 1000, 2, slow, { maxBacklogSeconds: 0.01 });
    assert.equal(r.overloaded, true);
    assert.ok(r.done < 2000);
    assert.equal(sustained(r, 1000, 2), false);
  });
});

const result = (over: Partial<Result>): Result => ({
  scenario: 'write-http',
  name: 'x',
  system: 'engram',
  count: 1000,
  throughput: 1000,
  p50: 100,
  p90: 200,
  p99: 500,
  p999: 900,
  max: 1000,
  unit: 'us',
  ...over,
});

/** One passing result for every target. */
function passingResults(): Result[] {
  return [
    result({ scenario: 'write-http', compare: 'write/seq' }),
    result({ scenario: 'write-ws', compare: 'write/seq' }),
    result({ scenario: 'write-grpc', compare: 'write/seq' }),
    ...[
      ['ws', 1, 1000],
      ['ws', 100, 500],
      ['sse', 100, 500],
      ['ws', 1000, 50],
      ['ws', 1000, 100],
    ].map(([kind, subscribers, rate]) => result({ scenario: 'fanout', p99: 4000, extra: { kind: kind!, subscribers: subscribers!, rate: rate!, missing: 0 } })),
    result({ scenario: 'last100', compare: 'last100/warm' }),
    result({ scenario: 'last100', compare: 'last100/cold' }),
    result({ scenario: 'window', compare: 'window/plain', p99: 4000 }),
    result({ scenario: 'search', name: 'hybrid, 100k units', p99: 9000 }),
    result({ scenario: 'search-freshness', name: 'commit to searchable, 200 writes/s', p99: 50_000 }),
  ];
}

describe('targets', () => {
  test('every target finds its result; within the limit is PASS', () => {
    const outcomes = evaluate(passingResults());
    assert.equal(outcomes.length, TARGETS.length);
    for (const o of outcomes) assert.equal(o.verdict, 'PASS', o.target.id);
  });

  test('over the limit is FAIL, a missing result NOT RUN, units that never arrived FAIL', () => {
    const results = passingResults();
    results[0]!.p99 = 1001; // HTTP write over 1 ms
    results.splice(2, 1); // no gRPC write
    const fanout100 = results.find((r) => r.extra?.subscribers === 100 && r.extra.kind === 'ws')!;
    fanout100.extra!.missing = 3;
    const verdicts = Object.fromEntries(evaluate(results).map((o) => [o.target.id, o.verdict]));
    assert.equal(verdicts['write-http'], 'FAIL');
    assert.equal(verdicts['write-grpc'], 'NOT RUN');
    assert.equal(verdicts['fanout-100'], 'FAIL');
    assert.equal(verdicts['write-ws'], 'PASS');
    // Peers' numbers never satisfy Engram's targets.
    const peerOnly = passingResults().map((r) => ({ ...r, system: 'redis' as const }));
    assert.ok(evaluate(peerOnly).every((o) => o.verdict === 'NOT RUN'));
  });
});

function run(results: Result[], peers: RunRecord['peers'] = { redis: { version: 'Redis server v=7', durability: 'AOF' }, nats: { version: null, durability: 'file' } }): RunRecord {
  return {
    date: '2026-12-01T00:00:00.000Z',
    mode: 'full',
    machine: { cpu: 'test cpu', cores: 2, memGiB: 24, node: 'v20', platform: 'linux-x64', kernel: '6', commit: 'abc', dirty: false },
    seconds: 1,
    settings: {},
    peers,
    scenarios: [],
    results,
    leftovers: [],
  };
}

describe('report', () => {
  test('ratios are engram over peer: p99 for latencies, throughput for 16 clients, the value for bulk', () => {
    assert.equal(ratio(result({ compare: 'write/seq', p99: 250 }), result({ system: 'redis', compare: 'write/seq', p99: 500 })), 0.5);
    assert.equal(ratio(result({ compare: 'write/16', throughput: 30_000 }), result({ system: 'redis', compare: 'write/16', throughput: 10_000 })), 3);
    const bulk = (value: number, system: Result['system']) => result({ system, compare: 'bulk', extra: { value, valueUnit: 'units/s' } });
    assert.equal(ratio(bulk(20_000, 'engram'), bulk(40_000, 'nats')), 0.5);
  });

  test('shows each target with its verdict, the peers side by side, and says when a peer was not installed', () => {
    const results = passingResults();
    results[0]!.p99 = 2000;
    results.push(result({ scenario: 'write-redis', system: 'redis', compare: 'write/seq', p99: 400, durability: 'AOF everysec' }));
    const md = renderReport(run(results, { redis: { version: 'Redis server v=7', durability: 'AOF everysec' }, nats: { version: null, durability: 'file' } }));
    assert.match(md, /\| single write, HTTP, 1 client: p99 ≤ 1 ms \| p99 2\.00 ms \(p50 0\.100 ms\) \| \*\*FAIL\*\* \|/);
    assert.match(md, /\| single write, WebSocket publish, 1 client: p99 ≤ 1 ms \| p99 0\.500 ms .*\*\*PASS\*\*/);
    assert.match(md, /write\/seq — x \| p50 0\.100 ms \/ p99 2\.00 ms \| p50 0\.100 ms \/ p99 0\.400 ms \| 5\.00 \(lower is better\)/);
    assert.match(md, /NATS JetStream: \*\*not installed on this machine, not measured\*\*/);
    // Each system's durability is stated once, beside its version.
    assert.equal(md.match(/durability: AOF everysec/g)?.length, 1);
    assert.match(md, /- Redis Streams: Redis server v=7; durability: AOF everysec\./);
  });

  test('docs/benchmarks.md is the report of bench/results/latest.json, never edited by hand', () => {
    const latest = JSON.parse(readFileSync(LATEST, 'utf8')) as RunRecord;
    const doc = readFileSync(resolve(import.meta.dirname, '../../../docs/benchmarks.md'), 'utf8');
    assert.equal(doc, renderReport(latest), 'regenerate with `node dist/bench/report.js`');
  });

  test('bench-check exits 0 when every target is met and 1 when one is missed', () => {
    const dir = mkdtempSync(join(tmpdir(), 'engram-check-'));
    try {
      const check = (results: Result[]) => {
        const file = join(dir, 'run.json');
        writeFileSync(file, JSON.stringify(run(results)));
        return spawnSync(process.execPath, [resolve(import.meta.dirname, '../../bench/check.js'), file], { encoding: 'utf8' });
      };
      const ok = check(passingResults());
      assert.equal(ok.status, 0, ok.stdout);
      assert.match(ok.stdout, /every target met/);
      const slow = passingResults();
      slow.find((r) => r.compare === 'last100/cold')!.p99 = 2500;
      const missed = check(slow);
      assert.equal(missed.status, 1);
      assert.match(missed.stdout, /FAIL +last 100 units of a context, cold .*: p99 2\.50 ms/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('memory: 1 versus 4 client processes', () => {
  const mem = (kind: string, processes: number, p50: number, p99: number) => result({ scenario: 'memory', p50, p99, extra: { kind, processes, rate: 400 } });

  test('the ratio beyond the floor decides "within 10%"', () => {
    // Memory 1.2× slower with 4 processes, but the floor alone is 1.2× slower too: sharing costs nothing.
    const lines = memoryTable([mem('memory', 1, 500, 2000), mem('memory', 4, 600, 2400), mem('floor', 1, 200, 800), mem('floor', 4, 240, 960)]);
    assert.match(lines.join('\n'), /\| 1\.20 \| 1\.20 \|/);
    assert.match(lines.join('\n'), /beyond the floor \(memory ratio ÷ floor ratio\): p50 1\.00, p99 1\.00; within 10%: p50 yes, p99 yes/);
    // Memory 1.5× slower while the floor is 1.1×: a real cost of sharing.
    const worse = memoryTable([mem('memory', 1, 500, 2000), mem('memory', 4, 750, 3000), mem('floor', 1, 200, 800), mem('floor', 4, 220, 880)]).join('\n');
    assert.match(worse, /p50 1\.36, p99 1\.36; within 10%: p50 no, p99 no/);
  });

  test('not measured: says so', () => {
    assert.deepEqual(memoryTable([]), ['Not measured in this run.']);
  });
});
