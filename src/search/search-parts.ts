/** Builds the search service from settings: shared by the worker thread and in-process use. */
import { join } from 'node:path';
import type { Embedder } from './search-types.js';
import { SearchService } from './search.js';
import { HttpEmbedder } from './embedder-http.js';
import { OfflineEmbedder } from './embedder-offline.js';
import { FlexKeywordIndex } from './keyword-flexsearch.js';
import { FileVectorSnapshots } from './snapshots-fs.js';
import { FlatVectorIndex } from './vector-flat.js';
import { UsearchVectorIndex } from './vector-usearch.js';

/** Plain data, so it can cross into a worker thread. */
export interface SearchSettings {
  embedder: 'offline' | 'openai' | 'ollama' | 'none';
  embedderUrl: string;
  embedderModel: string;
  embedderApiKey: string;
  /** Configured vector size (0: the embedder's own). */
  dimensions: number;
  /** flat: exact scan of quantized vectors; hnsw: a usearch graph (docs/search.md). */
  vectorIndex: 'flat' | 'hnsw';
  metaKeys: string[];
  wordVectors: string;
  dataDir: string;
}

export const OFFLINE_DIMENSIONS = 100;

export function createEmbedder(s: SearchSettings): Embedder | undefined {
  switch (s.embedder) {
    case 'offline':
      return new OfflineEmbedder(s.wordVectors);
    case 'openai':
    case 'ollama':
      return new HttpEmbedder({ kind: s.embedder, url: s.embedderUrl, model: s.embedderModel, dimensions: s.dimensions, apiKey: s.embedderApiKey || undefined });
    case 'none':
      return undefined;
  }
}

/** The size of the vector index: the embedder's, or the configured one for client vectors; undefined: none. */
export function searchDimensions(s: Pick<SearchSettings, 'embedder' | 'dimensions'>): number | undefined {
  if (s.embedder === 'offline') return OFFLINE_DIMENSIONS;
  return s.dimensions > 0 ? s.dimensions : undefined;
}

export function createSearchService(s: SearchSettings, embedder: Embedder | undefined): SearchService {
  return new SearchService({
    embedder,
    dimensions: searchDimensions(s),
    metaKeys: s.metaKeys,
    factories: {
      keyword: () => new FlexKeywordIndex(),
      vector: (dims) => (s.vectorIndex === 'hnsw' ? new UsearchVectorIndex(dims) : new FlatVectorIndex(dims)),
    },
    snapshots: new FileVectorSnapshots(join(s.dataDir, 'search')),
  });
}
