/**
 * Server-Sent Events at GET /stream-sse?context=A&since=41: one context per stream.
 * `id:` is the unit's seq, so a browser's EventSource resumes by itself after a drop
 * (it sends Last-Event-ID, which takes precedence over `since`).
 */
import type { HttpRequest, HttpResponse, TemplatedApp } from 'uWebSockets.js';
import { EngramError } from '../../basics/errors.js';
import type { Frame, FrameFormat } from '../../streams/frames.js';
import type { Principal } from '../../tenancy/access.js';
import type { LockSubscription, StreamSink, Subscription, WriteResult } from '../../streams/router.js';
import { credentialsOf, Reply } from './io.js';
import { Backlog, type HubConnection } from '../../streams/hub.js';
import { ACCESS_TOKEN, BOOL, ON_TRIMMED, param, REPLAY_SINCE, RESUME_EPOCH, STR, STREAM_AGENT, type DocumentedRoute, type Operation } from './operation.js';
import { parseStreamQuery, type StreamRoute } from './stream-route.js';

/** uWS ends an HTTP response with nothing written for 10 s, so SSE heartbeats come at least this often. */
const SSE_MAX_HEARTBEAT_MS = 5000;
const RECONNECT_HINT_MS = 1000;
/** How long a stream opened while storage is still opening waits for it before 503. */
const STORAGE_WAIT_MS = 15_000;

/** The frame as one SSE event; encoded once per frame for all SSE subscribers. */
export const SSE: FrameFormat<string> = {
  name: 'sse',
  encode: (frame: Frame) => (frame.seq === undefined ? `event: ${frame.event}\ndata: ${frame.json}\n\n` : `id: ${frame.seq}\nevent: ${frame.event}\ndata: ${frame.json}\n\n`),
};

class SseConnection implements StreamSink, HubConnection {
  readonly kind = 'sse';
  closed = false;
  readonly backlog = new Backlog();
  sub: Subscription | LockSubscription | undefined;
  private started = false;
  private lastWrite = Date.now();
  /** Gives the connection back to the client's quota; set once counted. */
  release: () => void = () => undefined;
  /** Takes the connection out of the stream hub; set once it is in. */
  leaveHub: () => void = () => undefined;

  constructor(
    private readonly res: HttpResponse,
    private readonly heartbeatMs: number,
    private readonly headers: ReadonlyArray<readonly [string, string]> = [],
  ) {
    res.onWritable(() => {
      if (this.full) {
        // Writable again: what uWS held back can go out with the next write, which catching up makes.
        this.backlog.progress();
        this.backlog.leave();
        this.sub?.resume();
      }
      return true;
    });
  }

  get full(): boolean {
    return this.backlog.full;
  }

  /** Status and headers go out with the first frame, so a refused subscription can still answer 4xx. */
  private start(): void {
    this.started = true;
    this.res.writeStatus('200 OK');
    this.res.writeHeader('Content-Type', 'text/event-stream; charset=utf-8');
    this.res.writeHeader('Cache-Control', 'no-cache, no-transform');
    this.res.writeHeader('X-Accel-Buffering', 'no');
    for (const [k, v] of this.headers) this.res.writeHeader(k, v);
    this.res.write(`retry: ${RECONNECT_HINT_MS}\n\n`);
  }

  private send(text: string): boolean {
    if (!this.started) this.start();
    this.lastWrite = Date.now();
    return this.res.write(text);
  }

  write(frame: Frame): WriteResult {
    if (this.closed) return 'dropped';
    let ok = true;
    this.res.cork(() => {
      ok = this.send(frame.encoded(SSE));
    });
    // uWS keeps what it could not send; we stop adding until onWritable says it can go out.
    if (!ok) this.backlog.enter();
    return ok ? 'ok' : 'full';
  }

  cork(fn: () => void): void {
    if (!this.closed) this.res.cork(fn);
  }

  heartbeat(): void {
    if (this.closed || this.full || !this.started || Date.now() - this.lastWrite < this.heartbeatMs / 2) return;
    this.res.cork(() => this.send(': heartbeat\n\n'));
  }

  closeSlow(): void {
    this.close();
  }

  closeGoingAway(): void {
    this.close();
  }

  /** Set once the stream is authenticated. */
  expiresAt: number | undefined;

  closeExpired(): void {
    this.close();
  }

  fail(): void {
    this.close();
  }

  /** Its context was deleted (the `deleted` event went out): the response ends cleanly. */
  ended(): void {
    if (this.closed) return;
    this.closed = true;
    this.release();
    // An ended response is not aborted, so uWS says nothing more of it: leave the hub now.
    this.leaveHub();
    this.res.cork(() => this.res.end());
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    this.sub?.close();
    this.release();
    this.res.close(); // EventSource reconnects with Last-Event-ID
  }

  aborted(): void {
    this.closed = true;
    this.sub?.close();
    this.release();
  }
}

