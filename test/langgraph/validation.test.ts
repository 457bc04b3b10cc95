/**
 * LangGraph's own conformance suite for checkpoint savers passes against EngramSaver on a real
 * server: the suite runs in vitest (its framework) as a child process, and every one of its tests
 * must pass, none skipped.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { removeDir, serverPerFile, tempDir } from '../helpers/server.js';
import { WAIT_MS } from '../helpers/wait.js';

const files = serverPerFile();
const ROOT = resolve(import.meta.dirname, '../../..');

interface VitestReport {
  numTotalTests: number;
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  testResults: Array<{ assertionResults: Array<{ fullName: string; status: string; failureMessages: string[] }> }>;
}

test('@langchain/langgraph-checkpoint-validation: every test passes against EngramSaver', async () => {
  const out = tempDir('engram-lg-validation-');
  const report = join(out, 'report.json');
  try {
    const child = spawn(
      process.execPath,
      [join(ROOT, 'node_modules/vitest/vitest.mjs'), 'run', '--globals', '--root', import.meta.dirname, '--reporter=json', `--outputFile=${report}`, 'checkpoint-validation.spec'],
      { cwd: ROOT, env: { ...process.env, ENGRAM_URL: files.server.url }, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolveExit, reject) => {
      const timer = setTimeout(() => reject(new Error(`the suite did not finish in ${(4 * WAIT_MS) / 1000} s`)), 4 * WAIT_MS);
      child.once('exit', (c) => {
        clearTimeout(timer);
        resolveExit(c);
      });
    });
    const r = JSON.parse(readFileSync(report, 'utf8')) as VitestReport;
    const failed = r.testResults.flatMap((f) => f.assertionResults.filter((a) => a.status !== 'passed'));
    assert.deepEqual(
      failed.map((a) => `${a.fullName}: ${a.status} ${a.failureMessages.join('\n').slice(0, 500)}`),
      [],
      `tests that did not pass (vitest exited with ${code}): ${stderr.slice(-2000)}`,
    );
    assert.equal(code, 0);
    // The suite as of 1.1.1 with the opt-in getDeltaChannelHistory scenarios: 726 tests. Fewer
    // would mean part of it did not run.
    assert.ok(r.numPassedTests >= 700, `only ${r.numPassedTests} tests ran`);
    assert.equal(r.numPassedTests, r.numTotalTests);
  } finally {
    removeDir(out);
  }
});
