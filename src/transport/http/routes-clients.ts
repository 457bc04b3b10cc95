/** Management of clients: /clients/list, /clients/status/{clientId}, DELETE /clients/{clientId}, /clients/cleanup (admin scope; docs/clients.md). */
import { resolveClientId } from '../../tenancy/clients.js';
import { EngramError } from '../../basics/errors.js';
import type { Gate } from '../../gate/gate.js';
import { pathParam, Query, Reply } from './io.js';
import { INT, PAGE_AFTER, PAGE_LIMIT, param } from './operation.js';
import type { RouteTable } from './route-table.js';

export function registerClientRoutes(t: RouteTable, deps: { gate: Gate }): void {
  const { gate } = deps;
  const reject = (reply: Reply) => (err: unknown) => reply.error(err, t.onInternal);

  t.route('/clients/list', {
    get: {
      operation: {
        summary: 'Clients with data or in-memory state.',
        tag: 'clients',
        scope: 'admin',
        query: [PAGE_LIMIT, PAGE_AFTER],
        ok: { 200: 'ClientList' },
        errors: ['INVALID_QUERY'],
      },
      handler: (reply, req, principal) => {
        const q = new Query(req.getQuery());
        gate.listClients(principal, { after: q.string('after'), limit: q.int('limit') }).then((page) => reply.json(200, JSON.stringify(page)), reject(reply));
      },
    },
  });
  t.route('/clients/status/:clientId', {
    get: {
      operation: { summary: 'What one client holds now.', tag: 'clients', scope: 'admin', ok: { 200: 'ClientStatus' }, errors: ['INVALID_CLIENT_ID'] },
      handler: (reply, req, principal) => {
        const clientId = resolveClientId(pathParam(req, 0, 'clientId'), '');
        if (clientId === '') throw new EngramError('INVALID_CLIENT_ID', 'the client id in the path is empty');
        gate.clientStatus(principal, clientId).then((s) => reply.json(200, JSON.stringify(s)), reject(reply));
      },
    },
  });
  t.route('/clients/:clientId', {
    del: {
      operation: {
        summary: 'Erase a client: every context of its space (units, keys, search entries, memory), its locks and counters, with a report of what was removed. Safe to re-run.',
        tag: 'clients',
        scope: 'admin',
        ok: { 200: 'ClientErasure' },
        errors: ['INVALID_CLIENT_ID'],
      },
      handler: (reply, req, principal) => {
        const clientId = resolveClientId(pathParam(req, 0, 'clientId'), '');
        if (clientId === '') throw new EngramError('INVALID_CLIENT_ID', 'the client id in the path is empty');
        gate.eraseClient(principal, clientId).then((r) => reply.json(200, JSON.stringify(r)), reject(reply));
      },
    },
  });
  t.route('/retention/sweep', {
    post: {
      operation: {
        summary: 'Run retention now: trim every context whose policy keeps less than it holds; answers what was trimmed.',
        tag: 'clients',
        scope: 'admin',
        ok: { 200: 'RetentionSweep' },
        errors: [],
      },
      handler: (reply, req, principal) => {
        // No body is read: a connection that sent one is closed with the reply (as /clients/cleanup).
        const sentBody = req.getHeader('content-length') !== '' || req.getHeader('transfer-encoding') !== '';
        gate.sweepRetention(principal).then((r) => reply.json(200, JSON.stringify(r), undefined, sentBody), reject(reply));
      },
    },
  });
  t.route('/clients/cleanup', {
    post: {
      operation: {
        summary: 'Drop the in-memory state of idle clients now (never data).',
        tag: 'clients',
        scope: 'admin',
        query: [param('idle_threshold', INT, 'Seconds idle (default 0).')],
        ok: { 200: 'Cleanup' },
        errors: ['INVALID_QUERY'],
      },
      handler: (reply, req, principal) => {
        const seconds = new Query(req.getQuery()).int('idle_threshold') ?? 0;
        if (seconds > 365 * 86_400) throw new EngramError('INVALID_QUERY', 'idle_threshold: seconds from 0 to 31536000');
        // No body is read: a connection that sent one is closed with the reply, so its bytes are never taken for a request.
        const sentBody = req.getHeader('content-length') !== '' || req.getHeader('transfer-encoding') !== '';
        reply.json(200, JSON.stringify({ idleThresholdSeconds: seconds, ...gate.cleanup(principal, seconds * 1000) }), undefined, sentBody);
      },
    },
  });
}
