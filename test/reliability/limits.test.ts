/**
 * Limits, each configured small here: header size (431), a body that trickles in (408
 * REQUEST_TIMEOUT, connection closed), slow-loris clients (the server keeps answering others),
 * streams in total (503 TOO_MANY_CONNECTIONS). Over a limit: a clear answer, never a hang, and
 * nothing stored.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { HttpClient, rawExchange } from '../helpers/http.js';
import { removeDir, startServer, type RunningServer } from '../helpers/server.js';
import { WsClient } from '../helpers/ws.js';

/** Sends the pieces 30 ms apart (each its own read on the server) and collects the answer until the server closes or 5 s pass. */
function slowly(port: number, pieces: string[]): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let got = '';
    const done = () => resolve(got);
    const timer = setTimeout(() => (s.destroy(), done()), 5000);
    s.on('data', (d) => (got += d.toString('latin1')));
    s.on('error', () => undefined);
    s.on('close', () => (clearTimeout(timer), done()));
    s.on('connect', async () => {
      for (const p of pieces) {
        if (s.destroyed) return;
        s.write(p);
        await new Promise((r) => setTimeout(r, 30));
      }
    });
  });
}

describe('limits', () => {
  let server: RunningServer;
  let http: HttpClient;
  before(async () => {
    server = await startServer({ args: ['--search-enabled', 'false', '--max-header-bytes', '8KiB', '--request-timeout', '1s', '--stream-max-connections', '3'] });
    http = new HttpClient(server.url);
  });
  after(async () => {
    http.close();
    await server.stop();
    removeDir(server.dataDir);
  });

  test('headers over limits.maxHeaderBytes: 431 or a closed connection, never a hang', async () => {
    // Headers arriving in pieces are what the server holds in memory meanwhile, up to the limit.
    // (uWebSockets.js parses headers that arrive in one read where they are, in the socket's buffer.)
    const pad = 'a'.repeat(4 * 1024);
    const big = await slowly(server.port, ['GET /healthz HTTP/1.1\r\nHost: x\r\n', `X-Pad-1: ${pad}\r\n`, `X-Pad-2: ${pad}\r\n`, `X-Pad-3: ${pad}\r\n`, '\r\n']);
    assert.ok(big === '' || /^HTTP\/1\.1 431/.test(big), `answered ${JSON.stringify(big.slice(0, 80))}`);
    const fine = await rawExchange(server.port, [`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: ${'a'.repeat(6 * 1024)}\r\nConnection: close\r\n\r\n`], { timeoutMs: 5000 });
    assert.match(fine, /^HTTP\/1\.1 200/);
  });

  test('a body that trickles in gets 408 REQUEST_TIMEOUT and its connection closed; nothing is stored', async () => {
    const started = Date.now();
    const reply = await rawExchange(server.port, ['POST /workunit HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{"contextId":"slow",'], { timeoutMs: 10_000 });
    assert.match(reply, /^HTTP\/1\.1 408/);
    assert.match(reply, /REQUEST_TIMEOUT/);
    assert.ok(Date.now() - started < 9000, 'answered, and the connection closed, well before the client gave up');
    assert.equal((await http.get('/contexts/slow')).status, 404);
  });

  test('slow-loris clients do not hold the server: others are answered meanwhile', { timeout: 60_000 }, async () => {
    const sockets: net.Socket[] = [];
    let closedByServer = 0;
    for (let i = 0; i < 40; i++) {
      const s = net.connect(server.port, '127.0.0.1');
      s.on('error', () => undefined);
      s.on('close', () => closedByServer++);
      s.write('GET /healthz HTTP/1.1\r\nHost: x\r\n');
      sockets.push(s);
    }
    // A header byte now and then, for a few seconds, while normal requests go on.
    for (let round = 0; round < 6; round++) {
      for (const s of sockets) if (!s.destroyed) s.write('X');
      const t0 = Date.now();
      assert.equal((await http.get('/healthz')).status, 200);
      assert.ok(Date.now() - t0 < 2000, 'answered promptly');
      await new Promise((r) => setTimeout(r, 500));
    }
    for (const s of sockets) s.destroy();
    process.stdout.write(`# slow-loris: ${closedByServer} of 40 closed by the server within 3 s\n`);
  });

  test('streams in total over stream.maxConnections: 503 TOO_MANY_CONNECTIONS until one closes', async () => {
    const url = `${server.url.replace('http', 'ws')}/stream`;
    const open = [new WsClient(url), new WsClient(url), new WsClient(url)];
    await Promise.all(open.map((w) => w.open()));
    await assert.rejects(new WsClient(url).open(), /upgrade refused: 503/);
    const sse = await fetch(`${server.url}/stream-sse?context=x&since=0`);
    assert.equal(sse.status, 503);
    assert.equal(((await sse.json()) as { error: { code: string } }).error.code, 'TOO_MANY_CONNECTIONS');
    open[0]!.close();
    await open[0]!.untilClosed();
    // The server notices the close at once; a new stream is accepted again.
    let accepted = false;
    for (let i = 0; i < 50 && !accepted; i++) {
      const w = new WsClient(url);
      accepted = await w.open().then(
        () => true,
        () => false,
      );
      if (accepted) w.close();
      else await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(accepted);
    for (const w of open.slice(1)) w.close();
  });
});
