/**
 * Starts an Engram server of its own for an example whose point is a setting (groups, API keys):
 * `engram serve` with that config file, a temporary data dir and free loopback ports. Resolves
 * once storage is ready; `stop()` ends it and removes the data dir.
 *
 * The launcher is this repository's bin/engram, or ENGRAM_BIN (in a project that installed the
 * package: node_modules/.bin/engram).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';

export interface ExampleServer {
  url: string;
  stop(): Promise<void>;
}

export async function serveWithConfig(configYaml: string, extraArgs: string[] = []): Promise<ExampleServer> {
  const bin = process.env.ENGRAM_BIN ?? resolve(import.meta.dirname, '../../../bin/engram');
  const dir = mkdtempSync(join(tmpdir(), 'engram-example-'));
  writeFileSync(join(dir, 'engram.yaml'), configYaml);
  const args = ['serve', '--config', join(dir, 'engram.yaml'), '--data-dir', join(dir, 'data'), '--addr', '127.0.0.1:0', '--grpc-addr', '127.0.0.1:0', ...extraArgs];
  const proc = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const killOnExit = () => proc.kill('SIGKILL');
  process.once('exit', killOnExit);
  let stderr = '';
  proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((done) => proc.once('close', () => done()));

  // The first line names the address; "storage ready" follows once requests can be served.
  const url = await new Promise<string>((ready, fail) => {
    let listening: string | undefined;
    createInterface({ input: proc.stdout }).on('line', (line) => {
      let record: { msg?: string; url?: string };
      try {
        record = JSON.parse(line) as typeof record;
      } catch {
        return;
      }
      if (record.msg === 'engram listening') listening = record.url;
      if (record.msg === 'storage ready' && listening !== undefined) ready(listening);
    });
    void exited.then(() => fail(new Error(`engram serve exited before it was ready: ${stderr}`)));
  });
  return {
    url,
    async stop() {
      proc.kill('SIGTERM');
      await exited;
      process.removeListener('exit', killOnExit);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
