/** Builds search from the config: the embedder, the index service and the indexer. */
import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import type { Engine } from '../core/engine.js';
import { Indexer } from '../core/indexer.js';
import type { Log } from '../core/log.js';
import type { Embedder } from '../core/search-types.js';
import { SearchService } from '../core/search.js';
import type { Config } from '../config/schema.js';
import { OfflineEmbedder } from '../search/embedder-offline.js';
import { HttpEmbedder } from '../search/embedder-http.js';
import { FlexKeywordIndex } from '../search/keyword-flexsearch.js';
import { FileVectorSnapshots } from '../search/snapshots-fs.js';
import { UsearchVectorIndex } from '../search/vector-usearch.js';

/** Where `make build` writes the offline embedder's word vectors. */
export const DEFAULT_WORD_VECTORS = resolve(import.meta.dirname, '../../models/wink-sg-100d.bin');

export interface SearchParts {
  service: SearchService;
  indexer: Indexer;
  embedder: Embedder | undefined;
}

export function createEmbedder(s: Config['search']): Embedder | undefined {
  switch (s.embedder) {
    case 'offline':
      return new OfflineEmbedder(s.wordVectors === '' ? DEFAULT_WORD_VECTORS : s.wordVectors);
    case 'openai':
    case 'ollama':
      return new HttpEmbedder({ kind: s.embedder, url: s.embedderUrl, model: s.embedderModel, dimensions: s.dimensions, apiKey: s.embedderApiKey || undefined });
    case 'none':
      return undefined;
  }
}

/** The dimensions of the vector index: the embedder's, or the configured size for client vectors. */
export function searchDimensions(s: Config['search'], embedder: Embedder | undefined): number | undefined {
  if (embedder !== undefined) return embedder.dimensions;
  return s.dimensions > 0 ? s.dimensions : undefined;
}

export function createSearch(config: Config, log: Log, engine: Engine, embedder: Embedder | undefined, logger: Logger): SearchParts {
  const s = config.search;
  const service = new SearchService(log, {
    embedder,
    dimensions: searchDimensions(s, embedder),
    metaKeys: s.metaKeys,
    factories: { keyword: () => new FlexKeywordIndex(), vector: (dims) => new UsearchVectorIndex(dims) },
    snapshots: new FileVectorSnapshots(join(config.storage.dataDir, 'search')),
  });
  const indexer = new Indexer(engine, log, service, {
    pageSize: 256,
    sliceUnits: 16,
    snapshotIntervalMs: s.snapshotIntervalMs,
    onError: (err) => logger.warn({ err }, 'search indexing failed; retrying'),
  });
  return { service, indexer, embedder };
}

/** Logs when the embedder is ready (or could not load); call after the listening line. */
export function announceEmbedder(embedder: Embedder | undefined, logger: Logger): void {
  embedder?.ready().then(
    () => logger.info({ embedder: embedder.id }, 'embedder ready'),
    (err: unknown) => logger.error({ err, embedder: embedder.id }, 'embedder failed to load; vector search is unavailable'),
  );
}
