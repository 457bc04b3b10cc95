/**
 * The language-model clients against local fake servers speaking OpenAI's chat completions and
 * Anthropic's Messages API: the requests they send, the objects they take from good answers, the
 * failures they retry (and those they do not), and the outputs they refuse.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { describe, test, type TestContext } from 'node:test';
import { EngramError, type ErrorCode } from '../../src/basics/errors.js';
import { createLanguageModel, type LanguageModelOptions, type StructuredRequest } from '../../src/memory/language-model.js';
import { withTimeout } from '../helpers/wait.js';

const KEY = 'sk-test-0123456789abcdef';
const FACTS = { facts: [{ key: 'deploy.region', value: 'eu-west-1' }] };
const REQUEST: StructuredRequest = {
  system: 'Extract the durable facts from the conversation turn.',
  prompt: 'user: from now on we deploy to eu-west-1',
  name: 'record_facts',
  description: 'The facts worth remembering from the turn.',
  schema: {
    type: 'object',
    properties: { facts: { type: 'array', items: { type: 'object', properties: { key: { type: 'string' }, value: { type: 'string' } }, required: ['key', 'value'] } } },
    required: ['facts'],
    additionalProperties: false,
  },
};

interface Received {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: Record<string, unknown>;
}
/** An answer of the fake server; a string body is sent as is. */
interface Reply {
  status?: number;
  headers?: Record<string, string>;
  body: unknown;
}

