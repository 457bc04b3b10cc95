/**
 * The search index in a worker thread. Embedding and HNSW inserts cost tens to hundreds
 * of microseconds of CPU per unit; here they never block the event loop that answers
 * writes. Messages: ingest (in order, one at a time), query, save, stats, embed; and, for idle
 * clients' partitions, drop, forget (deleted units) and restoreBegin / restore / restoreEnd, kept in order with ingest.
 */
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { EngramError } from '../basics/errors.js';
import type { IngestUnit } from './search.js';
import type { SearchQuery } from './search-query.js';
import { createEmbedder, createSearchService } from './search-parts.js';
import type { SearchSettings } from './search-settings.js';

export type WorkerRequest =
  | { type: 'ingest'; id: number; units: IngestUnit[]; through?: number }
  | { type: 'query'; id: number; clientId: string; q: SearchQuery }
  | { type: 'save'; id: number }
  | { type: 'stats'; id: number }
  | { type: 'drop'; id: number; clientIds: string[] }
  | { type: 'forget'; id: number; clientId: string; positions: number[] }
  | { type: 'restoreBegin'; id: number; clientId: string }
  | { type: 'restore'; id: number; clientId: string; units: IngestUnit[] }
  | { type: 'restoreEnd'; id: number; clientId: string }
  | { type: 'embed'; id: number; texts: string[] };

export type WorkerReply =
  | { type: 'ok'; id: number; value: unknown; position: number }
  | { type: 'error'; id: number; error: { code: string | undefined; message: string }; position: number }
  | { type: 'ready' }
  | { type: 'embedder'; ready: boolean; error?: string };

// A lower CPU priority for this thread: when writes and indexing compete for a core, the
// writes mostly win; when the server is idle, indexing takes all it needs. Nice 10, not 19:
// on a saturated machine a nice-19 thread gets ~1% of a core and indexing would stall.
// On Linux a thread id given to setpriority names just that thread.
try {
  const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
  if (Number.isInteger(tid)) setPriority(tid, 10);
} catch {
  // Not Linux, or not allowed: indexing runs at normal priority.
}

const settings = workerData as SearchSettings;
const embedder = createEmbedder(settings);
const service = createSearchService(settings, embedder);
const port = parentPort!;
let ingesting: Promise<void> = Promise.resolve();

embedder?.ready().then(
  () => port.postMessage({ type: 'embedder', ready: true } satisfies WorkerReply),
  (err: unknown) => port.postMessage({ type: 'embedder', ready: false, error: String(err) } satisfies WorkerReply),
);

async function handle(msg: WorkerRequest): Promise<unknown> {
  switch (msg.type) {
    case 'ingest':
      // One ingest at a time, in the order sent: positions must arrive in order.
      ingesting = ingesting.then(() => service.ingest(msg.units, msg.through));
      return ingesting;
    case 'query':
      return service.query(msg.clientId, msg.q);
    case 'save':
      await ingesting.catch(() => undefined);
      service.saveSnapshots();
      return undefined;
    case 'stats':
      return service.stats();
    case 'embed':
      // For callers beside search (fact de-duplication): the same model, loaded once.
      if (embedder === undefined) return null;
      await embedder.ready();
      return embedder.embed(msg.texts);
    // In the same order as ingests: a rebuild must see exactly the units sent before and after it.
    case 'drop':
      ingesting = ingesting.then(() => void service.drop(msg.clientIds));
      return ingesting;
    case 'forget':
      ingesting = ingesting.then(() => service.forget(msg.clientId, msg.positions));
      return ingesting;
    case 'restoreBegin':
      ingesting = ingesting.then(() => service.restoreBegin(msg.clientId));
      return ingesting;
    case 'restore':
      ingesting = ingesting.then(() => service.restore(msg.clientId, msg.units));
      return ingesting;
    case 'restoreEnd':
      ingesting = ingesting.then(() => service.restoreEnd(msg.clientId));
      return ingesting;
  }
}

port.on('message', (msg: WorkerRequest) => {
  handle(msg).then(
    (value) => port.postMessage({ type: 'ok', id: msg.id, value, position: service.position } satisfies WorkerReply),
    (err: unknown) => {
      if (msg.type !== 'query' && msg.type !== 'save' && msg.type !== 'stats' && msg.type !== 'embed') ingesting = Promise.resolve(); // the indexer resends from its position
      const code = err instanceof EngramError ? err.code : undefined;
      port.postMessage({ type: 'error', id: msg.id, error: { code, message: err instanceof Error ? err.message : String(err) }, position: service.position } satisfies WorkerReply);
    },
  );
});
port.postMessage({ type: 'ready' } satisfies WorkerReply);
