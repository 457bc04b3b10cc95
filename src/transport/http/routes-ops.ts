/**
 * Operations routes: GET /metrics (Prometheus text format) and GET /health/detailed. Admin
 * scope: they hold no client's data, but their server-wide counters would show one tenant
 * the activity of the others.
 */
import type { Gate } from '../../core/gate.js';
import type { RouteTable } from './server.js';
import type { Reply } from './io.js';

export interface OpsDeps {
  metrics: { text(): Promise<string>; contentType: string } | undefined;
  /** The detailed health document (storage, index catch-up, memory, streams, locks, clients). */
  health: () => Promise<Record<string, unknown>>;
}

export function registerOpsRoutes(t: RouteTable, deps: OpsDeps, gate: Gate): void {
  const reject = (reply: Reply) => (err: unknown) => reply.error(err, t.onInternal);
  const metrics = deps.metrics;
  if (metrics !== undefined) {
    t.route('/metrics', {
      get: (reply, _req, principal) => {
        gate.access.require(principal, 'admin');
        metrics.text().then((text) => reply.send(200, metrics.contentType, text), reject(reply));
      },
    });
  }
  t.route('/health/detailed', {
    get: (reply, _req, principal) => {
      gate.access.require(principal, 'admin');
      deps.health().then((doc) => reply.json(200, JSON.stringify(doc)), reject(reply));
    },
  });
}
