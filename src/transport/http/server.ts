/**
 * The HTTP server on uWebSockets.js: the app, route registration with 405s and
 * crash-proof handlers, listening. The routes themselves live in routes-*.ts and the
 * streams in stream-*.ts; a handler only parses, calls core, and answers.
 */
import { randomBytes } from 'node:crypto';
import uWS, { type HttpRequest, type TemplatedApp, type us_listen_socket } from 'uWebSockets.js';
import type { Logger } from 'pino';
import type { Authenticator, Principal } from '../../tenancy/access.js';
import { EngramError } from '../../basics/errors.js';
import type { Gate } from '../../gate/gate.js';
import type { RequestObserver } from '../../basics/observer.js';
import { NO_TRACER, type Tracer } from '../../basics/tracer.js';
import { isTraceparent } from '../../basics/trace.js';
import { BodyDeadlines, credentialsOf, Reply } from './io.js';
import { buildOpenApi } from './openapi.js';
import type { DocumentedRoute } from './operation.js';
import { registerClientRoutes } from './routes-clients.js';
import { registerDocsRoutes } from './routes-docs.js';
import { registerLockRoutes } from './routes-locks.js';
import { registerDashboard } from './dashboard.js';
import { OriginPolicy } from './origins.js';
import { registerMcpRoutes, type McpHttpOptions } from './routes-mcp.js';
import { registerMemoryRoutes } from './routes-memory.js';
import type { AgentMemory } from '../../memory/agent-memory.js';
import { registerOpsRoutes, type OpsDeps } from './routes-ops.js';
import { registerSearchRoutes, type SearchDeps } from './routes-search.js';
import { registerAgentRoutes } from './routes-agents.js';
import type { AgentServices } from '../../agents/services.js';
import { registerForkRoutes } from './routes-forks.js';
import { registerUnitRoutes } from './routes-units.js';
import { registerPresenceRoutes } from './routes-presence.js';
import type { StreamHub } from '../../streams/hub.js';
import { registerSse } from './stream-sse.js';
import { registerWebSocket } from './stream-ws.js';
import type { Endpoint, Endpoints, Handler, RouteTable } from './route-table.js';
import { readTls, type ServerTls } from '../tls.js';
import { listenWithMutualTls } from './tls-front.js';

export interface HttpServerOptions {
  /** Every request goes through the gate, as the principal its credentials name. */
  gate: Gate;
  auth: Authenticator;
  logger: Logger;
  /** Largest accepted request body, in bytes. */
  maxBodyBytes: number;
  /** The stream connections of every transport (shared with gRPC Subscribe). */
  hub: StreamHub;
  /** Told about every answered request (metrics); optional. */
  requests?: RequestObserver;
  /** A server span per request (tracing.enabled), a child of its `traceparent` header. */
  tracer?: Tracer;
  ops: OpsDeps;
  /** The server's version, for /openapi.json. */
  version: string;
  /** Absent when search is disabled. */
  search?: SearchDeps;
  /** Memory files, facts and graph (memory/), built by the wiring. */
  memory: AgentMemory;
  /** What only agents need: windows, summaries, approvals (agents/). */
  agents: AgentServices;
  /** MCP over HTTP at /mcp; absent: off. */
  mcp?: McpHttpOptions;
  /** Foreign browser origins allowed (server.allowedOrigins); the server's own pages always are. */
  allowedOrigins?: string[];
  /** Host names browsers may use besides loopback ones, checked with auth off (server.allowedHosts). */
  allowedHosts?: string[];
  /** Longest a request body may take to arrive (limits.requestTimeout); absent: no limit. */
  requestTimeoutMs?: number;
  /** HTTPS, WSS and SSE over TLS (server.tls); absent: plain TCP. */
  tls?: ServerTls;
}

/** The native module exports this listen flag; its typings only declare it as an enum member. */
/**
 * Routes without a server span: a write's own span (engram.write) is its server side, a child of
 * the same traceparent, and costs the write path nothing more; probes would only be noise.
 */
const OWN_SPAN_ROUTES = new Set(['/workunit', '/healthz', '/health', '/readyz', '/metrics']);
const EXCLUSIVE_PORT = (uWS as unknown as { LIBUS_LISTEN_EXCLUSIVE_PORT: number }).LIBUS_LISTEN_EXCLUSIVE_PORT;

