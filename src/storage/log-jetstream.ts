/**
 * The shared log on NATS JetStream, for several Engram nodes (docs/scale-out.md).
 *
 * Writes: each context's part of a batch is one message on the context's subject, naming the
 * part it was staged after (`p`: that part's stream sequence). Every node applies the stream in
 * order and keeps a part only if it follows the context's last kept part and repeats no live
 * idempotency key; a part that lost a race is skipped by every node alike, and its writer
 * restages on the new head. So seqs stay unique and gap-free across nodes without any node
 * deciding them alone, and without trusting the server's per-subject compare-and-set: with
 * clustered nats-server 2.9 two appends expecting the same last subject sequence can both be
 * stored (test/scale-out/jetstream-primitives.test.ts shows it). The expected last subject
 * sequence is still sent, so a server that checks it turns most races away before they are
 * stored, and a keyed part carries its key as the message id, so most retries are found as
 * duplicates by the server.
 *
 * Reads: every node applies the whole stream, in stream order, to a local LevelDB replica (the
 * embedded log's format), and serves every read from it. The replica is a cache: deleting it
 * makes the node rebuild it from the stream on start. A unit's position comes from its message's
 * stream sequence, so it is the same on every node. A commit resolves once the node's replica
 * has applied it, so a node reads its own writes.
 *
 * Deletion: a message on the context's subject that every node applies where it lands (the
 * replica removes the context); the deleting node then purges the context's earlier messages, so
 * the data leaves the stream too.
 */
import { createHash } from 'node:crypto';
import { newEpoch } from '../basics/ids.js';
import { rmSync } from 'node:fs';
import { pack, unpack } from 'msgpackr';
import type { JsMsg } from '@nats-io/jetstream';
import { EngramError } from '../basics/errors.js';
import {
  committedContext,
  deletedContext,
  onlyListener,
  trimmedContext,
  type ContextDeletion,
  type ContextTrim,
  type CommitBatch,
  type CommitPart,
  type CommittedContext,
  type CommittedListener,
  type LogCapabilities,
  type ContextListOptions,
  type ContextOutcome,
  type IdempotencyEntry,
  type Log,
  type PositionedUnit,
  type SnapshotRecord,
  type SpaceUsage,
  type UnitEntry,
  type UnitLocation,
} from '../engine/log.js';
import type { ContextRecord } from '../basics/types.js';
import { LevelLog } from './log-leveldb.js';
import { encodeToken, NatsLink, SeqWaiters, StreamFollower, wrongLastSequence } from './nats.js';
import { joinKey, scopedKey, SEP } from '../basics/compound-key.js';

/** One context's part of a batch, as a stream message (msgpack). */
interface Part {
  c: string;
  x: string;
  /** Stream sequence of the context's part this one was staged after (0: none). */
  p: number;
  /** headSeq and updatedAt after the part. */
  h: number;
  t: number;
  /** The whole record, when more than the head changed. */
  r?: ContextRecord;
  /** Units: id, seq, JSON, embedding bytes. */
  u: Array<[string, number, string, Uint8Array | undefined]>;
  /** Idempotency keys: key, unit id, seq, expiresAt. */
  k: Array<[string, string, number, number]>;
  /**
   * Set on a deletion of the context (no units then): the incarnation its next history carries.
   * Kept by every node wherever it lands in the stream, whatever `p` says: a node that was behind
   * may never see the parts it removes (the deleting node purges them from the stream).
   */
  d?: string;
  /** Set on a trim of the context (no units then): its new first seq, and the ids of the units below it kept (pinned). */
  f?: number;
  keep?: string[];
}

/** Where a context stands in the stream: its last kept part, the record it left, and its subject's last message. */
interface Head {
  streamSeq: number;
  headSeq: number;
  version: number;
  /** Last message on the subject, kept or skipped (what the server's expected-sequence check compares). */
  lastSeq: number;
}

