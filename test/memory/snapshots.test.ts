/**
 * Projection snapshots: random histories of memory-tool file commands, facts and graph tools,
 * applied through the real services with snapshots on (every few units, so many are written
 * while changes are in flight), across restarts of a LevelDB log in a temp dir. At each stop the
 * state rebuilt from the latest snapshot must deep-equal the state replayed from seq 1, and the
 * rebuild must have read only the units after the snapshot (a count, not a timing).
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { Access, trustedPrincipal } from '../../src/tenancy/access.js';
import { ClientRegistry } from '../../src/tenancy/client-registry.js';
import { Engine } from '../../src/engine/engine.js';
import type { Log } from '../../src/engine/log.js';
import { Gate } from '../../src/gate/gate.js';
import { LockManager } from '../../src/locks/locks.js';
import { NO_QUOTAS } from '../../src/tenancy/quotas.js';
import { Router } from '../../src/streams/router.js';
import { MemoryLockStore } from '../../src/storage/lock-store-memory.js';
import { MemoryLog } from '../../src/storage/log-memory.js';
import { LevelLog } from '../../src/storage/log-leveldb.js';
import { repairDataDir } from '../../src/storage/repair.js';
import { createAgentMemory, type AgentMemory } from '../../src/memory/agent-memory.js';
import { FILES_PROJECTION, memoryContext } from '../../src/memory/memory.js';
import { FACTS_PROJECTION, factsContext } from '../../src/memory/facts.js';
import { GRAPH_PROJECTION, graphContext } from '../../src/memory/graph.js';
import { Projection, type ProjectionOf } from '../../src/memory/projection.js';
import { decodeSnapshot, encodeSnapshot } from '../../src/memory/snapshots.js';
import type { ProjectionObserver } from '../../src/basics/observer.js';
import { JetStreamLog } from '../../src/storage/log-jetstream.js';
import { NatsLink } from '../../src/storage/nats.js';
import { NatsCluster, natsMissing } from '../helpers/nats-cluster.js';
import { removeDir, tempDir } from '../helpers/server.js';
import { seeded } from '../helpers/seeded.js';

const CLIENT = 'tester';
const p = trustedPrincipal(CLIENT);
const SPACES = ['s1', 's2'];
const dirs: string[] = [];
after(() => dirs.forEach(removeDir));

interface Stack {
  log: Log;
  engine: Engine;
  gate: Gate;
  memory: AgentMemory;
}

async function openStack(log: Log, every: number, observer?: ProjectionObserver): Promise<Stack> {
  const locks = new LockManager(new MemoryLockStore(), { defaultTtlMs: 30_000, maxTtlMs: 60_000, maxWaitMs: 10_000 });
  const engine = new Engine(log, { fences: locks, idempotencyTtlMs: 60_000, maxBatchUnits: 1024, tailUnits: 64, maxCachedContexts: 1000, maxTailBytes: 1 << 20 });
  await engine.open();
  await locks.open();
  const gate = new Gate({ engine, locks, router: new Router(engine), access: new Access([]), clients: new ClientRegistry(NO_QUOTAS, async () => 0), search: undefined, log });
  const memory = createAgentMemory(gate, { similarity: 1 }, { snapshots: { store: log, every }, observer });
  return { log, engine, gate, memory };
}

async function closeStack(s: Stack): Promise<void> {
  await Promise.all([s.memory.files.idle(), s.memory.facts.idle(), s.memory.graph.idle()]);
  await s.engine.close();
}

/** One random operation on one of the spaces, through the services; refused ones are part of the history too. */
function operations(seed: number): (m: AgentMemory) => Promise<void> {
  const r = seeded(seed);
  let token = 0;
  const paths = ['/memories/a.md', '/memories/b.md', '/memories/d/c.md', '/memories/d/e/f.md', '/memories/g.txt'];
  const dirsOf = ['/memories/d', '/memories/d/e'];
  const text = () => {
    const lines = Array.from({ length: 1 + r.int(4) }, () => `t${token++} ${r.pick(['plain', 'ünïcödé', '🙂 emoji', 'lone \ud83d half', 'tab\there'])}`);
    return lines.join('\n');
  };
  const names = ['alice', 'bob', 'carol', 'dave', 'eve'];
  const relation = () => ({ from: r.pick(names), to: r.pick(names), relationType: r.pick(['knows', 'reviews']) });
  const swallow = (err: unknown) => {
    // Tool refusals (a missing entity, an invalid field) are answers; anything else fails the test.
    const code = (err as { code?: string }).code;
    if (code !== 'NOT_FOUND' && code !== 'INVALID_FIELD') throw err;
  };
  return async (m) => {
    const space = r.pick(SPACES);
    const kind = r.int(10);
    if (kind < 5) {
      const path = r.pick(paths);
      const n = r.int(6);
      const input =
        n === 0
          ? { command: 'create', path, file_text: text() }
          : n === 1
            ? { command: 'str_replace', path, old_str: `t${r.int(token + 1)} `, new_str: `t${token++} replaced ` }
            : n === 2
              ? { command: 'insert', path, insert_line: r.int(3), insert_text: text() }
              : n === 3
                ? { command: 'delete', path: r.next() < 0.2 ? r.pick(dirsOf) : path }
                : n === 4
                  ? { command: 'rename', old_path: r.next() < 0.2 ? r.pick(dirsOf) : path, new_path: r.pick([...paths, '/memories/x/moved.md']) }
                  : { command: 'create', path: `/memories/n${r.int(30)}.md`, file_text: text() };
      await m.files.command(p, space, input, `agent-${r.int(3)}`);
    } else if (kind < 7) {
      const key = `k${r.int(8)}`;
      if (r.next() < 0.2) await m.facts.forget(p, space, key).catch(swallow);
      else await m.facts.remember(p, space, { key, value: `value ${r.int(5)} of ${key}` }, `agent-${r.int(3)}`).catch(swallow);
    } else {
      const n = r.int(6);
      const [tool, args] =
        n === 0
          ? ['create_entities', { entities: [{ name: r.pick(names), entityType: 'person', observations: [`o${r.int(5)}`] }] }]
          : n === 1
            ? ['create_relations', { relations: [relation(), relation()] }]
            : n === 2
              ? ['add_observations', { observations: [{ entityName: r.pick(names), contents: [`o${r.int(8)}`, `o${r.int(8)}`] }] }]
              : n === 3
                ? ['delete_entities', { entityNames: [r.pick(names)] }]
                : n === 4
                  ? ['delete_observations', { deletions: [{ entityName: r.pick(names), observations: [`o${r.int(8)}`] }] }]
                  : ['delete_relations', { relations: [relation()] }];
      await m.graph.run(p, space, tool, args).catch(swallow);
    }
  };
}

