import { after, test } from 'node:test';
import { JetStreamLockStore } from '../../src/storage/lock-store-jetstream.js';
import { NatsLink } from '../../src/storage/nats.js';
import { NatsCluster, natsMissing } from '../helpers/nats-cluster.js';
import { LevelLog } from '../../src/storage/log-leveldb.js';
import { MemoryLockStore } from '../../src/storage/lock-store-memory.js';
import { removeDir, tempDir } from '../helpers/server.js';
import { runLockStoreContract } from './lock-store.suite.js';

const cleanup: Array<() => Promise<void> | void> = [];
after(async () => {
  for (const c of cleanup.reverse()) await c(); // last made, first closed
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

// The shared store, on one nats-server on loopback.
const SKIP = natsMissing();
if (SKIP) {
  test('LockStore contract: jetstream', { skip: `skipped: ${SKIP}` }, () => undefined);
} else {
  let nats: NatsCluster | undefined;
  let buckets = 0;
  const linkTo = async (stream: string) => {
    nats ??= await NatsCluster.start(1);
    const link = new NatsLink({ servers: nats.urls, credsFile: '', stream, replicas: 1, maxAgeMs: 0, duplicateWindowMs: 120_000, requestTimeoutMs: 30_000 });
    await link.open();
    cleanup.push(() => link.close());
    return link;
  };
  cleanup.push(async () => {
    await nats?.stop();
  });
  runLockStoreContract('jetstream', async () => {
    const stream = `LOCKS${++buckets}`;
    return { store: new JetStreamLockStore(await linkTo(stream)), reopen: async () => new JetStreamLockStore(await linkTo(stream)) };
  });
}
