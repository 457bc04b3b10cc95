/**
 * A log in process memory: for unit tests of the engine and as the reference the
 * contract suite holds every other log to. Nothing survives the process.
 */
import {
  deletedContext,
  onlyListener,
  reportStored,
  trimmedContext,
  type CommitBatch,
  type ContextDeletion,
  type ContextTrim,
  type CommittedListener,
  type ContextListOptions,
  type ContextOutcome,
  type IdempotencyEntry,
  type Log,
  type LogCapabilities,
  type PositionedUnit,
  type SnapshotRecord,
  type SpaceUsage,
  type UnitLocation,
} from '../engine/log.js';
import type { ContextRecord } from '../basics/types.js';
import { joinKey } from '../basics/compound-key.js';
import { newEpoch } from '../basics/ids.js';

const key = joinKey;

export class MemoryLog implements Log {
  readonly capabilities: LogCapabilities = { sharedWriters: false };
  private listener: CommittedListener | undefined;
  private readonly units = new Map<string, string[]>(); // client+context → json by seq-1
  private readonly unitIndex = new Map<string, UnitLocation>();
  private readonly contexts = new Map<string, Map<string, ContextRecord>>();
  private readonly idempotency = new Map<string, IdempotencyEntry>();
  private readonly positions: Array<{ clientId: string; contextId: string; seq: number } | undefined> = [];
  private readonly embeddings = new Map<number, Float32Array>();
  /** client+context → projection → snapshots by seq. */
  private readonly snapshots = new Map<string, Map<string, Map<number, Uint8Array>>>();
  /** client+context → the incarnation a deletion left. */
  private readonly tombstones = new Map<string, string>();
  private isOpen = false;
  /** When set, the next commit fails with this error (tests of storage faults). */
  failNextCommit: Error | undefined;
  /** When set, unit range reads fail with this error. */
  failReads: Error | undefined;

  /** Memory holds one history, which a reopen keeps. */
  private readonly epochName = newEpoch();

  async open(): Promise<void> {
    this.isOpen = true;
  }

  epoch(): string {
    return this.epochName;
  }

  follow(listener: CommittedListener): void {
    this.listener = onlyListener(this.listener, listener);
  }

  /** Every write to it is this process's, applied before it was answered. */
  async catchUp(): Promise<void> {}

  async close(): Promise<void> {
    this.isOpen = false;
  }

  async commit(batch: CommitBatch): Promise<ContextOutcome[]> {
    if (!this.isOpen) throw new Error('log is closed');
    const failure = this.failNextCommit;
    if (failure !== undefined) {
      this.failNextCommit = undefined;
      throw failure;
    }
    for (const { clientId, record, changed, units, idempotency } of batch.parts) {
      for (const u of units) {
        const k = key(u.clientId, u.contextId);
        let list = this.units.get(k);
        if (list === undefined) this.units.set(k, (list = []));
        list[u.seq - 1] = u.json;
        this.unitIndex.set(key(u.clientId, u.id), { contextId: u.contextId, seq: u.seq });
        this.positions[u.pos] = { clientId: u.clientId, contextId: u.contextId, seq: u.seq };
        if (u.embedding !== undefined) this.embeddings.set(u.pos, u.embedding.slice());
      }
      let byId = this.contexts.get(clientId);
      if (byId === undefined) this.contexts.set(clientId, (byId = new Map()));
      const stored = byId.get(record.id);
      if (changed || stored === undefined) byId.set(record.id, structuredClone(record));
      else Object.assign(stored, { headSeq: record.headSeq, updatedAt: record.updatedAt });
      for (const e of idempotency) this.idempotency.set(key(e.clientId, e.contextId, e.key), { ...e });
    }
    return reportStored(batch, this.listener);
  }

  async deleteContext(clientId: string, contextId: string): Promise<ContextDeletion | undefined> {
    if (!this.isOpen) throw new Error('log is closed');
    const byId = this.contexts.get(clientId);
    if (byId?.get(contextId) === undefined) return undefined;
    const removed = this.removeUnits(clientId, contextId, Infinity, new Set());
    byId.delete(contextId);
    if (byId.size === 0) this.contexts.delete(clientId);
    const k = key(clientId, contextId);
    this.units.delete(k);
    this.snapshots.delete(k);
    const deletion: ContextDeletion = { clientId, contextId, incarnation: newEpoch(), ...removed };
    this.tombstones.set(k, deletion.incarnation);
    if (this.listener !== undefined) await this.listener([deletedContext(deletion)], 0).catch(() => undefined);
    return deletion;
  }

