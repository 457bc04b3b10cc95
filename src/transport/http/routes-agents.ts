/** What only agents need, over HTTP: a context window under a token budget (docs/agents.md). */
import { windowJson, type WindowService } from '../../agents/window.js';
import { bodyHeaders, pathParam, readJsonBody, Reply } from './io.js';
import type { RouteTable } from './route-table.js';

export function registerAgentRoutes(t: RouteTable, deps: { window: WindowService; maxBodyBytes: number }): void {
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
          deps.window.window(principal, contextId, body).then((w) => reply.json(200, windowJson(w)), reject(reply));
        });
      },
    },
  });
}
