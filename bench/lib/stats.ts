/** Latency histograms (HdrHistogram, microseconds) and the one JSON line a scenario prints per result. */
import * as hdr from 'hdr-histogram-js';
import { execFileSync } from 'node:child_process';
import { cpus, release, totalmem } from 'node:os';

export type Histogram = hdr.Histogram;

/** Values from 1 µs to 120 s at 3 significant digits: a recorded value reads back within 0.1%. */
export function histogram(): Histogram {
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: 3 });
}

/** The systems a result can be about: Engram, a peer measured in the same run, or a floor. */
export type System = 'engram' | 'redis' | 'nats' | 'floor' | 'sqlite';

export interface Result {
  scenario: string;
  name: string;
  system: System;
  /** How durable an acknowledged write is on this system in this run. */
  durability?: string;
  /**
   * Results of different systems that measure the same thing share a key
   * (e.g. `write/seq`), which is how the report pairs Engram with its peers.
   */
  compare?: string;
  /** Operations measured (after warm-up). */
  count: number;
  /** Operations per second over the measured interval. */
  throughput: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  unit: 'us';
  extra?: Record<string, number | string | boolean>;
  /** The scenario run that produced it (`file args`), set by the runner. */
  source?: string;
}

export type Summary = Pick<Result, 'count' | 'throughput' | 'p50' | 'p90' | 'p99' | 'p999' | 'max'>;

/** The median of rounds' figures (the mean of the middle two for an even count). */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

/** Count, rate and percentiles of a histogram measured over `seconds`. */
export function percentiles(h: Histogram, seconds: number): Summary {
  return {
    count: h.totalCount,
    throughput: seconds > 0 ? Math.round(h.totalCount / seconds) : 0,
    p50: h.getValueAtPercentile(50),
    p90: h.getValueAtPercentile(90),
    p99: h.getValueAtPercentile(99),
    p999: h.getValueAtPercentile(99.9),
    max: h.maxValue,
  };
}

/** What every result of this process is about; set once by the scenario. */
const context: { system: System; durability?: string } = { system: 'engram' };

export function describeSystem(system: System, durability?: string): void {
  context.system = system;
  if (durability === undefined) delete context.durability;
  else context.durability = durability;
}

export function summarize(scenario: string, name: string, h: Histogram, seconds: number, extra?: Result['extra'], compare?: string): Result {
  const r: Result = { scenario, name, ...context, ...percentiles(h, seconds), unit: 'us' };
  if (compare) r.compare = compare;
  if (extra) r.extra = extra;
  return r;
}

/** A result that is a single measured quantity (a rate, a cost), not a latency distribution. */
export function quantity(scenario: string, name: string, value: number, unitName: string, compare?: string, extra?: Result['extra']): Result {
  const r: Result = { scenario, name, ...context, count: 1, throughput: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0, unit: 'us', extra: { ...extra, value, valueUnit: unitName } };
  if (compare) r.compare = compare;
  return r;
}

/** Scenario files print results as `RESULT {json}` lines; the runner collects them. */
export function emit(r: Result): void {
  process.stdout.write(`RESULT ${JSON.stringify(r)}\n`);
}

/** Every process a scenario starts is announced, so the runner (and its test) can check none outlives the run. */
export function announceProcess(pid: number, what: string): void {
  process.stdout.write(`PROCESS ${JSON.stringify({ pid, what })}\n`);
}

export interface MachineInfo {
  cpu: string;
  cores: number;
  memGiB: number;
  node: string;
  platform: string;
  kernel: string;
  commit: string;
  dirty: boolean;
}

export function machine(): MachineInfo {
  const c = cpus();
  const git = (args: string[]) => {
    try {
      return execFileSync('git', args, { cwd: import.meta.dirname, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      return '';
    }
  };
  return {
    cpu: c[0]?.model ?? 'unknown',
    cores: c.length,
    memGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    kernel: release(),
    commit: git(['rev-parse', '--short=12', 'HEAD']) || 'unknown',
    dirty: git(['status', '--porcelain', '--untracked-files=no']) !== '',
  };
}

export function nowUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

/**
 * Run sizes. `--quick` is the short smoke run of `make bench-quick`; `--tiny` is the
 * test suite's run of every scenario at toy sizes (it checks the harness, not the speed).
 */
export const TINY = process.argv.includes('--tiny');
export const QUICK = TINY || process.argv.includes('--quick');
/** Scales a full-run count down for quick and tiny runs, never below `min` (or `quick` in a quick run). */
export function size(full: number, min = 1, quick?: number): number {
  if (QUICK && !TINY && quick !== undefined) return quick;
  return Math.max(min, Math.round(full * (TINY ? 0.005 : QUICK ? 0.05 : 1)));
}
/** Seconds for a timed phase: full, quick, tiny. */
export function duration(full: number): number {
  return TINY ? 0.3 : QUICK ? Math.min(0.4, full / 8) : full;
}

/** Value of a `--name value` command-line option. */
export function option(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? undefined : process.argv[i + 1];
}
