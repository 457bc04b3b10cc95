/**
 * The SDK's types cannot drift from what the server accepts and answers: each SDK type's fields
 * are listed here in a form the compiler checks against the type (a missing or an extra field
 * fails the build), and the test checks the list against the server's request or response
 * schema (basics/schemas.ts, the same schemas that validate requests and make /openapi.json).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { REQUEST_SCHEMAS, RESPONSE_SCHEMAS } from '../../src/basics/schemas.js';
import type * as sdk from '../../src/client/index.js';

/** The fields of T, each named once: the compiler refuses a list with a field missing or one too many. */
function fieldsOf<T>() {
  return <K extends Record<keyof T, true>>(fields: K & Record<Exclude<keyof K, keyof T>, never>): string[] => Object.keys(fields).sort();
}

function schemaFields(schema: unknown): string[] {
  const properties = (schema as { properties?: Record<string, unknown> }).properties;
  assert.ok(properties, 'the schema lists its properties');
  return Object.keys(properties).sort();
}

/** The schema of the items of an array property. */
function items(schema: unknown, property: string): unknown {
  return (schema as { properties: Record<string, { items: unknown }> }).properties[property]!.items;
}

const pairs: Array<[string, string[], unknown]> = [
  [
    'NewWorkUnit ↔ request WorkUnitInput',
    fieldsOf<sdk.NewWorkUnit>()({ contextId: true, agentId: true, type: true, payload: true, meta: true, relationships: true, idempotencyKey: true, fence: true, embedding: true }),
    REQUEST_SCHEMAS.WorkUnitInput,
  ],
  [
    'WorkUnit ↔ response WorkUnit',
    fieldsOf<sdk.WorkUnit>()({ id: true, contextId: true, seq: true, agentId: true, type: true, ts: true, meta: true, payload: true, relationships: true }),
    RESPONSE_SCHEMAS.WorkUnit,
  ],
  [
    'Context ↔ response Context',
    fieldsOf<sdk.Context>()({
      id: true,
      displayName: true,
      agentIds: true,
      pinnedUnits: true,
      meta: true,
      createdAt: true,
      updatedAt: true,
      version: true,
      headSeq: true,
      firstSeq: true,
      forkOf: true,
      lineage: true,
      forks: true,
    }),
    RESPONSE_SCHEMAS.Context,
  ],
  [
    'ContextPatch ↔ request ContextPatch',
    fieldsOf<sdk.ContextPatch>()({ displayName: true, addAgents: true, removeAgents: true, pinUnits: true, unpinUnits: true, meta: true }),
    REQUEST_SCHEMAS.ContextPatch,
  ],
  ['ContextPage ↔ response ContextPage', fieldsOf<sdk.ContextPage>()({ contexts: true, nextCursor: true }), RESPONSE_SCHEMAS.ContextPage],
  [
    'Lock ↔ response Lock',
    fieldsOf<sdk.Lock>()({
      resource: true,
      agentId: true,
      lockId: true,
      token: true,
      expiresAt: true,
      ttlMs: true,
      acquiredAt: true,
      remainingMs: true,
      contextId: true,
      waiting: true,
    }),
    RESPONSE_SCHEMAS.Lock,
  ],
  [
    'SearchRequest ↔ request SearchRequest',
    fieldsOf<sdk.SearchRequest>()({
      query: true,
      vector: true,
      mode: true,
      contextId: true,
      contextIds: true,
      agentIds: true,
      types: true,
      meta: true,
      since: true,
      until: true,
      limit: true,
      offset: true,
      fresh: true,
    }),
    REQUEST_SCHEMAS.SearchRequest,
  ],
  ['SearchResponse ↔ response SearchResponse', fieldsOf<sdk.SearchResponse>()({ results: true, total: true, totalRelation: true }), RESPONSE_SCHEMAS.SearchResponse],
  ['UnitPage ↔ response UnitPage', fieldsOf<sdk.UnitPage>()({ workUnits: true, nextCursor: true, firstSeq: true }), RESPONSE_SCHEMAS.UnitPage],
  [
    'ContextDeletion ↔ response ContextDeletion',
    fieldsOf<sdk.ContextDeletion>()({ contextId: true, deleted: true, units: true, bytes: true, forksDeleted: true }),
    RESPONSE_SCHEMAS.ContextDeletion,
  ],
  ['ForkOptions ↔ request ContextFork', fieldsOf<sdk.ForkOptions>()({ seq: true, id: true, displayName: true, meta: true }), REQUEST_SCHEMAS.ContextFork],
  ['ContextPresence ↔ response Presence', fieldsOf<sdk.ContextPresence>()({ contextId: true, members: true, connections: true }), RESPONSE_SCHEMAS.Presence],
  ['PresenceMember ↔ response PresenceMember', fieldsOf<sdk.PresenceMember>()({ clientId: true, agentId: true, connections: true, since: true }), RESPONSE_SCHEMAS.PresenceMember],
  // The memory views and the graph.
  ['MemoryFileEntry ↔ response MemoryTree.files[]', fieldsOf<sdk.MemoryFileEntry>()({ path: true, size: true }), items(RESPONSE_SCHEMAS.MemoryTree, 'files')],
  ['MemoryFile ↔ response MemoryFile', fieldsOf<sdk.MemoryFile>()({ path: true, text: true }), RESPONSE_SCHEMAS.MemoryFile],
  [
    'MemoryChange ↔ response MemoryHistory.changes[]',
    fieldsOf<sdk.MemoryChange>()({ seq: true, ts: true, agentId: true, command: true, change: true }),
    items(RESPONSE_SCHEMAS.MemoryHistory, 'changes'),
  ],
  ['KnowledgeGraph ↔ response KnowledgeGraph', fieldsOf<sdk.KnowledgeGraph>()({ entities: true, relations: true }), RESPONSE_SCHEMAS.KnowledgeGraph],
  ['Entity ↔ response KnowledgeGraph.entities[]', fieldsOf<sdk.Entity>()({ name: true, entityType: true, observations: true }), items(RESPONSE_SCHEMAS.KnowledgeGraph, 'entities')],
  ['Relation ↔ response KnowledgeGraph.relations[]', fieldsOf<sdk.Relation>()({ from: true, to: true, relationType: true }), items(RESPONSE_SCHEMAS.KnowledgeGraph, 'relations')],
  // Clients and operations (admin).
  ['ClientPage ↔ response ClientList', fieldsOf<sdk.ClientPage>()({ clients: true, nextCursor: true }), RESPONSE_SCHEMAS.ClientList],
  ['ClientSummary ↔ response ClientList.clients[]', fieldsOf<sdk.ClientSummary>()({ clientId: true, active: true }), items(RESPONSE_SCHEMAS.ClientList, 'clients')],
  [
    'ClientStatus ↔ response ClientStatus',
    fieldsOf<sdk.ClientStatus>()({
      clientId: true,
      known: true,
      lastActivity: true,
      connections: true,
      subscriptions: true,
      activeSince: true,
      unitsWrittenRecently: true,
      contexts: true,
      unitsWritten: true,
      storageBytes: true,
      locksHeld: true,
      groups: true,
      quotas: true,
    }),
    RESPONSE_SCHEMAS.ClientStatus,
  ],
  [
    'ClientErasure ↔ response ClientErasure',
    fieldsOf<sdk.ClientErasure>()({ clientId: true, contexts: true, units: true, bytes: true, locks: true }),
    RESPONSE_SCHEMAS.ClientErasure,
  ],
  [
    'RetentionSweep ↔ response RetentionSweep',
    fieldsOf<sdk.RetentionSweep>()({ contexts: true, trimmed: true, units: true, bytes: true, summarized: true }),
    RESPONSE_SCHEMAS.RetentionSweep,
  ],
  ['ClientCleanup ↔ response Cleanup', fieldsOf<sdk.ClientCleanup>()({ idleThresholdSeconds: true, dropped: true, cachedContextsFreed: true }), RESPONSE_SCHEMAS.Cleanup],
];

for (const [name, sdkFields, schema] of pairs) {
  test(`SDK ${name}: the same fields`, () => {
    assert.deepEqual(sdkFields, schemaFields(schema));
  });
}

test('SDK AcquireRequest: the lock request schema without the resource, which the SDK takes as its own argument', () => {
  const sdkFields = fieldsOf<sdk.AcquireRequest>()({ agentId: true, ttlMs: true, waitMs: true, contextId: true });
  assert.deepEqual(
    sdkFields,
    schemaFields(REQUEST_SCHEMAS.LockAcquire).filter((f) => f !== 'resource' && f !== 'resources'),
  );
});
