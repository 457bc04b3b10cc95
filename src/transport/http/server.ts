/**
 * The HTTP API on uWebSockets.js. A handler here only parses the request, calls
 * the Engine and writes the answer; all rules live in core/.
 */
import uWS, { type HttpRequest, type TemplatedApp, type us_listen_socket } from 'uWebSockets.js';
import type { Logger } from 'pino';
import type { Engine } from '../../core/engine.js';
import { EngramError } from '../../core/errors.js';
import type { Router } from '../../core/router.js';
import { bodyHeaders, pathParam, Query, readJsonBody, Reply, type Headers } from './io.js';
import { StreamHub, type StreamOptions } from './stream-hub.js';
import { registerSse } from './stream-sse.js';
import { registerWebSocket } from './stream-ws.js';

export interface HttpServerOptions {
  engine: Engine;
  logger: Logger;
  /** Largest accepted request body, in bytes. */
  maxBodyBytes: number;
  /** The client every request belongs to (one client until multi-client support lands). */
  clientId: string;
  router: Router;
  stream: StreamOptions;
}

type Handler = (reply: Reply, req: HttpRequest) => void;

/** The native module exports this listen flag; its typings only declare it as an enum member. */
const EXCLUSIVE_PORT = (uWS as unknown as { LIBUS_LISTEN_EXCLUSIVE_PORT: number }).LIBUS_LISTEN_EXCLUSIVE_PORT;
type Method = 'get' | 'post' | 'patch';

/** True when the native uWS binary loaded; its pure-JS fallback drops corked bodies and published frames. */
export function uwsIsNative(): boolean {
  return typeof (uWS as unknown as Record<string, unknown>).H3App === 'function';
}

export class HttpServer {
  private readonly app: TemplatedApp;
  private listenSocket: us_listen_socket | undefined;
  private readonly onInternal: (err: unknown) => void;
  private readonly hub: StreamHub;

  constructor(private readonly options: HttpServerOptions) {
    if (!uwsIsNative()) {
      throw new Error('uWebSockets.js loaded its JavaScript fallback instead of the native binary; refusing to start');
    }
    this.onInternal = (err) => options.logger.error({ err }, 'internal error while handling a request');
    this.app = uWS.App();
    this.hub = new StreamHub(options.router, options.stream, (conn, fullForMs) =>
      options.logger.warn({ kind: conn.kind, fullForMs }, 'closed a slow stream consumer'),
    );
    const stream = { engine: options.engine, hub: this.hub, clientId: options.clientId, onInternal: this.onInternal };
    registerWebSocket(this.app, { ...stream, maxMessageBytes: options.maxBodyBytes + 4096 });
    registerSse(this.app, stream);
    this.routes();
  }

