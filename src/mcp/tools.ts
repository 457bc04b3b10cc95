/**
 * The MCP tools of Engram, for both transports (stdio `engram mcp` and Streamable HTTP /mcp):
 * the memory tool's file commands, facts, the knowledge graph (the reference memory server's
 * nine tools and argument shapes), and work units (post, read recent, search, lock, unlock).
 * A failure is a tool result with isError and the error's stable code, never a protocol error,
 * so the model reads what went wrong.
 */
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { CallToolRequestSchema, ListToolsRequestSchema, type CallToolResult, type Tool } from '@modelcontextprotocol/sdk/types.js';
import { REQUEST_SCHEMAS } from '../basics/schemas.js';
import { GRAPH_TOOLS } from '../memory/graph.js';
import type { AgentApi } from './agent-api.js';

export interface McpOptions {
  /** The memory space the memory, facts and graph tools work on. */
  space: string;
  /** Who the changes are from, unless a tool call names an agent. */
  agentId: string;
  version: string;
}

type Schema = Record<string, unknown>;
const str = (description: string): Schema => ({ type: 'string', description });
const strings = (description: string): Schema => ({ type: 'array', items: { type: 'string' }, description });
const obj = (properties: Record<string, Schema>, required: string[] = []): Tool['inputSchema'] => ({ type: 'object', properties, required });
const entity = {
  type: 'object',
  properties: {
    name: str('The name of the entity'),
    entityType: str('The type of the entity'),
    observations: strings('An array of observation contents associated with the entity'),
  },
  required: ['name', 'entityType', 'observations'],
};
const relation = {
  type: 'object',
  properties: {
    from: str('The name of the entity where the relation starts'),
    to: str('The name of the entity where the relation ends'),
    relationType: str('The type of the relation'),
  },
  required: ['from', 'to', 'relationType'],
};

const GRAPH_TOOL_DEFS: Record<(typeof GRAPH_TOOLS)[number], { description: string; inputSchema: Tool['inputSchema'] }> = {
  create_entities: { description: 'Create multiple new entities in the knowledge graph', inputSchema: obj({ entities: { type: 'array', items: entity } }, ['entities']) },
  create_relations: {
    description: 'Create multiple new relations between entities in the knowledge graph. Relations should be in active voice',
    inputSchema: obj({ relations: { type: 'array', items: relation } }, ['relations']),
  },
  add_observations: {
    description: 'Add new observations to existing entities in the knowledge graph',
    inputSchema: obj(
      {
        observations: {
          type: 'array',
          items: {
            type: 'object',
            properties: { entityName: str('The name of the entity to add the observations to'), contents: strings('An array of observation contents to add') },
            required: ['entityName', 'contents'],
          },
        },
      },
      ['observations'],
    ),
  },
  delete_entities: {
    description: 'Delete multiple entities and their associated relations from the knowledge graph',
    inputSchema: obj({ entityNames: strings('An array of entity names to delete') }, ['entityNames']),
  },
  delete_observations: {
    description: 'Delete specific observations from entities in the knowledge graph',
    inputSchema: obj(
      {
        deletions: {
          type: 'array',
          items: {
            type: 'object',
            properties: { entityName: str('The name of the entity containing the observations'), observations: strings('An array of observations to delete') },
            required: ['entityName', 'observations'],
          },
        },
      },
      ['deletions'],
    ),
  },
  delete_relations: {
    description: 'Delete multiple relations from the knowledge graph',
    inputSchema: obj({ relations: { type: 'array', items: relation, description: 'An array of relations to delete' } }, ['relations']),
  },
  read_graph: { description: 'Read the entire knowledge graph', inputSchema: obj({}) },
  search_nodes: {
    description: 'Search for nodes in the knowledge graph based on a query',
    inputSchema: obj({ query: str('The search query to match against entity names, types, and observation content') }, ['query']),
  },
  open_nodes: { description: 'Open specific nodes in the knowledge graph by their names', inputSchema: obj({ names: strings('An array of entity names to retrieve') }, ['names']) },
};

const AGENT = str('Who this is from (default: the agent this MCP server was started for).');

