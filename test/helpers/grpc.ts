/**
 * A gRPC client for tests built from proto/engram/v3/engram.proto by @grpc/proto-loader, not from
 * the server's own service definition: what the tests prove is the wire contract of the .proto.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { after, before } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { loadSync, type Options } from '@grpc/proto-loader';
import { protoPath as HEALTH_PROTO } from 'grpc-health-check';
import { HttpClient } from './http.js';
import { removeDir, startServer, type RunningServer, type StartOptions } from './server.js';
import { WAIT_MS, Watcher, withTimeout } from './wait.js';

export const PROTO_DIR = resolve(import.meta.dirname, '../../../proto');
export const ENGRAM_PROTO = resolve(PROTO_DIR, 'engram/v3/engram.proto');
export const REFLECTION_PROTO = resolve(dirname(createRequire(import.meta.url).resolve('@grpc/reflection')), '../proto/grpc/reflection/v1/reflection.proto');

export const LOADER_OPTIONS: Options = { longs: Number, enums: String, defaults: true, oneofs: true };

/** A message as proto-loader gives it (camelCase fields, enums as names, 64-bit numbers as numbers). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Msg = any;

type ClientConstructor = new (address: string, credentials: grpc.ChannelCredentials, options?: grpc.ClientOptions) => grpc.Client;

function load(file: string, includeDirs: string[], name: string): ClientConstructor {
  const pkg = grpc.loadPackageDefinition(loadSync(file, { ...LOADER_OPTIONS, includeDirs }));
  let node: unknown = pkg;
  for (const part of name.split('.')) node = (node as Record<string, unknown>)[part];
  assert.equal(typeof node, 'function', `${name} in ${file}`);
  return node as ClientConstructor;
}

let engramService: ClientConstructor | undefined;
let healthService: ClientConstructor | undefined;
let reflectionService: ClientConstructor | undefined;

export interface CallOptions {
  /** Deadline from now, in ms. */
  deadlineMs?: number;
  metadata?: grpc.Metadata;
}

/** The grpc-js call options of `o`. */
function callOptions(o: CallOptions): grpc.CallOptions {
  return o.deadlineMs === undefined ? {} : { deadline: Date.now() + o.deadlineMs };
}

/** Calls a unary method of a proto-loader client; resolves with the response or rejects with the ServiceError. */
export function unaryCall(client: grpc.Client, method: string, request: Msg, options: CallOptions = {}): { call: grpc.ClientUnaryCall; response: Promise<Msg> } {
  let call!: grpc.ClientUnaryCall;
  const response = new Promise<Msg>((resolveCall, rejectCall) => {
    const fn = (client as unknown as Record<string, (...args: unknown[]) => grpc.ClientUnaryCall>)[method];
    assert.equal(typeof fn, 'function', `no method ${method}`);
    call = fn!.call(client, request, options.metadata ?? new grpc.Metadata(), callOptions(options), (err: grpc.ServiceError | null, res: Msg) =>
      err ? rejectCall(err) : resolveCall(res),
    );
  });
  return { call, response };
}

/** engram.v3.EngramService with each unary RPC as a promise-returning method (same names as the .proto). */
export class EngramGrpc {
  readonly client: grpc.Client;

  constructor(
    readonly address: string,
    channelOptions: grpc.ClientOptions = {},
    /** Plain by default; grpc.credentials.createSsl(...) for a server with TLS. */
    credentials: grpc.ChannelCredentials = grpc.credentials.createInsecure(),
  ) {
    engramService ??= load(ENGRAM_PROTO, [PROTO_DIR], 'engram.v3.EngramService');
    this.client = new engramService(address, credentials, channelOptions);
  }

  call(method: string, request: Msg, options?: CallOptions): Promise<Msg> {
    return unaryCall(this.client, method, request, options).response;
  }

