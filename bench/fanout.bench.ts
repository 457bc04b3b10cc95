/**
 * Fan-out latency: publish (HTTP POST) to receive, for the slowest of N subscribers
 * of one context, open loop at a fixed rate. Scenarios: 1, 100, 1000 WebSocket
 * subscribers and 100 SSE subscribers.
 */
import { startEngram } from './lib/engram-server.js';
import { connect, openLoop } from './lib/load.js';
import { postJson } from './lib/raw-http.js';
import { ArrivalBoard, marker, RawSubscriber } from './lib/raw-subscriber.js';
import { emit, histogram, QUICK, summarize } from './lib/stats.js';

interface Scenario {
  kind: 'ws' | 'sse';
  subscribers: number;
  rate: number;
}

const SCENARIOS: Scenario[] = [
  { kind: 'ws', subscribers: 1, rate: 1000 },
  { kind: 'ws', subscribers: 100, rate: 500 },
  { kind: 'ws', subscribers: 1000, rate: 100 },
  { kind: 'sse', subscribers: 100, rate: 500 },
];
const SECONDS = QUICK ? 2 : 10;

async function run(s: Scenario, index: number): Promise<void> {
  const server = await startEngram();
  const context = `fan-${index}`;
  const units = Math.round(s.rate * SECONDS);
  const board = new ArrivalBoard(units);
  const path = s.kind === 'ws' ? `/stream?context=${context}` : `/stream-sse?context=${context}`;
  const subs: RawSubscriber[] = [];
  for (let i = 0; i < s.subscribers; i++) {
    const sub = new RawSubscriber(server.port, path, s.kind, board);
    subs.push(sub);
    if (i % 50 === 49) await sub.ready;
  }
  await Promise.all(subs.map((x) => x.ready));
  const conns = await connect(server.port, 8);
  const body = (n: number) =>
    postJson(
      '/workunit',
      JSON.stringify({ contextId: context, agentId: 'bench', type: 'MESSAGE', payload: { text: `${marker(n)} a planner message fanned out to every subscriber` } }),
    );
  // Open loop: unit n is due at start + n × interval, whatever happened to earlier ones.
  const sent = await openLoop(conns, s.rate, SECONDS, body, 201);
  // Wait (bounded) until every subscriber has every unit.
  const deadline = Date.now() + 60_000;
  while (board.complete(s.subscribers) < units && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  const h = histogram();
  const warm = Math.floor(units * 0.1);
  let missing = 0;
  for (let n = warm; n < units; n++) {
    if (board.counts[n]! < s.subscribers) missing++;
    else h.recordValue(Math.max(1, Math.round(board.latest[n]! - (sent.start + n * sent.interval))));
  }
  const label = `${s.subscribers} ${s.kind === 'ws' ? 'WebSocket' : 'SSE'} subscribers, ${s.rate}/s`;
  emit(summarize('fanout', label, h, SECONDS * 0.9, { subscribers: s.subscribers, rate: s.rate, missing, deliveries: h.totalCount * s.subscribers }));
  subs.forEach((x) => x.close());
  conns.forEach((c) => c.close());
  await server.stop();
}

for (const [i, s] of SCENARIOS.entries()) await run(s, i);
