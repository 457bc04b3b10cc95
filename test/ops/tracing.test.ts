/**
 * OpenTelemetry spans, sent to an OTLP/HTTP receiver this test runs on loopback: a write with a
 * traceparent header is a child of the caller's span, its fan-out to a WebSocket subscriber a child
 * of the write, a lock acquire that waits, a search and memory operations (with the gen-AI
 * attributes, and the language-model call inside process-turn) each have their span. With
 * tracing off the server sends nothing.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createServer, type Server } from 'node:http';
import * as grpc from '@grpc/grpc-js';
import { EngramGrpc } from '../helpers/grpc.js';
import { HttpClient, unit } from '../helpers/http.js';
import { removeDir, startServer, type RunningServer } from '../helpers/server.js';
import { eventually, WAIT_MS, Watcher } from '../helpers/wait.js';
import { WsClient } from '../helpers/ws.js';

type AttrValue = { stringValue?: string; intValue?: number | string; boolValue?: boolean; doubleValue?: number; arrayValue?: { values: AttrValue[] } };
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes?: Array<{ key: string; value: AttrValue }>;
  status?: { code?: number };
}
/** A span as received, with its resource's service name and its attributes as plain values. */
interface Received extends OtlpSpan {
  service: string;
  attrs: Record<string, unknown>;
}

function plain(v: AttrValue): unknown {
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return v.doubleValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.arrayValue !== undefined) return (v.arrayValue.values ?? []).map(plain);
  return undefined;
}

