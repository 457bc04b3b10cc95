/**
 * The one config schema. Every setting is declared once here, with its YAML key,
 * environment variable, command-line flag, type, bounds and default; the loader,
 * `engram config`, config.example.yaml and docs/configuration.md all follow it.
 */
import type { ApiKeyEntry } from '../auth/apikeys.js';
import type { GroupConfig } from '../tenancy/access.js';
import type { QuotaConfig } from '../tenancy/quotas.js';
import type { StreamOptions } from '../streams/hub.js';

export type SettingKind =
  | { type: 'string' }
  | { type: 'list' }
  | { type: 'path' }
  | { type: 'bool' }
  | { type: 'int'; min: number; max: number }
  | { type: 'bytes'; min: number; max: number }
  | { type: 'duration'; min: number; max: number }
  | { type: 'hostport' }
  | { type: 'enum'; values: readonly string[] };

export interface Setting {
  /** Dotted YAML path, e.g. "storage.sync". */
  key: string;
  env: string;
  flag: string;
  kind: SettingKind;
  default: string | number | boolean;
  doc: string;
}

export interface HostPort {
  host: string;
  port: number;
}

export interface Config {
  server: { addr: HostPort; grpcAddr: HostPort; grpcEnabled: boolean; allowedOrigins: string[]; allowedHosts: string[]; shutdownGraceMs: number };
  storage: {
    dataDir: string;
    sync: boolean;
    maxBatchUnits: number;
    writeBufferBytes: number;
    cacheBytes: number;
    verifyOnStart: boolean;
    backend: 'leveldb' | 'nats';
    natsUrls: string[];
    natsCreds: string;
    natsStream: string;
    natsReplicas: number;
    natsMaxAgeMs: number;
  };
  limits: { maxUnitBytes: number; maxHeaderBytes: number; requestTimeoutMs: number };
  cache: { tailUnits: number; maxContexts: number; maxBytes: number };
  idempotency: { ttlMs: number };
  stream: StreamOptions;
  locks: { defaultTtlMs: number; maxTtlMs: number; maxWaitMs: number };
  search: {
    enabled: boolean;
    embedder: 'offline' | 'openai' | 'ollama' | 'none';
    embedderUrl: string;
    embedderModel: string;
    embedderApiKey: string;
    /** 0: the embedder's own (100 for offline; none for `none`). */
    dimensions: number;
    vectorIndex: 'flat' | 'hnsw';
    /** Indexing waits while the main thread is busy more than this percentage of its time; 100: never waits. */
    yieldAbove: number;
    metaKeys: string[];
    snapshotIntervalMs: number;
    /** Empty: the file `make build` writes next to the server. */
    wordVectors: string;
  };
  clients: { defaultClient: string; idleThresholdMs: number; groups: GroupConfig[] };
  memory: { factSimilarity: number };
  mcp: { enabled: boolean; allowedOrigins: string[] };
  auth: {
    mode: 'none' | 'apikey' | 'jwt';
    allowRemote: boolean;
    keysFile: string;
    /** Keys from the config file's auth.keys (the keys file's are read at start-up). */
    keys: ApiKeyEntry[];
    jwtSecret: string;
    jwtKeysFile: string;
    jwtIssuer: string;
    jwtAudience: string;
    jwtClientClaim: string;
  };
  quotas: QuotaConfig;
  log: { level: string };
}

/**
 * Settings that only a config file can hold, because they are lists or maps of records:
 * each is validated by its parser in config/structured.ts.
 */
export const STRUCTURED_KEYS = ['auth.keys', 'clients.groups', 'quotas.clients'] as const;
export type StructuredKey = (typeof STRUCTURED_KEYS)[number];

const KiB = 1024;
const MiB = 1024 * KiB;
const SECOND = 1000;
const HOUR = 3600 * SECOND;

