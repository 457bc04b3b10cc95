import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, test } from 'node:test';
import { stringify as toYaml } from 'yaml';
import { ConfigError, describeConfig, loadConfig } from '../../src/config/load.js';
import { getPath } from '../../src/config/paths.js';
import { envName, flagName, SETTINGS, STRUCTURED_KEYS } from '../../src/config/schema.js';

const ROOT = resolve(import.meta.dirname, '../../..');

function load(argv: string[] = [], env: Record<string, string> = {}, files: Record<string, string> = {}) {
  return loadConfig({
    argv,
    env,
    readFile: (p) => {
      if (!(p in files)) throw new Error(`ENOENT: no such file ${p}`);
      return files[p]!;
    },
  });
}

function problems(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.problems;
  }
  assert.fail('expected a ConfigError');
}

describe('config precedence', () => {
  test('defaults', () => {
    const c = load();
    assert.deepEqual(c.server.addr, { host: '127.0.0.1', port: 8080 });
    assert.equal(c.storage.dataDir, './data');
    assert.equal(c.storage.sync, false);
    assert.equal(c.limits.maxUnitBytes, 1024 * 1024);
    assert.equal(c.idempotency.ttlMs, 24 * 3600 * 1000);
  });

  test('flags > env > file > defaults, per setting', () => {
    const files = { 'c.yaml': 'server:\n  addr: 10.0.0.1:1\nstorage:\n  dataDir: /file\n  sync: true\nlimits:\n  maxUnitBytes: 2MiB\n' };
    const env = { ENGRAM_ADDR: '10.0.0.2:2', ENGRAM_DATA_DIR: '/env', ENGRAM_CONFIG: 'c.yaml', ENGRAM_AUTH_ALLOW_REMOTE: 'true' };
    const c = load(['--addr=10.0.0.3:3'], env, files);
    assert.deepEqual(c.server.addr, { host: '10.0.0.3', port: 3 }); // flag
    assert.equal(c.storage.dataDir, '/env'); // env over file
    assert.equal(c.storage.sync, true); // file over default
    assert.equal(c.limits.maxUnitBytes, 2 * 1024 * 1024);
    assert.equal(c.log.level, 'info'); // default
    assert.equal(load(['--config', 'c.yaml', '--auth-allow-remote'], {}, files).storage.dataDir, '/file');
  });

  test('value syntaxes: IPv6, port 0, booleans, sizes, durations', () => {
    assert.deepEqual(load(['--addr', '[::1]:0']).server.addr, { host: '::1', port: 0 });
    // `:PORT` is every interface, as the engine's first README wrote it; beyond loopback, so only
    // with auth on or auth.allowRemote.
    assert.deepEqual(load(['--addr=:8080', '--auth-allow-remote']).server.addr, { host: '0.0.0.0', port: 8080 });
    assert.deepEqual(load(['--addr', ':8080', '--auth-allow-remote']).server.addr, { host: '0.0.0.0', port: 8080 });
    assert.deepEqual(load([], { ENGRAM_ADDR: ':8080', ENGRAM_AUTH_ALLOW_REMOTE: 'true' }).server.addr, { host: '0.0.0.0', port: 8080 });
    assert.deepEqual(load(['--grpc-addr', ':9090', '--auth-allow-remote']).server.grpcAddr, { host: '0.0.0.0', port: 9090 });
    assert.match(problems(() => load([], { ENGRAM_ADDR: ':8080' })).join('\n'), /server\.addr: 0\.0\.0\.0 is not loopback, and auth\.mode is none/);
    assert.equal(load(['--storage-sync']).storage.sync, true);
    assert.equal(load(['--storage-sync', '--addr', '127.0.0.1:1']).storage.sync, true);
    assert.equal(load(['--storage-sync=false']).storage.sync, false);
    assert.equal(load([], { ENGRAM_STORAGE_SYNC: 'yes' }).storage.sync, true);
    assert.equal(load(['--max-unit-bytes', '512KiB']).limits.maxUnitBytes, 512 * 1024);
    assert.equal(load(['--idempotency-ttl', '90m']).idempotency.ttlMs, 90 * 60_000);
  });
});

