/**
 * A full disk: the data dir on a small tmpfs (mounted by the test, as root) fills up under
 * writes. Writes then fail with 507 STORAGE_FULL (gRPC RESOURCE_EXHAUSTED) and store nothing;
 * reads and a live stream keep working; nothing acknowledged is harmed; once space is freed,
 * writes succeed again with no restart, and the stream goes on without a gap.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { EngramGrpc, rejectsWith, unitRequest } from '../helpers/grpc.js';
import { HttpClient, unit } from '../helpers/http.js';
import { removeDir, startServer, tempDir } from '../helpers/server.js';
import { WAIT_MS } from '../helpers/wait.js';
import { WsClient } from '../helpers/ws.js';

function canMount(): string | false {
  if (process.getuid?.() !== 0) return 'needs root to mount a tmpfs';
  const probe = tempDir('engram-mount-probe-');
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', probe], { stdio: 'ignore' });
    execFileSync('umount', [probe], { stdio: 'ignore' });
    return false;
  } catch {
    return 'cannot mount a tmpfs here (no CAP_SYS_ADMIN)';
  } finally {
    removeDir(probe);
  }
}

const SKIP = canMount();

test('a full disk refuses writes clearly, keeps reads and streams, and recovers when space is freed', { skip: SKIP ? `skipped: ${SKIP}` : false, timeout: 240_000 }, async () => {
  const mountPoint = tempDir('engram-full-');
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=16m', 'tmpfs', mountPoint]);
  const dataDir = join(mountPoint, 'data');
  mkdirSync(dataDir);
  const ballast = join(mountPoint, 'ballast');
  writeFileSync(ballast, Buffer.alloc(4 * 1024 * 1024));
  const server = await startServer({ dataDir, args: ['--search-enabled', 'false', '--storage-write-buffer-bytes', '256KiB'] });
  const http = new HttpClient(server.url);
  const g = new EngramGrpc(server.grpcAddr);
  const ws = new WsClient(`${server.url.replace('http', 'ws')}/stream?context=full&since=0`);
  try {
    await ws.open();
    const acked: Array<{ id: string; seq: number }> = [];
    let full: { status: number; json: { error: { code: string; message: string } } } | undefined;
    // Incompressible payloads, so the disk really fills.
    for (let i = 0; i < 20_000 && full === undefined; i++) {
      const r = await http.post('/workunit', unit('full', { payload: { text: randomBytes(3000).toString('base64') } }));
      if (r.status === 201) acked.push({ id: r.json.id, seq: r.json.seq });
      else full = r;
    }
    assert.ok(full, 'the disk filled up');
    assert.equal(full.status, 507);
    assert.equal(full.json.error.code, 'STORAGE_FULL');
    assert.doesNotMatch(full.json.error.message, /\//, 'no file paths in the message');
    assert.ok(acked.length > 100, `${acked.length} writes before the disk was full`);
    // Still full: refused the same way, over gRPC too; nothing stored.
    assert.equal((await http.post('/workunit', unit('full'))).status, 507);
    await rejectsWith(g.CreateWorkUnit(unitRequest('full')), grpc.status.RESOURCE_EXHAUSTED, 'STORAGE_FULL');
    assert.equal((await http.get('/contexts/full')).json.headSeq, acked.length);

    // Reads work, and the stream delivered every acknowledged unit.
    assert.equal((await http.get('/workunits/full?limit=100&reverse=true')).status, 200);
    assert.equal((await http.get(`/workunit/${acked[0]!.id}`)).status, 200);
    await ws.untilSeq('full', acked.length);

    // Space freed: writes resume in this process, the stream goes on from where it was.
    rmSync(ballast);
    const freedAt = Date.now();
    let next: { status: number; json: { seq: number } } | undefined;
    const deadline = Date.now() + WAIT_MS;
    while (Date.now() < deadline) {
      next = await http.post('/workunit', unit('full', { payload: { text: 'after the disk was freed' } }));
      if (next.status === 201) break;
      assert.equal(next.status, 507, `only STORAGE_FULL while recovering, not ${next.status}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(next?.status, 201, 'writes succeed again');
    assert.equal(next!.json.seq, acked.length + 1);
    process.stdout.write(`# full disk: ${acked.length} units before it was full; writes back ${Date.now() - freedAt} ms after space was freed\n`);
    await ws.untilSeq('full', acked.length + 1);
    assert.deepEqual(
      ws.seqs('full'),
      Array.from({ length: acked.length + 1 }, (_, i) => i + 1),
      'the stream has no gap and no duplicate',
    );
    ws.close();
    g.close();
    http.close();
    assert.equal(await server.stop(), 0);

    // After a restart, everything acknowledged is there.
    const again = await startServer({ dataDir, args: ['--search-enabled', 'false'] });
    const h2 = new HttpClient(again.url);
    try {
      assert.equal((await h2.get('/contexts/full')).json.headSeq, acked.length + 1);
      for (const a of [acked[0]!, acked[Math.floor(acked.length / 2)]!, acked.at(-1)!]) assert.equal((await h2.get(`/workunit/${a.id}`)).json.seq, a.seq);
    } finally {
      h2.close();
      await again.stop();
    }
  } finally {
    ws.close();
    await server.stop();
    execFileSync('umount', [mountPoint]);
    removeDir(mountPoint);
  }
});
