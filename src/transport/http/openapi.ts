/**
 * GET /openapi.json: an OpenAPI 3.1 document assembled from the routes the server registered,
 * each with the operation written beside its handler (operation.ts), and the request and
 * response schemas the validators use (basics/schemas.ts). A route cannot be registered
 * without its operation, so the document lists exactly the routes served; docs/api.md is the
 * prose beside it.
 */
import { ERROR_CATALOG, type ErrorCode } from '../../basics/errors.js';
import { REQUEST_SCHEMAS, RESPONSE_SCHEMAS } from '../../basics/schemas.js';
import type { DocumentedRoute, Operation } from './operation.js';

/** Codes any authenticated route may answer. */
const COMMON_ERRORS: ErrorCode[] = ['UNAUTHENTICATED', 'FORBIDDEN', 'INVALID_CLIENT_ID', 'NOT_READY', 'INTERNAL'];

const schemaRef = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const jsonBody = (schema: unknown) => ({ 'application/json': { schema } });
const toPath = (pattern: string) => pattern.replace(/:([A-Za-z]+)/g, '{$1}');
/** `get` + `/workunits/{contextId}` → `getWorkunitsContextId`. */
const operationId = (method: string, pattern: string) =>
  `${method}${toPath(pattern)
    .replace(/[{}]/g, '')
    .replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ?? '').toUpperCase())}`;

/** The OpenAPI document of the routes registered, in registration order. */
export function buildOpenApi(routes: readonly DocumentedRoute[], version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const { method, pattern, operation } of routes) {
    const path = (paths[toPath(pattern)] ??= {});
    // A second registration would silently replace the first one's description.
    if (path[method] !== undefined) throw new Error(`${method.toUpperCase()} ${pattern} is registered twice`);
    path[method] = toOperationObject(method, pattern, operation);
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

function toOperationObject(method: string, pattern: string, op: Operation): Record<string, unknown> {
  const parameters = [
    ...[...pattern.matchAll(/:([A-Za-z]+)/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' }, description: 'Percent-encoded.' })),
    ...(op.query ?? []).map((p) => ({ name: p.name, in: 'query', required: false, schema: p.schema, description: p.description })),
    ...(op.headers ?? []).map((p) => ({ name: p.name, in: 'header', required: false, schema: p.schema, description: p.description })),
  ];
  if (op.scope !== 'none')
    parameters.push({
      name: 'X-Client-ID',
      in: 'header',
      required: false,
      schema: { type: 'string' },
      description: 'The client (auth.mode none), or the client an admin acts as.',
    });
  const result: Record<string, unknown> = {
    operationId: operationId(method, pattern),
    summary: op.summary,
    tags: [op.tag],
    parameters,
    responses: responsesOf(op),
    'x-engram-scope': op.scope,
    security: op.scope === 'none' ? [] : [{ bearer: [] }, { apiKey: [] }, {}],
  };
  if (op.body !== undefined) result.requestBody = { required: true, content: jsonBody(schemaRef(op.body)) };
  return result;
}

/** Success responses as the operation names them, then its error codes grouped by HTTP status. */
function responsesOf(op: Operation): Record<string, unknown> {
  const responses: Record<string, unknown> = {};
  for (const [status, body] of Object.entries(op.ok)) {
    if (typeof body === 'string') responses[status] = { description: body, content: jsonBody(schemaRef(body)) };
    else if ('contentType' in body) responses[status] = { description: body.description, content: { [body.contentType]: { schema: { type: 'string' } } } };
    else responses[status] = { description: body.join(' or '), content: jsonBody({ oneOf: body.map(schemaRef) }) };
  }
  const codes = [...new Set([...(op.errors ?? []), ...(op.scope === 'none' ? [] : COMMON_ERRORS)])];
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of codes) byStatus.set(ERROR_CATALOG[code].http, [...(byStatus.get(ERROR_CATALOG[code].http) ?? []), code]);
  for (const [status, list] of [...byStatus].sort((a, b) => a[0] - b[0])) {
    responses[String(status)] = { description: list.join(', '), content: jsonBody(schemaRef('Error')) };
  }
  return responses;
}
