/**
 * Locks shared by several Engram nodes, in a JetStream key-value bucket: the stream
 * KV_<stream>_LOCKS with one subject per lock (the layout of NATS key-value buckets, so the
 * bucket can be read with NATS's own tools). Every change is a compare-and-set on the whole
 * bucket: it is appended expecting the bucket's last sequence to be the last change this node has
 * seen, so a node decides only on a complete view and one node wins each race. (The per-key
 * check, the expected last subject sequence, is not safe on clustered nats-server 2.9: two
 * writes expecting the same revision can both be stored; the bucket-wide one is checked
 * against the writes in flight.) Lock changes are rare next to units, so one order for the
 * whole bucket costs little. Revisions only increase, so a new acquisition's fencing token is
 * the revision of the write that made it. A freed key keeps a tombstone saying why, so every
 * node reports the same event.
 */
import { DiscardPolicy } from '@nats-io/jetstream';
import { UlidFactory } from '../basics/ids.js';
import type { LockBatch, LockChange, LockEntry, LockRecord, LockStore, LockStoreCapabilities } from '../locks/lock-types.js';
import { decodeToken, encodeToken, SeqWaiters, StreamFollower, wrongLastSequence, type NatsLink } from './nats.js';

/** A key's value (JSON). */
interface Value {
  c: string;
  /** The holder's record; its token is 0 for the write that acquired it (the token is that write's revision). */
  r: LockRecord | null;
  why?: 'released' | 'expired';
  was?: LockRecord;
  n: string;
}

/** A key as the bucket holds it, with the node that wrote it. */
interface BucketEntry extends LockEntry {
  node: string;
}

export class JetStreamLockStore implements LockStore {
  readonly capabilities: LockStoreCapabilities = { sharedWriters: true };
  /** This node's id, written with its changes: its own come back through the feed and are skipped. */
  readonly node = new UlidFactory().next(Date.now());
  private readonly bucket: string;
  private readonly streamName: string;
  private follower: StreamFollower | undefined;
  /** The bucket's last sequence as this node has seen it: the expected sequence of its next write. */
  private lastSeen = 0;
  private readonly waiters = new SeqWaiters();

  constructor(private readonly link: NatsLink) {
    this.bucket = `${link.options.stream}_LOCKS`;
    this.streamName = `KV_${this.bucket}`;
  }

  private subject(clientId: string, resource: string): string {
    return `$KV.${this.bucket}.${encodeToken(clientId)}.${encodeToken(resource)}`;
  }

  private entry(subject: string, revision: number, data: Uint8Array): BucketEntry | undefined {
    const parts = subject.split('.');
    if (parts.length !== 4) return undefined;
    let v: Value;
    try {
      v = JSON.parse(Buffer.from(data).toString('utf8')) as Value;
    } catch {
      return undefined;
    }
    const record = v.r === null ? null : { ...v.r, token: v.r.token === 0 ? revision : v.r.token };
    return { clientId: decodeToken(parts[2]!), resource: decodeToken(parts[3]!), revision, record, reason: v.why, freed: v.was, node: v.n };
  }

  /** The fencing counter is not kept: tokens are the revisions of the acquiring writes. */
  async open(onChange: (entry: LockEntry) => void): Promise<{ counter: number; locks: LockEntry[] }> {
    const info = await this.link.ensureStream(this.streamName, {
      subjects: [`$KV.${this.bucket}.>`],
      discard: DiscardPolicy.New,
      max_msgs_per_subject: 1,
      allow_direct: true,
      allow_rollup_hdrs: true,
      deny_delete: true,
    });
    const last = info.state.last_seq;
    const initial: LockEntry[] = [];
    let loaded: () => void = () => undefined;
    const done = new Promise<void>((r) => (loaded = r));
    if (last === 0) loaded();
    this.follower = new StreamFollower(
      this.link,
      this.streamName,
      0,
      (m) => {
        const e = this.entry(m.subject, m.seq, m.data);
        if (m.seq <= last) {
          if (e !== undefined) initial.push(e);
          if (m.info.pending === 0 || m.seq >= last) loaded();
          return;
        }
        loaded();
        // This node's own writes were applied when they were acknowledged.
        if (m.seq > this.lastSeen) {
          this.lastSeen = m.seq;
          if (e !== undefined && e.node !== this.node) onChange(e);
        }
        this.waiters.reached(this.lastSeen);
      },
      { lastPerSubject: true },
    );
    await this.follower.start();
    await done;
    this.lastSeen = Math.max(this.lastSeen, last);
    return { counter: 0, locks: initial };
  }

  /** Resolves once the feed has brought every change up to `seq`. */
  private caughtUp(seq: number): Promise<void> {
    return this.waiters.wait(
      seq,
      () => this.lastSeen,
      10_000,
      () => new Error(`the lock bucket's changes did not arrive within 10 s (at ${this.lastSeen}, needs ${seq})`),
    );
  }

  /** Brings this node's view up to every change stored so far (before a fence is checked against it). */
  async sync(): Promise<void> {
    const info = await this.link.jsm.streams.info(this.streamName);
    await this.caughtUp(info.state.last_seq);
  }

  async commit(batch: LockBatch): Promise<{ revisions: number[] } | { conflict: number }> {
    const changes = batch.changes;
    const revisions: number[] = [];
    for (let i = 0; i < changes.length; i++) {
      const c = changes[i]!;
      const value: Value = { c: c.clientId, r: c.record === null ? null : { ...c.record, token: c.fresh ? 0 : c.record.token }, n: this.node };
      if (c.record === null) {
        value.why = c.reason;
        value.was = c.freed;
      }
      try {
        const ack = await this.link.js.publish(this.subject(c.clientId, c.resource), JSON.stringify(value), { expect: { lastSequence: this.lastSeen } });
        // Accepted after exactly the last change seen: nothing came between.
        this.lastSeen = Math.max(this.lastSeen, ack.seq);
        revisions.push(ack.seq);
      } catch (err) {
        const actual = wrongLastSequence(err);
        await this.undo(changes, revisions);
        if (actual === undefined) throw err;
        // Another node changed the bucket first: decide again once its change is here.
        await this.caughtUp(actual);
        return { conflict: i };
      }
    }
    return { revisions };
  }

  /** Frees again the keys of a multi-resource change that got only part of the way. */
  private async undo(changes: LockChange[], revisions: number[]): Promise<void> {
    for (let i = 0; i < revisions.length; i++) {
      const c = changes[i]!;
      // Freed without a reason when it held nothing before: other nodes report no event for it.
      const value: Value = c.before === null ? { c: c.clientId, r: null, n: this.node } : { c: c.clientId, r: c.before, n: this.node };
      // Unconditional: no other node decides on these keys while they show this node's change.
      await this.link.js.publish(this.subject(c.clientId, c.resource), JSON.stringify(value)).catch(() => undefined);
    }
  }

  close(): void {
    this.follower?.stop();
  }
}
