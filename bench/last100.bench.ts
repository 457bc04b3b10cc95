/**
 * "The last 100 units of a context", one system per process (`--system engram | redis |
 * nats`): warm (read again and again: Engram's memory tail, Redis in memory, NATS's cache)
 * and cold (each context read once after a restart of the server). The same data on every
 * system: CONTEXTS contexts of 150 units. Engram: GET /workunits/{id}?limit=100&reverse=true;
 * Redis: XREVRANGE key + - COUNT 100 on a stream per context; NATS: a stream per context,
 * its last sequence from the stream info, then an ordered consumer from last-99 fetching 100.
 */
import { rmSync } from 'node:fs';
import { DeliverPolicy } from '@nats-io/jetstream';
import { ENGRAM_DURABILITY, benchDataDir, searchCaughtUp, startEngram } from './lib/engram-server.js';
import { closedLoopOps, connect } from './lib/load.js';
import { startPeer, type PeerServer } from './lib/peers.js';
import { get } from './lib/raw-http.js';
import { describeSystem, duration, emit, option, size, summarize } from './lib/stats.js';
import { NatsPeer, natsStream, openWriters, redisClient, type Endpoints } from './lib/writers.js';

const system = (option('system') ?? 'engram') as 'engram' | 'redis' | 'nats';
const CONTEXTS = size(500, 4, 10);
const PER_CONTEXT = 150;
const context = (c: number) => `ctx-${c}`;

/** A reader of the last 100 units of context `c`, checking that 100 came back. */
type Reader = { read(c: number): Promise<void>; close(): Promise<void> };

async function reader(at: Endpoints): Promise<Reader> {
  if (system === 'engram') {
    const [conn] = await connect(at.httpPort!, 1);
    return {
      read: async (c) => {
        const r = await conn!.request(get(`/workunits/${context(c)}?limit=100&reverse=true`));
        if (r.status !== 200) throw new Error(`read: ${r.status} ${r.body.toString()}`);
      },
      close: async () => conn!.close(),
    };
  }
  if (system === 'redis') {
    const r = await redisClient(at.redisPort!);
    return {
      read: async (c) => {
        const entries = await r.xrevrange(context(c), '+', '-', 'COUNT', 100);
        if (entries.length !== 100) throw new Error(`XREVRANGE gave ${entries.length}`);
      },
      close: async () => void (await r.quit()),
    };
  }
  const n = await NatsPeer.connect(at.natsPort!);
  return {
    read: async (c) => {
      const stream = natsStream(context(c));
      const info = await n.jsm.streams.info(stream);
      const consumer = await n.js.consumers.get(stream, { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: info.state.last_seq - 99 });
      const batch = await consumer.fetch({ max_messages: 100, expires: 5000 });
      let got = 0;
      for await (const m of batch) if (++got === 100 || m.info.pending === 0) break;
      if (got !== 100) throw new Error(`JetStream fetch gave ${got}`);
      await consumer.delete().catch(() => false);
    },
    close: () => n.close(),
  };
}

async function start(dir?: string): Promise<{ at: Endpoints; stop(): Promise<void>; restart(): Promise<{ at: Endpoints; stop(): Promise<void> }> }> {
  if (system === 'engram') {
    const dataDir = dir ?? benchDataDir();
    const server = await startEngram([], dataDir);
    describeSystem('engram', ENGRAM_DURABILITY);
    return {
      at: { httpPort: server.port },
      stop: async () => (await server.stop(), rmSync(dataDir, { recursive: true, force: true })),
      restart: async () => {
        await server.stop();
        const again = await startEngram([], dataDir);
        return { at: { httpPort: again.port }, stop: async () => (await again.stop(), rmSync(dataDir, { recursive: true, force: true })) };
      },
    };
  }
  const peer: PeerServer = await startPeer(system);
  describeSystem(system, peer.durability);
  const at = (p: PeerServer) => (system === 'redis' ? { redisPort: p.port } : { natsPort: p.port });
  return {
    at: at(peer),
    stop: () => peer.stop(),
    restart: async () => {
      const again = await peer.restart();
      return { at: at(again), stop: () => again.stop() };
    },
  };
}

const server = await start();
let running: { stop(): Promise<void> } = server;
try {
  // Fill: every context gets PER_CONTEXT units, written by 16 clients round robin.
  const writers = await openWriters(system === 'engram' ? 'engram-http' : system, 16, server.at);
  for (let c = 0; c < CONTEXTS; c++) await writers.prepare(context(c));
  const perLane = Math.ceil((CONTEXTS * PER_CONTEXT) / 16);
  await closedLoopOps(16, perLane, (lane, i) => writers.write(lane, context(i % CONTEXTS), i, `unit ${i} of context ${i % CONTEXTS}, some ordinary agent chatter`));
  await writers.close();
  if (system === 'engram') await searchCaughtUp(server.at.httpPort!); // indexing the fill, off the read path but on the CPU

  const warmReader = await reader(server.at);
  const hot = Math.min(10, CONTEXTS);
  await closedLoopOps(1, size(2000, 20), (_, i) => warmReader.read(i % hot));
  const warm = await closedLoopOps(1, size(20_000, 50), (_, i) => warmReader.read(i % hot), duration(5));
  emit(summarize('last100', 'warm, 1 client', warm.h, warm.seconds, { contexts: CONTEXTS }, 'last100/warm'));
  await warmReader.close();

  // Cold: a restarted server; each context is read once, in an order unrelated to writing.
  const restarted = await server.restart();
  running = restarted;
  // Engram rebuilds its keyword index from the log at start, on a worker thread: wait for it,
  // so that "cold" measures the read path (LevelDB tables not yet opened or cached), not a
  // read racing start-up indexing for the two cores (docs/performance-notes.md has both).
  if (system === 'engram') await searchCaughtUp(restarted.at.httpPort!);
  const coldReader = await reader(restarted.at);
  const cold = await closedLoopOps(1, CONTEXTS, (_, i) => coldReader.read((i * 7919) % CONTEXTS));
  emit(summarize('last100', 'cold, first read of each context after a restart', cold.h, cold.seconds, { contexts: CONTEXTS }, 'last100/cold'));
  // The same reads once more, now warm, in the same order and as many: a p99 over CONTEXTS reads
  // catches the few stalls of a busy machine that the 20,000 warm reads above dilute, so this is
  // the warm figure the cold one compares with like for like (docs/performance-notes.md).
  const again = await closedLoopOps(1, CONTEXTS, (_, i) => coldReader.read((i * 7919) % CONTEXTS));
  emit(summarize('last100', 'warm again, each context read once more after the cold pass', again.h, again.seconds, { contexts: CONTEXTS }, 'last100/warm-each'));
  await coldReader.close();
} finally {
  await running.stop();
}
