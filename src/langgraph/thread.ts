/**
 * One LangGraph thread as its Engram context holds it: the checkpoints, channel values and pending
 * writes its units carry, indexed for the saver's reads. A thread is rebuilt by applying its units
 * in seq order (`apply`), so the saver, a second process and a live watcher all read the same
 * history the same way.
 *
 * Units (docs/integrations.md, "How a thread is stored"):
 *   checkpoint: {lg: 'checkpoint', ns, id, parent?, checkpoint, metadata, values: {channel: [version, value?]}}
 *   writes:     {lg: 'writes', ns, checkpoint, task, path, writes: [[idx, channel, value]]}
 * where a value is a serializer's output (encoding.ts). A checkpoint unit carries only the channel
 * values that changed in it (`newVersions`); the others are found by (channel, version) in the units
 * before it, as LangGraph's Postgres saver keeps its blobs.
 */
import { compareWritesSortKeys, writesSortKey, type WritesSortKey } from '@langchain/langgraph-checkpoint';
import type { WorkUnit } from '../client/types.js';
import { isTyped, type Typed } from './encoding.js';

export interface StoredCheckpoint {
  ns: string;
  id: string;
  parent: string | undefined;
  checkpoint: Typed;
  metadata: Typed;
  seq: number;
}

export interface StoredWrite {
  taskId: string;
  channel: string;
  value: Typed;
  taskPath: string;
  idx: number;
}

export interface CheckpointUnit {
  lg: 'checkpoint';
  ns: string;
  id: string;
  parent?: string;
  checkpoint: Typed;
  metadata: Typed;
  /** Changed channels: `[version]` when the channel has no value (LangGraph's "empty"), else `[version, value]`. */
  values: Record<string, [string | number] | [string | number, Typed]>;
}

export interface WritesUnit {
  lg: 'writes';
  ns: string;
  checkpoint: string;
  task: string;
  path: string;
  writes: Array<[number, string, Typed]>;
}

export type ThreadUnit = CheckpointUnit | WritesUnit;

/** The payload's LangGraph part, or undefined for a unit that is not one (anything else in the context is left alone). */
export function threadUnitOf(unit: WorkUnit): ThreadUnit | undefined {
  const p = unit.payload as Partial<ThreadUnit> | null;
  if (typeof p !== 'object' || p === null || typeof p.ns !== 'string') return undefined;
  if (p.lg === 'checkpoint' && typeof p.id === 'string' && isTyped(p.checkpoint) && isTyped(p.metadata) && typeof p.values === 'object' && p.values !== null) {
    return p as CheckpointUnit;
  }
  if (p.lg === 'writes' && typeof p.checkpoint === 'string' && typeof p.task === 'string' && Array.isArray(p.writes)) return p as WritesUnit;
  return undefined;
}

const blobKey = (ns: string, channel: string, version: string | number): string => `${ns}\0${channel}\0${String(version)}`;
const writesKey = (ns: string, checkpointId: string): string => `${ns}\0${checkpointId}`;

export class ThreadState {
  private readonly checkpoints = new Map<string, Map<string, StoredCheckpoint>>();
  /** (ns, channel, version) → value, or null for a channel stored as empty. */
  private readonly blobs = new Map<string, Typed | null>();
  /** (ns, checkpoint) → `${taskId},${idx}` → write. */
  private readonly writes = new Map<string, Map<string, StoredWrite>>();

  apply(unit: WorkUnit): ThreadUnit | undefined {
    const u = threadUnitOf(unit);
    if (u === undefined) return undefined;
    if (u.lg === 'checkpoint') {
      let byId = this.checkpoints.get(u.ns);
      if (byId === undefined) this.checkpoints.set(u.ns, (byId = new Map()));
      byId.set(u.id, { ns: u.ns, id: u.id, parent: u.parent, checkpoint: u.checkpoint, metadata: u.metadata, seq: unit.seq });
      for (const [channel, entry] of Object.entries(u.values)) {
        this.blobs.set(blobKey(u.ns, channel, entry[0]), entry.length > 1 ? (entry[1] as Typed) : null);
      }
    } else {
      const key = writesKey(u.ns, u.checkpoint);
      let stored = this.writes.get(key);
      if (stored === undefined) this.writes.set(key, (stored = new Map()));
      for (const [idx, channel, value] of u.writes) {
        const inner = `${u.task},${idx}`;
        // A regular write (idx ≥ 0) is stored once: a retried task does not replace it. Special
        // writes (errors, interrupts: negative idx) take the newest, as LangGraph's savers do.
        if (idx >= 0 && stored.has(inner)) continue;
        stored.set(inner, { taskId: u.task, channel, value, taskPath: u.path ?? '', idx });
      }
    }
    return u;
  }

  namespaces(): string[] {
    return [...this.checkpoints.keys()];
  }

  checkpoint(ns: string, id: string): StoredCheckpoint | undefined {
    return this.checkpoints.get(ns)?.get(id);
  }

  /** The newest checkpoint of a namespace: the largest id (LangGraph's ids sort by time). */
  latest(ns: string): StoredCheckpoint | undefined {
    let best: StoredCheckpoint | undefined;
    for (const c of this.checkpoints.get(ns)?.values() ?? []) if (best === undefined || c.id > best.id) best = c;
    return best;
  }

  /** A namespace's checkpoints, newest first. */
  newestFirst(ns: string): StoredCheckpoint[] {
    return [...(this.checkpoints.get(ns)?.values() ?? [])].sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
  }

  /** The stored value of a channel at a version: undefined when none was stored, null when stored empty. */
  blob(ns: string, channel: string, version: string | number): Typed | null | undefined {
    return this.blobs.get(blobKey(ns, channel, version));
  }

  /** A checkpoint's pending writes in the order live execution applies them (writesSortKey). */
  pendingWrites(ns: string, checkpointId: string): StoredWrite[] {
    const stored = this.writes.get(writesKey(ns, checkpointId));
    if (stored === undefined) return [];
    const keyed: Array<{ key: WritesSortKey; write: StoredWrite }> = [...stored.values()].map((write) => ({
      key: writesSortKey(write.taskPath, write.taskId, write.idx),
      write,
    }));
    keyed.sort((a, b) => compareWritesSortKeys(a.key, b.key));
    return keyed.map((k) => k.write);
  }
}
