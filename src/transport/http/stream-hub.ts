/**
 * What the WebSocket and SSE streams share: settings, the registry of open
 * connections, the timer that sends heartbeats and closes slow consumers, and the
 * WebSocket close codes.
 */
import type { OriginPolicy } from './origins.js';
import type { Authenticator } from '../../core/access.js';
import type { Gate } from '../../core/gate.js';
import type { Router } from '../../core/router.js';
import { checkId } from '../../core/validate.js';
import { EngramError } from '../../core/errors.js';
import { Query } from './io.js';

export interface StreamOptions {
  /** Interval of server heartbeat frames. */
  heartbeatMs: number;
  /** A connection with nothing received for this long is closed (WebSocket). */
  idleTimeoutMs: number;
  /** Per-connection outgoing buffer above which its subscriptions pause. */
  maxBufferedBytes: number;
  /** A connection whose buffer stays over the limit this long is closed as a slow consumer. */
  slowConsumerTimeoutMs: number;
  maxSubscriptions: number;
  /** WebSocket and SSE connections open at once, all clients together. */
  maxConnections: number;
  /** permessage-deflate on WebSocket frames. */
  compression: boolean;
}

/**
 * Application close codes (RFC 6455 leaves 4000–4999 to applications).
 * 40xx: the server ended the connection; reconnect and resume from your last seq.
 * 44xx: the client must change something before reconnecting.
 */
export const CLOSE_CODES = {
  /** The server is shutting down. Reconnect (to it or another node) and resume. */
  GOING_AWAY: 4000,
  /** The connection fell too far behind. Reconnect and resume from the last seq received. */
  SLOW_CONSUMER: 4001,
  /** The server could not continue a subscription (e.g. the log was unreadable). Reconnect and resume. */
  SERVER_ERROR: 4002,
  /** The client broke the protocol (e.g. too many subscriptions requested at connect). */
  PROTOCOL_ERROR: 4400,
  /** The credentials the connection was opened with expired. Reconnect with new ones (and resume). */
  CREDENTIALS_EXPIRED: 4401,
} as const;

/** What a stream route needs from the server. */
export interface StreamRoute {
  gate: Gate;
  auth: Authenticator;
  hub: StreamHub;
  onInternal: (err: unknown) => void;
  /** Which browser pages may open streams (docs/reliability.md). */
  origins: OriginPolicy;
}

/** An open stream connection, as the hub sees it. */
export interface HubConnection {
  readonly kind: 'websocket' | 'sse';
  /** When its buffer went over the limit, or undefined while it is not. */
  fullSince: number | undefined;
  heartbeat(): void;
  /** Closes it because it stayed full too long. */
  closeSlow(): void;
  /** Closes it because the server is stopping. */
  closeGoingAway(): void;
  /** When the credentials it was opened with expire (epoch ms); undefined: never. */
  readonly expiresAt: number | undefined;
  /** Closes it because they did. */
  closeExpired(): void;
}

export class StreamHub {
  readonly connections = new Set<HubConnection>();
  private timer: NodeJS.Timeout | undefined;
  private lastHeartbeat = Date.now();

  constructor(
    readonly router: Router,
    readonly options: StreamOptions,
    /** Told about every connection closed as a slow consumer (for the operator's log). */
    private readonly onSlowConsumer: (conn: HubConnection, fullForMs: number) => void = () => undefined,
  ) {}

  add(conn: HubConnection): void {
    this.connections.add(conn);
    if (this.timer === undefined) {
      this.timer = setInterval(() => this.tick(), Math.min(1000, this.options.heartbeatMs));
      this.timer.unref();
    }
  }

  remove(conn: HubConnection): void {
    this.connections.delete(conn);
  }

  private tick(): void {
    const now = Date.now();
    const beat = now - this.lastHeartbeat >= this.options.heartbeatMs;
    if (beat) this.lastHeartbeat = now;
    for (const conn of [...this.connections]) {
      if (conn.expiresAt !== undefined && conn.expiresAt <= Date.now()) {
        conn.closeExpired();
        continue;
      }
      if (conn.fullSince !== undefined) {
        if (now - conn.fullSince >= this.options.slowConsumerTimeoutMs) {
          this.onSlowConsumer(conn, now - conn.fullSince);
          conn.closeSlow();
        }
      } else if (beat) {
        conn.heartbeat();
      }
    }
  }

  /** Tells every stream client to reconnect elsewhere; used on shutdown. */
  closeAll(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    for (const conn of [...this.connections]) conn.closeGoingAway();
  }
}

/** The contexts and start seq a stream asks for in its URL: `?context=A&context=B&since=41`. */
export function parseStreamQuery(
  raw: string | undefined,
  maxContexts: number,
): { contexts: string[]; since: number | undefined; format: string | undefined; locks: boolean } {
  const q = new Query(raw);
  const contexts = q.all('context');
  if (contexts.length > maxContexts) {
    throw new EngramError('INVALID_QUERY', `context: at most ${maxContexts} contexts per connection`);
  }
  contexts.forEach((c, i) => checkId(c, `context[${i}]`));
  if (new Set(contexts).size !== contexts.length) throw new EngramError('INVALID_QUERY', 'context: the same context is named twice');
  return { contexts, since: q.int('since'), format: q.string('format'), locks: q.bool('locks') ?? false };
}
