/** What the fuzzer's interface modules share: the input type, nasty values, answer checks and a raw socket exchange. */
import net from 'node:net';
import type { EngramGrpc } from '../../helpers/grpc.js';
import type { HttpClient } from '../../helpers/http.js';
import type { seeded } from '../../helpers/seeded.js';

export type Rng = ReturnType<typeof seeded>;

/** The ack key of a unit: `contextId:seq`. */
export const unitKey = (u: { contextId?: unknown; seq?: unknown } | undefined): string[] => (u ? [`${String(u.contextId)}:${String(u.seq)}`] : []);

export interface FuzzTarget {
  port: number;
  grpcPort: number;
  http: HttpClient;
  grpc: EngramGrpc;
  codes: Set<string>;
}

/** One input's outcome: how it was answered, units it got acknowledged, and what was wrong with the answer. */
export interface Outcome {
  /** An HTTP status, `grpc:<code>`, `ws:<close code>`, `h2:<last frame>` or `closed`. */
  answer: string;
  /** Units it got acknowledged as new, as `contextId:seq`. */
  acked?: string[];
  /** Ended by the safety timeout (never the normal path). */
  timedOut?: boolean;
  failure?: string;
}

/** A generous bound on one input; reaching it is counted and reported, it is not how inputs end. */
export const SAFETY_MS = Number(process.env.ENGRAM_FUZZ_SAFETY_MS ?? 10_000);

export const NASTY_STRINGS = [
  '',
  ' ',
  '\u0000',
  'a\u0001b',
  '\uD800',
  '../../etc/passwd',
  '%2e%2e%2f',
  'x'.repeat(300),
  'x'.repeat(70_000),
  '🙂',
  '\\',
  '<script>',
  'null',
  '{}',
  '0',
  '-1',
  '1e309',
];
export const NASTY_VALUES: unknown[] = [null, true, false, 0, -1, 1.5, 2 ** 53 + 1, 1e308, [], {}, [[[[[]]]]], { a: { b: { c: {} } } }, ...NASTY_STRINGS];
export const TYPES = ['MESSAGE', 'REASONING', 'TOOL_CALL', 'TOOL_RESULT', 'FILE_CHANGE', 'TASK_STATUS', 'ERROR', 'SYSTEM', 'message', 'BOGUS', ''];

const LEAK = /\n\s+at |node_modules\/|\/dist\/|\/src\/|\.[jt]s:\d+/;

/**
 * The checks every answer passes: never a 500, no stack trace or file path, and an error in the
 * `{error: {code}}` shape carries a catalog code. Returns what is wrong, or undefined.
 */
export function judgeHttp(target: FuzzTarget, status: number, text: string, what: string): string | undefined {
  if (status >= 500 && status !== 503) return `${what} → ${status} ${text.slice(0, 300)}`;
  if (LEAK.test(text)) return `${what} → a stack trace or file path: ${text.slice(0, 300)}`;
  if (status >= 400 && text.startsWith('{')) {
    let code: unknown;
    try {
      code = (JSON.parse(text) as { error?: { code?: unknown } }).error?.code;
    } catch {
      return `${what} → ${status} with a body that is not JSON: ${text.slice(0, 200)}`;
    }
    if (typeof code === 'string' && !target.codes.has(code)) return `${what} → ${status} with code ${code}, not in the catalog`;
    if (typeof code !== 'string' && typeof code !== 'number') return `${what} → ${status} without an error code: ${text.slice(0, 200)}`;
  }
  return undefined;
}

