/**
 * WebSocket streams at GET /stream: subscribe to many contexts, publish units, get
 * acks, in JSON text frames or MessagePack binary frames. See docs/streaming.md.
 */
import { isUtf8 } from 'node:buffer';
import { pack, unpack } from 'msgpackr';
import uWS, { type TemplatedApp, type WebSocket } from 'uWebSockets.js';
import type { Principal } from '../../tenancy/access.js';
import { asEngramError, EngramError } from '../../basics/errors.js';
import { Frame, frames, type FrameFormat } from '../../streams/frames.js';
import type { LockSubscription, StreamSink, Subscription, WriteResult } from '../../streams/router.js';
import { credentialsOf, Reply } from './io.js';
import { Backlog, CLOSE_CODES, type HubConnection } from '../../streams/hub.js';
import { ACCESS_TOKEN, BOOL, ON_TRIMMED, param, REPLAY_SINCE, RESUME_EPOCH, STR, STREAM_AGENT, type DocumentedRoute, type Operation } from './operation.js';
import { parseStreamQuery, type StreamRoute } from './stream-route.js';
import { parseClientOp, refOf, type ClientOp, type Ref } from './ws-protocol.js';

/** Subprotocols a client may ask for (Sec-WebSocket-Protocol); `format=` in the URL does the same. */
export const SUBPROTOCOLS = { json: 'engram.json', msgpack: 'engram.msgpack' } as const;

/** The frame as MessagePack: the same object as its JSON text, encoded once per frame. */
export const MSGPACK: FrameFormat<Buffer> = {
  name: 'msgpack',
  encode: (frame) => pack(JSON.parse(frame.json)),
};

interface UserData {
  conn: WsConnection;
}

export interface WsRouteOptions extends StreamRoute {
  /** Largest client message; a larger one closes the connection (uWS). */
  maxMessageBytes: number;
}

class WsConnection implements StreamSink, HubConnection {
  readonly kind = 'websocket';
  ws: WebSocket<UserData> | undefined;
  closed = false;
  readonly backlog = new Backlog();
  readonly subs = new Map<string, Subscription>();
  lockSub: LockSubscription | undefined;
  /** Subscribe and unsubscribe run one at a time, in the order they arrived. */
  private control: Promise<void> = Promise.resolve();

  constructor(
    private readonly route: WsRouteOptions,
    /** Who this connection runs as, fixed at the upgrade. */
    readonly principal: Principal,
    /** Gives the connection back to the client's quota. */
    private readonly release: () => void,
    readonly binary: boolean,
    readonly initial: { contexts: string[]; since: number | undefined; epoch: string | undefined; locks: boolean; presence: boolean; continueAfterTrim: boolean },
    /** The agent its subscriptions are present as (`agentId` in the URL); undefined: none named. */
    readonly agentId: string | undefined,
  ) {}

  /** A look at the buffer after the current cork is flushed is due (markFull). */
  private recheckScheduled = false;

  get full(): boolean {
    return this.backlog.full;
  }

  private get limit(): number {
    return this.route.hub.options.maxBufferedBytes;
  }

  write(frame: Frame): WriteResult {
    const ws = this.ws;
    if (this.closed || ws === undefined) return 'dropped';
    const status = this.binary ? ws.send(frame.encoded(MSGPACK), true, this.route.hub.options.compression) : ws.send(frame.json, false, this.route.hub.options.compression);
    if (status === 2) {
      this.markFull();
      return 'dropped';
    }
    if (ws.getBufferedAmount() > this.limit) {
      this.markFull();
      return 'full';
    }
    return 'ok';
  }

  cork(fn: () => void): void {
    if (this.closed || this.ws === undefined) return;
    this.ws.cork(fn);
  }

  private markFull(): void {
    const was = this.backlog.full;
    this.backlog.enter();
    if (!was && !this.recheckScheduled) {
      this.recheckScheduled = true;
      setImmediate(() => {
        this.recheckScheduled = false;
        this.look();
      });
    }
  }

