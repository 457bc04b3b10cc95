/**
 * gRPC inputs: typed calls with odd values (grpc-js, one channel), and raw HTTP/2 on node:net: a
 * client preface and hand-built frames (bad types and lengths, bad HPACK, bad SETTINGS, RST_STREAM
 * storms, DATA with bad gRPC length prefixes...), then GOAWAY and the end of the client's side.
 */
import { bounded, unitKey, NASTY_STRINGS, randomBytes, rawSession, write, type FuzzTarget, type Outcome, type Rng } from './common.js';

const ODD_IDS = ['fz-g', 'fz-0', '', 'x'.repeat(300), '\u0001', '🙂', '../x', 'a/b', ' '];
const ODD_NUMBERS = [0, 1, 2 ** 32 - 1, 2 ** 31, 1000];

function typedRequest(r: Rng): { method: string; req: Record<string, unknown> } {
  const id = () => r.pick(ODD_IDS);
  const n = () => r.pick(ODD_NUMBERS);
  switch (r.int(11)) {
    case 0:
    case 1:
    case 2: {
      // A valid unit with one field made odd (or none: some must be stored, and counted).
      const req: Record<string, unknown> = { contextId: 'fz-g', agentId: 'a', type: 'WORK_UNIT_TYPE_MESSAGE', payload: { json: '{"text":"hi"}' } };
      const odd: Record<string, () => unknown> = {
        contextId: id,
        agentId: () => r.pick(['', '\u0000', 'x'.repeat(300), '🙂']),
        type: () => r.pick(['WORK_UNIT_TYPE_UNSPECIFIED', 'WORK_UNIT_TYPE_SYSTEM', 'WORK_UNIT_TYPE_SUMMARY', 'WORK_UNIT_TYPE_APPROVAL_DECISION']),
        payload: () => r.pick([{ json: '{' }, { json: '' }, { binary: { data: Buffer.from(r.pick(NASTY_STRINGS)) } }, {}, undefined]),
        meta: () => ({ [r.pick(NASTY_STRINGS).slice(0, 300)]: r.pick(NASTY_STRINGS).slice(0, 300) }),
        idempotencyKey: () => r.pick(NASTY_STRINGS).slice(0, 500),
        embedding: () => r.pick([[NaN, Infinity, 1], [1e38], [0]]),
        fence: () => ({ resource: id(), token: n() }),
        relationships: () => [{ targetId: id(), type: r.pick(['RELATIONSHIP_TYPE_UNSPECIFIED', 'RELATIONSHIP_TYPE_REPLY_TO']) }],
      };
      if (r.next() < 0.8) {
        const field = r.pick(Object.keys(odd));
        req[field] = odd[field]!();
      }
      return { method: 'CreateWorkUnit', req };
    }
    case 3:
      return { method: 'GetWorkUnit', req: { id: id() } };
    case 4:
      return { method: 'ListWorkUnits', req: { contextId: id(), limit: n(), after: r.next() < 0.5 ? n() : undefined, reverse: r.next() < 0.5 } };
    case 5:
      return { method: 'GetContext', req: { contextId: id() } };
    case 6:
      return { method: 'ListContexts', req: { limit: n(), after: id(), prefix: id() } };
    case 7:
      return { method: 'AcquireLock', req: { resources: r.pick([[], [id()], [id(), id()]]), agentId: id(), ttlMs: r.pick([0, 1, 1000, undefined]), waitMs: 0, contextId: id() } };
    case 8:
      return { method: r.pick(['RenewLock', 'ReleaseLock', 'GetLock']), req: { resource: id(), agentId: id(), lockId: id(), ttlMs: n() } };
    case 9:
      return {
        method: 'Search',
        req: {
          query: r.pick(NASTY_STRINGS).slice(0, 1000),
          mode: r.pick(['SEARCH_MODE_VECTOR', 'SEARCH_MODE_KEYWORD', 'SEARCH_MODE_UNSPECIFIED']),
          limit: n(),
          offset: n(),
          contextIds: [id()],
        },
      };
    default:
      return {
        method: r.pick(['GetWindow', 'GetPresence']),
        req: { contextId: id(), budget: n(), query: r.pick(NASTY_STRINGS).slice(0, 500), model: r.pick(['', 'gpt-4o', 'nope']), relevantShare: r.pick([undefined, -1, 2, NaN]) },
      };
  }
}

