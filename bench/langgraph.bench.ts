/**
 * LangGraph checkpointers, the same graph on each in one run: a chain of 10 nodes whose state
 * carries 1 kB of text that every node replaces (so each step checkpoints 1 kB of changed state),
 * invoked on a new thread each time with `durability: 'sync'` (a step starts only once the
 * previous step's checkpoint is stored, so a step's time includes its checkpoint). Savers:
 *
 * - EngramSaver against an Engram server on loopback (a checkpoint is a work unit), appending over
 *   its WebSocket (the default) and, for comparison, with an HTTP request each;
 * - SqliteSaver (@langchain/langgraph-checkpoint-sqlite, better-sqlite3 in this process, WAL), on a
 *   file in a temp dir;
 * - RedisSaver (@langchain/langgraph-checkpoint-redis) when the Redis server has the modules it
 *   needs (RedisJSON and RediSearch), which Debian's redis-server does not: the result then says
 *   why it could not run;
 * - MemorySaver, LangGraph's in-process dictionary: the floor, what the graph costs by itself.
 *
 * Durability is matched in pairs: Engram without fsync (the default) beside SQLite with
 * `synchronous=NORMAL` (no fsync per commit in WAL mode), and in a full run Engram with
 * `storage.sync: true` beside SQLite's default `synchronous=FULL` (an fsync per commit). The savers
 * take turns in rounds, so drift on the machine lands on all of them alike. A step's time is from
 * one node's start to the next one's (the last: to the invoke's end).
 */
import { performance } from 'node:perf_hooks';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Annotation, END, MemorySaver, START, StateGraph } from '@langchain/langgraph';
import type { BaseCheckpointSaver } from '@langchain/langgraph-checkpoint';
import { SqliteSaver } from '@langchain/langgraph-checkpoint-sqlite';
import { RedisSaver } from '@langchain/langgraph-checkpoint-redis';
import { EngramSaver } from '../src/langgraph/index.js';
import { describeSystem, emit, histogram, quantity, QUICK, size, summarize, TINY, type Histogram, type System } from './lib/stats.js';
import { ENGRAM_DURABILITY, ENGRAM_DURABILITY_SYNC, startEngram, type BenchServer } from './lib/engram-server.js';
import { PEERS, peerVersion, startPeer, type PeerServer } from './lib/peers.js';

const STEPS = 10;
const STATE_BYTES = 1024;
/** Invocations per saver per round, and rounds. */
const PER_ROUND = size(40, 10, 3);
const ROUNDS = TINY ? 1 : QUICK ? 3 : 5;
/** Invocations per saver before measuring: the JIT of client and server, connections. */
const WARM_UP = size(40, 2, 20);

const State = Annotation.Root({
  text: Annotation<string>(),
  step: Annotation<number>(),
});

/** 1 kB of text that differs at every step. */
const textFor = (step: number, run: number) => `${run}:${step}:`.padEnd(STATE_BYTES, 'abcdefghij'.charAt(step % 10));

function chainGraph(saver: BaseCheckpointSaver, marks: number[]) {
  // Node names made in a loop: typed as any string rather than the literal names the builder tracks.
  let g = new StateGraph(State) as unknown as StateGraph<typeof State.spec, typeof State.State, typeof State.Update, string>;
  for (let i = 0; i < STEPS; i++) {
    g = g.addNode(`n${i}`, (s: typeof State.State) => {
      marks.push(performance.now());
      return { text: textFor(i, Number(s.text.split(':')[0])), step: i };
    }) as typeof g;
  }
  g = g.addEdge(START, 'n0') as typeof g;
  for (let i = 1; i < STEPS; i++) g = g.addEdge(`n${i - 1}`, `n${i}`) as typeof g;
  g = g.addEdge(`n${STEPS - 1}`, END) as typeof g;
  return g.compile({ checkpointer: saver });
}

interface Contender {
  label: string;
  system: System;
  durability: string;
  saver: BaseCheckpointSaver;
  steps: Histogram;
  seconds: number;
  invocations: number;
  close(): Promise<void>;
}

const dir = mkdtempSync(join(tmpdir(), 'engram-bench-langgraph-'));
const contenders: Contender[] = [];
const servers: BenchServer[] = [];
let redis: PeerServer | undefined;

function contender(label: string, system: System, durability: string, saver: BaseCheckpointSaver, close: () => Promise<void> = async () => {}): void {
  contenders.push({ label, system, durability, saver, steps: histogram(), seconds: 0, invocations: 0, close });
}

async function sqlite(name: string, synchronous: 'NORMAL' | 'FULL'): Promise<SqliteSaver> {
  const saver = SqliteSaver.fromConnString(join(dir, `${name}.sqlite`));
  (saver as unknown as { setup(): void }).setup?.();
  (saver as unknown as { db: { pragma(s: string): unknown } }).db.pragma(`synchronous=${synchronous}`);
  return saver;
}

