/**
 * The write cost of storage.sync: Engram over HTTP with sync off and on, side by side, repeated
 * (the order alternates between rounds, so a drift of the machine falls on both). Each round
 * starts a fresh server on the normal disk (the temp dir) per mode and measures one client
 * writing sequentially, then 16 concurrent clients in a closed loop. Prints one line per round
 * and mode, then the on/off ratios of each round with their median, min and max:
 *   node dist/bench/sync-cost.bench.js [--rounds 5] [--seconds 3]
 */
import { searchCaughtUp, startEngram } from './lib/engram-server.js';
import { closedLoopOps, type Operation } from './lib/load.js';
import { median, option, percentiles } from './lib/stats.js';
import { openWriters, writeOp } from './lib/writers.js';

const ROUNDS = Number(option('rounds') ?? 5);
const SECONDS = Number(option('seconds') ?? 3);

interface Measure {
  seqRate: number;
  seqP50: number;
  seqP99: number;
  concRate: number;
  concP50: number;
  concP99: number;
}

async function measure(sync: boolean): Promise<Measure> {
  const server = await startEngram(sync ? ['--storage-sync'] : []);
  try {
    const one = await openWriters('engram-http', 1, { httpPort: server.port });
    await closedLoopOps(1, 500, writeOp(one, 'warm'), 2);
    await searchCaughtUp(server.port);
    const seq = await closedLoopOps(1, 1e9, writeOp(one, 'sequential'), SECONDS);
    await one.close();
    await searchCaughtUp(server.port);
    const many = await openWriters('engram-http', 16, { httpPort: server.port });
    const op: Operation = writeOp(many, 'concurrent');
    const conc = await closedLoopOps(16, 1e9, op, SECONDS);
    await many.close();
    const s = percentiles(seq.h, seq.seconds);
    const c = percentiles(conc.h, conc.seconds);
    return { seqRate: s.throughput, seqP50: s.p50, seqP99: s.p99, concRate: c.throughput, concP50: c.p50, concP99: c.p99 };
  } finally {
    await server.stop();
  }
}

const line = (m: Measure) =>
  `sequential ${m.seqRate}/s (p50 ${(m.seqP50 / 1000).toFixed(2)} ms, p99 ${(m.seqP99 / 1000).toFixed(2)} ms); 16 clients ${m.concRate}/s (p50 ${(m.concP50 / 1000).toFixed(2)} ms, p99 ${(m.concP99 / 1000).toFixed(2)} ms)`;

const ratios = { seq: [] as number[], conc: [] as number[] };
for (let round = 0; round < ROUNDS; round++) {
  const order = round % 2 === 0 ? [false, true] : [true, false];
  const got = new Map<boolean, Measure>();
  for (const sync of order) {
    const m = await measure(sync);
    got.set(sync, m);
    process.stdout.write(`round ${round + 1} sync ${sync ? 'on ' : 'off'}: ${line(m)}\n`);
  }
  const on = got.get(true)!;
  const off = got.get(false)!;
  ratios.seq.push(off.seqRate / on.seqRate);
  ratios.conc.push(off.concRate / on.concRate);
}
const spread = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return `median ${median(s).toFixed(2)}×, min ${s[0]!.toFixed(2)}×, max ${s.at(-1)!.toFixed(2)}× (${s.map((x) => x.toFixed(2)).join(', ')})`;
};
process.stdout.write(`throughput off/on, sequential: ${spread(ratios.seq)}\n`);
process.stdout.write(`throughput off/on, 16 clients: ${spread(ratios.conc)}\n`);
