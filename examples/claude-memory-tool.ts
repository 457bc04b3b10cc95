/**
 * Claude's memory tool, kept in Engram. An agent loop calls the Anthropic Messages API with
 * the memory tool (`{type: "memory_20250818", name: "memory"}`); each `tool_use` block Claude
 * answers with (view, create, str_replace, insert, delete, rename) is forwarded as it is to
 * Engram's `POST /memory/{space}/command` (`engram.memory()`), and Engram's answer goes back as
 * the `tool_result` with the same `tool_use_id` (`is_error` on a tool error), until Claude ends
 * its turn. The memory is then a context of the log with every change's history, shared by
 * every agent that uses the same space (docs/memory.md, "Backing Claude's memory tool").
 *
 * Offline (no ANTHROPIC_API_KEY): a local stand-in for the model server plays a fixed
 * conversation over the same wire format (examples/lib/fake-anthropic.ts):
 *
 *   make run                                       # in one terminal
 *   node dist/examples/claude-memory-tool.js       # in another (ENGRAM_URL overrides the address)
 *
 * Against the real API, the same code with a key:
 *
 *   ANTHROPIC_API_KEY=sk-ant-... node dist/examples/claude-memory-tool.js
 *
 * ANTHROPIC_MODEL picks the model (default claude-sonnet-4-5); ANTHROPIC_BASE_URL another
 * endpoint; ANTHROPIC_BETA the beta header (default context-management-2025-06-27, which the
 * memory tool was released under; empty: none); ENGRAM_MEMORY_SPACE a space to keep across
 * runs (default: a new one each run); EXAMPLE_TASK what to ask.
 */
import { EngramClient } from 'engram';
import { startFakeAnthropic, type FakeAnthropic } from './lib/fake-anthropic.js';

type ContentBlock = { type: 'text'; text: string } | { type: 'tool_use'; id: string; name: string; input: Record<string, unknown> } | { type: string };
interface ToolResultBlock {
  type: 'tool_result';
  tool_use_id: string;
  content: string;
  is_error?: boolean;
}
interface MessageParam {
  role: 'user' | 'assistant';
  content: string | Array<ContentBlock | ToolResultBlock>;
}
/** A Messages API answer (the fields this loop reads). */
interface Message {
  id: string;
  content: ContentBlock[];
  stop_reason: 'end_turn' | 'tool_use' | 'max_tokens' | 'stop_sequence' | 'pause_turn' | 'refusal' | null;
  usage: { input_tokens: number; output_tokens: number };
}

const isToolUse = (b: ContentBlock): b is { type: 'tool_use'; id: string; name: string; input: Record<string, unknown> } => b.type === 'tool_use';
const isText = (b: ContentBlock): b is { type: 'text'; text: string } => b.type === 'text';

const engram = new EngramClient(process.env.ENGRAM_URL ?? 'http://127.0.0.1:8080');
const space = process.env.ENGRAM_MEMORY_SPACE ?? `claude-example-${Date.now()}`;
const task =
  process.env.EXAMPLE_TASK ??
  'Our retry policy was a fixed 1 s backoff with at most 3 attempts. Today we decided on exponential backoff with jitter. Keep the project memory up to date.';
const model = process.env.ANTHROPIC_MODEL ?? 'claude-sonnet-4-5';
const beta = process.env.ANTHROPIC_BETA ?? 'context-management-2025-06-27';
const MAX_REQUESTS = 25;

let standIn: FakeAnthropic | undefined;
let base = process.env.ANTHROPIC_BASE_URL ?? 'https://api.anthropic.com';
let apiKey = process.env.ANTHROPIC_API_KEY ?? '';
if (apiKey === '') {
  standIn = await startFakeAnthropic();
  base = standIn.url;
  apiKey = 'offline-stand-in';
  console.log(`no ANTHROPIC_API_KEY: the model is a local stand-in at ${base} (a fixed script)`);
}
console.log(`model ${model}, memory space "${space}"`);

/** One Messages API call. */
async function createMessage(messages: MessageParam[]): Promise<Message> {
  const headers: Record<string, string> = { 'content-type': 'application/json', 'x-api-key': apiKey, 'anthropic-version': '2023-06-01' };
  if (beta !== '') headers['anthropic-beta'] = beta;
  const res = await fetch(`${base.replace(/\/+$/, '')}/v1/messages`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ model, max_tokens: 2048, tools: [{ type: 'memory_20250818', name: 'memory' }], messages }),
    signal: AbortSignal.timeout(120_000),
  });
  const body = (await res.json()) as Message & { error?: { type: string; message: string } };
  if (!res.ok) throw new Error(`Messages API: ${res.status} ${body.error?.type}: ${body.error?.message}`);
  return body;
}

/** Runs one memory tool_use in Engram; a tool error (a missing file, say) is a result for Claude, not an exception. */
async function runMemoryTool(use: { id: string; name: string; input: Record<string, unknown> }): Promise<ToolResultBlock> {
  if (use.name !== 'memory') return { type: 'tool_result', tool_use_id: use.id, content: `Error: no tool named ${use.name}`, is_error: true };
  const { result, isError } = await engram.memory(space, use.input, 'claude');
  const target = use.input.path ?? use.input.old_path;
  console.log(`  memory ${String(use.input.command)} ${String(target)} -> ${isError ? 'error: ' : ''}${result.split('\n')[0]}`);
  return isError ? { type: 'tool_result', tool_use_id: use.id, content: result, is_error: true } : { type: 'tool_result', tool_use_id: use.id, content: result };
}

try {
  const messages: MessageParam[] = [{ role: 'user', content: task }];
  console.log(`user: ${task}`);
  let stop: Message['stop_reason'] = null;
  let requests = 0;
  while (requests < MAX_REQUESTS) {
    const answer = await createMessage(messages);
    requests++;
    messages.push({ role: 'assistant', content: answer.content });
    for (const b of answer.content.filter(isText)) console.log(`claude: ${b.text}`);
    stop = answer.stop_reason;
    if (stop !== 'tool_use') break;
    // Every tool_use gets its tool_result, in order, all in the next user turn.
    const results: ToolResultBlock[] = [];
    for (const use of answer.content.filter(isToolUse)) results.push(await runMemoryTool(use));
    messages.push({ role: 'user', content: results });
  }
  console.log(`stop_reason ${stop} after ${requests} request(s)`);
  const files = await engram.memoryTree(space);
  console.log(`memory space "${space}" now holds: ${files.map((f) => `${f.path} (${f.size} chars)`).join(', ') || 'nothing'}`);
  for (const f of files) console.log(`--- ${f.path}\n${(await engram.memoryFile(space, f.path)).text}`);
} finally {
  await standIn?.close();
}
