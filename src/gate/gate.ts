/**
 * The engine as one principal sees it. Every transport calls this, never the engine,
 * lock manager, router or search directly: here each request is checked against the
 * principal's scopes, context patterns and group memberships, mapped to the space its
 * data lives in, counted against the client's quotas, and answered from the spaces the
 * principal may read. One client's data is never reachable from another's requests.
 */
import { Access, GROUP_SPACE_PREFIX, type Principal } from '../tenancy/access.js';
import type { ClientActivity, ClientRegistry } from '../tenancy/client-registry.js';
import type { Log, SpaceUsage } from '../engine/log.js';
import { NO_OBSERVER, type Observer } from '../basics/observer.js';
import { NO_TRACER, type TraceSpan, type Tracer } from '../basics/tracer.js';
import type { QuotaLimits } from '../tenancy/quotas.js';
import type { AppendResult, ContextPage, Engine, UnitPage } from '../engine/engine.js';
import type { SweepReport } from '../engine/retention.js';
import { EngramError } from '../basics/errors.js';
import { LIMITS } from '../basics/limits.js';
import { UlidFactory } from '../basics/ids.js';
import type { LockManager, PendingAcquire } from '../locks/locks.js';
import type { LockView } from '../locks/lock-types.js';
import type { LockSubscription, Router, StreamSink, Subscription } from '../streams/router.js';
import type { PresenceMember } from '../streams/presence.js';
import { parseSearchQuery, SEARCH_LIMITS, type SearchQuery } from '../search/search-query.js';
import type { SearchHit, SearchQuerier, SearchResponse } from '../search/search.js';
import type { ContextView, Fence, ForkPoint } from '../basics/types.js';
import { compareUtf8 } from '../basics/validate.js';

/** How much of a search's query text its span carries. */
const QUERY_ATTRIBUTE_CHARS = 256;

/** How long a `fresh` search waits for the index to reach the writes before it (docs/search.md). */
export type { AppendResult };

const FRESH_WAIT_MS = 10_000;

export interface GateDeps {
  engine: Engine;
  locks: LockManager;
  router: Router;
  access: Access;
  clients: ClientRegistry;
  /** Undefined when search is off. */
  search: SearchQuerier | undefined;
  /** What management reads straight from storage. */
  log: Pick<Log, 'listSpaces' | 'spaceUsage'>;
  /** Rebuilds idle clients' search partitions on demand and drops them at cleanup (the indexer); undefined when search is off. */
  searchIndex?: { ensure(space: string): Promise<void> | undefined; drop(spaces: string[]): Promise<void>; waitFor(pos: number, signal?: AbortSignal): Promise<void> };
  /** Told how long each search took (metrics). */
  observer?: Observer;
  /** A span per search (engram.search); the default does nothing. */
  tracer?: Tracer;
  /** Retention's sweeper, run at once by POST /retention/sweep. */
  retention?: { sweep(): Promise<SweepReport> };
}

/** GET /clients/status/{clientId}: what the server knows of one client now. */
export interface ClientStatus {
  clientId: string;
  /** Whether the client has data in the log or state in memory. */
  known: boolean;
  /** Epoch ms of the last request, null when no state is in memory (idle past the threshold, or never seen since start). */
  lastActivity: number | null;
  connections: number;
  subscriptions: number;
  /** Units and bytes written since the in-memory state was made (`activeSince`). */
  activeSince: number | null;
  unitsWrittenRecently: number;
  /** From the log: everything in the client's own space. */
  contexts: number;
  unitsWritten: number;
  storageBytes: number;
  locksHeld: number;
  groups: Array<{ group: string; membership: 'read' | 'write' }>;
  quotas: QuotaLimits;
}

type ListQuery = { limit?: number; after?: string; prefix?: string };

/** What a stream asks of a context subscription. */
export interface SubscribeOptions {
  since?: number;
  epoch?: string;
  ref?: string | number;
  /** The agent the connection is present as (checked by the transport). */
  agentId?: string;
  /** Send presence events (a snapshot after subscribed, then joins and leaves). */
  presence?: boolean;
  /** When retention trimmed units after `since`: go on from the first seq left (else the subscription ends). */
  continueAfterTrim?: boolean;
}

/** GET /contexts/{id}/presence. */
export interface ContextPresence {
  contextId: string;
  members: PresenceMember[];
  /** Open subscriptions of every member together. */
  connections: number;
}

