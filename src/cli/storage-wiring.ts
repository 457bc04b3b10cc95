/**
 * The storage a server runs on, by `storage.backend`: the embedded LevelDB log (one server), or
 * the shared log and lock bucket on NATS JetStream (several nodes; docs/scale-out.md).
 */
import { join } from 'node:path';
import type { LockStore } from '../locks/lock-types.js';
import type { Log } from '../engine/log.js';
import type { Config } from '../config/schema.js';
import type { JetStreamLog } from '../storage/log-jetstream.js';
import { LevelLog } from '../storage/log-leveldb.js';
import type { PresenceChannel } from '../streams/presence-sync.js';

export interface StorageParts {
  log: Log;
  locks: LockStore;
  /** Bytes this server's storage takes on disk (the replica's, with nats). */
  storageBytes(): Promise<number>;
  /** Every stored pair as of one moment (GET /admin/backup); with nats, this node's replica: units, contexts and keys, not locks. */
  snapshotPairs(): AsyncGenerator<[string, Buffer]>;
  /** With nats: how presence travels between nodes (usable once the log is open); absent with one node. */
  presence?: PresenceChannel;
}

export async function createStorage(config: Config): Promise<StorageParts> {
  const s = config.storage;
  if (s.backend === 'nats') {
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(s.natsStream)) throw new Error(`storage.natsStream: ${JSON.stringify(s.natsStream)} is not a stream name (1–64 of A-Z a-z 0-9 _ -)`);
    if (s.natsUrls.length === 0) throw new Error('storage.natsUrls: name at least one NATS server, like nats://127.0.0.1:4222');
    // Loaded for this backend only: the NATS client is a tenth of a second of every other start.
    const [{ JetStreamLockStore }, { JetStreamLog }, { NatsLink }, { NatsPresenceChannel }] = await Promise.all([
      import('../storage/lock-store-jetstream.js'),
      import('../storage/log-jetstream.js'),
      import('../storage/nats.js'),
      import('../storage/presence-nats.js'),
    ]);
    const link = new NatsLink({
      servers: s.natsUrls,
      credsFile: s.natsCreds,
      stream: s.natsStream,
      replicas: s.natsReplicas,
      maxAgeMs: s.natsMaxAgeMs,
      duplicateWindowMs: config.idempotency.ttlMs,
      requestTimeoutMs: 10_000,
    });
    const log = new JetStreamLog(link, { replicaDir: join(s.dataDir, 'replica'), verifyOnStart: s.verifyOnStart, cacheSize: s.cacheBytes });
    return {
      log,
      locks: new JetStreamLockStore(link),
      storageBytes: () => log.replica.storageBytes(),
      snapshotPairs: () => replicaPairs(log),
      presence: new NatsPresenceChannel(link),
    };
  }
  const log = new LevelLog(s.dataDir, { sync: s.sync, writeBufferSize: s.writeBufferBytes, cacheSize: s.cacheBytes, verifyOnStart: s.verifyOnStart });
  return { log, locks: log.lockStore(), storageBytes: () => log.storageBytes(), snapshotPairs: () => log.snapshotPairs() };
}

/** The replica's pairs once it holds every write already acknowledged (writers are answered before its copy lands). */
async function* replicaPairs(log: JetStreamLog): AsyncGenerator<[string, Buffer]> {
  await log.stored();
  yield* log.replica.snapshotPairs();
}
