/** GET /contexts/{id}/presence: who is subscribed to a context now (docs/api.md, "Presence"). */
import type { Gate } from '../../gate/gate.js';
import { presenceView } from '../../streams/frames.js';
import { pathParam } from './io.js';
import type { RouteTable } from './route-table.js';

export function registerPresenceRoutes(t: RouteTable, deps: { gate: Gate }): void {
  const { gate } = deps;
  t.route('/contexts/:id/presence', {
    get: {
      operation: {
        summary: 'Who is subscribed to a context now, by client and agent, over every transport and node.',
        tag: 'contexts',
        scope: 'read',
        ok: { 200: 'Presence' },
        errors: ['INVALID_ID'],
      },
      handler: (reply, req, principal) => {
        const p = gate.presence(principal, pathParam(req, 0, 'contextId'));
        reply.json(200, JSON.stringify({ contextId: p.contextId, members: p.members.map(presenceView), connections: p.connections }));
      },
    },
  });
}
