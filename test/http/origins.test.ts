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
    const preflight = await fetch(`${url}/workunit`, {
      method: 'OPTIONS',
      headers: { origin: ALLOWED, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type, authorization' },
    });
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

describe('origins: DNS rebinding with auth off', () => {
  const env = serverWith(['--allowed-hosts', 'engram.internal']);

  test('a browser request naming another host is refused; non-browser clients and allowed hosts are not', async () => {
    const { HttpClient } = await import('../helpers/http.js');
    const http = new HttpClient(env.server.url);
    const port = env.server.port;
    try {
      // A page at evil.test rebound to 127.0.0.1: same origin to the browser, not to the server.
      const rebound = { host: `evil.test:${port}`, origin: `http://evil.test:${port}` };
      const w = await http.post('/workunit', unit('dns-ctx'), rebound);
      assert.equal(w.status, 403);
      assert.match(w.json.error.message, /DNS-rebinding/);
      const backup = await http.get('/admin/backup', { host: `evil.test:${port}`, 'sec-fetch-site': 'same-origin', 'sec-fetch-mode': 'cors' });
      assert.equal(backup.status, 403, 'a same-origin GET (no Origin header) is caught by Sec-Fetch-Site');
      const sse = await http.get('/stream-sse?context=dns-ctx', { host: `evil.test:${port}`, 'sec-fetch-site': 'same-origin' });
      assert.equal(sse.status, 403);
      await assert.rejects(new WsClient(`ws://127.0.0.1:${port}/stream`, undefined, rebound).open(), /upgrade refused: 403/);
      assert.equal((await http.get('/contexts/dns-ctx')).status, 404, 'nothing stored');
      // Loopback names and allowed hosts work from browsers; other clients are not checked.
      assert.equal((await http.post('/workunit', unit('dns-ctx'), { host: `localhost:${port}`, origin: `http://localhost:${port}` })).status, 201);
      assert.equal((await http.post('/workunit', unit('dns-ctx'), { host: `engram.internal:${port}`, origin: `http://engram.internal:${port}` })).status, 201);
      assert.equal((await http.post('/workunit', unit('dns-ctx'), { host: `evil.test:${port}` })).status, 201);
    } finally {
      http.close();
    }
  });
});