export async function typedGrpc(r: Rng, t: FuzzTarget): Promise<Outcome> {
  const { method, req } = typedRequest(r);
  const res = await bounded(
    t.grpc.call(method, req).then(
      (res: { replayed?: boolean; workUnit?: { contextId?: string; seq?: number } }) => ({
        code: 0,
        message: '',
        engramCode: undefined as string | undefined,
        replayed: res?.replayed === true,
        unit: res?.workUnit,
      }),
      (err: { code?: number; details?: string; metadata?: { get(k: string): unknown[] } }) => ({
        code: err.code ?? -1,
        message: err.details ?? '',
        engramCode: err.metadata?.get('engram-error-code')[0] as string | undefined,
        replayed: false,
        unit: undefined,
      }),
    ),
  );
  if (res === 'timeout') return { answer: 'timeout', timedOut: true };
  let failure: string | undefined;
  if (res.code === 13 || res.code === 2) failure = `gRPC ${method} ${JSON.stringify(req).slice(0, 200)} → ${res.code} ${res.message.slice(0, 200)}`;
  else if (res.code > 0 && res.engramCode !== undefined && !t.codes.has(res.engramCode)) failure = `gRPC ${method} → ${res.engramCode}, not in the catalog`;
  else if (/\n\s+at |node_modules|\/dist\/|\.[jt]s:\d+/.test(res.message)) failure = `gRPC ${method} → a stack trace or path: ${res.message.slice(0, 200)}`;
  // A retry with the same (odd) idempotency key answers the first unit: not a new one.
  return { answer: `grpc:${res.code}`, acked: method === 'CreateWorkUnit' && res.code === 0 && !res.replayed ? unitKey(res.unit) : [], failure };
}

// Raw HTTP/2.
export const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
const T = { DATA: 0, HEADERS: 1, PRIORITY: 2, RST_STREAM: 3, SETTINGS: 4, PUSH_PROMISE: 5, PING: 6, GOAWAY: 7, WINDOW_UPDATE: 8, CONTINUATION: 9 };
const F = { END_STREAM: 1, ACK: 1, END_HEADERS: 4, PADDED: 8, PRIORITY: 0x20 };

export function h2frame(type: number, flags: number, stream: number, payload: Buffer, declared = payload.length): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(declared & 0xffffff, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(stream >>> 0, 5);
  return Buffer.concat([head, payload]);
}

function hpackInt(value: number, prefixBits: number, first: number): number[] {
  const max = (1 << prefixBits) - 1;
  if (value < max) return [first | value];
  const out = [first | max];
  for (value -= max; value >= 128; value >>= 7) out.push((value & 0x7f) | 0x80);
  out.push(value);
  return out;
}

/** Literal header fields without indexing, new names, no Huffman: an encoder that needs no state. */
export function hpack(headers: Array<[string, string]>): Buffer {
  const out: number[] = [];
  for (const [name, value] of headers) {
    out.push(0x00, ...hpackInt(Buffer.byteLength(name), 7, 0), ...Buffer.from(name), ...hpackInt(Buffer.byteLength(value), 7, 0), ...Buffer.from(value));
  }
  return Buffer.from(out);
}

export const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
};
const setting = (id: number, value: number) => Buffer.concat([Buffer.from([id >> 8, id & 0xff]), u32(value)]);

/** Read-only methods: a random message that happens to decode must not store anything. */
const READ_PATHS = [
  '/engram.v3.EngramService/GetContext',
  '/engram.v3.EngramService/ListWorkUnits',
  '/engram.v3.EngramService/GetWorkUnit',
  '/engram.v3.EngramService/Nope',
  '/nope.Service/X',
  '/grpc.health.v1.Health/Check',
];

