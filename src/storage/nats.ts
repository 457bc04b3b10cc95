/**
 * The NATS side of the shared backend: one connection per node, used by the JetStream log and
 * the lock bucket, and the encoding of ids into subject tokens and bucket keys.
 */
import { readFileSync } from 'node:fs';
import {
  DeliverPolicy,
  DiscardPolicy,
  jetstream,
  jetstreamManager,
  JetStreamApiError,
  RetentionPolicy,
  StorageType,
  type ConsumerMessages,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  type StreamConfig,
  type StreamInfo,
} from '@nats-io/jetstream';
import { connect, credsAuthenticator, type NatsConnection } from '@nats-io/transport-node';

export interface NatsOptions {
  /** nats://host:port of one or more servers of the cluster. */
  servers: string[];
  /** A .creds file (JWT and NKey seed); empty for none. */
  credsFile: string;
  /** Name of the units stream; the lock bucket is named after it. */
  stream: string;
  /** Copies of every stream (3 in a cluster of 3 or more; 1 for a single test server). */
  replicas: number;
  /** How long units are kept; 0 keeps them for ever (a node that joins later needs them all). */
  maxAgeMs: number;
  /** How long a message id (an idempotency key) is remembered by the stream. */
  duplicateWindowMs: number;
  /** How long a JetStream request may take before it counts as failed. */
  requestTimeoutMs: number;
}

export class NatsLink {
  nc!: NatsConnection;
  js!: JetStreamClient;
  jsm!: JetStreamManager;

  constructor(readonly options: NatsOptions) {}

  /** Connects, then waits until the cluster answers JetStream requests (it has elected a meta leader). */
  async open(): Promise<void> {
    if (this.nc !== undefined) return;
    const creds = this.options.credsFile === '' ? undefined : credsAuthenticator(readFileSync(this.options.credsFile));
    this.nc = await connect({
      servers: this.options.servers,
      name: 'engram',
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      timeout: this.options.requestTimeoutMs,
      ...(creds === undefined ? {} : { authenticator: creds }),
    });
    this.js = jetstream(this.nc, { timeout: this.options.requestTimeoutMs });
    this.jsm = await retry(() => jetstreamManager(this.nc, { timeout: this.options.requestTimeoutMs }), 60);
  }

  /**
   * The stream `name`, made (file storage, `options.replicas` copies, limits retention) with
   * `config` if it does not exist; retried while a new cluster cannot answer yet.
   */
  ensureStream(name: string, config: Partial<StreamConfig>): Promise<StreamInfo> {
    return retry(async () => {
      try {
        return await this.jsm.streams.info(name);
      } catch {
        return this.jsm.streams.add({
          name,
          storage: StorageType.File,
          retention: RetentionPolicy.Limits,
          num_replicas: this.options.replicas,
          discard: DiscardPolicy.Old,
          ...config,
        });
      }
    }, 120);
  }

  async close(): Promise<void> {
    if (this.nc === undefined || this.nc.isClosed()) return;
    await this.nc.drain().catch(() => this.nc.close());
  }
}

/** How often an idle consumer hears from its server; two missed beats and it is made again. */
const HEARTBEAT_EXPIRES_MS = 4000;
/** How long after a consumer found serving a wrong copy of the stream it is made again. */
const VERIFY_RETRY_MS = 500;

/**
 * Reads a stream in order, from a sequence on, for as long as it runs: an ordered consumer that
 * is made again from the next unseen sequence whenever the connection moves to another server
 * (the old consumer lived on the server that went away) or its heartbeats stop.
 */
export class StreamFollower {
  /** Highest stream sequence handed to `onMessage`. */
  private seen: number;
  private messages: ConsumerMessages | undefined;
  /** The consumer whose messages count; one left behind by a restart may still deliver a few. */
  private generation = 0;
  private stopped = false;
  private restarting: Promise<void> | undefined;

  constructor(
    private readonly link: NatsLink,
    private readonly stream: string,
    /** Sequence of the first message wanted; 0 with `lastPerSubject`: each subject's last message. */
    from: number,
    private readonly onMessage: (m: JsMsg) => void,
    private readonly mode: { lastPerSubject?: boolean; contiguous?: boolean } = {},
  ) {
    this.seen = from - 1;
  }

  async start(): Promise<void> {
    await this.consume(true);
    void (async () => {
      for await (const s of this.link.nc.status()) {
        if (this.stopped) return;
        if (s.type === 'reconnect') void this.restart();
      }
    })();
  }

