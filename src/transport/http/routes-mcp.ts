/**
 * MCP over Streamable HTTP at /mcp: the tools of `engram mcp` (src/mcp/tools.ts), run inside the
 * server as the request's principal. Stateless: each POST carries one JSON-RPC message or batch
 * and gets its answer as JSON, so any node can answer any request and there is no session to
 * lose; GET (a server-initiated event stream) is not offered (405), as the transport allows.
 * Browsers may call it only from loopback origins or those in mcp.allowedOrigins: a web page
 * elsewhere must not reach a local agent's memory (DNS rebinding).
 */
import type { AgentMemory } from '../../memory/agent-memory.js';
import type { WindowService } from '../../agents/window.js';
import type { ApprovalService } from '../../agents/approvals.js';
import { EngramError } from '../../basics/errors.js';
import type { Gate } from '../../gate/gate.js';
import { LocalAgentApi } from '../../mcp/agent-api.js';
import { bodyHeaders, Query, readJsonBody, type Headers } from './io.js';
import { param, STR } from './operation.js';
import { isLoopbackName } from './origins.js';
import type { Handler, RouteTable } from './route-table.js';

export interface McpHttpOptions {
  allowedOrigins: string[];
}

/** True for no Origin header (not a browser), a loopback origin, or one listed. */
export function originAllowed(origin: string, allowed: readonly string[]): boolean {
  if (origin === '') return true;
  if (allowed.includes(origin)) return true;
  try {
    const u = new URL(origin);
    return (u.protocol === 'http:' || u.protocol === 'https:') && isLoopbackName(u.hostname);
  } catch {
    return false;
  }
}

/** CORS headers for a browser page of an allowed origin (none for same-origin or non-browser calls). */
function cors(origin: string, host: string): Headers {
  if (origin === '') return [];
  try {
    if (new URL(origin).host === host) return [];
  } catch {
    return [];
  }
  return [
    ['Access-Control-Allow-Origin', origin],
    ['Vary', 'Origin'],
    ['Access-Control-Expose-Headers', 'mcp-session-id, mcp-protocol-version, x-request-id'],
  ];
}

/**
 * The MCP SDK and the tools, loaded on the first call: they are a fifth of a second of CPU at
 * every server start (and every test server's) for a route many deployments never call.
 */
let sdk: Promise<[typeof import('@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js'), typeof import('../../mcp/tools.js')]> | undefined;
const loadSdk = () => (sdk ??= Promise.all([import('@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js'), import('../../mcp/tools.js')]));

export function registerMcpRoutes(
  t: RouteTable,
  deps: { gate: Gate; memory: AgentMemory; window: WindowService; approvals: ApprovalService; maxBodyBytes: number; version: string; mcp: McpHttpOptions },
): void {
  const refuse = (origin: string) => new EngramError('FORBIDDEN', `origin ${JSON.stringify(origin.slice(0, 200))} may not call /mcp (allow it with mcp.allowedOrigins)`);
  const preflight: Handler = (reply, req) => {
    const origin = req.getHeader('origin');
    if (!originAllowed(origin, deps.mcp.allowedOrigins)) throw refuse(origin);
    reply.send(204, 'text/plain', '', [
      ...cors(origin, req.getHeader('host')),
      ['Access-Control-Allow-Methods', 'POST'],
      ['Access-Control-Allow-Headers', 'authorization, content-type, accept, mcp-protocol-version, mcp-session-id, last-event-id, x-api-key, x-client-id, x-agent-id'],
      ['Access-Control-Max-Age', '600'],
    ]);
  };
  const post: Handler = (reply, req, principal) => {
    const origin = req.getHeader('origin');
    if (!originAllowed(origin, deps.mcp.allowedOrigins)) throw refuse(origin);
    reply.extraHeaders = cors(origin, req.getHeader('host'));
    const q = new Query(req.getQuery());
    const space = q.string('space') ?? 'default';
    const agentId = q.string('agentId') ?? (req.getHeader('x-agent-id') || 'mcp');
    const headers = new globalThis.Headers();
    for (const name of ['accept', 'content-type', 'mcp-protocol-version', 'mcp-session-id', 'last-event-id']) {
      const v = req.getHeader(name);
      if (v !== '') headers.set(name, v);
    }
    readJsonBody(reply, bodyHeaders(req), deps.maxBodyBytes, (body) => {
      let close = () => Promise.resolve();
      loadSdk()
        .then(([{ WebStandardStreamableHTTPServerTransport }, { createMcpServer }]) => {
          const server = createMcpServer(new LocalAgentApi(deps.gate, deps.memory, principal, deps.window, deps.approvals), { space, agentId, version: deps.version });
          close = () => server.close();
          const transport = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
          const request = new Request('http://engram/mcp', { method: 'POST', headers, body: JSON.stringify(body) });
          return server.connect(transport).then(() => transport.handleRequest(request, { parsedBody: body }));
        })
        .then(async (res) => {
          const out: Array<[string, string]> = [];
          res.headers.forEach((v, k) => {
            if (k !== 'content-type' && k !== 'content-length') out.push([k, v]);
          });
          const text = await res.text();
          reply.send(res.status, res.headers.get('content-type') ?? 'application/json', text, out as Headers);
        })
        .catch((err: unknown) => reply.error(err, t.onInternal))
        .finally(() => void close().catch(() => undefined));
    });
  };

  t.route(
    '/mcp',
    {
      // Browsers preflight every call (the body is JSON): answered by /mcp's own origin rule.
      options: preflight,
      post: {
        operation: {
          summary: 'MCP over Streamable HTTP (stateless, JSON answers): the tools of `engram mcp`. Loopback origins and mcp.allowedOrigins only.',
          tag: 'memory',
          scope: 'any',
          query: [param('space', STR, 'The memory space of the memory, facts and graph tools (default: default).'), param('agentId', STR, 'Who changes come from (default: mcp).')],
          ok: { 200: 'Document', 202: { contentType: 'text/plain', description: 'A notification or response was accepted.' } },
          errors: ['FORBIDDEN', 'MALFORMED_JSON', 'UNSUPPORTED_MEDIA_TYPE'],
        },
        handler: post,
      },
    },
    { ownOrigins: true },
  );
}
