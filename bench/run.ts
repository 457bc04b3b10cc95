/**
 * Runs every benchmark scenario, each in its own process, and prints one table.
 * Results go to bench/results/latest.json (with the machine and the date) for docs/benchmarks.md.
 *   node dist/bench/run.js [--quick] [scenario-name-filter]
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { machine, type Result } from './lib/stats.js';

const quick = process.argv.includes('--quick');
const filter = process.argv.slice(2).find((a) => !a.startsWith('--'));

/** Scenario files and their arguments, in run order. */
const SCENARIOS: Array<[string, string[]]> = [
  ['write-http.bench.js', []],
  ['write-http.bench.js', ['--sync']],
  ['write-grpc.bench.js', []],
  ['read-last100.bench.js', []],
  ['locks.bench.js', []],
  ['search.bench.js', []],
  ['fanout.bench.js', []],
];

function runScenario(file: string, args: string[]): Promise<Result[]> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, [resolve(import.meta.dirname, file), ...args, ...(quick ? ['--quick'] : [])], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const results: Result[] = [];
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      let nl: number;
      while ((nl = out.indexOf('\n')) !== -1) {
        const line = out.slice(0, nl);
        out = out.slice(nl + 1);
        if (line.startsWith('RESULT ')) {
          const r = JSON.parse(line.slice(7)) as Result;
          results.push(r);
          printRow(r);
        } else if (line.trim()) process.stdout.write(`  ${line}\n`);
      }
    });
    child.on('exit', (code) => (code === 0 ? resolveRun(results) : reject(new Error(`${file} ${args.join(' ')} exited with ${code}`))));
  });
}

const ms = (us: number) => (us / 1000).toFixed(3).padStart(8);

function printRow(r: Result): void {
  const extra = r.extra === undefined ? '' : `  ${Object.entries(r.extra).map(([k, v]) => `${k}=${v}`).join(' ')}`;
  process.stdout.write(
    `${r.scenario.padEnd(18)} ${r.name.padEnd(40)} ${String(r.count).padStart(8)} ${String(r.throughput).padStart(8)}/s` +
      `  p50 ${ms(r.p50)}  p90 ${ms(r.p90)}  p99 ${ms(r.p99)}  p99.9 ${ms(r.p999)}  max ${ms(r.max)} ms${extra}\n`,
  );
}

const info = machine();
process.stdout.write(`engram benchmarks ${quick ? '(quick)' : ''} on ${info.cpu}, ${info.cores} cores, ${info.memGiB} GiB, node ${info.node}\n`);
const all: Result[] = [];
for (const [file, args] of SCENARIOS) {
  if (filter && !file.includes(filter)) continue;
  all.push(...(await runScenario(file, args)));
}
const dir = resolve(import.meta.dirname, '../../bench/results');
mkdirSync(dir, { recursive: true });
writeFileSync(resolve(dir, quick ? 'latest-quick.json' : 'latest.json'), JSON.stringify({ date: new Date().toISOString(), machine: info, quick, results: all }, null, 2) + '\n');