function requestHeaders(r: Rng): Buffer {
  const h: Array<[string, string]> = [
    [':method', r.next() < 0.9 ? 'POST' : r.pick(['GET', 'PUT', ''])],
    [':scheme', 'http'],
    [':path', r.next() < 0.9 ? r.pick(READ_PATHS) : r.pick(['', '*', '/', 'x'.repeat(5000)])],
    [':authority', 'x'],
    ['content-type', r.next() < 0.85 ? 'application/grpc' : r.pick(['application/json', 'application/grpc+nope', ''])],
    ['te', 'trailers'],
  ];
  if (r.next() < 0.2)
    h.push([r.pick(['grpc-timeout', 'grpc-encoding', 'grpc-accept-encoding', 'Upper-Case', 'connection', ':bogus']), r.pick(['1n', '99999999999S', 'gzip', 'snappy', '', 'x'])]);
  if (r.next() < 0.1) h.reverse();
  return hpack(h);
}

/** A gRPC message: the 5-byte prefix (compressed flag, length) and the message, often lying. */
function grpcMessage(r: Rng): Buffer {
  const msg = r.next() < 0.5 ? Buffer.from([0x0a, 0x04, 0x66, 0x7a, 0x2d, 0x30]) : randomBytes(r, r.int(40));
  const flag = r.pick([0, 0, 1, 2, 0xff]);
  const length = r.pick([msg.length, msg.length, msg.length + 1 + r.int(100), 0, 0x7fffffff, 0xffffffff]);
  const prefix = Buffer.concat([Buffer.from([flag]), u32(length)]);
  return r.next() < 0.1 ? prefix.subarray(0, r.int(5)) : Buffer.concat([prefix, msg]);
}

function frames(r: Rng): Buffer[] {
  const out: Buffer[] = [];
  let stream = 1;
  const count = 1 + r.int(5);
  for (let k = 0; k < count; k++) {
    switch (r.int(14)) {
      case 0: // A request with a (lying) gRPC message.
        out.push(h2frame(T.HEADERS, F.END_HEADERS, stream, requestHeaders(r)), h2frame(T.DATA, r.next() < 0.8 ? F.END_STREAM : 0, stream, grpcMessage(r)));
        stream += 2;
        break;
      case 1: // Bad HPACK: random bytes, an index out of range, a table size update too large.
        out.push(
          h2frame(
            T.HEADERS,
            F.END_HEADERS | F.END_STREAM,
            stream,
            r.pick([randomBytes(r, 1 + r.int(30)), Buffer.from([0xff, 0xff, 0xff, 0x0f]), Buffer.from([0x3f, 0xff, 0xff, 0xff, 0x0f]), Buffer.from([0x00, 0x7f])]),
          ),
        );
        stream += 2;
        break;
      case 2: // Bad SETTINGS.
        out.push(
          r.pick([
            h2frame(T.SETTINGS, 0, 0, randomBytes(r, 1 + r.int(5))),
            h2frame(T.SETTINGS, 0, 0, setting(4, 0x80000000)),
            h2frame(T.SETTINGS, 0, 0, setting(2, 2)),
            h2frame(T.SETTINGS, 0, 0, setting(5, 100)),
            h2frame(T.SETTINGS, 0, 0, setting(5, 0x1000000)),
            h2frame(T.SETTINGS, 0, 1, setting(3, 10)),
            h2frame(T.SETTINGS, F.ACK, 0, setting(1, 0)),
            h2frame(T.SETTINGS, 0, 0, Buffer.concat([setting(0x99, 7), setting(1, 0xffffffff), setting(3, 0)])),
          ]),
        );
        break;
      case 3: {
        // An RST_STREAM storm: open and reset many streams.
        const n = 5 + r.int(30);
        for (let s = 0; s < n; s++) {
          out.push(h2frame(T.HEADERS, F.END_HEADERS, stream, requestHeaders(r)), h2frame(T.RST_STREAM, 0, stream, u32(r.pick([0, 8, 2, 0xffff]))));
          stream += 2;
        }
        break;
      }
      case 4: // Unknown frame types (must be ignored), reserved flags.
        out.push(h2frame(10 + r.int(246), r.int(256), r.int(10), randomBytes(r, r.int(50))));
        break;
      case 5: // A declared length that is not what follows; a frame larger than the max frame size.
        out.push(r.next() < 0.5 ? h2frame(r.int(10), 0, stream, randomBytes(r, r.int(20)), r.int(0xffffff)) : h2frame(T.DATA, 0, stream, Buffer.alloc(16_385)));
        break;
      case 6: // PING of the wrong length or on a stream.
        out.push(h2frame(T.PING, 0, r.pick([0, 1]), randomBytes(r, r.pick([0, 7, 8, 9]))));
        break;
      case 7: // WINDOW_UPDATE of 0, or one that overflows the window.
        out.push(h2frame(T.WINDOW_UPDATE, 0, r.pick([0, stream]), u32(r.pick([0, 0x7fffffff, 0xffffffff]))), h2frame(T.WINDOW_UPDATE, 0, 0, u32(0x7fffffff)));
        break;
      case 8: // PRIORITY on itself, of the wrong length.
        out.push(h2frame(T.PRIORITY, 0, stream, r.next() < 0.5 ? Buffer.concat([u32(stream), Buffer.from([16])]) : randomBytes(r, 3)));
        break;
      case 9: // CONTINUATION without HEADERS; HEADERS without END_HEADERS and then something else.
        out.push(
          r.next() < 0.5
            ? h2frame(T.CONTINUATION, F.END_HEADERS, stream, requestHeaders(r))
            : Buffer.concat([h2frame(T.HEADERS, 0, stream, requestHeaders(r)), h2frame(T.PING, 0, 0, Buffer.alloc(8))]),
        );
        stream += 2;
        break;
      case 10: // Even (server) stream ids, stream 0, a stream id going backwards.
        out.push(h2frame(T.HEADERS, F.END_HEADERS | F.END_STREAM, r.pick([0, 2, 1, 0x7fffffff]), requestHeaders(r)));
        break;
      case 11: // PUSH_PROMISE from a client; DATA on an idle or closed stream.
        out.push(
          r.next() < 0.5
            ? h2frame(T.PUSH_PROMISE, F.END_HEADERS, 1, Buffer.concat([u32(2), requestHeaders(r)]))
            : h2frame(T.DATA, F.END_STREAM, r.pick([0, 1, 99]), grpcMessage(r)),
        );
        break;
      case 12: // Padding longer than the frame.
        out.push(h2frame(T.HEADERS, F.END_HEADERS | F.PADDED, stream, Buffer.concat([Buffer.from([200]), requestHeaders(r)])));
        stream += 2;
        break;
      default:
        out.push(randomBytes(r, 1 + r.int(60)));
    }
  }
  return out;
}

