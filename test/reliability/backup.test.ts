/**
 * Backup and restore: `engram backup` from a live server while a writer keeps writing gives one
 * consistent moment; `engram restore` into a new data dir serves exactly that snapshot (units
 * byte for byte, context records, held locks and the fencing-token counter); a truncated or
 * altered backup is refused and leaves nothing behind.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { HttpClient, unit } from '../helpers/http.js';
import { ENGRAM_BIN, removeDir, startServer, tempDir } from '../helpers/server.js';
import { eventually, WAIT_MS } from '../helpers/wait.js';

const dirs: string[] = [];
after(() => dirs.forEach(removeDir));

function cli(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(ENGRAM_BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('exit', (status) => resolve({ status, stdout, stderr }));
  });
}

async function allUnits(http: HttpClient, contextId: string): Promise<string[]> {
  const out: string[] = [];
  for (let after = 0; ;) {
    const r = await http.get(`/workunits/${encodeURIComponent(contextId)}?after=${after}&limit=1000`);
    if (r.status === 404) return out;
    for (const u of r.json.workUnits) out.push(JSON.stringify(u));
    if (r.json.nextCursor === null) return out;
    after = r.json.nextCursor;
  }
}

test('a backup taken during writes restores to exactly one consistent moment', { timeout: 240_000 }, async () => {
  const work = tempDir('engram-backup-');
  dirs.push(work);
  const server = await startServer();
  dirs.push(server.dataDir);
  const http = new HttpClient(server.url);
  try {
    await http.patch('/contexts/bk%2Fa', { displayName: 'Backed up', meta: { team: 'core' } });
    // Lock tokens moved on, and one lock held across the backup.
    for (let i = 0; i < 5; i++) {
      const l = (await http.post('/locks', { resource: 'churn', agentId: 'a' })).json;
      await http.request('DELETE', `/locks/churn?agentId=a&lockId=${l.lockId}`, {});
    }
    const held = (await http.post('/locks', { resource: 'held', agentId: 'keeper', ttlMs: 3_600_000 })).json;

    // One writer, strictly in turn: unit n to bk/a when n is even, bk/b when odd, each after the last was acknowledged.
    let stop = false;
    let written = 0;
    const writer = (async () => {
      for (let n = 0; !stop && n < 1_000_000; n++) {
        const r = await http.post('/workunit', unit(n % 2 === 0 ? 'bk/a' : 'bk/b', { payload: { n } }));
        assert.equal(r.status, 201, r.text);
        written++;
      }
    })();
    await eventually(async () => written >= 300, WAIT_MS, '300 writes before the backup');
    const file = join(work, 'snap.ndjson');
    const before = written;
    const b = await cli(['backup', '--out', file, '--url', server.url]);
    const afterBackup = written;
    assert.equal(b.status, 0, b.stderr);
    assert.match(b.stdout, /^backup of \d+ stored pairs/);
    await eventually(async () => written >= afterBackup + 300, WAIT_MS, '300 writes after the backup');
    stop = true;
    await writer;

    const restoredDir = join(work, 'restored');
    const r = await cli(['restore', '--in', file, '--data-dir', restoredDir]);
    assert.equal(r.status, 0, r.stderr);
    const restored = await startServer({ dataDir: restoredDir });
    const rhttp = new HttpClient(restored.url);
    try {
      const a = await allUnits(rhttp, 'bk/a');
      const bb = await allUnits(rhttp, 'bk/b');
      // One moment: the writer had written a and b in turn, so b is level with a or one behind.
      assert.ok(a.length >= 150 && (bb.length === a.length || bb.length === a.length - 1), `a ${a.length}, b ${bb.length}`);
      // A moment during the backup call, with writes before and after it.
      assert.ok(a.length + bb.length >= before && a.length + bb.length <= afterBackup + 1, `${a.length + bb.length} units, written ${before}..${afterBackup}`);
      // Exactly the original's units up to that moment, byte for byte.
      assert.deepEqual(a, (await allUnits(http, 'bk/a')).slice(0, a.length));
      assert.deepEqual(bb, (await allUnits(http, 'bk/b')).slice(0, bb.length));
      const ctx = (await rhttp.get('/contexts/bk%2Fa')).json;
      assert.equal(ctx.displayName, 'Backed up');
      assert.deepEqual(ctx.meta, { team: 'core' });
      assert.equal(ctx.headSeq, a.length);
      // The held lock, with its token; new tokens carry on above every earlier one.
      const lock = (await rhttp.get('/locks/held')).json;
      assert.equal(lock.agentId, 'keeper');
      assert.equal(lock.token, held.token);
      const next = (await rhttp.post('/locks', { resource: 'after-restore', agentId: 'b' })).json;
      assert.ok(next.token > held.token);
      // Restored units are writable after: seqs carry on.
      assert.equal((await rhttp.post('/workunit', unit('bk/a'))).json.seq, a.length + 1);
    } finally {
      rhttp.close();
      await restored.stop();
    }
  } finally {
    http.close();
    await server.stop();
  }
});

test('a truncated or altered backup is refused, and nothing is left behind', { timeout: 180_000 }, async () => {
  const work = tempDir('engram-backup-');
  dirs.push(work);
  const server = await startServer({ args: ['--search-enabled', 'false'] });
  dirs.push(server.dataDir);
  const http = new HttpClient(server.url);
  for (let i = 0; i < 50; i++) await http.post('/workunit', unit('bad/backup', { payload: { i } }));
  const file = join(work, 'ok.ndjson');
  assert.equal((await cli(['backup', '--out', file, '--url', server.url])).status, 0);
  http.close();
  await server.stop();
  const lines = readFileSync(file, 'utf8').trimEnd().split('\n');

  const truncated = join(work, 'truncated.ndjson');
  writeFileSync(truncated, lines.slice(0, -3).join('\n') + '\n');
  const t = await cli(['restore', '--in', truncated, '--data-dir', join(work, 't')]);
  assert.equal(t.status, 1);
  assert.match(t.stderr, /ends before the backup does/);
  assert.equal(existsSync(join(work, 't')), false);

  const altered = join(work, 'altered.ndjson');
  const changed = [...lines];
  const mid = JSON.parse(changed[10]!) as { k: string; v: string };
  changed[10] = JSON.stringify({ k: mid.k, v: Buffer.from('tampered').toString('base64') });
  writeFileSync(altered, changed.join('\n') + '\n');
  const a = await cli(['restore', '--in', altered, '--data-dir', join(work, 'a')]);
  assert.equal(a.status, 1);
  assert.match(a.stderr, /does not match its checksum/);
  assert.equal(existsSync(join(work, 'a')), false);

  // Into a data dir in use: refused.
  const busy = await cli(['restore', '--in', file, '--data-dir', server.dataDir]);
  assert.equal(busy.status, 1);
  assert.match(busy.stderr, /is not empty/);
});

test('export and import as NDJSON: contexts and units move to another server, relationships follow, a second import adds nothing', { timeout: 180_000 }, async () => {
  const work = tempDir('engram-export-');
  dirs.push(work);
  const a = await startServer({ args: ['--search-enabled', 'false'] });
  const b = await startServer({ args: ['--search-enabled', 'false'] });
  dirs.push(a.dataDir, b.dataDir);
  const ha = new HttpClient(a.url);
  const hb = new HttpClient(b.url);
  try {
    const first = (await ha.post('/workunit', unit('ex/plan', { agentId: 'planner', meta: { title: 'Plan' }, payload: { text: 'split the work' } }))).json;
    await ha.post(
      '/workunit',
      unit('ex/plan', { agentId: 'coder', type: 'TASK_STATUS', payload: { text: 'on it' }, relationships: [{ targetId: first.id, type: 'RESPONDS_TO' }] }),
    );
    for (let i = 0; i < 30; i++) await ha.post('/workunit', unit('ex/log', { payload: { i } }));
    await ha.patch('/contexts/ex%2Fplan', { displayName: 'The plan', meta: { team: 'core' }, pinUnits: [first.id] });
    await ha.post('/workunit', unit('other/ctx'));

    const file = join(work, 'ex.ndjson');
    const e = await cli(['export', '--out', file, '--url', a.url, '--prefix', 'ex/']);
    assert.equal(e.status, 0, e.stderr);
    assert.match(e.stdout, /exported 32 units in 2 contexts/);
    const i1 = await cli(['import', '--in', file, '--url', b.url]);
    assert.equal(i1.status, 0, i1.stderr);
    assert.match(i1.stdout, /imported 32 units in 2 contexts$/m);

    const plan = (await hb.get('/workunits/ex%2Fplan')).json.workUnits;
    assert.deepEqual(
      plan.map((u: { agentId: string; type: string; payload: unknown; meta: unknown }) => [u.agentId, u.type, u.payload, u.meta]),
      [
        ['planner', 'MESSAGE', { text: 'split the work' }, { title: 'Plan' }],
        ['coder', 'TASK_STATUS', { text: 'on it' }, {}],
      ],
    );
    assert.notEqual(plan[0].id, first.id, 'new ids on the new server');
    assert.equal(plan[1].relationships[0].targetId, plan[0].id, 'the relationship follows to the new id');
    const ctx = (await hb.get('/contexts/ex%2Fplan')).json;
    assert.equal(ctx.displayName, 'The plan');
    assert.deepEqual(ctx.meta, { team: 'core' });
    assert.deepEqual(ctx.pinnedUnits, [plan[0].id]);
    assert.equal((await hb.get('/contexts/ex%2Flog')).json.headSeq, 30);
    assert.equal((await hb.get('/contexts/other%2Fctx')).status, 404, 'only the prefix was exported');

    // Run again: idempotency keys make it add nothing.
    const i2 = await cli(['import', '--in', file, '--url', b.url]);
    assert.equal(i2.status, 0, i2.stderr);
    assert.match(i2.stdout, /32 were there from an earlier import/);
    assert.equal((await hb.get('/contexts/ex%2Flog')).json.headSeq, 30);
  } finally {
    ha.close();
    hb.close();
    await a.stop();
    await b.stop();
  }
});
