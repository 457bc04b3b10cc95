/**
 * Token counts of work units, by a real tokenizer (gpt-tokenizer's byte-pair encodings, the
 * ones OpenAI's models use), computed once per unit and encoding and kept: in memory by seq, and
 * in the log's side records (the snapshot records of memory/snapshots.ts) once every unit of a
 * chunk of TOKEN_CHUNK seqs is counted, so a restart does not count them again. A context deleted
 * and written again starts a new history with a new epoch (Engine.epochOf): its counts in memory
 * go with the deletion, and stored chunks carry the epoch, so an old one is never taken for the
 * new history's.
 *
 * What is counted is a unit as the window hands it to a model: `agentId (TYPE): text`, the text
 * being a string payload, a payload's `text` field, or the payload's JSON (docs/agents.md).
 */
import type { SnapshotStore } from '../memory/snapshots.js';
import { decodeSnapshot, encodeSnapshot, type SnapshotCodec } from '../memory/snapshots.js';
import type { WorkUnit } from '../basics/types.js';

export const ENCODINGS = ['o200k_base', 'cl100k_base'] as const;
export type Encoding = (typeof ENCODINGS)[number];

/** Seqs per stored chunk of counts. */
export const TOKEN_CHUNK = 256;
/** Chunks kept in memory in all (4 MB of counts at most); the contexts least recently used go first, and are reloaded from their stored chunks. */
const MAX_CHUNKS = 4096;

/** A unit's text as the window gives it to a model (and counts it). */
export function unitLine(u: Pick<WorkUnit, 'agentId' | 'type' | 'payload'>): string {
  const p = u.payload as unknown;
  const text =
    typeof p === 'string' ? p : typeof p === 'object' && p !== null && typeof (p as { text?: unknown }).text === 'string' ? (p as { text: string }).text : JSON.stringify(p);
  return `${u.agentId} (${u.type}): ${text}`;
}

type Counter = (text: string) => number;
const counters = new Map<Encoding, Promise<Counter>>();

/** The encoding's counter, loaded on first use (its ranks are megabytes: a server that never asks for a window never loads them). */
function counter(encoding: Encoding): Promise<Counter> {
  let c = counters.get(encoding);
  if (c === undefined) {
    c =
      encoding === 'o200k_base'
        ? import('gpt-tokenizer/encoding/o200k_base').then((m) => (text: string) => m.countTokens(text))
        : import('gpt-tokenizer/encoding/cl100k_base').then((m) => (text: string) => m.countTokens(text));
    counters.set(encoding, c);
  }
  return c;
}

/** A chunk's counts, each stored as tokens + 1 (0: not counted yet). */
const chunkCodec = (encoding: Encoding): SnapshotCodec<Uint32Array> => ({
  name: `tokens.${encoding}`,
  version: 1,
  encode: (counts) => [...counts],
  decode: (data) => {
    if (!Array.isArray(data) || data.length !== TOKEN_CHUNK || !data.every((n) => Number.isInteger(n) && n > 0)) throw new TypeError('tokens: not a full chunk');
    return Uint32Array.from(data as number[]);
  },
});

interface Counts {
  /** The epoch of the history counted. */
  epoch: string;
  /** Chunks by index, loaded or being loaded (one read per chunk however many windows ask at once). */
  chunks: Map<number, Promise<Uint32Array>>;
  /** Chunks stored already (or being stored). */
  stored: Set<number>;
  /** Set when the context is deleted: a chunk being stored then is deleted again. */
  deleted: boolean;
}

/** One request's tally: how many units it counted (the rest had been counted before). */
export interface CountTally {
  counted: number;
}

export class TokenCounts {
  private readonly contexts = new Map<string, Counts>();

  /**
   * `onDeleted` registers a callback for deleted contexts (Engine.onCommit's deletion events, on
   * any node): their counts go with them.
   */
  constructor(
    private readonly store: SnapshotStore | undefined,
    onDeleted?: (listener: (space: string, contextId: string) => void) => void,
  ) {
    onDeleted?.((space, contextId) => {
      for (const encoding of ENCODINGS) this.drop(keyOf(space, contextId, encoding), true);
    });
  }