/** An OTLP/HTTP JSON receiver: every span posted to /v1/traces, and a watcher told of each arrival. */
async function otlpReceiver() {
  const spans: Received[] = [];
  const arrived = new Watcher();
  const server: Server = createServer((req, res) => {
    let text = '';
    req.on('data', (c: Buffer) => (text += c.toString()));
    req.on('end', () => {
      if (req.url === '/v1/traces' && req.headers['content-type']?.startsWith('application/json')) {
        const body = JSON.parse(text) as {
          resourceSpans: Array<{ resource: { attributes: Array<{ key: string; value: AttrValue }> }; scopeSpans: Array<{ spans: OtlpSpan[] }> }>;
        };
        for (const rs of body.resourceSpans) {
          const service = String(plain(rs.resource.attributes.find((a) => a.key === 'service.name')!.value));
          for (const ss of rs.scopeSpans) {
            for (const s of ss.spans) spans.push({ ...s, service, attrs: Object.fromEntries((s.attributes ?? []).map((a) => [a.key, plain(a.value)])) });
          }
        }
        arrived.notify();
      }
      res.setHeader('content-type', 'application/json');
      res.end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/v1/traces`,
    spans,
    /** The first span that matches, once it has arrived. */
    async span(what: string, match: (s: Received) => boolean): Promise<Received> {
      await arrived.until(() => spans.some(match), WAIT_MS, what);
      return spans.find(match)!;
    },
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}

/** An OpenAI-compatible chat-completions server that answers the two steps of process-turn. */
async function fakeModel() {
  const answers: Record<string, unknown> = {
    record_facts: { facts: ['User prefers tea'] },
    decide_memory: { decisions: [{ event: 'ADD', id: '', fact: 'User prefers tea', reason: 'a new preference' }] },
  };
  const server = createServer((req, res) => {
    let text = '';
    req.on('data', (c: Buffer) => (text += c.toString()));
    req.on('end', () => {
      const body = JSON.parse(text) as { model: string; response_format: { json_schema: { name: string } } };
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify({
          id: 'chatcmpl-1',
          model: body.model,
          choices: [{ index: 0, message: { role: 'assistant', content: JSON.stringify(answers[body.response_format.json_schema.name]) }, finish_reason: 'stop' }],
          usage: { prompt_tokens: 12, completion_tokens: 7, total_tokens: 19 },
        }),
      );
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}/v1`, close: () => (server.closeAllConnections(), server.close()) };
}

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const CALLER_SPAN = '00f067aa0ba902b7';
const TRACEPARENT = `00-${TRACE_ID}-${CALLER_SPAN}-01`;

let receiver: Awaited<ReturnType<typeof otlpReceiver>>;
let model: Awaited<ReturnType<typeof fakeModel>>;
let server: RunningServer;
let http: HttpClient;

before(async () => {
  receiver = await otlpReceiver();
  model = await fakeModel();
  server = await startServer({
    args: [
      '--search-embedder',
      'none',
      '--tracing-enabled',
      '--tracing-endpoint',
      receiver.url,
      '--tracing-service-name',
      'engram-on',
      // Spans leave at once, so the test waits on their arrival rather than on the batch timer.
      '--tracing-export-delay',
      '20ms',
      '--memory-model-provider',
      'openai',
      '--memory-model-url',
      model.url,
      '--memory-model-name',
      'test-model',
    ],
  });
  http = new HttpClient(server.url);
});

after(async () => {
  http.close();
  const code = await server.stop();
  removeDir(server.dataDir);
  model.close();
  receiver.close();
  assert.equal(code, 0);
});

test('a write is a child of the caller’s traceparent, and its fan-out to a subscriber a child of the write', async () => {
  const ws = new WsClient(`${server.url.replace('http', 'ws')}/stream?context=traced`);
  await ws.open();
  await ws.next((f) => f.event === 'subscribed');
  const r = await http.post('/workunit', unit('traced'), { traceparent: TRACEPARENT });
  assert.equal(r.status, 201, r.text);
  await ws.untilSeq('traced', 1);
  ws.close();

  const write = await receiver.span('the write span', (s) => s.name === 'engram.write' && s.attrs['engram.context.id'] === 'traced');
  assert.equal(write.service, 'engram-on');
  assert.equal(write.traceId, TRACE_ID);
  assert.equal(write.parentSpanId, CALLER_SPAN);
  assert.equal(write.attrs['engram.unit.seq'], 1);
  assert.equal(write.attrs['engram.unit.type'], 'MESSAGE');
  assert.equal(write.attrs['engram.unit.id'], r.json.id);
  assert.ok((write.attrs['engram.unit.bytes'] as number) > 0);

  const fanout = await receiver.span('the fan-out span', (s) => s.name === 'engram.fanout' && s.attrs['engram.context.id'] === 'traced');
  assert.equal(fanout.traceId, TRACE_ID);
  assert.equal(fanout.parentSpanId, write.spanId);
  assert.equal(fanout.attrs['engram.unit.seq'], 1);
  assert.equal(fanout.attrs['engram.fanout.subscribers'], 1);
  assert.equal(fanout.attrs['engram.fanout.delivered'], 1);
});

test('a write whose traceparent the caller did not sample has no span, nor has its fan-out', async () => {
  const unsampled = `00-${'1'.repeat(32)}-${CALLER_SPAN}-00`;
  assert.equal((await http.post('/workunit', unit('unsampled'), { traceparent: unsampled })).status, 201);
  // Spans leave in the order they end: once a later write's span is in, an earlier one would be too.
  assert.equal((await http.post('/workunit', unit('after-unsampled'))).status, 201);
  await receiver.span('the later write span', (s) => s.name === 'engram.write' && s.attrs['engram.context.id'] === 'after-unsampled');
  assert.deepEqual(
    receiver.spans.filter((s) => s.attrs['engram.context.id'] === 'unsampled' || s.traceId === '1'.repeat(32)),
    [],
  );
});

test('an acquire that waits has a lock-wait span with its resource and outcome', async () => {
  const first = await http.post('/locks', { resource: 'res-1', agentId: 'holder' });
  assert.equal(first.status, 200, first.text);
  const waiting = http.post('/locks', { resource: 'res-1', agentId: 'waiter', waitMs: 30_000 });
  await eventually(async () => (await http.get('/locks/res-1')).json.waiting === 1, WAIT_MS, 'the second acquire to wait');
  await http.request('DELETE', `/locks/res-1?agentId=holder&lockId=${first.json.lockId}`);
  assert.equal((await waiting).status, 200);
  const wait = await receiver.span('the lock-wait span', (s) => s.name === 'engram.lock.wait');
  assert.equal(wait.attrs['engram.lock.resources'], 'res-1');
  assert.equal(wait.attrs['engram.agent.id'], 'waiter');
  assert.equal(wait.attrs['engram.lock.outcome'], 'acquired');
  assert.equal(wait.attrs['engram.lock.wait_ms'], 30_000);
});

test('a search has a span with its query, k and hits', async () => {
  await http.post('/workunit', unit('searched', { payload: { text: 'the quick brown fox' } }));
  const r = await http.post('/search', { query: 'quick fox', limit: 5, fresh: true, mode: 'keyword' });
  assert.equal(r.status, 200, r.text);
  const span = await receiver.span('the search span', (s) => s.name === 'engram.search');
  assert.equal(span.attrs['engram.search.query'], 'quick fox');
  assert.equal(span.attrs['engram.search.k'], 5);
  assert.equal(span.attrs['engram.search.hits'], r.json.results.length);
  assert.ok(r.json.results.length >= 1);
});

test('a request has a server span, a child of its traceparent, and what it causes is its child: HTTP and gRPC; a write has its own span only', async () => {
  const r = await http.post('/search', { query: 'server span probe', limit: 3, mode: 'keyword' }, { traceparent: TRACEPARENT });
  assert.equal(r.status, 200, r.text);
  const serverSpan = await receiver.span('the HTTP server span', (s) => s.name === 'POST /search' && s.traceId === TRACE_ID);
  assert.equal(serverSpan.parentSpanId, CALLER_SPAN);
  assert.equal(serverSpan.kind, 2); // SPAN_KIND_SERVER
  assert.equal(serverSpan.attrs['http.request.method'], 'POST');
  assert.equal(serverSpan.attrs['http.route'], '/search');
  assert.equal(serverSpan.attrs['http.response.status_code'], 200);
  const search = await receiver.span('the search span under it', (s) => s.name === 'engram.search' && s.attrs['engram.search.query'] === 'server span probe');
  assert.equal(search.parentSpanId, serverSpan.spanId, 'the search ran inside the request, after its body arrived');
  assert.equal(search.traceId, TRACE_ID);
  // A refusal is the caller's fault: answered, not a failed span.
  assert.equal((await http.get('/contexts/no-such-context', { traceparent: TRACEPARENT })).status, 404);
  const missing = await receiver.span('the 404 server span', (s) => s.name === 'GET /contexts/:id' && s.traceId === TRACE_ID);
  assert.equal(missing.attrs['http.response.status_code'], 404);
  assert.notEqual(missing.status?.code, 2);

  const grpcCaller = 'a1b2c3d4e5f60718';
  const g = new EngramGrpc(server.grpcAddr!);
  const metadata = new grpc.Metadata();
  metadata.set('traceparent', `00-${TRACE_ID}-${grpcCaller}-01`);
  await g.Search({ query: 'grpc span probe', limit: 3, mode: 'SEARCH_MODE_KEYWORD' }, { metadata });
  g.client.close();
  const call = await receiver.span('the gRPC server span', (s) => s.name === 'engram.v3.EngramService/Search');
  assert.equal(call.parentSpanId, grpcCaller);
  assert.equal(call.kind, 2);
  assert.equal(call.attrs['rpc.system'], 'grpc');
  assert.equal(call.attrs['rpc.grpc.status_code'], 0);
  const grpcSearch = await receiver.span('the gRPC search span under it', (s) => s.name === 'engram.search' && s.attrs['engram.search.query'] === 'grpc span probe');
  assert.equal(grpcSearch.parentSpanId, call.spanId);
  // Spans leave in the order they end: a write's server span would have arrived by now.
  assert.deepEqual(
    receiver.spans.filter((s) => s.name === 'POST /workunit' || s.name.endsWith('/CreateWorkUnit')),
    [],
  );
});

test('memory operations have gen-AI spans; the model call and the units written are their children', async () => {
  const cmd = await http.post('/memory/notes/command?agentId=planner', { command: 'create', path: '/memories/plan.md', file_text: 'step one' });
  assert.equal(cmd.status, 200, cmd.text);
  const tool = await receiver.span('the memory-tool span', (s) => s.name === 'execute_tool memory');
  assert.equal(tool.attrs['gen_ai.operation.name'], 'execute_tool');
  assert.equal(tool.attrs['gen_ai.tool.name'], 'memory');
  assert.equal(tool.attrs['gen_ai.conversation.id'], 'memories/notes');
  assert.equal(tool.attrs['gen_ai.agent.id'], 'planner');
  assert.equal(tool.attrs['engram.memory.command'], 'create');
  const fileWrite = await receiver.span('the memory file write', (s) => s.name === 'engram.write' && s.attrs['engram.context.id'] === 'memories/notes');
  assert.equal(fileWrite.parentSpanId, tool.spanId);
  assert.equal(fileWrite.traceId, tool.traceId);

  const turn = await http.post('/memory/prefs/process-turn?agentId=assistant', { messages: [{ role: 'user', content: 'I prefer tea.' }], extractor: 'model' });
  assert.equal(turn.status, 200, turn.text);
  const op = await receiver.span('the process-turn span', (s) => s.name === 'execute_tool process_turn');
  assert.equal(op.attrs['gen_ai.conversation.id'], 'facts/prefs');
  assert.equal(op.attrs['gen_ai.agent.id'], 'assistant');
  assert.equal(op.attrs['engram.memory.extractor'], 'openai:test-model');
  const chat = await receiver.span('the model call span', (s) => s.name === 'chat test-model');
  assert.equal(chat.parentSpanId, op.spanId);
  assert.equal(chat.kind, 3); // SPAN_KIND_CLIENT
  assert.equal(chat.attrs['gen_ai.operation.name'], 'chat');
  assert.equal(chat.attrs['gen_ai.provider.name'], 'openai');
  assert.equal(chat.attrs['gen_ai.system'], 'openai');
  assert.equal(chat.attrs['gen_ai.request.model'], 'test-model');
  assert.equal(chat.attrs['gen_ai.response.model'], 'test-model');
  assert.equal(chat.attrs['gen_ai.usage.input_tokens'], 12);
  assert.equal(chat.attrs['gen_ai.usage.output_tokens'], 7);
  assert.deepEqual(chat.attrs['gen_ai.response.finish_reasons'], ['stop']);
  const factWrite = await receiver.span('the fact write', (s) => s.name === 'engram.write' && s.attrs['engram.context.id'] === 'facts/prefs');
  assert.equal(factWrite.parentSpanId, op.spanId);

  const q = await http.post('/memory/prefs/query', { query: 'tea' });
  assert.equal(q.status, 200, q.text);
  const retrieval = await receiver.span('the memory query span', (s) => s.name === 'retrieval facts/prefs');
  assert.equal(retrieval.attrs['gen_ai.operation.name'], 'retrieval');
  assert.equal(retrieval.attrs['gen_ai.data_source.id'], 'facts/prefs');
  assert.equal(retrieval.attrs['engram.memory.results'], q.json.memories.length);
});

test('with tracing off the server sends nothing', async () => {
  const off = await startServer({
    args: ['--search-embedder', 'none', '--tracing-endpoint', receiver.url, '--tracing-service-name', 'engram-off', '--tracing-export-delay', '20ms'],
  });
  const c = new HttpClient(off.url);
  try {
    assert.equal((await c.post('/workunit', unit('quiet'), { traceparent: TRACEPARENT })).status, 201);
    assert.equal((await c.post('/memory/quiet/command', { command: 'create', path: '/memories/a.md', file_text: 'x' })).status, 200);
  } finally {
    c.close();
    // A server with tracing on sends what it holds when it stops; this one has nothing to send.
    assert.equal(await off.stop(), 0);
    removeDir(off.dataDir);
  }
  assert.deepEqual(
    receiver.spans.filter((s) => s.service === 'engram-off'),
    [],
  );
});