/** Why a part was skipped: it did not follow the context's last kept part, or its key was already used. */
type Verdict = { kind: 'conflict' } | { kind: 'replayed'; entry: IdempotencyEntry };

const APPLIED = 'jetstream.applied';
/**
 * How the replica numbers positions: from the stream sequence of each unit's message, so every
 * node, a replica rebuilt later and one that was behind when a deletion purged messages all give a
 * unit the same position. A message holds at most 65,536 units (storage.maxBatchUnits).
 */
const POSITIONS = 'jetstream.positions';
const POSITIONS_BY_STREAM = 'stream-seq';
const UNITS_PER_MESSAGE = 65_536;
const STREAM_ID = 'jetstream.stream';
const headMark = (key: string) => `jetstream.head${SEP}${key}`;
/** How long a commit waits for this node's replica to apply what the stream acknowledged. */
const APPLY_WAIT_MS = 30_000;
/** Parts applied to the replica in one LevelDB batch, at most. */
const APPLY_BATCH = 512;
/** Verdicts on skipped parts kept for their writers, at most (the oldest go first). */
const MAX_VERDICTS = 10_000;
/** Deletions and trims applied, kept for the node that published them until it reads its own (bounded like verdicts). */
const MAX_REMOVALS = 1_000;

export interface JetStreamLogOptions {
  /** Directory of this node's replica (a LevelDB). */
  replicaDir: string;
  verifyOnStart: boolean;
  cacheSize?: number;
}

export class JetStreamLog implements Log {
  /** Every node appends to the stream. */
  readonly capabilities: LogCapabilities = { sharedWriters: true };
  readonly replica: LevelLog;
  private readonly subjectPrefix: string;
  private listener: CommittedListener | undefined;
  private readonly heads = new Map<string, Head>();
  /** Stream sequence of the last part the replica holds. */
  private applied = 0;
  /** Stream time (ms) of that message: idempotency keys are swept by it, so every node judges keys alike. */
  private appliedTime = 0;
  private readonly verdicts = new Map<number, Verdict>();
  /** What deletions and trims did, by the stream sequence of their message, for the node that published them. */
  private readonly removals = new Map<number, ContextDeletion | ContextTrim | undefined>();
  private position = 0;
  private pending: JsMsg[] = [];
  private applying = false;
  private follower: StreamFollower | undefined;
  private readonly waiters = new SeqWaiters();
  /** The replica write of the last applied batch while it is in flight. */
  private storing: Promise<void> | undefined;
  private closed = false;
  /** Set when the replica could not store what the stream holds: every commit fails until a restart. */
  private broken: Error | undefined;
  private epochName: string | undefined;

  constructor(
    private readonly link: NatsLink,
    private readonly options: JetStreamLogOptions,
  ) {
    this.replica = new LevelLog(options.replicaDir, { sync: false, verifyOnStart: options.verifyOnStart, cacheSize: options.cacheSize });
    this.subjectPrefix = `${link.options.stream}.u`;
  }

  epoch(): string {
    if (this.epochName === undefined) throw new Error('the log is not open');
    return this.epochName;
  }

  follow(listener: CommittedListener): void {
    this.listener = onlyListener(this.listener, listener);
  }

  /** Refuses work once the replica could not store what the stream holds (until a restart rebuilds it). */
  private assertWhole(): void {
    if (this.broken !== undefined) throw new EngramError('STORAGE_UNAVAILABLE', `this node's replica cannot be written: ${this.broken.message}`);
  }

  /** Asks the stream for its last sequence (one request) and waits until this node has applied it. */
  async catchUp(): Promise<void> {
    this.assertWhole();
    const last = (await this.link.jsm.streams.info(this.link.options.stream)).state.last_seq;
    await this.waitApplied(last, APPLY_WAIT_MS);
  }

  private subject(clientId: string, contextId: string): string {
    return `${this.subjectPrefix}.${encodeToken(clientId)}.${encodeToken(contextId)}`;
  }