/** True when the native uWS binary loaded; its pure-JS fallback drops corked bodies and published frames. */
export function uwsIsNative(): boolean {
  return typeof (uWS as unknown as Record<string, unknown>).H3App === 'function';
}

export class HttpServer {
  private readonly app: TemplatedApp;
  private listenSocket: us_listen_socket | undefined;
  private readonly tls: ServerTls | undefined;
  /** With mutual TLS: stops the front and the app's unix socket behind it. */
  private stopFront: (() => void) | undefined;
  private readonly onInternal: (err: unknown, requestId?: string) => void;
  private readonly logger: Logger;
  private readonly requestIds = new RequestIds();
  /** Every route registered, with its operation, in registration order (for /openapi.json). */
  private readonly routes: DocumentedRoute[] = [];
  private readonly hub: StreamHub;
  private readonly auth: Authenticator;
  private readonly requests: RequestObserver | undefined;
  private readonly tracer: Tracer;
  private readonly origins: OriginPolicy;
  private readonly bodyDeadlines: BodyDeadlines | undefined;
  /** Routes that check origins themselves. */
  private readonly ownOrigins = new Set<string>();

  constructor(options: HttpServerOptions) {
    if (!uwsIsNative()) {
      throw new Error('uWebSockets.js loaded its JavaScript fallback instead of the native binary; refusing to start');
    }
    this.auth = options.auth;
    this.requests = options.requests;
    this.tracer = options.tracer ?? NO_TRACER;
    this.origins = new OriginPolicy(options.allowedOrigins ?? [], options.auth.mode === 'none', options.allowedHosts ?? []);
    this.bodyDeadlines = options.requestTimeoutMs === undefined ? undefined : new BodyDeadlines(options.requestTimeoutMs);
    this.logger = options.logger;
    // The error goes to the log with its stack; the client gets only the code and the request id.
    this.onInternal = (err, reqId) => options.logger.error({ err, reqId }, 'internal error while handling a request');
    this.tls = options.tls;
    this.app = createApp(options.tls);
    this.hub = options.hub;
    const stream = { gate: options.gate, auth: options.auth, hub: this.hub, onInternal: this.onInternal, origins: this.origins };
    this.routes.push(registerWebSocket(this.app, { ...stream, maxMessageBytes: options.maxBodyBytes + 4096 }), registerSse(this.app, stream));
    const table: RouteTable = { route: (pattern, endpoints, o) => this.route(pattern, endpoints, o?.ownOrigins ?? false), onInternal: this.onInternal };
    registerUnitRoutes(table, options);
    registerPresenceRoutes(table, options);
    registerLockRoutes(table, options);
    registerSearchRoutes(table, options);
    registerAgentRoutes(table, options);
    registerForkRoutes(table, options);
    registerClientRoutes(table, options);
    const memory = options.memory;
    registerMemoryRoutes(table, { memory, maxBodyBytes: options.maxBodyBytes });
    if (options.mcp !== undefined) registerMcpRoutes(table, { ...options, memory, mcp: options.mcp });
    registerOpsRoutes(table, options.ops, options.gate);
    registerDashboard(table);
    let openapi = '';
    registerDocsRoutes(table, () => openapi);
    // Built once, after the last route (the two above included), so it lists every one.
    openapi = JSON.stringify(buildOpenApi(this.routes, options.version));
    // An empty id segment ("/workunit/") is a bad id, not an unknown route: a fallback like the
    // 404 below, not a route of the API, so it has no operation.
    const emptyId: Handler = () => {
      throw new EngramError('INVALID_ID', 'the id in the path is empty');
    };
    for (const path of ['/workunit/', '/workunits/', '/contexts/', '/locks/']) this.mount(path, [{ method: 'get', handler: emptyId, isPublic: false }]);
    this.app.any(
      '/*',
      this.guard(
        () => {
          throw new EngramError('NOT_FOUND', 'no such route; see docs/api.md');
        },
        true,
        'unmatched',
      ),
    );
  }

  /** Serves a route's methods, and records each with its operation for the OpenAPI document. */
  private route(pattern: string, endpoints: Endpoints, ownOrigins: boolean): void {
    if (ownOrigins) this.ownOrigins.add(pattern);
    const { options: preflight, ...methods } = endpoints;
    const mounted: Mounted[] = preflight === undefined ? [] : [{ method: 'options', handler: preflight, isPublic: false }];
    for (const [method, { operation, handler }] of Object.entries(methods) as Array<[Exclude<keyof Endpoints, 'options'>, Endpoint]>) {
      // What the document says is what is served: an operation that needs no scope is public.
      mounted.push({ method, handler, isPublic: operation.scope === 'none' });
      this.routes.push({ method: method === 'del' ? 'delete' : method, pattern, operation });
    }
    this.mount(pattern, mounted);
  }

