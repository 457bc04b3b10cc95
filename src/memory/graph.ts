/**
 * A knowledge graph of entities (a name, a type, observations) and directed relations, with the
 * tools and argument shapes of the reference MCP memory server: create_entities,
 * create_relations, add_observations, delete_entities, delete_observations, delete_relations,
 * read_graph, search_nodes, open_nodes. Where that server rewrites one JSON file (and loses
 * writes when two processes share it), here every change is a unit in the space's graph context
 * (`graph/<space>`) holding exactly what it changed, and the graph is the replay of that
 * context, changed one tool call at a time (memory/projection.ts).
 */
import { memoryOperation } from './memory-spans.js';
import type { Tracer } from '../basics/tracer.js';
import type { Principal } from '../tenancy/access.js';
import type { Gate } from '../gate/gate.js';
import { EngramError } from '../basics/errors.js';
import { memoryContext } from './memory.js';
import { Projection, type ProjectionOf, type ProjectionOptions } from './projection.js';

export const GRAPH_LIMITS = { nameChars: 256, observationChars: 4096, itemsPerCall: 1000 } as const;

export const GRAPH_TOOLS = [
  'create_entities',
  'create_relations',
  'add_observations',
  'delete_entities',
  'delete_observations',
  'delete_relations',
  'read_graph',
  'search_nodes',
  'open_nodes',
] as const;
export type GraphTool = (typeof GRAPH_TOOLS)[number];

export interface Entity {
  name: string;
  entityType: string;
  observations: string[];
}

export interface Relation {
  from: string;
  to: string;
  relationType: string;
}

export interface KnowledgeGraph {
  entities: Entity[];
  relations: Relation[];
}

/** What one change did, as stored in its unit: replaying these in order rebuilds the graph. */
type GraphChange =
  | { op: 'create_entities'; entities: Entity[] }
  | { op: 'create_relations'; relations: Relation[] }
  | { op: 'add_observations'; observations: Array<{ entityName: string; contents: string[] }> }
  | { op: 'delete_entities'; entityNames: string[] }
  | { op: 'delete_observations'; deletions: Array<{ entityName: string; observations: string[] }> }
  | { op: 'delete_relations'; relations: Relation[] };

class Graph {
  /** By name, in creation order. */
  readonly entities = new Map<string, Entity>();
  /** By relationKey, in creation order. */
  readonly relations = new Map<string, Relation>();

  /** The graph of [entities, relations], in their order (a snapshot); throws on anything else. */
  static from(data: unknown): Graph {
    if (!Array.isArray(data) || data.length !== 2 || !Array.isArray(data[0]) || !Array.isArray(data[1])) throw new TypeError('graph: expected [entities, relations]');
    const g = new Graph();
    const str = (v: unknown) => {
      if (typeof v !== 'string') throw new TypeError('graph: expected a string');
      return v;
    };
    for (const e of data[0] as Array<Record<string, unknown>>) {
      if (!Array.isArray(e.observations)) throw new TypeError('graph: an entity without observations');
      g.entities.set(str(e.name), { name: str(e.name), entityType: str(e.entityType), observations: e.observations.map(str) });
    }
    for (const r of data[1] as Array<Record<string, unknown>>) {
      const relation = { from: str(r.from), to: str(r.to), relationType: str(r.relationType) };
      g.relations.set(relationKey(relation), relation);
    }
    return g;
  }

  apply(c: GraphChange): void {
    switch (c.op) {
      case 'create_entities':
        for (const e of c.entities) if (!this.entities.has(e.name)) this.entities.set(e.name, { name: e.name, entityType: e.entityType, observations: [...e.observations] });
        return;
      case 'create_relations':
        for (const r of c.relations) this.relations.set(relationKey(r), { from: r.from, to: r.to, relationType: r.relationType });
        return;
      case 'add_observations':
        for (const o of c.observations) {
          const e = this.entities.get(o.entityName);
          if (e !== undefined) for (const text of o.contents) if (!e.observations.includes(text)) e.observations.push(text);
        }
        return;
      case 'delete_entities': {
        const gone = new Set(c.entityNames);
        for (const n of gone) this.entities.delete(n);
        for (const [k, r] of this.relations) if (gone.has(r.from) || gone.has(r.to)) this.relations.delete(k);
        return;
      }
      case 'delete_observations':
        for (const d of c.deletions) {
          const e = this.entities.get(d.entityName);
          if (e !== undefined) e.observations = e.observations.filter((o) => !d.observations.includes(o));
        }
        return;
      case 'delete_relations':
        for (const r of c.relations) this.relations.delete(relationKey(r));
    }
  }

