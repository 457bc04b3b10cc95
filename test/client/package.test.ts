/**
 * The package can be packed and installed into another project: `npm pack` (after `make build`)
 * makes a tarball with the SDK, the server, its launcher and what they read at run time, and no
 * tests or benchmarks; `npm install <tarball>` in an empty project works from npm's cache; the
 * installed `engram` launcher serves; a script of that project imports `engram` and writes and
 * reads through EngramClient (HTTP) and GrpcEngramClient; a TypeScript file of that project
 * type-checks against the shipped declarations; and the exports map keeps the rest private.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import { removeDir, startServer, tempDir, type RunningServer } from '../helpers/server.js';

const run = promisify(execFile);
const REPO = resolve(import.meta.dirname, '../../..');
const npmEnv = { ...process.env, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' };

let dir: string;
let project: string;
let packed: { filename: string; files: Array<{ path: string; mode: number }>; size: number };
let server: RunningServer | undefined;

before(async () => {
  dir = tempDir('engram-pack-');
  project = join(dir, 'consumer');
  const { stdout } = await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', dir], { cwd: REPO, env: npmEnv, maxBuffer: 64 << 20 });
  [packed] = JSON.parse(stdout) as [typeof packed];
  await run('mkdir', ['-p', project]);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true, type: 'module' }));
  // Dependencies come from npm's cache (`make build` installed the same versions); --ignore-scripts:
  // the native ones load their prebuilt binaries.
  await run('npm', ['install', join(dir, packed.filename), '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts'], { cwd: project, env: npmEnv, maxBuffer: 64 << 20 });
});
after(async () => {
  await server?.stop();
  if (server) removeDir(server.dataDir);
  removeDir(dir);
});

test('the tarball ships the SDK, the server and its launcher, and leaves out sources, tests and benchmarks', () => {
  const paths = packed.files.map((f) => f.path);
  for (const p of [
    'package.json',
    'README.md',
    'bin/engram',
    'dist/src/client/index.js',
    'dist/src/client/index.d.ts',
    'dist/src/main.js',
    'dist/src/generated/engram.js',
    'proto/engram/v3/engram.proto',
    'dist/models/wink-sg-100d.bin',
    'dist/dashboard/index.html',
  ]) {
    assert.ok(paths.includes(p), `${p} is in the package`);
  }
  // The LangGraph entry point of the exports map, once it is built.
  if (existsSync(join(REPO, 'dist/src/langgraph/index.js'))) assert.ok(paths.includes('dist/src/langgraph/index.js'));
  const unwanted = paths.filter((p) => /^(src|test|bench|examples|tools|dist\/test|dist\/bench|dist\/examples)\//.test(p) || /^dist\/src\/.*\.map$/.test(p));
  assert.deepEqual(unwanted, []);
  assert.equal((packed.files.find((f) => f.path === 'bin/engram')!.mode & 0o111) !== 0, true, 'the launcher is executable');
});

test('installed in another project: its engram launcher serves, and a script there uses EngramClient and GrpcEngramClient', async () => {
  server = await startServer({ bin: join(project, 'node_modules/.bin/engram') });
  writeFileSync(
    join(project, 'use.mjs'),
    `import { EngramClient, GrpcEngramClient, EngramClientError } from 'engram';
const [url, grpcAddr] = process.argv.slice(2);
const engram = new EngramClient(url);
const written = await engram.write({ contextId: 'from-the-package', agentId: 'consumer', type: 'MESSAGE', payload: { text: 'hello' } });
const page = await engram.list('from-the-package');
const grpc = new GrpcEngramClient(grpcAddr);
const viaGrpc = await grpc.write({ contextId: 'from-the-package', agentId: 'consumer', type: 'MESSAGE', payload: 'over gRPC' });
const context = await grpc.getContext('from-the-package');
grpc.close();
let missing;
try { await engram.get('none'); } catch (e) { missing = e instanceof EngramClientError ? e.code : String(e); }
let deep;
try { await import('engram/dist/src/main.js'); } catch (e) { deep = e.code; }
console.log(JSON.stringify({ seq: written.workUnit.seq, read: page.workUnits.map((u) => u.payload), grpcSeq: viaGrpc.workUnit.seq, headSeq: context.headSeq, missing, deep }));
`,
  );
  const { stdout } = await run(process.execPath, ['use.mjs', server.url, server.grpcAddr], { cwd: project });
  assert.deepEqual(JSON.parse(stdout), {
    seq: 1,
    read: [{ text: 'hello' }],
    grpcSeq: 2,
    headSeq: 2,
    missing: 'WORKUNIT_NOT_FOUND',
    // Only the entry points of the exports map can be imported.
    deep: 'ERR_PACKAGE_PATH_NOT_EXPORTED',
  });
});

test('a TypeScript file of that project type-checks against the shipped declarations', async () => {
  writeFileSync(
    join(project, 'use.ts'),
    `import { EngramClient, type Context, type WorkUnit } from 'engram';
const engram = new EngramClient('http://127.0.0.1:8080', { clientId: 'alice' });
export async function demo(): Promise<[Context, WorkUnit[]]> {
  const ctx = await engram.createContext('plan', { displayName: 'Plan' });
  const page = await engram.list(ctx.id, { limit: 10 });
  return [ctx, page.workUnits];
}
// @ts-expect-error: a unit type the SDK does not know is refused by the compiler
export const bad = () => engram.write({ contextId: 'x', agentId: 'a', type: 'NOPE', payload: 1 });
`,
  );
  const tsc = join(REPO, 'node_modules/.bin/tsc');
  const args = [
    '--noEmit',
    '--strict',
    '--module',
    'nodenext',
    '--moduleResolution',
    'nodenext',
    '--target',
    'es2022',
    '--typeRoots',
    join(REPO, 'node_modules/@types'),
    '--types',
    'node',
    'use.ts',
  ];
  await run(tsc, args, { cwd: project }).catch((e: { stdout?: string }) => assert.fail(`tsc: ${e.stdout}`));
});
