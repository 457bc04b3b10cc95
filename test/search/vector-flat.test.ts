/** The flat vector index: exact scan of 8-bit copies, checked against a full-precision scan. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { normalize } from '../../src/search/search.js';
import { FlatVectorIndex } from '../../src/search/vector-flat.js';
import { seeded } from '../helpers/seeded.js';

function randomUnit(rand: () => number, dims: number): Float32Array {
  const v = new Float32Array(dims);
  for (let i = 0; i < dims; i++) v[i] = rand() - 0.5;
  return normalize(v);
}

const cosine = (a: Float32Array, b: Float32Array) => a.reduce((s, x, i) => s + x * b[i]!, 0);

for (const dims of [3, 100, 768]) {
  test(`${dims} dimensions: the top 20 of 5,000 are nearly the exact top 20, with estimates close to the cosine`, () => {
    const rand = seeded(dims).next;
    const index = new FlatVectorIndex(dims);
    const vectors: Float32Array[] = [];
    for (let i = 0; i < 5000; i++) {
      const v = randomUnit(rand, dims);
      vectors.push(v);
      index.add(1000 + i * 3, v); // positions need not be dense
    }
    assert.equal(index.size(), 5000);
    let found = 0;
    for (let q = 0; q < 20; q++) {
      const query = randomUnit(rand, dims);
      const exact = vectors.map((v, i) => ({ pos: 1000 + i * 3, s: cosine(query, v) })).sort((a, b) => b.s - a.s);
      // The service asks for twice the depth and re-scores; the true top 20 must be among the first 40.
      const got = index.search(query, 40);
      assert.equal(got.length, 40);
      const positions = new Set(got.map((h) => h.pos));
      for (const e of exact.slice(0, 20)) if (positions.has(e.pos)) found++;
      for (const h of got.slice(0, 5)) {
        const truth = exact.find((e) => e.pos === h.pos)!.s;
        assert.ok(Math.abs(h.similarity - truth) < 0.05, `estimate ${h.similarity} vs cosine ${truth}`);
      }
    }
    assert.ok(found >= 20 * 20 * 0.99, `recall of the true top 20 within 40 candidates: ${found}/400`);
  });
}

test('has, size, positions in order, and a query for more than it holds', () => {
  const index = new FlatVectorIndex(3);
  assert.deepEqual(index.search(new Float32Array([1, 0, 0]), 5), []);
  index.add(5, normalize(new Float32Array([1, 0, 0])));
  index.add(9, normalize(new Float32Array([0, 1, 0])));
  index.add(9, normalize(new Float32Array([0, 1, 0]))); // the same position again: kept once
  assert.equal(index.size(), 2);
  assert.ok(index.has(5) && index.has(9) && !index.has(7));
  assert.throws(() => index.add(7, normalize(new Float32Array([0, 0, 1]))), /arrived after/);
  const hits = index.search(normalize(new Float32Array([1, 0.2, 0])), 10);
  assert.deepEqual(
    hits.map((h) => h.pos),
    [5, 9],
  );
  // Growth past the first allocation keeps every row.
  for (let i = 0; i < 3000; i++) index.add(100 + i, normalize(new Float32Array([0, 0, 1])));
  assert.equal(index.size(), 3002);
  assert.equal(index.search(normalize(new Float32Array([1, 0, 0])), 1)[0]!.pos, 5);
});
