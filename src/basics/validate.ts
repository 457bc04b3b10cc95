/**
 * Validation of everything a client sends, shared by every transport. Each check
 * throws an EngramError whose message names the offending field, so a caller can
 * fix the request without reading server logs.
 */
import { summaryRange } from './summary.js';
import { EngramError } from './errors.js';
import { LIMITS } from './limits.js';
import { fieldsOf, requiredOf } from './schemas.js';
import {
  RELATIONSHIP_TYPES,
  WORK_UNIT_TYPES,
  type ContextPatch,
  type Fence,
  type Relationship,
  type RelationshipType,
  type StringMap,
  type WorkUnitDraft,
  type WorkUnitType,
} from './types.js';

declare global {
  interface String {
    /** ES2024, present in Node 20; the ES2023 lib this project targets lacks its type. */
    isWellFormed(): boolean;
  }
}

const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f]/;
// Field lists come from the request schemas that GET /openapi.json publishes (basics/schemas.ts).
const UNIT_FIELDS = fieldsOf('WorkUnitInput');
const UNIT_REQUIRED = requiredOf('WorkUnitInput');
const SERVER_FIELDS = new Set(['id', 'seq', 'ts']);
const RELATIONSHIP_FIELDS = fieldsOf('WorkUnitInput', ['relationships', 'items']);
const FENCE_FIELDS = fieldsOf('WorkUnitInput', ['fence']);
const PATCH_FIELDS = fieldsOf('ContextPatch');
const FORK_FIELDS = fieldsOf('ContextFork');
const unitTypes: ReadonlySet<string> = new Set(WORK_UNIT_TYPES);
const relationshipTypes: ReadonlySet<string> = new Set(RELATIONSHIP_TYPES);

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return `a ${typeof v}`;
}

/** Checks an id: a string of 1..256 UTF-16 units, well-formed Unicode, no control characters. */
export function checkId(value: unknown, field: string): string {
  if (typeof value !== 'string') throw new EngramError('INVALID_ID', `${field}: must be a string, got ${describe(value)}`);
  if (value.length === 0) throw new EngramError('INVALID_ID', `${field}: must not be empty`);
  if (value.length > LIMITS.idLength) {
    throw new EngramError('INVALID_ID', `${field}: longer than ${LIMITS.idLength} characters (${value.length})`);
  }
  if (CONTROL_CHARS.test(value)) throw new EngramError('INVALID_ID', `${field}: must not contain control characters`);
  if (!value.isWellFormed()) throw new EngramError('INVALID_ID', `${field}: is not well-formed Unicode (lone surrogate)`);
  return value;
}

/** An epoch a stream resumes in, as a `subscribed` frame named it: 1–64 letters, digits, `-` or `_`. */
export function checkEpoch(value: unknown, field = 'epoch'): string {
  if (typeof value !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(value)) {
    throw new EngramError('INVALID_FIELD', `${field}: must be the epoch a subscribed frame named (1–64 letters, digits, - or _), got ${describe(value)}`);
  }
  return value;
}

/** `onTrimmed`: what a subscription does when retention trimmed units it asked for: `end` (the default) or `continue`. */
export function checkOnTrimmed(value: unknown, code: 'INVALID_FIELD' | 'INVALID_QUERY'): boolean {
  if (value === undefined || value === 'end') return false;
  if (value === 'continue') return true;
  throw new EngramError(code, `onTrimmed: must be "continue" or "end", got ${JSON.stringify(value)}`);
}

/** A lock resource name: 1..1024 characters of well-formed Unicode without control characters (slashes welcome). */
export function checkResource(value: unknown, field = 'resource'): string {
  if (typeof value !== 'string') throw new EngramError('INVALID_FIELD', `${field}: must be a string`);
  if (value.length === 0) throw new EngramError('INVALID_FIELD', `${field}: must not be empty`);
  if (value.length > LIMITS.resourceLength) {
    throw new EngramError('INVALID_FIELD', `${field}: longer than ${LIMITS.resourceLength} characters (${value.length})`);
  }
  if (CONTROL_CHARS.test(value) || !value.isWellFormed()) {
    throw new EngramError('INVALID_FIELD', `${field}: must be well-formed Unicode without control characters`);
  }
  return value;
}

