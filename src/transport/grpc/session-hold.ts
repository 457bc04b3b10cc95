/**
 * Keeps every closed HTTP/2 session of the gRPC server alive until its streams are surely gone:
 * a guard against an abort inside Node 20's HTTP/2.
 *
 * Node frees the native half of a session when the collector takes its JS handle, and then checks
 * that nghttp2 holds no memory for it (node_http2.cc, `~Http2Session`: `CHECK_EQ(current_nghttp2_memory_, 0)`).
 * A stream whose header block failed (an invalid or upper-case header, a pseudo-header after a
 * regular one, a flow-control error in the same read) still holds header buffers nghttp2 allocated;
 * it is freed in an immediate after its close, or by the collector. If a collection takes the
 * session's handle first, the check fails and the process aborts: any peer that can reach the gRPC
 * port could stop the server (the fuzzer's raw HTTP/2 did within about 15,000 connections;
 * test/grpc/h2-abort.test.ts makes it happen within one or two thousand with frequent collections).
 *
 * So a closed session's handle is held here until (1) a short timer has fired, by which time the
 * immediates of its close have run, and then (2) two major collections have begun, in the first
 * of which any unreachable stream of it was freed while the session still lived. Only then may the
 * collector take the session. The cost is the native session's memory for that while.
 */
import type { EventEmitter } from 'node:events';
import { constants, performance, PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';

/** How long after a close its immediates surely have run. */
const SETTLE_MS = 100;
/** Major collections that must begin after that, before the handle is let go (see above). */
const MAJOR_GCS = 2;

interface Parked {
  handle: object;
  /** When the settle timer fired (performance.now()). */
  readyAt: number;
  /** Major collections begun since then. */
  majors: number;
}

export class ClosedSessionHold {
  private parked: Parked[] = [];
  private observer: PerformanceObserver | undefined;

  /** Holds each session `http2Server` opens from its close on, as described above. */
  watch(http2Server: EventEmitter): void {
    http2Server.on('session', (session: EventEmitter) => {
      const handle = handleOf(session);
      if (handle === undefined) return;
      session.once('close', () => {
        // The closure keeps the handle until the timer fires; then the parked list does.
        setTimeout(() => this.park(handle), SETTLE_MS).unref();
      });
    });
  }

  private park(handle: object): void {
    this.parked.push({ handle, readyAt: performance.now(), majors: 0 });
    if (this.observer === undefined) {
      // Observed only while something is held: a server without gRPC churn pays nothing.
      this.observer = new PerformanceObserver((list) => this.collected(list.getEntries()));
      this.observer.observe({ entryTypes: ['gc'] });
    }
  }

  private collected(entries: PerformanceEntry[]): void {
    for (const e of entries) {
      if ((e as { detail?: { kind?: number } }).detail?.kind !== constants.NODE_PERFORMANCE_GC_MAJOR) continue;
      for (const p of this.parked) if (e.startTime > p.readyAt) p.majors++;
    }
    this.parked = this.parked.filter((p) => p.majors < MAJOR_GCS);
    if (this.parked.length === 0) {
      this.observer?.disconnect();
      this.observer = undefined;
    }
  }
}

/** A session's native handle: Node keeps it under a private symbol, `kHandle`. */
function handleOf(session: EventEmitter): object | undefined {
  const key = Object.getOwnPropertySymbols(session).find((s) => s.description === 'kHandle');
  const handle = key === undefined ? undefined : (session as unknown as Record<symbol, unknown>)[key];
  return typeof handle === 'object' && handle !== null ? handle : undefined;
}

/**
 * The node:http2 servers a grpc-js Server listens with. grpc-js keeps them in a private map; a
 * version without it fails here, at start, rather than losing the guard above without a word.
 */
export function http2ServersOf(server: object): EventEmitter[] {
  const map = (server as { http2Servers?: unknown }).http2Servers;
  if (!(map instanceof Map)) throw new Error('@grpc/grpc-js has no http2Servers map: this version is not supported (see docs/grpc.md)');
  return [...(map as Map<EventEmitter, unknown>).keys()];
}
