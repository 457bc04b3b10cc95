/**
 * Hostile and malformed requests: each gets a clear 4xx with a stable code, nothing
 * is stored, and the server keeps serving.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { HttpClient, rawExchange, unit } from '../helpers/http.js';
import { removeDir, startServer, type RunningServer } from '../helpers/server.js';

const LIMIT = 4096;
const CTX = 'bad-input';
let server: RunningServer;
let http: HttpClient;

before(async () => {
  server = await startServer({ args: ['--max-unit-bytes', String(LIMIT)] });
  http = new HttpClient(server.url);
});
after(async () => {
  // Nothing any test below sent was stored, and the server is still healthy.
  assert.equal((await http.get(`/contexts/${CTX}`)).status, 404);
  assert.equal((await http.get('/healthz')).status, 200);
  http.close();
  assert.equal(await server.stop(), 0);
  removeDir(server.dataDir);
});

async function expectError(p: Promise<{ status: number; json: { error?: { code: string; message: string } } }>, status: number, code: string, message?: RegExp): Promise<void> {
  const r = await p;
  assert.equal(r.status, status, JSON.stringify(r.json));
  assert.equal(r.json.error?.code, code);
  assert.equal(typeof r.json.error?.message, 'string');
  if (message) assert.match(r.json.error!.message, message);
}

function rawPost(body: string | Buffer, contentType = 'application/json') {
  return http.request('POST', '/workunit', { raw: body, headers: { 'content-type': contentType } });
}

describe('malformed bodies', () => {
  test('malformed JSON, empty bodies and invalid UTF-8 are 400 MALFORMED_JSON', async () => {
    await expectError(rawPost('{"contextId":'), 400, 'MALFORMED_JSON', /not valid JSON/);
    await expectError(rawPost('{"a":1}{'), 400, 'MALFORMED_JSON');
    await expectError(rawPost(''), 400, 'MALFORMED_JSON', /empty/);
    await expectError(rawPost(Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d])), 400, 'MALFORMED_JSON', /UTF-8/);
  });

  test('JSON that is not an object is 400', async () => {
    for (const body of ['[]', '"text"', '42', 'null']) await expectError(rawPost(body), 400, 'INVALID_FIELD');
  });

  test('wrong Content-Type is 415, also when missing', async () => {
    await expectError(rawPost(JSON.stringify(unit(CTX)), 'text/plain'), 415, 'UNSUPPORTED_MEDIA_TYPE');
    await expectError(http.request('POST', '/workunit', { raw: JSON.stringify(unit(CTX)) }), 415, 'UNSUPPORTED_MEDIA_TYPE', /none/);
    await expectError(rawPost(JSON.stringify(unit(CTX)), 'application/jsonx'), 415, 'UNSUPPORTED_MEDIA_TYPE');
  });
});

describe('invalid fields', () => {
  const cases: Array<[string, Record<string, unknown>, string, RegExp]> = [
    ['wrong type of agentId', { agentId: 5 }, 'INVALID_ID', /agentId/],
    ['unknown type', { type: 'CHAT' }, 'INVALID_FIELD', /type: must be one of/],
    ['unknown relationship type', { relationships: [{ targetId: 'x', type: 'LOVES' }] }, 'INVALID_FIELD', /relationships\[0\]\.type/],
    ['meta not a string map', { meta: { n: 1 } }, 'INVALID_FIELD', /meta\.n/],
    ['empty contextId', { contextId: '' }, 'INVALID_ID', /contextId: must not be empty/],
    ['over-long contextId', { contextId: 'x'.repeat(257) }, 'INVALID_ID', /longer than 256/],
    ['contextId with a newline', { contextId: 'a\nb' }, 'INVALID_ID', /control/],
    ['contextId with NUL', { contextId: 'a\u0000b' }, 'INVALID_ID', /control/],
    ['agentId with an escape character', { agentId: '\u001b[31m' }, 'INVALID_ID', /control/],
    ['a server-assigned seq', { seq: 7 }, 'UNKNOWN_FIELD', /assigned by the server/],
    ['an unknown field', { colour: 'red' }, 'UNKNOWN_FIELD', /colour/],
    ['a payload nested too deep', { payload: JSON.parse('['.repeat(100) + ']'.repeat(100)) }, 'INVALID_FIELD', /nested deeper/],
  ];
  for (const [name, override, code, message] of cases) {
    test(`${name} is 400 ${code}`, async () => {
      await expectError(http.post('/workunit', { ...unit(CTX), ...override }), 400, code, message);
    });
  }

  test('missing required fields are 400 MISSING_FIELD', async () => {
    for (const field of ['contextId', 'agentId', 'type', 'payload']) {
      const body = unit(CTX);
      delete body[field];
      await expectError(http.post('/workunit', body), 400, 'MISSING_FIELD', new RegExp(field));
    }
  });

  test('a lone surrogate escaped in JSON is refused in ids', async () => {
    await expectError(rawPost('{"contextId":"a\\ud800","agentId":"a","type":"MESSAGE","payload":1}'), 400, 'INVALID_ID', /well-formed/);
  });

  test('a huge number (1e400) is refused rather than stored as null', async () => {
    await expectError(rawPost(`{"contextId":"${CTX}","agentId":"a","type":"MESSAGE","payload":1e400}`), 400, 'INVALID_FIELD', /finite/);
  });
});

describe('sizes', () => {
  test('a body over the configured limit is 413, by Content-Length and when streamed chunked', async () => {
    const big = { ...unit(CTX), payload: 'x'.repeat(LIMIT) };
    await expectError(http.post('/workunit', big), 413, 'PAYLOAD_TOO_LARGE', /4096 bytes/);
    const head = `POST /workunit HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`;
    const chunk = `1000\r\n${'x'.repeat(0x1000)}\r\n`;
    const response = await rawExchange(server.port, [head, chunk, chunk, '0\r\n\r\n']);
    assert.match(response, /^HTTP\/1\.1 413 /);
    assert.match(response, /PAYLOAD_TOO_LARGE/);
  });

  test('a body just under the limit is accepted', async () => {
    const body = { ...unit('size-ok'), payload: 'x'.repeat(LIMIT - 200) };
    assert.equal((await http.post('/workunit', body)).status, 201);
  });
});

describe('queries and paths', () => {
  before(async () => {
    await http.post('/workunit', unit('query-target'));
  });
  for (const q of ['limit=-1', 'limit=abc', 'limit=', 'limit=1001', 'limit=0', 'limit=1.5', 'after=-3', 'before=x', 'reverse=maybe', 'limit=99999999999999999999']) {
    test(`?${q} is 400 INVALID_QUERY`, async () => {
      await expectError(http.get(`/workunits/query-target?${q}`), 400, 'INVALID_QUERY');
    });
  }
  test('bad percent-encoding and empty ids in paths are 400 INVALID_ID', async () => {
    await expectError(http.get('/workunits/%E0%A4%A'), 400, 'INVALID_ID', /percent-encoding/);
    await expectError(http.get('/workunit/'), 400, 'INVALID_ID');
    await expectError(http.get(`/workunits/${encodeURIComponent('a\u0001')}`), 400, 'INVALID_ID');
  });
  test('unknown routes are 404 and wrong methods 405 with Allow', async () => {
    await expectError(http.get('/nothing/here'), 404, 'NOT_FOUND');
    const r = await http.request('DELETE', '/workunit/abc');
    assert.equal(r.status, 405);
    assert.equal(r.headers.allow, 'GET');
    assert.equal(r.json.error.code, 'METHOD_NOT_ALLOWED');
  });
});

describe('connections', () => {
  test('a valid body sent a few bytes at a time is accepted', async () => {
    const body = JSON.stringify(unit('trickle', { payload: 'arrived in pieces' }));
    const head = `POST /workunit HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`;
    const pieces = [head.slice(0, 7), head.slice(7)];
    for (let i = 0; i < body.length; i += 3) pieces.push(body.slice(i, i + 3));
    const response = await rawExchange(server.port, pieces);
    assert.match(response, /^HTTP\/1\.1 201 /);
    const listed = await http.get('/workunits/trickle');
    assert.equal(listed.json.workUnits[0].payload, 'arrived in pieces');
  });

  test('a valid body in many chunked-encoding chunks is accepted', async () => {
    const body = JSON.stringify(unit('chunked', { payload: 'chunk by chunk' }));
    const pieces = [`POST /workunit HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`];
    for (let i = 0; i < body.length; i += 5) {
      const part = body.slice(i, i + 5);
      pieces.push(`${Buffer.byteLength(part).toString(16)}\r\n${part}\r\n`);
    }
    pieces.push('0\r\n\r\n');
    assert.match(await rawExchange(server.port, pieces), /^HTTP\/1\.1 201 /);
  });

  test('a client that disconnects mid-body stores nothing and the server carries on', async () => {
    const body = JSON.stringify(unit(CTX, { payload: 'never finished' }));
    const head = `POST /workunit HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`;
    for (let i = 0; i < 20; i++) {
      const response = await rawExchange(server.port, [head, body.slice(0, body.length - 10)], { endAfterSend: true });
      assert.equal(response, '');
    }
    assert.equal((await http.get('/healthz')).status, 200);
  });

  test('garbage that is not HTTP at all does not hurt the server', async () => {
    await rawExchange(server.port, ['\u0000\u0001\u0002 NOT HTTP \r\n\r\n'.repeat(50)], { endAfterSend: true });
    await rawExchange(server.port, [`GET /${'a'.repeat(100_000)} HTTP/1.1\r\nHost: t\r\n\r\n`], { endAfterSend: true });
    assert.equal((await http.get('/healthz')).status, 200);
  });
});
