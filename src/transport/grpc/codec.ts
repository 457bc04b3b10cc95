/**
 * Converts between the protobuf messages of engram.v3 and what the engine takes and
 * returns. Requests become the same JSON-shaped inputs an HTTP body would be, so the
 * engine's validation (and its error messages) are the same on both wires. Proto3 has
 * no "absent" for strings and numbers: an empty string or a zero means "not given".
 */
import { EngramError } from '../../basics/errors.js';
import type { LockView } from '../../locks/lock-types.js';
import { RELATIONSHIP_TYPES, WORK_UNIT_TYPES, isBinaryJson, type ContextView, type WorkUnit } from '../../basics/types.js';
import { engram, google } from '../../generated/engram.js';
import type { PresenceMemberView } from '../../streams/frames.js';

import pb = engram.v3;

type Long = { toNumber(): number };
type Uint64 = number | Long | null | undefined;

/** A uint64 as a number (seqs, tokens and versions stay far below 2^53). */
export function num(v: Uint64): number {
  if (v === null || v === undefined) return 0;
  return typeof v === 'number' ? v : v.toNumber();
}

const unitTypeToProto = new Map<string, number>();
const unitTypeFromProto = new Map<number, string>();
for (const t of WORK_UNIT_TYPES) {
  const value = (pb.WorkUnitType as unknown as Record<string, number>)[`WORK_UNIT_TYPE_${t}`]!;
  unitTypeToProto.set(t, value);
  unitTypeFromProto.set(value, t);
}
const relTypeToProto = new Map<string, number>();
const relTypeFromProto = new Map<number, string>();
for (const t of RELATIONSHIP_TYPES) {
  const value = (pb.RelationshipType as unknown as Record<string, number>)[`RELATIONSHIP_TYPE_${t}`]!;
  relTypeToProto.set(t, value);
  relTypeFromProto.set(value, t);
}

/** An enum value as the engine's name: undefined for 0 (not given), an invalid marker otherwise. */
function enumName(map: Map<number, string>, value: number | null | undefined, field: string): string | undefined {
  if (!value) return undefined;
  const name = map.get(value);
  if (name === undefined) throw new EngramError('INVALID_FIELD', `${field}: unknown enum value ${value}`);
  return name;
}

const str = (v: string | null | undefined): string | undefined => (v ? v : undefined);
const map = (m: Record<string, string> | null | undefined): Record<string, string> | undefined => (m && Object.keys(m).length > 0 ? m : undefined);

