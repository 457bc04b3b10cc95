/** Shared agent memory, as one bundle for the transports: memory-tool files, facts and the knowledge graph. */
import { FactService, type FactOptions } from './facts.js';
import type { Gate } from '../gate/gate.js';
import { GraphService } from './graph.js';
import { MemoryService } from './memory.js';

export interface AgentMemory {
  files: MemoryService;
  facts: FactService;
  graph: GraphService;
}

export function createAgentMemory(gate: Gate, facts: FactOptions): AgentMemory {
  return { files: new MemoryService(gate), facts: new FactService(gate, facts), graph: new GraphService(gate) };
}
