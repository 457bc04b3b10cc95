/** Shared agent memory over HTTP: memory-tool commands and views, facts, memory from conversation turns, the knowledge graph (docs/memory.md). */
import type { AgentMemory } from '../../memory/agent-memory.js';
import type { HttpRequest } from 'uWebSockets.js';
import { bodyHeaders, pathParam, Query, readJsonBody, Reply } from './io.js';
import { BOOL, param, STR } from './operation.js';
import type { RouteTable } from './route-table.js';

const CHANGED_BY = param('agentId', STR, 'Who makes the change (default: memory; or the X-Agent-ID header).');

export function registerMemoryRoutes(t: RouteTable, deps: { memory: AgentMemory; maxBodyBytes: number }): void {
  const { files, facts, turns, graph } = deps.memory;
  const reject = (reply: Reply) => (err: unknown) => reply.error(err, t.onInternal);
  const ok = (reply: Reply) => (v: unknown) => reply.json(200, JSON.stringify(v));
  const agentOf = (req: HttpRequest) => new Query(req.getQuery()).string('agentId') ?? (req.getHeader('x-agent-id') || 'memory');
  const asObject = (body: unknown): Record<string, unknown> => (typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>) : {});

  t.route('/memory/:space/command', {
    post: {
      operation: {
        summary: "Run one command of Anthropic's memory tool on a memory space; tool errors come back as results (isError).",
        tag: 'memory',
        scope: 'write',
        body: 'MemoryCommand',
        query: [CHANGED_BY],
        ok: { 200: 'MemoryResult' },
        errors: ['INVALID_ID', 'MALFORMED_JSON', 'UNSUPPORTED_MEDIA_TYPE', 'QUOTA_EXCEEDED'],
      },
      handler: (reply, req, principal) => {
        const space = pathParam(req, 0, 'space');
        const agentId = agentOf(req);
        readJsonBody(reply, bodyHeaders(req), deps.maxBodyBytes, (body) => {
          // A tool error (a missing file, a non-unique old_str) is a result for the model, not an HTTP error.
          files.command(principal, space, body, agentId).then((r) => reply.json(200, JSON.stringify({ result: r.result, isError: r.isError })), reject(reply));
        });
      },
    },
  });
  t.route('/memory/:space/process-turn', {
    post: {
      operation: {
        summary:
          'Hand over a conversation turn: the statements worth keeping are extracted (by memory.model, or the offline rules) and each decided against the known facts: ADD, UPDATE, DELETE or NOOP, with the fact it replaces and a reason. Changes are fact units (history, streams, replay).',
        tag: 'memory',
        scope: 'write',
        body: 'ConversationTurn',
        query: [CHANGED_BY],
        ok: { 200: 'Document' },
        errors: [
          'INVALID_ID',
          'INVALID_FIELD',
          'MISSING_FIELD',
          'UNKNOWN_FIELD',
          'MALFORMED_JSON',
          'UNSUPPORTED_MEDIA_TYPE',
          'QUOTA_EXCEEDED',
          'MODEL_UNAVAILABLE',
          'MODEL_OUTPUT_INVALID',
        ],
      },
      handler: (reply, req, principal) => {
        const space = pathParam(req, 0, 'space');
        const agentId = agentOf(req);
        readJsonBody(reply, bodyHeaders(req), deps.maxBodyBytes, (body) => {
          turns.processTurn(principal, space, body, agentId).then(ok(reply), reject(reply));
        });
      },
    },
  });
  t.route('/memory/:space/query', {
    post: {
      operation: {
        summary:
          'The live facts relevant to a question, best first, ranked by the hybrid search over the facts (a match on an earlier version finds the fact as it reads now); with their history on request.',
        tag: 'memory',
        scope: 'read',
        body: 'MemoryQuery',
        ok: { 200: 'Document' },
        errors: ['INVALID_ID', 'INVALID_FIELD', 'MISSING_FIELD', 'UNKNOWN_FIELD', 'MALFORMED_JSON', 'UNSUPPORTED_MEDIA_TYPE', 'NOT_READY'],
      },
      handler: (reply, req, principal) => {
        const space = pathParam(req, 0, 'space');
        readJsonBody(reply, bodyHeaders(req), deps.maxBodyBytes, (body) => {
          turns.query(principal, space, body).then(ok(reply), reject(reply));
        });
      },
    },
  });
  t.route('/memory/:space/tree', {
    get: {
      operation: { summary: 'Every file of a memory space with its size.', tag: 'memory', scope: 'read', ok: { 200: 'MemoryTree' }, errors: ['INVALID_ID'] },
      handler: (reply, req, principal) => {
        files.tree(principal, pathParam(req, 0, 'space')).then((list) => reply.json(200, JSON.stringify({ files: list })), reject(reply));
      },
    },
  });
  t.route('/memory/:space/file', {
    get: {
      operation: {
        summary: "A memory file's text.",
        tag: 'memory',
        scope: 'read',
        query: [param('path', STR, 'A path under /memories.')],
        ok: { 200: 'MemoryFile' },
        errors: ['INVALID_QUERY', 'NOT_FOUND'],
      },
      handler: (reply, req, principal) => {
        const path = new Query(req.getQuery()).string('path');
        files.file(principal, pathParam(req, 0, 'space'), path).then(ok(reply), reject(reply));
      },
    },
  });
  t.route('/memory/:space/history', {
    get: {
      operation: {
        summary: 'The changes to a path (or under it), oldest first: who, when, what.',
        tag: 'memory',
        scope: 'read',
        query: [param('path', STR, 'A path under /memories (default: all).')],
        ok: { 200: 'MemoryHistory' },
        errors: ['INVALID_QUERY'],
      },
      handler: (reply, req, principal) => {
        const path = new Query(req.getQuery()).string('path') ?? '/memories';
        files.history(principal, pathParam(req, 0, 'space'), path).then((changes) => reply.json(200, JSON.stringify({ changes })), reject(reply));
      },
    },
  });

  t.route('/facts/:space', {
    get: {
      operation: {
        summary: 'The facts of a memory space, first added first.',
        tag: 'memory',
        scope: 'read',
        query: [param('includeDeleted', BOOL, 'Also list deleted facts.')],
        ok: { 200: 'Document' },
        errors: ['INVALID_ID', 'INVALID_QUERY'],
      },
      handler: (reply, req, principal) => {
        const all = new Query(req.getQuery()).bool('includeDeleted') ?? false;
        facts.list(principal, pathParam(req, 0, 'space'), all).then((list) => reply.json(200, JSON.stringify({ facts: list })), reject(reply));
      },
    },
    post: {
      operation: {
        summary: 'Remember a fact: ADD, UPDATE (a new value for a known key; REPLACES the old unit) or NOOP (already known), with the reason.',
        tag: 'memory',
        scope: 'write',
        body: 'FactInput',
        query: [CHANGED_BY],
        ok: { 200: 'Document' },
        errors: ['INVALID_ID', 'INVALID_FIELD', 'MALFORMED_JSON', 'UNSUPPORTED_MEDIA_TYPE', 'QUOTA_EXCEEDED'],
      },
      handler: (reply, req, principal) => {
        const space = pathParam(req, 0, 'space');
        const agentId = agentOf(req);
        readJsonBody(reply, bodyHeaders(req), deps.maxBodyBytes, (body) => {
          const b = asObject(body);
          facts.remember(principal, space, { key: b.key, value: b.value }, agentId).then(ok(reply), reject(reply));
        });
      },
    },
  });
  t.route('/facts/:space/forget', {
    post: {
      operation: {
        summary: 'Mark a fact deleted (DELETE; its history stays), or NOOP when no live fact has the key.',
        tag: 'memory',
        scope: 'write',
        body: 'FactKey',
        query: [CHANGED_BY],
        ok: { 200: 'Document' },
        errors: ['INVALID_ID', 'INVALID_FIELD', 'MALFORMED_JSON', 'UNSUPPORTED_MEDIA_TYPE'],
      },
      handler: (reply, req, principal) => {
        const space = pathParam(req, 0, 'space');
        const agentId = agentOf(req);
        readJsonBody(reply, bodyHeaders(req), deps.maxBodyBytes, (body) => {
          facts.forget(principal, space, asObject(body).key, agentId).then(ok(reply), reject(reply));
        });
      },
    },
  });
  t.route('/facts/:space/fact', {
    get: {
      operation: {
        summary: 'One fact with every version, oldest first.',
        tag: 'memory',
        scope: 'read',
        query: [param('key', STR, 'The fact key.')],
        ok: { 200: 'Document' },
        errors: ['INVALID_FIELD', 'NOT_FOUND'],
      },
      handler: (reply, req, principal) => {
        const key = new Query(req.getQuery()).string('key');
        facts.get(principal, pathParam(req, 0, 'space'), key).then(ok(reply), reject(reply));
      },
    },
  });
  t.route('/facts/:space/recall', {
    post: {
      operation: {
        summary: 'Live facts most like a query, best first (by embedder similarity, or shared words without one).',
        tag: 'memory',
        scope: 'read',
        body: 'FactRecall',
        ok: { 200: 'Document' },
        errors: ['INVALID_FIELD', 'MALFORMED_JSON', 'UNSUPPORTED_MEDIA_TYPE'],
      },
      handler: (reply, req, principal) => {
        const space = pathParam(req, 0, 'space');
        readJsonBody(reply, bodyHeaders(req), deps.maxBodyBytes, (body) => {
          const b = asObject(body);
          facts.recall(principal, space, b.query, b.limit === undefined ? 10 : (b.limit as number)).then((list) => reply.json(200, JSON.stringify({ facts: list })), reject(reply));
        });
      },
    },
  });

  t.route('/graph/:space', {
    get: {
      operation: { summary: 'The whole knowledge graph of a memory space (read_graph).', tag: 'memory', scope: 'read', ok: { 200: 'KnowledgeGraph' }, errors: ['INVALID_ID'] },
      handler: (reply, req, principal) => {
        graph.run(principal, pathParam(req, 0, 'space'), 'read_graph', {}).then((a) => reply.json(200, JSON.stringify(a.result)), reject(reply));
      },
    },
  });
  t.route('/graph/:space/:tool', {
    post: {
      operation: {
        summary:
          'Run one knowledge-graph tool (create_entities, create_relations, add_observations, delete_entities, delete_observations, delete_relations, read_graph, search_nodes, open_nodes); answers {result}.',
        tag: 'memory',
        scope: 'write',
        body: 'GraphArguments',
        query: [CHANGED_BY],
        ok: { 200: 'Document' },
        errors: ['INVALID_ID', 'INVALID_FIELD', 'NOT_FOUND', 'MALFORMED_JSON', 'UNSUPPORTED_MEDIA_TYPE'],
      },
      handler: (reply, req, principal) => {
        const space = pathParam(req, 0, 'space');
        const tool = pathParam(req, 1, 'tool');
        const agentId = agentOf(req);
        readJsonBody(reply, bodyHeaders(req), deps.maxBodyBytes, (body) => {
          graph.run(principal, space, tool, body, agentId).then((a) => reply.json(200, JSON.stringify({ result: a.result })), reject(reply));
        });
      },
    },
  });
}
