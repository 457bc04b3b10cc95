/**
 * The lock manager: leased locks on named resources, with fencing tokens, FIFO
 * waiting, all-or-none multi-resource acquires, expiry on time, and persistence.
 *
 * Like the engine, it changes state through one group-commit queue: a batch of
 * operations is decided against a staged view, stored atomically (records and the
 * fencing counter), and only then applied, answered and published. So a token is
 * never handed out, and a fence never accepted, before it is durable.
 */
import { EngramError } from '../basics/errors.js';
import { UlidFactory } from '../basics/ids.js';
import { checkResource, compareBytes, parseAcquire, parseRenew, type AcquireRequest, type LockLimits } from './lock-requests.js';
import {
  lockOwner,
  lockView,
  redactedLockView,
  type LockAction,
  type LockChange,
  type LockEntry,
  type LockRecord,
  type LockStore,
  type LockView,
  type StoredLock,
} from './lock-types.js';
import { LIMITS } from '../basics/limits.js';
import { checkId } from '../basics/validate.js';
import { scopedKey, SEP } from '../basics/compound-key.js';
import { GroupCommitQueue } from '../basics/group-commit.js';
import { NO_TRACER, type TraceSpan, type Tracer } from '../basics/tracer.js';

export interface LockEvent {
  clientId: string;
  action: LockAction;
  record: LockRecord;
}

export interface LockOptions extends LockLimits {
  now?: () => number;
  /** A span per acquire that waits (engram.lock.wait); the default does nothing. */
  tracer?: Tracer;
}

/** An acquire in progress; `cancel` withdraws it (the client went away) and frees anything it got. */
export interface PendingAcquire {
  result: Promise<LockView[]>;
  cancel(): void;
}

/** One acquire request, from arrival until it is answered or withdrawn. */
interface Ticket {
  cancelled: boolean;
  waiter: Waiter | undefined;
  /** With tracing on: the span current when the request came, the parent of its wait's span. */
  parent?: string;
}

interface Waiter {
  readonly seq: number;
  readonly clientId: string;
  readonly req: AcquireRequest;
  readonly keys: string[];
  readonly ticket: Ticket;
  state: 'waiting' | 'granting' | 'done';
  timer: NodeJS.Timeout | undefined;
  /** engram.lock.wait, with tracing on. */
  span: TraceSpan | undefined;
  resolve(views: LockView[]): void;
  reject(err: unknown): void;
}

interface Reply<T> {
  resolve(value: T): void;
  reject(err: unknown): void;
}

type LockOp =
  | ({ kind: 'acquire'; clientId: string; req: AcquireRequest; seq: number; waiter: Waiter | undefined; ticket: Ticket } & Reply<LockView[]>)
  | ({ kind: 'renew'; clientId: string; owner: string; resource: string; agentId: string; lockId: string; ttlMs: number } & Reply<LockView>)
  | ({ kind: 'release'; clientId: string; owner: string; resource: string; agentId: string; lockId: string } & Reply<LockView>)
  | { kind: 'expire'; key: string; lockId: string };

/** Times one operation is decided again after other nodes changed its keys first (shared store). */
const MAX_ATTEMPTS = 50;

/** What staging decided for one operation. */
type Outcome = { type: 'ok'; value: LockView[] | LockView | undefined } | { type: 'error'; error: EngramError } | { type: 'wait' } | { type: 'retry' };

const keyOf = scopedKey;
const splitKey = (key: string) => ({ clientId: key.slice(0, key.indexOf(SEP)), resource: key.slice(key.indexOf(SEP) + 1) });

/** A batch being decided: the changes staged so far over the table, and what they emit. */
interface Stage {
  staged: Map<string, StoredLock | null>;
  view: (key: string) => StoredLock | undefined;
  now: number;
  counter: number;
  events: LockEvent[];
}

export class LockManager {
  private readonly now: () => number;
  private readonly ids = new UlidFactory();
  private readonly locks = new Map<string, StoredLock>();
  private readonly expiryTimers = new Map<string, NodeJS.Timeout>();
  /** Waiters per resource key, first come first served. */
  private readonly queues = new Map<string, Waiter[]>();
  /** Every waiter, in arrival order. */
  private waiters: Waiter[] = [];
  private counter = 0;
  private arrivals = 0;
  private readonly queue: GroupCommitQueue<LockOp>;
  private state: 'new' | 'ready' | 'closed' = 'new';
  private readonly listeners: Array<(events: LockEvent[]) => void> = [];
  /** With a shared store: each key's revision as this node last saw it (its feed may bring a change this node already has). */
  private readonly revisions = new Map<string, number>();
  private readonly attempts = new WeakMap<LockOp, number>();

