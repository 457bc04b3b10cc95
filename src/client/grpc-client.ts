/**
 * GrpcEngramClient: the same methods as EngramClient, over gRPC (engram.v3.EngramService),
 * plus `writeStream` for bulk ingest with ordered acks.
 *
 *   const engram = new GrpcEngramClient('127.0.0.1:9090');
 *   const secure = new GrpcEngramClient('https://engram.internal:9443', { ca: readFileSync('ca.pem') });
 *   for await (const ack of engram.writeStream(units)) if (ack.error) console.error(ack.error);
 */
import {
  credentials,
  makeGenericClientConstructor,
  Metadata,
  type ChannelCredentials,
  type Client,
  type ClientDuplexStream,
  type ClientReadableStream,
  type ServiceError,
} from '@grpc/grpc-js';
import { status as grpcStatus } from '@grpc/grpc-js';
import { engram } from '../generated/engram.js';
import { ENGRAM_SERVICE } from '../wire/grpc-service.js';
import { EngramClientError } from './errors.js';
import { contextFromProto, lockFromProto, patchToProto, presenceMemberFromProto, searchToProto, unitFromProto, unitToProto, num } from './grpc-codec.js';
import { withLock, type HeldLock, type LockApi } from './locking.js';
import { DEFAULT_BACKOFF, resumingSubscription, type Backoff, type StreamConnection, type StreamEvents } from './resume.js';
import { tlsMaterial, type TlsOptions } from './tls.js';
import type {
  AcquireRequest,
  ApprovalRequest,
  Context,
  ForkOptions,
  ContextDeletion,
  ContextPage,
  ContextPatch,
  ContextPresence,
  ContextWindow,
  ListQuery,
  Lock,
  NewWorkUnit,
  PresenceEvent,
  SearchRequest,
  SearchResponse,
  SubscribeOptions,
  UnitPage,
  WorkUnit,
  WriteResult,
  WindowRequest,
} from './types.js';

import pb = engram.v3;

const EngramServiceClient = makeGenericClientConstructor(ENGRAM_SERVICE, 'EngramService');

type Callback<T> = (err: ServiceError | null, value?: T) => void;
type UnaryMethod = (req: object, metadata: Metadata, options: { deadline: number }, cb: Callback<unknown>) => unknown;

/** One ack of a bulk write: the unit's id and seq, or why it was refused. */
export interface BulkAck {
  index: number;
  id?: string;
  contextId?: string;
  seq?: number;
  replayed?: boolean;
  error?: { code: string; message: string };
}

/** Resolves on 'drain', or when the call fails (its 'error' handler reports that). */
function drained(call: ClientDuplexStream<pb.ICreateWorkUnitRequest, pb.WorkUnitAck>): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      call.off('drain', done);
      call.off('error', done);
      resolve();
    };
    call.on('drain', done);
    call.on('error', done);
  });
}

const STATUS_NAMES = new Map(Object.entries(grpcStatus).map(([k, v]) => [v as number, k]));

function clientError(err: ServiceError): EngramClientError {
  const code = err.metadata?.get('engram-error-code')[0];
  const details = err.metadata?.get('engram-error-details')[0];
  return new EngramClientError(
    typeof code === 'string' ? code : (STATUS_NAMES.get(err.code) ?? 'INTERNAL'),
    err.details || err.message,
    err.code,
    typeof details === 'string' ? (JSON.parse(details) as Record<string, unknown>) : undefined,
    { cause: err },
  );
}

/** `ca`, `cert` and `key` (TlsOptions) turn TLS on for a host:port address, as https:// does. */
export interface GrpcEngramClientOptions extends TlsOptions {
  backoff?: Backoff;
  /** Per-call deadline in ms (default 30 s; lock waits add their waitMs). */
  timeoutMs?: number;
  /**
   * Wait (until the deadline) for the server to be reachable, as during a restart, rather
   * than fail at once with UNAVAILABLE. Default true.
   */
  waitForReady?: boolean;
}

/**
 * The channel's target and credentials: `https://host:port` is TLS, `http://host:port` plain, and
 * a bare `host:port` plain unless TLS options are given.
 */
function channel(address: string, options: TlsOptions): { target: string; creds: ChannelCredentials } {
  const tls = tlsMaterial(options);
  const url = /^(https?):\/\/([^/]+)\/?$/i.exec(address);
  const secure = url === null ? tls !== undefined : url[1]!.toLowerCase() === 'https';
  if (!secure && tls !== undefined) throw new EngramClientError('INVALID_FIELD', `ca, cert and key are for TLS; ${JSON.stringify(address)} is plain (http://)`, undefined);
  const target = url === null ? address : url[2]!;
  if (!secure) return { target, creds: credentials.createInsecure() };
  const pem = (v: string | Buffer | undefined) => (v === undefined ? null : Buffer.from(v));
  return { target, creds: credentials.createSsl(pem(tls?.ca), pem(tls?.key), pem(tls?.cert)) };
}