  async open(): Promise<void> {
    await this.link.open();
    const o = this.link.options;
    const info = await this.link.ensureStream(o.stream, {
      subjects: [`${this.subjectPrefix}.>`],
      max_age: o.maxAgeMs * 1_000_000,
      duplicate_window: o.duplicateWindowMs * 1_000_000,
      deny_delete: true,
      // Deleting a context purges its subject (deleteContext).
      deny_purge: false,
      allow_direct: true,
    });
    if (info.config.deny_purge === true) {
      // A stream made by a version without deletion: deleting a context purges its subject.
      await this.link.jsm.streams.update(o.stream, { ...info.config, deny_purge: false });
    }
    await this.replica.open();
    // A replica of another stream (or of this name's earlier incarnation) is useless: start over.
    const identity = `${o.stream}@${info.created}`;
    const had = await this.replica.getMark(STREAM_ID);
    // A replica that counted positions one by one (before deletion existed) is rebuilt too.
    const current = had === identity && (await this.replica.getMark(POSITIONS)) === POSITIONS_BY_STREAM;
    if (had !== undefined && !current) {
      await this.replica.close();
      rmSync(this.options.replicaDir, { recursive: true, force: true });
      await this.replica.open();
    }
    if (!current) await this.replica.commit({ parts: [] }, { [STREAM_ID]: identity, [POSITIONS]: POSITIONS_BY_STREAM });
    // Every node follows the same stream, so every node names the same epoch; a replica rebuilt
    // from it holds the same history (same epoch), a stream made again does not.
    this.epochName = createHash('sha256').update(identity).digest('hex').slice(0, 12);
    this.applied = Number((await this.replica.getMark(APPLIED)) ?? 0);
    this.position = await this.replica.lastPosition();
    // Without a retention limit nothing leaves the stream, so its sequences have no holes.
    this.follower = new StreamFollower(
      this.link,
      o.stream,
      this.applied + 1,
      (m) => {
        this.pending.push(m);
        if (!this.applying) void this.apply();
      },
      { contiguous: o.maxAgeMs === 0 },
    );
    await this.follower.start();
    // Caught up with everything the stream held at start before serving.
    const last = (await this.link.jsm.streams.info(o.stream)).state.last_seq;
    await this.waitApplied(last, 10 * 60_000);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.follower?.stop();
    await this.link.close();
    await this.stored().catch(() => undefined);
    await this.replica.close();
  }

  // ---- applying the stream ----------------------------------------------------------

  private async apply(): Promise<void> {
    this.applying = true;
    try {
      while (this.pending.length > 0 && !this.closed && this.broken === undefined) {
        const msgs = this.pending.splice(0, APPLY_BATCH);
        await this.applyMessages(msgs);
      }
    } catch (err) {
      // The replica could not be written or read while judging (a batch taken off `pending` is
      // then lost to this node): stop applying, and fail commits until a restart rebuilds from
      // the stream, rather than let later batches move `applied` past the lost one.
      if (!this.closed) this.broken ??= err as Error;
    } finally {
      this.applying = false;
    }
  }