  /** The entities chosen and the relations among them (both ends chosen), as the reference server answers. */
  view(chosen: Entity[]): KnowledgeGraph {
    const names = new Set(chosen.map((e) => e.name));
    return { entities: chosen.map(copy), relations: [...this.relations.values()].filter((r) => names.has(r.from) && names.has(r.to)).map((r) => ({ ...r })) };
  }
}

function copy(e: Entity): Entity {
  return { name: e.name, entityType: e.entityType, observations: [...e.observations] };
}

function relationKey(r: Relation): string {
  return JSON.stringify([r.from, r.to, r.relationType]);
}

/** Exported for tests that compare rebuilt states. */
export const GRAPH_PROJECTION: ProjectionOf<Graph> = {
  empty: () => new Graph(),
  apply(g, u) {
    if (u.type !== 'SYSTEM' || u.meta.memory !== 'graph') return;
    const c = u.payload as GraphChange;
    if (typeof c === 'object' && c !== null && (GRAPH_TOOLS as readonly string[]).includes(c.op)) g.apply(c);
  },
  snapshot: { name: 'graph', version: 1, encode: (g) => [[...g.entities.values()], [...g.relations.values()]], decode: (data) => Graph.from(data) },
};

export function graphContext(space: string): string {
  return 'graph/' + memoryContext(space).slice('memories/'.length);
}

// Argument checks: a bad argument is INVALID_FIELD naming where it is, and changes nothing.
function fail(field: string, what: string): never {
  throw new EngramError('INVALID_FIELD', `${field}: ${what}`);
}
function record(v: unknown, field: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(field, 'must be an object');
  return v as Record<string, unknown>;
}
function list(v: unknown, field: string): unknown[] {
  if (!Array.isArray(v)) fail(field, 'must be an array');
  if (v.length > GRAPH_LIMITS.itemsPerCall) fail(field, `at most ${GRAPH_LIMITS.itemsPerCall} items`);
  return v;
}
function text(v: unknown, field: string, max: number = GRAPH_LIMITS.nameChars): string {
  if (typeof v !== 'string' || v === '') fail(field, 'must be a non-empty string');
  if (v.length > max) fail(field, `at most ${max} characters`);
  return v;
}
function texts(v: unknown, field: string): string[] {
  return list(v, field).map((s, i) => text(s, `${field}[${i}]`, GRAPH_LIMITS.observationChars));
}
function relations(v: unknown, field: string): Relation[] {
  return list(v, field).map((x, i) => {
    const r = record(x, `${field}[${i}]`);
    return { from: text(r.from, `${field}[${i}].from`), to: text(r.to, `${field}[${i}].to`), relationType: text(r.relationType, `${field}[${i}].relationType`) };
  });
}

export interface GraphAnswer {
  /** The tool's answer as the reference server gives it: a JSON value or a sentence. */
  result: unknown;
}

export class GraphService {
  private readonly graphs: Projection<Graph>;
  private readonly tracer: Tracer | undefined;

  constructor(gate: Gate, projection: ProjectionOptions = {}) {
    this.graphs = new Projection(gate, GRAPH_PROJECTION, projection);
    this.tracer = projection.tracer;
  }

  /** Resolves once no snapshot of this service's states is being written (tests, benchmarks). */
  idle(): Promise<void> {
    return this.graphs.snapshotsSettled();
  }

  /** Runs one graph tool. Rejects with INVALID_FIELD for bad arguments, NOT_FOUND for a missing entity. */
  run(p: Principal, space: string, tool: string, rawArgs: unknown, agentId = 'memory'): Promise<GraphAnswer> {
    return memoryOperation(this.tracer, tool, `graph/${space}`, agentId, () => this.runNow(p, space, tool, rawArgs, agentId));
  }

