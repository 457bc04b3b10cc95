/**
 * WebSocket inputs on a raw socket after a real upgrade: first a few JSON or MessagePack operations
 * with wrong ops and fields (each awaited by its ref, so its ack is counted), then hostile frames
 * at the byte level (bad opcodes, reserved bits, unmasked or lying lengths, fragmented control
 * frames, invalid UTF-8, bad close codes), then a close frame and the end of the client's side.
 */
import { randomBytes as cryptoBytes } from 'node:crypto';
import { constants, inflateRawSync } from 'node:zlib';
import { pack, unpack } from 'msgpackr';
import { unitKey, NASTY_STRINGS, NASTY_VALUES, randomBytes, rawSession, TYPES, wholeResponse, write, type FuzzTarget, type Outcome, type Rng } from './common.js';

interface Frame {
  fin: boolean;
  rsv: number;
  opcode: number;
  payload: Buffer;
}

/** A client frame: masked unless told otherwise; `lengthBytes` forces the 16- or 64-bit length form. */
export function frame(
  opcode: number,
  payload: Buffer,
  o: { fin?: boolean; rsv?: number; masked?: boolean; declared?: number | bigint; lengthBytes?: 0 | 2 | 8; mask?: Buffer } = {},
): Buffer {
  const declared = o.declared ?? payload.length;
  const n = Number(declared);
  const form = o.lengthBytes ?? (n < 126 ? 0 : n < 65536 ? 2 : 8);
  const head: number[] = [((o.fin ?? true) ? 0x80 : 0) | ((o.rsv ?? 0) << 4) | (opcode & 0xf)];
  const masked = o.masked ?? true;
  const ext = Buffer.alloc(form);
  if (form === 0) head.push((masked ? 0x80 : 0) | n);
  else if (form === 2) {
    head.push((masked ? 0x80 : 0) | 126);
    ext.writeUInt16BE(n & 0xffff);
  } else {
    head.push((masked ? 0x80 : 0) | 127);
    ext.writeBigUInt64BE(BigInt(declared));
  }
  if (!masked) return Buffer.concat([Buffer.from(head), ext, payload]);
  const mask = o.mask ?? cryptoBytes(4);
  const body = Buffer.from(payload);
  for (let i = 0; i < body.length; i++) body[i]! ^= mask[i & 3]!;
  return Buffer.concat([Buffer.from(head), ext, mask, body]);
}

/** Server frames (unmasked) in `data` from `at`; stops at an incomplete one. */
function serverFrames(data: Buffer, at: number): { frames: Frame[]; next: number } {
  const frames: Frame[] = [];
  while (data.length - at >= 2) {
    const b0 = data[at]!;
    let len = data[at + 1]! & 0x7f;
    let p = at + 2;
    if (len === 126) {
      if (data.length < p + 2) break;
      len = data.readUInt16BE(p);
      p += 2;
    } else if (len === 127) {
      if (data.length < p + 8) break;
      len = Number(data.readBigUInt64BE(p));
      p += 8;
    }
    if (data.length < p + len) break;
    frames.push({ fin: (b0 & 0x80) !== 0, rsv: (b0 >> 4) & 7, opcode: b0 & 0xf, payload: data.subarray(p, p + len) });
    at = p + len;
  }
  return { frames, next: at };
}

