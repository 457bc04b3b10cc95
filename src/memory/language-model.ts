/**
 * Structured output from a language model, for the memory's fact extraction: one object shaped by
 * a JSON Schema, from an OpenAI-compatible chat-completions server (OpenAI, Ollama, vLLM, ...)
 * through `response_format: json_schema`, or from Anthropic's Messages API through a forced tool
 * call. Both are plain HTTP with global fetch: a timeout per attempt, a few retries with backoff
 * for what may pass (network errors, 408, 409, 429, 5xx), none for what will not (other 4xx, or
 * an answer that is not the object asked for: the caller decides whether to ask again).
 */
import { EngramError } from '../basics/errors.js';
import { traced, type SpanAttributes, type TraceSpan, type Tracer } from '../basics/tracer.js';

export interface StructuredRequest {
  /** The instructions (system prompt). */
  system: string;
  /** The input, as the user message. */
  prompt: string;
  /** Name of the output: the tool name (Anthropic) / json_schema name (OpenAI); [A-Za-z0-9_-]{1,64}. */
  name: string;
  /** One line on what the output is (tool description). */
  description: string;
  /** JSON Schema of the object the model must produce (type: 'object'). */
  schema: Record<string, unknown>;
}

export interface LanguageModel {
  /** 'openai:<model>' or 'anthropic:<model>'. */
  readonly id: string;
  /** The object the model produced. Throws EngramError MODEL_UNAVAILABLE (unreachable, timed out, HTTP error after retries) or MODEL_OUTPUT_INVALID (not an object/JSON, refusal, cut off at max tokens, no tool call). Checking the object against the schema's fields is the caller's job. */
  generate(request: StructuredRequest): Promise<Record<string, unknown>>;
}

export interface LanguageModelOptions {
  provider: 'openai' | 'anthropic';
  /** Base URL. openai: the API base including /v1 if the server has it, e.g. http://127.0.0.1:11434/v1 (Ollama), http://host:8000/v1 (vLLM); the client appends /chat/completions. anthropic: e.g. http://host; the client appends /v1/messages. A trailing slash is ignored; a base with a path keeps it. */
  url: string;
  model: string;
  apiKey?: string;
  /** Per attempt. */
  timeoutMs: number;
  /** Retries after the first attempt (0 = one attempt). */
  retries: number;
  /** max_tokens sent. */
  maxTokens: number;
  /** Backoff base in ms between attempts (default 250; tests pass something small). */
  backoffMs?: number;
  /** A `chat <model>` span per call, in the gen-AI semantic conventions (absent: none). */
  tracer?: Tracer;
}

/** How much of a provider's error message, or of a bad output, goes into our messages. */
const QUOTE_CHARS = 200;
/** The longest wait between attempts, whatever the backoff or a retry-after header says. */
const MAX_DELAY_MS = 10_000;

/** What differs between the two APIs: where to post, what to send, and where the object is in the answer. */
interface Dialect {
  path: string;
  headers(apiKey: string | undefined): Record<string, string>;
  body(request: StructuredRequest, options: LanguageModelOptions): unknown;
  /** The object in a 200 answer; throws MODEL_OUTPUT_INVALID. */
  output(answer: Record<string, unknown>, request: StructuredRequest, id: string): Record<string, unknown>;
}

const OPENAI: Dialect = {
  path: '/chat/completions',
  headers: (apiKey): Record<string, string> => (apiKey ? { authorization: `Bearer ${apiKey}` } : {}),
  body: (r, o) => ({
    model: o.model,
    messages: [
      { role: 'system', content: r.system },
      { role: 'user', content: r.prompt },
    ],
    temperature: 0,
    max_tokens: o.maxTokens,
    response_format: { type: 'json_schema', json_schema: { name: r.name, description: r.description, schema: r.schema, strict: true } },
  }),
  output(answer, _request, id) {
    const choices = answer.choices;
    const choice: unknown = Array.isArray(choices) ? choices[0] : undefined;
    const message = isObject(choice) ? choice.message : undefined;
    if (!isObject(choice) || !isObject(message)) throw invalid(id, 'the answer has no choices[0].message', answer);
    if (typeof message.refusal === 'string' && message.refusal) throw invalid(id, 'the model refused', message.refusal);
    if (choice.finish_reason === 'length') throw invalid(id, 'the output was cut off at max_tokens', message.content ?? '');
    if (typeof message.content !== 'string') throw invalid(id, 'the message has no text content', message);
    return objectFromText(message.content, id);
  },
};

