import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ClassicLevel } from 'classic-level';
import { pack, unpack } from 'msgpackr';
import { AFTER_SEP, SEP } from '../../src/basics/compound-key.js';
import type { CommitBatch } from '../../src/engine/log.js';
import { LevelLog, StorageOpenError } from '../../src/storage/log-leveldb.js';
import { removeDir, tempDir } from '../helpers/server.js';
import { runLogContract } from './log.suite.js';

const dirs: string[] = [];
after(() => dirs.forEach(removeDir));

runLogContract('leveldb', {
  create: async () => {
    const dir = tempDir('engram-level-');
    dirs.push(dir);
    return new LevelLog(dir, { sync: false });
  },
  reopen: async (log) => {
    await log.close();
    const again = new LevelLog((log as LevelLog).location, { sync: false });
    await again.open();
    return again;
  },
});

test('a second open of the same data dir fails with a clear "in use" error', async () => {
  const dir = tempDir('engram-level-');
  dirs.push(dir);
  const first = new LevelLog(dir, { sync: true });
  await first.open();
  const second = new LevelLog(dir, { sync: true });
  await assert.rejects(second.open(), (err: unknown) => err instanceof StorageOpenError && err.reason === 'locked' && /in use by another process/.test(err.message));
  await first.close();
});

/** Bytes of the files in a directory (LevelDB's tables, logs and manifest). */
function dirBytes(dir: string): number {
  return readdirSync(dir).reduce((n, f) => n + statSync(join(dir, f)).size, 0);
}

/** `count` units of one context, about `size` bytes each of text that does not compress. */
function bigBatch(context: string, from: number, count: number, size: number, pos: { next: number }): CommitBatch {
  const units = [];
  for (let seq = from; seq < from + count; seq++) {
    const id = `${context}-${seq}`;
    units.push({ clientId: 'c', contextId: context, seq, id, pos: pos.next++, json: JSON.stringify({ id, seq, text: randomBytes(size / 2).toString('hex') }) });
  }
  const record = { id: context, displayName: context, agentIds: ['a'], pinnedUnits: [], meta: {}, createdAt: 1, updatedAt: 2, version: 1, headSeq: from + count - 1 };
  return { parts: [{ clientId: 'c', record, changed: from === 1, units, idempotency: [] }] };
}

test('deleting a large context gives its disk space back once LevelDB has compacted the range', async (t) => {
  const dir = tempDir('engram-level-');
  dirs.push(dir);
  const log = new LevelLog(dir, { sync: false });
  await log.open();
  const pos = { next: 1 };
  await log.commit(bigBatch('small', 1, 100, 1024, pos));
  for (let from = 1; from <= 20_000; from += 1000) await log.commit(bigBatch('large', from, 1000, 1024, pos));
  await log.close();
  const before = dirBytes(dir);
  const again = new LevelLog(dir, { sync: false });
  await again.open();
  const d = await again.deleteContext('c', 'large');
  assert.equal(d?.units, 20_000);
  await again.compacted();
  await again.close();
  const after = dirBytes(dir);
  t.diagnostic(`data dir: ${(before / 1e6).toFixed(1)} MB with the context, ${(after / 1e6).toFixed(1)} MB after its deletion`);
  assert.ok(before > 20e6, `the large context takes its room (${before} bytes)`);
  assert.ok(after < before / 4, `the room came back: ${after} of ${before} bytes left`);
  const reopened = new LevelLog(dir, { sync: false });
  await reopened.open();
  assert.equal((await reopened.readUnits('c', 'small', 1, 1000)).length, 100);
  assert.equal(await reopened.lastPosition(), pos.next - 1, 'the deleted positions stay taken');
  await reopened.close();
});

test('units written before the id index held positions are found by a scan and deleted all the same', async () => {
  const dir = tempDir('engram-level-');
  dirs.push(dir);
  const log = new LevelLog(dir, { sync: false });
  await log.open();
  const pos = { next: 1 };
  await log.commit(bigBatch('old', 1, 50, 64, pos));
  await log.commit(bigBatch('kept', 1, 10, 64, pos));
  await log.close();
  // Rewrite the id index as an older build wrote it: [contextId, seq], no position.
  const raw = new ClassicLevel<string, Buffer>(dir, { keyEncoding: 'utf8', valueEncoding: 'buffer' });
  for await (const [key, value] of raw.iterator({ gte: `i${SEP}`, lt: `i${AFTER_SEP}` })) {
    const [contextId, seq] = unpack(value) as [string, number, number];
    await raw.put(key, pack([contextId, seq]));
  }
  await raw.close();
  const again = new LevelLog(dir, { sync: false });
  await again.open();
  const d = await again.deleteContext('c', 'old');
  assert.deepEqual(
    d?.positions,
    Array.from({ length: 50 }, (_, i) => i + 1),
  );
  await again.close();
  const check = new ClassicLevel<string, Buffer>(dir, { keyEncoding: 'utf8', valueEncoding: 'buffer' });
  const left = await check.keys({ gte: `g${SEP}`, lt: `g${AFTER_SEP}` }).all();
  await check.close();
  assert.equal(left.length, 10, 'only the kept context has positions');
});
