/**
 * One writer of the memory stress test, in its own process: `mcp` drives an `engram mcp`
 * process through the MCP SDK's client; `cli` runs `engram memory` once per command. Each does
 * a fixed number of rounds on one shared space and prints what the server acknowledged as JSON:
 *   node memory-stress-worker.js mcp|cli NAME DATA_DIR SPACE ROUNDS
 * A round: insert a unique line at the top of the shared file; add one to the shared counter by
 * view + str_replace (retried when another writer changed it in between); create a note of its
 * own, and every third round rename the previous note, every fifth delete one; read the shared
 * file and check every line is well formed.
 */
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { WAIT_MS } from './wait.js';

const [mode, name, dataDir, space, roundsText] = process.argv.slice(2) as [string, string, string, string, string];
const rounds = Number(roundsText);
const MAIN_JS = resolve(import.meta.dirname, '../../src/main.js');

type Run = (input: Record<string, unknown>) => Promise<{ result: string; isError: boolean }>;

async function mcpRunner(): Promise<{ run: Run; close: () => Promise<void> }> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [MAIN_JS, 'mcp', '--data-dir', dataDir, '--space', space, '--agent', name, '--no-start'],
    stderr: 'ignore',
  });
  const client = new Client({ name, version: '1.0.0' });
  await client.connect(transport);
  return {
    run: async (input) => {
      const r = (await client.callTool({ name: 'memory', arguments: input })) as { content: Array<{ text: string }>; isError?: boolean };
      return { result: r.content.map((c) => c.text).join(''), isError: r.isError === true };
    },
    close: () => client.close(),
  };
}

function cliRunner(): { run: Run; close: () => Promise<void> } {
  return {
    run: async (input) => {
      const r = spawnSync(process.execPath, [MAIN_JS, 'memory', space, JSON.stringify(input), '--data-dir', dataDir, '--agent', name, '--json'], {
        encoding: 'utf8',
        timeout: WAIT_MS,
      });
      if (r.stdout.trim() === '') throw new Error(`engram memory failed (status ${r.status}): ${r.stderr}`);
      return JSON.parse(r.stdout) as { result: string; isError: boolean };
    },
    close: async () => undefined,
  };
}

const LINE = /^(seed|[a-z0-9-]+ round \d+)$/;

async function main(): Promise<void> {
  const { run, close } = mode === 'mcp' ? await mcpRunner() : cliRunner();
  let changes = 0;
  const ok = async (input: Record<string, unknown>) => {
    const r = await run(input);
    if (r.isError) throw new Error(`${JSON.stringify(input)} failed: ${r.result}`);
    if (input.command !== 'view') changes++;
    return r.result;
  };
  const inserted: string[] = [];
  const notes = new Map<string, string>(); // path → text, as this writer left them
  let increments = 0;
  let conflicts = 0;
  for (let i = 0; i < rounds; i++) {
    const line = `${name} round ${i}`;
    await ok({ command: 'insert', path: '/memories/shared.md', insert_line: 0, insert_text: line });
    inserted.push(line);

    for (;;) {
      const view = await ok({ command: 'view', path: '/memories/counter.txt' });
      const n = Number(/count=(\d+)/.exec(view)![1]);
      const r = await run({ command: 'str_replace', path: '/memories/counter.txt', old_str: `count=${n}\n`, new_str: `count=${n + 1}\n` });
      if (!r.isError) {
        changes++;
        break;
      }
      // Another writer got there first: the tool's normal error, never a silent overwrite.
      if (!r.result.startsWith('No replacement was performed')) throw new Error(r.result);
      conflicts++;
    }
    increments++;

    const path = `/memories/${name}/note-${i}.md`;
    await ok({ command: 'create', path, file_text: `note ${i} by ${name}` });
    notes.set(path, `note ${i} by ${name}`);
    if (i % 3 === 2) {
      const from = `/memories/${name}/note-${i - 1}.md`;
      const to = `/memories/${name}/renamed-${i - 1}.md`;
      await ok({ command: 'rename', old_path: from, new_path: to });
      notes.set(to, notes.get(from)!);
      notes.delete(from);
    }
    if (i % 5 === 4) {
      const gone = `/memories/${name}/note-${i - 4}.md`;
      if (notes.has(gone)) {
        await ok({ command: 'delete', path: gone });
        notes.delete(gone);
      }
    }

    const shared = await ok({ command: 'view', path: '/memories/shared.md' });
    for (const l of shared.split('\n').slice(1)) {
      const text = l.replace(/^\s*\d+\t/, '');
      if (!LINE.test(text)) throw new Error(`a corrupted line in shared.md: ${JSON.stringify(l)}`);
    }
  }
  await close();
  process.stdout.write(JSON.stringify({ name, inserted, increments, conflicts, changes, notes: Object.fromEntries(notes) }) + '\n');
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`${name}: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