const ANTHROPIC: Dialect = {
  path: '/v1/messages',
  headers: (apiKey) => ({ 'anthropic-version': '2023-06-01', ...(apiKey ? { 'x-api-key': apiKey } : {}) }),
  body: (r, o) => ({
    model: o.model,
    max_tokens: o.maxTokens,
    system: r.system,
    messages: [{ role: 'user', content: r.prompt }],
    // A forced call of the one tool: its input is the structured output.
    tools: [{ name: r.name, description: r.description, input_schema: r.schema }],
    tool_choice: { type: 'tool', name: r.name },
    temperature: 0,
  }),
  output(answer, request, id) {
    const blocks: unknown[] = Array.isArray(answer.content) ? answer.content : [];
    if (answer.stop_reason === 'max_tokens') throw invalid(id, 'the output was cut off at max_tokens', blocks);
    if (answer.stop_reason === 'refusal') throw invalid(id, 'the model refused', blocks);
    const call = blocks.find((b) => isObject(b) && b.type === 'tool_use' && b.name === request.name);
    if (!isObject(call)) throw invalid(id, `the answer has no tool_use block named ${request.name}`, blocks);
    if (!isObject(call.input)) throw invalid(id, 'the tool input is not an object', call.input);
    return call.input;
  },
};

const DIALECTS: Partial<Record<string, Dialect>> = { openai: OPENAI, anthropic: ANTHROPIC };

export function createLanguageModel(options: LanguageModelOptions): LanguageModel {
  const dialect = DIALECTS[options.provider];
  // The type says so, but the options come from a config file.
  if (!dialect) throw new Error(`unknown language-model provider ${JSON.stringify(options.provider)} (openai or anthropic)`);
  const id = `${options.provider}:${options.model}`;
  // Appended to the base, so a base with a path (http://host/proxy/v1) keeps it.
  const url = options.url.replace(/\/+$/, '') + dialect.path;
  const headers = { 'content-type': 'application/json', ...dialect.headers(options.apiKey) };
  const call = async (request: StructuredRequest, span: TraceSpan | undefined) => {
    const text = await postWithRetries(url, headers, JSON.stringify(dialect.body(request, options)), options, id);
    const answer = parseJson(text);
    if (!isObject(answer)) throw invalid(id, 'the answer is not a JSON object', text);
    span?.set(responseAttributes(answer));
    return dialect.output(answer, request, id);
  };
  const tracer = options.tracer;
  if (tracer === undefined || !tracer.enabled) return { id, generate: (request) => call(request, undefined) };
  const server = new URL(url);
  const attributes = {
    'gen_ai.operation.name': 'chat',
    'gen_ai.provider.name': options.provider,
    // The older name of gen_ai.provider.name, which many backends still read.
    'gen_ai.system': options.provider,
    'gen_ai.request.model': options.model,
    'gen_ai.request.max_tokens': options.maxTokens,
    'gen_ai.request.temperature': 0,
    'gen_ai.output.type': 'json',
    'server.address': server.hostname,
    'server.port': Number(server.port) || (server.protocol === 'https:' ? 443 : 80),
  };
  return {
    id,
    generate: (request) =>
      traced(tracer, `chat ${options.model}`, { kind: 'client', attributes: { ...attributes, 'engram.memory.step': request.name } }, (span) => call(request, span)),
  };
}

/** What the gen-AI conventions record of an answer: the model that answered, its id, why it stopped, the tokens (both APIs' names). */
function responseAttributes(answer: Record<string, unknown>): SpanAttributes {
  const usage = isObject(answer.usage) ? answer.usage : {};
  const choice: unknown = Array.isArray(answer.choices) ? answer.choices[0] : undefined;
  const finish = isObject(choice) ? choice.finish_reason : answer.stop_reason;
  const num = (v: unknown) => (typeof v === 'number' ? v : undefined);
  return {
    'gen_ai.response.model': typeof answer.model === 'string' ? answer.model : undefined,
    'gen_ai.response.id': typeof answer.id === 'string' ? answer.id : undefined,
    'gen_ai.response.finish_reasons': typeof finish === 'string' ? [finish] : undefined,
    'gen_ai.usage.input_tokens': num(usage.input_tokens) ?? num(usage.prompt_tokens),
    'gen_ai.usage.output_tokens': num(usage.output_tokens) ?? num(usage.completion_tokens),
  };
}

/** One attempt's failure: why, the HTTP status if there was one, and whether another attempt may fare better. */
interface Failure {
  reason: string;
  status?: number;
  retryable: boolean;
  retryAfterMs?: number;
  cause?: unknown;
}