function checkText(value: unknown, field: string, max: number): string {
  if (typeof value !== 'string') throw new EngramError('INVALID_FIELD', `${field}: must be a string, got ${describe(value)}`);
  if (value.length > max) throw new EngramError('INVALID_FIELD', `${field}: longer than ${max} characters`);
  if (!value.isWellFormed()) throw new EngramError('INVALID_FIELD', `${field}: is not well-formed Unicode (lone surrogate)`);
  return value;
}

function checkMetaKey(key: string, field: string): void {
  if (key.length === 0 || key.length > LIMITS.metaKeyLength) {
    throw new EngramError('INVALID_FIELD', `${field}: keys must be 1..${LIMITS.metaKeyLength} characters`);
  }
  if (CONTROL_CHARS.test(key) || !key.isWellFormed()) {
    throw new EngramError('INVALID_FIELD', `${field}: key ${JSON.stringify(key)} has control characters or lone surrogates`);
  }
  // Records are merged with plain objects; this one key would rewrite the prototype.
  if (key === '__proto__') throw new EngramError('INVALID_FIELD', `${field}: "__proto__" is not allowed as a key`);
}

/** A string→string map, such as `meta`. Returns a fresh object. */
export function checkStringMap(value: unknown, field: string): StringMap {
  if (!isPlainObject(value)) throw new EngramError('INVALID_FIELD', `${field}: must be an object of strings, got ${describe(value)}`);
  const keys = Object.keys(value);
  if (keys.length > LIMITS.metaEntries) {
    throw new EngramError('INVALID_FIELD', `${field}: more than ${LIMITS.metaEntries} entries`);
  }
  const out: StringMap = {};
  for (const key of keys) {
    checkMetaKey(key, field);
    out[key] = checkText(value[key], `${field}.${key}`, LIMITS.metaValueLength);
  }
  return out;
}

function checkEnum<T extends string>(value: unknown, field: string, allowed: ReadonlySet<string>, list: readonly T[]): T {
  if (typeof value !== 'string' || !allowed.has(value)) {
    throw new EngramError('INVALID_FIELD', `${field}: must be one of ${list.join(', ')}, got ${JSON.stringify(value) ?? 'undefined'}`);
  }
  return value as T;
}

/** Only what JSON can carry: a transport that decodes richer formats (MessagePack) may hand us more. */
function checkPlain(node: object): void {
  const proto: unknown = Object.getPrototypeOf(node);
  if (!Array.isArray(node) && proto !== Object.prototype && proto !== null) {
    throw new EngramError('INVALID_FIELD', 'payload: may contain only JSON values (objects, arrays, strings, numbers, booleans, null)');
  }
}

function checkScalar(v: unknown): void {
  if (typeof v === 'number') checkNumber(v);
  else if (v !== null && typeof v !== 'string' && typeof v !== 'boolean') {
    throw new EngramError('INVALID_FIELD', `payload: may contain only JSON values, found ${v === undefined ? 'undefined' : `a ${typeof v}`}`);
  }
}

function checkNumber(n: number): void {
  // JSON.parse turns 1e400 into Infinity, which would be stored as null: refuse rather than change the value.
  if (!Number.isFinite(n)) throw new EngramError('INVALID_FIELD', 'payload: numbers must be finite');
}

/**
 * Rejects payloads nested deeper than the limit, without recursing (so a hostile
 * depth cannot overflow the stack here or later in an encoder).
 */
