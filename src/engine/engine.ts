/**
 * The engine: appends work units and context changes through one group-commit
 * queue, and serves reads from a bounded in-memory tail or the log.
 *
 * Ordering: seqs are assigned when a batch is formed, from the committed head of
 * each context, and only one batch is in flight. A batch that fails to commit
 * therefore leaves no gap: its seqs are handed out again to the next batch.
 */
export type { AppendResult, CommitEvent, ContextHandle, ContextPage, EngineOptions, FenceChecker, UnitPage } from './engine-types.js';
import { summaryRange } from '../basics/summary.js';
import { EngramError } from '../basics/errors.js';
import { applyPatch } from './context-patch.js';
import { UlidFactory } from '../basics/ids.js';
import { LIMITS } from '../basics/limits.js';
import type { CommitPart, CommittedContext, ContextBase, ContextDeletion, ContextOutcome, ContextTrim, IdempotencyEntry, Log, UnitEntry } from './log.js';
import { ContextCache, type ContextState } from './context-cache.js';
import type { AppendResult, CommitEvent, ContextHandle, ContextPage, EngineOptions, UnitPage } from './engine-types.js';
import { contextView, type ContextPatch, type ContextRecord, type ContextView, type ForkPoint, type WorkUnitDraft } from '../basics/types.js';
import { checkId, normalizeListQuery, parseContextPatch, parseForkRequest, parseWorkUnitDraft, type ForkRequest } from '../basics/validate.js';
import { joinKey, scopedKey } from '../basics/compound-key.js';
import { GroupCommitQueue } from '../basics/group-commit.js';
import { NO_TRACER, type TraceSpan, type Tracer } from '../basics/tracer.js';
import { isTraceparent } from '../basics/trace.js';
import { forkFirstSeq, inHistory, lineageFor, piecesOf, sharedThrough } from './forks.js';

interface Waiter<T> {
  resolve: (value: T) => void;
  reject: (err: unknown) => void;
}

interface AppendOp extends Waiter<AppendResult> {
  kind: 'append';
  /** Times the log refused it because another node moved the context first. */
  attempts?: number;
  clientId: string;
  key: string;
  draft: WorkUnitDraft;
  /** Its engram.write span, with tracing on. */
  span: TraceSpan | undefined;
}

interface PatchOp extends Waiter<ContextRecord> {
  kind: 'patch';
  attempts?: number;
  clientId: string;
  key: string;
  contextId: string;
  patch: ContextPatch;
  ifMatch: number | '*' | undefined;
}

/** Deleting a context: alone in its batch (commitOps), so no write of the context lands between its read and its removal. */
interface DeleteOp extends Waiter<ContextDeletion & { forksDeleted: string[] }> {
  kind: 'delete';
  clientId: string;
  key: string;
  contextId: string;
  /** Delete its forks too (recursively); without it a context with forks is refused (CONTEXT_HAS_FORKS). */
  cascade: boolean;
}

/** Forking a context: alone in its batch, since it writes two records (the fork's and its parent's list of forks). */
interface ForkOp extends Waiter<ContextRecord> {
  kind: 'fork';
  attempts?: number;
  clientId: string;
  key: string;
  parentId: string;
  fork: ForkRequest;
}

/** Trimming a context below a seq: alone in its batch too, so the record it reads is the one it writes. */
interface TrimOp extends Waiter<ContextTrim | undefined> {
  kind: 'trim';
  clientId: string;
  key: string;
  contextId: string;
  firstSeq: number;
  keepPinned: boolean;
}

type Op = AppendOp | PatchOp | DeleteOp | TrimOp | ForkOp;
type WriteOp = AppendOp | PatchOp;

/** A context's record as it will be once the batch being formed commits. */
interface Staged {
  state: ContextState;
  clientId: string;
  record: ContextRecord | undefined;
  /** The record staging started from. */
  base: ContextBase;
  /** Ops staged on it in this batch, and whether one was an append with an idempotency key. */
  ops: number;
  keyed: boolean;
  /** Whether `record` is a copy with a new head that must be stored (the context has a part in the batch). */
  dirty: boolean;
  /** Whether more than the head changed (creation, PATCH, a new agent). */
  changed: boolean;
  units: UnitEntry[];
  idempotency: IdempotencyEntry[];
  /** What the log answered for the context's part. */
  answer?: ContextOutcome;
}

const SWEEP_INTERVAL_MS = 60_000;
const SWEEP_MAX = 10_000;
/** Restagings of one write after conflicts with other nodes before it fails. */
const MAX_ATTEMPTS = 100;

export class Engine {
  private readonly ulids = new UlidFactory();
  private readonly now: () => number;
  private readonly contexts: ContextCache;
  private readonly inflightKeys = new Map<string, Promise<AppendResult>>();
  private readonly queue: GroupCommitQueue<Op>;
  private state: 'new' | 'ready' | 'closing' | 'closed' = 'new';
  private readonly readyWaiters = new Set<(ok: boolean) => void>();
  private sweepTimer: NodeJS.Timeout | undefined;
  /** Log position of the last committed unit. */
  private position = 0;
  private readonly commitListeners: Array<(events: CommitEvent[]) => void> = [];
  private readonly tracer: Tracer;
  /** With tracing on: the write span of each unit staged and not yet reported, by log position (CommitEvent.traces). */
  private readonly writeSpans = new Map<number, TraceSpan>();

  constructor(
    private readonly log: Log,
    private readonly options: EngineOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.tracer = options.tracer ?? NO_TRACER;
    this.contexts = new ContextCache(log, options);
    this.queue = new GroupCommitQueue<Op>({
      commit: (ops) => this.commitOps(ops),
      maxBatch: options.maxBatchUnits,
      // Eviction only runs between flushes, so the states a batch loaded stay put.
      onFlushStart: () => (this.contexts.frozen = true),
      onFlushEnd: () => {
        this.contexts.frozen = false;
        this.contexts.evict();
      },
    });
    // The log decides what is committed: the engine applies parts as the log reports them, in
    // log order, its own writes and (on a shared log) other nodes' alike.
    log.follow((parts, position) => this.applyCommitted(parts, position));
  }

