/**
 * EngramClient: the HTTP API and WebSocket streams of one Engram server (docs/api.md,
 * docs/streaming.md, docs/locks.md, docs/search.md) as typed methods.
 *
 *   const engram = new EngramClient('http://127.0.0.1:8080');
 *   const secure = new EngramClient('https://engram.internal:8443', { ca: readFileSync('ca.pem') });
 *   await engram.write({ contextId: 'plan', agentId: 'planner', type: 'MESSAGE', payload: 'hi' });
 *   for await (const unit of engram.subscribe('plan', { since: 0 })) console.log(unit.seq);
 */
import WebSocket from 'ws';
import { EngramClientError, isRetryable } from './errors.js';
import { withLock, type HeldLock, type LockApi } from './locking.js';
import { StreamWriter, type Published } from './stream-writer.js';
import { DEFAULT_BACKOFF, resumingSubscription, type Backoff, type StreamConnection, type StreamEvents } from './resume.js';
import { failureText, tlsFetch, tlsMaterial, type TlsOptions } from './tls.js';
import type {
  AcquireRequest,
  Approval,
  ApprovalPage,
  ApprovalRequest,
  ApprovalStatus,
  ClientCleanup,
  ClientErasure,
  ClientPage,
  ClientStatus,
  Context,
  ForkOptions,
  ContextDeletion,
  ContextPage,
  ContextPatch,
  ContextPresence,
  ContextWindow,
  Fact,
  FactOutcome,
  FactVersion,
  KnowledgeGraph,
  ListQuery,
  Lock,
  Memory,
  MemoryChange,
  MemoryFile,
  MemoryFileEntry,
  NewWorkUnit,
  PresenceEvent,
  PresenceMember,
  RetentionSweep,
  SearchRequest,
  SearchResponse,
  SubscribeOptions,
  TurnMessage,
  TurnResult,
  UnitPage,
  WindowRequest,
  SummarizeRequest,
  WorkUnit,
  WriteResult,
} from './types.js';

/** `ca`, `cert` and `key` (TlsOptions) are for an `https://` URL: a private CA, mutual TLS. */
export interface EngramClientOptions extends TlsOptions {
  /** Reconnect delays of subscriptions. */
  backoff?: Backoff;
  /** Per-request timeout in ms (default 30 s; lock waits add their waitMs). */
  timeoutMs?: number;
  /** An API key or JWT, sent as `Authorization: Bearer` on every request and stream (auth on). */
  token?: string;
  /** The client to act as (X-Client-ID): with auth off, the client; with auth on, only for admin credentials. */
  clientId?: string;
}

const enc = encodeURIComponent;

/** `?k=v&...` of the fields that are set, or '' when none is. */
function queryString(query: Record<string, string | number | boolean | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined) q.set(k, String(v));
  return q.size > 0 ? `?${q}` : '';
}

export class EngramClient implements LockApi {
  private readonly base: string;
  private readonly wsBase: string;
  private readonly backoff: Backoff;
  private readonly timeoutMs: number;
  /** Sent with every request and stream upgrade. */
  private readonly identity: Record<string, string>;
  /** The WebSocket `publish` goes over, opened by the first. */
  private writer: StreamWriter | undefined;
  /** The TLS options that are set, for fetch and for WebSockets; undefined: the defaults. */
  private readonly tls: TlsOptions | undefined;
  private readonly fetch: typeof fetch;

  constructor(url: string, options: EngramClientOptions = {}) {
    this.base = url.replace(/\/+$/, '');
    this.wsBase = this.base.replace(/^http/, 'ws');
    this.backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.identity = {};
    if (options.token !== undefined) this.identity.authorization = `Bearer ${options.token}`;
    if (options.clientId !== undefined) this.identity['x-client-id'] = options.clientId;
    this.tls = tlsMaterial(options);
    if (this.tls !== undefined && !/^https:/i.test(this.base)) {
      throw new EngramClientError('INVALID_FIELD', `ca, cert and key are for an https:// URL, not ${JSON.stringify(url)}`, undefined);
    }
    this.fetch = tlsFetch(this.tls);
  }

