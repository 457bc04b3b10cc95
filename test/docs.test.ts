/** The docs list exactly what the code defines: error codes and settings. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { test } from 'node:test';
import { ERROR_CATALOG } from '../src/basics/errors.js';
import { SETTINGS } from '../src/config/schema.js';

const ROOT = resolve(import.meta.dirname, '../..');
const read = (p: string) => readFileSync(resolve(ROOT, p), 'utf8');

test('docs/errors.md lists exactly the catalog codes, with their HTTP and gRPC status and text', () => {
  const rows = [...read('docs/errors.md').matchAll(/^\| `([A-Z_]+)` \| (\d{3}) \| ([A-Z_]+) \| (.+) \|$/gm)];
  const documented = new Map(rows.map((m) => [m[1]!, { http: Number(m[2]), grpc: m[3]!, doc: m[4]! }]));
  assert.deepEqual([...documented.keys()].sort(), Object.keys(ERROR_CATALOG).sort());
  for (const [code, spec] of Object.entries(ERROR_CATALOG)) {
    assert.equal(documented.get(code)?.http, spec.http, code);
    assert.equal(documented.get(code)?.grpc, spec.grpc, code);
    assert.equal(documented.get(code)?.doc, spec.doc, code);
  }
});

test('docs/configuration.md describes every setting with its flag and environment variable', () => {
  const text = read('docs/configuration.md');
  for (const s of SETTINGS) {
    const row = text.split('\n').find((line) => line.startsWith(`| \`${s.key}\``));
    assert.ok(row, `docs/configuration.md has no row for ${s.key}`);
    assert.ok(row.includes(s.env), `${s.key}: ${s.env} missing`);
    assert.ok(row.includes(s.flag), `${s.key}: ${s.flag} missing`);
  }
});

test('the README quick start is the two make commands', () => {
  const readme = read('README.md');
  assert.match(readme, /make run/);
  assert.match(readme, /make test/);
});
