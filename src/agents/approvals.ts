/**
 * Approvals (docs/agents.md#approvals): an agent asks with an APPROVAL_REQUEST unit (what it wants
 * to do, an expiry, the lock it holds), a decider answers with one APPROVAL_DECISION unit, and the
 * agent acts on an approval only while it still holds the lock with the token it asked under.
 *
 * The units are the truth; what the service knows of them is derived from them alone
 * (approval-index.ts), so pending requests and decisions come back after a restart, and every node
 * of a cluster knows every decision.
 *
 * Writes of these types, from any transport, go through `append` (Gate.useTypedAppends): a request
 * is stored only while its lock is held with its token (it is written fenced), and a decision only
 * for a request of its context that is pending and not expired, with the idempotency key
 * `approval:{requestId}`, so of concurrent deciders, on one node or several, one unit is stored.
 */
import type { AppendResult, Gate, TypedAppends } from '../gate/gate.js';
import type { Principal } from '../tenancy/access.js';
import { EngramError } from '../basics/errors.js';
import { APPROVAL_LIMITS, LIMITS } from '../basics/limits.js';
import type { Fence } from '../basics/types.js';
import { checkId, checkStringMap } from '../basics/validate.js';
import {
  approvalTypeOf,
  decisionKey,
  isDecisionKey,
  normalizeDecision,
  normalizeRequest,
  parseDecision,
  readApprovalUnit,
  type Decision,
  type StoredDecision,
  type StoredRequest,
} from './approval-units.js';
import { ApprovalIndex, type ApprovalEntry, type PositionReader } from './approval-index.js';

export type { PositionReader };

export type ApprovalStatus = 'pending' | 'approved' | 'denied' | 'expired';
export const APPROVAL_STATUSES: readonly ApprovalStatus[] = ['pending', 'approved', 'denied', 'expired'];

/** An approval as the API answers it. */
export interface ApprovalView {
  requestId: string;
  contextId: string;
  agentId: string;
  status: ApprovalStatus;
  action: unknown;
  expiresAt: string;
  lock: Fence;
  requestedAt: string;
  seq: number;
  decision: { id: string; seq: number; decision: Decision; by: string; reason: string | null; decidedAt: string } | null;
}

type Entry = ApprovalEntry;

type Obj = Record<string, unknown>;

export class ApprovalService implements TypedAppends {
  private readonly index: ApprovalIndex;
  private readonly now: () => number;

  constructor(
    private readonly gate: Gate,
    log: PositionReader,
    options: { now?: () => number } = {},
  ) {
    this.now = options.now ?? Date.now;
    this.index = new ApprovalIndex(log);
    gate.engine.onCommit((events) => this.index.applyCommitted(events));
  }

  // ---- the rules of writes (every transport) ------------------------------------------------

  handles(body: unknown, idempotencyKey: string | undefined): boolean {
    return approvalTypeOf(body) !== undefined || isDecisionKey(idempotencyKey) || isDecisionKey((body as Obj | null)?.idempotencyKey);
  }

  async append(p: Principal, body: unknown, idempotencyKey: string | undefined, write: (body: unknown, key: string | undefined) => Promise<AppendResult>): Promise<AppendResult> {
    const b = body as Obj;
    const type = approvalTypeOf(b);
    // A unit of another type holding a decision's key would stand in for the decision (its replay) and block it.
    if (type === undefined) throw new EngramError('INVALID_FIELD', 'idempotencyKey: keys starting with "approval:" are reserved for approval decisions');
    if (type === 'APPROVAL_REQUEST') return write(normalizeRequest(b, this.now()), idempotencyKey);
    const d = parseDecision(b);
    const key = decisionKey(d.requestId);
    for (const k of [idempotencyKey, b.idempotencyKey])
      if (k !== undefined && k !== key) throw new EngramError('INVALID_FIELD', `idempotencyKey: a decision's is ${JSON.stringify(key)} (set by the server; leave it out)`);
    if (b.contextId === undefined) throw new EngramError('MISSING_FIELD', 'contextId: required');
    const contextId = checkId(b.contextId, 'contextId');
    const space = this.gate.access.contextSpace(p, contextId, 'write');
    await this.ready();
    const e = this.entryIn(space, contextId, d.requestId);
    if (e.decision !== undefined) throw decided(e.decision);
    if (this.now() >= e.request.expiresAt) throw expired(e.request);
    const r = await write({ ...normalizeDecision(b, d, e.request.lock), idempotencyKey: key }, key);
    if (r.replayed) {
      // Another decider's write was first (the key's unit): that decision stands.
      const stored = readApprovalUnit(r.json);
      throw decided(stored !== undefined && 'decision' in stored ? stored.decision : e.decision);
    }
    return r;
  }

  // ---- the API ------------------------------------------------------------------------------