  private async consume(first: boolean): Promise<void> {
    const policy =
      first && this.mode.lastPerSubject === true
        ? { deliver_policy: DeliverPolicy.LastPerSubject }
        : this.seen > 0
          ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: this.seen + 1 }
          : { deliver_policy: DeliverPolicy.All };
    const consumer = await this.link.js.consumers.get(this.stream, policy);
    // Messages may arrive before consume() returns: the generation, not the returned object, says whose they are.
    const generation = ++this.generation;
    /** Held until the consumer's first message is found equal to the stream leader's copy, and while a gap is checked. */
    let held: JsMsg[] | undefined = [];
    let verified = false;
    /** A jump to this sequence was checked with the leader: the messages before it were deleted (a purge). */
    let gapTo = 0;
    const deliver = (m: JsMsg) => {
      if (m.seq <= this.seen || this.generation !== generation) return;
      if (held !== undefined) {
        held.push(m);
        return;
      }
      // Sequences are skipped only where messages were deleted (a context's purge): a skipped
      // sequence the leader still has was lost on the way, so read again from it.
      if (this.mode.contiguous === true && this.seen > 0 && m.seq !== this.seen + 1 && m.seq !== gapTo) {
        held = [m];
        void this.nextStored(this.seen + 1).then((next) => {
          if (this.generation !== generation) return;
          if (next !== m.seq) {
            void this.restart();
            return;
          }
          gapTo = m.seq;
          const waiting = held!;
          held = undefined;
          waiting.forEach(deliver);
        });
        return;
      }
      this.seen = m.seq;
      this.onMessage(m);
    };
    const messages = await consumer.consume({
      max_messages: 4096,
      expires: HEARTBEAT_EXPIRES_MS,
      callback: (m) => {
        if (verified) return deliver(m);
        held!.push(m);
        if (held!.length === 1)
          void this.verify(m, generation).then((same) => {
            if (this.generation !== generation) return;
            if (!same) {
              setTimeout(() => void this.restart(), VERIFY_RETRY_MS).unref();
              return;
            }
            const waiting = held!;
            held = undefined;
            verified = true;
            waiting.forEach(deliver);
          });
      },
    });
    this.messages = messages;
    void (async () => {
      for await (const s of await messages.status()) {
        if (this.stopped || this.generation !== generation) return;
        if (s.type === 'heartbeats_missed' || s.type === 'consumer_deleted' || s.type === 'consumer_not_found') void this.restart();
      }
    })();
  }

  /**
   * Whether a consumer's first message is the stream leader's message at that sequence. A NATS
   * server that was down and is still catching up can serve a consumer from its own copy of the
   * stream, and on nats-server 2.9 that copy was seen one message off (the content of sequence N
   * delivered as N+1): a node would then apply the wrong parts. Asked once per consumer; a copy
   * found off is left, and the consumer made again a moment later (elsewhere, or caught up).
   */
  private async verify(m: JsMsg, generation: number): Promise<boolean> {
    try {
      const leader = await this.link.jsm.streams.getMessage(this.stream, { seq: m.seq });
      return this.generation === generation && leader !== null && leader.subject === m.subject && Buffer.from(leader.data).equals(Buffer.from(m.data));
    } catch {
      return false;
    }
  }

  /** The sequence of the leader's first message at or after `seq` (undefined: none, or the leader did not answer). */
  private async nextStored(seq: number): Promise<number | undefined> {
    try {
      // The server's message-get takes `next_by_subj` with `seq` (nats-server 2.9 and later); the client's type does not list it.
      const m = await this.link.jsm.streams.getMessage(this.stream, { seq, next_by_subj: '>' } as unknown as { seq: number });
      return m?.seq;
    } catch {
      return undefined;
    }
  }

  /** Makes the consumer again from the next unseen sequence (one restart at a time). */
  private restart(): Promise<void> {
    this.restarting ??= (async () => {
      try {
        this.generation++;
        this.messages?.stop();
        this.messages = undefined;
        await retry(() => this.consume(false), 240);
      } catch {
        // The next reconnect or missed heartbeat tries again.
      } finally {
        this.restarting = undefined;
      }
    })();
    return this.restarting;
  }

  stop(): void {
    this.stopped = true;
    this.messages?.stop();
  }
}

/** Promises that resolve once a sequence has been reached (applied, seen), or reject after a time. */
export class SeqWaiters {
  private readonly waiters: Array<{ seq: number; resolve: () => void }> = [];

  /** Resolves once `reached(n)` is told of an n ≥ seq; `at()` says where things stand now. */
  wait(seq: number, at: () => number, ms: number, timeout: () => Error): Promise<void> {
    if (at() >= seq) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        const i = this.waiters.indexOf(waiter);
        if (i !== -1) this.waiters.splice(i, 1);
        reject(timeout());
      }, ms);
      timer.unref();
      const waiter = {
        seq,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      this.waiters.push(waiter);
    });
  }

  reached(n: number): void {
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      if (this.waiters[i]!.seq <= n) this.waiters.splice(i, 1)[0]!.resolve();
    }
  }
}

/**
 * Retries an operation a new cluster refuses until it is ready (no meta leader, no stream
 * leader yet): `tries` times, 250 ms apart.
 */
export async function retry<T>(op: () => Promise<T>, tries: number): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await op();
    } catch (err) {
      if (i >= tries) throw err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

/** JetStream's "wrong last sequence" refusal (error 10071), with the sequence the subject is really at. */
export function wrongLastSequence(err: unknown): number | undefined {
  if (!(err instanceof JetStreamApiError) || err.code !== 10071) return undefined;
  const m = /wrong last sequence: (\d+)/.exec(err.message);
  return m === null ? 0 : Number(m[1]);
}

/**
 * An id as one subject token or key segment: bytes outside [A-Za-z0-9_-] become =XX (hex). The
 * result is valid in subjects (no '.', '*', '>' or spaces) and in bucket keys, and reversible.
 */
export function encodeToken(id: string): string {
  let out = '';
  for (const b of Buffer.from(id, 'utf8')) {
    const safe = (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b === 0x5f || b === 0x2d;
    out += safe ? String.fromCharCode(b) : '=' + b.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

export function decodeToken(token: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < token.length; i++) {
    if (token[i] === '=') {
      bytes.push(parseInt(token.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(token.charCodeAt(i));
    }
  }
  return Buffer.from(bytes).toString('utf8');
}
