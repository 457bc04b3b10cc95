/** The pure parts of forks (src/engine/forks.ts): lineages, the pieces a range is read from, a fork's first seq. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { forkFirstSeq, inHistory, lineageFor, piecesOf, sharedThrough } from '../../src/engine/forks.js';
import type { ContextRecord, ForkPoint } from '../../src/basics/types.js';

function record(id: string, headSeq: number, lineage?: ForkPoint[], firstSeq?: number): ContextRecord {
  return { id, displayName: id, agentIds: [], pinnedUnits: [], meta: {}, createdAt: 0, updatedAt: 0, version: 1, headSeq, lineage, firstSeq };
}

test('a lineage is the parent lineage cut at the fork seq, then the parent', () => {
  const root = record('root', 10);
  assert.deepEqual(lineageFor(root, 5), [{ contextId: 'root', seq: 5 }]);
  assert.deepEqual(lineageFor(root, 0), []);
  const child = record('child', 9, [{ contextId: 'root', seq: 5 }]);
  assert.deepEqual(lineageFor(child, 7), [
    { contextId: 'root', seq: 5 },
    { contextId: 'child', seq: 7 },
  ]);
  assert.deepEqual(lineageFor(child, 5), [{ contextId: 'root', seq: 5 }], 'at the fork point: nothing of the child');
  assert.deepEqual(lineageFor(child, 3), [{ contextId: 'root', seq: 3 }]);
  assert.equal(sharedThrough(lineageFor(child, 7)), 7);
  assert.equal(sharedThrough([]), 0);
});

test('a range splits into the stretches each context holds, in seq order', () => {
  const lineage = [
    { contextId: 'root', seq: 5 },
    { contextId: 'child', seq: 7 },
  ];
  assert.deepEqual(piecesOf('grand', lineage, 1, 10), [
    { contextId: 'root', lo: 1, hi: 5 },
    { contextId: 'child', lo: 6, hi: 7 },
    { contextId: 'grand', lo: 8, hi: 10 },
  ]);
  assert.deepEqual(piecesOf('grand', lineage, 4, 6), [
    { contextId: 'root', lo: 4, hi: 5 },
    { contextId: 'child', lo: 6, hi: 6 },
  ]);
  assert.deepEqual(piecesOf('grand', lineage, 8, 9), [{ contextId: 'grand', lo: 8, hi: 9 }]);
  assert.deepEqual(piecesOf('plain', [], 1, 3), [{ contextId: 'plain', lo: 1, hi: 3 }]);
});

test('a fork first seq is what retention left along its lineage, never a hole', () => {
  const fork = record('grand', 10, [
    { contextId: 'root', seq: 5 },
    { contextId: 'child', seq: 7 },
  ]);
  const firsts = (m: Record<string, number | undefined>) => (id: string) => (id in m ? m[id] : 1);
  assert.equal(forkFirstSeq(fork, firsts({})), 1);
  assert.equal(forkFirstSeq(fork, firsts({ root: 3 })), 3);
  assert.equal(forkFirstSeq(fork, firsts({ root: 9 })), 6, 'the root trimmed past the fork point: all of its stretch is gone');
  assert.equal(forkFirstSeq(fork, firsts({ root: 2, child: 7 })), 7, 'a later stretch trimmed: the earlier ones go too');
  assert.equal(forkFirstSeq(fork, firsts({ child: undefined })), 8, 'a context of the lineage gone');
  assert.equal(forkFirstSeq({ ...fork, firstSeq: 9 }, firsts({})), 9, 'its own retention');
  assert.ok(inHistory(fork, 'root', 5));
  assert.ok(!inHistory(fork, 'root', 6));
  assert.ok(inHistory(fork, 'child', 6));
  assert.ok(!inHistory(fork, 'child', 8));
  assert.ok(inHistory(fork, 'grand', 8));
});
