/**
 * Raw-socket clients for the ratio benchmark, as cheap as the raw HTTP one: a WebSocket
 * publisher (handshake, masked text frames out, server frames parsed only far enough to
 * find an ack's `"ref":N`) and a RESP client (one command at a time, replies read just far
 * enough to know where they end). Every system is written to by the same kind of client.
 */
import net from 'node:net';

function connectSocket(port: number): Promise<net.Socket> {
  const socket = net.connect(port, '127.0.0.1');
  socket.setNoDelay(true);
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Publishes units over one WebSocket and resolves each when the frame acking its ref arrives. */
export class RawWsPublisher {
  private buffer: Buffer = Buffer.alloc(0);
  private upgraded = false;
  private readonly waiting = new Map<number, () => void>();
  private ref = 0;
  private readonly mask = Buffer.from([0x12, 0x34, 0x56, 0x78]);

  private constructor(private readonly socket: net.Socket) {
    socket.on('data', (d: Buffer) => this.onData(d));
  }

  static async open(port: number, path = '/stream'): Promise<RawWsPublisher> {
    const socket = await connectSocket(port);
    const p = new RawWsPublisher(socket);
    const upgraded = new Promise<void>((resolve) => (p.onUpgrade = resolve));
    socket.write(
      `GET ${path} HTTP/1.1\r\nHost: bench\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ZW5ncmFtLWJlbmNoLWtleQ==\r\n\r\n`,
    );
    await upgraded;
    return p;
  }

  private onUpgrade: () => void = () => undefined;

  /** Sends `json` (a unit with `"ref":` left for this client to fill) and waits for its ack. */
  publish(unitWithoutRef: string): Promise<void> {
    const ref = this.ref++;
    const text = Buffer.from(`{"op":"publish","ref":${ref},${unitWithoutRef.slice(1)}`);
    return new Promise((resolve) => {
      this.waiting.set(ref, resolve);
      this.socket.write(this.frame(text));
    });
  }

  private frame(payload: Buffer): Buffer {
    const len = payload.length;
    const head = len < 126 ? Buffer.from([0x81, 0x80 | len]) : Buffer.from([0x81, 0x80 | 126, len >> 8, len & 0xff]);
    const out = Buffer.allocUnsafe(head.length + 4 + len);
    head.copy(out, 0);
    this.mask.copy(out, head.length);
    const at = head.length + 4;
    for (let i = 0; i < len; i++) out[at + i] = payload[i]! ^ this.mask[i & 3]!;
    return out;
  }

  private onData(d: Buffer): void {
    this.buffer = this.buffer.length === 0 ? d : Buffer.concat([this.buffer, d]);
    if (!this.upgraded) {
      const end = this.buffer.indexOf('\r\n\r\n');
      if (end === -1) return;
      this.upgraded = true;
      this.buffer = this.buffer.subarray(end + 4);
      this.onUpgrade();
    }
    for (;;) {
      if (this.buffer.length < 2) return;
      let len = this.buffer[1]! & 0x7f;
      let at = 2;
      if (len === 126) {
        if (this.buffer.length < 4) return;
        len = this.buffer.readUInt16BE(2);
        at = 4;
      } else if (len === 127) {
        if (this.buffer.length < 10) return;
        len = Number(this.buffer.readBigUInt64BE(2));
        at = 10;
      }
      if (this.buffer.length < at + len) return;
      const payload = this.buffer.toString('latin1', at, at + len);
      this.buffer = this.buffer.subarray(at + len);
      const m = /"event":"ack".*?"ref":(\d+)|"ref":(\d+).*?"event":"ack"/.exec(payload);
      if (m) {
        const ref = Number(m[1] ?? m[2]);
        this.waiting.get(ref)?.();
        this.waiting.delete(ref);
      }
    }
  }

  close(): void {
    this.socket.destroy();
  }
}

/** One RESP command at a time; resolves with the reply's first line. */
export class RawRedis {
  private buffer: Buffer = Buffer.alloc(0);
  private pending: ((line: string) => void) | undefined;

  private constructor(private readonly socket: net.Socket) {
    socket.on('data', (d: Buffer) => this.onData(d));
  }

  static async open(port: number): Promise<RawRedis> {
    return new RawRedis(await connectSocket(port));
  }

  command(...args: string[]): Promise<string> {
    let out = `*${args.length}\r\n`;
    for (const a of args) out += `$${Buffer.byteLength(a)}\r\n${a}\r\n`;
    return new Promise((resolve) => {
      this.pending = resolve;
      this.socket.write(out);
    });
  }

  /** Replies of XADD (a bulk string) and PUBLISH (an integer): one header line, maybe one bulk. */
  private onData(d: Buffer): void {
    this.buffer = this.buffer.length === 0 ? d : Buffer.concat([this.buffer, d]);
    const eol = this.buffer.indexOf('\r\n');
    if (eol === -1) return;
    const line = this.buffer.toString('latin1', 0, eol);
    let end = eol + 2;
    if (line.startsWith('$')) {
      const n = Number(line.slice(1));
      if (n >= 0) end += n + 2;
      if (this.buffer.length < end) return;
    }
    this.buffer = this.buffer.subarray(end);
    const p = this.pending;
    this.pending = undefined;
    if (line.startsWith('-')) throw new Error(`redis: ${line}`);
    p?.(line);
  }

  close(): void {
    this.socket.destroy();
  }
}
