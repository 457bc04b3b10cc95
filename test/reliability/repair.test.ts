/**
 * Damaged data dirs: a truncated manifest stops start-up with an error that names the repair
 * command (never a partial start); `engram repair` copies the dir, recovers what LevelDB can
 * read, and says what it dropped; the repaired dir serves again.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, truncateSync, openSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { HttpClient, unit } from '../helpers/http.js';
import { ENGRAM_BIN, removeDir, startServer } from '../helpers/server.js';
import { WAIT_MS } from '../helpers/wait.js';

const dirs: string[] = [];
after(() => dirs.forEach(removeDir));

/** A data dir with `count` units in two contexts, written to table files (a small write buffer flushes them). */
async function filledDataDir(count: number): Promise<string> {
  const server = await startServer({ args: ['--search-enabled', 'false', '--storage-write-buffer-bytes', '64KiB'] });
  dirs.push(server.dataDir);
  const http = new HttpClient(server.url);
  for (let i = 0; i < count; i++) {
    const r = await http.post('/workunit', unit(i % 2 === 0 ? 'dmg/a' : 'dmg/b', { payload: { i, text: `unit ${i} `.repeat(40) } }));
    assert.equal(r.status, 201);
  }
  http.close();
  assert.equal(await server.stop(), 0);
  return server.dataDir;
}

function serveOnce(dataDir: string) {
  return spawnSync(ENGRAM_BIN, ['serve', '--addr', '127.0.0.1:0', '--grpc-addr', '127.0.0.1:0', '--data-dir', dataDir], { encoding: 'utf8', timeout: WAIT_MS });
}

function repair(dataDir: string, extra: string[] = []) {
  const r = spawnSync(ENGRAM_BIN, ['repair', '--data-dir', dataDir, ...extra], { encoding: 'utf8', timeout: 2 * WAIT_MS });
  for (const d of readdirSync(join(dataDir, '..'))) if (d.startsWith(`${dataDir.split('/').pop()}.before-repair-`)) dirs.push(join(dataDir, '..', d));
  return r;
}

test('a truncated manifest: a clear start-up error naming engram repair; repair recovers every unit', { timeout: 240_000 }, async () => {
  const dataDir = await filledDataDir(600);
  const manifest = readdirSync(dataDir).find((f) => f.startsWith('MANIFEST-'))!;
  truncateSync(join(dataDir, manifest), 20);
  const start = serveOnce(dataDir);
  assert.equal(start.status, 1, start.stderr + start.stdout);
  assert.match(start.stdout + start.stderr, /is damaged: .*engram repair --data-dir /);
  assert.doesNotMatch(start.stdout, /storage ready/, 'no partial start');

  const r = repair(dataDir);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /copied the data dir to .*before-repair-/);
  assert.match(r.stdout, /600 units in 2 contexts recovered/);
  assert.match(r.stdout, /no unit was lost/);

  const server = await startServer({ dataDir, args: ['--search-enabled', 'false'] });
  const http = new HttpClient(server.url);
  try {
    for (const c of ['dmg/a', 'dmg/b']) {
      const page = (await http.get(`/workunits/${encodeURIComponent(c)}?limit=1000`)).json;
      assert.deepEqual(
        page.workUnits.map((u: { seq: number }) => u.seq),
        Array.from({ length: 300 }, (_, i) => i + 1),
      );
    }
    // And it writes on, from the right seq.
    assert.equal((await http.post('/workunit', unit('dmg/a'))).json.seq, 301);
  } finally {
    http.close();
    await server.stop();
  }
});

test('a damaged table file: start-up refuses it; repair sets it aside and reports exactly which seqs were lost', { timeout: 240_000 }, async () => {
  const dataDir = await filledDataDir(1200);
  const tables = readdirSync(dataDir)
    .filter((f) => f.endsWith('.ldb'))
    .sort((a, b) => statSync(join(dataDir, b)).size - statSync(join(dataDir, a)).size);
  assert.ok(tables.length > 0, 'units reached table files');
  // Zeros over the middle of the largest table: its blocks fail their checksums.
  const victim = join(dataDir, tables[0]!);
  const fd = openSync(victim, 'r+');
  writeSync(fd, Buffer.alloc(8192), 0, 8192, Math.floor(statSync(victim).size / 3));
  closeSync(fd);

  // Start-up reads every block (storage.verifyOnStart): the damage stops it, with the pointer.
  const start = serveOnce(dataDir);
  assert.equal(start.status, 1, start.stdout + start.stderr);
  assert.match(start.stdout + start.stderr, /is damaged: .*engram repair --data-dir /);
  assert.doesNotMatch(start.stdout, /storage ready/, 'no partial start');

  const r = repair(dataDir, ['--no-copy']);
  assert.equal(r.status, 0, r.stderr);
  assert.doesNotMatch(r.stdout, /copied the data dir/);
  const lostLines = r.stdout.split('\n').filter((l) => l.includes('lost:'));
  assert.ok(lostLines.length > 0, `the report says what was dropped:\n${r.stdout}`);
  const recovered = Number(/(\d+) units in \d+ contexts recovered/.exec(r.stdout)![1]);
  const reportedLost = [...r.stdout.matchAll(/lost: (\d+) units/g)].reduce((n, m) => n + Number(m[1]), 0);
  assert.equal(recovered + reportedLost, 1200, `recovered ${recovered} + reported lost ${reportedLost}`);
  assert.ok(reportedLost > 0 && existsSync(join(dataDir, 'lost')), 'the damaged table was set aside');

  // The repaired dir starts and serves what survived; new writes never reuse a stored seq.
  const server = await startServer({ dataDir, args: ['--search-enabled', 'false'] });
  const http = new HttpClient(server.url);
  try {
    const head = (await http.get('/contexts/dmg%2Fa')).json.headSeq as number;
    const next = (await http.post('/workunit', unit('dmg/a'))).json.seq as number;
    assert.equal(next, head + 1);
  } finally {
    http.close();
    await server.stop();
  }
});