/** The body of the first 200 answer; MODEL_UNAVAILABLE once the retries are spent or a failure will not pass. */
async function postWithRetries(url: string, headers: Record<string, string>, body: string, options: LanguageModelOptions, id: string): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    const result = await attemptOnce(url, headers, body, options);
    if (typeof result === 'string') return result;
    if (!result.retryable || attempt > options.retries) {
      const message = `${id} at ${url} failed after ${attempt} attempt${attempt === 1 ? '' : 's'}: ${result.reason}`;
      const details = { provider: id, ...(result.status === undefined ? {} : { status: result.status }), attempts: attempt };
      throw new EngramError('MODEL_UNAVAILABLE', message, { cause: result.cause, details });
    }
    await new Promise((resolve) => setTimeout(resolve, delayBeforeRetry(attempt - 1, result, options.backoffMs ?? 250)));
  }
}

async function attemptOnce(url: string, headers: Record<string, string>, body: string, options: LanguageModelOptions): Promise<string | Failure> {
  try {
    // The timeout covers reading the body too: a server may send headers and then stall.
    const res = await fetch(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(options.timeoutMs) });
    const text = await res.text();
    if (res.ok) return text;
    const status = res.status;
    const retryable = status === 408 || status === 409 || status === 429 || status >= 500;
    const reason = `HTTP ${status}: ${providerMessage(text, options.apiKey)}`;
    return { reason, status, retryable, retryAfterMs: retryAfterMs(res.headers.get('retry-after')) };
  } catch (err) {
    return { reason: networkReason(err, options.timeoutMs), retryable: true, cause: err };
  }
}

/** Exponential backoff with jitter (so clients that failed together do not retry together), or what the server asked for. */
function delayBeforeRetry(retry: number, failure: Failure, backoffMs: number): number {
  const delay = failure.retryAfterMs ?? backoffMs * 2 ** retry + Math.random() * backoffMs;
  return Math.min(delay, MAX_DELAY_MS);
}

/** Anthropic and OpenAI send retry-after in seconds; an HTTP date (allowed, but neither sends one) falls back to the backoff. */
function retryAfterMs(header: string | null): number | undefined {
  const seconds = header === null || header.trim() === '' ? NaN : Number(header);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : undefined;
}

/** The error message of an error body (OpenAI and Anthropic both say `error.message`; some servers `error` or `message`), on one line, without the key. */
function providerMessage(text: string, apiKey: string | undefined): string {
  const body = parseJson(text);
  const error = isObject(body) ? body.error : undefined;
  const found = isObject(error) ? error.message : (error ?? (isObject(body) ? body.message : undefined));
  let message = (typeof found === 'string' ? found : text).replace(/\s+/g, ' ').trim();
  // Some servers echo the key they rejected; it must not reach logs or clients.
  if (apiKey) message = message.split(apiKey).join('***');
  return message.slice(0, QUOTE_CHARS) || '(no message)';
}

function networkReason(err: unknown, timeoutMs: number): string {
  if (err instanceof Error && err.name === 'TimeoutError') return `no answer within ${timeoutMs} ms`;
  // fetch says only "fetch failed"; the cause has the useful part (ECONNREFUSED, ENOTFOUND...).
  const cause = err instanceof Error && err.cause instanceof Error ? `: ${err.cause.message}` : '';
  return `${err instanceof Error ? err.message : String(err)}${cause}`;
}

/** The object in a model's text; some local servers wrap it in a ```json fence even when asked for a schema. */
function objectFromText(content: string, id: string): Record<string, unknown> {
  const fenced = /^\s*```[a-zA-Z]*\s*\n([\s\S]*?)\n?\s*```\s*$/.exec(content);
  const parsed = parseJson(fenced ? fenced[1]! : content);
  if (parsed === undefined) throw invalid(id, 'the output is not JSON', content);
  if (!isObject(parsed)) throw invalid(id, 'the output is not a JSON object', content);
  return parsed;
}

/** MODEL_OUTPUT_INVALID naming the provider and what was wrong, quoting the start of the output (text as is, anything else as JSON). */
function invalid(id: string, what: string, output: unknown): EngramError {
  const text = typeof output === 'string' ? output : String(JSON.stringify(output));
  const quoted = text.length > QUOTE_CHARS ? `${text.slice(0, QUOTE_CHARS)}...` : text;
  return new EngramError('MODEL_OUTPUT_INVALID', `${id}: ${what}: ${JSON.stringify(quoted)}`, { details: { provider: id } });
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