  /** POST /contexts/{id}/approvals: asks, as `input.agentId`, holding `input.lock`. */
  async request(p: Principal, contextId: string, input: unknown, idempotencyKey?: string): Promise<ApprovalView> {
    const o = object(input);
    for (const k of Object.keys(o)) if (!['agentId', 'action', 'ttlMs', 'expiresAt', 'lock', 'meta'].includes(k)) throw new EngramError('UNKNOWN_FIELD', `${k}: unknown field`);
    if (o.agentId === undefined) throw new EngramError('MISSING_FIELD', 'agentId: required, the agent asking');
    const payload: Obj = { action: o.action, lock: o.lock };
    if (o.ttlMs !== undefined) payload.ttlMs = o.ttlMs;
    if (o.expiresAt !== undefined) payload.expiresAt = o.expiresAt;
    const body: Obj = { contextId, agentId: o.agentId, type: 'APPROVAL_REQUEST', payload, ...(o.meta === undefined ? {} : { meta: checkStringMap(o.meta, 'meta') }) };
    await this.ready();
    const r = await this.gate.append(p, body, idempotencyKey);
    return this.view(this.entryIn(this.gate.access.contextSpace(p, contextId, 'read'), contextId, r.id));
  }

  /** POST /contexts/{id}/approvals/{requestId}/decision: the one decision of a request. */
  async decide(p: Principal, contextId: string, requestId: string, input: unknown): Promise<ApprovalView> {
    const o = object(input);
    for (const k of Object.keys(o)) if (!['decision', 'reason', 'by'].includes(k)) throw new EngramError('UNKNOWN_FIELD', `${k}: unknown field`);
    if (o.decision === undefined) throw new EngramError('MISSING_FIELD', 'decision: "approve" or "deny"');
    const by = o.by === undefined ? p.clientId : checkId(o.by, 'by');
    checkId(requestId, 'requestId');
    const payload: Obj = { requestId, decision: o.decision, ...(o.reason === undefined ? {} : { reason: o.reason }) };
    await this.gate.append(p, { contextId, agentId: by, type: 'APPROVAL_DECISION', payload });
    return this.view(this.entryIn(this.gate.access.contextSpace(p, contextId, 'read'), contextId, requestId));
  }

  /**
   * GET /contexts/{id}/approvals/{requestId}: the approval, once decided or expired or after
   * `waitMs` (at most APPROVAL_LIMITS.maxWaitMs) of waiting. With `act` (the default), an approval
   * is answered only while its lock is still held with the token it was asked under (and by this
   * principal's client): else FENCE_REJECTED, so a worker that lost its lease cannot act on it.
   */
  async get(p: Principal, contextId: string, requestId: string, options: { waitMs?: number; signal?: AbortSignal; act?: boolean } = {}): Promise<ApprovalView> {
    const space = this.gate.access.contextSpace(p, contextId, 'read');
    checkId(requestId, 'requestId');
    const waitMs = options.waitMs ?? 0;
    if (!Number.isSafeInteger(waitMs) || waitMs < 0 || waitMs > APPROVAL_LIMITS.maxWaitMs)
      throw new EngramError('INVALID_QUERY', `wait: 0–${APPROVAL_LIMITS.maxWaitMs / 1000} seconds`);
    await this.ready();
    let e = this.entryIn(space, contextId, requestId);
    const left = Math.min(waitMs, e.request.expiresAt - this.now());
    if (e.decision === undefined && left > 0) {
      await this.index.untilDecided(space, requestId, left, options.signal);
      e = this.entryIn(space, contextId, requestId);
    }
    const view = await this.view(e);
    if (view.status === 'approved' && options.act !== false) {
      try {
        await this.gate.checkFence(p, space, e.request.lock);
      } catch (err) {
        if (err instanceof EngramError && err.code === 'FENCE_REJECTED')
          throw new EngramError('FENCE_REJECTED', `approval ${requestId} was given, but the lock it was asked under is no longer held with token ${e.request.lock.token}`, {
            details: { ...err.details, requestId, status: view.status },
          });
        throw err;
      }
    }
    return view;
  }

