/** What a process holds, read from /proc: resident memory and open file descriptors. */
import { readdirSync, readFileSync } from 'node:fs';

export function processUsage(pid: number): { rss: number; fds: number } {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return { rss: Number(m?.[1] ?? 0) * 1024, fds: readdirSync(`/proc/${pid}/fd`).length };
}
