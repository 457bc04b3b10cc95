/**
 * Loads the config once at start-up: flags > ENGRAM_* environment > YAML file > defaults.
 * Every bad value is reported at once, each naming its key and where it came from.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { parsePublicKeys } from '../auth/jwt.js';
import { isClientId } from '../tenancy/clients.js';
import { SETTINGS, STRUCTURED_KEYS, type Config, type HostPort, type Setting, type SettingKind, type StructuredKey } from './schema.js';
import { parseApiKeys, parseGroups, parseQuotaOverrides } from './structured.js';

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export interface ConfigSources {
  /** Arguments after the command name, e.g. ["--addr", "127.0.0.1:0"]. */
  argv: readonly string[];
  env: Readonly<Record<string, string | undefined>>;
  readFile?: (path: string) => string;
}

type Value = string | number | boolean;
type Raw = { value: unknown; source: string };

const BYTE_UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, kb: 1024, kib: 1024, m: 1024 ** 2, mb: 1024 ** 2, mib: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3, gib: 1024 ** 3 };
const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export function loadConfig(sources: ConfigSources): Config {
  const problems: string[] = [];
  const byFlag = new Map(SETTINGS.map((s) => [s.flag, s]));
  const fromFlags = new Map<string, Raw>();
  let configPath: Raw | undefined;

  const argv = sources.argv;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf('=');
    const name = eq === -1 ? arg : arg.slice(0, eq);
    const setting = byFlag.get(name);
    if (name !== '--config' && setting === undefined) {
      problems.push(`unknown option ${JSON.stringify(name)} (see engram serve --help)`);
      continue;
    }
    let value: string | undefined = eq === -1 ? undefined : arg.slice(eq + 1);
    if (value === undefined) {
      const next = argv[i + 1];
      if (setting?.kind.type === 'bool' && (next === undefined || next.startsWith('--'))) value = 'true';
      else if (next === undefined) {
        problems.push(`option ${name} needs a value`);
        continue;
      } else {
        value = next;
        i++;
      }
    }
    if (setting === undefined) configPath = { value, source: `option --config` };
    else fromFlags.set(setting.key, { value, source: `option ${name}` });
  }

  const fromEnv = new Map<string, Raw>();
  for (const s of SETTINGS) {
    const v = sources.env[s.env];
    if (v !== undefined) fromEnv.set(s.key, { value: v, source: `environment ${s.env}` });
  }
  if (configPath === undefined && sources.env.ENGRAM_CONFIG !== undefined) {
    configPath = { value: sources.env.ENGRAM_CONFIG, source: 'environment ENGRAM_CONFIG' };
  }

  const fromFile = new Map<string, Raw>();
  const structured = new Map<StructuredKey, unknown>();
  const readFile = sources.readFile ?? ((p: string) => readFileSync(p, 'utf8'));
  if (configPath !== undefined) {
    const path = String(configPath.value);
    let text: string | undefined;
    try {
      text = readFile(path);
    } catch (err) {
      problems.push(`config file ${path} (${configPath.source}): cannot be read: ${(err as Error).message}`);
    }
    if (text !== undefined) readConfigFile(path, text, fromFile, structured, problems);
  }

  const values = new Map<string, Value>();
  for (const s of SETTINGS) {
    const raw = fromFlags.get(s.key) ?? fromEnv.get(s.key) ?? fromFile.get(s.key);
    if (raw === undefined) {
      values.set(s.key, parseValue(s, s.default, 'default', problems)!);
      continue;
    }
    const parsed = parseValue(s, raw.value, raw.source, problems);
    if (parsed !== undefined) values.set(s.key, parsed);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  const config = build(values);
  config.clients.groups = parseGroups(structured.get('clients.groups'), 'clients.groups', problems);
  config.quotas.clients = parseQuotaOverrides(structured.get('quotas.clients'), 'quotas.clients', problems);
  config.auth.keys = parseApiKeys(structured.get('auth.keys'), 'auth.keys', problems);
  if (config.auth.keysFile !== '') config.auth.keys.push(...readKeysFile(config.auth.keysFile, readFile, problems));
  if (config.auth.jwtKeysFile !== '') {
    try {
      parsePublicKeys(readFile(config.auth.jwtKeysFile), config.auth.jwtKeysFile);
    } catch (err) {
      problems.push(`auth.jwtKeysFile: ${(err as Error).message}`);
    }
  }
  crossCheck(config, problems);
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

function describeSearch(s: Config['search']): Record<string, unknown> {
  const { snapshotIntervalMs, embedderApiKey, ...rest } = s;
  return { ...rest, embedderApiKey: embedderApiKey === '' ? '' : '(set)', snapshotInterval: `${snapshotIntervalMs}ms` };
}

/** Rules that span settings. */
function crossCheck(c: Config, problems: string[]): void {
  const s = c.search;
  if (s.enabled && (s.embedder === 'openai' || s.embedder === 'ollama')) {
    if (s.embedderUrl === '') problems.push(`search.embedderUrl: required with search.embedder ${s.embedder}`);
    if (s.embedderModel === '') problems.push(`search.embedderModel: required with search.embedder ${s.embedder}`);
    if (s.dimensions === 0) problems.push(`search.dimensions: required with search.embedder ${s.embedder} (the model's vector size)`);
  }
  if (s.enabled && s.embedder === 'offline' && s.dimensions !== 0 && s.dimensions !== 100) {
    problems.push('search.dimensions: the offline embedder makes 100-dimensional vectors (leave it 0)');
  }
  const { addr, grpcAddr } = c.server;
  if (c.server.grpcEnabled && addr.port !== 0 && addr.port === grpcAddr.port && addr.host === grpcAddr.host) {
    problems.push('server.grpcAddr: the same address as server.addr (gRPC needs its own port)');
  }
  if (c.locks.defaultTtlMs > c.locks.maxTtlMs) problems.push('locks.defaultTtl: longer than locks.maxTtl');
  const a = c.auth;
  if (a.mode === 'none' && !a.allowRemote) {
    for (const [key, hp] of [['server.addr', addr], ['server.grpcAddr', grpcAddr]] as const) {
      if (key === 'server.grpcAddr' && !c.server.grpcEnabled) continue;
      if (!LOOPBACK.test(hp.host)) problems.push(`${key}: ${hp.host} is not loopback, and auth.mode is none (anyone who reaches it could read and write everything); turn auth on, or set auth.allowRemote`);
    }
  }
  if (a.mode === 'apikey' && a.keys.length === 0) problems.push('auth.mode apikey: no keys (give auth.keys in the config file or auth.keysFile)');
  if (a.mode === 'jwt' && a.jwtSecret === '' && a.jwtKeysFile === '') problems.push('auth.mode jwt: give auth.jwtSecret (HS256) or auth.jwtKeysFile (RS256, ES256, EdDSA; PEM or JWKS)');
  if (a.jwtSecret !== '' && Buffer.byteLength(a.jwtSecret) < 32) problems.push('auth.jwtSecret: at least 32 bytes (a short HMAC secret can be guessed offline from any token)');
  if (!isClientId(c.clients.defaultClient)) problems.push('clients.default: not a client id (1–64 of A-Z a-z 0-9 . _ - : @, starting with a letter or digit)');
}

function readKeysFile(path: string, readFile: (p: string) => string, problems: string[]) {
  let doc: unknown;
  try {
    doc = parseYaml(readFile(path));
  } catch (err) {
    problems.push(`auth.keysFile ${path}: cannot be read as YAML or JSON: ${(err as Error).message.split('\n')[0]}`);
    return [];
  }
  return parseApiKeys(doc, `auth.keysFile ${path}`, problems);
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;

function readConfigFile(path: string, text: string, into: Map<string, Raw>, structured: Map<StructuredKey, unknown>, problems: string[]): void {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    problems.push(`config file ${path}: not valid YAML: ${(err as Error).message.split('\n')[0]}`);
    return;
  }
  if (doc === null || doc === undefined) return;
  const known = new Set(SETTINGS.map((s) => s.key));
  const structuredKeys = new Set<string>(STRUCTURED_KEYS);
  const sections = new Set([...SETTINGS.map((s) => s.key), ...STRUCTURED_KEYS].map((k) => k.split('.')[0]!));
  const walk = (node: unknown, prefix: string) => {
    if (typeof node !== 'object' || node === null || Array.isArray(node)) {
      problems.push(`config file ${path}: ${prefix || 'the document'} must be a mapping of settings`);
      return;
    }
    for (const [k, v] of Object.entries(node)) {
      const key = prefix ? `${prefix}.${k}` : k;
      if (known.has(key)) into.set(key, { value: v, source: `config file ${path}` });
      else if (structuredKeys.has(key)) structured.set(key as StructuredKey, v);
      else if (!prefix && sections.has(k)) walk(v, key);
      else problems.push(`config file ${path}: unknown key ${JSON.stringify(key)}`);
    }
  };
  walk(doc, '');
}

function parseValue(s: Setting, raw: unknown, source: string, problems: string[]): Value | undefined {
  const fail = (expected: string) => {
    problems.push(`${s.key} (from ${source}): expected ${expected}, got ${JSON.stringify(raw)}`);
    return undefined;
  };
  const k: SettingKind = s.kind;
  switch (k.type) {
    case 'string':
      if (typeof raw !== 'string') return fail('a string');
      return raw;
    case 'list': {
      const items = Array.isArray(raw) ? raw : typeof raw === 'string' ? raw.split(',') : undefined;
      if (items === undefined || items.some((x) => typeof x !== 'string')) return fail('a list of strings (comma-separated, or a YAML list)');
      return (items as string[]).map((x) => x.trim()).filter((x) => x !== '').join(',');
    }
    case 'path':
      if (typeof raw !== 'string' || raw.trim() === '') return fail('a non-empty string');
      return raw;
    case 'bool': {
      if (typeof raw === 'boolean') return raw;
      const t = String(raw).toLowerCase();
      if (['true', '1', 'yes', 'on'].includes(t)) return true;
      if (['false', '0', 'no', 'off'].includes(t)) return false;
      return fail('true or false');
    }
    case 'int': {
      const n = typeof raw === 'number' ? raw : /^-?\d+$/.test(String(raw).trim()) ? Number(String(raw).trim()) : NaN;
      if (!Number.isSafeInteger(n) || n < k.min || n > k.max) return fail(`an integer from ${k.min} to ${k.max}`);
      return n;
    }
    case 'bytes': {
      const m = typeof raw === 'number' ? [String(raw), String(raw), ''] : /^(\d+)\s*([a-z]*)$/i.exec(String(raw).trim());
      const unit = m ? BYTE_UNITS[m[2]!.toLowerCase()] : undefined;
      const n = m && unit !== undefined ? Number(m[1]) * unit : NaN;
      if (!Number.isSafeInteger(n) || n < k.min || n > k.max) {
        return fail(`a size from ${k.min} to ${k.max} bytes, like 512KiB or 1MiB`);
      }
      return n;
    }
    case 'duration': {
      const m = /^(\d+)\s*(ms|s|m|h|d)$/.exec(String(raw).trim());
      const n = m ? Number(m[1]) * DURATION_UNITS[m[2]!]! : NaN;
      if (typeof raw !== 'string' || !Number.isSafeInteger(n) || n < k.min || n > k.max) {
        return fail(`a duration with a unit (ms, s, m, h, d) from ${k.min} ms to ${k.max} ms, like 30s or 24h`);
      }
      return n;
    }
    case 'hostport':
      return parseHostPort(String(raw)) === undefined ? fail('HOST:PORT with a port from 0 to 65535, like 127.0.0.1:8080 or [::1]:0') : String(raw);
    case 'enum':
      if (typeof raw !== 'string' || !k.values.includes(raw)) return fail(`one of ${k.values.join(', ')}`);
      return raw;
  }
}

export function formatHostPort(a: HostPort): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

export function parseHostPort(text: string): HostPort | undefined {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s[\]]+)):(\d{1,5})$/.exec(text.trim());
  if (!m) return undefined;
  const port = Number(m[3]);
  if (port > 65535) return undefined;
  return { host: m[1] ?? m[2]!, port };
}

