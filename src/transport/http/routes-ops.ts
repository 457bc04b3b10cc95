/**
 * Operations routes: GET /metrics (Prometheus text format) and GET /health/detailed. With auth
 * on they need valid credentials of any scope: both carry aggregates only, never a client's data.
 */
import type { RouteTable } from './server.js';
import type { Reply } from './io.js';

export interface OpsDeps {
  metrics: { text(): Promise<string>; contentType: string } | undefined;
  /** The detailed health document (storage, index catch-up, memory, streams, locks, clients). */
  health: () => Promise<Record<string, unknown>>;
}

export function registerOpsRoutes(t: RouteTable, deps: OpsDeps): void {
  const reject = (reply: Reply) => (err: unknown) => reply.error(err, t.onInternal);
  const metrics = deps.metrics;
  if (metrics !== undefined) {
    t.route('/metrics', {
      get: (reply) => {
        metrics.text().then((text) => reply.send(200, metrics.contentType, text), reject(reply));
      },
    });
  }
  t.route('/health/detailed', {
    get: (reply) => {
      deps.health().then((doc) => reply.json(200, JSON.stringify(doc)), reject(reply));
    },
  });
}
