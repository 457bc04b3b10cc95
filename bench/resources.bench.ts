/**
 * Resource use, one system per process (`--system engram | redis | nats`): server CPU
 * seconds per 1,000 writes (16 clients in a closed loop; for Engram including the search
 * indexing those writes cause) and resident memory per 1,000 idle subscriber connections
 * (opened by the same C client as the fan-out benchmark: Engram WebSocket subscribers,
 * Redis connections, NATS connections with a subscription). Read from /proc of the server.
 */
import { readFileSync } from 'node:fs';
import { ENGRAM_DURABILITY, searchCaughtUp, startEngram } from './lib/engram-server.js';
import { closedLoopOps } from './lib/load.js';
import { NativeSubscribers, nativeSubscriberAvailable } from './lib/native-subscribers.js';
import { startPeer } from './lib/peers.js';
import { describeSystem, emit, option, quantity, size, TINY } from './lib/stats.js';
import { openWriters, type Endpoints } from './lib/writers.js';

const system = (option('system') ?? 'engram') as 'engram' | 'redis' | 'nats';
/** Engram with search off: the write path's own cost, without the indexing each write causes. */
const searchOff = process.argv.includes('--search-off');
const variant = searchOff ? ', search off' : system === 'engram' ? ', search on' : '';
const TICKS_PER_SECOND = 100; // Linux USER_HZ, the unit of utime and stime in /proc/<pid>/stat

function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND; // utime, stime
}

/** The main thread's total GC pause time so far, from the server's /metrics (prom-client observes perf_hooks GC entries). */
async function gcSeconds(port: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  let sum = 0;
  for (const m of text.matchAll(/^nodejs_gc_duration_seconds_sum\{[^}]*\} ([0-9.e+-]+)$/gm)) sum += Number(m[1]);
  return sum;
}

function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : 0;
}

let at: Endpoints;
let pid: number;
let stop: () => Promise<void>;
if (system === 'engram') {
  const server = await startEngram(searchOff ? ['--search-enabled', 'false'] : []);
  describeSystem('engram', ENGRAM_DURABILITY);
  at = { httpPort: server.port, grpcPort: server.grpcPort };
  pid = server.pid;
  stop = () => server.stop();
} else {
  const peer = await startPeer(system);
  describeSystem(system, peer.durability);
  at = system === 'redis' ? { redisPort: peer.port } : { natsPort: peer.port };
  pid = peer.pid;
  stop = () => peer.stop();
}

try {
  const writers = await openWriters(system === 'engram' ? 'engram-http' : system, 16, at);
  await writers.prepare('warm');
  await writers.prepare('cpu');
  await closedLoopOps(16, size(200, 10), (lane, i) => writers.write(lane, 'warm', i));
  if (system === 'engram') await searchCaughtUp(at.httpPort!);
  const writes = 16 * size(1250, 10);
  const before = cpuSeconds(pid);
  const gcBefore = system === 'engram' ? await gcSeconds(at.httpPort!) : 0;
  await closedLoopOps(16, writes / 16, (lane, i) => writers.write(lane, 'cpu', i));
  if (system === 'engram') await searchCaughtUp(at.httpPort!);
  const used = cpuSeconds(pid) - before;
  await writers.close();
  emit(
    quantity('resources', `server CPU per 1,000 writes (16 clients${variant})`, Math.round((used / (writes / 1000)) * 1000) / 1000, 'CPU s', 'cpu-per-1k-writes', {
      writes,
      cpuSeconds: used,
    }),
  );
  if (system === 'engram') {
    const gc = (await gcSeconds(at.httpPort!)) - gcBefore;
    emit(
      quantity('resources', `GC pause time of the main thread per 10,000 writes (16 clients${variant})`, Math.round((gc / (writes / 10_000)) * 10_000) / 10, 'ms', undefined, {
        writes,
        gcSeconds: gc,
      }),
    );
  }

  if (nativeSubscriberAvailable()) {
    const count = TINY ? 20 : 1000;
    const hs =
      system === 'engram'
        ? {
            request:
              'GET /stream?context=idle HTTP/1.1\\r\\nHost: bench\\r\\nUpgrade: websocket\\r\\nConnection: Upgrade\\r\\nSec-WebSocket-Version: 13\\r\\nSec-WebSocket-Key: ZW5ncmFtLWJlbmNoLWtleQ==\\r\\n\\r\\n',
            ready: '"event":"subscribed"',
          }
        : system === 'redis'
          ? { request: 'PING\\r\\n', ready: '+PONG\\r\\n' }
          : { request: 'CONNECT {"verbose":false,"pedantic":false}\\r\\nSUB idle.%d 1\\r\\nPING\\r\\n', ready: 'PONG' };
    const rssBefore = rssKiB(pid);
    const subs = new NativeSubscribers(at.httpPort ?? at.redisPort ?? at.natsPort!, count, 1, hs.request, hs.ready);
    await subs.whenReady();
    await new Promise((r) => setTimeout(r, 300)); // let the server settle what each connection allocates
    const grown = rssKiB(pid) - rssBefore;
    await subs.finish(0);
    emit(
      quantity('resources', `resident memory per 1,000 idle subscriber connections${variant}`, Math.round((grown / 1024) * (1000 / count) * 10) / 10, 'MiB', 'rss-per-1k-idle', {
        connections: count,
        rssBeforeMiB: Math.round(rssBefore / 1024),
      }),
    );
  }
} finally {
  await stop();
}
