/**
 * The streaming RPCs: CreateWorkUnits (bulk ingest with ordered acks) and Subscribe
 * (a context's units, gap-free, through the same router as WebSocket and SSE).
 */
import { withTraceparent } from '../../basics/trace.js';
import { constants as http2constants, type Http2Stream } from 'node:http2';
import type { ServerDuplexStream, ServerWritableStream } from '@grpc/grpc-js';
import { asEngramError, EngramError } from '../../basics/errors.js';
import { checkEpoch, checkId } from '../../basics/validate.js';
import type { Frame, FrameFormat, PresenceMemberView } from '../../streams/frames.js';
import type { LockView } from '../../locks/lock-types.js';
import type { Principal } from '../../tenancy/access.js';
import type { StreamSink, Subscription, WriteResult } from '../../streams/router.js';
import { Backlog, type HubConnection } from '../../streams/hub.js';
import type { ContextView, WorkUnit } from '../../basics/types.js';
import { engram } from '../../generated/engram.js';
import { contextOut, lockOut, num, presenceMemberOut, unitInput, unitOut } from './codec.js';
import { callPrincipal, checkDecoded, checkSize, type GrpcDeps } from './handlers.js';
import { encodeEvent } from '../../wire/grpc-service.js';
import { toServiceError } from './status.js';

import pb = engram.v3;

/** Units a bulk stream may have in the engine before the server stops reading from it. */
const BULK_IN_FLIGHT = 4096;

/**
 * CreateWorkUnits: every request is appended as it arrives (so the engine batches them),
 * and acked in request order once durable. A refused unit gets an ack with `error`; the
 * stream goes on. Reading pauses while too many units are in flight or the client reads
 * acks slower than it writes units.
 */
export function bulkIngest(deps: GrpcDeps) {
  return (call: ServerDuplexStream<pb.CreateWorkUnitRequest, pb.IWorkUnitAck>): void => {
    const acks: Array<Promise<pb.IWorkUnitAck>> = [];
    let index = 0;
    let ended = false;
    let done = false;
    let paused = false;
    let wake: (() => void) | undefined;
    const notify = () => {
      wake?.();
      wake = undefined;
    };
    const refused = (i: number, err: unknown): pb.IWorkUnitAck => {
      const e = asEngramError(err);
      if (e.code === 'INTERNAL') deps.onInternal(err);
      return { index: i, error: { code: e.code, message: e.message } };
    };

    let principal: Principal;
    try {
      principal = callPrincipal(deps, call.metadata);
    } catch (err) {
      call.emit('error', toServiceError(err, deps.onInternal));
      return;
    }

    const tp = call.metadata.get('traceparent')[0];
    const traceparent = typeof tp === 'string' ? tp : tp?.toString('utf8');
    call.on('data', (req: pb.CreateWorkUnitRequest) => {
      const i = index++;
      let ack: Promise<pb.IWorkUnitAck>;
      try {
        checkDecoded(req);
        checkSize(req, deps.maxUnitBytes);
        // The call's traceparent (metadata) is every unit's of the stream.
        ack = deps.gate.append(principal, withTraceparent(unitInput(req), traceparent, 'traceparent metadata')).then(
          (r) => ({ index: i, id: r.id, contextId: r.contextId, seq: r.seq, replayed: r.replayed }),
          (err: unknown) => refused(i, err),
        );
      } catch (err) {
        ack = Promise.resolve(refused(i, err));
      }
      acks.push(ack);
      if (acks.length >= BULK_IN_FLIGHT && !paused) {
        paused = true;
        call.pause();
      }
      notify();
    });
    call.on('end', () => {
      ended = true;
      notify();
    });
    call.on('cancelled', () => {
      done = true;
      notify();
    });
    call.on('error', () => {
      done = true;
      notify();
    });

    void (async () => {
      while (!done) {
        const next = acks.shift();
        if (next === undefined) {
          if (ended) break;
          await new Promise<void>((r) => (wake = r));
          continue;
        }
        const ack = await next;
        if (paused && acks.length < BULK_IN_FLIGHT / 2) {
          paused = false;
          call.resume();
        }
        if (done) return;
        if (!call.write(ack)) {
          // Until the client reads more acks, or the call ends (cancel and error call notify).
          await new Promise<void>((resolve) => {
            const go = () => {
              call.off('drain', go);
              wake = undefined;
              resolve();
            };
            call.on('drain', go);
            wake = go;
          });
        }
      }
      if (!done) call.end();
    })().catch((err: unknown) => {
      if (!done) call.emit('error', toServiceError(err, deps.onInternal));
    });
  };
}

