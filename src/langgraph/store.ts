/**
 * EngramStore: LangGraph's long-term memory store (`BaseStore`) on Engram. A namespace is a context
 * (`<prefix><label>.<label>…`), each put or delete of an item is a work unit appended to it, and
 * `search` with a query is Engram's hybrid search (keywords and vectors from the server's
 * embedder), so memories are found by meaning without an embedding model in the agent.
 *
 *   const store = new EngramStore({ url: 'http://127.0.0.1:8080' });
 *   await store.put(['users', 'alice'], 'prefs', { text: 'prefers dark mode' });
 *   await store.search(['users'], { query: 'what theme does alice like?' });
 *
 * An item's unit (docs/integrations.md, "The store"):
 *   put:    {lg: 'item', key, value: {$binary: <JSON, base64>, contentType: 'application/json'}, text}
 *   delete: {lg: 'item', key, deleted: true}
 * The value is kept as bytes so that only `text` (the fields chosen by `index`) is searchable; the
 * server does not index binary values. Items put with `index: false` carry no text and meta
 * `langgraph.indexed: false`, so a query does not match them.
 */
import {
  BaseStore,
  InvalidNamespaceError,
  getTextAtPath,
  validateNamespace,
  type GetOperation,
  type Item,
  type ListNamespacesOperation,
  type MatchCondition,
  type Operation,
  type OperationResults,
  type PutOperation,
  type SearchItem,
  type SearchOperation,
} from '@langchain/langgraph-checkpoint';
import { EngramClient, type EngramClientOptions } from '../client/http-client.js';
import type { WorkUnit } from '../client/types.js';
import { ContextReplicas, contextIdsWithPrefix } from './replicas.js';
import { sameJson } from './encoding.js';

export interface EngramStoreOptions {
  /** A client to use; or `url` (and `clientOptions`: API key, client id) to make one. */
  client?: EngramClient;
  url?: string;
  clientOptions?: EngramClientOptions;
  /** Context ids are `prefix + namespace.join('.')` (default `langgraph-store/`). */
  prefix?: string;
  /** The agent the units are written as (default `langgraph`). */
  agentId?: string;
  /** Which parts of a value are searchable by default: paths as LangGraph's stores take them (default `['$']`, the whole value). */
  index?: { fields?: string[] };
  /** Namespaces kept in memory between reads (default 1024). */
  maxCachedNamespaces?: number;
}

interface StoredItem {
  value: Record<string, unknown>;
  createdAt: Date;
  updatedAt: Date;
  /** The unit of the current version: a search hit of an older one is not this item any more. */
  unitId: string;
  indexed: boolean;
}

/** The items of one namespace, from its context's units. */
class NamespaceState {
  readonly items = new Map<string, StoredItem>();

  apply(unit: WorkUnit): void {
    const p = unit.payload as { lg?: unknown; key?: unknown; deleted?: unknown; value?: { $binary?: unknown } } | null;
    if (typeof p !== 'object' || p === null || p.lg !== 'item' || typeof p.key !== 'string') return;
    if (p.deleted === true) {
      this.items.delete(p.key);
      return;
    }
    if (typeof p.value?.$binary !== 'string') return;
    const value = JSON.parse(Buffer.from(p.value.$binary, 'base64').toString('utf8')) as Record<string, unknown>;
    const at = new Date(unit.ts);
    const before = this.items.get(p.key);
    this.items.set(p.key, { value, createdAt: before?.createdAt ?? at, updatedAt: at, unitId: unit.id, indexed: unit.meta['langgraph.indexed'] !== 'false' });
  }
}

/** Results of a search page asked from Engram at a time, and the deepest it pages (its offset + limit ≤ 1000). */
const SEARCH_PAGE = 100;
const SEARCH_DEPTH = 1000;
/** Namespace reads in flight at once when a search or a listing reads many. */
const READS_AT_ONCE = 16;
/** Deepest namespace: each level is a meta entry of the item's units (64 at most, docs/api.md). */
const MAX_DEPTH = 56;

