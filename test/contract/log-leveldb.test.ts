import assert from 'node:assert/strict';
import { after, test } from 'node:test';
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
