/**
 * Which browser pages may use the API: their own (the Origin's host is the request's Host), any
 * in server.allowedOrigins (`*`: every origin), and none else. Requests without an Origin header
 * are not from a browser page and are not limited here (auth decides). For an allowed foreign
 * origin, answers carry CORS headers and preflights are answered; a foreign origin not allowed
 * gets no CORS headers (the browser keeps the answer from the page), is refused outright for
 * anything but reads, and cannot open a WebSocket (cross-site WebSocket hijacking).
 */
import type { Headers } from './io.js';

const ALLOW_HEADERS =
  'authorization, content-type, x-api-key, x-client-id, x-agent-id, x-request-id, idempotency-key, if-match, last-event-id, mcp-protocol-version, mcp-session-id';
const EXPOSE_HEADERS = 'x-request-id, retry-after, idempotent-replayed, etag, www-authenticate, location';

export type OriginVerdict = 'none' | 'same' | 'allowed' | 'refused';

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

/** A name for this machine's loopback interface (as URL.hostname or a Host header gives it, port removed). */
export function isLoopbackName(hostname: string): boolean {
  const name = hostname.toLowerCase();
  return LOOPBACK_NAMES.has(name) || name.endsWith('.localhost');
}

export class OriginPolicy {
  private readonly any: boolean;
  private readonly listed: ReadonlySet<string>;
  private readonly hosts: ReadonlySet<string>;

  /**
   * `guardHosts`: with auth off, a browser request must name this server by a loopback name or
   * one in `allowedHosts`: after DNS rebinding, a page at evil.example reaches 127.0.0.1 as
   * evil.example, which is "same origin" to the browser, and with no credentials to check it
   * could read and write everything. Clients that are not browsers are not affected.
   */
  constructor(
    allowed: readonly string[],
    private readonly guardHosts = false,
    allowedHosts: readonly string[] = [],
  ) {
    this.hosts = new Set(allowedHosts.map((h) => h.toLowerCase()));
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

  /** Refusal reason for a browser request whose Host is not this server's (DNS rebinding), or undefined. */
  rebound(host: string, origin: string, secFetchSite: string): string | undefined {
    if (!this.guardHosts || (origin === '' && secFetchSite === '')) return undefined;
    const name = host.toLowerCase().replace(/:\d+$/, '');
    if (isLoopbackName(name) || this.hosts.has(name) || this.hosts.has(host.toLowerCase())) return undefined;
    return `Host ${JSON.stringify(host.slice(0, 200))} is not a name of this server (with auth.mode none, browsers must use a loopback name or one in server.allowedHosts: DNS-rebinding protection)`;
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
