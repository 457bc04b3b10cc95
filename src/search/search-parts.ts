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
import { searchDimensions, type SearchSettings } from './search-settings.js';

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

export function createSearchService(s: SearchSettings, embedder: Embedder | undefined): SearchService {
  return new SearchService({
    embedder,
    dimensions: searchDimensions(s),
    metaKeys: s.metaKeys,
    factories: {
      keyword: () => new FlexKeywordIndex(),
      vector: (dims) => (s.vectorIndex === 'hnsw' ? new UsearchVectorIndex(dims) : new FlatVectorIndex(dims)),
    },
    snapshots: new FileVectorSnapshots(join(s.dataDir, s.snapshotDir)),
  });
}