function checkPayload(payload: unknown): void {
  if (typeof payload !== 'object' || payload === null) {
    checkScalar(payload);
    return;
  }
  const stack: Array<[object, number]> = [[payload, 1]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (depth > LIMITS.payloadDepth) {
      throw new EngramError('INVALID_FIELD', `payload: nested deeper than ${LIMITS.payloadDepth} levels`);
    }
    checkPlain(node);
    const children: unknown[] = Array.isArray(node) ? node : Object.values(node);
    for (const child of children) {
      if (typeof child === 'object' && child !== null) stack.push([child, depth + 1]);
      else checkScalar(child);
    }
  }
}

function checkRelationships(value: unknown): Relationship[] {
  if (!Array.isArray(value)) throw new EngramError('INVALID_FIELD', `relationships: must be an array, got ${describe(value)}`);
  if (value.length > LIMITS.relationships) {
    throw new EngramError('INVALID_FIELD', `relationships: more than ${LIMITS.relationships} entries`);
  }
  return value.map((rel: unknown, i) => {
    const field = `relationships[${i}]`;
    if (!isPlainObject(rel)) throw new EngramError('INVALID_FIELD', `${field}: must be an object, got ${describe(rel)}`);
    for (const key of Object.keys(rel)) {
      if (!RELATIONSHIP_FIELDS.has(key)) throw new EngramError('UNKNOWN_FIELD', `${field}.${key}: unknown field`);
    }
    if (rel.targetId === undefined) throw new EngramError('MISSING_FIELD', `${field}.targetId: required`);
    if (rel.type === undefined) throw new EngramError('MISSING_FIELD', `${field}.type: required`);
    return {
      targetId: checkId(rel.targetId, `${field}.targetId`),
      type: checkEnum<RelationshipType>(rel.type, `${field}.type`, relationshipTypes, RELATIONSHIP_TYPES),
      meta: rel.meta === undefined ? {} : checkStringMap(rel.meta, `${field}.meta`),
    };
  });
}

/**
 * Validates a new work unit as sent by a client. `headerKey` is an idempotency key
 * given out of band (the HTTP `Idempotency-Key` header); it must agree with the body's.
 */
export function parseWorkUnitDraft(input: unknown, headerKey?: string): WorkUnitDraft {
  if (!isPlainObject(input)) throw new EngramError('INVALID_FIELD', `work unit: must be a JSON object, got ${describe(input)}`);
  for (const key of Object.keys(input)) {
    if (SERVER_FIELDS.has(key)) throw new EngramError('UNKNOWN_FIELD', `${key}: is assigned by the server and must not be sent`);
    if (!UNIT_FIELDS.has(key)) throw new EngramError('UNKNOWN_FIELD', `${key}: unknown field`);
  }
  for (const key of UNIT_REQUIRED) {
    if (input[key] === undefined) throw new EngramError('MISSING_FIELD', `${key}: required`);
  }
  let idempotencyKey: string | undefined;
  if (input.idempotencyKey !== undefined) idempotencyKey = checkId(input.idempotencyKey, 'idempotencyKey');
  if (headerKey !== undefined) {
    checkId(headerKey, 'Idempotency-Key');
    if (idempotencyKey !== undefined && idempotencyKey !== headerKey) {
      throw new EngramError('INVALID_FIELD', 'idempotencyKey: differs from the Idempotency-Key header');
    }
    idempotencyKey = headerKey;
  }
  checkPayload(input.payload);
  if (input.type === 'SUMMARY') summaryRange(input.payload);
  return {
    fence: input.fence === undefined ? undefined : checkFence(input.fence),
    embedding: input.embedding === undefined ? undefined : checkVector(input.embedding, 'embedding'),
    contextId: checkId(input.contextId, 'contextId'),
    agentId: checkId(input.agentId, 'agentId'),
    type: checkEnum<WorkUnitType>(input.type, 'type', unitTypes, WORK_UNIT_TYPES),
    meta: input.meta === undefined ? {} : checkStringMap(input.meta, 'meta'),
    payload: input.payload,
    relationships: input.relationships === undefined ? [] : checkRelationships(input.relationships),
    idempotencyKey,
  };
}

