/**
 * W3C Trace Context on writes: a `traceparent` given by the transport (the HTTP header, gRPC
 * metadata, a WebSocket publish frame's field) is stored on the unit as `meta.traceparent`, so it
 * travels with the unit to every subscriber and reader, and an agent's work can be followed
 * across services by its trace id (docs/agents.md, "Traces").
 */
import { EngramError } from './errors.js';

/** version 00, a trace id and a parent (span) id of lowercase hex, the flags; all-zero ids are invalid. */
const TRACEPARENT = /^00-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}$/;

/** Whether `value` is a valid traceparent (a unit's free `meta.traceparent` may be anything). */
export function isTraceparent(value: string | undefined): value is string {
  return value !== undefined && TRACEPARENT.test(value);
}

/** `value` if it is a valid traceparent, else INVALID_FIELD naming `field`. */
export function checkTraceparent(value: unknown, field: string): string {
  if (typeof value !== 'string' || !TRACEPARENT.test(value))
    throw new EngramError('INVALID_FIELD', `${field}: a W3C traceparent, 00-<32 hex trace id>-<16 hex parent id>-<2 hex flags> (lowercase, ids not all zero)`);
  return value;
}

/**
 * The unit body with the transport's traceparent in `meta.traceparent`. A tracing header never
 * costs a write (W3C: an invalid one is ignored): a malformed one is left out, and a body that
 * names its own `meta.traceparent` keeps it (tracing instrumentation adds headers whose parent is
 * its HTTP span, not the application's). A body that is not an object is left to validation.
 */
export function withTraceparent(body: unknown, traceparent: string | undefined, _field: string): unknown {
  if (traceparent === undefined || !TRACEPARENT.test(traceparent)) return body;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return body;
  const b = body as Record<string, unknown>;
  const meta = b.meta;
  if (meta !== undefined && (typeof meta !== 'object' || meta === null || Array.isArray(meta))) return body;
  if ((meta as Record<string, unknown> | undefined)?.traceparent !== undefined) return body;
  return { ...b, meta: { ...(meta as Record<string, unknown> | undefined), traceparent } };
}