  private routes(): void {
    const { engine, clientId, maxBodyBytes } = this.options;
    const onInternal = this.onInternal;
    const reject = (reply: Reply) => (err: unknown) => reply.error(err, onInternal);

    this.route('/healthz', { get: (reply) => reply.json(200, '{"status":"ok"}') });
    this.route('/readyz', {
      get: (reply) => {
        if (engine.ready) reply.json(200, '{"status":"ready"}');
        else reply.error(new EngramError('NOT_READY', 'storage is not open'), onInternal);
      },
    });

    this.route('/workunit', {
      post: (reply, req) => {
        const head = bodyHeaders(req);
        const idempotencyKey = req.getHeader('idempotency-key');
        readJsonBody(reply, head, maxBodyBytes, (body) => {
          engine.append(clientId, body, idempotencyKey === '' ? undefined : idempotencyKey).then((r) => {
            const headers: Headers = r.replayed
              ? [['Location', `/workunit/${r.id}`], ['Idempotent-Replayed', 'true']]
              : [['Location', `/workunit/${r.id}`]];
            reply.json(201, r.json, headers);
          }, reject(reply));
        });
      },
    });
    this.route('/workunit/:id', {
      get: (reply, req) => {
        engine.getUnit(clientId, pathParam(req, 0, 'id')).then((json) => reply.json(200, json), reject(reply));
      },
    });
    this.route('/workunits/:contextId', {
      get: (reply, req) => {
        const contextId = pathParam(req, 0, 'contextId');
        const q = new Query(req.getQuery());
        const query = { limit: q.int('limit'), after: q.int('after'), before: q.int('before'), reverse: q.bool('reverse') };
        engine.listUnits(clientId, contextId, query).then(
          (page) => reply.json(200, `{"workUnits":[${page.units.join(',')}],"nextCursor":${page.nextCursor ?? 'null'}}`),
          reject(reply),
        );
      },
    });
    this.route('/contexts', {
      get: (reply, req) => {
        const q = new Query(req.getQuery());
        engine
          .listContexts(clientId, { limit: q.int('limit'), after: q.string('after'), prefix: q.string('prefix') })
          .then((page) => reply.json(200, JSON.stringify(page)), reject(reply));
      },
    });
    this.route('/contexts/:id', {
      get: (reply, req) => {
        engine.getContext(clientId, pathParam(req, 0, 'contextId')).then(
          (ctx) => reply.json(200, JSON.stringify(ctx), [['ETag', `"${ctx.version}"`]]),
          reject(reply),
        );
      },
      patch: (reply, req) => {
        const contextId = pathParam(req, 0, 'contextId');
        const ifMatch = parseIfMatch(req.getHeader('if-match'));
        readJsonBody(reply, bodyHeaders(req), maxBodyBytes, (body) => {
          engine.patchContext(clientId, contextId, body, ifMatch).then(
            (ctx) => reply.json(200, JSON.stringify(ctx), [['ETag', `"${ctx.version}"`]]),
            reject(reply),
          );
        });
      },
    });
    // An empty id segment ("/workunit/") is a bad id, not an unknown route.
    for (const path of ['/workunit/', '/workunits/', '/contexts/']) {
      this.route(path, { get: () => { throw new EngramError('INVALID_ID', 'the id in the path is empty'); } });
    }
    this.app.any('/*', this.guard(() => {
      throw new EngramError('NOT_FOUND', 'no such route; see docs/api.md');
    }));
  }

  /** Registers the handlers of one path, and 405 with an Allow header for its other methods. */
  private route(pattern: string, handlers: Partial<Record<Method, Handler>>): void {
    const allow = Object.keys(handlers).map((m) => m.toUpperCase()).join(', ');
    for (const [method, handler] of Object.entries(handlers) as Array<[Method, Handler]>) {
      this.app[method](pattern, this.guard(handler));
    }
    this.app.any(pattern, (res, req) => {
      new Reply(res).error(
        new EngramError('METHOD_NOT_ALLOWED', `${req.getMethod().toUpperCase()} is not allowed here; allowed: ${allow}`),
        this.onInternal,
        hasBody(req),
        [['Allow', allow]],
      );
    });
  }

  /**
   * Wraps a handler so a synchronous throw becomes an error reply, never a crash of
   * the process (uWS aborts when a handler returns without answering or onAborted).
   */
  private guard(handler: Handler) {
    return (res: uWS.HttpResponse, req: HttpRequest) => {
      const reply = new Reply(res).watchAbort();
      try {
        handler(reply, req);
      } catch (err) {
        // A body may still be unread; closing keeps its bytes from being parsed as a new request.
        reply.error(err, this.onInternal, hasBody(req));
      }
    };
  }

  /** Starts listening; resolves with the bound address (port 0 is replaced by the real port). */
  listen(host: string, port: number): Promise<{ host: string; port: number }> {
    // uWS listens with SO_REUSEPORT by default, so a second server on a taken port would
    // silently share it; the exclusive flag makes that a start-up error instead.
    const listen = this.app.listen as unknown as (
      host: string,
      port: number,
      options: number,
      cb: (socket: us_listen_socket | false) => void,
    ) => TemplatedApp;
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

  /** Tells every streaming client to reconnect (close code 4000 on WebSockets). */
  closeStreams(): void {
    this.hub.closeAll();
  }

  /** Stops accepting connections. */
  stopListening(): void {
    if (this.listenSocket !== undefined) {
      uWS.us_listen_socket_close(this.listenSocket);
      this.listenSocket = undefined;
    }
  }
}

function hasBody(req: HttpRequest): boolean {
  return req.getHeader('content-length') !== '' || req.getHeader('transfer-encoding') !== '';
}

function parseIfMatch(header: string): number | '*' | undefined {
  if (header === '') return undefined;
  const v = header.trim();
  if (v === '*') return '*';
  const m = /^(?:W\/)?"?(\d{1,15})"?$/.exec(v);
  if (!m) throw new EngramError('INVALID_FIELD', `If-Match: must be a context version such as "3", got ${JSON.stringify(header)}`);
  return Number(m[1]);
}