  private async applyMessages(msgs: JsMsg[]): Promise<void> {
    // Judging reads the replica (heads, idempotency keys): it must hold the batches before this one.
    await this.stored();
    const batch: CommitBatch = { parts: [] };
    const marks: Record<string, string> = {};
    const heads = new Map<string, Head>();
    /** Keys stored by parts earlier in this batch. */
    const keysHere = new Map<string, IdempotencyEntry>();
    let pos = this.position;
    let applied = this.applied;
    let appliedTime = this.appliedTime;
    /** A deletion or a trim ends the batch: the parts before it are stored first, those after it wait for the next batch. */
    let deletion: { m: JsMsg; part: Part } | undefined;
    for (let i = 0; i < msgs.length; i++) {
      const m = msgs[i]!;
      if (m.seq <= applied) continue; // delivered again after a consumer reset
      let part: Part | undefined;
      try {
        part = unpack(m.data) as Part;
        if (typeof part.c !== 'string' || typeof part.x !== 'string' || !Array.isArray(part.u) || typeof part.p !== 'number') part = undefined;
      } catch {
        part = undefined; // not a part: another publisher's message on our subjects
      }
      if (part !== undefined && (typeof part.d === 'string' || typeof part.f === 'number')) {
        deletion = { m, part };
        this.pending.unshift(...msgs.slice(i + 1));
        break;
      }
      applied = m.seq;
      appliedTime = Math.max(appliedTime, m.time.getTime());
      if (part === undefined) continue;
      const key = scopedKey(part.c, part.x);
      const before = heads.get(key) ?? (await this.head(part.c, part.x));
      const verdict = await this.judge(part, before, m.time.getTime(), keysHere);
      if (verdict !== undefined) {
        this.verdicts.set(m.seq, verdict);
        if (this.verdicts.size > MAX_VERDICTS) this.verdicts.delete(this.verdicts.keys().next().value!);
        const head: Head = { ...(before ?? { streamSeq: 0, headSeq: 0, version: 0 }), lastSeq: m.seq };
        heads.set(key, head);
        marks[headMark(key)] = markOf(head);
        continue;
      }
      const head: Head = { streamSeq: m.seq, headSeq: part.h, version: part.r?.version ?? before?.version ?? 0, lastSeq: m.seq };
      heads.set(key, head);
      marks[headMark(key)] = markOf(head);
      const units: UnitEntry[] = [];
      part.u.forEach(([id, seq, json, bytes], i) => {
        pos = m.seq * UNITS_PER_MESSAGE + i;
        units.push({ clientId: part!.c, contextId: part!.x, seq, id, pos, json, embedding: bytes === undefined ? undefined : vectorOf(bytes) });
      });
      // The replica stores only the head of a part that changed nothing else; the rest of the record is already there.
      const record = part.r ?? ({ id: part.x, headSeq: part.h, updatedAt: part.t } as ContextRecord);
      // A record staged on a node that had not applied a trim yet keeps the trim's first seq.
      if (part.r !== undefined && before !== undefined) {
        const first = (await this.replica.getContext(part.c, part.x))?.firstSeq;
        if (first !== undefined && first > (part.r.firstSeq ?? 1)) record.firstSeq = first;
      }
      const idempotency: IdempotencyEntry[] = [];
      for (const [k, id, seq, expiresAt] of part.k) {
        const e = { clientId: part.c, contextId: part.x, key: k, id, seq, expiresAt };
        idempotency.push(e);
        keysHere.set(joinKey(part.c, part.x, k), e);
      }
      batch.parts.push({ clientId: part.c, record, changed: part.r !== undefined, units, idempotency });
    }
    if (applied !== this.applied) await this.applyBatch(batch, marks, heads, applied, appliedTime, pos);
    if (deletion !== undefined) await (typeof deletion.part.d === 'string' ? this.applyDeletion(deletion.m, deletion.part) : this.applyTrim(deletion.m, deletion.part));
  }

  private async applyBatch(batch: CommitBatch, marks: Record<string, string>, heads: Map<string, Head>, applied: number, appliedTime: number, pos: number): Promise<void> {
    marks[APPLIED] = String(applied);
    // Heads move first: a writer that meets a head newer than its staged view waits for this batch (waitApplied).
    for (const [k, h] of heads) this.heads.set(k, h);
    // The stream already holds these parts durably, and they are judged: the replica's copy is
    // written while the parts go to the engine and their writers are answered. Every read from the
    // replica, and the judging of the next batch, waits for this write (stored()), so nothing is
    // read before the replica holds it.
    this.storing = this.store(batch, marks);
    this.storing.catch(() => undefined); // its failure is reported to whoever reads next (broken)
    this.position = pos;
    this.applied = applied;
    this.appliedTime = appliedTime;
    if (batch.parts.length > 0 && this.listener !== undefined) {
      try {
        await this.listener(batch.parts.map(committedContext), pos);
      } catch {
        // The engine's view is its own concern; the replica is right and the stream goes on.
      }
    }
    this.waiters.reached(applied);
  }

