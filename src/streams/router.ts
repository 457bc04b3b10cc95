/**
 * The in-process router: fans each committed unit out to the subscribers of its
 * context, in seq order, exactly once per subscription, with gap-free resume.
 *
 * A subscription is in one of four states:
 *   catching-up  sending units after its cursor from the tail or the log, page by page;
 *   live         receiving frames as batches commit;
 *   paused       its sink is over its buffer limit; it waits for resume() (on drain);
 *   closed.
 * Switching from catching-up to live happens in the same synchronous step that sees
 * the cursor reach the committed head, and commits are published synchronously, so no
 * unit can fall between replay and live. A slow sink only pauses its own
 * subscriptions: the writer and the other subscribers never wait for it.
 */
import type { CommitEvent, ContextHandle, Engine } from '../engine/engine.js';
import { EngramError } from '../basics/errors.js';
import { Frame, frames } from './frames.js';
import type { LockEvent } from '../locks/locks.js';
import { GROUP_SPACE_PREFIX } from '../tenancy/access.js';
import { lockView, redactedLockView, type LockView } from '../locks/lock-types.js';
import { NO_OBSERVER, type Observer } from '../basics/observer.js';
import { NO_TRACER, type TraceSpan, type Tracer } from '../basics/tracer.js';
import { isTraceparent } from '../basics/trace.js';
import type { ContextRecord } from '../basics/types.js';
import { scopedKey } from '../basics/compound-key.js';
import { Presence, type PresenceChange, type PresenceIdentity } from './presence.js';

/** 'full': written, but the sink is now over its limit; 'dropped': not written at all. */
export type WriteResult = 'ok' | 'full' | 'dropped';

/** Where a subscription's frames go: one WebSocket connection, one SSE response, a test double. */
export interface StreamSink {
  /** True while the sink is over its buffer limit; subscriptions must not write then. */
  readonly full: boolean;
  write(frame: Frame): WriteResult;
  /** Runs `fn` with writes batched into as few syscalls as possible. */
  cork(fn: () => void): void;
  /**
   * The server cannot continue this subscription (the log could not be read, or
   * delivery failed): the transport ends the connection so that the client reconnects
   * and resumes, rather than silently missing units.
   */
  fail(reason: string): void;
  /**
   * The server ended this subscription after its last frame (a `deleted` event: its context is
   * gone). The connection stays for its other subscriptions; one that carries only this one ends.
   */
  ended(sub: Subscription): void;
}

export type SubscriptionState = 'catching-up' | 'live' | 'paused' | 'closed';

/** Most units read per step while catching up. */
const CATCH_UP_PAGE = 256;

interface Topic {
  handle: ContextHandle;
  subs: Set<Subscription>;
}

export class Subscription {
  state: SubscriptionState;
  /** Seq of the last unit written to the sink. */
  cursor: number;
  /** Version of the context record last sent (or known) to this subscriber. */
  contextVersion: number;
  /** Called once when the subscription ends, however it ends (quota accounting). */
  onClose: (() => void) | undefined;
  private running = false;
  /**
   * Units read in the next catch-up step. A reader whose buffer fills after a few units of a page
   * would otherwise have the whole page read again from the log at each resume (a 64 KiB-unit
   * context and a slow reader: hundreds of megabytes read to send a few): the page shrinks to
   * twice what the reader took, and grows back while it takes whole pages.
   */
  private pageSize = CATCH_UP_PAGE;
  /** Ends this subscription's presence in the context (set while it is present). */
  leavePresence: (() => void) | undefined;
  /** A presence event could not be written (sink full, paused): a snapshot follows when it is live again. */
  private presenceMissed = false;

  constructor(
    private readonly router: Router,
    readonly topicKey: string,
    readonly handle: ContextHandle,
    readonly sink: StreamSink,
    cursor: number,
    state: SubscriptionState,
    /** The space the context lives in. */
    readonly space: string,
    /** Who it is present as; undefined: not counted in presence. */
    readonly identity: PresenceIdentity | undefined,
    /** Whether it gets presence events (join, leave, snapshots). */
    readonly wantsPresence: boolean,
    /** When retention trimmed units it has not received: go on from the first seq left (else it ends). */
    readonly continueAfterTrim = false,
  ) {
    this.cursor = cursor;
    this.state = state;
    this.contextVersion = handle.record()?.version ?? 0;
  }