/** The first whole HTTP/1.1 response in `data` (latin1), or undefined while it is incomplete. */
export function wholeResponse(data: string): { status: number; head: string; body: string; end: number } | undefined {
  const headEnd = data.indexOf('\r\n\r\n');
  if (headEnd === -1) return undefined;
  const head = data.slice(0, headEnd);
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0);
  const start = headEnd + 4;
  // A stream (SSE) or an upgrade is whole once its head is in.
  if (status === 101 || /\r\ncontent-type: *text\/event-stream/i.test(head)) return { status, head, body: '', end: start };
  const length = /\r\ncontent-length: *(\d+)/i.exec(head);
  if (length !== null) {
    const end = start + Number(length[1]);
    return data.length >= end ? { status, head, body: data.slice(start, end), end } : undefined;
  }
  if (/\r\ntransfer-encoding: *chunked/i.test(head)) {
    let body = '';
    for (let at = start; ;) {
      const line = data.indexOf('\r\n', at);
      if (line === -1) return undefined;
      const size = parseInt(data.slice(at, line), 16);
      if (Number.isNaN(size)) return { status, head, body, end: line };
      if (size === 0) return data.length >= line + 4 ? { status, head, body, end: line + 4 } : undefined;
      if (data.length < line + 2 + size + 2) return undefined;
      body += data.slice(line + 2, line + 2 + size);
      at = line + 2 + size + 2;
    }
  }
  return { status, head, body: '', end: start };
}

export interface RawResult {
  data: Buffer;
  /** 'done': `until` said so; 'closed': the server closed (or reset) the connection; 'timeout': the safety bound. */
  how: 'done' | 'closed' | 'timeout';
}

/**
 * Opens a connection, lets `talk` write to it, and collects what comes back until `until(data)`
 * is true (then the socket is destroyed), the server closes the connection, or SAFETY_MS pass.
 * `talk` gets the socket and a way to wait for a condition on the data received so far.
 */
export function rawSession(
  port: number,
  talk: (socket: net.Socket, waitFor: (cond: (data: Buffer) => boolean) => Promise<boolean>) => Promise<void> | void,
  until: (data: Buffer) => boolean,
): Promise<RawResult> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.setNoDelay(true);
    const chunks: Buffer[] = [];
    let data: Buffer = Buffer.alloc(0);
    let finished = false;
    const waiters: Array<{ cond: (d: Buffer) => boolean; ok: (v: boolean) => void }> = [];
    const finish = (how: RawResult['how']) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      for (const w of waiters.splice(0)) w.ok(false);
      socket.destroy();
      resolve({ data, how });
    };
    const timer = setTimeout(() => finish('timeout'), SAFETY_MS);
    socket.on('data', (d: Buffer) => {
      chunks.push(d);
      data = chunks.length === 1 ? d : Buffer.concat(chunks);
      chunks.length = 0;
      chunks.push(data);
      // `until` first: it may read the data into state the waiters look at.
      if (until(data)) return finish('done');
      for (let i = waiters.length - 1; i >= 0; i--) {
        if (waiters[i]!.cond(data)) waiters.splice(i, 1)[0]!.ok(true);
      }
    });
    socket.on('close', () => finish('closed'));
    socket.on('error', () => finish('closed'));
    socket.on('connect', () => {
      const waitFor = (cond: (d: Buffer) => boolean) =>
        finished ? Promise.resolve(false) : cond(data) ? Promise.resolve(true) : new Promise<boolean>((ok) => waiters.push({ cond, ok }));
      Promise.resolve(talk(socket, waitFor)).catch(() => finish('closed'));
    });
  });
}

/** Writes and resolves once the bytes are handed to the kernel (or the socket is gone). */
export function write(socket: net.Socket, bytes: string | Buffer): Promise<void> {
  if (socket.destroyed || !socket.writable) return Promise.resolve();
  return new Promise((ok) => socket.write(bytes, () => ok()));
}

/** Races a promise against the safety bound. */
export function bounded<T>(p: Promise<T>): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout;
  return Promise.race([p, new Promise<'timeout'>((ok) => (timer = setTimeout(() => ok('timeout'), SAFETY_MS)))]).finally(() => clearTimeout(timer));
}

export function randomBytes(r: Rng, n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = r.int(256);
  return b;
}
