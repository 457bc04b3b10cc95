/** Shared agent memory, as one bundle for the transports: memory-tool files, facts, memory from conversations and the knowledge graph. */
import { ConversationMemory } from './conversation.js';
import { FactService, type FactOptions } from './facts.js';
import type { Gate } from '../gate/gate.js';
import { GraphService } from './graph.js';
import type { LanguageModel } from './language-model.js';
import { MemoryService } from './memory.js';
import type { ProjectionOptions } from './projection.js';

export interface AgentMemory {
  files: MemoryService;
  facts: FactService;
  /** Facts from conversation turns (process-turn, query), kept as the facts above. */
  turns: ConversationMemory;
  graph: GraphService;
}

/**
 * `projections`: snapshots and the observer, for the three states (each keeps its own states and snapshots).
 * `model`: the language model that reads conversation turns (absent: the rules).
 */
export function createAgentMemory(gate: Gate, facts: FactOptions, projections: ProjectionOptions = {}, model?: LanguageModel): AgentMemory {
  const factService = new FactService(gate, facts, projections);
  return {
    files: new MemoryService(gate, projections),
    facts: factService,
    turns: new ConversationMemory(gate, factService, {
      ...(facts.embed === undefined ? {} : { embed: facts.embed }),
      factSimilarity: facts.similarity,
      ...(model === undefined ? {} : { model }),
      ...(projections.tracer === undefined ? {} : { tracer: projections.tracer }),
    }),
    graph: new GraphService(gate, projections),
  };
}
