/** What a route module needs to register its handlers, apart from the server that runs them. */
import type { HttpRequest } from 'uWebSockets.js';
import type { Principal } from '../../tenancy/access.js';
import type { Reply } from './io.js';
import type { Operation } from './operation.js';

/** A route handler; `principal` is who the request runs as (authenticated, or X-Client-ID with auth off). */
export type Handler = (reply: Reply, req: HttpRequest, principal: Principal) => void;

/** A method of a route: its OpenAPI operation and the handler that serves it, side by side. */
export interface Endpoint {
  operation: Operation;
  handler: Handler;
}

/** The methods of one path. */
export interface Endpoints {
  get?: Endpoint;
  post?: Endpoint;
  patch?: Endpoint;
  del?: Endpoint;
  /** A route that answers its own CORS preflights (one with ownOrigins): not an operation of the document. */
  options?: Handler;
}

/** How route modules register handlers: each path with its methods (405 with Allow for the rest). */
export interface RouteTable {
  /** `ownOrigins`: the route checks browser origins itself (/mcp), instead of server.allowedOrigins. */
  route(pattern: string, endpoints: Endpoints, options?: { ownOrigins?: boolean }): void;
  onInternal: (err: unknown, requestId?: string) => void;
}
