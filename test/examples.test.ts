/** The examples run against a real server and do what they say. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { EngramClient } from '../src/client/index.js';
import { startFakeAnthropic } from '../examples/lib/fake-anthropic.js';
import { removeDir, startServer, type RunningServer } from './helpers/server.js';
import { eventually, WAIT_MS } from './helpers/wait.js';

let server: RunningServer;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server.stop();
  removeDir(server.dataDir);
});

/** The variables that are set (a variable given as undefined is left out). */
function withoutUnset(env: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined));
}

/** Runs an example to its end (without blocking this process: a stand-in server here may have to answer it). */
function runExample(name: string, args: string[] = [], env: Record<string, string | undefined> = {}): Promise<string> {
  return new Promise((done, fail) => {
    execFile(
      process.execPath,
      [resolve(import.meta.dirname, `../examples/${name}.js`), ...args],
      { env: withoutUnset({ ...process.env, ENGRAM_URL: server.url, ENGRAM_GRPC: server.grpcAddr, ...env }), encoding: 'utf8', timeout: 2 * WAIT_MS },
      (err, stdout, stderr) => {
        if (err) return fail(new Error(`${name} failed (${err.message}): ${stderr}`));
        if (stderr !== '') return fail(new Error(`${name} wrote to stderr: ${stderr}`));
        done(stdout);
      },
    );
  });
}

test('examples/http-quickstart runs end to end', async () => {
  const r = { stdout: await runExample('http-quickstart') };
  assert.match(r.stdout, /planner wrote seq 1/);
  assert.match(r.stdout, /coder wrote seq 2; its retry returned seq 2 again \(same unit\)/);
  assert.match(r.stdout, /context "Retry policy": agents planner, coder, head seq 2/);
});

test('examples/two-agents: the coder answers every task and the planner sees every answer', async () => {
  const out = await runExample('two-agents');
  assert.equal(out.match(/^coder    answered seq/gm)?.length, 3);
  assert.equal(out.match(/^planner  saw answer seq/gm)?.length, 3);
  assert.match(out, /done: 3 answers, head seq 6, agents planner, coder/);
});

test('examples/long-running-agent: summaries keep the window under budget with nothing out of both', async () => {
  const out = await runExample('long-running-agent');
  const m = /window: (\d+) of (\d+) tokens; summary of 1-(\d+); recent (\d+)-(\d+)/.exec(out);
  assert.ok(m, out);
  assert.ok(Number(m[1]) <= Number(m[2]), out);
  assert.ok(Number(m[3]) + 1 >= Number(m[4]), 'the summary reaches the recent run');
  assert.match(out, /nothing out of both: yes/);
  assert.match(out, /80 steps, ([1-9]|1\d) summaries written/);
});

test('examples/grpc-bulk-producer: every unit acked in order', async () => {
  const out = await runExample('grpc-bulk-producer', ['2000']);
  assert.match(out, /wrote 2000 units \(0 refused\)/);
  assert.match(out, /context worker-0 has head seq 500/);
});

test('examples/locked-file-edit: both edits survive and a stale token is refused', async () => {
  const out = await runExample('locked-file-edit');
  assert.match(out, /stale write refused: FENCE_REJECTED/);
  assert.match(out, /- retries: exponential backoff with jitter\n/);
  assert.match(out, /- timeouts: 30 s per call\n/);
});

test('examples/what-if-fork: the fork shares steps 1-3 and diverges; the parent goes only with cascade', async () => {
  const out = await runExample('what-if-fork');
  assert.match(out, /what-if: {2}1:read the issue \| 2:found the failing test \| 3:the bug is in the retry loop \| 4:patch the retry loop only\n/);
  assert.match(out, /original: 1:read the issue .* 4:rewrite the whole client \| 5:client rewritten; 40 files changed\n/);
  assert.match(out, /delete without cascade: CONTEXT_HAS_FORKS; with cascade: forks deleted run\/\d+\/what-if/);
});

test('examples/search: keyword finds nothing for the paraphrase, hybrid finds the decision', async () => {
  const out = await runExample('search');
  const [keyword, hybrid] = out.split(/^hybrid:/m);
  assert.match(keyword!, /\(no results\)/);
  assert.match(hybrid!, /exponential backoff with jitter/);
});