/** A vector of finite numbers (an embedding or a query vector); its dimension is checked where it is used. */
export function checkVector(value: unknown, field: string): Float32Array {
  if (!Array.isArray(value) || value.length === 0 || value.length > LIMITS.vectorDims) {
    throw new EngramError('INVALID_FIELD', `${field}: must be an array of 1 to ${LIMITS.vectorDims} numbers`);
  }
  const out = new Float32Array(value.length);
  for (let i = 0; i < value.length; i++) {
    const x: unknown = value[i];
    if (typeof x !== 'number' || !Number.isFinite(x)) throw new EngramError('INVALID_FIELD', `${field}[${i}]: must be a finite number`);
    out[i] = x;
  }
  return out;
}

/** A write's fence: the lock it must hold, `{resource, token}`. */
function checkFence(value: unknown): Fence {
  if (!isPlainObject(value)) throw new EngramError('INVALID_FIELD', `fence: must be an object {resource, token}, got ${describe(value)}`);
  for (const key of Object.keys(value)) {
    if (!FENCE_FIELDS.has(key)) throw new EngramError('UNKNOWN_FIELD', `fence.${key}: unknown field`);
  }
  if (value.resource === undefined) throw new EngramError('MISSING_FIELD', 'fence.resource: required');
  if (value.token === undefined) throw new EngramError('MISSING_FIELD', 'fence.token: required');
  const token = value.token;
  if (typeof token !== 'number' || !Number.isSafeInteger(token) || token < 1) {
    throw new EngramError('INVALID_FIELD', 'fence.token: must be a positive integer (the token from acquiring the lock)');
  }
  return { resource: checkResource(value.resource, 'fence.resource'), token };
}

function checkIdList(value: unknown, field: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new EngramError('INVALID_FIELD', `${field}: must be an array of ids, got ${describe(value)}`);
  if (value.length > LIMITS.patchListLength) {
    throw new EngramError('INVALID_FIELD', `${field}: more than ${LIMITS.patchListLength} entries`);
  }
  return [...new Set(value.map((v: unknown, i) => checkId(v, `${field}[${i}]`)))];
}

/** Validates a PATCH of a context. */
export function parseContextPatch(input: unknown): ContextPatch {
  if (!isPlainObject(input)) throw new EngramError('INVALID_FIELD', `context patch: must be a JSON object, got ${describe(input)}`);
  for (const key of Object.keys(input)) {
    if (!PATCH_FIELDS.has(key)) throw new EngramError('UNKNOWN_FIELD', `${key}: unknown field`);
  }
  let displayName: string | undefined;
  if (input.displayName !== undefined) {
    displayName = checkText(input.displayName, 'displayName', LIMITS.displayNameLength);
    if (displayName.length === 0 || CONTROL_CHARS.test(displayName)) {
      throw new EngramError('INVALID_FIELD', 'displayName: must be non-empty and free of control characters');
    }
  }
  const meta: Record<string, string | null> = {};
  if (input.meta !== undefined) {
    if (!isPlainObject(input.meta)) throw new EngramError('INVALID_FIELD', `meta: must be an object, got ${describe(input.meta)}`);
    const keys = Object.keys(input.meta);
    if (keys.length > LIMITS.metaEntries) throw new EngramError('INVALID_FIELD', `meta: more than ${LIMITS.metaEntries} entries`);
    for (const key of keys) {
      checkMetaKey(key, 'meta');
      const v = input.meta[key];
      meta[key] = v === null ? null : checkText(v, `meta.${key}`, LIMITS.metaValueLength);
    }
  }
  return {
    displayName,
    addAgents: checkIdList(input.addAgents, 'addAgents'),
    removeAgents: checkIdList(input.removeAgents, 'removeAgents'),
    pinUnits: checkIdList(input.pinUnits, 'pinUnits'),
    unpinUnits: checkIdList(input.unpinUnits, 'unpinUnits'),
    meta,
  };
}