  /**
   * Keeps this subscription's member present while the caller replaces it (a WebSocket that
   * subscribes again to the same context): call the returned function once the new one joined,
   * so nobody sees it leave and join again.
   */
  holdPresence(): () => void {
    if (this.identity === undefined || this.state === 'closed') return () => undefined;
    return this.router.presence.join(this.space, this.contextId, this.identity);
  }

  /**
   * Writes a presence frame, or notes that one was missed: then a live subscription pauses, as
   * for a unit, so that the drain that resumes it sends a snapshot when it is live again.
   */
  sendPresence(frame: Frame): void {
    if (this.state === 'closed') return;
    const result = this.state === 'paused' || this.sink.full ? 'dropped' : this.sink.write(frame);
    if (result === 'dropped') this.presenceMissed = true;
    if (result !== 'ok' && this.state === 'live') this.state = 'paused';
  }

  get contextId(): string {
    return this.handle.contextId;
  }

  /** Called by the transport when a full sink has drained: catch up from the cursor, then go live. */
  resume(): void {
    if (this.state !== 'paused') return;
    this.state = 'catching-up';
    void this.catchUp();
  }

  close(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.router.detach(this);
    this.leavePresence?.();
    this.leavePresence = undefined;
    this.onClose?.();
  }

  /** Ends the subscription and asks the transport to end the connection. */
  fail(reason: string): void {
    if (this.state === 'closed') return;
    this.close();
    this.sink.fail(reason);
  }

