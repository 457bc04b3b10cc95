/**
 * GET /openapi.json: an OpenAPI 3.1 document built from the routes the server actually
 * registered and the request and response schemas the validators use (basics/schemas.ts).
 * A registered route without an entry here stops the server at start-up, so the document
 * cannot leave a route out; docs/api.md is the prose beside it.
 */
import { ERROR_CATALOG, type ErrorCode } from '../../basics/errors.js';
import { REQUEST_SCHEMAS, RESPONSE_SCHEMAS, type RequestSchemaName } from '../../basics/schemas.js';

type ResponseName = keyof typeof RESPONSE_SCHEMAS;
type Method = 'get' | 'post' | 'patch' | 'delete';

interface Param {
  name: string;
  schema: Record<string, unknown>;
  description: string;
}

export interface RouteDoc {
  summary: string;
  tag: string;
  /** The scope it needs when auth is on ('any': valid credentials of any scope; 'none': public). */
  scope: 'read' | 'write' | 'admin' | 'any' | 'none';
  query?: Param[];
  headers?: Param[];
  body?: RequestSchemaName;
  /** Success status → schema of its body (or a content type for non-JSON bodies). */
  ok: Record<number, ResponseName | { contentType: string; description: string }>;
  /** Error codes this route answers beyond the ones every route may (see COMMON_ERRORS). */
  errors?: ErrorCode[];
}

const int = { type: 'integer', minimum: 0 };
const str = { type: 'string' };
const q = (name: string, schema: Record<string, unknown>, description: string): Param => ({ name, schema, description });
const LIMIT = q('limit', { type: 'integer', minimum: 1, maximum: 1000 }, 'Page size, 1–1000 (default 100).');

