/** The packaged word-vector file: written by the build step, read as views, words found through its hash table. */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { encodeWordVectors, loadWordVectors } from '../../src/search/word-vectors.js';
import { removeDir, tempDir } from '../helpers/server.js';

test('word vectors round-trip: every word found at its first rank, unknown words not, vectors as quantized', async () => {
  const dir = tempDir('engram-wv-');
  try {
    // Enough words for collisions in the table; one spelling twice (the first wins), multi-byte words.
    const words = Array.from({ length: 5000 }, (_, i) => `w${i.toString(36)}`);
    words.push('café', 'naïve', '東京', 'w0');
    const dims = 4;
    const scales = Float32Array.from(words, (_, i) => (i + 1) / 1000);
    const values = Int8Array.from({ length: words.length * dims }, (_, i) => (i % 255) - 127);
    const file = join(dir, 'wv.bin');
    writeFileSync(file, encodeWordVectors(words, dims, scales, values, 'test'));
    const wv = await loadWordVectors(file);
    assert.equal(wv.dimensions, dims);
    assert.equal(wv.count, words.length);
    assert.equal(wv.size, words.length - 1, 'distinct spellings');
    for (let rank = 0; rank < 5000; rank++) assert.equal(wv.rank(words[rank]!), rank, words[rank]);
    assert.equal(wv.rank('w0'), 0, 'the first of two equal spellings');
    assert.deepEqual(
      ['café', 'naïve', '東京'].map((w) => wv.rank(w)),
      [5000, 5001, 5002],
    );
    assert.equal(wv.word(5002), '東京');
    for (const unknown of ['', 'nope', 'w', 'cafe', 'w0 ', 'x'.repeat(400)]) assert.equal(wv.rank(unknown), undefined, unknown);
    const into = new Float32Array(dims);
    wv.accumulate(7, 2, into);
    assert.deepEqual(
      [...into],
      [0, 1, 2, 3].map((d) => Math.fround(values[7 * dims + d]! * Math.fround(scales[7]! * 2))),
    );
    // A file in the old layout, or cut short, is refused with a clear reason.
    writeFileSync(join(dir, 'old.bin'), 'EWV1\n{"dimensions":4}\n');
    await assert.rejects(loadWordVectors(join(dir, 'old.bin')), /older format: run make build/);
    const whole = encodeWordVectors(words, dims, scales, values, 'test');
    writeFileSync(join(dir, 'short.bin'), whole.subarray(0, whole.length - 10));
    await assert.rejects(loadWordVectors(join(dir, 'short.bin')), /cut short or damaged/);
    writeFileSync(join(dir, 'shorter.bin'), whole.subarray(0, 200));
    await assert.rejects(loadWordVectors(join(dir, 'shorter.bin')), /cut short or damaged/);
  } finally {
    removeDir(dir);
  }
});
