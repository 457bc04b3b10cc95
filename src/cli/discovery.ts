/**
 * The discovery file: a running server writes `engram.server.json` into its data dir (pid,
 * addresses, start time) once storage is open, and removes it on a clean exit. Whoever wants
 * the server for a data dir (a second `serve`, the CLI, the MCP bridge) reads it; a file whose
 * pid is no longer an Engram process was left by a crash and is stale.
 */
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const DISCOVERY_FILE = 'engram.server.json';

export interface Discovery {
  pid: number;
  /** HTTP base URL, e.g. http://127.0.0.1:8080 */
  url: string;
  addr: string;
  /** null when gRPC is off. */
  grpcAddr: string | null;
  startedAt: string;
  version: string;
}

export function discoveryPath(dataDir: string): string {
  return join(dataDir, DISCOVERY_FILE);
}

/** The file's content, or undefined when there is none (or it is not one of ours). */
export function readDiscovery(dataDir: string): Discovery | undefined {
  let text: string;
  try {
    text = readFileSync(discoveryPath(dataDir), 'utf8');
  } catch {
    return undefined;
  }
  try {
    const d = JSON.parse(text) as Partial<Discovery>;
    if (typeof d.pid !== 'number' || typeof d.url !== 'string' || typeof d.addr !== 'string') return undefined;
    return d as Discovery;
  } catch {
    return undefined;
  }
}

/**
 * Whether `pid` is a live Engram server. A pid can be reused after a crash, so on Linux the
 * process's command line must be ours too; where /proc cannot be read, a live pid counts.
 */
export function isEngramProcess(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return cmdline.includes('engram') || cmdline.includes('main.js');
  } catch {
    return true;
  }
}

/** Written atomically (a temp file renamed over it), so a reader never sees half a file. */
export function writeDiscovery(dataDir: string, d: Discovery): void {
  const path = discoveryPath(dataDir);
  const tmp = `${path}.${d.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(d, null, 2) + '\n');
  renameSync(tmp, path);
}

/** Removes the file if it is this process's (a stale one left by another is only ever replaced). */
export function removeDiscovery(dataDir: string, pid = process.pid): void {
  if (readDiscovery(dataDir)?.pid === pid) rmSync(discoveryPath(dataDir), { force: true });
}
