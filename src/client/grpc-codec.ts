/** The SDK's shapes (docs/api.md JSON) to and from engram.v3 messages, for GrpcEngramClient. */
import { engram, google } from '../generated/engram.js';
import {
  isBinaryPayload,
  type Context,
  type ContextPatch,
  type ForkPoint,
  type Lock,
  type NewWorkUnit,
  type PresenceMember,
  type SearchRequest,
  type WorkUnit,
  type WorkUnitType,
} from './types.js';

import pb = engram.v3;

type Long = { toNumber(): number };

export function num(v: number | Long | null | undefined): number {
  if (v === null || v === undefined) return 0;
  return typeof v === 'number' ? v : v.toNumber();
}

const byName = (e: object, prefix: string, name: string): number => {
  const value = (e as Record<string, number>)[prefix + name];
  if (value === undefined) throw new TypeError(`unknown ${prefix.slice(0, -1).toLowerCase()} ${JSON.stringify(name)}`);
  return value;
};
const byValue = (e: object, prefix: string, value: number): string => ((e as Record<number, string>)[value] ?? '').slice(prefix.length);

const UNIT = 'WORK_UNIT_TYPE_';
const REL = 'RELATIONSHIP_TYPE_';

function payloadToProto(v: unknown): pb.IPayload {
  if (isBinaryPayload(v)) return { binary: { data: Buffer.from(v.$binary, 'base64'), contentType: v.contentType } };
  return { json: JSON.stringify(v ?? null) };
}

function payloadFromProto(p: pb.IPayload | null | undefined): unknown {
  if (!p) return null;
  if (p.binary) {
    const d = p.binary.data ?? new Uint8Array();
    return { $binary: Buffer.from(d.buffer, d.byteOffset, d.byteLength).toString('base64'), contentType: p.binary.contentType ?? '' };
  }
  return typeof p.json === 'string' ? JSON.parse(p.json) : null;
}

function timestamp(t: google.protobuf.ITimestamp | null | undefined): string {
  return new Date(num(t?.seconds as number) * 1000 + Math.floor((t?.nanos ?? 0) / 1e6)).toISOString();
}

function toTimestamp(v: string | number): google.protobuf.ITimestamp {
  const ms = typeof v === 'number' ? v : Date.parse(v);
  const seconds = Math.floor(ms / 1000);
  return { seconds, nanos: (ms - seconds * 1000) * 1e6 };
}

export function unitToProto(u: NewWorkUnit): pb.ICreateWorkUnitRequest {
  const req: pb.ICreateWorkUnitRequest = {
    contextId: u.contextId,
    agentId: u.agentId,
    type: byName(pb.WorkUnitType, UNIT, u.type),
    payload: payloadToProto(u.payload),
  };
  if (u.meta) req.meta = u.meta;
  if (u.relationships) req.relationships = u.relationships.map((r) => ({ targetId: r.targetId, type: byName(pb.RelationshipType, REL, r.type), meta: r.meta ?? {} }));
  if (u.idempotencyKey) req.idempotencyKey = u.idempotencyKey;
  if (u.fence) req.fence = u.fence;
  if (u.embedding) req.embedding = u.embedding;
  return req;
}

export function unitFromProto(u: pb.IWorkUnit): WorkUnit {
  return {
    id: u.id ?? '',
    contextId: u.contextId ?? '',
    seq: num(u.seq as number),
    agentId: u.agentId ?? '',
    type: byValue(pb.WorkUnitType, UNIT, u.type ?? 0) as WorkUnitType,
    ts: timestamp(u.ts),
    meta: { ...(u.meta ?? {}) },
    payload: payloadFromProto(u.payload),
    relationships: (u.relationships ?? []).map((r) => ({
      targetId: r.targetId ?? '',
      type: byValue(pb.RelationshipType, REL, r.type ?? 0) as WorkUnit['relationships'][number]['type'],
      meta: { ...(r.meta ?? {}) },
    })),
  };
}

export function contextFromProto(c: pb.IContext): Context {
  const ctx: Context = {
    id: c.id ?? '',
    displayName: c.displayName ?? '',
    agentIds: [...(c.agentIds ?? [])],
    pinnedUnits: [...(c.pinnedUnits ?? [])],
    meta: { ...(c.meta ?? {}) },
    createdAt: timestamp(c.createdAt),
    updatedAt: timestamp(c.updatedAt),
    version: num(c.version as number),
    headSeq: num(c.headSeq as number),
    firstSeq: Math.max(1, num((c.firstSeq ?? 1) as number)),
  };
  if (c.forkOf !== undefined && c.forkOf !== null) {
    ctx.forkOf = forkPointFromProto(c.forkOf);
    ctx.lineage = (c.lineage ?? []).map(forkPointFromProto);
  }
  if (c.forks !== undefined && c.forks !== null && c.forks.length > 0) ctx.forks = [...c.forks];
  return ctx;
}

function forkPointFromProto(f: pb.IForkPoint): ForkPoint {
  return { contextId: f.contextId ?? '', seq: num(f.seq as number) };
}

export function patchToProto(p: ContextPatch): pb.IUpdateContextRequest {
  const req: pb.IUpdateContextRequest = {};
  if (p.displayName !== undefined) req.displayName = p.displayName;
  if (p.addAgents) req.addAgents = p.addAgents;
  if (p.removeAgents) req.removeAgents = p.removeAgents;
  if (p.pinUnits) req.pinUnits = p.pinUnits;
  if (p.unpinUnits) req.unpinUnits = p.unpinUnits;
  if (p.meta) {
    req.setMeta = {};
    req.deleteMeta = [];
    for (const [k, v] of Object.entries(p.meta)) {
      if (v === null) req.deleteMeta.push(k);
      else req.setMeta[k] = v;
    }
  }
  return req;
}

export function lockFromProto(l: pb.ILock): Lock {
  const lock: Lock = {
    resource: l.resource ?? '',
    agentId: l.agentId ?? '',
    lockId: l.lockId ?? '',
    token: num(l.token as number),
    expiresAt: timestamp(l.expiresAt),
    ttlMs: num(l.ttlMs as number),
    acquiredAt: timestamp(l.acquiredAt),
  };
  if (l.contextId) lock.contextId = l.contextId;
  if (l.waiting) lock.waiting = l.waiting;
  return lock;
}

export function searchToProto(s: SearchRequest): pb.ISearchRequest {
  const req: pb.ISearchRequest = {};
  if (s.query !== undefined) req.query = s.query;
  if (s.vector) req.vector = s.vector;
  if (s.mode) req.mode = byName(pb.SearchMode, 'SEARCH_MODE_', s.mode.toUpperCase());
  if (s.contextId !== undefined) req.contextIds = [s.contextId];
  if (s.contextIds) req.contextIds = s.contextIds;
  if (s.agentIds) req.agentIds = s.agentIds;
  if (s.types) req.types = s.types.map((t) => byName(pb.WorkUnitType, UNIT, t));
  if (s.meta) req.meta = s.meta;
  if (s.since !== undefined) req.since = toTimestamp(s.since);
  if (s.until !== undefined) req.until = toTimestamp(s.until);
  if (s.limit !== undefined) req.limit = s.limit;
  if (s.offset !== undefined) req.offset = s.offset;
  if (s.fresh) req.fresh = true;
  return req;
}

export function presenceMemberFromProto(m: pb.IPresenceMember): PresenceMember {
  return { clientId: m.clientId ?? '', agentId: m.agentId ? m.agentId : null, connections: m.connections ?? 0, since: timestamp(m.since) };
}
