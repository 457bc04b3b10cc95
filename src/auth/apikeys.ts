/**
 * Auth mode `apikey`. Keys are kept only as SHA-256 hashes (`sha256:<hex>`), in the config
 * or in a keys file; `engram keygen` makes a random key and prints its entry. A request's
 * key is hashed and looked up; keys are long random strings, so a fast hash is the right
 * one (a slow password hash protects guessable secrets, which these are not).
 */
import { createHash, randomBytes } from 'node:crypto';
import { Patterns, type Authenticator, type Credentials, type Principal, type Scope } from '../core/access.js';
import { actingAs, presentedToken, unauthenticated } from './authenticator.js';

export interface ApiKeyEntry {
  client: string;
  /** `sha256:` and 64 hex digits. */
  hash: string;
  scopes: Scope[];
  /** Context patterns the key is limited to; undefined: all of the client's contexts. */
  contexts?: string[];
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
  private readonly byHash = new Map<string, Principal>();

  constructor(entries: readonly ApiKeyEntry[]) {
    for (const e of entries) {
      this.byHash.set(e.hash.toLowerCase(), {
        clientId: e.client,
        scopes: new Set(e.scopes),
        contexts: e.contexts === undefined ? undefined : new Patterns(e.contexts),
      });
    }
  }

  authenticate(c: Credentials): Principal {
    const p = this.byHash.get(hashKey(presentedToken(c)));
    if (p === undefined) throw unauthenticated('unknown API key');
    return actingAs(p, c.clientId);
  }
}
