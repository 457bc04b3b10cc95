/**
 * Shared memory from many agent processes: memory-tool commands (3 str_replace : 1 view) on one
 * space at the same total rate, first from 1 client process, then from 4 at once, each on its
 * own file. The promise: per-operation latency with 4 processes stays within 10% of 1 process
 * at the same total load (commands on a space run one at a time, so this measures what that
 * serialization costs when several processes share it). Runs are interleaved (1, 4, 1, 4) and
 * the better of each pair is reported, as in the many-clients scenario. The processes' sends are
 * staggered so that together they arrive as evenly as one process's do (not in bursts of four),
 * and latency counts from each send (the generators' own timer lateness on a 2-core machine
 * would otherwise weigh more with four of them). The same runs with GET /healthz in place of
 * memory commands are the floor: on a 2-core machine, four mostly idle client processes wake up
 * slower than one busy one whatever they ask, and the report separates that from the cost of
 * sharing a memory space.
 */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import * as hdr from 'hdr-histogram-js';
import { ENGRAM_DURABILITY, startEngram } from './lib/engram-server.js';
import { announceProcess, describeSystem, duration, emit, histogram, QUICK, summarize, type Histogram } from './lib/stats.js';

const CLIENT = resolve(import.meta.dirname, 'lib/memory-client.js');
const RATE = 400;

interface Round {
  h: Histogram;
  seconds: number;
  done: number;
}

async function round(mode: 'memory' | 'floor', port: number, processes: number, tag: string, seconds: number): Promise<Round> {
  const children = Array.from({ length: processes }, (_, k) => {
    const child = spawn(process.execPath, [CLIENT, mode, String(port), 'bench', `${tag}-p${k}`, String(RATE / processes), String(seconds), String(Math.round((k * 1e6) / RATE))], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    announceProcess(child.pid!, 'memory bench client');
    const lines = createInterface({ input: child.stdout! });
    const ready = new Promise<void>((ok) => lines.on('line', (l) => l === 'READY' && ok()));
    const result = new Promise<{ done: number; seconds: number; h: string }>((ok, fail) => {
      lines.on('line', (l) => l.startsWith('HISTOGRAM ') && ok(JSON.parse(l.slice('HISTOGRAM '.length))));
      child.on('exit', (code) => code !== 0 && fail(new Error(`memory bench client exited with ${code}`)));
    });
    return { child, ready, result };
  });
  await Promise.all(children.map((c) => c.ready));
  for (const c of children) c.child.stdin!.write('go\n');
  const parts = await Promise.all(children.map((c) => c.result));
  const h = histogram();
  for (const p of parts) h.add(hdr.decodeFromCompressedBase64(p.h));
  return { h, seconds: Math.max(...parts.map((p) => p.seconds)), done: parts.reduce((n, p) => n + p.done, 0) };
}

const server = await startEngram(['--search-enabled', 'false']);
describeSystem('engram', ENGRAM_DURABILITY);
try {
  const seconds = duration(3);
  const best = new Map<string, Round>();
  const plan = (QUICK ? [0] : [0, 1]).flatMap((r) => (['memory', 'floor'] as const).flatMap((mode) => [1, 4].map((n) => ({ r, mode, n }))));
  for (const { r, mode, n } of plan) {
    const result = await round(mode, server.port, n, `${mode}-r${r}n${n}`, seconds);
    const key = `${mode}/${n}`;
    const prior = best.get(key);
    if (prior === undefined || result.h.getValueAtPercentile(99) < prior.h.getValueAtPercentile(99)) best.set(key, result);
  }
  for (const [key, r] of best) {
    const [mode, n] = key.split('/') as [string, string];
    const who = n === '1' ? '1 client process' : `${n} client processes`;
    const what = mode === 'memory' ? 'memory commands' : 'floor: GET /healthz';
    emit(summarize('memory', `${what}, open loop ${RATE}/s total, ${who}`, r.h, r.seconds, { processes: Number(n), rate: RATE, kind: mode, runs: QUICK ? 1 : 2 }));
  }
} finally {
  await server.stop();
}
