/** What the SDK sends and returns: the JSON shapes of docs/api.md, the same over HTTP and gRPC. */

export type WorkUnitType =
  'MESSAGE' | 'REASONING' | 'TOOL_CALL' | 'TOOL_RESULT' | 'FILE_CHANGE' | 'TASK_STATUS' | 'ERROR' | 'SYSTEM' | 'SUMMARY' | 'APPROVAL_REQUEST' | 'APPROVAL_DECISION';
export type RelationshipType = 'SEQUENTIAL' | 'CAUSES' | 'DEPENDS_ON' | 'REFERENCES' | 'RESPONDS_TO' | 'MODIFIES' | 'REPLACES';

export interface Relationship {
  targetId: string;
  type: RelationshipType;
  meta?: Record<string, string>;
}

export interface WorkUnit {
  id: string;
  contextId: string;
  seq: number;
  agentId: string;
  type: WorkUnitType;
  ts: string;
  meta: Record<string, string>;
  payload: unknown;
  relationships: Required<Relationship>[];
}

/** Bytes as a payload: stored as this JSON object, returned as it by both clients. */
export interface BinaryPayload {
  $binary: string;
  contentType: string;
}

export function binaryPayload(data: Uint8Array, contentType: string): BinaryPayload {
  return { $binary: Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64'), contentType };
}

export function isBinaryPayload(v: unknown): v is BinaryPayload {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const o = v as Record<string, unknown>;
  return Object.keys(o).length === 2 && typeof o.$binary === 'string' && typeof o.contentType === 'string';
}

export interface NewWorkUnit {
  contextId: string;
  agentId: string;
  type: WorkUnitType;
  payload: unknown;
  meta?: Record<string, string>;
  relationships?: Relationship[];
  /** Retries with the same key (per context) return the first write instead of a second unit. */
  idempotencyKey?: string;
  /** Store only while this lock token is the holder's (docs/locks.md). */
  fence?: { resource: string; token: number };
  /** The unit's own vector for search. */
  embedding?: number[];
}

export interface WriteResult {
  workUnit: WorkUnit;
  /** True when an idempotency key matched an earlier write. */
  replayed: boolean;
}

export interface ListQuery {
  limit?: number;
  after?: number;
  before?: number;
  reverse?: boolean;
  /** Each applied SUMMARY in place of the range it covers (docs/agents.md#summaries); a cursor is then the last seq a page consumed. */
  summaries?: boolean;
}

export interface UnitPage {
  workUnits: WorkUnit[];
  nextCursor: number | null;
  /** The context's first seq still stored (retention trimmed the units below it). */
  firstSeq: number;
}

export interface Context {
  /** The first seq still stored: retention trimmed the units below it (pinned ones stay readable by id). */
  firstSeq: number;
  id: string;
  displayName: string;
  agentIds: string[];
  pinnedUnits: string[];
  meta: Record<string, string>;
  createdAt: string;
  updatedAt: string;
  version: number;
  headSeq: number;
  /** Only on a fork: the context it was forked from and the seq it shares up to. */
  forkOf?: ForkPoint;
  /** Only on a fork: where its shared seqs are read from, root first (each entry up to its seq). */
  lineage?: ForkPoint[];
  /** Only on a context with forks: their ids. */
  forks?: string[];
}

/** A context and a seq of it (a fork's parent, one stretch of its lineage). */
export interface ForkPoint {
  contextId: string;
  seq: number;
}

/** What fork() takes besides the parent: the seq to share up to (0: nothing) and, optionally, the new id, name and meta. */
export interface ForkOptions {
  seq: number;
  id?: string;
  displayName?: string;
  meta?: Record<string, string>;
}

export interface ContextPatch {
  displayName?: string;
  addAgents?: string[];
  removeAgents?: string[];
  pinUnits?: string[];
  unpinUnits?: string[];
  /** A value of null deletes the key. */
  meta?: Record<string, string | null>;
}

/** What deleting a context removed. */
export interface ContextDeletion {
  contextId: string;
  deleted: true;
  /** Units removed, and the bytes of their JSON text. */
  units: number;
  bytes: number;
  /** Forks deleted with it (cascade), forks of forks first. */
  forksDeleted: string[];
}

export interface ContextPage {
  contexts: Context[];
  nextCursor: string | null;
}

export interface Lock {
  resource: string;
  agentId: string;
  /**
   * The holder's proof. Always there for locks you acquired; for a lock another member of a
   * shared group holds, listings leave lockId and token out (over gRPC: '' and 0).
   */
  lockId: string;
  token: number;
  expiresAt: string;
  ttlMs: number;
  acquiredAt: string;
  /** How long the lease had left when the server answered (HTTP; gRPC carries only expiresAt). */
  remainingMs?: number;
  contextId?: string;
  waiting?: number;
}

export interface AcquireRequest {
  agentId: string;
  ttlMs?: number;
  /** Wait in line up to this long for a held lock (first come, first served). */
  waitMs?: number;
  /** Subscribers of this context see the lock's events. */
  contextId?: string;
}

export interface SearchRequest {
  query?: string;
  vector?: number[];
  mode?: 'hybrid' | 'keyword' | 'vector';
  contextId?: string;
  contextIds?: string[];
  agentIds?: string[];
  types?: WorkUnitType[];
  meta?: Record<string, string>;
  since?: string | number;
  until?: string | number;
  limit?: number;
  offset?: number; /** Answer only once every unit committed before the search is searchable (read your own writes). */
  fresh?: boolean;
}

export interface SearchResult {
  workUnit: WorkUnit;
  score: number;
  keywordScore: number | null;
  vectorScore: number | null;
}

export interface SearchResponse {
  results: SearchResult[];
  total: number;
  totalRelation: 'eq' | 'gte';
}

export interface SubscribeOptions {
  /** Deliver units with seq > since first; omitted: only units written from now on. */
  since?: number;
  /** The epoch `since` belongs to (from an earlier subscription); a server whose history changed since refuses it (EPOCH_MISMATCH). */
  epoch?: string;
  /** Ends the iteration. */
  signal?: AbortSignal;
  /** The agent this subscription is present as in the context (see `presence()`); omitted: its client only. */
  agentId?: string;
  /**
   * Asks for presence events and hands each one here: a `snapshot` of everyone in the context
   * after every (re)connect, then each `join` and `leave`.
   */
  onPresence?: (event: PresenceEvent) => void;
  /**
   * When retention trimmed units after `since`: `end` (the default: the iterator throws TRIMMED)
   * or `continue` (it goes on from the first seq still stored).
   */
  onTrimmed?: 'continue' | 'end';
}

/** One client and agent subscribed to a context, over every transport and node. */
export interface PresenceMember {
  clientId: string;
  /** null for connections that named no agent. */
  agentId: string | null;
  /** Its open subscriptions to the context (0 in a leave). */
  connections: number;
  /** When the earliest of them opened (ISO time). */
  since: string;
}

/** Who is in a context now (`presence()`). */
export interface ContextPresence {
  contextId: string;
  members: PresenceMember[];
  connections: number;
}

/** A presence event of a subscription: who joined or left, or everyone (snapshot). */
export interface PresenceEvent {
  action: 'join' | 'leave' | 'snapshot';
  contextId: string;
  /** The member that joined or left; everyone in a snapshot. */
  members: PresenceMember[];
}

/** A remembered fact (docs/memory.md, facts). */
export interface Fact {
  key: string;
  value: string;
  deleted: boolean;
  /** The unit of its latest version. */
  unitId: string;
  agentId: string;
  ts: string;
}

export interface FactVersion {
  op: 'ADD' | 'UPDATE' | 'DELETE';
  value: string;
  unitId: string;
  seq: number;
  agentId: string;
  ts: string;
}

/** What remembering or forgetting a fact decided, and why. */
export interface FactOutcome {
  decision: 'ADD' | 'UPDATE' | 'DELETE' | 'NOOP';
  reason: string;
  fact?: Fact;
  /** UPDATE: the value it replaced. */
  replaced?: string;
  /** A near-identical NOOP: the similarity that decided it. */
  similarity?: number;
}

/** What `window()` takes: a token budget, and what the window is for. */
export interface WindowRequest {
  budget: number;
  /** What the model is about to work on: the older units most relevant to it are included. */
  query?: string;
  /** The model (picks the tokenizer; default gpt-4o), or the tokenizer itself. */
  model?: string;
  encoding?: 'o200k_base' | 'cl100k_base';
  /** Share of the budget (after pins) held for relevant units (default 0.25). */
  relevantShare?: number;
  relevantLimit?: number;
  /** Applied summaries stand in for the ranges they cover (docs/agents.md#summaries). */
  summaries?: boolean;
  /** Share of the budget (after pins) summaries may take first (default 0.5). */
  summaryShare?: number;
}

/** What `summarize()` summarizes (all optional). */
export interface SummarizeRequest {
  from?: number;
  to?: number;
  agentId?: string;
  instructions?: string;
}

/** The units to hand a model (`window()`), in order, with their token counts and why each is in. */
export interface ContextWindow {
  contextId: string;
  encoding: 'o200k_base' | 'cl100k_base';
  /** False when the tokenizer is an estimate for the model (keep headroom). */
  exact: boolean;
  budget: number;
  tokens: number;
  units: Array<{ seq: number; tokens: number; reason: 'pinned' | 'summary' | 'relevant' | 'recent'; score?: number; workUnit: WorkUnit }>;
  headSeq: number;
  recentFrom: number;
  counted: number;
}

/** What `requestApproval()` asks (docs/agents.md#approvals). */
export interface ApprovalRequest {
  /** The agent asking. */
  agentId: string;
  /** What it wants to do: any JSON, shown to the decider. */
  action: unknown;
  /** How long the request stands (or give `expiresAt`, RFC 3339); at most 7 days. */
  ttlMs?: number;
  expiresAt?: string;
  /** The lock the agent holds while asking (a `Lock` from `acquire()` will do): stored only while its token is current. */
  lock: { resource: string; token: number };
  meta?: Record<string, string>;
}

export type ApprovalStatus = 'pending' | 'approved' | 'denied' | 'expired';

/** An approval request and its decision, if any. */
export interface Approval {
  requestId: string;
  contextId: string;
  agentId: string;
  status: ApprovalStatus;
  action: unknown;
  expiresAt: string;
  /** The lock the request was asked under: act on an approval only with writes fenced by it. */
  lock: { resource: string; token: number };
  requestedAt: string;
  seq: number;
  decision: { id: string; seq: number; decision: 'approve' | 'deny'; by: string; reason: string | null; decidedAt: string } | null;
}

export interface ApprovalPage {
  approvals: Approval[];
  nextCursor: string | null;
  /** Changes whenever an approval is asked, decided or dropped (not when one expires). */
  version: string;
}

/** A message of a conversation turn handed to `processTurn()`: text, or content blocks whose text blocks are read. */
export interface TurnMessage {
  role: 'user' | 'assistant' | 'system' | 'developer' | 'tool';
  content: string | Array<{ type: string; text?: string }>;
}

/** What a turn did to one fact (`processTurn()`). */
export interface TurnDecision {
  decision: 'ADD' | 'UPDATE' | 'DELETE' | 'NOOP';
  /** The statement of the turn it is about. */
  statement: string;
  reason: string;
  /** The fact after the decision (absent for a NOOP about nothing known). */
  fact?: Fact;
  /** UPDATE and DELETE: the fact as it was before. */
  replaces?: Fact;
}

export interface TurnResult {
  /** 'rules', or the provider and model that decided ('openai:gpt-4o-mini'). */
  extractor: string;
  statements: string[];
  decisions: TurnDecision[];
}

/** A fact relevant to a question (`queryMemory()`). */
export interface Memory extends Fact {
  score: number;
  /** Whether the search matched the fact as it reads now, or an earlier version. */
  matched: 'current' | 'history';
  history?: FactVersion[];
}

/** A file of a memory space and its size in characters (`memoryTree()`). */
export interface MemoryFileEntry {
  path: string;
  size: number;
}

/** A memory file's text (`memoryFile()`). */
export interface MemoryFile {
  path: string;
  text: string;
}

/** What one memory command changed, as stored in its unit. */
export type MemoryFileChange = { op: 'write'; path: string; text: string } | { op: 'delete'; path: string } | { op: 'rename'; path: string; to: string };

/** One change to a memory path (`memoryHistory()`), oldest first. */
export interface MemoryChange {
  seq: number;
  ts: string;
  agentId: string;
  /** The memory-tool command that made it (create, str_replace, ...). */
  command: string;
  change: MemoryFileChange;
}

/** A knowledge-graph entity, as the reference MCP memory server has it. */
export interface Entity {
  name: string;
  entityType: string;
  observations: string[];
}

/** A directed relation between two entities. */
export interface Relation {
  from: string;
  to: string;
  relationType: string;
}

/** The knowledge graph of a memory space (`readGraph()`). */
export interface KnowledgeGraph {
  entities: Entity[];
  relations: Relation[];
}

/** A client with data in the log or state in memory (`listClients()`, admin). */
export interface ClientSummary {
  clientId: string;
  /** Whether it has in-memory state now (it made a request within `clients.idleThreshold`). */
  active: boolean;
}

export interface ClientPage {
  clients: ClientSummary[];
  nextCursor: string | null;
}

/** What one client holds now (`clientStatus()`, admin; docs/clients.md, "Management"). */
export interface ClientStatus {
  clientId: string;
  /** Whether the client has data in the log or state in memory. */
  known: boolean;
  /** Epoch ms of its last request; null when it has no in-memory state. */
  lastActivity: number | null;
  connections: number;
  subscriptions: number;
  /** Epoch ms its in-memory state was made; null when it has none. */
  activeSince: number | null;
  /** Units written since `activeSince`. */
  unitsWrittenRecently: number;
  /** From the log: its own space. */
  contexts: number;
  unitsWritten: number;
  storageBytes: number;
  locksHeld: number;
  groups: Array<{ group: string; membership: 'read' | 'write' }>;
  /** Its quota limits (0: unlimited). */
  quotas: Record<string, number>;
}

/** What erasing a client removed (`eraseClient()`, admin); zeros when run again. */
export interface ClientErasure {
  clientId: string;
  contexts: number;
  units: number;
  bytes: number;
  locks: number;
}

/** What a retention sweep trimmed (`sweepRetention()`, admin). */
export interface RetentionSweep {
  contexts: number;
  trimmed: number;
  units: number;
  bytes: number;
  /** Of the trimmed seqs, those a summary kept in their place covers (docs/agents.md#summaries). */
  summarized: number;
}

/** What dropping idle clients' in-memory state freed (`cleanupClients()`, admin); never data. */
export interface ClientCleanup {
  idleThresholdSeconds: number;
  dropped: string[];
  cachedContextsFreed: number;
}