/** Every documented route, by "METHOD pattern" as registered with uWS. */
export const ROUTE_DOCS: Record<string, RouteDoc> = {
  'GET /healthz': { summary: 'Liveness: the process answers.', tag: 'health', scope: 'none', ok: { 200: 'Status' } },
  'GET /readyz': { summary: 'Readiness: storage is open.', tag: 'health', scope: 'none', ok: { 200: 'Status' }, errors: ['NOT_READY'] },
  'POST /workunit': {
    summary: 'Append a work unit to its context.',
    tag: 'work units',
    scope: 'write',
    body: 'WorkUnitInput',
    headers: [q('Idempotency-Key', str, 'Retries with the same key get the first write (201 with Idempotent-Replayed: true).')],
    ok: { 201: 'WorkUnit' },
    errors: ['MALFORMED_JSON', 'MISSING_FIELD', 'UNKNOWN_FIELD', 'INVALID_FIELD', 'INVALID_ID', 'PAYLOAD_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE', 'FENCE_REJECTED', 'QUOTA_EXCEEDED', 'STORAGE_UNAVAILABLE'],
  },
  'GET /workunit/:id': { summary: 'One work unit by id.', tag: 'work units', scope: 'read', ok: { 200: 'WorkUnit' }, errors: ['WORKUNIT_NOT_FOUND', 'INVALID_ID'] },
  'GET /workunits/:contextId': {
    summary: "A page of a context's units, oldest first (or newest first with reverse).",
    tag: 'work units',
    scope: 'read',
    query: [LIMIT, q('after', int, 'Only seqs above this.'), q('before', int, 'Only seqs below this.'), q('reverse', { type: 'boolean' }, 'Newest first.')],
    ok: { 200: 'UnitPage' },
    errors: ['CONTEXT_NOT_FOUND', 'INVALID_QUERY', 'INVALID_ID'],
  },
  'GET /contexts': {
    summary: 'Contexts in id order (the client’s own and its groups’).',
    tag: 'contexts',
    scope: 'read',
    query: [LIMIT, q('after', str, 'The nextCursor of the previous page.'), q('prefix', str, 'Only ids starting with this.')],
    ok: { 200: 'ContextPage' },
    errors: ['INVALID_QUERY'],
  },
  'GET /contexts/:id': { summary: 'A context record (ETag: its version).', tag: 'contexts', scope: 'read', ok: { 200: 'Context' }, errors: ['CONTEXT_NOT_FOUND', 'INVALID_ID'] },
  'PATCH /contexts/:id': {
    summary: 'Change a context record (creating it if needed).',
    tag: 'contexts',
    scope: 'write',
    body: 'ContextPatch',
    headers: [q('If-Match', str, 'The version last seen ("*": any existing one); 412 when stale.')],
    ok: { 200: 'Context' },
    errors: ['VERSION_MISMATCH', 'UNIT_NOT_IN_CONTEXT', 'UNKNOWN_FIELD', 'INVALID_FIELD', 'MALFORMED_JSON', 'UNSUPPORTED_MEDIA_TYPE'],
  },
  'POST /locks': {
    summary: 'Acquire a lock (or several, all or none), waiting up to waitMs.',
    tag: 'locks',
    scope: 'write',
    body: 'LockAcquire',
    ok: { 200: 'Lock' },
    errors: ['LOCK_HELD', 'MISSING_FIELD', 'UNKNOWN_FIELD', 'INVALID_FIELD', 'MALFORMED_JSON', 'UNSUPPORTED_MEDIA_TYPE'],
  },
  'GET /locks': {
    summary: 'Held locks in resource order.',
    tag: 'locks',
    scope: 'read',
    query: [LIMIT, q('agentId', str, 'Only this agent’s.'), q('prefix', str, 'Only resources starting with this.'), q('after', str, 'The nextCursor of the previous page.')],
    ok: { 200: 'LockPage' },
    errors: ['INVALID_QUERY'],
  },
  'GET /locks/:resource': { summary: 'The holder of a resource.', tag: 'locks', scope: 'read', ok: { 200: 'Lock' }, errors: ['LOCK_NOT_HELD'] },
  'DELETE /locks/:resource': {
    summary: 'Release a lock (holder only).',
    tag: 'locks',
    scope: 'write',
    query: [q('agentId', str, 'The holder.'), q('lockId', str, 'From the acquire.')],
    ok: { 200: 'Lock' },
    errors: ['LOCK_NOT_HELD', 'NOT_LOCK_HOLDER', 'MISSING_FIELD'],
  },
  'POST /locks/:resource/renew': { summary: 'Extend a lease (holder only).', tag: 'locks', scope: 'write', body: 'LockRenew', ok: { 200: 'Lock' }, errors: ['LOCK_NOT_HELD', 'NOT_LOCK_HOLDER', 'MISSING_FIELD', 'INVALID_FIELD'] },
  'POST /search': {
    summary: 'Hybrid keyword + vector search over the client’s units (and its groups’).',
    tag: 'search',
    scope: 'read',
    body: 'SearchRequest',
    ok: { 200: 'SearchResponse' },
    errors: ['MISSING_FIELD', 'UNKNOWN_FIELD', 'INVALID_FIELD', 'NOT_FOUND'],
  },
  'GET /search/status': { summary: 'Index catch-up, freshness and embedder state.', tag: 'search', scope: 'admin', query: [q('window', int, 'Freshness window, ms.')], ok: { 200: 'Document' } },
  'GET /clients/list': { summary: 'Clients with data or in-memory state.', tag: 'clients', scope: 'admin', query: [LIMIT, q('after', str, 'The nextCursor of the previous page.')], ok: { 200: 'ClientList' } },
  'GET /clients/status/:clientId': { summary: 'What one client holds now.', tag: 'clients', scope: 'admin', ok: { 200: 'ClientStatus' }, errors: ['INVALID_CLIENT_ID'] },
  'POST /clients/cleanup': {
    summary: 'Drop the in-memory state of idle clients now (never data).',
    tag: 'clients',
    scope: 'admin',
    query: [q('idle_threshold', int, 'Seconds idle (default 0).')],
    ok: { 200: 'Cleanup' },
  },
  'POST /memory/:space/command': {
    summary: "Run one command of Anthropic's memory tool on a memory space; tool errors come back as results (isError).",
    tag: 'memory',
    scope: 'write',
    body: 'MemoryCommand',
    query: [q('agentId', str, 'Who makes the change (default: memory; or the X-Agent-ID header).')],
    ok: { 200: 'MemoryResult' },
    errors: ['INVALID_ID', 'MALFORMED_JSON', 'UNSUPPORTED_MEDIA_TYPE', 'QUOTA_EXCEEDED'],
  },
  'GET /memory/:space/tree': { summary: 'Every file of a memory space with its size.', tag: 'memory', scope: 'read', ok: { 200: 'Document' }, errors: ['INVALID_ID'] },
  'GET /memory/:space/file': {
    summary: "A memory file's text.",
    tag: 'memory',
    scope: 'read',
    query: [q('path', str, 'A path under /memories.')],
    ok: { 200: 'Document' },
    errors: ['INVALID_QUERY', 'NOT_FOUND'],
  },
  'GET /memory/:space/history': {
    summary: 'The changes to a path (or under it), oldest first: who, when, what.',
    tag: 'memory',
    scope: 'read',
    query: [q('path', str, 'A path under /memories (default: all).')],
    ok: { 200: 'Document' },
    errors: ['INVALID_QUERY'],
  },
  'POST /facts/:space': {
    summary: 'Remember a fact: ADD, UPDATE (a new value for a known key; REPLACES the old unit) or NOOP (already known), with the reason.',
    tag: 'memory',
    scope: 'write',
    body: 'FactInput',
    query: [q('agentId', str, 'Who makes the change (default: memory; or the X-Agent-ID header).')],
    ok: { 200: 'Document' },
    errors: ['INVALID_ID', 'INVALID_FIELD', 'MALFORMED_JSON', 'UNSUPPORTED_MEDIA_TYPE', 'QUOTA_EXCEEDED'],
  },
  'GET /facts/:space': {
    summary: 'The facts of a memory space, first added first.',
    tag: 'memory',
    scope: 'read',
    query: [q('includeDeleted', { type: 'boolean' }, 'Also list deleted facts.')],
    ok: { 200: 'Document' },
    errors: ['INVALID_ID'],
  },
  'POST /facts/:space/forget': {
    summary: 'Mark a fact deleted (DELETE; its history stays), or NOOP when no live fact has the key.',
    tag: 'memory',
    scope: 'write',
    body: 'FactKey',
    query: [q('agentId', str, 'Who makes the change.')],
    ok: { 200: 'Document' },
    errors: ['INVALID_ID', 'INVALID_FIELD', 'MALFORMED_JSON', 'UNSUPPORTED_MEDIA_TYPE'],
  },
  'GET /facts/:space/fact': {
    summary: 'One fact with every version, oldest first.',
    tag: 'memory',
    scope: 'read',
    query: [q('key', str, 'The fact key.')],
    ok: { 200: 'Document' },
    errors: ['INVALID_FIELD', 'NOT_FOUND'],
  },
  'POST /facts/:space/recall': {
    summary: 'Live facts most like a query, best first (by embedder similarity, or shared words without one).',
    tag: 'memory',
    scope: 'read',
    body: 'FactRecall',
    ok: { 200: 'Document' },
    errors: ['INVALID_FIELD', 'MALFORMED_JSON', 'UNSUPPORTED_MEDIA_TYPE'],
  },
  'GET /graph/:space': { summary: 'The whole knowledge graph of a memory space (read_graph).', tag: 'memory', scope: 'read', ok: { 200: 'Document' }, errors: ['INVALID_ID'] },
  'POST /graph/:space/:tool': {
    summary: 'Run one knowledge-graph tool (create_entities, create_relations, add_observations, delete_entities, delete_observations, delete_relations, read_graph, search_nodes, open_nodes); answers {result}.',
    tag: 'memory',
    scope: 'write',
    body: 'GraphArguments',
    query: [q('agentId', str, 'Who makes the change.')],
    ok: { 200: 'Document' },
    errors: ['INVALID_ID', 'INVALID_FIELD', 'NOT_FOUND', 'MALFORMED_JSON', 'UNSUPPORTED_MEDIA_TYPE'],
  },
  'POST /mcp': {
    summary: 'MCP over Streamable HTTP (stateless, JSON answers): the tools of `engram mcp`. Loopback origins and mcp.allowedOrigins only.',
    tag: 'memory',
    scope: 'any',
    query: [q('space', str, 'The memory space of the memory, facts and graph tools (default: default).'), q('agentId', str, 'Who changes come from (default: mcp).')],
    ok: { 200: 'Document', 202: { contentType: 'text/plain', description: 'A notification or response was accepted.' } },
    errors: ['FORBIDDEN', 'MALFORMED_JSON', 'UNSUPPORTED_MEDIA_TYPE'],
  },
  'GET /': { summary: 'The web dashboard (docs/dashboard.md).', tag: 'dashboard', scope: 'none', ok: { 200: { contentType: 'text/html', description: 'The dashboard page' }, 304: { contentType: 'text/html', description: 'Not modified (If-None-Match)' } } },
  'GET /dashboard/:file': {
    summary: "The dashboard's script, style sheet and source map.",
    tag: 'dashboard',
    scope: 'none',
    ok: { 200: { contentType: 'text/javascript', description: 'app.js, app.css or app.js.map' }, 304: { contentType: 'text/javascript', description: 'Not modified' } },
  },
  'GET /admin/backup': {
    summary: 'A backup of the whole log from one consistent snapshot, as NDJSON (docs/reliability.md); restore with `engram restore`.',
    tag: 'operations',
    scope: 'admin',
    ok: { 200: { contentType: 'application/x-ndjson', description: 'A header line, one line per stored key and value, and a trailer with the count and a checksum' } },
  },
  'GET /metrics': { summary: 'Prometheus metrics.', tag: 'operations', scope: 'admin', ok: { 200: { contentType: 'text/plain; version=0.0.4', description: 'Prometheus text format' } } },
  'GET /health/detailed': { summary: 'Storage, index catch-up, memory, streams, locks, clients.', tag: 'operations', scope: 'admin', ok: { 200: 'Document' } },
  'GET /openapi.json': { summary: 'This document.', tag: 'operations', scope: 'none', ok: { 200: 'Document' } },
  'GET /docs': { summary: 'A page that renders this document.', tag: 'operations', scope: 'none', ok: { 200: { contentType: 'text/html', description: 'HTML' } } },
  'GET /stream': {
    summary: 'WebSocket upgrade: subscribe to contexts and the lock stream, publish units (docs/streaming.md).',
    tag: 'streams',
    scope: 'read',
    query: [q('context', str, 'A context to follow (repeatable).'), q('since', int, 'Replay units after this seq first.'), q('locks', { type: 'boolean' }, 'Follow lock events.'), q('format', { enum: ['json', 'msgpack'] }, 'Frame format.'), q('access_token', str, 'Credentials, for browsers.')],
    ok: { 101: { contentType: 'application/json', description: 'Switching Protocols: frames as in docs/streaming.md' } },
    errors: ['INVALID_QUERY', 'QUOTA_EXCEEDED'],
  },
  'GET /stream-sse': {
    summary: 'Server-Sent Events of one context (id: seq; Last-Event-ID resumes) or of locks.',
    tag: 'streams',
    scope: 'read',
    query: [q('context', str, 'The context to follow.'), q('since', int, 'Replay units after this seq first.'), q('locks', { type: 'boolean' }, 'Follow lock events instead.'), q('access_token', str, 'Credentials, for browsers.')],
    ok: { 200: { contentType: 'text/event-stream', description: 'Events: subscribed, workunit, context, lock, heartbeat comments' } },
    errors: ['INVALID_QUERY', 'CONTEXT_NOT_FOUND', 'QUOTA_EXCEEDED'],
  },
};

