/**
 * The CheckpointerTestInitializer that LangGraph's own conformance suite
 * (@langchain/langgraph-checkpoint-validation) runs EngramSaver with. The server is started by
 * test/langgraph/validation.test.ts and named by ENGRAM_URL; each checkpointer the suite creates
 * acts as a client of its own (X-Client-ID), so no instance sees another's threads.
 */
import { randomUUID } from 'node:crypto';
import { EngramSaver } from '../../src/langgraph/index.js';

const url = process.env.ENGRAM_URL;
if (url === undefined) throw new Error('ENGRAM_URL is not set: run this suite through test/langgraph/validation.test.ts');

export default {
  checkpointerName: 'engram',
  createCheckpointer: () => new EngramSaver({ url, clientOptions: { clientId: `lg-${randomUUID()}` } }),
};
