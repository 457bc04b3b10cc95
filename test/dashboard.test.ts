/**
 * The web dashboard end to end, in a real headless Chromium against a real server: a unit
 * written by the API appears live; a unit posted from the page reads back over the API; a lock
 * appears and expires; pending approvals show live and Approve and Deny decide them for the
 * agents waiting; a search finds a unit and opens it in its context; a memory file edited
 * on the page reads back through the memory API (and an agent's change shows live); the live
 * stream resumes without a gap after a drop and after a server restart. With ENGRAM_SCREENSHOTS
 * set to a directory (make screenshots), the main views are saved there as PNGs.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { EngramClient } from '../src/client/index.js';
import { HttpClient, unit } from './helpers/http.js';
import { removeDir, startOnFixedPort, startServer, tempDir, type RunningServer } from './helpers/server.js';
import { WAIT_MS } from './helpers/wait.js';
import { WsClient } from './helpers/ws.js';

const CHROMIUM = '/usr/bin/chromium';
const SKIP = existsSync(CHROMIUM) ? false : `${CHROMIUM} is not installed (make test installs it as root)`;
const SHOTS = process.env.ENGRAM_SCREENSHOTS;

describe('web dashboard', { skip: SKIP }, () => {
  let server: RunningServer;
  let http: HttpClient;
  let browser: Browser;
  let page: Page;
  let port = 0;
  const dataDir = tempDir('engram-dash-');

  before(async () => {
    // A fixed port, so the restart test can bind it again at once.
    ({ server, port } = await startOnFixedPort((p) => ({ dataDir, args: ['--addr', `127.0.0.1:${p}`] })));
    http = new HttpClient(server.url);
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.setDefaultTimeout(WAIT_MS);
    if (SHOTS) mkdirSync(SHOTS, { recursive: true });
  });

  after(async () => {
    await browser?.close();
    http?.close();
    await server?.stop();
    removeDir(dataDir);
  });

  const shot = async (name: string) => {
    if (SHOTS) await page.screenshot({ path: join(SHOTS, `${name}.png`) });
  };
  // Page code as strings: it runs in the browser, where the DOM is.
  const seqsShown = (contextId: string) =>
    page.evaluate(`Array.from(document.querySelectorAll('ol[aria-label="units of ${contextId}"] li[data-seq]')).map((li) => Number(li.dataset.seq))`) as Promise<number[]>;

  test('the page and its assets are served with types, caching and a CSP', async () => {
    const index = await fetch(`${server.url}/`);
    assert.equal(index.status, 200);
    assert.match(index.headers.get('content-type')!, /^text\/html/);
    assert.match(index.headers.get('content-security-policy')!, /default-src 'self'/);
    const etag = index.headers.get('etag')!;
    assert.equal((await fetch(`${server.url}/`, { headers: { 'if-none-match': etag } })).status, 304);
    const js = await fetch(`${server.url}/dashboard/app.js`);
    assert.match(js.headers.get('content-type')!, /^text\/javascript/);
    assert.equal(js.headers.get('cache-control'), 'no-cache');
    assert.match((await fetch(`${server.url}/dashboard/app.css`)).headers.get('content-type')!, /^text\/css/);
    assert.equal((await fetch(`${server.url}/dashboard/nope.js`)).status, 404);
  });

  test('a unit written by the API appears live in the timeline, with its relationships as links', async () => {
    const first = await http.post('/workunit', unit('team/plan', { agentId: 'planner', payload: { text: 'Split the work in two' } }));
    await page.goto(`${server.url}/#/contexts/${encodeURIComponent('team/plan')}`);
    await page.locator('li[data-seq="1"]').waitFor();
    await page.locator('.stream-status[data-status="live"]').waitFor();
    await http.post(
      '/workunit',
      unit('team/plan', { agentId: 'coder', type: 'TASK_STATUS', payload: { text: 'Taking the first half' }, relationships: [{ targetId: first.json.id, type: 'RESPONDS_TO' }] }),
    );
    const live = page.locator('li[data-seq="2"]');
    await live.waitFor();
    assert.match(await live.innerText(), /coder[\s\S]*Taking the first half/);
    assert.equal(await live.locator('a.rel').getAttribute('href'), `#/unit/${first.json.id}`);
    // The context list shows its activity (it is read again every few seconds).
    await page.locator('a[data-context="team/plan"]', { hasText: /2 units · .* · 2 agents/ }).waitFor();
    await shot('contexts');
    // The relationship link opens the unit it points to.
    await live.locator('a.rel').click();
    await page.locator(`li#unit-${first.json.id}.focus`).waitFor();
  });

  test('the timeline shows who is in the context, live: the page itself, and agents as they come and go', async () => {
    const ctx = 'team/presence';
    await page.goto(`${server.url}/#/contexts/${encodeURIComponent(ctx)}`);
    const here = page.locator(`ul[aria-label="who is in ${ctx}"]`);
    await here.locator('li[data-agent="dashboard"]').waitFor();
    const visitor = new WsClient(`${server.url.replace('http', 'ws')}/stream?context=${encodeURIComponent(ctx)}&agentId=visitor`);
    try {
      await visitor.open();
      const shown = here.locator('li[data-agent="visitor"]');
      await shown.waitFor();
      assert.match(await shown.innerText(), /visitor\s+default/);
      await shot('presence');
    } finally {
      visitor.close();
    }
    await here.locator('li[data-agent="visitor"]').waitFor({ state: 'detached' });
    assert.equal(await here.locator('li').count(), 1, 'only the page is left');
  });

  test('a unit posted from the page reads back over the API', async () => {
    await page.goto(`${server.url}/#/contexts/${encodeURIComponent('team/plan')}`);
    await page.locator('li[data-seq="2"]').waitFor();
    const form = page.locator('form.post');
    await form.locator('input[name="agentId"]').fill('reviewer');
    await form.locator('select[name="type"]').selectOption('MESSAGE');
    await form.locator('textarea[name="text"]').fill('Looks good from the dashboard');
    await form.locator('button[type="submit"]').click();
    await page.locator('li[data-seq="3"]').waitFor();
    const units = (await http.get(`/workunits/${encodeURIComponent('team/plan')}`)).json.workUnits;
    assert.equal(units.length, 3);
    assert.equal(units[2].agentId, 'reviewer');
    assert.deepEqual(units[2].payload, { text: 'Looks good from the dashboard' });
    // Shown once, though it came back both as the write's answer and over the stream.
    assert.deepEqual(await seqsShown('team/plan'), [1, 2, 3]);
  });

  test('a lock appears with holder, token and countdown, and its expiry shows live', async () => {
    await page.goto(`${server.url}/#/locks`);
    await page.locator('.stream-status[data-status="live"]').waitFor();
    // Long enough that the row is still there to be read on a busy machine, short enough to wait for its expiry.
    const lock = (await http.post('/locks', { resource: 'file:src/app.ts', agentId: 'coder', ttlMs: 8000 })).json;
    const row = page.locator('tr', { has: page.locator('code.resource', { hasText: 'file:src/app.ts' }) });
    await row.waitFor();
    assert.match(await row.innerText(), new RegExp(`coder\\s+${lock.token}`));
    assert.match(await row.locator('.countdown').innerText(), /^\d+\.\d s$/);
    await shot('locks');
    await page.locator('li.event.expired', { hasText: 'file:src/app.ts' }).waitFor();
    await row.waitFor({ state: 'detached' });
  });

  test('a read of the locks that answers late does not hide a lock acquired meanwhile', async () => {
    // Every read of /locks is served at once but handed to the page only after the lock below is acquired and
    // shown: the page holds an answer older than the event, as on a busy machine.
    let release!: () => void;
    const acquiredShown = new Promise<void>((r) => (release = r));
    const handler = async (route: import('playwright-core').Route) => {
      const response = await route.fetch();
      await acquiredShown;
      await route.fulfill({ response });
    };
    await page.route('**/locks?limit=1000', handler);
    try {
      await page.goto(`${server.url}/#/contexts`);
      await page.goto(`${server.url}/#/locks`);
      await page.locator('.stream-status[data-status="live"]').waitFor();
      await http.post('/locks', { resource: 'file:late-read.ts', agentId: 'coder', ttlMs: 60_000 });
      // Shown from its event (or the stream's snapshot), while every read is still held.
      const row = page.locator('tr', { has: page.locator('code.resource', { hasText: 'file:late-read.ts' }) });
      await row.waitFor();
      assert.equal(await page.locator('div.locks').getAttribute('aria-busy'), 'true');
      release();
      // Every late answer has been applied: the lock is still in the table.
      await page.locator('div.locks[aria-busy="false"]').waitFor();
      assert.equal(await row.count(), 1);
    } finally {
      release();
      await page.unroute('**/locks?limit=1000', handler);
      await http.request('DELETE', `/locks/${encodeURIComponent('file:late-read.ts')}?agentId=coder`);
    }
  });

  test('approvals: pending requests show live; Approve and Deny store the decisions, and the waiting agents get them', async () => {
    const agent = new EngramClient(server.url);
    try {
      await page.goto(`${server.url}/#/approvals`);
      await page.locator('.approvals p.empty').waitFor();
      const deployLock = await agent.acquire('deploy/prod', { agentId: 'deployer', ttlMs: 600_000 });
      const dbLock = await agent.acquire('db/users', { agentId: 'dba', ttlMs: 600_000 });
      const deploy = await agent.requestApproval('ops/deploy', { agentId: 'deployer', action: { deploy: 'v2.1', to: 'prod' }, ttlMs: 600_000, lock: deployLock });
      const drop = await agent.requestApproval('ops/db', { agentId: 'dba', action: { sql: 'DROP TABLE users' }, ttlMs: 600_000, lock: dbLock });
      // Both agents wait while a person decides in the page.
      const deployWaits = agent.waitForApproval('ops/deploy', deploy.requestId, { timeoutMs: WAIT_MS });
      const dropWaits = agent.waitForApproval('ops/db', drop.requestId, { timeoutMs: WAIT_MS });
      const approve = page.locator(`button.approve[data-request="${deploy.requestId}"]`);
      const deny = page.locator(`button.deny[data-request="${drop.requestId}"]`);
      await approve.waitFor();
      await deny.waitFor();
      assert.match(await page.locator('.approvals').innerText(), /ops\/deploy[\s\S]*deployer[\s\S]*v2\.1[\s\S]*deploy\/prod #\d+/);
      await shot('approvals');
      await page.locator('input[name="by"]').fill('pat');
      await approve.click();
      await deny.click();
      const approved = await deployWaits;
      const denied = await dropWaits;
      assert.deepEqual([approved.status, approved.decision?.by, approved.lock.token], ['approved', 'pat', deployLock.token]);
      assert.deepEqual([denied.status, denied.decision?.by], ['denied', 'pat']);
      // The decisions are units in the log, answering their requests.
      for (const [ctx, req, decision] of [
        ['ops/deploy', deploy.requestId, 'approve'],
        ['ops/db', drop.requestId, 'deny'],
      ] as const) {
        const units = (await agent.list(ctx)).workUnits;
        const d = units.filter((u) => u.type === 'APPROVAL_DECISION');
        assert.equal(d.length, 1);
        assert.deepEqual([d[0]!.agentId, (d[0]!.payload as { decision: string }).decision, d[0]!.relationships[0]?.targetId], ['pat', decision, req]);
      }
      await page.locator('.approvals p.empty').waitFor();
    } finally {
      agent.close();
    }
  });

  test('a search finds a unit and opens it in its context', async () => {
    await http.post('/workunit', unit('team/notes', { agentId: 'planner', payload: { text: 'We retry failed uploads with exponential backoff' } }));
    await page.goto(`${server.url}/#/search`);
    const form = page.locator('form.search');
    await form.locator('select[name="mode"]').selectOption('keyword');
    await form.locator('input[name="query"]').fill('exponential backoff');
    // Indexing runs beside the write path: a just-written unit is searchable within moments.
    const hit = page.locator('li.hit a.open-unit', { hasText: 'team/notes' });
    for (let i = 0; i < 50 && (await hit.count()) === 0; i++) {
      await form.locator('button[type="submit"]').click();
      await page.locator('form.search button[aria-busy="false"]').waitFor();
    }
    await hit.first().waitFor();
    assert.match(await page.locator('li.hit .score').first().innerText(), /^\d\.\d{3}$/);
    await shot('search');
    await hit.first().click();
    await page.locator('ol[aria-label="units of team/notes"] li.focus').waitFor();
  });

  test('a memory file edited on the page reads back through the memory API, and an agent\u2019s change shows live', async () => {
    const mem = (input: Record<string, unknown>) => http.post('/memory/team/command?agentId=agent-1', input);
    assert.equal((await mem({ command: 'create', path: '/memories/notes.md', file_text: 'line one\nline two' })).json.isError, false);
    await page.goto(`${server.url}/#/memory/team?path=${encodeURIComponent('/memories/notes.md')}`);
    const lines = page.locator('ol.lines li');
    await page.locator('ol.lines li', { hasText: 'line two' }).waitFor();
    assert.equal(await lines.count(), 2);
    await page.locator('ol.history-list li', { hasText: 'create by agent-1' }).waitFor();
    await shot('memory');
    await page.getByRole('button', { name: 'Edit' }).click();
    await page.locator('textarea.editor').fill('line one\nline 2, edited on the page\nline three');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.locator('ol.lines li', { hasText: 'line three' }).waitFor();
    assert.equal((await http.get(`/memory/team/file?path=${encodeURIComponent('/memories/notes.md')}`)).json.text, 'line one\nline 2, edited on the page\nline three');
    // An agent edits the file: the page follows.
    await mem({ command: 'str_replace', path: '/memories/notes.md', old_str: 'line three', new_str: 'line three, by an agent' });
    await page.locator('ol.lines li', { hasText: 'line three, by an agent' }).waitFor();
    // An edit against text that changed underneath is refused, not saved over the agent's change.
    await page.getByRole('button', { name: 'Edit' }).click();
    await mem({ command: 'insert', path: '/memories/notes.md', insert_line: 0, insert_text: 'agent header' });
    await page.locator('textarea.editor').fill('overwritten');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.locator('.notice.error', { hasText: 'changed while you edited it' }).waitFor();
    assert.match((await http.get(`/memory/team/file?path=${encodeURIComponent('/memories/notes.md')}`)).json.text, /^agent header\nline one/);
  });

  test('clients and the metrics strip', async () => {
    await page.goto(`${server.url}/#/clients`);
    await page.locator('td code', { hasText: 'default' }).waitFor();
    await page.locator('[data-metric="subscriptions"]').waitFor();
    assert.match(await page.locator('.metrics').innerText(), /writes\/s[\s\S]*subscriptions[\s\S]*fan-out p99/);
  });

  test('narrow screens and the keyboard', async () => {
    const narrow = await browser.newPage({ viewport: { width: 390, height: 844 } });
    narrow.setDefaultTimeout(WAIT_MS);
    try {
      await narrow.goto(`${server.url}/#/contexts/${encodeURIComponent('team/plan')}`);
      await narrow.locator('li[data-seq="3"]').waitFor();
      // Nothing wider than the screen.
      assert.ok(((await narrow.evaluate('document.documentElement.scrollWidth')) as number) <= 390);
      if (SHOTS) await narrow.screenshot({ path: join(SHOTS, 'narrow.png') });
      // Tab reaches the skip link first, then the navigation.
      await narrow.keyboard.press('Tab');
      assert.equal(await narrow.evaluate('document.activeElement.textContent'), 'Skip to content');
      await narrow.keyboard.press('Tab');
      assert.equal(await narrow.evaluate('document.activeElement.textContent'), 'Contexts');
    } finally {
      await narrow.close();
    }
  });

  test('the live stream resumes without a gap after a drop and after a server restart', async () => {
    const ctx = 'team/live';
    for (let i = 1; i <= 3; i++) await http.post('/workunit', unit(ctx, { payload: { text: `before ${i}` } }));
    await page.goto(`${server.url}/#/contexts/${encodeURIComponent(ctx)}`);
    await page.locator('li[data-seq="3"]').waitFor();
    await page.locator('.stream-status[data-status="live"]').waitFor();
    // A drop on the page's side, with writes going on meanwhile.
    await page.evaluate('window.engram.stream.drop()');
    for (let i = 4; i <= 6; i++) await http.post('/workunit', unit(ctx, { payload: { text: `during drop ${i}` } }));
    await page.locator('li[data-seq="6"]').waitFor();
    // A server restart on the same port and data dir; writes as soon as it is back.
    http.close();
    assert.equal(await server.stop(), 0);
    await page.locator('.stream-status[data-status="reconnecting"]').waitFor();
    server = await startServer({ dataDir, args: ['--addr', `127.0.0.1:${port}`] });
    http = new HttpClient(server.url);
    for (let i = 7; i <= 10; i++) await http.post('/workunit', unit(ctx, { payload: { text: `after restart ${i}` } }));
    await page.locator('li[data-seq="10"]').waitFor();
    assert.deepEqual(await seqsShown(ctx), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    assert.ok(((await page.evaluate('window.engram.stream.reconnects')) as number) >= 2);
  });
});

