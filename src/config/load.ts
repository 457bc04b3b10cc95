/**
 * Loads the config once at start-up: flags > ENGRAM_* environment > YAML file > defaults.
 * Every bad value is reported at once, each naming its key and where it came from.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { parsePublicKeys } from '../auth/jwt.js';
import { isClientId } from '../tenancy/clients.js';
import { getPath, setPath } from './paths.js';
import { SETTINGS, STRUCTURED_KEYS, type Config, type Setting, type StructuredKey } from './schema.js';
import { parseApiKeys, STRUCTURED } from './structured.js';
import { checkTls } from './tls.js';
import { formatValue, parseValue, type Value } from './values.js';

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

type Raw = { value: unknown; source: string };

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

  const values = new Map<Setting, Value>();
  for (const s of SETTINGS) {
    const raw = fromFlags.get(s.key) ?? fromEnv.get(s.key) ?? fromFile.get(s.key) ?? { value: s.default, source: 'default' };
    const parsed = parseValue(s, raw.value, raw.source, problems);
    if (parsed !== undefined) values.set(s, parsed);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  const config = build(values, structured, problems);
  if (config.auth.keysFile !== '') config.auth.keys.push(...readKeysFile(config.auth.keysFile, readFile, problems));
  if (config.auth.jwtKeysFile !== '') {
    try {
      parsePublicKeys(readFile(config.auth.jwtKeysFile), config.auth.jwtKeysFile);
    } catch (err) {
      problems.push(`auth.jwtKeysFile: ${(err as Error).message}`);
    }
  }
  checkTls(config, readFile, problems);
  crossCheck(config, problems);
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
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
  const m = c.memory.model;
  if (m.provider !== 'none') {
    if (m.url === '') problems.push(`memory.model.url: required with memory.model.provider ${m.provider}`);
    else if (!/^https?:\/\/[^/]/.test(m.url)) problems.push('memory.model.url: not an http:// or https:// URL');
    // A key in the URL would be echoed by every error that names the URL: it belongs in memory.model.apiKey.
    else if (/^https?:\/\/[^/]*@/.test(m.url)) problems.push('memory.model.url: has credentials in it (user:password@); give the key as memory.model.apiKey');
    if (m.name === '') problems.push(`memory.model.name: required with memory.model.provider ${m.provider} (the model to ask)`);
  }
  const { addr, grpcAddr } = c.server;
  if (c.server.grpcEnabled && addr.port !== 0 && addr.port === grpcAddr.port && addr.host === grpcAddr.host) {
    problems.push('server.grpcAddr: the same address as server.addr (gRPC needs its own port)');
  }
  if (c.locks.defaultTtlMs > c.locks.maxTtlMs) problems.push('locks.defaultTtl: longer than locks.maxTtl');
  const a = c.auth;
  if (a.mode === 'none' && !a.allowRemote) {
    for (const [key, hp] of [
      ['server.addr', addr],
      ['server.grpcAddr', grpcAddr],
    ] as const) {
      if (key === 'server.grpcAddr' && !c.server.grpcEnabled) continue;
      if (!LOOPBACK.test(hp.host))
        problems.push(`${key}: ${hp.host} is not loopback, and auth.mode is none (anyone who reaches it could read and write everything); turn auth on, or set auth.allowRemote`);
    }
  }
  if (a.mode === 'apikey' && a.keys.length === 0) problems.push('auth.mode apikey: no keys (give auth.keys in the config file or auth.keysFile)');
  if (a.mode === 'jwt' && a.jwtSecret === '' && a.jwtKeysFile === '')
    problems.push('auth.mode jwt: give auth.jwtSecret (HS256) or auth.jwtKeysFile (RS256, ES256, EdDSA; PEM or JWKS)');
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
  // The mappings on the way to a setting: sections ("server") and the groups in them ("server.tls").
  const branches = new Set(
    [...SETTINGS.map((s) => s.key), ...STRUCTURED_KEYS].flatMap((k) => {
      const parts = k.split('.');
      return parts.slice(1).map((_, i) => parts.slice(0, i + 1).join('.'));
    }),
  );
  const walk = (node: unknown, prefix: string) => {
    if (typeof node !== 'object' || node === null || Array.isArray(node)) {
      problems.push(`config file ${path}: ${prefix || 'the document'} must be a mapping of settings`);
      return;
    }
    for (const [k, v] of Object.entries(node)) {
      const key = prefix ? `${prefix}.${k}` : k;
      if (known.has(key)) into.set(key, { value: v, source: `config file ${path}` });
      else if (structuredKeys.has(key)) structured.set(key as StructuredKey, v);
      else if (branches.has(key)) walk(v, key);
      else problems.push(`config file ${path}: unknown key ${JSON.stringify(key)}`);
    }
  };
  walk(doc, '');
}

/**
 * Config from the parsed values: each at its setting's field, each structured section at its key.
 * Config is made of exactly those paths (schema.ts), so the cast holds as long as the run-time
 * field rule matches the type's; test/config checks that every field is set, and no other.
 */
function build(values: Map<Setting, Value>, structured: Map<StructuredKey, unknown>, problems: string[]): Config {
  const config: Record<string, unknown> = {};
  for (const [s, v] of values) setPath(config, s.field, v);
  for (const key of STRUCTURED_KEYS) setPath(config, key, STRUCTURED[key].parse(structured.get(key), key, problems));
  return config as Config;
}

/** The effective settings as YAML-ready plain values, by YAML key (for `engram config`). */
export function describeConfig(c: Config): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const s of SETTINGS) setPath(out, s.key, formatValue(s, getPath(c, s.field) as Value));
  for (const key of STRUCTURED_KEYS) setPath(out, key, (STRUCTURED[key].describe as (v: unknown) => unknown)(getPath(c, key)));
  return out;
}
