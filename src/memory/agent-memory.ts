/** Shared agent memory, as one bundle for the transports: memory-tool files, facts and the knowledge graph. */
import { FactService, type FactOptions } from './facts.js';
import type { Gate } from '../gate/gate.js';
import { GraphService } from './graph.js';
import { MemoryService } from './memory.js';
import type { ProjectionOptions } from './projection.js';

export interface AgentMemory {
  files: MemoryService;
  facts: FactService;
  graph: GraphService;
}

/** `projections`: snapshots and the observer, for all three (each keeps its own states and snapshots). */
export function createAgentMemory(gate: Gate, facts: FactOptions, projections: ProjectionOptions = {}): AgentMemory {
  return { files: new MemoryService(gate, projections), facts: new FactService(gate, facts, projections), graph: new GraphService(gate, projections) };
}