/** Registers GET /stream-sse; returns it with its operation, for the OpenAPI document. */
export function registerSse(app: TemplatedApp, route: StreamRoute): DocumentedRoute {
  const { hub, gate } = route;
  const heartbeatMs = Math.min(hub.options.heartbeatMs, SSE_MAX_HEARTBEAT_MS);
  const pattern = '/stream-sse';
  const operation: Operation = {
    summary: 'Server-Sent Events of one context (id: seq; Last-Event-ID resumes) or of locks.',
    tag: 'streams',
    scope: 'read',
    query: [
      param('context', STR, 'The context to follow.'),
      REPLAY_SINCE,
      RESUME_EPOCH,
      ON_TRIMMED,
      param('locks', BOOL, 'Follow lock events instead.'),
      STREAM_AGENT,
      param('presence', BOOL, 'Presence events of the context (a snapshot after subscribed, then join and leave).'),
      ACCESS_TOKEN,
    ],
    headers: [param('Last-Event-ID', STR, 'The seq of the last event received (EventSource sends it on reconnecting); takes precedence over since.')],
    ok: { 200: { contentType: 'text/event-stream', description: 'Events: subscribed, workunit, context, lock, presence, heartbeat comments' } },
    errors: ['INVALID_QUERY', 'INVALID_FIELD', 'CONTEXT_NOT_FOUND', 'EPOCH_MISMATCH', 'QUOTA_EXCEEDED', 'TOO_MANY_CONNECTIONS'],
  };
  app.get(pattern, (res: HttpResponse, req: HttpRequest) => {
    const reply = new Reply(res);
    // EventSource from an allowed foreign origin needs CORS headers; from others it gets none (and cannot read).
    const origin = req.getHeader('origin');
    if (origin !== '' && route.origins.judge(origin, req.getHeader('host')) === 'allowed') reply.extraHeaders = route.origins.corsHeaders(origin);
    const conn = new SseConnection(res, heartbeatMs, reply.extraHeaders);
    res.onAborted(() => {
      reply.aborted = true;
      hub.remove(conn);
      conn.aborted();
    });
    let contextId: string | undefined;
    let since: number | undefined;
    let epoch: string | undefined;
    let agentId: string | undefined;
    let presence = false;
    let continueAfterTrim = false;
    let principal: Principal;
    try {
      const rebound = route.origins.rebound(req.getHeader('host'), origin, req.getHeader('sec-fetch-site'));
      if (rebound !== undefined) throw new EngramError('FORBIDDEN', rebound);
      principal = route.auth.authenticate(credentialsOf(req));
      const q = parseStreamQuery(req.getQuery(), 1);
      if (q.locks) {
        if (q.contexts.length > 0) throw new EngramError('INVALID_QUERY', 'an SSE stream follows either one context or the locks (locks=1), not both');
      } else if (q.contexts.length !== 1) {
        throw new EngramError('INVALID_QUERY', 'context: an SSE stream follows exactly one context (or locks=1)');
      } else {
        contextId = q.contexts[0]!;
      }
      since = q.since;
      // EventSource reconnects to the same URL: an epoch given there is checked at every resume.
      epoch = q.epoch;
      agentId = q.agentId;
      presence = q.presence;
      continueAfterTrim = q.continueAfterTrim;
      const lastEventId = req.getHeader('last-event-id');
      if (lastEventId !== '' && contextId !== undefined) {
        if (!/^\d{1,15}$/.test(lastEventId)) throw new EngramError('INVALID_QUERY', `Last-Event-ID: must be a seq, got ${JSON.stringify(lastEventId)}`);
        since = Number(lastEventId);
      }
      if (contextId === undefined) gate.access.require(principal, 'read');
      hub.checkRoom();
    } catch (err) {
      reply.error(err, route.onInternal);
      return;
    }
    // A browser's EventSource gives up for good on any answer but 200, so one that reconnects
    // while a restarted server is still opening storage waits for it rather than getting 503.
    const follow = () => start(principal, contextId, since);
    if (gate.engine.ready) follow();
    else {
      void gate.engine.whenReady(STORAGE_WAIT_MS).then((ok) => {
        if (conn.closed || reply.aborted) return;
        if (ok) follow();
        else reply.error(new EngramError('NOT_READY', 'storage is not open'), route.onInternal);
      });
    }

    /** Counts the connection and subscribes it (storage is open by now). */
    function start(principal: Principal, contextId: string | undefined, since: number | undefined): void {
      try {
        conn.release = gate.openConnection(principal);
        conn.expiresAt = principal.expiresAt;
      } catch (err) {
        reply.error(err, route.onInternal);
        return;
      }
      if (contextId === undefined) {
        conn.sub = gate.subscribeLocks(principal, conn);
        hub.add(conn);
        return;
      }
      gate.subscribe(principal, contextId, conn, { since, epoch, agentId, presence, continueAfterTrim }).then(
        (sub) => {
          if (conn.closed) {
            sub.close();
            return;
          }
          conn.sub = sub;
          hub.add(conn);
          conn.leaveHub = () => hub.remove(conn);
        },
        (err: unknown) => {
          conn.release();
          if (!conn.closed) reply.error(err, route.onInternal);
        },
      );
    }
  });
  return { method: 'get', pattern, operation };
}