/** Frames as encoded SubscribeEvents; frames a gRPC subscriber has no use for encode to null. */
export const GRPC_EVENTS: FrameFormat<Buffer | null> = {
  name: 'grpc',
  encode(frame: Frame): Buffer | null {
    switch (frame.event) {
      case 'workunit':
        return encodeEvent({ workUnit: unitOut((JSON.parse(frame.json) as { workUnit: WorkUnit }).workUnit) });
      case 'subscribed': {
        const f = JSON.parse(frame.json) as { contextId: string; headSeq: number; epoch: string };
        return encodeEvent({ subscribed: { contextId: f.contextId, headSeq: f.headSeq, epoch: f.epoch } });
      }
      case 'context':
        return encodeEvent({ context: contextOut((JSON.parse(frame.json) as { context: ContextView }).context) });
      case 'trimmed': {
        const f = JSON.parse(frame.json) as { contextId: string; firstSeq: number; continues: boolean };
        return encodeEvent({ trimmed: { contextId: f.contextId, firstSeq: f.firstSeq, continues: f.continues } });
      }
      case 'deleted':
        return encodeEvent({ deleted: { contextId: (JSON.parse(frame.json) as { contextId: string }).contextId } });
      case 'lock': {
        const f = JSON.parse(frame.json) as { action: string; lock?: LockView };
        return f.lock === undefined ? null : encodeEvent({ lock: { action: f.action, lock: lockOut(f.lock) } });
      }
      case 'presence': {
        const f = JSON.parse(frame.json) as { action: string; contextId: string; member?: PresenceMemberView; members?: PresenceMemberView[] };
        const members = f.members ?? (f.member === undefined ? [] : [f.member]);
        return encodeEvent({ presence: { action: f.action, contextId: f.contextId, members: members.map(presenceMemberOut) } });
      }
      default:
        return null;
    }
  },
};

/** How long an ended Subscribe may take to get its status out before its HTTP/2 stream is reset. */
const END_GRACE_MS = 5_000;

/**
 * Resets a call's HTTP/2 stream (RST_STREAM, CANCEL). grpc-js offers no way to end a server call
 * whose buffered messages the client does not read, so this reaches its stream through the
 * call's internals, and does nothing if they are not where grpc-js 1.x keeps them.
 */
function resetStream(call: ServerWritableStream<pb.SubscribeRequest, Buffer>): void {
  const inner = (call as unknown as { call?: { nextCall?: { stream?: Http2Stream }; stream?: Http2Stream } }).call;
  const stream = inner?.nextCall?.stream ?? inner?.stream;
  if (stream !== undefined && !stream.closed && !stream.destroyed) stream.close(http2constants.NGHTTP2_CANCEL);
}

/** Messages buffered for one subscriber before its subscription pauses (it resumes from the log on drain). */
const SUBSCRIBER_BUFFER = 1024;

/**
 * One Subscribe call: the router's sink, and a connection of the stream hub like a WebSocket or
 * an SSE stream, so the same rules hold for it: the connection cap, the slow-consumer clock and
 * the end of the credentials it was made with.
 */
class GrpcSubscriber implements StreamSink, HubConnection {
  readonly kind = 'grpc';
  readonly backlog = new Backlog();
  full = false;
  closed = false;
  sub: Subscription | undefined;
  /** The buffer's length when the hub last looked, to see whether it moved since. */
  private seenLength = 0;

  constructor(
    private readonly call: ServerWritableStream<pb.SubscribeRequest, Buffer>,
    readonly expiresAt: number | undefined,
    private readonly onInternal: (err: unknown) => void,
  ) {
    call.on('drain', () => {
      if (!this.full || this.closed) return;
      this.full = false;
      this.backlog.leave();
      this.sub?.resume();
    });
  }

