/**
 * Client identity. Every request belongs to one client, and everything the engine keeps
 * (contexts, units, locks, search partitions, subscriptions) is keyed by it, so one
 * client's ids never meet another's. Transports take the id from the `X-Client-ID`
 * header (gRPC metadata `x-client-id`) and fall back to the configured default client.
 */
import { EngramError } from '../basics/errors.js';

/** Letters, digits and a few separators; no control characters, so it cannot reach into another key range. */
const CLIENT_ID = /^[A-Za-z0-9][A-Za-z0-9._:@-]{0,63}$/;

export function isClientId(value: string): boolean {
  return CLIENT_ID.test(value);
}

/** The client a request names (`header`: the raw header or metadata value, '' or undefined when absent). */
export function resolveClientId(header: string | undefined, fallback: string): string {
  if (header === undefined || header === '') return fallback;
  if (!CLIENT_ID.test(header)) {
    throw new EngramError(
      'INVALID_CLIENT_ID',
      `X-Client-ID: ${JSON.stringify(header.slice(0, 80))} is not a client id (1–64 of A-Z a-z 0-9 . _ - : @, starting with a letter or digit)`,
    );
  }
  return header;
}
