/**
 * Prometheus metrics (prom-client), served at GET /metrics. Gauges are read from the
 * components when scraped; counters and histograms are fed by the Observer hooks of the
 * router, the gate and the transports. Every label set is bounded: routes are patterns,
 * statuses and codes come from fixed lists, and no label carries a client, context or unit id.
 */
import client, { type Registry } from 'prom-client';
import type { ClientRegistry } from '../tenancy/client-registry.js';
import type { Engine } from '../engine/engine.js';
import type { Indexer } from '../search/indexer.js';
import type { LockManager } from '../locks/locks.js';
import type { Observer, ProjectionObserver, RequestObserver, SnapshotEvent } from '../basics/observer.js';

export interface MetricSources {
  engine: Engine;
  /** Live context subscriptions (the router's count). */
  subscriptions: () => number;
  locks: LockManager;
  clients: ClientRegistry;
  indexer: Indexer | undefined;
  /** Open stream connections (WebSocket, SSE, gRPC Subscribe). */
  streamConnections: () => number;
  /** LevelDB's estimate of the whole store, in bytes. */
  storageBytes: () => Promise<number>;
  /** Presence counts (streams/presence.ts); absent: no presence gauges. */
  presence?: () => { contexts: number; members: number; localConnections: number; remoteConnections: number };
}

const LATENCY_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
const SEARCH_MODES = new Set(['hybrid', 'keyword', 'vector']);
const PROJECTIONS = new Set(['files', 'facts', 'graph']);

export class Metrics implements Observer, RequestObserver, ProjectionObserver {
  readonly registry: Registry = new client.Registry();
  private readonly requests: client.Counter<'protocol' | 'route' | 'status'>;
  private readonly requestSeconds: client.Histogram<'protocol' | 'route'>;
  private readonly fanoutSeconds: client.Histogram;
  private readonly fanoutDeliveries: client.Counter;
  private readonly searchSeconds: client.Histogram<'mode' | 'outcome'>;
  private readonly projectionReplayed: client.Counter<'projection'>;
  private readonly projectionSnapshots: client.Counter<'projection' | 'event'>;
  /** Bounded: routes × statuses. */
  private readonly children = new Map<string, { count: client.Counter.Internal; seconds: client.Histogram.Internal<'protocol' | 'route'> }>();

  constructor(sources: MetricSources) {
    const registers = [this.registry];
    client.collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: 20 });
    this.requests = new client.Counter({
      name: 'engram_requests_total',
      help: 'Requests answered, by protocol (http, grpc), route pattern or RPC, and status (HTTP status or gRPC code name).',
      labelNames: ['protocol', 'route', 'status'],
      registers,
    });
    this.requestSeconds = new client.Histogram({
      name: 'engram_request_duration_seconds',
      help: 'Time from a request to its answer, by protocol and route pattern or RPC.',
      labelNames: ['protocol', 'route'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.fanoutSeconds = new client.Histogram({
      name: 'engram_fanout_duration_seconds',
      help: 'Time to hand one committed batch to every live subscription of its contexts (the server side of fan-out lag).',
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.fanoutDeliveries = new client.Counter({
      name: 'engram_fanout_subscriptions_total',
      help: 'Subscriptions reached by committed batches.',
      registers,
    });
    this.searchSeconds = new client.Histogram({
      name: 'engram_search_duration_seconds',
      help: 'Search latency, by mode and outcome (ok, error).',
      labelNames: ['mode', 'outcome'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.projectionReplayed = new client.Counter({
      name: 'engram_projection_replayed_units_total',
      help: 'Units replayed into memory projections (files, facts, graph) by rebuilds and catch-ups; a rebuild from a snapshot replays only the units after it.',
      labelNames: ['projection'],
      registers,
    });
    this.projectionSnapshots = new client.Counter({
      name: 'engram_projection_snapshots_total',
      help: 'Projection snapshots by event: written, loaded (a rebuild started from one), rejected (not trusted on load: replayed from the start), failed (not written).',
      labelNames: ['projection', 'event'],
      registers,
    });
    const written = new client.Counter({ name: 'engram_units_written_total', help: 'Work units committed to the log.', registers });
    sources.engine.onCommit((events) => {
      let n = 0;
      for (const e of events) n += e.units.length;
      if (n > 0) written.inc(n);
    });
    const gauge = (name: string, help: string, read: () => number | Promise<number>) =>
      new client.Gauge({
        name,
        help,
        registers,
        async collect() {
          this.set(await read());
        },
      });
    gauge('engram_log_position', 'Log position of the last committed unit.', () => sources.engine.committedPosition);
    gauge('engram_cached_contexts', 'Contexts held in memory with their unit tails.', () => sources.engine.stats().cachedContexts);
    gauge('engram_subscriptions', 'Live context subscriptions (WebSocket, SSE, gRPC).', sources.subscriptions);
    gauge('engram_stream_connections', 'Open stream connections (WebSocket, SSE, gRPC Subscribe).', sources.streamConnections);
    gauge('engram_locks_held', 'Locks held now.', () => sources.locks.stats().held);
    gauge('engram_lock_waiters', 'Lock requests waiting for a holder to let go.', () => sources.locks.stats().waiting);
    gauge('engram_clients_active', 'Clients with in-memory state (seen within clients.idleThreshold).', () => sources.clients.active().length);
    gauge('engram_storage_bytes', "LevelDB's estimate of the size of the log on disk.", sources.storageBytes);
    const presence = sources.presence;
    if (presence !== undefined) {
      gauge('engram_presence_contexts', 'Contexts with someone subscribed, on any node.', () => presence().contexts);
      gauge('engram_presence_members', 'Members present (a client and agent in a context), summed over contexts, on any node.', () => presence().members);
      new client.Gauge({
        name: 'engram_presence_connections',
        help: 'Subscriptions counted in presence: on this node (origin="local") and as other nodes report theirs (origin="remote").',
        labelNames: ['origin'],
        registers,
        collect() {
          const s = presence();
          this.set({ origin: 'local' }, s.localConnections);
          this.set({ origin: 'remote' }, s.remoteConnections);
        },
      });
    }
    const indexer = sources.indexer;
    if (indexer !== undefined) {
      gauge('engram_search_index_behind_units', 'Committed units not yet searchable.', () => indexer.status().behind);
    }
  }

  /** One answered request (HTTP route pattern or gRPC method). */
  request(protocol: 'http' | 'grpc', route: string, status: string, seconds: number): void {
    // The labelled children are looked up once per label set: prom-client hashes labels on every call otherwise (~3% of a write's CPU).
    const key = `${protocol} ${route} ${status}`;
    let c = this.children.get(key);
    if (c === undefined) {
      c = { count: this.requests.labels({ protocol, route, status }), seconds: this.requestSeconds.labels({ protocol, route }) };
      this.children.set(key, c);
    }
    c.count.inc();
    c.seconds.observe(seconds);
  }

  fanout(seconds: number, subscriptions: number): void {
    this.fanoutSeconds.observe(seconds);
    this.fanoutDeliveries.inc(subscriptions);
  }

  search(seconds: number, mode: string, ok: boolean): void {
    this.searchSeconds.observe({ mode: SEARCH_MODES.has(mode) ? mode : 'other', outcome: ok ? 'ok' : 'error' }, seconds);
  }

  replayed(projection: string, units: number): void {
    this.projectionReplayed.inc({ projection: PROJECTIONS.has(projection) ? projection : 'other' }, units);
  }

  snapshot(projection: string, event: SnapshotEvent): void {
    this.projectionSnapshots.inc({ projection: PROJECTIONS.has(projection) ? projection : 'other', event });
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
