/**
 * Fixed shape limits of the data model. They are constants, not settings, so that
 * every node and every client library agrees on them; docs/api.md lists them.
 * Body size, the one limit operators tune, is `limits.maxUnitBytes` in the config.
 */
export const LIMITS = {
  /** Longest id (context, agent, unit, idempotency key, client), in UTF-16 code units. */
  idLength: 256,
  metaEntries: 64,
  metaKeyLength: 256,
  metaValueLength: 16 * 1024,
  relationships: 64,
  /** Deepest nesting of arrays/objects inside a payload; deeper would risk stack overflows in encoders. */
  payloadDepth: 64,
  displayNameLength: 256,
  agentsPerContext: 1024,
  pinnedUnits: 256,
  /** Largest id list in one PATCH field. */
  patchListLength: 256,
  listDefault: 100,
  listMax: 1000,
  /** Longest lock resource name (file paths and the like), in UTF-16 code units. */
  resourceLength: 1024,
  /** Largest vector (embedding or query) in dimensions. */
  vectorDims: 4096,
  /** Most resources in one all-or-none acquire. */
  resourcesPerAcquire: 64,
} as const;

/** Limits of search requests. */
export const SEARCH_LIMITS = {
  queryLength: 1000,
  limitDefault: 10,
  limitMax: 100,
  /** Deepest result reachable by paging (offset + limit). */
  depthMax: 1000,
  filterIds: 256,
} as const;

/** Limits of the facts of agent memory (memory/facts.ts), here because the request schemas state them too. */
export const FACT_LIMITS = { keyChars: 200, valueChars: 4096, recallMax: 100 } as const;

/** Limits of a context window request (POST /contexts/{id}/window, agents/window.ts). */
export const WINDOW_LIMITS = { budgetMax: 2_000_000, queryChars: 1000 } as const;

/** Limits of one conversation turn handed to POST /memory/{space}/process-turn (memory/conversation.ts). */
export const TURN_LIMITS = { messages: 200, chars: 64_000 } as const;

/** Approvals (docs/agents.md#approvals): the longest expiry, the longest long poll, a decision's reason. */
export const APPROVAL_LIMITS = { maxTtlMs: 7 * 24 * 3600_000, maxWaitMs: 60_000, reasonChars: 4096 } as const;
