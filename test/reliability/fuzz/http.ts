/** HTTP inputs: mutated bodies on well-formed requests (kept-alive client), and malformed requests on raw sockets. */
import {
  unitKey,
  judgeHttp,
  NASTY_STRINGS,
  NASTY_VALUES,
  randomBytes,
  rawSession,
  TYPES,
  bounded,
  wholeResponse,
  write,
  type FuzzTarget,
  type Outcome,
  type Rng,
} from './common.js';

const WRITE_TARGETS = ['/workunit', '/workunit', '/memory/fz/command', '/facts/fz', '/graph/fz/create_entities', '/search', '/locks', '/contexts/fz-0'];
const READS = [
  () => '/workunits/fz-0',
  () => '/contexts',
  () => '/contexts/fz-1',
  () => '/contexts/fz-1/window',
  () => '/search',
  () => '/locks/fz',
  () => '/presence/fz-0',
  () => '/facts/fz',
  () => '/memory/fz',
];
const QUERY_VALUES = ['-1', 'abc', '1e9', '', '%00', '%ZZ', '99999999999999999999', 'true', '0', 'x'.repeat(500), '%C0%AF', '%FF'];
const QUERY_KEYS = ['limit', 'after', 'before', 'since', 'q', 'query', 'budget', 'mode', 'reverse', 'summaries', 'prefix', 'space', 'format'];

/** A mutated work unit or command, sent as well-formed JSON by the kept-alive client. */
export async function typedHttp(r: Rng, t: FuzzTarget, i: number): Promise<Outcome> {
  if (r.next() < 0.25) {
    const query = Array.from({ length: 1 + r.int(3) }, () => `${r.pick(QUERY_KEYS)}=${r.pick(QUERY_VALUES)}`).join('&');
    const path = `${r.pick(READS)()}?${query}`;
    const res = await bounded(t.http.get(path));
    if (res === 'timeout') return { answer: 'timeout', timedOut: true };
    return { answer: String(res.status), failure: judgeHttp(t, res.status, res.text, `GET ${path}`) };
  }
  const base: Record<string, unknown> = { contextId: `fz-${r.int(5)}`, agentId: 'fuzzer', type: 'MESSAGE', payload: { text: `n${i}` } };
  const field = r.pick(['contextId', 'agentId', 'type', 'payload', 'meta', 'relationships', 'seq', 'id', 'fence', 'embedding', 'idempotencyKey', r.pick(NASTY_STRINGS)]);
  const mutated = { ...base, [field]: field === 'type' ? r.pick([...TYPES, ...NASTY_VALUES]) : r.pick(NASTY_VALUES) };
  if (r.next() < 0.2) delete mutated[r.pick(Object.keys(mutated))];
  const target = r.pick(WRITE_TARGETS);
  const body =
    target === '/memory/fz/command'
      ? {
          command: r.pick(['view', 'create', 'str_replace', 'insert', 'delete', 'rename', 'nope']),
          path: r.pick(['/memories/a', ...NASTY_STRINGS]),
          file_text: r.pick(NASTY_VALUES),
          insert_line: r.pick(NASTY_VALUES),
        }
      : mutated;
  const res = await bounded(target === '/contexts/fz-0' ? t.http.patch(target, body) : t.http.post(target, body));
  if (res === 'timeout') return { answer: 'timeout', timedOut: true };
  // A retry with the same (fuzzed) idempotency key answers 201 with the first unit: not a new one.
  const acked = target === '/workunit' && res.status === 201 && res.headers['idempotent-replayed'] !== 'true' ? unitKey(res.json) : [];
  return { answer: String(res.status), acked, failure: judgeHttp(t, res.status, res.text, `${target} ${JSON.stringify(body).slice(0, 200)}`) };
}

const H = 'Host: x\r\n';
const JSON_CT = 'Content-Type: application/json\r\n';
const BODIES = ['{"contextId":', '{"a":1,"b":2}', '[]', 'null', '{"contextId":"fz-r","agentId":"a","type":"NOPE","payload":1}', '{"command":"view","path":"/memories"}'];

/**
 * Malformed requests. `complete`: the server has all it needs to answer; otherwise it waits for
 * more, so the client ends its side (half-close) and the server closes at once. (uWS neither
 * answers nor closes on a request line or header it cannot parse, such as `GET\r\n\r\n` or a
 * NUL in a header: it waits for its 10 s idle timeout; on a half-close it closes at once,
 * answering only what it answers synchronously.)
 */