const TOOLS: Tool[] = [
  {
    name: 'memory',
    description:
      'Persistent memory files shared by every agent using this Engram server, kept across conversations. ALWAYS view /memories before starting a task, and record progress and lessons as you go. ' +
      'Commands: view (a directory listing, or a file with line numbers; view_range [start, end]), create (path, file_text; fails if the file exists), str_replace (path, old_str that must occur exactly once, new_str), ' +
      'insert (path, insert_line 0..lines, insert_text), delete (path: a file or a directory), rename (old_path, new_path; never overwrites). Paths start with /memories.',
    inputSchema: REQUEST_SCHEMAS.MemoryCommand as unknown as Tool['inputSchema'],
  },
  {
    name: 'remember_fact',
    description:
      'Remember a short fact. Returns the decision with its reason: ADD (new), UPDATE (a new value for a known key; the old value stays in history) or NOOP (already known: same key and value, or a near-identical statement).',
    inputSchema: obj(
      {
        key: str('What the fact is about, like user.editor (optional: without one the value is compared with every known fact)'),
        value: str('The fact, as one short statement'),
        agentId: AGENT,
      },
      ['value'],
    ),
  },
  {
    name: 'forget_fact',
    description: 'Mark a fact deleted (DELETE); its history is kept. NOOP if no live fact has the key.',
    inputSchema: obj({ key: str('The key of the fact'), agentId: AGENT }, ['key']),
  },
  { name: 'list_facts', description: 'Every known fact, first added first.', inputSchema: obj({ includeDeleted: { type: 'boolean', description: 'Also list deleted facts.' } }) },
  {
    name: 'recall_facts',
    description: 'Known facts most related to a query, best first, with scores.',
    inputSchema: obj({ query: str('What to look for'), limit: { type: 'integer', minimum: 1, maximum: 100 } }, ['query']),
  },
  {
    name: 'process_turn',
    description:
      'Hand over the messages of a conversation turn after it ends: the facts worth keeping about the user are extracted and each is decided against what is known: ADD (new), UPDATE (replaces a known fact, kept in its history), DELETE (takes one back) or NOOP, each with a reason.',
    inputSchema: {
      ...(REQUEST_SCHEMAS.ConversationTurn as object),
      properties: { ...(REQUEST_SCHEMAS.ConversationTurn as { properties: object }).properties, agentId: AGENT },
    } as unknown as Tool['inputSchema'],
  },
  {
    name: 'query_memory',
    description: "The known facts relevant to a question, best first (hybrid keyword and meaning search), optionally with each fact's history.",
    inputSchema: REQUEST_SCHEMAS.MemoryQuery as unknown as Tool['inputSchema'],
  },
  ...GRAPH_TOOLS.map((name) => ({ name, ...GRAPH_TOOL_DEFS[name] })),
  {
    name: 'post_unit',
    description:
      'Append a work unit (a message, a task status, a tool result...) to a context; every agent subscribed to the context sees it at once. Returns the stored unit with its seq.',
    inputSchema: obj(
      {
        contextId: str('The context, like project/backlog'),
        text: str('The text of the unit (stored as {"text": ...}); or give payload'),
        payload: { description: 'Any JSON value, instead of text' },
        type: {
          enum: ['MESSAGE', 'REASONING', 'TOOL_CALL', 'TOOL_RESULT', 'FILE_CHANGE', 'TASK_STATUS', 'ERROR', 'SYSTEM', 'SUMMARY', 'APPROVAL_REQUEST', 'APPROVAL_DECISION'],
          description: 'Default MESSAGE',
        },
        meta: { type: 'object', additionalProperties: { type: 'string' } },
        agentId: AGENT,
      },
      ['contextId'],
    ),
  },
  {
    name: 'read_recent',
    description:
      'The most recent work units of a context, oldest first; with summaries: true, a summary (a SUMMARY unit, payload {text, covers: {from, to}}) stands in for the range it covers.',
    inputSchema: obj(
      {
        contextId: str('The context'),
        limit: { type: 'integer', minimum: 1, maximum: 1000, description: 'Default 20' },
        summaries: { type: 'boolean', description: 'Summaries (SUMMARY units) in place of the ranges they cover' },
      },
      ['contextId'],
    ),
  },
  {
    name: 'search_units',
    description: 'Find earlier work units by meaning and keywords (hybrid search), across contexts or in one.',
    inputSchema: obj(
      {
        query: str('What to look for'),
        contextId: str('Only this context'),
        mode: { enum: ['hybrid', 'keyword', 'vector'] },
        limit: { type: 'integer', minimum: 1, maximum: 100, description: 'Default 10' },
      },
      ['query'],
    ),
  },
  {
    name: 'lock',
    description:
      'Take a lock on a shared resource (a file, a task) before working on it. Returns lockId (to release it) and a fencing token. Fails with LOCK_HELD, naming the holder, if another agent has it.',
    inputSchema: obj(
      {
        resource: str('What to lock, like file:src/app.ts'),
        ttlMs: { type: 'integer', minimum: 1, description: 'Lease length (default 30 s); renew or release before it ends' },
        waitMs: { type: 'integer', minimum: 0, description: 'Wait this long for a held lock' },
        agentId: AGENT,
      },
      ['resource'],
    ),
  },
  {
    name: 'context_window',
    description:
      "The units of a context to put in a model's context, in order, never more tokens than the budget: pinned units, then summaries standing in for older ranges (with summaries: true), then older units relevant to the query, then the most recent ones; each with its token count and why it is in.",
    inputSchema: obj(
      {
        contextId: str('The context'),
        budget: { type: 'integer', minimum: 1, description: 'The most tokens the units may take' },
        query: str('What you are about to work on (brings in relevant older units)'),
        model: str('The model the window is for, like gpt-4o (picks the tokenizer)'),
        summaries: { type: 'boolean', description: 'Summaries (SUMMARY units) stand in for the ranges they cover' },
      },
      ['contextId', 'budget'],
    ),
  },
  {
    name: 'summarize_context',
    description:
      "Have the server's language model summarize a range of a context (default: all of it) and store the summary as a SUMMARY unit that stands in for the range in windows and reads with summaries. Needs a model configured on the server; without one, post a SUMMARY unit yourself (post_unit, payload {text, covers: {from, to}}).",
    inputSchema: obj(
      {
        contextId: str('The context'),
        from: { type: 'integer', minimum: 1, description: 'First seq (default 1)' },
        to: { type: 'integer', minimum: 1, description: 'Last seq (default: the newest)' },
        instructions: str('What the summary should keep, or how long it should be'),
        agentId: AGENT,
      },
      ['contextId'],
    ),
  },
  {
    name: 'fork_context',
    description:
      "Branch a context at a seq to try something else (a what-if): a new context that shares the parent's units up to that seq without copying them and goes on from there; the parent does not see what the fork adds, nor the fork what the parent adds later.",
    inputSchema: obj(
      {
        contextId: str('The context to fork'),
        seq: { type: 'integer', minimum: 0, description: "The parent's seq the fork shares up to (at most its head; 0 shares nothing)" },
        id: str('The id of the new context (made up when absent)'),
        displayName: str('A name for the fork'),
      },
      ['contextId', 'seq'],
    ),
  },
  {
    name: 'request_approval',
    description:
      'Ask a human (or another agent) to approve an action before you take it. Give the lock you hold on what the action touches (resource and token from the lock tool): the request is stored only while you hold it. Returns the request, pending; then call wait_for_approval with its requestId.',
    inputSchema: obj(
      {
        contextId: str('The context to ask in (where the decider will see it)'),
        action: { description: 'What you want to do: any JSON (for example {"tool": "deploy", "target": "prod"})' },
        resource: str('The locked resource (from the lock tool)'),
        token: { type: 'integer', minimum: 1, description: 'The lock token (from the lock tool)' },
        ttlMs: { type: 'integer', minimum: 1, description: 'How long the request stands (default 15 minutes)' },
        agentId: AGENT,
      },
      ['contextId', 'action', 'resource', 'token'],
    ),
  },
  {
    name: 'wait_for_approval',
    description:
      'Wait for the decision on an approval request (up to waitSeconds, at most 60; call again while it is pending). status is approved, denied, expired or pending. Act only on approved, and only while you still hold the lock: if you lost it, this answers FENCE_REJECTED and you must not act.',
    inputSchema: obj(
      {
        contextId: str('The context the request is in'),
        requestId: str('The requestId request_approval returned'),
        waitSeconds: { type: 'integer', minimum: 0, maximum: 60, description: 'How long to wait for a decision (default 30)' },
      },
      ['contextId', 'requestId'],
    ),
  },
  {
    name: 'who_is_here',
    description: 'Who is following a context live right now (subscribed over WebSocket, SSE or gRPC), by client and agent, with how many connections and since when.',
    inputSchema: obj({ contextId: str('The context') }, ['contextId']),
  },
  {
    name: 'unlock',
    description: 'Release a lock taken with the lock tool.',
    inputSchema: obj({ resource: str('The locked resource'), lockId: str('The lockId the lock tool returned'), agentId: AGENT }, ['resource', 'lockId']),
  },
];