  /** Registers the handlers of one path on the app, and 405 with an Allow header for its other methods. */
  private mount(pattern: string, handlers: Mounted[]): void {
    const allow = handlers.map(({ method }) => (method === 'del' ? 'DELETE' : method.toUpperCase())).join(', ');
    for (const { method, handler, isPublic } of handlers) this.app[method](pattern, this.guard(handler, isPublic, pattern));
    this.app.any(pattern, (res, req) => {
      if (req.getMethod() === 'options') return this.preflight(res, req);
      new Reply(res).error(new EngramError('METHOD_NOT_ALLOWED', `${req.getMethod().toUpperCase()} is not allowed here; allowed: ${allow}`), this.onInternal, hasBody(req), [
        ['Allow', allow],
      ]);
    });
  }

  /** A CORS preflight: the allowed methods and headers for an allowed foreign origin, 403 for any other. */
  private preflight(res: uWS.HttpResponse, req: HttpRequest): void {
    const origin = req.getHeader('origin');
    const reply = new Reply(res);
    if (this.origins.judge(origin, req.getHeader('host')) === 'allowed') reply.send(204, 'text/plain', '', this.origins.preflightHeaders(origin));
    else reply.error(new EngramError('FORBIDDEN', `origin ${JSON.stringify(origin.slice(0, 200))} may not call this server (server.allowedOrigins)`), this.onInternal);
  }

  /**
   * Wraps a handler so a synchronous throw becomes an error reply, never a crash of
   * the process (uWS aborts when a handler returns without answering or onAborted).
   */
  private guard(handler: Handler, isPublic: boolean, route: string) {
    const observer = this.requests;
    const logger = this.logger;
    return (res: uWS.HttpResponse, req: HttpRequest) => {
      const reply = new Reply(res).watchAbort();
      reply.requestId = this.requestIds.of(req.getHeader('x-request-id'));
      reply.bodyDeadlines = this.bodyDeadlines;
      const accessLog = logger.isLevelEnabled('debug');
      if (observer !== undefined || accessLog) {
        const started = performance.now();
        const method = req.getMethod();
        reply.onSent = (status) => {
          const seconds = (performance.now() - started) / 1000;
          observer?.request('http', route, String(status), seconds);
          if (accessLog) logger.debug({ reqId: reply.requestId, method, route, status, ms: Math.round(seconds * 1e6) / 1000 }, 'request');
        };
      }
      if (this.tracer.enabled && !OWN_SPAN_ROUTES.has(route)) this.serverSpan(reply, req, route);
      try {
        const origin = req.getHeader('origin');
        const rebound = this.origins.rebound(req.getHeader('host'), origin, req.getHeader('sec-fetch-site'));
        if (rebound !== undefined) throw new EngramError('FORBIDDEN', rebound);
        if (origin !== '' && !this.ownOrigins.has(route)) {
          const verdict = this.origins.judge(origin, req.getHeader('host'));
          if (verdict === 'allowed') reply.extraHeaders = this.origins.corsHeaders(origin);
          // Reads from a foreign page are answered without CORS headers (its script cannot see them); changes are refused.
          else if (verdict === 'refused' && req.getMethod() !== 'get' && req.getMethod() !== 'head') {
            throw new EngramError('FORBIDDEN', `origin ${JSON.stringify(origin.slice(0, 200))} may not change anything here (server.allowedOrigins)`);
          }
        }
        // A preflight never carries credentials (browsers strip them), and answers only what is allowed.
        const principal = isPublic || req.getMethod() === 'options' ? ANONYMOUS : this.auth.authenticate(credentialsOf(req));
        if (reply.inSpan === undefined) handler(reply, req, principal);
        else reply.inSpan(() => handler(reply, req, principal));
      } catch (err) {
        // A body may still be unread; closing keeps its bytes from being parsed as a new request.
        reply.error(err, this.onInternal, hasBody(req));
      }
    };
  }