try {
  const engram = await startEngram();
  servers.push(engram);
  const ws = new EngramSaver({ url: `http://127.0.0.1:${engram.port}` });
  contender('EngramSaver (WebSocket publish, loopback)', 'engram', ENGRAM_DURABILITY, ws, async () => ws.close());
  // The same server, a request per append: what the socket saves.
  contender('EngramSaver (HTTP requests, loopback)', 'engram', ENGRAM_DURABILITY, new EngramSaver({ url: `http://127.0.0.1:${engram.port}`, transport: 'http' }));
  contender('SqliteSaver (in process, WAL)', 'sqlite', 'SQLite file, WAL, synchronous=NORMAL: written to the OS at commit, not fsynced', await sqlite('normal', 'NORMAL'));
  if (!TINY && !QUICK) {
    const synced = await startEngram(['--storage-sync']);
    servers.push(synced);
    const wsSynced = new EngramSaver({ url: `http://127.0.0.1:${synced.port}` });
    contender('EngramSaver (WebSocket publish, loopback), storage.sync', 'engram', ENGRAM_DURABILITY_SYNC, wsSynced, async () => wsSynced.close());
    contender('SqliteSaver (in process, WAL), synchronous=FULL', 'sqlite', 'SQLite file, WAL, synchronous=FULL (its default): fsynced at commit', await sqlite('full', 'FULL'));
  }
  contender('MemorySaver (in process, the floor)', 'floor', 'none (a dictionary in the process)', new MemorySaver());

  // Redis: only where the server has RedisJSON and RediSearch.
  if (peerVersion('redis') !== null) {
    describeSystem('redis', 'not measured');
    let saver: RedisSaver | undefined;
    // The saver reports each index it fails to create on the console: kept out of the log, the
    // reason is in the result.
    const consoleError = console.error;
    console.error = () => {};
    try {
      redis = await startPeer('redis');
      saver = await RedisSaver.fromUrl(`redis://127.0.0.1:${redis.port}`);
      await chainGraph(saver, []).invoke({ text: textFor(0, 0), step: 0 }, { configurable: { thread_id: 'probe' }, durability: 'sync' });
      const s = saver;
      contender('RedisSaver', 'redis', PEERS.redis.durability, s, async () => void (await s.end()));
    } catch (err) {
      await saver?.end().catch(() => undefined);
      const why = (err instanceof Error ? err.message : String(err))
        .split('\n')[0]!
        .replace(/, with args beginning with.*/, '')
        .slice(0, 120);
      emit(
        quantity('langgraph', 'RedisSaver: could not run', 0, 'steps/s', undefined, {
          unavailable: `it needs the RedisJSON and RediSearch modules, which this Redis (${peerVersion('redis')?.split(' ').slice(0, 3).join(' ')}) does not have: ${why}`,
        }),
      );
    } finally {
      console.error = consoleError;
    }
  }

  const marks: number[] = [];
  let run = 0;
  // A warm-up round per saver (the JIT, connections, the server's first writes), not measured.
  for (const c of contenders) {
    const graph = chainGraph(c.saver, marks);
    for (let i = 0; i < WARM_UP; i++) await graph.invoke({ text: textFor(0, ++run), step: 0 }, { configurable: { thread_id: `warm-${run}` }, durability: 'sync' });
  }
  for (let round = 0; round < ROUNDS; round++) {
    for (const c of contenders) {
      const graph = chainGraph(c.saver, marks);
      const t0 = performance.now();
      for (let i = 0; i < PER_ROUND; i++) {
        marks.length = 0;
        await graph.invoke({ text: textFor(0, ++run), step: 0 }, { configurable: { thread_id: `run-${run}` }, durability: 'sync' });
        marks.push(performance.now());
        if (marks.length !== STEPS + 1) throw new Error(`${c.label}: ${marks.length - 1} steps ran, not ${STEPS}`);
        for (let k = 1; k < marks.length; k++) c.steps.recordValue(Math.max(1, Math.round((marks[k]! - marks[k - 1]!) * 1000)));
      }
      c.seconds += (performance.now() - t0) / 1000;
      c.invocations += PER_ROUND;
    }
  }
  for (const c of contenders) {
    describeSystem(c.system, c.durability);
    const r = summarize(
      'langgraph',
      `${c.label}: ${STEPS}-step graph, ${STATE_BYTES} B state, durability sync`,
      c.steps,
      c.seconds,
      { invocations: c.invocations, rounds: ROUNDS, steps: STEPS, stateBytes: STATE_BYTES },
      `langgraph/${c.durability === ENGRAM_DURABILITY_SYNC || c.durability.includes('FULL') ? 'fsync' : 'os'}`,
    );
    emit(r);
  }
} finally {
  for (const c of contenders) await c.close().catch(() => undefined);
  for (const s of servers) await s.stop();
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
}