/** Codes any authenticated route may answer. */
const COMMON_ERRORS: ErrorCode[] = ['UNAUTHENTICATED', 'FORBIDDEN', 'INVALID_CLIENT_ID', 'NOT_READY', 'INTERNAL'];

const toPath = (pattern: string) => pattern.replace(/:([A-Za-z]+)/g, '{$1}');

/** The OpenAPI document of the routes registered, in registration order. Throws when one has no entry in ROUTE_DOCS. */
export function buildOpenApi(routes: ReadonlyArray<{ method: Method; pattern: string }>, version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const { method, pattern } of routes) {
    const key = `${method.toUpperCase()} ${pattern}`;
    const doc = ROUTE_DOCS[key];
    if (doc === undefined) throw new Error(`route ${key} has no entry in ROUTE_DOCS (src/transport/http/openapi.ts)`);
    const parameters = [
      ...[...pattern.matchAll(/:([A-Za-z]+)/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' }, description: 'Percent-encoded.' })),
      ...(doc.query ?? []).map((p) => ({ name: p.name, in: 'query', required: false, schema: p.schema, description: p.description })),
      ...(doc.headers ?? []).map((p) => ({ name: p.name, in: 'header', required: false, schema: p.schema, description: p.description })),
    ];
    if (doc.scope !== 'none') parameters.push({ name: 'X-Client-ID', in: 'header', required: false, schema: { type: 'string' }, description: 'The client (auth.mode none), or the client an admin acts as.' });
    const responses: Record<string, unknown> = {};
    for (const [status, body] of Object.entries(doc.ok)) {
      responses[status] =
        typeof body === 'string'
          ? { description: body, content: { 'application/json': { schema: { $ref: `#/components/schemas/${body}` } } } }
          : { description: body.description, content: { [body.contentType]: { schema: { type: 'string' } } } };
    }
    const codes = [...new Set([...(doc.errors ?? []), ...(doc.scope === 'none' ? [] : COMMON_ERRORS)])];
    const byStatus = new Map<number, ErrorCode[]>();
    for (const code of codes) byStatus.set(ERROR_CATALOG[code].http, [...(byStatus.get(ERROR_CATALOG[code].http) ?? []), code]);
    for (const [status, list] of [...byStatus].sort((a, b) => a[0] - b[0])) {
      responses[String(status)] = { description: list.join(', '), content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
    }
    const op: Record<string, unknown> = {
      operationId: `${method}${toPath(pattern).replace(/[{}]/g, '').replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ?? '').toUpperCase())}`,
      summary: doc.summary,
      tags: [doc.tag],
      parameters,
      responses,
      'x-engram-scope': doc.scope,
    };
    op.security = doc.scope === 'none' ? [] : [{ bearer: [] }, { apiKey: [] }, {}];
    if (doc.body !== undefined) {
      op.requestBody = { required: true, content: { 'application/json': { schema: { $ref: `#/components/schemas/${doc.body}` } } } };
    }
    (paths[toPath(pattern)] ??= {})[method] = op;
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Engram',
      version,
      description: 'Real-time collaboration engine for AI agents: durable work-unit log, live fan-out, locks and search. Errors: docs/errors.md. Auth: docs/clients.md.',
    },
    servers: [{ url: '/' }],
    paths,
    components: {
      schemas: { ...REQUEST_SCHEMAS, ...RESPONSE_SCHEMAS },
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'An API key or a JWT (auth.mode apikey or jwt).' },
        apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
      },
    },
  };
}
