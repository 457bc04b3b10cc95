/**
 * The web dashboard's files (built by `make build` into dist/dashboard), served at / from memory
 * with their content types, an ETag and `Cache-Control: no-cache` (the browser revalidates, and a
 * 304 costs nothing), and a Content-Security-Policy that lets the page talk only to this server.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { EngramError } from '../../basics/errors.js';
import type { Reply } from './io.js';
import type { RouteTable } from './route-table.js';

export const DASHBOARD_DIR = resolve(import.meta.dirname, '../../../dashboard');

const TYPES: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'app.js.map': 'application/json',
  'app.css': 'text/css; charset=utf-8',
};

const CSP = "default-src 'self'; connect-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

interface Asset {
  body: string;
  type: string;
  etag: string;
}

function load(dir: string): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  for (const [name, type] of Object.entries(TYPES)) {
    const path = join(dir, name);
    if (!existsSync(path)) continue;
    const body = readFileSync(path, 'utf8');
    assets.set(name, { body, type, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` });
  }
  return assets;
}

export function registerDashboard(t: RouteTable, dir = DASHBOARD_DIR): void {
  const assets = load(dir);
  const serve = (name: string) => (reply: Reply, ifNoneMatch: string) => {
    const a = assets.get(name);
    if (a === undefined) {
      throw new EngramError('NOT_FOUND', name === 'index.html' ? 'the dashboard is not built here (run make build)' : `no dashboard file ${JSON.stringify(name)}`);
    }
    const headers: Array<[string, string]> = [
      ['ETag', a.etag],
      ['Cache-Control', 'no-cache'],
      ['X-Content-Type-Options', 'nosniff'],
    ];
    if (name === 'index.html') headers.push(['Content-Security-Policy', CSP], ['Referrer-Policy', 'no-referrer']);
    if (ifNoneMatch === a.etag) reply.send(304, a.type, '', headers);
    else reply.send(200, a.type, a.body, headers);
  };
  t.route('/', {
    get: {
      operation: {
        summary: 'The web dashboard (docs/dashboard.md).',
        tag: 'dashboard',
        scope: 'none',
        ok: { 200: { contentType: 'text/html', description: 'The dashboard page' }, 304: { contentType: 'text/html', description: 'Not modified (If-None-Match)' } },
        errors: ['NOT_FOUND'],
      },
      handler: (reply, req) => serve('index.html')(reply, req.getHeader('if-none-match')),
    },
  });
  t.route('/dashboard/:file', {
    get: {
      operation: {
        summary: "The dashboard's script, style sheet and source map.",
        tag: 'dashboard',
        scope: 'none',
        ok: { 200: { contentType: 'text/javascript', description: 'app.js, app.css or app.js.map' }, 304: { contentType: 'text/javascript', description: 'Not modified' } },
        errors: ['NOT_FOUND'],
      },
      handler: (reply, req) => serve(req.getParameter(0) ?? '')(reply, req.getHeader('if-none-match')),
    },
  });
}