function decodeEvent(f: Frame, deflated: boolean): Record<string, unknown> | undefined {
  try {
    const payload = deflated && f.rsv & 4 ? inflateRawSync(Buffer.concat([f.payload, Buffer.from([0, 0, 0xff, 0xff])]), { finishFlush: constants.Z_SYNC_FLUSH }) : f.payload;
    if (f.opcode === 1) return JSON.parse(payload.toString('utf8')) as Record<string, unknown>;
    if (f.opcode === 2) return unpack(payload) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  return undefined;
}

const EXTENSIONS = [
  '',
  'permessage-deflate',
  'permessage-deflate; client_max_window_bits',
  'permessage-deflate; server_max_window_bits=7',
  'permessage-deflate; server_max_window_bits=99',
  'permessage-deflate; client_max_window_bits=abc; server_no_context_takeover',
  'permessage-deflate; server_no_context_takeover; server_no_context_takeover',
  'permessage-deflate; unknown_param=1',
  'permessage-deflate, permessage-deflate; client_no_context_takeover',
  'x-webkit-deflate-frame',
  ';;;,,,',
  'permessage-deflate; server_max_window_bits=',
];

/** Values for operation fields: the 70 kB string would make a frame over the limit, which closes the connection (a hostile frame's job). */
const VALUES = NASTY_VALUES.filter((v) => typeof v !== 'string' || v.length < 1000);

function op(r: Rng, ref: string): Record<string, unknown> {
  const kind = r.pick(['subscribe', 'unsubscribe', 'publish', 'publish', 'ping', 'subscribeLocks', 'unsubscribeLocks', 'nope', ...NASTY_STRINGS.slice(0, 4)]);
  const msg: Record<string, unknown> = { op: kind, ref };
  if (kind === 'publish') {
    const unit: Record<string, unknown> = { contextId: `fz-ws-${r.int(3)}`, agentId: 'fuzzer', type: 'MESSAGE', payload: { n: r.int(1000) } };
    if (r.next() < 0.6) unit[r.pick(['contextId', 'agentId', 'type', 'payload', 'meta', 'fence', 'idempotencyKey', 'seq', 'bogus'])] = r.pick([...TYPES, ...VALUES]);
    Object.assign(msg, unit); // a publish carries the unit's fields beside op and ref
  } else if (kind === 'subscribe' || kind === 'unsubscribe') {
    // fz-warm does not grow: a replay from `since` stays the same size all run long.
    msg.contextId = r.next() < 0.5 ? r.pick(['fz-warm', 'fz-ws-quiet']) : r.pick(VALUES);
    if (r.next() < 0.5) msg[r.pick(['since', 'epoch', 'presence', 'agentId', 'onTrimmed', 'bogus'])] = r.pick(VALUES);
  } else if (r.next() < 0.3) msg[r.pick(['contextId', 'bogus', 'unit'])] = r.pick(VALUES);
  return msg;
}

const CLOSE_CODES = [0, 999, 1000, 1001, 1004, 1005, 1006, 1015, 2999, 3000, 4999, 5000, 65535];

/** A hostile frame at the byte level. */
function hostile(r: Rng, deflate: boolean): Buffer {
  const small = randomBytes(r, r.int(40));
  switch (r.int(14)) {
    case 0:
      return frame(r.pick([3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf]), small);
    case 1:
      return frame(r.pick([1, 2, 9]), small, { rsv: r.pick([1, 2, 3, 4, 5, 6, 7]) });
    case 2:
      return frame(1, Buffer.from('{"op":"ping"}'), { masked: false });
    case 3: // A length that claims more than is sent (the rest never comes: the half-close ends it).
      return frame(2, small, { declared: small.length + 1 + r.int(1000) });
    case 4:
      return frame(2, small, { declared: r.pick([2n ** 63n - 1n, 2n ** 64n - 1n, 2n ** 32n, 1n << 40n]), lengthBytes: 8 });
    case 5: // Non-minimal length forms.
      return frame(1, Buffer.from('{"op":"ping","ref":"n"}'), { lengthBytes: r.pick([2, 8] as const) });
    case 6: // A fragmented control frame; a control frame over 125 bytes.
      return r.next() < 0.5 ? frame(9, small, { fin: false }) : frame(r.pick([8, 9, 10]), randomBytes(r, 126 + r.int(200)));
    case 7: // Continuation without a start; a new message inside a fragmented one.
      return r.next() < 0.5 ? frame(0, small) : Buffer.concat([frame(1, Buffer.from('{"op":'), { fin: false }), frame(r.pick([1, 2]), Buffer.from('"ping"}'))]);
    case 8: // Invalid UTF-8 in a text frame, whole or split across fragments.
      return r.next() < 0.5
        ? frame(1, Buffer.from([0x7b, 0xff, 0xfe, 0xc0, 0xaf, 0x7d]))
        : Buffer.concat([frame(1, Buffer.from([0x22, 0xe2, 0x82]), { fin: false }), frame(0, Buffer.from([0x28, 0x22]))]);
    case 9: {
      // Close frames: bad codes, a one-byte payload, an invalid UTF-8 reason.
      const code = Buffer.alloc(2);
      code.writeUInt16BE(r.pick(CLOSE_CODES));
      return frame(8, r.pick([code, Buffer.from([3]), Buffer.concat([code, Buffer.from([0xff, 0xfe])])]));
    }
    case 10: // RSV1 (compressed) with garbage, negotiated or not.
      return frame(r.pick([1, 2]), randomBytes(r, 1 + r.int(60)), { rsv: 4 });
    case 11:
      return randomBytes(r, 1 + r.int(64));
    case 12: // A ping and a pong, as they should be: the ping is answered.
      return Buffer.concat([frame(9, small.subarray(0, 20)), frame(10, small.subarray(0, 10))]);
    default: // Binary frames that are not MessagePack, text frames that are not JSON.
      return deflate && r.next() < 0.3 ? frame(2, randomBytes(r, 30), { rsv: 4 }) : frame(r.pick([1, 2]), Buffer.from(r.pick(NASTY_STRINGS).slice(0, 500)));
  }
}

export async function wsInput(r: Rng, t: FuzzTarget): Promise<Outcome> {
  const msgpack = r.next() < 0.3;
  const ext = r.pick(EXTENSIONS);
  const query = r.pick([
    '',
    `format=${msgpack ? 'msgpack' : 'json'}`,
    `format=${msgpack ? 'msgpack' : 'json'}`,
    'format=xml',
    'context=fz-ws-0&since=-1',
    'context=%00',
    'locks=maybe',
    `context=fz-warm&since=${r.int(5)}`,
  ]);
  const badUpgrade = r.next() < 0.08;
  const upgrade =
    `GET /stream?${query} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Key: ${badUpgrade ? r.pick(['', 'short', '!!!!']) : cryptoBytes(16).toString('base64')}\r\nSec-WebSocket-Version: ${badUpgrade ? r.pick(['8', '', 'x']) : '13'}\r\n` +
    (ext ? `Sec-WebSocket-Extensions: ${ext}\r\n` : '') +
    (msgpack && r.next() < 0.5 ? 'Sec-WebSocket-Protocol: engram.msgpack\r\n' : '') +
    '\r\n';
  const ops = Array.from({ length: r.int(4) }, (_, k) => op(r, `r${k}`));
  const asBinary = ops.map(() => (r.next() < 0.9 ? msgpack : !msgpack));
  let status = 0;
  let body = '';
  let headEnd = -1;
  let deflate = false;
  let msgpackConnection = false;
  let closeCode: number | undefined;
  const events: Array<Record<string, unknown>> = [];
  let at = 0;
  const until = (data: Buffer): boolean => {
    if (headEnd === -1) {
      const whole = wholeResponse(data.toString('latin1'));
      if (whole === undefined) return false;
      status = whole.status;
      if (status !== 101) {
        body = whole.body;
        return true;
      }
      headEnd = whole.end;
      msgpackConnection = /format=msgpack/.test(query) || /\r\nsec-websocket-protocol: *engram\.msgpack/i.test(whole.head);
      deflate = /\r\nsec-websocket-extensions: *(permessage-deflate|x-webkit-deflate-frame)/i.test(whole.head);
    }
    const { frames, next } = serverFrames(data, Math.max(at, headEnd));
    at = next;
    for (const f of frames) {
      if (f.opcode === 8) closeCode = f.payload.length >= 2 ? f.payload.readUInt16BE(0) : 1005;
      const e = decodeEvent(f, deflate);
      if (e) events.push(e);
    }
    return false;
  };
  const res = await rawSession(
    t.port,
    async (socket, waitFor) => {
      await write(socket, upgrade);
      if (!(await waitFor(() => headEnd !== -1))) return;
      for (const [k, o] of ops.entries()) {
        await write(socket, asBinary[k] ? frame(2, pack(o)) : frame(1, Buffer.from(JSON.stringify(o))));
        // Its answer (an ack, an error, a pong, a subscribed...) carries its ref; MessagePack on a
        // JSON connection cannot be read, so its error has none.
        const before = events.length;
        const unreadable = asBinary[k] && !msgpackConnection;
        const answered = () => events.slice(before).some((e) => e.ref === o.ref || (unreadable && e.event === 'error' && e.ref === undefined));
        if (!(await waitFor(() => closeCode !== undefined || answered()))) return;
        if (closeCode !== undefined) break;
      }
      const hostileCount = r.int(4);
      for (let k = 0; k < hostileCount; k++) await write(socket, hostile(r, deflate));
      await write(socket, frame(8, Buffer.from([0x03, 0xe8])));
      socket.end();
    },
    until,
  );
  if (res.how === 'timeout') return { answer: 'timeout', timedOut: true };
  let failure: string | undefined;
  if (status >= 500 && status !== 503) failure = `upgrade ${JSON.stringify(upgrade.slice(0, 200))} → ${status} ${body.slice(0, 200)}`;
  for (const e of events) {
    const code = (e.error as { code?: unknown } | undefined)?.code;
    if (e.event === 'error' && (typeof code !== 'string' || !t.codes.has(code))) failure = `an error frame without a catalog code: ${JSON.stringify(e).slice(0, 300)}`;
    if (/\n\s+at |node_modules|\/dist\/|\.[jt]s:\d+/.test(JSON.stringify(e))) failure = `a stack trace or file path in a frame: ${JSON.stringify(e).slice(0, 300)}`;
  }
  const acked = events.filter((e) => e.event === 'ack' && e.replayed !== true).flatMap((e) => unitKey(e));
  return { answer: status !== 101 ? String(status || 'closed') : `ws:${closeCode ?? 'closed'}`, acked, failure };
}