/** Statuses after which a subscription resubscribes unchanged. */
const RETRY_STATUSES = new Set([grpcStatus.UNAVAILABLE, grpcStatus.CANCELLED, grpcStatus.DEADLINE_EXCEEDED, grpcStatus.INTERNAL, grpcStatus.UNKNOWN, grpcStatus.ABORTED]);

export class GrpcEngramClient implements LockApi {
  private readonly client: Client & Record<string, unknown>;

  constructor(
    address: string,
    private readonly options: GrpcEngramClientOptions = {},
  ) {
    const { target, creds } = channel(address, options);
    this.client = new EngramServiceClient(target, creds) as Client & Record<string, unknown>;
  }

  close(): void {
    this.client.close();
  }

  private unary<T>(method: keyof typeof ENGRAM_SERVICE, req: object, extraMs = 0): Promise<T> {
    const fn = this.client[method] as UnaryMethod;
    const deadline = Date.now() + (this.options.timeoutMs ?? 30_000) + extraMs;
    return new Promise((resolve, reject) => {
      // grpc-js reads waitForReady from the metadata's options, not the call options.
      const metadata = new Metadata({ waitForReady: this.options.waitForReady ?? true });
      fn.call(this.client, req, metadata, { deadline }, (err, value) => (err ? reject(clientError(err)) : resolve(value as T)));
    });
  }

  async write(unit: NewWorkUnit): Promise<WriteResult> {
    const r = await this.unary<pb.CreateWorkUnitResponse>('createWorkUnit', unitToProto(unit));
    return { workUnit: unitFromProto(r.workUnit!), replayed: r.replayed };
  }

  /**
   * Bulk ingest over one stream: yields one ack per unit, in the order given. The units
   * are sent as fast as the server takes them (flow control, not one round trip each).
   */
  async *writeStream(units: Iterable<NewWorkUnit> | AsyncIterable<NewWorkUnit>): AsyncGenerator<BulkAck> {
    const call = (this.client.createWorkUnits as () => ClientDuplexStream<pb.ICreateWorkUnitRequest, pb.WorkUnitAck>).call(this.client);
    const acks: BulkAck[] = [];
    let failure: EngramClientError | undefined;
    let ended = false;
    let wake: (() => void) | undefined;
    const notify = () => {
      wake?.();
      wake = undefined;
    };
    call.on('data', (a: pb.WorkUnitAck) => {
      acks.push(
        a.error
          ? { index: num(a.index), error: { code: a.error.code ?? '', message: a.error.message ?? '' } }
          : { index: num(a.index), id: a.id, contextId: a.contextId, seq: num(a.seq), replayed: a.replayed },
      );
      notify();
    });
    call.on('error', (err: ServiceError) => {
      failure = clientError(err);
      notify();
    });
    call.on('end', () => {
      ended = true;
      notify();
    });
    const sending = (async () => {
      for await (const u of units) {
        if (failure !== undefined) return;
        if (!call.write(unitToProto(u))) await drained(call);
      }
      call.end();
    })();
    sending.catch((err: unknown) => {
      failure = err instanceof EngramClientError ? err : new EngramClientError('INVALID_FIELD', String(err), undefined);
      call.cancel();
      notify();
    });
    try {
      for (;;) {
        const a = acks.shift();
        if (a !== undefined) {
          yield a;
          continue;
        }
        if (failure !== undefined) throw failure;
        if (ended) return;
        await new Promise<void>((r) => (wake = r));
      }
    } finally {
      if (!ended) call.cancel();
    }
  }

  async get(id: string): Promise<WorkUnit> {
    return unitFromProto(await this.unary<pb.WorkUnit>('getWorkUnit', { id }));
  }

  async list(contextId: string, query: ListQuery = {}): Promise<UnitPage> {
    const r = await this.unary<pb.ListWorkUnitsResponse>('listWorkUnits', { contextId, ...query });
    return {
      workUnits: r.workUnits.map(unitFromProto),
      nextCursor: r.nextCursor === null || r.nextCursor === undefined ? null : num(r.nextCursor),
      firstSeq: Math.max(1, num((r.firstSeq ?? 1) as number)),
    };
  }

  async getContext(contextId: string): Promise<Context> {
    return contextFromProto(await this.unary<pb.Context>('getContext', { contextId }));
  }

  /** Makes a context before its first unit; one that exists gets `init` applied (as EngramClient.createContext). */
  async createContext(contextId: string, init: ContextPatch = {}): Promise<Context> {
    return this.updateContext(contextId, init);
  }

