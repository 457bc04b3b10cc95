/**
 * What approvals know, derived from the log's units alone (docs/agents.md#approvals): every
 * request and its decision, by space and request id. Committed units are applied as the engine
 * reports them (this node's writes and, on a shared log, every other node's); the units stored
 * before this process started are read once, in position order, the first time they are needed.
 * Applying is order-free: of several decisions of one request, the one with the lowest seq stands.
 */
import { joinKey } from '../basics/compound-key.js';
import { isApprovalJson, readApprovalUnit, type StoredDecision, type StoredRequest } from './approval-units.js';

export interface ApprovalEntry {
  space: string;
  /** The request unit's log position (a trim names the positions it removed). */
  pos: number;
  request: StoredRequest;
  decision: StoredDecision | undefined;
}

/** What the index reads the log's older units with (Log.readByPosition). */
export interface PositionReader {
  readByPosition(from: number, limit: number): Promise<Array<{ pos: number; clientId: string; contextId: string; json: string }>>;
}

/** What the index is told of each committed part (the engine's CommitEvent, as far as it reads it). */
export interface CommittedPart {
  clientId: string;
  contextId: string;
  units: string[];
  positions: number[];
  deleted?: unknown;
  trimmed?: { positions: number[] };
}

const SCAN_PAGE = 1000;
const LIST_KEY = '\u0000list';

export class ApprovalIndex {
  /** By joinKey(space, requestId). */
  private readonly entries = new Map<string, ApprovalEntry>();
  /** Request keys by joinKey(space, contextId), so a deletion or trim finds its context's. */
  private readonly byContext = new Map<string, Set<string>>();
  /** Decisions applied before their request (the first read of the log racing live commits). */
  private readonly orphans = new Map<string, StoredDecision>();
  private readonly waiters = new Map<string, Set<() => void>>();
  /** Changes of the set of approvals (a request or a decision applied, a context dropped), for lists that wait for one. */
  private changes = 0;
  private readonly boot = Date.now().toString(36);
  private loading: Promise<void> | undefined;
  /** Contexts deleted while the first read of the log runs: what it read of them is gone. */
  private deletedWhileLoading: Set<string> | undefined;

  constructor(private readonly log: PositionReader) {}

  /** Applies committed parts, in log order. */
  applyCommitted(parts: readonly CommittedPart[]): void {
    for (const e of parts) {
      if (e.deleted !== undefined) this.dropContext(e.clientId, e.contextId, 'all');
      else if (e.trimmed !== undefined) this.dropContext(e.clientId, e.contextId, new Set(e.trimmed.positions));
      else e.units.forEach((json, i) => isApprovalJson(json) && this.apply(e.clientId, json, e.positions[i]!));
    }
  }

  /** Resolves once the units stored up to `upTo` (the position committed when first called) are applied; read once. */
  loaded(upTo: () => number): Promise<void> {
    this.loading ??= this.load(upTo()).catch((err: unknown) => {
      this.loading = undefined;
      throw err;
    });
    return this.loading;
  }

  get(space: string, requestId: string): ApprovalEntry | undefined {
    return this.entries.get(joinKey(space, requestId));
  }

  all(): IterableIterator<ApprovalEntry> {
    return this.entries.values();
  }

  /** Resolves when the request is decided or dropped, after `ms`, or when `signal` aborts. */
  untilDecided(space: string, requestId: string, ms: number, signal: AbortSignal | undefined): Promise<void> {
    return this.waitFor(joinKey(space, requestId), ms, signal);
  }

  /** Resolves at the next change of `version`, after `ms`, or when `signal` aborts. */
  untilChanged(ms: number, signal: AbortSignal | undefined): Promise<void> {
    return this.waitFor(LIST_KEY, ms, signal);
  }

  /** What a list's `version` is: it changes whenever an approval is asked, decided or dropped (not when one expires). */
  get version(): string {
    return `${this.boot}.${this.changes}`;
  }

  stats(): { known: number; waiting: number; loaded: boolean } {
    let waiting = 0;
    for (const set of this.waiters.values()) waiting += set.size;
    return { known: this.entries.size, waiting, loaded: this.loading !== undefined && this.deletedWhileLoading === undefined };
  }

  /** Reads the log's approval units up to the position committed now; later ones arrive through onCommit. */
  private async load(upTo: number): Promise<void> {
    this.deletedWhileLoading = new Set();
    try {
      for (let from = 1; from <= upTo;) {
        const page = await this.log.readByPosition(from, SCAN_PAGE);
        if (page.length === 0) break;
        for (const u of page) {
          if (u.pos > upTo) return;
          if (isApprovalJson(u.json) && !this.deletedWhileLoading.has(joinKey(u.clientId, u.contextId))) this.apply(u.clientId, u.json, u.pos);
        }
        from = page[page.length - 1]!.pos + 1;
      }
    } finally {
      this.deletedWhileLoading = undefined;
      this.orphans.clear();
    }
  }

  private apply(space: string, json: string, pos: number): void {
    const r = readApprovalUnit(json);
    if (r === undefined) return;
    if ('request' in r) {
      const key = joinKey(space, r.request.id);
      if (this.entries.has(key)) return;
      const orphan = this.orphans.get(key);
      this.orphans.delete(key);
      this.entries.set(key, { space, pos, request: r.request, decision: orphan?.contextId === r.request.contextId ? orphan : undefined });
      const ck = joinKey(space, r.request.contextId);
      let set = this.byContext.get(ck);
      if (set === undefined) this.byContext.set(ck, (set = new Set()));
      set.add(key);
      this.changed();
      return;
    }
    const d = r.decision;
    const key = joinKey(space, d.requestId);
    const e = this.entries.get(key);
    if (e === undefined) {
      const o = this.orphans.get(key);
      if (this.deletedWhileLoading !== undefined && (o === undefined || d.seq < o.seq)) this.orphans.set(key, d);
      return;
    }
    if (e.request.contextId !== d.contextId || (e.decision !== undefined && e.decision.seq <= d.seq)) return;
    e.decision = d;
    this.wake(key);
  }

  /** Forgets a context's requests whose units were removed (`gone`: their positions; all of them when the context was deleted). */
  private dropContext(space: string, contextId: string, gone: ReadonlySet<number> | 'all'): void {
    const ck = joinKey(space, contextId);
    if (gone === 'all') this.deletedWhileLoading?.add(ck);
    const set = this.byContext.get(ck);
    if (set === undefined) return;
    for (const key of set) {
      if (gone !== 'all' && !gone.has(this.entries.get(key)!.pos)) continue;
      this.entries.delete(key);
      set.delete(key);
      this.wake(key);
    }
    if (set.size === 0) this.byContext.delete(ck);
  }

  private waitFor(key: string, ms: number, signal: AbortSignal | undefined): Promise<void> {
    return new Promise((resolve) => {
      let set = this.waiters.get(key);
      if (set === undefined) this.waiters.set(key, (set = new Set()));
      const waiters = set;
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        waiters.delete(done);
        if (waiters.size === 0 && this.waiters.get(key) === waiters) this.waiters.delete(key);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal?.addEventListener('abort', done);
      waiters.add(done);
    });
  }

  private wake(key: string): void {
    const set = this.waiters.get(key);
    if (set !== undefined) for (const w of [...set]) w();
    this.changed();
  }

  private changed(): void {
    this.changes++;
    const set = this.waiters.get(LIST_KEY);
    if (set !== undefined) for (const w of [...set]) w();
  }
}
