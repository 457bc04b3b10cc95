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
  /** Sessions of the process's worker threads (the search index lives in one), by their inspector session id. */
  private readonly workers = new Set<string>();

  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (d) => {
      const m = JSON.parse(String(d)) as { id?: number; method?: string; params?: Record<string, unknown>; result?: Record<string, unknown>; error?: { message: string } };
      if (m.method === 'NodeWorker.attachedToWorker') this.workers.add(m.params!.sessionId as string);
      else if (m.method === 'NodeWorker.detachedFromWorker') this.workers.delete(m.params!.sessionId as string);
      else if (m.method === 'NodeWorker.receivedMessageFromWorker') this.settle(JSON.parse(m.params!.message as string));
      else this.settle(m);
    });
  }

  private settle(m: { id?: number; result?: Record<string, unknown>; error?: { message: string } }): void {
    const w = m.id === undefined ? undefined : this.waiting.get(m.id);
    if (w === undefined) return;
    this.waiting.delete(m.id!);
    if (m.error) w.fail(new Error(m.error.message));
    else w.ok(m.result ?? {});
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
    const inspector = new Inspector(ws);
    await inspector.call('NodeWorker.enable', { waitForDebuggerOnStart: false });
    return inspector;
  }

  /** A method of the main thread, or of the worker thread of inspector session `worker`. */
  call(method: string, params: Record<string, unknown> = {}, worker?: string): Promise<Record<string, unknown>> {
    const id = ++this.next;
    return new Promise((ok, fail) => {
      this.waiting.set(id, { ok, fail });
      const message = JSON.stringify({ id, method, params });
      this.ws.send(worker === undefined ? message : JSON.stringify({ id: ++this.next, method: 'NodeWorker.sendMessageToWorker', params: { sessionId: worker, message } }));
    });
  }

  /** A full collection in the main thread and in every worker thread, then the bytes their JavaScript heaps still use: main, and workers together. */
  async liveHeap(): Promise<{ main: number; workers: number }> {
    const heapOf = async (worker?: string) => {
      await this.call('HeapProfiler.collectGarbage', {}, worker);
      return (await this.call('Runtime.getHeapUsage', {}, worker)).usedSize as number;
    };
    let workers = 0;
    for (const w of [...this.workers]) workers += await heapOf(w);
    return { main: await heapOf(), workers };
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
