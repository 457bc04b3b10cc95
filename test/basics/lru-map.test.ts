import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LruMap } from '../../src/basics/lru-map.js';

test('an LruMap keeps at most its capacity, dropping the least recently used', () => {
  const m = new LruMap<string, number>(2);
  m.set('a', 1);
  m.set('b', 2);
  assert.equal(m.get('a'), 1); // now b is the least recently used
  m.set('c', 3);
  assert.equal(m.size, 2);
  assert.equal(m.has('b'), false);
  assert.equal(m.get('a'), 1);
  assert.equal(m.get('c'), 3);
  m.set('a', 10); // a set refreshes too
  m.set('d', 4);
  assert.deepEqual([m.has('a'), m.has('c'), m.has('d')], [true, false, true]);
  assert.equal(m.get('a'), 10);
  for (let i = 0; i < 1000; i++) m.set(`k${i}`, i);
  assert.equal(m.size, 2);
  assert.throws(() => new LruMap(0), RangeError);
});

test('an LruMap with a weight keeps the sum of its weights within its capacity', () => {
  const m = new LruMap<string, Buffer>(100, (b) => b.length);
  m.set('a', Buffer.alloc(40));
  m.set('b', Buffer.alloc(40));
  m.set('c', Buffer.alloc(40)); // 120 > 100: a goes
  assert.deepEqual([m.has('a'), m.has('b'), m.has('c')], [false, true, true]);
  m.set('b', Buffer.alloc(10)); // replacing b lightens it: 50, nothing goes
  m.set('d', Buffer.alloc(50)); // 100: still within
  assert.equal(m.size, 3);
  m.set('e', Buffer.alloc(500)); // over the capacity alone: it stays, everything else goes
  assert.deepEqual([m.size, m.has('e')], [1, true]);
});