  /**
   * Flushes what uWS holds in its cork buffer for this socket and looks at the buffer again.
   * Bytes sent while the socket is corked wait in uWS's cork buffer, and are counted as
   * buffered, until that socket is next uncorked; when nothing else is sent to it (its
   * subscriptions paused because of those very bytes), that never happens on its own, and uWS
   * sends no drain since the socket itself is not backed up (seen: 65 kB held for 3 s while the
   * kernel had megabytes of room, and the reader closed as a slow consumer). An empty cork
   * sends them. Run on the turn after the buffer went over the limit, and on each hub tick
   * while it stays there.
   */
  look(): void {
    if (this.closed || this.ws === undefined) return;
    const before = this.ws.getBufferedAmount();
    this.ws.cork(() => undefined);
    const after = this.ws.getBufferedAmount();
    // Bytes went out, or few enough are left: what a uWS drain would have said.
    if (after < before || after <= this.limit / 2) this.drained();
  }

  /** uWS drain (some of the buffer went out): once it is down to half the limit, paused subscriptions catch up. */
  drained(): void {
    if (!this.full || this.ws === undefined) return;
    this.backlog.progress();
    if (this.ws.getBufferedAmount() > this.limit / 2) return;
    this.backlog.leave();
    for (const sub of this.subs.values()) sub.resume();
    this.lockSub?.resume();
  }

  heartbeat(): void {
    this.write(frames.heartbeat);
  }

  closeSlow(): void {
    const lastSeqs: Record<string, number> = {};
    for (const [contextId, sub] of this.subs) lastSeqs[contextId] = sub.cursor;
    // A close reason has room for 123 bytes; the client also knows what it received.
    let reason = JSON.stringify({ code: 'SLOW_CONSUMER', lastSeqs });
    if (Buffer.byteLength(reason) > 123) reason = '{"code":"SLOW_CONSUMER"}';
    this.end(CLOSE_CODES.SLOW_CONSUMER, reason);
  }

  closeGoingAway(): void {
    this.end(CLOSE_CODES.GOING_AWAY, '{"code":"GOING_AWAY"}');
  }

  get expiresAt(): number | undefined {
    return this.principal.expiresAt;
  }

  closeExpired(): void {
    this.end(CLOSE_CODES.CREDENTIALS_EXPIRED, '{"code":"CREDENTIALS_EXPIRED"}');
  }

  fail(reason: string): void {
    this.route.onInternal(new Error(`stream failed: ${reason}`));
    this.end(CLOSE_CODES.SERVER_ERROR, '{"code":"SERVER_ERROR"}');
  }

  /** Its context was deleted (the `deleted` frame went out): the connection stays for its other subscriptions. */
  ended(sub: Subscription): void {
    if (this.subs.get(sub.contextId) === sub) this.subs.delete(sub.contextId);
  }

  private end(code: number, reason: string): void {
    if (this.closed || this.ws === undefined) return;
    this.ws.end(code, reason); // runs the close handler at once
  }

  opened(ws: WebSocket<UserData>): void {
    this.ws = ws;
    if (this.initial.locks) this.enqueue({ op: 'subscribeLocks', ref: undefined });
    for (const contextId of this.initial.contexts) {
      this.enqueue({
        op: 'subscribe',
        ref: undefined,
        contextId,
        since: this.initial.since,
        epoch: this.initial.epoch,
        presence: this.initial.presence,
        agentId: undefined,
        continueAfterTrim: this.initial.continueAfterTrim,
      });
    }
  }

  closedByPeer(): void {
    this.closed = true;
    this.ws = undefined;
    this.release();
    for (const sub of this.subs.values()) sub.close();
    this.subs.clear();
    this.lockSub?.close();
    this.lockSub = undefined;
  }

  /** A message from the client: decode, check, act; anything wrong is answered with an error frame. */
  received(message: ArrayBuffer, isBinary: boolean): void {
    let value: unknown;
    try {
      value = decode(message, isBinary, this.binary);
    } catch (err) {
      this.reply(frames.error(asEngramError(err).code, asEngramError(err).message));
      return;
    }
    let op: ClientOp;
    try {
      op = parseClientOp(value);
    } catch (err) {
      const e = asEngramError(err);
      this.reply(frames.error(e.code, e.message, refOf(value)));
      return;
    }
    this.enqueue(op);
  }

