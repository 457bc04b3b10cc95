/** Routes of search: POST /search and GET /search/status (docs/search.md). */
import { EngramError } from '../../core/errors.js';
import type { Indexer } from '../../core/indexer.js';
import type { Embedder } from '../../core/search-types.js';
import type { SearchService } from '../../core/search.js';
import { bodyHeaders, readJsonBody, Reply } from './io.js';
import type { RouteTable } from './server.js';

export interface SearchDeps {
  service: SearchService;
  indexer: Indexer;
  embedder: Embedder | undefined;
}

export function registerSearchRoutes(t: RouteTable, deps: { search?: SearchDeps; clientId: string; maxBodyBytes: number }): void {
  const { search, clientId, maxBodyBytes } = deps;
  const disabled = () => new EngramError('NOT_FOUND', 'search is disabled on this server (search.enabled: false)');
  const reject = (reply: Reply) => (err: unknown) => reply.error(err, t.onInternal);

  t.route('/search', {
    post: (reply, req) => {
      if (search === undefined) throw disabled();
      readJsonBody(reply, bodyHeaders(req), maxBodyBytes, (body) => {
        search.service.search(clientId, body).then((r) => {
          // Units go out as stored, without being parsed and encoded again.
          const results = r.results.map(
            (x) => `{"workUnit":${x.workUnit},"score":${x.score},"keywordScore":${x.keywordScore},"vectorScore":${x.vectorScore}}`,
          );
          reply.json(200, `{"results":[${results.join(',')}],"total":${r.total},"totalRelation":"${r.totalRelation}"}`);
        }, reject(reply));
      });
    },
  });
  t.route('/search/status', {
    get: (reply) => {
      if (search === undefined) throw disabled();
      const embedder = search.embedder;
      reply.json(
        200,
        JSON.stringify({
          ...search.indexer.status(),
          ...search.service.stats(),
          embedder: embedder === undefined ? null : { id: embedder.id, dimensions: embedder.dimensions },
          dimensions: search.service.options.dimensions ?? null,
        }),
      );
    },
  });
}
