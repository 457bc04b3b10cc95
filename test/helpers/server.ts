/** Starts the real bin/engram on loopback (port 0) with a temp data dir, as a child process. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before } from 'node:test';
import { HttpClient } from './http.js';
import { WAIT_MS, withTimeout } from './wait.js';

export const ENGRAM_BIN = resolve(import.meta.dirname, '../../../bin/engram');

export interface RunningServer {
  url: string;
  host: string;
  port: number;
  /** The gRPC listen address, host:port (from the first log line). */
  grpcAddr: string;
  dataDir: string;
  proc: ChildProcess;
  /** Every stdout line (JSON log records) so far. */
  lines: string[];
  /** Sends a signal and resolves with the exit code (or the signal name). */
  stop(signal?: NodeJS.Signals): Promise<number | string>;
  /** Waits for the first log line that matches. */
  waitForLine(match: (record: Record<string, unknown>) => boolean, ms?: number): Promise<Record<string, unknown>>;
}

export function tempDir(prefix = 'engram-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

export interface StartOptions {
  dataDir?: string;
  args?: string[];
  env?: Record<string, string>;
  /** Wait for storage to be ready (default) or only for the listening line. */
  waitReady?: boolean;
  /** The launcher to run (default: this repository's bin/engram; e.g. one installed from the packed package). */
  bin?: string;
  /** Pass no --addr: the address comes from ENGRAM_ADDR in `env` (a flag would win over it). */
  addrFromEnv?: boolean;
}

export async function startServer(options: StartOptions = {}): Promise<RunningServer> {
  const dataDir = options.dataDir ?? tempDir();
  const addr = options.addrFromEnv ? [] : ['--addr', '127.0.0.1:0'];
  const proc = spawn(options.bin ?? ENGRAM_BIN, ['serve', ...addr, '--grpc-addr', '127.0.0.1:0', '--data-dir', dataDir, ...(options.args ?? [])], {
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // A test that fails before stopping its server must not hang the file: the child does not
  // keep this process alive, and it dies with it.
  proc.unref();
  (proc.stdout as unknown as { unref(): void }).unref();
  (proc.stderr as unknown as { unref(): void }).unref();
  const killOnExit = () => proc.kill('SIGKILL');
  process.once('exit', killOnExit);
  proc.once('exit', () => process.removeListener('exit', killOnExit));
  const lines: string[] = [];
  const listeners = new Set<(record: Record<string, unknown>) => void>();
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  createInterface({ input: proc.stdout! }).on('line', (line) => {
    lines.push(line);
    let record: Record<string, unknown>;
    try {
      record = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return;
    }
    for (const l of listeners) l(record);
  });
  // 'close', not 'exit': by then every line it wrote has been read (a line is not lost to a race
  // with the exit, and `lines` is complete after stop()).
  const exited = new Promise<number | string>((resolveExit) => {
    proc.on('close', (code, signal) => resolveExit(code ?? signal ?? 'unknown'));
  });

  // Start-up opens storage and loads the embedder's word vectors: seconds on a busy machine.
  const waitForLine = (match: (r: Record<string, unknown>) => boolean, ms = WAIT_MS) => {
    for (const line of lines) {
      try {
        const r = JSON.parse(line) as Record<string, unknown>;
        if (match(r)) return Promise.resolve(r);
      } catch {
        /* not JSON */
      }
    }
    return withTimeout(
      new Promise<Record<string, unknown>>((resolveLine, rejectLine) => {
        const l = (r: Record<string, unknown>) => {
          if (match(r)) {
            listeners.delete(l);
            resolveLine(r);
          }
        };
        listeners.add(l);
        void exited.then((code) => rejectLine(new Error(`server exited (${code}) before the expected log line; stderr: ${stderr}; stdout: ${lines.join('\n')}`)));
      }),
      ms,
      'server log line',
    );
  };

  const first = await waitForLine(() => true);
  if (first.msg !== 'engram listening' || typeof first.addr !== 'string') {
    throw new Error(`unexpected first log line: ${JSON.stringify(first)}`);
  }
  const [host, port] = [first.addr.slice(0, first.addr.lastIndexOf(':')), Number(first.addr.slice(first.addr.lastIndexOf(':') + 1))];
  // null when gRPC is off (--grpc-enabled false).
  const grpcAddr = typeof first.grpcAddr === 'string' ? first.grpcAddr : '';
  if (options.waitReady !== false) await waitForLine((r) => r.msg === 'storage ready');
  return {
    // https:// when the server serves TLS (server.tls).
    url: typeof first.url === 'string' ? first.url : `http://${first.addr}`,
    host,
    port,
    grpcAddr,
    dataDir,
    proc,
    lines,
    waitForLine,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      const code = await withTimeout(exited, WAIT_MS, 'server exit');
      // A native abort names its cause only on stderr: keep it for whoever reads the failure.
      if (code === 'SIGABRT' || code === 'SIGSEGV') process.stderr.write(`# server ${proc.pid} ended with ${code}; its stderr:\n${stderr.slice(-4000)}\n`);
      return code;
    },
  };
}

/**
 * Starts a server on a random port below Linux's ephemeral range (a restart can bind it again at
 * once, while an ephemeral port may still have connections in TIME_WAIT), trying another port when
 * the server exits (the port was taken). A server that is only slow to start is an error here, not
 * a taken port: starting another one beside it would find the data dir in use.
 */
export async function startOnFixedPort(options: (port: number) => StartOptions): Promise<{ server: RunningServer; port: number }> {
  let last: unknown;
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 10_000);
    try {
      return { server: await startServer(options(port)), port };
    } catch (err) {
      if (!/^server exited/.test((err as Error).message)) throw err;
      last = err;
    }
  }
  throw new Error(`no free port found: ${(last as Error).message}`);
}

/**
 * One server for a whole test file: started before the first test, stopped (and its data dir
 * removed) after the last, with an HTTP client on it. Read the fields inside tests, not at load.
 */
export function serverPerFile(options: StartOptions = {}): { server: RunningServer; http: HttpClient } {
  const ctx = {} as { server: RunningServer; http: HttpClient };
  before(async () => {
    ctx.server = await startServer(options);
    ctx.http = new HttpClient(ctx.server.url);
  });
  after(async () => {
    ctx.http.close();
    const code = await ctx.server.stop();
    removeDir(ctx.server.dataDir);
    if (code !== 0) throw new Error(`server exited with ${code} at the end of the file`);
  });
  return ctx;
}