function malformed(r: Rng): { pieces: Array<string | Buffer>; complete: boolean } {
  const body = r.pick(BODIES);
  const path = r.pick(['/workunit', '/memory/fz/command', '/locks', '/search', '/facts/fz', '/mcp', '/contexts/fz-0']);
  switch (r.int(16)) {
    case 0:
      return {
        pieces: [
          r.pick(['GARBAGE\r\n\r\n', 'GET\r\n\r\n', 'GET / HTTP/9.9\r\n\r\n', ' / HTTP/1.1\r\n\r\n', 'GET /\u0000 HTTP/1.1\r\n\r\n', 'GET  /  HTTP/1.1\r\nHost: x\r\n\r\n']),
        ],
        complete: false,
      };
    case 1: // Content-Length larger than the body: the server waits for the rest.
      return { pieces: [`POST ${path} HTTP/1.1\r\n${H}${JSON_CT}Content-Length: ${body.length + 1 + r.int(100)}\r\n\r\n${body}`], complete: false };
    case 2: // Content-Length smaller than the body: the rest is a second (garbage) request.
      return { pieces: [`POST ${path} HTTP/1.1\r\n${H}${JSON_CT}Content-Length: ${r.int(body.length)}\r\n\r\n${body}`], complete: true };
    case 3:
      return { pieces: [`GET /${'a'.repeat(r.int(20_000))} HTTP/1.1\r\n${H}\r\n`], complete: true };
    case 4:
      return { pieces: [`GET /healthz HTTP/1.1\r\n${H}X-Big: ${'b'.repeat(r.int(40_000))}\r\n\r\n`], complete: true };
    case 5: // Bad chunking.
      return {
        pieces: [
          `POST ${path} HTTP/1.1\r\n${H}${JSON_CT}Transfer-Encoding: chunked\r\n\r\n${r.pick(['zz\r\n', '5\r\n{"a":1}\r\n0\r\n\r\n', 'ffffffffffffffff\r\nx\r\n', '-1\r\n\r\n', '3;ext=1\r\n[1]\r\n0\r\n\r\n', '2\r\n{}'])}`,
        ],
        complete: false,
      };
    case 6:
      return { pieces: [randomBytes(r, 1 + r.int(128))], complete: false };
    case 7: // Invalid UTF-8 in a JSON body.
      return {
        pieces: [`POST ${path} HTTP/1.1\r\n${H}${JSON_CT}Content-Length: 12\r\n\r\n`, Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d, 0x20, 0xc0, 0xaf, 0x20])],
        complete: true,
      };
    case 8:
      return { pieces: [`PATCH /contexts/%ZZ HTTP/1.1\r\n${H}Content-Length: 0\r\n\r\n`], complete: true };
    case 9:
      return { pieces: [`GET /workunits/fz-0?limit=${r.pick(QUERY_VALUES)}&after=${r.pick(QUERY_VALUES)} HTTP/1.1\r\n${H}\r\n`], complete: true };
    case 10: // Both Content-Length and chunked; duplicate lengths.
      return {
        pieces: [`POST ${path} HTTP/1.1\r\n${H}${JSON_CT}Content-Length: 4\r\n${r.pick(['Transfer-Encoding: chunked\r\n', 'Content-Length: 7\r\n'])}\r\n${body}`],
        complete: false,
      };
    case 11: // Header lines without a colon, with NUL, obs-fold, invalid UTF-8.
      return {
        pieces: [`GET /healthz HTTP/1.1\r\n${H}`, Buffer.from(r.pick(['NoColon\r\n', 'X-A: \u0000\r\n', 'X-A: a\r\n b\r\n', ': empty\r\n', 'X-\xff: \xfe\r\n']), 'latin1'), '\r\n'],
        complete: false,
      };
    case 12: // A wrong or missing Content-Type; a huge declared length.
      return {
        pieces: [
          `POST ${path} HTTP/1.1\r\n${H}Content-Type: ${r.pick(['text/plain', 'application/json; charset=latin1', 'multipart/form-data', ''])}\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
        ],
        complete: true,
      };
    case 13:
      return { pieces: [`POST ${path} HTTP/1.1\r\n${H}${JSON_CT}Content-Length: ${r.pick(['99999999999999', '-1', 'abc', '1e3', ' 4'])}\r\n\r\n${body}`], complete: false };
    case 14: {
      // Odd methods and versions (uWS answers no HTTP/1.0 request: it waits, as for one it cannot parse).
      const version = r.pick(['0', '1']);
      const method = r.pick(['DELETE', 'PUT', 'TRACE', 'CONNECT', 'OPTIONS', 'FOO', 'get']);
      // A DELETE of a context that holds units would rightly delete them: only one that does not exist.
      const target = method === 'DELETE' && path.startsWith('/contexts/') ? '/contexts/fz-none' : path;
      return {
        pieces: [`${method} ${target} HTTP/1.${version}\r\n${H}Content-Length: 0\r\n\r\n`],
        complete: version === '1',
      };
    }
    default: // Pipelined requests, the last one cut short.
      return { pieces: [`GET /healthz HTTP/1.1\r\n${H}\r\nGET /contexts HTTP/1.1\r\n${H}\r\nGET /nope`], complete: false };
  }
}

/** One malformed request on a fresh connection: done at the first whole response or the server's close. */
export async function rawHttp(r: Rng, t: FuzzTarget): Promise<Outcome> {
  const { pieces, complete } = malformed(r);
  const halfClose = !complete || r.next() < 0.3;
  const res = await rawSession(
    t.port,
    async (socket) => {
      for (const p of pieces) await write(socket, p);
      if (halfClose) socket.end();
    },
    (d) => wholeResponse(d.toString('latin1')) !== undefined,
  );
  if (res.how === 'timeout') return { answer: 'timeout', timedOut: true };
  const whole = wholeResponse(res.data.toString('latin1'));
  if (whole === undefined) return { answer: 'closed' };
  let acked: string[] = [];
  if (whole.status === 201 && /\/workunit/.test(String(pieces[0])) && !/\r\nidempotent-replayed: *true/i.test(whole.head)) {
    try {
      acked = unitKey(JSON.parse(whole.body) as { contextId: string; seq: number });
    } catch {
      acked = ['raw:?'];
    }
  }
  return { answer: String(whole.status), acked, failure: judgeHttp(t, whole.status, whole.body, `raw ${JSON.stringify(String(pieces[0]).slice(0, 120))}`) };
}
