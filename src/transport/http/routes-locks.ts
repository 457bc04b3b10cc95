/** Routes of the lock manager: /locks (docs/locks.md). Resources are percent-encoded in paths. */
import type { LockManager } from '../../core/locks.js';
import { bodyHeaders, pathParam, Query, readJsonBody, Reply } from './io.js';
import type { RouteTable } from './server.js';

export function registerLockRoutes(t: RouteTable, deps: { locks: LockManager; maxBodyBytes: number }): void {
  const { locks, maxBodyBytes } = deps;
  const reject = (reply: Reply) => (err: unknown) => reply.error(err, t.onInternal);

  t.route('/locks', {
    post: (reply, req, clientId) => {
      readJsonBody(reply, bodyHeaders(req), maxBodyBytes, (body) => {
        const pending = locks.acquire(clientId, body);
        // A client that gives up while waiting withdraws its request (and frees anything granted meanwhile).
        reply.onAbort(() => pending.cancel());
        const many = typeof body === 'object' && body !== null && 'resources' in body;
        pending.result.then((views) => reply.json(200, JSON.stringify(many ? { locks: views } : views[0])), reject(reply));
      });
    },
    get: (reply, req, clientId) => {
      const q = new Query(req.getQuery());
      const page = locks.list(clientId, { agentId: q.string('agentId'), prefix: q.string('prefix'), after: q.string('after'), limit: q.int('limit') });
      reply.json(200, JSON.stringify(page));
    },
  });
  t.route('/locks/:resource', {
    get: (reply, req, clientId) => {
      reply.json(200, JSON.stringify(locks.get(clientId, pathParam(req, 0, 'resource'))));
    },
    del: (reply, req, clientId) => {
      const resource = pathParam(req, 0, 'resource');
      const q = new Query(req.getQuery());
      locks.release(clientId, resource, q.string('agentId'), q.string('lockId')).then((view) => reply.json(200, JSON.stringify(view)), reject(reply));
    },
  });
  t.route('/locks/:resource/renew', {
    post: (reply, req, clientId) => {
      const resource = pathParam(req, 0, 'resource');
      readJsonBody(reply, bodyHeaders(req), maxBodyBytes, (body) => {
        locks.renew(clientId, resource, body).then((view) => reply.json(200, JSON.stringify(view)), reject(reply));
      });
    },
  });
}
