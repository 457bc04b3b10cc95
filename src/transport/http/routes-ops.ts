/**
 * Operations routes: GET /metrics (Prometheus text format) and GET /health/detailed. Admin
 * scope: they hold no client's data, but their server-wide counters would show one tenant
 * the activity of the others.
 */
import type { Gate } from '../../gate/gate.js';
import type { RouteTable } from './route-table.js';
import type { Reply } from './io.js';

export interface OpsDeps {
  metrics: { text(): Promise<string>; contentType: string } | undefined;
  /** The detailed health document (storage, index catch-up, memory, streams, locks, clients). */
  health: () => Promise<Record<string, unknown>>;
  /** The lines of a backup of the whole log, from one snapshot (absent: no backups from this storage). */
  backup?: () => AsyncIterable<string>;
}

/** Streams lines as one chunked answer, waiting whenever the client reads slower than they come. */
async function streamLines(reply: Reply, contentType: string, lines: AsyncIterable<string>, headers: Array<[string, string]>): Promise<void> {
  const res = reply.res;
  reply.done = true;
  reply.onSent?.(200);
  res.cork(() => {
    res.writeStatus('200 OK');
    res.writeHeader('Content-Type', contentType);
    if (reply.requestId !== undefined) res.writeHeader('X-Request-ID', reply.requestId);
    for (const [k, v] of [...(reply.extraHeaders ?? []), ...headers]) res.writeHeader(k, v);
  });
  let chunk = '';
  const flush = async () => {
    if (reply.aborted) return false;
    let ok = true;
    const data = chunk;
    chunk = '';
    res.cork(() => (ok = res.write(data)));
    // A client that leaves while we wait gets no onWritable: the abort must end the wait too,
    // or the generator (and the LevelDB snapshot it reads) would stay open for good.
    if (!ok) {
      await new Promise<void>((resolve) => {
        reply.onAbort(resolve);
        res.onWritable(() => (resolve(), true));
      });
    }
    return !reply.aborted;
  };
  for await (const line of lines) {
    chunk += line;
    // Returning from the loop closes the generator, and so the snapshot's iterator.
    if (chunk.length >= 256 * 1024 && !(await flush())) return;
  }
  if ((chunk === '' || (await flush())) && !reply.aborted) res.cork(() => res.end());
}

export function registerOpsRoutes(t: RouteTable, deps: OpsDeps, gate: Gate): void {
  const reject = (reply: Reply) => (err: unknown) => reply.error(err, t.onInternal);
  const metrics = deps.metrics;
  if (metrics !== undefined) {
    t.route('/metrics', {
      get: {
        operation: {
          summary: 'Prometheus metrics.',
          tag: 'operations',
          scope: 'admin',
          ok: { 200: { contentType: 'text/plain; version=0.0.4', description: 'Prometheus text format' } },
        },
        handler: (reply, _req, principal) => {
          gate.access.require(principal, 'admin');
          metrics.text().then((text) => reply.send(200, metrics.contentType, text), reject(reply));
        },
      },
    });
  }
  const backup = deps.backup;
  if (backup !== undefined) {
    t.route('/admin/backup', {
      get: {
        operation: {
          summary: 'A backup of the whole log from one consistent snapshot, as NDJSON (docs/reliability.md); restore with `engram restore`.',
          tag: 'operations',
          scope: 'admin',
          ok: { 200: { contentType: 'application/x-ndjson', description: 'A header line, one line per stored key and value, and a trailer with the count and a checksum' } },
        },
        handler: (reply, _req, principal) => {
          gate.access.require(principal, 'admin');
          const name = `engram-backup-${new Date().toISOString().replace(/[:.]/g, '-')}.ndjson`;
          streamLines(reply, 'application/x-ndjson', backup(), [['Content-Disposition', `attachment; filename="${name}"`]]).catch((err: unknown) => {
            // Headers are out: a failure can only end the answer early, which restore detects (no trailer).
            t.onInternal(err, reply.requestId);
            if (!reply.aborted) reply.res.close();
          });
        },
      },
    });
  }
  t.route('/health/detailed', {
    get: {
      operation: { summary: 'Storage, index catch-up, memory, streams, locks, clients.', tag: 'operations', scope: 'admin', ok: { 200: 'Document' } },
      handler: (reply, _req, principal) => {
        gate.access.require(principal, 'admin');
        deps.health().then((doc) => reply.json(200, JSON.stringify(doc)), reject(reply));
      },
    },
  });
}
