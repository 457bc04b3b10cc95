/** SSE inputs: opens of GET /stream-sse with bad query params and Last-Event-ID values, closed once answered. */
import { judgeHttp, rawSession, wholeResponse, write, type FuzzTarget, type Outcome, type Rng } from './common.js';

// Streams follow contexts that do not grow (fz-warm: the 50 warm-up units): one the fuzzer writes to
// would be replayed whole by every `since=0`, more each minute of a long run.
const CONTEXTS = ['fz-warm', 'fz-warm', 'fz-sse', '', '%00', '%ZZ', 'a%2Fb', 'x'.repeat(300), '..', '%F0%9F%99%82'];
const VALUES = ['-1', '0', '1', 'abc', '1e9', '', '%00', '99999999999999999999', '1.5', 'true', 'x'.repeat(300)];
const KEYS = ['since', 'epoch', 'locks', 'presence', 'agentId', 'onTrimmed', 'format', 'bogus', 'context'];
const LAST_EVENT_IDS = ['', '0', '-1', 'abc', '1.5', '99999999999999999999', '3:4', 'fz-0:2', '\u0001', 'x'.repeat(2000), '１２'];

export async function sseInput(r: Rng, t: FuzzTarget): Promise<Outcome> {
  const params = [`context=${r.pick(CONTEXTS)}`, ...Array.from({ length: r.int(4) }, () => `${r.pick(KEYS)}=${r.pick(VALUES)}`)];
  if (r.next() < 0.1) params.shift();
  const lastEventId = r.next() < 0.5 ? `Last-Event-ID: ${r.pick(LAST_EVENT_IDS)}\r\n` : '';
  const accept = r.pick(['Accept: text/event-stream\r\n', '', 'Accept: application/json\r\n']);
  const request = `GET /stream-sse?${params.join('&')} HTTP/1.1\r\nHost: x\r\n${accept}${lastEventId}\r\n`;
  // Many opens and closes: done at the head of the stream (or the whole error answer).
  // uWS neither answers nor closes on a header value with control characters (it waits for its
  // idle timeout): for those the client ends its side, and the server closes.
  const unparsable = /[\u0000-\u0008\u000a-\u001f]/.test(Buffer.from(lastEventId.slice(0, -2), 'latin1').toString('latin1'));
  const res = await rawSession(
    t.port,
    async (socket) => {
      await write(socket, Buffer.from(request, 'latin1'));
      if (unparsable) socket.end();
    },
    (d) => wholeResponse(d.toString('latin1')) !== undefined,
  );
  if (res.how === 'timeout') return { answer: 'timeout', timedOut: true };
  const whole = wholeResponse(res.data.toString('latin1'));
  if (whole === undefined) return { answer: 'closed' };
  return { answer: String(whole.status), failure: judgeHttp(t, whole.status, whole.body, `SSE ${JSON.stringify(request.slice(0, 200))}`) };
}
