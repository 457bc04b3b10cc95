/** What only agents need, over HTTP: a context window under a token budget, summaries by the model (docs/agents.md). */
import { windowJson } from '../../agents/window.js';
import type { AgentServices } from '../../agents/services.js';
import { bodyHeaders, pathParam, readJsonBody, Reply } from './io.js';
import type { RouteTable } from './route-table.js';

export function registerAgentRoutes(t: RouteTable, deps: { agents: AgentServices; maxBodyBytes: number }): void {
  const reject = (reply: Reply) => (err: unknown) => reply.error(err, t.onInternal);
  t.route('/contexts/:id/window', {
    post: {
      operation: {
        summary:
          'The units to hand a model, in order, never more tokens than `budget`: pinned units, then the older units most relevant to `query` (hybrid search), then the most recent ones; each with its token count and why it was chosen. `model` picks the tokenizer (o200k_base for gpt-4o and later, cl100k_base for gpt-4 and 3.5, an o200k_base estimate for others: `exact` says which).',
        tag: 'contexts',
        scope: 'read',
        body: 'ContextWindowRequest',
        ok: { 200: 'Document' },
        errors: ['INVALID_ID', 'INVALID_FIELD', 'MISSING_FIELD', 'UNKNOWN_FIELD', 'MALFORMED_JSON', 'UNSUPPORTED_MEDIA_TYPE', 'CONTEXT_NOT_FOUND'],
      },
      handler: (reply, req, principal) => {
        const contextId = pathParam(req, 0, 'id');
        readJsonBody(reply, bodyHeaders(req), deps.maxBodyBytes, (body) => {
          deps.agents.window.window(principal, contextId, body).then((w) => reply.json(200, windowJson(w)), reject(reply));
        });
      },
    },
  });
  t.route('/contexts/:id/summarize', {
    post: {
      operation: {
        summary:
          'The configured language model (memory.model) summarizes seqs `from`..`to` (default: all), read with the summaries already there in place of their ranges, and the summary is stored as a SUMMARY unit covering the range (docs/agents.md#summaries). Answers the stored unit.',
        tag: 'contexts',
        scope: 'write',
        body: 'SummarizeRequest',
        ok: { 201: 'WorkUnit' },
        errors: ['INVALID_ID', 'INVALID_FIELD', 'UNKNOWN_FIELD', 'MALFORMED_JSON', 'UNSUPPORTED_MEDIA_TYPE', 'CONTEXT_NOT_FOUND', 'MODEL_UNAVAILABLE', 'MODEL_OUTPUT_INVALID'],
      },
      handler: (reply, req, principal) => {
        const contextId = pathParam(req, 0, 'id');
        readJsonBody(reply, bodyHeaders(req), deps.maxBodyBytes, (body) => {
          deps.agents.summarizer.summarize(principal, contextId, body).then((json) => reply.json(201, json), reject(reply));
        });
      },
    },
  });
}
