/**
 * JSON Schemas (2020-12, as OpenAPI 3.1 uses them) of what the API takes and returns.
 * They are built from the same constants as the validators (limits, enums), and the
 * validators take their field lists and required fields from them (validate.ts,
 * lock-requests.ts, search-query.ts), so GET /openapi.json cannot drift from what is
 * enforced. The validators add what a schema cannot say well (ids without control
 * characters, payload depth, well-formed Unicode) with the same error codes.
 */
import { APPROVAL_LIMITS, FACT_LIMITS, LIMITS, SEARCH_LIMITS, TURN_LIMITS, WINDOW_LIMITS } from './limits.js';
import { RELATIONSHIP_TYPES, WORK_UNIT_TYPES } from './types.js';

type Schema = Record<string, unknown>;

const id: Schema = { type: 'string', minLength: 1, maxLength: LIMITS.idLength, description: 'An id: 1–256 characters of well-formed Unicode without control characters.' };
const resource: Schema = { type: 'string', minLength: 1, maxLength: LIMITS.resourceLength, description: 'A lock resource name (file paths and the like; slashes welcome).' };
const stringMap: Schema = {
  type: 'object',
  maxProperties: LIMITS.metaEntries,
  propertyNames: { minLength: 1, maxLength: LIMITS.metaKeyLength, not: { const: '__proto__' } },
  additionalProperties: { type: 'string', maxLength: LIMITS.metaValueLength },
};
const vector: Schema = { type: 'array', minItems: 1, maxItems: LIMITS.vectorDims, items: { type: 'number' } };
const idList = (max: number): Schema => ({ type: 'array', maxItems: max, items: id });
const rfc3339: Schema = { type: 'string', format: 'date-time' };
const count: Schema = { type: 'integer', minimum: 0 };

/** An object schema whose listed properties are the only ones allowed. */
function object(properties: Record<string, Schema>, required: string[] = [], extra: Schema = {}): Schema {
  return { type: 'object', properties, required, additionalProperties: false, ...extra };
}

const relationshipInput = object({ targetId: id, type: { enum: [...RELATIONSHIP_TYPES] }, meta: stringMap }, ['targetId', 'type']);

