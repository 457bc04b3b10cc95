/**
 * Presence messages between nodes on core NATS (streams/presence-sync.ts decides what they say):
 * a member's change in a context on `<stream>.presence.<space>.<context>`, a node's state, hello
 * and bye on `<stream>.presence.<node>`, ids encoded as subject tokens like the units' subjects
 * (nats.ts encodeToken). Not in the stream: the units stream takes `<stream>.u.>` only, so
 * presence is fire-and-forget and never stored.
 */
import type { Subscription } from '@nats-io/transport-node';
import { encodeToken, type NatsLink } from './nats.js';

/**
 * Longest subject used: a server refuses a protocol line over its max_control_line (4 KiB by
 * default) and closes the connection, which the log shares. A change whose ids would make a longer
 * subject goes on the node's subject instead (the message names its context either way).
 */
const MAX_SUBJECT = 1024;
/** Longest a stopping node waits for its bye to be sent. */
const FLUSH_WAIT_MS = 1000;

export class NatsPresenceChannel {
  private readonly prefix: string;
  private sub: Subscription | undefined;

  constructor(private readonly link: NatsLink) {
    this.prefix = `${link.options.stream}.presence`;
  }

  publishChange(space: string, contextId: string, data: Uint8Array): void {
    const subject = `${this.prefix}.${encodeToken(space)}.${encodeToken(contextId)}`;
    if (subject.length <= MAX_SUBJECT) this.publish(subject, data);
    else this.publish(`${this.prefix}._`, data);
  }

  publishNode(nodeId: string, data: Uint8Array): void {
    this.publish(`${this.prefix}.${encodeToken(nodeId)}`, data);
  }

  listen(handler: (data: Uint8Array) => void): void {
    // One subscription for both kinds of subject: messages of one node arrive in the order it sent them.
    this.sub = this.link.nc.subscribe(`${this.prefix}.>`, {
      callback: (err, msg) => {
        if (err === null) handler(msg.data);
      },
    });
  }

  async close(): Promise<void> {
    const nc = this.link.nc;
    if (nc === undefined || nc.isClosed()) return;
    // The bye goes out before the subscription ends (and before the log drains the connection); a
    // connection that is down (reconnecting) is not waited for: the others expire this node instead.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([nc.flush().catch(() => undefined), new Promise((r) => (timer = setTimeout(r, FLUSH_WAIT_MS)))]);
    clearTimeout(timer);
    this.sub?.unsubscribe();
  }

  /** A connection that is down (reconnecting) buffers; one closed drops the message: the next state repairs. */
  private publish(subject: string, data: Uint8Array): void {
    const nc = this.link.nc;
    if (nc === undefined || nc.isClosed()) return;
    try {
      nc.publish(subject, data);
    } catch {
      // Closed or draining meanwhile: presence is best-effort between states.
    }
  }
}
