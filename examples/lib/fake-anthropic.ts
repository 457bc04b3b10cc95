/**
 * A small local stand-in for the Anthropic Messages API (`POST /v1/messages`), so that
 * examples/claude-memory-tool.ts runs offline and its test can see what the agent loop sent.
 * It speaks the API's wire format (a message with `content` blocks, `stop_reason`, `usage`;
 * errors as `{type: "error", error: {type, message}}`) and plays a fixed script of memory-tool
 * calls instead of thinking: view /memories; create two files at once; edit one with
 * str_replace and delete the other, at once; then end the turn with a text answer.
 *
 * It checks each request for what the real API requires of a tool-use loop, and answers
 * 400 `invalid_request_error` (noted in `errors`) when one is not met:
 * - the headers `x-api-key` (401 without), `anthropic-version` and a JSON content type;
 * - `model`, a positive `max_tokens`, and `tools` holding `{type: "memory_20250818", name: "memory"}`;
 * - `messages` alternate user and assistant, starting with the user, and every assistant turn is
 *   sent back as this server answered it;
 * - after an assistant turn with `tool_use` blocks, the user turn starts with one `tool_result`
 *   per tool_use, each naming its `tool_use_id`, with text `content` (and `is_error` a boolean
 *   when present), and nothing else before them.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type ContentBlock = { type: 'text'; text: string } | { type: 'tool_use'; id: string; name: string; input: Record<string, unknown> };
export interface ToolResultBlock {
  type: 'tool_result';
  tool_use_id: string;
  content: string;
  is_error?: boolean;
}

/** A request as the stand-in received it. */
export interface RecordedRequest {
  headers: Record<string, string | string[] | undefined>;
  body: {
    model?: unknown;
    max_tokens?: unknown;
    tools?: unknown;
    messages?: Array<{ role: string; content: string | Array<Record<string, unknown>> }>;
  };
}

export interface FakeAnthropic {
  /** The base URL, to use as ANTHROPIC_BASE_URL. */
  url: string;
  requests: RecordedRequest[];
  /** Each answer: the assistant turns of the script, as sent. */
  answers: ContentBlock[][];
  /** Why requests were refused (empty when the agent loop did everything right). */
  errors: string[];
  close(): Promise<void>;
}

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
/** An id shaped like the API's (`toolu_01…`, `msg_01…`). */
const newId = (prefix: string) => `${prefix}_01${[...randomBytes(22)].map((b) => BASE62[b % 62]).join('')}`;
const toolUse = (input: Record<string, unknown>): ContentBlock => ({ type: 'tool_use', id: newId('toolu'), name: 'memory', input });

/** The script: one assistant turn per request, the last one ends the turn. */
function script(): Array<{ content: ContentBlock[]; stop: 'tool_use' | 'end_turn' }> {
  return [
    { content: [{ type: 'text', text: "I'll check my memory for this project first." }, toolUse({ command: 'view', path: '/memories' })], stop: 'tool_use' },
    {
      content: [
        { type: 'text', text: 'Nothing about retries yet. I will write down the policy as it was, and a note of the open question.' },
        toolUse({ command: 'create', path: '/memories/retry-policy.md', file_text: '# Retry policy\n- backoff: fixed 1 s\n- attempts: at most 3\n' }),
        toolUse({ command: 'create', path: '/memories/scratch.md', file_text: 'open: which backoff?\n' }),
      ],
      stop: 'tool_use',
    },
    {
      content: [
        { type: 'text', text: 'You decided on exponential backoff with jitter: updating the policy, and the open question is settled.' },
        toolUse({ command: 'str_replace', path: '/memories/retry-policy.md', old_str: '- backoff: fixed 1 s', new_str: '- backoff: exponential, with jitter' }),
        toolUse({ command: 'delete', path: '/memories/scratch.md' }),
      ],
      stop: 'tool_use',
    },
    { content: [{ type: 'text', text: 'Noted in /memories/retry-policy.md: exponential backoff with jitter, at most 3 attempts.' }], stop: 'end_turn' },
  ];
}

