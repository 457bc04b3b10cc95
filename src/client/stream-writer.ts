/**
 * Writes over one WebSocket: the `publish` op of docs/streaming.md, each answered by an `ack` or
 * an `error` with its `ref`. Cheaper per write than an HTTP request (no request line and headers
 * to build and parse each time), so a client that writes one unit after another, such as a
 * checkpoint saver at every step of a graph, spends less of its time on the way.
 *
 * The socket opens with the first write and is kept; while no write is waiting it does not keep
 * the process alive. When it closes, the writes waiting on it fail with UNAVAILABLE (whether they
 * were stored is unknown: a write that must happen once carries an idempotency key), and the next
 * write opens a new one. Each socket keeps its own waiting writes, so a socket closing late never
 * fails a write sent on the one after it.
 */
import WebSocket from 'ws';
import { EngramClientError } from './errors.js';
import type { TlsOptions } from './tls.js';
import type { NewWorkUnit } from './types.js';

export interface Published {
  id: string;
  seq: number;
  /** True when an idempotency key matched an earlier write. */
  replayed: boolean;
}

interface Waiting {
  resolve(p: Published): void;
  reject(err: EngramClientError): void;
  timer: NodeJS.Timeout;
}

interface ServerFrame {
  event: string;
  ref?: number;
  id?: string;
  seq?: number;
  replayed?: boolean;
  error?: { code: string; message: string; details?: Record<string, unknown> };
}

/** One socket and the writes waiting on it. */
class Connection {
  readonly ws: WebSocket;
  readonly opened: Promise<void>;
  private readonly waiting = new Map<number, Waiting>();
  private nextRef = 1;
  private isOpen = false;

  constructor(url: string, headers: Record<string, string>, tls: TlsOptions | undefined, onClosed: (c: Connection) => void) {
    this.ws = new WebSocket(url, ['engram.json'], { headers, ...tls });
    this.opened = new Promise<void>((resolve, reject) => {
      this.ws.once('open', () => {
        this.isOpen = true;
        this.hold();
        resolve();
      });
      this.ws.once('unexpected-response', (_req, res) => {
        // A refused upgrade answers with a JSON error, as HTTP would.
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => {
          let e: ServerFrame['error'];
          try {
            e = (JSON.parse(body) as { error?: ServerFrame['error'] }).error;
          } catch {
            e = undefined;
          }
          reject(new EngramClientError(e?.code ?? 'UNAVAILABLE', e?.message ?? `publish: upgrade refused with HTTP ${res.statusCode}`, res.statusCode, e?.details));
          this.ws.terminate();
        });
      });
      // Kept for the socket's life: an 'error' without a listener would throw.
      this.ws.on('error', (err) => reject(new EngramClientError('UNAVAILABLE', `publish: ${err.message}`, undefined, undefined, { cause: err })));
      this.ws.once('close', () => reject(new EngramClientError('UNAVAILABLE', 'publish: the connection closed before it opened', undefined)));
    });
    this.opened.catch(() => undefined); // told to the publishes that wait on it
    this.ws.on('message', (data: Buffer) => {
      let frame: ServerFrame;
      try {
        frame = JSON.parse(data.toString()) as ServerFrame;
      } catch {
        return;
      }
      if (typeof frame.ref !== 'number') return;
      if (frame.event === 'ack') this.settle(frame.ref, { id: frame.id!, seq: frame.seq!, replayed: frame.replayed === true });
      else if (frame.event === 'error')
        this.settle(frame.ref, new EngramClientError(frame.error?.code ?? 'INTERNAL', frame.error?.message ?? 'publish failed', undefined, frame.error?.details));
    });
    this.ws.once('close', () => {
      this.isOpen = false;
      onClosed(this);
      for (const ref of [...this.waiting.keys()])
        this.settle(ref, new EngramClientError('UNAVAILABLE', 'publish: the connection closed before the answer; the write may or may not be stored', undefined));
    });
  }

  send(unit: NewWorkUnit, timeoutMs: number): Promise<Published> {
    const ref = this.nextRef++;
    return new Promise<Published>((resolve, reject) => {
      const timer = setTimeout(
        () => this.settle(ref, new EngramClientError('UNAVAILABLE', `publish: no answer in ${timeoutMs} ms; the write may or may not be stored`, undefined)),
        timeoutMs,
      );
      this.waiting.set(ref, { resolve, reject, timer });
      this.hold();
      this.ws.send(JSON.stringify({ ...unit, op: 'publish', ref }), (err) => {
        if (err) this.settle(ref, new EngramClientError('UNAVAILABLE', `publish: ${err.message}`, undefined, undefined, { cause: err }));
      });
    });
  }

  private settle(ref: number, outcome: Published | EngramClientError): void {
    const w = this.waiting.get(ref);
    if (w === undefined) return;
    this.waiting.delete(ref);
    clearTimeout(w.timer);
    if (outcome instanceof EngramClientError) w.reject(outcome);
    else w.resolve(outcome);
    this.hold();
  }

  /** An idle socket must not keep the process alive; one with writes waiting must. */
  private hold(): void {
    if (!this.isOpen) return;
    // ws has no ref/unref of its own: its underlying TCP socket has.
    const tcp = (this.ws as unknown as { _socket?: { ref(): void; unref(): void } })._socket;
    if (this.waiting.size > 0) tcp?.ref();
    else tcp?.unref();
  }
}

export class StreamWriter {
  private current: Connection | undefined;

  constructor(
    private readonly url: string,
    private readonly headers: Record<string, string>,
    private readonly timeoutMs: number,
    private readonly tls?: TlsOptions,
  ) {}

  async publish(unit: NewWorkUnit): Promise<Published> {
    const c = (this.current ??= new Connection(this.url, this.headers, this.tls, (closed) => {
      if (this.current === closed) this.current = undefined;
    }));
    await c.opened;
    return c.send(unit, this.timeoutMs);
  }

  /** Closes the socket, open or opening; the next publish opens another. */
  close(): void {
    const c = this.current;
    this.current = undefined;
    c?.ws.terminate();
  }
}
