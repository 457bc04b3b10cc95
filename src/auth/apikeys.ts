/**
 * Auth mode `apikey`. Keys are kept only as SHA-256 hashes (`sha256:<hex>`), in the config
 * or in a keys file; `engram keygen` makes a random key and prints its entry. A request's
 * key is hashed and looked up; keys are long random strings, so a fast hash is the right
 * one (a slow password hash protects guessable secrets, which these are not).
 */
import { createHash, randomBytes } from 'node:crypto';
import { Patterns, type Authenticator, type Credentials, type Principal, type Scope } from '../tenancy/access.js';
import { actingAs, presentedToken, unauthenticated } from './authenticator.js';

export interface ApiKeyEntry {
  client: string;
  /** `sha256:` and 64 hex digits. */
  hash: string;
  scopes: Scope[];
  /** Context patterns the key is limited to; undefined: all of the client's contexts. */
  contexts?: string[];
  /** RFC 3339 time after which the key is refused (401); undefined: it does not expire. */
  expires?: string;
}

export function hashKey(key: string): string {
  return 'sha256:' + createHash('sha256').update(key, 'utf8').digest('hex');
}

/** A new random key (32 bytes, base64url, prefixed so it is recognisable in a leak scan). */
export function newKey(): string {
  return 'egk_' + randomBytes(32).toString('base64url');
}

export class ApiKeyAuth implements Authenticator {
  readonly mode = 'apikey';
  private readonly byHash = new Map<string, { principal: Principal; expiresAt: number }>();

  constructor(
    entries: readonly ApiKeyEntry[],
    private readonly now: () => number = Date.now,
  ) {
    for (const e of entries) {
      this.byHash.set(e.hash.toLowerCase(), {
        principal: { clientId: e.client, scopes: new Set(e.scopes), contexts: e.contexts === undefined ? undefined : new Patterns(e.contexts) },
        expiresAt: e.expires === undefined ? Number.POSITIVE_INFINITY : Date.parse(e.expires),
      });
      if (e.expires !== undefined) {
        const entry = this.byHash.get(e.hash.toLowerCase())!;
        entry.principal = { ...entry.principal, expiresAt: entry.expiresAt };
      }
    }
  }

  authenticate(c: Credentials): Principal {
    const k = this.byHash.get(hashKey(presentedToken(c)));
    if (k === undefined) throw unauthenticated('unknown API key');
    if (k.expiresAt <= this.now()) throw unauthenticated('API key expired');
    return actingAs(k.principal, c.clientId);
  }
}