const PROJECTIONS: Array<[string, ProjectionOf<unknown>, (space: string) => string]> = [
  ['files', FILES_PROJECTION as ProjectionOf<unknown>, memoryContext],
  ['facts', FACTS_PROJECTION as ProjectionOf<unknown>, factsContext],
  ['graph', GRAPH_PROJECTION as ProjectionOf<unknown>, graphContext],
];

/** A state with each Map as its list of entries, in order (and each object's own fields). */
function ordered(v: unknown): unknown {
  if (v instanceof Map) return [...v].map(([k, x]) => [k, ordered(x)]);
  if (Array.isArray(v)) return v.map(ordered);
  if (typeof v === 'object' && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, ordered(x)]));
  return v;
}

/**
 * For every projection and space: a fresh state from the latest snapshot equals a fresh full
 * replay, and it read exactly the units after that snapshot. Returns how many rebuilds started
 * from a snapshot.
 */
async function checkRebuilds(s: Stack, every: number): Promise<number> {
  let fromSnapshots = 0;
  for (const [name, of, contextOf] of PROJECTIONS) {
    for (const space of SPACES) {
      const contextId = contextOf(space);
      const head = await s.gate.getContext(p, contextId).then(
        (c) => c.headSeq,
        () => 0,
      );
      // Read before the rebuild: a rebuild that replays `every` units or more writes a newer one.
      const latest = await s.log.latestSnapshot(CLIENT, contextId, name, head);
      const snapped = new Projection(s.gate, of, { snapshots: { store: s.log, every } });
      const full = new Projection(s.gate, of);
      const fromSnapshot = await snapped.read(p, contextId);
      const replayed = await full.read(p, contextId);
      assert.deepStrictEqual(fromSnapshot, replayed, `${name} ${space}: the state from the snapshot is the full replay's`);
      // deepStrictEqual does not see the order of a Map's entries; the projections' answers do.
      assert.deepStrictEqual(ordered(fromSnapshot), ordered(replayed), `${name} ${space}: in the same order`);
      assert.equal(full.stats().unitsReplayed, head, `${name} ${space}: a full replay reads every unit`);
      const stats = snapped.stats();
      if (latest === undefined) {
        assert.equal(stats.unitsReplayed, head);
      } else {
        assert.equal(stats.snapshotsLoaded, 1, `${name} ${space}: started from the snapshot at ${latest.seq}`);
        assert.equal(stats.unitsReplayed, head - latest.seq, `${name} ${space}: only the units after seq ${latest.seq} were read`);
        fromSnapshots++;
      }
      await snapped.snapshotsSettled();
    }
  }
  return fromSnapshots;
}