/** What DELETE /clients/{id} answers: what was removed (zeros when run again). */
export interface ClientErasure {
  clientId: string;
  contexts: number;
  units: number;
  bytes: number;
  locks: number;
}

/** What DELETE /contexts/{id} answers. */
export interface ContextDeletionReport {
  contextId: string;
  deleted: true;
  /** Units removed, and the bytes of their JSON text. */
  units: number;
  bytes: number;
  /** Forks deleted with it (cascade), forks of forks first. */
  forksDeleted: string[];
}

/**
 * Unit types with rules beyond the log's (approvals: agents/approvals.ts). Their appends, from
 * every transport, go through `append`, which checks them and stores them with `write`.
 */
export interface TypedAppends {
  /** Whether this write is one the rules decide on (`idempotencyKey`: the one given beside the body, e.g. a header). */
  handles(body: unknown, idempotencyKey: string | undefined): boolean;
  append(
    p: Principal,
    body: unknown,
    idempotencyKey: string | undefined,
    write: (body: unknown, idempotencyKey: string | undefined) => Promise<AppendResult>,
  ): Promise<AppendResult>;
}

function field(body: unknown, name: string): unknown {
  return typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>)[name] : undefined;
}

export class Gate {
  private readonly ulids = new UlidFactory();
  readonly engine: Engine;
  readonly access: Access;
  readonly clients: ClientRegistry;
  private readonly locks: LockManager;
  private readonly router: Router;
  private readonly searcher: SearchQuerier | undefined;
  private readonly log: GateDeps['log'];
  private readonly searchIndex: GateDeps['searchIndex'];
  /** Told how long each search took (metrics). */
  private readonly observer: Observer;
  private readonly tracer: Tracer;
  private readonly retention: GateDeps['retention'];
  private typed: TypedAppends | undefined;

  constructor(deps: GateDeps) {
    this.log = deps.log;
    this.searchIndex = deps.searchIndex;
    this.engine = deps.engine;
    this.locks = deps.locks;
    this.router = deps.router;
    this.access = deps.access;
    this.clients = deps.clients;
    this.searcher = deps.search;
    this.observer = deps.observer ?? NO_OBSERVER;
    this.tracer = deps.tracer ?? NO_TRACER;
    this.retention = deps.retention;
    // Deleted and trimmed units stop counting against their space's storage quota, whichever node removed them.
    this.engine.onCommit((events) => {
      for (const e of events) {
        const gone = e.deleted ?? e.trimmed;
        if (gone !== undefined && gone.bytes > 0) this.clients.freed(e.clientId, gone.bytes);
      }
    });
  }

  // ---- work units and contexts ----------------------------------------------------

  /** Routes appends of the unit types `typed` handles through it (set once, by the wiring). */
  useTypedAppends(typed: TypedAppends): void {
    this.typed = typed;
  }

  /** Appends one unit to the context it names, in that context's space (`expectSeq`: Engine.append). */
  append(p: Principal, body: unknown, idempotencyKey?: string, expectSeq?: number): Promise<AppendResult> {
    const typed = this.typed;
    if (typed !== undefined && typed.handles(body, idempotencyKey)) {
      return this.run(() => typed.append(p, body, idempotencyKey, (b, k) => this.appendPlain(p, b, k, expectSeq)));
    }
    return this.appendPlain(p, body, idempotencyKey, expectSeq);
  }

