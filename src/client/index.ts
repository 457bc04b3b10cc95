/** The Engram TypeScript SDK: `import { EngramClient, GrpcEngramClient } from 'engram'`. */
export { EngramClient, type EngramClientOptions } from './http-client.js';
export { GrpcEngramClient, type BulkAck } from './grpc-client.js';
export { EngramClientError, isRetryable } from './errors.js';
export type { HeldLock } from './locking.js';
export type { Backoff } from './resume.js';
export * from './types.js';
