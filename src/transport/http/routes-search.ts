/** Routes of search: POST /search and GET /search/status (docs/search.md). */
import type { Gate } from '../../gate/gate.js';
import { EngramError } from '../../basics/errors.js';
import { LAG_WINDOW_MS, type Indexer } from '../../search/indexer.js';
import type { SearchQuerier } from '../../search/search.js';
import { bodyHeaders, Query, readJsonBody, Reply } from './io.js';
import { INT, param } from './operation.js';
import type { RouteTable } from './route-table.js';

export interface SearchDeps {
  /** Answers parsed queries (the search worker). */
  host: SearchQuerier & {
    stats(): Promise<Record<string, unknown>>;
    embedderReady: boolean;
    embedderError: string | undefined;
  };
  indexer: Indexer;
  settings: { embedder: string; embedderModel: string };
  dimensions: number | undefined;
}

export function registerSearchRoutes(t: RouteTable, deps: { gate: Gate; search?: SearchDeps; maxBodyBytes: number }): void {
  const { gate, search, maxBodyBytes } = deps;
  const disabled = () => new EngramError('NOT_FOUND', 'search is disabled on this server (search.enabled: false)');
  const reject = (reply: Reply) => (err: unknown) => reply.error(err, t.onInternal);

  t.route('/search', {
    post: {
      operation: {
        summary: 'Hybrid keyword + vector search over the client’s units (and its groups’).',
        tag: 'search',
        scope: 'read',
        body: 'SearchRequest',
        ok: { 200: 'SearchResponse' },
        errors: ['MISSING_FIELD', 'UNKNOWN_FIELD', 'INVALID_FIELD', 'NOT_FOUND'],
      },
      handler: (reply, req, principal) => {
        if (search === undefined) throw disabled();
        readJsonBody(reply, bodyHeaders(req), maxBodyBytes, (body) => {
          gate.search(principal, body).then((r) => {
            // Units go out as stored, without being parsed and encoded again.
            const results = r.results.map((x) => `{"workUnit":${x.workUnit},"score":${x.score},"keywordScore":${x.keywordScore},"vectorScore":${x.vectorScore}}`);
            reply.json(200, `{"results":[${results.join(',')}],"total":${r.total},"totalRelation":"${r.totalRelation}"}`);
          }, reject(reply));
        });
      },
    },
  });
  t.route('/search/status', {
    get: {
      operation: {
        summary: 'Index catch-up, freshness and embedder state.',
        tag: 'search',
        scope: 'admin',
        query: [param('window', INT, 'Freshness window, ms.')],
        ok: { 200: 'Document' },
        errors: ['INVALID_QUERY', 'NOT_FOUND'],
      },
      handler: (reply, req, principal) => {
        if (search === undefined) throw disabled();
        // Server-wide counts (documents, clients, positions): for operators.
        gate.access.require(principal, 'admin');
        const windowMs = new Query(req.getQuery()).int('window') ?? LAG_WINDOW_MS;
        if (windowMs < 1 || windowMs > 3_600_000) throw new EngramError('INVALID_QUERY', 'window: milliseconds from 1 to 3600000');
        search.host.stats().then((stats) => {
          const { embedder, embedderModel } = search.settings;
          reply.json(
            200,
            JSON.stringify({
              ...search.indexer.status(windowMs),
              ...stats,
              embedder: {
                kind: embedder,
                model: embedderModel || null,
                ready: embedder === 'none' ? null : search.host.embedderReady,
                error: search.host.embedderError ?? null,
              },
              dimensions: search.dimensions ?? null,
            }),
          );
        }, reject(reply));
      },
    },
  });
}
