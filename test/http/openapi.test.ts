/**
 * GET /openapi.json is a valid OpenAPI 3.1 document listing exactly the routes the server serves,
 * each with a complete operation (written beside its handler); its request schemas
 * say what the server enforces (a valid body is accepted by both; a body missing a required
 * field or carrying an unknown one is refused by both, with the matching code); real answers
 * match its response schemas; and /docs renders it in Chromium.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { describe, test } from 'node:test';
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { serverPerFile } from '../helpers/server.js';
import { WAIT_MS } from '../helpers/wait.js';
import { WsClient } from '../helpers/ws.js';

const env = serverPerFile();

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Doc = any;

async function openapi(): Promise<Doc> {
  const r = await env.http.get('/openapi.json');
  assert.equal(r.status, 200);
  return r.json;
}

function ajvFor(doc: Doc) {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  // `format: date-time` is documentation here; the tests below check shapes.
  ajv.addFormat('date-time', true);
  for (const [name, schema] of Object.entries(doc.components.schemas)) ajv.addSchema(schema as object, `#/components/schemas/${name}`);
  return (name: string, value: unknown): string[] => {
    const validate = ajv.getSchema(`#/components/schemas/${name}`)!;
    return validate(value) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
  };
}

describe('/openapi.json', () => {
  test('is a valid OpenAPI 3.1 document', async () => {
    const validator = new Validator();
    const res = await validator.validate(await openapi());
    assert.equal(res.valid, true, JSON.stringify(res.errors, null, 2));
    assert.equal(validator.version, '3.1');
  });

  test('every operation is complete: summary, tag, scope, security and responses', async () => {
    const doc = await openapi();
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops as Record<string, Doc>)) {
        const key = `${method.toUpperCase()} ${path}`;
        assert.ok(typeof op.summary === 'string' && op.summary !== '', `${key}: no summary`);
        assert.equal(op.tags.length, 1, `${key}: one tag`);
        assert.ok(['read', 'write', 'admin', 'any', 'none'].includes(op['x-engram-scope']), `${key}: scope ${op['x-engram-scope']}`);
        assert.ok(Array.isArray(op.security), `${key}: no security`);
        assert.ok(
          Object.keys(op.responses).some((status) => Number(status) < 400),
          `${key}: no success response`,
        );
      }
    }
  });

  test('lists exactly the routes the server serves: each method it names, and no other', async () => {
    const doc = await openapi();
    for (const [path, ops] of Object.entries(doc.paths)) {
      if (path === '/stream' || path === '/stream-sse') continue; // streams stay open; their own tests cover them
      const url = path.replace(/\{[^}]+\}/g, 'x');
      const documented = Object.keys(ops as object).map((m) => m.toUpperCase());
      // Each documented method answers something other than "no such route".
      for (const method of documented) {
        const r = await env.http.request(method, url, {});
        assert.notEqual(r.json?.error?.message, 'no such route; see docs/api.md', `${method} ${path}`);
      }
      // A method no route uses gets 405, whose Allow header names every method the path serves:
      // the documented ones, and OPTIONS where a route answers its own preflights (/mcp).
      const r = await env.http.request('PUT', url, {});
      assert.equal(r.status, 405, `PUT ${path}: ${r.text}`);
      const served = String(r.headers.allow)
        .split(', ')
        .filter((m) => m !== 'OPTIONS');
      assert.deepEqual(served.sort(), documented.sort(), path);
    }
  });

  test('request schemas and the validators agree on valid bodies, required fields and unknown fields', async () => {
    const doc = await openapi();
    const check = ajvFor(doc);
    const cases: Array<{ schema: string; method: string; path: string; body: Record<string, unknown>; ok: number }> = [
      {
        schema: 'WorkUnitInput',
        method: 'POST',
        path: '/workunit',
        body: {
          contextId: 'oa',
          agentId: 'a',
          type: 'TOOL_CALL',
          payload: { tool: 'ls' },
          meta: { k: 'v' },
          relationships: [{ targetId: 'x', type: 'CAUSES' }],
          idempotencyKey: 'k1',
        },
        ok: 201,
      },
      { schema: 'ContextPatch', method: 'PATCH', path: '/contexts/oa', body: { displayName: 'OpenAPI', addAgents: ['b'], meta: { k: null } }, ok: 200 },
      { schema: 'LockAcquire', method: 'POST', path: '/locks', body: { resource: 'oa-res', agentId: 'a', ttlMs: 60_000, waitMs: 0 }, ok: 200 },
      { schema: 'SearchRequest', method: 'POST', path: '/search', body: { query: 'ls', mode: 'keyword', limit: 5 }, ok: 200 },
    ];
    for (const c of cases) {
      const schema = doc.components.schemas[c.schema];
      assert.deepEqual(check(c.schema, c.body), [], `${c.schema}: the example fits the schema`);
      const good = await env.http.request(c.method, c.path, { body: c.body });
      assert.equal(good.status, c.ok, `${c.schema}: ${good.text}`);
      for (const field of schema.required as string[]) {
        const { [field]: _dropped, ...rest } = c.body;
        assert.ok(check(c.schema, rest).length > 0, `${c.schema}: the schema requires ${field}`);
        const r = await env.http.request(c.method, c.path, { body: rest });
        assert.equal(r.json.error.code, 'MISSING_FIELD', `${c.schema} without ${field}: ${r.text}`);
      }
      const extra = { ...c.body, notAField: 1 };
      assert.ok(check(c.schema, extra).length > 0, `${c.schema}: the schema refuses unknown fields`);
      assert.equal((await env.http.request(c.method, c.path, { body: extra })).json.error.code, 'UNKNOWN_FIELD', c.schema);
      // Every property the schema names is one the server takes (it would say UNKNOWN_FIELD otherwise).
      for (const field of Object.keys(schema.properties)) {
        const r = await env.http.request(c.method, c.path, { body: { ...c.body, [field]: true } });
        assert.notEqual(r.json?.error?.code, 'UNKNOWN_FIELD', `${c.schema}.${field} is in the schema but the server does not know it: ${r.text}`);
      }
    }
  });

  test('real answers match the response schemas', async () => {
    const check = ajvFor(await openapi());
    const unitRes = await env.http.post('/workunit', { contextId: 'oa-r', agentId: 'a', type: 'MESSAGE', payload: 'hi' });
    const samples: Array<[string, unknown]> = [
      ['WorkUnit', unitRes.json],
      ['WorkUnit', (await env.http.get(`/workunit/${unitRes.json.id}`)).json],
      ['UnitPage', (await env.http.get('/workunits/oa-r')).json],
      ['Context', (await env.http.get('/contexts/oa-r')).json],
      ['ContextPage', (await env.http.get('/contexts')).json],
      ['Lock', (await env.http.post('/locks', { resource: 'oa-r-lock', agentId: 'a' })).json],
      ['LockMany', (await env.http.post('/locks', { resources: ['oa-r-lock-1', 'oa-r-lock-2'], agentId: 'a' })).json],
      ['LockPage', (await env.http.get('/locks')).json],
      ['SearchResponse', (await env.http.post('/search', { query: 'hi' })).json],
      ['ClientList', (await env.http.get('/clients/list')).json],
      ['ClientStatus', (await env.http.get('/clients/status/default')).json],
      ['Cleanup', (await env.http.post('/clients/cleanup?idle_threshold=3600', {})).json],
      ['ContextDeletion', (await env.http.request('DELETE', '/contexts/oa-r')).json],
      ['ClientErasure', (await env.http.request('DELETE', '/clients/oa-nobody')).json],
      ['Error', (await env.http.get('/workunit/none')).json],
      ['Status', (await env.http.get('/healthz')).json],
    ];
    // Memory views and the graph, after a create, an edit, a rename and a delete (every kind of change).
    const command = (c: Record<string, unknown>) => env.http.post('/memory/oa-m/command', c);
    await command({ command: 'create', path: '/memories/a.md', file_text: 'one\n' });
    await command({ command: 'str_replace', path: '/memories/a.md', old_str: 'one', new_str: 'two' });
    await command({ command: 'create', path: '/memories/b.md', file_text: 'b\n' });
    await command({ command: 'rename', old_path: '/memories/b.md', new_path: '/memories/c.md' });
    await command({ command: 'delete', path: '/memories/c.md' });
    await env.http.post('/graph/oa-m/create_entities', {
      entities: [
        { name: 'a', entityType: 't', observations: ['x'] },
        { name: 'b', entityType: 't', observations: [] },
      ],
    });
    await env.http.post('/graph/oa-m/create_relations', { relations: [{ from: 'a', to: 'b', relationType: 'knows' }] });
    const history = (await env.http.get('/memory/oa-m/history')).json;
    assert.deepEqual(
      history.changes.map((c: { change: { op: string } }) => c.change.op),
      ['write', 'write', 'write', 'rename', 'delete'],
    );
    samples.push(
      ['MemoryResult', (await command({ command: 'view', path: '/memories' })).json],
      ['MemoryTree', (await env.http.get('/memory/oa-m/tree')).json],
      ['MemoryFile', (await env.http.get('/memory/oa-m/file?path=/memories/a.md')).json],
      ['MemoryHistory', history],
      ['KnowledgeGraph', (await env.http.get('/graph/oa-m')).json],
    );
    // Presence with a member that named an agent and one that did not (agentId null).
    const followers = [
      new WsClient(`${env.server.url.replace('http', 'ws')}/stream?context=oa-r&agentId=a`),
      new WsClient(`${env.server.url.replace('http', 'ws')}/stream?context=oa-r`),
    ];
    for (const f of followers) {
      await f.open();
      await f.next((x) => x.event === 'subscribed');
    }
    const presence = (await env.http.get('/contexts/oa-r/presence')).json;
    for (const f of followers) f.close();
    assert.equal(presence.members.length, 2, JSON.stringify(presence));
    samples.push(['Presence', presence]);
    for (const [name, value] of samples) assert.deepEqual(check(name, value), [], `${name}: ${JSON.stringify(value)}`);
  });
});

const CHROMIUM = '/usr/bin/chromium';

describe('/docs', () => {
  test('renders every route of the document in Chromium', { skip: existsSync(CHROMIUM) ? false : `${CHROMIUM} is not installed (make test installs it as root)` }, async () => {
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    try {
      const page = await browser.newPage();
      page.setDefaultTimeout(WAIT_MS);
      const response = await page.goto(`${env.server.url}/docs`);
      assert.match(String(response?.headers()['content-type']), /^text\/html/);
      await page.waitForSelector('details');
      const shown = await page.$$eval('summary code', (els) => els.map((e) => e.textContent));
      const doc = await openapi();
      assert.deepEqual(new Set(shown), new Set(Object.keys(doc.paths)));
      // A response that is one of several schemas (POST /locks) shows each of them.
      assert.match(String(await page.textContent('#routes')), /#\/components\/schemas\/LockMany/);
    } finally {
      await browser.close();
    }
  });
});
