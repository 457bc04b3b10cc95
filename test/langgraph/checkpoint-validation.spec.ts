/**
 * LangGraph's conformance suite for checkpoint savers, run by vitest against EngramSaver
 * (test/langgraph/validation.test.ts starts the server and vitest). Besides the default suite,
 * the opt-in getDeltaChannelHistory scenarios that LangGraph's own savers also run.
 *
 * Not through the package's `validate-checkpointer` CLI: in version 1.1.1 its runner imports a
 * function its own import_utils does not export, and fails before running a test.
 */
import { deltaChannelHistoryTests, validate } from '@langchain/langgraph-checkpoint-validation';
import initializer from './validation-initializer.js';

validate(initializer);
deltaChannelHistoryTests(initializer);
