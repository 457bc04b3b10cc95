/**
 * Scale-out on NATS JetStream: the same HTTP writes and fan-out on three set-ups measured in one
 * run: the embedded log (one node, LevelDB), one node on a 3-server JetStream cluster (streams
 * with 3 replicas), and two nodes on that cluster. For each: one client writing sequentially
 * (latency), 16 clients in a closed loop spread over the nodes (throughput), and fan-out: a
 * subscriber on the last node receiving what a client writes through the first at a fixed rate
 * (with two nodes, across nodes). Search is off on every node, so the numbers are the log's.
 * Everything runs on this one machine: the NATS servers, the nodes and the clients share its cores.
 */
import { jetstream, jetstreamManager, StorageType } from '@nats-io/jetstream';
import { connect as natsConnect } from '@nats-io/transport-node';
import WebSocket from 'ws';
import { unpack } from 'msgpackr';
import { ENGRAM_DURABILITY, startEngram, type BenchServer } from './lib/engram-server.js';
import { closedLoopOps, openLoopOps } from './lib/load.js';
import { NatsCluster, natsMissing } from './lib/nats-cluster.js';
import { announceProcess, describeSystem, duration, emit, histogram, nowUs, size, summarize } from './lib/stats.js';
import { openWriters, unitJson, type Writers } from './lib/writers.js';
import { retry } from '../src/storage/nats.js';

const FANOUT_RATE = 200;
const NATS_DURABILITY =
  'JetStream stream with 3 replicas on 3 servers: acknowledged once a majority has it (each server writes it to the OS; nats-server 2.9 fsyncs on its own schedule)';

interface Setup {
  label: string;
  key: string;
  nodes: BenchServer[];
}

async function measure(setup: Setup): Promise<void> {
  const { label, key, nodes } = setup;
  const extra = { nodes: nodes.length, setup: key };
  const ports = nodes.map((n) => n.port);
  // Lanes go round the nodes: lane k writes through node k mod N.
  const byNode: Writers[] = await Promise.all(ports.map((port) => openWriters('engram-http', 16, { httpPort: port })));
  const write = (lane: number, context: string, i: number) => byNode[lane % byNode.length]!.write(lane, context, i);
  try {
    await closedLoopOps(16, size(2000), (lane, i) => write(lane, `warm-${lane}`, i), 2);
    const seq = await closedLoopOps(1, size(5000), (_lane, i) => byNode[0]!.write(0, 'sequential', i), duration(3));
    emit(summarize('scale-out', `${label}: HTTP write, sequential, 1 client`, seq.h, seq.seconds, extra, `scale/${key}/seq`));
    // Each client on its own context: contexts are written in parallel across the cluster.
    const conc = await closedLoopOps(16, size(3000), (lane, i) => write(lane, `concurrent-${lane}`, i), duration(4));
    emit(summarize('scale-out', `${label}: HTTP write, 16 clients over ${nodes.length} node(s), closed loop`, conc.h, conc.seconds, extra, `scale/${key}/16`));
    // And on one shared context: every write is a race for the same head.
    const shared = await closedLoopOps(16, size(3000), (lane, i) => write(lane, 'shared', i), duration(3));
    emit(summarize('scale-out', `${label}: HTTP write, 16 clients on one context, closed loop`, shared.h, shared.seconds, extra, `scale/${key}/shared`));
    await fanout(setup, byNode[0]!);
  } finally {
    await Promise.all(byNode.map((w) => w.close()));
  }
}

/** Writes through the first node at a fixed rate; a WebSocket subscriber on the last node measures each unit's arrival. */
async function fanout(setup: Setup, writer: Writers): Promise<void> {
  const last = setup.nodes[setup.nodes.length - 1]!;
  const ws = new WebSocket(`ws://127.0.0.1:${last.port}/stream?context=fanout`);
  const sent = new Map<number, number>();
  const h = histogram();
  const total = Math.max(20, Math.round(FANOUT_RATE * duration(4)));
  const warm = Math.floor(total / 10);
  let received = 0;
  let done: () => void = () => undefined;
  const all = new Promise<void>((r) => (done = r));
  ws.on('message', (data: Buffer, binary: boolean) => {
    const f = (binary ? unpack(data) : JSON.parse(data.toString())) as { event?: string; workUnit?: { payload: { text: string } } };
    if (f.event !== 'workunit') return;
    const i = Number(/^unit (\d+):/.exec(f.workUnit!.payload.text)?.[1]);
    const t0 = sent.get(i);
    if (t0 !== undefined && i >= warm) h.recordValue(Math.max(1, nowUs() - t0));
    if (++received === total) done();
  });
  await new Promise<void>((ok, fail) => {
    ws.once('message', () => ok()); // the "subscribed" frame
    ws.once('error', fail);
  });
  const started = nowUs();
  await openLoopOps(1, FANOUT_RATE, total / FANOUT_RATE, (_lane, i) => {
    sent.set(i, nowUs());
    return writer.write(0, 'fanout', i);
  });
  // A bound for units that never arrive; cleared, or it would hold the process open 10 s after the run.
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([all, new Promise((r) => (timer = setTimeout(r, 10_000)))]);
  clearTimeout(timer);
  ws.terminate();
  const where = setup.nodes.length > 1 ? 'written on node 1, subscriber on node 2' : 'writer and subscriber on the one node';
  emit(
    summarize(
      'scale-out',
      `${setup.label}: fan-out to 1 WebSocket subscriber, ${where}, ${FANOUT_RATE}/s`,
      h,
      (nowUs() - started) / 1e6,
      { nodes: setup.nodes.length, setup: setup.key, received, sent: total },
      `scale/${setup.key}/fanout`,
    ),
  );
}

