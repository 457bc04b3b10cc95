/**
 * Durability: a restart keeps everything; a kill -9 in the middle of concurrent
 * writes loses nothing that was acknowledged and leaves no half-written unit.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { HttpClient, unit } from '../helpers/http.js';
import { removeDir, startServer, tempDir } from '../helpers/server.js';
import { Latch } from '../helpers/wait.js';

const dirs: string[] = [];
after(() => dirs.forEach(removeDir));

interface Ack {
  id: string;
  seq: number;
  contextId: string;
  text: string;
}

test('a restart keeps units, contexts and idempotency keys, and seqs carry on', async () => {
  const dataDir = tempDir();
  dirs.push(dataDir);
  let server = await startServer({ dataDir });
  let http = new HttpClient(server.url);
  const first = await http.post('/workunit', unit('restart', { payload: 1 }), { 'Idempotency-Key': 'k-1' });
  await http.post('/workunit', unit('restart', { payload: 2 }));
  await http.patch('/contexts/restart', { displayName: 'Kept', meta: { a: 'b' } });
  http.close();
  assert.equal(await server.stop('SIGTERM'), 0);

  server = await startServer({ dataDir });
  http = new HttpClient(server.url);
  const ctx = await http.get('/contexts/restart');
  assert.deepEqual([ctx.json.displayName, ctx.json.meta, ctx.json.headSeq, ctx.json.version], ['Kept', { a: 'b' }, 2, 2]);
  assert.equal((await http.get(`/workunit/${first.json.id}`)).text, first.text);
  const retry = await http.post('/workunit', unit('restart', { payload: 1 }), { 'Idempotency-Key': 'k-1' });
  assert.equal(retry.text, first.text);
  assert.equal((await http.post('/workunit', unit('restart', { payload: 3 }))).json.seq, 3);
  http.close();
  assert.equal(await server.stop(), 0);
});

test('kill -9 during concurrent writes loses no acknowledged unit, three times over', async () => {
  const dataDir = tempDir();
  dirs.push(dataDir);
  const acked: Ack[] = [];
  const contexts = ['crash-a', 'crash-b', 'crash/c'];

  for (let cycle = 0; cycle < 3; cycle++) {
    const server = await startServer({ dataDir });
    const http = new HttpClient(server.url);
    const target = acked.length + 400;
    const enough = new Latch(1);
    let stop = false;
    const writers = Array.from({ length: 12 }, async (_, w) => {
      for (let n = 0; !stop && n < 100_000; n++) {
        const contextId = contexts[(w + n) % contexts.length]!;
        try {
          const r = await http.post('/workunit', unit(contextId, { agentId: `w${w}`, payload: { cycle, w, n } }));
          if (r.status !== 201) throw new Error(`unexpected ${r.status} ${r.text}`);
          acked.push({ id: r.json.id, seq: r.json.seq, contextId, text: r.text });
          if (acked.length >= target) enough.countDown();
        } catch (err) {
          if (stop) return; // the server is gone; requests in flight may fail
          throw err;
        }
      }
    });
    await enough.wait(60_000, `${target} acknowledged writes`);
    stop = true;
    assert.equal(await server.stop('SIGKILL'), 'SIGKILL');
    await Promise.all(writers);
    http.close();
  }

  const server = await startServer({ dataDir });
  const http = new HttpClient(server.url);
  for (const a of acked) {
    const r = await http.get(`/workunit/${a.id}`);
    assert.equal(r.status, 200, `acknowledged unit ${a.id} is missing`);
    assert.equal(r.text, a.text);
  }
  for (const contextId of contexts) {
    const head = (await http.get(`/contexts/${encodeURIComponent(contextId)}`)).json.headSeq as number;
    const seqs: number[] = [];
    let cursor = 0;
    for (;;) {
      const page = await http.get(`/workunits/${encodeURIComponent(contextId)}?limit=1000&after=${cursor}`);
      for (const u of page.json.workUnits) {
        // Every stored unit is whole.
        assert.deepEqual(Object.keys(u), ['id', 'contextId', 'seq', 'agentId', 'type', 'ts', 'meta', 'payload', 'relationships']);
        seqs.push(u.seq);
      }
      if (page.json.nextCursor === null) break;
      cursor = page.json.nextCursor;
    }
    assert.deepEqual(
      seqs,
      Array.from({ length: head }, (_, i) => i + 1),
      `${contextId}: seqs are gap-free`,
    );
    const maxAcked = Math.max(...acked.filter((a) => a.contextId === contextId).map((a) => a.seq));
    assert.ok(head >= maxAcked);
    const next = await http.post('/workunit', unit(contextId));
    assert.equal(next.json.seq, head + 1, 'writing carries on from the right seq');
  }
  http.close();
  assert.equal(await server.stop(), 0);
});
