/** Approximate nearest neighbours with usearch (HNSW, cosine), keyed by log position. */
import usearch from 'usearch';
import type { VectorIndex } from './search-types.js';

const { Index, MetricKind, ScalarKind } = usearch;

export class UsearchVectorIndex implements VectorIndex {
  private readonly index: InstanceType<typeof Index>;

  constructor(readonly dimensions: number) {
    this.index = new Index({
      dimensions,
      metric: MetricKind.Cos,
      quantization: ScalarKind.F32,
      connectivity: 16,
      // 64 rather than usearch's 128: a third of the insert cost for a little recall (docs/search.md).
      expansion_add: 64,
      // Searches ask for ≥ 100 neighbours; 128 keeps recall@10 near 0.9 on word-vector embeddings.
      expansion_search: 128,
      multi: false,
    });
  }

  // One thread, the caller's: with 0 ("automatic") usearch starts a thread per core for every
  // call, even for one vector, and those threads run at normal priority beside the writes.
  add(pos: number, vector: Float32Array): void {
    this.index.add(BigInt(pos), vector, 1);
  }

  has(pos: number): boolean {
    return this.index.contains(BigInt(pos)) as boolean;
  }

  search(vector: Float32Array, k: number): Array<{ pos: number; similarity: number }> {
    if (k <= 0 || this.index.size() === 0) return [];
    const m = this.index.search(vector, k, 1);
    const out: Array<{ pos: number; similarity: number }> = [];
    for (let i = 0; i < m.keys.length; i++) out.push({ pos: Number(m.keys[i]), similarity: 1 - m.distances[i]! });
    return out;
  }

  size(): number {
    return this.index.size();
  }
}
