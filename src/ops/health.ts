/** GET /health/detailed: one document with what an operator checks first. */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { ClientRegistry } from '../tenancy/client-registry.js';
import type { Engine } from '../engine/engine.js';
import type { Indexer } from '../search/indexer.js';
import type { LockManager } from '../locks/locks.js';
import type { Router } from '../streams/router.js';

export interface HealthSources {
  engine: Engine;
  router: Router;
  locks: LockManager;
  clients: ClientRegistry;
  indexer: Indexer | undefined;
  embedderReady: () => boolean | null;
  streamConnections: () => number;
  storageBytes: () => Promise<number>;
  /** Other nodes heard from by presence (nats backend); null with one node. */
  presenceNodes?: () => number | null;
  settings: { sync: boolean; authMode: string; version: string };
  /** Approvals known, pending, and waits in progress (agents/approvals.ts). */
  approvals?: () => Record<string, unknown>;
}

const MiB = 1024 * 1024;

export function detailedHealth(s: HealthSources): () => Promise<Record<string, unknown>> {
  const started = Date.now();
  const RESOLUTION_MS = 20;
  const loop = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  loop.enable();
  return async () => {
    const mem = process.memoryUsage();
    // The histogram holds whole timer intervals; the lag is what exceeds the sampling interval.
    const lagMs = (ns: number) => Math.max(0, Math.round(ns / 1e4) / 100 - RESOLUTION_MS);
    const doc = {
      status: s.engine.ready ? 'ready' : 'not ready',
      version: s.settings.version,
      uptimeSeconds: Math.round((Date.now() - started) / 1000),
      storage: {
        open: s.engine.ready,
        sync: s.settings.sync,
        logPosition: s.engine.committedPosition,
        bytes: s.engine.ready ? await s.storageBytes() : null,
        ...s.engine.stats(),
      },
      search: s.indexer === undefined ? { enabled: false } : { enabled: true, embedderReady: s.embedderReady(), ...s.indexer.status() },
      memory: {
        rssMiB: Math.round(mem.rss / MiB),
        heapUsedMiB: Math.round(mem.heapUsed / MiB),
        heapTotalMiB: Math.round(mem.heapTotal / MiB),
        externalMiB: Math.round(mem.external / MiB),
      },
      eventLoop: { p50Ms: lagMs(loop.percentile(50)), p99Ms: lagMs(loop.percentile(99)), maxMs: lagMs(loop.max) },
      streams: { connections: s.streamConnections(), ...s.router.stats(), presence: { ...s.router.presence.stats(), otherNodes: s.presenceNodes?.() ?? null } },
      locks: s.locks.stats(),
      ...(s.approvals === undefined ? {} : { approvals: s.approvals() }),
      clients: { active: s.clients.active().length, authMode: s.settings.authMode },
    };
    loop.reset();
    return doc;
  };
}
