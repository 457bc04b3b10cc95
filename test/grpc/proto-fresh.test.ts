/** src/generated is what proto/generate.sh makes from proto/ now (committed code goes stale otherwise). */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { removeDir, tempDir } from '../helpers/server.js';

const ROOT = resolve(import.meta.dirname, '../../..');

test('src/generated matches proto/ (run `make proto` when this fails)', async () => {
  const out = tempDir('engram-proto-');
  try {
    await promisify(execFile)('bash', [join(ROOT, 'proto/generate.sh'), out], { cwd: ROOT, timeout: 120_000 });
    for (const file of ['engram.js', 'engram.d.ts']) {
      const fresh = readFileSync(join(out, file), 'utf8');
      const committed = readFileSync(join(ROOT, 'src/generated', file), 'utf8');
      assert.ok(fresh === committed, `src/generated/${file} is stale: run \`make proto\` and commit the result`);
    }
  } finally {
    removeDir(out);
  }
});
