/**
 * The two unit types of an approval (docs/agents.md#approvals), as written and as read back.
 *
 * An APPROVAL_REQUEST's payload is `{action, expiresAt, lock: {resource, token}}`: what the agent
 * wants to do (free JSON), when the request lapses, and the lock it held when it asked. An
 * APPROVAL_DECISION's payload is `{requestId, decision: "approve"|"deny", reason?, lock}`, with a
 * RESPONDS_TO relationship to the request; its agentId is the decider.
 *
 * Writes are checked strictly here (normalizeRequest, normalizeDecision); reads are lenient
 * (readRequest, readDecision): a unit of these types stored before approvals had rules, or in a
 * shape they do not know, is simply not an approval.
 */
import { EngramError } from '../basics/errors.js';
import { APPROVAL_LIMITS } from '../basics/limits.js';
import type { Fence } from '../basics/types.js';
import { checkId, checkResource } from '../basics/validate.js';

export const APPROVAL_TYPES = ['APPROVAL_REQUEST', 'APPROVAL_DECISION'] as const;
export type ApprovalType = (typeof APPROVAL_TYPES)[number];
export type Decision = 'approve' | 'deny';

const KEY_PREFIX = 'approval:';

/** The idempotency key every decision of a request is written with: concurrent deciders store one unit. */
export function decisionKey(requestId: string): string {
  return KEY_PREFIX + requestId;
}

/** Whether an idempotency key is of the kind decisions are written with (no other unit may take one). */
export function isDecisionKey(key: unknown): boolean {
  return typeof key === 'string' && key.startsWith(KEY_PREFIX);
}

type Obj = Record<string, unknown>;

