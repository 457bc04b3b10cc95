/**
 * The benchmark harness: runs every scenario, each in its own process (and process
 * group), collects their results, checks that nothing they started outlives them, and
 * writes the run to bench/results/run-<date>-<commit>.json. A full run also becomes
 * latest.json and docs/benchmarks.md; a quick run, latest-quick.json.
 *
 *   node dist/bench/run.js [--quick | --tiny [--jobs N]] [--only <substring> [--merge]] [--out <dir>]
 *
 * `--jobs N` (toy runs only, for the test suite) runs N scenarios at a time: they measure
 * nothing then, and each has its own servers, ports and data dirs. Measuring runs stay one at a
 * time, so no scenario shares the machine with another.
 *
 * `--only X --merge` (full mode) re-runs the scenarios whose label contains X and puts their
 * results in place of theirs in latest.json, regenerating docs/benchmarks.md; the report says
 * which scenarios were re-run, when and at which commit.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { peerVersion, PEERS, type PeerName } from './lib/peers.js';
import { machine, option, QUICK, TINY, type Result } from './lib/stats.js';
import { LATEST, targetsTable, writeDoc, type RunRecord } from './report.js';

const mode: RunRecord['mode'] = TINY ? 'tiny' : QUICK ? 'quick' : 'full';
const only = option('only');
const outDir = resolve(option('out') ?? resolve(import.meta.dirname, '../../bench/results'));

/**
 * Scenario files and their arguments, in run order; `peer` names the peer server a run
 * needs; `fullOnly` ones (floors and variants, context for the analysis rather than targets
 * or peer ratios) are left out of quick runs to keep them under a minute; `sameInTiny`
 * variants also out of the test suite's toy run; `timeoutS` overrides the full run's limit.
 */
const SCENARIOS: Array<{ file: string; args: string[]; peer?: PeerName; fullOnly?: true; timeoutS?: number; sameInTiny?: true }> = [
  ...['engram-http', 'engram-ws', 'engram-grpc'].map((s) => ({ file: 'write.bench.js', args: ['--system', s] })),
  { file: 'write.bench.js', args: ['--system', 'engram-http', '--sync'] },
  { file: 'write.bench.js', args: ['--system', 'redis'], peer: 'redis' },
  { file: 'write.bench.js', args: ['--system', 'nats'], peer: 'nats' },
  { file: 'grpc.bench.js', args: [] },
  { file: 'bulk.bench.js', args: ['--system', 'engram-grpc'] },
  { file: 'bulk.bench.js', args: ['--system', 'engram-ws'], fullOnly: true },
  { file: 'bulk.bench.js', args: ['--system', 'redis'], peer: 'redis' },
  { file: 'bulk.bench.js', args: ['--system', 'nats'], peer: 'nats' },
  { file: 'last100.bench.js', args: ['--system', 'engram'] },
  { file: 'last100.bench.js', args: ['--system', 'redis'], peer: 'redis' },
  { file: 'last100.bench.js', args: ['--system', 'nats'], peer: 'nats' },
  { file: 'fanout.bench.js', args: ['--system', 'engram'] },
  { file: 'fanout.bench.js', args: ['--system', 'redis'], peer: 'redis' },
  { file: 'fanout.bench.js', args: ['--system', 'nats'], peer: 'nats' },
  { file: 'fanout.bench.js', args: ['--system', 'floor'], fullOnly: true },
  // Five rounds of every case against three systems: longer than the others.
  { file: 'ratios.bench.js', args: [], peer: 'redis', timeoutS: 600 },
  { file: 'ratios.bench.js', args: ['--pin'], peer: 'redis', fullOnly: true, timeoutS: 600, sameInTiny: true },
  // Tracing off and on, in alternating rounds of one run (three servers at once).
  { file: 'tracing.bench.js', args: [] },
  { file: 'locks.bench.js', args: [] },
  { file: 'clients.bench.js', args: [] },
  { file: 'memory.bench.js', args: [] },
  { file: 'rebuild.bench.js', args: [] },
  { file: 'langgraph.bench.js', args: [] },
  { file: 'scaleout.bench.js', args: [] },
  { file: 'search.bench.js', args: [] },
  { file: 'window.bench.js', args: [] },
  { file: 'search.bench.js', args: ['--vector-index', 'hnsw'], fullOnly: true, sameInTiny: true },
  { file: 'resources.bench.js', args: ['--system', 'engram'] },
  { file: 'resources.bench.js', args: ['--system', 'engram', '--search-off'], fullOnly: true },
  { file: 'resources.bench.js', args: ['--system', 'redis'], peer: 'redis' },
  { file: 'resources.bench.js', args: ['--system', 'nats'], peer: 'nats' },
];

