/**
 * Rebuilding a memory file with a long history: one file edited 100,000 times with str_replace
 * through the memory service (as the memory tool's commands arrive), on the embedded LevelDB log,
 * with snapshots every 1,000 units (the default of memory.snapshotEvery). Then the log is closed
 * and opened again (a restart) before each rebuild, and the first read of the file is timed: with
 * snapshots off (a full replay from seq 1) and with snapshots on (the latest snapshot and the
 * units after it), in alternating rounds; the median of each is reported, with the units each
 * replayed. 100,000 edits leave the head one unit past a snapshot (the best case), so the
 * rebuild from a snapshot is measured again after 998 more edits: 999 units past it, the most
 * there can be with snapshots every 1,000. In process: no server, no network, so the figure is
 * the rebuild itself.
 */
import { performance } from 'node:perf_hooks';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Access, trustedPrincipal } from '../src/tenancy/access.js';
import { ClientRegistry } from '../src/tenancy/client-registry.js';
import { Engine } from '../src/engine/engine.js';
import { Gate } from '../src/gate/gate.js';
import { LockManager } from '../src/locks/locks.js';
import { NO_QUOTAS } from '../src/tenancy/quotas.js';
import { Router } from '../src/streams/router.js';
import { MemoryLockStore } from '../src/storage/lock-store-memory.js';
import { LevelLog } from '../src/storage/log-leveldb.js';
import { FILES_PROJECTION, MemoryService, memoryContext } from '../src/memory/memory.js';
import { MEMORY_FILE_MAX, MEMORY_SPACE_MAX } from '../src/memory/memory-files.js';
import { encodeSnapshot } from '../src/memory/snapshots.js';
import type { ProjectionObserver } from '../src/basics/observer.js';
import { describeSystem, emit, quantity, QUICK, size, TINY } from './lib/stats.js';
import { ENGRAM_DURABILITY } from './lib/engram-server.js';

const EDITS = size(100_000, 2_500, 5_000);
const EVERY = 1_000;
const ROUNDS = TINY ? 1 : QUICK ? 2 : 5;
const LINES = 40;
const SPACE = 'bench';
const PATH = '/memories/notes.md';
const p = trustedPrincipal('bench');

interface Stack {
  engine: Engine;
  log: LevelLog;
  files: MemoryService;
  replayed: { n: number; loaded: number };
}

async function open(dir: string, every: number): Promise<Stack> {
  const log = new LevelLog(dir, { sync: false });
  const locks = new LockManager(new MemoryLockStore(), { defaultTtlMs: 30_000, maxTtlMs: 60_000, maxWaitMs: 10_000 });
  const engine = new Engine(log, { fences: locks, idempotencyTtlMs: 60_000, maxBatchUnits: 1024, tailUnits: 256, maxCachedContexts: 1000, maxTailBytes: 16 << 20 });
  await engine.open();
  await locks.open();
  const gate = new Gate({ engine, locks, router: new Router(engine), access: new Access([]), clients: new ClientRegistry(NO_QUOTAS, async () => 0), search: undefined, log });
  const replayed = { n: 0, loaded: 0 };
  const observer: ProjectionObserver = { replayed: (_, n) => void (replayed.n += n), snapshot: (_, e) => void (e === 'loaded' && replayed.loaded++) };
  const files = new MemoryService(gate, { snapshots: { store: log, every }, observer });
  return { engine, log, files, replayed };
}

async function close(s: Stack): Promise<void> {
  await s.files.idle();
  await s.engine.close();
}

