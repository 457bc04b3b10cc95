/**
 * Single work-unit writes, one system per process (`--system engram-http | engram-ws |
 * engram-grpc | redis | nats`, and `--sync` for Engram with storage.sync): one client
 * sequentially, 16 concurrent clients in a closed loop (peak throughput), then open loop at
 * rising fixed rates until the first one the system cannot sustain. Engram over HTTP also
 * measures the harness floor (`GET /healthz`, a route that does nothing).
 */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { ENGRAM_DURABILITY, ENGRAM_DURABILITY_SYNC, searchCaughtUp, startEngram } from './lib/engram-server.js';
import { closedLoopOps, connect, openLoop, openLoopOps, RATE_LADDER, sustained } from './lib/load.js';
import { startPeer } from './lib/peers.js';
import { get } from './lib/raw-http.js';
import { announceProcess, describeSystem, duration, emit, option, QUICK, size, summarize, TINY } from './lib/stats.js';
import { openWriters, writeOp, type Endpoints, type WriteSystem } from './lib/writers.js';

const system = (option('system') ?? 'engram-http') as WriteSystem;
const sync = process.argv.includes('--sync');
const transport = { 'engram-http': 'HTTP', 'engram-ws': 'WebSocket publish', 'engram-grpc': 'gRPC', redis: 'XADD', nats: 'JetStream publish' }[system];
const scenario = system.startsWith('engram') ? `write-${system.slice(7)}${sync ? '-sync' : ''}` : `write-${system}`;
// Compare keys pair this system's results with the same measurement on the others;
// the storage.sync run is Engram's own before/after, not a comparison.
const key = (k: string) => (sync ? undefined : `write/${k}`);

let endpoints: Endpoints;
let stop: () => Promise<void>;
/** Between phases: let the system finish work a phase left behind (Engram's search indexing). */
let settle = async () => undefined as void;
if (system === 'redis' || system === 'nats') {
  const peer = await startPeer(system);
  describeSystem(system, peer.durability);
  endpoints = system === 'redis' ? { redisPort: peer.port } : { natsPort: peer.port };
  stop = () => peer.stop();
} else {
  const server = await startEngram(sync ? ['--storage-sync'] : []);
  describeSystem('engram', sync ? ENGRAM_DURABILITY_SYNC : ENGRAM_DURABILITY);
  endpoints = { httpPort: server.port, grpcPort: server.grpcPort };
  stop = () => server.stop();
  settle = () => searchCaughtUp(server.port);
}
const extra = { transport };

try {
  const one = await openWriters(system, 1, endpoints);
  for (const c of ['warm', 'sequential', 'concurrent', 'open']) await one.prepare(c);
  // Warm-up: JIT, storage, connection.
  await closedLoopOps(1, size(3000), writeOp(one, 'warm'), 3);
  await settle();
  const seq = await closedLoopOps(1, size(20_000), writeOp(one, 'sequential'), duration(4));
  emit(summarize(scenario, `${transport}, sequential, 1 client`, seq.h, seq.seconds, extra, key('seq')));
  await one.close();

  await settle();
  const many = await openWriters(system, 16, endpoints);
  const conc = await closedLoopOps(16, size(4000), writeOp(many, 'concurrent'), duration(4));
  emit(summarize(scenario, `${transport}, 16 concurrent clients, closed loop`, conc.h, conc.seconds, extra, key('16')));

  // Open loop, rising rates: a rate counts as sustained when every write went out on
  // time and the p99 stayed within 20 ms; the ladder stops after the first that is not.
  const seconds = duration(3);
  for (const rate of sync || QUICK ? [1000] : RATE_LADDER) {
    await settle();
    const r = await openLoopOps(16, rate, seconds, writeOp(many, 'open'));
    const ok = sustained(r, rate, seconds);
    emit(summarize(scenario, `${transport}, open loop ${rate}/s, 16 clients`, r.h, r.seconds, { ...extra, targetRate: rate, sustained: ok }, key(`open/${rate}`)));
    if (!ok) break;
  }
  await many.close();

  if (system === 'engram-http' && !sync) {
    // The harness's own floor: a route that does nothing, at the same rates, same machine.
    describeSystem('floor');
    await settle();
    const conns = await connect(endpoints.httpPort!, 16);
    for (const rate of QUICK ? [1000] : [1000, 5000]) {
      const r = await openLoop(conns, rate, seconds, () => get('/healthz'), 200);
      emit(summarize('floor', `GET /healthz, open loop ${rate}/s`, r.h, r.seconds, { targetRate: rate }));
    }
    conns.forEach((c) => c.close());
  }
  if (system === 'engram-grpc' && !(QUICK && !TINY)) {
    // The gRPC floor (context for the analysis, left out of the smoke run): the same client against a bare grpc-js server that stores nothing.
    describeSystem('floor', 'none (no storage)');
    const floor = await startBareGrpc();
    try {
      const c = await openWriters('engram-grpc', 1, { grpcPort: floor.port });
      await closedLoopOps(1, size(3000), writeOp(c, 'warm'), 3);
      const r = await closedLoopOps(1, size(20_000), writeOp(c, 'floor'), duration(5));
      emit(summarize('floor', 'bare grpc-js CreateWorkUnit (stores nothing), sequential, 1 client', r.h, r.seconds, { transport: 'gRPC' }));
      await c.close();
    } finally {
      await floor.stop();
    }
  }
} finally {
  await stop();
}

/** bench/bare-grpc-server.ts in its own process. */
async function startBareGrpc(): Promise<{ port: number; stop(): Promise<void> }> {
  const proc = spawn(process.execPath, [resolve(import.meta.dirname, 'bare-grpc-server.js')], { stdio: ['ignore', 'pipe', 'inherit'] });
  announceProcess(proc.pid!, 'bare-grpc-server');
  const kill = () => proc.kill('SIGKILL');
  process.once('exit', kill);
  const port = await new Promise<number>((r) => proc.stdout.once('data', (d: Buffer) => r(Number(d.toString().trim()))));
  return { port, stop: () => new Promise<void>((r) => (proc.once('exit', () => (process.removeListener('exit', kill), r())), proc.kill('SIGTERM'))) };
}