/** A validated fork request (POST /contexts/{id}/fork). */
export interface ForkRequest {
  seq: number;
  /** The new context's id; the engine makes one when absent. */
  id: string | undefined;
  displayName: string | undefined;
  meta: Record<string, string>;
}

export function parseForkRequest(input: unknown): ForkRequest {
  if (!isPlainObject(input)) throw new EngramError('INVALID_FIELD', `fork: must be a JSON object, got ${describe(input)}`);
  for (const key of Object.keys(input)) {
    if (!FORK_FIELDS.has(key)) throw new EngramError('UNKNOWN_FIELD', `${key}: unknown field`);
  }
  if (input.seq === undefined) throw new EngramError('MISSING_FIELD', 'seq: required (the seq of the parent the fork shares up to; 0 shares nothing)');
  if (typeof input.seq !== 'number' || !Number.isSafeInteger(input.seq) || input.seq < 0) {
    throw new EngramError('INVALID_FIELD', `seq: must be a whole number from 0, got ${describe(input.seq)}`);
  }
  const id = input.id === undefined ? undefined : checkId(input.id, 'id');
  let displayName: string | undefined;
  if (input.displayName !== undefined) {
    displayName = checkText(input.displayName, 'displayName', LIMITS.displayNameLength);
    if (displayName.length === 0 || CONTROL_CHARS.test(displayName)) throw new EngramError('INVALID_FIELD', 'displayName: must be non-empty and free of control characters');
  }
  const meta: Record<string, string> = {};
  if (input.meta !== undefined) {
    if (!isPlainObject(input.meta)) throw new EngramError('INVALID_FIELD', `meta: must be an object, got ${describe(input.meta)}`);
    const keys = Object.keys(input.meta);
    if (keys.length > LIMITS.metaEntries) throw new EngramError('INVALID_FIELD', `meta: more than ${LIMITS.metaEntries} entries`);
    for (const key of keys) {
      checkMetaKey(key, 'meta');
      meta[key] = checkText(input.meta[key], `meta.${key}`, LIMITS.metaValueLength);
    }
  }
  return { seq: input.seq, id, displayName, meta };
}

export interface ListQuery {
  limit: number;
  /** Only seqs greater than this. */
  after: number;
  /** Only seqs less than this (Infinity when open). */
  before: number;
  reverse: boolean;
}

/** Checks the numbers of a unit listing; transports parse strings into numbers first. */
export function normalizeListQuery(q: { limit?: number; after?: number; before?: number; reverse?: boolean }): ListQuery {
  const limit = q.limit ?? LIMITS.listDefault;
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > LIMITS.listMax) {
    throw new EngramError('INVALID_QUERY', `limit: must be an integer from 1 to ${LIMITS.listMax}`);
  }
  const after = q.after ?? 0;
  if (!Number.isSafeInteger(after) || after < 0) throw new EngramError('INVALID_QUERY', 'after: must be a non-negative integer seq');
  const before = q.before ?? Infinity;
  if (before !== Infinity && (!Number.isSafeInteger(before) || before < 1)) {
    throw new EngramError('INVALID_QUERY', 'before: must be a positive integer seq');
  }
  return { limit, after, before, reverse: q.reverse ?? false };
}

/**
 * Orders strings as their UTF-8 bytes do (= by code point), as LevelDB keys sort. JavaScript's
 * `<` compares UTF-16 units, which puts U+E000..U+FFFF after the astral planes.
 */
export function compareUtf8(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    // A surrogate (D800–DFFF) starts a code point above FFFF: it sorts after every other unit.
    const xs = x >= 0xd800 && x <= 0xdfff;
    const ys = y >= 0xd800 && y <= 0xdfff;
    if (xs !== ys) return xs ? 1 : -1;
    return x - y;
  }
  return a.length - b.length;
}