/** Request bodies. */
export const REQUEST_SCHEMAS = {
  WorkUnitInput: object(
    {
      contextId: id,
      agentId: id,
      type: { enum: [...WORK_UNIT_TYPES] },
      payload: { description: 'Any JSON value (null included), nested at most 64 deep, numbers finite.' },
      meta: stringMap,
      relationships: { type: 'array', maxItems: LIMITS.relationships, items: relationshipInput },
      idempotencyKey: id,
      fence: object({ resource, token: { type: 'integer', minimum: 1 } }, ['resource', 'token']),
      embedding: vector,
    },
    ['contextId', 'agentId', 'type', 'payload'],
  ),
  ContextPatch: object({
    displayName: { type: 'string', minLength: 1, maxLength: LIMITS.displayNameLength },
    addAgents: idList(LIMITS.patchListLength),
    removeAgents: idList(LIMITS.patchListLength),
    pinUnits: idList(LIMITS.patchListLength),
    unpinUnits: idList(LIMITS.patchListLength),
    meta: { ...stringMap, additionalProperties: { type: ['string', 'null'], maxLength: LIMITS.metaValueLength }, description: 'Merged into the record; null removes a key.' },
  }),
  ContextFork: object(
    {
      seq: { type: 'integer', minimum: 0, description: "The parent's seq the fork shares up to (at most its head; 0 shares nothing)." },
      id: { ...id, description: 'The new context id (same space as the parent); made up (`fork-…`) when absent.' },
      displayName: { type: 'string', minLength: 1, maxLength: LIMITS.displayNameLength },
      meta: stringMap,
    },
    ['seq'],
  ),
  LockAcquire: object(
    {
      resource,
      resources: { type: 'array', minItems: 1, maxItems: LIMITS.resourcesPerAcquire, items: resource },
      agentId: id,
      ttlMs: { type: 'integer', minimum: 1 },
      waitMs: { type: 'integer', minimum: 0 },
      contextId: id,
    },
    ['agentId'],
    { description: 'Give `resource`, or `resources` for several at once (all or none).' },
  ),
  LockRenew: object({ agentId: id, lockId: id, ttlMs: { type: 'integer', minimum: 1 } }, ['agentId', 'lockId']),
  MemoryCommand: {
    type: 'object',
    description: "A command of Anthropic's memory tool (memory_20250818), as the model sent it.",
    properties: {
      command: { enum: ['view', 'create', 'str_replace', 'insert', 'delete', 'rename'] },
      path: { type: 'string' },
      view_range: { type: 'array', items: { type: 'integer' }, minItems: 2, maxItems: 2 },
      file_text: { type: 'string' },
      old_str: { type: 'string' },
      new_str: { type: 'string' },
      insert_line: { type: 'integer', minimum: 0 },
      insert_text: { type: 'string' },
      old_path: { type: 'string' },
      new_path: { type: 'string' },
    },
    required: ['command'],
  },
  FactInput: object(
    {
      key: {
        type: 'string',
        minLength: 1,
        maxLength: FACT_LIMITS.keyChars,
        description: 'What the fact is about, like user.editor; without one, the value is matched against every known fact.',
      },
      value: { type: 'string', minLength: 1, maxLength: FACT_LIMITS.valueChars, description: 'The fact, as a short statement.' },
    },
    ['value'],
  ),
  FactKey: object({ key: { type: 'string', minLength: 1, maxLength: FACT_LIMITS.keyChars } }, ['key']),
  FactRecall: object({ query: { type: 'string', minLength: 1, maxLength: FACT_LIMITS.valueChars }, limit: { type: 'integer', minimum: 1, maximum: FACT_LIMITS.recallMax } }, [
    'query',
  ]),
  ConversationTurn: object(
    {
      messages: {
        type: 'array',
        minItems: 1,
        maxItems: TURN_LIMITS.messages,
        description: `The messages of the turn, oldest first (at most ${TURN_LIMITS.chars} characters of text in all).`,
        items: object(
          {
            role: { enum: ['user', 'assistant', 'system', 'developer', 'tool'] },
            content: {
              description: 'Text, or a list of content blocks whose text blocks are read (others, such as images, are skipped).',
              oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'object', properties: { type: { type: 'string' }, text: { type: 'string' } }, required: ['type'] } }],
            },
          },
          ['role', 'content'],
        ),
      },
      extractor: {
        enum: ['auto', 'rules', 'model'],
        description: 'auto (default): the language model of memory.model when one is configured, else the rules; rules: always the rules; model: the model, or MODEL_UNAVAILABLE.',
      },
    },
    ['messages'],
  ),
  ContextWindowRequest: object(
    {
      budget: { type: 'integer', minimum: 1, maximum: WINDOW_LIMITS.budgetMax, description: 'The most tokens the units may take together.' },
      query: { type: 'string', maxLength: WINDOW_LIMITS.queryChars, description: 'What the model is about to work on: the older units most relevant to it are included.' },
      model: { type: 'string', minLength: 1, maxLength: 200, description: 'The model the window is for (picks the tokenizer; default gpt-4o).' },
      encoding: { enum: ['o200k_base', 'cl100k_base'], description: 'The tokenizer itself, instead of model.' },
      relevantShare: { type: 'number', minimum: 0, maximum: 1, description: 'Share of the budget (after pins) held for relevant units (default 0.25; with a query).' },
      relevantLimit: { type: 'integer', minimum: 0, maximum: 100, description: 'Most relevant units considered (default 20).' },
      summaries: { type: 'boolean', description: 'Applied summaries stand in for the ranges they cover (docs/agents.md#summaries; default false).' },
      summaryShare: { type: 'number', minimum: 0, maximum: 1, description: 'Share of the budget (after pins) summaries may take first (default 0.5).' },
    },
    ['budget'],
  ),
  SummarizeRequest: object({
    from: { type: 'integer', minimum: 1, description: 'First seq to summarize (default 1).' },
    to: { type: 'integer', minimum: 1, description: 'Last seq to summarize (default: the head).' },
    agentId: { type: 'string', description: 'The author of the SUMMARY unit (default engram-summarizer).' },
    instructions: { type: 'string', maxLength: 2000, description: 'Added to the model’s instructions (what to keep, a length).' },
  }),
  ApprovalRequest: object(
    {
      agentId: { ...id, description: 'The agent asking (the unit’s agentId).' },
      action: { description: 'What the agent asks to do: any JSON (shown to the decider).' },
      ttlMs: { type: 'integer', minimum: 1, maximum: APPROVAL_LIMITS.maxTtlMs, description: 'The request lapses this long after it is stored (or give expiresAt).' },
      expiresAt: { ...rfc3339, description: 'When the request lapses (or give ttlMs); at most 7 days ahead.' },
      lock: object({ resource, token: { type: 'integer', minimum: 1 } }, ['resource', 'token'], {
        description: 'The lock the agent holds while asking: stored only while this token is current (FENCE_REJECTED otherwise).',
      }),
      meta: stringMap,
    },
    ['agentId', 'action', 'lock'],
  ),
  ApprovalDecisionInput: object(
    {
      decision: { enum: ['approve', 'deny'] },
      reason: { type: 'string', maxLength: APPROVAL_LIMITS.reasonChars },
      by: { ...id, description: 'Who decides (the decision unit’s agentId); default: the client id.' },
    },
    ['decision'],
  ),
  MemoryQuery: object(
    {
      query: { type: 'string', minLength: 1, maxLength: SEARCH_LIMITS.queryLength, description: 'The question.' },
      limit: { type: 'integer', minimum: 1, maximum: FACT_LIMITS.recallMax, description: 'Default 10.' },
      history: { type: 'boolean', description: 'Give each memory its versions, oldest first.' },
    },
    ['query'],
  ),
  GraphArguments: { type: 'object', description: 'The arguments of the graph tool named in the path, as the reference MCP memory server takes them (docs/memory.md).' },
  SearchRequest: object(
    {
      query: { type: 'string', maxLength: SEARCH_LIMITS.queryLength },
      vector,
      mode: { enum: ['hybrid', 'keyword', 'vector'] },
      contextId: id,
      contextIds: { type: 'array', minItems: 1, maxItems: SEARCH_LIMITS.filterIds, items: id },
      agentIds: { type: 'array', minItems: 1, maxItems: SEARCH_LIMITS.filterIds, items: id },
      types: { type: 'array', minItems: 1, items: { enum: [...WORK_UNIT_TYPES] } },
      meta: stringMap,
      since: { type: ['string', 'number'], description: 'RFC 3339 time or epoch milliseconds, inclusive.' },
      until: { type: ['string', 'number'], description: 'RFC 3339 time or epoch milliseconds, exclusive.' },
      limit: { type: 'integer', minimum: 1, maximum: SEARCH_LIMITS.limitMax },
      offset: { type: 'integer', minimum: 0, maximum: SEARCH_LIMITS.depthMax - 1 },
      fresh: { type: 'boolean', description: 'Wait until every unit committed before the search arrived is searchable (read your own writes); at most 10 s, then 503 NOT_READY.' },
    },
    [],
    { description: 'Give a query text, a vector, or both.' },
  ),
} as const satisfies Record<string, Schema>;

