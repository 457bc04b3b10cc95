/**
 * One client process of the memory benchmark: memory-tool commands on one shared space at an
 * open-loop rate, over its own keep-alive connections. Each operation is a str_replace on the
 * process's own file (its counter, so it never conflicts), every fourth a view of it. In
 * `floor` mode it sends GET /healthz instead, with the same timing: what the client processes
 * and the machine cost by themselves, with no memory code involved.
 *   node memory-client.js memory|floor PORT SPACE NAME RATE SECONDS START_DELAY_US
 * Prints READY once connected and warmed up, waits for a line on stdin to start (so every
 * process starts together), then prints its latency histogram (compressed base64) and exits.
 */
import * as hdr from 'hdr-histogram-js';
import { connect, openLoopOps } from './load.js';
import { get, postJson } from './raw-http.js';

const [mode, port, space, name, rate, seconds, delayUs] = process.argv.slice(2) as [string, string, string, string, string, string, string];
const LANES = 2;
const conns = await connect(Number(port), LANES);
const path = `/memories/${name}.txt`;
let value = 0;

async function command(lane: number, input: Record<string, unknown>): Promise<void> {
  const r = await conns[lane]!.request(postJson(`/memory/${space}/command?agentId=${name}`, JSON.stringify(input)));
  const body = r.body.toString();
  if (r.status !== 200 || body.includes('"isError":true')) throw new Error(`${name}: ${r.status} ${body}`);
}

await command(0, { command: 'create', path, file_text: `${name}\nv=0\n` });
// One lane per change would race on the counter's text; changes go out one at a time per process.
let chain: Promise<void> = Promise.resolve();
const HEALTH = get('/healthz');
const op = (lane: number, i: number): Promise<void> => {
  if (mode === 'floor') {
    return conns[lane]!.request(HEALTH).then((r) => {
      if (r.status !== 200) throw new Error(`${name}: /healthz answered ${r.status}`);
    });
  }
  if (i % 4 === 3) return command(lane, { command: 'view', path });
  const run = chain.then(() => command(lane, { command: 'str_replace', path, old_str: `v=${value}\n`, new_str: `v=${value + 1}\n` }).then(() => void value++));
  chain = run.catch(() => undefined);
  return run;
};
// Warm-up: JIT on both sides.
for (let i = 0; i < 50; i++) await op(0, i);

process.stdout.write('READY\n');
await new Promise<void>((resolve) => process.stdin.once('data', () => resolve()));
const r = await openLoopOps(LANES, Number(rate), Number(seconds), op, { spin: false, measureFrom: 'sent', startDelayUs: Number(delayUs) });
process.stdout.write(`HISTOGRAM ${JSON.stringify({ done: r.done, seconds: r.seconds, overloaded: r.overloaded, h: hdr.encodeIntoCompressedBase64(r.h) })}\n`);
conns.forEach((c) => c.close());
process.exit(0);