  private async call<T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}, extraMs = 0): Promise<{ value: T; res: Response }> {
    let res: Response;
    try {
      res = await this.fetch(this.base + path, {
        method,
        headers: body === undefined ? { ...this.identity, ...headers } : { 'content-type': 'application/json', ...this.identity, ...headers },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs + extraMs),
      });
    } catch (err) {
      throw new EngramClientError('UNAVAILABLE', `${method} ${path}: ${failureText(err, /^https:/i.test(this.base))}`, undefined, undefined, { cause: err });
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = text === '' ? undefined : JSON.parse(text);
    } catch {
      throw new EngramClientError('INTERNAL', `${method} ${path}: answer ${res.status} is not JSON`, res.status);
    }
    if (!res.ok) {
      const e = (json as { error?: { code?: string; message?: string; details?: Record<string, unknown> } } | undefined)?.error;
      throw new EngramClientError(e?.code ?? 'INTERNAL', e?.message ?? `${method} ${path}: HTTP ${res.status}`, res.status, e?.details);
    }
    return { value: json as T, res };
  }

  // ---- shared memory ----

  /** Runs one command of Anthropic's memory tool on a memory space; a tool error comes back as `isError`, not thrown. */
  async memory(space: string, command: unknown, agentId = 'memory'): Promise<{ result: string; isError: boolean }> {
    return (await this.call<{ result: string; isError: boolean }>('POST', `/memory/${enc(space)}/command?agentId=${enc(agentId)}`, command)).value;
  }

  /** Every file of a memory space with its size, in path order. */
  async memoryTree(space: string): Promise<MemoryFileEntry[]> {
    return (await this.call<{ files: MemoryFileEntry[] }>('GET', `/memory/${enc(space)}/tree`)).value.files;
  }

  /** One memory file's text (NOT_FOUND when there is none at `path`). */
  async memoryFile(space: string, path: string): Promise<MemoryFile> {
    return (await this.call<MemoryFile>('GET', `/memory/${enc(space)}/file${queryString({ path })}`)).value;
  }

  /** The changes to a memory path or anything under it (default: the whole space), oldest first. */
  async memoryHistory(space: string, path = '/memories'): Promise<MemoryChange[]> {
    return (await this.call<{ changes: MemoryChange[] }>('GET', `/memory/${enc(space)}/history${queryString({ path })}`)).value.changes;
  }

  /** Remembers a fact: the decision (ADD, UPDATE or NOOP) comes back with its reason. */
  async remember(space: string, fact: { key?: unknown; value?: unknown }, agentId = 'memory'): Promise<FactOutcome> {
    return (await this.call<FactOutcome>('POST', `/facts/${enc(space)}?agentId=${enc(agentId)}`, fact)).value;
  }

  /** Marks a fact deleted (DELETE), or says why not (NOOP); its history stays. */
  async forget(space: string, key: unknown, agentId = 'memory'): Promise<FactOutcome> {
    return (await this.call<FactOutcome>('POST', `/facts/${enc(space)}/forget?agentId=${enc(agentId)}`, { key })).value;
  }

  /** The facts of a space, first added first. */
  async facts(space: string, options: { includeDeleted?: boolean } = {}): Promise<Fact[]> {
    return (await this.call<{ facts: Fact[] }>('GET', `/facts/${enc(space)}${options.includeDeleted ? '?includeDeleted=true' : ''}`)).value.facts;
  }

  /** One fact with every version, oldest first. */
  async fact(space: string, key: string): Promise<Fact & { history: FactVersion[] }> {
    return (await this.call<Fact & { history: FactVersion[] }>('GET', `/facts/${enc(space)}/fact?key=${enc(key)}`)).value;
  }

  /** Live facts most like a query, best first. */
  async recall(space: string, query: unknown, limit = 10): Promise<Array<Fact & { score: number }>> {
    return (await this.call<{ facts: Array<Fact & { score: number }> }>('POST', `/facts/${enc(space)}/recall`, { query, limit })).value.facts;
  }

  /**
   * Hands over a conversation turn: the statements worth keeping are extracted and decided
   * against the known facts (ADD, UPDATE, DELETE, NOOP, each with a reason). `extractor`: auto
   * (the server's language model if it has one, else its rules), rules, or model.
   */
  async processTurn(space: string, messages: TurnMessage[], options: { agentId?: string; extractor?: 'auto' | 'rules' | 'model' } = {}): Promise<TurnResult> {
    const body = { messages, ...(options.extractor === undefined ? {} : { extractor: options.extractor }) };
    return (await this.call<TurnResult>('POST', `/memory/${enc(space)}/process-turn?agentId=${enc(options.agentId ?? 'memory')}`, body)).value;
  }

  /** The facts relevant to a question, best first (hybrid search); with each one's versions when `history` is set. */
  async queryMemory(space: string, query: string, options: { limit?: number; history?: boolean } = {}): Promise<{ ranking: string; memories: Memory[] }> {
    return (await this.call<{ ranking: string; memories: Memory[] }>('POST', `/memory/${enc(space)}/query`, { query, ...options })).value;
  }

  /** Runs one knowledge-graph tool (create_entities, read_graph, ...) with the reference memory server's arguments. */
  async graph(space: string, tool: string, args: unknown = {}, agentId = 'memory'): Promise<unknown> {
    return (await this.call<{ result: unknown }>('POST', `/graph/${enc(space)}/${enc(tool)}?agentId=${enc(agentId)}`, args)).value.result;
  }

  /** The whole knowledge graph of a space (what the `read_graph` tool answers). */
  async readGraph(space: string): Promise<KnowledgeGraph> {
    return (await this.call<KnowledgeGraph>('GET', `/graph/${enc(space)}`)).value;
  }

  // ---- work units and contexts ----

  /** Appends a unit; resolves once it is durable. */
  async write(unit: NewWorkUnit): Promise<WriteResult> {
    const { value, res } = await this.call<WorkUnit>('POST', '/workunit', unit);
    return { workUnit: value, replayed: res.headers.get('idempotent-replayed') === 'true' };
  }

  /**
   * Appends a unit over this client's WebSocket (the stream's `publish` op): the same write as
   * `write()`, cheaper per call, answered with the unit's id and seq once it is durable. The socket
   * opens with the first publish and stays open (without keeping the process alive) until `close()`.
   * When it drops, the publishes waiting on it fail with UNAVAILABLE: stored or not is unknown, so
   * retry with an idempotency key where a unit must be written once.
   */
  async publish(unit: NewWorkUnit): Promise<Published> {
    this.writer ??= new StreamWriter(`${this.wsBase}/stream`, this.identity, this.timeoutMs, this.tls);
    return this.writer.publish(unit);
  }

  /** Closes the WebSocket `publish` uses, if it is open; subscriptions end by themselves. */
  close(): void {
    this.writer?.close();
  }

  async get(id: string): Promise<WorkUnit> {
    return (await this.call<WorkUnit>('GET', `/workunit/${enc(id)}`)).value;
  }

  async list(contextId: string, query: ListQuery = {}): Promise<UnitPage> {
    return (await this.call<UnitPage>('GET', `/workunits/${enc(contextId)}${queryString({ ...query })}`)).value;
  }

  async getContext(contextId: string): Promise<Context> {
    return (await this.call<Context>('GET', `/contexts/${enc(contextId)}`)).value;
  }

  /**
   * Makes a context before its first unit (a context also comes into being with its first
   * write): to name it, list its agents or set its meta up front. A context that exists already
   * gets `init` applied, as with updateContext.
   */
  async createContext(contextId: string, init: ContextPatch = {}): Promise<Context> {
    return (await this.call<Context>('PATCH', `/contexts/${enc(contextId)}`, init)).value;
  }

  /** Changes a context's record; `ifVersion` applies it only at that version (VERSION_MISMATCH otherwise). */
  async updateContext(contextId: string, patch: ContextPatch, options: { ifVersion?: number; ifExists?: boolean } = {}): Promise<Context> {
    const headers: Record<string, string> = {};
    if (options.ifVersion !== undefined) headers['if-match'] = `"${options.ifVersion}"`;
    else if (options.ifExists) headers['if-match'] = '*';
    return (await this.call<Context>('PATCH', `/contexts/${enc(contextId)}`, patch, headers)).value;
  }

  /** Deletes a context for good (its units, keys, search entries and memory state); subscribers are told and closed. */
  async deleteContext(contextId: string, options: { cascade?: boolean } = {}): Promise<ContextDeletion> {
    return (await this.call<ContextDeletion>('DELETE', `/contexts/${enc(contextId)}${options.cascade === true ? '?cascade=true' : ''}`)).value;
  }

  /**
   * Forks a context at `seq` (docs/agents.md, Forks): a new context sharing its units up to that
   * seq, going on from seq + 1. A context with forks is deleted only with `{cascade: true}`.
   */
  async fork(contextId: string, options: ForkOptions): Promise<Context> {
    return (await this.call<Context>('POST', `/contexts/${enc(contextId)}/fork`, options)).value;
  }

  /** The contexts forked from this one directly. */
  async listForks(contextId: string): Promise<Context[]> {
    return (await this.call<{ forks: Context[] }>('GET', `/contexts/${enc(contextId)}/forks`)).value.forks;
  }

  async listContexts(query: { limit?: number; after?: string; prefix?: string } = {}): Promise<ContextPage> {
    return (await this.call<ContextPage>('GET', `/contexts${queryString(query)}`)).value;
  }

  // ---- locks ----

  async acquire(resource: string, request: AcquireRequest): Promise<Lock> {
    return (await this.call<Lock>('POST', '/locks', { resource, ...request }, {}, request.waitMs ?? 0)).value;
  }

  /** Takes every resource or none (in a fixed order, so overlapping sets cannot deadlock). */
  async acquireAll(resources: string[], request: AcquireRequest): Promise<Lock[]> {
    return (await this.call<{ locks: Lock[] }>('POST', '/locks', { resources, ...request }, {}, request.waitMs ?? 0)).value.locks;
  }

  async renew(resource: string, holder: { agentId: string; lockId: string; ttlMs?: number }): Promise<Lock> {
    return (await this.call<Lock>('POST', `/locks/${enc(resource)}/renew`, holder)).value;
  }

  async release(resource: string, holder: { agentId: string; lockId: string }): Promise<Lock> {
    return (await this.call<Lock>('DELETE', `/locks/${enc(resource)}?agentId=${enc(holder.agentId)}&lockId=${enc(holder.lockId)}`)).value;
  }

  async getLock(resource: string): Promise<Lock> {
    return (await this.call<Lock>('GET', `/locks/${enc(resource)}`)).value;
  }

  async listLocks(query: { agentId?: string; prefix?: string; after?: string; limit?: number } = {}): Promise<{ locks: Lock[]; nextCursor: string | null }> {
    return (await this.call<{ locks: Lock[]; nextCursor: string | null }>('GET', `/locks${queryString(query)}`)).value;
  }

  /** Runs `fn` holding `resource`, renewing the lease meanwhile and releasing it after (see locking.ts). */
  withLock<T>(resource: string, request: AcquireRequest, fn: (lock: HeldLock) => Promise<T>): Promise<T> {
    return withLock(this, resource, request, fn);
  }

  // ---- search ----

  async search(request: SearchRequest): Promise<SearchResponse> {
    return (await this.call<SearchResponse>('POST', '/search', request)).value;
  }

  /** Indexing progress, freshness and the embedder's state (admin; docs/search.md). */
  async searchStatus(options: { windowMs?: number } = {}): Promise<Record<string, unknown>> {
    return (await this.call<Record<string, unknown>>('GET', `/search/status${queryString({ window: options.windowMs })}`)).value;
  }

  // ---- clients and operations (admin scope when auth is on; docs/clients.md, "Management") ----

  /** Clients with data in the log or state in memory, in id order (admin). */
  async listClients(query: { limit?: number; after?: string } = {}): Promise<ClientPage> {
    return (await this.call<ClientPage>('GET', `/clients/list${queryString(query)}`)).value;
  }

  /** What one client holds now: contexts, units, bytes, locks, streams, groups, quotas (admin). */
  async clientStatus(clientId: string): Promise<ClientStatus> {
    return (await this.call<ClientStatus>('GET', `/clients/status/${enc(clientId)}`)).value;
  }

  /** Erases a client for good: every context of its space, its locks and counters (admin; docs/lifecycle.md). */
  async eraseClient(clientId: string): Promise<ClientErasure> {
    return (await this.call<ClientErasure>('DELETE', `/clients/${enc(clientId)}`)).value;
  }

  /** Drops now the in-memory state of clients idle this long with no stream open; never data (admin). */
  async cleanupClients(idleThresholdSeconds = 0): Promise<ClientCleanup> {
    return (await this.call<ClientCleanup>('POST', `/clients/cleanup${queryString({ idle_threshold: idleThresholdSeconds })}`)).value;
  }

  /** Runs retention now: trims every context its policy keeps less of than it holds (admin; docs/lifecycle.md). */
  async sweepRetention(): Promise<RetentionSweep> {
    return (await this.call<RetentionSweep>('POST', '/retention/sweep')).value;
  }

  /** Storage, search catch-up, memory, event-loop lag, streams, locks and clients of the server (admin). */
  async healthDetailed(): Promise<Record<string, unknown>> {
    return (await this.call<Record<string, unknown>>('GET', '/health/detailed')).value;
  }

  // ---- streams ----

  /**
   * The units of a context as an async iterator: those after `since` first, then live.
   * It reconnects by itself (backoff with jitter) and resumes after the last unit it
   * received, so a consumer sees every unit once and in order across disconnects and
   * server restarts. Break out of the loop (or abort `signal`) to end it.
   */
  subscribe(contextId: string, options: SubscribeOptions = {}): AsyncIterableIterator<WorkUnit> {
    return resumingSubscription((since, epoch, events) => this.openStream(contextId, since, epoch, events, options), options, this.backoff);
  }

  /** The units of a context to hand a model under a token budget: pinned, relevant to `query`, then recent (docs/agents.md). */
  async window(contextId: string, request: WindowRequest): Promise<ContextWindow> {
    return (await this.call<ContextWindow>('POST', `/contexts/${enc(contextId)}/window`, request)).value;
  }

  /** Has the server's language model summarize a range and store the SUMMARY unit (docs/agents.md#summaries). */
  async summarize(contextId: string, request: SummarizeRequest = {}): Promise<WorkUnit> {
    return (await this.call<WorkUnit>('POST', `/contexts/${enc(contextId)}/summarize`, request)).value;
  }

  // ---- approvals (docs/agents.md#approvals) ----

  /**
   * Asks for an approval of `request.action`, holding `request.lock` (stored only while its token is
   * current: FENCE_REJECTED otherwise). Answers the approval, pending.
   */
  async requestApproval(contextId: string, request: ApprovalRequest, options: { idempotencyKey?: string } = {}): Promise<Approval> {
    const body = { ...request, lock: { resource: request.lock.resource, token: request.lock.token } };
    const headers: Record<string, string> = options.idempotencyKey === undefined ? {} : { 'idempotency-key': options.idempotencyKey };
    return (await this.call<Approval>('POST', `/contexts/${enc(contextId)}/approvals`, body, headers)).value;
  }

  /**
   * The approval now, or once decided or expired waiting up to `waitSeconds` (at most 60). An
   * approval comes back only while its lock is still held with the token it was asked under, else
   * FENCE_REJECTED: a worker that lost its lease must not act on it.
   */
  async getApproval(contextId: string, requestId: string, options: { waitSeconds?: number } = {}): Promise<Approval> {
    const wait = Math.max(0, Math.min(60, Math.floor(options.waitSeconds ?? 0)));
    const path = `/contexts/${enc(contextId)}/approvals/${enc(requestId)}${wait > 0 ? `?wait=${wait}` : ''}`;
    return (await this.call<Approval>('GET', path, undefined, {}, wait * 1000)).value;
  }

  /**
   * Waits for the decision: long polls until the request is decided or expires, or `timeoutMs` (default:
   * until it expires) runs out (then it answers it pending). A server that restarts or cannot be
   * reached meanwhile is asked again (with backoff): the request and its decision are in the log.
   */
  async waitForApproval(contextId: string, requestId: string, options: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<Approval> {
    const deadline = options.timeoutMs === undefined ? undefined : Date.now() + options.timeoutMs;
    for (let attempt = 0; ;) {
      const left = deadline === undefined ? 60_000 : deadline - Date.now();
      let a: Approval;
      try {
        a = await this.getApproval(contextId, requestId, { waitSeconds: Math.max(0, Math.min(60, Math.ceil(left / 1000))) });
        attempt = 0;
      } catch (err) {
        if (!isRetryable(err) || options.signal?.aborted || (deadline !== undefined && Date.now() >= deadline)) throw err;
        const ms = Math.min(this.backoff.maxMs, this.backoff.initialMs * 2 ** attempt++) * (0.5 + Math.random() / 2);
        await new Promise((r) => setTimeout(r, ms));
        continue;
      }
      if (a.status !== 'pending' || options.signal?.aborted || (deadline !== undefined && Date.now() >= deadline)) return a;
    }
  }

  /** Decides a request: its one APPROVAL_DECISION (APPROVAL_DECIDED when another decider was first; APPROVAL_EXPIRED past its expiry). */
  async decideApproval(contextId: string, requestId: string, decision: { decision: 'approve' | 'deny'; reason?: string; by?: string }): Promise<Approval> {
    return (await this.call<Approval>('POST', `/contexts/${enc(contextId)}/approvals/${enc(requestId)}/decision`, decision)).value;
  }

  /** Approvals of every context the client reads (or of one), oldest first: pending ones unless `status` says otherwise. */
  async approvals(query: { status?: ApprovalStatus | 'all'; contextId?: string; limit?: number; after?: string } = {}): Promise<ApprovalPage> {
    return (await this.call<ApprovalPage>('GET', `/approvals${queryString(query)}`)).value;
  }

  /** Who is subscribed to a context now, by client and agent (docs/api.md, "Presence"). */
  async presence(contextId: string): Promise<ContextPresence> {
    return (await this.call<ContextPresence>('GET', `/contexts/${enc(contextId)}/presence`)).value;
  }

  private openStream(contextId: string, since: number | undefined, epoch: string | undefined, events: StreamEvents, options: SubscribeOptions): StreamConnection {
    const onPresence = options.onPresence;
    const url =
      `${this.wsBase}/stream?context=${enc(contextId)}${since === undefined ? '' : `&since=${since}`}${epoch === undefined ? '' : `&epoch=${enc(epoch)}`}` +
      `${options.agentId === undefined ? '' : `&agentId=${enc(options.agentId)}`}${onPresence === undefined ? '' : '&presence=1'}` +
      `${options.onTrimmed === 'continue' ? '&onTrimmed=continue' : ''}`;
    const ws = new WebSocket(url, ['engram.json'], { headers: this.identity, ...this.tls });
    let ended = false;
    const end = (err: EngramClientError, retry: boolean) => {
      if (ended) return;
      ended = true;
      events.closed(err, retry);
    };
    ws.on('message', (data: Buffer) => {
      let frame: {
        event: string;
        workUnit?: WorkUnit;
        headSeq?: number;
        epoch?: string;
        contextId?: string;
        firstSeq?: number;
        continues?: boolean;
        error?: { code: string; message: string };
        action?: PresenceEvent['action'];
        member?: PresenceMember;
        members?: PresenceMember[];
      };
      try {
        frame = JSON.parse(data.toString()) as typeof frame;
      } catch {
        return;
      }
      if (frame.event === 'workunit' && frame.workUnit !== undefined) events.unit(frame.workUnit);
      else if (frame.event === 'subscribed' && frame.contextId === contextId) events.subscribed(frame.headSeq ?? 0, frame.epoch ?? '');
      else if (frame.event === 'trimmed' && frame.contextId === contextId) {
        if (frame.continues !== true) ended = true;
        events.trimmed(frame.firstSeq ?? 1, frame.continues === true);
      } else if (frame.event === 'deleted' && frame.contextId === contextId) {
        ended = true;
        events.deleted();
      } else if (frame.event === 'presence' && onPresence !== undefined && !ended) {
        onPresence({ action: frame.action!, contextId: frame.contextId ?? contextId, members: frame.members ?? (frame.member === undefined ? [] : [frame.member]) });
      } else if (frame.event === 'error' && frame.error !== undefined) {
        // The subscription was refused (e.g. `since` beyond the head): only a busy server is worth retrying.
        const err = new EngramClientError(frame.error.code, frame.error.message, undefined);
        end(err, isRetryable(err));
        ws.terminate();
      }
    });
    // The server refused the upgrade (a bad id, `since` beyond the head): retrying unchanged cannot help.
    ws.on('unexpected-response', (req, res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => {
        const status = res.statusCode ?? 0;
        let e: { code?: string; message?: string } | undefined;
        try {
          e = (JSON.parse(body) as { error?: { code?: string; message?: string } }).error;
        } catch {
          /* not JSON */
        }
        const retry = status >= 500 || status === 429;
        end(new EngramClientError(e?.code ?? 'INTERNAL', e?.message ?? `stream refused with HTTP ${status}`, status), retry);
        req.destroy();
      });
    });
    ws.on('error', () => {
      /* 'close' follows and decides */
    });
    ws.on('close', (code: number, reason: Buffer) => {
      const retry = !(code >= 4400 && code < 4500);
      let reasonCode = 'UNAVAILABLE';
      try {
        reasonCode = (JSON.parse(reason.toString()) as { code?: string }).code ?? reasonCode;
      } catch {
        /* plain text or empty */
      }
      end(new EngramClientError(reasonCode, `stream closed (${code}) ${reason.toString()}`, code), retry);
    });
    return {
      close: () => {
        ended = true;
        ws.terminate();
      },
      pause: () => ws.pause(),
      resume: () => ws.resume(),
    };
  }
}
