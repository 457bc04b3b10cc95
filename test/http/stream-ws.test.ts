/** WebSocket streams over loopback with a real WebSocket client (the `ws` package). */
import assert from 'node:assert/strict';
import { pack, unpack } from 'msgpackr';
import net from 'node:net';
import { describe, test } from 'node:test';
import { unit } from '../helpers/http.js';
import { removeDir, serverPerFile, startServer } from '../helpers/server.js';
import { WAIT_MS, withTimeout } from '../helpers/wait.js';
import { range, WsClient } from '../helpers/ws.js';

const env = serverPerFile({ args: ['--stream-heartbeat', '1s'] });
const wsUrl = (query = '') => `${env.server.url.replace('http', 'ws')}/stream${query}`;

async function connect(query = '', protocols?: string[]): Promise<WsClient> {
  const c = new WsClient(wsUrl(query), protocols);
  await c.open();
  return c;
}

async function post(contextId: string, extra: Record<string, unknown> = {}): Promise<{ id: string; seq: number }> {
  const r = await env.http.post('/workunit', unit(contextId, extra));
  assert.equal(r.status, 201, r.text);
  return r.json;
}

describe('subscribing', () => {
  test('one connection follows several contexts, each in order, and nothing else', async () => {
    const c = await connect('?context=multi-a&context=multi-b');
    await c.until(() => c.frames.filter((f) => f.event === 'subscribed').length === 2);
    for (let i = 0; i < 20; i++) {
      await post('multi-a', { payload: i });
      await post('multi-b', { payload: i });
      await post('multi-other', { payload: i });
    }
    await c.untilSeq('multi-a', 20);
    await c.untilSeq('multi-b', 20);
    assert.deepEqual(c.seqs('multi-a'), range(1, 20));
    assert.deepEqual(c.seqs('multi-b'), range(1, 20));
    assert.deepEqual(c.seqs('multi-other'), []);
    const first = c.frames.find((f) => f.event === 'workunit')!;
    assert.deepEqual(first.workUnit, (await env.http.get(`/workunit/${first.workUnit.id}`)).json);
    c.close();
  });

  test('subscribe and unsubscribe by message; the subscribed frame carries the head seq and the ref', async () => {
    for (let i = 0; i < 3; i++) await post('by-message');
    const c = await connect();
    c.send({ op: 'subscribe', contextId: 'by-message', ref: 's1' });
    const subscribed = await c.next((f) => f.event === 'subscribed');
    assert.deepEqual(subscribed, { event: 'subscribed', ref: 's1', contextId: 'by-message', headSeq: 3, epoch: subscribed.epoch });
    assert.match(subscribed.epoch, /^[0-9a-f]{12}$/);
    await post('by-message');
    await c.untilSeq('by-message', 4);
    assert.deepEqual(c.seqs('by-message'), [4], 'without since, only new units');
    c.send({ op: 'unsubscribe', contextId: 'by-message', ref: 'u1' });
    await c.next((f) => f.event === 'unsubscribed' && f.ref === 'u1');
    await post('by-message');
    c.send({ op: 'ping', ref: 'after' });
    await c.next((f) => f.event === 'pong' && f.ref === 'after');
    assert.deepEqual(c.seqs('by-message'), [4], 'nothing after unsubscribing');
    c.close();
  });

  test('context changes arrive as context frames', async () => {
    await post('ctx-events');
    const c = await connect('?context=ctx-events');
    await c.next((f) => f.event === 'subscribed');
    await env.http.patch('/contexts/ctx-events', { displayName: 'Renamed' });
    const frame = await c.next((f) => f.event === 'context' && f.context.displayName === 'Renamed');
    assert.equal(frame.context.id, 'ctx-events');
    c.close();
  });

  test('heartbeat frames arrive on an idle connection', async () => {
    const c = await connect();
    await c.next((f) => f.event === 'heartbeat');
    c.close();
  });
});