  async updateContext(contextId: string, patch: ContextPatch, options: { ifVersion?: number; ifExists?: boolean } = {}): Promise<Context> {
    const req: pb.IUpdateContextRequest = { contextId, ...patchToProto(patch) };
    if (options.ifVersion !== undefined) req.ifVersion = options.ifVersion;
    else if (options.ifExists) req.ifExists = true;
    return contextFromProto(await this.unary<pb.Context>('updateContext', req));
  }

  async deleteContext(contextId: string, options: { cascade?: boolean } = {}): Promise<ContextDeletion> {
    const r = await this.unary<pb.ContextDeletion>('deleteContext', { contextId, cascade: options.cascade === true });
    return { contextId: r.contextId, deleted: true, units: num(r.units), bytes: num(r.bytes), forksDeleted: [...(r.forksDeleted ?? [])] };
  }

  /** Forks a context at `seq` (as EngramClient.fork). */
  async fork(contextId: string, options: ForkOptions): Promise<Context> {
    const req: pb.IForkContextRequest = { contextId, seq: options.seq, id: options.id ?? '' };
    if (options.displayName !== undefined) req.displayName = options.displayName;
    if (options.meta !== undefined) req.meta = options.meta;
    return contextFromProto(await this.unary<pb.Context>('forkContext', req));
  }

  /** The contexts forked from this one directly. */
  async listForks(contextId: string): Promise<Context[]> {
    return (await this.unary<pb.ListForksResponse>('listForks', { contextId })).forks.map(contextFromProto);
  }

  async listContexts(query: { limit?: number; after?: string; prefix?: string } = {}): Promise<ContextPage> {
    const r = await this.unary<pb.ListContextsResponse>('listContexts', query);
    return { contexts: r.contexts.map(contextFromProto), nextCursor: r.nextCursor ?? null };
  }

  async acquire(resource: string, request: AcquireRequest): Promise<Lock> {
    return (await this.acquireAll([resource], request))[0]!;
  }

  async acquireAll(resources: string[], request: AcquireRequest): Promise<Lock[]> {
    const r = await this.unary<pb.AcquireLockResponse>('acquireLock', { resources, ...request }, request.waitMs ?? 0);
    return r.locks.map(lockFromProto);
  }

  async renew(resource: string, holder: { agentId: string; lockId: string; ttlMs?: number }): Promise<Lock> {
    return lockFromProto(await this.unary<pb.Lock>('renewLock', { resource, ...holder }));
  }

  async release(resource: string, holder: { agentId: string; lockId: string }): Promise<Lock> {
    return lockFromProto(await this.unary<pb.Lock>('releaseLock', { resource, ...holder }));
  }

  async getLock(resource: string): Promise<Lock> {
    return lockFromProto(await this.unary<pb.Lock>('getLock', { resource }));
  }

  withLock<T>(resource: string, request: AcquireRequest, fn: (lock: HeldLock) => Promise<T>): Promise<T> {
    return withLock(this, resource, request, fn);
  }

  async search(request: SearchRequest): Promise<SearchResponse> {
    const r = await this.unary<pb.SearchResponse>('search', searchToProto(request));
    return {
      results: r.results.map((x) => ({
        workUnit: unitFromProto(x.workUnit!),
        score: x.score ?? 0,
        keywordScore: x.keywordScore ?? null,
        vectorScore: x.vectorScore ?? null,
      })),
      total: num(r.total),
      totalRelation: r.totalRelation === 'gte' ? 'gte' : 'eq',
    };
  }

  /** As EngramClient.subscribe: gap-free and without duplicates across reconnects. */
  subscribe(contextId: string, options: SubscribeOptions = {}): AsyncIterableIterator<WorkUnit> {
    return resumingSubscription((since, epoch, events) => this.openStream(contextId, since, epoch, events, options), options, this.options.backoff ?? DEFAULT_BACKOFF);
  }

  /**
   * Asks for an approval by writing its APPROVAL_REQUEST unit over CreateWorkUnit (the server
   * stores it only while `request.lock` is held with its token). The unit's id is the request id.
   */
  async requestApproval(contextId: string, request: ApprovalRequest): Promise<WorkUnit> {
    const payload: Record<string, unknown> = { action: request.action, lock: { resource: request.lock.resource, token: request.lock.token } };
    if (request.ttlMs !== undefined) payload.ttlMs = request.ttlMs;
    if (request.expiresAt !== undefined) payload.expiresAt = request.expiresAt;
    return (await this.write({ contextId, agentId: request.agentId, type: 'APPROVAL_REQUEST', payload, ...(request.meta === undefined ? {} : { meta: request.meta }) })).workUnit;
  }

