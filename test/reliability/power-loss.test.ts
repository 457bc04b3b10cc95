/**
 * Power loss: the data dir lives on a filesystem that keeps an undo log of every byte not yet
 * fsynced (test/helpers/lazyfs.py). Concurrent HTTP writers (idempotency keys; an unanswered write
 * is retried on the next server), lock churn and memory edits run (in half the cycles the writers
 * and memory edits stop shortly before the cut, leaving lock changes as the last writes, which a
 * later unit's fsync of the shared LevelDB log would otherwise make durable); at a seeded random moment the
 * server is killed with SIGKILL and every unsynced write is dropped, as a power cut would. After
 * each restart:
 *   - with storage.sync true: every acknowledged unit is present once, at its seq; seqs are
 *     gap-free; every stored unit is one that was sent, whole; fencing tokens only go up (the
 *     first after a restart is above every one acknowledged before); every acknowledged memory
 *     change (file created, line inserted, file deleted) is there.
 *   - with storage.sync false: the same run, asserting only that the server comes back and holds
 *     nothing corrupt, and counting what was lost (the trade-off docs/reliability.md states).
 * With storage.backend nats (nats-server 2.9, standalone, 1 replica): a cut of the Engram node
 * alone (its replica is a cache, rebuilt from the stream: asserted lossless), and a cut of the whole
 * machine, nats-server's JetStream store included (measured: nats-server 2.9 fsyncs on a 2-minute
 * timer, docs/scale-out.md).
 * ENGRAM_POWER_CYCLES sets the sync-on cycles (make test: 4; make soak: 50), ENGRAM_POWER_OFF_CYCLES
 * the sync-off ones (2; 10), ENGRAM_POWER_NATS_CYCLES the NATS replica's (1; 10),
 * ENGRAM_POWER_NATS_STORE_CYCLES the whole machine's with NATS (0; 10), ENGRAM_POWER_SEED the seed
 * (printed, so a failure can be replayed).
 * Skipped where FUSE cannot be mounted (no /dev/fuse, fusermount or python3-fusepy).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, fdatasyncSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readFileSync, renameSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { EngramClient } from '../../src/client/http-client.js';
import type { NewWorkUnit, WorkUnit } from '../../src/client/types.js';
import { freePort, waitForPort } from '../../bench/lib/peers.js';
import { LazyFs, lazyFsMissing } from '../helpers/lazyfs.js';
import { NATS_SERVER, natsMissing } from '../helpers/nats-cluster.js';
import { seeded } from '../helpers/seeded.js';
import { removeDir, startOnFixedPort, startServer, tempDir, type RunningServer } from '../helpers/server.js';
import { WAIT_MS } from '../helpers/wait.js';

const CYCLES_ON = Number(process.env.ENGRAM_POWER_CYCLES ?? 4);
const CYCLES_OFF = Number(process.env.ENGRAM_POWER_OFF_CYCLES ?? 2);
const SEED = Number(process.env.ENGRAM_POWER_SEED ?? Date.now() % 1_000_000);
const CONTEXTS = ['power/a', 'power/b', 'power/c'];
const SPACE = 'power';
const LOG_FILE = '/memories/log.md';
const LOCK = 'power-lock';
const missing = lazyFsMissing();

export interface PowerFigures {
  sync: boolean;
  where: Where;
  cycles: number;
  /** Units acknowledged over the run, and those not found (at their seq, with their id) after a later power loss. */
  unitsAcked: number;
  unitsLost: number;
  /** Stored units that were never sent, or not whole; contexts whose seqs have a gap. */
  unitsForeign: number;
  gaps: number;
  /** Fencing tokens acknowledged, and those handed out again at or below one acknowledged before. */
  tokens: number;
  tokensBack: number;
  /** Memory changes acknowledged (creates, inserts, deletes), and those missing or undone after a power loss. */
  memoryAcked: number;
  memoryLost: number;
  /** Files the filesystem rolled back, and writes undone, over all the drops. */
  droppedFiles: number;
  droppedWrites: number;
}

