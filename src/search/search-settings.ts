/**
 * What search is configured to be, without the index and embedder implementations: the main
 * thread needs this much (the worker thread loads the rest, search-parts.ts).
 */

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
  /** Where the saved vectors go, under dataDir: they are keyed by log position, and the shared log numbers positions its own way. */
  snapshotDir: string;
}

export const OFFLINE_DIMENSIONS = 100;

/** The size of the vector index: the embedder's, or the configured one for client vectors; undefined: none. */
export function searchDimensions(s: Pick<SearchSettings, 'embedder' | 'dimensions'>): number | undefined {
  if (s.embedder === 'offline') return OFFLINE_DIMENSIONS;
  return s.dimensions > 0 ? s.dimensions : undefined;
}