export type RequestSchemaName = keyof typeof REQUEST_SCHEMAS;

interface Node {
  properties?: Record<string, Node>;
  items?: Node;
}

/** The property names a request body may have, or those of an object inside it (`path`: property names, and `items` for array elements). */
export function fieldsOf(name: RequestSchemaName, path: readonly string[] = []): ReadonlySet<string> {
  let node = REQUEST_SCHEMAS[name] as Node | undefined;
  for (const step of path) node = step === 'items' ? node?.items : node?.properties?.[step];
  if (node?.properties === undefined) throw new Error(`schema ${name}/${path.join('/')} has no properties`);
  return new Set(Object.keys(node.properties));
}

/** The required property names of a request body, in order. */
export function requiredOf(name: RequestSchemaName): readonly string[] {
  return (REQUEST_SCHEMAS[name] as { required: string[] }).required;
}

const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });
const relationship = object({ targetId: id, type: { enum: [...RELATIONSHIP_TYPES] }, meta: stringMap }, ['targetId', 'type', 'meta']);

/** Response bodies. */
export const RESPONSE_SCHEMAS = {
  WorkUnit: object(
    {
      id: { type: 'string', description: 'ULID' },
      contextId: id,
      seq: { type: 'integer', minimum: 1 },
      agentId: id,
      type: { enum: [...WORK_UNIT_TYPES] },
      ts: rfc3339,
      meta: stringMap,
      payload: {},
      relationships: { type: 'array', items: relationship },
    },
    ['id', 'contextId', 'seq', 'agentId', 'type', 'ts', 'meta', 'payload', 'relationships'],
  ),
  UnitPage: object(
    {
      workUnits: { type: 'array', items: ref('WorkUnit') },
      nextCursor: { type: ['integer', 'null'] },
      firstSeq: { type: 'integer', minimum: 1, description: 'The first seq still stored: retention trimmed the units below it, and a page asked below it starts there.' },
    },
    ['workUnits', 'nextCursor', 'firstSeq'],
  ),
  Context: object(
    {
      id,
      displayName: { type: 'string' },
      agentIds: { type: 'array', items: id },
      pinnedUnits: { type: 'array', items: id },
      meta: stringMap,
      createdAt: rfc3339,
      updatedAt: rfc3339,
      version: count,
      headSeq: count,
      firstSeq: { type: 'integer', minimum: 1, description: 'The first seq still stored: retention trimmed the units below it (pinned ones stay readable by id).' },
      forkOf: { ...object({ contextId: id, seq: count }, ['contextId', 'seq']), description: 'Only on a fork: the context it was forked from and the seq it shares up to.' },
      lineage: {
        type: 'array',
        items: object({ contextId: id, seq: count }, ['contextId', 'seq']),
        description: 'Only on a fork: where its shared seqs are read from, root first (each entry up to its seq).',
      },
      forks: { type: 'array', items: id, description: 'Only on a context with forks: their ids.' },
    },
    ['id', 'displayName', 'agentIds', 'pinnedUnits', 'meta', 'createdAt', 'updatedAt', 'version', 'headSeq', 'firstSeq'],
  ),
  ContextDeletion: object(
    {
      contextId: id,
      deleted: { const: true },
      units: count,
      bytes: { ...count, description: "Bytes of the removed units' JSON text." },
      forksDeleted: { type: 'array', items: id, description: 'The forks deleted with it (cascade), forks of forks first.' },
    },
    ['contextId', 'deleted', 'units', 'bytes', 'forksDeleted'],
  ),
  ForkList: object({ forks: { type: 'array', items: ref('Context') } }, ['forks']),
  ContextPage: object({ contexts: { type: 'array', items: ref('Context') }, nextCursor: { type: ['string', 'null'] } }, ['contexts', 'nextCursor']),
  PresenceMember: object(
    {
      clientId: id,
      agentId: { anyOf: [id, { type: 'null' }], description: 'null: connections that named no agent' },
      connections: { type: 'integer', minimum: 0 },
      since: rfc3339,
    },
    ['clientId', 'agentId', 'connections', 'since'],
  ),
  Presence: object({ contextId: id, members: { type: 'array', items: ref('PresenceMember') }, connections: count }, ['contextId', 'members', 'connections']),
  Lock: {
    type: 'object',
    properties: {
      resource,
      agentId: id,
      lockId: id,
      token: { type: 'integer', minimum: 1, description: 'Fencing token: strictly increasing across the server, restarts included.' },
      acquiredAt: rfc3339,
      expiresAt: rfc3339,
      ttlMs: count,
      remainingMs: count,
      contextId: id,
      waiting: count,
    },
    // lockId and token are left out for the other members of a shared group (they are the holder's proof).
    required: ['resource', 'agentId', 'expiresAt'],
  },
  LockMany: object({ locks: { type: 'array', items: ref('Lock') } }, ['locks']),
  LockPage: object({ locks: { type: 'array', items: ref('Lock') }, nextCursor: { type: ['string', 'null'] } }, ['locks', 'nextCursor']),
  SearchResponse: object(
    {
      results: {
        type: 'array',
        items: object({ workUnit: ref('WorkUnit'), score: { type: 'number' }, keywordScore: { type: ['number', 'null'] }, vectorScore: { type: ['number', 'null'] } }, [
          'workUnit',
          'score',
          'keywordScore',
          'vectorScore',
        ]),
      },
      total: count,
      totalRelation: { enum: ['eq', 'gte'] },
    },
    ['results', 'total', 'totalRelation'],
  ),
  Error: object(
    {
      error: object({ code: { type: 'string', description: 'A stable code from docs/errors.md.' }, message: { type: 'string' }, details: { type: 'object' } }, ['code', 'message']),
    },
    ['error'],
  ),
  ClientList: object(
    { clients: { type: 'array', items: object({ clientId: { type: 'string' }, active: { type: 'boolean' } }, ['clientId', 'active']) }, nextCursor: { type: ['string', 'null'] } },
    ['clients', 'nextCursor'],
  ),
  ClientStatus: {
    type: 'object',
    properties: {
      clientId: { type: 'string' },
      known: { type: 'boolean' },
      lastActivity: { type: ['integer', 'null'], description: 'Epoch ms' },
      connections: count,
      subscriptions: count,
      activeSince: { type: ['integer', 'null'] },
      unitsWrittenRecently: count,
      contexts: count,
      unitsWritten: count,
      storageBytes: count,
      locksHeld: count,
      groups: { type: 'array', items: object({ group: { type: 'string' }, membership: { enum: ['read', 'write'] } }, ['group', 'membership']) },
      quotas: { type: 'object', additionalProperties: count },
    },
    required: ['clientId', 'known', 'connections', 'subscriptions', 'contexts', 'unitsWritten', 'storageBytes', 'locksHeld', 'groups', 'quotas'],
  },
  ClientErasure: object({ clientId: { type: 'string' }, contexts: count, units: count, bytes: count, locks: count }, ['clientId', 'contexts', 'units', 'bytes', 'locks']),
  RetentionSweep: object(
    { contexts: count, trimmed: count, units: count, bytes: count, summarized: { ...count, description: 'Of the trimmed seqs, those a summary kept in their place covers.' } },
    ['contexts', 'trimmed', 'units', 'bytes', 'summarized'],
  ),
  Cleanup: object({ idleThresholdSeconds: count, dropped: { type: 'array', items: { type: 'string' } }, cachedContextsFreed: count }, [
    'idleThresholdSeconds',
    'dropped',
    'cachedContextsFreed',
  ]),
  Status: { type: 'object', properties: { status: { type: 'string' } }, required: ['status'] },
  MemoryResult: object({ result: { type: 'string', description: 'The text for the tool_result.' }, isError: { type: 'boolean' } }, ['result', 'isError']),
  MemoryTree: object({ files: { type: 'array', items: object({ path: { type: 'string' }, size: { ...count, description: 'Characters.' } }, ['path', 'size']) } }, ['files']),
  MemoryFile: object({ path: { type: 'string' }, text: { type: 'string' } }, ['path', 'text']),
  MemoryHistory: object(
    {
      changes: {
        type: 'array',
        items: object(
          {
            seq: { type: 'integer', minimum: 1 },
            ts: rfc3339,
            agentId: id,
            command: { type: 'string', description: 'The memory-tool command that made the change.' },
            change: {
              oneOf: [
                object({ op: { const: 'write' }, path: { type: 'string' }, text: { type: 'string' } }, ['op', 'path', 'text']),
                object({ op: { const: 'delete' }, path: { type: 'string' } }, ['op', 'path']),
                object({ op: { const: 'rename' }, path: { type: 'string' }, to: { type: 'string' } }, ['op', 'path', 'to']),
              ],
            },
          },
          ['seq', 'ts', 'agentId', 'command', 'change'],
        ),
      },
    },
    ['changes'],
  ),
  KnowledgeGraph: object(
    {
      entities: {
        type: 'array',
        items: object({ name: { type: 'string' }, entityType: { type: 'string' }, observations: { type: 'array', items: { type: 'string' } } }, [
          'name',
          'entityType',
          'observations',
        ]),
      },
      relations: { type: 'array', items: object({ from: { type: 'string' }, to: { type: 'string' }, relationType: { type: 'string' } }, ['from', 'to', 'relationType']) },
    },
    ['entities', 'relations'],
  ),
  Approval: object(
    {
      requestId: { ...id, description: 'The id of the APPROVAL_REQUEST unit.' },
      contextId: id,
      agentId: { ...id, description: 'The agent that asked.' },
      status: { enum: ['pending', 'approved', 'denied', 'expired'] },
      action: { description: 'What the agent asked to do.' },
      expiresAt: rfc3339,
      lock: object({ resource, token: { type: 'integer', minimum: 1 } }, ['resource', 'token']),
      requestedAt: rfc3339,
      seq: count,
      decision: {
        oneOf: [
          { type: 'null' },
          object({ id, seq: count, decision: { enum: ['approve', 'deny'] }, by: id, reason: { type: ['string', 'null'] }, decidedAt: rfc3339 }, [
            'id',
            'seq',
            'decision',
            'by',
            'reason',
            'decidedAt',
          ]),
        ],
      },
    },
    ['requestId', 'contextId', 'agentId', 'status', 'action', 'expiresAt', 'lock', 'requestedAt', 'seq', 'decision'],
  ),
  ApprovalPage: object(
    {
      approvals: { type: 'array', items: ref('Approval') },
      nextCursor: { type: ['string', 'null'] },
      version: { type: 'string', description: 'Changes whenever an approval is asked, decided or dropped: pass it back as `since` to wait for the next change.' },
    },
    ['approvals', 'nextCursor', 'version'],
  ),
  Document: { type: 'object', description: 'A JSON document; see the docs of the route.' },
} as const satisfies Record<string, Schema>;
