/** Starts bin/engram for a benchmark: loopback, port 0, a fresh data dir, removed afterwards. */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { announceProcess } from './stats.js';

const MAIN = resolve(import.meta.dirname, '../../src/main.js');
/**
 * Extra node flags for the server, e.g. ENGRAM_BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof"
 * to profile it under a scenario's load (node refuses --cpu-prof in NODE_OPTIONS).
 */
const NODE_ARGS = (process.env.ENGRAM_BENCH_NODE_ARGS ?? '').split(' ').filter((a) => a !== '');
/** ENGRAM_BENCH_SERVER_CPUS="0": the server runs pinned to these cores (taskset), the load generator elsewhere. */
export const SERVER_CPUS = process.env.ENGRAM_BENCH_SERVER_CPUS ?? '';

/** How an acknowledged write is kept, with the default `storage.sync=false` and with `--storage-sync`. */
export const ENGRAM_DURABILITY = 'LevelDB log, written to the OS before the ack, not fsynced (storage.sync=false, the default)';
export const ENGRAM_DURABILITY_SYNC = 'LevelDB log, fsynced before the ack (storage.sync=true)';

export interface BenchServer {
  port: number;
  /** The gRPC port (on 127.0.0.1); 0 when gRPC is off. */
  grpcPort: number;
  pid: number;
  dataDir: string;
  stop(): Promise<void>;
}

export function benchDataDir(): string {
  return mkdtempSync(join(tmpdir(), 'engram-bench-'));
}

/** Starts a server; a data dir passed in is kept at stop, one made here is removed. */
export async function startEngram(args: string[] = [], dataDir?: string): Promise<BenchServer> {
  const dir = dataDir ?? mkdtempSync(join(tmpdir(), 'engram-bench-'));
  const argv = [...NODE_ARGS, MAIN, 'serve', '--addr', '127.0.0.1:0', '--grpc-addr', '127.0.0.1:0', '--data-dir', dir, '--log-level', 'warn', ...args];
  const proc = spawn(SERVER_CPUS === '' ? process.execPath : 'taskset', SERVER_CPUS === '' ? argv : ['-c', SERVER_CPUS, process.execPath, ...argv], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  announceProcess(proc.pid!, 'engram');
  // If the benchmark dies, its server must not outlive it.
  const killOnExit = () => proc.kill('SIGKILL');
  process.once('exit', killOnExit);
  const lines = createInterface({ input: proc.stdout! });
  const first = await new Promise<string>((resolveLine, reject) => {
    lines.once('line', resolveLine);
    proc.once('exit', (code) => reject(new Error(`engram exited with ${code} before listening`)));
  });
  const { addr, grpcAddr } = JSON.parse(first) as { addr: string; grpcAddr: string | null };
  const port = Number(addr.slice(addr.lastIndexOf(':') + 1));
  const grpcPort = grpcAddr ? Number(grpcAddr.slice(grpcAddr.lastIndexOf(':') + 1)) : 0;
  // Wait for readiness (storage open) by polling /readyz: start-up, not a measurement.
  for (let i = 0; i < 200; i++) {
    const ok = await fetch(`http://127.0.0.1:${port}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    await new Promise((r) => setTimeout(r, 25));
  }
  // And for the search embedder: loading its word vectors takes a core for ~2 s after start,
  // which would otherwise land in the first measurement.
  for (let i = 0; i < 400; i++) {
    const status = await fetch(`http://127.0.0.1:${port}/search/status`).then(
      async (r) => (r.ok ? ((await r.json()) as { embedder?: { ready: boolean | null } }) : null),
      () => null,
    );
    if (status === null || status.embedder?.ready !== false) break;
    await new Promise((r) => setTimeout(r, 25));
  }
  return {
    port,
    grpcPort,
    pid: proc.pid!,
    dataDir: dir,
    stop: () =>
      new Promise<void>((resolveStop) => {
        const finish = () => {
          process.removeListener('exit', killOnExit);
          if (dataDir === undefined) rmSync(dir, { recursive: true, force: true });
          resolveStop();
        };
        if (proc.exitCode !== null || proc.signalCode !== null) return finish();
        proc.once('exit', finish);
        proc.kill('SIGTERM');
      }),
  };
}

/**
 * Waits until search has indexed everything written so far. Engram indexes after acking, on
 * a worker thread; a burst of writes leaves seconds of indexing behind it, which would eat
 * into the CPU of the next measurement on 2 cores. Scenarios call this between phases so
 * each phase starts from the steady state.
 */
export async function searchCaughtUp(port: number): Promise<void> {
  for (;;) {
    const s = await fetch(`http://127.0.0.1:${port}/search/status`).then(
      async (r) => (r.ok ? ((await r.json()) as { behind: number; embedder: { ready: boolean | null } }) : null),
      () => null,
    );
    if (s === null || (s.behind === 0 && s.embedder.ready !== false)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
}
