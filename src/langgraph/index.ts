/**
 * Engram for LangGraph.js: `import { EngramSaver, EngramStore } from 'engram/langgraph'`. A checkpoint
 * saver that keeps each thread in a context (and lets another process follow it live), and a store
 * for long-term memory served by Engram's hybrid search (docs/integrations.md).
 */
export { EngramSaver, type EngramSaverOptions, type ThreadEvent } from './saver.js';
export { EngramStore, type EngramStoreOptions } from './store.js';
