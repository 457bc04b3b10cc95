/**
 * Token counts of work units, by a real tokenizer (gpt-tokenizer's byte-pair encodings, the
 * ones OpenAI's models use), computed once per unit and encoding and kept: in memory by seq, and
 * in the log's side records (the snapshot records of memory/snapshots.ts) once a chunk of
 * CHUNK seqs is complete, so a restart does not count them again. A context deleted and written
 * again starts a new history: its chunks carry the context's origin and an old one is ignored;
 * deleting a context deletes its side records.
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
/** Contexts whose counts stay in memory (least recently used beyond this are dropped, and reloaded from their chunks). */
const MAX_CONTEXTS = 2000;

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
  origin: string;
  chunks: Map<number, Uint32Array>;
  /** Chunks stored already (or being stored). */
  stored: Set<number>;
}

export class TokenCounts {
  private readonly contexts = new Map<string, Counts>();
  /** Units counted since start (tests and /metrics can tell a stored count from a recount). */
  counted = 0;

  constructor(private readonly store: SnapshotStore | undefined) {}

  /**
   * The tokens of the units at `seqs`, in order. `origin` names the context's history (its
   * creation time). Units not counted before are counted now (`unitAt(i)` gives the unit at
   * `seqs[i]`: only those are parsed), and complete chunks are stored in the background.
   */
  async tokens(space: string, contextId: string, origin: string, encoding: Encoding, seqs: number[], unitAt: (i: number) => WorkUnit): Promise<number[]> {
    const key = `${space}\u0000${contextId}\u0000${encoding}`;
    let c = this.contexts.get(key);
    if (c === undefined || c.origin !== origin) {
      c = { origin, chunks: new Map(), stored: new Set() };
      if (this.contexts.size >= MAX_CONTEXTS) this.contexts.delete(this.contexts.keys().next().value!);
    }
    this.contexts.delete(key);
    this.contexts.set(key, c);
    const out = new Array<number>(seqs.length);
    let count: Counter | undefined;
    const touched = new Set<number>();
    for (let i = 0; i < seqs.length; i++) {
      const seq = seqs[i]!;
      const chunk = Math.floor((seq - 1) / TOKEN_CHUNK);
      const counts = c.chunks.get(chunk) ?? (await this.load(space, contextId, c, encoding, chunk));
      const at = (seq - 1) % TOKEN_CHUNK;
      if (counts[at] === 0) {
        count ??= await counter(encoding);
        counts[at] = count(unitLine(unitAt(i))) + 1;
        this.counted++;
        touched.add(chunk);
      }
      out[i] = counts[at]! - 1;
    }
    for (const chunk of touched) this.maybeStore(space, contextId, c, encoding, chunk);
    return out;
  }

  private async load(space: string, contextId: string, c: Counts, encoding: Encoding, chunk: number): Promise<Uint32Array> {
    let counts: Uint32Array | undefined;
    const last = (chunk + 1) * TOKEN_CHUNK;
    if (this.store !== undefined) {
      try {
        const r = await this.store.latestSnapshot(space, contextId, `tokens.${encoding}`, last);
        if (r !== undefined && r.seq === last) {
          const snap = decodeSnapshot(chunkCodec(encoding), r.data, last, c.origin);
          if (snap !== undefined) counts = snap;
        }
      } catch {
        // A cache: unreadable, the units are counted again.
      }
    }
    if (counts !== undefined) c.stored.add(chunk);
    counts ??= new Uint32Array(TOKEN_CHUNK);
    c.chunks.set(chunk, counts);
    return counts;
  }

  private maybeStore(space: string, contextId: string, c: Counts, encoding: Encoding, chunk: number): void {
    const counts = c.chunks.get(chunk)!;
    if (this.store === undefined || c.stored.has(chunk) || counts.includes(0)) return;
    c.stored.add(chunk);
    const codec = chunkCodec(encoding);
    const last = (chunk + 1) * TOKEN_CHUNK;
    this.store.putSnapshot(space, contextId, { projection: codec.name, seq: last, data: encodeSnapshot(codec, counts, last, c.origin) }).catch(() => c.stored.delete(chunk));
  }
}
