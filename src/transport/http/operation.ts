/**
 * What a route says about itself in the OpenAPI document. Each route module writes its
 * operations beside its handlers (routes-*.ts, stream-*.ts, dashboard.ts), so a route is
 * registered and described in one place; openapi.ts assembles GET /openapi.json from what
 * was registered. Bodies name the shared schemas of basics/schemas.ts (the ones the
 * validators use), and the parameters several routes share are defined once below.
 */
import type { ErrorCode } from '../../basics/errors.js';
import type { RequestSchemaName, RESPONSE_SCHEMAS } from '../../basics/schemas.js';

export type ResponseSchemaName = keyof typeof RESPONSE_SCHEMAS;

/** The document's sections; the /docs page shows them in the order their first route was registered. */
export type Tag = 'health' | 'work units' | 'contexts' | 'locks' | 'search' | 'clients' | 'memory' | 'approvals' | 'dashboard' | 'operations' | 'streams';

/** A query or header parameter (path parameters come from the route's pattern). */
export interface Param {
  name: string;
  schema: Record<string, unknown>;
  description: string;
}

/** A body that is not JSON (a page, a stream, metrics text): its content type and what it is. */
export interface OtherBody {
  contentType: string;
  description: string;
}

export interface Operation {
  summary: string;
  tag: Tag;
  /**
   * The scope it needs when auth is on ('any': valid credentials of any scope). 'none' also
   * makes the route public: the server serves it without credentials, so the document cannot
   * call a route public that is not (server.ts).
   */
  scope: 'read' | 'write' | 'admin' | 'any' | 'none';
  query?: Param[];
  headers?: Param[];
  body?: RequestSchemaName;
  /** Success status → the schema of its JSON body (a list: one of them), or a body that is not JSON. */
  ok: Record<number, ResponseSchemaName | readonly ResponseSchemaName[] | OtherBody>;
  /** Error codes this route answers beyond the ones every authenticated route may (openapi.ts). */
  errors?: ErrorCode[];
}

/** One operation where it is served: what GET /openapi.json is assembled from. */
export interface DocumentedRoute {
  method: 'get' | 'post' | 'patch' | 'delete';
  /** As registered with uWS (`/workunit/:id`). */
  pattern: string;
  operation: Operation;
}

export const INT = { type: 'integer', minimum: 0 };
export const STR = { type: 'string' };
export const BOOL = { type: 'boolean' };

export const param = (name: string, schema: Record<string, unknown>, description: string): Param => ({ name, schema, description });

// Parameters several routes take, and mean the same by.
export const PAGE_LIMIT = param('limit', { type: 'integer', minimum: 1, maximum: 1000 }, 'Page size, 1–1000 (default 100).');
export const PAGE_AFTER = param('after', STR, 'The nextCursor of the previous page.');
export const ACCESS_TOKEN = param('access_token', STR, 'Credentials, for browsers.');
export const REPLAY_SINCE = param('since', INT, 'Replay units after this seq first.');
export const STREAM_AGENT = param(
  'agentId',
  STR,
  'The agent this stream is present as in the contexts it follows (GET /contexts/{id}/presence); absent: present as its client only.',
);
export const ON_TRIMMED = param(
  'onTrimmed',
  STR,
  'When retention trimmed units since asked for: end (a trimmed event ends the subscription; the default) or continue (from the first seq left).',
);
export const RESUME_EPOCH = param('epoch', STR, 'The epoch since belongs to, as a subscribed frame named it (EPOCH_MISMATCH when it is not the log’s).');
