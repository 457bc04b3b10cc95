/**
 * What the core reports for operations metrics, without knowing how they are kept: the
 * wiring passes an implementation (Prometheus in ops/metrics.ts); the default does nothing.
 */
export interface Observer {
  /** A committed batch reached its live subscribers: how long the fan-out took, and to how many subscriptions. */
  fanout(seconds: number, subscriptions: number): void;
  /** A search answered (or failed), and how long it took. */
  search(seconds: number, mode: string, ok: boolean): void;
}

export const NO_OBSERVER: Observer = {
  fanout: () => undefined,
  search: () => undefined,
};

/** Told about every answered request, by the transports (metrics). */
export interface RequestObserver {
  /** `route`: the HTTP route pattern or the gRPC method; `status`: the HTTP status or gRPC code name. */
  request(protocol: 'http' | 'grpc', route: string, status: string, seconds: number): void;
}

/** What a snapshot of a projection's state did (memory/projection.ts). */
export type SnapshotEvent = 'written' | 'loaded' | 'rejected' | 'failed';

/** Told how memory projections (files, facts, graph) are rebuilt (metrics). */
export interface ProjectionObserver {
  /** Units replayed into a projection's state: a rebuild, or a catch-up with units written past it. */
  replayed(projection: string, units: number): void;
  /** A snapshot written or loaded, one refused on load (undecodable, unknown version, another history), or one that could not be written. */
  snapshot(projection: string, event: SnapshotEvent): void;
}

export const NO_PROJECTION_OBSERVER: ProjectionObserver = {
  replayed: () => undefined,
  snapshot: () => undefined,
};
