/**
 * Parsers of the config sections that are lists or maps of records (STRUCTURED_KEYS):
 * API keys, groups and per-client quotas. Each reports every problem with its path, like
 * the flat settings, and unknown keys are errors.
 */
import type { ApiKeyEntry } from '../auth/apikeys.js';
import { SCOPES, type GroupConfig, type Membership, type Scope } from '../tenancy/access.js';
import { isClientId } from '../tenancy/clients.js';
import type { QuotaLimits } from '../tenancy/quotas.js';
import type { RetentionPolicy } from '../tenancy/retention-policy.js';
import { parseValue } from './values.js';
import type { Setting, StructuredKey, StructuredValues } from './schema.js';

const CLIENT_RULE = '1–64 of A-Z a-z 0-9 . _ - : @, starting with a letter or digit';

function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function onlyKeys(v: Record<string, unknown>, allowed: string[], path: string, problems: string[]): void {
  for (const k of Object.keys(v)) if (!allowed.includes(k)) problems.push(`${path}: unknown key ${JSON.stringify(k)}`);
}

function patterns(v: unknown, path: string, problems: string[]): string[] | undefined {
  if (!Array.isArray(v) || v.length === 0 || v.some((x) => typeof x !== 'string' || x === '')) {
    problems.push(`${path}: expected a non-empty list of context patterns like "shared/*"`);
    return undefined;
  }
  return v as string[];
}

/** auth.keys, or the document of auth.keysFile: a list of {client, hash, scopes, contexts?}. */
export function parseApiKeys(raw: unknown, path: string, problems: string[]): ApiKeyEntry[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) {
    problems.push(`${path}: expected a list of keys, each {client, hash, scopes}`);
    return [];
  }
  const out: ApiKeyEntry[] = [];
  raw.forEach((e: unknown, i) => {
    const at = `${path}[${i}]`;
    if (!isMap(e)) {
      problems.push(`${at}: expected {client, hash, scopes}`);
      return;
    }
    onlyKeys(e, ['client', 'hash', 'scopes', 'contexts', 'expires', 'note'], at, problems);
    const before = problems.length;
    if (typeof e.client !== 'string' || !isClientId(e.client)) problems.push(`${at}.client: expected a client id (${CLIENT_RULE})`);
    if (typeof e.hash !== 'string' || !/^sha256:[0-9a-fA-F]{64}$/.test(e.hash)) {
      problems.push(`${at}.hash: expected "sha256:" and 64 hex digits (keys are stored hashed; engram keygen prints one)`);
    }
    const scopes = Array.isArray(e.scopes) ? e.scopes : undefined;
    if (scopes === undefined || scopes.length === 0 || scopes.some((s) => !(SCOPES as readonly unknown[]).includes(s))) {
      problems.push(`${at}.scopes: expected a list of ${SCOPES.join(', ')}`);
    }
    const contexts = e.contexts === undefined ? undefined : patterns(e.contexts, `${at}.contexts`, problems);
    // YAML reads an unquoted timestamp as a Date.
    const expires = e.expires instanceof Date ? e.expires.toISOString() : e.expires;
    if (expires !== undefined && (typeof expires !== 'string' || !Number.isFinite(Date.parse(expires)))) {
      problems.push(`${at}.expires: expected an RFC 3339 time like 2027-01-31T00:00:00Z`);
    }
    if (problems.length === before) {
      out.push({
        client: e.client as string,
        hash: e.hash as string,
        scopes: scopes as Scope[],
        ...(contexts === undefined ? {} : { contexts }),
        ...(expires === undefined ? {} : { expires: expires as string }),
      });
    }
  });
  return out;
}

/** clients.groups: a map from group name to {contexts: [patterns], members: {client: read|write}}. */
export function parseGroups(raw: unknown, path: string, problems: string[]): GroupConfig[] {
  if (raw === undefined || raw === null) return [];
  if (!isMap(raw)) {
    problems.push(`${path}: expected a map of group names to {contexts, members}`);
    return [];
  }
  const out: GroupConfig[] = [];
  for (const [name, g] of Object.entries(raw)) {
    const at = `${path}.${name}`;
    if (!isClientId(name)) problems.push(`${at}: a group name follows the client id rule (${CLIENT_RULE})`);
    if (!isMap(g)) {
      problems.push(`${at}: expected {contexts, members}`);
      continue;
    }
    onlyKeys(g, ['contexts', 'members'], at, problems);
    const contexts = patterns(g.contexts, `${at}.contexts`, problems);
    const members: Record<string, Membership> = {};
    if (!isMap(g.members) || Object.keys(g.members).length === 0) {
      problems.push(`${at}.members: expected a map of client ids to read or write`);
    } else {
      for (const [client, m] of Object.entries(g.members)) {
        if (!isClientId(client)) problems.push(`${at}.members.${client}: not a client id (${CLIENT_RULE})`);
        const membership = m === 'write' || m === 'rw' ? 'write' : m === 'read' || m === 'ro' ? 'read' : undefined;
        if (membership === undefined) problems.push(`${at}.members.${client}: expected read (ro) or write (rw), got ${JSON.stringify(m)}`);
        else members[client] = membership;
      }
    }
    if (contexts !== undefined) out.push({ name, contexts, members });
  }
  return out;
}

const QUOTA_KEYS: Array<keyof QuotaLimits> = ['writesPerSecond', 'writeBurst', 'connections', 'subscriptions', 'storageBytes'];

