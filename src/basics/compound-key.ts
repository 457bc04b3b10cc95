/**
 * Keys made of several ids (a client and a context, a client and a resource, ...), for maps in
 * memory and for LevelDB keys alike. The parts are joined by U+0000: ids can never contain
 * control characters (basics/validate.ts), so one id cannot reach into another's part, and
 * "a" + SEP sorts before and apart from "ab" + SEP.
 */
export const SEP = '\u0000';

/** Sorts right after SEP (and before every id character): closes a prefix range. */
export const AFTER_SEP = '\u0001';

/** An id within a client's space: the key of a context, a resource, a topic. */
export function scopedKey(clientId: string, id: string): string {
  return clientId + SEP + id;
}

/** Any number of parts as one key. */
export function joinKey(...parts: string[]): string {
  return parts.join(SEP);
}

/** The client of a key made by scopedKey or joinKey. */
export function clientOfKey(key: string): string {
  return key.slice(0, key.indexOf(SEP));
}