/**
 * The meta of an item's units: which store, key, whether its text is indexed, and each prefix of
 * its namespace (`langgraph.ns.2: users.alice`), so a search under a prefix is one filter on meta,
 * however many namespaces lie under it.
 */
function itemMeta(prefix: string, namespace: string[], key: string, indexed: boolean): Record<string, string> {
  const meta: Record<string, string> = { langgraph: 'item', 'langgraph.store': prefix, 'langgraph.key': key, 'langgraph.indexed': String(indexed) };
  for (let depth = 1; depth <= namespace.length; depth++) meta[`langgraph.ns.${depth}`] = namespace.slice(0, depth).join('.');
  return meta;
}

export class EngramStore extends BaseStore {
  readonly client: EngramClient;
  readonly prefix: string;
  private readonly agentId: string;
  private readonly fields: string[];
  private readonly replicas: ContextReplicas<NamespaceState>;

  constructor(options: EngramStoreOptions = {}) {
    super();
    if (options.client === undefined && options.url === undefined) throw new Error('EngramStore needs a client or a url');
    this.client = options.client ?? new EngramClient(options.url!, options.clientOptions);
    this.prefix = options.prefix ?? 'langgraph-store/';
    this.agentId = options.agentId ?? 'langgraph';
    this.fields = options.index?.fields ?? ['$'];
    this.replicas = new ContextReplicas(this.client, () => new NamespaceState(), options.maxCachedNamespaces ?? 1024);
  }

  /** The context that holds a namespace. */
  contextOf(namespace: string[]): string {
    if (namespace.length > MAX_DEPTH) throw new InvalidNamespaceError(`namespace ${namespace.join('.')} is deeper than ${MAX_DEPTH} labels`);
    const id = this.prefix + namespace.join('.');
    if (id.length > 256) throw new InvalidNamespaceError(`namespace ${namespace.join('.')} is too long for an Engram context id (${id.length} > 256 characters with the prefix)`);
    return id;
  }

  /**
   * Runs the operations in order of kind as LangGraph's stores do: reads see the state before the
   * batch's puts, and of several puts to one item the last wins.
   */
  async batch<Op extends Operation[]>(operations: Op): Promise<OperationResults<Op>> {
    const results: unknown[] = new Array(operations.length).fill(null);
    const puts = new Map<string, PutOperation>();
    const reads: Array<Promise<void>> = [];
    operations.forEach((op, i) => {
      if ('value' in op) {
        validateNamespace(op.namespace);
        puts.set(JSON.stringify([op.namespace, op.key]), op);
      } else if ('namespacePrefix' in op) {
        reads.push(this.search_(op).then((r) => void (results[i] = r)));
      } else if ('key' in op) {
        validateNamespace(op.namespace, { allowReservedRoot: true });
        reads.push(this.get_(op).then((r) => void (results[i] = r)));
      } else if ('matchConditions' in op) {
        reads.push(this.listNamespaces_(op).then((r) => void (results[i] = r)));
      }
    });
    await Promise.all(reads);
    await Promise.all([...puts.values()].map((op) => this.put_(op)));
    return results as OperationResults<Op>;
  }

  private async get_(op: GetOperation): Promise<Item | null> {
    const state = await this.replicas.get(this.contextOf(op.namespace));
    const item = state?.items.get(op.key);
    return item === undefined ? null : itemOf(op.namespace, op.key, item);
  }

