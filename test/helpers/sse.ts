/** A Server-Sent Events reader on node:http that parses the event stream as a browser would. */
import http from 'node:http';
import { withTimeout } from './wait.js';

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
  private readonly listeners = new Set<() => void>();
  readonly responded: Promise<void>;

  constructor(url: string, headers: Record<string, string> = {}) {
    let respond!: () => void;
    this.responded = new Promise((r) => (respond = r));
    this.req = http.get(url, { headers: { accept: 'text/event-stream', ...headers }, agent: false }, (res) => {
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
    for (const l of [...this.listeners]) l();
  }

  until(check: () => boolean, ms = 10_000, what = 'SSE events'): Promise<void> {
    if (check()) return Promise.resolve();
    return withTimeout(
      new Promise<void>((resolve) => {
        const l = () => {
          if (check()) {
            this.listeners.delete(l);
            resolve();
          }
        };
        this.listeners.add(l);
      }),
      ms,
      what,
    );
  }

  /** Seqs of workunit events, from their `id:` lines. */
  seqs(): number[] {
    return this.events.filter((e) => e.event === 'workunit').map((e) => Number(e.id));
  }

  close(): void {
    this.req.destroy();
  }
}