  /**
   * A request's server span (HTTP semantic conventions), a child of its `traceparent` header, or of
   * nothing: the spans the request causes (search, memory, lock waits) are its children, also
   * after a body arrives (Reply.inSpan: uWS's callbacks do not carry the async context). Ended
   * when the answer is sent; a request whose client went away first is never exported.
   */
  private serverSpan(reply: Reply, req: HttpRequest, route: string): void {
    const method = req.getMethod().toUpperCase();
    const header = req.getHeader('traceparent');
    const span = this.tracer.start(`${method} ${route}`, {
      kind: 'server',
      parent: isTraceparent(header) ? header : null,
      attributes: { 'http.request.method': method, 'http.route': route, 'url.scheme': this.tls === undefined ? 'http' : 'https' },
    });
    const sent = reply.onSent;
    reply.onSent = (status) => {
      sent?.(status);
      span.set({ 'http.response.status_code': status });
      span.end(status >= 500 ? new Error(String(status)) : undefined);
    };
    reply.inSpan = (fn) => this.tracer.within(span, fn);
  }

  /** Starts listening; resolves with the bound address (port 0 is replaced by the real port). */
  async listen(host: string, port: number): Promise<{ host: string; port: number }> {
    const material = this.tls?.clientCaFile === undefined ? undefined : readTls(this.tls);
    if (material?.ca === undefined) return this.listenTcp(host, port);
    // Mutual TLS: node:tls in front of the app (tls-front.ts says why).
    const front = await listenWithMutualTls(this.app, { ...material, ca: material.ca }, host, port, (err) =>
      this.logger.debug({ err: err.message }, 'refused a TLS handshake (mutual TLS)'),
    );
    this.stopFront = front.close;
    return { host, port: front.port };
  }

  private listenTcp(host: string, port: number): Promise<{ host: string; port: number }> {
    // uWS listens with SO_REUSEPORT by default, so a second server on a taken port would
    // silently share it; the exclusive flag makes that a start-up error instead.
    const listen = this.app.listen as unknown as (host: string, port: number, options: number, cb: (socket: us_listen_socket | false) => void) => TemplatedApp;
    return new Promise((resolve, reject) => {
      listen.call(this.app, host, port, EXCLUSIVE_PORT, (socket) => {
        if (!socket) {
          reject(new Error(`cannot listen on ${host}:${port} (address in use or not available)`));
          return;
        }
        this.listenSocket = socket;
        resolve({ host, port: uWS.us_socket_local_port(socket) });
      });
    });
  }

  /** Stops accepting connections. */
  stopListening(): void {
    this.stopFront?.();
    this.stopFront = undefined;
    if (this.listenSocket !== undefined) {
      uWS.us_listen_socket_close(this.listenSocket);
      this.listenSocket = undefined;
    }
  }
}

/**
 * The uWS app: TLS in uWS itself (SSLApp) when there is no client CA; plain when there is none
 * at all, or when the mutual-TLS front ends TLS before the app (tls-front.ts says why).
 */
function createApp(tls: ServerTls | undefined): TemplatedApp {
  if (tls === undefined || tls.clientCaFile !== undefined) return uWS.App();
  try {
    return uWS.SSLApp({ cert_file_name: tls.certFile, key_file_name: tls.keyFile });
  } catch {
    // uWS says only "App construction failed"; the config check (config/tls.ts) catches the usual causes first.
    throw new Error(
      `TLS could not be set up from server.tls.certFile ${tls.certFile} and server.tls.keyFile ${tls.keyFile} (PEM files, the key unencrypted and the certificate's)`,
    );
  }
}

/**
 * Request ids: the caller's X-Request-ID when it is a sane token (so a trace spans services),
 * else a per-process prefix and a counter, which costs nothing per request.
 */
class RequestIds {
  private readonly prefix = randomBytes(4).toString('hex');
  private next = 0;

  of(header: string): string {
    if (header !== '' && header.length <= 128 && /^[A-Za-z0-9._:-]+$/.test(header)) return header;
    return `${this.prefix}-${(this.next++).toString(36)}`;
  }
}

/** A handler as the app serves it: `isPublic` ones run without credentials. */
interface Mounted {
  method: keyof Endpoints;
  handler: Handler;
  isPublic: boolean;
}

/** The principal of public routes (health checks): no client, no scope. */
const ANONYMOUS: Principal = { clientId: '', scopes: new Set(), contexts: undefined };

function hasBody(req: HttpRequest): boolean {
  return req.getHeader('content-length') !== '' || req.getHeader('transfer-encoding') !== '';
}