for (const backend of ['leveldb', 'memory'] as const) {
  describe(`projection snapshots on ${backend}`, () => {
    for (const seed of [1, 2, 3]) {
      test(`random history (seed ${seed}): rebuilds from snapshots equal full replays, across restarts`, async () => {
        const every = 7 + seed * 4;
        const dir = tempDir('engram-snap-');
        dirs.push(dir);
        // The memory log lives with its engine: there, "a restart" is new projections over the same log.
        const make = (): Log => (backend === 'leveldb' ? new LevelLog(dir, { sync: false }) : new MemoryLog());
        const step = operations(seed);
        const written = { n: 0 };
        const observer: ProjectionObserver = { replayed: () => undefined, snapshot: (_, e) => void (e === 'written' && written.n++) };
        let stack = await openStack(make(), every, observer);
        let fromSnapshots = 0;
        for (let round = 0; round < 4; round++) {
          for (let i = 0; i < 150; i++) await step(stack.memory);
          if (backend === 'leveldb') {
            await closeStack(stack);
            // A restart: a new log object over the same storage, new services with empty states.
            stack = await openStack(make(), every, observer);
          } else {
            await Promise.all([stack.memory.files.idle(), stack.memory.facts.idle(), stack.memory.graph.idle()]);
          }
          fromSnapshots += await checkRebuilds(stack, every);
        }
        await closeStack(stack);
        assert.ok(written.n >= 10, `snapshots were written while the history grew (${written.n})`);
        assert.ok(fromSnapshots >= 12, `rebuilds started from snapshots (${fromSnapshots} of 24)`);
      });
    }
  });
}

describe('projection snapshots under concurrent changes and reads', () => {
  test('four writers and a reader at once, snapshots every 3 units: every rebuild equals the full replay', async () => {
    const dir = tempDir('engram-snap-conc-');
    dirs.push(dir);
    const every = 3;
    let s = await openStack(new LevelLog(dir, { sync: false }), every);
    const writers = [21, 22, 23, 24].map((seed) => operations(seed));
    let reading = true;
    const reader = (async () => {
      while (reading) {
        // Reads of caught-up states resolve without I/O: let the writers' storage callbacks in.
        await new Promise((r) => setImmediate(r));
        for (const space of SPACES) {
          await s.memory.files.tree(p, space);
          await s.memory.facts.list(p, space, true);
          await s.memory.graph.run(p, space, 'read_graph', {});
        }
      }
    })();
    await Promise.all(
      writers.map(async (step) => {
        for (let i = 0; i < 80; i++) await step(s.memory);
      }),
    );
    reading = false;
    await reader;
    await closeStack(s);
    s = await openStack(new LevelLog(dir, { sync: false }), every);
    assert.ok((await checkRebuilds(s, every)) >= 4);
    await closeStack(s);
  });
});

