/** The speed-of-light server (bench/sol-server.ts), started for one scenario in a temp data dir. */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { announceProcess } from './stats.js';

export async function startSol(): Promise<{ port: number; pid: number; stop(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'engram-bench-sol-'));
  const proc = spawn(process.execPath, [resolve(import.meta.dirname, '..', 'sol-server.js'), '--data-dir', dir], { stdio: ['ignore', 'pipe', 'inherit'] });
  announceProcess(proc.pid!, 'sol-server');
  process.once('exit', () => proc.kill('SIGKILL'));
  const port = await new Promise<number>((r) => proc.stdout.once('data', (d: Buffer) => r(Number(d.toString().trim()))));
  return {
    port,
    pid: proc.pid!,
    stop: () =>
      new Promise<void>((r) => {
        proc.once('exit', () => (rmSync(dir, { recursive: true, force: true }), r()));
        proc.kill('SIGTERM');
      }),
  };
}
