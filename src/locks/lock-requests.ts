/** Validation of lock requests, shared by every transport. */
import { EngramError } from '../basics/errors.js';
import { LIMITS } from '../basics/limits.js';
import { fieldsOf } from '../basics/schemas.js';
import { checkId, checkResource } from '../basics/validate.js';

export { checkResource };

export interface LockLimits {
  defaultTtlMs: number;
  maxTtlMs: number;
  maxWaitMs: number;
}

export interface AcquireRequest {
  agentId: string;
  /** Sorted and without duplicates: the fixed order that rules out deadlocks. */
  resources: string[];
  ttlMs: number;
  waitMs: number;
  contextId: string | undefined;
  /** The acquiring client, when it is not the space's own (set by the lock manager, not parsed). */
  owner?: string;
}

export interface RenewRequest {
  agentId: string;
  lockId: string;
  ttlMs: number;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

// Field lists come from the request schemas that GET /openapi.json publishes (basics/schemas.ts).
const ACQUIRE_FIELDS = fieldsOf('LockAcquire');
const RENEW_FIELDS = fieldsOf('LockRenew');

function only(obj: Record<string, unknown>, allowed: ReadonlySet<string>): void {
  for (const key of Object.keys(obj)) {
    if (!allowed.has(key)) throw new EngramError('UNKNOWN_FIELD', `${key}: unknown field`);
  }
}

function checkMs(value: unknown, field: string, min: number, max: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw new EngramError('INVALID_FIELD', `${field}: must be an integer number of milliseconds`);
  if (value < min || value > max) throw new EngramError('INVALID_FIELD', `${field}: must be from ${min} to ${max} ms, got ${value}`);
  return value;
}

export function parseAcquire(input: unknown, limits: LockLimits): AcquireRequest {
  if (!isObject(input)) throw new EngramError('INVALID_FIELD', 'lock request: must be a JSON object');
  only(input, ACQUIRE_FIELDS);
  if (input.agentId === undefined) throw new EngramError('MISSING_FIELD', 'agentId: required');
  let resources: string[];
  if (input.resource !== undefined && input.resources !== undefined) {
    throw new EngramError('INVALID_FIELD', 'give either resource or resources, not both');
  } else if (input.resource !== undefined) {
    resources = [checkResource(input.resource)];
  } else if (input.resources !== undefined) {
    if (!Array.isArray(input.resources) || input.resources.length === 0) {
      throw new EngramError('INVALID_FIELD', 'resources: must be a non-empty array of resource names');
    }
    if (input.resources.length > LIMITS.resourcesPerAcquire) {
      throw new EngramError('INVALID_FIELD', `resources: at most ${LIMITS.resourcesPerAcquire} per acquire`);
    }
    resources = input.resources.map((r: unknown, i) => checkResource(r, `resources[${i}]`));
  } else {
    throw new EngramError('MISSING_FIELD', 'resource: required (or resources, for several at once)');
  }
  return {
    agentId: checkId(input.agentId, 'agentId'),
    resources: [...new Set(resources)].sort(compareBytes),
    ttlMs: checkMs(input.ttlMs, 'ttlMs', 1, limits.maxTtlMs, limits.defaultTtlMs),
    waitMs: checkMs(input.waitMs, 'waitMs', 0, limits.maxWaitMs, 0),
    contextId: input.contextId === undefined ? undefined : checkId(input.contextId, 'contextId'),
  };
}

export function parseRenew(input: unknown, limits: LockLimits): RenewRequest {
  if (!isObject(input)) throw new EngramError('INVALID_FIELD', 'renew request: must be a JSON object');
  only(input, RENEW_FIELDS);
  if (input.agentId === undefined) throw new EngramError('MISSING_FIELD', 'agentId: required');
  if (input.lockId === undefined) throw new EngramError('MISSING_FIELD', 'lockId: required');
  return {
    agentId: checkId(input.agentId, 'agentId'),
    lockId: checkId(input.lockId, 'lockId'),
    ttlMs: checkMs(input.ttlMs, 'ttlMs', 1, limits.maxTtlMs, limits.defaultTtlMs),
  };
}

/** The order of resources in one acquire: by UTF-8 bytes, the same on every node. */
export function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}
