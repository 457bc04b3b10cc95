/** The domain model: work units and contexts, as stored and as served. */

export const WORK_UNIT_TYPES = [
  'MESSAGE',
  'REASONING',
  'TOOL_CALL',
  'TOOL_RESULT',
  'FILE_CHANGE',
  'TASK_STATUS',
  'ERROR',
  'SYSTEM',
  'SUMMARY',
  'APPROVAL_REQUEST',
  'APPROVAL_DECISION',
] as const;
export type WorkUnitType = (typeof WORK_UNIT_TYPES)[number];

export const RELATIONSHIP_TYPES = ['SEQUENTIAL', 'CAUSES', 'DEPENDS_ON', 'REFERENCES', 'RESPONDS_TO', 'MODIFIES', 'REPLACES'] as const;
export type RelationshipType = (typeof RELATIONSHIP_TYPES)[number];

export type StringMap = Record<string, string>;

export interface Relationship {
  targetId: string;
  type: RelationshipType;
  meta: StringMap;
}

/** An immutable work unit as stored and served. `ts` is RFC 3339 UTC with milliseconds. */
export interface WorkUnit {
  id: string;
  contextId: string;
  seq: number;
  agentId: string;
  type: WorkUnitType;
  ts: string;
  meta: StringMap;
  payload: unknown;
  relationships: Relationship[];
}

/** A lock a write must hold: it is refused unless `token` is the current holder's. */
export interface Fence {
  resource: string;
  token: number;
}

/** What a client supplies for a new unit; the server adds id, seq and ts. */
export interface WorkUnitDraft {
  fence: Fence | undefined;
  /** The client's own vector for search, stored beside the unit (not part of its JSON). */
  embedding: Float32Array | undefined;
  contextId: string;
  agentId: string;
  type: WorkUnitType;
  meta: StringMap;
  payload: unknown;
  relationships: Relationship[];
  idempotencyKey: string | undefined;
  /** The client writing, when the context is in a shared space (set by the engine, not parsed). */
  writer?: string;
  /** The seq the unit must get, or it is refused (set by the engine for the memory services, not parsed). */
  expectSeq?: number;
}

/**
 * A context's record. Times are epoch milliseconds here and RFC 3339 strings on the wire.
 * `version` counts changes to the record itself (PATCH, or a new agent joining by writing);
 * appending units moves `headSeq` and `updatedAt` but not `version`.
 */
export interface ContextRecord {
  id: string;
  displayName: string;
  agentIds: string[];
  pinnedUnits: string[];
  meta: StringMap;
  createdAt: number;
  updatedAt: number;
  version: number;
  headSeq: number;
  /**
   * Set on a context created under the id of a deleted one: which history this is. A stream's
   * epoch joins it to the log's, so seqs of the deleted history are never taken for this one's.
   */
  incarnation?: string;
  /** The first seq still stored (retention trimmed the ones below; pinned units below it are readable by id). Absent: 1. */
  firstSeq?: number;
  /** Set on a fork (docs/agents.md, Forks): the context it was forked from and the seq it shares up to. */
  forkOf?: ForkPoint;
  /**
   * Set on a fork: where its shared history lives, root first. Entry i holds the seqs above entry
   * i-1's seq (0 for the first) up to its own, read from its context; the fork's own units follow.
   */
  lineage?: ForkPoint[];
  /** The ids of the contexts forked from this one (a fork deleted in a crash may linger here until checked). */
  forks?: string[];
}

/** A context and a seq of it: a fork's parent and fork point, or one stretch of a fork's lineage. */
export interface ForkPoint {
  contextId: string;
  seq: number;
}

export interface ContextView {
  id: string;
  displayName: string;
  agentIds: string[];
  pinnedUnits: string[];
  meta: StringMap;
  createdAt: string;
  updatedAt: string;
  version: number;
  headSeq: number;
  firstSeq: number;
  /** Only on a fork. */
  forkOf?: ForkPoint;
  lineage?: ForkPoint[];
  /** Only on a context with forks. */
  forks?: string[];
}

export function contextView(r: ContextRecord): ContextView {
  const view: ContextView = {
    id: r.id,
    displayName: r.displayName,
    agentIds: r.agentIds,
    pinnedUnits: r.pinnedUnits,
    meta: r.meta,
    createdAt: new Date(r.createdAt).toISOString(),
    updatedAt: new Date(r.updatedAt).toISOString(),
    version: r.version,
    headSeq: r.headSeq,
    firstSeq: r.firstSeq ?? 1,
  };
  if (r.forkOf !== undefined) {
    view.forkOf = r.forkOf;
    view.lineage = r.lineage ?? [];
  }
  if (r.forks !== undefined && r.forks.length > 0) view.forks = r.forks;
  return view;
}

/** A validated PATCH of a context. Absent fields change nothing; a meta value of null deletes the key. */
export interface ContextPatch {
  displayName: string | undefined;
  addAgents: string[];
  removeAgents: string[];
  pinUnits: string[];
  unpinUnits: string[];
  meta: Record<string, string | null>;
}

/**
 * What retention keeps of one context (a policy's limits, docs/lifecycle.md). Units beyond any
 * limit are trimmed, oldest first; the head and the seqs stay. Undefined limits do not apply.
 */
export interface RetentionRule {
  /** Units older than this (by their `ts`) go. */
  maxAgeMs?: number;
  /** At most this many of the newest units stay. */
  maxUnits?: number;
  /** At most this many bytes of the newest units' JSON stay. */
  maxBytes?: number;
  /** Pinned units stay, readable by id, when the units around them go (default true). */
  keepPinned: boolean;
}

/** The stored JSON form of a binary payload (docs/grpc.md): bytes as base64 and their content type. */
export interface BinaryJson {
  $binary: string;
  contentType: string;
}

export function isBinaryJson(v: unknown): v is BinaryJson {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o);
  return keys.length === 2 && typeof o.$binary === 'string' && typeof o.contentType === 'string';
}
