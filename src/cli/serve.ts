/**
 * `engram serve`: the one place that reads the config and wires implementations
 * together (log → engine → transports), then runs until SIGTERM/SIGINT.
 */
import { RetentionSweeper } from '../engine/retention.js';
import { RetentionPolicies } from '../tenancy/retention-policy.js';
import { isMemoryContext } from '../memory/memory.js';
import { mkdirSync } from 'node:fs';
import { pino, type Logger } from 'pino';
import { createAuthenticator } from './auth-wiring.js';
import { Access } from '../tenancy/access.js';
import { ClientRegistry } from '../tenancy/client-registry.js';
import { Engine } from '../engine/engine.js';
import { Gate } from '../gate/gate.js';
import { createAgentMemory } from '../memory/agent-memory.js';
import { createLanguageModel } from '../memory/language-model.js';
import { TokenCounts } from '../agents/token-counts.js';
import { WindowService } from '../agents/window.js';
import { SummaryIndex } from '../agents/summaries.js';
import { Summarizer } from '../agents/summarize.js';
import type { AgentServices } from '../agents/services.js';
import { ApprovalService } from '../agents/approvals.js';
import { detailedHealth } from '../ops/health.js';
import { Metrics } from '../ops/metrics.js';
import { LockManager } from '../locks/locks.js';
import { Router } from '../streams/router.js';
import { StreamHub } from '../streams/hub.js';
import { PresenceSync } from '../streams/presence-sync.js';
import { StorageOpenError } from '../storage/log-leveldb.js';
import { createStorage, type StorageParts } from './storage-wiring.js';
import { backupLines } from '../storage/backup.js';
import { GrpcServer } from '../transport/grpc/server.js';
import { HttpServer } from '../transport/http/server.js';
import { formatHostPort } from '../config/values.js';
import { packageVersion } from './version.js';
import { isEngramProcess, readDiscovery, removeDiscovery, writeDiscovery } from './discovery.js';
import { createSearch, searchDimensions, searchSettings, type SearchParts } from './search-wiring.js';
import type { Config } from '../config/schema.js';
import { NO_TRACER, type Tracer } from '../basics/tracer.js';
import type { OtelTracing } from '../ops/tracer-otel.js';

export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  });
}

/** A failed span export, logged at most once a minute (an endpoint that is down fails every batch). */
function exportErrorLog(logger: Logger): (err: unknown) => void {
  let last = 0;
  let dropped = 0;
  return (err) => {
    dropped++;
    const now = Date.now();
    if (now - last < 60_000) return;
    last = now;
    logger.warn({ err, failedExports: dropped }, 'tracing: spans could not be sent to tracing.endpoint and were dropped');
    dropped = 0;
  };
}