  /** Writes units after the cursor until it reaches the committed head, then goes live. */
  async catchUp(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      while (this.state === 'catching-up') {
        if (this.sink.full) {
          this.state = 'paused';
          return;
        }
        if (this.cursor >= this.handle.head()) {
          this.goLive();
          return;
        }
        if (this.cursor < this.handle.firstSeq() - 1 && !this.passTrim()) return;
        let page = this.handle.unitsAfter(this.cursor, this.pageSize);
        if (page instanceof Promise) page = await page;
        if (this.state !== 'catching-up') return;
        const first = this.cursor + 1;
        this.sink.cork(() => {
          for (let i = 0; i < page.length && this.state === 'catching-up'; i++) {
            this.deliver(frames.workunit(first + i, page[i]!));
          }
        });
        const taken = this.cursor - first + 1;
        this.pageSize = taken < page.length ? Math.max(1, 2 * taken) : Math.min(CATCH_UP_PAGE, 2 * this.pageSize);
      }
    } catch (err) {
      // The log could not be read. Waiting would leave the client silently behind; end it so it resumes.
      this.fail(`could not read the log to catch up: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      this.running = false;
    }
  }

  /** Writes one unit frame and moves the cursor; pauses when the sink fills. */
  deliver(frame: Frame): void {
    const result = this.sink.write(frame);
    if (result === 'dropped') {
      this.state = 'paused';
      return;
    }
    this.cursor = frame.seq!;
    if (result === 'full') this.state = 'paused';
  }

  /**
   * Retention trimmed units this subscription has not received: it is told the first seq left, and
   * either goes on from there or ends. Returns whether it goes on.
   */
  passTrim(): boolean {
    const first = this.handle.firstSeq();
    const frame = frames.trimmed(this.contextId, first, this.continueAfterTrim);
    if (!this.continueAfterTrim) {
      this.endWith(frame, 'retention trimmed what it asked for while its buffer was full');
      return false;
    }
    if (this.sink.write(frame) === 'dropped') {
      this.state = 'paused';
      return false;
    }
    this.cursor = first - 1;
    return true;
  }

  /**
   * Ends the subscription with a last frame (`deleted`, or `trimmed` when it does not go on). A
   * subscriber too far behind to take even that frame is cut off (`why`), so it reconnects and
   * learns it then.
   */
  endWith(frame: Frame, why: string): void {
    let written: WriteResult = 'dropped';
    this.sink.cork(() => (written = this.sink.write(frame)));
    this.close();
    if (written === 'dropped') this.sink.fail(why);
    else this.sink.ended(this);
  }

  private goLive(): void {
    this.state = 'live';
    const record = this.handle.record();
    // A context change published while this subscription was not live is sent now, once.
    if (record !== undefined && record.version > this.contextVersion) this.sendContext(record);
    if (this.presenceMissed) {
      this.presenceMissed = false;
      this.sendPresence(frames.presenceSnapshot(this.contextId, this.router.presence.members(this.space, this.contextId)));
    }
  }

  sendContext(record: ContextRecord, frame?: Frame): void {
    if (this.sink.write(frame ?? frames.context(record)) !== 'dropped') this.contextVersion = record.version;
  }
}

/**
 * A follower of every lock event of a client. Lock events are notifications, not a
 * gap-free history: one that misses events while its sink is full gets a snapshot of
 * the locks held when it drains.
 */
export class LockSubscription {
  state: 'live' | 'paused' | 'closed' = 'live';
  private missed = false;

  constructor(
    private readonly router: Router,
    /** The spaces followed: a client's own and those of its groups. */
    readonly spaces: readonly string[],
    readonly sink: StreamSink,
    /** The client following, whose own locks show their lockId and token in snapshots. */
    readonly viewer: string,
  ) {}

  deliver(frame: Frame): void {
    if (this.state !== 'live' || this.sink.full) {
      if (this.state === 'live') this.state = 'paused';
      this.missed = true;
      return;
    }
    const r = this.sink.write(frame);
    if (r === 'dropped') this.missed = true;
    if (r !== 'ok') this.state = 'paused';
  }

  resume(): void {
    if (this.state !== 'paused') return;
    this.state = 'live';
    if (this.missed) {
      this.missed = false;
      this.deliver(frames.lockSnapshot(this.spaces.flatMap((space) => this.router.lockSnapshot(space, this.viewer))));
    }
  }

  close(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.router.detachLocks(this);
  }
}

export class Router {
  private readonly topics = new Map<string, Topic>();
  private readonly lockFollowers = new Map<string, Set<LockSubscription>>();
  /** Told how long each fan-out took (metrics). */
  private readonly observer: Observer;
  /** A span per unit's fan-out (engram.fanout). */
  private readonly tracer: Tracer;
  /** The locks held in a space now, as `viewer` may see them (from the lock manager). */
  readonly lockSnapshot: (space: string, viewer: string) => LockView[];
  private readonly opening = new Map<string, Promise<Topic>>();
  private readonly unlisten: () => void;
  /** Who is in each context: this node's subscriptions, and what other nodes report. */
  readonly presence: Presence;
  private readonly unlistenPresence: () => void;

  constructor(
    private readonly engine: Engine,
    parts: { observer?: Observer; tracer?: Tracer; lockSnapshot?: (space: string, viewer: string) => LockView[]; presence?: Presence } = {},
  ) {
    this.observer = parts.observer ?? NO_OBSERVER;
    this.tracer = parts.tracer ?? NO_TRACER;
    this.lockSnapshot = parts.lockSnapshot ?? (() => []);
    this.presence = parts.presence ?? new Presence();
    this.unlisten = engine.onCommit((events) => this.publish(events));
    this.unlistenPresence = this.presence.onChange((change) => this.publishPresence(change));
  }

  /**
   * Subscribes `sink` to a context. Without `since` it gets units committed from now on;
   * with `since` it first gets every unit with seq > since. The `subscribed` frame
   * (carrying the head seq at this moment and the log's epoch) is written before any unit. A
   * `since` below what retention kept gets a `trimmed` frame next (Subscription.passTrim).
   * `epoch`, when given, must be the log's: a position from another epoch (a restored or
   * repaired history) is refused rather than resumed as if its seqs still meant the same.
   * `identity` makes the subscription present in the context as that client and agent, from
   * its `subscribed` frame until it ends; `presence` sends it a snapshot of who is there right
   * after `subscribed`, then each join and leave.
   */
  async subscribe(
    clientId: string,
    contextId: string,
    sink: StreamSink,
    options: { since?: number; epoch?: string; ref?: string | number; identity?: PresenceIdentity; presence?: boolean; continueAfterTrim?: boolean } = {},
  ): Promise<Subscription> {
    const key = scopedKey(clientId, contextId);
    // Opening the topic checks that storage is open (NOT_READY otherwise); the epoch is known from then on.
    const topic = await this.topic(key, clientId, contextId);
    const epoch = topic.handle.epoch();
    if (options.epoch !== undefined && options.epoch !== epoch) {
      this.releaseIfUnused(key, topic);
      throw new EngramError(
        'EPOCH_MISMATCH',
        `epoch ${JSON.stringify(options.epoch)} is not this context's (${JSON.stringify(epoch)}): its history was restored, repaired or deleted since, so seqs from the old epoch no longer mean what they meant; read the context again from since=0`,
        { details: { epoch } },
      );
    }
    // From here to the end of the function nothing awaits: the head read below and the
    // subscription joining the topic happen before any other commit can be published.
    const head = topic.handle.head();
    const since = options.since;
    if (since !== undefined && since > head) {
      this.releaseIfUnused(key, topic);
      throw new EngramError('INVALID_QUERY', `since: ${since} is beyond the head seq ${head} of context ${JSON.stringify(contextId)}`);
    }
    const catchingUp = since !== undefined && since < head;
    const sub = new Subscription(
      this,
      key,
      topic.handle,
      sink,
      since ?? head,
      catchingUp ? 'catching-up' : 'live',
      clientId,
      options.identity,
      options.presence === true,
      options.continueAfterTrim === true,
    );
    // Joins before it is among the topic's subscribers: the others hear of it, it sees itself in its snapshot.
    if (options.identity !== undefined) sub.leavePresence = this.presence.join(clientId, contextId, options.identity);
    topic.subs.add(sub);
    try {
      sink.write(frames.subscribed(contextId, head, epoch, options.ref));
      if (sub.wantsPresence) sub.sendPresence(frames.presenceSnapshot(contextId, this.presence.members(clientId, contextId)));
    } catch (err) {
      sub.close();
      throw err;
    }
    if (catchingUp) void sub.catchUp();
    return sub;
  }

  private async topic(key: string, clientId: string, contextId: string): Promise<Topic> {
    const existing = this.topics.get(key);
    if (existing !== undefined) return existing;
    let pending = this.opening.get(key);
    if (pending === undefined) {
      pending = this.engine.retain(clientId, contextId).then(
        (handle) => {
          this.opening.delete(key);
          const topic: Topic = { handle, subs: new Set() };
          this.topics.set(key, topic);
          return topic;
        },
        (err: unknown) => {
          this.opening.delete(key);
          throw err;
        },
      );
      this.opening.set(key, pending);
    }
    return pending;
  }

  /** Removes a closed subscription; the last one out releases the context. */
  detach(sub: Subscription): void {
    const topic = this.topics.get(sub.topicKey);
    if (topic === undefined) return;
    topic.subs.delete(sub);
    this.releaseIfUnused(sub.topicKey, topic);
  }

  private releaseIfUnused(key: string, topic: Topic): void {
    if (topic.subs.size > 0 || this.topics.get(key) !== topic) return;
    this.topics.delete(key);
    topic.handle.release();
  }

  /** Fans a committed batch out; runs synchronously inside the commit, before writers are answered. */
  private publish(events: CommitEvent[]): void {
    const started = performance.now();
    let reached = 0;
    for (const event of events) {
      const topic = this.topics.get(scopedKey(event.clientId, event.contextId));
      if (topic === undefined) continue;
      reached += topic.subs.size;
      if (event.deleted !== undefined) {
        this.endDeleted(topic, event.contextId);
        continue;
      }
      // Encoded once for every subscriber of the context.
      const unitFrames = event.units.map((json, i) => frames.workunit(event.firstSeq + i, json));
      const contextFrame = event.record === undefined ? undefined : frames.context(event.record);
      const spans = this.tracer.enabled && event.units.length > 0 ? this.startFanout(event, topic.subs.size) : undefined;
      let delivered = 0;
      for (const sub of topic.subs) {
        if (sub.state !== 'live') continue;
        if (sub.sink.full) {
          sub.state = 'paused';
          continue;
        }
        delivered++;
        try {
          sub.sink.cork(() => {
            for (const frame of unitFrames) {
              if (frame.seq! <= sub.cursor) continue;
              if (frame.seq! > sub.cursor + 1) {
                // Seqs it has not had come before this unit (a fork made under an id it followed
                // before the fork existed shares them): read them from the log first.
                sub.state = 'catching-up';
                void sub.catchUp();
                return;
              }
              sub.deliver(frame);
              if (sub.state !== 'live') return;
            }
            if (contextFrame !== undefined) sub.sendContext(event.record!, contextFrame);
          });
        } catch (err) {
          // One broken sink must neither stop the others nor be skipped past silently.
          sub.fail(`delivery failed: ${err instanceof Error ? err.message : String(err)}`);
        }
      }
      if (spans !== undefined) {
        for (const span of spans) {
          span.set({ 'engram.fanout.delivered': delivered });
          span.end();
        }
      }
    }
    if (reached > 0) this.observer.fanout((performance.now() - started) / 1000, reached);
  }

  /**
   * One span per unit delivered live: a child of the unit's write span when this node wrote it,
   * else of the unit's own traceparent (a write through another node), else a trace of its own.
   */
  private startFanout(event: CommitEvent, subscribers: number): TraceSpan[] {
    return event.units.map((json, i) => {
      let parent: string | null | undefined = event.traces?.[i]?.traceparent;
      if (parent === undefined) {
        const tp = (JSON.parse(json) as { meta?: { traceparent?: string } }).meta?.traceparent;
        parent = isTraceparent(tp) ? tp : null;
      }
      return this.tracer.start('engram.fanout', {
        parent,
        kind: 'producer',
        attributes: { 'engram.context.id': event.contextId, 'engram.unit.seq': event.firstSeq + i, 'engram.fanout.subscribers': subscribers },
      });
    });
  }

  /**
   * A deleted context's subscribers, paused ones included, get a `deleted` event and their
   * subscriptions end: nothing they were following exists any more.
   */
  private endDeleted(topic: Topic, contextId: string): void {
    const frame = frames.deleted(contextId);
    for (const sub of [...topic.subs]) {
      try {
        sub.endWith(frame, 'its context was deleted while its buffer was full');
      } catch (err) {
        sub.fail(`delivery failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  }

  /** Follows every lock event of these spaces (a client's own, and its groups'). */
  subscribeLocks(spaces: readonly string[], sink: StreamSink, ref?: string | number, viewer: string = spaces[0] ?? ''): LockSubscription {
    const sub = new LockSubscription(this, spaces, sink, viewer);
    for (const space of spaces) {
      let set = this.lockFollowers.get(space);
      if (set === undefined) this.lockFollowers.set(space, (set = new Set()));
      set.add(sub);
    }
    sink.write(frames.locksSubscribed(ref));
    // Then the locks held now, in the same synchronous step that made it a follower: a lock taken
    // just before the subscription is in the snapshot, one taken after arrives as an event, so a
    // follower (the dashboard) misses none between reading the list and subscribing.
    sub.deliver(frames.lockSnapshot(spaces.flatMap((space) => this.lockSnapshot(space, viewer))));
    return sub;
  }

  detachLocks(sub: LockSubscription): void {
    for (const space of sub.spaces) {
      const set = this.lockFollowers.get(space);
      set?.delete(sub);
      if (set?.size === 0) this.lockFollowers.delete(space);
    }
  }

  /**
   * Publishes lock changes to the client's lock followers and, for locks that name a
   * context, to that context's live subscribers.
   */
  publishLocks(events: LockEvent[], now = Date.now()): void {
    for (const e of events) {
      // In a shared space every member sees the event, so it carries no holder's proof (lockId, token).
      const view = e.clientId.startsWith(GROUP_SPACE_PREFIX) ? redactedLockView(e.record, now) : lockView(e.record, now);
      const frame = frames.lock(e.action, view);
      for (const sub of this.lockFollowers.get(e.clientId) ?? []) {
        try {
          sub.sink.cork(() => sub.deliver(frame));
        } catch {
          sub.close();
        }
      }
      if (e.record.contextId === undefined) continue;
      const topic = this.topics.get(scopedKey(e.clientId, e.record.contextId));
      for (const sub of topic?.subs ?? []) {
        if (sub.state !== 'live' || sub.sink.full) continue;
        try {
          sub.sink.cork(() => sub.sink.write(frame));
        } catch (err) {
          sub.fail(`delivery failed: ${err instanceof Error ? err.message : String(err)}`);
        }
      }
    }
  }

  /** Sends a join or leave to the context's subscribers that asked for presence. */
  private publishPresence(change: PresenceChange): void {
    const topic = this.topics.get(scopedKey(change.space, change.contextId));
    if (topic === undefined) return;
    let frame: Frame | undefined;
    for (const sub of topic.subs) {
      if (!sub.wantsPresence) continue;
      frame ??= frames.presence(change.contextId, change.action, change.member);
      try {
        sub.sink.cork(() => sub.sendPresence(frame!));
      } catch (err) {
        sub.fail(`delivery failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  }

  stats(): { topics: number; subscriptions: number } {
    let subscriptions = 0;
    for (const t of this.topics.values()) subscriptions += t.subs.size;
    return { topics: this.topics.size, subscriptions };
  }

  close(): void {
    this.unlisten();
    this.unlistenPresence();
    for (const topic of this.topics.values()) for (const sub of [...topic.subs]) sub.close();
    for (const set of [...this.lockFollowers.values()]) for (const sub of [...set]) sub.close();
  }
}
