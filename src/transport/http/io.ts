/**
 * Request and response plumbing for uWebSockets.js: bounded body reading, JSON
 * replies, and the mapping from catalog error codes to HTTP.
 *
 * uWS rules this file keeps: a handler that answers later registers onAborted first;
 * a response written outside a uWS callback is corked; a chunk handed to onData is
 * only valid during that call, so it is copied or consumed at once.
 */
import { isUtf8 } from 'node:buffer';
import type { HttpRequest, HttpResponse } from 'uWebSockets.js';
import type { Credentials } from '../../tenancy/access.js';
import { asEngramError, EngramError, ERROR_CATALOG, type ErrorCode } from '../../basics/errors.js';

const STATUS_LINE: Record<number, string> = {
  200: '200 OK',
  201: '201 Created',
  202: '202 Accepted',
  401: '401 Unauthorized',
  403: '403 Forbidden',
  204: '204 No Content',
  304: '304 Not Modified',
  400: '400 Bad Request',
  404: '404 Not Found',
  405: '405 Method Not Allowed',
  406: '406 Not Acceptable',
  408: '408 Request Timeout',
  409: '409 Conflict',
  412: '412 Precondition Failed',
  413: '413 Payload Too Large',
  415: '415 Unsupported Media Type',
  429: '429 Too Many Requests',
  500: '500 Internal Server Error',
  503: '503 Service Unavailable',
  507: '507 Insufficient Storage',
};

const JSON_TYPE = /^application\/json\s*(;|$)/i;

export type Headers = ReadonlyArray<readonly [string, string]>;

/** One request's response, with the aborted flag uWS requires us to track. */
export class Reply {
  aborted = false;
  done = false;
  /** Told the status once the answer is sent (request metrics and the access log). */
  onSent: ((status: number) => void) | undefined;
  /** Runs a continuation inside the request's server span (tracing on): uWS's callbacks, a body's arrival among them, do not carry the async context. */
  inSpan: (<T>(fn: () => T) => T) | undefined;
  /** Sent back as X-Request-ID and named in log lines about this request. */
  requestId: string | undefined;
  /** Sent with every answer to this request (CORS headers for an allowed foreign origin). */
  extraHeaders: Headers | undefined;
  /** Watches that the body arrives in time (limits.requestTimeout); undefined: no limit. */
  bodyDeadlines: BodyDeadlines | undefined;
  private abortHandler: (() => void) | undefined;

  constructor(readonly res: HttpResponse) {}

  /** Registers the abort handler; call before any asynchronous step. */
  watchAbort(): this {
    this.res.onAborted(() => {
      this.aborted = true;
      this.abortHandler?.();
    });
    return this;
  }

  /** Runs `fn` if the client goes away before it was answered. */
  onAbort(fn: () => void): void {
    this.abortHandler = fn;
  }

  /** Sends a JSON body. `close` ends the connection too (used when the rest of a body is left unread). */
  json(status: number, body: string | Buffer, headers?: Headers, close = false): void {
    this.send(status, 'application/json', body, headers, close);
  }

  /** Sends a body of any content type, with the request id and `headers`. */
  send(status: number, contentType: string, body: string | Buffer, headers?: Headers, close = false): void {
    if (this.aborted || this.done) return;
    this.done = true;
    this.onSent?.(status);
    this.res.cork(() => {
      this.res.writeStatus(STATUS_LINE[status] ?? `${status} Unknown`);
      this.res.writeHeader('Content-Type', contentType);
      if (this.requestId !== undefined) this.res.writeHeader('X-Request-ID', this.requestId);
      if (this.extraHeaders) for (const [k, v] of this.extraHeaders) this.res.writeHeader(k, v);
      if (headers) for (const [k, v] of headers) this.res.writeHeader(k, v);
      this.res.end(body, close);
    });
  }

  /** Sends the catalog response for `err`; anything not from the catalog is reported to `onInternal` and sent as INTERNAL. */
  error(err: unknown, onInternal: (err: unknown, requestId?: string) => void, close = false, headers?: Headers): void {
    const e = asEngramError(err);
    if (e.code === 'INTERNAL') onInternal(err, this.requestId);
    this.json(ERROR_CATALOG[e.code].http, errorBody(e.code, e.message, e.details), withErrorHeaders(e, headers), close);
  }
}

/** Headers an error carries by its code: Retry-After for quotas, WWW-Authenticate for missing or bad credentials. */
export function withErrorHeaders(e: EngramError, headers: Headers | undefined): Headers | undefined {
  if (e.code === 'QUOTA_EXCEEDED') {
    const ms = typeof e.details?.retryAfterMs === 'number' ? e.details.retryAfterMs : 1000;
    return [...(headers ?? []), ['Retry-After', String(Math.max(1, Math.ceil(ms / 1000)))]];
  }
  if (e.code === 'UNAUTHENTICATED') {
    const reason = typeof e.details?.reason === 'string' ? e.details.reason : 'invalid_token';
    return [...(headers ?? []), ['WWW-Authenticate', `Bearer realm="engram", error="${reason}"`]];
  }
  return headers;
}

export function errorBody(code: ErrorCode, message: string, details?: Record<string, unknown>): string {
  return JSON.stringify({ error: details === undefined ? { code, message } : { code, message, details } });
}

/** The request facts a handler needs after it returns (HttpRequest is only valid until then). */
/** The credentials a request presents (read while the uWS request is valid). */
export function credentialsOf(req: HttpRequest): Credentials {
  return {
    authorization: req.getHeader('authorization'),
    apiKey: req.getHeader('x-api-key'),
    accessToken: req.getQuery('access_token') ?? '',
    clientId: req.getHeader('x-client-id'),
  };
}

export interface BodyRequest {
  contentType: string;
  contentLength: string;
}