  private async put_(op: PutOperation): Promise<void> {
    const contextId = this.contextOf(op.namespace);
    let payload: Record<string, unknown>;
    let indexed = false;
    if (op.value === null) {
      // Deleting what is not there stores nothing.
      const state = await this.replicas.get(contextId);
      if (state?.items.has(op.key) !== true) return;
      payload = { lg: 'item', key: op.key, deleted: true };
    } else {
      const fields = op.index === false ? [] : (op.index ?? this.fields);
      const text = fields.flatMap((f) => (f === '$' ? stringsOf(op.value) : getTextAtPath(op.value, f))).join('\n');
      indexed = op.index !== false;
      const json = Buffer.from(JSON.stringify(op.value), 'utf8').toString('base64');
      payload = { lg: 'item', key: op.key, value: { $binary: json, contentType: 'application/json' }, ...(indexed ? { text } : {}) };
    }
    await this.client.write({
      contextId,
      agentId: this.agentId,
      type: 'SYSTEM',
      meta: itemMeta(this.prefix, op.namespace, op.key, indexed),
      payload,
    });
  }

  private async search_(op: SearchOperation): Promise<SearchItem[]> {
    if (op.namespacePrefix.length > 0) validateNamespace(op.namespacePrefix);
    const limit = op.limit ?? 10;
    const offset = op.offset ?? 0;
    const states = new Map<string, { namespace: string[]; state: NamespaceState }>();
    for (const { namespace, state } of await this.statesUnder(op.namespacePrefix)) states.set(this.contextOf(namespace), { namespace, state });
    const matches = (value: Record<string, unknown>): boolean => op.filter === undefined || Object.entries(op.filter).every(([k, f]) => matchesFilter(value[k], f));
    if (op.query === undefined || op.query.trim() === '') {
      // Newest first: by the id of each item's current unit (ids sort in commit order, finer than ts).
      const all: Array<{ unitId: string; item: SearchItem }> = [];
      for (const { namespace, state } of states.values())
        for (const [key, item] of state.items) if (matches(item.value)) all.push({ unitId: item.unitId, item: itemOf(namespace, key, item) });
      all.sort((a, b) => (a.unitId < b.unitId ? 1 : a.unitId > b.unitId ? -1 : 0));
      return all.slice(offset, offset + limit).map((x) => x.item);
    }
    // Ranked by Engram's hybrid search over the units under the prefix (one meta filter); a hit of
    // an item's older version (or of a deleted item) is not the item.
    const scored: SearchItem[] = [];
    const seen = new Set<string>();
    const meta: Record<string, string> = { 'langgraph.store': this.prefix, 'langgraph.indexed': 'true' };
    if (op.namespacePrefix.length > 0) meta[`langgraph.ns.${op.namespacePrefix.length}`] = op.namespacePrefix.join('.');
    for (let from = 0; from < SEARCH_DEPTH && scored.length < offset + limit; from += SEARCH_PAGE) {
      const page = await this.client.search({ query: op.query, meta, limit: SEARCH_PAGE, offset: from, fresh: true });
      for (const hit of page.results) {
        const owner = states.get(hit.workUnit.contextId);
        const key = (hit.workUnit.payload as { key?: unknown } | null)?.key;
        if (owner === undefined || typeof key !== 'string') continue;
        const item = owner.state.items.get(key);
        const id = `${hit.workUnit.contextId}\0${key}`;
        if (item === undefined || item.unitId !== hit.workUnit.id || seen.has(id) || !matches(item.value)) continue;
        seen.add(id);
        scored.push({ ...itemOf(owner.namespace, key, item), score: hit.score });
      }
      if (page.results.length < SEARCH_PAGE) break;
    }
    const page = scored.slice(offset, offset + limit);
    // As LangGraph's in-memory store does: items kept out of the index fill a short page, unscored.
    for (const { namespace, state } of states.values()) {
      for (const [key, item] of state.items) {
        if (page.length >= limit) return page;
        if (!item.indexed && matches(item.value)) page.push(itemOf(namespace, key, item));
      }
    }
    return page;
  }