function build(v: Map<string, Value>): Config {
  const get = <T extends Value>(key: string) => v.get(key) as T;
  return {
    server: {
      addr: parseHostPort(get<string>('server.addr'))!,
      grpcAddr: parseHostPort(get<string>('server.grpcAddr'))!,
      grpcEnabled: get('server.grpcEnabled'),
      allowedOrigins: get<string>('server.allowedOrigins').split(',').filter((x) => x !== ''),
      allowedHosts: get<string>('server.allowedHosts').split(',').filter((x) => x !== ''),
      shutdownGraceMs: get('server.shutdownGrace'),
    },
    storage: {
      dataDir: get('storage.dataDir'),
      sync: get('storage.sync'),
      maxBatchUnits: get('storage.maxBatchUnits'),
      writeBufferBytes: get('storage.writeBufferBytes'),
      verifyOnStart: get('storage.verifyOnStart'),
      cacheBytes: get('storage.cacheBytes'),
      backend: get('storage.backend'),
      natsUrls: get<string>('storage.natsUrls').split(',').filter((x) => x !== ''),
      natsCreds: get('storage.natsCreds'),
      natsStream: get('storage.natsStream'),
      natsReplicas: get('storage.natsReplicas'),
      natsMaxAgeMs: get('storage.natsMaxAge'),
    },
    limits: { maxUnitBytes: get('limits.maxUnitBytes'), maxHeaderBytes: get('limits.maxHeaderBytes'), requestTimeoutMs: get('limits.requestTimeout') },
    cache: { tailUnits: get('cache.tailUnits'), maxContexts: get('cache.maxContexts'), maxBytes: get('cache.maxBytes') },
    idempotency: { ttlMs: get('idempotency.ttl') },
    locks: { defaultTtlMs: get('locks.defaultTtl'), maxTtlMs: get('locks.maxTtl'), maxWaitMs: get('locks.maxWait') },
    search: {
      enabled: get('search.enabled'),
      embedder: get('search.embedder'),
      embedderUrl: get('search.embedderUrl'),
      embedderModel: get('search.embedderModel'),
      embedderApiKey: get('search.embedderApiKey'),
      dimensions: get('search.dimensions'),
      vectorIndex: get('search.vectorIndex'),
      yieldAbove: get('search.yieldAbove'),
      metaKeys: get<string>('search.metaKeys').split(',').filter((x) => x !== ''),
      snapshotIntervalMs: get('search.snapshotInterval'),
      wordVectors: get('search.wordVectors'),
    },
    stream: {
      heartbeatMs: get('stream.heartbeat'),
      idleTimeoutMs: get('stream.idleTimeout'),
      maxBufferedBytes: get('stream.maxBufferedBytes'),
      slowConsumerTimeoutMs: get('stream.slowConsumerTimeout'),
      maxSubscriptions: get('stream.maxSubscriptions'),
      maxConnections: get('stream.maxConnections'),
      compression: get('stream.compression'),
    },
    clients: { defaultClient: get('clients.default'), idleThresholdMs: get('clients.idleThreshold'), groups: [] },
    memory: { factSimilarity: get('memory.factSimilarity') },
    mcp: { enabled: get('mcp.enabled'), allowedOrigins: get<string>('mcp.allowedOrigins').split(',').filter((x) => x !== '') },
    auth: {
      mode: get('auth.mode'),
      allowRemote: get('auth.allowRemote'),
      keysFile: get('auth.keysFile'),
      keys: [],
      jwtSecret: get('auth.jwtSecret'),
      jwtKeysFile: get('auth.jwtKeysFile'),
      jwtIssuer: get('auth.jwtIssuer'),
      jwtAudience: get('auth.jwtAudience'),
      jwtClientClaim: get('auth.jwtClientClaim'),
    },
    quotas: {
      defaults: {
        writesPerSecond: get('quotas.writesPerSecond'),
        writeBurst: get('quotas.writeBurst'),
        connections: get('quotas.connections'),
        subscriptions: get('quotas.subscriptions'),
        storageBytes: get('quotas.storageBytes'),
      },
      clients: {},
    },
    log: { level: get('log.level') },
  };
}

