/** The examples run against a real server and do what they say. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { removeDir, startServer, type RunningServer } from './helpers/server.js';

let server: RunningServer;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server.stop();
  removeDir(server.dataDir);
});

test('examples/http-quickstart runs end to end', () => {
  const r = spawnSync(process.execPath, [resolve(import.meta.dirname, '../examples/http-quickstart.js')], {
    env: { ...process.env, ENGRAM_URL: server.url },
    encoding: 'utf8',
    timeout: 30_000,
  });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /planner wrote seq 1/);
  assert.match(r.stdout, /coder wrote seq 2; its retry returned seq 2 again \(same unit\)/);
  assert.match(r.stdout, /context "Retry policy": agents planner, coder, head seq 2/);
});
