/** Shared agent memory over HTTP: memory-tool commands and views, facts, the knowledge graph (docs/memory.md). */
import type { AgentMemory } from '../../memory/agent-memory.js';
import type { HttpRequest } from 'uWebSockets.js';
import { bodyHeaders, pathParam, Query, readJsonBody, Reply } from './io.js';
import type { RouteTable } from './route-table.js';

export function registerMemoryRoutes(t: RouteTable, deps: { memory: AgentMemory; maxBodyBytes: number }): void {
  const { files, facts, graph } = deps.memory;
  const reject = (reply: Reply) => (err: unknown) => reply.error(err, t.onInternal);
  const ok = (reply: Reply) => (v: unknown) => reply.json(200, JSON.stringify(v));
  const agentOf = (req: HttpRequest) => new Query(req.getQuery()).string('agentId') ?? (req.getHeader('x-agent-id') || 'memory');
  const asObject = (body: unknown): Record<string, unknown> => (typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>) : {});

  t.route('/memory/:space/command', {
    post: (reply, req, principal) => {
      const space = pathParam(req, 0, 'space');
      const agentId = agentOf(req);
      readJsonBody(reply, bodyHeaders(req), deps.maxBodyBytes, (body) => {
        // A tool error (a missing file, a non-unique old_str) is a result for the model, not an HTTP error.
        files.command(principal, space, body, agentId).then((r) => reply.json(200, JSON.stringify({ result: r.result, isError: r.isError })), reject(reply));
      });
    },
  });
  t.route('/memory/:space/tree', {
    get: (reply, req, principal) => {
      files.tree(principal, pathParam(req, 0, 'space')).then((list) => reply.json(200, JSON.stringify({ files: list })), reject(reply));
    },
  });
  t.route('/memory/:space/file', {
    get: (reply, req, principal) => {
      const path = new Query(req.getQuery()).string('path');
      files.file(principal, pathParam(req, 0, 'space'), path).then(ok(reply), reject(reply));
    },
  });
  t.route('/memory/:space/history', {
    get: (reply, req, principal) => {
      const path = new Query(req.getQuery()).string('path') ?? '/memories';
      files.history(principal, pathParam(req, 0, 'space'), path).then((changes) => reply.json(200, JSON.stringify({ changes })), reject(reply));
    },
  });

  t.route('/facts/:space', {
    get: (reply, req, principal) => {
      const all = new Query(req.getQuery()).bool('includeDeleted') ?? false;
      facts.list(principal, pathParam(req, 0, 'space'), all).then((list) => reply.json(200, JSON.stringify({ facts: list })), reject(reply));
    },
    post: (reply, req, principal) => {
      const space = pathParam(req, 0, 'space');
      const agentId = agentOf(req);
      readJsonBody(reply, bodyHeaders(req), deps.maxBodyBytes, (body) => {
        const b = asObject(body);
        facts.remember(principal, space, { key: b.key, value: b.value }, agentId).then(ok(reply), reject(reply));
      });
    },
  });
  t.route('/facts/:space/forget', {
    post: (reply, req, principal) => {
      const space = pathParam(req, 0, 'space');
      const agentId = agentOf(req);
      readJsonBody(reply, bodyHeaders(req), deps.maxBodyBytes, (body) => {
        facts.forget(principal, space, asObject(body).key, agentId).then(ok(reply), reject(reply));
      });
    },
  });
  t.route('/facts/:space/fact', {
    get: (reply, req, principal) => {
      const key = new Query(req.getQuery()).string('key');
      facts.get(principal, pathParam(req, 0, 'space'), key).then(ok(reply), reject(reply));
    },
  });
  t.route('/facts/:space/recall', {
    post: (reply, req, principal) => {
      const space = pathParam(req, 0, 'space');
      readJsonBody(reply, bodyHeaders(req), deps.maxBodyBytes, (body) => {
        const b = asObject(body);
        facts.recall(principal, space, b.query, b.limit === undefined ? 10 : (b.limit as number)).then((list) => reply.json(200, JSON.stringify({ facts: list })), reject(reply));
      });
    },
  });

  t.route('/graph/:space', {
    get: (reply, req, principal) => {
      graph.run(principal, pathParam(req, 0, 'space'), 'read_graph', {}).then((a) => reply.json(200, JSON.stringify(a.result)), reject(reply));
    },
  });
  t.route('/graph/:space/:tool', {
    post: (reply, req, principal) => {
      const space = pathParam(req, 0, 'space');
      const tool = pathParam(req, 1, 'tool');
      const agentId = agentOf(req);
      readJsonBody(reply, bodyHeaders(req), deps.maxBodyBytes, (body) => {
        graph.run(principal, space, tool, body, agentId).then((a) => reply.json(200, JSON.stringify({ result: a.result })), reject(reply));
      });
    },
  });
}
