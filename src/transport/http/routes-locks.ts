/** Routes of the lock manager: /locks (docs/locks.md). Resources are percent-encoded in paths. */
import type { Gate } from '../../gate/gate.js';
import { bodyHeaders, pathParam, Query, readJsonBody, Reply } from './io.js';
import { PAGE_AFTER, PAGE_LIMIT, param, STR } from './operation.js';
import type { RouteTable } from './route-table.js';

export function registerLockRoutes(t: RouteTable, deps: { gate: Gate; maxBodyBytes: number }): void {
  const { gate, maxBodyBytes } = deps;
  const reject = (reply: Reply) => (err: unknown) => reply.error(err, t.onInternal);

  t.route('/locks', {
    post: {
      operation: {
        summary: 'Acquire a lock (or several, all or none), waiting up to waitMs.',
        tag: 'locks',
        scope: 'write',
        body: 'LockAcquire',
        // One lock, or { locks } when the body names several resources.
        ok: { 200: ['Lock', 'LockMany'] },
        errors: ['LOCK_HELD', 'MISSING_FIELD', 'UNKNOWN_FIELD', 'INVALID_FIELD', 'MALFORMED_JSON', 'UNSUPPORTED_MEDIA_TYPE'],
      },
      handler: (reply, req, principal) => {
        readJsonBody(reply, bodyHeaders(req), maxBodyBytes, (body) => {
          const pending = gate.acquireLock(principal, body);
          // A client that gives up while waiting withdraws its request (and frees anything granted meanwhile).
          reply.onAbort(() => pending.cancel());
          const many = typeof body === 'object' && body !== null && 'resources' in body;
          pending.result.then((views) => reply.json(200, JSON.stringify(many ? { locks: views } : views[0])), reject(reply));
        });
      },
    },
    get: {
      operation: {
        summary: 'Held locks in resource order.',
        tag: 'locks',
        scope: 'read',
        query: [PAGE_LIMIT, param('agentId', STR, 'Only this agent’s.'), param('prefix', STR, 'Only resources starting with this.'), PAGE_AFTER],
        ok: { 200: 'LockPage' },
        errors: ['INVALID_QUERY'],
      },
      handler: (reply, req, principal) => {
        const q = new Query(req.getQuery());
        gate
          .listLocks(principal, { agentId: q.string('agentId'), prefix: q.string('prefix'), after: q.string('after'), limit: q.int('limit') })
          .then((page) => reply.json(200, JSON.stringify(page)), reject(reply));
      },
    },
  });
  t.route('/locks/:resource', {
    get: {
      operation: { summary: 'The holder of a resource.', tag: 'locks', scope: 'read', ok: { 200: 'Lock' }, errors: ['LOCK_NOT_HELD'] },
      handler: (reply, req, principal) => {
        reply.json(200, JSON.stringify(gate.getLock(principal, pathParam(req, 0, 'resource'))));
      },
    },
    del: {
      operation: {
        summary: 'Release a lock (holder only).',
        tag: 'locks',
        scope: 'write',
        query: [param('agentId', STR, 'The holder.'), param('lockId', STR, 'From the acquire.')],
        ok: { 200: 'Lock' },
        errors: ['LOCK_NOT_HELD', 'NOT_LOCK_HOLDER', 'MISSING_FIELD'],
      },
      handler: (reply, req, principal) => {
        const resource = pathParam(req, 0, 'resource');
        const q = new Query(req.getQuery());
        gate.releaseLock(principal, resource, q.string('agentId'), q.string('lockId')).then((view) => reply.json(200, JSON.stringify(view)), reject(reply));
      },
    },
  });
  t.route('/locks/:resource/renew', {
    post: {
      operation: {
        summary: 'Extend a lease (holder only).',
        tag: 'locks',
        scope: 'write',
        body: 'LockRenew',
        ok: { 200: 'Lock' },
        errors: ['LOCK_NOT_HELD', 'NOT_LOCK_HOLDER', 'MISSING_FIELD', 'INVALID_FIELD'],
      },
      handler: (reply, req, principal) => {
        const resource = pathParam(req, 0, 'resource');
        readJsonBody(reply, bodyHeaders(req), maxBodyBytes, (body) => {
          gate.renewLock(principal, resource, body).then((view) => reply.json(200, JSON.stringify(view)), reject(reply));
        });
      },
    },
  });
}
