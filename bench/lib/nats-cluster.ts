/**
 * A NATS JetStream cluster of `size` servers on loopback (Debian's nats-server), each with its
 * own file store, for the scale-out benchmark and tests. Servers are ended by PID; one can be killed and
 * started again on the same ports and store, as a machine failing and coming back would.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitForPort } from './peers.js';

export const NATS_SERVER = 'nats-server';

/** Why the cluster tests cannot run here, or false when they can. */
export function natsMissing(): string | false {
  const r = spawnSync(NATS_SERVER, ['--version'], { encoding: 'utf8' });
  return r.error || r.status !== 0 ? `${NATS_SERVER} is not installed (make test installs it as root)` : false;
}

interface Member {
  name: string;
  port: number;
  clusterPort: number;
  dir: string;
  proc: ChildProcess | undefined;
}

export class NatsCluster {
  private onStart: ((pid: number) => void) | undefined;

  private constructor(
    readonly members: Member[],
    private readonly root: string,
  ) {}

  /** `onStart`: told each server's PID as it starts (the benchmark announces the processes it starts). */
  static async start(size = 3, onStart?: (pid: number) => void): Promise<NatsCluster> {
    const root = mkdtempSync(join(tmpdir(), 'engram-nats-'));
    const members: Member[] = [];
    for (let i = 0; i < size; i++) members.push({ name: `n${i}`, port: await freePort(), clusterPort: await freePort(), dir: join(root, `n${i}`), proc: undefined });
    const cluster = new NatsCluster(members, root);
    cluster.onStart = onStart;
    await Promise.all(members.map((_, i) => cluster.startMember(i)));
    return cluster;
  }

  /** Client URLs of the servers running now. */
  get urls(): string[] {
    return this.members.filter((m) => m.proc !== undefined).map((m) => `nats://127.0.0.1:${m.port}`);
  }

  async startMember(i: number): Promise<void> {
    const m = this.members[i]!;
    const routes = this.members
      .filter((o) => o !== m)
      .map((o) => `nats-route://127.0.0.1:${o.clusterPort}`)
      .join(',');
    // One server alone is a standalone JetStream server (no cluster to form).
    const clustering = this.members.length === 1 ? [] : ['--cluster_name', 'engram-test', '--cluster', `nats://127.0.0.1:${m.clusterPort}`, '--routes', routes];
    const proc = spawn(NATS_SERVER, ['-a', '127.0.0.1', '-p', String(m.port), '-n', m.name, '-js', '-sd', m.dir, ...clustering], { stdio: ['ignore', 'ignore', 'pipe'] });
    proc.unref();
    (proc.stderr as unknown as { unref(): void }).unref();
    const killOnExit = () => proc.kill('SIGKILL');
    process.once('exit', killOnExit);
    proc.once('exit', () => process.removeListener('exit', killOnExit));
    m.proc = proc;
    this.onStart?.(proc.pid!);
    await waitForPort(m.port, proc, 10_000);
  }

  /** Kills one server (SIGKILL, by PID): a machine failing. */
  async kill(i: number): Promise<void> {
    const m = this.members[i]!;
    const proc = m.proc;
    if (proc === undefined) return;
    m.proc = undefined;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.ref(); // the wait for its exit keeps this process alive
    proc.kill('SIGKILL');
    await exited;
  }

  async stop(): Promise<void> {
    await Promise.all(
      this.members.map(async (m) => {
        const proc = m.proc;
        if (proc === undefined) return;
        m.proc = undefined;
        const exited = new Promise((r) => proc.once('exit', r));
        proc.ref();
        proc.kill('SIGTERM');
        const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(t);
      }),
    );
    rmSync(this.root, { recursive: true, force: true });
  }
}
