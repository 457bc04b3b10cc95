/**
 * Graceful shutdown on SIGTERM and SIGINT under load: writes in flight either commit and are
 * acknowledged or fail without being stored half; WebSockets are closed with 4000 (reconnect),
 * SSE streams end (EventSource reconnects), gRPC streams get UNAVAILABLE; the discovery file is
 * removed and the process exits 0 within server.shutdownGrace. Every acknowledged unit is there
 * after a restart.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { EngramGrpc, StreamReader } from '../helpers/grpc.js';
import { HttpClient, unit } from '../helpers/http.js';
import { removeDir, startServer, tempDir } from '../helpers/server.js';
import { WsClient } from '../helpers/ws.js';
import { eventually, WAIT_MS } from '../helpers/wait.js';

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  test(`${signal} under load: in-flight writes finish, streams are told to reconnect, exit 0, nothing acknowledged lost`, { timeout: 240_000 }, async () => {
    const dataDir = tempDir('engram-stop-');
    // A server that runs out of its grace exits 1, so exit 0 says it stopped within it; the grace
    // is wide because closing under load (storage, the search index) is slower on a busy machine.
    const server = await startServer({ dataDir, args: ['--shutdown-grace', '30s'] });
    const http = new HttpClient(server.url);
    const acked: Array<{ id: string; contextId: string }> = [];
    let failures = 0;
    try {
      await http.post('/workunit', unit('stop/a'));
      const ws = new WsClient(`${server.url.replace('http', 'ws')}/stream?context=stop/a`);
      await ws.open();
      const sse = await fetch(`${server.url}/stream-sse?context=stop/a&since=0`);
      // The answer ends (cut off, to an EventSource the same as an end: it reconnects with Last-Event-ID).
      const sseDone = sse.text().then(
        () => 'ended',
        () => 'cut off',
      );
      const g = new EngramGrpc(server.grpcAddr);
      const sub = new StreamReader(g.Subscribe({ contextId: 'stop/a', since: 0 }));
      await sub.until((m) => m.length > 0, WAIT_MS, 'the gRPC stream to start');

      let stop = false;
      const writers = Array.from({ length: 8 }, async (_, w) => {
        for (let n = 0; !stop; n++) {
          const contextId = `stop/${w % 2 === 0 ? 'a' : 'b'}`;
          try {
            const r = await http.post('/workunit', unit(contextId, { payload: { w, n } }));
            if (r.status === 201) acked.push({ id: r.json.id, contextId });
            else if (r.status === 503) failures++;
            else throw new Error(`unexpected ${r.status}: ${r.text}`);
          } catch (err) {
            if ((err as Error).message.startsWith('unexpected')) throw err;
            failures++; // the connection closed as the server went away
            return;
          }
        }
      });
      await eventually(async () => acked.length >= 200, WAIT_MS, '200 acknowledged writes');
      const started = Date.now();
      const exit = server.stop(signal);
      const closed = await ws.untilClosed();
      assert.equal(closed.code, 4000);
      assert.match(closed.reason, /GOING_AWAY/);
      assert.match(await sseDone, /ended|cut off/);
      assert.equal((await sub.done()).code, grpc.status.UNAVAILABLE);
      assert.equal(await exit, 0, 'exit 0, within the grace');
      const stoppedMs = Date.now() - started;
      assert.equal(existsSync(join(dataDir, 'engram.server.json')), false, 'the discovery file is gone');
      stop = true;
      await Promise.all(writers);
      g.close();
      http.close();

      const again = await startServer({ dataDir });
      const h2 = new HttpClient(again.url);
      try {
        for (const a of acked) assert.equal((await h2.get(`/workunit/${a.id}`)).status, 200, `acknowledged ${a.id} is there`);
        // No unit stored half: every context is whole and gap-free.
        for (const c of ['stop/a', 'stop/b']) {
          const head = (await h2.get(`/contexts/${encodeURIComponent(c)}`)).json.headSeq as number;
          const page = (await h2.get(`/workunits/${encodeURIComponent(c)}?limit=1000`)).json.workUnits as Array<{ seq: number }>;
          assert.deepEqual(
            page.map((u) => u.seq).slice(0, head),
            Array.from({ length: Math.min(head, 1000) }, (_, i) => i + 1),
          );
        }
      } finally {
        h2.close();
        await again.stop();
      }
      process.stdout.write(`# ${signal}: ${acked.length} writes acknowledged before the stop, ${failures} refused or cut off, stopped in ${stoppedMs} ms\n`);
    } finally {
      removeDir(dataDir);
    }
  });
}