  private appendPlain(p: Principal, body: unknown, idempotencyKey: string | undefined, expectSeq: number | undefined): Promise<AppendResult> {
    try {
      const contextId = field(body, 'contextId');
      // A body without a usable contextId is refused by the engine's validation, in the client's own space.
      const space = typeof contextId === 'string' && contextId !== '' ? this.access.contextSpace(p, contextId, 'write') : this.ownSpace(p, 'write');
      return this.metered(
        p,
        body,
        () => this.engine.append(space, body, idempotencyKey, p.clientId, expectSeq),
        (r) => (r.replayed ? 0 : r.json.length),
      );
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * Runs a write under the client's quotas: admitted (rate, and `body`'s size reserved against
   * the storage quota), then counted as `stored(result)` bytes, or given back if it failed.
   */
  private metered<T>(p: Principal, body: unknown, write: () => Promise<T>, stored: (result: T) => number): Promise<T> {
    // The size is only measured when a storage quota will count it (it costs a stringify).
    const size = this.clients.hasStorageQuota(p.clientId) ? JSON.stringify(body ?? null).length : 0;
    const admitted = this.clients.admitWrite(p.clientId, size);
    const run = () =>
      write().then(
        (r) => {
          this.clients.wrote(p.clientId, stored(r), size);
          return r;
        },
        (err: unknown) => {
          this.clients.failed(p.clientId, size);
          throw err;
        },
      );
    return admitted === undefined ? run() : admitted.then(run);
  }

  private ownSpace(p: Principal, need: 'read' | 'write'): string {
    this.access.require(p, need);
    this.clients.touch(p.clientId);
    return p.clientId;
  }

  /** A unit by id, from the first of the principal's spaces that has it and whose context it may see. */
  async getUnit(p: Principal, id: string): Promise<string> {
    this.ownSpace(p, 'read');
    const spaces = this.access.readSpaces(p);
    // One space and no context limit: every unit found is visible, no need to look inside it.
    if (spaces.length === 1 && p.contexts === undefined) return this.engine.getUnit(p.clientId, id);
    for (const space of spaces) {
      let json: string;
      try {
        json = await this.engine.getUnit(space, id);
      } catch (err) {
        if (err instanceof EngramError && err.code === 'WORKUNIT_NOT_FOUND') continue;
        throw err;
      }
      const contextId = (JSON.parse(json) as { contextId: string }).contextId;
      if (this.access.visible(p, space, contextId)) return json;
    }
    throw new EngramError('WORKUNIT_NOT_FOUND', `work unit ${JSON.stringify(id)} does not exist`);
  }

  listUnits(p: Principal, contextId: string, query: { limit?: number; after?: number; before?: number; reverse?: boolean }): Promise<UnitPage> {
    return this.run(() => this.engine.listUnits(this.readSpace(p, contextId), contextId, query));
  }

  /** Waits until this node holds every write acknowledged so far, through any node (Engine.catchUp). */
  catchUp(): Promise<void> {
    return this.run(() => this.engine.catchUp());
  }

  getContext(p: Principal, contextId: string): Promise<ContextView> {
    return this.run(() => this.engine.getContext(this.readSpace(p, contextId), contextId));
  }

  /** A context and the epoch of its current history (Engine.contextHistory). */
  contextHistory(p: Principal, contextId: string): Promise<{ view: ContextView; epoch: string }> {
    return this.run(() => this.engine.contextHistory(this.readSpace(p, contextId), contextId));
  }

  patchContext(p: Principal, contextId: string, patch: unknown, ifMatch?: number | '*'): Promise<ContextView> {
    return this.run(() => {
      const space = this.access.contextSpace(p, contextId, 'write');
      // A PATCH writes too (a new context, up to 1 MiB of meta): the same quotas as a unit.
      return this.metered(
        p,
        patch,
        () => this.engine.patchContext(space, contextId, patch, ifMatch),
        () => 0,
      );
    });
  }

  /**
   * Deletes a context for good (Engine.deleteContext): needs write access to it. Its bytes stop
   * counting against the space's storage quota.
   */
  deleteContext(p: Principal, contextId: string, cascade = false): Promise<ContextDeletionReport> {
    return this.run(async () => {
      const space = this.access.contextSpace(p, contextId, 'write');
      this.clients.touch(p.clientId);
      const d = await this.engine.deleteContext(space, contextId, cascade);
      return { contextId, deleted: true, units: d.units, bytes: d.bytes, forksDeleted: d.forksDeleted };
    });
  }

  /**
   * Forks a context (Engine.forkContext): needs read access to the parent and write access to the
   * fork, which lives in the parent's space.
   */
  forkContext(p: Principal, parentId: string, body: unknown): Promise<ContextView> {
    return this.run(() => {
      const space = this.access.contextSpace(p, parentId, 'read');
      let id = field(body, 'id');
      if (id === undefined && typeof body === 'object' && body !== null && !Array.isArray(body)) {
        // A made-up id must map to the parent's space too: `fork-<ULID>`, or under the parent's id when a group's pattern needs it.
        const made = `fork-${this.ulids.next(Date.now())}`;
        id = this.spaceOrNone(p, made) === space || parentId.length + made.length >= LIMITS.idLength ? made : `${parentId}/${made}`;
        body = { ...body, id };
      }
      const forkSpace = this.access.contextSpace(p, typeof id === 'string' ? id : parentId, 'write');
      if (forkSpace !== space) throw new EngramError('INVALID_FIELD', `id: a fork lives in its parent's space, and ${JSON.stringify(id)} maps to another one`);
      return this.metered(
        p,
        body,
        () => this.engine.forkContext(space, parentId, body),
        () => 0,
      );
    });
  }

  /** The space a context id is written in, or undefined when the principal may not write it. */
  private spaceOrNone(p: Principal, contextId: string): string | undefined {
    try {
      return this.access.contextSpace(p, contextId, 'write');
    } catch {
      return undefined;
    }
  }

  /** The forks of a context that exist now. */
  listForks(p: Principal, contextId: string): Promise<ContextView[]> {
    return this.run(() => this.engine.listForks(this.readSpace(p, contextId), contextId));
  }

  private readSpace(p: Principal, contextId: string): string {
    const space = this.access.contextSpace(p, contextId, 'read');
    this.clients.touch(p.clientId);
    return space;
  }

  /** Contexts of every space the principal reads, merged in id order. */
  async listContexts(p: Principal, query: ListQuery): Promise<ContextPage> {
    this.ownSpace(p, 'read');
    const spaces = this.access.readSpaces(p);
    if (spaces.length === 1 && p.contexts === undefined) return this.engine.listContexts(p.clientId, query);
    return mergePages<ContextView>(
      query.limit ?? LIMITS.listDefault,
      query.after,
      (after) =>
        Promise.all(
          spaces.map(async (space) => {
            const page = await this.engine.listContexts(space, { ...query, after });
            return { space, items: page.contexts, nextCursor: page.nextCursor };
          }),
        ),
      (space, c) => this.access.visible(p, space, c.id),
      (c) => c.id,
    ).then(({ items, nextCursor }) => ({ contexts: items, nextCursor }));
  }

  // ---- locks ------------------------------------------------------------------------

  acquireLock(p: Principal, body: unknown): PendingAcquire {
    try {
      const one = field(body, 'resource');
      const many = field(body, 'resources');
      const names = typeof one === 'string' ? [one] : Array.isArray(many) ? many.filter((r): r is string => typeof r === 'string') : [];
      if (names.length > LIMITS.resourcesPerAcquire) throw new EngramError('INVALID_FIELD', `resources: at most ${LIMITS.resourcesPerAcquire} per acquire`);
      const spaces = new Set(names.map((r) => this.access.resourceSpace(p, r, 'write')));
      if (spaces.size > 1) {
        throw new EngramError('INVALID_FIELD', 'resources: one acquire cannot mix resources of a shared group space with others');
      }
      const space = spaces.values().next().value ?? this.ownSpace(p, 'write');
      // A lock that names a context sends its events to that context's subscribers: it must be a context the caller may write, in the same space.
      const contextId = field(body, 'contextId');
      if (typeof contextId === 'string' && this.access.contextSpace(p, contextId, 'write') !== space) {
        throw new EngramError('INVALID_FIELD', 'contextId: the context is not in the space of the locked resources (see docs/clients.md, groups)');
      }
      this.clients.touch(p.clientId);
      return this.locks.acquire(space, body, p.clientId);
    } catch (err) {
      return { result: Promise.reject(err), cancel: () => undefined };
    }
  }

  renewLock(p: Principal, resource: string, body: unknown): Promise<LockView> {
    return this.run(() => this.locks.renew(this.lockSpace(p, resource, 'write'), resource, body, p.clientId));
  }

  releaseLock(p: Principal, resource: string, agentId: string | undefined, lockId: string | undefined): Promise<LockView> {
    return this.run(() => this.locks.release(this.lockSpace(p, resource, 'write'), resource, agentId, lockId, p.clientId));
  }

  getLock(p: Principal, resource: string): LockView {
    return this.locks.get(this.lockSpace(p, resource, 'read'), resource, p.clientId);
  }

  /**
   * Throws FENCE_REJECTED unless `fence.token` is the current token of `fence.resource` in `space`,
   * held by the principal's client: the check a fenced write gets, for an answer to act on.
   */
  async checkFence(p: Principal, space: string, fence: Fence): Promise<void> {
    if (this.locks.sharedWriters) await this.locks.refresh();
    this.locks.checkFence(space, fence.resource, fence.token, p.clientId);
  }

  private lockSpace(p: Principal, resource: string, need: 'read' | 'write'): string {
    if (typeof resource !== 'string') return this.ownSpace(p, need);
    const space = this.access.resourceSpace(p, resource, need);
    this.clients.touch(p.clientId);
    return space;
  }

  /** Held locks of every space the principal reads, in resource order (the holder's lockId and token only for its own). */
  async listLocks(p: Principal, query: { agentId?: string; prefix?: string; after?: string; limit?: number }): Promise<{ locks: LockView[]; nextCursor: string | null }> {
    this.ownSpace(p, 'read');
    const spaces = this.access.readSpaces(p);
    if (spaces.length === 1 && p.contexts === undefined) return this.locks.list(p.clientId, query);
    const page = await mergePages<LockView>(
      query.limit ?? LIMITS.listDefault,
      query.after,
      async (after) =>
        spaces.map((space) => {
          const l = this.locks.list(space, { ...query, after }, p.clientId);
          return { space, items: l.locks, nextCursor: l.nextCursor };
        }),
      // A lock shows in the space its resource maps to, and not when it names a context the credentials may not see.
      (space, l) => this.access.resourceSpace(p, l.resource, 'read') === space && (l.contextId === undefined || p.contexts === undefined || p.contexts.matches(l.contextId)),
      (l) => l.resource,
    );
    return { locks: page.items, nextCursor: page.nextCursor };
  }

  // ---- streams ----------------------------------------------------------------------

  /**
   * Subscribes to a context in its space, counting the subscription against the client's quota.
   * The subscription is present in the context as the principal's client and `agentId` (none
   * when absent); `presence` asks for presence events.
   */
  async subscribe(p: Principal, contextId: string, sink: StreamSink, options: SubscribeOptions = {}): Promise<Subscription> {
    const space = this.readSpace(p, contextId);
    this.clients.addSubscription(p.clientId);
    let sub: Subscription;
    try {
      const { agentId, ...rest } = options;
      sub = await this.router.subscribe(space, contextId, sink, { ...rest, identity: { clientId: p.clientId, agentId: agentId ?? null } });
    } catch (err) {
      this.clients.removeSubscription(p.clientId);
      throw err;
    }
    if (sub.state === 'closed') this.clients.removeSubscription(p.clientId);
    else sub.onClose = () => this.clients.removeSubscription(p.clientId);
    return sub;
  }

  /** Who is in a context now (every node's connections), for a principal that may read it. */
  presence(p: Principal, contextId: string): ContextPresence {
    const members = this.router.presence.members(this.readSpace(p, contextId), contextId);
    return { contextId, members, connections: members.reduce((n, m) => n + m.connections, 0) };
  }

  subscribeLocks(p: Principal, sink: StreamSink, ref?: string | number): LockSubscription {
    this.ownSpace(p, 'read');
    return this.router.subscribeLocks(this.access.readSpaces(p), sink, ref, p.clientId);
  }

  /** Counts a stream connection (WebSocket, SSE, gRPC Subscribe) against the client's quota. */
  openConnection(p: Principal): () => void {
    this.clients.openConnection(p.clientId);
    let open = true;
    return () => {
      if (!open) return;
      open = false;
      this.clients.closeConnection(p.clientId);
    };
  }

  // ---- search -------------------------------------------------------------------------

  /** Whether this server has a search index (search.enabled). */
  get searchable(): boolean {
    return this.searcher !== undefined;
  }

  /** Search over every space the principal reads, its hits merged by score. */
  async search(p: Principal, input: unknown): Promise<SearchResponse> {
    const started = performance.now();
    const mode = typeof field(input, 'mode') === 'string' ? String(field(input, 'mode')) : 'hybrid';
    const span = this.tracer.enabled ? this.tracer.start('engram.search', { attributes: { 'engram.client.id': p.clientId, 'engram.search.mode': mode } }) : undefined;
    try {
      const r = await this.searchSpaces(p, input, span);
      this.observer.search((performance.now() - started) / 1000, mode, true);
      if (span !== undefined) {
        span.set({ 'engram.search.hits': r.results.length, 'engram.search.total': r.total });
        span.end();
      }
      return r;
    } catch (err) {
      this.observer.search((performance.now() - started) / 1000, mode, false);
      span?.end(err);
      throw err;
    }
  }

  /** Resolves once the index holds every unit up to `pos`; NOT_READY after FRESH_WAIT_MS (and the waiter is forgotten). */
  private async indexedThrough(pos: number): Promise<void> {
    const late = new AbortController();
    const timer = setTimeout(
      () => late.abort(new EngramError('NOT_READY', `fresh search: the index did not reach the last write in ${FRESH_WAIT_MS / 1000} s; retry, or search without fresh`)),
      FRESH_WAIT_MS,
    );
    try {
      await this.searchIndex!.waitFor(pos, late.signal);
    } finally {
      clearTimeout(timer);
    }
  }

  private async searchSpaces(p: Principal, input: unknown, span: TraceSpan | undefined): Promise<SearchResponse> {
    const searcher = this.searcher;
    if (searcher === undefined) throw new EngramError('NOT_FOUND', 'search is disabled on this server (search.enabled: false)');
    this.ownSpace(p, 'read');
    const q = parseSearchQuery(input);
    // The query text as asked (cut short), k as the number of results asked for.
    span?.set({ 'engram.search.query': q.query?.slice(0, QUERY_ATTRIBUTE_CHARS), 'engram.search.k': q.limit, 'engram.search.offset': q.offset, 'engram.search.fresh': q.fresh });
    // Which spaces to ask, and for which of the asked contexts.
    const asks = new Map<string, string[] | undefined>();
    let filtered = false;
    /** Seq bounds of contexts searched through a fork's lineage: their units above it belong to other histories. */
    let bounds: Map<string, number> | undefined;
    if (q.contextIds !== undefined) {
      const scopes: Array<[string, ForkPoint[]]> = [];
      for (const id of q.contextIds) {
        const space = this.access.contextSpace(p, id, 'read');
        scopes.push([space, (await this.engine.historyScope(space, id)) ?? [{ contextId: id, seq: Number.MAX_SAFE_INTEGER }]]);
      }
      if (scopes.some(([, scope]) => scope.length > 1)) {
        bounds = new Map();
        filtered = true;
      }
      for (const [space, scope] of scopes) {
        const ids = asks.get(space) ?? [];
        for (const s of scope) {
          if (!ids.includes(s.contextId)) ids.push(s.contextId);
          if (bounds !== undefined) bounds.set(`${space}\u0000${s.contextId}`, Math.max(bounds.get(`${space}\u0000${s.contextId}`) ?? 0, s.seq));
        }
        asks.set(space, ids);
      }
    } else if (p.contexts !== undefined) {
      // Credentials limited to context patterns: the index is asked only about the contexts they
      // may see, so neither totals nor scores (ranks among all hits) tell of the others.
      for (const space of this.access.readSpaces(p)) {
        const visible = await this.visibleContexts(p, space, SEARCH_LIMITS.filterIds);
        if (visible === undefined) {
          asks.set(space, undefined);
          filtered = true;
        } else if (visible.length > 0) {
          asks.set(space, visible);
        }
      }
    } else {
      for (const space of this.access.readSpaces(p)) asks.set(space, undefined);
      // A context of the client's own space that a group's pattern covers is shadowed (the client's own data: no leak, just left out).
      filtered = asks.size > 1;
    }
    if (asks.size === 0) return { results: [], total: 0, totalRelation: 'eq' };
    // Read your own writes: everything committed before the search came is indexed first.
    if (q.fresh && this.searchIndex !== undefined) await this.indexedThrough(this.engine.committedPosition);
    // Partitions of clients that were idle are rebuilt from the log before they answer.
    await Promise.all([...asks.keys()].map((space) => this.searchIndex?.ensure(space)));
    const depth = Math.min(SEARCH_LIMITS.depthMax, filtered && (p.contexts !== undefined || bounds !== undefined) ? (q.offset + q.limit) * 4 : q.offset + q.limit);
    const per = await Promise.all(
      [...asks].map(([space, contextIds]) => {
        const sq: SearchQuery = asks.size === 1 && !filtered ? { ...q, contextIds: contextIds ?? q.contextIds } : { ...q, contextIds, offset: 0, limit: depth };
        return searcher.query(space, sq).then((r) => ({ space, ...r }));
      }),
    );
    const merged: Array<SearchHit & { space: string }> = [];
    for (const r of per) for (const h of r.hits) merged.push({ ...h, space: r.space });
    if (per.length > 1) merged.sort((a, b) => b.score - a.score);
    const jsons = await this.engine.unitsAt(merged.map((h) => h.pos));
    let results = [];
    for (let i = 0; i < merged.length; i++) {
      const json = jsons[i];
      if (json === undefined) continue;
      const h = merged[i]!;
      if (bounds !== undefined) {
        // Through a fork: what it shares is visible to whoever may read the fork.
        const u = JSON.parse(json) as { contextId: string; seq: number };
        if (u.seq > (bounds.get(`${h.space}\u0000${u.contextId}`) ?? 0)) continue;
      } else if (filtered && !this.access.visible(p, h.space, (JSON.parse(json) as { contextId: string }).contextId)) continue;
      results.push({ workUnit: json, score: h.score, keywordScore: h.keywordScore, vectorScore: h.vectorScore });
    }
    if (per.length > 1 || filtered) results = results.slice(q.offset, q.offset + q.limit);
    const total = per.reduce((n, r) => n + r.total, 0);
    return { results, total, totalRelation: filtered || per.some((r) => r.totalRelation === 'gte') ? 'gte' : 'eq' };
  }

  /** The ids of the contexts in `space` the principal may see, or undefined when there are more than `max` (or too many to look through). */
  private async visibleContexts(p: Principal, space: string, max: number): Promise<string[] | undefined> {
    const out: string[] = [];
    let after: string | undefined;
    // Bounded: at most a few pages of the space's contexts are looked at.
    for (let page = 0; page < 20; page++) {
      const r = await this.engine.listContexts(space, { limit: LIMITS.listMax, after });
      for (const c of r.contexts) {
        if (!this.access.visible(p, space, c.id)) continue;
        if (out.length === max) return undefined;
        out.push(c.id);
      }
      if (r.nextCursor === null) return out;
      after = r.nextCursor;
    }
    return undefined;
  }

  // ---- management (admin) --------------------------------------------------------------

  /** Clients with data in the log or state in memory, in id order. Shared group spaces are not clients and are left out. */
  async listClients(p: Principal, query: { after?: string; limit?: number }): Promise<{ clients: Array<{ clientId: string; active: boolean }>; nextCursor: string | null }> {
    this.access.require(p, 'admin');
    const limit = query.limit ?? LIMITS.listDefault;
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > LIMITS.listMax) {
      throw new EngramError('INVALID_QUERY', `limit: must be an integer from 1 to ${LIMITS.listMax}`);
    }
    const stored = (await this.log.listSpaces({ after: query.after, limit: limit + 1 })).filter((s) => !s.startsWith(GROUP_SPACE_PREFIX));
    const active = new Set(this.clients.active());
    const ids = [...new Set([...stored, ...[...active].filter((id) => query.after === undefined || id > query.after)])].sort();
    // Past the last stored id fetched, the stored list is incomplete: cut the page there.
    const horizon = stored.length > limit ? stored[limit - 1] : undefined;
    const page = ids.filter((id) => horizon === undefined || id <= horizon).slice(0, limit);
    const more = horizon !== undefined || ids.length > page.length;
    return { clients: page.map((clientId) => ({ clientId, active: active.has(clientId) })), nextCursor: more ? (page[page.length - 1] ?? null) : null };
  }