/** The types of the frames the server sent; GOAWAY as `goaway:<error code>`. */
function serverFrameTypes(data: Buffer): string[] {
  const seen: string[] = [];
  let at = 0;
  while (data.length - at >= 9) {
    const len = data.readUIntBE(at, 3);
    const type = data[at + 3]!;
    if (data.length < at + 9 + len) break;
    if (type === T.GOAWAY && len >= 8) seen.push(`goaway:${data.readUInt32BE(at + 13)}`);
    else seen.push(String(type));
    at += 9 + len;
  }
  return seen;
}

export async function rawH2(r: Rng, t: FuzzTarget): Promise<Outcome> {
  const settings = r.next() < 0.85 ? h2frame(T.SETTINGS, 0, 0, Buffer.alloc(0)) : h2frame(T.SETTINGS, 0, 0, setting(4, 0x80000000));
  const preface = r.next() < 0.05 ? Buffer.from('PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n') : PREFACE;
  const body = frames(r);
  const res = await rawSession(
    t.grpcPort,
    async (socket) => {
      await write(socket, Buffer.concat([preface, settings]));
      for (const f of body) await write(socket, f);
      // Done: a GOAWAY and the end of this side; the server answers what is open and closes.
      await write(socket, h2frame(T.GOAWAY, 0, 0, Buffer.concat([u32(0), u32(0)])));
      socket.end();
    },
    // A GOAWAY with an error code ends the connection for the server; it may stop reading (Node's
    // HTTP/2 does, and then holds the socket until grpc-js's keepalive drops it), so that is the answer.
    (d) => serverFrameTypes(d).some((x) => x.startsWith('goaway:') && x !== 'goaway:0'),
  );
  if (res.how === 'timeout') return { answer: 'timeout', timedOut: true };
  const types = serverFrameTypes(res.data);
  const goaway = types.find((x) => x.startsWith('goaway:'));
  return { answer: `h2:${goaway ?? (types.includes('1') ? 'headers' : 'closed')}` };
}
