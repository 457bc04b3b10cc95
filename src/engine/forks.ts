/**
 * Forks (docs/agents.md, Forks): a fork is a context whose seqs up to its fork point are read from
 * the contexts it was forked from, never copied. Its record carries the lineage, root first: entry
 * i holds the seqs above entry i-1's seq (0 for the first) up to its own, and the fork's own units
 * follow from the last entry's seq + 1. These are the pure parts: a lineage, the pieces a seq range
 * is read from, and the first seq a fork's history still has after retention.
 */
import type { ContextRecord, ForkPoint } from '../basics/types.js';

/** The lineage of a fork of `parent` at `seq`: the parent's own lineage cut at `seq`, then the parent itself. */
export function lineageFor(parent: ContextRecord, seq: number): ForkPoint[] {
  const lineage: ForkPoint[] = [];
  let prev = 0;
  for (const s of parent.lineage ?? []) {
    if (prev >= seq) break;
    lineage.push({ contextId: s.contextId, seq: Math.min(s.seq, seq) });
    prev = s.seq;
  }
  if (seq > prev) lineage.push({ contextId: parent.id, seq });
  return lineage;
}

/** The highest seq a fork reads from its lineage (0 when it shares none). */
export function sharedThrough(lineage: readonly ForkPoint[]): number {
  return lineage.length === 0 ? 0 : lineage[lineage.length - 1]!.seq;
}

/** One stretch of a seq range and the context it is read from. */
export interface Piece {
  contextId: string;
  lo: number;
  hi: number;
}

/** Splits lo..hi of a fork's history into the stretches each context holds, in seq order. */
export function piecesOf(contextId: string, lineage: readonly ForkPoint[], lo: number, hi: number): Piece[] {
  const pieces: Piece[] = [];
  let prev = 0;
  for (const s of lineage) {
    const a = Math.max(lo, prev + 1);
    const b = Math.min(hi, s.seq);
    if (a <= b) pieces.push({ contextId: s.contextId, lo: a, hi: b });
    prev = s.seq;
    if (prev >= hi) return pieces;
  }
  const a = Math.max(lo, prev + 1);
  if (a <= hi) pieces.push({ contextId, lo: a, hi });
  return pieces;
}

/**
 * The first seq of a fork's history still there: retention on a context of its lineage trimmed
 * what the fork shares too (forks see what retention left, never a hole). `firstOf` gives a lineage
 * context's own first seq, or undefined when it is gone (then nothing of its stretch is left).
 */
export function forkFirstSeq(record: ContextRecord, firstOf: (contextId: string) => number | undefined): number {
  let first = record.firstSeq ?? 1;
  for (const s of record.lineage ?? []) {
    const f = firstOf(s.contextId);
    first = Math.max(first, f === undefined ? s.seq + 1 : Math.min(f, s.seq + 1));
  }
  return first;
}

/** Whether the unit at `seq` of `unitContext` is part of this context's history (its own, or shared through its lineage). */
export function inHistory(record: ContextRecord, unitContext: string, seq: number): boolean {
  if (unitContext === record.id) return true;
  let prev = 0;
  for (const s of record.lineage ?? []) {
    if (s.contextId === unitContext && seq > prev && seq <= s.seq) return true;
    prev = s.seq;
  }
  return false;
}
