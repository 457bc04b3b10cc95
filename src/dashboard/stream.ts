/**
 * One WebSocket for the whole page: context subscriptions and the lock stream, resumed after a
 * drop. Each subscription remembers the last seq it showed and resubscribes with since=that
 * seq, so a reconnect (a network blip, a server restart) shows every unit once, in order, with
 * no gap. Close codes 4000–4099 and network failures reconnect with backoff; 4400–4499 do not
 * retry unchanged (docs/streaming.md).
 */
import { token, type Context, type Lock, type PresenceMember, type WorkUnit } from './api.js';

export type StreamStatus = 'connecting' | 'live' | 'reconnecting' | 'stopped';

interface Subscription {
  lastSeq: number;
  onUnit: (u: WorkUnit) => void;
  onContext?: (c: Context) => void;
  onPresence?: (e: PresenceEvent) => void;
}

/** Who is in a followed context: everyone (`snapshot`, after each (re)subscribe), or one member that joined or left. */
export interface PresenceEvent {
  action: 'snapshot' | 'join' | 'leave';
  contextId: string;
  members?: PresenceMember[];
  member?: PresenceMember;
}

export interface LockEvent {
  action: string;
  /** The lock, for every action but `snapshot`. */
  lock?: Lock;
  /** `snapshot`: every lock held now (after the stream fell behind). */
  locks?: Lock[];
}

export class LiveStream {
  status: StreamStatus = 'connecting';
  /** Reconnections so far (shown, and read by the end-to-end tests). */
  reconnects = 0;
  private readonly statusListeners = new Set<(s: StreamStatus, detail?: string) => void>();
  private ws: WebSocket | undefined;
  private readonly subs = new Map<string, Subscription>();
  private readonly lockListeners = new Set<(e: LockEvent) => void>();
  private delayMs = 250;
  private timer: number | undefined;

  constructor() {
    this.connect();
  }

  /** Follows a context from after `since` (with `onPresence`: and who is in it); returns the function that stops following it. */
  subscribe(contextId: string, since: number, onUnit: (u: WorkUnit) => void, onContext?: (c: Context) => void, onPresence?: (e: PresenceEvent) => void): () => void {
    const sub: Subscription = { lastSeq: since, onUnit, ...(onContext ? { onContext } : {}), ...(onPresence ? { onPresence } : {}) };
    this.subs.set(contextId, sub);
    this.send({ op: 'subscribe', contextId, since, ...(onPresence ? { presence: true } : {}) });
    return () => {
      if (this.subs.get(contextId) !== sub) return;
      this.subs.delete(contextId);
      this.send({ op: 'unsubscribe', contextId });
    };
  }

  subscribeLocks(listener: (e: LockEvent) => void): () => void {
    if (this.lockListeners.size === 0) this.send({ op: 'subscribeLocks' });
    this.lockListeners.add(listener);
    return () => {
      this.lockListeners.delete(listener);
      if (this.lockListeners.size === 0) this.send({ op: 'unsubscribeLocks' });
    };
  }

  /** Drops the connection as a network failure would; it reconnects and resumes by itself. */
  drop(): void {
    this.ws?.close(4000, 'dropped by the page');
  }

  /** Reconnects now (after a new token was entered). */
  restart(): void {
    this.delayMs = 250;
    if (this.ws !== undefined) this.ws.close(4000, 'restart');
    else this.connect();
  }

  /** Told of every status change (and of stream errors, as a detail); returns the function that stops it. */
  onStatus(listener: (s: StreamStatus, detail?: string) => void): () => void {
    this.statusListeners.add(listener);
    return () => this.statusListeners.delete(listener);
  }

  private send(msg: Record<string, unknown>): void {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(msg));
  }

  private setStatus(s: StreamStatus, detail?: string): void {
    this.status = s;
    for (const l of this.statusListeners) l(s, detail);
  }

  private connect(): void {
    window.clearTimeout(this.timer);
    const t = token();
    // The page is present in the contexts it shows as agent "dashboard".
    const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/stream?agentId=dashboard${t ? `&access_token=${encodeURIComponent(t)}` : ''}`;
    const ws = new WebSocket(url);
    this.ws = ws;
    ws.onopen = () => {
      this.delayMs = 250;
      for (const [contextId, sub] of this.subs) ws.send(JSON.stringify({ op: 'subscribe', contextId, since: sub.lastSeq, ...(sub.onPresence ? { presence: true } : {}) }));
      if (this.lockListeners.size > 0) ws.send(JSON.stringify({ op: 'subscribeLocks' }));
      this.setStatus('live');
    };
    ws.onmessage = (e) => this.frame(JSON.parse(String(e.data)) as Record<string, unknown>);
    ws.onclose = (e) => {
      if (this.ws !== ws) return;
      this.ws = undefined;
      if (e.code >= 4400 && e.code < 4500 && e.code !== 4401) {
        this.setStatus('stopped', `the server closed the stream (${e.code} ${e.reason})`);
        return;
      }
      this.reconnects++;
      this.setStatus('reconnecting', e.code === 4401 ? 'credentials expired' : undefined);
      this.timer = window.setTimeout(() => this.connect(), this.delayMs);
      this.delayMs = Math.min(5000, this.delayMs * 2);
    };
  }

  private frame(f: Record<string, unknown>): void {
    switch (f.event) {
      case 'workunit': {
        const u = f.workUnit as WorkUnit;
        const sub = this.subs.get(u.contextId);
        // A unit at or below the last one shown was already shown (a resume's overlap): once only.
        if (sub === undefined || u.seq <= sub.lastSeq) return;
        sub.lastSeq = u.seq;
        sub.onUnit(u);
        return;
      }
      case 'context': {
        const c = f.context as Context;
        this.subs.get(c.id)?.onContext?.(c);
        return;
      }
      case 'presence':
        this.subs.get(String(f.contextId))?.onPresence?.(f as unknown as PresenceEvent);
        return;
      case 'lock':
        for (const l of this.lockListeners) l({ action: String(f.action), ...(f.lock ? { lock: f.lock as Lock } : {}), ...(f.locks ? { locks: f.locks as Lock[] } : {}) });
        return;
      case 'error': {
        const e = f.error as { code: string; message: string };
        for (const l of this.statusListeners) l(this.status, `${e.code}: ${e.message}`);
        return;
      }
    }
  }
}