export async function startFakeAnthropic(): Promise<FakeAnthropic> {
  const turns = script();
  const fake = { requests: [] as RecordedRequest[], answers: [] as ContentBlock[][], errors: [] as string[] };

  const send = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json', 'request-id': newId('req') });
    res.end(JSON.stringify(body));
  };
  const refuse = (res: ServerResponse, status: number, type: string, message: string) => {
    fake.errors.push(message);
    send(res, status, { type: 'error', error: { type, message } });
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => (text += d));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/messages') return refuse(res, 404, 'not_found_error', `${req.method} ${req.url}: not found`);
      let body: RecordedRequest['body'];
      try {
        body = JSON.parse(text) as RecordedRequest['body'];
      } catch {
        return refuse(res, 400, 'invalid_request_error', 'the body is not JSON');
      }
      fake.requests.push({ headers: req.headers, body });
      if (!req.headers['x-api-key']) return refuse(res, 401, 'authentication_error', 'x-api-key header is required');
      const problem = checkRequest(req, body, fake.answers);
      if (problem !== undefined) return refuse(res, 400, 'invalid_request_error', problem);
      const turn = turns[fake.answers.length];
      if (turn === undefined) return refuse(res, 400, 'invalid_request_error', "the stand-in's script is over");
      fake.answers.push(turn.content);
      const inputChars = text.length;
      send(res, 200, {
        id: newId('msg'),
        type: 'message',
        role: 'assistant',
        model: body.model,
        content: turn.content,
        stop_reason: turn.stop,
        stop_sequence: null,
        usage: { input_tokens: Math.ceil(inputChars / 4), output_tokens: Math.ceil(JSON.stringify(turn.content).length / 4) },
      });
    });
  });
  await new Promise<void>((ready) => server.listen(0, '127.0.0.1', ready));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    ...fake,
    close: () => new Promise<void>((done) => server.close(() => done())),
  };
}

/** What is wrong with a request for the script's next turn, or undefined. */
function checkRequest(req: IncomingMessage, body: RecordedRequest['body'], answered: ContentBlock[][]): string | undefined {
  if (!req.headers['anthropic-version']) return 'anthropic-version header is required';
  if (!String(req.headers['content-type']).startsWith('application/json')) return 'content-type must be application/json';
  if (typeof body.model !== 'string' || body.model === '') return 'model: Field required';
  if (typeof body.max_tokens !== 'number' || body.max_tokens < 1) return 'max_tokens: a positive integer is required';
  const tools = Array.isArray(body.tools) ? (body.tools as Array<Record<string, unknown>>) : [];
  if (!tools.some((t) => t.type === 'memory_20250818' && t.name === 'memory')) return 'tools: the memory tool ({type: "memory_20250818", name: "memory"}) is not offered';
  const messages = body.messages;
  if (!Array.isArray(messages) || messages.length === 0) return 'messages: at least one message is required';
  // The conversation so far: user, then each answer and the user turn that followed it.
  if (messages.length !== 2 * answered.length + 1) return `messages: expected ${2 * answered.length + 1} messages (the conversation so far), got ${messages.length}`;
  for (const [i, m] of messages.entries()) {
    const role = i % 2 === 0 ? 'user' : 'assistant';
    if (m.role !== role) return `messages.${i}.role: expected ${role}`;
    if (role === 'assistant' && JSON.stringify(m.content) !== JSON.stringify(answered[(i - 1) / 2])) return `messages.${i}: the assistant turn was changed`;
  }
  for (let i = 2; i < messages.length; i += 2) {
    const uses = (answered[i / 2 - 1] ?? []).filter((b): b is Extract<ContentBlock, { type: 'tool_use' }> => b.type === 'tool_use');
    if (uses.length === 0) continue;
    const content = messages[i]!.content;
    if (!Array.isArray(content)) return `messages.${i}: tool_use ids were found without tool_result blocks immediately after: ${uses.map((u) => u.id).join(', ')}`;
    const results = content.slice(0, uses.length);
    for (const [j, r] of results.entries()) {
      if (r.type !== 'tool_result') return `messages.${i}.content.${j}: tool_result blocks must come first, before any other content`;
      if (typeof r.content !== 'string') return `messages.${i}.content.${j}.content: text expected`;
      if (r.is_error !== undefined && typeof r.is_error !== 'boolean') return `messages.${i}.content.${j}.is_error: a boolean expected`;
    }
    const ids = results.map((r) => r.tool_use_id).sort();
    const expected = uses.map((u) => u.id).sort();
    if (JSON.stringify(ids) !== JSON.stringify(expected)) return `messages.${i}: tool_result ids ${ids.join(', ')} do not match the tool_use ids ${expected.join(', ')}`;
  }
  return undefined;
}
