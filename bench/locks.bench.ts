/**
 * Lock acquire/release latency over HTTP: uncontended (one agent, a fresh resource each
 * time) and contended (16 agents taking turns on one resource with waitMs, where an
 * acquire's latency includes its wait in line).
 */
import { ENGRAM_DURABILITY, startEngram } from './lib/engram-server.js';
import { connect } from './lib/load.js';
import { postJson, type RawHttpConnection } from './lib/raw-http.js';
import { describeSystem, emit, histogram, nowUs, size, summarize, type Histogram } from './lib/stats.js';

function del(resource: string, agentId: string, lockId: string): Buffer {
  return Buffer.from(`DELETE /locks/${encodeURIComponent(resource)}?agentId=${agentId}&lockId=${lockId} HTTP/1.1\r\nHost: bench\r\n\r\n`);
}

async function cycle(conn: RawHttpConnection, resource: string, agentId: string, waitMs: number, acq: Histogram, rel: Histogram): Promise<void> {
  let t = nowUs();
  const got = await conn.request(postJson('/locks', JSON.stringify({ resource, agentId, ttlMs: 30_000, waitMs })));
  acq.recordValue(Math.max(1, nowUs() - t));
  if (got.status !== 200) throw new Error(`acquire: ${got.status} ${got.body.toString()}`);
  const { lockId } = JSON.parse(got.body.toString()) as { lockId: string };
  t = nowUs();
  const freed = await conn.request(del(resource, agentId, lockId));
  rel.recordValue(Math.max(1, nowUs() - t));
  if (freed.status !== 200) throw new Error(`release: ${freed.status} ${freed.body.toString()}`);
}

const server = await startEngram();
describeSystem('engram', ENGRAM_DURABILITY);
try {
  const [one] = await connect(server.port, 1);
  const warmA = histogram();
  const warmR = histogram();
  for (let i = 0; i < size(1000, 5); i++) await cycle(one!, `warm-${i}`, 'bench', 0, warmA, warmR);

  const acq = histogram();
  const rel = histogram();
  const n = size(10_000, 20);
  let t0 = nowUs();
  for (let i = 0; i < n; i++) await cycle(one!, `free-${i}`, 'bench', 0, acq, rel);
  let seconds = (nowUs() - t0) / 1e6;
  emit(summarize('locks', 'acquire, uncontended, 1 agent', acq, seconds));
  emit(summarize('locks', 'release, uncontended, 1 agent', rel, seconds));
  one!.close();

  const agents = await connect(server.port, 16);
  const cAcq = histogram();
  const cRel = histogram();
  const rounds = size(300, 3);
  t0 = nowUs();
  await Promise.all(
    agents.map(async (conn, a) => {
      for (let i = 0; i < rounds; i++) await cycle(conn, 'hot', `agent-${a}`, 10_000, cAcq, cRel);
    }),
  );
  seconds = (nowUs() - t0) / 1e6;
  emit(summarize('locks', 'acquire, 16 agents on one resource (incl. wait)', cAcq, seconds, { handoffsPerSecond: Math.round((16 * rounds) / seconds) }));
  emit(summarize('locks', 'release, 16 agents on one resource', cRel, seconds));
  agents.forEach((c) => c.close());
} finally {
  await server.stop();
}