/** A scenario that runs past this is stopped (with everything it started) and reported as failed. */
const SCENARIO_TIMEOUT_S = mode === 'full' ? 240 : 90;

const ms = (us: number) => (us / 1000).toFixed(3).padStart(8);

function printRow(r: Result): void {
  const value = r.extra?.valueUnit ? `  = ${r.extra.value} ${r.extra.valueUnit}` : '';
  process.stdout.write(
    `  ${r.system.padEnd(6)} ${r.scenario.padEnd(16)} ${r.name.padEnd(58)} ${String(r.count).padStart(7)} ${String(r.throughput).padStart(7)}/s` +
      `  p50 ${ms(r.p50)}  p99 ${ms(r.p99)}  max ${ms(r.max)} ms${value}\n`,
  );
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const running = new Set<ReturnType<typeof spawn>>();
// Interrupted: take the running scenarios' whole process groups down with us.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    for (const child of running) {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    process.exit(130);
  });
}

interface ScenarioRun {
  results: Result[];
  started: Array<{ pid: number; what: string }>;
  error?: string;
}

function runScenario(file: string, args: string[], timeoutS = SCENARIO_TIMEOUT_S): Promise<ScenarioRun> {
  return new Promise((resolveRun) => {
    const flags = TINY ? ['--tiny'] : QUICK ? ['--quick'] : [];
    // Its own process group, so a scenario that hangs is stopped with everything it started.
    const child = spawn(process.execPath, [resolve(import.meta.dirname, file), ...args, ...flags], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    running.add(child);
    const run: ScenarioRun = { results: [], started: [] };
    let out = '';
    let err = '';
    const timer = setTimeout(() => {
      run.error = `timed out after ${timeoutS} s`;
      process.kill(-child.pid!, 'SIGKILL');
    }, timeoutS * 1000);
    child.stderr.on('data', (d: Buffer) => {
      err = (err + d.toString()).slice(-4000);
      process.stderr.write(d);
    });
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      let nl: number;
      while ((nl = out.indexOf('\n')) !== -1) {
        const line = out.slice(0, nl);
        out = out.slice(nl + 1);
        if (line.startsWith('RESULT ')) {
          const r = JSON.parse(line.slice(7)) as Result;
          run.results.push(r);
          printRow(r);
        } else if (line.startsWith('PROCESS ')) {
          run.started.push(JSON.parse(line.slice(8)) as { pid: number; what: string });
        } else if (line.trim()) process.stdout.write(`  ${line}\n`);
      }
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      running.delete(child);
      if (code !== 0 && !run.error) run.error = `exited with ${code ?? signal}: ${err.trim().split('\n').slice(-3).join(' / ')}`;
      resolveRun(run);
    });
  });
}

const started = Date.now();
const info = machine();
process.stdout.write(`engram benchmarks (${mode}) on ${info.cpu}, ${info.cores} cores, ${info.memGiB} GiB, node ${info.node}, commit ${info.commit}${info.dirty ? '+' : ''}\n`);
const peers: RunRecord['peers'] = {};
for (const name of Object.keys(PEERS) as PeerName[]) {
  const version = peerVersion(name);
  peers[name] = { version, durability: PEERS[name].durability };
  process.stdout.write(version ? `peer ${name}: ${version}\n` : `peer ${name}: ${PEERS[name].command} is not installed; its scenarios are skipped and the report says so\n`);
}

const record: RunRecord = {
  date: new Date().toISOString(),
  mode,
  machine: info,
  seconds: 0,
  settings: { storageSync: false, search: 'on (default)', scenarioTimeoutSeconds: SCENARIO_TIMEOUT_S, ...(only ? { only } : {}) },
  peers,
  scenarios: [],
  results: [],
  leftovers: [],
};

