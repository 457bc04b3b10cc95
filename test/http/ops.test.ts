/**
 * Operations endpoints: /metrics parses as Prometheus text (with an independent parser) and
 * counts what happened, with bounded labels; /health/detailed reports storage, index catch-up,
 * memory, streams and locks.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, test } from 'node:test';
import { grpcServerPerFile, unitRequest } from '../helpers/grpc.js';
import { unit } from '../helpers/http.js';
import { eventually, WAIT_MS } from '../helpers/wait.js';
import { WsClient } from '../helpers/ws.js';

interface Family {
  name: string;
  type: string;
  metrics: Array<{ value?: string; labels?: Record<string, string>; count?: string; buckets?: Record<string, string> }>;
}
const parse = createRequire(import.meta.url)('parse-prometheus-text-format') as (text: string) => Family[];

// Debug level: the access log is on, with a line per request.
const env = grpcServerPerFile({ args: ['--log-level', 'debug'] });

async function scrape(): Promise<{ families: Map<string, Family>; text: string }> {
  const r = await env.http.get('/metrics');
  assert.equal(r.status, 200);
  assert.match(String(r.headers['content-type']), /^text\/plain; version=0\.0\.4/);
  return { families: new Map(parse(r.text).map((f) => [f.name, f])), text: r.text };
}

const value = (f: Family | undefined, labels: Record<string, string> = {}) =>
  Number(f?.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v))?.value ?? NaN);

describe('/metrics', () => {
  test('parses, counts requests, writes, fan-out, subscribers, locks and searches, and its labels carry no ids', async () => {
    const ctx = `metrics-ctx-${process.pid}`;
    const ws = new WsClient(`${env.server.url.replace('http', 'ws')}/stream?context=${ctx}`);
    await ws.open();
    await ws.next((f) => f.event === 'subscribed');
    for (let i = 0; i < 5; i++) assert.equal((await env.http.post('/workunit', unit(ctx))).status, 201);
    await env.grpc.CreateWorkUnit(unitRequest(ctx));
    await ws.untilSeq(ctx, 6);
    const lock = await env.http.post('/locks', { resource: `${ctx}-lock`, agentId: 'a', ttlMs: 60_000 });
    assert.equal(lock.status, 200);
    await env.http.get(`/workunit/no-such-unit-${process.pid}`);
    await eventually(async () => (await env.http.post('/search', { query: 'anything' })).status === 200, WAIT_MS, 'search');

    const { families: m, text } = await scrape();
    assert.ok(value(m.get('engram_requests_total'), { protocol: 'http', route: '/workunit', status: '201' }) >= 5);
    assert.ok(value(m.get('engram_requests_total'), { protocol: 'http', route: '/workunit/:id', status: '404' }) >= 1);
    assert.ok(value(m.get('engram_requests_total'), { protocol: 'grpc', route: 'CreateWorkUnit', status: 'OK' }) >= 1);
    assert.equal(m.get('engram_request_duration_seconds')?.type, 'HISTOGRAM');
    assert.ok(value(m.get('engram_units_written_total')) >= 6);
    assert.ok(value(m.get('engram_fanout_subscriptions_total')) >= 6);
    assert.ok(Number(m.get('engram_fanout_duration_seconds')?.metrics[0]?.count) >= 6);
    assert.equal(value(m.get('engram_subscriptions')), 1);
    assert.equal(value(m.get('engram_stream_connections')), 1);
    assert.equal(value(m.get('engram_locks_held')), 1);
    assert.ok(value(m.get('engram_log_position')) >= 6);
    assert.ok(value(m.get('engram_storage_bytes')) >= 0);
    // The parser keeps neither labels nor counts of labelled histograms, so this one is read from the text.
    assert.equal(m.get('engram_search_duration_seconds')?.type, 'HISTOGRAM');
    assert.match(text, /^engram_search_duration_seconds_count\{mode="hybrid",outcome="ok"\} [1-9]/m);
    assert.ok(m.has('nodejs_eventloop_lag_seconds'), 'event-loop lag');
    assert.ok(m.has('process_resident_memory_bytes'));
    assert.ok(m.has('engram_search_index_behind_units'));
    // Bounded label sets: no label value names a context, unit, lock or client.
    for (const f of m.values()) {
      for (const x of f.metrics) for (const v of Object.values(x.labels ?? {})) assert.ok(!v.includes('metrics-ctx') && !v.includes('no-such-unit'), `${f.name}: ${v}`);
    }
    ws.close();
  });
});

describe('request ids and the access log', () => {
  test("every answer has an X-Request-ID (the caller's, when sane), and the access log line names it", async () => {
    const own = await env.http.get('/contexts', { 'x-request-id': 'trace-42.a' });
    assert.equal(own.headers['x-request-id'], 'trace-42.a');
    const made = await env.http.get('/contexts/none-such', { 'x-request-id': 'bad id with spaces' });
    assert.match(String(made.headers['x-request-id']), /^[0-9a-f]{8}-[0-9a-z]+$/);
    const line = await env.server.waitForLine((r) => r.msg === 'request' && r.reqId === made.headers['x-request-id']);
    assert.equal(line.route, '/contexts/:id');
    assert.equal(line.status, 404);
    assert.equal(line.method, 'get');
  });
});

describe('/health/detailed', () => {
  test('storage, search catch-up, memory, streams, locks and clients', async () => {
    const r = await env.http.get('/health/detailed');
    assert.equal(r.status, 200);
    const h = r.json;
    assert.equal(h.status, 'ready');
    assert.equal(h.storage.open, true);
    assert.ok(h.storage.logPosition >= 6);
    assert.equal(typeof h.storage.bytes, 'number');
    assert.equal(h.search.enabled, true);
    assert.equal(typeof h.search.behind, 'number');
    assert.equal(h.search.logPosition, h.storage.logPosition);
    assert.ok(h.memory.rssMiB > 0);
    assert.equal(typeof h.eventLoop.p99Ms, 'number');
    assert.equal(typeof h.streams.subscriptions, 'number');
    assert.ok(h.locks.held >= 1);
    assert.ok(h.clients.active >= 1);
    assert.equal(h.clients.authMode, 'none');
  });
});