test('examples/multi-client: own contexts stay apart and the group context is shared, by X-Client-ID and by API key', async () => {
  const out = await runExample('multi-client');
  const [authOff, authOn] = out.split(/^== auth on/m);
  assert.ok(authOff !== undefined && authOn !== undefined, out);
  const both = '["alice: draft the launch plan","bob: reviewed, ship it"]';
  for (const part of [authOff, authOn]) {
    const lines = part.split('\n');
    const has = (line: string) => assert.ok(lines.includes(line), `"${line}" in:\n${part}`);
    // Isolation: one id, two contexts; each client reads only its own; another's context does not exist for it.
    has('isolation: alice and bob each wrote "notes": seq 1 and seq 1, two contexts with one id');
    has('isolation: alice reads notes -> ["alice: book the flights"]');
    has('isolation: bob reads notes -> ["bob: renew the passport"]');
    has(`isolation: bob reads alice's "diary" -> CONTEXT_NOT_FOUND`);
    // Sharing: both members wrote team/plan and both read both units; a non-member sees nothing.
    has(`sharing: alice reads team/plan -> ${both}`);
    has(`sharing: bob reads team/plan -> ${both}`);
    has('sharing: carol (not in the group) reads team/plan -> CONTEXT_NOT_FOUND');
    has("sharing: alice's contexts (her own and her group's): diary, notes, team/plan");
  }
  assert.match(authOn, /^  mode: apikey$/m);
  assert.match(authOn, /^auth: no key -> UNAUTHENTICATED$/m);
  assert.match(authOn, /^auth: bob's key claiming to be alice \(X-Client-ID: alice\) -> FORBIDDEN$/m);
  assert.match(authOn, /^auth: alice's key asking for another client's status -> FORBIDDEN$/m);
  assert.match(authOn, /^auth: ops \(admin key\) looks at alice: 2 contexts of her own, 1 unit\(s\), groups team \(write\)$/m);
});

test('examples/claude-memory-tool: every memory tool_use runs in Engram and its tool_result goes back, until end_turn', async () => {
  const fake = await startFakeAnthropic();
  const space = `claude-test-${Date.now()}`;
  try {
    const out = await runExample('claude-memory-tool', [], { ANTHROPIC_BASE_URL: fake.url, ANTHROPIC_API_KEY: 'test-key', ENGRAM_MEMORY_SPACE: space });
    assert.match(out, /^stop_reason end_turn after 4 request\(s\)$/m);
    assert.deepEqual(fake.errors, [], 'the stand-in refused no request');

    // What the stand-in received: the API's headers and tool, and after each assistant turn with
    // tool_use blocks, a user turn of exactly one tool_result per tool_use id, in order.
    assert.equal(fake.requests.length, 4);
    for (const r of fake.requests) {
      assert.equal(r.headers['x-api-key'], 'test-key');
      assert.equal(r.headers['anthropic-version'], '2023-06-01');
      assert.equal(r.headers['anthropic-beta'], 'context-management-2025-06-27');
      assert.deepEqual(r.body.tools, [{ type: 'memory_20250818', name: 'memory' }]);
    }
    const expected = [
      [/^Here're the files and directories up to 2 levels deep in \/memories/],
      [/^File created successfully at: \/memories\/retry-policy\.md$/, /^File created successfully at: \/memories\/scratch\.md$/],
      [/^The memory file has been edited\./, /^Successfully deleted \/memories\/scratch\.md$/],
    ];
    for (let turn = 1; turn < 4; turn++) {
      const messages = fake.requests[turn]!.body.messages!;
      const results = messages[messages.length - 1]!.content as Array<{ type: string; tool_use_id: string; content: string; is_error?: boolean }>;
      const uses = fake.answers[turn - 1]!.filter((b) => b.type === 'tool_use');
      assert.deepEqual(
        results.map((r) => [r.type, r.tool_use_id]),
        uses.map((u) => ['tool_result', u.id]),
        `turn ${turn}: one tool_result per tool_use, same ids`,
      );
      results.forEach((r, i) => {
        assert.match(r.content, expected[turn - 1]![i]!);
        assert.equal(r.is_error, undefined);
      });
    }

    // The memory in Engram, read back through the memory command API: the file with its edit, the scratch file gone.
    const engram = new EngramClient(server.url);
    const view = await engram.memory(space, { command: 'view', path: '/memories/retry-policy.md' });
    assert.equal(view.isError, false);
    assert.match(view.result, /- backoff: exponential, with jitter/);
    assert.doesNotMatch(view.result, /fixed 1 s/);
    assert.deepEqual(await engram.memoryFile(space, '/memories/retry-policy.md'), {
      path: '/memories/retry-policy.md',
      text: '# Retry policy\n- backoff: exponential, with jitter\n- attempts: at most 3\n',
    });
    assert.deepEqual(
      (await engram.memoryTree(space)).map((f) => f.path),
      ['/memories/retry-policy.md'],
    );
    assert.deepEqual(
      (await engram.memoryHistory(space)).map((c) => [c.agentId, c.command]),
      [
        ['claude', 'create'],
        ['claude', 'create'],
        ['claude', 'str_replace'],
        ['claude', 'delete'],
      ],
    );
  } finally {
    await fake.close();
  }
});

test('examples/claude-memory-tool without a key runs offline against its own stand-in', async () => {
  const out = await runExample('claude-memory-tool', [], { ANTHROPIC_API_KEY: undefined, ANTHROPIC_BASE_URL: undefined, ENGRAM_MEMORY_SPACE: undefined });
  assert.match(out, /^no ANTHROPIC_API_KEY: the model is a local stand-in at http:\/\/127\.0\.0\.1:\d+/m);
  assert.match(out, /^stop_reason end_turn after 4 request\(s\)$/m);
  assert.match(out, /now holds: \/memories\/retry-policy\.md \(\d+ chars\)$/m);
});

test('examples/approval: the agent waits while a person approves, then acts fenced by its lock', async () => {
  const engram = new EngramClient(server.url);
  try {
    const run = runExample('approval');
    // The person: the request shows in the approvals list (as in the dashboard), and is approved.
    let pending: { requestId: string; contextId: string } | undefined;
    await eventually(
      async () => {
        pending = (await engram.approvals()).approvals.find((a) => a.contextId.startsWith('example/deploy/'));
        return pending !== undefined;
      },
      WAIT_MS,
      "the example's approval request",
    );
    await engram.decideApproval(pending!.contextId, pending!.requestId, { decision: 'approve', by: 'pat', reason: 'go' });
    const out = await run;
    assert.match(out, /^waiting for a decision: open http:\/\/.*\/#\/approvals$/m);
    assert.match(out, /^approved by pat: deployed \(seq 3, fenced by token \d+\)$/m);
  } finally {
    engram.close();
  }
});
