/** Validation of search requests, shared by every transport. */
import { EngramError } from '../basics/errors.js';
import { SEARCH_LIMITS } from '../basics/limits.js';
import { fieldsOf } from '../basics/schemas.js';
import { WORK_UNIT_TYPES, type StringMap, type WorkUnitType } from '../basics/types.js';
import { checkId, checkStringMap, checkVector } from '../basics/validate.js';

export type SearchMode = 'hybrid' | 'keyword' | 'vector';
const MODES: readonly SearchMode[] = ['hybrid', 'keyword', 'vector'];
const FIELDS = fieldsOf('SearchRequest');

export { SEARCH_LIMITS };

export interface SearchQuery {
  query: string | undefined;
  vector: Float32Array | undefined;
  mode: SearchMode;
  contextIds: string[] | undefined;
  agentIds: string[] | undefined;
  types: WorkUnitType[] | undefined;
  meta: StringMap | undefined;
  /** Epoch ms, inclusive. */
  since: number | undefined;
  /** Epoch ms, exclusive. */
  until: number | undefined;
  limit: number;
  offset: number;
  /** Answer only once every unit committed before the query is searchable. */
  fresh: boolean;
}

function idList(value: unknown, field: string): string[] {
  if (!Array.isArray(value) || value.length === 0 || value.length > SEARCH_LIMITS.filterIds) {
    throw new EngramError('INVALID_FIELD', `${field}: must be an array of 1 to ${SEARCH_LIMITS.filterIds} ids`);
  }
  return value.map((v: unknown, i) => checkId(v, `${field}[${i}]`));
}

function time(value: unknown, field: string): number {
  const ms = typeof value === 'number' ? value : typeof value === 'string' ? Date.parse(value) : NaN;
  if (!Number.isFinite(ms)) throw new EngramError('INVALID_FIELD', `${field}: must be an RFC 3339 time or epoch milliseconds`);
  return ms;
}

function int(value: unknown, field: string, min: number, max: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new EngramError('INVALID_FIELD', `${field}: must be an integer from ${min} to ${max}`);
  }
  return value;
}

export function parseSearchQuery(input: unknown): SearchQuery {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new EngramError('INVALID_FIELD', 'search: must be a JSON object');
  }
  const q = input as Record<string, unknown>;
  for (const key of Object.keys(q)) if (!FIELDS.has(key)) throw new EngramError('UNKNOWN_FIELD', `${key}: unknown field`);
  let query: string | undefined;
  if (q.query !== undefined) {
    if (typeof q.query !== 'string') throw new EngramError('INVALID_FIELD', 'query: must be a string');
    if (q.query.length > SEARCH_LIMITS.queryLength) throw new EngramError('INVALID_FIELD', `query: longer than ${SEARCH_LIMITS.queryLength} characters`);
    query = q.query.trim() === '' ? undefined : q.query;
  }
  const vector = q.vector === undefined ? undefined : checkVector(q.vector, 'vector');
  if (query === undefined && vector === undefined) {
    throw new EngramError('MISSING_FIELD', 'query: give a non-empty query text, a vector, or both');
  }
  const mode = q.mode === undefined ? 'hybrid' : q.mode;
  if (typeof mode !== 'string' || !MODES.includes(mode as SearchMode)) {
    throw new EngramError('INVALID_FIELD', `mode: must be one of ${MODES.join(', ')}, got ${JSON.stringify(mode)}`);
  }
  if (mode === 'keyword' && query === undefined) throw new EngramError('MISSING_FIELD', 'query: keyword mode needs a query text');
  if (q.contextId !== undefined && q.contextIds !== undefined) throw new EngramError('INVALID_FIELD', 'give contextId or contextIds, not both');
  let types: WorkUnitType[] | undefined;
  if (q.types !== undefined) {
    if (!Array.isArray(q.types) || q.types.length === 0) throw new EngramError('INVALID_FIELD', 'types: must be a non-empty array');
    types = q.types.map((t: unknown, i) => {
      if (typeof t !== 'string' || !(WORK_UNIT_TYPES as readonly string[]).includes(t)) {
        throw new EngramError('INVALID_FIELD', `types[${i}]: must be one of ${WORK_UNIT_TYPES.join(', ')}`);
      }
      return t as WorkUnitType;
    });
  }
  const limit = int(q.limit, 'limit', 1, SEARCH_LIMITS.limitMax, SEARCH_LIMITS.limitDefault);
  const offset = int(q.offset, 'offset', 0, SEARCH_LIMITS.depthMax - 1, 0);
  if (offset + limit > SEARCH_LIMITS.depthMax) throw new EngramError('INVALID_FIELD', `offset + limit: at most ${SEARCH_LIMITS.depthMax}`);
  const since = q.since === undefined ? undefined : time(q.since, 'since');
  const until = q.until === undefined ? undefined : time(q.until, 'until');
  if (q.fresh !== undefined && typeof q.fresh !== 'boolean') throw new EngramError('INVALID_FIELD', 'fresh: must be true or false');
  return {
    query,
    vector,
    mode: mode as SearchMode,
    contextIds: q.contextId !== undefined ? [checkId(q.contextId, 'contextId')] : q.contextIds === undefined ? undefined : idList(q.contextIds, 'contextIds'),
    agentIds: q.agentIds === undefined ? undefined : idList(q.agentIds, 'agentIds'),
    types,
    meta: q.meta === undefined ? undefined : checkStringMap(q.meta, 'meta'),
    since,
    until,
    limit,
    offset,
    fresh: q.fresh === true,
  };
}
