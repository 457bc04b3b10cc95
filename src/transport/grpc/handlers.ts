/** Unary RPCs of EngramService: each one authenticates, parses its request, calls the gate, converts the answer. */
import { status, type Metadata, type sendUnaryData, type ServerUnaryCall, type UntypedServiceImplementation } from '@grpc/grpc-js';
import type { RequestObserver } from '../../basics/observer.js';
import type { Authenticator, Principal } from '../../tenancy/access.js';
import { EngramError } from '../../basics/errors.js';
import type { Gate } from '../../gate/gate.js';
import { engram } from '../../generated/engram.js';
import { acquireInput, contextOut, contextPatchInput, forkInput, lockOut, num, presenceMemberOut, searchInput, unitInput, unitOut } from './codec.js';
import { presenceView } from '../../streams/frames.js';
import { undecodable, wireBytes } from '../../wire/grpc-service.js';
import { toServiceError } from './status.js';
import { isTraceparent, withTraceparent } from '../../basics/trace.js';
import type { Tracer } from '../../basics/tracer.js';

import pb = engram.v3;
import type { StreamHub } from '../../streams/hub.js';
import type { AgentServices } from '../../agents/services.js';

export interface GrpcDeps {
  gate: Gate;
  auth: Authenticator;
  /** Told about every answered unary call (metrics); optional. */
  requests?: RequestObserver;
  /** A server span per unary call (tracing.enabled), a child of its `traceparent` metadata. */
  tracer?: Tracer;
  /** Largest CreateWorkUnit request, in bytes (limits.maxUnitBytes, as for an HTTP body). */
  maxUnitBytes: number;
  onInternal: (err: unknown) => void;
  /** The stream connections of every transport: Subscribe calls count among them. */
  hub: StreamHub;
  /** Context windows under a token budget (GetWindow). */
  agents: AgentServices;
}