export const TOOL_NAMES: readonly string[] = TOOLS.map((t) => t.name);

const text = (s: string, isError = false): CallToolResult => ({ content: [{ type: 'text', text: s }], ...(isError ? { isError: true } : {}) });
const json = (v: unknown): CallToolResult => text(JSON.stringify(v, null, 2));

function errorResult(err: unknown): CallToolResult {
  const e = err as { code?: unknown; message?: unknown };
  if (typeof e?.code === 'string' && typeof e.message === 'string') return text(`${e.code}: ${e.message}`, true);
  return text(`INTERNAL: ${err instanceof Error ? err.message : String(err)}`, true);
}

/** Runs one tool call against the API; never throws. */
export async function callTool(api: AgentApi, o: McpOptions, name: string, args: Record<string, unknown>): Promise<CallToolResult> {
  const agentId = typeof args.agentId === 'string' && args.agentId !== '' ? args.agentId : o.agentId;
  try {
    switch (name) {
      case 'memory': {
        const { agentId: _, ...command } = args;
        const r = await api.memory(o.space, command, agentId);
        return text(r.result, r.isError);
      }
      case 'remember_fact':
        return json(await api.remember(o.space, { key: args.key, value: args.value }, agentId));
      case 'forget_fact':
        return json(await api.forget(o.space, args.key, agentId));
      case 'list_facts':
        return json(await api.facts(o.space, args.includeDeleted === true));
      case 'recall_facts':
        return json(await api.recall(o.space, args.query, typeof args.limit === 'number' ? args.limit : 10));
      case 'process_turn': {
        const { agentId: _, ...turn } = args;
        return json(await api.processTurn(o.space, turn, agentId));
      }
      case 'query_memory':
        return json(await api.queryMemory(o.space, args));
      case 'post_unit': {
        const payload = args.payload !== undefined ? args.payload : { text: args.text };
        if (args.payload === undefined && typeof args.text !== 'string') return text('INVALID_FIELD: give text (a string) or payload', true);
        return json(await api.post({ contextId: args.contextId, agentId, type: args.type ?? 'MESSAGE', payload, ...(args.meta === undefined ? {} : { meta: args.meta }) }));
      }
      case 'read_recent':
        if (typeof args.contextId !== 'string') return text('MISSING_FIELD: contextId', true);
        return json(await api.recent(args.contextId, typeof args.limit === 'number' ? args.limit : 20, args.summaries === true));
      case 'search_units': {
        const { query, contextId, mode, limit } = args;
        return json(await api.search({ query, limit: limit ?? 10, ...(contextId === undefined ? {} : { contextId }), ...(mode === undefined ? {} : { mode }) }));
      }
      case 'lock': {
        const { resource, ttlMs, waitMs } = args;
        return json(await api.lock({ resource, agentId, ...(ttlMs === undefined ? {} : { ttlMs }), ...(waitMs === undefined ? {} : { waitMs }) }));
      }
      case 'context_window': {
        const { contextId, agentId: _, ...request } = args;
        if (typeof contextId !== 'string') return text('MISSING_FIELD: contextId', true);
        return json(await api.window(contextId, request));
      }
      case 'summarize_context': {
        const { contextId, agentId: _, ...request } = args;
        if (typeof contextId !== 'string') return text('MISSING_FIELD: contextId', true);
        return json(await api.summarize(contextId, { ...request, agentId }));
      }
      case 'fork_context': {
        const { contextId, agentId: _, ...request } = args;
        if (typeof contextId !== 'string') return text('MISSING_FIELD: contextId', true);
        return json(await api.fork(contextId, request));
      }
      case 'request_approval': {
        const { contextId, action, resource, token, ttlMs } = args;
        if (typeof contextId !== 'string') return text('MISSING_FIELD: contextId', true);
        return json(await api.requestApproval(contextId, { agentId, action, lock: { resource, token }, ttlMs: ttlMs ?? 15 * 60_000 }));
      }
      case 'wait_for_approval': {
        const { contextId, requestId, waitSeconds } = args;
        if (typeof contextId !== 'string' || typeof requestId !== 'string') return text('MISSING_FIELD: contextId and requestId', true);
        return json(await api.getApproval(contextId, requestId, typeof waitSeconds === 'number' ? waitSeconds : 30));
      }
      case 'who_is_here':
        if (typeof args.contextId !== 'string') return text('MISSING_FIELD: contextId', true);
        return json(await api.presence(args.contextId));
      case 'unlock':
        if (typeof args.resource !== 'string' || typeof args.lockId !== 'string') return text('MISSING_FIELD: resource and lockId', true);
        return json(await api.unlock(args.resource, agentId, args.lockId));
      default:
        if ((GRAPH_TOOLS as readonly string[]).includes(name)) {
          const result = await api.graph(o.space, name, args, agentId);
          return typeof result === 'string' ? text(result) : json(result);
        }
        return text(`NOT_FOUND: no tool ${JSON.stringify(name)}; the tools are ${TOOL_NAMES.join(', ')}`, true);
    }
  } catch (err) {
    return errorResult(err);
  }
}

/** An MCP server (not yet connected to a transport) with Engram's tools on `api`. */
export function createMcpServer(api: AgentApi, o: McpOptions): Server {
  const server = new Server(
    { name: 'engram', version: o.version },
    {
      capabilities: { tools: {} },
      instructions:
        `Engram: memory shared by every agent on this server (space "${o.space}"). Use the memory tool for notes and files, remember_fact/recall_facts for short facts, process_turn after a conversation turn and query_memory to recall what it kept, ` +
        'the graph tools for entities and relations, post_unit/read_recent/search_units to work with other agents in shared contexts, and lock/unlock before changing shared things.',
    },
  );
  server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: TOOLS }));
  server.setRequestHandler(CallToolRequestSchema, (req) => callTool(api, o, req.params.name, (req.params.arguments ?? {}) as Record<string, unknown>));
  return server;
}