function isObject(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The type a unit body names, when it is one of the approval types. */
export function approvalTypeOf(body: unknown): ApprovalType | undefined {
  const t = isObject(body) ? body.type : undefined;
  return t === 'APPROVAL_REQUEST' || t === 'APPROVAL_DECISION' ? t : undefined;
}

/**
 * Whether a stored unit's JSON is of an approval type, without parsing it: `"type":"` first occurs
 * at the unit's own field (the fields before it are ids and a number, and inside a JSON string a
 * quote is always escaped, so `":"` cannot occur there).
 */
export function isApprovalJson(json: string): boolean {
  const i = json.indexOf('"type":"');
  return i !== -1 && json.startsWith('APPROVAL_', i + 8);
}

function checkLock(v: unknown, field: string): Fence {
  if (v === undefined) throw new EngramError('MISSING_FIELD', `${field}: required, the lock {resource, token} held while asking`);
  if (!isObject(v)) throw new EngramError('INVALID_FIELD', `${field}: must be {resource, token}`);
  for (const k of Object.keys(v)) if (k !== 'resource' && k !== 'token') throw new EngramError('UNKNOWN_FIELD', `${field}.${k}: unknown field`);
  const token = v.token;
  if (typeof token !== 'number' || !Number.isSafeInteger(token) || token < 1) throw new EngramError('INVALID_FIELD', `${field}.token: a fencing token (a positive integer)`);
  return { resource: checkResource(v.resource, `${field}.resource`), token };
}

const sameLock = (a: Fence, b: Fence) => a.resource === b.resource && a.token === b.token;

/**
 * Checks an APPROVAL_REQUEST unit body and returns it as it is stored: `ttlMs` becomes `expiresAt`
 * (from `now`), and the write carries `fence` = the lock, so the log stores it only while the lock
 * is held with that token (the engine's fence check, as the write is sequenced).
 */
export function normalizeRequest(body: Obj, now: number): Obj {
  const payload = body.payload;
  if (!isObject(payload)) throw new EngramError('INVALID_FIELD', 'payload: an APPROVAL_REQUEST payload is {action, expiresAt or ttlMs, lock}');
  for (const k of Object.keys(payload))
    if (!['action', 'expiresAt', 'ttlMs', 'lock'].includes(k)) throw new EngramError('UNKNOWN_FIELD', `payload.${k}: unknown field of an APPROVAL_REQUEST`);
  if (payload.action === undefined) throw new EngramError('MISSING_FIELD', 'payload.action: required, what the agent asks to do (any JSON)');
  if ((payload.expiresAt === undefined) === (payload.ttlMs === undefined)) throw new EngramError('MISSING_FIELD', 'payload: give expiresAt or ttlMs (one of them)');
  let expiresAt: number;
  if (payload.ttlMs !== undefined) {
    const ttl = payload.ttlMs;
    if (typeof ttl !== 'number' || !Number.isSafeInteger(ttl) || ttl < 1 || ttl > APPROVAL_LIMITS.maxTtlMs)
      throw new EngramError('INVALID_FIELD', `payload.ttlMs: 1–${APPROVAL_LIMITS.maxTtlMs} ms`);
    expiresAt = now + ttl;
  } else {
    expiresAt = typeof payload.expiresAt === 'string' ? Date.parse(payload.expiresAt) : NaN;
    if (!Number.isFinite(expiresAt)) throw new EngramError('INVALID_FIELD', 'payload.expiresAt: an RFC 3339 time');
    if (expiresAt <= now) throw new EngramError('INVALID_FIELD', 'payload.expiresAt: already passed');
    if (expiresAt > now + APPROVAL_LIMITS.maxTtlMs) throw new EngramError('INVALID_FIELD', `payload.expiresAt: at most ${APPROVAL_LIMITS.maxTtlMs / 3600_000} h ahead`);
  }
  const lock = checkLock(payload.lock, 'payload.lock');
  if (body.fence !== undefined && !(isObject(body.fence) && sameLock(checkLock(body.fence, 'fence'), lock)))
    throw new EngramError('INVALID_FIELD', "fence: an APPROVAL_REQUEST's fence is its payload.lock (leave it out)");
  return {
    ...body,
    payload: { action: payload.action, expiresAt: new Date(expiresAt).toISOString(), lock: { resource: lock.resource, token: lock.token } },
    fence: { resource: lock.resource, token: lock.token },
  };
}

/** What a decision write says, checked; the request it answers is looked up by the caller. */
export interface DecisionInput {
  requestId: string;
  decision: Decision;
  reason: string | undefined;
  /** The lock the writer copied from the request, if any (it must be the request's). */
  lock: Fence | undefined;
}

export function parseDecision(body: Obj): DecisionInput {
  const payload = body.payload;
  if (!isObject(payload)) throw new EngramError('INVALID_FIELD', 'payload: an APPROVAL_DECISION payload is {requestId, decision, reason?}');
  for (const k of Object.keys(payload))
    if (!['requestId', 'decision', 'reason', 'lock'].includes(k)) throw new EngramError('UNKNOWN_FIELD', `payload.${k}: unknown field of an APPROVAL_DECISION`);
  if (payload.requestId === undefined) throw new EngramError('MISSING_FIELD', 'payload.requestId: required, the id of the APPROVAL_REQUEST unit');
  const requestId = checkId(payload.requestId, 'payload.requestId');
  if (payload.decision !== 'approve' && payload.decision !== 'deny') throw new EngramError('INVALID_FIELD', 'payload.decision: "approve" or "deny"');
  const reason = payload.reason;
  if (reason !== undefined && (typeof reason !== 'string' || reason.length > APPROVAL_LIMITS.reasonChars || !reason.isWellFormed()))
    throw new EngramError('INVALID_FIELD', `payload.reason: a string of at most ${APPROVAL_LIMITS.reasonChars} characters`);
  if (body.fence !== undefined) throw new EngramError('INVALID_FIELD', 'fence: a decision is not fenced (the agent that asked holds the lock, not the decider)');
  return { requestId, decision: payload.decision, reason, lock: payload.lock === undefined ? undefined : checkLock(payload.lock, 'payload.lock') };
}

/** The decision unit body as stored: the request's lock copied in, a RESPONDS_TO relationship to it. */
export function normalizeDecision(body: Obj, d: DecisionInput, lock: Fence): Obj {
  if (d.lock !== undefined && !sameLock(d.lock, lock)) throw new EngramError('INVALID_FIELD', "payload.lock: must be the request's lock (or left out)");
  const rels = Array.isArray(body.relationships) ? (body.relationships as unknown[]) : [];
  const answers = rels.some((r) => isObject(r) && r.targetId === d.requestId && r.type === 'RESPONDS_TO');
  return {
    ...body,
    payload: { requestId: d.requestId, decision: d.decision, ...(d.reason === undefined ? {} : { reason: d.reason }), lock: { resource: lock.resource, token: lock.token } },
    relationships: answers ? rels : [...rels, { targetId: d.requestId, type: 'RESPONDS_TO' }],
  };
}

/** A stored request, as far as approvals read it. */
export interface StoredRequest {
  id: string;
  contextId: string;
  seq: number;
  agentId: string;
  ts: number;
  expiresAt: number;
  lock: Fence;
}

/** A stored decision, as far as approvals read it. */
export interface StoredDecision {
  id: string;
  contextId: string;
  seq: number;
  requestId: string;
  decision: Decision;
  by: string;
  reason: string | undefined;
  ts: number;
}

interface StoredUnit {
  id: string;
  contextId: string;
  seq: number;
  agentId: string;
  type: string;
  ts: string;
  payload: unknown;
}

function lenientLock(v: unknown): Fence | undefined {
  if (!isObject(v) || typeof v.resource !== 'string' || typeof v.token !== 'number') return undefined;
  return { resource: v.resource, token: v.token };
}

/** Reads a stored unit's JSON as a request or a decision; undefined when it is neither (or in a shape approvals do not know). */
export function readApprovalUnit(json: string): { request: StoredRequest } | { decision: StoredDecision } | undefined {
  let u: StoredUnit;
  try {
    u = JSON.parse(json) as StoredUnit;
  } catch {
    return undefined;
  }
  const p = u.payload;
  if (!isObject(p)) return undefined;
  const ts = Date.parse(u.ts);
  if (u.type === 'APPROVAL_REQUEST') {
    const expiresAt = typeof p.expiresAt === 'string' ? Date.parse(p.expiresAt) : NaN;
    const lock = lenientLock(p.lock);
    if (!Number.isFinite(expiresAt) || lock === undefined) return undefined;
    return { request: { id: u.id, contextId: u.contextId, seq: u.seq, agentId: u.agentId, ts, expiresAt, lock } };
  }
  if (u.type === 'APPROVAL_DECISION') {
    if (typeof p.requestId !== 'string' || (p.decision !== 'approve' && p.decision !== 'deny')) return undefined;
    const reason = typeof p.reason === 'string' ? p.reason : undefined;
    return { decision: { id: u.id, contextId: u.contextId, seq: u.seq, requestId: p.requestId, decision: p.decision, by: u.agentId, reason, ts } };
  }
  return undefined;
}