function payloadIn(p: pb.IPayload | null | undefined): unknown {
  if (!p) return undefined; // the engine answers MISSING_FIELD
  if (p.binary) {
    const data = p.binary.data ?? new Uint8Array();
    return { $binary: Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64'), contentType: p.binary.contentType ?? '' };
  }
  if (typeof p.json === 'string') {
    try {
      return JSON.parse(p.json);
    } catch {
      throw new EngramError('MALFORMED_JSON', 'payload.json: is not valid JSON text');
    }
  }
  return undefined;
}

function payloadOut(v: unknown): pb.IPayload {
  if (isBinaryJson(v)) return { binary: { data: Buffer.from(v.$binary, 'base64'), contentType: v.contentType } };
  return { json: JSON.stringify(v) };
}

/** A CreateWorkUnitRequest as the body of POST /workunit. */
export function unitInput(r: pb.ICreateWorkUnitRequest): Record<string, unknown> {
  const input: Record<string, unknown> = {
    contextId: str(r.contextId),
    agentId: str(r.agentId),
    type: enumName(unitTypeFromProto, r.type, 'type'),
    payload: payloadIn(r.payload),
  };
  if (map(r.meta)) input.meta = r.meta;
  if (r.relationships && r.relationships.length > 0) {
    input.relationships = r.relationships.map((rel, i) => ({
      targetId: str(rel.targetId),
      type: enumName(relTypeFromProto, rel.type, `relationships[${i}].type`),
      ...(map(rel.meta) ? { meta: rel.meta } : {}),
    }));
  }
  if (r.idempotencyKey) input.idempotencyKey = r.idempotencyKey;
  if (r.fence) input.fence = { resource: str(r.fence.resource), token: num(r.fence.token as Uint64) };
  if (r.embedding && r.embedding.length > 0) input.embedding = r.embedding;
  return input;
}

function timestamp(ms: number): google.protobuf.ITimestamp {
  const seconds = Math.floor(ms / 1000);
  return { seconds, nanos: (ms - seconds * 1000) * 1e6 };
}

const timestampOf = (iso: string) => timestamp(Date.parse(iso));

export function timestampMs(t: google.protobuf.ITimestamp | null | undefined): number | undefined {
  if (!t) return undefined;
  return num(t.seconds as Uint64) * 1000 + Math.floor((t.nanos ?? 0) / 1e6);
}

/** A stored unit (its JSON text, or that parsed) as a WorkUnit message. */
export function unitOut(unit: string | WorkUnit): pb.IWorkUnit {
  const u = typeof unit === 'string' ? (JSON.parse(unit) as WorkUnit) : unit;
  return {
    id: u.id,
    contextId: u.contextId,
    seq: u.seq,
    agentId: u.agentId,
    type: unitTypeToProto.get(u.type) ?? 0,
    ts: timestampOf(u.ts),
    meta: u.meta,
    payload: payloadOut(u.payload),
    relationships: u.relationships.map((r) => ({ targetId: r.targetId, type: relTypeToProto.get(r.type) ?? 0, meta: r.meta })),
  };
}

export function contextOut(c: ContextView): pb.IContext {
  const out: pb.IContext = {
    id: c.id,
    displayName: c.displayName,
    agentIds: c.agentIds,
    pinnedUnits: c.pinnedUnits,
    meta: c.meta,
    createdAt: timestampOf(c.createdAt),
    updatedAt: timestampOf(c.updatedAt),
    version: c.version,
    headSeq: c.headSeq,
    firstSeq: c.firstSeq,
  };
  if (c.forkOf !== undefined) {
    out.forkOf = c.forkOf;
    out.lineage = c.lineage ?? [];
  }
  if (c.forks !== undefined) out.forks = c.forks;
  return out;
}

/** A ForkContextRequest as a fork body (an empty id is absent). */
export function forkInput(r: pb.IForkContextRequest): Record<string, unknown> {
  const body: Record<string, unknown> = { seq: num(r.seq) };
  if (r.id) body.id = r.id;
  if (typeof r.displayName === 'string') body.displayName = r.displayName;
  if (r.meta !== undefined && r.meta !== null && Object.keys(r.meta).length > 0) body.meta = r.meta;
  return body;
}

/** An UpdateContextRequest as a PATCH body and its If-Match precondition. */
export function contextPatchInput(r: pb.IUpdateContextRequest): { patch: Record<string, unknown>; ifMatch: number | '*' | undefined } {
  const patch: Record<string, unknown> = {};
  if (typeof r.displayName === 'string') patch.displayName = r.displayName;
  if (r.addAgents?.length) patch.addAgents = r.addAgents;
  if (r.removeAgents?.length) patch.removeAgents = r.removeAgents;
  if (r.pinUnits?.length) patch.pinUnits = r.pinUnits;
  if (r.unpinUnits?.length) patch.unpinUnits = r.unpinUnits;
  const meta: Record<string, string | null> = { ...(r.setMeta ?? {}) };
  for (const key of r.deleteMeta ?? []) {
    if (key in meta) throw new EngramError('INVALID_FIELD', `delete_meta: ${JSON.stringify(key)} is also in set_meta`);
    meta[key] = null;
  }
  if (Object.keys(meta).length > 0) patch.meta = meta;
  const ifMatch = r.ifVersion !== null && r.ifVersion !== undefined ? num(r.ifVersion as Uint64) : r.ifExists ? '*' : undefined;
  return { patch, ifMatch };
}

export function lockOut(l: LockView): pb.ILock {
  return {
    resource: l.resource,
    agentId: l.agentId,
    lockId: l.lockId,
    token: l.token,
    expiresAt: timestampOf(l.expiresAt),
    ttlMs: l.ttlMs,
    acquiredAt: timestampOf(l.acquiredAt),
    contextId: l.contextId ?? '',
    waiting: l.waiting ?? 0,
  };
}

/** An AcquireLockRequest as the body of POST /locks. */
export function acquireInput(r: pb.IAcquireLockRequest): Record<string, unknown> {
  const resources = r.resources ?? [];
  const input: Record<string, unknown> = resources.length === 1 ? { resource: resources[0] } : { resources };
  if (resources.length === 0) delete input.resources; // the lock manager answers MISSING_FIELD
  input.agentId = str(r.agentId);
  if (r.ttlMs !== null && r.ttlMs !== undefined) input.ttlMs = num(r.ttlMs as Uint64);
  if (r.waitMs !== null && r.waitMs !== undefined) input.waitMs = num(r.waitMs as Uint64);
  if (r.contextId) input.contextId = r.contextId;
  return input;
}

const SEARCH_MODES = new Map<number, string>([
  [pb.SearchMode.SEARCH_MODE_HYBRID, 'hybrid'],
  [pb.SearchMode.SEARCH_MODE_KEYWORD, 'keyword'],
  [pb.SearchMode.SEARCH_MODE_VECTOR, 'vector'],
]);

/** A SearchRequest as the body of POST /search. */
export function searchInput(r: pb.ISearchRequest): Record<string, unknown> {
  const input: Record<string, unknown> = {};
  if (r.query) input.query = r.query;
  if (r.vector?.length) input.vector = r.vector;
  const mode = enumName(SEARCH_MODES, r.mode, 'mode');
  if (mode !== undefined) input.mode = mode;
  if (r.contextIds?.length) input.contextIds = r.contextIds;
  if (r.agentIds?.length) input.agentIds = r.agentIds;
  if (r.types?.length) input.types = r.types.map((t, i) => enumName(unitTypeFromProto, t, `types[${i}]`) ?? 'UNSPECIFIED');
  if (map(r.meta)) input.meta = r.meta;
  const since = timestampMs(r.since);
  if (since !== undefined) input.since = since;
  const until = timestampMs(r.until);
  if (until !== undefined) input.until = until;
  if (r.limit) input.limit = r.limit;
  if (r.offset) input.offset = r.offset;
  if (r.fresh) input.fresh = true;
  return input;
}

/** A presence member as gRPC sends it (no agent: an empty agent_id). */
export const presenceMemberOut = (m: PresenceMemberView): pb.IPresenceMember => ({
  clientId: m.clientId,
  agentId: m.agentId ?? '',
  connections: m.connections,
  since: timestampOf(m.since),
});
