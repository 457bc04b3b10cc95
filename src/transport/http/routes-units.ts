/** Routes of work units, contexts and health (docs/api.md). */
import type { Gate } from '../../gate/gate.js';
import { EngramError } from '../../basics/errors.js';
import { bodyHeaders, pathParam, Query, readJsonBody, Reply, type Headers } from './io.js';
import type { RouteTable } from './route-table.js';

export function registerUnitRoutes(t: RouteTable, deps: { gate: Gate; maxBodyBytes: number }): void {
  const { gate, maxBodyBytes } = deps;
  const engine = gate.engine;
  const onInternal = t.onInternal;
  const reject = (reply: Reply) => (err: unknown) => reply.error(err, onInternal);


  t.route('/healthz', { get: (reply) => reply.json(200, '{"status":"ok"}') }, { public: true });
  t.route(
    '/readyz',
    {
      get: (reply) => {
        if (engine.ready) reply.json(200, '{"status":"ready"}');
        else reply.error(new EngramError('NOT_READY', 'storage is not open'), onInternal);
      },
    },
    { public: true },
  );

  t.route('/workunit', {
    post: (reply, req, principal) => {
      const head = bodyHeaders(req);
      const idempotencyKey = req.getHeader('idempotency-key');
      readJsonBody(reply, head, maxBodyBytes, (body) => {
        gate.append(principal, body, idempotencyKey === '' ? undefined : idempotencyKey).then((r) => {
          const headers: Headers = r.replayed
            ? [['Location', `/workunit/${r.id}`], ['Idempotent-Replayed', 'true']]
            : [['Location', `/workunit/${r.id}`]];
          reply.json(201, r.json, headers);
        }, reject(reply));
      });
    },
  });
  t.route('/workunit/:id', {
    get: (reply, req, principal) => {
      gate.getUnit(principal, pathParam(req, 0, 'id')).then((json) => reply.json(200, json), reject(reply));
    },
  });
  t.route('/workunits/:contextId', {
    get: (reply, req, principal) => {
      const contextId = pathParam(req, 0, 'contextId');
      const q = new Query(req.getQuery());
      const query = { limit: q.int('limit'), after: q.int('after'), before: q.int('before'), reverse: q.bool('reverse') };
      gate.listUnits(principal, contextId, query).then(
        (page) => reply.json(200, `{"workUnits":[${page.units.join(',')}],"nextCursor":${page.nextCursor ?? 'null'}}`),
        reject(reply),
      );
    },
  });
  t.route('/contexts', {
    get: (reply, req, principal) => {
      const q = new Query(req.getQuery());
      gate
        .listContexts(principal, { limit: q.int('limit'), after: q.string('after'), prefix: q.string('prefix') })
        .then((page) => reply.json(200, JSON.stringify(page)), reject(reply));
    },
  });
  t.route('/contexts/:id', {
    get: (reply, req, principal) => {
      gate.getContext(principal, pathParam(req, 0, 'contextId')).then(
        (ctx) => reply.json(200, JSON.stringify(ctx), [['ETag', `"${ctx.version}"`]]),
        reject(reply),
      );
    },
    patch: (reply, req, principal) => {
      const contextId = pathParam(req, 0, 'contextId');
      const ifMatch = parseIfMatch(req.getHeader('if-match'));
      readJsonBody(reply, bodyHeaders(req), maxBodyBytes, (body) => {
        gate.patchContext(principal, contextId, body, ifMatch).then(
          (ctx) => reply.json(200, JSON.stringify(ctx), [['ETag', `"${ctx.version}"`]]),
          reject(reply),
        );
      });
    },
  });
}

function parseIfMatch(header: string): number | '*' | undefined {
  if (header === '') return undefined;
  const v = header.trim();
  if (v === '*') return '*';
  const m = /^(?:W\/)?"?(\d{1,15})"?$/.exec(v);
  if (!m) throw new EngramError('INVALID_FIELD', `If-Match: must be a context version such as "3", got ${JSON.stringify(header)}`);
  return Number(m[1]);
}