  constructor(
    private readonly store: LockStore,
    private readonly options: LockOptions,
  ) {
    this.now = options.now ?? Date.now;
    // A store other nodes write decides one operation at a time (compare-and-set on its keys).
    this.queue = new GroupCommitQueue<LockOp>({ commit: (ops) => this.commitOps(ops), ...(store.capabilities.sharedWriters ? { maxBatch: 1 } : {}) });
  }

  /**
   * Loads stored locks: running leases come back with their remaining time. Expired ones come
   * back too; their timers fire at once and free them, as any expiry (with a shared store, one
   * node frees each, by compare-and-set).
   */
  async open(): Promise<void> {
    const { counter, locks } = await this.store.open((e) => this.applyEntry(e));
    this.counter = counter;
    for (const e of locks) {
      if (e.record !== null) this.counter = Math.max(this.counter, e.record.token);
      this.applyEntry(e);
    }
    this.state = 'ready';
  }

  /** A key as the store reports it: loaded at open, or changed by another node (this node's own are applied when stored). */
  private applyEntry(e: LockEntry): void {
    const key = keyOf(e.clientId, e.resource);
    if (this.store.capabilities.sharedWriters) {
      if (e.revision <= (this.revisions.get(key) ?? 0)) return;
      this.revisions.set(key, e.revision);
    }
    const prev = this.locks.get(key);
    let event: LockEvent | undefined;
    if (e.record !== null) {
      event = { clientId: e.clientId, action: prev?.record.lockId === e.record.lockId ? 'renewed' : 'acquired', record: e.record };
      this.apply(key, { clientId: e.clientId, record: e.record });
    } else {
      this.apply(key, null);
      if (e.freed !== undefined) event = { clientId: e.clientId, action: e.reason ?? 'released', record: e.freed };
    }
    if (event !== undefined && this.state === 'ready') this.publish([event]);
    if (this.state === 'ready') this.scheduleGrants();
  }

  /** Declared by the store: other nodes change the table too, so a fence is checked after `refresh` (FenceChecker). */
  get sharedWriters(): boolean {
    return this.store.capabilities.sharedWriters;
  }

  /** Brings this node's view up to every change stored so far, before a fence is checked against it. */
  async refresh(): Promise<void> {
    await this.store.sync().catch(() => undefined); // an unreachable store: the write then fails on its own
  }

