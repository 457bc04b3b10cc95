/**
 * Presence across nodes of a shared deployment. Each node tells the others what it has, over a
 * message channel (core NATS on the nats backend, storage/presence-nats.ts): each change of its
 * own counts as it happens, and every `intervalMs` its full state (split into parts of at most
 * STATE_PART entries or STATE_PART_BYTES). A node that starts says hello, and the others answer
 * with their state at once, so a restarted node converges without waiting an interval. A node that stops says bye;
 * one that vanishes (killed, cut off) is forgotten when nothing was heard from it for
 * EXPIRY_INTERVALS intervals, and its members leave.
 *
 * Messages carry absolute counts, so one that is lost or repeated heals with the next state.
 * A full state round replaces what it covers: an entry of that node not in it, and not changed
 * since the round began, is gone. Messages are JSON, so `nats sub 'ENGRAM.presence.>'` shows them.
 */
import type { LocalEntry, Presence } from './presence.js';

/** Where presence messages travel between nodes. */
export interface PresenceChannel {
  /** A change of one member in one context (published on a subject of that context). */
  publishChange(space: string, contextId: string, data: Uint8Array): void;
  /** A message of the node as a whole: state, hello, bye. */
  publishNode(nodeId: string, data: Uint8Array): void;
  /** Hears every presence message, this node's own included. */
  listen(handler: (data: Uint8Array) => void): void;
  /** Sends what was published, then stops listening. */
  close(): Promise<void>;
}

export interface PresenceSyncOptions {
  /** How often the full state is published. */
  intervalMs: number;
  /** This node's id; random by default (a restarted node is a new node). */
  nodeId?: string;
  /** Told about a message that could not be read (for the operator's log). */
  onBadMessage?: (err: unknown) => void;
}

/** A node silent for this many intervals is gone. */
export const EXPIRY_INTERVALS = 3;
/**
 * Most entries per state message, and most bytes of entries: a NATS message is at most 1 MiB by
 * default, an entry is ~100 bytes, but one of four 256-character ids may be a few KiB.
 */
const STATE_PART = 2000;
const STATE_PART_BYTES = 256 * 1024;

type Row = [space: string, contextId: string, clientId: string, agentId: string | null, connections: number, since: number];

type Message =
  | { kind: 'change'; node: string; round: number; entry: Row }
  | { kind: 'state'; node: string; round: number; part: number; parts: number; entries: Row[] }
  | { kind: 'hello'; node: string }
  | { kind: 'bye'; node: string };

interface Peer {
  /** performance.now() of its last message: a clock that no wall-clock step moves. */
  lastHeard: number;
  /** The state round being received, and how many of its parts arrived. */
  round: number;
  partsSeen: number;
  /** Each entry it reported, with the round it was last reported in. */
  entries: Map<string, { entry: LocalEntry; round: number }>;
}

