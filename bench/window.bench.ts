/**
 * A context window under a token budget (POST /contexts/{id}/window): one context of 10,000
 * units of varied length (about 20 to 200 tokens), a 32,000-token budget, warm (every unit's
 * tokens counted before). Beside it, the cost of naively reading the last N units
 * (GET /workunits/{id}?limit=N&reverse=true, N = as many as the window held), the read a client
 * would make without the window and then still have to count; and the window with a query
 * (pinned + relevant by the hybrid search + recent), and its first call after a restart (token
 * counts read back from their side records, the head's chunk counted again). The transport's
 * floor (GET /healthz) is measured on the same connection in the same run.
 */
import { rmSync } from 'node:fs';
import { ENGRAM_DURABILITY, benchDataDir, searchCaughtUp, startEngram } from './lib/engram-server.js';
import { closedLoopOps, connect } from './lib/load.js';
import { get, postJson } from './lib/raw-http.js';
import { describeSystem, duration, emit, size, summarize } from './lib/stats.js';
import { openWriters } from './lib/writers.js';

const UNITS = size(10_000, 50);
const BUDGET = 32_000;
const CONTEXT = 'window-run';
const filler = 'the agent checked the build output and compared it with the previous run before deciding what to retry ';
const text = (i: number) => `step ${i}: ${filler.repeat(1 + (i % 10))}`.slice(0, 60 + (i % 10) * 90);

const dataDir = benchDataDir();
const EXTRA = (process.env.WINDOW_BENCH_ARGS ?? '').split(' ').filter((a) => a !== '');
let server = await startEngram(EXTRA, dataDir);
describeSystem('engram', ENGRAM_DURABILITY);
try {
  const writers = await openWriters('engram-http', 8, { httpPort: server.port });
  await closedLoopOps(8, Math.ceil(UNITS / 8), (lane, i) => writers.write(lane, CONTEXT, i, text(lane * Math.ceil(UNITS / 8) + i)));
  await writers.close();
  await searchCaughtUp(server.port);

  const [conn] = await connect(server.port, 1);
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
  await closedLoopOps(1, size(300, 5), () => plain().then(() => undefined));
  const warm = await closedLoopOps(1, size(3000, 20), () => plain().then(() => undefined), duration(5));
  emit(
    summarize(
      'window',
      `32k-token window of a ${UNITS}-unit context, warm`,
      warm.h,
      warm.seconds,
      { units: held, tokens: first.tokens, countedFirst: first.counted },
      'window/plain',
    ),
  );
  const naive = await closedLoopOps(
    1,
    size(3000, 20),
    async () => {
      const r = await conn!.request(get(`/workunits/${CONTEXT}?limit=${Math.min(held, 1000)}&reverse=true`));
      if (r.status !== 200) throw new Error(`read: ${r.status}`);
    },
    duration(5),
  );
  emit(summarize('window', `naive read of the last ${Math.min(held, 1000)} units (no counting)`, naive.h, naive.seconds, { units: Math.min(held, 1000) }, 'window/naive'));
  // The transport's floor on this machine, in the same run: GET /healthz on the same connection.
  const floor = await closedLoopOps(
    1,
    size(3000, 20),
    async () => {
      const r = await conn!.request(get('/healthz'));
      if (r.status !== 200) throw new Error(`healthz: ${r.status}`);
    },
    duration(3),
  );
  emit(summarize('window', 'floor: GET /healthz', floor.h, floor.seconds, {}, 'window/floor'));
  await closedLoopOps(1, size(100, 5), () => query().then(() => undefined));
  const withQuery = await closedLoopOps(1, size(2000, 20), () => query().then(() => undefined), duration(5));
  emit(summarize('window', '32k-token window with a query (hybrid search for relevant units)', withQuery.h, withQuery.seconds, {}, 'window/query'));
  conn!.close();

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
  rmSync(dataDir, { recursive: true, force: true });
}