/** The effective settings as YAML-ready plain values (for `engram config`). */
export function describeConfig(c: Config): Record<string, Record<string, unknown>> {
  return {
    server: { addr: formatHostPort(c.server.addr), grpcAddr: formatHostPort(c.server.grpcAddr), grpcEnabled: c.server.grpcEnabled, allowedOrigins: c.server.allowedOrigins, allowedHosts: c.server.allowedHosts, shutdownGrace: `${c.server.shutdownGraceMs / 1000}s` },
    storage: (({ natsMaxAgeMs, ...rest }) => ({ ...rest, natsMaxAge: `${natsMaxAgeMs / 1000}s` }))(c.storage),
    limits: { maxUnitBytes: c.limits.maxUnitBytes, maxHeaderBytes: c.limits.maxHeaderBytes, requestTimeout: `${c.limits.requestTimeoutMs / 1000}s` },
    cache: { ...c.cache },
    idempotency: { ttl: `${c.idempotency.ttlMs / 1000}s` },
    locks: { defaultTtl: `${c.locks.defaultTtlMs}ms`, maxTtl: `${c.locks.maxTtlMs}ms`, maxWait: `${c.locks.maxWaitMs}ms` },
    search: describeSearch(c.search),
    stream: {
      heartbeat: `${c.stream.heartbeatMs / 1000}s`,
      idleTimeout: `${c.stream.idleTimeoutMs / 1000}s`,
      maxBufferedBytes: c.stream.maxBufferedBytes,
      slowConsumerTimeout: `${c.stream.slowConsumerTimeoutMs / 1000}s`,
      maxSubscriptions: c.stream.maxSubscriptions,
      maxConnections: c.stream.maxConnections,
      compression: c.stream.compression,
    },
    clients: {
      default: c.clients.defaultClient,
      idleThreshold: `${c.clients.idleThresholdMs / 1000}s`,
      groups: Object.fromEntries(c.clients.groups.map((g) => [g.name, { contexts: g.contexts, members: g.members }])),
    },
    memory: { ...c.memory },
    mcp: { ...c.mcp },
    auth: {
      mode: c.auth.mode,
      allowRemote: c.auth.allowRemote,
      keysFile: c.auth.keysFile,
      // Hashes only, never a secret.
      keys: c.auth.keys.map((k) => ({ client: k.client, hash: k.hash, scopes: k.scopes, ...(k.contexts ? { contexts: k.contexts } : {}), ...(k.expires ? { expires: k.expires } : {}) })),
      jwtSecret: c.auth.jwtSecret === '' ? '' : '(set)',
      jwtKeysFile: c.auth.jwtKeysFile,
      jwtIssuer: c.auth.jwtIssuer,
      jwtAudience: c.auth.jwtAudience,
      jwtClientClaim: c.auth.jwtClientClaim,
    },
    quotas: { ...c.quotas.defaults, clients: c.quotas.clients },
    log: { ...c.log },
  };
}