  /**
   * A deletion from the stream: the replica removes the context (everything before this message
   * is stored by now) and the engine hears of it; the context's head starts over at this message,
   * so parts staged on its old history are refused and staged again on the new one.
   */
  private async applyDeletion(m: JsMsg, part: Part): Promise<void> {
    await this.stored();
    const key = scopedKey(part.c, part.x);
    const head: Head = { streamSeq: m.seq, headSeq: 0, version: 0, lastSeq: m.seq };
    const deletion = (await this.replica.deleteContext(part.c, part.x, part.d, { [APPLIED]: String(m.seq), [headMark(key)]: markOf(head) })) ?? {
      clientId: part.c,
      contextId: part.x,
      incarnation: part.d!,
      units: 0,
      bytes: 0,
      positions: [],
    };
    this.heads.set(key, head);
    await this.removalApplied(m, deletion, deletedContext(deletion));
  }

  /**
   * A trim from the stream: the replica drops the context's units below the new first seq (every
   * node alike; the stream keeps its messages until `storage.natsMaxAge`). The head is untouched,
   * so parts staged before it still follow.
   */
  private async applyTrim(m: JsMsg, part: Part): Promise<void> {
    await this.stored();
    // The context's head stays; its subject's last message is this one (what the next append expects).
    const key = scopedKey(part.c, part.x);
    const marks: Record<string, string> = { [APPLIED]: String(m.seq) };
    const before = await this.head(part.c, part.x);
    if (before !== undefined) {
      const head = { ...before, lastSeq: m.seq };
      this.heads.set(key, head);
      marks[headMark(key)] = markOf(head);
    }
    const trim = await this.replica.trimContext(part.c, part.x, part.f!, new Set(part.keep ?? []), marks);
    await this.removalApplied(m, trim, trim === undefined ? undefined : trimmedContext(trim));
  }

  /** A deletion or trim message is applied: this node is past it, its publisher can read what it did, the engine hears of it. */
  private async removalApplied(m: JsMsg, result: ContextDeletion | ContextTrim | undefined, report: CommittedContext | undefined): Promise<void> {
    this.applied = m.seq;
    this.appliedTime = Math.max(this.appliedTime, m.time.getTime());
    this.removals.set(m.seq, result);
    if (this.removals.size > MAX_REMOVALS) this.removals.delete(this.removals.keys().next().value!);
    if (report !== undefined && this.listener !== undefined) await this.listener([report], this.position).catch(() => undefined);
    this.waiters.reached(m.seq);
  }