describe('projection snapshots on a shared JetStream log', () => {
  const skip = natsMissing();
  test('each node keeps its own, in its replica, and rebuilds from them to the same state', { skip: skip ?? false }, async (t) => {
    const nats = await NatsCluster.start(1);
    const every = 9;
    try {
      const node = () => {
        const dir = tempDir('engram-snap-replica-');
        dirs.push(dir);
        const link = new NatsLink({ servers: nats.urls, credsFile: '', stream: 'SNAPS', replicas: 1, maxAgeMs: 0, duplicateWindowMs: 120_000, requestTimeoutMs: 30_000 });
        return new JetStreamLog(link, { replicaDir: dir, verifyOnStart: false });
      };
      const a = await openStack(node(), every);
      const b = await openStack(node(), every);
      t.after(() => Promise.all([closeStack(a), closeStack(b)]));
      const step = operations(11);
      for (let i = 0; i < 200; i++) await step(a.memory);
      await Promise.all([a.memory.files.idle(), a.memory.facts.idle(), a.memory.graph.idle()]);
      // Node A wrote snapshots into its replica; node B has none of them.
      let onA = 0;
      for (const [name, , contextOf] of PROJECTIONS) {
        for (const space of SPACES) {
          if ((await a.log.latestSnapshot(CLIENT, contextOf(space), name, 1e9)) !== undefined) onA++;
          assert.equal(await b.log.latestSnapshot(CLIENT, contextOf(space), name, 1e9), undefined);
        }
      }
      assert.ok(onA >= 4, `node A has its snapshots (${onA})`);
      // B catches up with the stream, replays in full (and snapshots what it replayed), then rebuilds from its own.
      await b.gate.catchUp();
      assert.equal(await checkRebuilds(b, every), 0);
      assert.ok((await checkRebuilds(b, every)) >= 4, 'node B rebuilt from its own snapshots');
      // Both nodes' states agree.
      for (const [, of, contextOf] of PROJECTIONS) {
        for (const space of SPACES) {
          const onNodeA = await new Projection(a.gate, of).read(p, contextOf(space));
          const onNodeB = await new Projection(b.gate, of, { snapshots: { store: b.log, every } }).read(p, contextOf(space));
          assert.deepStrictEqual(ordered(onNodeB), ordered(onNodeA));
        }
      }
    } finally {
      t.after(() => nats.stop());
    }
  });
});

