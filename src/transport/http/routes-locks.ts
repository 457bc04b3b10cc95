/** Routes of the lock manager: /locks (docs/locks.md). Resources are percent-encoded in paths. */
import type { Gate } from '../../gate/gate.js';
import { bodyHeaders, pathParam, Query, readJsonBody, Reply } from './io.js';
import type { RouteTable } from './route-table.js';

export function registerLockRoutes(t: RouteTable, deps: { gate: Gate; maxBodyBytes: number }): void {
  const { gate, maxBodyBytes } = deps;
  const reject = (reply: Reply) => (err: unknown) => reply.error(err, t.onInternal);

  t.route('/locks', {
    post: (reply, req, principal) => {
      readJsonBody(reply, bodyHeaders(req), maxBodyBytes, (body) => {
        const pending = gate.acquireLock(principal, body);
        // A client that gives up while waiting withdraws its request (and frees anything granted meanwhile).
        reply.onAbort(() => pending.cancel());
        const many = typeof body === 'object' && body !== null && 'resources' in body;
        pending.result.then((views) => reply.json(200, JSON.stringify(many ? { locks: views } : views[0])), reject(reply));
      });
    },
    get: (reply, req, principal) => {
      const q = new Query(req.getQuery());
      gate
        .listLocks(principal, { agentId: q.string('agentId'), prefix: q.string('prefix'), after: q.string('after'), limit: q.int('limit') })
        .then((page) => reply.json(200, JSON.stringify(page)), reject(reply));
    },
  });
  t.route('/locks/:resource', {
    get: (reply, req, principal) => {
      reply.json(200, JSON.stringify(gate.getLock(principal, pathParam(req, 0, 'resource'))));
    },
    del: (reply, req, principal) => {
      const resource = pathParam(req, 0, 'resource');
      const q = new Query(req.getQuery());
      gate.releaseLock(principal, resource, q.string('agentId'), q.string('lockId')).then((view) => reply.json(200, JSON.stringify(view)), reject(reply));
    },
  });
  t.route('/locks/:resource/renew', {
    post: (reply, req, principal) => {
      const resource = pathParam(req, 0, 'resource');
      readJsonBody(reply, bodyHeaders(req), maxBodyBytes, (body) => {
        gate.renewLock(principal, resource, body).then((view) => reply.json(200, JSON.stringify(view)), reject(reply));
      });
    },
  });
}
