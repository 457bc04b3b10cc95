/** The bin/engram command: start-up line, port 0, config errors, a locked data dir, signals. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { HttpClient } from './helpers/http.js';
import { ENGRAM_BIN, removeDir, startServer, tempDir } from './helpers/server.js';
import { WAIT_MS } from './helpers/wait.js';

const dirs: string[] = [];
after(() => dirs.forEach(removeDir));

test('serve on port 0 prints the bound address on its first log line, then serves there', async () => {
  const server = await startServer();
  dirs.push(server.dataDir);
  const first = JSON.parse(server.lines[0]!);
  assert.equal(first.msg, 'engram listening');
  assert.match(first.addr, /^127\.0\.0\.1:\d+$/);
  assert.notEqual(server.port, 0);
  const http = new HttpClient(server.url);
  assert.equal((await http.get('/readyz')).status, 200);
  http.close();
  assert.equal(await server.stop('SIGINT'), 0);
});

test('IPv6 loopback works', async () => {
  const server = await startServer({ args: ['--addr', '[::1]:0'] });
  dirs.push(server.dataDir);
  assert.match(JSON.parse(server.lines[0]!).addr, /^\[::1\]:\d+$/);
  assert.equal(await server.stop(), 0);
});

test("the seeds' forms: --addr=:PORT and ENGRAM_ADDR=:PORT listen on every interface (auth.allowRemote), /health and /redoc answer", async () => {
  for (const how of [{ args: ['--addr=:0', '--grpc-addr', ':0', '--auth-allow-remote'] }, { args: ['--auth-allow-remote'], env: { ENGRAM_ADDR: ':0' } }]) {
    // A later --addr wins over the helper's own; for the variable, the helper passes none.
    const server = await startServer({ args: how.args, ...(how.env ? { env: how.env, addrFromEnv: true } : {}) });
    dirs.push(server.dataDir);
    const first = JSON.parse(server.lines[0]!);
    assert.match(first.addr, /^0\.0\.0\.0:\d+$/, JSON.stringify(first));
    assert.match(first.url, /^http:\/\/127\.0\.0\.1:\d+$/, 'the URL is one to reach it by');
    const http = new HttpClient(server.url);
    assert.deepEqual((await http.get('/health')).json, { status: 'ok' });
    const redoc = await http.get('/redoc');
    assert.equal(redoc.status, 200);
    assert.match(redoc.text, /<title>Engram API<\/title>/);
    http.close();
    assert.equal(await server.stop(), 0);
  }
  // Beyond loopback with auth off and no allowRemote: refused, as for any other address.
  const refused = spawnSync(ENGRAM_BIN, ['serve', '--addr', ':0', '--data-dir', tempDir()], { encoding: 'utf8', timeout: WAIT_MS });
  assert.equal(refused.status, 2);
  assert.match(refused.stderr, /server\.addr: 0\.0\.0\.0 is not loopback/);
});

test('settings come from ENGRAM_* variables too', async () => {
  const server = await startServer({ env: { ENGRAM_MAX_UNIT_BYTES: '1KiB', ENGRAM_LOG_LEVEL: 'warn' }, waitReady: false });
  dirs.push(server.dataDir);
  const http = new HttpClient(server.url);
  const r = await http.post('/workunit', { contextId: 'c', agentId: 'a', type: 'MESSAGE', payload: 'x'.repeat(2000) });
  assert.equal(r.status, 413);
  http.close();
  assert.equal(await server.stop(), 0);
  assert.equal(server.lines.length, 1, 'at level warn only the start-up line is written');
});

test('bad configuration exits 2 with a message for every bad value', () => {
  const r = spawnSync(ENGRAM_BIN, ['serve', '--addr', 'x', '--storage-sync', 'perhaps'], { encoding: 'utf8', env: { ...process.env, ENGRAM_CACHE_MAX_BYTES: 'lots' } });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /invalid configuration/);
  assert.match(r.stderr, /server\.addr \(from option --addr\)/);
  assert.match(r.stderr, /storage\.sync \(from option --storage-sync\)/);
  assert.match(r.stderr, /cache\.maxBytes \(from environment ENGRAM_CACHE_MAX_BYTES\)/);
});

test('engram config prints the effective settings; help and version work; unknown commands exit 2', () => {
  const cfg = spawnSync(ENGRAM_BIN, ['config', '--addr', '0.0.0.0:9000'], {
    encoding: 'utf8',
    env: { ...process.env, ENGRAM_STORAGE_SYNC: 'true', ENGRAM_AUTH_ALLOW_REMOTE: 'true' },
  });
  assert.equal(cfg.status, 0, cfg.stderr);
  assert.match(cfg.stdout, /addr: 0\.0\.0\.0:9000/);
  assert.match(cfg.stdout, /sync: true/);
  const help = spawnSync(ENGRAM_BIN, ['--help'], { encoding: 'utf8' });
  assert.equal(help.status, 0);
  assert.match(help.stdout, /engram serve/);
  assert.match(help.stdout, /ENGRAM_DATA_DIR/);
  // Every option's environment variable (and --config's text) starts in the same column, the longest option's included.
  const optionLines = help.stdout.split('\n').filter((l) => /^  --\S+ (VALUE|\[true\|false\]|FILE)  +\S/.test(l));
  assert.ok(optionLines.length > 30, `${optionLines.length} option lines`);
  const secondColumn = (l: string) => /^  \S+(?: \S+)* {2,}/.exec(l)![0].length;
  assert.equal(new Set(optionLines.map(secondColumn)).size, 1, optionLines.join('\n'));
  assert.ok(optionLines.some((l) => l.startsWith('  --stream-max-buffered-bytes VALUE ')));
  assert.ok(optionLines.some((l) => l.startsWith('  --config FILE ')));
  // So does every description after a client or data command's usage.
  const commandLines = help.stdout.split('\n').filter((l) => /^  engram (put|get|tail|lock|unlock|memory|backup|restore|export|import|repair) .* {2}\S/.test(l));
  assert.equal(commandLines.length, 11, commandLines.join('\n'));
  assert.equal(new Set(commandLines.map(secondColumn)).size, 1, commandLines.join('\n'));
  assert.match(spawnSync(ENGRAM_BIN, ['version'], { encoding: 'utf8' }).stdout, /^engram \d+\.\d+\.\d+/);
  assert.equal(spawnSync(ENGRAM_BIN, ['frobnicate'], { encoding: 'utf8' }).status, 2);
});

test('a second server on a data dir in use exits at once, naming the running server by pid and address', async () => {
  const server = await startServer();
  dirs.push(server.dataDir);
  const discovery = JSON.parse(readFileSync(join(server.dataDir, 'engram.server.json'), 'utf8')) as { pid: number; url: string; grpcAddr: string };
  assert.equal(discovery.pid, server.proc.pid);
  assert.equal(discovery.url, server.url);
  assert.equal(discovery.grpcAddr, server.grpcAddr);
  const second = spawnSync(ENGRAM_BIN, ['serve', '--addr', '127.0.0.1:0', '--grpc-addr', '127.0.0.1:0', '--data-dir', server.dataDir], { encoding: 'utf8', timeout: WAIT_MS });
  assert.equal(second.status, 1);
  assert.match(second.stderr, new RegExp(`in use by another process: the Engram server with pid ${server.proc.pid} at ${server.url.replace(/[.]/g, '\\.')}`));
  // Refused before binding a port or touching storage: no listening line, no LevelDB error.
  assert.equal(second.stdout, '');
  assert.equal(await server.stop(), 0);
  assert.equal(existsSync(join(server.dataDir, 'engram.server.json')), false, 'a clean exit removes the discovery file');
});

test('a discovery file left by a killed server is stale: the next server starts and replaces it', async () => {
  const first = await startServer();
  dirs.push(first.dataDir);
  assert.equal(await first.stop('SIGKILL'), 'SIGKILL');
  assert.equal(JSON.parse(readFileSync(join(first.dataDir, 'engram.server.json'), 'utf8')).pid, first.proc.pid);
  const next = await startServer({ dataDir: first.dataDir });
  const stale = await next.waitForLine((r) => r.msg === 'replacing the discovery file of a server that is no longer running');
  assert.deepEqual([stale.stalePid, stale.pid], [first.proc.pid, next.proc.pid]);
  const raw = next.lines.find((l) => l.includes('no longer running'))!;
  assert.equal(raw.match(/"pid":/g)?.length, 1, 'one pid key in the line');
  assert.equal(JSON.parse(readFileSync(join(first.dataDir, 'engram.server.json'), 'utf8')).pid, next.proc.pid);
  assert.equal(await next.stop(), 0);
});

test('a port already taken fails with a clear message', async () => {
  const server = await startServer();
  dirs.push(server.dataDir);
  const dir = tempDir();
  dirs.push(dir);
  const second = spawnSync(ENGRAM_BIN, ['serve', '--addr', `127.0.0.1:${server.port}`, '--grpc-addr', '127.0.0.1:0', '--data-dir', dir], { encoding: 'utf8', timeout: WAIT_MS });
  assert.equal(second.status, 1, `signal ${second.signal}, error ${second.error?.message}, stderr: ${second.stderr}, stdout: ${second.stdout}`);
  assert.match(second.stderr, /cannot listen on 127\.0\.0\.1:\d+/);
  assert.equal(await server.stop(), 0);
});
