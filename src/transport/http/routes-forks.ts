/** Forks of contexts over HTTP (docs/agents.md, Forks): make one, list a context's. Deleting goes through DELETE /contexts/{id}?cascade. */
import type { Gate } from '../../gate/gate.js';
import { bodyHeaders, pathParam, readJsonBody, Reply } from './io.js';
import type { RouteTable } from './route-table.js';

export function registerForkRoutes(t: RouteTable, deps: { gate: Gate; maxBodyBytes: number }): void {
  const { gate } = deps;
  const reject = (reply: Reply) => (err: unknown) => reply.error(err, t.onInternal);
  t.route('/contexts/:id/fork', {
    post: {
      operation: {
        summary:
          "Fork a context at `seq`: a new context (`id`, made up when absent) in the same space that shares the parent's units up to `seq` without copying them, records its lineage, and goes on from seq + 1.",
        tag: 'contexts',
        scope: 'write',
        body: 'ContextFork',
        ok: { 201: 'Context' },
        errors: [
          'CONTEXT_NOT_FOUND',
          'FORK_BEYOND_HEAD',
          'CONTEXT_EXISTS',
          'INVALID_ID',
          'INVALID_FIELD',
          'MISSING_FIELD',
          'UNKNOWN_FIELD',
          'MALFORMED_JSON',
          'UNSUPPORTED_MEDIA_TYPE',
          'QUOTA_EXCEEDED',
          'STORAGE_UNAVAILABLE',
        ],
      },
      handler: (reply, req, principal) => {
        const parentId = pathParam(req, 0, 'contextId');
        readJsonBody(reply, bodyHeaders(req), deps.maxBodyBytes, (body) => {
          gate.forkContext(principal, parentId, body).then((ctx) => reply.json(201, JSON.stringify(ctx), [['ETag', `"${ctx.version}"`]]), reject(reply));
        });
      },
    },
  });
  t.route('/contexts/:id/forks', {
    get: {
      operation: {
        summary: 'The forks of a context (those forked from it directly).',
        tag: 'contexts',
        scope: 'read',
        ok: { 200: 'ForkList' },
        errors: ['CONTEXT_NOT_FOUND', 'INVALID_ID'],
      },
      handler: (reply, req, principal) => {
        gate.listForks(principal, pathParam(req, 0, 'contextId')).then((forks) => reply.json(200, JSON.stringify({ forks })), reject(reply));
      },
    },
  });
}
