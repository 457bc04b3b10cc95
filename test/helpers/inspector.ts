/**
 * The V8 inspector of a server started with `--inspect=127.0.0.1:PORT` (NODE_OPTIONS): a full
 * garbage collection on demand and the live JavaScript heap after it, which, unlike RSS, does not
 * depend on how far V8 has let its heap grow between collections.
 */
import { createServer } from 'node:net';
import WebSocket from 'ws';
import { eventually, WAIT_MS } from './wait.js';

/** A port free on loopback now (for --inspect, which cannot report the one it took). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export class Inspector {
  private next = 0;
  private readonly waiting = new Map<number, { ok: (v: Record<string, unknown>) => void; fail: (e: Error) => void }>();

  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (d) => {
      const m = JSON.parse(String(d)) as { id?: number; result?: Record<string, unknown>; error?: { message: string } };
      const w = m.id === undefined ? undefined : this.waiting.get(m.id);
      if (w === undefined) return;
      this.waiting.delete(m.id!);
      if (m.error) w.fail(new Error(m.error.message));
      else w.ok(m.result ?? {});
    });
  }

  /** Connects to the inspector listening on `port` (once the process has opened it). */
  static async connect(port: number): Promise<Inspector> {
    let url: string | undefined;
    await eventually(
      async () => {
        const list = (await fetch(`http://127.0.0.1:${port}/json/list`)
          .then((r) => r.json())
          .catch(() => [])) as Array<{ webSocketDebuggerUrl: string }>;
        url = list[0]?.webSocketDebuggerUrl;
        return url !== undefined;
      },
      WAIT_MS,
      'the inspector',
    );
    const ws = new WebSocket(url!);
    await new Promise<void>((ok, fail) => {
      ws.once('open', () => ok());
      ws.once('error', fail);
    });
    return new Inspector(ws);
  }

  call(method: string, params: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    const id = ++this.next;
    return new Promise((ok, fail) => {
      this.waiting.set(id, { ok, fail });
      this.ws.send(JSON.stringify({ id, method, params }));
    });
  }

  /** A full collection, then the bytes the JavaScript heap still uses. */
  async liveHeap(): Promise<number> {
    await this.call('HeapProfiler.collectGarbage');
    return (await this.call('Runtime.getHeapUsage')).usedSize as number;
  }

  /** process.memoryUsage() of the inspected process, in bytes (external: memory of C++ objects bound to JavaScript ones, Buffers' included). */
  async memoryUsage(): Promise<NodeJS.MemoryUsage> {
    const r = (await this.call('Runtime.evaluate', { expression: 'JSON.stringify(process.memoryUsage())', returnByValue: true })) as { result: { value: string } };
    return JSON.parse(r.result.value) as NodeJS.MemoryUsage;
  }

  close(): void {
    this.ws.close();
  }
}