/** quotas.clients: per-client overrides, a map from client id to some of the quota settings. */
export function parseQuotaOverrides(raw: unknown, path: string, problems: string[]): Record<string, Partial<QuotaLimits>> {
  if (raw === undefined || raw === null) return {};
  if (!isMap(raw)) {
    problems.push(`${path}: expected a map of client ids to quotas`);
    return {};
  }
  const out: Record<string, Partial<QuotaLimits>> = {};
  for (const [client, q] of Object.entries(raw)) {
    const at = `${path}.${client}`;
    if (!isClientId(client)) problems.push(`${at}: not a client id (${CLIENT_RULE})`);
    if (!isMap(q)) {
      problems.push(`${at}: expected a map of ${QUOTA_KEYS.join(', ')}`);
      continue;
    }
    onlyKeys(q, QUOTA_KEYS, at, problems);
    const limits: Partial<QuotaLimits> = {};
    for (const k of QUOTA_KEYS) {
      const v = q[k];
      if (v === undefined) continue;
      if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) problems.push(`${at}.${k}: expected a whole number ≥ 0 (0: unlimited)`);
      else limits[k] = v;
    }
    out[client] = limits;
  }
  return out;
}

const RETENTION_KEYS = ['contexts', 'clients', 'maxAge', 'maxUnits', 'maxBytes', 'keepPinned'];

/**
 * retention.policies: a list of {contexts, clients?, maxAge?, maxUnits?, maxBytes?, keepPinned?};
 * the first that covers a client and matches a context applies (docs/lifecycle.md).
 */
export function parseRetentionPolicies(raw: unknown, path: string, problems: string[]): RetentionPolicy[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) {
    problems.push(`${path}: expected a list of policies, each {contexts, maxAge?, maxUnits?, maxBytes?}`);
    return [];
  }
  const out: RetentionPolicy[] = [];
  raw.forEach((p: unknown, i) => {
    const at = `${path}[${i}]`;
    if (!isMap(p)) {
      problems.push(`${at}: expected a map like {contexts: ["logs/*"], maxAge: 7d}`);
      return;
    }
    onlyKeys(p, RETENTION_KEYS, at, problems);
    const contexts = patterns(p.contexts, `${at}.contexts`, problems);
    let clients: string[] | undefined;
    if (p.clients !== undefined) {
      if (!Array.isArray(p.clients) || p.clients.length === 0 || p.clients.some((c) => typeof c !== 'string' || !(isClientId(c) || /^~./.test(c)))) {
        problems.push(`${at}.clients: expected a non-empty list of client ids (${CLIENT_RULE}) or ~group spaces`);
      } else clients = p.clients as string[];
    }
    const n = problems.length;
    // Each limit is read like a flat setting of its kind: 7d, 10MiB, 1000.
    const limit = (key: string, kind: Setting['kind']) =>
      p[key] === undefined ? undefined : (parseValue({ key: `${at}.${key}`, kind }, p[key], 'the config file', problems) as number | undefined);
    const maxAgeMs = limit('maxAge', { type: 'duration', min: 1000, max: 100 * 365 * 86_400_000 });
    const maxBytes = limit('maxBytes', { type: 'bytes', min: 1, max: Number.MAX_SAFE_INTEGER });
    const maxUnits = limit('maxUnits', { type: 'int', min: 0, max: Number.MAX_SAFE_INTEGER });
    if (p.keepPinned !== undefined && typeof p.keepPinned !== 'boolean') problems.push(`${at}.keepPinned: expected true or false`);
    if (problems.length === n && maxAgeMs === undefined && maxBytes === undefined && maxUnits === undefined)
      problems.push(`${at}: give at least one of maxAge, maxUnits, maxBytes`);
    if (contexts === undefined || problems.length !== n) return;
    out.push({ contexts, ...(clients ? { clients } : {}), rule: { maxAgeMs, maxUnits, maxBytes, keepPinned: p.keepPinned !== false } });
  });
  return out;
}

/** Each structured key's parser, and how `engram config` prints its value. */
export const STRUCTURED: {
  [K in StructuredKey]: { parse: (raw: unknown, path: string, problems: string[]) => StructuredValues[K]; describe: (v: StructuredValues[K]) => unknown };
} = {
  'auth.keys': {
    parse: parseApiKeys,
    // Hashes only, never a secret.
    describe: (keys) =>
      keys.map((k) => ({ client: k.client, hash: k.hash, scopes: k.scopes, ...(k.contexts ? { contexts: k.contexts } : {}), ...(k.expires ? { expires: k.expires } : {}) })),
  },
  'clients.groups': {
    parse: parseGroups,
    describe: (groups) => Object.fromEntries(groups.map((g) => [g.name, { contexts: g.contexts, members: g.members }])),
  },
  'quotas.clients': { parse: parseQuotaOverrides, describe: (clients) => clients },
  'retention.policies': {
    parse: parseRetentionPolicies,
    describe: (policies) =>
      policies.map((p) => ({
        contexts: p.contexts,
        ...(p.clients ? { clients: p.clients } : {}),
        ...(p.rule.maxAgeMs !== undefined ? { maxAge: `${Math.round(p.rule.maxAgeMs / 1000)}s` } : {}),
        ...(p.rule.maxUnits !== undefined ? { maxUnits: p.rule.maxUnits } : {}),
        ...(p.rule.maxBytes !== undefined ? { maxBytes: p.rule.maxBytes } : {}),
        keepPinned: p.rule.keepPinned,
      })),
  },
};