describe('publishing over the stream', () => {
  test('publish is acknowledged with the stored id and seq; the unit is readable over HTTP', async () => {
    const c = await connect('?context=ws-pub');
    c.send({ op: 'publish', ref: 'p1', contextId: 'ws-pub', agentId: 'streamer', type: 'TOOL_CALL', payload: { tool: 'grep' }, meta: { k: 'v' } });
    const ack = await c.next((f) => f.event === 'ack');
    assert.deepEqual(Object.keys(ack).sort(), ['contextId', 'event', 'id', 'ref', 'replayed', 'seq']);
    assert.deepEqual([ack.ref, ack.seq, ack.contextId, ack.replayed], ['p1', 1, 'ws-pub', false]);
    const stored = await env.http.get(`/workunit/${ack.id}`);
    assert.deepEqual([stored.json.agentId, stored.json.type, stored.json.payload, stored.json.meta], ['streamer', 'TOOL_CALL', { tool: 'grep' }, { k: 'v' }]);
    await c.untilSeq('ws-pub', 1);
    c.send({ op: 'publish', ref: 'p2', contextId: 'ws-pub', agentId: 'streamer', type: 'MESSAGE', payload: 1, idempotencyKey: 'k' });
    c.send({ op: 'publish', ref: 'p3', contextId: 'ws-pub', agentId: 'streamer', type: 'MESSAGE', payload: 1, idempotencyKey: 'k' });
    const [a2, a3] = [await c.next((f) => f.ref === 'p2'), await c.next((f) => f.ref === 'p3')];
    assert.equal(a2.id, a3.id);
    assert.equal(a3.replayed, true);
    c.close();
  });

  test('a bad unit gets an error frame with the same code as over HTTP, and nothing is stored', async () => {
    const c = await connect();
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ contextId: 'ws-bad', agentId: 'a', type: 'NOPE', payload: 1 }, 'INVALID_FIELD'],
      [{ contextId: '', agentId: 'a', type: 'MESSAGE', payload: 1 }, 'INVALID_ID'],
      [{ contextId: 'ws-bad', type: 'MESSAGE', payload: 1 }, 'MISSING_FIELD'],
      [{ contextId: 'ws-bad', agentId: 'a', type: 'MESSAGE', payload: 1, seq: 3 }, 'UNKNOWN_FIELD'],
    ];
    for (const [i, [fields, code]] of cases.entries()) {
      const http = await env.http.post('/workunit', fields);
      assert.equal(http.json.error.code, code);
      c.send({ op: 'publish', ref: i, ...fields });
      const frame = await c.next((f) => f.event === 'error' && f.ref === i);
      assert.equal(frame.error.code, code);
    }
    assert.equal((await env.http.get('/contexts/ws-bad')).status, 404);
    c.close();
  });
});

describe('resume', () => {
  test('since=N while 10 writers append: every unit after N, once, in seq order, then live', async () => {
    for (let i = 0; i < 200; i++) await post('resume');
    const writers = Promise.all(
      range(1, 10).map(async (w) => {
        for (let i = 0; i < 30; i++) await post('resume', { agentId: `w${w}` });
      }),
    );
    const c = await connect('?context=resume&since=41');
    await writers;
    await c.untilSeq('resume', 500);
    assert.deepEqual(c.seqs('resume'), range(42, 500));
    await post('resume');
    await c.untilSeq('resume', 501);
    assert.deepEqual(c.seqs('resume').slice(-2), [500, 501]);
    c.close();
  });

  test('resuming by message with since, from far back (read from LevelDB, not the memory tail)', async () => {
    for (let i = 0; i < 700; i++) await post('resume-far');
    const c = await connect();
    c.send({ op: 'subscribe', contextId: 'resume-far', since: 3 });
    await c.untilSeq('resume-far', 700);
    assert.deepEqual(c.seqs('resume-far'), range(4, 700));
    c.close();
  });

  test('since beyond the head is refused with an error frame', async () => {
    await post('ahead');
    const atConnect = await connect('?context=ahead&since=99');
    const err1 = await atConnect.next((f) => f.event === 'error');
    assert.equal(err1.error.code, 'INVALID_QUERY');
    const c = await connect();
    c.send({ op: 'subscribe', contextId: 'ahead', since: 99, ref: 'x' });
    const err = await c.next((f) => f.event === 'error' && f.ref === 'x');
    assert.equal(err.error.code, 'INVALID_QUERY');
    atConnect.close();
    c.close();
  });
});

describe('MessagePack frames', () => {
  test('format=msgpack and the engram.msgpack subprotocol give binary frames that decode to the same units', async () => {
    const json = await connect('?context=mp');
    const byQuery = await connect('?context=mp&format=msgpack');
    const byProtocol = await connect('?context=mp', ['engram.msgpack']);
    assert.equal(byProtocol.ws.protocol, 'engram.msgpack');
    for (const c of [json, byQuery, byProtocol]) await c.next((f) => f.event === 'subscribed');
    for (let i = 0; i < 5; i++) await post('mp', { payload: { i, nested: [1.5, 'two', null, { deep: true }] } });
    for (const c of [json, byQuery, byProtocol]) await c.untilSeq('mp', 5);
    const units = (c: WsClient) => c.frames.filter((f) => f.event === 'workunit').map((f) => f.workUnit);
    assert.deepEqual(units(byQuery), units(json));
    assert.deepEqual(units(byProtocol), units(json));
    assert.ok(byQuery.raw.every((m) => m.binary));
    assert.ok(json.raw.every((m) => !m.binary));
    // A msgpack client may publish in MessagePack too.
    byQuery.ws.send(pack({ op: 'publish', ref: 'm1', contextId: 'mp', agentId: 'bin', type: 'MESSAGE', payload: 'packed' }));
    const ack = await byQuery.next((f) => f.event === 'ack' && f.ref === 'm1');
    assert.equal(ack.seq, 6);
    assert.equal(unpack(byQuery.raw.find((m) => (unpack(m.data) as { event: string }).event === 'ack')!.data).ref, 'm1');
    for (const c of [json, byQuery, byProtocol]) c.close();
  });
});