const dir = mkdtempSync(join(tmpdir(), 'engram-bench-rebuild-'));
describeSystem('engram', ENGRAM_DURABILITY);
try {
  // The history: EDITS str_replace commands on one file of LINES lines, each changing one line's value.
  let s = await open(dir, EVERY);
  const values = new Array<number>(LINES).fill(0);
  const line = (i: number) => `L${i}=${values[i]}; a line of notes that an agent keeps editing`;
  const text = () => Array.from({ length: LINES }, (_, i) => line(i)).join('\n');
  const created = await s.files.command(p, SPACE, { command: 'create', path: PATH, file_text: text() });
  if (created.isError) throw new Error(created.result);
  let edits = 0;
  const edit = async (n: number) => {
    for (let k = 0; k < n; k++, edits++) {
      const i = (edits * 7) % LINES;
      const old = `L${i}=${values[i]};`;
      values[i]!++;
      const r = await s.files.command(p, SPACE, { command: 'str_replace', path: PATH, old_str: old, new_str: `L${i}=${values[i]};` });
      if (r.isError) throw new Error(r.result);
    }
  };
  const writeStart = performance.now();
  await edit(EDITS);
  const writeSeconds = (performance.now() - writeStart) / 1000;
  await close(s);

  type Rebuilt = { ms: number; replayed: number; loaded: number };
  /** One rebuild after a restart: the first read of the file, timed. */
  const rebuild = async (every: number): Promise<Rebuilt> => {
    s = await open(dir, every);
    const t0 = performance.now();
    const file = await s.files.file(p, SPACE, PATH);
    const ms = performance.now() - t0;
    if (file.text !== text()) throw new Error('the rebuilt file is not the one written');
    const out = { ms, replayed: s.replayed.n, loaded: s.replayed.loaded };
    await close(s);
    return out;
  };
  const median = (xs: Rebuilt[]) => [...xs].sort((a, b) => a.ms - b.ms)[Math.floor(xs.length / 2)]!;
  const r2 = (x: number) => Math.round(x * 100) / 100;
  /** Warm-ups of each (the OS page cache, the JIT), then alternating rounds of the two. */
  const measure = async (withFull: boolean): Promise<{ full?: Rebuilt; snap: Rebuilt }> => {
    const full: Rebuilt[] = [];
    const snap: Rebuilt[] = [];
    if (withFull) await rebuild(0);
    await rebuild(EVERY);
    for (let r = 0; r < ROUNDS; r++) {
      if (withFull) full.push(await rebuild(0));
      snap.push(await rebuild(EVERY));
    }
    if (snap.some((x) => x.loaded !== 1) || full.some((x) => x.replayed !== edits + 1)) throw new Error('a rebuild did not start where it should have');
    return { full: withFull ? median(full) : undefined, snap: median(snap) };
  };
  const snapshotAt = async () => {
    const log = new LevelLog(dir, { sync: false });
    await log.open();
    const latest = await log.latestSnapshot('bench', memoryContext(SPACE), 'files', edits + 1);
    await log.close();
    return { seq: latest?.seq ?? 0, bytes: latest?.data.byteLength ?? 0 };
  };

  const best = await measure(true);
  const bestAt = await snapshotAt();
  const extra = { edits: EDITS, units: EDITS + 1, snapshotEvery: EVERY, rounds: ROUNDS, fileChars: text().length, snapshotBytes: bestAt.bytes };
  emit(
    quantity('rebuild', `memory file with ${EDITS} edits: full replay after a restart (median of ${ROUNDS})`, r2(best.full!.ms), 'ms', undefined, {
      ...extra,
      kind: 'full',
      replayed: best.full!.replayed,
    }),
  );
  emit(
    quantity(
      'rebuild',
      `memory file with ${EDITS} edits: from the latest snapshot, ${best.snap.replayed} unit(s) past it (median of ${ROUNDS})`,
      r2(best.snap.ms),
      'ms',
      undefined,
      { ...extra, kind: 'snapshot', replayed: best.snap.replayed, snapshotSeq: bestAt.seq },
    ),
  );

  // The head as far past the latest snapshot as it gets.
  s = await open(dir, EVERY);
  await edit(EVERY - 1 - (edits + 1 - bestAt.seq));
  await close(s);
  const worst = await measure(false);
  const worstAt = await snapshotAt();
  emit(
    quantity(
      'rebuild',
      `memory file with ${edits} edits: from the latest snapshot, ${worst.snap.replayed} units past it (median of ${ROUNDS})`,
      r2(worst.snap.ms),
      'ms',
      undefined,
      { ...extra, edits, units: edits + 1, kind: 'snapshot-worst', replayed: worst.snap.replayed, snapshotSeq: worstAt.seq },
    ),
  );
  // What writing one snapshot costs the event loop at the largest a space can be (encoded after a change's answer).
  const big = FILES_PROJECTION.empty();
  const fileText = 'x'.repeat(63) + '\n';
  for (let f = 0; f < MEMORY_SPACE_MAX / MEMORY_FILE_MAX; f++) big.files.set(`/memories/big/${f}.md`, fileText.repeat(MEMORY_FILE_MAX / fileText.length));
  const encodings: number[] = [];
  for (let r = 0; r < ROUNDS + 1; r++) {
    const e0 = performance.now();
    encodeSnapshot(FILES_PROJECTION.snapshot!, big, 1, 'origin');
    encodings.push(performance.now() - e0);
  }
  encodings.shift();
  const encodeMs = [...encodings].sort((x, y) => x - y)[Math.floor(encodings.length / 2)]!;
  emit(
    quantity(
      'rebuild',
      `encoding one snapshot of a full memory space (${MEMORY_SPACE_MAX / MEMORY_FILE_MAX} files, ${MEMORY_SPACE_MAX / (1024 * 1024)} Mi characters)`,
      r2(encodeMs),
      'ms',
      undefined,
      { kind: 'encode', rounds: ROUNDS },
    ),
  );
  emit(
    quantity('rebuild', `the ${EDITS} str_replace commands that wrote the history, one at a time, snapshots on`, Math.round(EDITS / writeSeconds), 'commands/s', undefined, {
      ...extra,
      kind: 'writes',
    }),
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