  CreateWorkUnit = (r: Msg, o?: CallOptions) => this.call('CreateWorkUnit', r, o);
  GetWorkUnit = (r: Msg, o?: CallOptions) => this.call('GetWorkUnit', r, o);
  ListWorkUnits = (r: Msg, o?: CallOptions) => this.call('ListWorkUnits', r, o);
  GetContext = (r: Msg, o?: CallOptions) => this.call('GetContext', r, o);
  UpdateContext = (r: Msg, o?: CallOptions) => this.call('UpdateContext', r, o);
  ListContexts = (r: Msg, o?: CallOptions) => this.call('ListContexts', r, o);
  AcquireLock = (r: Msg, o?: CallOptions) => this.call('AcquireLock', r, o);
  RenewLock = (r: Msg, o?: CallOptions) => this.call('RenewLock', r, o);
  ReleaseLock = (r: Msg, o?: CallOptions) => this.call('ReleaseLock', r, o);
  GetLock = (r: Msg, o?: CallOptions) => this.call('GetLock', r, o);
  Search = (r: Msg, o?: CallOptions) => this.call('Search', r, o);

  /** A server stream of SubscribeEvents. */
  Subscribe(request: Msg, options: CallOptions = {}): grpc.ClientReadableStream<Msg> {
    const c = this.client as unknown as { Subscribe(r: Msg, m: grpc.Metadata, o: grpc.CallOptions): grpc.ClientReadableStream<Msg> };
    return c.Subscribe(request, options.metadata ?? new grpc.Metadata(), callOptions(options));
  }

  /** The bidirectional bulk ingest stream. */
  CreateWorkUnits(options: CallOptions = {}): grpc.ClientDuplexStream<Msg, Msg> {
    const c = this.client as unknown as { CreateWorkUnits(m: grpc.Metadata, o: grpc.CallOptions): grpc.ClientDuplexStream<Msg, Msg> };
    return c.CreateWorkUnits(options.metadata ?? new grpc.Metadata(), callOptions(options));
  }

  close(): void {
    this.client.close();
  }
}

/**
 * Channel options for long client streams. grpc-js keeps a client stream's messages for
 * retries, and the bookkeeping of that buffer (RetryingCall.clearSentMessages in a profile)
 * costs several times more client CPU than the 100,000 messages of the bulk test themselves.
 */
export const BULK_CHANNEL_OPTIONS: grpc.ClientOptions = { 'grpc.enable_retries': 0, 'grpc.per_rpc_retry_buffer_size': 1 };

/** grpc.health.v1.Health, from the health.proto that grpc-health-check ships. */
export function healthClient(address: string): grpc.Client {
  healthService ??= load(HEALTH_PROTO, [], 'grpc.health.v1.Health');
  return new healthService(address, grpc.credentials.createInsecure());
}

/** grpc.reflection.v1.ServerReflection, from the reflection.proto that @grpc/reflection ships. */
export function reflectionClient(address: string): grpc.Client {
  reflectionService ??= load(REFLECTION_PROTO, [], 'grpc.reflection.v1.ServerReflection');
  return new reflectionService(address, grpc.credentials.createInsecure());
}

/** The value of a trailer (first value), or undefined. */
export function trailer(err: grpc.ServiceError, key: string): string | undefined {
  const v = err.metadata?.get(key)[0];
  return v === undefined ? undefined : String(v);
}

/**
 * Asserts that `promise` rejects with gRPC status `code` and (when given) the stable Engram code
 * in the `engram-error-code` trailer; resolves with the error for further checks.
 */
export async function rejectsWith(promise: Promise<unknown>, code: grpc.status, engramCode?: string): Promise<grpc.ServiceError> {
  let err: grpc.ServiceError | undefined;
  try {
    const res = await promise;
    assert.fail(`expected status ${grpc.status[code]}, got a response: ${JSON.stringify(res)}`);
  } catch (e) {
    if (e instanceof assert.AssertionError) throw e;
    err = e as grpc.ServiceError;
  }
  assert.equal(err.code, code, `status ${grpc.status[err.code]} (${err.details}), expected ${grpc.status[code]}`);
  if (engramCode !== undefined) assert.equal(trailer(err, 'engram-error-code'), engramCode, err.details);
  return err;
}

