/**
 * Bulk ingest throughput: one producer connection pushing units as fast as the system
 * takes them (`--system engram-grpc | engram-ws | redis | nats`). Engram over gRPC uses the
 * CreateWorkUnits stream (acks in order, flow control by HTTP/2); the others keep 256
 * writes in flight on one connection (WebSocket publishes with refs, pipelined XADDs,
 * JetStream publishes awaiting their acks). Engram runs with search on (the default); its index
 * may wait while the writes keep the server busy (search.yieldAbove), so the time from the last
 * ack until every unit is searchable is reported beside the rate.
 */
import type { ClientDuplexStream } from '@grpc/grpc-js';
import { engram } from '../src/generated/engram.js';
import { ENGRAM_DURABILITY, searchCaughtUp, startEngram } from './lib/engram-server.js';
import { closedLoopOps } from './lib/load.js';
import { startPeer } from './lib/peers.js';
import { describeSystem, emit, nowUs, option, quantity, size, summarize } from './lib/stats.js';
import { grpcClient, grpcRequest, openWriters, type Endpoints, type WriteSystem } from './lib/writers.js';

import pb = engram.v3;

const system = (option('system') ?? 'engram-grpc') as WriteSystem;
const IN_FLIGHT = 256;
const label = {
  'engram-grpc': 'gRPC CreateWorkUnits, 1 stream',
  'engram-ws': `WebSocket publish, ${IN_FLIGHT} in flight`,
  'engram-http': 'HTTP',
  redis: `XADD, ${IN_FLIGHT} in flight`,
  nats: `JetStream publish, ${IN_FLIGHT} in flight`,
}[system];

/** Units per second through one CreateWorkUnits stream, every ack checked. */
async function grpcBulk(port: number, count: number, context: string): Promise<number> {
  const client = grpcClient(port);
  const call = client.createWorkUnits() as ClientDuplexStream<object, pb.WorkUnitAck>;
  const t0 = nowUs();
  let acked = 0;
  const done = new Promise<void>((resolve, reject) => {
    call.on('data', (a: pb.WorkUnitAck) => {
      if (a.error) reject(new Error(a.error.message ?? 'refused'));
      if (++acked === count) resolve();
    });
    call.on('error', reject);
  });
  for (let i = 0; i < count; i++) {
    if (!call.write(grpcRequest(context, i))) await new Promise((r) => call.once('drain', r));
  }
  call.end();
  await done;
  const rate = count / ((nowUs() - t0) / 1e6);
  client.close();
  return rate;
}

/** After the last ack: how long until the search index has every unit. */
async function reportCatchUp(port: number, count: number): Promise<void> {
  const t0 = nowUs();
  await searchCaughtUp(port);
  const seconds = (nowUs() - t0) / 1e6;
  emit(quantity('bulk', `search index caught up after the ${label} bulk (${count} units)`, Math.round(seconds * 1000) / 1000, 's', undefined, { transport: label }));
}

let endpoints: Endpoints;
let stop: () => Promise<void>;
if (system === 'redis' || system === 'nats') {
  const peer = await startPeer(system);
  describeSystem(system, peer.durability);
  endpoints = system === 'redis' ? { redisPort: peer.port } : { natsPort: peer.port };
  stop = () => peer.stop();
} else {
  const server = await startEngram();
  describeSystem('engram', ENGRAM_DURABILITY);
  endpoints = { httpPort: server.port, grpcPort: server.grpcPort };
  stop = () => server.stop();
}

try {
  const count = size(100_000, 512);
  if (system === 'engram-grpc') {
    await grpcBulk(endpoints.grpcPort!, size(10_000, 256), 'bulk-warm');
    await searchCaughtUp(endpoints.httpPort!);
    const rate = await grpcBulk(endpoints.grpcPort!, count, 'bulk');
    emit(quantity('bulk', `${label}, ${count} units`, Math.round(rate), 'units/s', 'bulk', { transport: 'gRPC stream' }));
    await reportCatchUp(endpoints.httpPort!, count);
  } else {
    const w = await openWriters(system, 1, endpoints);
    await w.prepare('bulk-warm');
    await w.prepare('bulk');
    const perLane = Math.ceil(count / IN_FLIGHT);
    await closedLoopOps(IN_FLIGHT, Math.ceil(size(10_000, 256) / IN_FLIGHT), (_, i) => w.write(0, 'bulk-warm', i));
    if (system === 'engram-ws') await searchCaughtUp(endpoints.httpPort!);
    const r = await closedLoopOps(IN_FLIGHT, perLane, (_, i) => w.write(0, 'bulk', i));
    // The rate is the result; the latency percentiles (send to ack, 256 deep) come along.
    const s = summarize('bulk', `${label}, ${perLane * IN_FLIGHT} units`, r.h, r.seconds, { transport: label }, 'bulk');
    emit({ ...s, extra: { ...s.extra, value: s.throughput, valueUnit: 'units/s' } });
    await w.close();
    if (system === 'engram-ws') await reportCatchUp(endpoints.httpPort!, perLane * IN_FLIGHT);
  }
} finally {
  await stop();
}