export function bodyHeaders(req: HttpRequest): BodyRequest {
  return { contentType: req.getHeader('content-type'), contentLength: req.getHeader('content-length') };
}

/**
 * Reads a JSON body of at most `limit` bytes and hands the parsed value to `onBody`.
 * Errors (wrong type, too large, bad UTF-8 or JSON) are answered here; once an
 * error is sent before the body was fully read, the connection is closed so the
 * unread remainder cannot be taken for a new request.
 */
export function readJsonBody(reply: Reply, head: BodyRequest, limit: number, onBody: (value: unknown) => void): void {
  if (!JSON_TYPE.test(head.contentType)) {
    const got = head.contentType === '' ? 'none' : JSON.stringify(head.contentType);
    reply.error(new EngramError('UNSUPPORTED_MEDIA_TYPE', `Content-Type must be application/json (got ${got})`), noop, true);
    return;
  }
  if (head.contentLength !== '' && Number(head.contentLength) > limit) {
    reply.error(tooLarge(limit), noop, true);
    return;
  }
  let chunks: Buffer[] | undefined;
  let size = 0;
  // A body trickling in (slow-loris) would hold its connection and buffers for ever.
  const deadlines = reply.bodyDeadlines;
  deadlines?.watch(reply);
  reply.res.onData((chunk, isLast) => {
    if (reply.done) return deadlines?.done(reply);
    size += chunk.byteLength;
    if (size > limit) {
      deadlines?.done(reply);
      reply.error(tooLarge(limit), noop, true);
      return;
    }
    if (!isLast) {
      (chunks ??= []).push(Buffer.from(chunk.slice(0)));
      return;
    }
    deadlines?.done(reply);
    const bytes = chunks === undefined ? Buffer.from(chunk) : Buffer.concat([...chunks, Buffer.from(chunk)]);
    let value: unknown;
    try {
      value = parseJson(bytes);
    } catch (err) {
      reply.error(err, noop);
      return;
    }
    if (reply.inSpan === undefined) onBody(value);
    else reply.inSpan(() => onBody(value));
  });
}

/**
 * Bodies being read, with the time each must be complete by. One sweep a quarter of a second
 * answers the late ones (408, connection closed): a timer per request would cost the write path
 * more than a set insert and delete.
 */
export class BodyDeadlines {
  private readonly reading = new Map<Reply, number>();
  private readonly sweep: NodeJS.Timeout;
  private readonly intervalMs: number;
  private lastSweep = Date.now();

  constructor(private readonly timeoutMs: number) {
    this.intervalMs = Math.min(250, timeoutMs);
    this.sweep = setInterval(() => this.expire(), this.intervalMs);
    this.sweep.unref();
  }

  watch(reply: Reply): void {
    this.reading.set(reply, Date.now() + this.timeoutMs);
  }

  done(reply: Reply): void {
    this.reading.delete(reply);
  }

  private expire(): void {
    const now = Date.now();
    // A late sweep means this process was not running (a busy machine, a long GC) while bodies may
    // have been waiting unread in their sockets: that time is the server's, not the clients', so
    // every deadline moves by it (as the slow-consumer clock does, stream-hub.ts).
    const stalled = now - this.lastSweep - 2 * this.intervalMs;
    this.lastSweep = now;
    for (const [reply, due] of this.reading) {
      const by = stalled > 0 ? due + stalled : due;
      if (by !== due) this.reading.set(reply, by);
      if (reply.done || reply.aborted) this.reading.delete(reply);
      else if (now >= by) {
        this.reading.delete(reply);
        reply.error(new EngramError('REQUEST_TIMEOUT', `the body did not arrive within ${this.timeoutMs} ms (limits.requestTimeout)`), noop, true);
      }
    }
  }

  close(): void {
    clearInterval(this.sweep);
  }
}

function parseJson(bytes: Buffer): unknown {
  if (bytes.length === 0) throw new EngramError('MALFORMED_JSON', 'the body is empty; send a JSON object');
  if (!isUtf8(bytes)) throw new EngramError('MALFORMED_JSON', 'the body is not valid UTF-8');
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new EngramError('MALFORMED_JSON', `the body is not valid JSON: ${(err as Error).message}`);
  }
}

function tooLarge(limit: number): EngramError {
  return new EngramError('PAYLOAD_TOO_LARGE', `the body is larger than the limit of ${limit} bytes (limits.maxUnitBytes)`);
}

function noop(): void {}

/** Decodes a percent-encoded path segment. */
export function pathParam(req: HttpRequest, index: number, field: string): string {
  const raw = req.getParameter(index);
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new EngramError('INVALID_ID', `${field}: bad percent-encoding in the path`);
  }
}

/** Query parameters, parsed strictly. */
export class Query {
  private readonly params: URLSearchParams;

  constructor(raw: string | undefined) {
    this.params = new URLSearchParams(raw ?? '');
  }

  string(name: string): string | undefined {
    return this.params.get(name) ?? undefined;
  }

  all(name: string): string[] {
    return this.params.getAll(name);
  }

  /** A non-negative integer, or undefined when absent. */
  int(name: string): number | undefined {
    const v = this.params.get(name);
    if (v === null) return undefined;
    if (!/^\d{1,15}$/.test(v)) throw new EngramError('INVALID_QUERY', `${name}: must be a non-negative integer, got ${JSON.stringify(v)}`);
    return Number(v);
  }

  bool(name: string): boolean | undefined {
    const v = this.params.get(name);
    if (v === null) return undefined;
    if (v === 'true' || v === '1') return true;
    if (v === 'false' || v === '0') return false;
    throw new EngramError('INVALID_QUERY', `${name}: must be true or false, got ${JSON.stringify(v)}`);
  }
}