describe('web dashboard with auth on', { skip: SKIP }, () => {
  const KEY = 'egk_dashboard-key-0123456789abcdefghijklmnopqrstuvwxyz';
  let server: RunningServer;
  let browser: Browser;
  const dir = tempDir('engram-dash-auth-');

  before(async () => {
    const { createHash } = await import('node:crypto');
    const { writeFileSync } = await import('node:fs');
    const hash = 'sha256:' + createHash('sha256').update(KEY).digest('hex');
    writeFileSync(join(dir, 'engram.yaml'), `auth:\n  mode: apikey\n  keys:\n    - {client: team-a, hash: "${hash}", scopes: [read, write]}\n`);
    server = await startServer({ args: ['--config', join(dir, 'engram.yaml'), '--search-enabled', 'false'] });
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
    removeDir(server?.dataDir ?? '');
    removeDir(dir);
  });

  test('without a token the page says why; with one it reads, streams and posts as that client', async () => {
    const page = await browser.newPage();
    page.setDefaultTimeout(WAIT_MS);
    const authed = new HttpClient(server.url);
    const bearer = { authorization: `Bearer ${KEY}` };
    await authed.post('/workunit', unit('secure/ctx', { payload: { text: 'for key holders' } }), bearer);
    await page.goto(`${server.url}/#/contexts/${encodeURIComponent('secure/ctx')}`);
    // The page itself is public; its API calls are refused with the stable code.
    await page.locator('.notice.error', { hasText: 'UNAUTHENTICATED' }).first().waitFor();
    await page.locator('input[aria-label="API key or token"]').fill(KEY);
    await page.getByRole('button', { name: 'Use' }).click();
    await page.locator('li[data-seq="1"]', { hasText: 'for key holders' }).waitFor();
    await page.locator('.stream-status[data-status="live"]').waitFor();
    // Live over the WebSocket (access_token), and posting as the key's client.
    await authed.post('/workunit', unit('secure/ctx', { payload: { text: 'live for key holders' } }), bearer);
    await page.locator('li[data-seq="2"]').waitFor();
    await page.locator('form.post textarea[name="text"]').fill('from the page, with a key');
    await page.locator('form.post button[type="submit"]').click();
    await page.locator('li[data-seq="3"]').waitFor();
    const units = (await authed.get(`/workunits/${encodeURIComponent('secure/ctx')}`, bearer)).json.workUnits;
    assert.deepEqual(units[2].payload, { text: 'from the page, with a key' });
    // Kept in this browser only; a reload still works.
    await page.reload();
    await page.locator('li[data-seq="3"]').waitFor();
    authed.close();
    await page.close();
  });
});
