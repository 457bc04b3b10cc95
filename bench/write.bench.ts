/**
 * Single work-unit writes, one system per process (`--system engram-http | engram-ws |
 * engram-grpc | redis | nats`, and `--sync` for Engram with storage.sync): one client
 * sequentially, 16 concurrent clients in a closed loop (peak throughput), then open loop at
 * rising fixed rates until the first one the system cannot sustain. Engram over HTTP also
 * measures the harness floor (`GET /healthz`, a route that does nothing).
 */
import { ENGRAM_DURABILITY, ENGRAM_DURABILITY_SYNC, startEngram } from './lib/engram-server.js';
import { closedLoopOps, connect, openLoop, openLoopOps, RATE_LADDER, sustained } from './lib/load.js';
import { startPeer } from './lib/peers.js';
import { get } from './lib/raw-http.js';
import { describeSystem, duration, emit, option, QUICK, size, summarize } from './lib/stats.js';
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
}
const extra = { transport };

try {
  const one = await openWriters(system, 1, endpoints);
  for (const c of ['warm', 'sequential', 'concurrent', 'open']) await one.prepare(c);
  // Warm-up: JIT, storage, connection.
  await closedLoopOps(1, size(3000), writeOp(one, 'warm'), 3);
  const seq = await closedLoopOps(1, size(20_000), writeOp(one, 'sequential'), duration(5));
  emit(summarize(scenario, `${transport}, sequential, 1 client`, seq.h, seq.seconds, extra, key('seq')));
  await one.close();

  const many = await openWriters(system, 16, endpoints);
  const conc = await closedLoopOps(16, size(4000), writeOp(many, 'concurrent'), duration(5));
  emit(summarize(scenario, `${transport}, 16 concurrent clients, closed loop`, conc.h, conc.seconds, extra, key('16')));

  // Open loop, rising rates: a rate counts as sustained when every write went out on
  // time and the p99 stayed within 20 ms; the ladder stops after the first that is not.
  const seconds = duration(3);
  for (const rate of sync || QUICK ? [1000] : RATE_LADDER) {
    const r = await openLoopOps(16, rate, seconds, writeOp(many, 'open'));
    const ok = sustained(r, rate, seconds);
    emit(summarize(scenario, `${transport}, open loop ${rate}/s, 16 clients`, r.h, r.seconds, { ...extra, targetRate: rate, sustained: ok }, key(`open/${rate}`)));
    if (!ok) break;
  }
  await many.close();

  if (system === 'engram-http' && !sync) {
    // The harness's own floor: a route that does nothing, at the same rates, same machine.
    describeSystem('floor');
    const conns = await connect(endpoints.httpPort!, 16);
    for (const rate of QUICK ? [1000] : [1000, 5000]) {
      const r = await openLoop(conns, rate, seconds, () => get('/healthz'), 200);
      emit(summarize('floor', `GET /healthz, open loop ${rate}/s`, r.h, r.seconds, { targetRate: rate }));
    }
    conns.forEach((c) => c.close());
  }
} finally {
  await stop();
}
