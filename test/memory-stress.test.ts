/**
 * Four separate processes (two MCP clients through `engram mcp`, two CLI writers running
 * `engram memory`) write and read one memory space at once for a fixed number of rounds.
 * Afterwards: every acknowledged line is in the shared file exactly once, the shared counter
 * equals the increments acknowledged, each writer's notes are as it left them, and every
 * file's text equals the sequential replay of the space's history.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { test } from 'node:test';
import { MemoryFiles, type FileChange } from '../src/memory/memory-files.js';
import { removeDir, startServer } from './helpers/server.js';

const WORKER = resolve(import.meta.dirname, 'helpers/memory-stress-worker.js');
const SPACE = 'stress';
/** Rounds per writer: 15 MCP and 6 CLI rounds times ENGRAM_STRESS_ROUNDS (make test: 0.25, i.e. 4 and 2: still four writers at once on one space; make soak: 4, i.e. 60 and 24). Each CLI round spawns ~6 processes. */
const SCALE = Number(process.env.ENGRAM_STRESS_ROUNDS ?? 0.25);
if (!(SCALE > 0)) throw new Error(`ENGRAM_STRESS_ROUNDS: ${process.env.ENGRAM_STRESS_ROUNDS} is not a positive number`);
const ROUNDS = { mcp: Math.round(15 * SCALE), cli: Math.round(6 * SCALE) };
/** Bounds for a hung run, not measures: no smaller than those of the 0.5 the suite ran before, for a busy machine. */
const BOUND_SCALE = Math.max(SCALE, 0.5);

interface Report {
  name: string;
  inserted: string[];
  increments: number;
  conflicts: number;
  changes: number;
  notes: Record<string, string>;
}

function runWorker(mode: 'mcp' | 'cli', name: string, dataDir: string): Promise<Report> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [WORKER, mode, name, dataDir, SPACE, String(ROUNDS[mode])], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    // A bound for a hung worker, not a measure: the workers take ~20 s idle at 1×, more on a busy machine.
    const timer = setTimeout(() => child.kill('SIGKILL'), 480_000 * BOUND_SCALE);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolvePromise(JSON.parse(out) as Report);
      else reject(new Error(`${name} exited with ${code ?? signal}: ${err}`));
    });
  });
}

test('two MCP clients and two CLI writers on one space: nothing lost, nothing corrupted, files equal the replay of their history', { timeout: 600_000 * BOUND_SCALE }, async () => {
  const server = await startServer({ args: ['--search-enabled', 'false'] });
  try {
    const api = (path: string, body?: unknown) =>
      fetch(server.url + path, body === undefined ? {} : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }).then(async (r) => {
        assert.ok(r.ok, `${path}: ${r.status} ${await r.clone().text()}`);
        return r.json() as Promise<Record<string, unknown>>;
      });
    const mem = (input: unknown) => api(`/memory/${SPACE}/command?agentId=setup`, input);
    assert.equal((await mem({ command: 'create', path: '/memories/shared.md', file_text: 'seed' })).isError, false);
    assert.equal((await mem({ command: 'create', path: '/memories/counter.txt', file_text: 'count=0\n' })).isError, false);

    const reports = await Promise.all([
      runWorker('mcp', 'mcp-a', server.dataDir),
      runWorker('mcp', 'mcp-b', server.dataDir),
      runWorker('cli', 'cli-a', server.dataDir),
      runWorker('cli', 'cli-b', server.dataDir),
    ]);

    const file = async (path: string) => (await api(`/memory/${SPACE}/file?path=${encodeURIComponent(path)}`)).text as string;
    // Every acknowledged insert, once; nothing else.
    const lines = (await file('/memories/shared.md')).split('\n');
    const expected = ['seed', ...reports.flatMap((r) => r.inserted)];
    assert.deepEqual([...lines].sort(), [...expected].sort());
    // Every acknowledged increment: read-modify-write under contention lost none.
    const increments = reports.reduce((n, r) => n + r.increments, 0);
    assert.equal(await file('/memories/counter.txt'), `count=${increments}\n`);
    assert.equal(increments, 2 * ROUNDS.mcp + 2 * ROUNDS.cli);

    // Each writer's notes exactly as it left them, and nothing else under its directory.
    const tree = (await api(`/memory/${SPACE}/tree`)).files as Array<{ path: string }>;
    for (const r of reports) {
      const mine = tree.map((f) => f.path).filter((p) => p.startsWith(`/memories/${r.name}/`));
      assert.deepEqual(mine.sort(), Object.keys(r.notes).sort(), `${r.name}'s notes`);
      for (const [path, text] of Object.entries(r.notes)) assert.equal(await file(path), text);
    }

    // The files are the sequential replay of the history, unit by unit in seq order.
    const replay = new MemoryFiles();
    let after = 0;
    let seqs = 0;
    for (;;) {
      const page = await api(`/workunits/${encodeURIComponent(`memories/${SPACE}`)}?after=${after}&limit=1000`);
      for (const u of page.workUnits as Array<{ seq: number; type: string; payload: FileChange }>) {
        assert.equal(u.seq, after + 1, 'gap-free seqs');
        after = u.seq;
        seqs++;
        assert.equal(u.type, 'FILE_CHANGE');
        replay.apply(u.payload);
      }
      if (page.nextCursor === null) break;
    }
    assert.equal(tree.length, replay.files.size);
    for (const f of tree) assert.equal(await file(f.path), replay.files.get(f.path), `${f.path} equals its replay`);
    // One unit per acknowledged change (the 2 setup files, then each writer's), none for a refused one.
    assert.equal(
      seqs,
      reports.reduce((n, r) => n + r.changes, 2),
    );
    process.stdout.write(`# memory stress: ${seqs} changes by 4 processes, ${reports.reduce((n, r) => n + r.conflicts, 0)} counter conflicts retried\n`);
  } finally {
    await server.stop();
    removeDir(server.dataDir);
  }
});
