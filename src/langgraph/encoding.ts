/**
 * How LangGraph's serialized values sit in a work unit's JSON payload. A serializer hands back
 * `[type, bytes]`; JSON text (the usual case) is kept as a string, so a unit stays readable in the
 * dashboard and its words stay searchable, and any other type as base64.
 */
import type { SerializerProtocol } from '@langchain/langgraph-checkpoint';

/** One serialized value: `{t: 'json', s: text}` or `{t: <type>, b: base64}`. */
export type Typed = { t: string; s: string } | { t: string; b: string };

const utf8 = new TextDecoder('utf-8', { fatal: true });

export async function encodeTyped(serde: SerializerProtocol, value: unknown): Promise<Typed> {
  const [type, bytes] = await serde.dumpsTyped(value);
  const data = typeof bytes === 'string' ? new TextEncoder().encode(bytes) : bytes;
  if (type === 'json') {
    try {
      return { t: type, s: utf8.decode(data) };
    } catch {
      // Not valid UTF-8 after all: kept as bytes.
    }
  }
  return { t: type, b: Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64') };
}

export function decodeTyped(serde: SerializerProtocol, typed: Typed): Promise<unknown> {
  const data = 's' in typed ? new TextEncoder().encode(typed.s) : new Uint8Array(Buffer.from(typed.b, 'base64'));
  return serde.loadsTyped(typed.t, data);
}

/** Equal as filters compare values: the same primitive, or objects and arrays with the same JSON. */
export function sameJson(a: unknown, b: unknown): boolean {
  return a === b || (typeof a === 'object' && typeof b === 'object' && a !== null && b !== null && JSON.stringify(a) === JSON.stringify(b));
}

export function isTyped(v: unknown): v is Typed {
  if (typeof v !== 'object' || v === null) return false;
  const o = v as Record<string, unknown>;
  return typeof o.t === 'string' && (typeof o.s === 'string' || typeof o.b === 'string');
}