  get ready(): boolean {
    return this.state === 'ready';
  }

  /** Resolves true once storage is open (at once if it is), false if it did not open within `ms`. */
  whenReady(ms: number): Promise<boolean> {
    if (this.state === 'ready') return Promise.resolve(true);
    if (this.state !== 'new') return Promise.resolve(false);
    return new Promise((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(timer);
        this.readyWaiters.delete(done);
        resolve(ok);
      };
      const timer = setTimeout(() => done(false), ms);
      timer.unref();
      this.readyWaiters.add(done);
    });
  }

  async open(): Promise<void> {
    await this.log.open();
    this.position = await this.log.lastPosition();
    this.state = 'ready';
    for (const w of [...this.readyWaiters]) w(true);
    this.sweepTimer = setInterval(() => {
      this.log.sweepIdempotency(this.now(), SWEEP_MAX).catch(() => undefined);
    }, SWEEP_INTERVAL_MS);
    this.sweepTimer.unref();
  }

  /** Stops taking writes, lets queued ones commit, then closes the log. */
  async close(): Promise<void> {
    if (this.state === 'closed' || this.state === 'closing') return;
    const wasOpen = this.state === 'ready';
    this.state = 'closing';
    clearInterval(this.sweepTimer);
    await this.queue.drained();
    await Promise.allSettled([...this.inflightKeys.values()]);
    if (wasOpen) await this.log.close();
    this.state = 'closed';
  }

  // ---- writes ----------------------------------------------------------------

  /**
   * Validates and appends one unit; resolves once it is durable. `writer`: the client writing,
   * when `clientId` is a shared space (its fence must be a lock that client holds). `expectSeq`:
   * the seq the unit must get, else it fails with SEQ_CONFLICT (a change decided on the context
   * as it stood, which another writer, on this node or another, has moved since).
   */
  append(clientId: string, input: unknown, headerKey?: string, writer?: string, expectSeq?: number): Promise<AppendResult> {
    try {
      this.assertReady();
      const draft = parseWorkUnitDraft(input, headerKey);
      if (writer !== undefined && writer !== clientId) draft.writer = writer;
      if (expectSeq !== undefined) draft.expectSeq = expectSeq;
      // With tracing off this is one property read: no span, no closure.
      const span = this.tracer.enabled ? this.startWrite(clientId, draft) : undefined;
      const fences = this.options.fences;
      let written: Promise<AppendResult>;
      if (draft.fence !== undefined && fences?.sharedWriters === true) {
        // Another node may have given the lock to someone else a moment ago: check the shared lock table first.
        written = fences.refresh().then(() => this.appendDraft(clientId, draft, span));
      } else {
        written = this.appendDraft(clientId, draft, span);
      }
      return span === undefined ? written : endWrite(span, written);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** The write's span: a child of the unit's traceparent when it has one, else of the span current here (a memory operation). */
  private startWrite(clientId: string, draft: WorkUnitDraft): TraceSpan {
    const tp = draft.meta.traceparent;
    const remote = isTraceparent(tp);
    return this.tracer.start('engram.write', {
      ...(remote ? { parent: tp } : {}),
      kind: remote ? 'server' : 'internal',
      attributes: {
        'engram.client.id': clientId,
        'engram.context.id': draft.contextId,
        'engram.unit.type': draft.type,
        'engram.agent.id': draft.agentId,
      },
    });
  }

  private appendDraft(clientId: string, draft: WorkUnitDraft, span: TraceSpan | undefined): Promise<AppendResult> {
    if (draft.idempotencyKey !== undefined) return this.appendOnce(clientId, draft, draft.idempotencyKey, span);
    return this.enqueueAppend(clientId, draft, span);
  }

  private enqueueAppend(clientId: string, draft: WorkUnitDraft, span: TraceSpan | undefined): Promise<AppendResult> {
    return new Promise<AppendResult>((resolve, reject) => {
      this.enqueue({ kind: 'append', clientId, key: scopedKey(clientId, draft.contextId), draft, span, resolve, reject });
    });
  }

  /** An append carrying an idempotency key: the first write with the key wins, retries get its unit. */
  private appendOnce(clientId: string, draft: WorkUnitDraft, idemKey: string, span: TraceSpan | undefined): Promise<AppendResult> {
    const k = joinKey(clientId, draft.contextId, idemKey);
    const inflight = this.inflightKeys.get(k);
    if (inflight !== undefined) return inflight.then((r) => ({ ...r, replayed: true }));
    const attempt = (async (): Promise<AppendResult> => {
      const prior = await this.log.getIdempotency(clientId, draft.contextId, idemKey);
      if (prior !== undefined && prior.expiresAt > this.now()) {
        const json = await this.log.readUnits(clientId, draft.contextId, prior.seq, prior.seq);
        if (json[0] !== undefined) return { id: prior.id, contextId: draft.contextId, seq: prior.seq, json: json[0], replayed: true };
      }
      return this.enqueueAppend(clientId, draft, span);
    })();
    this.inflightKeys.set(k, attempt);
    const forget = () => this.inflightKeys.delete(k);
    attempt.then(forget, forget);
    return attempt;
  }

  /**
   * Applies a PATCH to a context, creating it if needed. `ifMatch` is the version the
   * caller last saw ('*' for any existing version); a stale one fails with VERSION_MISMATCH.
   */
  async patchContext(clientId: string, contextId: string, input: unknown, ifMatch?: number | '*'): Promise<ContextView> {
    this.assertReady();
    checkId(contextId, 'contextId');
    const patch = parseContextPatch(input);
    // Checked before the PATCH is queued: a deletion or trim of the context that commits in between
    // can leave a pin naming a unit that is gone (docs/lifecycle.md notes it); units never change.
    for (const unitId of patch.pinUnits) {
      const loc = await this.log.locateUnit(clientId, unitId);
      if (loc === undefined || (loc.contextId !== contextId && !(await this.sharesUnit(clientId, contextId, loc.contextId, loc.seq)))) {
        throw new EngramError('UNIT_NOT_IN_CONTEXT', `pinUnits: ${JSON.stringify(unitId)} is not a work unit of this context`);
      }
    }
    this.assertReady();
    const record = await new Promise<ContextRecord>((resolve, reject) => {
      this.enqueue({ kind: 'patch', clientId, key: scopedKey(clientId, contextId), contextId, patch, ifMatch, resolve, reject });
    });
    return this.viewOf(clientId, record);
  }

  /** Whether a unit of another context is part of this one's history (a fork shares it). */
  private async sharesUnit(clientId: string, contextId: string, unitContext: string, seq: number): Promise<boolean> {
    const record = (await this.contexts.get(clientId, scopedKey(clientId, contextId))).record;
    return record !== undefined && inHistory(record, unitContext, seq);
  }

  /**
   * Deletes a context for good (Log.deleteContext): its units, record, idempotency keys and, through
   * the commit listeners, its search entries and subscriptions. A later write to the id starts a
   * new history, with a new incarnation. CONTEXT_NOT_FOUND when there is no such context.
   */
  deleteContext(clientId: string, contextId: string, cascade = false): Promise<ContextDeletion & { forksDeleted: string[] }> {
    try {
      checkId(contextId, 'contextId');
      this.assertReady();
    } catch (err) {
      return Promise.reject(err);
    }
    return new Promise((resolve, reject) => {
      this.enqueue({ kind: 'delete', clientId, key: scopedKey(clientId, contextId), contextId, cascade, resolve, reject });
    });
  }

  /**
   * Forks a context at a seq (docs/agents.md, Forks): a new context, in the same space, whose
   * seqs up to `seq` are the parent's (read through it, never copied) and whose own units start at
   * seq + 1. CONTEXT_NOT_FOUND without the parent, FORK_BEYOND_HEAD past its head, CONTEXT_EXISTS
   * when the id is taken; nothing is stored then.
   */
  forkContext(clientId: string, parentId: string, input: unknown): Promise<ContextView> {
    try {
      checkId(parentId, 'contextId');
      this.assertReady();
      const fork = parseForkRequest(input);
      fork.id ??= `fork-${this.ulids.next(this.now())}`;
      return new Promise<ContextRecord>((resolve, reject) => {
        this.enqueue({ kind: 'fork', clientId, key: scopedKey(clientId, fork.id!), parentId, fork, resolve, reject });
      }).then((record) => this.viewOf(clientId, record));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** The forks of a context that exist (its record's list, each checked: a fork deleted in a crash may linger there). */
  async listForks(clientId: string, contextId: string): Promise<ContextView[]> {
    const state = await this.existingState(clientId, contextId);
    const out: ContextView[] = [];
    for (const r of await this.liveForks(clientId, state.record)) out.push(await this.viewOf(clientId, r));
    return out;
  }

  private async liveForks(clientId: string, record: ContextRecord): Promise<ContextRecord[]> {
    const out: ContextRecord[] = [];
    for (const id of record.forks ?? []) {
      const s = await this.contexts.get(clientId, scopedKey(clientId, id));
      if (s.record?.forkOf?.contextId === record.id) out.push(s.record);
    }
    return out;
  }

  private async commitFork(op: ForkOp): Promise<void> {
    try {
      const f = op.fork;
      const parent = await this.contexts.get(op.clientId, scopedKey(op.clientId, op.parentId));
      const target = await this.contexts.get(op.clientId, op.key);
      const p = parent.record;
      if (p === undefined) throw new EngramError('CONTEXT_NOT_FOUND', `context ${JSON.stringify(op.parentId)} does not exist`);
      if (target.record !== undefined) throw new EngramError('CONTEXT_EXISTS', `context ${JSON.stringify(f.id)} already exists; a fork needs a new id`);
      if (f.seq > p.headSeq) {
        throw new EngramError('FORK_BEYOND_HEAD', `seq: ${f.seq} is beyond the head seq ${p.headSeq} of context ${JSON.stringify(op.parentId)}`, {
          details: { headSeq: p.headSeq },
        });
      }
      const lineage = lineageFor(p, f.seq);
      // The parent's pins the fork shares stay pinned on it.
      const pins: string[] = [];
      for (const unitId of p.pinnedUnits) {
        const loc = await this.log.locateUnit(op.clientId, unitId);
        if (loc !== undefined && loc.seq <= f.seq && inHistory({ ...p, lineage }, loc.contextId, loc.seq)) pins.push(unitId);
      }
      const now = this.now();
      const record: ContextRecord = {
        id: f.id!,
        displayName: f.displayName ?? f.id!,
        agentIds: [...p.agentIds],
        pinnedUnits: pins,
        meta: f.meta,
        createdAt: now,
        updatedAt: now,
        version: 1,
        headSeq: f.seq,
        forkOf: { contextId: op.parentId, seq: f.seq },
        lineage,
      };
      if (target.incarnation !== undefined) record.incarnation = target.incarnation;
      const nextParent: ContextRecord = { ...p, forks: [...(p.forks ?? []), record.id], version: p.version + 1, updatedAt: now };
      const answers = await this.log.commit({
        parts: [
          { clientId: op.clientId, record, changed: true, base: { headSeq: 0, version: 0 }, units: [], idempotency: [] },
          { clientId: op.clientId, record: nextParent, changed: true, base: { headSeq: p.headSeq, version: p.version }, units: [], idempotency: [] },
        ],
      });
      if (answers.some((a) => a.status === 'conflict')) {
        op.attempts = (op.attempts ?? 0) + 1;
        if (op.attempts > MAX_ATTEMPTS) throw new EngramError('STORAGE_UNAVAILABLE', 'the parent changed on other nodes too often while the fork was staged; try again');
        this.queue.requeue([op]);
        return;
      }
      const failed = answers.find((a) => a.status === 'failed');
      if (failed !== undefined) throw storageError(failed.error);
      op.resolve(record);
    } catch (err) {
      op.reject(storageError(err));
    }
  }

  /** Writes a changed record of a context that has no other part in flight (the list of its forks); false when the log refused it. */
  private async commitRecord(clientId: string, before: ContextRecord, next: ContextRecord): Promise<boolean> {
    const [answer] = await this.log.commit({
      parts: [{ clientId, record: next, changed: true, base: { headSeq: before.headSeq, version: before.version }, units: [], idempotency: [] }],
    });
    return answer?.status === 'committed';
  }

  /** A record as clients see it: a fork's first seq is what retention left of its whole history. */
  private viewOf(clientId: string, record: ContextRecord): ContextView | Promise<ContextView> {
    const view = contextView(record);
    if (record.lineage === undefined || record.lineage.length === 0) return view;
    return this.historyFirstSeq(clientId, record).then((first) => {
      view.firstSeq = first;
      return view;
    });
  }

  private async historyFirstSeq(clientId: string, record: ContextRecord): Promise<number> {
    const firsts = new Map<string, number | undefined>();
    for (const s of record.lineage ?? []) {
      const st = await this.contexts.get(clientId, scopedKey(clientId, s.contextId));
      firsts.set(s.contextId, st.record === undefined ? undefined : (st.record.firstSeq ?? 1));
    }
    return forkFirstSeq(record, (id) => firsts.get(id));
  }

  /**
   * Where a search of this context looks: the context itself (to every seq) and each context of
   * its lineage up to the seq it shares. Undefined when the context does not exist.
   */
  async historyScope(clientId: string, contextId: string): Promise<ForkPoint[] | undefined> {
    this.assertReady();
    const state = await this.contexts.get(clientId, scopedKey(clientId, contextId));
    if (state.record === undefined) return undefined;
    return [...(state.record.lineage ?? []), { contextId, seq: Number.MAX_SAFE_INTEGER }];
  }

  /**
   * Removes a context's units below `firstSeq` (retention): its head stays, seqs are never reused,
   * and the pinned units stay (readable by id) unless `keepPinned` is false; SUMMARY units always
   * stay (Log.trimContext). Resolves undefined when there was nothing to trim.
   */
  trimContext(clientId: string, contextId: string, firstSeq: number, keepPinned = true): Promise<ContextTrim | undefined> {
    try {
      checkId(contextId, 'contextId');
      this.assertReady();
      if (!Number.isSafeInteger(firstSeq) || firstSeq < 1) throw new EngramError('INVALID_FIELD', `firstSeq: must be a whole number from 1, got ${firstSeq}`);
    } catch (err) {
      return Promise.reject(err);
    }
    return new Promise((resolve, reject) => {
      this.enqueue({ kind: 'trim', clientId, key: scopedKey(clientId, contextId), contextId, firstSeq, keepPinned, resolve, reject });
    });
  }

  private async commitTrim(op: TrimOp): Promise<void> {
    try {
      const record = await this.log.getContext(op.clientId, op.contextId);
      const keep = new Set(op.keepPinned ? (record?.pinnedUnits ?? []) : []);
      op.resolve(await this.log.trimContext(op.clientId, op.contextId, op.firstSeq, keep));
    } catch (err) {
      op.reject(storageError(err));
    }
  }

  private async commitDelete(op: DeleteOp): Promise<void> {
    try {
      const record = (await this.contexts.get(op.clientId, op.key)).record;
      const forks = record === undefined ? [] : await this.liveForks(op.clientId, record);
      if (forks.length > 0 && !op.cascade) {
        const ids = forks.map((r) => r.id);
        throw new EngramError('CONTEXT_HAS_FORKS', `context ${JSON.stringify(op.contextId)} has forks (${ids.join(', ')}); delete them first, or delete with cascade`, {
          details: { forks: ids },
        });
      }
      // Forks of forks first, so no fork is ever left without the history it reads through.
      const forksDeleted: string[] = [];
      let units = 0;
      let bytes = 0;
      const deleteTree = async (r: ContextRecord): Promise<void> => {
        for (const child of await this.liveForks(op.clientId, r)) {
          await deleteTree(child);
          const d = await this.log.deleteContext(op.clientId, child.id);
          if (d === undefined) continue;
          forksDeleted.push(child.id);
          units += d.units;
          bytes += d.bytes;
        }
      };
      if (record !== undefined) await deleteTree(record);
      const deletion = await this.log.deleteContext(op.clientId, op.contextId);
      if (deletion === undefined) {
        op.reject(new EngramError('CONTEXT_NOT_FOUND', `context ${JSON.stringify(op.contextId)} does not exist`));
        return;
      }
      const parentId = record?.forkOf?.contextId;
      if (parentId !== undefined) await this.forgetFork(op.clientId, parentId, op.contextId);
      // What a cascade removed counts in the answer: the forks' own units and bytes too.
      op.resolve({ ...deletion, units: deletion.units + units, bytes: deletion.bytes + bytes, forksDeleted });
    } catch (err) {
      op.reject(storageError(err));
    }
  }

  /** Takes a deleted fork off its parent's list; a try that fails leaves an entry that liveForks skips. */
  private async forgetFork(clientId: string, parentId: string, forkId: string): Promise<void> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const p = (await this.contexts.get(clientId, scopedKey(clientId, parentId))).record;
      if (p?.forks === undefined || !p.forks.includes(forkId)) return;
      const next: ContextRecord = { ...p, forks: p.forks.filter((id) => id !== forkId), version: p.version + 1, updatedAt: this.now() };
      if (next.forks!.length === 0) delete next.forks;
      if (await this.commitRecord(clientId, p, next).catch(() => false)) return;
    }
  }

  private assertReady(): void {
    if (this.state !== 'ready') {
      throw new EngramError('NOT_READY', this.state === 'new' ? 'storage is still opening' : 'the server is shutting down');
    }
  }

  private enqueue(op: Op): void {
    if (this.state !== 'ready') {
      op.reject(new EngramError('NOT_READY', 'the server is shutting down'));
      return;
    }
    this.queue.push(op);
  }

  private async commitOps(batch: Op[]): Promise<void> {
    // A deletion or a trim is a batch of its own: the ops before it commit first, those after it wait for the next batch.
    const cut = batch.findIndex((op) => op.kind === 'delete' || op.kind === 'trim' || op.kind === 'fork');
    if (cut === 0) {
      this.queue.requeue(batch.slice(1));
      const op = batch[0] as DeleteOp | TrimOp | ForkOp;
      return op.kind === 'delete' ? this.commitDelete(op) : op.kind === 'trim' ? this.commitTrim(op) : this.commitFork(op);
    }
    if (cut > 0) this.queue.requeue(batch.slice(cut));
    const ops = (cut > 0 ? batch.slice(0, cut) : batch) as WriteOp[];
    // Load every context the batch touches; eviction only runs between batches, so these stay put.
    for (const op of ops) {
      const s = this.contexts.get(op.clientId, op.key);
      if (s instanceof Promise) {
        try {
          await s;
        } catch (err) {
          for (const o of ops) o.reject(storageError(err));
          return;
        }
      }
    }
    const now = this.now();
    const ts = new Date(now).toISOString();
    const staged = new Map<string, Staged>();
    // Like seqs, positions are handed out from the committed one, so a failed batch leaves no gap.
    const cursor = { pos: this.position };
    const outcomes: Array<AppendResult | ContextRecord | EngramError | undefined> = [];
    /** Ops left for the next batch (a keyed unit goes alone to a shared log). */
    const deferred: WriteOp[] = [];
    const alone = this.log.capabilities.sharedWriters;
    for (const op of ops) {
      const state = this.contexts.peek(op.key)!;
      let s = staged.get(op.key);
      if (s === undefined) {
        const base = { headSeq: state.record?.headSeq ?? 0, version: state.record?.version ?? 0 };
        s = { state, clientId: op.clientId, record: state.record, base, ops: 0, keyed: false, dirty: false, changed: false, units: [], idempotency: [] };
        staged.set(op.key, s);
      }
      if (alone) {
        // A keyed unit is its context's whole part, so that a duplicate of it found by the log replays it alone.
        const keyed = op.kind === 'append' && op.draft.idempotencyKey !== undefined;
        if (s.ops > 0 && (keyed || s.keyed)) {
          deferred.push(op);
          outcomes.push(undefined);
          continue;
        }
        s.ops++;
        s.keyed ||= keyed;
      }
      try {
        outcomes.push(op.kind === 'append' ? this.stageAppend(op, s, now, ts, cursor) : stagePatch(op, s, now));
      } catch (err) {
        outcomes.push(err instanceof EngramError ? err : new EngramError('INTERNAL', String(err)));
      }
    }
    const parts: CommitPart[] = [];
    const partOf: Staged[] = [];
    for (const s of staged.values()) {
      if (!s.dirty) continue;
      parts.push({ clientId: s.clientId, record: s.record!, changed: s.changed, base: s.base, units: s.units, idempotency: s.idempotency });
      partOf.push(s);
    }
    if (parts.length > 0) {
      let answers: ContextOutcome[];
      try {
        // The log reports what it stored (applyCommitted) before it answers: listeners see the
        // batch before any writer gets its answer.
        answers = await this.log.commit({ parts });
      } catch (err) {
        this.forgetWriteSpans(partOf);
        const failure = storageError(err);
        for (const op of ops) if (!deferred.includes(op)) op.reject(failure);
        this.queue.requeue(deferred);
        return;
      }
      partOf.forEach((s, i) => (s.answer = answers[i] ?? { status: 'failed', error: new Error('the log gave no answer for this part') }));
      this.forgetWriteSpans(partOf);
    }
    this.settle(ops, outcomes, staged);
  }

  /** Drops the write spans of a batch's units once the log answered (reported units' spans were taken by applyCommitted). */
  private forgetWriteSpans(parts: Staged[]): void {
    if (this.writeSpans.size === 0) return;
    for (const s of parts) for (const u of s.units) this.writeSpans.delete(u.pos);
  }

  /**
   * Answers each op by what the log said of its context's part. Ops of a context another node
   * moved first go back to the front of the queue, in order, to be staged again on the new head.
   */
  private settle(ops: WriteOp[], outcomes: Array<AppendResult | ContextRecord | EngramError | undefined>, staged: Map<string, Staged>): void {
    const again: WriteOp[] = [];
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i]!;
      const outcome = outcomes[i];
      const answer = staged.get(op.key)!.answer;
      if (outcome === undefined || answer?.status === 'conflict') {
        // Deferred, or refused because another node moved the context first: stage again.
        if (outcome !== undefined) op.attempts = (op.attempts ?? 0) + 1;
        if ((op.attempts ?? 0) > MAX_ATTEMPTS)
          op.reject(new EngramError('STORAGE_UNAVAILABLE', `the context changed on other nodes ${MAX_ATTEMPTS} times while this write was staged; try again`));
        else again.push(op);
        continue;
      }
      if (outcome instanceof EngramError) op.reject(outcome);
      else if (answer === undefined || answer.status === 'committed') (op as Waiter<unknown>).resolve(outcome);
      else if (answer.status === 'replayed') (op as AppendOp).resolve({ ...answer.unit, contextId: (op as AppendOp).draft.contextId, replayed: true });
      else op.reject(storageError(answer.error));
    }
    if (again.length > 0) this.queue.requeue(again);
  }

  /**
   * Applies the parts the log stored (this node's and, on a shared log, other nodes'), in log
   * order: the cached contexts move on and listeners (router, indexer) see them. A context being
   * loaded is applied once the load is done, unless the load already saw the part.
   */
  private async applyCommitted(parts: CommittedContext[], position: number): Promise<void> {
    const events: CommitEvent[] = [];
    for (const p of parts) {
      const key = scopedKey(p.clientId, p.contextId);
      let state = this.contexts.peek(key);
      if (state === undefined) {
        const loading = this.contexts.loadingState(key);
        if (loading !== undefined) state = await loading.catch(() => undefined);
      }
      if (p.trimmed !== undefined) {
        if (state?.record !== undefined && (state.record.firstSeq ?? 1) < p.trimmed.firstSeq) {
          state.record = { ...state.record, firstSeq: p.trimmed.firstSeq };
          this.contexts.dropTailBelow(state, p.trimmed.firstSeq);
        }
        events.push(commitEvent(p));
        continue;
      }
      if (p.deleted !== undefined) {
        if (state !== undefined) {
          state.record = undefined;
          state.incarnation = p.deleted.incarnation;
          this.contexts.resetTail(state);
        }
        events.push(commitEvent(p));
        continue;
      }
      if (state !== undefined) {
        const r = state.record;
        const seen = r !== undefined && r.headSeq >= p.headSeq && (p.record === undefined || r.version >= p.record.version);
        if (!seen) {
          if (r === undefined && p.record === undefined) {
            state.record = await this.log.getContext(p.clientId, p.contextId);
            this.contexts.resetTail(state);
          } else {
            state.record = p.record ?? { ...r!, headSeq: p.headSeq, updatedAt: p.updatedAt };
            if (state.tail.start + state.tail.length === p.firstSeq) for (const json of p.units) this.contexts.pushTail(state, json);
            else this.contexts.resetTail(state);
          }
        }
      }
      const event = commitEvent(p);
      // With tracing on: each unit's write span, the parent of its fan-out span.
      if (this.writeSpans.size > 0 && event.units.length > 0) event.traces = event.positions.map((pos) => this.writeSpans.get(pos));
      events.push(event);
    }
    this.position = Math.max(this.position, position);
    for (const listener of this.commitListeners) {
      try {
        listener(events);
      } catch {
        // A listener's fault must not undo a durable commit or strand its writers.
      }
    }
  }

  private stageAppend(op: AppendOp, s: Staged, now: number, ts: string, cursor: { pos: number }): AppendResult {
    const d = op.draft;
    if (d.embedding !== undefined && d.embedding.length !== this.options.embeddingDims) {
      throw new EngramError(
        'INVALID_FIELD',
        this.options.embeddingDims === undefined
          ? 'embedding: this server has no vector index (search is off)'
          : `embedding: has ${d.embedding.length} dimensions; this server's vector index has ${this.options.embeddingDims}`,
      );
    }
    // Checked as the write is sequenced: a lease that ran out by now fails the write.
    if (d.fence !== undefined) {
      if (this.options.fences === undefined) throw new EngramError('INVALID_FIELD', 'fence: this server has no lock manager');
      this.options.fences.checkFence(op.clientId, d.fence.resource, d.fence.token, d.writer ?? op.clientId);
    }
    if (d.expectSeq !== undefined && (s.record?.headSeq ?? 0) + 1 !== d.expectSeq) {
      throw new EngramError('SEQ_CONFLICT', `the context is at seq ${s.record?.headSeq ?? 0}; this change was decided at seq ${d.expectSeq - 1}`, {
        details: { headSeq: s.record?.headSeq ?? 0 },
      });
    }
    // A summary stands in for units before it (only a SUMMARY pays for this check).
    if (d.type === 'SUMMARY' && summaryRange(d.payload).to > (s.record?.headSeq ?? 0)) {
      throw new EngramError('INVALID_FIELD', `payload.covers.to: must be below the summary's own seq; the context is at seq ${s.record?.headSeq ?? 0}`);
    }
    if (!s.dirty && s.record !== undefined) s.record = { ...s.record };
    s.dirty = true;
    if (s.record === undefined) {
      s.changed = true;
      s.record = {
        id: d.contextId,
        displayName: d.contextId,
        agentIds: [d.agentId],
        pinnedUnits: [],
        meta: {},
        createdAt: now,
        updatedAt: now,
        version: 1,
        headSeq: 0,
      };
      // A new history of a deleted context's id.
      if (s.state.incarnation !== undefined) s.record.incarnation = s.state.incarnation;
    } else if (!s.record.agentIds.includes(d.agentId) && s.record.agentIds.length < LIMITS.agentsPerContext) {
      s.record.agentIds = [...s.record.agentIds, d.agentId];
      s.record.version++;
      s.changed = true;
    }
    const seq = ++s.record.headSeq;
    s.record.updatedAt = now;
    const id = this.ulids.next(now);
    const json = JSON.stringify({
      id,
      contextId: d.contextId,
      seq,
      agentId: d.agentId,
      type: d.type,
      ts,
      meta: d.meta,
      payload: d.payload,
      relationships: d.relationships,
    });
    const pos = ++cursor.pos;
    if (op.span !== undefined) this.writeSpans.set(pos, op.span);
    s.units.push({ clientId: op.clientId, contextId: d.contextId, seq, id, pos, json, embedding: d.embedding });
    if (d.idempotencyKey !== undefined) {
      s.idempotency.push({
        clientId: op.clientId,
        contextId: d.contextId,
        key: d.idempotencyKey,
        id,
        seq,
        expiresAt: now + this.options.idempotencyTtlMs,
      });
    }
    return { id, contextId: d.contextId, seq, json, replayed: false };
  }

  // ---- reads -----------------------------------------------------------------

  private async existingState(clientId: string, contextId: string): Promise<ContextState & { record: ContextRecord }> {
    checkId(contextId, 'contextId');
    this.assertReady();
    const state = await this.contexts.get(clientId, scopedKey(clientId, contextId));
    if (state.record === undefined) throw new EngramError('CONTEXT_NOT_FOUND', `context ${JSON.stringify(contextId)} does not exist`);
    return state as ContextState & { record: ContextRecord };
  }

  /** One unit's JSON by id. */
  async getUnit(clientId: string, id: string): Promise<string> {
    checkId(id, 'id');
    this.assertReady();
    const json = await this.log.getUnit(clientId, id);
    if (json === undefined) throw new EngramError('WORKUNIT_NOT_FOUND', `work unit ${JSON.stringify(id)} does not exist`);
    return json;
  }

  /**
   * A page of a context's units with after < seq < before, oldest first (or newest
   * first with reverse). Seqs have no gaps, so the page's seq range is known before
   * reading, and it comes from the in-memory tail whenever the tail covers it.
   */
  async listUnits(clientId: string, contextId: string, query: { limit?: number; after?: number; before?: number; reverse?: boolean }): Promise<UnitPage> {
    const q = normalizeListQuery(query);
    const state = await this.existingState(clientId, contextId);
    const head = state.record.headSeq;
    const lineage = state.record.lineage;
    // A fork's first seq is what retention left of its whole history (forks.ts).
    const firstSeq = lineage !== undefined && lineage.length > 0 ? await this.historyFirstSeq(clientId, state.record) : (state.record.firstSeq ?? 1);
    // Below the first seq retention kept there is nothing to read (pinned units kept there are read by id).
    const first = Math.max(q.after + 1, firstSeq);
    const last = Math.min(q.before - 1, head);
    if (first > last) return { units: [], nextCursor: null, firstSeq };
    let lo: number;
    let hi: number;
    if (q.reverse) {
      hi = last;
      lo = Math.max(first, hi - q.limit + 1);
    } else {
      lo = first;
      hi = Math.min(last, lo + q.limit - 1);
    }
    let units: string[];
    if (lineage !== undefined && lo <= sharedThrough(lineage)) {
      units = await this.readHistory(clientId, contextId, lineage, lo, hi, state);
    } else if (state.tail.covers(lo)) {
      units = state.tail.slice(lo, hi);
    } else {
      units = await this.log.readUnits(clientId, contextId, lo, hi);
      // Warm the tail with what was just read if it ends where the tail starts.
      if (hi + 1 === state.tail.start && this.contexts.peek(scopedKey(clientId, contextId)) === state) {
        this.contexts.prependTail(state, lo, units);
      }
    }
    if (q.reverse) {
      units = units.slice().reverse();
      return { units, nextCursor: lo > first ? lo : null, firstSeq };
    }
    return { units, nextCursor: hi < last ? hi : null, firstSeq };
  }

  /**
   * The units stored with lo ≤ seq ≤ hi, oldest first, straight from the log: below the context's
   * first seq that is the units a trim kept (pins, summaries), which pages of listUnits never show.
   * A fork's shared seqs are read from its lineage.
   */
  async scanUnits(clientId: string, contextId: string, lo: number, hi: number): Promise<string[]> {
    this.assertReady();
    return this.readStored(clientId, contextId, await this.existingState(clientId, contextId), lo, hi);
  }

  /** Seqs lo..hi as the log stores them: a fork's shared ones from its lineage, the rest from the context's own units. */
  private readStored(clientId: string, contextId: string, state: ContextState, lo: number, hi: number): Promise<string[]> {
    const lineage = state.record?.lineage;
    if (lineage !== undefined && lo <= sharedThrough(lineage)) return this.readHistory(clientId, contextId, lineage, lo, hi, state);
    return this.log.readUnits(clientId, contextId, lo, hi);
  }

  /** Seqs lo..hi of a fork's history: each stretch from the context that holds it, from its tail when it has them. */
  private async readHistory(clientId: string, contextId: string, lineage: readonly ForkPoint[], lo: number, hi: number, own: ContextState): Promise<string[]> {
    const out: string[] = [];
    for (const piece of piecesOf(contextId, lineage, lo, hi)) {
      const st = piece.contextId === contextId ? own : await this.contexts.get(clientId, scopedKey(clientId, piece.contextId));
      const units = st.tail.covers(piece.lo) ? st.tail.slice(piece.lo, piece.hi) : await this.log.readUnits(clientId, piece.contextId, piece.lo, piece.hi);
      for (const u of units) out.push(u);
    }
    return out;
  }

  /** A context and the epoch of its current history (epochOf): what its seqs mean (a token count, a cursor) holds only within it. */
  async contextHistory(clientId: string, contextId: string): Promise<{ view: ContextView; epoch: string }> {
    const state = await this.existingState(clientId, contextId);
    return { view: await this.viewOf(clientId, state.record), epoch: this.epochOf(state.incarnation) };
  }

  async getContext(clientId: string, contextId: string): Promise<ContextView> {
    const state = await this.existingState(clientId, contextId);
    return this.viewOf(clientId, state.record);
  }

  /** Contexts in id order, `limit` at a time; pass `nextCursor` back as `after`. */
  async listContexts(clientId: string, query: { limit?: number; after?: string; prefix?: string }): Promise<ContextPage> {
    const limit = query.limit ?? LIMITS.listDefault;
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > LIMITS.listMax) {
      throw new EngramError('INVALID_QUERY', `limit: must be an integer from 1 to ${LIMITS.listMax}`);
    }
    if (query.after !== undefined) checkId(query.after, 'after');
    if (query.prefix !== undefined) checkId(query.prefix, 'prefix');
    this.assertReady();
    const records = await this.log.listContexts(clientId, { after: query.after, prefix: query.prefix, limit: limit + 1 });
    const more = records.length > limit;
    const page = more ? records.slice(0, limit) : records;
    const contexts: ContextView[] = [];
    for (const r of page) contexts.push(r.lineage !== undefined && r.lineage.length > 0 ? await this.viewOf(clientId, r) : contextView(r));
    return { contexts, nextCursor: more ? page[page.length - 1]!.id : null };
  }

  // ---- streaming support -------------------------------------------------------

  /** Calls `listener` after every committed batch, before the batch's writers are answered. */
  onCommit(listener: (events: CommitEvent[]) => void): () => void {
    this.commitListeners.push(listener);
    return () => {
      const i = this.commitListeners.indexOf(listener);
      if (i !== -1) this.commitListeners.splice(i, 1);
    };
  }

  /** Holds a context in memory (existing or not yet) until the handle is released. */
  async retain(clientId: string, contextId: string): Promise<ContextHandle> {
    checkId(contextId, 'contextId');
    this.assertReady();
    const key = scopedKey(clientId, contextId);
    let state = await this.contexts.get(clientId, key);
    // Another load finishing first may have evicted it again; only the state in the map is canonical.
    while (this.contexts.peek(key) !== state) state = await this.contexts.get(clientId, key);
    state.retained++;
    const lineage = state.record?.lineage;
    if (lineage !== undefined && lineage.length > 0) return this.retainFork(clientId, contextId, state, lineage);
    let released = false;
    return {
      clientId,
      contextId,
      head: () => state.record?.headSeq ?? 0,
      record: () => state.record,
      epoch: () => this.epochOf(state.incarnation),
      firstSeq: () => state.record?.firstSeq ?? 1,
      unitsAfter: (after, limit) => {
        const head = state.record?.headSeq ?? 0;
        // A subscription's cursor is never below the first seq (the router sends `trimmed` first).
        const lo = Math.max(after + 1, state.record?.firstSeq ?? 1);
        const hi = Math.min(head, after + limit);
        if (lo > hi) return [];
        if (state.tail.covers(lo)) return state.tail.slice(lo, hi);
        // Held since before a fork was made under this id: the seqs it shares are read through its lineage.
        return this.readStored(clientId, contextId, state, lo, hi);
      },
      release: () => {
        if (released) return;
        released = true;
        state.retained--;
      },
    };
  }

  /**
   * A fork's handle: it holds the contexts of its lineage too, so its first seq and the units it
   * shares are at hand synchronously, and a subscription replays them before the fork's own.
   */
  private async retainFork(clientId: string, contextId: string, state: ContextState, lineage: readonly ForkPoint[]): Promise<ContextHandle> {
    const held = new Map<string, ContextHandle>();
    try {
      for (const s of lineage) if (!held.has(s.contextId)) held.set(s.contextId, await this.retain(clientId, s.contextId));
    } catch (err) {
      state.retained--;
      for (const h of held.values()) h.release();
      throw err;
    }
    const firstSeq = () => (state.record === undefined ? 1 : forkFirstSeq(state.record, (id) => (held.get(id)?.record() === undefined ? undefined : held.get(id)!.firstSeq())));
    let released = false;
    return {
      clientId,
      contextId,
      head: () => state.record?.headSeq ?? 0,
      record: () => state.record,
      epoch: () => this.epochOf(state.incarnation),
      firstSeq,
      unitsAfter: (after, limit) => {
        const lo = Math.max(after + 1, firstSeq());
        const hi = Math.min(state.record?.headSeq ?? 0, after + limit);
        if (lo > hi) return [];
        const parts: Array<string[] | Promise<string[]>> = [];
        let sync = true;
        for (const piece of piecesOf(contextId, lineage, lo, hi)) {
          let units: string[] | Promise<string[]>;
          if (piece.contextId === contextId) {
            units = state.tail.covers(piece.lo) ? state.tail.slice(piece.lo, piece.hi) : this.log.readUnits(clientId, contextId, piece.lo, piece.hi);
          } else {
            units = held.get(piece.contextId)!.unitsAfter(piece.lo - 1, piece.hi - piece.lo + 1);
          }
          if (units instanceof Promise) sync = false;
          parts.push(units);
        }
        if (sync) return (parts as string[][]).flat();
        return Promise.all(parts).then((all) => all.flat());
      },
      release: () => {
        if (released) return;
        released = true;
        state.retained--;
        for (const h of held.values()) h.release();
      },
    };
  }

  /** JSON texts of the units at these log positions (search results). */
  unitsAt(positions: number[]): Promise<Array<string | undefined>> {
    return this.log.unitsAt(positions);
  }

  /**
   * Resolves once this node has applied every write the log held when called (Log.catchUp): on a
   * shared log, a decision taken after it sees what other nodes acknowledged before.
   */
  catchUp(): Promise<void> {
    this.assertReady();
    return this.log.catchUp().catch((err: unknown) => Promise.reject(storageError(err)));
  }

  /**
   * The epoch of one history of a context: the log's, joined with the context's incarnation when
   * its id was deleted before, so seqs of a deleted history never pass for the new one's.
   */
  epochOf(incarnation: string | undefined): string {
    return incarnation === undefined ? this.log.epoch() : `${this.log.epoch()}-${incarnation}`;
  }

  /** The epoch of the log's history: a seq means the same only within one epoch (Log.epoch). */
  get epoch(): string {
    return this.log.epoch();
  }

  /** The log position of the last committed unit. */
  get committedPosition(): number {
    return this.position;
  }

  /** Numbers for health and metrics endpoints. */
  /** Frees the cached contexts of spaces nobody is using; they are read from the log again on next use. */
  dropCached(spaces: ReadonlySet<string>): number {
    return this.contexts.dropSpaces(spaces);
  }

  stats(): { cachedContexts: number; tailBytes: number; queued: number } {
    return { ...this.contexts.stats(), queued: this.queue.length };
  }
}

