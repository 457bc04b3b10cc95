/** The examples run against a real server and do what they say. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { removeDir, startServer, type RunningServer } from './helpers/server.js';
import { WAIT_MS } from './helpers/wait.js';

let server: RunningServer;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server.stop();
  removeDir(server.dataDir);
});

function runExample(name: string, args: string[] = []): string {
  const r = spawnSync(process.execPath, [resolve(import.meta.dirname, `../examples/${name}.js`), ...args], {
    env: { ...process.env, ENGRAM_URL: server.url, ENGRAM_GRPC: server.grpcAddr },
    encoding: 'utf8',
    timeout: 2 * WAIT_MS,
  });
  assert.equal(r.status, 0, `${name} exited with ${r.status}: ${r.stderr}`);
  assert.equal(r.stderr, '', `${name} wrote to stderr`);
  return r.stdout;
}

test('examples/http-quickstart runs end to end', () => {
  const r = { stdout: runExample('http-quickstart') };
  assert.match(r.stdout, /planner wrote seq 1/);
  assert.match(r.stdout, /coder wrote seq 2; its retry returned seq 2 again \(same unit\)/);
  assert.match(r.stdout, /context "Retry policy": agents planner, coder, head seq 2/);
});

test('examples/two-agents: the coder answers every task and the planner sees every answer', () => {
  const out = runExample('two-agents');
  assert.equal(out.match(/^coder    answered seq/gm)?.length, 3);
  assert.equal(out.match(/^planner  saw answer seq/gm)?.length, 3);
  assert.match(out, /done: 3 answers, head seq 6, agents planner, coder/);
});

test('examples/grpc-bulk-producer: every unit acked in order', () => {
  const out = runExample('grpc-bulk-producer', ['2000']);
  assert.match(out, /wrote 2000 units \(0 refused\)/);
  assert.match(out, /context worker-0 has head seq 500/);
});

test('examples/locked-file-edit: both edits survive and a stale token is refused', () => {
  const out = runExample('locked-file-edit');
  assert.match(out, /stale write refused: FENCE_REJECTED/);
  assert.match(out, /- retries: exponential backoff with jitter\n/);
  assert.match(out, /- timeouts: 30 s per call\n/);
});

test('examples/search: keyword finds nothing for the paraphrase, hybrid finds the decision', () => {
  const out = runExample('search');
  const [keyword, hybrid] = out.split(/^hybrid:/m);
  assert.match(keyword!, /\(no results\)/);
  assert.match(hybrid!, /exponential backoff with jitter/);
});
