/**
 * Runs bench/native/fanout-subscriber (built with the machine's C compiler by
 * `make bench`): N cheap subscribers in one C process with an epoll loop. Its clock is
 * CLOCK_MONOTONIC, the same as process.hrtime, so arrival times compare directly with
 * the intended send times of the load generator.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { announceProcess } from './stats.js';

export const NATIVE_SUBSCRIBER = resolve(import.meta.dirname, '../native/fanout-subscriber');

export function nativeSubscriberAvailable(): boolean {
  return existsSync(NATIVE_SUBSCRIBER);
}

export interface Arrivals {
  counts: Uint32Array;
  latest: Float64Array;
}

export class NativeSubscribers {
  private readonly proc: ChildProcessWithoutNullStreams;
  private readonly lines: string[] = [];
  private readonly ready: Promise<void>;
  private readonly done: Promise<void>;

  /** `mode` is `redis:<stream key>` for Redis Streams readers (see the C program's header). */
  constructor(
    port: number,
    count: number,
    private readonly units: number,
    handshake: string,
    readyToken: string,
    mode?: string,
  ) {
    this.proc = spawn(NATIVE_SUBSCRIBER, [String(port), String(count), String(units), handshake, readyToken, ...(mode ? [mode] : [])]);
    announceProcess(this.proc.pid!, 'fanout-subscriber');
    const rl = createInterface({ input: this.proc.stdout });
    let onReady!: () => void;
    let onDone!: () => void;
    this.ready = new Promise((r) => (onReady = r));
    this.done = new Promise((r) => (onDone = r));
    rl.on('line', (line) => {
      if (line === 'READY') onReady();
      else if (line === 'DONE') onDone();
      else this.lines.push(line);
    });
    this.proc.stderr.on('data', (d: Buffer) => process.stderr.write(`  subscriber: ${d.toString()}`));
    this.proc.on('exit', () => {
      onReady();
      onDone();
    });
  }

  whenReady(): Promise<void> {
    return this.ready;
  }

  /**
   * Waits until every unit reached every subscriber (or `timeoutMs` passed), then
   * returns, per unit, how many got it and when the last one did (µs).
   */
  async finish(timeoutMs: number): Promise<Arrivals> {
    const timer = setTimeout(() => this.proc.stdin.end(), timeoutMs);
    await this.done;
    clearTimeout(timer);
    const counts = new Uint32Array(this.units);
    const latest = new Float64Array(this.units);
    for (const line of this.lines) {
      const [n, c, t] = line.split(' ').map(Number);
      if (n! < this.units) {
        counts[n!] = c!;
        latest[n!] = t!;
      }
    }
    return { counts, latest };
  }
}
