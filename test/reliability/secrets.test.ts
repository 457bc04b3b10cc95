/**
 * Secrets stay secret: with debug logging on, API keys and JWTs (good, bad, in headers and in
 * access_token), the JWT secret and the embedder key never appear in the server's logs or in
 * `engram config`; error answers name a code and a reason, never a stack trace or a file path.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { SignJWT } from 'jose';
import { HttpClient, unit } from '../helpers/http.js';
import { ENGRAM_BIN, removeDir, startServer, tempDir } from '../helpers/server.js';
import { WsClient } from '../helpers/ws.js';

const KEY = 'egk_secret-key-do-not-log-0123456789abcdefghijkl';
const JWT_SECRET = 'jwt-secret-do-not-log-0123456789abcdefghijklmnop';
const EMBED_KEY = 'sk-embedder-key-do-not-log-0123456789';

test('no secret in the logs, in engram config, or in error answers', { timeout: 180_000 }, async () => {
  const dir = tempDir('engram-secrets-');
  const hash = 'sha256:' + createHash('sha256').update(KEY).digest('hex');
  writeFileSync(
    join(dir, 'engram.yaml'),
    `auth:\n  mode: apikey\n  keys:\n    - {client: team, hash: "${hash}", scopes: [read, write, admin]}\nsearch:\n  embedderApiKey: ${EMBED_KEY}\n  embedder: none\n`,
  );
  const server = await startServer({ args: ['--config', join(dir, 'engram.yaml'), '--log-level', 'debug'], env: { ENGRAM_AUTH_JWT_SECRET: JWT_SECRET } });
  const http = new HttpClient(server.url);
  const token = await new SignJWT({ sub: 'team' }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('1h').sign(new TextEncoder().encode(JWT_SECRET));
  const answers: string[] = [];
  try {
    const bearer = { authorization: `Bearer ${KEY}` };
    answers.push((await http.post('/workunit', unit('s/ctx'), bearer)).text);
    answers.push((await http.post('/workunit', unit('s/ctx'), { 'x-api-key': KEY })).text);
    answers.push((await http.get(`/workunits/s%2Fctx?access_token=${KEY}`)).text);
    answers.push((await http.get('/contexts', { authorization: `Bearer ${KEY.slice(0, -1)}X` })).text);
    answers.push((await http.get('/contexts', { authorization: `Bearer ${token}` })).text);
    answers.push((await http.post('/workunit', { contextId: 'x', bogus: KEY }, bearer)).text);
    answers.push((await http.request('POST', '/workunit', { raw: '{"contextId":', headers: { ...bearer, 'content-type': 'application/json' } })).text);
    answers.push((await http.get('/nope/nope', bearer)).text);
    answers.push((await http.post('/memory/s/command', { command: 'view', path: '/memories/../../etc/passwd' }, bearer)).text);
    const ws = new WsClient(`${server.url.replace('http', 'ws')}/stream?context=s%2Fctx&access_token=${KEY}`);
    await ws.open();
    ws.send({ op: 'nope' });
    await ws.next((f) => f.event === 'error');
    ws.close();
    await new WsClient(`${server.url.replace('http', 'ws')}/stream?access_token=${KEY}x`).open().catch(() => undefined);
    // Log lines reach us through a pipe, a moment after the answers: wait for the first.
    await server.waitForLine((r) => r.msg === 'request');

    for (const a of answers) {
      assert.doesNotMatch(a, /\n\s+at |node_modules|\/dist\/|\/src\/|\.js:\d+/, `no internals in ${a.slice(0, 200)}`);
      assert.ok(!a.includes(KEY) && !a.includes(JWT_SECRET), `no secret in ${a.slice(0, 200)}`);
    }
  } finally {
    http.close();
    await server.stop();
  }
  const logs = server.lines.join('\n');
  for (const secret of [KEY, KEY.slice(0, -1) + 'X', JWT_SECRET, EMBED_KEY, token]) assert.ok(!logs.includes(secret), `a secret reached the logs: ${secret.slice(0, 12)}…`);

  const config = spawnSync(ENGRAM_BIN, ['config', '--config', join(dir, 'engram.yaml')], { encoding: 'utf8', env: { ...process.env, ENGRAM_AUTH_JWT_SECRET: JWT_SECRET } });
  assert.equal(config.status, 0, config.stderr);
  for (const secret of [JWT_SECRET, EMBED_KEY]) assert.ok(!config.stdout.includes(secret), 'engram config masks secrets');
  assert.match(config.stdout, /\(set\)/);
  removeDir(server.dataDir);
  removeDir(dir);
});