export async function serve(config: Config): Promise<void> {
  const dataDir = config.storage.dataDir;
  // A data dir another server is using: say which one, before binding anything.
  const running = readDiscovery(dataDir);
  const stale = running !== undefined && (running.pid === process.pid || !isEngramProcess(running.pid));
  if (running !== undefined && !stale) {
    const grpcAt = running.grpcAddr === null ? '' : ` (gRPC ${running.grpcAddr})`;
    process.stderr.write(
      `engram: data dir ${dataDir} is in use by another process: the Engram server with pid ${running.pid} at ${running.url}${grpcAt}, running since ${running.startedAt}. Stop it (kill ${running.pid}) or use another --data-dir.\n`,
    );
    process.exit(1);
  }
  const logger = createLogger(config.log.level);
  let storage: StorageParts;
  try {
    storage = await createStorage(config);
  } catch (err) {
    process.stderr.write(`engram: ${(err as Error).message}\n`);
    process.exit(1);
  }
  // Tracing off: the OpenTelemetry packages are never loaded, and every part keeps the no-op tracer.
  let tracing: OtelTracing | undefined;
  if (config.tracing.enabled) {
    try {
      const { startOtelTracing } = await import('../ops/tracer-otel.js');
      const t = config.tracing;
      tracing = await startOtelTracing({
        endpoint: t.endpoint,
        serviceName: t.serviceName,
        serviceVersion: packageVersion(),
        sampleRatio: t.sampleRatio,
        headers: t.headers,
        exportDelayMs: t.exportDelayMs,
        onExportError: exportErrorLog(logger),
      });
    } catch (err) {
      process.stderr.write(`engram: tracing: ${(err as Error).message}\n`);
      process.exit(1);
    }
  }
  const tracer: Tracer = tracing?.tracer ?? NO_TRACER;
  const log = storage.log;
  const locks = new LockManager(storage.locks, { ...config.locks, tracer });
  const engine = new Engine(log, {
    tracer,
    fences: locks,
    embeddingDims: config.search.enabled ? searchDimensions(searchSettings(config)) : undefined,
    idempotencyTtlMs: config.idempotency.ttlMs,
    maxBatchUnits: config.storage.maxBatchUnits,
    tailUnits: config.cache.tailUnits,
    maxCachedContexts: config.cache.maxContexts,
    maxTailBytes: config.cache.maxBytes,
  });
  const search: SearchParts | undefined = config.search.enabled ? createSearch(config, log, engine, logger) : undefined;
  const clients = new ClientRegistry(config.quotas, async (clientId) => (await log.spaceUsage(clientId)).bytes);
  // Stream connections of every transport, under one cap and one slow-consumer clock.
  const hub = new StreamHub(
    config.stream,
    (conn, stalledMs) => logger.warn({ kind: conn.kind, stalledMs }, 'closed a slow stream consumer'),
    (conn, err) => logger.error({ kind: conn.kind, err }, 'a stream connection failed while tended; closed it'),
  );
  const streamConnections = () => hub.connections.size;
  const storageBytes = () => storage.storageBytes();
  // Gauges are read when scraped, by then the router below exists.
  const metrics: Metrics = new Metrics({
    engine,
    subscriptions: (): number => router.stats().subscriptions,
    locks,
    clients,
    indexer: search?.indexer,
    streamConnections,
    storageBytes,
    presence: () => router.presence.stats(),
  });
  const router: Router = new Router(engine, { observer: metrics, tracer, lockSnapshot: (space, viewer) => locks.list(space, { limit: 1000 }, viewer).locks });
  locks.onEvent((events) => router.publishLocks(events));
  // Retention trims what its policies no longer keep, off the write path; memory contexts are never trimmed (their state is their units).
  const retentionPolicies = new RetentionPolicies(config.retention.policies);
  const retention = new RetentionSweeper(engine, log, {
    intervalMs: retentionPolicies.empty ? 0 : config.retention.intervalMs,
    ruleFor: (space, contextId) => retentionPolicies.ruleFor(space, contextId),
    protect: isMemoryContext,
    // What the summaries cover of a trim, for its report (summaryIndex is made with the gate, below; a sweep runs only once the server is up).
    summarized: (space: string, contextId: string, from: number, cut: number): Promise<number> => summaryIndex.covered(space, contextId, from, cut),
    onError: (err) => logger.error({ err }, 'retention could not trim'),
  });
  // With several nodes, each tells the others who is subscribed to it (started once the shared log's connection is open).
  const presenceChannel = storage.presence;
  const presenceSync =
    presenceChannel === undefined
      ? undefined
      : new PresenceSync(router.presence, presenceChannel, {
          intervalMs: config.stream.presenceIntervalMs,
          onBadMessage: (err) => logger.warn({ err }, 'ignored a presence message that could not be read'),
        });
  const gate = new Gate({
    engine,
    locks,
    router,
    access: new Access(config.clients.groups),
    clients,
    search: search?.host,
    log,
    searchIndex: search?.indexer,
    observer: metrics,
    tracer,
    retention,
  });
  // Approval units follow their rules from every transport; their state is derived from the log.
  const approvals = new ApprovalService(gate, log);
  gate.useTypedAppends(approvals);
  // Idle clients' in-memory state goes; it is rebuilt from the log on their next request.
  const sweep = setInterval(() => gate.cleanup(undefined, config.clients.idleThresholdMs), Math.min(60_000, config.clients.idleThresholdMs));
  sweep.unref();
  const auth = createAuthenticator(config);
  const health = detailedHealth({
    engine,
    router,
    locks,
    clients,
    indexer: search?.indexer,
    embedderReady: () => (search === undefined ? null : search.host.embedderReady),
    streamConnections,
    storageBytes,
    presenceNodes: () => (presenceSync === undefined ? null : presenceSync.peerIds().length),
    settings: { sync: config.storage.sync, authMode: config.auth.mode, version: packageVersion() },
    approvals: () => approvals.stats(),
  });
  // Facts count as already known by the search embedder's similarity (in the search worker, loaded once).
  // Their states are snapshotted beside the log's units (each node its own, on a shared log).
  // Conversation turns are read by the configured language model, or by rules (memory.model.provider none).
  const m = config.memory.model;
  const model =
    m.provider === 'none'
      ? undefined
      : createLanguageModel({
          provider: m.provider as 'openai' | 'anthropic',
          url: m.url,
          model: m.name,
          ...(m.apiKey === '' ? {} : { apiKey: m.apiKey }),
          timeoutMs: m.timeoutMs,
          retries: m.retries,
          maxTokens: m.maxTokens,
          tracer,
        });
  const memory = createAgentMemory(
    gate,
    { embed: search === undefined ? undefined : (texts) => search.host.embed(texts), similarity: config.memory.factSimilarity / 100 },
    { snapshots: { store: log, every: config.memory.snapshotEvery }, observer: metrics, tracer },
    model,
  );
  const summaryIndex: SummaryIndex = new SummaryIndex(gate);
  // Token counts are kept beside the units, as the memory's snapshots are.
  const window = new WindowService(
    gate,
    new TokenCounts(log, (dropped) =>
      gate.engine.onCommit((events) => {
        for (const e of events) if (e.deleted !== undefined) dropped(e.clientId, e.contextId);
      }),
    ),
    summaryIndex,
  );
  const agents: AgentServices = { window, summaries: summaryIndex, summarizer: new Summarizer(gate, summaryIndex, model), approvals };
  const t = config.server.tls;
  // The config check (config/tls.ts) made sure both files are given, or neither.
  const tls = t.certFile === '' ? undefined : { certFile: t.certFile, keyFile: t.keyFile, ...(t.clientCaFile === '' ? {} : { clientCaFile: t.clientCaFile }) };
  const scheme = tls === undefined ? 'http' : 'https';
  let http: HttpServer;
  try {
    http = new HttpServer({
      gate,
      memory,
      agents,
      mcp: config.mcp.enabled ? { allowedOrigins: config.mcp.allowedOrigins } : undefined,
      allowedOrigins: config.server.allowedOrigins,
      allowedHosts: config.server.allowedHosts,
      requestTimeoutMs: config.limits.requestTimeoutMs,
      auth,
      hub,
      logger,
      maxBodyBytes: config.limits.maxUnitBytes,
      search,
      requests: metrics,
      tracer,
      ops: { metrics, health, backup: () => backupLines(storage.snapshotPairs(), packageVersion()) },
      version: packageVersion(),
      tls,
    });
  } catch (err) {
    process.stderr.write(`engram: ${(err as Error).message}\n`);
    process.exit(1);
  }

  const grpc = config.server.grpcEnabled
    ? new GrpcServer({
        gate,
        auth,
        requests: metrics,
        tracer,
        hub,
        maxUnitBytes: config.limits.maxUnitBytes,
        agents,
        onInternal: (err) => logger.error({ err }, 'internal error (gRPC)'),
      })
    : undefined;

  const { host, port } = config.server.addr;
  let addr: string;
  let grpcAddr: string | undefined;
  try {
    addr = formatHostPort({ host, port: (await http.listen(host, port)).port });
    if (grpc !== undefined) {
      const g = config.server.grpcAddr;
      grpcAddr = formatHostPort({ host: g.host, port: await grpc.listen(g.host, g.port, tls) });
    }
  } catch (err) {
    process.stderr.write(`engram: ${(err as Error).message}\n`);
    process.exit(1);
  }
  // The first log line carries the bound addresses: with port 0 it is how callers learn the
  // ports, so it is written at every log level.
  // The URL is for reaching the server from here: a wildcard address is reached on loopback.
  const url = `${scheme}://${addr.replace(/^0\.0\.0\.0:/, '127.0.0.1:').replace(/^\[::\]:/, '[::1]:')}`;
  createLogger('info').info(
    {
      addr,
      url,
      grpcAddr: grpcAddr ?? null,
      memoryModel: model?.id ?? 'rules',
      ...(tracing === undefined ? {} : { tracing: config.tracing.endpoint }),
      ...(tls === undefined ? {} : { tls: tls.clientCaFile === undefined ? 'on' : 'mutual' }),
    },
    'engram listening',
  );

  let stopping = false;
  // Opening storage runs after the listener is up; a signal that arrives meanwhile waits for it.
  let opened = false;
  const opening = (async () => {
    mkdirSync(config.storage.dataDir, { recursive: true });
    await engine.open();
    await locks.open();
    opened = true;
    if (!stopping) {
      presenceSync?.start();
      search?.indexer.start();
      retention.start();
      grpc?.setServing(true);
    }
  })();

  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const timer = setTimeout(() => {
      logger.error('shutdown took too long; exiting');
      removeDiscovery(dataDir);
      process.exit(1);
    }, config.server.shutdownGraceMs);
    timer.unref();
    http.stopListening();
    hub.closeAll();
    const grpcStopped = grpc === undefined ? Promise.resolve() : grpc.shutdown(config.server.shutdownGraceMs / 2); // running calls (a bulk ingest, a lock wait) get half the grace
    const closing = Promise.all([opening.catch(() => undefined), grpcStopped]) // a failed open is reported (and exits) below
      .then(() => retention.stop())
      // Other nodes drop this one's members at once (bye) rather than after the expiry.
      .then(() => (opened ? presenceSync?.stop() : undefined))
      .then(() => router.close())
      .then(() => (search === undefined ? undefined : search.indexer.stop().then(() => search.host.close())))
      .then(() => (opened ? locks.close() : undefined))
      .then(() => engine.close())
      // The spans of the last writes go out before the process does (bounded by the grace timer above).
      .then(() => tracing?.shutdown().catch((err: unknown) => logger.warn({ err }, 'tracing: could not send the last spans')))
      .then(() => storage.locks.close());
    closing.then(
      () => {
        removeDiscovery(dataDir);
        logger.info('stopped');
        process.exit(0);
      },
      (err: unknown) => {
        logger.error({ err }, 'error while closing storage');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));

  try {
    await opening;
  } catch (err) {
    const message = err instanceof StorageOpenError || err instanceof Error ? err.message : String(err);
    logger.fatal({ dataDir: config.storage.dataDir }, `cannot open storage: ${message}`);
    process.exit(1);
  }
  // Storage is ours (LevelDB's lock is held): announce the server to the CLI and MCP clients of this data dir.
  // stalePid: the logger already names this process's own pid.
  if (stale) logger.warn({ stalePid: running!.pid }, 'replacing the discovery file of a server that is no longer running');
  if (!stopping) writeDiscovery(dataDir, { pid: process.pid, url, addr, grpcAddr: grpcAddr ?? null, startedAt: new Date().toISOString(), version: packageVersion() });
  logger.info({ dataDir: config.storage.dataDir, sync: config.storage.sync, backend: config.storage.backend }, 'storage ready');
}
