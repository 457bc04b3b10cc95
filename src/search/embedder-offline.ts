/**
 * The default embedder: works on a fresh machine with no network and no model
 * download. A text's vector is the weighted mean of its words' vectors (packaged
 * skip-gram word vectors, 100 dimensions), with smooth inverse frequency weights so
 * common words count little, then centred by subtracting the mean direction of the
 * vocabulary (which every text shares and which would otherwise dominate the cosine).
 * It captures topical similarity and synonyms, not sentence meaning; docs/search.md
 * says what it costs and what it does not do.
 */
import type { Embedder } from './search-types.js';
import { loadWordVectors, type WordVectors } from './word-vectors.js';

/** Smooth inverse frequency constant (Arora et al.): weight = a / (a + p(word)). */
const SIF_A = 1e-3;
/** Zipf's law estimate of p(word) from its frequency rank, for a vocabulary of ~340k words. */
const zipf = (rank: number) => 1 / ((rank + 1) * 13);
const TOKEN = /[\p{L}\p{N}]+(?:'[\p{L}]+)?/gu;
/** How many of the most frequent words define the vocabulary's mean direction. */
const MEAN_WORDS = 50_000;

export class OfflineEmbedder implements Embedder {
  readonly id = 'offline:wink-sg-100d-sif';
  readonly dimensions = 100;
  private vectors: WordVectors | undefined;
  private mean: Float32Array = new Float32Array(this.dimensions);
  private readonly loading: Promise<void>;

  /** Starts loading the word vectors at once, without blocking the caller. */
  constructor(path: string) {
    this.loading = loadWordVectors(path).then((v) => {
      if (v.dimensions !== this.dimensions) throw new Error(`${path}: ${v.dimensions} dimensions, expected ${this.dimensions}`);
      this.mean = meanDirection(v, Math.min(MEAN_WORDS, v.size));
      this.vectors = v;
    });
    this.loading.catch(() => undefined);
  }

  ready(): Promise<void> {
    return this.loading;
  }

  get loaded(): boolean {
    return this.vectors !== undefined;
  }

  async embed(texts: string[]): Promise<Float32Array[]> {
    await this.loading;
    return texts.map((t) => this.embedOne(t));
  }

  embedOne(text: string): Float32Array {
    const wv = this.vectors!;
    const out = new Float32Array(this.dimensions);
    for (const m of text.toLowerCase().matchAll(TOKEN)) {
      const rank = wv.rank(m[0]);
      if (rank === undefined) continue;
      wv.accumulate(rank, SIF_A / (SIF_A + zipf(rank)), out);
    }
    const norm = l2(out);
    if (norm === 0) return out; // no known word: a zero vector, which the index leaves out
    for (let i = 0; i < out.length; i++) out[i] = out[i]! / norm - this.mean[i]!;
    return out;
  }
}

/** Euclidean norm. Math.hypot(...v) spreads 100 arguments per call: 4 µs, this is 0.1 µs. */
function l2(v: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < v.length; i++) sum += v[i]! * v[i]!;
  return Math.sqrt(sum);
}

/** The mean of the unit vectors of the `count` most frequent words. */
function meanDirection(wv: WordVectors, count: number): Float32Array {
  const mean = new Float32Array(wv.dimensions);
  const one = new Float32Array(wv.dimensions);
  for (let rank = 0; rank < count; rank++) {
    one.fill(0);
    wv.accumulate(rank, 1, one);
    const norm = l2(one) || 1;
    for (let i = 0; i < one.length; i++) mean[i]! += one[i]! / norm / count;
  }
  return mean;
}
