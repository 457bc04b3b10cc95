/**
 * The speed-of-light reference: the least a durable, fanning-out work-unit server can do on
 * this stack. uWebSockets.js in front, classic-level behind, group commit (every write that
 * arrives in one turn of the event loop goes into one LevelDB batch), fan-out with uWS's
 * native publish after the batch commits, then the acks. No validation, no ids beyond a
 * per-context seq, no auth, no search, no tail cache: what Engram adds on top is its own cost.
 *
 *   POST /workunit {"contextId":…}        → 201 {"seq":n}   (body stored as is)
 *   WebSocket /stream?context=C           ← every unit of C after commit; any message sent is a
 *                                           unit (`{"ref":r,"contextId":…}`) acked `{"ref":r,"seq":n}`
 *   GET /stream-sse?context=C             ← every unit of C as an SSE event
 *   GET /read?context=C&limit=N           → 200 [the newest N units of C, newest first] (one
 *                                           reverse LevelDB iterator, the stored bytes joined)
 *   GET /healthz                          → 200 (the transport's floor)
 *
 * Run by the ratio benchmark (ratios.bench.ts); prints its port; `--data-dir` is required.
 */
import { ClassicLevel } from 'classic-level';
import uWS, { type HttpResponse } from 'uWebSockets.js';

const dir = process.argv[process.argv.indexOf('--data-dir') + 1]!;
const db = new ClassicLevel<string, Buffer>(dir, { valueEncoding: 'buffer' });
await db.open();

interface Pending {
  contextId: string;
  body: Buffer;
  done: (seq: number) => void;
}

const heads = new Map<string, number>();
const COMMA = Buffer.from(',');
const sse = new Map<string, Set<HttpResponse>>();
let queue: Pending[] = [];
let flushing = false;

function contextOf(body: Buffer): string {
  // The one field it needs, found without parsing the rest.
  const m = /"contextId":"([^"]+)"/.exec(body.toString('latin1', 0, Math.min(body.length, 200)));
  return m ? m[1]! : 'default';
}

function enqueue(p: Pending): void {
  queue.push(p);
  if (!flushing) {
    flushing = true;
    setImmediate(flush);
  }
}

async function flush(): Promise<void> {
  while (queue.length > 0) {
    const batch = queue;
    queue = [];
    const seqs = batch.map((p) => {
      const seq = (heads.get(p.contextId) ?? 0) + 1;
      heads.set(p.contextId, seq);
      return seq;
    });
    await db.batch(batch.map((p, i) => ({ type: 'put' as const, key: `${p.contextId}\u0000${String(seqs[i]).padStart(12, '0')}`, value: p.body })));
    batch.forEach((p, i) => {
      app.publish(p.contextId, p.body, false);
      const listeners = sse.get(p.contextId);
      if (listeners !== undefined) {
        const event = `id: ${seqs[i]}\nevent: workunit\ndata: ${p.body.toString()}\n\n`;
        for (const res of listeners) res.cork(() => res.write(event));
      }
      p.done(seqs[i]!);
    });
  }
  flushing = false;
}

const app = uWS.App();
app.get('/healthz', (res) => void res.writeStatus('200 OK').end('{"status":"ok"}'));
app.get('/read', (res, req) => {
  const query = req.getQuery() ?? '';
  const raw = /(?:^|&)context=([^&]+)/.exec(query)?.[1] ?? '';
  let context = raw;
  try {
    context = decodeURIComponent(raw);
  } catch {
    // Not percent-encoding: the id as it came.
  }
  const limit = Number(/(?:^|&)limit=(\d+)/.exec(query)?.[1] ?? 100);
  let aborted = false;
  res.onAborted(() => (aborted = true));
  void db
    .values({ gt: `${context}\u0000`, lt: `${context}\u0001`, reverse: true, limit })
    .all()
    .then((values) => {
      const parts: Buffer[] = [Buffer.from('[')];
      values.forEach((v, i) => parts.push(i === 0 ? v : Buffer.concat([COMMA, v])));
      parts.push(Buffer.from(']'));
      if (!aborted) res.cork(() => res.writeStatus('200 OK').writeHeader('Content-Type', 'application/json').end(Buffer.concat(parts)));
    })
    .catch((err: unknown) => {
      if (!aborted) res.cork(() => res.writeStatus('500 Internal Server Error').end(String(err)));
    });
});
app.post('/workunit', (res) => {
  let aborted = false;
  let body = Buffer.alloc(0);
  res.onAborted(() => (aborted = true));
  res.onData((chunk, last) => {
    body = Buffer.concat([body, Buffer.from(chunk)]);
    if (!last) return;
    enqueue({ contextId: contextOf(body), body, done: (seq) => void (!aborted && res.cork(() => res.writeStatus('201 Created').end(`{"seq":${seq}}`))) });
  });
});
app.ws<{ context: string; closed: boolean }>('/stream', {
  maxBackpressure: 64 * 1024 * 1024,
  upgrade: (res, req, ctx) => {
    const context = /(?:^|&)context=([^&]+)/.exec(req.getQuery() ?? '')?.[1] ?? '';
    res.upgrade({ context, closed: false }, req.getHeader('sec-websocket-key'), req.getHeader('sec-websocket-protocol'), req.getHeader('sec-websocket-extensions'), ctx);
  },
  open: (ws) => {
    const { context } = ws.getUserData();
    if (context !== '') ws.subscribe(context);
    ws.send('{"event":"subscribed"}');
  },
  message: (ws, message) => {
    const body = Buffer.from(message);
    const ref = /"ref":(\d+)/.exec(body.toString('latin1', 0, Math.min(body.length, 64)))?.[1] ?? 'null';
    const user = ws.getUserData();
    enqueue({ contextId: contextOf(body), body, done: (seq) => void (!user.closed && ws.cork(() => ws.send(`{"event":"ack","ref":${ref},"seq":${seq}}`))) });
  },
  close: (ws) => void (ws.getUserData().closed = true),
});
app.get('/stream-sse', (res, req) => {
  const context = /(?:^|&)context=([^&]+)/.exec(req.getQuery() ?? '')?.[1] ?? '';
  let set = sse.get(context);
  if (set === undefined) sse.set(context, (set = new Set()));
  const listeners = set;
  listeners.add(res);
  res.onAborted(() => listeners.delete(res));
  res.writeStatus('200 OK').writeHeader('Content-Type', 'text/event-stream');
  res.write('event: subscribed\ndata: {}\n\n');
});
app.listen('127.0.0.1', 0, (socket) => {
  if (!socket) process.exit(1);
  process.stdout.write(`${uWS.us_socket_local_port(socket)}\n`);
});
process.on('SIGTERM', () => void db.close().then(() => process.exit(0)));
