/**
 * Browser origins: the server's own pages and origins in server.allowedOrigins may use the API
 * and open streams, with CORS headers and preflights; any other origin gets no CORS headers, is
 * refused for changes (nothing stored), and cannot open a WebSocket.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { unit } from '../helpers/http.js';
import { removeDir, startServer, type RunningServer } from '../helpers/server.js';
import { WsClient } from '../helpers/ws.js';

const ALLOWED = 'https://app.example.com';
const EVIL = 'https://evil.example';

function serverWith(args: string[]): { server: RunningServer } {
  const env = {} as { server: RunningServer };
  before(async () => {
    env.server = await startServer({ args: ['--search-enabled', 'false', ...args] });
  });
  after(async () => {
    await env.server.stop();
    removeDir(env.server.dataDir);
  });
  return env;
}

const post = (url: string, path: string, body: unknown, origin?: string) =>
  fetch(url + path, { method: 'POST', headers: { 'content-type': 'application/json', ...(origin ? { origin } : {}) }, body: JSON.stringify(body) });

describe('origins: defaults (own pages only)', () => {
  const env = serverWith([]);

  test('a foreign page reads without CORS headers, cannot write, and cannot open a WebSocket', async () => {
    const url = env.server.url;
    const read = await fetch(`${url}/contexts`, { headers: { origin: EVIL } });
    assert.equal(read.status, 200);
    assert.equal(read.headers.get('access-control-allow-origin'), null, 'the browser keeps the answer from the page');
    const write = await post(url, '/workunit', unit('origin-ctx'), EVIL);
    assert.equal(write.status, 403);
    assert.equal(((await write.json()) as { error: { code: string } }).error.code, 'FORBIDDEN');
    assert.equal((await fetch(`${url}/contexts/origin-ctx`)).status, 404, 'nothing stored');
    const preflight = await fetch(`${url}/workunit`, { method: 'OPTIONS', headers: { origin: EVIL, 'access-control-request-method': 'POST' } });
    assert.equal(preflight.status, 403);
    await assert.rejects(new WsClient(`${url.replace('http', 'ws')}/stream`, undefined, { origin: EVIL }).open(), /upgrade refused: 403/);
    // A malformed Origin is foreign too.
    assert.equal((await post(url, '/workunit', unit('origin-ctx'), 'not a url')).status, 403);
  });

  test("the server's own pages, and clients that are not browsers, are unaffected", async () => {
    const url = env.server.url;
    assert.equal((await post(url, '/workunit', unit('origin-ctx'), url)).status, 201);
    assert.equal((await post(url, '/workunit', unit('origin-ctx'))).status, 201);
    const ws = new WsClient(`${url.replace('http', 'ws')}/stream?context=origin-ctx`, undefined, { origin: url });
    await ws.open();
    ws.close();
  });
});

describe('origins: server.allowedOrigins', () => {
  const env = serverWith(['--allowed-origins', `${ALLOWED},http://localhost:5173`]);

  test('an allowed origin gets CORS headers, preflights, writes, WebSockets and SSE', async () => {
    const url = env.server.url;
    const preflight = await fetch(`${url}/workunit`, { method: 'OPTIONS', headers: { origin: ALLOWED, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type, authorization' } });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers.get('access-control-allow-origin'), ALLOWED);
    assert.match(preflight.headers.get('access-control-allow-methods')!, /POST/);
    assert.match(preflight.headers.get('access-control-allow-headers')!, /authorization/);
    const write = await post(url, '/workunit', unit('cors-ctx'), ALLOWED);
    assert.equal(write.status, 201);
    assert.equal(write.headers.get('access-control-allow-origin'), ALLOWED);
    assert.match(write.headers.get('access-control-expose-headers')!, /x-request-id/);
    assert.equal(write.headers.get('vary'), 'Origin');
    // Errors carry the headers too, so the page can read the code.
    const bad = await post(url, '/workunit', { contextId: '' }, ALLOWED);
    assert.equal(bad.status, 400);
    assert.equal(bad.headers.get('access-control-allow-origin'), ALLOWED);
    const ws = new WsClient(`${url.replace('http', 'ws')}/stream?context=cors-ctx&since=0`, undefined, { origin: 'http://localhost:5173' });
    await ws.open();
    await ws.untilSeq('cors-ctx', 1);
    ws.close();
    const ac = new AbortController();
    const sse = await fetch(`${url}/stream-sse?context=cors-ctx&since=0`, { headers: { origin: ALLOWED }, signal: ac.signal });
    assert.equal(sse.headers.get('access-control-allow-origin'), ALLOWED);
    ac.abort();
    // Others still not.
    assert.equal((await post(url, '/workunit', unit('cors-ctx'), EVIL)).status, 403);
    await assert.rejects(new WsClient(`${url.replace('http', 'ws')}/stream`, undefined, { origin: EVIL }).open(), /upgrade refused: 403/);
  });
});