/**
 * The floor under Engram on NATS: the same unit published straight to a stream with 3 replicas on
 * this cluster (one client sequentially, then 16 connections in a closed loop), with nothing applied.
 */
async function publishFloor(urls: string[]): Promise<void> {
  const conns = await Promise.all(Array.from({ length: 16 }, (_, k) => natsConnect({ servers: urls[k % urls.length]!, maxReconnectAttempts: 0 })));
  try {
    // A new cluster answers once it has a meta leader.
    const jsm = await retry(() => jetstreamManager(conns[0]!), 60);
    await retry(() => jsm.streams.add({ name: 'FLOOR', subjects: ['floor.>'], storage: StorageType.File, num_replicas: 3 }), 60);
    const js = conns.map((nc) => jetstream(nc));
    const publish = (lane: number, context: string, i: number) => js[lane]!.publish(`floor.${context}`, unitJson(context, i)).then(() => undefined);
    await closedLoopOps(16, size(2000), (lane, i) => publish(lane, `warm${lane}`, i), 2);
    const seq = await closedLoopOps(1, size(5000), (_lane, i) => publish(0, 'sequential', i), duration(3));
    emit(
      summarize(
        'scale-out',
        'floor: JetStream publish with ack, stream with 3 replicas, sequential, 1 client',
        seq.h,
        seq.seconds,
        { setup: 'floor', nodes: 0 },
        'scale/floor/seq',
      ),
    );
    const conc = await closedLoopOps(16, size(3000), (lane, i) => publish(lane, `c${lane}`, i), duration(4));
    emit(
      summarize(
        'scale-out',
        'floor: JetStream publish with ack, stream with 3 replicas, 16 connections, closed loop',
        conc.h,
        conc.seconds,
        { setup: 'floor', nodes: 0 },
        'scale/floor/16',
      ),
    );
  } finally {
    await Promise.all(conns.map((nc) => nc.close()));
  }
}

const natsArgs = (urls: string[], stream: string) => [
  '--search-enabled',
  'false',
  '--storage-backend',
  'nats',
  '--nats-urls',
  urls.join(','),
  '--nats-stream',
  stream,
  '--nats-replicas',
  '3',
];

describeSystem('engram', ENGRAM_DURABILITY);
const embedded = await startEngram(['--search-enabled', 'false']);
try {
  await measure({ label: 'embedded (LevelDB), 1 node', key: 'embedded', nodes: [embedded] });
} finally {
  await embedded.stop();
}

const missing = natsMissing();
if (missing) {
  process.stderr.write(`scale-out on NATS not measured: ${missing}\n`);
} else {
  const cluster = await NatsCluster.start(3, (pid) => announceProcess(pid, 'nats-server (cluster member)'));
  try {
    describeSystem('floor', NATS_DURABILITY);
    await publishFloor(cluster.urls);
    describeSystem('engram', NATS_DURABILITY);
    for (const n of [1, 2]) {
      // A stream of its own per set-up, so each starts empty.
      const stream = `BENCH${n}`;
      const nodes: BenchServer[] = [];
      try {
        for (let k = 0; k < n; k++) nodes.push(await startEngram(natsArgs(k === 0 ? cluster.urls : [...cluster.urls.slice(k), ...cluster.urls.slice(0, k)], stream)));
        await measure({ label: `NATS JetStream (3 servers, R3), ${n} node${n > 1 ? 's' : ''}`, key: `nats-${n}`, nodes });
      } finally {
        await Promise.all(nodes.map((s) => s.stop()));
      }
    }
  } finally {
    await cluster.stop();
  }
}