  async clientStatus(p: Principal, clientId: string): Promise<ClientStatus> {
    this.access.require(p, 'admin');
    const usage: SpaceUsage = await this.log.spaceUsage(clientId);
    const a: ClientActivity | undefined = this.clients.activity(clientId);
    const locksHeld = this.locks.heldIn(clientId);
    return {
      clientId,
      known: a !== undefined || usage.contexts > 0 || locksHeld > 0,
      lastActivity: a?.lastActivity ?? null,
      connections: a?.connections ?? 0,
      subscriptions: a?.subscriptions ?? 0,
      activeSince: a?.since ?? null,
      unitsWrittenRecently: a?.unitsWritten ?? 0,
      contexts: usage.contexts,
      unitsWritten: usage.units,
      storageBytes: Math.max(usage.bytes, a?.bytesWritten ?? 0),
      locksHeld,
      groups: this.access.groupsOf(clientId),
      quotas: this.clients.limits(clientId),
    };
  }

  /**
   * Erases a client (admin): every context of its own space, deleted one by one through the
   * engine (so streams, search, memory and other nodes learn of each), every lock held in its
   * space, and its in-memory counters. Safe to re-run: what is already gone counts 0. Writes the
   * client makes meanwhile may create contexts again; revoke its credentials first.
   */
  async eraseClient(p: Principal, clientId: string): Promise<ClientErasure> {
    this.access.require(p, 'admin');
    const report: ClientErasure = { clientId, contexts: 0, units: 0, bytes: 0, locks: 0 };
    // Bounded: each round deletes what one page listed; a client still writing could add more.
    for (let round = 0; round < 10_000; round++) {
      const page = await this.engine.listContexts(clientId, { limit: LIMITS.listMax });
      if (page.contexts.length === 0) break;
      for (const c of page.contexts) {
        try {
          const d = await this.engine.deleteContext(clientId, c.id, true);
          report.contexts += 1 + d.forksDeleted.length;
          report.units += d.units;
          report.bytes += d.bytes;
        } catch (err) {
          if (!(err instanceof EngramError && err.code === 'CONTEXT_NOT_FOUND')) throw err;
        }
      }
    }
    report.locks = await this.locks.releaseSpace(clientId);
    this.clients.forget(clientId);
    return report;
  }

