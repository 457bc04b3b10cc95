/**
 * Soak: connections churn for a while (WebSockets and SSE streams opened, fed and dropped,
 * HTTP writes and reads, locks taken and released) while the server's memory (RSS) and open
 * file descriptors are sampled. After a warm-up both must stay flat: nothing a connection
 * leaves behind accumulates. A short run is part of make test; make soak runs it for minutes
 * (ENGRAM_SOAK_SECONDS) and prints the samples.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import WebSocket from 'ws';
import { HttpClient, unit } from '../helpers/http.js';
import { processUsage } from '../helpers/proc.js';
import { removeDir, startServer } from '../helpers/server.js';
import { eventually, WAIT_MS } from '../helpers/wait.js';

const SECONDS = Number(process.env.ENGRAM_SOAK_SECONDS ?? 8);
const MIN_CYCLES = 20;

test(`soak: ${SECONDS} s of churning connections keep memory and file descriptors flat`, { timeout: (SECONDS * 5 + 180) * 1000 }, async () => {
  // Small cache bounds, so the caches are full within the warm-up and what is left is growth.
  const server = await startServer({ args: ['--search-enabled', 'false', '--cache-max-bytes', '4MiB'] });
  const http = new HttpClient(server.url);
  const pid = server.proc.pid!;
  const samples: Array<{ t: number; rss: number; fds: number }> = [];
  let stop = false;
  let cycles = 0;

  const churn = async (worker: number) => {
    for (let i = 0; !stop; i++) {
      const ctx = `soak-${worker}-${i % 20}`;
      // A WebSocket that subscribes, sees a unit, and goes away (half of them without a close handshake).
      const ws = new WebSocket(`ws://127.0.0.1:${server.port}/stream?context=${ctx}`);
      await new Promise<void>((ok) => {
        ws.once('open', () => ok());
        ws.once('error', () => ok());
      });
      const seen = new Promise<void>((ok) => {
        const t = setTimeout(ok, 2000);
        ws.on('message', (d) => {
          if (String(d).includes('"workunit"')) {
            clearTimeout(t);
            ok();
          }
        });
      });
      await http.post('/workunit', unit(ctx, { payload: { i, text: 'x'.repeat(i % 7 === 0 ? 20_000 : 100) } }));
      await seen;
      if (i % 2 === 0) ws.close();
      else ws.terminate();
      // An SSE stream opened and dropped.
      const ac = new AbortController();
      const sse = await fetch(`${server.url}/stream-sse?context=${ctx}&since=0`, { signal: ac.signal }).catch(() => undefined);
      ac.abort();
      await sse?.body?.cancel().catch(() => undefined);
      // Reads and a lock.
      await http.get(`/workunits/${ctx}?limit=100&reverse=true`);
      const l = await http.post('/locks', { resource: `soak-${worker}`, agentId: 'soak', ttlMs: 5000 });
      if (l.status === 200) await http.request('DELETE', `/locks/soak-${worker}?agentId=soak&lockId=${l.json.lockId}`, {});
      cycles++;
    }
  };

  try {
    const started = Date.now();
    const workers = Array.from({ length: 4 }, (_, w) => churn(w));
    const sampler = (async () => {
      while (!stop) {
        await new Promise((r) => setTimeout(r, Math.max(500, (SECONDS * 1000) / 24)));
        samples.push({ t: Math.round((Date.now() - started) / 100) / 10, ...processUsage(pid) });
        // Past the time, and enough cycles done to judge (a starved run takes longer to get them; a stuck one gives up).
        const elapsed = Date.now() - started;
        if ((elapsed >= SECONDS * 1000 && cycles > MIN_CYCLES) || elapsed >= SECONDS * 5000) stop = true;
      }
    })();
    await sampler;
    await Promise.all(workers);
    const ran = Math.round((Date.now() - started) / 1000);
    // The first quarter is warm-up (JIT, caches filling up to their bounds).
    const warm = samples[Math.floor(samples.length / 4)]!;
    // Settled: the last connections are closed on the server's side too (what leaks never settles).
    let end = processUsage(pid);
    await eventually(async () => (end = processUsage(pid)).fds <= warm.fds + 8, WAIT_MS, 'the file descriptors of closed connections to be freed').catch(() => undefined);
    const peakRss = Math.max(...samples.slice(Math.floor(samples.length / 4)).map((s) => s.rss));
    process.stdout.write(
      `# soak: ${cycles} connection cycles in ${ran} s; samples (s, MiB, fds): ${samples.map((s) => `${s.t}/${Math.round(s.rss / 1048576)}/${s.fds}`).join(' ')}; end ${Math.round(end.rss / 1048576)} MiB, ${end.fds} fds\n`,
    );
    assert.ok(cycles > MIN_CYCLES, `churned ${cycles} times`);
    assert.ok(end.fds <= warm.fds + 8, `file descriptors: ${warm.fds} after warm-up, ${end.fds} at the end`);
    // V8 lets its heap grow until a major collection, so RSS saws up and down by tens of MiB;
    // this bound catches what accumulates per connection (10 KiB each is ~180 MiB a minute here).
    assert.ok(peakRss - warm.rss < 160 * 1048576, `memory after warm-up rose from ${Math.round(warm.rss / 1048576)} to ${Math.round(peakRss / 1048576)} MiB`);
  } finally {
    stop = true;
    http.close();
    await server.stop();
    removeDir(server.dataDir);
  }
});