  /** Writes a batch to the replica, retrying until it holds what the stream holds. */
  private async store(batch: CommitBatch, marks: Record<string, string>): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.replica.commit(batch, marks);
        return;
      } catch (err) {
        if (this.closed) throw new EngramError('STORAGE_UNAVAILABLE', 'this node is closing');
        if (attempt >= 20) {
          // Stop applying (what is not applied stays in the stream); commits and reads now fail with this.
          this.broken = err as Error;
          throw new EngramError('STORAGE_UNAVAILABLE', `this node's replica cannot be written: ${(err as Error).message}`);
        }
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }

  /** Resolves once the replica holds every batch applied so far (a backup reads the replica after it). */
  async stored(): Promise<void> {
    while (this.storing !== undefined) {
      const storing = this.storing;
      await storing;
      if (this.storing === storing) this.storing = undefined;
    }
  }

  /**
   * Whether every node keeps a part: it must follow the context's last kept part, and none of its
   * idempotency keys may be live (judged at the message's stream time, the same on every node).
   */
  private async judge(part: Part, before: Head | undefined, time: number, keysHere: Map<string, IdempotencyEntry>): Promise<Verdict | undefined> {
    if (part.p !== (before?.streamSeq ?? 0)) return { kind: 'conflict' };
    for (const [k] of part.k) {
      const prior = keysHere.get(joinKey(part.c, part.x, k)) ?? (await this.replica.getIdempotency(part.c, part.x, k));
      if (prior !== undefined && prior.expiresAt > time) return { kind: 'replayed', entry: prior };
    }
    return undefined;
  }

  /** Where a context stands, from memory or the replica. */
  private async head(clientId: string, contextId: string): Promise<Head | undefined> {
    const key = scopedKey(clientId, contextId);
    const known = this.heads.get(key);
    if (known !== undefined) return known;
    await this.stored();
    const mark = await this.replica.getMark(headMark(key));
    // Applied while this read was in flight: memory is newer.
    if (this.heads.has(key)) return this.heads.get(key);
    if (mark === undefined) return undefined;
    const [streamSeq, headSeq, version, lastSeq] = mark.split(',').map(Number) as [number, number, number, number];
    const head = { streamSeq, headSeq, version, lastSeq };
    this.heads.set(key, head);
    return head;
  }

  private waitApplied(seq: number, ms: number): Promise<void> {
    return this.waiters.wait(
      seq,
      () => this.applied,
      ms,
      () => new EngramError('STORAGE_UNAVAILABLE', `this node has not caught up with the shared log within ${ms} ms (at ${this.applied}, needs ${seq})`),
    );
  }

  // ---- writing ------------------------------------------------------------------------

  async commit(batch: CommitBatch): Promise<ContextOutcome[]> {
    this.assertWhole();
    return Promise.all(
      batch.parts.map(async (part): Promise<ContextOutcome> => {
        try {
          return await this.commitPart(part);
        } catch (err) {
          return { status: 'failed', error: err };
        }
      }),
    );
  }

  /** One context's part: published after the head it was staged on, then judged by this node's replica like every other. */
  private async commitPart(entry: CommitPart): Promise<ContextOutcome> {
    const { clientId, record, units, idempotency: idem } = entry;
    const head = await this.head(clientId, record.id);
    if (entry.base !== undefined && (entry.base.headSeq !== (head?.headSeq ?? 0) || entry.base.version !== (head?.version ?? 0))) {
      // Staged on an older view: once the replica (and so the engine) holds the newer head, stage again.
      await this.waitApplied(head?.streamSeq ?? 0, APPLY_WAIT_MS);
      return { status: 'conflict' };
    }
    const part: Part = {
      c: clientId,
      x: record.id,
      p: head?.streamSeq ?? 0,
      h: record.headSeq,
      t: record.updatedAt,
      u: units.map((u) => [u.id, u.seq, u.json, u.embedding === undefined ? undefined : bytesOf(u.embedding)]),
      k: idem.map((e) => [e.key, e.id, e.seq, e.expiresAt]),
    };
    if (entry.changed) part.r = record;
    const data = pack(part);
    // Only a part that is one keyed unit may be found as a duplicate (the engine stages keyed units alone).
    let msgID = idem.length === 1 && units.length === 1 ? `${clientId}/${record.id}/${idem[0]!.key}` : undefined;
    for (;;) {
      let ack;
      try {
        ack = await this.link.js.publish(this.subject(clientId, record.id), data, {
          expect: { lastSubjectSequence: head?.lastSeq ?? 0 },
          ...(msgID === undefined ? {} : { msgID }),
        });
      } catch (err) {
        const actual = wrongLastSequence(err);
        if (actual === undefined) throw err;
        // Someone else appended first: stage again once the replica holds what they wrote.
        await this.waitApplied(actual, APPLY_WAIT_MS);
        return { status: 'conflict' };
      }
      try {
        await this.waitApplied(ack.seq, APPLY_WAIT_MS);
      } catch (err) {
        // In the stream, but not yet judged here: say so rather than claim either outcome.
        throw new EngramError('STORAGE_UNAVAILABLE', `the write may be in the shared log, but this node could not confirm it: ${(err as Error).message}`);
      }
      if (ack.duplicate) {
        const prior = await this.getIdempotency(clientId, record.id, idem[0]!.key);
        if (prior !== undefined) return this.replayed(prior);
        // The first message with this id was a part that lost a race: the key is free, send without the id.
        msgID = undefined;
        continue;
      }
      const verdict = this.verdicts.get(ack.seq);
      this.verdicts.delete(ack.seq);
      if (verdict === undefined) return { status: 'committed' };
      if (verdict.kind === 'replayed') return this.replayed(verdict.entry);
      return { status: 'conflict' };
    }
  }

  /**
   * Publishes a deletion on the context's subject; every node applies it in stream order. Once
   * this node has, the context's earlier messages are purged from the stream, so its data leaves
   * the stream too (and replicas rebuilt later never see it).
   */
  async deleteContext(clientId: string, contextId: string): Promise<ContextDeletion | undefined> {
    this.assertWhole();
    await this.catchUp();
    const subject = this.subject(clientId, contextId);
    if ((await this.getContext(clientId, contextId)) === undefined) {
      // Deleted already: if its last message is that deletion, purge what precedes it again (an
      // earlier purge may have failed, or its node stopped before it), then answer "not found".
      const head = await this.head(clientId, contextId);
      if (head !== undefined && head.headSeq === 0 && head.streamSeq > 0) await this.purge(subject, head.streamSeq);
      return undefined;
    }
    const part: Part = { c: clientId, x: contextId, p: 0, h: 0, t: Date.now(), u: [], k: [], d: newEpoch() };
    const { seq, result } = await this.publishRemoval(subject, part, 'deletion');
    await this.purge(subject, seq);
    return (result as ContextDeletion | undefined) ?? { clientId, contextId, incarnation: part.d!, units: 0, bytes: 0, positions: [] };
  }

  /** Publishes a trim on the context's subject; every node applies it in stream order. */
  async trimContext(clientId: string, contextId: string, firstSeq: number, keep: ReadonlySet<string>): Promise<ContextTrim | undefined> {
    this.assertWhole();
    await this.catchUp();
    const record = await this.getContext(clientId, contextId);
    if (record === undefined || Math.min(firstSeq, record.headSeq + 1) <= (record.firstSeq ?? 1)) return undefined;
    const part: Part = { c: clientId, x: contextId, p: 0, h: 0, t: Date.now(), u: [], k: [], f: firstSeq, keep: [...keep] };
    return (await this.publishRemoval(this.subject(clientId, contextId), part, 'trim')).result as ContextTrim | undefined;
  }

  /** Publishes a deletion or trim and waits until this node has applied it; answers what it did here. */
  private async publishRemoval(subject: string, part: Part, what: 'deletion' | 'trim'): Promise<{ seq: number; result: ContextDeletion | ContextTrim | undefined }> {
    const ack = await this.link.js.publish(subject, pack(part));
    try {
      await this.waitApplied(ack.seq, APPLY_WAIT_MS);
    } catch (err) {
      throw new EngramError('STORAGE_UNAVAILABLE', `the ${what} is in the shared log, but this node could not confirm it: ${(err as Error).message}`);
    }
    const result = this.removals.get(ack.seq);
    this.removals.delete(ack.seq);
    return { seq: ack.seq, result };
  }

  /** Removes a subject's messages before `seq` (the deletion message) from the stream. */
  private async purge(subject: string, seq: number): Promise<void> {
    try {
      await this.link.jsm.streams.purge(this.link.options.stream, { filter: subject, seq });
    } catch (err) {
      throw new EngramError(
        'STORAGE_UNAVAILABLE',
        `the context is deleted on every node, but its messages could not be purged from the stream yet (${(err as Error).message}); delete it again to purge them`,
      );
    }
  }

  async incarnation(clientId: string, contextId: string): Promise<string | undefined> {
    await this.stored();
    return this.replica.incarnation(clientId, contextId);
  }

  private async replayed(prior: IdempotencyEntry): Promise<ContextOutcome> {
    const json = (await this.readUnits(prior.clientId, prior.contextId, prior.seq, prior.seq))[0];
    if (json === undefined) throw new EngramError('STORAGE_UNAVAILABLE', `the unit of idempotency key ${JSON.stringify(prior.key)} is missing from this node's replica`);
    return { status: 'replayed', unit: { id: prior.id, seq: prior.seq, json } };
  }

  // ---- reading: all from the replica ---------------------------------------------------

  async getContext(clientId: string, contextId: string): Promise<ContextRecord | undefined> {
    await this.stored();
    return this.replica.getContext(clientId, contextId);
  }

  async listContexts(clientId: string, options: ContextListOptions): Promise<ContextRecord[]> {
    await this.stored();
    return this.replica.listContexts(clientId, options);
  }

  async readUnits(clientId: string, contextId: string, fromSeq: number, toSeq: number): Promise<string[]> {
    await this.stored();
    return this.replica.readUnits(clientId, contextId, fromSeq, toSeq);
  }

  async getUnit(clientId: string, id: string): Promise<string | undefined> {
    await this.stored();
    return this.replica.getUnit(clientId, id);
  }

  async locateUnit(clientId: string, id: string): Promise<UnitLocation | undefined> {
    await this.stored();
    return this.replica.locateUnit(clientId, id);
  }

  async getIdempotency(clientId: string, contextId: string, key: string): Promise<IdempotencyEntry | undefined> {
    await this.stored();
    return this.replica.getIdempotency(clientId, contextId, key);
  }

  async sweepIdempotency(now: number, max: number): Promise<number> {
    await this.stored();
    // By stream time, not this node's clock: a key is live or not for every node alike when a part is judged.
    return this.replica.sweepIdempotency(Math.min(now, this.appliedTime), max);
  }

  async lastPosition(): Promise<number> {
    return this.position;
  }

  async readByPosition(from: number, limit: number): Promise<PositionedUnit[]> {
    await this.stored();
    return this.replica.readByPosition(from, limit);
  }

  async unitsAt(positions: number[]): Promise<Array<string | undefined>> {
    await this.stored();
    return this.replica.unitsAt(positions);
  }

  async readSpace(clientId: string, from: number, scan: number): Promise<{ units: PositionedUnit[]; next: number }> {
    await this.stored();
    return this.replica.readSpace(clientId, from, scan);
  }

  async listSpaces(options: { after?: string; limit: number }): Promise<string[]> {
    await this.stored();
    return this.replica.listSpaces(options);
  }

  async spaceUsage(clientId: string): Promise<SpaceUsage> {
    await this.stored();
    return this.replica.spaceUsage(clientId);
  }

  // ---- projection snapshots: each node keeps its own, in its replica --------------------
  // A snapshot is a function of the context's units up to its seq, which every node's replica
  // holds alike, so a node's own snapshot is right for it; no cross-node traffic, and a replica
  // rebuilt from the stream starts without any (a full replay, then a new snapshot).

  async putSnapshot(clientId: string, contextId: string, snapshot: SnapshotRecord): Promise<void> {
    this.assertWhole();
    await this.replica.putSnapshot(clientId, contextId, snapshot);
  }

  async latestSnapshot(clientId: string, contextId: string, projection: string, atOrBelow: number): Promise<SnapshotRecord | undefined> {
    return this.replica.latestSnapshot(clientId, contextId, projection, atOrBelow);
  }

  async deleteSnapshots(clientId: string, contextId: string, only?: { projection: string; below: number }): Promise<number> {
    return this.replica.deleteSnapshots(clientId, contextId, only);
  }
}

function markOf(h: Head): string {
  return `${h.streamSeq},${h.headSeq},${h.version},${h.lastSeq}`;
}

function bytesOf(v: Float32Array): Uint8Array {
  return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
}

function vectorOf(b: Uint8Array): Float32Array {
  const out = new Float32Array(b.byteLength / 4);
  new Uint8Array(out.buffer).set(b);
  return out;
}
