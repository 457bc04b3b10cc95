/** A Server-Sent Events reader on node:http that parses the event stream as a browser would. */
import http from 'node:http';
import https from 'node:https';
import { WAIT_MS, Watcher } from './wait.js';

export interface SseEvent {
  id: string | undefined;
  event: string;
  data: string;
}

export class SseReader {
  readonly events: SseEvent[] = [];
  comments = 0;
  retry: number | undefined;
  status = 0;
  headers: http.IncomingHttpHeaders = {};
  body = '';
  ended = false;
  private buffer = '';
  private readonly req: http.ClientRequest;
  private readonly watcher = new Watcher();
  readonly responded: Promise<void>;

  /** An https:// URL connects with `tls` (ca, cert, key). */
  constructor(url: string, headers: Record<string, string> = {}, tls: https.RequestOptions = {}) {
    let respond!: () => void;
    this.responded = new Promise((r) => (respond = r));
    const get = url.startsWith('https:') ? https.get : http.get;
    this.req = get(url, { ...tls, headers: { accept: 'text/event-stream', ...headers }, agent: false }, (res) => {
      this.status = res.statusCode ?? 0;
      this.headers = res.headers;
      respond();
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        if (this.status !== 200) this.body += chunk;
        else this.parse(chunk);
        this.notify();
      });
      res.on('end', () => {
        this.ended = true;
        this.notify();
      });
      res.on('error', () => undefined);
    });
    this.req.on('error', () => {
      this.ended = true;
      this.notify();
    });
  }

  private parse(chunk: string): void {
    this.buffer += chunk;
    let end: number;
    while ((end = this.buffer.indexOf('\n\n')) !== -1) {
      const block = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 2);
      let id: string | undefined;
      let event = 'message';
      const data: string[] = [];
      let isEvent = false;
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) this.comments++;
        else if (line.startsWith('id: ')) id = line.slice(4);
        else if (line.startsWith('event: ')) event = line.slice(7);
        else if (line.startsWith('data: ')) {
          data.push(line.slice(6));
          isEvent = true;
        } else if (line.startsWith('retry: ')) this.retry = Number(line.slice(7));
      }
      if (isEvent) this.events.push({ id, event, data: data.join('\n') });
    }
  }

  private notify(): void {
    this.watcher.notify();
  }

  until(check: () => boolean, ms = WAIT_MS, what = 'SSE events'): Promise<void> {
    return this.watcher.until(check, ms, what);
  }

  /** Seqs of workunit events, from their `id:` lines. */
  seqs(): number[] {
    return this.events.filter((e) => e.event === 'workunit').map((e) => Number(e.id));
  }

  close(): void {
    this.req.destroy();
  }
}
