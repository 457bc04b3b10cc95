/**
 * `make bench-check`: reads a run (bench/results/latest.json, the latest full `make bench`,
 * unless a file is given) and exits 1 when any target was missed or not measured.
 *
 *   node dist/bench/check.js [run.json]
 */
import { readFileSync } from 'node:fs';
import { LATEST, ms, type RunRecord } from './report.js';
import { evaluate } from './targets.js';

const file = process.argv[2] ?? LATEST;
const run = JSON.parse(readFileSync(file, 'utf8')) as RunRecord;
const outcomes = evaluate(run.results);
process.stdout.write(`targets of the ${run.mode} run of ${run.date} (commit ${run.machine.commit}):\n`);
for (const o of outcomes) {
  const measured = o.measured === undefined ? 'not measured' : `p99 ${ms(o.measured)}`;
  process.stdout.write(`  ${o.verdict.padEnd(7)} ${o.target.promise}: ${measured}${o.note ? ` (${o.note})` : ''}\n`);
}
const missed = outcomes.filter((o) => o.verdict !== 'PASS');
process.stdout.write(missed.length === 0 ? 'every target met\n' : `${missed.length} of ${outcomes.length} targets missed or not measured\n`);
process.exitCode = missed.length === 0 ? 0 : 1;