  async trimContext(clientId: string, contextId: string, firstSeq: number, keep: ReadonlySet<string>): Promise<ContextTrim | undefined> {
    if (!this.isOpen) throw new Error('log is closed');
    const record = this.contexts.get(clientId)?.get(contextId);
    const target = record === undefined ? 0 : Math.min(firstSeq, record.headSeq + 1);
    if (record === undefined || target <= (record.firstSeq ?? 1)) return undefined;
    const removed = this.removeUnits(clientId, contextId, target, keep);
    record.firstSeq = target;
    const trim: ContextTrim = { clientId, contextId, firstSeq: target, ...removed };
    if (this.listener !== undefined) await this.listener([trimmedContext(trim)], 0).catch(() => undefined);
    return trim;
  }

  /**
   * Removes a context's units with seqs below `below` but those `keep` names, with their id index
   * entries, positions, embeddings and idempotency keys (a deletion: every unit, `below` Infinity;
   * a trim keeps SUMMARY units too).
   */
  private removeUnits(clientId: string, contextId: string, below: number, keep: ReadonlySet<string>): { units: number; bytes: number; positions: number[] } {
    const list = this.units.get(key(clientId, contextId)) ?? [];
    const removed = new Set<number>();
    let bytes = 0;
    // From seq 1: pinned units kept below an earlier first seq go too, unless still kept.
    for (let seq = 1; seq < below && seq <= list.length; seq++) {
      const json = list[seq - 1];
      if (json === undefined) continue;
      const { id, type } = JSON.parse(json) as { id: string; type: string };
      // A trim keeps the summaries (Log.trimContext); a deletion takes everything.
      if (keep.has(id) || (below !== Infinity && type === 'SUMMARY')) continue;
      list[seq - 1] = undefined as unknown as string;
      this.unitIndex.delete(key(clientId, id));
      removed.add(seq);
      bytes += json.length;
    }
    const positions: number[] = [];
    this.positions.forEach((at, pos) => {
      if (at?.clientId === clientId && at.contextId === contextId && removed.has(at.seq)) {
        positions.push(pos);
        this.positions[pos] = undefined;
        this.embeddings.delete(pos);
      }
    });
    for (const [ik, e] of this.idempotency) if (e.clientId === clientId && e.contextId === contextId && removed.has(e.seq)) this.idempotency.delete(ik);
    return { units: removed.size, bytes, positions };
  }

  async incarnation(clientId: string, contextId: string): Promise<string | undefined> {
    return this.tombstones.get(key(clientId, contextId));
  }

  async getContext(clientId: string, contextId: string): Promise<ContextRecord | undefined> {
    const r = this.contexts.get(clientId)?.get(contextId);
    return r === undefined ? undefined : structuredClone(r);
  }

  async listContexts(clientId: string, options: ContextListOptions): Promise<ContextRecord[]> {
    const byId = this.contexts.get(clientId);
    if (byId === undefined) return [];
    return [...byId.keys()]
      .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
      .filter((id) => options.after === undefined || Buffer.compare(Buffer.from(id), Buffer.from(options.after)) > 0)
      .filter((id) => options.prefix === undefined || id.startsWith(options.prefix))
      .slice(0, options.limit)
      .map((id) => structuredClone(byId.get(id)!));
  }

  async readUnits(clientId: string, contextId: string, fromSeq: number, toSeq: number): Promise<string[]> {
    if (this.failReads) throw this.failReads;
    const list = this.units.get(key(clientId, contextId)) ?? [];
    const out: string[] = [];
    for (let s = Math.max(1, fromSeq); s <= Math.min(toSeq, list.length); s++) {
      const json = list[s - 1];
      if (json !== undefined) out.push(json);
    }
    return out;
  }

  async locateUnit(clientId: string, id: string): Promise<UnitLocation | undefined> {
    const loc = this.unitIndex.get(key(clientId, id));
    return loc === undefined ? undefined : { ...loc };
  }

  async getUnit(clientId: string, id: string): Promise<string | undefined> {
    const loc = this.unitIndex.get(key(clientId, id));
    return loc === undefined ? undefined : this.units.get(key(clientId, loc.contextId))?.[loc.seq - 1];
  }

