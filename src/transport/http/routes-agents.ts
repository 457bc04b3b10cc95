/** What only agents need, over HTTP: a context window under a token budget, summaries by the model, and approvals (docs/agents.md). */
import { windowBytes } from '../../agents/window.js';
import type { AgentServices } from '../../agents/services.js';
import type { ApprovalService } from '../../agents/approvals.js';
import { bodyHeaders, pathParam, Query, readJsonBody, Reply } from './io.js';
import { PAGE_AFTER, PAGE_LIMIT, param, STR } from './operation.js';
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
          deps.agents.window.window(principal, contextId, body).then((w) => reply.json(200, windowBytes(w)), reject(reply));
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
  registerApprovalRoutes(t, { approvals: deps.agents.approvals, maxBodyBytes: deps.maxBodyBytes }, reject);
}

function registerApprovalRoutes(t: RouteTable, deps: { approvals: ApprovalService; maxBodyBytes: number }, reject: (reply: Reply) => (err: unknown) => void): void {
  const { approvals, maxBodyBytes } = deps;
  t.route('/contexts/:id/approvals', {
    post: {
      operation: {
        summary:
          'Ask for an approval: stores an APPROVAL_REQUEST unit (what the agent wants to do, its expiry, the lock it holds), only while `lock.token` is the current holder’s (FENCE_REJECTED otherwise). Answers the approval, pending.',
        tag: 'approvals',
        scope: 'write',
        body: 'ApprovalRequest',
        headers: [param('Idempotency-Key', STR, 'Retries with the same key get the first request.')],
        ok: { 201: 'Approval' },
        errors: ['INVALID_ID', 'INVALID_FIELD', 'MISSING_FIELD', 'UNKNOWN_FIELD', 'MALFORMED_JSON', 'UNSUPPORTED_MEDIA_TYPE', 'FENCE_REJECTED', 'QUOTA_EXCEEDED'],
      },
      handler: (reply, req, principal) => {
        const contextId = pathParam(req, 0, 'id');
        const key = req.getHeader('idempotency-key');
        readJsonBody(reply, bodyHeaders(req), maxBodyBytes, (body) => {
          approvals.request(principal, contextId, body, key === '' ? undefined : key).then((a) => reply.json(201, JSON.stringify(a)), reject(reply));
        });
      },
    },
  });
  t.route('/contexts/:id/approvals/:requestId', {
    get: {
      operation: {
        summary:
          'An approval, for the agent that asked: at once, or when it is decided or expires, waiting up to `wait` seconds (at most 60; then it answers `pending`). An approval is answered only while its lock is still held with the token it was asked under (FENCE_REJECTED otherwise), so a worker that lost its lease cannot act on it.',
        tag: 'approvals',
        scope: 'read',
        query: [param('wait', { type: 'integer', minimum: 0 }, 'Seconds to wait for a decision (long poll); more than 60 counts as 60.')],
        ok: { 200: 'Approval' },
        errors: ['INVALID_ID', 'INVALID_QUERY', 'APPROVAL_NOT_FOUND', 'FENCE_REJECTED'],
      },
      handler: (reply, req, principal) => {
        const contextId = pathParam(req, 0, 'id');
        const requestId = pathParam(req, 1, 'requestId');
        const wait = new Query(req.getQuery()).int('wait');
        const gone = new AbortController();
        reply.onAbort(() => gone.abort());
        approvals
          .get(principal, contextId, requestId, { waitMs: wait === undefined ? 0 : Math.min(wait, 60) * 1000, signal: gone.signal })
          .then((a) => reply.json(200, JSON.stringify(a)), reject(reply));
      },
    },
  });
  t.route('/contexts/:id/approvals/:requestId/decision', {
    post: {
      operation: {
        summary:
          'Decide: stores the one APPROVAL_DECISION unit of the request (RESPONDS_TO it, carrying its lock). A second decision is APPROVAL_DECIDED; a request past its expiry, APPROVAL_EXPIRED.',
        tag: 'approvals',
        scope: 'write',
        body: 'ApprovalDecisionInput',
        ok: { 200: 'Approval' },
        errors: [
          'INVALID_ID',
          'INVALID_FIELD',
          'MISSING_FIELD',
          'UNKNOWN_FIELD',
          'MALFORMED_JSON',
          'UNSUPPORTED_MEDIA_TYPE',
          'APPROVAL_NOT_FOUND',
          'APPROVAL_DECIDED',
          'APPROVAL_EXPIRED',
          'QUOTA_EXCEEDED',
        ],
      },
      handler: (reply, req, principal) => {
        const contextId = pathParam(req, 0, 'id');
        const requestId = pathParam(req, 1, 'requestId');
        readJsonBody(reply, bodyHeaders(req), maxBodyBytes, (body) => {
          approvals.decide(principal, contextId, requestId, body).then((a) => reply.json(200, JSON.stringify(a)), reject(reply));
        });
      },
    },
  });
  t.route('/approvals', {
    get: {
      operation: {
        summary: 'Approvals of every context the client reads (or of one), oldest request first: pending ones by default (the dashboard’s list).',
        tag: 'approvals',
        scope: 'read',
        query: [
          param('status', { enum: ['pending', 'approved', 'denied', 'expired', 'all'] }, 'Which (default pending).'),
          param('contextId', STR, 'Only this context’s.'),
          PAGE_LIMIT,
          PAGE_AFTER,
          param('since', STR, 'The `version` of the last answer: wait (up to `wait` seconds) until approvals change, then answer.'),
          param('wait', { type: 'integer', minimum: 0 }, 'Seconds to wait with `since` (more than 60 counts as 60).'),
        ],
        ok: { 200: 'ApprovalPage' },
        errors: ['INVALID_QUERY', 'INVALID_ID'],
      },
      handler: (reply, req, principal) => {
        const q = new Query(req.getQuery());
        const wait = q.int('wait');
        const gone = new AbortController();
        reply.onAbort(() => gone.abort());
        approvals
          .list(principal, {
            status: q.string('status'),
            contextId: q.string('contextId'),
            limit: q.int('limit'),
            after: q.string('after'),
            since: q.string('since'),
            waitMs: wait === undefined ? 0 : Math.min(wait, 60) * 1000,
            signal: gone.signal,
          })
          .then((page) => reply.json(200, JSON.stringify(page)), reject(reply));
      },
    },
  });
}
