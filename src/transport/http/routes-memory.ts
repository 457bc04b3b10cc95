/** Shared agent memory over HTTP: the memory tool's commands and views of a space (docs/memory.md). */
import type { Gate } from '../../core/gate.js';
import { MemoryService } from '../../core/memory.js';
import { bodyHeaders, pathParam, Query, readJsonBody, Reply } from './io.js';
import type { RouteTable } from './server.js';

export function registerMemoryRoutes(t: RouteTable, deps: { gate: Gate; maxBodyBytes: number }): void {
  const memory = new MemoryService(deps.gate);
  const reject = (reply: Reply) => (err: unknown) => reply.error(err, t.onInternal);

  t.route('/memory/:space/command', {
    post: (reply, req, principal) => {
      const space = pathParam(req, 0, 'space');
      const agentId = new Query(req.getQuery()).string('agentId') ?? (req.getHeader('x-agent-id') || 'memory');
      readJsonBody(reply, bodyHeaders(req), deps.maxBodyBytes, (body) => {
        // A tool error (a missing file, a non-unique old_str) is a result for the model, not an HTTP error.
        memory.command(principal, space, body, agentId).then((r) => reply.json(200, JSON.stringify({ result: r.result, isError: r.isError })), reject(reply));
      });
    },
  });
  t.route('/memory/:space/tree', {
    get: (reply, req, principal) => {
      memory.tree(principal, pathParam(req, 0, 'space')).then((files) => reply.json(200, JSON.stringify({ files })), reject(reply));
    },
  });
  t.route('/memory/:space/file', {
    get: (reply, req, principal) => {
      const path = new Query(req.getQuery()).string('path');
      memory.file(principal, pathParam(req, 0, 'space'), path).then((f) => reply.json(200, JSON.stringify(f)), reject(reply));
    },
  });
  t.route('/memory/:space/history', {
    get: (reply, req, principal) => {
      const path = new Query(req.getQuery()).string('path') ?? '/memories';
      memory.history(principal, pathParam(req, 0, 'space'), path).then((changes) => reply.json(200, JSON.stringify({ changes })), reject(reply));
    },
  });
}