interface Ack {
  id: string;
  contextId: string;
  seq: number;
  text: string;
}

/**
 * Where the power is cut. `leveldb`: the embedded log's data dir is on the lossy filesystem.
 * `nats-replica`: storage.backend nats with one nats-server on the normal disk, left running;
 * the Engram node's data dir (its replica, a cache) is on the lossy filesystem. `nats-store`: the
 * whole machine loses power: nats-server's JetStream store and the Engram node's data dir are
 * both on it, and nats-server is killed too.
 */
type Where = 'leveldb' | 'nats-replica' | 'nats-store';

/** nats-server 2.9, standalone JetStream, on `dir`, on a fixed port. */
async function startNats(dir: string, port: number): Promise<ChildProcess> {
  const proc = spawn(NATS_SERVER, ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', dir], { stdio: ['ignore', 'ignore', 'ignore'] });
  const killOnExit = () => proc.kill('SIGKILL');
  process.once('exit', killOnExit);
  proc.once('exit', () => process.removeListener('exit', killOnExit));
  await waitForPort(port, proc, WAIT_MS);
  return proc;
}

async function killNats(proc: ChildProcess | undefined): Promise<void> {
  if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGKILL');
  await exited;
}

/** One run: `cycles` power cuts at seeded random moments on one data dir. */
async function powerLossRun(sync: boolean, cycles: number, seed: number, where: Where = 'leveldb'): Promise<PowerFigures> {
  const random = seeded(seed).next;
  const fs = await LazyFs.mount();
  const dataDir = join(fs.dir, 'data');
  mkdirSync(dataDir);
  const configDir = tempDir('engram-power-config-');
  writeFileSync(join(configDir, 'engram.yaml'), `storage:\n  sync: ${sync}\n`);
  const natsDir = where === 'nats-store' ? join(fs.dir, 'nats') : where === 'nats-replica' ? tempDir('engram-power-nats-') : '';
  const natsPort = where === 'leveldb' ? 0 : await freePort();
  let nats = where === 'leveldb' ? undefined : await startNats(natsDir, natsPort);
  const backend = where === 'leveldb' ? [] : ['--storage-backend', 'nats', '--nats-urls', `nats://127.0.0.1:${natsPort}`, '--nats-replicas', '1'];
  // Search keeps vector snapshots in the data dir too (written without fsync: a lost one is rebuilt).
  const args = (p: number) => ['--addr', `127.0.0.1:${p}`, '--grpc-enabled', 'false', '--config', join(configDir, 'engram.yaml'), ...backend];
  const figures: PowerFigures = {
    sync,
    where,
    cycles,
    unitsAcked: 0,
    unitsLost: 0,
    unitsForeign: 0,
    gaps: 0,
    tokens: 0,
    tokensBack: 0,
    memoryAcked: 0,
    memoryLost: 0,
    droppedFiles: 0,
    droppedWrites: 0,
  };

  const acks: Ack[] = [];
  const lostAcks = new Set<string>();
  const sent = new Set<string>();
  let pending: NewWorkUnit[] = [];
  let tokenHigh = 0;
  // Memory: acknowledged files (path → text), acknowledged deletions, acknowledged lines; what was sent at all.
  const memFiles = new Map<string, string>();
  const memDeleted = new Set<string>();
  const memLines = new Set<string>();
  const memSentPaths = new Set<string>([LOG_FILE]);
  const memSentLines = new Set<string>();
  const memLost = new Set<string>();
  let counter = 0;
  const next = () => counter++;

  let server: RunningServer | undefined;
  try {
    const first = await startOnFixedPort((p) => ({ dataDir, args: args(p) }));
    server = first.server;
    const port = first.port;
    const url = `http://127.0.0.1:${port}`;

    for (let cycle = 0; cycle <= cycles; cycle++) {
      if (cycle > 0) {
        if (where === 'nats-store') nats = await startNats(natsDir, natsPort);
        server = await startServer({ dataDir, args: args(port) });
      }
      const http = new EngramClient(url, { timeoutMs: WAIT_MS });

      // The last cycle's unanswered writes, retried with their idempotency keys.
      for (const unit of pending) {
        const r = await http.write(unit);
        const text = (unit.payload as { text: string }).text;
        if (!acks.some((a) => a.id === r.workUnit.id)) acks.push({ id: r.workUnit.id, contextId: unit.contextId, seq: r.workUnit.seq, text });
      }
      pending = [];

      // ---- what survived the last power cut ----
      for (const contextId of CONTEXTS) {
        const units: WorkUnit[] = [];
        for (let after = 0; ;) {
          // A context none of whose writes survived (or was ever made) does not exist: no units.
          const page = await http.list(contextId, { after, limit: 1000 }).catch((err: unknown) => {
            if ((err as { code?: string }).code === 'CONTEXT_NOT_FOUND') return { workUnits: [], nextCursor: null };
            throw err;
          });
          units.push(...page.workUnits);
          if (page.nextCursor === null) break;
          after = page.nextCursor;
        }
        if (units.some((u, i) => u.seq !== i + 1)) figures.gaps++;
        const texts = new Set<string>();
        for (const u of units) {
          const text = (u.payload as { text?: unknown } | undefined)?.text;
          if (typeof text !== 'string' || !sent.has(text) || texts.has(text)) figures.unitsForeign++;
          else texts.add(text);
        }
        const bySeq = new Map(units.map((u) => [u.seq, u]));
        for (const a of acks) {
          if (a.contextId !== contextId || lostAcks.has(a.id)) continue;
          const u = bySeq.get(a.seq);
          if (u === undefined || u.id !== a.id || (u.payload as { text: string }).text !== a.text) lostAcks.add(a.id);
        }
      }
      const tree = new Map((await http.memoryTree(SPACE).catch(() => [])).map((f) => [f.path, f]));
      for (const path of tree.keys()) if (!memSentPaths.has(path)) figures.unitsForeign++;
      for (const [path, text] of memFiles) {
        if (memLost.has(`file ${path}`)) continue;
        if (!tree.has(path) || (await http.memoryFile(SPACE, path)).text !== text) memLost.add(`file ${path}`);
      }
      for (const path of memDeleted) if (tree.has(path) && !memLost.has(`deleted ${path}`)) memLost.add(`deleted ${path}`);
      if (tree.has(LOG_FILE)) {
        const lines = (await http.memoryFile(SPACE, LOG_FILE)).text.split('\n').filter((l) => l !== '');
        for (const l of lines) if (!memSentLines.has(l)) figures.unitsForeign++;
        if (new Set(lines).size !== lines.length) figures.unitsForeign++;
        const present = new Set(lines);
        for (const l of memLines) if (!present.has(l)) memLost.add(`line ${l}`);
      } else for (const l of memLines) memLost.add(`line ${l}`);
      figures.unitsLost = lostAcks.size;
      figures.memoryLost = memLost.size;
      if (sync) {
        assert.equal(figures.unitsLost, 0, `cycle ${cycle}: acknowledged units lost: ${[...lostAcks].slice(0, 5).join(', ')}`);
        assert.equal(figures.gaps, 0, `cycle ${cycle}: seqs gap-free`);
        assert.equal(figures.memoryLost, 0, `cycle ${cycle}: acknowledged memory changes lost: ${[...memLost].slice(0, 5).join(', ')}`);
      }
      assert.equal(figures.unitsForeign, 0, `cycle ${cycle}: every stored unit was sent, whole, once`);
      if (cycle === cycles) {
        // One more token, after the last cut: above every acknowledged one (the killed holder's lease runs out meanwhile).
        const l = await http.acquire(LOCK, { agentId: 'check', ttlMs: 1000, waitMs: 30_000 });
        figures.tokens++;
        if (l.token <= tokenHigh) figures.tokensBack++;
        if (sync) assert.ok(l.token > tokenHigh, `the token after the last power cut (${l.token}) is above every acknowledged one (${tokenHigh})`);
        break;
      }

      // ---- load, then a power cut at a random moment ----
      let alive = true;
      // Units and memory edits stop before the cut in some cycles, so that lock changes are the last
      // writes: their batches must be synced themselves, not by the next unit's.
      let writing = true;
      const loops: Array<Promise<void>> = [];
      for (let w = 0; w < 3; w++) {
        loops.push(
          (async () => {
            while (alive && writing) {
              const n = next();
              const contextId = CONTEXTS[n % CONTEXTS.length]!;
              const text = `unit ${n} ${'x'.repeat(n % 200)}`;
              sent.add(text);
              const unit: NewWorkUnit = { contextId, agentId: `http-${w}`, type: 'MESSAGE', payload: { text }, idempotencyKey: `k-${seed}-${n}` };
              try {
                const r = await http.write(unit);
                acks.push({ id: r.workUnit.id, contextId, seq: r.workUnit.seq, text });
              } catch {
                if (alive && writing) continue;
                pending.push(unit);
                return;
              }
            }
          })(),
        );
      }
      // Lock churn: a new agent each cycle; every token acknowledged must be above every earlier one.
      loops.push(
        (async () => {
          while (alive) {
            try {
              const l = await http.acquire(LOCK, { agentId: `churn-${cycle}`, ttlMs: 2000, waitMs: 5000 });
              figures.tokens++;
              if (l.token <= tokenHigh) {
                figures.tokensBack++;
                if (sync) assert.fail(`token ${l.token} after ${tokenHigh} (cycle ${cycle})`);
              }
              tokenHigh = Math.max(tokenHigh, l.token);
              await http.release(LOCK, { agentId: `churn-${cycle}`, lockId: l.lockId });
            } catch (err) {
              if (!alive) return;
              if (err instanceof assert.AssertionError) throw err;
            }
          }
        })(),
      );
      // Memory edits: create a note, insert a line at the top of the log file, delete an acknowledged note.
      loops.push(
        (async () => {
          while (alive && writing) {
            const n = next();
            let path = '';
            try {
              if (n % 3 === 0) {
                path = `/memories/notes/n-${n}.md`;
                memSentPaths.add(path);
                const r = await http.memory(SPACE, { command: 'create', path, file_text: `note ${n}` }, 'mem');
                assert.equal(r.isError, false, r.result);
                memFiles.set(path, `note ${n}`);
                figures.memoryAcked++;
              } else if (n % 3 === 1) {
                const line = `line ${n}`;
                memSentLines.add(line);
                let r = await http.memory(SPACE, { command: 'insert', path: LOG_FILE, insert_line: 0, insert_text: line }, 'mem');
                if (r.isError && r.result.includes('does not exist')) {
                  await http.memory(SPACE, { command: 'create', path: LOG_FILE, file_text: '' }, 'mem');
                  r = await http.memory(SPACE, { command: 'insert', path: LOG_FILE, insert_line: 0, insert_text: line }, 'mem');
                }
                assert.equal(r.isError, false, r.result);
                memLines.add(line);
                figures.memoryAcked++;
              } else {
                const victim = [...memFiles.keys()].find((p) => !memLost.has(`file ${p}`));
                if (victim === undefined) continue;
                path = victim;
                // Unanswered, it may or may not have happened: no longer known either way.
                memFiles.delete(victim);
                const r = await http.memory(SPACE, { command: 'delete', path: victim }, 'mem');
                assert.equal(r.isError, false, r.result);
                memDeleted.add(victim);
                figures.memoryAcked++;
              }
            } catch (err) {
              if (!alive) return;
              if (err instanceof assert.AssertionError && sync) throw err;
            }
          }
        })(),
      );

      const runFor = 300 + random() * 1500;
      if (random() < 0.5) {
        await new Promise((r) => setTimeout(r, runFor * 0.6));
        writing = false;
        await new Promise((r) => setTimeout(r, runFor * 0.4));
      } else await new Promise((r) => setTimeout(r, runFor));
      alive = false;
      assert.equal(await server.stop('SIGKILL'), 'SIGKILL');
      if (where === 'nats-store') await killNats(nats);
      await Promise.all(loops);
      // The power cut: everything not fsynced is gone.
      const dropped = await fs.dropUnsynced();
      figures.droppedFiles += dropped.files;
      figures.droppedWrites += dropped.changes;
    }
    figures.unitsAcked = acks.length;
    return figures;
  } finally {
    await server?.stop('SIGKILL');
    await killNats(nats);
    await fs.unmount();
    if (where === 'nats-replica') removeDir(natsDir);
    removeDir(configDir);
  }
}

function report(f: PowerFigures): string {
  return (
    `# power loss (${f.where}), storage.sync ${f.sync}: ${f.cycles} cuts; units ${f.unitsLost} lost of ${f.unitsAcked} acknowledged (${f.unitsForeign} foreign, ${f.gaps} gaps); ` +
    `lock tokens ${f.tokensBack} reissued of ${f.tokens}; memory changes ${f.memoryLost} lost of ${f.memoryAcked}; ` +
    `dropped ${f.droppedWrites} unsynced writes in ${f.droppedFiles} files\n`
  );
}

test('the power-loss filesystem: reads see pending writes, a drop undoes exactly what was not fsynced', { skip: missing }, async () => {
  for (const names of ['durable', 'journal'] as const) {
    const fs = await LazyFs.mount(names);
    try {
      const at = (name: string) => join(fs.dir, name);
      const read = (name: string) => readFileSync(at(name), 'utf8');
      let fd = openSync(at('a'), 'w+');
      writeSync(fd, 'synced');
      fsyncSync(fd);
      writeSync(fd, '+pending');
      closeSync(fd);
      assert.equal(read('a'), 'synced+pending', 'read-your-writes');
      fd = openSync(at('log'), 'a');
      writeSync(fd, 'one.');
      fdatasyncSync(fd);
      writeSync(fd, 'two.');
      closeSync(fd);
      fd = openSync(at('log'), 'a');
      writeSync(fd, 'three.');
      closeSync(fd);
      assert.equal(read('log'), 'one.two.three.', 'O_APPEND writes land at the end');
      fd = openSync(at('t'), 'w+');
      writeSync(fd, '0123456789');
      fsyncSync(fd);
      ftruncateSync(fd, 3);
      writeSync(fd, 'Z', 5);
      closeSync(fd);
      assert.equal(read('t'), '012\0\0Z');
      // Write-only handles: an overwrite and an O_TRUNC of synced bytes (the undo log reads them first).
      writeFileSync(at('w'), 'synced w');
      fd = openSync(at('w'), 'r+');
      fsyncSync(fd);
      closeSync(fd);
      fd = openSync(at('w'), 'w');
      writeSync(fd, 'pending');
      closeSync(fd);
      assert.equal(read('w'), 'pending');
      // Name changes after the last fsync: a new file, a rename, an unlink, a new directory.
      writeFileSync(at('new'), 'never synced');
      renameSync(at('a'), at('a2'));
      unlinkSync(at('log'));
      mkdirSync(at('d'));
      assert.ok(!existsSync(at('log')) && existsSync(at('d')));
      const dropped = await fs.dropUnsynced();
      assert.equal(read('t'), '0123456789', 'a truncation not synced is undone');
      assert.equal(read('w'), 'synced w', 'an O_TRUNC not synced is undone');
      if (names === 'durable') {
        assert.deepEqual(dropped, { files: 4, changes: 6 }, 'the unlinked file is gone for good, with its undo log');
        assert.equal(read('a2'), 'synced', 'a rename is kept (names are durable at once, as in LazyFS), its unsynced bytes are not');
        assert.equal(read('new'), '', 'a file never synced is there, empty');
        assert.ok(!existsSync(at('log')) && existsSync(at('d')));
      } else {
        assert.equal(read('a'), 'synced', 'the rename is undone, and the unsynced bytes');
        assert.equal(read('log'), 'one.', 'the unlinked file is back with its synced bytes');
        assert.ok(!existsSync(at('a2')) && !existsSync(at('new')) && !existsSync(at('d')), 'the names made after the last fsync are gone');
      }
      assert.equal((await fs.dropUnsynced()).files, 0, 'nothing left to drop');
      if (names === 'journal') {
        // An fsync of anything commits every name change before it.
        writeFileSync(at('kept'), 'x');
        renameSync(at('a'), at('a3'));
        fd = openSync(at('t'), 'r');
        fsyncSync(fd);
        closeSync(fd);
        await fs.dropUnsynced();
        assert.equal(read('a3'), 'synced');
        assert.equal(read('kept'), '', 'the name is durable, its bytes were never synced');
      }
    } finally {
      await fs.unmount();
    }
  }
});

test(`power loss with storage.sync true: ${CYCLES_ON} cuts lose nothing acknowledged`, { skip: missing, timeout: 600_000 + CYCLES_ON * 30_000 }, async () => {
  process.stdout.write(`# power loss seed ${SEED}\n`);
  const f = await powerLossRun(true, CYCLES_ON, SEED);
  process.stdout.write(report(f));
  assert.ok(f.unitsAcked > 0 && f.tokens > 0 && f.memoryAcked > 0, 'the load ran');
  assert.equal(f.unitsLost + f.memoryLost + f.tokensBack + f.gaps + f.unitsForeign, 0);
  assert.ok(f.droppedWrites > 0, 'the power cuts dropped unsynced writes (the filesystem works)');
});

test(`power loss with storage.sync false: ${CYCLES_OFF} cuts, what is lost (measured), but never a fencing token`, { skip: missing, timeout: 600_000 }, async () => {
  const f = await powerLossRun(false, CYCLES_OFF, SEED + 1);
  process.stdout.write(report(f));
  assert.ok(f.unitsAcked > 0 && f.tokens > 0, 'the load ran');
  // Tokens come from a reservation fsynced whatever storage.sync says (lock-store-leveldb.ts).
  assert.equal(f.tokensBack, 0, 'no fencing token handed out twice');
});

/** make test: one cut of the replica; the whole-machine measurement only in make soak (nats-server's restarts take seconds). */
const NATS_CYCLES = Number(process.env.ENGRAM_POWER_NATS_CYCLES ?? 1);
const NATS_STORE_CYCLES = Number(process.env.ENGRAM_POWER_NATS_STORE_CYCLES ?? 0);
const natsSkip = missing ?? (natsMissing() || undefined);

test(`power loss of an Engram node on NATS: ${NATS_CYCLES} cuts of its replica lose nothing acknowledged`, { skip: natsSkip, timeout: 600_000 }, async () => {
  const f = await powerLossRun(false, NATS_CYCLES, SEED + 2, 'nats-replica');
  process.stdout.write(report(f));
  assert.ok(f.unitsAcked > 0 && f.tokens > 0 && f.memoryAcked > 0, 'the load ran');
  assert.equal(f.unitsLost + f.memoryLost + f.tokensBack + f.gaps + f.unitsForeign, 0);
});

test(
  `power loss of the whole machine with nats-server's store: ${NATS_STORE_CYCLES} cuts, what is lost (measured, not asserted)`,
  { skip: natsSkip ?? (NATS_STORE_CYCLES === 0 ? 'ENGRAM_POWER_NATS_STORE_CYCLES=0 (make soak runs it)' : undefined), timeout: 600_000 },
  async () => {
    const f = await powerLossRun(false, NATS_STORE_CYCLES, SEED + 3, 'nats-store');
    process.stdout.write(report(f));
    assert.ok(f.unitsAcked > 0, 'the load ran');
  },
);
