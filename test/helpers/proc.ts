/** What a process holds, read from /proc: resident memory and open file descriptors (and how many of them are sockets). */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

export function processUsage(pid: number): { rss: number; fds: number; sockets: number } {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  const fds = readdirSync(`/proc/${pid}/fd`);
  let sockets = 0;
  for (const fd of fds) {
    try {
      if (readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith('socket:')) sockets++;
    } catch {
      // Closed between the listing and the read.
    }
  }
  return { rss: Number(m?.[1] ?? 0) * 1024, fds: fds.length, sockets };
}
