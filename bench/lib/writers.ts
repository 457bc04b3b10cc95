/**
 * One write of one work unit, on every system the harness compares: Engram over HTTP
 * (the raw keep-alive client), WebSocket publish (waiting for the ack) and gRPC
 * CreateWorkUnit; Redis XADD (ioredis); NATS JetStream publish with ack (nats.js). Each
 * lane is its own connection; the same ~330-byte JSON unit goes to every system.
 */
import { credentials, makeGenericClientConstructor, type Client, type ServiceError } from '@grpc/grpc-js';
import { jetstream, jetstreamManager, StorageType, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { connect as natsConnect, type NatsConnection } from '@nats-io/transport-node';
import { Redis } from 'ioredis';
import WebSocket from 'ws';
import { engram } from '../../src/generated/engram.js';
import { ENGRAM_SERVICE } from '../../src/wire/grpc-service.js';
import type { Operation } from './load.js';
import { connect } from './load.js';
import { postJson } from './raw-http.js';

import pb = engram.v3;

export type WriteSystem = 'engram-http' | 'engram-ws' | 'engram-grpc' | 'redis' | 'nats';

export const unitText = (i: number) => `unit ${i}: the planner asked the coder to retry with exponential backoff and jitter`;

/** The unit as Engram's HTTP and WebSocket APIs take it, and as the peers store it. */
export function unitJson(context: string, i: number, text = unitText(i)): string {
  return JSON.stringify({ contextId: context, agentId: 'agent-1', type: 'MESSAGE', meta: { model: 'bench' }, payload: { text } });
}

export interface Writers {
  /** Makes `context` ready to take writes (a NATS stream); call before writing into it. */
  prepare(context: string): Promise<void>;
  /** Writes unit `i` into `context` on lane `lane`. */
  write(lane: number, context: string, i: number, text?: string): Promise<void>;
  close(): Promise<void>;
}

/** Where each system's server listens. */
export interface Endpoints {
  httpPort?: number;
  grpcPort?: number;
  redisPort?: number;
  natsPort?: number;
}

const noPreparation = async () => undefined;

export async function openWriters(system: WriteSystem, lanes: number, at: Endpoints): Promise<Writers> {
  switch (system) {
    case 'engram-http': {
      const conns = await connect(at.httpPort!, lanes);
      return {
        prepare: noPreparation,
        write: async (lane, context, i, text) => {
          const r = await conns[lane]!.request(postJson('/workunit', unitJson(context, i, text)));
          if (r.status !== 201) throw new Error(`write: ${r.status} ${r.body.toString()}`);
        },
        close: async () => conns.forEach((c) => c.close()),
      };
    }
    case 'engram-ws': {
      const sockets = await Promise.all(Array.from({ length: lanes }, () => WsPublisher.open(at.httpPort!)));
      return { prepare: noPreparation, write: (lane, context, i, text) => sockets[lane]!.publish(context, i, text), close: async () => sockets.forEach((s) => s.close()) };
    }
    case 'engram-grpc': {
      const clients = Array.from({ length: lanes }, () => grpcClient(at.grpcPort!));
      return {
        prepare: noPreparation,
        write: (lane, context, i, text) =>
          new Promise<void>((resolve, reject) => clients[lane]!.createWorkUnit(grpcRequest(context, i, text), (err) => (err ? reject(err) : resolve()))),
        close: async () => clients.forEach((c) => c.close()),
      };
    }
    case 'redis': {
      const clients = await Promise.all(Array.from({ length: lanes }, () => redisClient(at.redisPort!)));
      return {
        prepare: noPreparation,
        write: async (lane, context, i, text) => {
          await clients[lane]!.xadd(context, '*', 'd', unitJson(context, i, text));
        },
        close: async () => void (await Promise.all(clients.map((c) => c.quit()))),
      };
    }
    case 'nats': {
      const clients = await Promise.all(Array.from({ length: lanes }, () => NatsPeer.connect(at.natsPort!)));
      return {
        prepare: (context) => clients[0]!.ensureStream(context),
        write: async (lane, context, i, text) => {
          await clients[lane]!.js.publish(natsSubject(context), unitJson(context, i, text));
        },
        close: async () => void (await Promise.all(clients.map((c) => c.close()))),
      };
    }
  }
}

/** Closed-loop and open-loop operations over writers, each write into `context`. */
export const writeOp =
  (w: Writers, context: string): Operation =>
  (lane, i) =>
    w.write(lane, context, i);

// ---- Engram over WebSocket ----

export class WsPublisher {
  private readonly waiting = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  private ref = 0;

  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (data: Buffer) => {
      const f = JSON.parse(data.toString()) as { event: string; ref?: number; error?: { message: string } };
      if (f.ref === undefined) return;
      const w = this.waiting.get(f.ref);
      if (!w) return;
      this.waiting.delete(f.ref);
      if (f.event === 'ack') w.resolve();
      else w.reject(new Error(f.error?.message ?? f.event));
    });
    ws.on('close', () => {
      for (const w of this.waiting.values()) w.reject(new Error('WebSocket closed'));
      this.waiting.clear();
    });
  }

  static open(port: number): Promise<WsPublisher> {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/stream`);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(new WsPublisher(ws)));
      ws.once('error', reject);
    });
  }

  publish(context: string, i: number, text = unitText(i)): Promise<void> {
    const ref = this.ref++;
    return new Promise((resolve, reject) => {
      this.waiting.set(ref, { resolve, reject });
      this.ws.send(JSON.stringify({ op: 'publish', ref, contextId: context, agentId: 'agent-1', type: 'MESSAGE', meta: { model: 'bench' }, payload: { text } }));
    });
  }

  close(): void {
    this.ws.close();
  }
}

// ---- Engram over gRPC ----

const GrpcCtor = makeGenericClientConstructor(ENGRAM_SERVICE, 'EngramService');
type Unary = (req: object, cb: (err: ServiceError | null, res?: unknown) => void) => void;
export type BenchGrpcClient = Client & { createWorkUnit: Unary; createWorkUnits: () => import('@grpc/grpc-js').ClientDuplexStream<object, pb.WorkUnitAck> };

export function grpcClient(port: number): BenchGrpcClient {
  // Each client on its own connection, as separate producers would be.
  return new GrpcCtor(`127.0.0.1:${port}`, credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1, 'grpc.enable_channelz': 0 }) as never;
}

export function grpcRequest(contextId: string, i: number, text = unitText(i)): pb.ICreateWorkUnitRequest {
  return { contextId, agentId: 'agent-1', type: pb.WorkUnitType.WORK_UNIT_TYPE_MESSAGE, meta: { model: 'bench' }, payload: { json: JSON.stringify({ text }) } };
}

// ---- Redis ----

export async function redisClient(port: number): Promise<Redis> {
  const r = new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 1, enableOfflineQueue: true, lazyConnect: true });
  await r.connect();
  return r;
}

// ---- NATS JetStream ----

/** One stream per context, its subject `bench.<context>`: the last units of a context are the tail of its stream. */
export const natsStream = (context: string) => `CTX_${context.replace(/[^A-Za-z0-9_-]/g, '_')}`;
export const natsSubject = (context: string) => `bench.${context.replace(/[^A-Za-z0-9_-]/g, '_')}`;

export class NatsPeer {
  private constructor(
    readonly nc: NatsConnection,
    readonly js: JetStreamClient,
    readonly jsm: JetStreamManager,
  ) {}

  static async connect(port: number): Promise<NatsPeer> {
    const nc = await natsConnect({ servers: `127.0.0.1:${port}`, maxReconnectAttempts: 0 });
    return new NatsPeer(nc, jetstream(nc), await jetstreamManager(nc));
  }

  /** A file-backed stream for one context (created once; repeated calls are harmless). */
  async ensureStream(context: string): Promise<void> {
    await this.jsm.streams.add({ name: natsStream(context), subjects: [natsSubject(context)], storage: StorageType.File });
  }

  async close(): Promise<void> {
    await this.nc.drain();
  }
}
