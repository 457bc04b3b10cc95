/** Errors the SDK throws: the server's stable code (docs/errors.md), whatever the wire. */
export class EngramClientError extends Error {
  constructor(
    /** A code of docs/errors.md, or UNAVAILABLE when the server could not be reached. */
    readonly code: string,
    message: string,
    /** HTTP status, or the gRPC status code, when there was an answer. */
    readonly status: number | undefined,
    readonly details?: Record<string, unknown>,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'EngramClientError';
  }
}

/** Codes worth retrying unchanged (the server may be restarting or busy). */
export function isRetryable(err: unknown): boolean {
  return err instanceof EngramClientError && (err.code === 'UNAVAILABLE' || err.code === 'NOT_READY' || err.code === 'STORAGE_UNAVAILABLE');
}
