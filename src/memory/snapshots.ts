/**
 * Projection snapshots: a projection's state as of a seq of its context, kept beside the log's
 * units (Log.putSnapshot) so that a rebuild starts from the latest one and replays only the units
 * after it. A snapshot is a cache: it never changes what a replay from the beginning gives, and
 * one that does not decode, has a version this build does not know, belongs to another projection
 * or seq, or to an earlier history of the context (deleted and created again) is ignored, and the
 * state is replayed from the start.
 *
 * Bytes: msgpack [FORMAT, projection, stateVersion, seq, origin, crc32(state), state], where state
 * is the JSON text of the projection's `encode` (JSON, not msgpack, for the state itself: it
 * carries every string exactly, lone surrogates included, as the units' own JSON did).
 */
import { crc32 } from 'node:zlib';
import { pack, unpack } from 'msgpackr';

/** The envelope's format; a snapshot in any other is ignored. */
export const SNAPSHOT_FORMAT = 1;

/** How a projection's state becomes a snapshot and back. */
export interface SnapshotCodec<S> {
  /** The projection's name in the log (`files`, `facts`, `graph`). */
  name: string;
  /** The version of `encode`'s shape: bump it when the shape changes, and old snapshots are ignored. */
  version: number;
  /** The state as plain JSON data (arrays, objects, strings, numbers), in an order `decode` keeps. */
  encode(state: S): unknown;
  /** The state `encode` was given; throws on anything it does not recognize. */
  decode(data: unknown): S;
}

/** Where snapshots live: the log's side records (the Log interface has these three, with these shapes). */
export interface SnapshotStore {
  putSnapshot(clientId: string, contextId: string, snapshot: { projection: string; seq: number; data: Uint8Array }): Promise<void>;
  latestSnapshot(clientId: string, contextId: string, projection: string, atOrBelow: number): Promise<{ projection: string; seq: number; data: Uint8Array } | undefined>;
  deleteSnapshots(clientId: string, contextId: string, only?: { projection: string; below: number }): Promise<number>;
}

/**
 * The bytes of a snapshot of `state` at `seq`. `origin` names the context's history (its
 * creation), so a snapshot outlived by a deletion of its context is never taken for the new one.
 */
export function encodeSnapshot<S>(codec: SnapshotCodec<S>, state: S, seq: number, origin: string): Uint8Array {
  const json = Buffer.from(JSON.stringify(codec.encode(state)), 'utf8');
  return pack([SNAPSHOT_FORMAT, codec.name, codec.version, seq, origin, crc32(json), json]);
}

/** The state in a snapshot, or undefined when it is not one to trust for this context at this seq. */
export function decodeSnapshot<S>(codec: SnapshotCodec<S>, data: Uint8Array, seq: number, origin: string): S | undefined {
  try {
    const parts = unpack(data) as unknown;
    if (!Array.isArray(parts) || parts.length !== 7) return undefined;
    const [format, name, version, at, from, sum, json] = parts as [unknown, unknown, unknown, unknown, unknown, unknown, unknown];
    if (format !== SNAPSHOT_FORMAT || name !== codec.name || version !== codec.version || at !== seq || from !== origin) return undefined;
    if (!(json instanceof Uint8Array) || crc32(json) !== sum) return undefined;
    return codec.decode(JSON.parse(Buffer.from(json.buffer, json.byteOffset, json.byteLength).toString('utf8')));
  } catch {
    return undefined;
  }
}
