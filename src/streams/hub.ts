/**
 * What every stream transport shares, whatever carries it: settings, the registry of open
 * connections, the timer that sends heartbeats, closes slow consumers and ends connections
 * whose credentials expired, and the close codes.
 */
import { EngramError } from '../basics/errors.js';

export interface StreamOptions {
  /** Interval of server heartbeat frames. */
  heartbeatMs: number;
  /** A connection with nothing received for this long is closed (WebSocket). */
  idleTimeoutMs: number;
  /** Per-connection outgoing buffer above which its subscriptions pause. */
  maxBufferedBytes: number;
  /** A connection over its buffer limit that sends nothing for this long is closed as a slow consumer. */
  slowConsumerTimeoutMs: number;
  maxSubscriptions: number;
  /** Stream connections open at once (WebSocket, SSE and gRPC Subscribe), all clients together. */
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

/**
 * Whether a connection over its buffer limit is still moving. A reader that is slow (a busy
 * machine, a burst bigger than its socket) keeps draining its buffer, however little; only a
 * reader that takes nothing at all is stuck. So the slow-consumer clock runs only while no
 * byte leaves the buffer, and only while the server itself runs (the hub adds the time between
 * two of its ticks, capped: a server that was not scheduled for a while blames nobody for it).
 */
export class Backlog {
  /** Over the limit: subscriptions paused, waiting for the buffer to drain. */
  full = false;
  /** Some of the buffer went out since the hub last looked. */
  private moved = false;
  /** How long it has been full with nothing going out, in server-running time. */
  stalledMs = 0;

  /** The buffer went over the limit. */
  enter(): void {
    if (this.full) return;
    this.full = true;
    this.moved = false;
    this.stalledMs = 0;
  }

  /** Bytes left the buffer (uWS drain / onWritable). */
  progress(): void {
    this.moved = true;
  }

  /** The buffer is back under the limit. */
  leave(): void {
    this.full = false;
    this.stalledMs = 0;
  }

  /** Advances the stall clock by one hub tick; returns how long the connection has been stuck. */
  tick(elapsedMs: number): number {
    if (!this.full) return 0;
    if (this.moved) {
      this.moved = false;
      this.stalledMs = 0;
    } else {
      this.stalledMs += elapsedMs;
    }
    return this.stalledMs;
  }
}

/** An open stream connection, as the hub sees it. */
export interface HubConnection {
  readonly kind: 'websocket' | 'sse' | 'grpc';
  readonly backlog: Backlog;
  /**
   * Called on each tick while the backlog is full, before the stall clock advances: a transport
   * that learns of progress only by looking (gRPC: its buffer shrank) reports it here.
   */
  look?(): void;
  heartbeat(): void;
  /** Closes it because it took nothing for too long. */
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
  private lastTick = Date.now();
  private readonly tickMs: number;

  constructor(
    readonly options: StreamOptions,
    /** Told about every connection closed as a slow consumer (for the operator's log). */
    private readonly onSlowConsumer: (conn: HubConnection, stalledMs: number) => void = () => undefined,
    /** Told about a connection that threw while the hub tended it; it leaves the hub (for the operator's log). */
    private readonly onFault: (conn: HubConnection, err: unknown) => void = () => undefined,
  ) {
    // Ticks often enough that the slow-consumer clock has a few steps before it runs out.
    this.tickMs = Math.max(100, Math.min(1000, options.heartbeatMs, options.slowConsumerTimeoutMs / 4));
  }

  /** Refuses a new connection while `maxConnections` are open, whatever their transport. */
  checkRoom(): void {
    if (this.connections.size >= this.options.maxConnections) {
      throw new EngramError('TOO_MANY_CONNECTIONS', `${this.options.maxConnections} streams are open (stream.maxConnections); retry shortly`);
    }
  }

  add(conn: HubConnection): void {
    this.connections.add(conn);
    if (this.timer === undefined) {
      this.lastTick = Date.now();
      this.timer = setInterval(() => this.tick(), this.tickMs);
      this.timer.unref();
    }
  }

  remove(conn: HubConnection): void {
    this.connections.delete(conn);
  }

  private tick(): void {
    const now = Date.now();
    // A late tick means this process was not running (a busy machine, a long GC): that time
    // counts for at most two ticks, so nobody is closed for the server's own stall.
    const elapsed = Math.min(now - this.lastTick, 2 * this.tickMs);
    this.lastTick = now;
    const beat = now - this.lastHeartbeat >= this.options.heartbeatMs;
    if (beat) this.lastHeartbeat = now;
    for (const conn of [...this.connections]) {
      // One broken connection must not keep the hub from tending the others on every later tick.
      this.guard(conn, () => {
        if (conn.expiresAt !== undefined && conn.expiresAt <= now) {
          conn.closeExpired();
          return;
        }
        if (conn.backlog.full) {
          conn.look?.();
          const stalled = conn.backlog.tick(elapsed);
          if (stalled >= this.options.slowConsumerTimeoutMs) {
            this.onSlowConsumer(conn, stalled);
            conn.closeSlow();
          }
        } else if (beat) {
          conn.heartbeat();
        }
      });
    }
  }

  /** Runs `work` on a connection; if it throws, the connection leaves the hub and is closed as well as it still can be. */
  private guard(conn: HubConnection, work: () => void): void {
    try {
      work();
    } catch (err) {
      this.connections.delete(conn);
      this.onFault(conn, err);
      try {
        conn.closeGoingAway();
      } catch {
        // Already as closed as it gets.
      }
    }
  }

  /** Tells every stream client to reconnect elsewhere; used on shutdown. */
  closeAll(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    for (const conn of [...this.connections]) this.guard(conn, () => conn.closeGoingAway());
  }
}
