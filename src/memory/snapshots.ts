/**
 * Projection snapshots: a projection's state as of a seq of its context, kept beside the log's
 * units (Log.putSnapshot) so that a rebuild starts from the latest one and replays only the units
 * after it. A snapshot is a cache: it never changes what a replay from the beginning gives, and
 * one that does not decode, has a version this build does not know, belongs to another projection
 * or seq, or to an earlier history of the context (deleted and created again) is ignored, and the
 * state is replayed from the start.
 *
 * Bytes: msgpack [FORMAT, projection, stateVersion, seq, origin, how, state], then the CRC-32 of
 * those bytes (4 bytes, big-endian). `state` is the projection's `encode` as msgpack (`how` = 'm')
 * when every string in it is well-formed Unicode, which msgpack carries exactly; otherwise (a lone
 * surrogate, which UTF-8 cannot hold) as its JSON text (`how` = 'j'), which carries it escaped, as
 * the units' own JSON did.
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

/** Whether every string in plain data (arrays, objects, strings, numbers) is well-formed Unicode. */
function wellFormed(v: unknown): boolean {
  if (typeof v === 'string') return v.isWellFormed();
  if (Array.isArray(v)) return v.every(wellFormed);
  if (typeof v === 'object' && v !== null) return Object.values(v).every(wellFormed);
  return true;
}

/**
 * The bytes of a snapshot of `state` at `seq`. `origin` names the context's history (its
 * creation), so a snapshot outlived by a deletion of its context is never taken for the new one.
 */
export function encodeSnapshot<S>(codec: SnapshotCodec<S>, state: S, seq: number, origin: string): Uint8Array {
  const data = codec.encode(state);
  const body = wellFormed(data)
    ? pack([SNAPSHOT_FORMAT, codec.name, codec.version, seq, origin, 'm', data])
    : pack([SNAPSHOT_FORMAT, codec.name, codec.version, seq, origin, 'j', JSON.stringify(data)]);
  const out = Buffer.allocUnsafe(body.byteLength + 4);
  out.set(body, 0);
  out.writeUInt32BE(crc32(body), body.byteLength);
  return out;
}

/** The state in a snapshot, or undefined when it is not one to trust for this context at this seq. */
export function decodeSnapshot<S>(codec: SnapshotCodec<S>, data: Uint8Array, seq: number, origin: string): S | undefined {
  try {
    if (data.byteLength < 5) return undefined;
    const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    const body = bytes.subarray(0, bytes.byteLength - 4);
    if (crc32(body) !== bytes.readUInt32BE(bytes.byteLength - 4)) return undefined;
    const parts = unpack(body) as unknown;
    if (!Array.isArray(parts) || parts.length !== 7) return undefined;
    const [format, name, version, at, from, how, state] = parts as unknown[];
    if (format !== SNAPSHOT_FORMAT || name !== codec.name || version !== codec.version || at !== seq || from !== origin) return undefined;
    if (how === 'm') return codec.decode(state);
    if (how === 'j' && typeof state === 'string') return codec.decode(JSON.parse(state));
    return undefined;
  } catch {
    return undefined;
  }
}
