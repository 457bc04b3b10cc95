/**
 * Cheap stream subscribers for fan-out benchmarks: raw TCP sockets that do the
 * WebSocket handshake (or an SSE GET) and then only scan incoming bytes for unit
 * markers `#U000123#`, recording when each marker first arrives. No frame parsing,
 * no JSON: the measuring side must cost less than the server's fan-out.
 */
import net from 'node:net';
import { nowUs } from './stats.js';

const MARK = Buffer.from('#U');
const DIGITS = 6;

export function marker(n: number): string {
  return `#U${String(n).padStart(DIGITS, '0')}#`;
}

export class ArrivalBoard {
  /** Latest arrival (µs) of each unit across all subscribers: the slowest recipient. */
  readonly latest: Float64Array;
  readonly counts: Uint32Array;

  constructor(units: number) {
    this.latest = new Float64Array(units);
    this.counts = new Uint32Array(units);
  }

  record(n: number, t: number): void {
    if (n >= this.latest.length) return;
    this.counts[n]!++;
    if (t > this.latest[n]!) this.latest[n] = t;
  }

  /** Units received by all `subscribers`. */
  complete(subscribers: number): number {
    let c = 0;
    for (const x of this.counts) if (x >= subscribers) c++;
    return c;
  }
}

export class RawSubscriber {
  private readonly socket: net.Socket;
  private carry: Buffer = Buffer.alloc(0);
  private headerDone = false;
  readonly ready: Promise<void>;

  constructor(port: number, path: string, kind: 'ws' | 'sse', board: ArrivalBoard) {
    this.socket = net.connect(port, '127.0.0.1');
    this.socket.setNoDelay(true);
    let resolveReady!: () => void;
    let rejectReady!: (e: Error) => void;
    this.ready = new Promise((res, rej) => {
      resolveReady = res;
      rejectReady = rej;
    });
    this.socket.on('connect', () => {
      const head =
        kind === 'ws'
          ? `GET ${path} HTTP/1.1\r\nHost: bench\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ZW5ncmFtLWJlbmNoLWtleQ==\r\n\r\n`
          : `GET ${path} HTTP/1.1\r\nHost: bench\r\nAccept: text/event-stream\r\n\r\n`;
      this.socket.write(head);
    });
    this.socket.on('error', rejectReady);
    this.socket.on('data', (chunk: Buffer) => {
      const t = nowUs();
      let data: Buffer = this.carry.length > 0 ? Buffer.concat([this.carry, chunk]) : chunk;
      if (!this.headerDone) {
        const end = data.indexOf('\r\n\r\n');
        if (end === -1) {
          this.carry = data;
          return;
        }
        const status = data.toString('latin1', 9, 12);
        if (status !== '101' && status !== '200') {
          rejectReady(new Error(`subscribe refused: ${data.toString('latin1', 0, end)}`));
          return;
        }
        this.headerDone = true;
        resolveReady();
        data = data.subarray(end + 4);
      }
      let i = data.indexOf(MARK);
      let consumed = 0;
      while (i !== -1) {
        if (i + 2 + DIGITS > data.length) break; // marker split across chunks
        let n = 0;
        for (let d = 0; d < DIGITS; d++) n = n * 10 + (data[i + 2 + d]! - 48);
        board.record(n, t);
        consumed = i + 2 + DIGITS;
        i = data.indexOf(MARK, consumed);
      }
      const keepFrom = Math.max(consumed, data.length - (2 + DIGITS));
      this.carry = Buffer.from(data.subarray(keepFrom));
    });
  }

  close(): void {
    this.socket.destroy();
  }
}