  /** Runs retention now (admin): every context whose policy keeps less than it holds is trimmed. */
  sweepRetention(p: Principal): Promise<SweepReport> {
    return this.run(() => {
      this.access.require(p, 'admin');
      return this.retention?.sweep() ?? Promise.resolve({ contexts: 0, trimmed: 0, units: 0, bytes: 0, summarized: 0 });
    });
  }

  /** Drops the in-memory state of clients idle for `idleMs` (never data); also what the periodic sweep runs. */
  cleanup(p: Principal | undefined, idleMs: number): { dropped: string[]; cachedContextsFreed: number } {
    if (p !== undefined) this.access.require(p, 'admin');
    const dropped = this.clients.cleanup(idleMs);
    // Search partitions are freed in the worker, in order with indexing; a failure only means they stay.
    if (dropped.length > 0) this.searchIndex?.drop(dropped).catch(() => undefined);
    return { dropped, cachedContextsFreed: this.engine.dropCached(new Set(dropped)) };
  }

  // ---- helpers --------------------------------------------------------------------------

  /** Runs a step that may throw synchronously (a check) as a promise. */
  private run<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return fn();
    } catch (err) {
      return Promise.reject(err);
    }
  }
}

/**
 * Merges id-ordered pages of several spaces into one page of `limit` items, dropping those
 * `keep` refuses; fetches further pages while too few are kept and some space has more.
 */
