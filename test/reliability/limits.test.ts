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
import { eventually, WAIT_MS, withTimeout } from '../helpers/wait.js';
import { WsClient } from '../helpers/ws.js';

/**
 * Sends header lines over the limit, in pieces but without the blank line that ends the headers,
 * and collects the answer until the server closes the connection. Held back, the blank line cannot
 * arrive in the server's first read however late that read comes (uWebSockets.js parses headers
 * that arrive whole in one read where they are, without the limit). A server that enforced no
 * limit would still be waiting for it: it is sent after a while (well within uWebSockets.js's own
 * 10 s header timeout), and such a server answers.
 */
function headersOverLimit(port: number, pieces: string[]): Promise<string> {
  const s = net.connect(port, '127.0.0.1');
  let got = '';
  s.on('data', (d) => (got += d.toString('latin1')));
  s.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => s.on('close', () => resolve()));
  s.on('connect', () => {
    for (const p of pieces) s.write(p);
  });
  return withTimeout(
    (async () => {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([closed, new Promise((r) => (timer = setTimeout(r, 5000)))]);
      clearTimeout(timer);
      if (!s.destroyed) s.write('\r\n');
      await closed;
      return got;
    })(),
    WAIT_MS,
    'the server to close the connection',
  ).finally(() => s.destroy());
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
    const big = await headersOverLimit(server.port, ['GET /healthz HTTP/1.1\r\nHost: x\r\n', `X-Pad-1: ${pad}\r\n`, `X-Pad-2: ${pad}\r\n`, `X-Pad-3: ${pad}\r\n`]);
    assert.ok(big === '' || /^HTTP\/1\.1 431/.test(big), `answered ${JSON.stringify(big.slice(0, 80))}`);
    const fine = await rawExchange(server.port, [`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: ${'a'.repeat(6 * 1024)}\r\nConnection: close\r\n\r\n`]);
    assert.match(fine, /^HTTP\/1\.1 200/);
  });

  test('a body that trickles in gets 408 REQUEST_TIMEOUT and its connection closed; nothing is stored', async () => {
    // rawExchange resolves once the server closes the connection (and fails if it never does).
    const reply = await rawExchange(server.port, ['POST /workunit HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{"contextId":"slow",']);
    assert.match(reply, /^HTTP\/1\.1 408/);
    assert.match(reply, /REQUEST_TIMEOUT/);
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
    // A header byte now and then, for a few seconds, while normal requests go on. Each is answered
    // while the slow clients are still there (uWebSockets.js cuts them off after 10 s): a server they
    // held would answer only once they were gone.
    for (let round = 0; round < 6; round++) {
      for (const s of sockets) if (!s.destroyed) s.write('X');
      assert.equal((await withTimeout(http.get('/healthz'), WAIT_MS, '/healthz')).status, 200);
      assert.ok(closedByServer < sockets.length, `answered only after the server had closed all ${sockets.length} slow clients`);
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
    // The server notices the close (at once, unless it is starved): a new stream is accepted again.
    await eventually(
      async () => {
        const w = new WsClient(url);
        const accepted = await w.open().then(
          () => true,
          () => false,
        );
        if (accepted) w.close();
        else await new Promise((r) => setTimeout(r, 50));
        return accepted;
      },
      WAIT_MS,
      'a new stream to be accepted',
    );
    for (const w of open.slice(1)) w.close();
  });
});