/** Ends a write's span when the write is answered: with the unit's seq and size, or failed. */
function endWrite(span: TraceSpan, written: Promise<AppendResult>): Promise<AppendResult> {
  return written.then(
    (r) => {
      span.set({ 'engram.unit.seq': r.seq, 'engram.unit.id': r.id, 'engram.unit.bytes': r.json.length, 'engram.write.replayed': r.replayed });
      span.end();
      return r;
    },
    (err: unknown) => {
      span.end(err);
      throw err;
    },
  );
}

/** What listeners hear of a reported part: all of it but the head it left. */
function commitEvent(p: CommittedContext): CommitEvent {
  const { headSeq: _headSeq, updatedAt: _updatedAt, ...event } = p;
  return event;
}

function stagePatch(op: PatchOp, s: Staged, now: number): ContextRecord {
  const next = applyPatch(s.record, op.contextId, op.patch, op.ifMatch, now);
  if (next !== s.record) {
    // Created by this PATCH under a deleted context's id: a new history.
    if (s.base.version === 0 && s.state.incarnation !== undefined) next.incarnation = s.state.incarnation;
    s.record = next;
    s.dirty = true;
    s.changed = true;
  }
  return next;
}

function storageError(err: unknown): EngramError {
  if (err instanceof EngramError) return err;
  // The storage's words, without its file paths: clients learn what failed, not where the files are.
  const detail = (err instanceof Error ? err.message : String(err)).replace(/(^|[\s(])\/[^\s:,)]+/g, '$1<file>');
  return new EngramError('STORAGE_UNAVAILABLE', `the log could not commit the write: ${detail}`, { cause: err });
}
