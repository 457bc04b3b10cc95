/**
 * Nearest neighbours by an exact scan of 8-bit quantized vectors (usearch's native
 * inner-product kernel over one flat array), keyed by log position. Vectors of fewer than
 * 64 dimensions are kept and scanned at full precision.
 *
 * Why not a graph: an HNSW insert costs 0.1–0.5 ms of CPU per unit at the connectivity
 * that keeps recall (measured: 475 µs/unit at M=16 on near-duplicate agent messages),
 * three times the whole write path's CPU, paid on every write. An insert here is a copy of
 * 100 bytes. A query scans every vector instead: ~25 µs per 1,000 vectors of 100
 * dimensions on this machine (100k: ~2.5 ms), linear in the partition's size. The
 * service re-scores the candidates against the full-precision vectors, so quantization
 * only decides which candidates are looked at, not their scores (docs/search.md).
 * `search.vectorIndex: hnsw` keeps the graph for partitions of millions of units.
 */
import usearch from 'usearch';
import type { VectorIndex } from './search-types.js';

const { exactSearch, MetricKind } = usearch;

/**
 * Components of a unit vector of d dimensions are about ±1/√d; the scale maps ±4/√d to ±127,
 * clipping the rare larger ones (their score is recomputed exactly afterwards anyway).
 */
const SPREAD = 4;
/** Below this many dimensions 8 bits are too coarse to tell neighbours apart, and full precision costs little: kept as float32. */
const QUANTIZE_FROM = 64;

export class FlatVectorIndex implements VectorIndex {
  private rows = 0;
  private data: Int8Array | Float32Array;
  /** Log position of each row, ascending. */
  private keys: Float64Array;
  /** 1 for float32 rows. */
  private readonly scale: number;

  constructor(readonly dimensions: number) {
    const quantized = dimensions >= QUANTIZE_FROM;
    this.scale = quantized ? 127 / (SPREAD / Math.sqrt(dimensions)) : 1;
    this.data = quantized ? new Int8Array(dimensions * 1024) : new Float32Array(dimensions * 1024);
    this.keys = new Float64Array(1024);
  }

  /** Positions arrive in increasing order (the index is fed in log order). */
  add(pos: number, vector: Float32Array): void {
    if (this.rows > 0 && pos <= this.keys[this.rows - 1]!) {
      if (this.has(pos)) return;
      throw new Error(`vector index: position ${pos} arrived after ${this.keys[this.rows - 1]}`);
    }
    if (this.rows === this.keys.length) this.grow();
    this.quantize(vector, this.data, this.rows * this.dimensions);
    this.keys[this.rows++] = pos;
  }

  has(pos: number): boolean {
    let lo = 0;
    let hi = this.rows - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const k = this.keys[mid]!;
      if (k === pos) return true;
      if (k < pos) lo = mid + 1;
      else hi = mid - 1;
    }
    return false;
  }

  /** The `k` rows with the largest quantized inner product; `similarity` is its estimate of the cosine. */
  search(vector: Float32Array, k: number): Array<{ pos: number; similarity: number }> {
    const n = Math.min(k, this.rows);
    if (n <= 0) return [];
    const q = this.scale === 1 ? new Float32Array(vector) : new Int8Array(this.dimensions); // its own buffer: the native call reads from offset 0
    if (q instanceof Int8Array) this.quantize(vector, q, 0);
    // One thread (the caller's): 0 would start a thread per core for every query.
    const m = exactSearch(this.data.subarray(0, this.rows * this.dimensions), q, this.dimensions, n, MetricKind.IP, 1);
    const out: Array<{ pos: number; similarity: number }> = [];
    const norm = this.scale * this.scale;
    for (let i = 0; i < m.keys.length; i++) {
      const row = Number(m.keys[i]);
      out.push({ pos: this.keys[row]!, similarity: (1 - m.distances[i]!) / norm });
    }
    return out;
  }

  size(): number {
    return this.rows;
  }

  private quantize(v: Float32Array, into: Int8Array | Float32Array, at: number): void {
    if (into instanceof Float32Array) {
      into.set(v, at);
      return;
    }
    const s = this.scale;
    for (let i = 0; i < this.dimensions; i++) {
      const x = Math.round(v[i]! * s);
      into[at + i] = x > 127 ? 127 : x < -127 ? -127 : x;
    }
  }

  private grow(): void {
    const keys = new Float64Array(this.keys.length * 2);
    keys.set(this.keys);
    this.keys = keys;
    const data = this.data instanceof Int8Array ? new Int8Array(this.data.length * 2) : new Float32Array(this.data.length * 2);
    data.set(this.data);
    this.data = data;
  }
}
