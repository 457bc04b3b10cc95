/** The API's own description: GET /openapi.json (openapi.ts) and the page that renders it, GET /docs (docs-page.ts). */
import { DOCS_PAGE } from './docs-page.js';
import type { RouteTable } from './route-table.js';

/** `openapi`: the document's JSON, asked for at each request because it is built after the last route is registered. */
export function registerDocsRoutes(t: RouteTable, openapi: () => string): void {
  t.route('/openapi.json', {
    get: {
      operation: { summary: 'This document.', tag: 'operations', scope: 'none', ok: { 200: 'Document' } },
      handler: (reply) => reply.json(200, openapi()),
    },
  });
  t.route('/docs', {
    get: {
      operation: { summary: 'A page that renders this document.', tag: 'operations', scope: 'none', ok: { 200: { contentType: 'text/html', description: 'HTML' } } },
      handler: (reply) => reply.send(200, 'text/html; charset=utf-8', DOCS_PAGE),
    },
  });
  // Where the engine's first design put its reference page: the same page, served from here
  // (nothing is fetched from elsewhere).
  t.route('/redoc', {
    get: {
      operation: {
        summary: 'The page of /docs, at the path of the first design.',
        tag: 'operations',
        scope: 'none',
        ok: { 200: { contentType: 'text/html', description: 'HTML' } },
      },
      handler: (reply) => reply.send(200, 'text/html; charset=utf-8', DOCS_PAGE),
    },
  });
}
