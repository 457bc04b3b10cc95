/**
 * Single writes over gRPC (CreateWorkUnit) and WebSocket (publish, waiting for each ack),
 * sequential and with 16 concurrent clients, and bulk ingest throughput over one gRPC
 * CreateWorkUnits stream and one pipelined WebSocket, beside the HTTP numbers of
 * write-http.bench.ts. Clients: grpc-js with the project's static codecs; ws.
 */
import { credentials, makeGenericClientConstructor, type Client, type ClientDuplexStream, type ServiceError } from '@grpc/grpc-js';
import WebSocket from 'ws';
import { engram } from '../src/generated/engram.js';
import { ENGRAM_SERVICE } from '../src/transport/grpc/service.js';
import { startEngram } from './lib/engram-server.js';
import { emit, histogram, nowUs, QUICK, summarize } from './lib/stats.js';

import pb = engram.v3;

const scale = QUICK ? 0.1 : 1;
const Ctor = makeGenericClientConstructor(ENGRAM_SERVICE, 'EngramService');
const text = (i: number) => `unit ${i}: the planner asked the coder to retry with exponential backoff and jitter`;
const request = (contextId: string, i: number): pb.ICreateWorkUnitRequest => ({
  contextId,
  agentId: 'agent-1',
  type: pb.WorkUnitType.WORK_UNIT_TYPE_MESSAGE,
  meta: { model: 'bench' },
  payload: { json: JSON.stringify({ text: text(i) }) },
});

type Unary = (req: object, cb: (err: ServiceError | null, res?: unknown) => void) => void;

function grpcClient(port: number): Client & { createWorkUnit: Unary; createWorkUnits: () => ClientDuplexStream<object, pb.WorkUnitAck> } {
  // Each client its own connection, as separate producers would have.
  return new Ctor(`127.0.0.1:${port}`, credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 }) as never;
}

const createOnce = (c: ReturnType<typeof grpcClient>, req: object) =>
  new Promise<void>((resolve, reject) => c.createWorkUnit(req, (err) => (err ? reject(err) : resolve())));

async function grpcClosedLoop(clients: ReturnType<typeof grpcClient>[], perClient: number, context: string) {
  const h = histogram();
  const t0 = nowUs();
  await Promise.all(
    clients.map(async (c, ci) => {
      for (let i = 0; i < perClient; i++) {
        const start = nowUs();
        await createOnce(c, request(`${context}-${ci}`, i));
        h.recordValue(Math.max(1, nowUs() - start));
      }
    }),
  );
  return { h, seconds: (nowUs() - t0) / 1e6 };
}

async function grpcBulk(c: ReturnType<typeof grpcClient>, count: number, context: string): Promise<number> {
  const call = c.createWorkUnits();
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
    if (!call.write(request(context, i))) await new Promise((r) => call.once('drain', r));
  }
  call.end();
  await done;
  return count / ((nowUs() - t0) / 1e6);
}

function wsOpen(port: number): Promise<WebSocket> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/stream`);
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

/** Publishes `count` units on one WebSocket, keeping up to `window` unacked; returns latencies. */
async function wsPublish(ws: WebSocket, count: number, window: number, context: string) {
  const h = histogram();
  const sent = new Map<number, number>();
  let next = 0;
  let acked = 0;
  const t0 = nowUs();
  await new Promise<void>((resolve, reject) => {
    const send = () => {
      while (next < count && next - acked < window) {
        sent.set(next, nowUs());
        ws.send(JSON.stringify({ op: 'publish', ref: next, contextId: context, agentId: 'agent-1', type: 'MESSAGE', meta: { model: 'bench' }, payload: { text: text(next) } }));
        next++;
      }
    };
    const onMessage = (data: Buffer) => {
      const f = JSON.parse(data.toString()) as { event: string; ref?: number; error?: { message: string } };
      if (f.event === 'error') return reject(new Error(f.error?.message));
      if (f.event !== 'ack' || f.ref === undefined) return;
      h.recordValue(Math.max(1, nowUs() - sent.get(f.ref)!));
      sent.delete(f.ref);
      if (++acked === count) {
        ws.off('message', onMessage);
        resolve();
      } else send();
    };
    ws.on('message', onMessage);
    send();
  });
  return { h, seconds: (nowUs() - t0) / 1e6 };
}

const server = await startEngram();
try {
  const one = grpcClient(server.grpcPort);
  await grpcClosedLoop([one], Math.round(3000 * scale), 'warm');
  const seq = await grpcClosedLoop([one], Math.round(20_000 * scale), 'sequential');
  emit(summarize('write-grpc', 'sequential, 1 client', seq.h, seq.seconds));

  const many = Array.from({ length: 16 }, () => grpcClient(server.grpcPort));
  const conc = await grpcClosedLoop(many, Math.round(2000 * scale), 'concurrent');
  emit(summarize('write-grpc', '16 concurrent clients, closed loop', conc.h, conc.seconds));
  many.forEach((c) => c.close());

  await grpcBulk(one, Math.round(10_000 * scale), 'bulk-warm');
  const bulkCount = Math.round(100_000 * scale);
  const rate = await grpcBulk(one, bulkCount, 'bulk');
  emit({ ...summarize('write-grpc', `bulk ingest, 1 stream, ${bulkCount} units`, histogram(), bulkCount / rate), throughput: Math.round(rate) });
  one.close();

  const ws = await wsOpen(server.port);
  await wsPublish(ws, Math.round(3000 * scale), 1, 'ws-warm');
  const wsSeq = await wsPublish(ws, Math.round(20_000 * scale), 1, 'ws-sequential');
  emit(summarize('write-ws', 'publish, sequential, 1 connection', wsSeq.h, wsSeq.seconds));
  const wsBulkCount = Math.round(100_000 * scale);
  const wsBulk = await wsPublish(ws, wsBulkCount, 256, 'ws-bulk');
  emit(summarize('write-ws', `publish pipelined (256 in flight), ${wsBulkCount} units`, wsBulk.h, wsBulk.seconds));
  ws.close();
} finally {
  await server.stop();
}
