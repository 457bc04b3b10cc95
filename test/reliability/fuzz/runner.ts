/**
 * The fuzzer's driver: a bounded pool of workers takes inputs by index; input i's interface and
 * content come from its own generator, seeded with (seed, i), so any one input replays alone
 * (ENGRAM_FUZZ_SEED, ENGRAM_FUZZ_ONLY=i) whatever ran beside it. Tallies per interface.
 */
import { seeded } from '../../helpers/seeded.js';
import type { FuzzTarget, Outcome, Rng } from './common.js';
import { rawHttp, typedHttp } from './http.js';
import { mcpInput } from './mcp.js';
import { rawH2, typedGrpc } from './grpc.js';
import { sseInput } from './sse.js';
import { wsInput } from './ws.js';

export const INTERFACES: Array<{ name: string; weight: number; run: (r: Rng, t: FuzzTarget, i: number) => Promise<Outcome> }> = [
  { name: 'http', weight: 30, run: typedHttp },
  { name: 'http-raw', weight: 15, run: rawHttp },
  { name: 'ws', weight: 15, run: wsInput },
  { name: 'sse', weight: 8, run: sseInput },
  { name: 'grpc', weight: 15, run: typedGrpc },
  { name: 'h2-raw', weight: 7, run: rawH2 },
  { name: 'mcp', weight: 10, run: mcpInput },
];
// ENGRAM_FUZZ_WEIGHTS=ws=1,sse=1 runs only those interfaces, in those proportions.
const chosen = process.env.ENGRAM_FUZZ_WEIGHTS;
if (chosen) {
  const w = new Map(chosen.split(',').map((kv) => [kv.split('=')[0]!, Number(kv.split('=')[1] ?? 1)]));
  for (const x of INTERFACES) x.weight = w.get(x.name) ?? 0;
}
const TOTAL_WEIGHT = INTERFACES.reduce((s, x) => s + x.weight, 0);

export interface Tally {
  inputs: number;
  answers: Map<string, number>;
  acked: number;
  /** Keys acknowledged as new more than once (one unit, two acks). */
  duplicates: string[];
  timeouts: number;
  failures: string[];
  /** Time the inputs took, summed (ms). */
  ms: number;
}

export function newTallies(): Map<string, Tally> {
  return new Map(INTERFACES.map((x) => [x.name, { inputs: 0, answers: new Map(), acked: 0, duplicates: [], timeouts: 0, failures: [], ms: 0 }]));
}

/** The generator of input i: the interface pick, then the input itself, from one stream. */
export function inputOf(seed: number, i: number): { iface: (typeof INTERFACES)[number]; r: Rng } {
  const r = seeded((Math.imul(seed, 0x9e3779b1) ^ Math.imul(i + 1, 0x85ebca6b)) >>> 0);
  let w = r.next() * TOTAL_WEIGHT;
  for (const iface of INTERFACES) {
    w -= iface.weight;
    if (w < 0) return { iface, r };
  }
  return { iface: INTERFACES[0]!, r };
}

/**
 * Runs inputs [0, count) (or only `only`) with `concurrency` workers; `stop()` true ends it early
 * (the server died). Returns when every started input has its outcome.
 */
export async function runInputs(
  target: FuzzTarget,
  o: { seed: number; count: number; concurrency: number; only?: number; tallies: Map<string, Tally>; ackedKeys: Map<string, number>; stop: () => boolean },
): Promise<void> {
  let next = o.only ?? 0;
  const end = o.only === undefined ? o.count : o.only + 1;
  const worker = async () => {
    while (next < end && !o.stop()) {
      const i = next++;
      const { iface, r } = inputOf(o.seed, i);
      const tally = o.tallies.get(iface.name)!;
      let out: Outcome;
      const began = performance.now();
      try {
        out = await iface.run(r, target, i);
      } catch (err) {
        out = { answer: 'client-error', failure: `input ${i} (${iface.name}) threw in the fuzzer: ${(err as Error).stack ?? String(err)}` };
      }
      tally.inputs++;
      tally.ms += performance.now() - began;
      tally.answers.set(out.answer, (tally.answers.get(out.answer) ?? 0) + 1);
      for (const key of out.acked ?? []) {
        if (o.ackedKeys.has(key)) tally.duplicates.push(`input ${i}: ${key} (first acked by input ${o.ackedKeys.get(key)})`);
        else o.ackedKeys.set(key, i);
        tally.acked++;
      }
      if (out.timedOut) {
        tally.timeouts++;
        out.failure ??= `the safety timeout (replay: ENGRAM_FUZZ_ONLY=${i})`;
      }
      if (out.failure !== undefined && tally.failures.length < 20) tally.failures.push(`input ${i}: ${out.failure}`);
    }
  };
  await Promise.all(Array.from({ length: o.concurrency }, worker));
}

/** `{"201": 10, ...}`, most frequent first. */
export function answersOf(t: Tally): string {
  return [...t.answers.entries()]
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k}:${v}`)
    .join(' ');
}
