/** Latency histograms (HdrHistogram, microseconds) and the one JSON line a scenario prints per result. */
import * as hdr from 'hdr-histogram-js';
import { cpus, totalmem } from 'node:os';

export type Histogram = hdr.Histogram;

export function histogram(): Histogram {
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: 3 });
}

export interface Result {
  scenario: string;
  name: string;
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
  extra?: Record<string, number | string>;
}

export function summarize(scenario: string, name: string, h: Histogram, seconds: number, extra?: Result['extra']): Result {
  const r: Result = {
    scenario,
    name,
    count: h.totalCount,
    throughput: Math.round(h.totalCount / seconds),
    p50: h.getValueAtPercentile(50),
    p90: h.getValueAtPercentile(90),
    p99: h.getValueAtPercentile(99),
    p999: h.getValueAtPercentile(99.9),
    max: h.maxValue,
    unit: 'us',
  };
  if (extra) r.extra = extra;
  return r;
}

/** Scenario files print results as `RESULT {json}` lines; the runner collects them. */
export function emit(r: Result): void {
  process.stdout.write(`RESULT ${JSON.stringify(r)}\n`);
}

export function machine(): Record<string, string | number> {
  const c = cpus();
  return { cpu: c[0]?.model ?? 'unknown', cores: c.length, memGiB: Math.round(totalmem() / 2 ** 30), node: process.version, platform: `${process.platform}-${process.arch}` };
}

export function nowUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

/** Command-line switches shared by every scenario. */
export const QUICK = process.argv.includes('--quick');
