/**
 * The one error catalog. Every error the engine reports has a stable `code`
 * string; transports map the code to their wire (HTTP status, gRPC status,
 * WebSocket close codes) and never invent codes of their own.
 * docs/errors.md lists exactly these codes (a test keeps the two in step).
 */

/** The canonical gRPC status codes the catalog uses (names as in grpc's status.proto). */
export type GrpcStatusName =
  | 'INVALID_ARGUMENT'
  | 'NOT_FOUND'
  | 'ALREADY_EXISTS'
  | 'PERMISSION_DENIED'
  | 'FAILED_PRECONDITION'
  | 'ABORTED'
  | 'RESOURCE_EXHAUSTED'
  | 'UNIMPLEMENTED'
  | 'INTERNAL'
  | 'UNAVAILABLE'
  | 'UNAUTHENTICATED'
  | 'DEADLINE_EXCEEDED';

export interface ErrorSpec {
  /** HTTP status the code maps to. */
  readonly http: number;
  /** gRPC status the code maps to (the code itself travels in the `engram-error-code` trailer). */
  readonly grpc: GrpcStatusName;
  /** One line for the docs: when a client sees this code. */
  readonly doc: string;
}

export const ERROR_CATALOG = {
  MALFORMED_JSON: { http: 400, grpc: 'INVALID_ARGUMENT', doc: 'The body is not valid UTF-8 JSON (or is empty).' },
  INVALID_FIELD: { http: 400, grpc: 'INVALID_ARGUMENT', doc: 'A field has the wrong type, an unknown enum value, or a value out of range.' },
  MISSING_FIELD: { http: 400, grpc: 'INVALID_ARGUMENT', doc: 'A required field is absent.' },
  UNKNOWN_FIELD: { http: 400, grpc: 'INVALID_ARGUMENT', doc: 'The body has a field the API does not define (often a typo, or a server-assigned field such as `seq`).' },
  INVALID_ID: { http: 400, grpc: 'INVALID_ARGUMENT', doc: 'An id is empty, too long, not valid Unicode, or contains control characters.' },
  INVALID_CLIENT_ID: {
    http: 400,
    grpc: 'INVALID_ARGUMENT',
    doc: 'The `X-Client-ID` header (gRPC metadata `x-client-id`) is not a client id: 1–64 characters of letters, digits and `.`, `_`, `-`, `:`, `@`, starting with a letter or digit.',
  },
  INVALID_QUERY: { http: 400, grpc: 'INVALID_ARGUMENT', doc: 'A query parameter is malformed (for example a negative or non-numeric `limit`).' },
  UNIT_NOT_IN_CONTEXT: { http: 400, grpc: 'INVALID_ARGUMENT', doc: 'A pinned unit id does not name a work unit of this context.' },
  UNAUTHENTICATED: {
    http: 401,
    grpc: 'UNAUTHENTICATED',
    doc: 'Auth is on and the request has no credentials, or they are unknown, malformed, wrongly signed or expired (`WWW-Authenticate` says which).',
  },
  FORBIDDEN: {
    http: 403,
    grpc: 'PERMISSION_DENIED',
    doc: 'The credentials are valid but lack the scope (`read`, `write`, `admin`), do not allow this context, or belong to a read-only member of the group that shares it.',
  },
  NOT_LOCK_HOLDER: { http: 403, grpc: 'PERMISSION_DENIED', doc: 'Only the holder of a lock (its agentId and lockId) may renew or release it.' },
  NOT_FOUND: { http: 404, grpc: 'NOT_FOUND', doc: 'No route matches the path, or the memory file, fact, graph entity or graph tool it names does not exist.' },
  WORKUNIT_NOT_FOUND: { http: 404, grpc: 'NOT_FOUND', doc: 'No work unit has this id.' },
  CONTEXT_NOT_FOUND: { http: 404, grpc: 'NOT_FOUND', doc: 'No context has this id (a context exists once it has a unit or a PATCH).' },
  LOCK_NOT_HELD: { http: 404, grpc: 'NOT_FOUND', doc: 'The resource is not locked (never was, released, or its lease expired).' },
  APPROVAL_NOT_FOUND: {
    http: 404,
    grpc: 'NOT_FOUND',
    doc: 'No approval request with this id in this context (an APPROVAL_DECISION must answer an APPROVAL_REQUEST of its own context).',
  },
  METHOD_NOT_ALLOWED: { http: 405, grpc: 'UNIMPLEMENTED', doc: 'The path exists but not with this method; see the `Allow` header.' },
  LOCK_HELD: { http: 409, grpc: 'ABORTED', doc: 'Another agent holds the lock (also after a wait ran out); `details` names the holder and the expiry.' },
  FENCE_REJECTED: {
    http: 409,
    grpc: 'FAILED_PRECONDITION',
    doc: "A write carried a fence whose token is not the current holder's (the lease expired or passed to another agent); or an approval was read to act on while the lock it was asked under is no longer held with that token (docs/agents.md#approvals).",
  },
  APPROVAL_DECIDED: {
    http: 409,
    grpc: 'ABORTED',
    doc: 'The approval request already has its one decision (another decider was first); `details.decision` is the decision that stands.',
  },
  APPROVAL_EXPIRED: {
    http: 409,
    grpc: 'FAILED_PRECONDITION',
    doc: 'The approval request expired before it was decided; nothing was stored. The agent must ask again.',
  },
  REQUEST_TIMEOUT: { http: 408, grpc: 'DEADLINE_EXCEEDED', doc: 'The request body did not arrive within `limits.requestTimeout`; the connection is closed.' },
  VERSION_MISMATCH: { http: 412, grpc: 'ABORTED', doc: '`If-Match` named a version that is not the current one.' },
  EPOCH_MISMATCH: {
    http: 409,
    grpc: 'FAILED_PRECONDITION',
    doc: "A stream resumed with an `epoch` that is not the log's: the history was restored from a backup or repaired since, so its seqs no longer mean what they meant. `details.epoch` is the current one: read the context again from the start (`since` = 0) and keep the new epoch.",
  },
  SEQ_CONFLICT: {
    http: 409,
    grpc: 'ABORTED',
    doc: 'A memory change was decided on a context that another writer moved on meanwhile; the memory services decide it again on the new state, so a client sees this only after many such races in a row. A context window answers it when its context was deleted and written again twice while the window was read.',
  },
  FORK_BEYOND_HEAD: {
    http: 400,
    grpc: 'INVALID_ARGUMENT',
    doc: "A fork asked for a seq beyond its parent's head seq (`details.headSeq`); nothing was stored.",
  },
  CONTEXT_EXISTS: { http: 409, grpc: 'ALREADY_EXISTS', doc: 'A fork named an id that a context already has; nothing was stored.' },
  CONTEXT_HAS_FORKS: {
    http: 409,
    grpc: 'FAILED_PRECONDITION',
    doc: 'A context with forks was deleted without `cascade` (`details.forks` names them); nothing was deleted. Delete the forks first, or ask for `cascade=true`.',
  },
  PAYLOAD_TOO_LARGE: { http: 413, grpc: 'RESOURCE_EXHAUSTED', doc: 'The body is larger than `limits.maxUnitBytes`.' },
  UNSUPPORTED_MEDIA_TYPE: { http: 415, grpc: 'INVALID_ARGUMENT', doc: 'The body is not sent as `application/json`.' },
  QUOTA_EXCEEDED: {
    http: 429,
    grpc: 'RESOURCE_EXHAUSTED',
    doc: 'A per-client quota (write rate, connections, subscriptions, storage bytes) is used up; nothing was stored. `Retry-After` (seconds) and `details.retryAfterMs` say when to try again.',
  },
  INTERNAL: { http: 500, grpc: 'INTERNAL', doc: 'An unexpected server fault; the request may not have been applied (retry with an idempotency key).' },
  NOT_READY: { http: 503, grpc: 'UNAVAILABLE', doc: 'Storage is still opening, the server is shutting down, or a `fresh` search waited 10 s for the index; retry shortly.' },
  TOO_MANY_CONNECTIONS: { http: 503, grpc: 'UNAVAILABLE', doc: 'The server has `stream.maxConnections` streams open already; retry shortly (with backoff).' },
  SLOW_CONSUMER: {
    http: 503,
    grpc: 'UNAVAILABLE',
    doc: 'A stream took nothing for `stream.slowConsumerTimeout` while its buffer was full and was ended; resubscribe with `since` = the last seq received (WebSocket: close code 4001).',
  },
  STORAGE_FULL: {
    http: 507,
    grpc: 'RESOURCE_EXHAUSTED',
    doc: 'The disk holding the log is full: nothing was stored. Reads and streams go on; writes succeed again, with no restart, once space is freed (docs/reliability.md).',
  },
  STORAGE_UNAVAILABLE: { http: 503, grpc: 'UNAVAILABLE', doc: 'The log could not commit the write; nothing was stored; retry shortly.' },
  MODEL_UNAVAILABLE: {
    http: 503,
    grpc: 'UNAVAILABLE',
    doc: 'The language-model provider of `memory.model` could not be reached, timed out, or answered with an error after its retries (or none is configured for a call that needs one); nothing was stored.',
  },
  MODEL_OUTPUT_INVALID: {
    http: 502,
    grpc: 'INTERNAL',
    doc: "The language model's answer was not the structured output asked for (not JSON, missing or wrong fields, a decision about an unknown fact, cut off at its token limit); nothing was stored.",
  },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERROR_CATALOG;

/**
 * An error with a stable code from the catalog. `details` is machine-readable context
 * sent to the client (e.g. the current holder of a lock); `cause` stays in the logs.
 */
export class EngramError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; details?: Record<string, unknown> }) {
    super(message, options);
    this.name = 'EngramError';
    this.code = code;
    this.details = options?.details;
  }

  get httpStatus(): number {
    return ERROR_CATALOG[this.code].http;
  }
}

export function isEngramError(err: unknown): err is EngramError {
  return err instanceof EngramError;
}

/** Any thrown value as a catalog error: an unexpected one becomes INTERNAL (its cause kept for the logs). */
export function asEngramError(err: unknown): EngramError {
  if (err instanceof EngramError) return err;
  return new EngramError('INTERNAL', 'internal error', { cause: err });
}