const JOBS = TINY ? Math.max(1, Number(option('jobs') ?? 1)) : 1;
const chosen = SCENARIOS.filter((s) => {
  const label = `${s.file} ${s.args.join(' ')}`.trim();
  if (only && !label.includes(only)) return false;
  if (s.peer && !peers[s.peer]!.version) return false;
  // The smoke run keeps to the defaults and the compared cases; the toy run (tests) runs everything.
  if (mode === 'quick' && (s.fullOnly || s.args.includes('--sync'))) return false;
  // A variant whose toy run exercises no code the default run does not (the test suite's time is dear).
  if (mode === 'tiny' && s.sameInTiny) return false;
  return true;
});
/** Each scenario's outcome, kept in SCENARIOS order whatever order they finish in. */
const outcomes: Array<{ results: Result[]; scenario: RunRecord['scenarios'][number] }> = [];
let next = 0;
async function worker(): Promise<void> {
  while (next < chosen.length) {
    const index = next++;
    const s = chosen[index]!;
    const label = `${s.file} ${s.args.join(' ')}`.trim();
    process.stdout.write(`${label}\n`);
    const t0 = Date.now();
    const run = await runScenario(s.file, s.args, mode === 'full' ? s.timeoutS : undefined);
    const leftovers: Array<{ pid: number; what: string }> = [];
    // Nothing a scenario started may outlive it: anything still running is recorded and ended by PID.
    for (const p of run.started) {
      if (!alive(p.pid)) continue;
      leftovers.push(p);
      process.stdout.write(`  left behind: ${p.what} (pid ${p.pid}); killing it\n`);
      process.kill(p.pid, 'SIGKILL');
    }
    record.leftovers.push(...leftovers);
    outcomes[index] = {
      results: run.results.map((r) => ({ ...r, source: label })),
      scenario: {
        file: s.file,
        args: s.args,
        seconds: Math.round((Date.now() - t0) / 100) / 10,
        ok: !run.error,
        processes: run.started,
        ...(run.error ? { error: run.error } : {}),
      },
    };
    if (run.error) process.stdout.write(`  FAILED (${label}): ${run.error}\n`);
  }
}
await Promise.all(Array.from({ length: JOBS }, () => worker()));
for (const o of outcomes) {
  record.results.push(...o.results);
  record.scenarios.push(o.scenario);
}
record.seconds = Math.round((Date.now() - started) / 1000);

mkdirSync(outDir, { recursive: true });
const stamp = record.date.replace(/[:.]/g, '-').slice(0, 19);
const runFile = resolve(outDir, `run-${stamp}-${info.commit}${mode === 'full' ? '' : `-${mode}`}.json`);
const json = JSON.stringify(record, null, 2) + '\n';
writeFileSync(runFile, json);
if (!only && mode === 'full' && option('out') === undefined) {
  writeFileSync(LATEST, json);
  writeDoc(record);
} else if (only && mode === 'full' && process.argv.includes('--merge') && existsSync(LATEST)) {
  // The re-run scenarios' results replace theirs in the latest full run, which keeps the rest.
  const latest = JSON.parse(readFileSync(LATEST, 'utf8')) as RunRecord;
  const rerun = new Set(record.scenarios.map((s) => `${s.file} ${s.args.join(' ')}`.trim()));
  // Results from before runs were tagged with their source are matched by scenario and system.
  const legacy = new Set(record.results.map((r) => `${r.scenario}/${r.system}`));
  latest.results = [...latest.results.filter((r) => (r.source === undefined ? !legacy.has(`${r.scenario}/${r.system}`) : !rerun.has(r.source))), ...record.results];
  latest.scenarios = [...latest.scenarios.filter((s) => !rerun.has(`${s.file} ${s.args.join(' ')}`.trim())), ...record.scenarios];
  latest.merged = [
    ...(latest.merged ?? []).filter((x) => !rerun.has(x.source)),
    ...[...rerun].map((source) => ({ source, date: record.date, commit: info.commit, dirty: info.dirty })),
  ];
  writeFileSync(LATEST, JSON.stringify(latest, null, 2) + '\n');
  writeDoc(latest);
} else if (!only && mode === 'quick' && option('out') === undefined) {
  writeFileSync(resolve(outDir, 'latest-quick.json'), json);
}
process.stdout.write(`\n${targetsTable(record).join('\n')}\n\nwrote ${runFile} (${record.seconds} s)\n`);
process.exitCode = record.scenarios.some((s) => !s.ok) || record.leftovers.length > 0 ? 1 : 0;
