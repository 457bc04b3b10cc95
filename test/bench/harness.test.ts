/**
 * The whole harness at toy sizes: every scenario runs in its own process against real
 * servers (Engram, and Redis and NATS when installed), reports results that make sense,
 * and leaves no process behind. It checks the harness, not the speed: no number is judged.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { peerVersion } from '../../bench/lib/peers.js';
import { renderReport, type RunRecord } from '../../bench/report.js';
import { TARGETS } from '../../bench/targets.js';

const out = mkdtempSync(join(tmpdir(), 'engram-harness-'));
let run: RunRecord;
let exitCode: number | null;
let log = '';

before(
  async () => {
    const child = spawn(process.execPath, [resolve(import.meta.dirname, '../../bench/run.js'), '--tiny', '--jobs', '3', '--out', out], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (d: Buffer) => (log += d.toString()));
    child.stderr.on('data', (d: Buffer) => (log += d.toString()));
    exitCode = await new Promise((r) => child.on('exit', r));
    const file = readdirSync(out).find((f) => f.startsWith('run-') && f.endsWith('-tiny.json'));
    assert.ok(file, `no run file written:\n${log.slice(-3000)}`);
    run = JSON.parse(readFileSync(join(out, file), 'utf8')) as RunRecord;
  },
  { timeout: 600_000 },
); // every scenario, three at a time (they measure nothing here, and mostly wait), the scale-out one's NATS cluster and nodes included: 60 s idle, much more on a busy machine
after(() => rmSync(out, { recursive: true, force: true }));

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

test('every scenario ran to the end and the runner exited 0', () => {
  const failed = run.scenarios.filter((s) => !s.ok).map((s) => `${s.file} ${s.args.join(' ')}: ${s.error}`);
  assert.deepEqual(failed, [], log.slice(-3000));
  assert.equal(exitCode, 0);
  const files = new Set(run.scenarios.map((s) => s.file));
  for (const f of [
    'write.bench.js',
    'bulk.bench.js',
    'last100.bench.js',
    'fanout.bench.js',
    'locks.bench.js',
    'clients.bench.js',
    'memory.bench.js',
    'search.bench.js',
    'resources.bench.js',
    'ratios.bench.js',
    'grpc.bench.js',
  ])
    assert.ok(files.has(f), `${f} did not run`);
});

test('the run file says where and what was measured', () => {
  assert.equal(run.mode, 'tiny');
  assert.equal(run.machine.node, process.version);
  assert.match(run.machine.commit, /^[0-9a-f]{12}$|^unknown$/);
  assert.ok(run.machine.cores >= 1);
  assert.equal(run.settings.storageSync, false);
  for (const name of ['redis', 'nats']) {
    assert.equal(run.peers[name]!.version, peerVersion(name as 'redis' | 'nats'), `${name} version`);
    assert.ok(run.peers[name]!.durability.length > 0);
  }
});

test('each system measured every case, with sane percentiles and its durability stated', () => {
  const systems = ['engram', ...(['redis', 'nats'] as const).filter((p) => peerVersion(p) !== null)];
  for (const system of systems) {
    const mine = run.results.filter((r) => r.system === system);
    for (const key of [
      'write/seq',
      'write/16',
      'write/open/1000',
      'bulk',
      'last100/warm',
      'last100/cold',
      'fanout/1/1000',
      'fanout/100/500',
      'fanout/1000/50',
      'cpu-per-1k-writes',
      'rss-per-1k-idle',
    ]) {
      assert.ok(
        mine.some((r) => r.compare === key),
        `${system} has no ${key} result`,
      );
    }
    for (const r of mine) {
      assert.ok(r.durability, `${system} ${r.name}: no durability`);
      // A peer that is installed but cannot run a scenario (the LangGraph Redis saver needs modules Debian's Redis lacks) says why instead.
      if (r.extra?.unavailable !== undefined) continue;
      // Resource costs of a toy run can round to 0 (CPU is counted in 10 ms ticks); rates cannot.
      // A recall count can honestly be 0 (keyword search finds no paraphrase).
      if (r.extra?.valueUnit)
        assert.ok(r.scenario === 'resources' || r.scenario === 'search-recall' ? Number(r.extra.value) >= 0 : Number(r.extra.value) > 0, `${r.name}: value ${r.extra.value}`);
      else {
        assert.ok(r.count > 0, `${r.name}: nothing measured`);
        // A percentile reads back as the top of its HdrHistogram bucket: up to 0.1% above the max.
        assert.ok(r.p50 <= r.p99 && r.p99 <= r.max * 1.001 + 1, `${r.name}: p50 ${r.p50} p99 ${r.p99} max ${r.max}`);
      }
    }
  }
  for (const absent of (['redis', 'nats'] as const).filter((p) => peerVersion(p) === null)) {
    assert.equal(run.results.filter((r) => r.system === absent).length, 0);
    assert.match(renderReport(run), new RegExp(`not installed on this machine, not measured`));
  }
});

test('every fanned-out unit reached every subscriber, on every system', () => {
  const fanouts = run.results.filter((r) => r.scenario.startsWith('fanout'));
  assert.ok(fanouts.length >= 5);
  for (const r of fanouts) assert.equal(r.extra?.missing, 0, `${r.system} ${r.name}`);
});

test('nothing the scenarios started is still running', () => {
  assert.deepEqual(run.leftovers, []);
  const started = run.scenarios.flatMap((s) => s.processes);
  assert.ok(started.some((p) => p.what === 'engram'));
  assert.ok(started.some((p) => p.what === 'fanout-subscriber'));
  for (const p of started) assert.equal(alive(p.pid), false, `${p.what} (pid ${p.pid}) outlived the run`);
});

test('the report has every target with a verdict', () => {
  const md = renderReport(run);
  assert.equal(md.match(/\*\*(PASS|FAIL|NOT RUN)\*\* \|$/gm)?.length, TARGETS.length);
  assert.doesNotMatch(md, /NOT RUN/);
});
