/**
 * Single work-unit writes over HTTP on loopback: sequential (one client), 16
 * concurrent clients (closed loop, peak throughput), and open loop at fixed rates.
 * Run with --sync to measure storage.sync=true.
 */
import { startEngram } from './lib/engram-server.js';
import { closedLoop, connect, openLoop } from './lib/load.js';
import { get, postJson } from './lib/raw-http.js';
import { emit, QUICK, summarize } from './lib/stats.js';

const sync = process.argv.includes('--sync');
const scenario = sync ? 'write-http-sync' : 'write-http';
const scale = QUICK ? 0.1 : 1;

function unitBody(context: string, i: number): string {
  return JSON.stringify({
    contextId: context,
    agentId: 'agent-1',
    type: 'MESSAGE',
    meta: { model: 'bench' },
    payload: { text: `unit ${i}: the planner asked the coder to retry with exponential backoff and jitter` },
  });
}

const server = await startEngram(sync ? ['--storage-sync'] : []);
try {
  const [one] = await connect(server.port, 1);
  // Warm-up: JIT, LevelDB memtable, connection.
  await closedLoop([one!], Math.round(3000 * scale), (_, i) => postJson('/workunit', unitBody('warm', i)), 201);

  const seq = await closedLoop([one!], Math.round(20_000 * scale), (_, i) => postJson('/workunit', unitBody('sequential', i)), 201);
  emit(summarize(scenario, 'sequential, 1 client', seq.h, seq.seconds));
  one!.close();

  if (!sync || !QUICK) {
    const conns = await connect(server.port, 16);
    const conc = await closedLoop(conns, Math.round(4000 * scale), (c, i) => postJson('/workunit', unitBody('concurrent', c * 1e6 + i)), 201);
    emit(summarize(scenario, '16 concurrent clients, closed loop', conc.h, conc.seconds));

    for (const rate of sync ? [1000] : [1000, 5000, 10_000, 20_000]) {
      const r = await openLoop(conns, rate, QUICK ? 1 : 5, (i) => postJson('/workunit', unitBody('open', i)), 201);
      emit(summarize(scenario, `open loop ${rate}/s, 16 connections`, r.h, r.seconds, { targetRate: rate }));
    }
    if (!sync) {
      // The harness's own floor: a route that does nothing, at the same rates, same machine.
      for (const rate of [1000, 5000]) {
        const r = await openLoop(conns, rate, QUICK ? 1 : 5, () => get('/healthz'), 200);
        emit(summarize('floor', `GET /healthz open loop ${rate}/s`, r.h, r.seconds, { targetRate: rate }));
      }
    }
    conns.forEach((c) => c.close());
  }
} finally {
  await server.stop();
}
