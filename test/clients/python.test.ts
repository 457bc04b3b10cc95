/**
 * The Python client (clients/python) and its example, run by make test with Debian's python3.
 * Its own tests are Python (unittest) and start their own servers; this file runs them and checks
 * that every one of them ran, so a suite that could not import its dependencies, or skipped
 * tests, fails here instead of passing quietly.
 */
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { removeDir, startServer, type RunningServer } from '../helpers/server.js';
import { WAIT_MS } from '../helpers/wait.js';

const ROOT = resolve(import.meta.dirname, '../../..');
const PYTHON = '/usr/bin/python3';
const TESTS = resolve(ROOT, 'clients/python/tests');

function python(args: string[], env: Record<string, string> = {}, timeout = 4 * WAIT_MS): SpawnSyncReturns<string> {
  return spawnSync(PYTHON, args, {
    cwd: ROOT,
    // The servers the tests start run on this node; no bytecode caches are left in the tree.
    env: { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}`, PYTHONDONTWRITEBYTECODE: '1', ...env },
    encoding: 'utf8',
    timeout,
  });
}

test('Debian python3 has the client dependencies (make system-deps installs python3-httpx, python3-websockets and python3-pip)', () => {
  const r = python(['-c', 'import httpx, websockets, pip']);
  assert.equal(
    r.status,
    0,
    `${PYTHON} cannot import httpx, websockets and pip: run make system-deps as root (apt-get install python3-httpx python3-websockets python3-pip)\n${r.error ?? ''}${r.stderr}`,
  );
});

test('the Python client suite passes against real servers, every test of it run', () => {
  // What must run: each `def test_` of clients/python/tests/test_*.py.
  const expected = readdirSync(TESTS)
    .filter((f) => /^test_.*\.py$/.test(f))
    .reduce((n, f) => n + (readFileSync(resolve(TESTS, f), 'utf8').match(/^\s+(async )?def test_/gm)?.length ?? 0), 0);
  assert.ok(expected >= 30, `only ${expected} Python tests found`);
  const r = python(['-m', 'unittest', 'discover', '-s', 'clients/python/tests', '-v']);
  const out = r.stderr;
  assert.equal(r.status, 0, `the Python suite failed (${r.error ?? r.signal ?? r.status}):\n${out}\n${r.stdout}`);
  const ran = /^Ran (\d+) tests? in ([\d.]+)s$/m.exec(out);
  assert.ok(ran, `no unittest summary:\n${out}`);
  assert.equal(Number(ran[1]), expected, `ran ${ran[1]} of ${expected} Python tests:\n${out}`);
  assert.match(out, /^OK$/m, `the Python suite skipped or failed tests:\n${out}`);
});

let server: RunningServer;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server.stop();
  removeDir(server.dataDir);
});

test('examples/python/two_agents_lock.py: both agents edit in turns, every edit survives, a stale token is refused', async () => {
  const r = python(['examples/python/two_agents_lock.py'], { ENGRAM_URL: server.url }, 2 * WAIT_MS);
  assert.equal(r.status, 0, `the example exited with ${r.status}: ${r.stderr}`);
  assert.equal(r.stderr, '', 'the example wrote to stderr');
  const out = r.stdout;
  const edits = [...out.matchAll(/^(agent-[ab]) held notes\/plan\.md with token (\d+) and wrote version (\d+): - (.+)$/gm)];
  assert.deepEqual(
    edits.map((m) => `${m[3]} ${m[4]}`),
    ['1 agent-a: edit 1', '2 agent-b: edit 1', '3 agent-a: edit 2', '4 agent-b: edit 2', '5 agent-a: edit 3', '6 agent-b: edit 3', '7 agent-b: edit after agent-a stalled'],
  );
  const tokens = edits.map((m) => Number(m[2]));
  assert.deepEqual(
    tokens,
    [...tokens].sort((a, b) => a - b),
    'every new holder has a greater token',
  );
  assert.match(out, /agent-a's stale write refused: FENCE_REJECTED \(its token (\d+), the holder's (\d+)\)/);

  // The log holds exactly the seven versions, each the previous one plus one line: no edit was lost.
  const contextId = /lives in the context (\S+)$/m.exec(out)![1]!;
  const res = await fetch(`${server.url}/workunits/${encodeURIComponent(contextId)}?limit=100`);
  const { workUnits } = (await res.json()) as { workUnits: Array<{ type: string; agentId: string; payload: { text: string } }> };
  assert.equal(workUnits.length, 7);
  let previous = '';
  for (const u of workUnits) {
    assert.equal(u.type, 'FILE_CHANGE');
    assert.ok(u.payload.text.startsWith(previous) && u.payload.text.slice(previous.length).split('\n').length === 2, `not one appended line: ${JSON.stringify(u.payload.text)}`);
    const added = u.payload.text.slice(previous.length);
    assert.ok(added.startsWith(`- ${u.agentId}: `), `the line ${JSON.stringify(added)} is not ${u.agentId}'s`);
    previous = u.payload.text;
  }
  assert.ok(!previous.includes('stale'), 'the stale write is not in the file');
});