const toRow = (e: LocalEntry): Row => [e.space, e.contextId, e.clientId, e.agentId, e.connections, e.since];
const fromRow = (r: Row): LocalEntry => ({ space: r[0], contextId: r[1], clientId: r[2], agentId: r[3], connections: r[4], since: r[5] });
const rowKey = (r: Row): string => JSON.stringify([r[0], r[1], r[2], r[3]]);

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class PresenceSync {
  readonly nodeId: string;
  private readonly peers = new Map<string, Peer>();
  private round = 0;
  private timer: NodeJS.Timeout | undefined;
  private stateDue = false;
  private stopped = false;
  private unlisten: (() => void) | undefined;
  private lastTick = performance.now();

  constructor(
    private readonly presence: Presence,
    private readonly channel: PresenceChannel,
    private readonly options: PresenceSyncOptions,
  ) {
    this.nodeId = options.nodeId ?? globalThis.crypto.randomUUID().replaceAll('-', '').slice(0, 16);
  }

  /** Starts listening, says hello (the others answer with their state) and publishes state every interval. */
  start(): void {
    this.channel.listen((data) => this.received(data));
    this.unlisten = this.presence.onLocal((entry) => {
      if (!this.stopped) this.channel.publishChange(entry.space, entry.contextId, this.encode({ kind: 'change', node: this.nodeId, round: this.round, entry: toRow(entry) }));
    });
    this.send({ kind: 'hello', node: this.nodeId });
    this.publishState();
    this.lastTick = performance.now();
    this.timer = setInterval(() => {
      this.publishState();
      this.expire();
    }, this.options.intervalMs);
    this.timer.unref();
  }

  /** Says bye (the others drop this node's members at once) and stops. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.timer);
    this.unlisten?.();
    this.send({ kind: 'bye', node: this.nodeId });
    await this.channel.close();
    for (const node of [...this.peers.keys()]) this.forget(node);
  }

  /** The nodes heard from lately, by id (for tests and health). */
  peerIds(): string[] {
    return [...this.peers.keys()];
  }

  private publishState(): void {
    if (this.stopped) return;
    this.stateDue = false;
    const round = ++this.round;
    const chunks: Row[][] = [[]];
    let bytes = 0;
    for (const entry of this.presence.localEntries()) {
      const row = toRow(entry);
      const size = encoder.encode(JSON.stringify(row)).length;
      let chunk = chunks[chunks.length - 1]!;
      if (chunk.length > 0 && (chunk.length === STATE_PART || bytes + size > STATE_PART_BYTES)) {
        chunks.push((chunk = []));
        bytes = 0;
      }
      chunk.push(row);
      bytes += size;
    }
    chunks.forEach((entries, part) => this.send({ kind: 'state', node: this.nodeId, round, part, parts: chunks.length, entries }));
  }

  private send(m: Message): void {
    this.channel.publishNode(this.nodeId, this.encode(m));
  }

  private encode(m: Message): Uint8Array {
    return encoder.encode(JSON.stringify(m));
  }

  private received(data: Uint8Array): void {
    if (this.stopped) return;
    let m: Message;
    try {
      m = JSON.parse(decoder.decode(data)) as Message;
      if (typeof m !== 'object' || m === null || typeof m.node !== 'string') throw new Error('not a presence message');
    } catch (err) {
      this.options.onBadMessage?.(err);
      return;
    }
    if (m.node === this.nodeId) return;
    if (m.kind === 'bye') {
      this.forget(m.node);
      return;
    }
    let peer = this.peers.get(m.node);
    if (peer === undefined) this.peers.set(m.node, (peer = { lastHeard: 0, round: 0, partsSeen: 0, entries: new Map() }));
    peer.lastHeard = performance.now();
    switch (m.kind) {
      case 'hello':
        // Answered on the next turn: several nodes starting together get one state.
        if (!this.stateDue) {
          this.stateDue = true;
          setImmediate(() => this.stateDue && this.publishState());
        }
        return;
      case 'change':
        this.apply(m.node, peer, m.entry, m.round);
        return;
      case 'state':
        if (m.round !== peer.round) {
          peer.round = m.round;
          peer.partsSeen = 0;
        }
        for (const row of m.entries) this.apply(m.node, peer, row, m.round);
        if (++peer.partsSeen === m.parts) {
          // The whole round arrived: what it did not mention (and nothing changed since it began) is gone.
          for (const [key, held] of peer.entries) {
            if (held.round < m.round) {
              peer.entries.delete(key);
              this.presence.setRemote(m.node, { ...held.entry, connections: 0 });
            }
          }
        }
        return;
    }
  }

  private apply(node: string, peer: Peer, row: Row, round: number): void {
    const entry = fromRow(row);
    const key = rowKey(row);
    if (entry.connections > 0) peer.entries.set(key, { entry, round });
    else peer.entries.delete(key);
    this.presence.setRemote(node, entry);
  }

  /**
   * Forgets nodes not heard from for EXPIRY_INTERVALS intervals. A late tick means this process
   * was not running (a long pause): the others' messages may be waiting unread, so nobody is
   * blamed for that silence on this tick.
   */
  private expire(): void {
    const now = performance.now();
    const late = now - this.lastTick > 2 * this.options.intervalMs;
    this.lastTick = now;
    if (late) return;
    const deadline = now - EXPIRY_INTERVALS * this.options.intervalMs;
    for (const [node, peer] of this.peers) if (peer.lastHeard < deadline) this.forget(node);
  }

  private forget(node: string): void {
    const peer = this.peers.get(node);
    if (peer === undefined) return;
    this.peers.delete(node);
    for (const { entry } of peer.entries.values()) this.presence.setRemote(node, { ...entry, connections: 0 });
  }
}