describe('config errors', () => {
  test('every bad value is reported at once, naming the key and its source', () => {
    const found = problems(() => load(['--addr', 'nowhere', '--cache-tail-units', '-5'], { ENGRAM_STORAGE_SYNC: 'maybe', ENGRAM_LOG_LEVEL: 'loud', ENGRAM_IDEMPOTENCY_TTL: '10' }));
    assert.equal(found.length, 5, found.join('\n'));
    assert.match(found.join('\n'), /server\.addr \(from option --addr\): expected HOST:PORT/);
    assert.match(found.join('\n'), /cache\.tailUnits \(from option --cache-tail-units\): expected an integer from 0/);
    assert.match(found.join('\n'), /storage\.sync \(from environment ENGRAM_STORAGE_SYNC\): expected true or false, got "maybe"/);
    assert.match(found.join('\n'), /log\.level .*one of trace, debug/);
    assert.match(found.join('\n'), /idempotency\.ttl .*with a unit/);
  });

  test('ports out of range, unknown options, unknown file keys, unreadable or broken files', () => {
    assert.match(problems(() => load(['--addr', '127.0.0.1:70000']))[0]!, /port from 0 to 65535/);
    assert.match(problems(() => load(['--nope', '1']))[0]!, /unknown option "--nope"/);
    assert.match(problems(() => load(['--addr']))[0]!, /needs a value/);
    assert.match(problems(() => load(['--config', 'x.yaml'], {}, { 'x.yaml': 'storage:\n  sinc: true\n' }))[0]!, /unknown key "storage\.sinc"/);
    assert.match(problems(() => load(['--config', 'x.yaml'], {}, { 'x.yaml': 'bogus: 1\n' }))[0]!, /unknown key "bogus"/);
    assert.match(problems(() => load(['--config', 'x.yaml'], {}, { 'x.yaml': 'storage: [1, 2]\n' }))[0]!, /must be a mapping/);
    assert.match(problems(() => load(['--config', 'x.yaml'], {}, { 'x.yaml': 'a: [\n' }))[0]!, /not valid YAML/);
    assert.match(problems(() => load(['--config', 'missing.yaml']))[0]!, /cannot be read/);
    assert.match(problems(() => load(['--config', 'x.yaml'], {}, { 'x.yaml': 'limits:\n  maxUnitBytes: 1TB\n' }))[0]!, /limits\.maxUnitBytes \(from config file x\.yaml\)/);
  });
});

describe('config.example.yaml', () => {
  test('names every setting with its default, and loads to the defaults', () => {
    const text = readFileSync(resolve(ROOT, 'config.example.yaml'), 'utf8');
    const c = load(['--config', 'example'], {}, { example: text });
    assert.deepEqual(c, load());
    for (const s of SETTINGS) {
      // Indented by its depth: server.addr as "  addr: ", server.tls.certFile as "    certFile: ".
      const parts = s.key.split('.');
      assert.match(text, new RegExp(`^${'  '.repeat(parts.length - 1)}${parts.at(-1)!}: `, 'm'), `config.example.yaml lacks ${s.key}`);
    }
  });
});

