/**
 * LevelDB key schema. Keys are UTF-8 strings whose parts are joined by U+0000;
 * ids can never contain control characters (basics/validate.ts), so one id cannot
 * reach into another's range: "a" + SEP sorts before and apart from "ab" + SEP.
 *
 *   u SEP client SEP context SEP seq(16 hex)   → unit JSON (utf8)
 *   i SEP client SEP unitId                    → msgpack [contextId, seq, pos] (pos: absent in units written before deletion existed)
 *   c SEP client SEP context                   → msgpack ContextRecord (written when it changes)
 *   h SEP client SEP context                   → msgpack [headSeq, updatedAt] (written with every batch)
 *   k SEP client SEP context SEP key           → msgpack [unitId, seq, expiresAt]
 *   x SEP expiresAt(12 hex) SEP client SEP context SEP key → '' (expiry index of k)
 *   g SEP pos(16 hex)                          → msgpack [clientId, contextId, seq] (the whole log in commit order)
 *   E SEP pos(16 hex)                          → float32 bytes: the unit's embedding (search)
 *   d SEP client SEP context                   → utf8 incarnation: the context was deleted; its next history carries this
 *   L SEP client SEP resource                  → msgpack LockRecord (held locks)
 *   m SEP name                                 → storage metadata (format version, epoch, lock counter)
 *   s SEP client SEP context SEP projection SEP seq(16 hex) → projection snapshot bytes (memory/projection.ts);
 *                                                a context's snapshots are the range snapshotRange(client, context)
 */

import { AFTER_SEP, SEP } from '../basics/compound-key.js';

export function seqHex(seq: number): string {
  return seq.toString(16).padStart(16, '0');
}

export const keys = {
  unit: (client: string, context: string, seq: number) => `u${SEP}${client}${SEP}${context}${SEP}${seqHex(seq)}`,
  unitId: (client: string, id: string) => `i${SEP}${client}${SEP}${id}`,
  context: (client: string, context: string) => `c${SEP}${client}${SEP}${context}`,
  head: (client: string, context: string) => `h${SEP}${client}${SEP}${context}`,
  contextRangeEnd: (client: string) => `c${SEP}${client}${AFTER_SEP}`,
  contextsStart: `c${SEP}`,
  contextsEnd: `c${AFTER_SEP}`,
  headRangeEnd: (client: string) => `h${SEP}${client}${AFTER_SEP}`,
  /** The units of one context: from contextUnits to contextUnitsEnd. */
  contextUnits: (client: string, context: string) => `u${SEP}${client}${SEP}${context}${SEP}`,
  contextUnitsEnd: (client: string, context: string) => `u${SEP}${client}${SEP}${context}${AFTER_SEP}`,
  contextKeys: (client: string, context: string) => `k${SEP}${client}${SEP}${context}${SEP}`,
  contextKeysEnd: (client: string, context: string) => `k${SEP}${client}${SEP}${context}${AFTER_SEP}`,
  tombstone: (client: string, context: string) => `d${SEP}${client}${SEP}${context}`,
  unitRangeStart: (client: string) => `u${SEP}${client}${SEP}`,
  unitRangeEnd: (client: string) => `u${SEP}${client}${AFTER_SEP}`,
  idempotency: (client: string, context: string, key: string) => `k${SEP}${client}${SEP}${context}${SEP}${key}`,
  expiry: (expiresAt: number, client: string, context: string, key: string) => `x${SEP}${expiresAt.toString(16).padStart(12, '0')}${SEP}${client}${SEP}${context}${SEP}${key}`,
  expiryBefore: (now: number) => `x${SEP}${now.toString(16).padStart(12, '0')}`,
  expiryStart: `x${SEP}`,
  meta: (name: string) => `m${SEP}${name}`,
  position: (pos: number) => `g${SEP}${seqHex(pos)}`,
  positionStart: `g${SEP}`,
  positionEnd: `g${AFTER_SEP}`,
  embedding: (pos: number) => `E${SEP}${seqHex(pos)}`,
  lock: (client: string, resource: string) => `L${SEP}${client}${SEP}${resource}`,
  lockStart: `L${SEP}`,
  lockEnd: `L${AFTER_SEP}`,
  snapshot: (client: string, context: string, projection: string, seq: number) => `s${SEP}${client}${SEP}${context}${SEP}${projection}${SEP}${seqHex(seq)}`,
  /** Every snapshot of one projection of a context: [start, end). */
  snapshotProjection: (client: string, context: string, projection: string) =>
    [`s${SEP}${client}${SEP}${context}${SEP}${projection}${SEP}`, `s${SEP}${client}${SEP}${context}${SEP}${projection}${AFTER_SEP}`] as const,
  /** Every snapshot of a context, of any projection: [start, end) (what deleting the context removes). */
  snapshotRange: (client: string, context: string) => [`s${SEP}${client}${SEP}${context}${SEP}`, `s${SEP}${client}${SEP}${context}${AFTER_SEP}`] as const,
  snapshotsStart: `s${SEP}`,
  snapshotsEnd: `s${AFTER_SEP}`,
};

/** Splits an expiry-index key back into the idempotency key it points at. */
export function parseExpiryKey(key: string): { expiresAt: number; client: string; context: string; key: string } {
  const [, exp, client, context, ...rest] = key.split(SEP);
  return { expiresAt: parseInt(exp!, 16), client: client!, context: context!, key: rest.join(SEP) };
}
