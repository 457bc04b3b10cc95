/**
 * The Engram TypeScript SDK: `import { EngramClient, GrpcEngramClient } from 'engram'`. Its public
 * surface is this list of names; nothing else is exported.
 */
export { EngramClient, type EngramClientOptions } from './http-client.js';
export { GrpcEngramClient, type BulkAck } from './grpc-client.js';
export { EngramClientError, isRetryable } from './errors.js';
export type { HeldLock } from './locking.js';
export type { Backoff } from './resume.js';
export { binaryPayload, isBinaryPayload } from './types.js';
export type {
  AcquireRequest,
  BinaryPayload,
  Context,
  ContextDeletion,
  ContextPage,
  ContextPatch,
  ContextPresence,
  Fact,
  FactOutcome,
  FactVersion,
  ListQuery,
  Lock,
  NewWorkUnit,
  PresenceEvent,
  PresenceMember,
  Relationship,
  RelationshipType,
  SearchRequest,
  SearchResponse,
  SearchResult,
  SubscribeOptions,
  UnitPage,
  WorkUnit,
  WorkUnitType,
  WriteResult,
} from './types.js';
