/**
 * A context window under a token budget (POST /contexts/{id}/window): one context of 10,000
 * units of varied length (about 20 to 200 tokens), a 32,000-token budget, warm (every unit's
 * tokens counted before). Beside it, the cost of naively reading the last N units
 * (GET /workunits/{id}?limit=N&reverse=true, N = as many as the window held), the read a client
 * would make without the window and then still have to count; and the window with a query
 * (pinned + relevant by the hybrid search + recent), and its first call after a restart (token
 * counts read back from their side records, the head's chunk counted again). The floors, in the
 * same run, in alternating rounds: the same N units read from the speed-of-light server (uWS +
 * classic-level, bench/sol-server.ts), the least any server on this stack does to send them, and
 * GET /healthz on the same connection; the window's ratios to the first are taken per round.
 */
import { rmSync } from 'node:fs';
import { ENGRAM_DURABILITY, benchDataDir, searchCaughtUp, startEngram } from './lib/engram-server.js';
import { closedLoopOps, connect } from './lib/load.js';
import { get, postJson } from './lib/raw-http.js';
import { startSol } from './lib/sol.js';
import { describeSystem, duration, emit, histogram, median, size, summarize, type Histogram } from './lib/stats.js';
import { openWriters } from './lib/writers.js';

const UNITS = size(10_000, 50);
const BUDGET = 32_000;
const CONTEXT = 'window-run';
const ROUNDS = size(5, 1, 2);
const KINDS = ['window', 'naive', 'sol', 'floor'] as const;
type Kind = (typeof KINDS)[number];
const filler = 'the agent checked the build output and compared it with the previous run before deciding what to retry ';
const text = (i: number) => `step ${i}: ${filler.repeat(1 + (i % 10))}`.slice(0, 60 + (i % 10) * 90);