describe('a snapshot that cannot be trusted is ignored', () => {
  test('undecodable bytes, an unknown version, another history, another seq: each rejected, the state replayed from seq 1', async () => {
    const log = new MemoryLog();
    const s = await openStack(log, 5);
    for (let i = 0; i < 12; i++) await s.memory.files.command(p, 's1', { command: 'create', path: `/memories/f${i}.md`, file_text: `text ${i}` });
    await s.memory.files.idle();
    const contextId = memoryContext('s1');
    const view = await s.gate.getContext(p, contextId);
    const codec = FILES_PROJECTION.snapshot!;
    // A state that differs from the log's: trusted, it would show.
    const wrong = FILES_PROJECTION.empty();
    wrong.files.set('/memories/bogus.md', 'never written');
    const bad: Array<[string, Uint8Array]> = [
      ['garbage', Uint8Array.from([0xc1, 0xff, 0x00])],
      ['unknown version', encodeSnapshot({ ...codec, version: codec.version + 1 }, wrong, 12, view.createdAt)],
      ['another history of the context', encodeSnapshot(codec, wrong, 12, '1999-01-01T00:00:00.000Z')],
      ['bytes of another seq', encodeSnapshot(codec, wrong, 11, view.createdAt)],
      ['another projection', encodeSnapshot({ ...codec, name: 'graph' }, wrong, 12, view.createdAt)],
    ];
    for (const [what, data] of bad) {
      await log.deleteSnapshots(CLIENT, contextId);
      await log.putSnapshot(CLIENT, contextId, { projection: 'files', seq: 12, data });
      const proj = new Projection(s.gate, FILES_PROJECTION, { snapshots: { store: log, every: 1000 } });
      const state = await proj.read(p, contextId);
      assert.equal(state.files.has('/memories/bogus.md'), false, what);
      assert.equal(state.files.size, 12, what);
      assert.deepEqual([proj.stats().snapshotsRejected, proj.stats().snapshotsLoaded, proj.stats().unitsReplayed], [1, 0, 12], what);
    }
    // The same bytes, well made: trusted (which is why the ones above must be refused).
    await log.deleteSnapshots(CLIENT, contextId);
    await log.putSnapshot(CLIENT, contextId, { projection: 'files', seq: 12, data: encodeSnapshot(codec, wrong, 12, view.createdAt) });
    const trusting = new Projection(s.gate, FILES_PROJECTION, { snapshots: { store: log, every: 1000 } });
    assert.equal((await trusting.read(p, contextId)).files.has('/memories/bogus.md'), true);
    await closeStack(s);
  });

  test('the encoding carries every string exactly: msgpack when well-formed, JSON with a lone surrogate', () => {
    const codec = FILES_PROJECTION.snapshot!;
    for (const text of ['plain ünïcödé 🙂\ttab\n', 'a lone \ud83d half', '\udc00 and \ud800']) {
      const files = FILES_PROJECTION.empty();
      files.apply({ op: 'write', path: '/memories/a.md', text });
      files.apply({ op: 'write', path: '/memories/0.md', text: 'written second, kept second' });
      const bytes = encodeSnapshot(codec, files, 3, 'o');
      const back = decodeSnapshot(codec, bytes, 3, 'o');
      assert.deepStrictEqual(back, files);
      assert.deepStrictEqual([...back!.files.keys()], ['/memories/a.md', '/memories/0.md']);
      // One bit changed anywhere: refused.
      for (const at of [0, bytes.length >> 1, bytes.length - 1]) {
        const bad = Uint8Array.from(bytes);
        bad[at]! ^= 0x10;
        assert.equal(decodeSnapshot(codec, bad, 3, 'o'), undefined, `bit flipped at ${at}`);
      }
    }
  });

  test('engram repair deletes every snapshot (a repaired history may differ from what they cover) and keeps the units', async () => {
    const dir = tempDir('engram-snap-repair-');
    dirs.push(dir);
    let s = await openStack(new LevelLog(dir, { sync: false }), 5);
    for (let i = 0; i < 12; i++) await s.memory.files.command(p, 's1', { command: 'create', path: `/memories/f${i}.md`, file_text: `${i}` });
    await closeStack(s);
    const log = new LevelLog(dir, { sync: false });
    await log.open();
    assert.equal((await log.latestSnapshot(CLIENT, memoryContext('s1'), 'files', 100))?.seq, 10);
    await log.close();
    await repairDataDir(dir, { copy: false });
    s = await openStack(new LevelLog(dir, { sync: false }), 5);
    assert.equal(await s.log.latestSnapshot(CLIENT, memoryContext('s1'), 'files', 100), undefined);
    assert.equal((await s.memory.files.tree(p, 's1')).length, 12);
    await closeStack(s);
  });

  test('a deleted context takes its snapshots with it; its new history rebuilds from nothing', async () => {
    for (const backend of ['memory', 'leveldb'] as const) {
      const dir = tempDir('engram-snap-del-');
      dirs.push(dir);
      const log = backend === 'memory' ? new MemoryLog() : new LevelLog(dir, { sync: false });
      const s = await openStack(log, 5);
      for (let i = 0; i < 12; i++) await s.memory.files.command(p, 's1', { command: 'create', path: `/memories/old${i}.md`, file_text: 'old' });
      await s.memory.files.idle();
      const contextId = memoryContext('s1');
      assert.equal((await log.latestSnapshot(CLIENT, contextId, 'files', 100))?.seq, 10);
      await s.gate.deleteContext(p, contextId);
      assert.equal(await log.latestSnapshot(CLIENT, contextId, 'files', 100), undefined, backend);
      // A new history of the id, longer than where the old snapshot was: only its own files.
      for (let i = 0; i < 13; i++) await s.memory.files.command(p, 's1', { command: 'create', path: `/memories/new${i}.md`, file_text: 'new' });
      await s.memory.files.idle();
      const fresh = new Projection(s.gate, FILES_PROJECTION, { snapshots: { store: log, every: 5 } });
      const state = await fresh.read(p, contextId);
      assert.deepEqual(
        [...state.files.keys()],
        Array.from({ length: 13 }, (_, i) => `/memories/new${i}.md`),
        backend,
      );
      assert.deepStrictEqual(ordered(state), ordered(await new Projection(s.gate, FILES_PROJECTION).read(p, contextId)));
      await closeStack(s);
    }
  });

  test('snapshots off (every 0): none written, none read', async () => {
    const log = new MemoryLog();
    const s = await openStack(log, 0);
    for (let i = 0; i < 20; i++) await s.memory.files.command(p, 's1', { command: 'create', path: `/memories/f${i}.md`, file_text: `${i}` });
    await s.memory.files.idle();
    assert.equal(await log.latestSnapshot(CLIENT, memoryContext('s1'), 'files', 100), undefined);
    await closeStack(s);
  });

  test('a snapshot keeps the one before it and drops older ones', async () => {
    const log = new MemoryLog();
    const s = await openStack(log, 5);
    for (let i = 0; i < 23; i++) {
      await s.memory.files.command(p, 's1', { command: 'create', path: `/memories/f${i}.md`, file_text: `${i}` });
      await s.memory.files.idle();
    }
    const contextId = memoryContext('s1');
    const kept: number[] = [];
    for (let at = 100; ;) {
      const snap = await log.latestSnapshot(CLIENT, contextId, 'files', at);
      if (snap === undefined) break;
      kept.unshift(snap.seq);
      at = snap.seq - 1;
    }
    assert.deepEqual(kept, [15, 20]);
    await closeStack(s);
  });
});
