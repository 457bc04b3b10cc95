import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, test } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config/load.js';
import { SETTINGS } from '../../src/config/schema.js';

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
    const found = problems(() =>
      load(['--addr', 'nowhere', '--cache-tail-units', '-5'], { ENGRAM_STORAGE_SYNC: 'maybe', ENGRAM_LOG_LEVEL: 'loud', ENGRAM_IDEMPOTENCY_TTL: '10' }),
    );
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
      const leaf = s.key.split('.')[1]!;
      assert.match(text, new RegExp(`^  ${leaf}: `, 'm'), `config.example.yaml lacks ${s.key}`);
    }
  });
});
