/** Unary RPCs of EngramService: each one parses its request, calls the engine, converts the answer. */
import type { Metadata, sendUnaryData, ServerUnaryCall, UntypedServiceImplementation } from '@grpc/grpc-js';
import { resolveClientId } from '../../core/clients.js';
import type { Engine } from '../../core/engine.js';
import { EngramError } from '../../core/errors.js';
import type { LockManager } from '../../core/locks.js';
import { runSearch, type SearchQuerier } from '../../core/search.js';
import { engram } from '../../generated/engram.js';
import { acquireInput, contextOut, contextPatchInput, lockOut, num, searchInput, unitInput, unitOut } from './codec.js';
import { wireBytes } from './service.js';
import { toServiceError } from './status.js';

import pb = engram.v3;

export interface GrpcDeps {
  engine: Engine;
  locks: LockManager;
  /** Answers search queries; undefined when search is off. */
  search: SearchQuerier | undefined;
  /** The client of calls without x-client-id metadata (clients.default). */
  defaultClient: string;
  /** Largest CreateWorkUnit request, in bytes (limits.maxUnitBytes, as for an HTTP body). */
  maxUnitBytes: number;
  onInternal: (err: unknown) => void;
}

type Unary<Req, Res> = (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => void;

/** The client a call belongs to: its `x-client-id` metadata, or the default client. */
export function callClient(deps: GrpcDeps, metadata: Metadata): string {
  const value = metadata.get('x-client-id')[0];
  return resolveClientId(typeof value === 'string' ? value : value?.toString('utf8'), deps.defaultClient);
}

/** Runs `fn` for the calling client and answers with its result or its error as a status. */
function unary<Req, Res>(deps: GrpcDeps, fn: (req: Req, clientId: string, call: ServerUnaryCall<Req, Res>) => Promise<Res> | Res): Unary<Req, Res> {
  return (call, callback) => {
    let result: Promise<Res>;
    try {
      result = Promise.resolve(fn(call.request, callClient(deps, call.metadata), call));
    } catch (err) {
      result = Promise.reject(err);
    }
    result.then(
      (res) => callback(null, res),
      (err: unknown) => callback(toServiceError(err, deps.onInternal)),
    );
  };
}

/** Refuses a request larger than an HTTP body may be, before the engine sees it. */
export function checkSize(req: object, max: number): void {
  const bytes = wireBytes.get(req) ?? 0;
  if (bytes > max) throw new EngramError('PAYLOAD_TOO_LARGE', `the request is larger than the limit of ${max} bytes (limits.maxUnitBytes)`);
}

const opt = (v: unknown) => (v === null || v === undefined ? undefined : num(v as number));

export function unaryHandlers(deps: GrpcDeps): UntypedServiceImplementation {
  const { engine, locks } = deps;
  return {
    createWorkUnit: unary(deps, async (req: pb.CreateWorkUnitRequest, clientId): Promise<pb.ICreateWorkUnitResponse> => {
      checkSize(req, deps.maxUnitBytes);
      const r = await engine.append(clientId, unitInput(req));
      return { workUnit: unitOut(r.json), replayed: r.replayed };
    }),
    getWorkUnit: unary(deps, async (req: pb.GetWorkUnitRequest, clientId) => unitOut(await engine.getUnit(clientId, req.id))),
    listWorkUnits: unary(deps, async (req: pb.ListWorkUnitsRequest, clientId): Promise<pb.IListWorkUnitsResponse> => {
      const page = await engine.listUnits(clientId, req.contextId, {
        limit: req.limit || undefined,
        after: opt(req.after),
        before: opt(req.before),
        reverse: req.reverse,
      });
      const res: pb.IListWorkUnitsResponse = { workUnits: page.units.map(unitOut) };
      if (page.nextCursor !== null) res.nextCursor = page.nextCursor;
      return res;
    }),
    getContext: unary(deps, async (req: pb.GetContextRequest, clientId) => contextOut(await engine.getContext(clientId, req.contextId))),
    updateContext: unary(deps, async (req: pb.UpdateContextRequest, clientId) => {
      const { patch, ifMatch } = contextPatchInput(req);
      return contextOut(await engine.patchContext(clientId, req.contextId, patch, ifMatch));
    }),
    listContexts: unary(deps, async (req: pb.ListContextsRequest, clientId): Promise<pb.IListContextsResponse> => {
      const page = await engine.listContexts(clientId, { limit: req.limit || undefined, after: req.after || undefined, prefix: req.prefix || undefined });
      const res: pb.IListContextsResponse = { contexts: page.contexts.map(contextOut) };
      if (page.nextCursor !== null) res.nextCursor = page.nextCursor;
      return res;
    }),
    acquireLock: unary(deps, async (req: pb.AcquireLockRequest, clientId, call): Promise<pb.IAcquireLockResponse> => {
      const pending = locks.acquire(clientId, acquireInput(req));
      // A caller that cancels (or whose deadline passes) while waiting withdraws its request.
      call.on('cancelled', () => pending.cancel());
      return { locks: (await pending.result).map(lockOut) };
    }),
    renewLock: unary(deps, async (req: pb.RenewLockRequest, clientId) => {
      const body: Record<string, unknown> = { agentId: req.agentId || undefined, lockId: req.lockId || undefined };
      if (req.ttlMs !== null && req.ttlMs !== undefined) body.ttlMs = num(req.ttlMs as number);
      return lockOut(await locks.renew(clientId, req.resource, body));
    }),
    releaseLock: unary(deps, async (req: pb.ReleaseLockRequest, clientId) =>
      lockOut(await locks.release(clientId, req.resource, req.agentId || undefined, req.lockId || undefined)),
    ),
    getLock: unary(deps, (req: pb.GetLockRequest, clientId) => lockOut(locks.get(clientId, req.resource))),
    search: unary(deps, async (req: pb.SearchRequest, clientId): Promise<pb.ISearchResponse> => {
      if (deps.search === undefined) throw new EngramError('NOT_FOUND', 'search is disabled on this server (search.enabled: false)');
      const r = await runSearch(deps.search, engine, clientId, searchInput(req));
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