describe('the settings table', () => {
  test('environment variables and flags follow the rule in schema.ts, but for the older names it keeps', () => {
    // Public names from before the rule: scripts and deployments use them, so they stay.
    const older: Record<string, [string, string]> = {
      'server.addr': ['ENGRAM_ADDR', '--addr'],
      'server.grpcAddr': ['ENGRAM_GRPC_ADDR', '--grpc-addr'],
      'server.grpcEnabled': ['ENGRAM_GRPC_ENABLED', '--grpc-enabled'],
      'server.allowedHosts': ['ENGRAM_ALLOWED_HOSTS', '--allowed-hosts'],
      'server.shutdownGrace': ['ENGRAM_SHUTDOWN_GRACE', '--shutdown-grace'],
      'server.allowedOrigins': ['ENGRAM_ALLOWED_ORIGINS', '--allowed-origins'],
      'storage.dataDir': ['ENGRAM_DATA_DIR', '--data-dir'],
      'storage.natsUrls': ['ENGRAM_NATS_URLS', '--nats-urls'],
      'storage.natsCreds': ['ENGRAM_NATS_CREDS', '--nats-creds'],
      'storage.natsStream': ['ENGRAM_NATS_STREAM', '--nats-stream'],
      'storage.natsReplicas': ['ENGRAM_NATS_REPLICAS', '--nats-replicas'],
      'storage.natsMaxAge': ['ENGRAM_NATS_MAX_AGE', '--nats-max-age'],
      'limits.maxUnitBytes': ['ENGRAM_MAX_UNIT_BYTES', '--max-unit-bytes'],
      'limits.maxHeaderBytes': ['ENGRAM_MAX_HEADER_BYTES', '--max-header-bytes'],
      'limits.requestTimeout': ['ENGRAM_REQUEST_TIMEOUT', '--request-timeout'],
    };
    assert.equal(envName('storage.maxBatchUnits'), 'ENGRAM_STORAGE_MAX_BATCH_UNITS');
    assert.equal(flagName('search.embedderApiKey'), '--search-embedder-api-key');
    for (const s of SETTINGS) assert.deepEqual([s.env, s.flag], older[s.key] ?? [envName(s.key), flagName(s.key)], s.key);
    assert.equal(new Set(SETTINGS.map((s) => s.env)).size, SETTINGS.length, 'environment variables are unique');
    assert.equal(new Set(SETTINGS.map((s) => s.flag)).size, SETTINGS.length, 'flags are unique');
  });

  test('the loader sets every field of Config, and nothing else', () => {
    const c = load();
    const expected = new Set([...SETTINGS.map((s) => s.field), ...STRUCTURED_KEYS]);
    const found: string[] = [];
    const walk = (node: unknown, prefix: string) => {
      for (const [k, v] of Object.entries(node as object)) {
        const path = prefix ? `${prefix}.${k}` : k;
        if (expected.has(path)) found.push(path);
        else if (typeof v === 'object' && v !== null && !Array.isArray(v)) walk(v, path);
        else assert.fail(`Config has ${path}, which no setting names`);
      }
    };
    walk(c, '');
    assert.deepEqual(found.sort(), [...expected].sort());
    for (const s of SETTINGS) assert.notEqual(getPath(c, s.field), undefined, s.field);
    assert.equal(c.stream.heartbeatMs, 10_000); // a duration's field ends in Ms
    assert.equal(c.clients.defaultClient, 'default'); // an explicit field
    assert.equal(c.quotas.defaults.writesPerSecond, 0);
  });

  test('engram config prints what loads back to the same config', () => {
    const argv = ['--addr', '[::1]:0', '--shutdown-grace', '1500ms', '--locks-max-wait', '90s', '--allowed-origins', 'https://a.example,https://b.example', '--auth-allow-remote'];
    const files = {
      'c.yaml': 'clients:\n  groups:\n    team:\n      contexts: ["shared/*"]\n      members: {alice: write, bob: read}\nquotas:\n  clients:\n    alice: {writesPerSecond: 5}\n',
    };
    const c = load([...argv, '--config', 'c.yaml'], {}, files);
    const printed = toYaml(describeConfig(c));
    assert.deepEqual(load(['--config', 'printed.yaml'], {}, { 'printed.yaml': printed }), c);
    assert.match(printed, /shutdownGrace: 1500ms/);
    assert.match(printed, /maxWait: 90s/);
  });

  test('engram config masks secrets', () => {
    const secret = 'a-jwt-secret-of-at-least-32-bytes-long';
    const printed = toYaml(describeConfig(load(['--auth-mode', 'jwt', '--auth-jwt-secret', secret, '--search-embedder-api-key', 'sk-1'])));
    assert.ok(!printed.includes(secret) && !printed.includes('sk-1'), printed);
    assert.match(printed, /jwtSecret: \(set\)/);
    assert.match(printed, /embedderApiKey: \(set\)/);
  });
});