  private enqueue(op: ClientOp): void {
    switch (op.op) {
      case 'ping':
        this.reply(frames.pong(op.ref));
        return;
      case 'publish':
        this.route.gate.append(this.principal, op.unit).then(
          (result) => this.reply(frames.ack(result, op.ref)),
          (err: unknown) => this.replyError(err, op.ref),
        );
        return;
      case 'subscribeLocks':
        this.lockSub?.close();
        this.lockSub = undefined;
        try {
          this.lockSub = this.route.gate.subscribeLocks(this.principal, this, op.ref);
        } catch (err) {
          this.replyError(err, op.ref);
        }
        return;
      case 'unsubscribeLocks':
        this.lockSub?.close();
        this.lockSub = undefined;
        this.reply(frames.locksUnsubscribed(op.ref));
        return;
      case 'subscribe':
      case 'unsubscribe':
        this.control = this.control.then(() =>
          op.op === 'subscribe'
            ? this.subscribe(op.contextId, op.since, op.epoch, op.presence, op.agentId ?? this.agentId, op.ref, op.continueAfterTrim)
            : this.unsubscribe(op.contextId, op.ref),
        );
        return;
    }
  }

  private async subscribe(
    contextId: string,
    since: number | undefined,
    epoch: string | undefined,
    presence: boolean,
    agentId: string | undefined,
    ref: Ref,
    continueAfterTrim: boolean,
  ): Promise<void> {
    if (this.closed) return;
    const previous = this.subs.get(contextId);
    if (previous === undefined && this.subs.size >= this.route.hub.options.maxSubscriptions) {
      this.reply(frames.error('INVALID_FIELD', `at most ${this.route.hub.options.maxSubscriptions} subscriptions per connection`, ref));
      return;
    }
    // Subscribing again to the same context starts over from the new `since`; its agent stays
    // present meanwhile (no leave and join for a resubscription).
    const held = previous?.holdPresence();
    previous?.close();
    this.subs.delete(contextId);
    try {
      const sub = await this.route.gate.subscribe(this.principal, contextId, this, { since, epoch, ref, agentId, presence, continueAfterTrim });
      if (this.closed) sub.close();
      // Already over (a `trimmed` frame ended it at once): nothing to keep.
      else if (sub.state !== 'closed') this.subs.set(contextId, sub);
    } catch (err) {
      this.replyError(err, ref);
    } finally {
      held?.();
    }
  }

  private async unsubscribe(contextId: string, ref: Ref): Promise<void> {
    this.subs.get(contextId)?.close();
    this.subs.delete(contextId);
    this.reply(frames.unsubscribed(contextId, ref));
  }

  private replyError(err: unknown, ref: Ref): void {
    const e = asEngramError(err);
    if (e.code === 'INTERNAL') this.route.onInternal(err);
    this.reply(frames.error(e.code, e.message, ref, e.details));
  }

  /**
   * Answers to the client's own requests go out even when the buffer is full; if even that fails,
   * the connection is too slow to keep. Answers are gathered and sent together a microtask later:
   * the acks of one group commit resolve in one run of microtasks, and one cork sends them in one
   * write instead of one syscall each (a fifth of the server's CPU under pipelined publishes).
   */
  private reply(frame: Frame): void {
    if (this.closed) return;
    this.replies.push(frame);
    if (this.replies.length === 1) queueMicrotask(this.flushReplies);
  }

  private readonly replies: Frame[] = [];

  private readonly flushReplies = (): void => {
    const out = this.replies.splice(0);
    if (this.closed) return;
    let dropped = false;
    this.cork(() => {
      for (const frame of out) if (this.write(frame) === 'dropped') dropped = true;
    });
    if (dropped) this.closeSlow();
  };
}

function decode(message: ArrayBuffer, isBinary: boolean, msgpackConnection: boolean): unknown {
  const bytes = Buffer.from(message);
  if (isBinary) {
    if (!msgpackConnection) throw new EngramError('MALFORMED_JSON', 'binary frames are MessagePack, which this connection did not ask for (format=msgpack)');
    try {
      return unpack(bytes);
    } catch (err) {
      throw new EngramError('MALFORMED_JSON', `the frame is not valid MessagePack: ${(err as Error).message}`);
    }
  }
  if (!isUtf8(bytes)) throw new EngramError('MALFORMED_JSON', 'the frame is not valid UTF-8');
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new EngramError('MALFORMED_JSON', `the frame is not valid JSON: ${(err as Error).message}`);
  }
}

