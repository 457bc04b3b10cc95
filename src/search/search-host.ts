/**
 * The main thread's handle on the search worker: it forwards units to index and
 * queries to answer, and tracks the position the worker has indexed up to. If the
 * worker dies, a new one starts empty and the indexer feeds it from the log again.
 */
import { Worker } from 'node:worker_threads';
import { EngramError, type ErrorCode } from '../basics/errors.js';
import type { SearchSink } from './indexer.js';
import type { SearchQuery } from './search-query.js';
import type { IngestUnit, SearchHits, SearchQuerier } from './search.js';
import type { SearchSettings } from './search-settings.js';
import type { WorkerReply, WorkerRequest } from './search-worker.js';

type Pending = { resolve: (v: unknown) => void; reject: (e: unknown) => void };
type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never;

export class SearchWorkerHost implements SearchSink, SearchQuerier {
  position = 0;
  embedderReady = false;
  embedderError: string | undefined;
  private worker!: Worker;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private closing = false;

  constructor(
    private readonly settings: SearchSettings,
    private readonly onCrash: (err: unknown) => void,
  ) {
    this.spawn();
  }

  private spawn(): void {
    this.position = 0;
    this.worker = new Worker(new URL('./search-worker.js', import.meta.url), { workerData: this.settings });
    this.worker.unref();
    this.worker.on('message', (msg: WorkerReply) => {
      if (msg.type === 'ready') return;
      if (msg.type === 'embedder') {
        this.embedderReady = msg.ready;
        this.embedderError = msg.error;
        return;
      }
      const p = this.pending.get(msg.id);
      if (p === undefined) return;
      this.pending.delete(msg.id);
      if (msg.type === 'ok') p.resolve(msg);
      else p.reject(msg.error.code ? new EngramError(msg.error.code as ErrorCode, msg.error.message) : new Error(msg.error.message));
    });
    this.worker.on('error', (err) => this.onCrash(err));
    this.worker.on('exit', (code) => {
      for (const p of this.pending.values()) p.reject(new EngramError('INTERNAL', `the search worker stopped (exit ${code})`));
      this.pending.clear();
      if (!this.closing) {
        this.onCrash(new Error(`search worker exited with ${code}; starting a new one and rebuilding from the log`));
        this.spawn();
      }
    });
  }

  private call<T>(msg: WithoutId<WorkerRequest>): Promise<T> {
    const id = this.nextId++;
    return new Promise<{ value: T; position: number }>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage({ ...msg, id } as WorkerRequest);
    }).then((r) => {
      this.position = Math.max(this.position, r.position);
      return r.value;
    });
  }

  async ingest(units: IngestUnit[], through?: number): Promise<void> {
    await this.call({ type: 'ingest', units: units.map(({ pos, clientId, contextId, json, embedding }) => ({ pos, clientId, contextId, json, embedding })), through });
  }

  query(clientId: string, q: SearchQuery): Promise<SearchHits> {
    return this.call({ type: 'query', clientId, q });
  }

  async drop(clientIds: string[]): Promise<void> {
    await this.call({ type: 'drop', clientIds });
  }

  async forget(clientId: string, positions: number[]): Promise<void> {
    await this.call({ type: 'forget', clientId, positions });
  }

  async restoreBegin(clientId: string): Promise<void> {
    await this.call({ type: 'restoreBegin', clientId });
  }

  async restore(clientId: string, units: IngestUnit[]): Promise<void> {
    await this.call({ type: 'restore', clientId, units: units.map(({ pos, clientId: c, contextId, json, embedding }) => ({ pos, clientId: c, contextId, json, embedding })) });
  }

  async restoreEnd(clientId: string): Promise<void> {
    await this.call({ type: 'restoreEnd', clientId });
  }

  /** The search embedder's vectors for these texts; null when search has no embedder. */
  embed(texts: string[]): Promise<Float32Array[] | null> {
    return this.call({ type: 'embed', texts });
  }

  async saveSnapshots(): Promise<void> {
    await this.call({ type: 'save' });
  }

  stats(): Promise<{ clients: number; documents: number; vectors: number; position: number; droppedClients: number }> {
    return this.call({ type: 'stats' });
  }

  async close(): Promise<void> {
    this.closing = true;
    await this.worker.terminate();
  }
}
