/** A WebSocket test client (the `ws` package) that queues frames and waits for them with timeouts. */
import { unpack } from 'msgpackr';
import WebSocket from 'ws';
import { WAIT_MS, Watcher, withTimeout } from './wait.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type ServerFrame = Record<string, any>;

export class WsClient {
  readonly ws: WebSocket;
  readonly frames: ServerFrame[] = [];
  readonly raw: Array<{ data: Buffer; binary: boolean }> = [];
  closed: { code: number; reason: string } | undefined;
  private readonly opened: Promise<void>;
  private readonly watcher = new Watcher();

  /** `options`: the ws client's others, such as ca, cert and key for a wss:// URL. */
  constructor(url: string, protocols?: string[], headers?: Record<string, string>, options: WebSocket.ClientOptions = {}) {
    this.ws = new WebSocket(url, protocols, { ...options, headers });
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
      this.ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
    });
    this.ws.on('message', (data: Buffer, binary: boolean) => {
      this.raw.push({ data, binary });
      this.frames.push(binary ? (unpack(data) as ServerFrame) : (JSON.parse(data.toString()) as ServerFrame));
      this.notify();
    });
    this.ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      this.notify();
    });
    this.ws.on('error', () => undefined);
  }

  private notify(): void {
    this.watcher.notify();
  }

  open(): Promise<void> {
    return withTimeout(this.opened, WAIT_MS, 'WebSocket open');
  }

  send(op: unknown): void {
    this.ws.send(JSON.stringify(op));
  }

  /** Resolves once `check` holds (checked on every frame and on close), or rejects after `ms`. */
  until(check: () => boolean, ms = WAIT_MS, what = 'frames'): Promise<void> {
    return this.watcher.until(check, ms, what);
  }

  /** The first frame matching, waiting for it if needed. */
  async next(match: (f: ServerFrame) => boolean, ms = WAIT_MS): Promise<ServerFrame> {
    await this.until(() => this.frames.some(match), ms, 'a matching frame');
    return this.frames.find(match)!;
  }

  /** Seqs of the workunit frames of one context, in arrival order. */
  seqs(contextId: string): number[] {
    return this.frames.filter((f) => f.event === 'workunit' && f.workUnit.contextId === contextId).map((f) => f.workUnit.seq as number);
  }

  /** Waits for one seq; fails at once, naming the close, if the server closes the socket first. */
  async untilSeq(contextId: string, seq: number, ms = WAIT_MS): Promise<void> {
    const has = () => this.seqs(contextId).includes(seq);
    try {
      await this.until(() => has() || this.closed !== undefined, ms, `${contextId} seq ${seq}`);
    } catch (err) {
      const got = this.seqs(contextId);
      throw new Error(`${(err as Error).message} (${got.length} units arrived, the last seq ${got.at(-1) ?? 'none'})`);
    }
    if (!has()) throw new Error(`closed (${this.closed!.code} ${this.closed!.reason}) before ${contextId} seq ${seq}; the last seq was ${this.seqs(contextId).at(-1) ?? 'none'}`);
  }

  untilClosed(ms = WAIT_MS): Promise<{ code: number; reason: string }> {
    return this.until(() => this.closed !== undefined, ms, 'close').then(() => this.closed!);
  }

  close(): void {
    this.ws.terminate();
  }
}

export const range = (from: number, to: number) => Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);
