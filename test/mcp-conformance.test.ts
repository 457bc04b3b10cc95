/**
 * /mcp against the MCP conformance suite (@modelcontextprotocol/conformance, server mode): every
 * scenario that applies to a tools server passes. The others test features Engram's MCP server
 * does not offer, or tools of the suite's own reference server; docs/memory.md ("MCP
 * conformance") lists each with the reason.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { test } from 'node:test';
import { serverPerFile } from './helpers/server.js';

const CLI = resolve(import.meta.dirname, '../../node_modules/.bin/conformance');

/** The scenarios that apply to a tools server such as Engram's. */
const APPLICABLE = ['server-initialize', 'ping', 'tools-list', 'tools-call-simple-text', 'tools-call-error', 'dns-rebinding-protection'];

function run(url: string, scenario: string): Promise<{ code: number; out: string }> {
  return new Promise((done) => {
    execFile(CLI, ['server', '--url', url, '--scenario', scenario], { timeout: 120_000, env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' } }, (err, stdout, stderr) => {
      done({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, out: stdout + stderr });
    });
  });
}

const env = serverPerFile();

for (const scenario of APPLICABLE) {
  test(`MCP conformance: ${scenario}`, { timeout: 180_000 }, async () => {
    const { code, out } = await run(`${env.server.url}/mcp`, scenario);
    const passed = /Passed: (\d+)\/(\d+), (\d+) failed/.exec(out);
    assert.ok(passed, `no summary in the suite's output:\n${out.slice(-2000)}`);
    const [, ok, all, failed] = passed.map(Number) as [number, number, number, number];
    assert.ok(all >= 1 && ok === all && failed === 0 && code === 0, `${scenario}: ${ok}/${all} passed, ${failed} failed, exit ${code}\n${out.slice(-3000)}`);
  });
}
