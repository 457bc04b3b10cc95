import { after } from 'node:test';
import { LevelLog } from '../../src/storage/log-leveldb.js';
import { MemoryLockStore } from '../../src/storage/lock-store-memory.js';
import { removeDir, tempDir } from '../helpers/server.js';
import { runLockStoreContract } from './lock-store.suite.js';

const cleanup: Array<() => Promise<void> | void> = [];
after(async () => {
  for (const c of cleanup) await c();
});

runLockStoreContract('memory', async () => {
  const store = new MemoryLockStore();
  return { store, reopen: async () => store };
});

runLockStoreContract('leveldb', async () => {
  const dir = tempDir('engram-locks-');
  let log = new LevelLog(dir, { sync: false });
  await log.open();
  cleanup.push(async () => {
    await log.close();
    removeDir(dir);
  });
  return {
    store: log.lockStore(),
    reopen: async () => {
      await log.close();
      log = new LevelLog(dir, { sync: false });
      await log.open();
      return log.lockStore();
    },
  };
});