  private async listNamespaces_(op: ListNamespacesOperation): Promise<string[][]> {
    const literal: string[] = [];
    for (const label of op.matchConditions?.find((c) => c.matchType === 'prefix')?.path ?? []) {
      if (label === '*') break;
      literal.push(label);
    }
    let namespaces: string[][] = [];
    for (const { namespace, state } of await this.statesUnder(literal)) {
      if (state.items.size > 0 && (op.matchConditions ?? []).every((c) => conditionHolds(c, namespace))) namespaces.push(namespace);
    }
    if (op.maxDepth !== undefined) {
      const cut = new Map<string, string[]>();
      for (const ns of namespaces) cut.set(ns.slice(0, op.maxDepth).join('.'), ns.slice(0, op.maxDepth));
      namespaces = [...cut.values()];
    }
    namespaces.sort((a, b) => (a.join('.') < b.join('.') ? -1 : a.join('.') > b.join('.') ? 1 : 0));
    return namespaces.slice(op.offset ?? 0, (op.offset ?? 0) + (op.limit ?? namespaces.length));
  }

  /** The namespaces equal to or below `prefix`, each brought up to date; READS_AT_ONCE reads at a time. */
  private async statesUnder(prefix: string[]): Promise<Array<{ namespace: string[]; state: NamespaceState }>> {
    const namespaces = await this.namespacesUnder(prefix);
    const out: Array<{ namespace: string[]; state: NamespaceState }> = [];
    let next = 0;
    const worker = async () => {
      while (next < namespaces.length) {
        const namespace = namespaces[next++]!;
        const state = await this.replicas.get(this.contextOf(namespace));
        if (state !== undefined) out.push({ namespace, state });
      }
    };
    await Promise.all(Array.from({ length: Math.min(READS_AT_ONCE, namespaces.length) }, worker));
    return out;
  }

  /** The namespaces with a context, equal to or below `prefix`. */
  private async namespacesUnder(prefix: string[]): Promise<string[][]> {
    const base = this.prefix + prefix.join('.');
    const out: string[][] = [];
    for (const id of await contextIdsWithPrefix(this.client, base)) {
      if (prefix.length > 0 && id !== base && !id.startsWith(`${base}.`)) continue; // ['a','b'] is not under ['a','bc']
      const rest = id.slice(this.prefix.length);
      if (rest !== '') out.push(rest.split('.'));
    }
    return out;
  }
}

/** The whole value's text ('$'): its strings, numbers and booleans, depth first (not its keys). */
function stringsOf(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (typeof value === 'number' || typeof value === 'boolean') return [String(value)];
  if (typeof value !== 'object' || value === null) return [];
  return (Array.isArray(value) ? value : Object.values(value)).flatMap(stringsOf);
}

function itemOf(namespace: string[], key: string, item: StoredItem): Item {
  return { namespace, key, value: item.value, createdAt: item.createdAt, updatedAt: item.updatedAt };
}

/** A filter value: an exact value, or operators ($eq, $ne, $gt, $gte, $lt, $lte, $in, $nin) as LangGraph's stores take them. */
function matchesFilter(actual: unknown, filter: unknown): boolean {
  if (typeof filter === 'object' && filter !== null && !Array.isArray(filter) && Object.keys(filter).some((k) => k.startsWith('$'))) {
    return Object.entries(filter as Record<string, unknown>).every(([op, v]) => {
      switch (op) {
        case '$eq':
          return sameJson(actual, v);
        case '$ne':
          return !sameJson(actual, v);
        case '$gt':
          return Number(actual) > Number(v);
        case '$gte':
          return Number(actual) >= Number(v);
        case '$lt':
          return Number(actual) < Number(v);
        case '$lte':
          return Number(actual) <= Number(v);
        case '$in':
          return Array.isArray(v) && v.some((x) => sameJson(actual, x));
        case '$nin':
          return !Array.isArray(v) || !v.some((x) => sameJson(actual, x));
        default:
          return false;
      }
    });
  }
  return sameJson(actual, filter);
}

function conditionHolds(c: MatchCondition, ns: string[]): boolean {
  if (c.path.length > ns.length) return false;
  const start = c.matchType === 'prefix' ? 0 : ns.length - c.path.length;
  return c.path.every((label, i) => label === '*' || ns[start + i] === label);
}
