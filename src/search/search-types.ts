/**
 * What search needs from the outside, as interfaces: embedders turn text into
 * vectors, keyword and vector indexes retrieve candidates, a snapshot store keeps
 * vectors across restarts. Implementations live in src/search/.
 */

/** Turns text into unit-length vectors. */
export interface Embedder {
  /** Names the model, so a snapshot made with another one is not reused. */
  readonly id: string;
  readonly dimensions: number;
  /** Resolves once the embedder can embed (an offline model may load in the background). */
  ready(): Promise<void>;
  embed(texts: string[]): Promise<Float32Array[]>;
}

/** Full-text retrieval over documents numbered 0, 1, 2, … (slots). */
export interface KeywordIndex {
  add(slot: number, text: string): void;
  /** The terms of a text as the index sees them (normalized, stemmed, stop words gone), in order. */
  terms(text: string): string[];
  /** Matching slots, best first, at most `limit`. */
  search(query: string, limit: number): number[];
}

/** Approximate nearest neighbours by cosine similarity, keyed by log position. */
export interface VectorIndex {
  readonly dimensions: number;
  add(pos: number, vector: Float32Array): void;
  has(pos: number): boolean;
  /** Up to `k` nearest, best first; `similarity` is the cosine (1 = same direction). */
  search(vector: Float32Array, k: number): Array<{ pos: number; similarity: number }>;
  size(): number;
}

/** The vectors of one client's units, as saved: parallel arrays of positions and vectors. */
export interface VectorSnapshot {
  /** Every unit of the client up to this log position was indexed when it was saved. */
  position: number;
  positions: Float64Array;
  /** dimensions × positions.length values. */
  vectors: Float32Array;
}

/**
 * Where each client's vectors are kept between runs, so a restart does not embed the
 * whole log again. Deleting them makes the next start embed everything afresh.
 */
export interface VectorSnapshots {
  /** The saved vectors of this client, if they were made by `embedderId` with these dimensions. */
  load(clientId: string, embedderId: string, dimensions: number): VectorSnapshot | undefined;
  save(clientId: string, embedderId: string, dimensions: number, snapshot: VectorSnapshot): void;
  /** Removes a client's saved vectors (all its units were deleted). */
  remove(clientId: string): void;
}

export interface SearchFactories {
  keyword(): KeywordIndex;
  vector(dimensions: number): VectorIndex;
}