  write(frame: Frame): WriteResult {
    // The last event of a subscription (its context deleted, or trimmed past it) goes out even over a full buffer.
    const last = frame.event === 'deleted' || frame.event === 'trimmed';
    if (this.closed || (this.full && !last)) return 'dropped';
    const bytes = frame.encoded(GRPC_EVENTS);
    if (bytes === null) return 'ok';
    this.call.write(bytes);
    // write() asks for a drain beyond 16 messages; this sink allows more before it pauses,
    // and 'drain' still comes once the buffer empties.
    if (this.call.writableLength >= SUBSCRIBER_BUFFER) {
      this.full = true;
      this.seenLength = this.call.writableLength;
      this.backlog.enter();
      return 'full';
    }
    return 'ok';
  }

  cork(fn: () => void): void {
    fn();
  }

  /** The hub looks while the buffer is full: messages leaving it (the reader took some) are progress. */
  look(): void {
    const length = this.call.writableLength;
    if (length < this.seenLength) this.backlog.progress();
    this.seenLength = length;
  }

  /** HTTP/2 keeps the connection alive (keepalive pings); a Subscribe has no heartbeat event. */
  heartbeat(): void {}

  closeSlow(): void {
    this.end(new EngramError('SLOW_CONSUMER', 'this call took nothing for stream.slowConsumerTimeout while its buffer was full; resubscribe with since = the last seq received'));
  }

  closeGoingAway(): void {
    this.end(new EngramError('NOT_READY', 'the server is shutting down; resubscribe with since = the last seq received'));
  }

  closeExpired(): void {
    this.end(new EngramError('UNAUTHENTICATED', 'the credentials of this call expired; call again with new ones', { details: { reason: 'invalid_token' } }));
  }

  fail(reason: string): void {
    this.end(new EngramError('STORAGE_UNAVAILABLE', `${reason}; resubscribe with since = the last seq received`));
  }

  /** Its context was deleted (the `deleted` event went out): the call ends with status OK. */
  ended(): void {
    if (this.closed) return;
    this.closed = true;
    this.call.end();
    this.resetIfStuck();
  }

  /** A reader that takes nothing never lets the status through: after a grace period its HTTP/2 stream is reset, so the call leaves the hub anyway. */
  private resetIfStuck(): void {
    const reset = setTimeout(() => resetStream(this.call), END_GRACE_MS);
    reset.unref();
    this.call.once('close', () => clearTimeout(reset));
    this.call.once('cancelled', () => clearTimeout(reset));
  }

  private end(err: EngramError): void {
    if (this.closed) return;
    this.closed = true;
    this.sub?.close();
    // The status goes out after the messages already buffered, which a reader that takes nothing
    // never lets through: if the call is still open after a grace period, reset its HTTP/2
    // stream, so the call ends (and leaves the hub and the client's connection count) anyway.
    this.call.emit('error', toServiceError(err, this.onInternal));
    this.resetIfStuck();
  }
}

export function subscribe(deps: GrpcDeps) {
  return (call: ServerWritableStream<pb.SubscribeRequest, Buffer>): void => {
    const req = call.request;
    let principal: Principal;
    let release: () => void;
    try {
      checkDecoded(req);
      principal = callPrincipal(deps, call.metadata);
      checkId(req.contextId, 'contextId');
      if (req.agentId) checkId(req.agentId, 'agentId');
      if (req.epoch !== null && req.epoch !== undefined) checkEpoch(req.epoch);
      deps.hub.checkRoom();
      release = deps.gate.openConnection(principal);
    } catch (err) {
      call.emit('error', toServiceError(err, deps.onInternal));
      return;
    }
    const sub = new GrpcSubscriber(call, principal.expiresAt, deps.onInternal);
    const since = req.since === null || req.since === undefined ? undefined : num(req.since as number);
    deps.hub.add(sub);
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      deps.hub.remove(sub);
      sub.closed = true;
      sub.sub?.close();
      release();
    };
    // A cancelled call (client gone, deadline passed, server stopping) frees its subscription.
    // Only once the call is over: an ended call may still be sending its status (GrpcSubscriber.end).
    call.on('cancelled', end);
    call.on('close', end);
    const epoch = req.epoch === null || req.epoch === undefined ? undefined : req.epoch;
    deps.gate
      .subscribe(principal, req.contextId, sub, {
        since,
        epoch,
        agentId: req.agentId || undefined,
        presence: req.presence === true,
        continueAfterTrim: req.continueAfterTrim === true,
      })
      .then(
        (s) => {
          if (sub.closed) s.close();
          else sub.sub = s;
        },
        (err: unknown) => {
          end();
          call.emit('error', toServiceError(err, deps.onInternal));
        },
      );
  };
}
