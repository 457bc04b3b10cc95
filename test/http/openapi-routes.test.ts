/**
 * GET /openapi.json lists exactly the routes the HTTP server serves. The server runs in this
 * process on loopback, with its uWS app wrapped to record every handler registered on it: the
 * true list of routes, taken apart from the operations the document is assembled from. Its
 * dependencies are stand-ins, since no request here reaches a handler that uses them.
 */
import type { WindowService } from '../../src/agents/window.js';
import type { ApprovalService } from '../../src/agents/approvals.js';
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { pino } from 'pino';
import uWS from 'uWebSockets.js';
import type { Gate } from '../../src/gate/gate.js';
import type { AgentMemory } from '../../src/memory/agent-memory.js';
import { StreamHub } from '../../src/streams/hub.js';
import type { SearchDeps } from '../../src/transport/http/routes-search.js';
import { HttpServer, type HttpServerOptions } from '../../src/transport/http/server.js';
import { HttpClient } from '../helpers/http.js';

/** uWS methods that serve a method of a path (`ws` serves the GET upgrade); `any` only answers 405s and 404s. */
const SERVING: Record<string, string> = { get: 'GET', post: 'POST', patch: 'PATCH', del: 'DELETE', put: 'PUT', options: 'OPTIONS', ws: 'GET' };

const recorded: string[] = [];
const realApp = uWS.App;
uWS.App = ((...args: Parameters<typeof uWS.App>) => {
  const app = realApp(...args);
  const recording = new Proxy(app, {
    get(target, prop) {
      const value = Reflect.get(target, prop) as unknown;
      if (typeof value !== 'function') return value;
      const method = typeof prop === 'string' ? SERVING[prop] : undefined;
      return (...a: unknown[]) => {
        if (method !== undefined) recorded.push(`${method} ${a[0] as string}`);
        const result = (value as (...x: unknown[]) => unknown).apply(target, a);
        return result === target ? recording : result;
      };
    },
  });
  return recording;
}) as typeof uWS.App;
after(() => {
  uWS.App = realApp;
});

function options(parts: { optional: boolean }): HttpServerOptions {
  const { optional } = parts;
  return {
    gate: { engine: { ready: true } } as unknown as Gate,
    auth: { mode: 'none', authenticate: () => ({ clientId: 'default', scopes: new Set(), contexts: undefined }) },
    logger: pino({ level: 'silent' }),
    maxBodyBytes: 1 << 20,
    hub: new StreamHub({
      heartbeatMs: 15_000,
      idleTimeoutMs: 60_000,
      maxBufferedBytes: 1 << 20,
      slowConsumerTimeoutMs: 30_000,
      maxSubscriptions: 100,
      maxConnections: 100,
      compression: false,
    }),
    ops: optional
      ? { metrics: { text: async () => '', contentType: 'text/plain' }, health: async () => ({}), backup: async function* () {} }
      : { metrics: undefined, health: async () => ({}) },
    version: 'test',
    search: {} as SearchDeps,
    memory: { files: {}, facts: {}, graph: {} } as unknown as AgentMemory,
    window: {} as WindowService,
    approvals: {} as ApprovalService,
    mcp: optional ? { allowedOrigins: [] } : undefined,
  };
}

/** The routes a server built with these options serves, and the routes its document lists, as "METHOD /pattern". */
async function servedAndDocumented(o: HttpServerOptions): Promise<{ served: string[]; documented: string[] }> {
  recorded.length = 0;
  const server = new HttpServer(o);
  const { port } = await server.listen('127.0.0.1', 0);
  const http = new HttpClient(`http://127.0.0.1:${port}`);
  try {
    const r = await http.get('/openapi.json');
    assert.equal(r.status, 200);
    const documented: string[] = [];
    for (const [path, ops] of Object.entries(r.json.paths as Record<string, object>)) {
      for (const method of Object.keys(ops)) documented.push(`${method.toUpperCase()} ${path.replace(/\{([A-Za-z]+)\}/g, ':$1')}`);
    }
    // Not routes of the API: preflights a route answers itself (/mcp), and the empty-id fallbacks
    // ("/workunit/" is a bad id, not an unknown path), which end in a slash.
    const served = recorded.filter((r) => !r.startsWith('OPTIONS ') && !/^\S+ .+\/$/.test(r));
    return { served: [...new Set(served)].sort(), documented: documented.sort() };
  } finally {
    http.close();
    server.stopListening();
  }
}

test('the document lists every route the server serves, and no other', async () => {
  const { served, documented } = await servedAndDocumented(options({ optional: true }));
  assert.deepEqual(documented, served);
  // The recording saw the routes (a broken wrapper would make both lists empty and equal).
  for (const route of ['GET /stream', 'GET /stream-sse', 'POST /workunit', 'DELETE /locks/:resource', 'POST /mcp', 'GET /metrics', 'GET /openapi.json']) {
    assert.ok(served.includes(route), route);
  }
});

test('routes a server leaves out (MCP, metrics, backups) leave the document too', async () => {
  const { served, documented } = await servedAndDocumented(options({ optional: false }));
  assert.deepEqual(documented, served);
  for (const route of ['POST /mcp', 'GET /metrics', 'GET /admin/backup']) assert.ok(!documented.includes(route), route);
});