  /** GET /approvals: approvals of every context the principal reads (or of one), oldest request first. */
  async list(
    p: Principal,
    query: { status?: string; contextId?: string; limit?: number; after?: string; since?: string; waitMs?: number; signal?: AbortSignal },
  ): Promise<{ approvals: ApprovalView[]; nextCursor: string | null; version: string }> {
    const status = query.status ?? 'pending';
    if (status !== 'all' && !(APPROVAL_STATUSES as readonly string[]).includes(status)) throw new EngramError('INVALID_QUERY', `status: ${APPROVAL_STATUSES.join(', ')} or all`);
    const limit = query.limit ?? LIMITS.listDefault;
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > LIMITS.listMax) throw new EngramError('INVALID_QUERY', `limit: 1–${LIMITS.listMax}`);
    const spaces = query.contextId !== undefined ? [this.gate.access.contextSpace(p, query.contextId, 'read')] : this.readSpaces(p);
    await this.ready();
    // A list that saw `since` waits for the next change (the dashboard's live list), up to waitMs.
    if (query.since !== undefined && query.since === this.index.version && (query.waitMs ?? 0) > 0) {
      await this.index.untilChanged(Math.min(query.waitMs!, APPROVAL_LIMITS.maxWaitMs), query.signal);
    }
    const version = this.index.version;
    const now = this.now();
    const found: Entry[] = [];
    for (const e of this.index.all()) {
      const r = e.request;
      if (!spaces.includes(e.space) || (query.contextId !== undefined && r.contextId !== query.contextId)) continue;
      if (query.after !== undefined && r.id <= query.after) continue;
      if (status !== 'all' && statusOf(e, now) !== status) continue;
      if (!this.gate.access.visible(p, e.space, r.contextId)) continue;
      found.push(e);
    }
    found.sort((a, b) => (a.request.id < b.request.id ? -1 : a.request.id > b.request.id ? 1 : 0));
    const page = found.slice(0, limit);
    return { approvals: await Promise.all(page.map((e) => this.view(e))), nextCursor: found.length > limit ? page[page.length - 1]!.request.id : null, version };
  }

  /** For GET /health/detailed: approvals known (all statuses), pending now, calls waiting, and whether the log's older units were read. */
  stats(): { known: number; pending: number; waiting: number; loaded: boolean } {
    const now = this.now();
    let pending = 0;
    for (const e of this.index.all()) if (statusOf(e, now) === 'pending') pending++;
    const { known, waiting, loaded } = this.index.stats();
    return { known, pending, waiting, loaded };
  }

  // ---- derived state ------------------------------------------------------------------------

  private readSpaces(p: Principal): string[] {
    this.gate.access.require(p, 'read');
    return this.gate.access.readSpaces(p);
  }

  /** Every unit stored before this process started has been applied, and (shared log) every write acknowledged through another node. */
  private async ready(): Promise<void> {
    // Before storage is open the log's position is not known yet: reading then would miss its units for good.
    if (!this.gate.engine.ready) throw new EngramError('NOT_READY', 'storage is not open yet; retry shortly');
    await this.index.loaded(() => this.gate.engine.committedPosition);
    await this.gate.catchUp();
  }

  private entryIn(space: string, contextId: string, requestId: string): Entry {
    const e = this.index.get(space, requestId);
    if (e === undefined || e.request.contextId !== contextId)
      throw new EngramError('APPROVAL_NOT_FOUND', `no approval request ${JSON.stringify(requestId)} in context ${JSON.stringify(contextId)}`, {
        details: { requestId, contextId },
      });
    return e;
  }

  private async view(e: Entry): Promise<ApprovalView> {
    const r = e.request;
    let action: unknown = null;
    try {
      action = (JSON.parse(await this.gate.engine.getUnit(e.space, r.id)) as { payload: { action?: unknown } }).payload.action ?? null;
    } catch {
      // Kept by the service, gone from the log (trimmed as it was read): the rest still stands.
    }
    const d = e.decision;
    return {
      requestId: r.id,
      contextId: r.contextId,
      agentId: r.agentId,
      status: statusOf(e, this.now()),
      action,
      expiresAt: new Date(r.expiresAt).toISOString(),
      lock: r.lock,
      requestedAt: new Date(r.ts).toISOString(),
      seq: r.seq,
      decision: d === undefined ? null : { id: d.id, seq: d.seq, decision: d.decision, by: d.by, reason: d.reason ?? null, decidedAt: new Date(d.ts).toISOString() },
    };
  }
}

function statusOf(e: Entry, now: number): ApprovalStatus {
  if (e.decision !== undefined) return e.decision.decision === 'approve' ? 'approved' : 'denied';
  return now >= e.request.expiresAt ? 'expired' : 'pending';
}

function object(input: unknown): Obj {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new EngramError('INVALID_FIELD', 'the body: a JSON object');
  return input as Obj;
}

function decided(d: StoredDecision | undefined): EngramError {
  return new EngramError('APPROVAL_DECIDED', `the request was already decided${d === undefined ? '' : ` (${d.decision}, by ${d.by})`}`, {
    details: d === undefined ? {} : { requestId: d.requestId, decision: { id: d.id, seq: d.seq, decision: d.decision, by: d.by, reason: d.reason ?? null } },
  });
}

function expired(r: StoredRequest): EngramError {
  return new EngramError('APPROVAL_EXPIRED', `the request expired at ${new Date(r.expiresAt).toISOString()} before it was decided`, {
    details: { requestId: r.id, expiresAt: new Date(r.expiresAt).toISOString() },
  });
}