export const SETTINGS: readonly Setting[] = [
  {
    key: 'server.addr',
    env: 'ENGRAM_ADDR',
    flag: '--addr',
    kind: { type: 'hostport' },
    default: '127.0.0.1:8080',
    doc: 'HTTP, WebSocket and SSE listen address, HOST:PORT ([::1]:PORT for IPv6). Port 0 picks a free port; the first log line prints the bound address.',
  },
  {
    key: 'server.grpcAddr',
    env: 'ENGRAM_GRPC_ADDR',
    flag: '--grpc-addr',
    kind: { type: 'hostport' },
    default: '127.0.0.1:9090',
    doc: 'gRPC listen address (engram.v3.EngramService, health, reflection), HOST:PORT. Port 0 picks a free port; the first log line prints it as grpcAddr.',
  },
  {
    key: 'server.grpcEnabled',
    env: 'ENGRAM_GRPC_ENABLED',
    flag: '--grpc-enabled',
    kind: { type: 'bool' },
    default: true,
    doc: 'Serve gRPC beside HTTP. false: HTTP only.',
  },
  {
    key: 'server.allowedHosts',
    env: 'ENGRAM_ALLOWED_HOSTS',
    flag: '--allowed-hosts',
    kind: { type: 'list' },
    default: '',
    doc: 'With auth.mode none, the host names (besides localhost, 127.0.0.1 and [::1]) by which browsers may reach the server, like engram.internal; a browser request with another Host is refused with 403 (DNS-rebinding protection). Clients that are not browsers are not checked.',
  },
  {
    key: 'server.shutdownGrace',
    env: 'ENGRAM_SHUTDOWN_GRACE',
    flag: '--shutdown-grace',
    kind: { type: 'duration', min: SECOND, max: 10 * 60 * SECOND },
    default: '10s',
    doc: 'On SIGTERM or SIGINT: stop accepting, let writes in flight commit, close streams with the reconnect code, flush and exit 0 within this long (gRPC calls get half of it to finish); past it the process exits 1.',
  },
  {
    key: 'server.allowedOrigins',
    env: 'ENGRAM_ALLOWED_ORIGINS',
    flag: '--allowed-origins',
    kind: { type: 'list' },
    default: '',
    doc: 'Browser origins besides the server\'s own pages that may call the API and open streams (CORS, WebSocket Origin check), like https://app.example.com; * allows every origin. Others get no CORS headers, 403 for writes, and no WebSocket.',
  },
  {
    key: 'storage.dataDir',
    env: 'ENGRAM_DATA_DIR',
    flag: '--data-dir',
    kind: { type: 'path' },
    default: './data',
    doc: 'Directory of the LevelDB log. One server per directory.',
  },
  {
    key: 'storage.sync',
    env: 'ENGRAM_STORAGE_SYNC',
    flag: '--storage-sync',
    kind: { type: 'bool' },
    default: false,
    doc: 'fsync every committed batch before acknowledging it. Off: an acknowledged write survives a crash or kill -9 of the server, but not a power loss or kernel crash. On: it survives those too, at the cost measured in docs/benchmarks.md (write-http-sync).',
  },
  {
    key: 'storage.maxBatchUnits',
    env: 'ENGRAM_STORAGE_MAX_BATCH_UNITS',
    flag: '--storage-max-batch-units',
    kind: { type: 'int', min: 1, max: 65536 },
    default: 1024,
    doc: 'Most writes grouped into one storage batch.',
  },
  {
    key: 'storage.writeBufferBytes',
    env: 'ENGRAM_STORAGE_WRITE_BUFFER_BYTES',
    flag: '--storage-write-buffer-bytes',
    kind: { type: 'bytes', min: 64 * KiB, max: 1024 * MiB },
    default: 4 * MiB,
    doc: 'LevelDB memtable size. Larger means fewer, longer flushes to disk and a longer log replay after a crash.',
  },
  {
    key: 'storage.verifyOnStart',
    env: 'ENGRAM_STORAGE_VERIFY_ON_START',
    flag: '--storage-verify-on-start',
    kind: { type: 'bool' },
    default: true,
    doc: 'Read every stored block once at start-up, so a damaged data dir stops the start (pointing at engram repair) instead of failing reads later. Costs a scan of the log (about a second per few hundred MiB); false skips it.',
  },
  {
    key: 'storage.cacheBytes',
    env: 'ENGRAM_STORAGE_CACHE_BYTES',
    flag: '--storage-cache-bytes',
    kind: { type: 'bytes', min: 0, max: 64 * 1024 * MiB },
    default: 8 * MiB,
    doc: 'LevelDB block cache, for reads that miss the in-memory tails.',
  },
  {
    key: 'storage.backend',
    env: 'ENGRAM_STORAGE_BACKEND',
    flag: '--storage-backend',
    kind: { type: 'enum', values: ['leveldb', 'nats'] },
    default: 'leveldb',
    doc: 'leveldb: the embedded log in storage.dataDir, one server. nats: a log shared by several Engram nodes on a NATS JetStream cluster (docs/scale-out.md); each node keeps a replica of it in storage.dataDir.',
  },
  {
    key: 'storage.natsUrls',
    env: 'ENGRAM_NATS_URLS',
    flag: '--nats-urls',
    kind: { type: 'list' },
    default: 'nats://127.0.0.1:4222',
    doc: 'With storage.backend nats: servers of the NATS cluster, comma-separated (any of them will do; the client finds the rest).',
  },
  {
    key: 'storage.natsCreds',
    env: 'ENGRAM_NATS_CREDS',
    flag: '--nats-creds',
    kind: { type: 'string' },
    default: '',
    doc: 'With storage.backend nats: a NATS credentials file (.creds: user JWT and NKey seed); empty connects without.',
  },
  {
    key: 'storage.natsStream',
    env: 'ENGRAM_NATS_STREAM',
    flag: '--nats-stream',
    kind: { type: 'string' },
    default: 'ENGRAM',
    doc: 'With storage.backend nats: name of the units stream (created if missing); the lock bucket is <name>_LOCKS. Nodes of one deployment use the same name.',
  },
  {
    key: 'storage.natsReplicas',
    env: 'ENGRAM_NATS_REPLICAS',
    flag: '--nats-replicas',
    kind: { type: 'int', min: 1, max: 5 },
    default: 3,
    doc: 'With storage.backend nats: copies of the stream and the lock bucket when they are created. 3 survives the loss of one NATS server; 1 suits a single test server.',
  },
  {
    key: 'storage.natsMaxAge',
    env: 'ENGRAM_NATS_MAX_AGE',
    flag: '--nats-max-age',
    kind: { type: 'duration', min: 0, max: 100 * 365 * 24 * HOUR },
    default: '0s',
    doc: 'With storage.backend nats: how long the stream keeps units when it is created; 0s keeps them for ever. A node that starts with an empty replica can only rebuild what the stream still has.',
  },
  {
    key: 'limits.maxUnitBytes',
    env: 'ENGRAM_MAX_UNIT_BYTES',
    flag: '--max-unit-bytes',
    kind: { type: 'bytes', min: KiB, max: 64 * MiB },
    default: MiB,
    doc: 'Largest request body (a work unit or a context patch), e.g. 1MiB. Larger bodies get 413 PAYLOAD_TOO_LARGE.',
  },
  {
    key: 'limits.maxHeaderBytes',
    env: 'ENGRAM_MAX_HEADER_BYTES',
    flag: '--max-header-bytes',
    kind: { type: 'bytes', min: 4 * KiB, max: 1 * MiB },
    default: 16 * KiB,
    doc: 'Largest request line and headers together. Larger ones get 431 and the connection is closed (uWebSockets.js enforces it).',
  },
  {
    key: 'limits.requestTimeout',
    env: 'ENGRAM_REQUEST_TIMEOUT',
    flag: '--request-timeout',
    kind: { type: 'duration', min: SECOND, max: 10 * 60 * SECOND },
    default: '30s',
    doc: 'Longest a request body may take to arrive; a slower one gets 408 REQUEST_TIMEOUT and its connection is closed (a slow client cannot hold the server). Headers that do not complete within 10 s are cut off by uWebSockets.js.',
  },
  {
    key: 'cache.tailUnits',
    env: 'ENGRAM_CACHE_TAIL_UNITS',
    flag: '--cache-tail-units',
    kind: { type: 'int', min: 0, max: 100_000 },
    default: 256,
    doc: 'Recent units of each context kept in memory (serves "the last N" and catch-up without storage reads).',
  },
  {
    key: 'cache.maxContexts',
    env: 'ENGRAM_CACHE_MAX_CONTEXTS',
    flag: '--cache-max-contexts',
    kind: { type: 'int', min: 1, max: 10_000_000 },
    default: 10_000,
    doc: 'Contexts whose state stays in memory; the least recently used beyond this are dropped (and reloaded on use).',
  },
  {
    key: 'cache.maxBytes',
    env: 'ENGRAM_CACHE_MAX_BYTES',
    flag: '--cache-max-bytes',
    kind: { type: 'bytes', min: 0, max: 64 * 1024 * MiB },
    default: 256 * MiB,
    doc: 'Budget for the unit text held in memory tails, across all contexts.',
  },
  {
    key: 'idempotency.ttl',
    env: 'ENGRAM_IDEMPOTENCY_TTL',
    flag: '--idempotency-ttl',
    kind: { type: 'duration', min: SECOND, max: 365 * 24 * HOUR },
    default: '24h',
    doc: 'How long an idempotency key is remembered, e.g. 24h, 30m. A retry after this appends a new unit.',
  },
  {
    key: 'stream.heartbeat',
    env: 'ENGRAM_STREAM_HEARTBEAT',
    flag: '--stream-heartbeat',
    kind: { type: 'duration', min: SECOND, max: HOUR },
    default: '10s',
    doc: 'Interval of heartbeat frames on WebSocket streams (SSE streams send a comment at least every 5 s).',
  },
  {
    key: 'stream.idleTimeout',
    env: 'ENGRAM_STREAM_IDLE_TIMEOUT',
    flag: '--stream-idle-timeout',
    kind: { type: 'duration', min: 8 * SECOND, max: HOUR },
    default: '60s',
    doc: 'A WebSocket with nothing received for this long (no message, no pong to the server\'s pings) is closed.',
  },
  {
    key: 'stream.maxBufferedBytes',
    env: 'ENGRAM_STREAM_MAX_BUFFERED_BYTES',
    flag: '--stream-max-buffered-bytes',
    kind: { type: 'bytes', min: 16 * KiB, max: 1024 * MiB },
    default: MiB,
    doc: 'Outgoing buffer per connection above which its subscriptions pause (and later catch up from the log).',
  },
  {
    key: 'stream.slowConsumerTimeout',
    env: 'ENGRAM_STREAM_SLOW_CONSUMER_TIMEOUT',
    flag: '--stream-slow-consumer-timeout',
    kind: { type: 'duration', min: SECOND, max: HOUR },
    default: '30s',
    doc: 'A connection over its buffer limit that takes nothing for this long is closed with code 4001 (reconnect and resume).',
  },
  {
    key: 'stream.maxConnections',
    env: 'ENGRAM_STREAM_MAX_CONNECTIONS',
    flag: '--stream-max-connections',
    kind: { type: 'int', min: 1, max: 1_000_000 },
    default: 20_000,
    doc: 'WebSocket and SSE connections open at once, all clients together; one more is refused with 503 TOO_MANY_CONNECTIONS (quotas.connections limits each client).',
  },
  {
    key: 'stream.maxSubscriptions',
    env: 'ENGRAM_STREAM_MAX_SUBSCRIPTIONS',
    flag: '--stream-max-subscriptions',
    kind: { type: 'int', min: 1, max: 100_000 },
    default: 256,
    doc: 'Contexts one WebSocket connection may follow at once.',
  },
  {
    key: 'stream.compression',
    env: 'ENGRAM_STREAM_COMPRESSION',
    flag: '--stream-compression',
    kind: { type: 'bool' },
    default: false,
    doc: 'permessage-deflate on WebSocket frames (less bandwidth, more CPU per frame).',
  },
  {
    key: 'locks.defaultTtl',
    env: 'ENGRAM_LOCKS_DEFAULT_TTL',
    flag: '--locks-default-ttl',
    kind: { type: 'duration', min: 1, max: 24 * HOUR },
    default: '30s',
    doc: 'Lease of a lock acquired without ttlMs.',
  },
  {
    key: 'locks.maxTtl',
    env: 'ENGRAM_LOCKS_MAX_TTL',
    flag: '--locks-max-ttl',
    kind: { type: 'duration', min: 1, max: 7 * 24 * HOUR },
    default: '1h',
    doc: 'Longest lease a request may ask for (ttlMs above it is refused).',
  },
  {
    key: 'locks.maxWait',
    env: 'ENGRAM_LOCKS_MAX_WAIT',
    flag: '--locks-max-wait',
    kind: { type: 'duration', min: 0, max: HOUR },
    default: '60s',
    doc: 'Longest time an acquire may wait for a held lock (waitMs above it is refused).',
  },
  {
    key: 'search.enabled',
    env: 'ENGRAM_SEARCH_ENABLED',
    flag: '--search-enabled',
    kind: { type: 'bool' },
    default: true,
    doc: 'Index work units for POST /search (off: no index, no search, no indexing work at all).',
  },
  {
    key: 'search.embedder',
    env: 'ENGRAM_SEARCH_EMBEDDER',
    flag: '--search-embedder',
    kind: { type: 'enum', values: ['offline', 'openai', 'ollama', 'none'] },
    default: 'offline',
    doc: 'How text becomes vectors: offline (packaged word vectors, no network), openai (an OpenAI-compatible /v1/embeddings server), ollama (/api/embed), or none (keyword search, plus units that carry their own embedding).',
  },
  {
    key: 'search.embedderUrl',
    env: 'ENGRAM_SEARCH_EMBEDDER_URL',
    flag: '--search-embedder-url',
    kind: { type: 'string' },
    default: '',
    doc: 'Base URL of the embedding server (openai, ollama).',
  },
  {
    key: 'search.embedderModel',
    env: 'ENGRAM_SEARCH_EMBEDDER_MODEL',
    flag: '--search-embedder-model',
    kind: { type: 'string' },
    default: '',
    doc: 'Model name sent to the embedding server (openai, ollama).',
  },
  {
    key: 'search.embedderApiKey',
    env: 'ENGRAM_SEARCH_EMBEDDER_API_KEY',
    flag: '--search-embedder-api-key',
    kind: { type: 'string' },
    default: '',
    doc: 'Bearer token for the embedding server, if it needs one (prefer the environment variable).',
  },
  {
    key: 'search.dimensions',
    env: 'ENGRAM_SEARCH_DIMENSIONS',
    flag: '--search-dimensions',
    kind: { type: 'int', min: 0, max: 4096 },
    default: 0,
    doc: 'Vector size. 0: the embedder\'s own (100 for offline). Required for openai and ollama. With none, a size here enables vector search over units that carry their own embedding.',
  },
  {
    key: 'search.vectorIndex',
    env: 'ENGRAM_SEARCH_VECTOR_INDEX',
    flag: '--search-vector-index',
    kind: { type: 'enum', values: ['flat', 'hnsw'] },
    default: 'flat',
    doc: 'How vectors are searched: flat (an exact scan of 8-bit copies, re-scored at full precision: an insert costs nothing, a query ~25 µs per 1,000 vectors of a client) or hnsw (a usearch graph: queries stay fast at millions of vectors per client, each insert costs 0.1–0.5 ms of CPU).',
  },
  {
    key: 'search.yieldAbove',
    env: 'ENGRAM_SEARCH_YIELD_ABOVE',
    flag: '--search-yield-above',
    kind: { type: 'int', min: 1, max: 100 },
    default: 50,
    doc: 'Indexing waits (up to 1 s at a time) while the main thread is busy more than this percentage of its time, so a burst of writes gets the CPU and the index catches up after it. 100: indexing never waits.',
  },
  {
    key: 'search.metaKeys',
    env: 'ENGRAM_SEARCH_META_KEYS',
    flag: '--search-meta-keys',
    kind: { type: 'list' },
    default: 'title,summary,tags',
    doc: 'Meta keys whose values are indexed as text together with the payload (comma-separated, or a YAML list).',
  },
  {
    key: 'search.snapshotInterval',
    env: 'ENGRAM_SEARCH_SNAPSHOT_INTERVAL',
    flag: '--search-snapshot-interval',
    kind: { type: 'duration', min: 0, max: 24 * HOUR },
    default: '5m',
    doc: 'How often the vector snapshot is saved (when it changed); it is also saved at shutdown.',
  },
  {
    key: 'search.wordVectors',
    env: 'ENGRAM_SEARCH_WORD_VECTORS',
    flag: '--search-word-vectors',
    kind: { type: 'string' },
    default: '',
    doc: 'Word-vector file of the offline embedder. Empty: the one `make build` writes (dist/models/wink-sg-100d.bin).',
  },
  {
    key: 'clients.default',
    env: 'ENGRAM_CLIENTS_DEFAULT',
    flag: '--clients-default',
    kind: { type: 'string' },
    default: 'default',
    doc: 'The client of requests that name none (no X-Client-ID header, no x-client-id gRPC metadata). Each client sees only its own contexts, units, locks, search results and streams.',
  },
  {
    key: 'clients.idleThreshold',
    env: 'ENGRAM_CLIENTS_IDLE_THRESHOLD',
    flag: '--clients-idle-threshold',
    kind: { type: 'duration', min: 1 * SECOND, max: 7 * 24 * HOUR },
    default: '10m',
    doc: 'A client idle this long with no stream open has its in-memory state (activity, quota buckets, cached contexts) dropped; it is rebuilt from the log on its next request. POST /clients/cleanup does the same at once.',
  },
  {
    key: 'memory.factSimilarity',
    env: 'ENGRAM_MEMORY_FACT_SIMILARITY',
    flag: '--memory-fact-similarity',
    kind: { type: 'int', min: 50, max: 100 },
    default: 97,
    doc: 'A fact whose value the search embedder finds at least this similar (cosine × 100) to a known one, with the same numbers in it, is already known (NOOP). 100: only exact matches. The offline embedder averages word vectors, so keep it high; a sentence-embedding model works well near 90 (docs/memory.md).',
  },
  {
    key: 'mcp.enabled',
    env: 'ENGRAM_MCP_ENABLED',
    flag: '--mcp-enabled',
    kind: { type: 'bool' },
    default: true,
    doc: 'Serve MCP over Streamable HTTP at /mcp (the same tools as `engram mcp`).',
  },
  {
    key: 'mcp.allowedOrigins',
    env: 'ENGRAM_MCP_ALLOWED_ORIGINS',
    flag: '--mcp-allowed-origins',
    kind: { type: 'list' },
    default: '',
    doc: 'Browser origins (like https://app.example.com) allowed to call /mcp, comma-separated. Requests without an Origin header and from loopback origins are always allowed; any other origin is refused with 403, against DNS-rebinding attacks on a local server.',
  },
  {
    key: 'auth.mode',
    env: 'ENGRAM_AUTH_MODE',
    flag: '--auth-mode',
    kind: { type: 'enum', values: ['none', 'apikey', 'jwt'] },
    default: 'none',
    doc: 'none: the X-Client-ID header names the client, with every scope (loopback only unless auth.allowRemote). apikey: keys from auth.keys or auth.keysFile. jwt: signed tokens checked with auth.jwtSecret or auth.jwtKeysFile (docs/clients.md).',
  },
  {
    key: 'auth.allowRemote',
    env: 'ENGRAM_AUTH_ALLOW_REMOTE',
    flag: '--auth-allow-remote',
    kind: { type: 'bool' },
    default: false,
    doc: 'With auth.mode none, allow listening on an address other than loopback (anyone who reaches the port can then read and write everything).',
  },
  {
    key: 'auth.keysFile',
    env: 'ENGRAM_AUTH_KEYS_FILE',
    flag: '--auth-keys-file',
    kind: { type: 'string' },
    default: '',
    doc: 'YAML or JSON file with a list of API keys, as auth.keys: each {client, hash: "sha256:<hex>", scopes, contexts}. `engram keygen` makes a key and prints its entry. Read at start-up.',
  },
  {
    key: 'auth.jwtSecret',
    env: 'ENGRAM_AUTH_JWT_SECRET',
    flag: '--auth-jwt-secret',
    kind: { type: 'string' },
    default: '',
    doc: 'HMAC secret for HS256/HS384/HS512 tokens (at least 32 bytes). Prefer the environment variable to a flag, which other users can see.',
  },
  {
    key: 'auth.jwtKeysFile',
    env: 'ENGRAM_AUTH_JWT_KEYS_FILE',
    flag: '--auth-jwt-keys-file',
    kind: { type: 'string' },
    default: '',
    doc: 'Public keys for RS*, PS*, ES256/384/512 and EdDSA tokens: a PEM file (one or more keys) or a JWKS file (keys matched by kid).',
  },
  {
    key: 'auth.jwtIssuer',
    env: 'ENGRAM_AUTH_JWT_ISSUER',
    flag: '--auth-jwt-issuer',
    kind: { type: 'string' },
    default: '',
    doc: 'When set, tokens must carry this iss.',
  },
  {
    key: 'auth.jwtAudience',
    env: 'ENGRAM_AUTH_JWT_AUDIENCE',
    flag: '--auth-jwt-audience',
    kind: { type: 'string' },
    default: '',
    doc: 'When set, tokens must carry this aud.',
  },
  {
    key: 'auth.jwtClientClaim',
    env: 'ENGRAM_AUTH_JWT_CLIENT_CLAIM',
    flag: '--auth-jwt-client-claim',
    kind: { type: 'string' },
    default: 'sub',
    doc: 'The claim that names the client (sub, or client_id when sub is absent).',
  },
  {
    key: 'quotas.writesPerSecond',
    env: 'ENGRAM_QUOTAS_WRITES_PER_SECOND',
    flag: '--quotas-writes-per-second',
    kind: { type: 'int', min: 0, max: 10_000_000 },
    default: 0,
    doc: 'Sustained work units per second per client; 0: unlimited. Over it: 429 QUOTA_EXCEEDED with Retry-After.',
  },
  {
    key: 'quotas.writeBurst',
    env: 'ENGRAM_QUOTAS_WRITE_BURST',
    flag: '--quotas-write-burst',
    kind: { type: 'int', min: 0, max: 10_000_000 },
    default: 0,
    doc: 'Units a client may write at once above its rate; 0: one second at the rate.',
  },
  {
    key: 'quotas.connections',
    env: 'ENGRAM_QUOTAS_CONNECTIONS',
    flag: '--quotas-connections',
    kind: { type: 'int', min: 0, max: 10_000_000 },
    default: 0,
    doc: 'Open stream connections (WebSocket, SSE, gRPC Subscribe) per client; 0: unlimited.',
  },
  {
    key: 'quotas.subscriptions',
    env: 'ENGRAM_QUOTAS_SUBSCRIPTIONS',
    flag: '--quotas-subscriptions',
    kind: { type: 'int', min: 0, max: 10_000_000 },
    default: 0,
    doc: 'Context subscriptions per client across all its streams; 0: unlimited.',
  },
  {
    key: 'quotas.storageBytes',
    env: 'ENGRAM_QUOTAS_STORAGE_BYTES',
    flag: '--quotas-storage-bytes',
    kind: { type: 'bytes', min: 0, max: Number.MAX_SAFE_INTEGER },
    default: 0,
    doc: 'Bytes of units a client may store; 0: unlimited. Measured from the log on first use (LevelDB\'s size estimate of the client\'s own space), plus what it writes after.',
  },
  {
    key: 'log.level',
    env: 'ENGRAM_LOG_LEVEL',
    flag: '--log-level',
    kind: { type: 'enum', values: ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] },
    default: 'info',
    doc: 'Least severe log level written (JSON lines on stdout).',
  },
];
