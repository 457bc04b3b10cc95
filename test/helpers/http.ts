/** A small HTTP client on node:http with its own agent, so a test file can close every socket it opened. */
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { WAIT_MS } from './wait.js';

export interface HttpResult {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  json: any;
}

export class HttpClient {
  readonly agent: http.Agent;

  /** An https:// base URL connects with `tls` (ca, cert, key). */
  constructor(
    public baseUrl: string,
    tls: https.AgentOptions = {},
  ) {
    const options = { keepAlive: true, maxSockets: 128 };
    this.agent = baseUrl.startsWith('https:') ? new https.Agent({ ...options, ...tls }) : new http.Agent(options);
  }

  request(method: string, path: string, options: { body?: unknown; raw?: string | Buffer; headers?: Record<string, string> } = {}): Promise<HttpResult> {
    const headers: Record<string, string> = { ...options.headers };
    let payload: string | Buffer | undefined = options.raw;
    if (options.body !== undefined) {
      payload = JSON.stringify(options.body);
      headers['content-type'] ??= 'application/json';
    }
    return new Promise((resolve, reject) => {
      const url = new URL(path, this.baseUrl);
      const req = (url.protocol === 'https:' ? https : http).request(url, { method, headers, agent: this.agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = text === '' ? undefined : JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(payload);
    });
  }

  get(path: string, headers?: Record<string, string>): Promise<HttpResult> {
    return this.request('GET', path, { headers });
  }

  post(path: string, body: unknown, headers?: Record<string, string>): Promise<HttpResult> {
    return this.request('POST', path, { body, headers });
  }

  patch(path: string, body: unknown, headers?: Record<string, string>): Promise<HttpResult> {
    return this.request('PATCH', path, { body, headers });
  }

  close(): void {
    this.agent.destroy();
  }
}

/**
 * Sends raw bytes on a fresh connection (in pieces, if asked) and collects whatever comes back
 * until the server closes the connection; a server that has not closed it within WAIT_MS is hung,
 * and that rejects. With `giveUpMs`, what arrived by then is the answer instead (for requests the
 * server may rightly leave waiting, such as a body that never comes).
 */
export function rawExchange(port: number, pieces: Array<string | Buffer>, options: { endAfterSend?: boolean; giveUpMs?: number; untilResponse?: boolean } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let received = '';
    /** untilResponse: done once one whole response is in (a kept-alive connection would otherwise wait for giveUpMs). */
    const whole = () => {
      const end = received.indexOf('\r\n\r\n');
      if (end === -1) return false;
      const length = /\r\ncontent-length: *(\d+)/i.exec(received.slice(0, end));
      return length !== null && received.length - end - 4 >= Number(length[1]);
    };
    const timer = setTimeout(() => {
      socket.destroy();
      if (options.giveUpMs !== undefined) resolve(received);
      else reject(new Error(`the server did not close the connection within ${WAIT_MS} ms; received ${JSON.stringify(received.slice(0, 200))}`));
    }, options.giveUpMs ?? WAIT_MS);
    socket.on('data', (d) => {
      received += d.toString('latin1');
      if (options.untilResponse && whole()) {
        clearTimeout(timer);
        socket.destroy();
        resolve(received);
      }
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(received);
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      // A server may reset a connection it refuses; only failing to connect at all is an error here.
      if (err.code === 'ECONNREFUSED') reject(err);
      else resolve(received);
    });
    socket.on('connect', async () => {
      for (const piece of pieces) {
        await new Promise<void>((r) => socket.write(piece, () => r()));
        await new Promise<void>((r) => setImmediate(r));
      }
      if (options.endAfterSend) socket.end();
    });
  });
}

export function unit(contextId: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { contextId, agentId: 'agent-1', type: 'MESSAGE', payload: { text: 'hello' }, ...extra };
}