/** A server answering the nth request with replies[n] (the last one again after that), or never ('hang'). */
async function fakeProvider(t: TestContext, replies: Reply[] | 'hang'): Promise<{ url: string; requests: Received[] }> {
  const requests: Received[] = [];
  const server = http.createServer((req, res) => {
    let text = '';
    req.on('data', (chunk) => (text += chunk));
    req.on('end', () => {
      requests.push({ method: req.method!, path: req.url!, headers: req.headers, body: JSON.parse(text) });
      if (replies === 'hang') return; // the client's timeout ends the attempt
      const reply = replies[Math.min(requests.length, replies.length) - 1]!;
      res.writeHead(reply.status ?? 200, { 'content-type': 'application/json', ...reply.headers });
      res.end(typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, requests };
}

/** The URL of a port nothing listens on (it did a moment ago). */
async function closedPortUrl(): Promise<string> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return `http://127.0.0.1:${port}`;
}

async function rejectsWith(promise: Promise<unknown>, code: ErrorCode): Promise<EngramError> {
  const err = await promise.then(
    () => assert.fail(`expected ${code}, got an object`),
    (e: unknown) => e,
  );
  assert.ok(err instanceof EngramError, String(err));
  assert.equal(err.code, code, err.message);
  return err;
}

/** One provider's API as the fake servers speak it. */
interface Api {
  provider: 'openai' | 'anthropic';
  /** What a base URL has before the path the client appends (OpenAI's base includes /v1). */
  root: string;
  path: string;
  ok(object: unknown): unknown;
  error(status: number, message: string): unknown;
  checkRequest(r: Received, apiKey: string | undefined): void;
  /** 200 answers that do not hold the object asked for, and what the error says of each. */
  malformed: Record<string, [unknown, RegExp]>;
}

const completion = (message: Record<string, unknown>, finish_reason = 'stop') => ({
  id: 'chatcmpl-1',
  object: 'chat.completion',
  created: 1764806400,
  model: 'gpt-4o-mini-2024-07-18',
  choices: [{ index: 0, message: { role: 'assistant', content: null, refusal: null, ...message }, logprobs: null, finish_reason }],
  usage: { prompt_tokens: 120, completion_tokens: 20, total_tokens: 140 },
});
const OPENAI_ERRORS: Record<number, [string, string | null]> = {
  401: ['invalid_request_error', 'invalid_api_key'],
  429: ['requests', 'rate_limit_exceeded'],
  500: ['server_error', null],
};

const OPENAI: Api = {
  provider: 'openai',
  root: '/v1',
  path: '/chat/completions',
  ok: (object) => completion({ content: JSON.stringify(object) }),
  error: (status, message) => ({ error: { message, type: OPENAI_ERRORS[status]?.[0] ?? 'server_error', param: null, code: OPENAI_ERRORS[status]?.[1] ?? null } }),
  checkRequest(r, apiKey) {
    assert.equal(r.headers.authorization, apiKey ? `Bearer ${apiKey}` : undefined);
    assert.deepEqual(r.body, {
      model: 'test-model',
      messages: [
        { role: 'system', content: REQUEST.system },
        { role: 'user', content: REQUEST.prompt },
      ],
      temperature: 0,
      max_tokens: 1024,
      response_format: { type: 'json_schema', json_schema: { name: REQUEST.name, description: REQUEST.description, schema: REQUEST.schema, strict: true } },
    });
  },
  malformed: {
    'content that is not JSON': [completion({ content: 'The facts are: deploy.region = eu-west-1' }), /the output is not JSON: "The facts are/],
    'a JSON array': [completion({ content: JSON.stringify(FACTS.facts) }), /not a JSON object/],
    'a refusal': [completion({ refusal: "I'm sorry, I can't help with that request." }), /refused: "I'm sorry/],
    'finish_reason length': [completion({ content: '{"facts": [{"key": "deploy.region", "val' }, 'length'), /cut off at max_tokens/],
    'a body that is not JSON': ['<html><body>Bad gateway</body></html>', /the answer is not a JSON object/],
  },
};

const message = (content: unknown[], stop_reason = 'tool_use') => ({
  id: 'msg_01XFDUDYJgAACzvnptvVoYEL',
  type: 'message',
  role: 'assistant',
  model: 'claude-sonnet-4-5',
  content,
  stop_reason,
  stop_sequence: null,
  usage: { input_tokens: 410, output_tokens: 42 },
});
const toolUse = (input: unknown, name = REQUEST.name) => ({ type: 'tool_use', id: 'toolu_01A09q90qw90lq917835lq9', name, input });
const ANTHROPIC_ERRORS: Record<number, string> = { 401: 'authentication_error', 429: 'rate_limit_error', 500: 'api_error', 529: 'overloaded_error' };

const ANTHROPIC: Api = {
  provider: 'anthropic',
  root: '',
  path: '/v1/messages',
  ok: (object) => message([{ type: 'text', text: 'Recording the facts.' }, toolUse(object)]),
  error: (status, msg) => ({ type: 'error', error: { type: ANTHROPIC_ERRORS[status] ?? 'api_error', message: msg } }),
  checkRequest(r, apiKey) {
    assert.equal(r.headers['x-api-key'], apiKey);
    assert.equal(r.headers['anthropic-version'], '2023-06-01');
    assert.equal(r.headers.authorization, undefined);
    assert.deepEqual(r.body, {
      model: 'test-model',
      max_tokens: 1024,
      system: REQUEST.system,
      messages: [{ role: 'user', content: REQUEST.prompt }],
      tools: [{ name: REQUEST.name, description: REQUEST.description, input_schema: REQUEST.schema }],
      tool_choice: { type: 'tool', name: REQUEST.name },
      temperature: 0,
    });
  },
  malformed: {
    'no tool_use block': [message([{ type: 'text', text: 'I would rather not record anything.' }], 'end_turn'), /no tool_use block named record_facts/],
    'a tool_use block of another tool': [message([toolUse(FACTS, 'other_tool')]), /no tool_use block named record_facts/],
    'stop_reason max_tokens': [message([toolUse({})], 'max_tokens'), /cut off at max_tokens/],
    'stop_reason refusal': [message([], 'refusal'), /refused/],
    'an input that is a JSON array': [message([toolUse(FACTS.facts)]), /tool input is not an object/],
    'a body that is not JSON': ['<html><body>Bad gateway</body></html>', /the answer is not a JSON object/],
  },
};

for (const api of [OPENAI, ANTHROPIC]) {
  describe(`${api.provider} client`, () => {
    const model = (base: string, more: Partial<LanguageModelOptions> = {}) =>
      createLanguageModel({
        provider: api.provider,
        url: base + api.root,
        model: 'test-model',
        apiKey: KEY,
        timeoutMs: 10_000,
        retries: 2,
        maxTokens: 1024,
        backoffMs: 1,
        ...more,
      });
    const transient = api.provider === 'openai' ? [500, 429] : [529, 500];

    test('a good answer is the object; the request is the one the API expects, with or without a key', async (t) => {
      const fake = await fakeProvider(t, [{ body: api.ok(FACTS) }]);
      const llm = model(fake.url);
      assert.equal(llm.id, `${api.provider}:test-model`);
      assert.deepEqual(await llm.generate(REQUEST), FACTS);
      assert.deepEqual(await model(fake.url, { apiKey: undefined }).generate(REQUEST), FACTS);
      const [withKey, withoutKey] = fake.requests;
      for (const [r, key] of [[withKey!, KEY] as const, [withoutKey!, undefined] as const]) {
        assert.equal(r.method, 'POST');
        assert.equal(r.path, api.root + api.path);
        assert.equal(r.headers['content-type'], 'application/json');
        api.checkRequest(r, key);
      }
    });

    test('a base URL with a trailing slash or a path prefix keeps its path', async (t) => {
      const fake = await fakeProvider(t, [{ body: api.ok(FACTS) }]);
      await model(fake.url, { url: `${fake.url}${api.root}/` }).generate(REQUEST);
      await model(fake.url, { url: `${fake.url}/proxy/llm${api.root}//` }).generate(REQUEST);
      assert.deepEqual(
        fake.requests.map((r) => r.path),
        [api.root + api.path, `/proxy/llm${api.root}${api.path}`],
      );
    });

    test(`${transient.join(' and ')} are retried, then the answer is taken`, async (t) => {
      const errors = transient.map((status) => ({ status, body: api.error(status, 'try again later') }));
      const fake = await fakeProvider(t, [...errors, { body: api.ok(FACTS) }]);
      assert.deepEqual(await model(fake.url).generate(REQUEST), FACTS);
      assert.equal(fake.requests.length, 3);
    });

    test('retry-after is honoured over a long backoff', async (t) => {
      const fake = await fakeProvider(t, [{ status: 429, headers: { 'retry-after': '0' }, body: api.error(429, 'Rate limit reached') }, { body: api.ok(FACTS) }]);
      // The backoff would wait its 10 s cap; the server's retry-after of 0 s is what is waited.
      const answer = model(fake.url, { backoffMs: 60_000 }).generate(REQUEST);
      assert.deepEqual(await withTimeout(answer, 5_000, 'the retry the server asked for'), FACTS);
      assert.equal(fake.requests.length, 2);
    });

    test('an error on every attempt is MODEL_UNAVAILABLE once the retries are spent', async (t) => {
      const fake = await fakeProvider(t, [{ status: 500, body: api.error(500, 'Internal server error') }]);
      const err = await rejectsWith(model(fake.url, { retries: 1 }).generate(REQUEST), 'MODEL_UNAVAILABLE');
      assert.deepEqual(err.details, { provider: `${api.provider}:test-model`, status: 500, attempts: 2 });
      assert.match(err.message, /500: Internal server error/);
      assert.equal(fake.requests.length, 2);
    });

    test('401 is not retried; the message names the provider, URL and status, never the key', async (t) => {
      // Some servers echo the key they reject.
      const fake = await fakeProvider(t, [{ status: 401, body: api.error(401, `Incorrect API key provided: ${KEY}. ${'x'.repeat(300)}`) }]);
      const err = await rejectsWith(model(fake.url, { retries: 3 }).generate(REQUEST), 'MODEL_UNAVAILABLE');
      assert.deepEqual(err.details, { provider: `${api.provider}:test-model`, status: 401, attempts: 1 });
      assert.ok(err.message.includes(`${api.provider}:test-model`) && err.message.includes(fake.url + api.root + api.path), err.message);
      assert.match(err.message, /401: Incorrect API key provided/);
      assert.ok(!err.message.includes(KEY), err.message);
      assert.ok(!err.message.includes('x'.repeat(200)), 'at most 200 characters of the error');
      assert.equal(fake.requests.length, 1);
    });

    test('a server that is down is MODEL_UNAVAILABLE', async () => {
      const err = await rejectsWith(model(await closedPortUrl(), { retries: 1 }).generate(REQUEST), 'MODEL_UNAVAILABLE');
      assert.deepEqual(err.details, { provider: `${api.provider}:test-model`, attempts: 2 });
      assert.match(err.message, /ECONNREFUSED/);
    });

    test('a server that never answers is MODEL_UNAVAILABLE after the timeout of each attempt', async (t) => {
      const fake = await fakeProvider(t, 'hang');
      const err = await rejectsWith(model(fake.url, { timeoutMs: 200, retries: 1 }).generate(REQUEST), 'MODEL_UNAVAILABLE');
      assert.deepEqual(err.details, { provider: `${api.provider}:test-model`, attempts: 2 });
      assert.match(err.message, /no answer within 200 ms/);
      assert.equal(fake.requests.length, 2);
    });

    for (const [what, [body, says]] of Object.entries(api.malformed)) {
      test(`${what} is MODEL_OUTPUT_INVALID, not retried`, async (t) => {
        const fake = await fakeProvider(t, [{ body }]);
        const err = await rejectsWith(model(fake.url).generate(REQUEST), 'MODEL_OUTPUT_INVALID');
        assert.ok(err.message.startsWith(`${api.provider}:test-model: `), err.message);
        assert.match(err.message, says);
        assert.equal(fake.requests.length, 1);
      });
    }
  });
}

test('openai: content wrapped in a ```json fence (as some local servers send it) is parsed', async (t) => {
  const fake = await fakeProvider(t, [{ body: completion({ content: '```json\n' + JSON.stringify(FACTS, null, 2) + '\n```' }) }]);
  const llm = createLanguageModel({ provider: 'openai', url: `${fake.url}/v1`, model: 'qwen2.5:7b', timeoutMs: 10_000, retries: 0, maxTokens: 512 });
  assert.deepEqual(await llm.generate(REQUEST), FACTS);
});

test('the quote of a bad output is at most 200 characters', async (t) => {
  const fake = await fakeProvider(t, [{ body: completion({ content: 'not json '.repeat(100) }) }]);
  const llm = createLanguageModel({ provider: 'openai', url: `${fake.url}/v1`, model: 'm', timeoutMs: 10_000, retries: 0, maxTokens: 512 });
  const err = await rejectsWith(llm.generate(REQUEST), 'MODEL_OUTPUT_INVALID');
  assert.match(err.message, /^openai:m: the output is not JSON: "(not json ){22}no\.\.\."$/);
});