  private async runNow(p: Principal, space: string, tool: string, rawArgs: unknown, agentId: string): Promise<GraphAnswer> {
    const contextId = graphContext(space);
    const args = record(rawArgs ?? {}, 'arguments');
    switch (tool) {
      case 'read_graph': {
        const g = await this.graphs.read(p, contextId);
        return { result: g.view([...g.entities.values()]) };
      }
      case 'search_nodes': {
        const q = text(args.query, 'query', GRAPH_LIMITS.observationChars).toLowerCase();
        const g = await this.graphs.read(p, contextId);
        const hit = (s: string) => s.toLowerCase().includes(q);
        return { result: g.view([...g.entities.values()].filter((e) => hit(e.name) || hit(e.entityType) || e.observations.some(hit))) };
      }
      case 'open_nodes': {
        const names = new Set(list(args.names, 'names').map((n, i) => text(n, `names[${i}]`)));
        const g = await this.graphs.read(p, contextId);
        return { result: g.view([...g.entities.values()].filter((e) => names.has(e.name))) };
      }
    }
    const decide = this.decider(tool, args);
    const changed = await this.graphs.change(p, contextId, (g) => {
      const { change, result } = decide(g);
      const empty = change === undefined;
      return { units: empty ? [] : [{ agentId, type: 'SYSTEM' as const, meta: { memory: 'graph', tool }, payload: change }], result };
    });
    return { result: changed.result };
  }

  /** Checks a changing tool's arguments now; the returned function decides against the current graph. */
  private decider(tool: string, args: Record<string, unknown>): (g: Graph) => { change: GraphChange | undefined; result: unknown } {
    switch (tool) {
      case 'create_entities': {
        const wanted = list(args.entities, 'entities').map((x, i) => {
          const e = record(x, `entities[${i}]`);
          return {
            name: text(e.name, `entities[${i}].name`),
            entityType: text(e.entityType, `entities[${i}].entityType`),
            observations: texts(e.observations ?? [], `entities[${i}].observations`),
          };
        });
        return (g) => {
          const seen = new Set<string>();
          const created = wanted.filter((e) => !g.entities.has(e.name) && !seen.has(e.name) && seen.add(e.name));
          return { change: created.length === 0 ? undefined : { op: 'create_entities', entities: created }, result: created };
        };
      }
      case 'create_relations': {
        const wanted = relations(args.relations, 'relations');
        return (g) => {
          const seen = new Set<string>();
          const created = wanted.filter((r) => !g.relations.has(relationKey(r)) && !seen.has(relationKey(r)) && seen.add(relationKey(r)));
          return { change: created.length === 0 ? undefined : { op: 'create_relations', relations: created }, result: created };
        };
      }
      case 'add_observations': {
        const wanted = list(args.observations, 'observations').map((x, i) => {
          const o = record(x, `observations[${i}]`);
          return { entityName: text(o.entityName, `observations[${i}].entityName`), contents: texts(o.contents, `observations[${i}].contents`) };
        });
        return (g) => {
          const results = wanted.map((o) => {
            const e = g.entities.get(o.entityName);
            // The reference server's words; nothing of the call is applied.
            if (e === undefined) throw new EngramError('NOT_FOUND', `Entity with name ${o.entityName} not found`);
            return { entityName: o.entityName, addedObservations: [...new Set(o.contents)].filter((c) => !e.observations.includes(c)) };
          });
          const added = results.filter((r) => r.addedObservations.length > 0).map((r) => ({ entityName: r.entityName, contents: r.addedObservations }));
          return { change: added.length === 0 ? undefined : { op: 'add_observations', observations: added }, result: results };
        };
      }
      case 'delete_entities': {
        const names = list(args.entityNames, 'entityNames').map((n, i) => text(n, `entityNames[${i}]`));
        return (g) => {
          const known = [...new Set(names)].filter((n) => g.entities.has(n));
          return { change: known.length === 0 ? undefined : { op: 'delete_entities', entityNames: known }, result: 'Entities deleted successfully' };
        };
      }
      case 'delete_observations': {
        const wanted = list(args.deletions, 'deletions').map((x, i) => {
          const d = record(x, `deletions[${i}]`);
          return { entityName: text(d.entityName, `deletions[${i}].entityName`), observations: texts(d.observations, `deletions[${i}].observations`) };
        });
        return (g) => {
          const real = wanted
            .map((d) => ({ entityName: d.entityName, observations: d.observations.filter((o) => g.entities.get(d.entityName)?.observations.includes(o)) }))
            .filter((d) => d.observations.length > 0);
          return { change: real.length === 0 ? undefined : { op: 'delete_observations', deletions: real }, result: 'Observations deleted successfully' };
        };
      }
      case 'delete_relations': {
        const wanted = relations(args.relations, 'relations');
        return (g) => {
          const real = wanted.filter((r) => g.relations.has(relationKey(r)));
          return { change: real.length === 0 ? undefined : { op: 'delete_relations', relations: real }, result: 'Relations deleted successfully' };
        };
      }
      default:
        throw new EngramError('NOT_FOUND', `no graph tool ${JSON.stringify(tool)}; the tools are ${GRAPH_TOOLS.join(', ')}`);
    }
  }
}