  private publish(events: LockEvent[]): void {
    for (const listener of this.listeners) {
      try {
        listener(events);
      } catch {
        // A listener's fault must not undo a stored change.
      }
    }
  }

  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'closed';
    for (const w of this.waiters) this.finishWaiter(w, undefined, new EngramError('NOT_READY', 'the server is shutting down'));
    await this.queue.drained();
    for (const t of this.expiryTimers.values()) clearTimeout(t);
    this.expiryTimers.clear();
    // The store stays open: a fenced write still in flight may catch up with it (refresh) until
    // the engine has closed; whoever opened the store closes it after that.
  }

  onEvent(listener: (events: LockEvent[]) => void): void {
    this.listeners.push(listener);
  }

  // ---- requests ----------------------------------------------------------------

  /** `owner`: the acquiring client when `clientId` is a shared space (a group member); only it may act on what it gets. */
  acquire(clientId: string, input: unknown, owner: string = clientId): PendingAcquire {
    const ticket: Ticket = { cancelled: false, waiter: undefined };
    const tracer = this.options.tracer ?? NO_TRACER;
    if (tracer.enabled) ticket.parent = tracer.current();
    const result = new Promise<LockView[]>((resolve, reject) => {
      this.assertReady();
      const req = parseAcquire(input, this.options);
      if (owner !== clientId) req.owner = owner;
      this.enqueue({
        kind: 'acquire',
        clientId,
        req,
        seq: this.arrivals++,
        waiter: undefined,
        ticket,
        resolve: (views) => {
          // Granted after its client went away: give it straight back.
          if (ticket.cancelled) this.releaseAll(clientId, views, owner);
          resolve(views);
        },
        reject,
      });
    });
    return {
      result,
      cancel: () => {
        if (ticket.cancelled) return;
        ticket.cancelled = true;
        const w = ticket.waiter;
        if (w !== undefined && w.state === 'waiting') this.finishWaiter(w, undefined, new EngramError('LOCK_HELD', 'the request was withdrawn'));
      },
    };
  }

  renew(clientId: string, resource: string, input: unknown, owner: string = clientId): Promise<LockView> {
    try {
      this.assertReady();
      checkResource(resource);
      const req = parseRenew(input, this.options);
      return new Promise((resolve, reject) => this.enqueue({ kind: 'renew', clientId, owner, resource, ...req, resolve, reject }));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  release(clientId: string, resource: string, agentId: string | undefined, lockId: string | undefined, owner: string = clientId): Promise<LockView> {
    try {
      this.assertReady();
      checkResource(resource);
      if (agentId === undefined) throw new EngramError('MISSING_FIELD', 'agentId: required');
      if (lockId === undefined) throw new EngramError('MISSING_FIELD', 'lockId: required');
      checkId(agentId, 'agentId');
      checkId(lockId, 'lockId');
      return new Promise((resolve, reject) => this.enqueue({ kind: 'release', clientId, owner, resource, agentId, lockId, resolve, reject }));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * Releases every lock held in a space (its client is being erased), each as its holder would,
   * so followers and other nodes hear of it; returns how many. A lock released meanwhile by its
   * holder is not counted.
   */
  async releaseSpace(clientId: string): Promise<number> {
    let released = 0;
    for (let round = 0; round < 10_000; round++) {
      const now = this.now();
      const held = [...this.locks.values()].filter((l) => l.clientId === clientId && l.record.expiresAt > now);
      if (held.length === 0) break;
      for (const l of held) {
        try {
          await this.release(clientId, l.record.resource, l.record.agentId, l.record.lockId, lockOwner(l));
          released++;
        } catch (err) {
          if (!(err instanceof EngramError && (err.code === 'LOCK_NOT_HELD' || err.code === 'NOT_LOCK_HOLDER'))) throw err;
        }
      }
    }
    return released;
  }

  /** `viewer`: the client asking; the holder's lockId and token are left out unless it is the holder's. */
  get(clientId: string, resource: string, viewer: string = clientId): LockView {
    checkResource(resource);
    const live = this.live(keyOf(clientId, resource));
    if (live === undefined) throw new EngramError('LOCK_NOT_HELD', `${JSON.stringify(resource)} is not locked`);
    return { ...this.viewFor(live, viewer), waiting: this.queues.get(keyOf(clientId, resource))?.length ?? 0 };
  }

  private viewFor(l: StoredLock, viewer: string): LockView {
    return lockOwner(l) === viewer ? lockView(l.record, this.now()) : redactedLockView(l.record, this.now());
  }

  /** Held locks of a client in resource order, optionally of one agent or under a prefix. */
  list(
    clientId: string,
    query: { agentId?: string; prefix?: string; after?: string; limit?: number },
    viewer: string = clientId,
  ): { locks: LockView[]; nextCursor: string | null } {
    const limit = query.limit ?? LIMITS.listDefault;
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > LIMITS.listMax) {
      throw new EngramError('INVALID_QUERY', `limit: must be an integer from 1 to ${LIMITS.listMax}`);
    }
    const now = this.now();
    const found: StoredLock[] = [];
    for (const stored of this.locks.values()) {
      const r = stored.record;
      if (stored.clientId !== clientId || r.expiresAt <= now) continue;
      if (query.agentId !== undefined && r.agentId !== query.agentId) continue;
      if (query.prefix !== undefined && !r.resource.startsWith(query.prefix)) continue;
      if (query.after !== undefined && compareBytes(r.resource, query.after) <= 0) continue;
      found.push(stored);
    }
    found.sort((a, b) => compareBytes(a.record.resource, b.record.resource));
    const page = found.slice(0, limit);
    return { locks: page.map((l) => this.viewFor(l, viewer)), nextCursor: found.length > limit ? page[page.length - 1]!.record.resource : null };
  }

  /**
   * Throws FENCE_REJECTED unless `token` belongs to the current, unexpired holder of
   * `resource`. Called while a unit write is sequenced, so a holder that stalled past its
   * lease cannot write with its old token.
   */
  checkFence(clientId: string, resource: string, token: number, writer: string = clientId): void {
    const live = this.live(keyOf(clientId, resource));
    // In a shared space, only the client that holds the lock may write with its token (tokens are guessable counters).
    if (live === undefined || live.record.token !== token || lockOwner(live) !== writer) {
      throw new EngramError(
        'FENCE_REJECTED',
        live === undefined
          ? `fence: ${JSON.stringify(resource)} is not locked (any more); token ${token} is stale`
          : `fence: token ${token} is not the current holder's for ${JSON.stringify(resource)}`,
        { details: { resource, token, currentToken: live?.record.token ?? null } },
      );
    }
  }

  /** How many unexpired locks a space holds. */
  heldIn(clientId: string): number {
    const now = this.now();
    let n = 0;
    for (const stored of this.locks.values()) if (stored.clientId === clientId && stored.record.expiresAt > now) n++;
    return n;
  }

  stats(): { held: number; waiting: number } {
    return { held: this.locks.size, waiting: this.waiters.length };
  }

  // ---- the queue -------------------------------------------------------------------

  private assertReady(): void {
    if (this.state !== 'ready') throw new EngramError('NOT_READY', 'the lock manager is not running');
  }

  private live(key: string): StoredLock | undefined {
    const s = this.locks.get(key);
    return s !== undefined && s.record.expiresAt > this.now() ? s : undefined;
  }

  private enqueue(op: LockOp): void {
    if (this.state !== 'ready') {
      if (op.kind !== 'expire') op.reject(new EngramError('NOT_READY', 'the server is shutting down'));
      return;
    }
    this.queue.push(op);
  }

  /** Decides operations in order against one staged view of the table (each sees the ones before it). */
  private stageOps(ops: LockOp[]): { stage: Stage; outcomes: Outcome[] } {
    const staged = new Map<string, StoredLock | null>();
    const view = (key: string) => (staged.has(key) ? (staged.get(key) ?? undefined) : this.locks.get(key));
    const stage: Stage = { staged, view, now: this.now(), counter: this.counter, events: [] };
    const outcomes = ops.map((op): Outcome => {
      try {
        return this.decide(op, stage);
      } catch (err) {
        return { type: 'error', error: err instanceof EngramError ? err : new EngramError('INTERNAL', String(err)) };
      }
    });
    return { stage, outcomes };
  }

  /**
   * Decides a batch on this node's view, stores its changes, then applies, answers and publishes
   * them. A store other nodes write takes one operation at a time and stores each change with
   * compare-and-set: if another node changed a key first, the store has brought that change and
   * the operation is decided again. There a new acquisition's token is the revision its write got,
   * so tokens increase across all nodes.
   */
  private async commitOps(ops: LockOp[]): Promise<void> {
    const { stage, outcomes } = this.stageOps(ops);
    const { staged, now } = stage;
    const keys = [...staged.keys()].sort(compareBytes);
    const changes = keys.map((key): LockChange => {
      const value = staged.get(key)!;
      const before = this.locks.get(key);
      const base = { ...splitKey(key), before: before?.record ?? null };
      if (value !== null) return { ...base, record: value.record, fresh: before?.record.lockId !== value.record.lockId };
      const freedBy = stage.events.find((e) => keyOf(e.clientId, e.record.resource) === key && (e.action === 'released' || e.action === 'expired'));
      return { ...base, record: null, fresh: false, reason: freedBy?.action as 'released' | 'expired' | undefined, freed: before?.record };
    });
    let revisions: number[] = [];
    if (changes.length > 0 || stage.counter !== this.counter) {
      let result: Awaited<ReturnType<LockStore['commit']>>;
      try {
        result = await this.store.commit({ changes, counter: stage.counter });
      } catch (err) {
        const failure = err instanceof EngramError ? err : new EngramError('STORAGE_UNAVAILABLE', `the lock table could not be stored: ${(err as Error).message}`, { cause: err });
        ops.forEach((op) => this.settle(op, { type: 'error', error: failure }));
        this.scheduleGrants();
        return;
      }
      if ('conflict' in result) {
        // The store has brought the change that won: decide again on the view it left.
        const again: LockOp[] = [];
        for (const op of ops) {
          const attempts = (this.attempts.get(op) ?? 0) + 1;
          this.attempts.set(op, attempts);
          if (attempts > MAX_ATTEMPTS)
            this.settle(op, {
              type: 'error',
              error: new EngramError('STORAGE_UNAVAILABLE', `the lock changed on other nodes ${MAX_ATTEMPTS} times while this request was decided; try again`),
            });
          else again.push(op);
        }
        this.queue.requeue(again);
        return;
      }
      revisions = result.revisions;
    }
    this.counter = stage.counter;
    const shared = this.store.capabilities.sharedWriters;
    keys.forEach((key, i) => {
      const value = staged.get(key)!;
      if (!shared) {
        this.apply(key, value);
        return;
      }
      // A new acquisition's token is the revision its write got, the one order all nodes share.
      if (changes[i]!.fresh && value !== null) value.record.token = revisions[i]!;
      // The feed may have brought a later change already: keep it. (Kept for freed keys too, or
      // an older change still on its way could bring a freed lock back.)
      if (revisions[i]! <= (this.revisions.get(key) ?? 0)) return;
      this.revisions.set(key, revisions[i]!);
      this.apply(key, value);
    });
    ops.forEach((op, i) => {
      let outcome = outcomes[i]!;
      if (shared && outcome.type === 'ok' && op.kind === 'acquire') {
        // The views were made before the tokens were known.
        outcome = { type: 'ok', value: (outcome.value as LockView[]).map((v) => lockView(staged.get(keyOf(op.clientId, v.resource))!.record, now)) };
      }
      this.settle(op, outcome);
    });
    if (stage.events.length > 0) this.publish(stage.events);
    this.scheduleGrants();
  }

  /** Decides one operation against the staged view, recording puts, deletes and events. */
  private decide(op: LockOp, s: Stage): Outcome {
    const liveIn = (key: string) => {
      const cur = s.view(key);
      return cur !== undefined && cur.record.expiresAt > s.now ? cur : undefined;
    };
    /** An expired record still in the table is dropped with its own event before the key changes hands. */
    const dropExpired = (key: string) => {
      const cur = s.view(key);
      if (cur !== undefined && cur.record.expiresAt <= s.now) s.events.push({ clientId: cur.clientId, action: 'expired', record: cur.record });
    };
    switch (op.kind) {
      case 'expire': {
        const cur = s.view(op.key);
        if (cur === undefined || cur.record.lockId !== op.lockId || cur.record.expiresAt > s.now) return { type: 'ok', value: undefined };
        s.staged.set(op.key, null);
        s.events.push({ clientId: cur.clientId, action: 'expired', record: cur.record });
        return { type: 'ok', value: undefined };
      }
      case 'release':
      case 'renew': {
        const key = keyOf(op.clientId, op.resource);
        const cur = liveIn(key);
        if (cur === undefined) return { type: 'error', error: new EngramError('LOCK_NOT_HELD', `${JSON.stringify(op.resource)} is not locked`) };
        if (cur.record.agentId !== op.agentId || cur.record.lockId !== op.lockId || lockOwner(cur) !== op.owner) {
          return {
            type: 'error',
            error: new EngramError('NOT_LOCK_HOLDER', `${JSON.stringify(op.resource)} is held by another agent or acquisition`, {
              details: { holder: cur.record.agentId },
            }),
          };
        }
        if (op.kind === 'release') {
          s.staged.set(key, null);
          s.events.push({ clientId: op.clientId, action: 'released', record: cur.record });
          return { type: 'ok', value: lockView(cur.record, s.now) };
        }
        const record = { ...cur.record, expiresAt: s.now + op.ttlMs };
        s.staged.set(key, { clientId: op.clientId, record });
        s.events.push({ clientId: op.clientId, action: 'renewed', record });
        return { type: 'ok', value: lockView(record, s.now) };
      }
      case 'acquire': {
        if (op.ticket.cancelled) return { type: 'error', error: new EngramError('LOCK_HELD', 'the request was withdrawn') };
        const { req, clientId } = op;
        const owner = req.owner ?? clientId;
        const keys = req.resources.map((r) => keyOf(clientId, r));
        for (const key of keys) {
          const cur = liveIn(key);
          const mine = cur !== undefined && cur.record.agentId === req.agentId && lockOwner(cur) === owner;
          if (cur !== undefined && !mine) return this.blocked(op, cur.record, req);
          // Waiters come first: a new request may not overtake one queued for this resource.
          const q = this.queues.get(key);
          if (!mine && q !== undefined && q.length > 0 && q[0] !== op.waiter) return this.blocked(op, undefined, req);
        }
        const lockId = this.ids.next(s.now);
        const views: LockView[] = [];
        for (const key of keys) {
          const cur = liveIn(key);
          let record: LockRecord;
          let action: LockAction;
          if (cur !== undefined) {
            // The holder asking again: a longer lease, the same lockId and token.
            record = { ...cur.record, expiresAt: s.now + req.ttlMs, contextId: req.contextId ?? cur.record.contextId };
            action = 'renewed';
          } else {
            dropExpired(key);
            record = {
              resource: key.slice(clientId.length + 1),
              agentId: req.agentId,
              lockId,
              token: ++s.counter,
              expiresAt: s.now + req.ttlMs,
              acquiredAt: s.now,
              contextId: req.contextId,
              ...(req.owner === undefined ? {} : { owner: req.owner }),
            };
            action = 'acquired';
          }
          s.staged.set(key, { clientId, record });
          s.events.push({ clientId, action, record });
          views.push(lockView(record, s.now));
        }
        return { type: 'ok', value: views };
      }
    }
  }

  private blocked(op: Extract<LockOp, { kind: 'acquire' }>, holder: LockRecord | undefined, req: AcquireRequest): Outcome {
    if (op.waiter !== undefined) return { type: 'retry' };
    if (req.waitMs > 0) return { type: 'wait' };
    return { type: 'error', error: lockHeld(holder, req, this.now(), false) };
  }

  /** Answers an operation once its batch is stored (or failed). */
  private settle(op: LockOp, outcome: Outcome): void {
    if (op.kind === 'expire') return;
    if (outcome.type === 'error') {
      if (op.kind === 'acquire' && op.waiter !== undefined) this.finishWaiter(op.waiter, undefined, outcome.error);
      else op.reject(outcome.error);
      return;
    }
    if (op.kind === 'acquire') {
      if (outcome.type === 'ok') {
        if (op.waiter !== undefined) this.finishWaiter(op.waiter, outcome.value as LockView[]);
        else op.resolve(outcome.value as LockView[]);
      } else if (outcome.type === 'retry') {
        op.waiter!.state = 'waiting';
      } else {
        this.addWaiter(op);
      }
      return;
    }
    if (outcome.type === 'ok') (op.resolve as (v: unknown) => void)(outcome.value);
  }

  // ---- waiting -----------------------------------------------------------------------

  private addWaiter(op: Extract<LockOp, { kind: 'acquire' }>): void {
    if (op.ticket.cancelled) {
      op.reject(new EngramError('LOCK_HELD', 'the request was withdrawn'));
      return;
    }
    const keys = op.req.resources.map((r) => keyOf(op.clientId, r));
    const waiter: Waiter = {
      seq: op.seq,
      clientId: op.clientId,
      req: op.req,
      keys,
      ticket: op.ticket,
      state: 'waiting',
      timer: undefined,
      span: this.startWait(op),
      resolve: op.resolve,
      reject: op.reject,
    };
    op.ticket.waiter = waiter;
    // Keep arrival order, also for requests that reached the queue in the same batch.
    insertBySeq(this.waiters, waiter);
    for (const key of keys) {
      let q = this.queues.get(key);
      if (q === undefined) this.queues.set(key, (q = []));
      insertBySeq(q, waiter);
    }
    waiter.timer = setTimeout(() => {
      if (waiter.state !== 'waiting') return;
      const holder = keys.map((k) => this.live(k)).find((x) => x !== undefined);
      this.finishWaiter(waiter, undefined, lockHeld(holder?.record, op.req, this.now(), true));
    }, op.req.waitMs);
  }

  /** A span for the time an acquire waits (none when it is granted or refused at once). */
  private startWait(op: Extract<LockOp, { kind: 'acquire' }>): TraceSpan | undefined {
    const tracer = this.options.tracer ?? NO_TRACER;
    if (!tracer.enabled) return undefined;
    return tracer.start('engram.lock.wait', {
      parent: op.ticket.parent ?? null,
      attributes: {
        'engram.client.id': op.clientId,
        'engram.lock.resources': op.req.resources.join(','),
        'engram.agent.id': op.req.agentId,
        'engram.lock.wait_ms': op.req.waitMs,
        'engram.context.id': op.req.contextId,
      },
    });
  }

  private finishWaiter(w: Waiter, views: LockView[] | undefined, error?: unknown): void {
    if (w.state === 'done') return;
    w.state = 'done';
    clearTimeout(w.timer);
    if (w.span !== undefined) {
      // A wait that ran out or was withdrawn is an answer, not a fault of the server.
      const outcome = views !== undefined ? 'acquired' : w.ticket.cancelled ? 'withdrawn' : error instanceof EngramError && error.code === 'LOCK_HELD' ? 'timeout' : 'failed';
      w.span.set({ 'engram.lock.outcome': outcome });
      w.span.end(outcome === 'failed' ? error : undefined);
    }
    this.waiters = this.waiters.filter((x) => x !== w);
    for (const key of w.keys) {
      const q = this.queues.get(key);
      if (q === undefined) continue;
      const rest = q.filter((x) => x !== w);
      if (rest.length === 0) this.queues.delete(key);
      else this.queues.set(key, rest);
    }
    if (views !== undefined) w.resolve(views);
    else w.reject(error);
    // Whoever stood behind it may be first now.
    if (this.state === 'ready') this.scheduleGrants();
  }

  /** Queues a grant for every waiter that is first in line on all its resources and finds them free. */
  private scheduleGrants(): void {
    for (const w of this.waiters) {
      if (w.state !== 'waiting') continue;
      const ready = w.keys.every((key) => {
        const cur = this.live(key);
        return (cur === undefined || (cur.record.agentId === w.req.agentId && lockOwner(cur) === (w.req.owner ?? w.clientId))) && this.queues.get(key)?.[0] === w;
      });
      if (!ready) continue;
      w.state = 'granting';
      this.enqueue({
        kind: 'acquire',
        clientId: w.clientId,
        req: w.req,
        seq: w.seq,
        waiter: w,
        ticket: w.ticket,
        resolve: (views) => w.resolve(views),
        reject: (err) => w.reject(err),
      });
    }
  }

  // ---- applying ------------------------------------------------------------------------

  /** Puts a stored change into the table and (re)arms its expiry timer. */
  private apply(key: string, value: StoredLock | null): void {
    clearTimeout(this.expiryTimers.get(key));
    this.expiryTimers.delete(key);
    if (value === null) {
      this.locks.delete(key);
      return;
    }
    this.locks.set(key, value);
    const { lockId, expiresAt } = value.record;
    const timer = setTimeout(() => this.enqueue({ kind: 'expire', key, lockId }), Math.max(0, expiresAt - this.now()) + 1);
    timer.unref();
    this.expiryTimers.set(key, timer);
  }

  /** Frees what a withdrawn request was granted after its client went away. */
  private releaseAll(clientId: string, views: LockView[], owner: string): void {
    for (const v of views) this.release(clientId, v.resource, v.agentId, v.lockId, owner).catch(() => undefined);
  }
}

function insertBySeq(list: Waiter[], w: Waiter): void {
  const at = list.findIndex((x) => x.seq > w.seq);
  if (at === -1) list.push(w);
  else list.splice(at, 0, w);
}

function lockHeld(holder: LockRecord | undefined, req: AcquireRequest, now: number, waited: boolean): EngramError {
  const what = req.resources.length === 1 ? JSON.stringify(req.resources[0]) : 'one of the resources';
  const after = waited ? ` after waiting ${req.waitMs} ms` : '';
  if (holder === undefined) {
    return new EngramError('LOCK_HELD', `${what} is promised to an agent waiting before you${after}`, { details: { queued: true } });
  }
  return new EngramError('LOCK_HELD', `${JSON.stringify(holder.resource)} is held by ${JSON.stringify(holder.agentId)}${after}`, {
    details: { resource: holder.resource, holder: holder.agentId, expiresAt: new Date(holder.expiresAt).toISOString(), ttlMs: Math.max(0, holder.expiresAt - now) },
  });
}