const dataDir = benchDataDir();
const EXTRA = (process.env.WINDOW_BENCH_ARGS ?? '').split(' ').filter((a) => a !== '');
let server = await startEngram(EXTRA, dataDir);
const sol = await startSol();
describeSystem('engram', ENGRAM_DURABILITY);
try {
  const writers = await openWriters('engram-http', 8, { httpPort: server.port });
  await closedLoopOps(8, Math.ceil(UNITS / 8), (lane, i) => writers.write(lane, CONTEXT, i, text(lane * Math.ceil(UNITS / 8) + i)));
  await writers.close();
  await searchCaughtUp(server.port);

  const [conn] = await connect(server.port, 1);
  const [solConn] = await connect(sol.port, 1);
  // The timed calls check the status only: parsing a 200 KB answer would time the load generator, not the server.
  const window = (body: string) => async () => {
    const r = await conn!.request(postJson(`/contexts/${CONTEXT}/window`, body));
    if (r.status !== 200) throw new Error(`window: ${r.status} ${r.body.toString().slice(0, 200)}`);
    return r.body;
  };
  const plain = window(JSON.stringify({ budget: BUDGET }));
  const first = JSON.parse((await plain()).toString()) as { units: unknown[]; tokens: number; counted: number };
  const held = first.units.length;
  const query = window(JSON.stringify({ budget: BUDGET, query: 'which build output made the agent retry' }));
  // The same units in the speed-of-light server (uWS + classic-level, bench/sol-server.ts): its
  // read of the newest N is the least any server on this stack can do to send them.
  for (let after = 0; ;) {
    const page = JSON.parse((await conn!.request(get(`/workunits/${CONTEXT}?after=${after}&limit=1000`))).body.toString()) as { workUnits: unknown[]; nextCursor: number | null };
    for (const u of page.workUnits) await solConn!.request(postJson('/workunit', JSON.stringify(u)));
    if (page.nextCursor === null) break;
    after = page.nextCursor;
  }
  const reads = Math.min(held, 1000);
  const ops: Record<Kind, () => Promise<void>> = {
    window: () => plain().then(() => undefined),
    naive: async () => {
      const r = await conn!.request(get(`/workunits/${CONTEXT}?limit=${reads}&reverse=true`));
      if (r.status !== 200) throw new Error(`read: ${r.status}`);
    },
    sol: async () => {
      const r = await solConn!.request(get(`/read?context=${CONTEXT}&limit=${reads}`));
      if (r.status !== 200) throw new Error(`sol read: ${r.status}`);
    },
    floor: async () => {
      const r = await conn!.request(get('/healthz'));
      if (r.status !== 200) throw new Error(`healthz: ${r.status}`);
    },
  };
  for (const k of KINDS) await closedLoopOps(1, size(200, 5), ops[k]);
  // Alternating rounds, each kind in turn (the order rotating), so that a busy moment of the
  // machine falls on all of them; ratios are taken within a round.
  const total = Object.fromEntries(KINDS.map((k) => [k, { h: histogram(), seconds: 0 }])) as Record<Kind, { h: Histogram; seconds: number }>;
  const ratios: Array<{ p50: number; p99: number; naiveP99: number }> = [];
  for (let round = 0; round < ROUNDS; round++) {
    const got = {} as Record<Kind, Histogram>;
    for (let i = 0; i < KINDS.length; i++) {
      const k = KINDS[(i + round) % KINDS.length]!;
      const m = await closedLoopOps(1, size(1000, 10), ops[k], duration(2));
      total[k].h.add(m.h);
      total[k].seconds += m.seconds;
      got[k] = m.h;
    }
    const p = (k: Kind, q: number) => got[k].getValueAtPercentile(q);
    ratios.push({ p50: p('window', 50) / p('sol', 50), p99: p('window', 99) / p('sol', 99), naiveP99: p('naive', 99) / p('sol', 99) });
  }
  const spread = (f: (r: (typeof ratios)[number]) => number) => {
    const v = ratios.map(f);
    return `${median(v).toFixed(2)} (${Math.min(...v).toFixed(2)}–${Math.max(...v).toFixed(2)})`;
  };
  const sum = (k: Kind, name: string, compare: string, extra: Record<string, number | string> = {}) =>
    emit(summarize('window', name, total[k].h, total[k].seconds, extra, compare));
  sum('window', `32k-token window of a ${UNITS}-unit context, warm`, 'window/plain', {
    units: held,
    tokens: first.tokens,
    countedFirst: first.counted,
    rounds: ROUNDS,
    p50OverSol: spread((r) => r.p50),
    p99OverSol: spread((r) => r.p99),
  });
  sum('naive', `naive read of the last ${reads} units (no counting)`, 'window/naive', { units: reads, p99OverSol: spread((r) => r.naiveP99) });
  sum('sol', `speed of light: the same ${reads} units read from uWS + classic-level (bench/sol-server.ts)`, 'window/sol', { units: reads });
  sum('floor', 'floor: GET /healthz', 'window/floor');
  await closedLoopOps(1, size(100, 5), () => query().then(() => undefined));
  const withQuery = await closedLoopOps(1, size(2000, 20), () => query().then(() => undefined), duration(5));
  emit(summarize('window', '32k-token window with a query (hybrid search for relevant units)', withQuery.h, withQuery.seconds, {}, 'window/query'));
  conn!.close();
  solConn!.close();

  // After a restart: the first window reads the stored counts back.
  await server.stop();
  server = await startEngram(EXTRA, dataDir);
  await searchCaughtUp(server.port);
  const [again] = await connect(server.port, 1);
  let counted = 0;
  const cold = await closedLoopOps(1, 1, async () => {
    const r = await again!.request(postJson(`/contexts/${CONTEXT}/window`, JSON.stringify({ budget: BUDGET })));
    if (r.status !== 200) throw new Error(`window: ${r.status}`);
    counted = (JSON.parse(r.body.toString()) as { counted: number }).counted;
  });
  emit(summarize('window', 'first window after a restart (counts read back; the head chunk counted again)', cold.h, cold.seconds, { counted }, 'window/cold'));
  again!.close();
} finally {
  await server.stop();
  await sol.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
