/** What a route module needs to register its handlers, apart from the server that runs them. */
import type { HttpRequest } from 'uWebSockets.js';
import type { Principal } from '../../tenancy/access.js';
import type { Reply } from './io.js';

/** A route handler; `principal` is who the request runs as (authenticated, or X-Client-ID with auth off). */
export type Handler = (reply: Reply, req: HttpRequest, principal: Principal) => void;
/** `options`: a route that answers its own CORS preflights (one with ownOrigins); not in the OpenAPI document. */
export type Method = 'get' | 'post' | 'patch' | 'del' | 'options';

/** How route modules register handlers: each path with its methods (405 with Allow for the rest). */
export interface RouteTable {
  /** `ownOrigins`: the route checks browser origins itself (/mcp), instead of server.allowedOrigins. */
  route(pattern: string, handlers: Partial<Record<Method, Handler>>, options?: { public?: boolean; ownOrigins?: boolean }): void;
  onInternal: (err: unknown, requestId?: string) => void;
}