  /**
   * The tokens of the units at `seqs`, in order, of the history `epoch` of a context. Units not
   * counted before are counted now (`unitAt(i)` gives the unit at `seqs[i]`: only those are
   * parsed) and added to `tally`; chunks whose units are all counted are stored in the background.
   */
  async tokens(space: string, contextId: string, epoch: string, encoding: Encoding, seqs: number[], unitAt: (i: number) => WorkUnit, tally: CountTally): Promise<number[]> {
    const key = keyOf(space, contextId, encoding);
    let c = this.contexts.get(key);
    if (c === undefined || c.epoch !== epoch) {
      if (c !== undefined) this.drop(key, false);
      c = { epoch, chunks: new Map(), stored: new Set(), deleted: false };
    }
    this.contexts.delete(key);
    this.contexts.set(key, c);
    const out = new Array<number>(seqs.length);
    let count: Counter | undefined;
    const touched = new Set<number>();
    for (let i = 0; i < seqs.length; i++) {
      const seq = seqs[i]!;
      const chunk = Math.floor((seq - 1) / TOKEN_CHUNK);
      let loading = c.chunks.get(chunk);
      if (loading === undefined) {
        loading = this.load(space, contextId, c, encoding, chunk);
        c.chunks.set(chunk, loading);
      }
      const counts = await loading;
      const at = (seq - 1) % TOKEN_CHUNK;
      if (counts[at] === 0) {
        count ??= await counter(encoding);
        counts[at] = count(unitLine(unitAt(i))) + 1;
        tally.counted++;
        touched.add(chunk);
      }
      out[i] = counts[at]! - 1;
    }
    for (const chunk of touched) void this.maybeStore(space, contextId, c, encoding, chunk);
    this.evict(key);
    return out;
  }

  private async load(space: string, contextId: string, c: Counts, encoding: Encoding, chunk: number): Promise<Uint32Array> {
    const last = (chunk + 1) * TOKEN_CHUNK;
    if (this.store !== undefined) {
      try {
        const r = await this.store.latestSnapshot(space, contextId, `tokens.${encoding}`, last);
        if (r !== undefined && r.seq === last) {
          const counts = decodeSnapshot(chunkCodec(encoding), r.data, last, c.epoch);
          if (counts !== undefined) {
            c.stored.add(chunk);
            return counts;
          }
        }
      } catch {
        // A cache: unreadable, the units are counted again.
      }
    }
    return new Uint32Array(TOKEN_CHUNK);
  }

  private async maybeStore(space: string, contextId: string, c: Counts, encoding: Encoding, chunk: number): Promise<void> {
    const counts = await c.chunks.get(chunk);
    if (counts === undefined || this.store === undefined || c.stored.has(chunk) || c.deleted || counts.includes(0)) return;
    c.stored.add(chunk);
    const codec = chunkCodec(encoding);
    const last = (chunk + 1) * TOKEN_CHUNK;
    try {
      await this.store.putSnapshot(space, contextId, { projection: codec.name, seq: last, data: encodeSnapshot(codec, counts, last, c.epoch) });
      // Deleted while it was written: it must not outlive the context (its epoch would refuse it anyway).
      if (c.deleted) await this.store.deleteSnapshots(space, contextId);
    } catch {
      c.stored.delete(chunk);
    }
  }

  private drop(key: string, deleted: boolean): void {
    const c = this.contexts.get(key);
    if (c === undefined) return;
    if (deleted) c.deleted = true;
    this.contexts.delete(key);
  }

  /**
   * Drops the least recently used contexts' counts while more than MAX_CHUNKS are held (never
   * `keep`'s). The chunks held are counted from the map each time, not kept as a tally: a call in
   * flight goes on adding chunks to counts already dropped, which a tally would count for ever.
   */
  private evict(keep: string): void {
    let held = 0;
    for (const c of this.contexts.values()) held += c.chunks.size;
    for (const [key, c] of this.contexts) {
      if (held <= MAX_CHUNKS) return;
      if (key === keep) continue;
      held -= c.chunks.size;
      this.drop(key, false);
    }
  }
}

function keyOf(space: string, contextId: string, encoding: Encoding): string {
  return `${space}\u0000${contextId}\u0000${encoding}`;
}
