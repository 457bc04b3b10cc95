/**
 * The peers Engram is measured against in the same run: Redis (Streams) and NATS
 * (JetStream), from the machine's Debian packages. Each is started here on loopback, on a
 * free port, with a fresh temp dir, and stopped (by its PID) with the scenario. A peer
 * whose server is not installed is reported as missing, never faked.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { announceProcess } from './stats.js';

export type PeerName = 'redis' | 'nats';

interface PeerKind {
  command: string;
  /** The server's own version line. */
  versionArgs: string[];
  /** How an acknowledged write is kept in this configuration: printed beside every number. */
  durability: string;
  args(port: number, dir: string): string[];
}

export const PEERS: Record<PeerName, PeerKind> = {
  redis: {
    command: 'redis-server',
    versionArgs: ['--version'],
    durability: 'AOF, appendfsync everysec (written to the OS before the reply, fsynced once a second)',
    args: (port, dir) => [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--save',
      '',
      '--appendonly',
      'yes',
      '--appendfsync',
      'everysec',
      '--daemonize',
      'no',
      '--logfile',
      '',
      '--loglevel',
      'warning',
    ],
  },
  nats: {
    command: 'nats-server',
    versionArgs: ['--version'],
    durability: 'JetStream file store (written to the OS before the ack, fsync left to the server default)',
    args: (port, dir) => ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', dir],
  },
};

/** The peer's version line, or null when its server is not installed. */
export function peerVersion(name: PeerName): string | null {
  const r = spawnSync(PEERS[name].command, PEERS[name].versionArgs, { encoding: 'utf8' });
  if (r.error || r.status !== 0) return null;
  return r.stdout.trim().split('\n')[0] ?? null;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

export async function waitForPort(port: number, proc: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`server exited with ${proc.exitCode} before listening on ${port}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`nothing listening on ${port} after ${timeoutMs} ms`);
}

export interface PeerServer {
  name: PeerName;
  port: number;
  pid: number;
  durability: string;
  /** Stops the server; the data dir survives only with `keepData` (a restart for cold reads). */
  stop(keepData?: boolean): Promise<void>;
  /** Stops and starts the server again on the same port and data. */
  restart(): Promise<PeerServer>;
}

export async function startPeer(name: PeerName, reuse?: { port: number; dir: string }): Promise<PeerServer> {
  const kind = PEERS[name];
  const dir = reuse?.dir ?? mkdtempSync(join(tmpdir(), `engram-bench-${name}-`));
  const port = reuse?.port ?? (await freePort());
  // Their start-up banners are noise in a benchmark log: keep the tail, show it only if the server dies.
  const proc = spawn(kind.command, kind.args(port, dir), { stdio: ['ignore', 'pipe', 'pipe'] });
  announceProcess(proc.pid!, kind.command);
  let log = '';
  const keep = (d: Buffer) => void (log = (log + d.toString()).slice(-2000));
  proc.stdout!.on('data', keep);
  proc.stderr!.on('data', keep);
  let stopping = false;
  proc.once('exit', (code, signal) => {
    if (!stopping) process.stderr.write(`${kind.command} exited with ${code ?? signal}:\n${log}\n`);
  });
  const killOnExit = () => proc.kill('SIGKILL');
  process.once('exit', killOnExit);
  await waitForPort(port, proc, 10_000);
  const stop = (keepData = false) =>
    new Promise<void>((resolve) => {
      const finish = () => {
        process.removeListener('exit', killOnExit);
        if (!keepData) rmSync(dir, { recursive: true, force: true });
        resolve();
      };
      if (proc.exitCode !== null || proc.signalCode !== null) return finish();
      stopping = true;
      proc.once('exit', finish);
      proc.kill('SIGTERM');
    });
  return {
    name,
    port,
    pid: proc.pid!,
    durability: kind.durability,
    stop,
    restart: async () => {
      await stop(true);
      return startPeer(name, { port, dir });
    },
  };
}
