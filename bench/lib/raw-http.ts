/**
 * A deliberately cheap HTTP/1.1 client for load generation: one keep-alive socket,
 * requests pre-encoded as bytes (pipelined when several are outstanding), responses
 * parsed only far enough to find the status and the end of the body. It keeps the
 * measuring side from being the bottleneck on a 2-core machine.
 *
 * uWS closes keep-alive connections idle for 10 s; a connection closed while it had
 * nothing outstanding is reopened on its next request.
 */
import net from 'node:net';

export interface RawResponse {
  status: number;
  body: Buffer;
}

interface Pending {
  resolve: (r: RawResponse) => void;
  reject: (e: Error) => void;
}

export class RawHttpConnection {
  private socket!: net.Socket;
  private buffer: Buffer = Buffer.alloc(0);
  private readonly pending: Pending[] = [];
  ready!: Promise<void>;

  constructor(
    private readonly port: number,
    private readonly host = '127.0.0.1',
  ) {
    this.open();
  }

  private open(): void {
    const socket = net.connect(this.port, this.host);
    this.socket = socket;
    this.buffer = Buffer.alloc(0);
    socket.setNoDelay(true);
    this.ready = new Promise((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    this.ready.catch(() => undefined);
    socket.on('data', (d) => this.onData(d));
    this.chunks = [];
    this.chunked = 0;
    this.needed = 0;
    socket.on('error', (e) => this.failAll(e));
    socket.on('close', () => this.failAll(new Error('connection closed')));
  }

  request(bytes: Buffer): Promise<RawResponse> {
    if (this.socket.destroyed && this.pending.length === 0) this.open();
    return new Promise((resolve, reject) => {
      this.pending.push({ resolve, reject });
      this.socket.write(bytes);
    });
  }

  private failAll(e: Error): void {
    for (const p of this.pending.splice(0)) p.reject(e);
  }

  /**
   * Chunks of a response not complete yet are kept in a list and joined once it is (a 200 kB
   * answer arrives in many chunks: joining at each one copied it over and over, which made this
   * client, not the server, the cost of a large answer).
   */
  private chunks: Buffer[] = [];
  private chunked = 0;
  /** Bytes the response being read needs in all (head + body), once its head is in; 0 before. */
  private needed = 0;

  private onData(d: Buffer): void {
    if (this.needed > 0 || this.chunks.length > 0) {
      this.chunks.push(d);
      this.chunked += d.length;
      if (this.needed === 0 || this.chunked < this.needed) {
        if (this.needed === 0) this.gather();
        if (this.needed === 0 || this.chunked < this.needed) return;
      }
      d = Buffer.concat(this.chunks, this.chunked);
      this.chunks = [];
      this.chunked = 0;
      this.needed = 0;
    } else if (this.buffer.length > 0) d = Buffer.concat([this.buffer, d]);
    this.buffer = d;
    for (;;) {
      const headEnd = this.buffer.indexOf('\r\n\r\n');
      if (headEnd === -1) return this.keep();
      const head = this.buffer.toString('latin1', 0, headEnd);
      const m = /\r\ncontent-length: *(\d+)/i.exec(head);
      const length = m ? Number(m[1]) : 0;
      if (this.buffer.length < headEnd + 4 + length) {
        this.needed = headEnd + 4 + length;
        return this.keep();
      }
      const status = Number(head.slice(9, 12));
      const body = this.buffer.subarray(headEnd + 4, headEnd + 4 + length);
      this.buffer = this.buffer.subarray(headEnd + 4 + length);
      this.pending.shift()?.resolve({ status, body });
      if (this.buffer.length === 0) return;
    }
  }

  /** Keeps what is in `buffer` as the first chunk of the response being read. */
  private keep(): void {
    this.chunks = [this.buffer];
    this.chunked = this.buffer.length;
    this.buffer = Buffer.alloc(0);
  }

  /** With only part of a head in, looks for its end in the chunks so far. */
  private gather(): void {
    const joined = Buffer.concat(this.chunks, this.chunked);
    const headEnd = joined.indexOf('\r\n\r\n');
    if (headEnd === -1) {
      this.chunks = [joined];
      return;
    }
    const m = /\r\ncontent-length: *(\d+)/i.exec(joined.toString('latin1', 0, headEnd));
    this.needed = headEnd + 4 + (m ? Number(m[1]) : 0);
    this.chunks = [joined];
  }

  close(): void {
    this.socket.destroy();
  }
}

export function postJson(path: string, body: string, headers = ''): Buffer {
  return Buffer.from(`POST ${path} HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n${headers}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
}

export function get(path: string): Buffer {
  return Buffer.from(`GET ${path} HTTP/1.1\r\nHost: bench\r\n\r\n`);
}