async function mergePages<T>(
  limit: number,
  after: string | undefined,
  fetch: (after: string | undefined) => Promise<Array<{ space: string; items: T[]; nextCursor: string | null }>>,
  keep: (space: string, item: T) => boolean,
  idOf: (item: T) => string,
): Promise<{ items: T[]; nextCursor: string | null }> {
  const items: T[] = [];
  let cursor = after;
  // Bounded: each round moves the cursor past at least one item of some space.
  for (let round = 0; round < 64; round++) {
    const pages = await fetch(cursor);
    const candidates: Array<{ space: string; item: T }> = [];
    let horizon: string | undefined;
    for (const page of pages) {
      for (const item of page.items) candidates.push({ space: page.space, item });
      // Past the last id of a space that has more, the merged order is not yet known.
      if (page.nextCursor !== null && (horizon === undefined || compareUtf8(page.nextCursor, horizon) < 0)) horizon = page.nextCursor;
    }
    // Storage orders ids by their UTF-8 bytes, so the merge must too (UTF-16 order differs above U+FFFF).
    candidates.sort((a, b) => compareUtf8(idOf(a.item), idOf(b.item)));
    for (const c of candidates) {
      const id = idOf(c.item);
      if (horizon !== undefined && compareUtf8(id, horizon) > 0) break;
      cursor = id;
      if (!keep(c.space, c.item)) continue;
      items.push(c.item);
      if (items.length === limit) {
        const rest = candidates.some((x) => compareUtf8(idOf(x.item), id) > 0) || horizon !== undefined;
        return { items, nextCursor: rest ? id : null };
      }
    }
    if (horizon === undefined) return { items, nextCursor: null };
    cursor = horizon;
  }
  return { items, nextCursor: cursor ?? null };
}
