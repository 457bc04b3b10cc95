/** Routes of work units, contexts and health (docs/api.md). */
import { withTraceparent } from '../../basics/trace.js';
import type { Gate } from '../../gate/gate.js';
import type { AgentServices } from '../../agents/services.js';
import { EngramError } from '../../basics/errors.js';
import { bodyHeaders, pathParam, Query, readJsonBody, Reply, type Headers } from './io.js';
import { BOOL, INT, PAGE_AFTER, PAGE_LIMIT, param, STR } from './operation.js';
import type { RouteTable } from './route-table.js';

export function registerUnitRoutes(t: RouteTable, deps: { gate: Gate; agents: AgentServices; maxBodyBytes: number }): void {
  const { gate, maxBodyBytes } = deps;
  const engine = gate.engine;
  const onInternal = t.onInternal;
  const reject = (reply: Reply) => (err: unknown) => reply.error(err, onInternal);

  t.route('/healthz', {
    get: {
      operation: { summary: 'Liveness: the process answers.', tag: 'health', scope: 'none', ok: { 200: 'Status' } },
      handler: (reply) => reply.json(200, '{"status":"ok"}'),
    },
  });
  // The path the engine's first design named: the same answer.
  t.route('/health', {
    get: {
      operation: { summary: 'Liveness, as /healthz (the name of the first design).', tag: 'health', scope: 'none', ok: { 200: 'Status' } },
      handler: (reply) => reply.json(200, '{"status":"ok"}'),
    },
  });
  t.route('/readyz', {
    get: {
      operation: { summary: 'Readiness: storage is open.', tag: 'health', scope: 'none', ok: { 200: 'Status' }, errors: ['NOT_READY'] },
      handler: (reply) => {
        if (engine.ready) reply.json(200, '{"status":"ready"}');
        else reply.error(new EngramError('NOT_READY', 'storage is not open'), onInternal);
      },
    },
  });

  t.route('/workunit', {
    post: {
      operation: {
        summary: 'Append a work unit to its context.',
        tag: 'work units',
        scope: 'write',
        body: 'WorkUnitInput',
        headers: [
          param('Idempotency-Key', STR, 'Retries with the same key get the first write (201 with Idempotent-Replayed: true).'),
          param('traceparent', STR, 'W3C Trace Context: stored on the unit as meta.traceparent, and sent with it to subscribers.'),
        ],
        ok: { 201: 'WorkUnit' },
        errors: [
          'MALFORMED_JSON',
          'MISSING_FIELD',
          'UNKNOWN_FIELD',
          'INVALID_FIELD',
          'INVALID_ID',
          'PAYLOAD_TOO_LARGE',
          'UNSUPPORTED_MEDIA_TYPE',
          'FENCE_REJECTED',
          'QUOTA_EXCEEDED',
          'STORAGE_UNAVAILABLE',
        ],
      },
      handler: (reply, req, principal) => {
        const head = bodyHeaders(req);
        const idempotencyKey = req.getHeader('idempotency-key');
        const traceparent = req.getHeader('traceparent');
        readJsonBody(reply, head, maxBodyBytes, (body) => {
          let unit: unknown;
          try {
            unit = withTraceparent(body, traceparent, 'traceparent header');
          } catch (err) {
            reply.error(err, t.onInternal);
            return;
          }
          gate.append(principal, unit, idempotencyKey === '' ? undefined : idempotencyKey).then((r) => {
            const headers: Headers = r.replayed
              ? [
                  ['Location', `/workunit/${r.id}`],
                  ['Idempotent-Replayed', 'true'],
                ]
              : [['Location', `/workunit/${r.id}`]];
            reply.json(201, r.json, headers);
          }, reject(reply));
        });
      },
    },
  });
  t.route('/workunit/:id', {
    get: {
      operation: { summary: 'One work unit by id.', tag: 'work units', scope: 'read', ok: { 200: 'WorkUnit' }, errors: ['WORKUNIT_NOT_FOUND', 'INVALID_ID'] },
      handler: (reply, req, principal) => {
        gate.getUnit(principal, pathParam(req, 0, 'id')).then((json) => reply.json(200, json), reject(reply));
      },
    },
  });
  t.route('/workunits/:contextId', {
    get: {
      operation: {
        summary: "A page of a context's units, oldest first (or newest first with reverse).",
        tag: 'work units',
        scope: 'read',
        query: [
          PAGE_LIMIT,
          param('after', INT, 'Only seqs above this.'),
          param('before', INT, 'Only seqs below this.'),
          param('reverse', BOOL, 'Newest first.'),
          param('summaries', BOOL, 'Each applied SUMMARY in place of the range it covers (docs/agents.md#summaries); a cursor is then the last seq a page consumed.'),
        ],
        ok: { 200: 'UnitPage' },
        errors: ['CONTEXT_NOT_FOUND', 'INVALID_QUERY', 'INVALID_ID'],
      },
      handler: (reply, req, principal) => {
        const contextId = pathParam(req, 0, 'contextId');
        const q = new Query(req.getQuery());
        const query = { limit: q.int('limit'), after: q.int('after'), before: q.int('before'), reverse: q.bool('reverse') };
        const pageJson = (units: string[], page: { nextCursor: number | null; firstSeq: number }) =>
          `{"workUnits":[${units.join(',')}],"nextCursor":${page.nextCursor ?? 'null'},"firstSeq":${page.firstSeq}}`;
        if (q.bool('summaries') === true) {
          deps.agents.summaries.read(principal, contextId, query).then(
            (page) =>
              reply.json(
                200,
                pageJson(
                  page.items.map((x) => x.json),
                  page,
                ),
              ),
            reject(reply),
          );
          return;
        }
        gate.listUnits(principal, contextId, query).then((page) => reply.json(200, pageJson(page.units, page)), reject(reply));
      },
    },
  });
  t.route('/contexts', {
    get: {
      operation: {
        summary: 'Contexts in id order (the client’s own and its groups’).',
        tag: 'contexts',
        scope: 'read',
        query: [PAGE_LIMIT, PAGE_AFTER, param('prefix', STR, 'Only ids starting with this.')],
        ok: { 200: 'ContextPage' },
        errors: ['INVALID_QUERY'],
      },
      handler: (reply, req, principal) => {
        const q = new Query(req.getQuery());
        gate
          .listContexts(principal, { limit: q.int('limit'), after: q.string('after'), prefix: q.string('prefix') })
          .then((page) => reply.json(200, JSON.stringify(page)), reject(reply));
      },
    },
  });
  t.route('/contexts/:id', {
    get: {
      operation: { summary: 'A context record (ETag: its version).', tag: 'contexts', scope: 'read', ok: { 200: 'Context' }, errors: ['CONTEXT_NOT_FOUND', 'INVALID_ID'] },
      handler: (reply, req, principal) => {
        gate.getContext(principal, pathParam(req, 0, 'contextId')).then((ctx) => reply.json(200, JSON.stringify(ctx), [['ETag', `"${ctx.version}"`]]), reject(reply));
      },
    },
    patch: {
      operation: {
        summary: 'Change a context record (creating it if needed).',
        tag: 'contexts',
        scope: 'write',
        body: 'ContextPatch',
        headers: [param('If-Match', STR, 'The version last seen ("*": any existing one); 412 when stale.')],
        ok: { 200: 'Context' },
        errors: ['VERSION_MISMATCH', 'UNIT_NOT_IN_CONTEXT', 'UNKNOWN_FIELD', 'INVALID_FIELD', 'MALFORMED_JSON', 'UNSUPPORTED_MEDIA_TYPE'],
      },
      handler: (reply, req, principal) => {
        const contextId = pathParam(req, 0, 'contextId');
        const ifMatch = parseIfMatch(req.getHeader('if-match'));
        readJsonBody(reply, bodyHeaders(req), maxBodyBytes, (body) => {
          gate.patchContext(principal, contextId, body, ifMatch).then((ctx) => reply.json(200, JSON.stringify(ctx), [['ETag', `"${ctx.version}"`]]), reject(reply));
        });
      },
    },
    del: {
      operation: {
        summary:
          'Delete a context for good: its units, idempotency keys, search entries and memory state; subscribers get a `deleted` event. A later write starts a new history (a new stream epoch).',
        tag: 'contexts',
        scope: 'write',
        query: [param('cascade', BOOL, 'Delete its forks too (forks of forks first); without it a context with forks is refused (409 CONTEXT_HAS_FORKS).')],
        ok: { 200: 'ContextDeletion' },
        errors: ['CONTEXT_NOT_FOUND', 'CONTEXT_HAS_FORKS', 'INVALID_ID', 'INVALID_QUERY'],
      },
      handler: (reply, req, principal) => {
        const cascade = new Query(req.getQuery()).bool('cascade') === true;
        gate.deleteContext(principal, pathParam(req, 0, 'contextId'), cascade).then((report) => reply.json(200, JSON.stringify(report)), reject(reply));
      },
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
