/**
 * The house plan's checker (tools/check-imports.mjs, run by `make lint`): it passes on src/ as
 * it is, and fails, naming the files, on a tree with an import circle or an upward import.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { after, test } from 'node:test';
import { removeDir, tempDir } from '../helpers/server.js';

const ROOT = resolve(import.meta.dirname, '../../..');
const CHECKER = join(ROOT, 'tools/check-imports.mjs');
const dirs: string[] = [];
after(() => dirs.forEach(removeDir));

/** A source tree from file → text, and the checker's verdict on it. */
function checkTree(files: Record<string, string>): { status: number | null; out: string } {
  const root = tempDir('engram-plan-');
  dirs.push(root);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  const r = spawnSync(process.execPath, [CHECKER, root], { encoding: 'utf8' });
  return { status: r.status, out: r.stdout + r.stderr };
}

test('src/ as it is: no circles, every import goes down a layer', () => {
  const r = spawnSync(process.execPath, [CHECKER, join(ROOT, 'src')], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /no circles/);
});

test('a tree that follows the plan passes', () => {
  const r = checkTree({
    'basics/errors.ts': 'export class E {}\n',
    'engine/engine.ts': "import { E } from '../basics/errors.js';\nexport const e = new E();\n",
    'gate/gate.ts': "import { e } from '../engine/engine.js';\nexport const g = e;\n",
  });
  assert.equal(r.status, 0, r.out);
});

test('an import circle fails, naming its files, type-only imports included', () => {
  const r = checkTree({
    'engine/a.ts': "import type { B } from './b.js';\nexport type A = B;\n",
    'engine/b.ts': "import { c } from './c.js';\nexport type B = typeof c;\n",
    'engine/c.ts': "export { type A } from './a.js';\nexport const c = 1;\n",
  });
  assert.equal(r.status, 1);
  assert.match(r.out, /import circle through 3 file\(s\): engine\/a\.ts -> engine\/b\.ts -> engine\/c\.ts -> engine\/a\.ts/);
});

test('an upward import fails, naming the rule it breaks', () => {
  const r = checkTree({
    'engine/engine.ts': "import { g } from '../gate/gate.js';\nexport const e = g;\n",
    'gate/gate.ts': 'export const g = 1;\n',
  });
  assert.equal(r.status, 1);
  assert.match(r.out, /engine\/engine\.ts imports gate\/gate\.ts: engine\/ may not import gate\//);
});

test('a folder that is not a layer of the plan fails', () => {
  const r = checkTree({ 'misc/thing.ts': 'export const x = 1;\n' });
  assert.equal(r.status, 1);
  assert.match(r.out, /folder "misc" is not a layer/);
});

test('dynamic imports and the SDK reaching into the server are caught', () => {
  const r = checkTree({
    'client/sdk.ts': "export const load = () => import('../transport/grpc/service.js');\n",
    'transport/grpc/service.ts': 'export const s = 1;\n',
  });
  assert.equal(r.status, 1);
  assert.match(r.out, /client\/sdk\.ts imports transport\/grpc\/service\.ts: client\/ may not import transport\//);
});
