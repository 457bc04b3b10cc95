/**
 * The power-loss filesystem (test/helpers/lazyfs.py, a FUSE passthrough that keeps an undo log
 * of every byte and name change not yet fsynced) mounted in a temp dir: `dir` is where a data dir goes,
 * `dropUnsynced()` rolls every file back to its last fsync as a power cut would (call it only
 * once the processes using the mount are dead), `unmount()` ends it and removes both dirs.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { removeDir, tempDir } from './server.js';
import { withTimeout, WAIT_MS } from './wait.js';

const SCRIPT = resolve(import.meta.dirname, '../../../test/helpers/lazyfs.py');
const PYTHON = '/usr/bin/python3';

/** Why the filesystem cannot be mounted here (undefined: it can): tests skip with this. */
export function lazyFsMissing(): string | undefined {
  if (!existsSync('/dev/fuse')) return 'no /dev/fuse';
  if (spawnSync('which', ['fusermount']).status !== 0) return 'no fusermount (Debian fuse3 / fuse)';
  if (spawnSync(PYTHON, ['-c', 'import fusepy']).status !== 0) return 'no python3-fusepy (make system-deps installs it as root)';
  return undefined;
}

export interface DropResult {
  /** Files rolled back. */
  files: number;
  /** Writes, truncations and name changes undone. */
  changes: number;
}

export class LazyFs {
  private readonly lines: string[] = [];
  private readonly waiting: Array<(line: string) => void> = [];
  private readonly exited: Promise<number | string>;

  private constructor(
    /** The mount point: put the data dir here. */
    readonly dir: string,
    private readonly backing: string,
    private readonly proc: ChildProcess,
  ) {
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      const w = this.waiting.shift();
      if (w) w(line);
      else this.lines.push(line);
    });
    this.exited = new Promise((resolveExit) => proc.on('close', (code, signal) => resolveExit(code ?? signal ?? 'unknown')));
  }

  /**
   * `names`: `journal` (default) makes a name change (create, rename, unlink, mkdir) durable only
   * once anything is fsynced after it, as ext4's journal does; `durable` keeps names at once, as LazyFS.
   */
  static async mount(names: 'journal' | 'durable' = 'journal'): Promise<LazyFs> {
    const backing = tempDir('engram-lazyfs-backing-');
    const dir = tempDir('engram-lazyfs-');
    const proc = spawn(PYTHON, [SCRIPT, `--names=${names}`, backing, dir], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const fs = new LazyFs(dir, backing, proc);
    const ready = await withTimeout(Promise.race([fs.nextLine(), fs.exited.then((code) => `exited ${code}`)]), WAIT_MS, 'lazyfs mount');
    if (ready !== 'ready') throw new Error(`lazyfs did not mount (${ready}): ${stderr}`);
    return fs;
  }

  private nextLine(): Promise<string> {
    const l = this.lines.shift();
    if (l !== undefined) return Promise.resolve(l);
    return new Promise((r) => this.waiting.push(r));
  }

  private async command(c: string): Promise<string> {
    this.proc.stdin!.write(`${c}\n`);
    return withTimeout(this.nextLine(), WAIT_MS, `lazyfs ${c}`);
  }

  /** Every write not fsynced since is undone; resolves once the filesystem says it is done. */
  async dropUnsynced(): Promise<DropResult> {
    const answer = await this.command('drop');
    const m = /^dropped (\d+) (\d+)$/.exec(answer);
    if (!m) throw new Error(`lazyfs drop: ${answer}`);
    return { files: Number(m[1]), changes: Number(m[2]) };
  }

  async stats(): Promise<{ writes: number; fsyncs: number; pendingFiles: number }> {
    const answer = await this.command('stats');
    const m = /^stats (\d+) (\d+) (\d+)$/.exec(answer);
    if (!m) throw new Error(`lazyfs stats: ${answer}`);
    return { writes: Number(m[1]), fsyncs: Number(m[2]), pendingFiles: Number(m[3]) };
  }

  async unmount(): Promise<void> {
    if (this.proc.exitCode === null) {
      this.proc.stdin!.end('quit\n');
      await withTimeout(this.exited, WAIT_MS, 'lazyfs unmount').catch(() => {
        spawnSync('fusermount', ['-u', '-z', this.dir]);
        this.proc.kill('SIGKILL');
      });
    }
    removeDir(this.dir);
    removeDir(this.backing);
    removeDir(`${this.backing}.trash`);
  }
}