  /**
   * The request's APPROVAL_DECISION unit, from the context's Subscribe stream (read from the
   * request's seq on, so a decision written before the call is found too); rejects after
   * `timeoutMs`. gRPC has no approval read: act on an approval only with writes fenced by its
   * `payload.lock`, which the server refuses once that lock was lost.
   */
  async waitForApproval(contextId: string, request: { id: string; seq: number }, options: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<WorkUnit> {
    const stop = new AbortController();
    const onAbort = () => stop.abort();
    options.signal?.addEventListener('abort', onAbort);
    const timer = options.timeoutMs === undefined ? undefined : setTimeout(() => stop.abort(), options.timeoutMs);
    try {
      for await (const u of this.subscribe(contextId, { since: request.seq, signal: stop.signal })) {
        if (u.type === 'APPROVAL_DECISION' && (u.payload as { requestId?: unknown } | null)?.requestId === request.id) return u;
      }
      throw new EngramClientError('DEADLINE_EXCEEDED', `no decision of approval ${request.id} within the time given`, undefined);
    } finally {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      stop.abort();
    }
  }

  /** As EngramClient.window: the units to hand a model under a token budget. */
  async window(contextId: string, request: WindowRequest): Promise<ContextWindow> {
    const req: pb.IGetWindowRequest = { contextId, budget: request.budget, query: request.query ?? '', model: request.model ?? '', encoding: request.encoding ?? '' };
    if (request.relevantShare !== undefined) req.relevantShare = request.relevantShare;
    if (request.relevantLimit !== undefined) req.relevantLimit = request.relevantLimit;
    if (request.summaries !== undefined) req.summaries = request.summaries;
    if (request.summaryShare !== undefined) req.summaryShare = request.summaryShare;
    const r = await this.unary<pb.ContextWindow>('getWindow', req);
    return {
      contextId: r.contextId,
      encoding: r.encoding as ContextWindow['encoding'],
      exact: r.exact,
      budget: r.budget,
      tokens: r.tokens,
      headSeq: num(r.headSeq),
      recentFrom: num(r.recentFrom),
      counted: r.counted,
      units: r.units.map((u) => ({
        seq: num(u.seq),
        tokens: u.tokens ?? 0,
        reason: u.reason as ContextWindow['units'][number]['reason'],
        ...(u.score === null || u.score === undefined ? {} : { score: u.score }),
        workUnit: unitFromProto(u.workUnit!),
      })),
    };
  }

  /** As EngramClient.presence. */
  async presence(contextId: string): Promise<ContextPresence> {
    const r = await this.unary<pb.Presence>('getPresence', { contextId });
    return { contextId: r.contextId, members: r.members.map(presenceMemberFromProto), connections: r.connections };
  }

  private openStream(contextId: string, since: number | undefined, epoch: string | undefined, events: StreamEvents, options: SubscribeOptions): StreamConnection {
    const onPresence = options.onPresence;
    const req: pb.ISubscribeRequest = {
      contextId,
      ...(since === undefined ? {} : { since }),
      ...(epoch === undefined ? {} : { epoch }),
      agentId: options.agentId ?? '',
      presence: onPresence !== undefined,
      continueAfterTrim: options.onTrimmed === 'continue',
    };
    const call = (this.client.subscribe as (r: object) => ClientReadableStream<pb.SubscribeEvent>).call(this.client, req);
    let ended = false;
    const end = (err: EngramClientError, retry: boolean) => {
      if (ended) return;
      ended = true;
      events.closed(err, retry);
    };
    call.on('data', (e: pb.SubscribeEvent) => {
      if (e.workUnit) events.unit(unitFromProto(e.workUnit));
      else if (e.subscribed) events.subscribed(num(e.subscribed.headSeq), e.subscribed.epoch ?? '');
      else if (e.trimmed) {
        if (e.trimmed.continues !== true) ended = true;
        events.trimmed(num(e.trimmed.firstSeq as number), e.trimmed.continues === true);
      } else if (e.deleted) {
        ended = true;
        events.deleted();
      } else if (e.presence && onPresence !== undefined && !ended) {
        onPresence({
          action: e.presence.action as PresenceEvent['action'],
          contextId: e.presence.contextId ?? contextId,
          members: (e.presence.members ?? []).map(presenceMemberFromProto),
        });
      }
    });
    call.on('error', (err: ServiceError) => end(clientError(err), RETRY_STATUSES.has(err.code)));
    call.on('end', () => end(new EngramClientError('UNAVAILABLE', 'the stream ended', undefined), true));
    return {
      close: () => {
        ended = true;
        call.cancel();
      },
      pause: () => call.pause(),
      resume: () => call.resume(),
    };
  }
}

export { EngramServiceClient };