/** Registers GET /stream; returns it with its operation, for the OpenAPI document. */
export function registerWebSocket(app: TemplatedApp, route: WsRouteOptions): DocumentedRoute {
  const { hub, gate } = route;
  const pattern = '/stream';
  const operation: Operation = {
    summary: 'WebSocket upgrade: subscribe to contexts and the lock stream, publish units (docs/streaming.md).',
    tag: 'streams',
    scope: 'read',
    query: [
      param('context', STR, 'A context to follow (repeatable).'),
      REPLAY_SINCE,
      RESUME_EPOCH,
      ON_TRIMMED,
      param('locks', BOOL, 'Follow lock events.'),
      STREAM_AGENT,
      param('presence', BOOL, 'Presence events for the contexts named here (a subscribe message asks with "presence": true).'),
      param('format', { enum: ['json', 'msgpack'] }, 'Frame format.'),
      ACCESS_TOKEN,
    ],
    ok: { 101: { contentType: 'application/json', description: 'Switching Protocols: frames as in docs/streaming.md' } },
    errors: ['INVALID_QUERY', 'INVALID_FIELD', 'QUOTA_EXCEEDED', 'TOO_MANY_CONNECTIONS'],
  };
  app.ws<UserData>(pattern, {
    compression: hub.options.compression ? uWS.SHARED_COMPRESSOR : uWS.DISABLED,
    maxPayloadLength: route.maxMessageBytes,
    // Our own limit pauses subscriptions well before this; uWS drops (and we then close) only beyond it.
    maxBackpressure: hub.options.maxBufferedBytes + route.maxMessageBytes + 64 * 1024,
    closeOnBackpressureLimit: 0,
    idleTimeout: Math.max(8, Math.round(hub.options.idleTimeoutMs / 1000)),
    sendPingsAutomatically: true,

    upgrade: (res, req, context) => {
      const key = req.getHeader('sec-websocket-key');
      const protocols = req.getHeader('sec-websocket-protocol');
      const extensions = req.getHeader('sec-websocket-extensions');
      let conn: WsConnection;
      let protocol = '';
      try {
        const principal = route.auth.authenticate(credentialsOf(req));
        // A page of another site must not open a socket with the user's credentials or as the default
        // client (cross-site WebSocket hijacking): its own pages, and origins allowed by name, only.
        const origin = req.getHeader('origin');
        const rebound = route.origins.rebound(req.getHeader('host'), origin, req.getHeader('sec-fetch-site'));
        if (rebound !== undefined) throw new EngramError('FORBIDDEN', rebound);
        if (route.origins.judge(origin, req.getHeader('host')) === 'refused') {
          throw new EngramError('FORBIDDEN', `Origin ${JSON.stringify(origin.slice(0, 200))} may not open streams here (server.allowedOrigins)`);
        }
        const q = parseStreamQuery(req.getQuery(), hub.options.maxSubscriptions);
        const offered = protocols.split(',').map((p) => p.trim());
        let format = q.format;
        if (format === undefined) format = offered.includes(SUBPROTOCOLS.msgpack) ? 'msgpack' : 'json';
        if (format !== 'json' && format !== 'msgpack') throw new EngramError('INVALID_QUERY', `format: must be json or msgpack, got ${JSON.stringify(format)}`);
        if (offered.includes(SUBPROTOCOLS[format])) protocol = SUBPROTOCOLS[format];
        if (!gate.engine.ready) throw new EngramError('NOT_READY', 'storage is not open');
        hub.checkRoom();
        // What the URL asks to follow is checked now, so a refusal is a clean 403 rather than an error frame later.
        for (const c of q.contexts) gate.access.contextSpace(principal, c, 'read');
        if (q.locks) gate.access.require(principal, 'read');
        const initial = { contexts: q.contexts, since: q.since, epoch: q.epoch, locks: q.locks, presence: q.presence, continueAfterTrim: q.continueAfterTrim };
        conn = new WsConnection(route, principal, gate.openConnection(principal), format === 'msgpack', initial, q.agentId);
      } catch (err) {
        new Reply(res).error(err, route.onInternal, true);
        return;
      }
      res.upgrade<UserData>({ conn }, key, protocol, extensions, context);
    },
    open: (ws) => {
      const conn = ws.getUserData().conn;
      hub.add(conn);
      conn.opened(ws);
    },
    message: (ws, message, isBinary) => ws.getUserData().conn.received(message, isBinary),
    drain: (ws) => ws.getUserData().conn.drained(),
    close: (ws) => {
      const conn = ws.getUserData().conn;
      hub.remove(conn);
      conn.closedByPeer();
    },
  });
  return { method: 'get', pattern, operation };
}