  async getIdempotency(clientId: string, contextId: string, k: string): Promise<IdempotencyEntry | undefined> {
    const e = this.idempotency.get(key(clientId, contextId, k));
    return e === undefined ? undefined : { ...e };
  }

  async lastPosition(): Promise<number> {
    return Math.max(0, this.positions.length - 1);
  }

  async readByPosition(from: number, limit: number): Promise<PositionedUnit[]> {
    if (this.failReads) throw this.failReads;
    const out: PositionedUnit[] = [];
    for (let pos = Math.max(1, from); out.length < limit && pos < this.positions.length; pos++) {
      const at = this.positions[pos];
      if (at === undefined) continue;
      const json = this.units.get(key(at.clientId, at.contextId))?.[at.seq - 1];
      if (json !== undefined) out.push({ pos, ...at, json, embedding: this.embeddings.get(pos)?.slice() });
    }
    return out;
  }

  async readSpace(clientId: string, from: number, scan: number): Promise<{ units: PositionedUnit[]; next: number }> {
    const end = Math.min(this.positions.length, Math.max(1, from) + scan);
    const units: PositionedUnit[] = [];
    for (let pos = Math.max(1, from); pos < end; pos++) {
      const at = this.positions[pos];
      const json = at === undefined ? undefined : this.units.get(key(at.clientId, at.contextId))?.[at.seq - 1];
      if (at !== undefined && at.clientId === clientId && json !== undefined) units.push({ pos, ...at, json, embedding: this.embeddings.get(pos)?.slice() });
    }
    return { units, next: Math.max(from, end) };
  }

  async unitsAt(positions: number[]): Promise<Array<string | undefined>> {
    return positions.map((pos) => {
      const at = this.positions[pos];
      return at === undefined ? undefined : this.units.get(key(at.clientId, at.contextId))?.[at.seq - 1];
    });
  }

  async listSpaces(options: { after?: string; limit: number }): Promise<string[]> {
    return [...this.contexts.keys()]
      .filter((id) => (this.contexts.get(id)?.size ?? 0) > 0 && (options.after === undefined || id > options.after))
      .sort()
      .slice(0, options.limit);
  }

  async spaceUsage(clientId: string): Promise<SpaceUsage> {
    const records = [...(this.contexts.get(clientId)?.values() ?? [])];
    let bytes = 0;
    for (const r of records) for (const json of this.units.get(key(clientId, r.id)) ?? []) bytes += json?.length ?? 0;
    return { contexts: records.length, units: records.reduce((n, r) => n + r.headSeq, 0), bytes };
  }

  async sweepIdempotency(now: number, max: number): Promise<number> {
    let swept = 0;
    for (const [k, e] of this.idempotency) {
      if (swept >= max) break;
      if (e.expiresAt < now) {
        this.idempotency.delete(k);
        swept++;
      }
    }
    return swept;
  }

  async putSnapshot(clientId: string, contextId: string, snapshot: SnapshotRecord): Promise<void> {
    const k = key(clientId, contextId);
    let byProjection = this.snapshots.get(k);
    if (byProjection === undefined) this.snapshots.set(k, (byProjection = new Map()));
    let bySeq = byProjection.get(snapshot.projection);
    if (bySeq === undefined) byProjection.set(snapshot.projection, (bySeq = new Map()));
    bySeq.set(snapshot.seq, snapshot.data.slice());
  }

  async latestSnapshot(clientId: string, contextId: string, projection: string, atOrBelow: number): Promise<SnapshotRecord | undefined> {
    let best: SnapshotRecord | undefined;
    for (const [seq, data] of this.snapshots.get(key(clientId, contextId))?.get(projection) ?? []) {
      if (seq <= atOrBelow && (best === undefined || seq > best.seq)) best = { projection, seq, data: data.slice() };
    }
    return best;
  }

  async deleteSnapshots(clientId: string, contextId: string, only?: { projection: string; below: number }): Promise<number> {
    const byProjection = this.snapshots.get(key(clientId, contextId));
    if (byProjection === undefined) return 0;
    let n = 0;
    for (const [projection, bySeq] of byProjection) {
      if (only !== undefined && only.projection !== projection) continue;
      for (const seq of bySeq.keys()) {
        if (only !== undefined && seq >= only.below) continue;
        bySeq.delete(seq);
        n++;
      }
      if (bySeq.size === 0) byProjection.delete(projection);
    }
    if (byProjection.size === 0) this.snapshots.delete(key(clientId, contextId));
    return n;
  }
}
