/**
 * The one config schema. Every setting is declared once here, in TABLE: its YAML key, kind
 * (type, bounds), default and doc. The rest follows from it: the `Config` type, the environment
 * variable and command-line flag, the loader's object (config/load.ts), `engram config`, `--help`;
 * config.example.yaml and docs/configuration.md are checked against it by tests.
 *
 * Names, from the dotted YAML key split into words (at the dot and at each capital):
 *   environment   ENGRAM_ and the words in capitals joined by _   storage.maxBatchUnits → ENGRAM_STORAGE_MAX_BATCH_UNITS
 *   flag          -- and the words in lower case joined by -      storage.maxBatchUnits → --storage-max-batch-units
 *   Config field  the key, with Ms after a duration's (in ms)     stream.heartbeat → config.stream.heartbeatMs
 * An entry states `env` and `flag` only where its public names are older than the rule (they
 * are kept: scripts use them), like storage.dataDir's ENGRAM_DATA_DIR and --data-dir; and `field`
 * only where the code reads the value elsewhere, like clients.default at clients.defaultClient.
 */
import type { ApiKeyEntry } from '../auth/apikeys.js';
import type { GroupConfig } from '../tenancy/access.js';
import type { QuotaLimits } from '../tenancy/quotas.js';
import type { RetentionPolicy } from '../tenancy/retention-policy.js';
import type { Nested } from './paths.js';

export type SettingKind =
  | { type: 'string' }
  | { type: 'list' }
  | { type: 'path' }
  | { type: 'bool' }
  | { type: 'int'; min: number; max: number }
  | { type: 'number'; min: number; max: number }
  | { type: 'bytes'; min: number; max: number }
  | { type: 'duration'; min: number; max: number }
  | { type: 'hostport' }
  | { type: 'enum'; values: readonly string[] };

/** A row of TABLE, as written. */
interface SettingEntry {
  /** Dotted YAML path, e.g. "storage.sync". */
  key: string;
  /** Only where the rule above would give another name. */
  env?: string;
  flag?: string;
  /** Dotted path in Config, only where it is not the rule's. */
  field?: string;
  kind: SettingKind;
  /** As a user would write it (durations with a unit); parsed like any other value. */
  default: string | number | boolean;
  doc: string;
  /** `engram config` prints (set) instead of the value. */
  secret?: boolean;
}

/** A setting with every name worked out (what the loader, `--help` and the tests use). */
export type Setting = Required<SettingEntry>;

export interface HostPort {
  host: string;
  port: number;
}

/** What a value of each kind becomes in Config (config/values.ts parses it). */
interface KindValues {
  string: string;
  list: string[];
  path: string;
  bool: boolean;
  int: number;
  /** A decimal, like 0.25. */
  number: number;
  bytes: number;
  /** Milliseconds. */
  duration: number;
  hostport: HostPort;
  enum: string;
}

/**
 * Settings that only a config file can hold, because they are lists or maps of records:
 * each is validated by its parser in config/structured.ts, and lands in Config at its key.
 */
export interface StructuredValues {
  'auth.keys': ApiKeyEntry[];
  'clients.groups': GroupConfig[];
  'quotas.clients': Record<string, Partial<QuotaLimits>>;
  'retention.policies': RetentionPolicy[];
}
export const STRUCTURED_KEYS = ['auth.keys', 'clients.groups', 'quotas.clients', 'retention.policies'] as const satisfies ReadonlyArray<keyof StructuredValues>;
export type StructuredKey = (typeof STRUCTURED_KEYS)[number];

const KiB = 1024;
const MiB = 1024 * KiB;
const SECOND = 1000;
const HOUR = 3600 * SECOND;

