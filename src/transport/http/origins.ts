/**
 * Which browser pages may use the API: their own (the Origin's host is the request's Host), any
 * in server.allowedOrigins (`*`: every origin), and none else. Requests without an Origin header
 * are not from a browser page and are not limited here (auth decides). For an allowed foreign
 * origin, answers carry CORS headers and preflights are answered; a foreign origin not allowed
 * gets no CORS headers (the browser keeps the answer from the page), is refused outright for
 * anything but reads, and cannot open a WebSocket (cross-site WebSocket hijacking).
 */
import type { Headers } from './io.js';

const ALLOW_HEADERS = 'authorization, content-type, x-api-key, x-client-id, x-agent-id, x-request-id, idempotency-key, if-match, last-event-id, mcp-protocol-version, mcp-session-id';
const EXPOSE_HEADERS = 'x-request-id, retry-after, idempotent-replayed, etag, www-authenticate, location';

export type OriginVerdict = 'none' | 'same' | 'allowed' | 'refused';

export class OriginPolicy {
  private readonly any: boolean;
  private readonly listed: ReadonlySet<string>;

  constructor(allowed: readonly string[]) {
    this.any = allowed.includes('*');
    // Origins compare as the browser sends them: scheme://host[:port], no path, no trailing slash.
    this.listed = new Set(allowed.filter((o) => o !== '*').map((o) => o.replace(/\/+$/, '').toLowerCase()));
  }

  judge(origin: string, host: string): OriginVerdict {
    if (origin === '') return 'none';
    let from: string;
    try {
      from = new URL(origin).host;
    } catch {
      return 'refused';
    }
    if (from === host) return 'same';
    return this.any || this.listed.has(origin.toLowerCase()) ? 'allowed' : 'refused';
  }

  /** Headers for an answer to an allowed foreign origin. */
  corsHeaders(origin: string): Headers {
    return [
      ['Access-Control-Allow-Origin', origin],
      ['Access-Control-Allow-Credentials', 'true'],
      ['Access-Control-Expose-Headers', EXPOSE_HEADERS],
      ['Vary', 'Origin'],
    ];
  }

  /** Headers for a preflight (OPTIONS) from an allowed foreign origin. */
  preflightHeaders(origin: string): Headers {
    return [
      ...this.corsHeaders(origin),
      ['Access-Control-Allow-Methods', 'GET, POST, PATCH, DELETE'],
      ['Access-Control-Allow-Headers', ALLOW_HEADERS],
      ['Access-Control-Max-Age', '600'],
    ];
  }
}