/** A CreateWorkUnitRequest with a JSON payload (defaults for the rest). */
export function unitRequest(contextId: string, extra: Msg = {}): Msg {
  return { contextId, agentId: 'agent-1', type: 'WORK_UNIT_TYPE_MESSAGE', payload: { json: JSON.stringify({ text: 'hello' }) }, ...extra };
}

/** Writes `total` units of about 1.5 kB to a context through one CreateWorkUnits stream; resolves with every ack. */
export async function bulkWrite(g: EngramGrpc, contextId: string, total: number): Promise<Msg[]> {
  const payload = { json: JSON.stringify('p'.repeat(1500)) };
  const bulk = g.CreateWorkUnits();
  const acks: Msg[] = [];
  bulk.on('data', (a: Msg) => acks.push(a));
  const ended = new Promise((resolve, reject) => {
    bulk.on('end', resolve);
    bulk.on('error', reject);
  });
  for (let i = 0; i < total; i++) {
    if (!bulk.write(unitRequest(contextId, { payload }))) await new Promise((resolve) => bulk.once('drain', resolve));
  }
  bulk.end();
  await withTimeout(ended, WAIT_MS, 'the bulk acks');
  return acks;
}

/** The payload of a WorkUnit message as the value it carries: parsed JSON, or { data, contentType } for binary. */
export function payloadValue(p: Msg): unknown {
  if (p?.kind === 'json') return JSON.parse(p.json);
  if (p?.kind === 'binary') return { data: Buffer.from(p.binary.data), contentType: p.binary.contentType };
  throw new Error(`payload has no kind: ${JSON.stringify(p)}`);
}

/** A google.protobuf.Timestamp in ms. */
export function tsMs(t: Msg): number {
  return Number(t.seconds) * 1000 + Math.floor(t.nanos / 1e6);
}

/**
 * Reads a server stream as it arrives: every message in `messages`, the final status in `status`
 * (and `error` when it is not OK); `until` waits for a condition with a timeout.
 */
export class StreamReader {
  readonly messages: Msg[] = [];
  status: grpc.StatusObject | undefined;
  error: grpc.ServiceError | undefined;
  private ended = false;
  private readonly watcher = new Watcher();

  constructor(readonly stream: grpc.ClientReadableStream<Msg>) {
    stream.on('data', (m: Msg) => {
      this.messages.push(m);
      this.watcher.notify();
    });
    stream.on('error', (e: grpc.ServiceError) => {
      this.error = e;
      this.watcher.notify();
    });
    stream.on('end', () => {
      this.ended = true;
      this.watcher.notify();
    });
    stream.on('status', (s: grpc.StatusObject) => {
      this.status = s;
      this.watcher.notify();
    });
  }

  until(check: (messages: Msg[]) => boolean, ms = WAIT_MS, what = 'messages'): Promise<void> {
    return this.watcher.until(() => check(this.messages), ms, what);
  }

  /** Resolves with the final status once the call is over (every message read). */
  async done(ms = WAIT_MS, what = 'the stream to end'): Promise<grpc.StatusObject> {
    await this.watcher.until(() => this.status !== undefined && (this.ended || this.status.code !== grpc.status.OK), ms, what);
    return this.status!;
  }
}

/**
 * serverPerFile with a gRPC client beside the HTTP one: one server for the whole file, started
 * before the first test and stopped after the last. Read the fields inside tests, not at load.
 */
export function grpcServerPerFile(options: StartOptions = {}): { server: RunningServer; http: HttpClient; grpc: EngramGrpc } {
  const ctx = {} as { server: RunningServer; http: HttpClient; grpc: EngramGrpc };
  before(async () => {
    ctx.server = await startServer(options);
    ctx.http = new HttpClient(ctx.server.url);
    ctx.grpc = new EngramGrpc(ctx.server.grpcAddr);
  });
  after(async () => {
    ctx.grpc.close();
    ctx.http.close();
    const code = await ctx.server.stop();
    removeDir(ctx.server.dataDir);
    if (code !== 0) throw new Error(`server exited with ${code} at the end of the file`);
  });
  return ctx;
}
