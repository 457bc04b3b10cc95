import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UlidFactory, ulidTime } from '../../src/basics/ids.js';

test('ULIDs are 26 Crockford base32 characters carrying their millisecond', () => {
  const f = new UlidFactory();
  const now = Date.UTC(2026, 10, 22, 10, 0, 0, 123);
  const id = f.next(now);
  assert.match(id, /^[0-9A-HJKMNP-TV-Z]{26}$/);
  assert.equal(ulidTime(id), now);
});

test('ULIDs from one factory strictly increase, within a millisecond and when the clock steps back', () => {
  const f = new UlidFactory();
  const ids: string[] = [];
  for (let i = 0; i < 10_000; i++) ids.push(f.next(1_000_000 + Math.floor(i / 1000)));
  ids.push(f.next(5)); // clock stepped back
  for (let i = 1; i < ids.length; i++) assert.ok(ids[i - 1]! < ids[i]!, `${ids[i - 1]} < ${ids[i]}`);
  assert.equal(new Set(ids).size, ids.length);
});