type Unary<Req, Res> = (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => void;

function metadataValue(metadata: Metadata, key: string): string {
  const value = metadata.get(key)[0];
  return typeof value === 'string' ? value : (value?.toString('utf8') ?? '');
}

/** Who a call runs as: its `authorization` (or `x-api-key`) and `x-client-id` metadata. */
export function callPrincipal(deps: GrpcDeps, metadata: Metadata): Principal {
  return deps.auth.authenticate({
    authorization: metadataValue(metadata, 'authorization'),
    apiKey: metadataValue(metadata, 'x-api-key'),
    accessToken: '',
    clientId: metadataValue(metadata, 'x-client-id'),
  });
}

/** Runs `fn` as the calling principal and answers with its result or its error as a status. */
function unary<Req, Res>(deps: GrpcDeps, fn: (req: Req, principal: Principal, call: ServerUnaryCall<Req, Res>) => Promise<Res> | Res): Unary<Req, Res> {
  return (call, callback) => {
    let result: Promise<Res>;
    try {
      checkDecoded(call.request as object);
      result = Promise.resolve(fn(call.request, callPrincipal(deps, call.metadata), call));
    } catch (err) {
      result = Promise.reject(err);
    }
    result.then(
      (res) => callback(null, res),
      (err: unknown) => callback(toServiceError(err, deps.onInternal)),
    );
  };
}

/** Refuses a request whose bytes did not decode as its message type (see `undecodable`). */
export function checkDecoded(req: object): void {
  const why = undecodable.get(req);
  if (why !== undefined) throw new EngramError('INVALID_FIELD', `the request is not a valid message of its type: ${why}`);
}

/** Refuses a request larger than an HTTP body may be, before the engine sees it. */
export function checkSize(req: object, max: number): void {
  const bytes = wireBytes.get(req) ?? 0;
  if (bytes > max) throw new EngramError('PAYLOAD_TOO_LARGE', `the request is larger than the limit of ${max} bytes (limits.maxUnitBytes)`);
}

const opt = (v: unknown) => (v === null || v === undefined ? undefined : num(v as number));

export function unaryHandlers(deps: GrpcDeps): UntypedServiceImplementation {
  let handlers = unaryRpcs(deps);
  if (deps.tracer?.enabled === true) handlers = traceCalls(handlers, deps.tracer);
  return deps.requests === undefined ? handlers : instrument(handlers, deps.requests);
}

/** The RPC service, as span names and attributes give it. */
const SERVICE = 'engram.v3.EngramService';

/**
 * Wraps each unary handler in a server span (RPC semantic conventions), a child of the call's
 * `traceparent` metadata: what the call causes (search, memory, lock waits) is its children.
 * CreateWorkUnit has none: its write span is its server side, as over HTTP.
 */
function traceCalls(handlers: UntypedServiceImplementation, tracer: Tracer): UntypedServiceImplementation {
  return eachUnary(handlers, (rpc, handler) =>
    rpc === 'CreateWorkUnit'
      ? handler
      : (call, callback) => {
          const header = metadataValue(call.metadata, 'traceparent');
          const span = tracer.start(`${SERVICE}/${rpc}`, {
            kind: 'server',
            parent: isTraceparent(header) ? header : null,
            attributes: { 'rpc.system': 'grpc', 'rpc.service': SERVICE, 'rpc.method': rpc },
          });
          tracer.within(span, () =>
            handler(call, (err, res) => {
              span.set({ 'rpc.grpc.status_code': err ? (err.code ?? status.UNKNOWN) : status.OK });
              span.end(err && err.code !== undefined && SERVER_FAULTS.has(err.code) ? err : undefined);
              callback(err, res);
            }),
          );
        },
  );
}

/** Each unary handler wrapped by `wrap`, which is told the RPC's name as the .proto spells it (CreateWorkUnit). */
function eachUnary(handlers: UntypedServiceImplementation, wrap: (rpc: string, handler: Unary<unknown, unknown>) => Unary<unknown, unknown>): UntypedServiceImplementation {
  const out: UntypedServiceImplementation = {};
  for (const [name, handler] of Object.entries(handlers)) {
    out[name] = wrap(name[0]!.toUpperCase() + name.slice(1), handler as Unary<unknown, unknown>) as UntypedServiceImplementation[string];
  }
  return out;
}

/** Statuses that are the server's fault (the RPC conventions mark only these as a failed server span). */
const SERVER_FAULTS = new Set<number>([status.UNKNOWN, status.DEADLINE_EXCEEDED, status.UNIMPLEMENTED, status.INTERNAL, status.UNAVAILABLE, status.DATA_LOSS]);

/** Wraps each unary handler to report its method, status code and duration. */
function instrument(handlers: UntypedServiceImplementation, observer: RequestObserver): UntypedServiceImplementation {
  return eachUnary(handlers, (rpc, handler) => (call, callback) => {
    const started = performance.now();
    handler(call, (err, res) => {
      observer.request('grpc', rpc, err ? (status[err.code ?? status.UNKNOWN] ?? 'UNKNOWN') : 'OK', (performance.now() - started) / 1000);
      callback(err, res);
    });
  });
}

function unaryRpcs(deps: GrpcDeps): UntypedServiceImplementation {
  const { gate } = deps;
  return {
    createWorkUnit: unary(deps, async (req: pb.CreateWorkUnitRequest, principal, call): Promise<pb.ICreateWorkUnitResponse> => {
      checkSize(req, deps.maxUnitBytes);
      const r = await gate.append(principal, withTraceparent(unitInput(req), metadataValue(call.metadata, 'traceparent'), 'traceparent metadata'));
      return { workUnit: unitOut(r.json), replayed: r.replayed };
    }),
    getWorkUnit: unary(deps, async (req: pb.GetWorkUnitRequest, principal) => unitOut(await gate.getUnit(principal, req.id))),
    listWorkUnits: unary(deps, async (req: pb.ListWorkUnitsRequest, principal): Promise<pb.IListWorkUnitsResponse> => {
      const query = { limit: req.limit || undefined, after: opt(req.after), before: opt(req.before), reverse: req.reverse };
      const page = req.summaries
        ? await deps.agents.summaries.read(principal, req.contextId, query).then((p) => ({ ...p, units: p.items.map((x) => x.json) }))
        : await gate.listUnits(principal, req.contextId, query);
      const res: pb.IListWorkUnitsResponse = { workUnits: page.units.map(unitOut), firstSeq: page.firstSeq };
      if (page.nextCursor !== null) res.nextCursor = page.nextCursor;
      return res;
    }),
    getContext: unary(deps, async (req: pb.GetContextRequest, principal) => contextOut(await gate.getContext(principal, req.contextId))),
    updateContext: unary(deps, async (req: pb.UpdateContextRequest, principal) => {
      const { patch, ifMatch } = contextPatchInput(req);
      return contextOut(await gate.patchContext(principal, req.contextId, patch, ifMatch));
    }),
    deleteContext: unary(deps, async (req: pb.DeleteContextRequest, principal): Promise<pb.IContextDeletion> => {
      const d = await gate.deleteContext(principal, req.contextId, req.cascade);
      return { contextId: d.contextId, units: d.units, bytes: d.bytes, forksDeleted: d.forksDeleted };
    }),
    forkContext: unary(deps, async (req: pb.ForkContextRequest, principal) => contextOut(await gate.forkContext(principal, req.contextId, forkInput(req)))),
    listForks: unary(deps, async (req: pb.ListForksRequest, principal): Promise<pb.IListForksResponse> => ({
      forks: (await gate.listForks(principal, req.contextId)).map(contextOut),
    })),
    listContexts: unary(deps, async (req: pb.ListContextsRequest, principal): Promise<pb.IListContextsResponse> => {
      const page = await gate.listContexts(principal, { limit: req.limit || undefined, after: req.after || undefined, prefix: req.prefix || undefined });
      const res: pb.IListContextsResponse = { contexts: page.contexts.map(contextOut) };
      if (page.nextCursor !== null) res.nextCursor = page.nextCursor;
      return res;
    }),
    acquireLock: unary(deps, async (req: pb.AcquireLockRequest, principal, call): Promise<pb.IAcquireLockResponse> => {
      const pending = gate.acquireLock(principal, acquireInput(req));
      // A caller that cancels (or whose deadline passes) while waiting withdraws its request.
      call.on('cancelled', () => pending.cancel());
      return { locks: (await pending.result).map(lockOut) };
    }),
    renewLock: unary(deps, async (req: pb.RenewLockRequest, principal) => {
      const body: Record<string, unknown> = { agentId: req.agentId || undefined, lockId: req.lockId || undefined };
      if (req.ttlMs !== null && req.ttlMs !== undefined) body.ttlMs = num(req.ttlMs as number);
      return lockOut(await gate.renewLock(principal, req.resource, body));
    }),
    releaseLock: unary(deps, async (req: pb.ReleaseLockRequest, principal) =>
      lockOut(await gate.releaseLock(principal, req.resource, req.agentId || undefined, req.lockId || undefined)),
    ),
    getLock: unary(deps, (req: pb.GetLockRequest, principal) => lockOut(gate.getLock(principal, req.resource))),
    getPresence: unary(deps, (req: pb.GetPresenceRequest, principal): pb.IPresence => {
      const p = gate.presence(principal, req.contextId);
      return { contextId: p.contextId, members: p.members.map((m) => presenceMemberOut(presenceView(m))), connections: p.connections };
    }),
    getWindow: unary(deps, async (req: pb.GetWindowRequest, principal): Promise<pb.IContextWindow> => {
      // Unset proto3 fields are the HTTP body's absent ones.
      const body: Record<string, unknown> = { budget: req.budget };
      if (req.query !== '') body.query = req.query;
      if (req.model !== '') body.model = req.model;
      if (req.encoding !== '') body.encoding = req.encoding;
      if (req.relevantShare !== null && req.relevantShare !== undefined) body.relevantShare = req.relevantShare;
      if (req.relevantLimit !== null && req.relevantLimit !== undefined) body.relevantLimit = req.relevantLimit;
      if (req.summaries) body.summaries = true;
      if (req.summaryShare !== null && req.summaryShare !== undefined) body.summaryShare = req.summaryShare;
      const w = await deps.agents.window.window(principal, req.contextId, body);
      return {
        contextId: w.contextId,
        encoding: w.encoding,
        exact: w.exact,
        budget: w.budget,
        tokens: w.tokens,
        headSeq: w.headSeq,
        recentFrom: w.recentFrom,
        counted: w.counted,
        units: w.units.map((u) => ({ seq: u.seq, tokens: u.tokens, reason: u.reason, ...(u.score === undefined ? {} : { score: u.score }), workUnit: unitOut(u.json) })),
      };
    }),
    search: unary(deps, async (req: pb.SearchRequest, principal): Promise<pb.ISearchResponse> => {
      const r = await gate.search(principal, searchInput(req));
      return {
        results: r.results.map((x) => {
          const out: pb.ISearchResult = { workUnit: unitOut(x.workUnit), score: x.score };
          if (x.keywordScore !== null) out.keywordScore = x.keywordScore;
          if (x.vectorScore !== null) out.vectorScore = x.vectorScore;
          return out;
        }),
        total: r.total,
        totalRelation: r.totalRelation,
      };
    }),
  };
}
