/**
 * The Engram TypeScript SDK: `import { EngramClient, GrpcEngramClient } from 'engram'`. Its public
 * surface is this list of names; nothing else is exported.
 */
export { EngramClient, type EngramClientOptions } from './http-client.js';
export { GrpcEngramClient, type BulkAck, type GrpcEngramClientOptions } from './grpc-client.js';
export type { TlsOptions } from './tls.js';
export { EngramClientError, isRetryable } from './errors.js';
export type { HeldLock } from './locking.js';
export type { Published } from './stream-writer.js';
export type { Backoff } from './resume.js';
export { binaryPayload, isBinaryPayload } from './types.js';
export type {
  AcquireRequest,
  Approval,
  ApprovalPage,
  ApprovalRequest,
  ApprovalStatus,
  BinaryPayload,
  ClientCleanup,
  ClientErasure,
  ClientPage,
  ClientStatus,
  ClientSummary,
  Context,
  ForkOptions,
  ForkPoint,
  ContextDeletion,
  ContextPage,
  ContextPatch,
  ContextPresence,
  ContextWindow,
  Entity,
  Fact,
  FactOutcome,
  FactVersion,
  KnowledgeGraph,
  ListQuery,
  Lock,
  Memory,
  MemoryChange,
  MemoryFile,
  MemoryFileChange,
  MemoryFileEntry,
  NewWorkUnit,
  PresenceEvent,
  PresenceMember,
  Relation,
  TurnDecision,
  TurnMessage,
  TurnResult,
  WindowRequest,
  Relationship,
  RelationshipType,
  RetentionSweep,
  SearchRequest,
  SearchResponse,
  SearchResult,
  SubscribeOptions,
  UnitPage,
  WorkUnit,
  WorkUnitType,
  WriteResult,
} from './types.js';
