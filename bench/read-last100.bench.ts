/**
 * "The last 100 units of a context" (GET /workunits/{id}?limit=100&reverse=true):
 * warm (the context's tail is in memory) and cold (after a restart, from LevelDB).
 */
import { rmSync } from 'node:fs';
import { benchDataDir, startEngram } from './lib/engram-server.js';
import { closedLoop, connect } from './lib/load.js';
import { get, postJson } from './lib/raw-http.js';
import { emit, QUICK, summarize } from './lib/stats.js';

const CONTEXTS = QUICK ? 200 : 2000;
const PER_CONTEXT = 150;

const dataDir = benchDataDir();
const server = await startEngram([], dataDir);
const body = (c: number, i: number) =>
  JSON.stringify({ contextId: `ctx-${c}`, agentId: 'agent-1', type: 'MESSAGE', payload: { text: `unit ${i} of context ${c}, some ordinary agent chatter` } });

const conns = await connect(server.port, 16);
// Fill: every context gets PER_CONTEXT units.
await closedLoop(conns, (CONTEXTS * PER_CONTEXT) / 16, (ci, i) => {
  const n = ci * ((CONTEXTS * PER_CONTEXT) / 16) + i;
  return postJson('/workunit', body(n % CONTEXTS, n));
}, 201);
const last100 = (c: number) => get(`/workunits/ctx-${c}?limit=100&reverse=true`);
const [one] = await connect(server.port, 1);
await closedLoop([one!], 2000, (_, i) => last100(i % 10), 200); // warm-up
const warm = await closedLoop([one!], QUICK ? 2000 : 20_000, (_, i) => last100(i % 10), 200);
emit(summarize('read-last100', 'warm (memory tail), 1 client', warm.h, warm.seconds));
conns.forEach((c) => c.close());
one!.close();
// Cold: a restarted server has nothing in memory; each context is read once.
await server.stop();
const restarted = await startEngram([], dataDir);
const [coldConn] = await connect(restarted.port, 1);
await closedLoop([coldConn!], 1, () => get('/healthz'), 200);
const cold = await closedLoop([coldConn!], CONTEXTS, (_, i) => last100(i), 200);
emit(summarize('read-last100', 'cold (LevelDB, first read after restart)', cold.h, cold.seconds));
coldConn!.close();
await restarted.stop();
rmSync(dataDir, { recursive: true, force: true });
