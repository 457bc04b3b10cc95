/**
 * The product's latency promises, as checks on a benchmark run: which result each
 * target reads, which number, and the limit. `make bench-check` exits non-zero when a
 * target is missed (or was not measured); the report prints the same table.
 */
import type { Result } from './lib/stats.js';

export interface Target {
  id: string;
  /** What is promised, in words. */
  promise: string;
  /** The result the target reads. */
  select: (r: Result) => boolean;
  /** p99 latency (µs) at most `limit`. */
  limit: number;
}

const engram = (scenario: string, test: (r: Result) => boolean) => (r: Result) => r.system === 'engram' && r.scenario === scenario && test(r);
const fanout = (kind: string, subscribers: number, rate: number) =>
  engram('fanout', (r) => r.extra?.kind === kind && r.extra?.rate === rate && (r.extra?.subscribers === subscribers || r.extra?.subscribers === Math.min(subscribers, 10)));

export const TARGETS: Target[] = [
  { id: 'write-http', promise: 'single write, HTTP, 1 client: p99 ≤ 1 ms', select: engram('write-http', (r) => r.compare === 'write/seq'), limit: 1000 },
  { id: 'write-ws', promise: 'single write, WebSocket publish, 1 client: p99 ≤ 1 ms', select: engram('write-ws', (r) => r.compare === 'write/seq'), limit: 1000 },
  { id: 'write-grpc', promise: 'single write, gRPC, 1 client: p99 ≤ 1 ms', select: engram('write-grpc', (r) => r.compare === 'write/seq'), limit: 1000 },
  { id: 'fanout-1', promise: 'fan-out to 1 WebSocket subscriber at 1,000/s: p99 ≤ 5 ms', select: fanout('ws', 1, 1000), limit: 5000 },
  { id: 'fanout-100', promise: 'fan-out to 100 WebSocket subscribers at 500/s: p99 ≤ 5 ms', select: fanout('ws', 100, 500), limit: 5000 },
  { id: 'fanout-100-sse', promise: 'fan-out to 100 SSE subscribers at 500/s: p99 ≤ 5 ms', select: fanout('sse', 100, 500), limit: 5000 },
  { id: 'fanout-1000', promise: 'fan-out to 1,000 WebSocket subscribers at 50/s: p99 ≤ 5 ms', select: fanout('ws', 1000, 50), limit: 5000 },
  { id: 'fanout-1000-100', promise: 'fan-out to 1,000 WebSocket subscribers at 100/s: p99 ≤ 5 ms', select: fanout('ws', 1000, 100), limit: 5000 },
  { id: 'last100-warm', promise: 'last 100 units of a context, warm: p99 ≤ 2 ms', select: engram('last100', (r) => r.compare === 'last100/warm'), limit: 2000 },
  {
    id: 'last100-cold',
    promise: 'last 100 units of a context, cold (first read after a restart): p99 ≤ 2 ms',
    select: engram('last100', (r) => r.compare === 'last100/cold'),
    limit: 2000,
  },
  {
    id: 'window-32k',
    promise: 'a 32k-token context window of a 10k-unit context: p99 ≤ 5 ms',
    select: engram('window', (r) => r.compare === 'window/plain'),
    limit: 5000,
  },
  {
    id: 'search-hybrid',
    promise: 'hybrid search over 100k units: p99 ≤ 10 ms',
    select: engram('search', (r) => r.name.startsWith('hybrid,') && r.name.endsWith('units') && !r.name.includes('context') && !r.name.includes('filters')),
    limit: 10_000,
  },
  { id: 'search-fresh', promise: 'a write is searchable (200 writes/s): p99 ≤ 100 ms', select: engram('search-freshness', (r) => r.name.includes('200 writes/s')), limit: 100_000 },
];

export type Verdict = 'PASS' | 'FAIL' | 'NOT RUN';

export interface TargetOutcome {
  target: Target;
  result?: Result;
  measured?: number;
  verdict: Verdict;
  /** Why a target with a measured value still failed (e.g. units that never arrived). */
  note?: string;
}

export function evaluate(results: Result[]): TargetOutcome[] {
  return TARGETS.map((target) => {
    const result = results.find(target.select);
    if (!result) return { target, verdict: 'NOT RUN' };
    const missing = Number(result.extra?.missing ?? 0);
    if (missing > 0) return { target, result, measured: result.p99, verdict: 'FAIL', note: `${missing} units never reached every subscriber` };
    if (result.count === 0) return { target, result, verdict: 'FAIL', note: 'nothing measured' };
    return { target, result, measured: result.p99, verdict: result.p99 <= target.limit ? 'PASS' : 'FAIL' };
  });
}