const TABLE = [
  {
    key: 'server.addr',
    env: 'ENGRAM_ADDR',
    flag: '--addr',
    kind: { type: 'hostport' },
    default: '127.0.0.1:8080',
    doc: 'HTTP, WebSocket and SSE listen address, HOST:PORT ([::1]:PORT for IPv6; :PORT for every IPv4 interface, which needs auth on or auth.allowRemote). Port 0 picks a free port; the first log line prints the bound address.',
  },
  {
    key: 'server.grpcAddr',
    env: 'ENGRAM_GRPC_ADDR',
    flag: '--grpc-addr',
    kind: { type: 'hostport' },
    default: '127.0.0.1:9090',
    doc: 'gRPC listen address (engram.v3.EngramService, health, reflection), HOST:PORT (:PORT for every IPv4 interface). Port 0 picks a free port; the first log line prints it as grpcAddr.',
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
    doc: "Browser origins besides the server's own pages that may call the API and open streams (CORS, WebSocket Origin check), like https://app.example.com; * allows every origin. Others get no CORS headers, 403 for writes, and no WebSocket.",
  },
  {
    key: 'server.tls.certFile',
    kind: { type: 'string' },
    default: '',
    doc: 'PEM certificate (its chain after it) that HTTP, WebSocket, SSE and gRPC present; with server.tls.keyFile it turns TLS on for all of them (https://, wss://). Empty: plain TCP. Read at start-up: a new certificate needs a restart (docs/deployment.md).',
  },
  {
    key: 'server.tls.keyFile',
    kind: { type: 'string' },
    default: '',
    doc: 'PEM private key of server.tls.certFile (not encrypted).',
  },
  {
    key: 'server.tls.clientCaFile',
    kind: { type: 'string' },
    default: '',
    doc: "Mutual TLS: PEM CA certificate(s) that client certificates must chain to. Every connection, on every transport, must then present such a certificate; one without, or with another CA's, is refused in the handshake. Empty: clients present none.",
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
    kind: { type: 'bool' },
    default: false,
    doc: 'fsync every committed batch before acknowledging it. Off: an acknowledged write survives a crash or kill -9 of the server, but not a power loss or kernel crash. On: it survives those too, at the cost measured in docs/benchmarks.md (write-http-sync).',
  },
  {
    key: 'storage.maxBatchUnits',
    kind: { type: 'int', min: 1, max: 65536 },
    default: 1024,
    doc: 'Most writes grouped into one storage batch.',
  },
  {
    key: 'storage.writeBufferBytes',
    kind: { type: 'bytes', min: 64 * KiB, max: 1024 * MiB },
    default: 4 * MiB,
    doc: 'LevelDB memtable size. Larger means fewer, longer flushes to disk and a longer log replay after a crash.',
  },
  {
    key: 'storage.verifyOnStart',
    kind: { type: 'bool' },
    default: true,
    doc: 'Read every stored block once at start-up, so a damaged data dir stops the start (pointing at engram repair) instead of failing reads later. Costs a scan of the log (about a second per few hundred MiB); false skips it.',
  },
  {
    key: 'storage.cacheBytes',
    kind: { type: 'bytes', min: 0, max: 64 * 1024 * MiB },
    default: 8 * MiB,
    doc: 'LevelDB block cache, for reads that miss the in-memory tails.',
  },
  {
    key: 'storage.backend',
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
    kind: { type: 'int', min: 0, max: 100_000 },
    default: 256,
    doc: 'Recent units of each context kept in memory (serves "the last N" and catch-up without storage reads).',
  },
  {
    key: 'cache.maxContexts',
    kind: { type: 'int', min: 1, max: 10_000_000 },
    default: 10_000,
    doc: 'Contexts whose state stays in memory; the least recently used beyond this are dropped (and reloaded on use).',
  },
  {
    key: 'cache.maxBytes',
    kind: { type: 'bytes', min: 0, max: 64 * 1024 * MiB },
    default: 256 * MiB,
    doc: 'Budget for the unit text held in memory tails, across all contexts.',
  },
  {
    key: 'idempotency.ttl',
    kind: { type: 'duration', min: SECOND, max: 365 * 24 * HOUR },
    default: '24h',
    doc: 'How long an idempotency key is remembered, e.g. 24h, 30m. A retry after this appends a new unit.',
  },
  {
    key: 'stream.heartbeat',
    kind: { type: 'duration', min: SECOND, max: HOUR },
    default: '10s',
    doc: 'Interval of heartbeat frames on WebSocket streams (SSE streams send a comment at least every 5 s).',
  },
  {
    key: 'stream.idleTimeout',
    kind: { type: 'duration', min: 8 * SECOND, max: HOUR },
    default: '60s',
    doc: "A WebSocket with nothing received for this long (no message, no pong to the server's pings) is closed.",
  },
  {
    key: 'stream.maxBufferedBytes',
    kind: { type: 'bytes', min: 16 * KiB, max: 1024 * MiB },
    default: MiB,
    doc: 'Outgoing buffer per connection above which its subscriptions pause (and later catch up from the log).',
  },
  {
    key: 'stream.slowConsumerTimeout',
    kind: { type: 'duration', min: SECOND, max: HOUR },
    default: '30s',
    doc: 'A connection over its buffer limit that takes nothing for this long is closed with code 4001 (reconnect and resume).',
  },
  {
    key: 'stream.maxConnections',
    kind: { type: 'int', min: 1, max: 1_000_000 },
    default: 20_000,
    doc: 'WebSocket and SSE connections open at once, all clients together; one more is refused with 503 TOO_MANY_CONNECTIONS (quotas.connections limits each client).',
  },
  {
    key: 'stream.maxSubscriptions',
    kind: { type: 'int', min: 1, max: 100_000 },
    default: 256,
    doc: 'Contexts one WebSocket connection may follow at once.',
  },
  {
    key: 'stream.presenceInterval',
    kind: { type: 'duration', min: 100, max: HOUR },
    default: '5s',
    doc: 'With storage.backend nats: how often each node publishes its whole presence state (who is subscribed to it) to the others; a node not heard from for 3 intervals is gone and its members leave.',
  },
  {
    key: 'stream.compression',
    kind: { type: 'bool' },
    default: false,
    doc: 'permessage-deflate on WebSocket frames (less bandwidth, more CPU per frame).',
  },
  {
    key: 'locks.defaultTtl',
    kind: { type: 'duration', min: 1, max: 24 * HOUR },
    default: '30s',
    doc: 'Lease of a lock acquired without ttlMs.',
  },
  {
    key: 'locks.maxTtl',
    kind: { type: 'duration', min: 1, max: 7 * 24 * HOUR },
    default: '1h',
    doc: 'Longest lease a request may ask for (ttlMs above it is refused).',
  },
  {
    key: 'locks.maxWait',
    kind: { type: 'duration', min: 0, max: HOUR },
    default: '60s',
    doc: 'Longest time an acquire may wait for a held lock (waitMs above it is refused).',
  },
  {
    key: 'search.enabled',
    kind: { type: 'bool' },
    default: true,
    doc: 'Index work units for POST /search (off: no index, no search, no indexing work at all).',
  },
  {
    key: 'search.embedder',
    kind: { type: 'enum', values: ['offline', 'openai', 'ollama', 'none'] },
    default: 'offline',
    doc: 'How text becomes vectors: offline (packaged word vectors, no network), openai (an OpenAI-compatible /v1/embeddings server), ollama (/api/embed), or none (keyword search, plus units that carry their own embedding).',
  },
  {
    key: 'search.embedderUrl',
    kind: { type: 'string' },
    default: '',
    doc: 'Base URL of the embedding server (openai, ollama).',
  },
  {
    key: 'search.embedderModel',
    kind: { type: 'string' },
    default: '',
    doc: 'Model name sent to the embedding server (openai, ollama).',
  },
  {
    key: 'search.embedderApiKey',
    secret: true,
    kind: { type: 'string' },
    default: '',
    doc: 'Bearer token for the embedding server, if it needs one (prefer the environment variable).',
  },
  {
    key: 'search.dimensions',
    kind: { type: 'int', min: 0, max: 4096 },
    default: 0,
    doc: "Vector size. 0: the embedder's own (100 for offline). Required for openai and ollama. With none, a size here enables vector search over units that carry their own embedding.",
  },
  {
    key: 'search.vectorIndex',
    kind: { type: 'enum', values: ['flat', 'hnsw'] },
    default: 'flat',
    doc: 'How vectors are searched: flat (an exact scan of 8-bit copies, re-scored at full precision: an insert costs nothing, a query ~25 µs per 1,000 vectors of a client) or hnsw (a usearch graph: queries stay fast at millions of vectors per client, each insert costs 0.1–0.5 ms of CPU).',
  },
  {
    key: 'search.yieldAbove',
    kind: { type: 'int', min: 1, max: 100 },
    default: 50,
    doc: 'Indexing waits (up to 1 s at a time) while the main thread is busy more than this percentage of its time, so a burst of writes gets the CPU and the index catches up after it. 100: indexing never waits.',
  },
  {
    key: 'search.metaKeys',
    kind: { type: 'list' },
    default: 'title,summary,tags',
    doc: 'Meta keys whose values are indexed as text together with the payload (comma-separated, or a YAML list).',
  },
  {
    key: 'search.snapshotInterval',
    kind: { type: 'duration', min: 0, max: 24 * HOUR },
    default: '5m',
    doc: 'How often the vector snapshot is saved (when it changed); it is also saved at shutdown.',
  },
  {
    key: 'search.wordVectors',
    kind: { type: 'string' },
    default: '',
    doc: 'Word-vector file of the offline embedder. Empty: the one `make build` writes (dist/models/wink-sg-100d.bin).',
  },
  {
    key: 'clients.default',
    field: 'clients.defaultClient',
    kind: { type: 'string' },
    default: 'default',
    doc: 'The client of requests that name none (no X-Client-ID header, no x-client-id gRPC metadata). Each client sees only its own contexts, units, locks, search results and streams.',
  },
  {
    key: 'retention.interval',
    kind: { type: 'duration', min: 1 * SECOND, max: 7 * 24 * HOUR },
    default: '1m',
    doc: 'How often retention looks at every context and trims what its policy (retention.policies, a list in the config file) no longer keeps. Without policies nothing is trimmed.',
  },
  {
    key: 'clients.idleThreshold',
    kind: { type: 'duration', min: 1 * SECOND, max: 7 * 24 * HOUR },
    default: '10m',
    doc: 'A client idle this long with no stream open has its in-memory state (activity, quota buckets, cached contexts) dropped; it is rebuilt from the log on its next request. POST /clients/cleanup does the same at once.',
  },
  {
    key: 'memory.factSimilarity',
    kind: { type: 'int', min: 50, max: 100 },
    default: 97,
    doc: 'A fact whose value the search embedder finds at least this similar (cosine × 100) to a known one, with the same numbers in it, is already known (NOOP). 100: only exact matches. The offline embedder averages word vectors, so keep it high; a sentence-embedding model works well near 90 (docs/memory.md).',
  },
  {
    key: 'memory.snapshotEvery',
    kind: { type: 'int', min: 0, max: 10_000_000 },
    default: 1000,
    doc: 'Memory files, facts and the knowledge graph are rebuilt (at start, or when dropped from memory) by replaying their context; a snapshot of the state is stored once it is this many units past the latest one, and a rebuild starts from it, replaying only the units after it. 0: no snapshots, every rebuild replays from the start (docs/memory.md).',
  },
  {
    key: 'memory.model.provider',
    kind: { type: 'enum', values: ['none', 'openai', 'anthropic'] },
    default: 'none',
    doc: 'The language model that reads conversation turns for POST /memory/{space}/process-turn: openai (an OpenAI-compatible chat-completions server: OpenAI, Ollama, vLLM…; JSON-schema output), anthropic (the Messages API; a forced tool call), or none (the offline rules, docs/memory.md). Never on the write path of units.',
  },
  {
    key: 'memory.model.url',
    kind: { type: 'string' },
    default: '',
    doc: 'Base URL of the provider: for openai up to and including /v1 (http://127.0.0.1:11434/v1 for Ollama), for anthropic the host (/v1/messages is appended).',
  },
  {
    key: 'memory.model.name',
    kind: { type: 'string' },
    default: '',
    doc: 'The model to ask, as the provider names it.',
  },
  {
    key: 'memory.model.apiKey',
    secret: true,
    kind: { type: 'string' },
    default: '',
    doc: "The provider's API key, if it needs one (prefer the environment variable ENGRAM_MEMORY_MODEL_API_KEY).",
  },
  {
    key: 'memory.model.timeout',
    kind: { type: 'duration', min: 100, max: 600 * SECOND },
    default: '60s',
    doc: 'Longest wait for one answer of the provider; a turn makes two calls, each retried as memory.model.retries says.',
  },
  {
    key: 'memory.model.retries',
    kind: { type: 'int', min: 0, max: 10 },
    default: 2,
    doc: 'Retries of a call that failed on the network, timed out, or was answered 408, 409, 429 or 5xx (with backoff, and Retry-After honoured up to 10 s); other errors are not retried. After the last: MODEL_UNAVAILABLE, nothing stored.',
  },
  {
    key: 'memory.model.maxTokens',
    kind: { type: 'int', min: 64, max: 200_000 },
    default: 4096,
    doc: 'Most tokens of one answer (max_tokens); an answer cut off there is refused (MODEL_OUTPUT_INVALID), nothing stored.',
  },
  {
    key: 'mcp.enabled',
    kind: { type: 'bool' },
    default: true,
    doc: 'Serve MCP over Streamable HTTP at /mcp (the same tools as `engram mcp`).',
  },
  {
    key: 'mcp.allowedOrigins',
    kind: { type: 'list' },
    default: '',
    doc: 'Browser origins (like https://app.example.com) allowed to call /mcp, comma-separated. Requests without an Origin header and from loopback origins are always allowed; any other origin is refused with 403, against DNS-rebinding attacks on a local server.',
  },
  {
    key: 'auth.mode',
    kind: { type: 'enum', values: ['none', 'apikey', 'jwt'] },
    default: 'none',
    doc: 'none: the X-Client-ID header names the client, with every scope (loopback only unless auth.allowRemote). apikey: keys from auth.keys or auth.keysFile. jwt: signed tokens checked with auth.jwtSecret or auth.jwtKeysFile (docs/clients.md).',
  },
  {
    key: 'auth.allowRemote',
    kind: { type: 'bool' },
    default: false,
    doc: 'With auth.mode none, allow listening on an address other than loopback (anyone who reaches the port can then read and write everything).',
  },
  {
    key: 'auth.keysFile',
    kind: { type: 'string' },
    default: '',
    doc: 'YAML or JSON file with a list of API keys, as auth.keys: each {client, hash: "sha256:<hex>", scopes, contexts}. `engram keygen` makes a key and prints its entry. Read at start-up.',
  },
  {
    key: 'auth.jwtSecret',
    secret: true,
    kind: { type: 'string' },
    default: '',
    doc: 'HMAC secret for HS256/HS384/HS512 tokens (at least 32 bytes). Prefer the environment variable to a flag, which other users can see.',
  },
  {
    key: 'auth.jwtKeysFile',
    kind: { type: 'string' },
    default: '',
    doc: 'Public keys for RS*, PS*, ES256/384/512 and EdDSA tokens: a PEM file (one or more keys) or a JWKS file (keys matched by kid).',
  },
  {
    key: 'auth.jwtIssuer',
    kind: { type: 'string' },
    default: '',
    doc: 'When set, tokens must carry this iss.',
  },
  {
    key: 'auth.jwtAudience',
    kind: { type: 'string' },
    default: '',
    doc: 'When set, tokens must carry this aud.',
  },
  {
    key: 'auth.jwtClientClaim',
    kind: { type: 'string' },
    default: 'sub',
    doc: 'The claim that names the client (sub, or client_id when sub is absent).',
  },
  {
    key: 'quotas.writesPerSecond',
    field: 'quotas.defaults.writesPerSecond',
    kind: { type: 'int', min: 0, max: 10_000_000 },
    default: 0,
    doc: 'Sustained work units per second per client; 0: unlimited. Over it: 429 QUOTA_EXCEEDED with Retry-After.',
  },
  {
    key: 'quotas.writeBurst',
    field: 'quotas.defaults.writeBurst',
    kind: { type: 'int', min: 0, max: 10_000_000 },
    default: 0,
    doc: 'Units a client may write at once above its rate; 0: one second at the rate.',
  },
  {
    key: 'quotas.connections',
    field: 'quotas.defaults.connections',
    kind: { type: 'int', min: 0, max: 10_000_000 },
    default: 0,
    doc: 'Open stream connections (WebSocket, SSE, gRPC Subscribe) per client; 0: unlimited.',
  },
  {
    key: 'quotas.subscriptions',
    field: 'quotas.defaults.subscriptions',
    kind: { type: 'int', min: 0, max: 10_000_000 },
    default: 0,
    doc: 'Context subscriptions per client across all its streams; 0: unlimited.',
  },
  {
    key: 'quotas.storageBytes',
    field: 'quotas.defaults.storageBytes',
    kind: { type: 'bytes', min: 0, max: Number.MAX_SAFE_INTEGER },
    default: 0,
    doc: "Bytes of units a client may store; 0: unlimited. Measured from the log on first use (LevelDB's size estimate of the client's own space), plus what it writes after.",
  },
  {
    key: 'tracing.enabled',
    kind: { type: 'bool' },
    default: false,
    doc: 'Send OpenTelemetry spans (writes, fan-out, lock waits, search, memory operations and their language-model calls) over OTLP/HTTP to tracing.endpoint (docs/agents.md, "Traces"). Off: the OpenTelemetry packages are not even loaded.',
  },
  {
    key: 'tracing.endpoint',
    kind: { type: 'string' },
    default: 'http://127.0.0.1:4318/v1/traces',
    doc: 'The OTLP/HTTP traces URL of a collector or tracing backend (OTLP JSON is posted to it as is: give the whole path, usually ending in /v1/traces).',
  },
  {
    key: 'tracing.serviceName',
    kind: { type: 'string' },
    default: 'engram',
    doc: 'The service.name the spans carry (one per deployment, or per node to tell nodes apart).',
  },
  {
    key: 'tracing.sampleRatio',
    kind: { type: 'number', min: 0, max: 1 },
    default: 1,
    doc: 'Share of new traces kept, from 0 to 1 (0.1 keeps one in ten). A write that carries a traceparent follows its sampled flag instead, so a trace an agent keeps is kept whole.',
  },
  {
    key: 'tracing.headers',
    secret: true,
    kind: { type: 'list' },
    default: '',
    doc: 'Request headers for the endpoint, name=value each (comma-separated), like authorization=Bearer <token> for a hosted backend. Prefer the environment variable.',
  },
  {
    key: 'tracing.exportDelay',
    kind: { type: 'duration', min: 10, max: 60 * SECOND },
    default: '5s',
    doc: 'Longest a finished span waits before it is sent; spans go in batches (of up to 512), and whatever is waiting is sent at shutdown.',
  },
  {
    key: 'log.level',
    kind: { type: 'enum', values: ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] },
    default: 'info',
    doc: 'Least severe log level written (JSON lines on stdout).',
  },
] as const satisfies readonly SettingEntry[];

