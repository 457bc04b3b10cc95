/** SSE streams with a raw reader, and from a real browser's EventSource (Chromium). */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { describe, test } from 'node:test';
import { HttpClient, unit } from '../helpers/http.js';
import { removeDir, serverPerFile, startOnFixedPort, startServer, tempDir, type RunningServer } from '../helpers/server.js';
import { SseReader } from '../helpers/sse.js';
import { range } from '../helpers/ws.js';
import { WAIT_MS } from '../helpers/wait.js';

const env = serverPerFile({ args: ['--stream-heartbeat', '1s'] });

async function post(contextId: string, payload: unknown = 'x'): Promise<void> {
  const r = await env.http.post('/workunit', unit(contextId, { payload }));
  assert.equal(r.status, 201, r.text);
}

describe('SSE reader', () => {
  test('events carry the seq as id, the event name, and the same JSON as WebSocket frames', async () => {
    await post('sse-basic', 'before');
    const r = new SseReader(`${env.server.url}/stream-sse?context=sse-basic`);
    await r.until(() => r.events.some((e) => e.event === 'subscribed'));
    assert.equal(r.status, 200);
    assert.match(String(r.headers['content-type']), /^text\/event-stream/);
    const subscribed = JSON.parse(r.events[0]!.data);
    assert.match(subscribed.epoch, /^[0-9a-f]{12}$/);
    assert.deepEqual(subscribed, { event: 'subscribed', contextId: 'sse-basic', headSeq: 1, epoch: subscribed.epoch });
    assert.equal(r.events[0]!.id, undefined, 'only unit events carry an id, so Last-Event-ID is always a seq');
    for (let i = 0; i < 10; i++) await post('sse-basic', i);
    await r.until(() => r.seqs().includes(11));
    assert.deepEqual(r.seqs(), range(2, 11));
    const ev = r.events.find((e) => e.id === '5')!;
    const frame = JSON.parse(ev.data);
    assert.equal(frame.event, 'workunit');
    assert.equal(frame.workUnit.seq, 5);
    assert.equal(frame.workUnit.payload, 3);
    assert.ok(r.retry !== undefined && r.retry > 0, 'a reconnect delay is announced');
    r.close();
  });

  test('since replays first; Last-Event-ID resumes and takes precedence over since', async () => {
    for (let i = 0; i < 30; i++) await post('sse-resume', i);
    const bySince = new SseReader(`${env.server.url}/stream-sse?context=sse-resume&since=20`);
    await bySince.until(() => bySince.seqs().includes(30));
    assert.deepEqual(bySince.seqs(), range(21, 30));
    const byHeader = new SseReader(`${env.server.url}/stream-sse?context=sse-resume&since=2`, { 'Last-Event-ID': '25' });
    await byHeader.until(() => byHeader.seqs().includes(30));
    await post('sse-resume');
    await byHeader.until(() => byHeader.seqs().includes(31));
    assert.deepEqual(byHeader.seqs(), range(26, 31));
    bySince.close();
    byHeader.close();
  });

  test('heartbeat comments keep an idle stream alive', async () => {
    const r = new SseReader(`${env.server.url}/stream-sse?context=sse-idle`);
    await r.until(() => r.comments >= 2, WAIT_MS, 'two heartbeat comments');
    assert.equal(r.ended, false);
    r.close();
  });

  test('bad requests are answered with a JSON error before the stream starts', async () => {
    const cases: Array<[string, Record<string, string>, number, string]> = [
      ['/stream-sse', {}, 400, 'INVALID_QUERY'],
      ['/stream-sse?context=a&context=b', {}, 400, 'INVALID_QUERY'],
      ['/stream-sse?context=', {}, 400, 'INVALID_ID'],
      ['/stream-sse?context=sse-resume&since=9999', {}, 400, 'INVALID_QUERY'],
      ['/stream-sse?context=sse-resume', { 'Last-Event-ID': 'abc' }, 400, 'INVALID_QUERY'],
    ];
    for (const [path, headers, status, code] of cases) {
      const r = new SseReader(env.server.url + path, headers);
      await r.until(() => r.ended, WAIT_MS, path);
      assert.equal(r.status, status, path);
      assert.equal(JSON.parse(r.body).error.code, code, path);
    }
  });
});

const CHROMIUM = '/usr/bin/chromium';

describe('browser EventSource', () => {
  test(
    'Chromium follows a context and resumes by itself, without gaps, across a server restart',
    { skip: existsSync(CHROMIUM) ? false : `${CHROMIUM} is not installed (make test installs it as root)` },
    async () => {
      const { chromium } = await import('playwright-core');
      const dataDir = tempDir();
      // A fixed port: the restart below needs the same one.
      const started = await startOnFixedPort((p) => ({ dataDir, args: ['--addr', `127.0.0.1:${p}`] }));
      const port = started.port;
      let server: RunningServer = started.server;
      let http = new HttpClient(server.url);
      const browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
      });
      try {
        const page = await browser.newPage();
        page.setDefaultTimeout(WAIT_MS);
        await page.goto(`${server.url}/healthz`); // same origin as the stream
        for (let i = 0; i < 5; i++) await http.post('/workunit', unit('browser', { payload: i }));
        // Runs in the page, where EventSource is the browser's own.
        await page.evaluate(`
        window.seqs = [];
        window.opens = 0;
        const es = new EventSource('/stream-sse?context=browser&since=0');
        es.onopen = () => window.opens++;
        es.addEventListener('workunit', (e) => window.seqs.push(JSON.parse(e.data).workUnit.seq));
      `);
        await page.waitForFunction('window.seqs.length === 5');

        // Restart the server on the same port and data dir; the browser reconnects with Last-Event-ID.
        http.close();
        assert.equal(await server.stop(), 0);
        server = await startServer({ dataDir, args: ['--addr', `127.0.0.1:${port}`] });
        http = new HttpClient(server.url);
        for (let i = 5; i < 12; i++) await http.post('/workunit', unit('browser', { payload: i }));
        await page.waitForFunction('window.seqs.length >= 12');
        const result = (await page.evaluate('({ seqs: window.seqs, opens: window.opens })')) as { seqs: number[]; opens: number };
        assert.deepEqual(result.seqs, range(1, 12));
        assert.ok(result.opens >= 2, 'the EventSource reconnected');
      } finally {
        await browser.close();
        http.close();
        await server.stop();
        removeDir(dataDir);
      }
    },
  );
});
