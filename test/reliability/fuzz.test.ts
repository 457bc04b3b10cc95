/**
 * A seeded, bounded fuzzer against a real server: malformed HTTP requests (request lines,
 * headers, bodies), mutated work units and memory commands over HTTP, random WebSocket frames,
 * and odd gRPC messages. The server must never crash or answer 500, must answer each request
 * with a clear error (or close the connection), must store exactly the units it acknowledged,
 * and its memory must stay bounded. ENGRAM_FUZZ_COUNT (make fuzz: many more) and
 * ENGRAM_FUZZ_SEED change the run; the seed is printed.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import WebSocket from 'ws';
import { EngramGrpc, unitRequest } from '../helpers/grpc.js';
import { HttpClient, rawExchange } from '../helpers/http.js';
import { processUsage } from '../helpers/proc.js';
import { seeded } from '../helpers/seeded.js';
import { removeDir, startServer } from '../helpers/server.js';
import { WAIT_MS } from '../helpers/wait.js';
import { ERROR_CATALOG } from '../../src/basics/errors.js';

const COUNT = Number(process.env.ENGRAM_FUZZ_COUNT ?? 600);
const SEED = Number(process.env.ENGRAM_FUZZ_SEED ?? Date.now() % 1_000_000);

const NASTY_STRINGS = [
  '',
  ' ',
  '\u0000',
  'a\u0001b',
  '\uD800',
  '../../etc/passwd',
  '%2e%2e%2f',
  'x'.repeat(300),
  'x'.repeat(70_000),
  '🙂',
  '\\',
  '<script>',
  'null',
  '{}',
  '0',
  '-1',
  '1e309',
];
const NASTY_VALUES: unknown[] = [null, true, false, 0, -1, 1.5, 2 ** 53 + 1, 1e308, [], {}, [[[[[]]]]], { a: { b: { c: {} } } }, ...NASTY_STRINGS];
const TYPES = ['MESSAGE', 'REASONING', 'TOOL_CALL', 'TOOL_RESULT', 'FILE_CHANGE', 'TASK_STATUS', 'ERROR', 'SYSTEM', 'message', 'BOGUS', ''];

test(`fuzz: ${COUNT} hostile inputs over HTTP, WebSocket and gRPC`, { timeout: 600_000 }, async () => {
  const r = seeded(SEED);
  process.stdout.write(`# fuzz seed ${SEED}, ${COUNT} inputs per interface\n`);
  const server = await startServer({ args: ['--search-enabled', 'false', '--max-unit-bytes', '64KiB'] });
  const http = new HttpClient(server.url);
  const grpc = new EngramGrpc(server.grpcAddr);
  const codes = new Set(Object.keys(ERROR_CATALOG));
  let acknowledged = 0;
  let closed = 0;
  const statuses = new Map<number, number>();
  const count = (s: number) => statuses.set(s, (statuses.get(s) ?? 0) + 1);

  try {
    // Warm up, then the baseline for memory.
    for (let i = 0; i < 50; i++) await http.post('/workunit', { contextId: 'fz-warm', agentId: 'a', type: 'MESSAGE', payload: i });
    acknowledged += 50;
    const rssBefore = processUsage(server.proc.pid!).rss;

    // 1. Mutated work units and memory commands, as well-formed HTTP.
    for (let i = 0; i < COUNT; i++) {
      const base: Record<string, unknown> = { contextId: `fz-${r.int(5)}`, agentId: 'fuzzer', type: 'MESSAGE', payload: { text: `n${i}` } };
      const field = r.pick(['contextId', 'agentId', 'type', 'payload', 'meta', 'relationships', 'seq', 'id', 'fence', 'embedding', 'idempotencyKey', r.pick(NASTY_STRINGS)]);
      const mutated = { ...base, [field]: field === 'type' ? r.pick([...TYPES, ...NASTY_VALUES]) : r.pick(NASTY_VALUES) };
      if (r.next() < 0.2) delete mutated[r.pick(Object.keys(mutated))];
      const target = r.pick(['/workunit', '/workunit', '/memory/fz/command', '/facts/fz', '/graph/fz/create_entities', '/search', '/locks', '/contexts/fz-0']);
      const body =
        target === '/memory/fz/command'
          ? {
              command: r.pick(['view', 'create', 'str_replace', 'insert', 'delete', 'rename', 'nope']),
              path: r.pick(['/memories/a', ...NASTY_STRINGS]),
              file_text: r.pick(NASTY_VALUES),
              insert_line: r.pick(NASTY_VALUES),
            }
          : mutated;
      const res = target === '/contexts/fz-0' ? await http.patch(target, body) : await http.post(target, body);
      count(res.status);
      assert.notEqual(res.status, 500, `${target} ${JSON.stringify(body).slice(0, 300)} → ${res.text.slice(0, 300)}`);
      if (res.status >= 400) {
        assert.ok(codes.has(res.json?.error?.code), `a catalog code: ${res.text.slice(0, 200)}`);
        assert.doesNotMatch(res.text, /\n\s+at |node_modules|\/dist\/|\.js:\d+/, 'no stack traces or file paths');
      }
      // A retry with the same (fuzzed) idempotency key answers 201 with the first unit: not a new one.
      if (target === '/workunit' && res.status === 201 && res.headers['idempotent-replayed'] !== 'true') acknowledged++;
    }

    // 2. Malformed HTTP: request lines, headers, bodies that lie about their length.
    const raws: Array<() => Array<string | Buffer>> = [
      () => ['GARBAGE\r\n\r\n'],
      () => [`POST /workunit HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${r.int(100)}\r\n\r\n{"contextId":`],
      () => [`POST /workunit HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5\r\n\r\n{"a":1,"b":2}`],
      () => [`GET /${'a'.repeat(r.int(20_000))} HTTP/1.1\r\nHost: x\r\n\r\n`],
      () => [`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(r.int(40_000))}\r\n\r\n`],
      () => [`POST /workunit HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n`],
      () => [Buffer.from(Array.from({ length: 64 }, () => r.int(256)))],
      () => [
        `POST /workunit HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 12\r\n\r\n`,
        Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d, 0x20, 0x20, 0x20, 0x20]),
      ],
      () => [`PATCH /contexts/%ZZ HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n`],
      () => [`GET /workunits/fz-0?limit=${r.pick(['-1', 'abc', '1e9', '', '%00'])}&after=${r.pick(['x', '-5', '99999999999999999999'])} HTTP/1.1\r\nHost: x\r\n\r\n`],
    ];
    // Eight connections at a time, each done at its answer or its close. Some rightly leave the
    // server waiting for more (a body that never comes): those are given up after 300 ms.
    const rawInputs = Array.from({ length: Math.ceil(COUNT / 4) }, () => ({ pieces: r.pick(raws)(), endAfterSend: r.next() < 0.5 }));
    for (let i = 0; i < rawInputs.length; i += 8) {
      const replies = await Promise.all(
        rawInputs.slice(i, i + 8).map((x) => rawExchange(server.port, x.pieces, { giveUpMs: 300, endAfterSend: x.endAfterSend, untilResponse: true })),
      );
      for (const reply of replies) {
        const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(reply)?.[1] ?? 0);
        if (status === 0) closed++;
        else count(status);
        assert.ok(status < 500 || status === 503, `raw request answered ${reply.slice(0, 200)}`);
      }
    }

    // 3. Random WebSocket frames on one connection, then it must still answer a ping.
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/stream`);
    await new Promise((ok, fail) => (ws.once('open', ok), ws.once('error', fail)));
    const frames: Array<Record<string, unknown>> = [];
    ws.on('message', (d) => frames.push(JSON.parse(String(d)) as Record<string, unknown>));
    for (let i = 0; i < COUNT; i++) {
      const kind = r.int(4);
      if (kind === 0) ws.send(Buffer.from(Array.from({ length: r.int(200) }, () => r.int(256))));
      else if (kind === 1) ws.send(r.pick(NASTY_STRINGS).slice(0, 1000));
      else
        ws.send(
          JSON.stringify({
            op: r.pick(['subscribe', 'unsubscribe', 'publish', 'ping', 'subscribeLocks', 'nope', ...NASTY_VALUES]),
            ref: r.pick(NASTY_VALUES),
            contextId: r.pick([...NASTY_VALUES, 'fz-ws']),
            since: r.pick(NASTY_VALUES),
            agentId: r.pick(NASTY_VALUES),
            type: r.pick(TYPES),
            payload: r.pick(NASTY_VALUES),
          }).slice(0, 60_000),
        );
    }
    ws.send(JSON.stringify({ op: 'ping', ref: 'last' }));
    const deadline = Date.now() + WAIT_MS;
    while (!frames.some((f) => f.event === 'pong' && f.ref === 'last') && ws.readyState === WebSocket.OPEN && Date.now() < deadline) await new Promise((ok) => setTimeout(ok, 20));
    if (ws.readyState === WebSocket.OPEN)
      assert.ok(
        frames.some((f) => f.event === 'pong' && f.ref === 'last'),
        'the connection still answers',
      );
    acknowledged += frames.filter((f) => f.event === 'ack' && f.replayed === false).length;
    for (const f of frames.filter((x) => x.event === 'error')) assert.ok(codes.has((f.error as { code: string }).code));
    ws.close();

    // 4. Odd gRPC messages: typed, so the oddities are in values.
    for (let i = 0; i < Math.ceil(COUNT / 4); i++) {
      const req = unitRequest(r.pick(['fz-g', '', 'x'.repeat(300), '\u0001', '🙂']), {
        agentId: r.pick(['', 'a', '\u0000', 'x'.repeat(300)]),
        type: r.pick(['WORK_UNIT_TYPE_MESSAGE', 'WORK_UNIT_TYPE_UNSPECIFIED', 'WORK_UNIT_TYPE_SYSTEM']),
      });
      try {
        await grpc.CreateWorkUnit(req);
        acknowledged++;
      } catch (err) {
        const code = (err as { code?: number }).code;
        assert.ok(code !== 13, `gRPC INTERNAL for ${JSON.stringify(req).slice(0, 200)}`);
      }
    }

    // Alive, and it stored exactly the units it acknowledged.
    assert.equal((await http.get('/healthz')).status, 200);
    let stored = 0;
    for (let after = ''; ;) {
      const page = (await http.get(`/contexts?limit=1000${after ? `&after=${encodeURIComponent(after)}` : ''}`)).json;
      for (const c of page.contexts as Array<{ id: string; headSeq: number }>)
        if (!c.id.startsWith('memories/') && !c.id.startsWith('facts/') && !c.id.startsWith('graph/')) stored += c.headSeq;
      if (page.nextCursor === null) break;
      after = page.nextCursor;
    }
    assert.equal(stored, acknowledged, 'units stored = units acknowledged');
    const rssAfter = processUsage(server.proc.pid!).rss;
    assert.ok(rssAfter - rssBefore < 256 * 1024 * 1024, `memory grew by ${Math.round((rssAfter - rssBefore) / 1048576)} MiB`);
    process.stdout.write(
      `# fuzz: ${COUNT * 2 + Math.ceil(COUNT / 2)} inputs; statuses ${JSON.stringify(Object.fromEntries(statuses))}; ${closed} raw connections ended without an answer (closed by the server, or left waiting for a body that never came); ${acknowledged} units acknowledged and stored; RSS ${Math.round(rssBefore / 1048576)} → ${Math.round(rssAfter / 1048576)} MiB\n`,
    );
  } finally {
    grpc.close();
    http.close();
    assert.equal(await server.stop(), 0, 'the server exits cleanly after the fuzzing');
    removeDir(server.dataDir);
  }
});