/** The rule in the header: "storage.maxBatchUnits" → ["storage", "max", "batch", "units"]. */
function words(key: string): string[] {
  return key.split(/\.|(?=[A-Z])/).map((w) => w.toLowerCase());
}

export const envName = (key: string): string => `ENGRAM_${words(key).join('_').toUpperCase()}`;
export const flagName = (key: string): string => `--${words(key).join('-')}`;
const fieldName = (e: SettingEntry): string => e.field ?? (e.kind.type === 'duration' ? `${e.key}Ms` : e.key);

export const SETTINGS: readonly Setting[] = TABLE.map((e: SettingEntry) => ({
  ...e,
  env: e.env ?? envName(e.key),
  flag: e.flag ?? flagName(e.key),
  field: fieldName(e),
  secret: e.secret ?? false,
}));

// The Config type, by the same rules as fieldName and KindValues, from the table's literal types.
type Entry = (typeof TABLE)[number];
type FieldOf<E extends Entry> = E extends { field: infer F extends string } ? F : E['kind'] extends { type: 'duration' } ? `${E['key']}Ms` : E['key'];
type ValueOf<K extends SettingKind> = K extends { type: 'enum'; values: readonly (infer V)[] } ? V : KindValues[K['type']];
type SettingLeaf<E extends Entry> = E extends unknown ? { path: FieldOf<E>; value: ValueOf<E['kind']> } : never;
type StructuredLeaf = { [K in StructuredKey]: { path: K; value: StructuredValues[K] } }[StructuredKey];

export type Config = Nested<SettingLeaf<Entry> | StructuredLeaf>;
