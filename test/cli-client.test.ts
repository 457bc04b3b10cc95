/**
 * The client commands of bin/engram against a real server, found through its data dir's
 * discovery file: put, get, tail (and tail -f live), search, lock and unlock, human-readable
 * and --json, and clear errors when no server runs.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { describe, test } from 'node:test';
import { ENGRAM_BIN, serverPerFile, tempDir, removeDir } from './helpers/server.js';
import { eventually, WAIT_MS, Watcher } from './helpers/wait.js';

const env = serverPerFile({ args: ['--search-embedder', 'none'] });

function engram(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(ENGRAM_BIN, [...args, '--data-dir', env.server.dataDir], { encoding: 'utf8', timeout: WAIT_MS });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('engram put, get, tail, delete, search, lock, unlock', () => {
  test('put writes, get reads back, both human-readable and --json', () => {
    const a = engram('put', 'cli-plan', 'retry with backoff', '--agent', 'planner');
    assert.equal(a.status, 0, a.stderr);
    assert.match(a.stdout, /^cli-plan #1 [0-9A-Z]{26}\n$/);
    const b = engram('put', 'cli-plan', 'on it', '--agent', 'coder', '--type', 'TASK_STATUS', '--json');
    assert.equal(b.status, 0, b.stderr);
    const unit = JSON.parse(b.stdout);
    assert.deepEqual([unit.seq, unit.agentId, unit.type, unit.payload], [2, 'coder', 'TASK_STATUS', { text: 'on it' }]);
    const got = engram('get', 'cli-plan');
    assert.equal(got.stdout, '#1 planner MESSAGE: retry with backoff\n#2 coder TASK_STATUS: on it\n');
    assert.deepEqual(JSON.parse(engram('get', '--id', unit.id, '--json').stdout), unit);
    assert.equal(engram('get', 'cli-plan', '--limit', '1').stdout, '#2 coder TASK_STATUS: on it\n');
  });

  test('tail -f prints what is there, then new units live', async () => {
    assert.equal(engram('presence', 'cli-plan').stdout, 'nobody is subscribed to cli-plan\n');
    const child = spawn(ENGRAM_BIN, ['tail', 'cli-plan', '-f', '--agent', 'tailer', '--data-dir', env.server.dataDir], { stdio: ['ignore', 'pipe', 'pipe'] });
    const lines: string[] = [];
    const watcher = new Watcher();
    createInterface({ input: child.stdout }).on('line', (l) => {
      lines.push(l);
      watcher.notify();
    });
    try {
      await watcher.until(() => lines.length >= 2, WAIT_MS, 'the existing units');
      assert.equal(engram('put', 'cli-plan', 'live one').status, 0);
      await watcher.until(() => lines.some((l) => l === '#3 cli MESSAGE: live one'), WAIT_MS, 'the live unit');
      assert.deepEqual(lines.slice(0, 3), ['#1 planner MESSAGE: retry with backoff', '#2 coder TASK_STATUS: on it', '#3 cli MESSAGE: live one']);
      // While it follows, it is present as its agent.
      assert.match(engram('presence', 'cli-plan').stdout, /^default tailer 1 since \d{4}-\d\d-\d\dT[\d:.]+Z\n$/);
      assert.deepEqual(
        JSON.parse(engram('presence', 'cli-plan', '--json').stdout).members.map((m: { agentId: string }) => m.agentId),
        ['tailer'],
      );
    } finally {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      assert.equal(await exited, 0, 'tail -f ends cleanly when interrupted');
    }
    assert.equal(engram('tail', 'cli-plan', '--since', '2').stdout, '#3 cli MESSAGE: live one\n');
  });

  test('search finds a unit by its words', async () => {
    let out = '';
    await eventually(async () => (out = engram('search', 'backoff', '--mode', 'keyword').stdout).includes('backoff'), WAIT_MS, 'the unit indexed');
    assert.match(out, /cli-plan #1 planner MESSAGE: retry with backoff/);
  });

  test('search shows a memory file or a fact as one line, around the words it matched', async () => {
    const long = Array.from({ length: 60 }, (_, i) => `line ${i}: notes about nothing in particular`);
    long[40] = 'line 40: the zeppelin rollout waits for the canary';
    const c = engram('memory', 'cli-search-mem', JSON.stringify({ command: 'create', path: '/memories/plan.md', file_text: long.join('\n') }));
    assert.equal(c.status, 0, c.stderr);
    let out = '';
    await eventually(async () => (out = engram('search', 'zeppelin', '--mode', 'keyword').stdout).includes('zeppelin'), WAIT_MS, 'the memory file indexed');
    const lines = out.trimEnd().split('\n');
    assert.equal(lines.length, 1, out);
    assert.match(lines[0]!, /^[\d.]+ memories\/cli-search-mem #1 \S+ \w+: …\S.*the zeppelin rollout waits for the canary.*\S…$/);
    assert.ok(lines[0]!.length < 260, `one short line, not the whole file: ${lines[0]!.length} characters`);
  });

  test('lock and unlock', () => {
    const l = engram('lock', 'cli-doc', '--agent', 'editor', '--json');
    assert.equal(l.status, 0, l.stderr);
    const lock = JSON.parse(l.stdout);
    assert.equal(lock.agentId, 'editor');
    const again = engram('lock', 'cli-doc', '--agent', 'intruder');
    assert.equal(again.status, 1);
    assert.match(again.stderr, /LOCK_HELD/);
    const u = engram('unlock', 'cli-doc', '--agent', 'editor', '--lock-id', lock.lockId);
    assert.equal(u.status, 0, u.stderr);
    assert.equal(u.stdout, 'cli-doc released\n');
  });

  test('delete asks for --yes, then removes the context for good', () => {
    engram('put', 'cli-gone', 'short-lived', '--agent', 'planner');
    const unsure = engram('delete', 'cli-gone');
    assert.equal(unsure.status, 2);
    assert.match(unsure.stderr, /add --yes/);
    // Still there to delete: nothing went without --yes.
    const d = engram('delete', 'cli-gone', '--yes');
    assert.equal(d.status, 0, d.stderr);
    assert.match(d.stdout, /^cli-gone deleted: 1 units, \d+ bytes\n$/);
    const g = engram('get', 'cli-gone');
    assert.equal(g.status, 1);
    assert.match(g.stderr, /CONTEXT_NOT_FOUND/);
  });

  test('memory runs one memory-tool command and prints its result', () => {
    const c = engram('memory', 'cli-mem', '{"command":"create","path":"/memories/todo.md","file_text":"ship it"}');
    assert.equal(c.status, 0, c.stderr);
    assert.equal(c.stdout, 'File created successfully at: /memories/todo.md\n');
    const v = engram('memory', 'cli-mem', '{"command":"view","path":"/memories/todo.md"}');
    assert.equal(v.stdout, "Here's the content of /memories/todo.md with line numbers:\n     1\tship it\n");
    const e = engram('memory', 'cli-mem', '{"command":"view","path":"/memories/none"}');
    assert.equal(e.status, 1, 'a tool error exits 1');
    assert.match(e.stdout, /does not exist/);
  });

  test('clear errors: no server for the data dir, bad arguments', () => {
    const dir = tempDir();
    const r = spawnSync(ENGRAM_BIN, ['get', 'x', '--data-dir', dir], { encoding: 'utf8' });
    removeDir(dir);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /no Engram server is running for data dir/);
    const bad = engram('put', 'only-a-context');
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /expected CONTEXT TEXT/);
    const refused = engram('put', 'x', 'y', '--type', 'NOT_A_TYPE');
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /INVALID_FIELD/);
  });
});