describe('malformed client frames', () => {
  test('each gets an error frame and the connection carries on', async () => {
    const c = await connect();
    const bad: Array<[string | Buffer, string]> = [
      ['not json', 'MALFORMED_JSON'],
      ['[1,2]', 'INVALID_FIELD'],
      ['{"op":"teleport"}', 'INVALID_FIELD'],
      ['{"noop":1}', 'INVALID_FIELD'],
      ['{"op":"subscribe"}', 'MISSING_FIELD'],
      ['{"op":"subscribe","contextId":"x","since":-1}', 'INVALID_FIELD'],
      ['{"op":"subscribe","contextId":"a\\u0000b"}', 'INVALID_ID'],
      ['{"op":"ping","extra":1}', 'UNKNOWN_FIELD'],
      ['{"op":"ping","ref":{"obj":1}}', 'INVALID_FIELD'],
      [Buffer.from([0xc1, 0xff, 0x00]), 'MALFORMED_JSON'],
      [Buffer.from([0xff, 0xfe]).toString('latin1'), 'MALFORMED_JSON'],
    ];
    for (const [message, code] of bad) {
      const before = c.frames.length;
      c.ws.send(message);
      await c.until(() => c.frames.length > before);
      const frame = c.frames[before]!;
      assert.equal(frame.event, 'error', String(message));
      assert.equal(frame.error.code, code, `${String(message)}: ${frame.error.message}`);
    }
    c.send({ op: 'ping', ref: 'alive' });
    await c.next((f) => f.event === 'pong' && f.ref === 'alive');
    assert.equal(c.closed, undefined);
    c.close();
  });

  test('a bad stream URL is refused before the upgrade with a JSON error', async () => {
    for (const [query, code] of [
      ['?context=', 'INVALID_ID'],
      ['?context=a&since=x', 'INVALID_QUERY'],
      ['?format=xml', 'INVALID_QUERY'],
      ['?context=a&context=a', 'INVALID_QUERY'],
    ]) {
      const c = new WsClient(wsUrl(query!));
      await assert.rejects(c.open(), /upgrade refused: 400/, `${query} → ${code}`);
    }
  });
});

describe('shutdown', () => {
  test('SIGTERM closes streams with code 4000 (reconnect and resume) and the server exits 0', async () => {
    const server = await startServer();
    const c = new WsClient(`${server.url.replace('http', 'ws')}/stream?context=bye`);
    await c.open();
    await c.next((f) => f.event === 'subscribed');
    const exit = server.stop('SIGTERM');
    const closed = await c.untilClosed();
    assert.equal(closed.code, 4000);
    assert.deepEqual(JSON.parse(closed.reason), { code: 'GOING_AWAY' });
    assert.equal(await exit, 0);
    removeDir(server.dataDir);
  });
});

describe('dead connections', () => {
  test('a client that never answers pings is closed after the idle timeout; one that does stays', async () => {
    // uWebSockets.js pings a quiet connection and closes it if no pong follows: at 12 s it pings
    // after ~6 s and waits ~6 s, a wide margin for the one that answers (the ws client pongs as soon
    // as its event loop reads the ping; the minimum, 8 s, would leave ~4 s on a busy machine).
    const server = await startServer({ args: ['--stream-idle-timeout', '12s', '--stream-heartbeat', '1s'] });
    const live = new WsClient(`${server.url.replace('http', 'ws')}/stream?context=idle`); // answers pings
    await live.open();
    const dead = net.connect(server.port, '127.0.0.1');
    const deadClosed = new Promise<void>((resolve) => dead.on('close', () => resolve()));
    dead.on('error', () => undefined);
    dead.on('data', () => undefined); // reads, but never writes a pong
    dead.write(
      'GET /stream?context=idle HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ZW5ncmFtLXRlc3Qta2V5IQ==\r\n\r\n',
    );
    await withTimeout(deadClosed, WAIT_MS, 'the server to close the silent connection');
    assert.equal(live.closed, undefined, 'the connection that answers pings is still open');
    live.send({ op: 'ping', ref: 'still-here' });
    await live.next((f) => f.event === 'pong' && f.ref === 'still-here');
    live.close();
    assert.equal(await server.stop(), 0);
    removeDir(server.dataDir);
  });
});
