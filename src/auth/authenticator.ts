/**
 * Authentication modes: `none` (the X-Client-ID header, or the default client, with every
 * scope), `apikey` (hashed keys from the config or a file) and `jwt` (signed tokens). Each
 * turns a request's credentials into a Principal synchronously, as uWS requires.
 */
import { resolveClientId } from '../tenancy/clients.js';
import { EngramError } from '../basics/errors.js';
import { trustedPrincipal, type Authenticator, type Credentials, type Principal } from '../tenancy/access.js';

export type { Authenticator };

/** Auth mode `none`: whoever the request says it is. */
export class NoAuth implements Authenticator {
  readonly mode = 'none';
  private readonly principals = new Map<string, Principal>();

  constructor(private readonly defaultClient: string) {}

  authenticate(c: Credentials): Principal {
    const clientId = resolveClientId(c.clientId, this.defaultClient);
    let p = this.principals.get(clientId);
    if (p === undefined) {
      if (this.principals.size > 10_000) this.principals.clear();
      this.principals.set(clientId, (p = trustedPrincipal(clientId)));
    }
    return p;
  }
}

/** The token a request carries: `Authorization: Bearer`, then X-API-Key, then `access_token`. */
export function presentedToken(c: Credentials): string {
  if (c.authorization !== '') {
    const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(c.authorization);
    if (m === null) throw unauthenticated('the Authorization header must be "Bearer <token>"', 'invalid_request');
    return m[1]!;
  }
  if (c.apiKey !== '') return c.apiKey;
  if (c.accessToken !== '') return c.accessToken;
  throw unauthenticated('credentials required: send Authorization: Bearer <token> (or access_token=<token> on streams)', 'invalid_request');
}

export function unauthenticated(message: string, reason: 'invalid_request' | 'invalid_token' = 'invalid_token'): EngramError {
  return new EngramError('UNAUTHENTICATED', message, { details: { reason } });
}

/**
 * Applies an X-Client-ID header to an authenticated principal: absent or equal is fine; an
 * admin may act as another client (operators, the dashboard); anyone else is refused.
 */
export function actingAs(p: Principal, header: string): Principal {
  if (header === '' || header === p.clientId) return p;
  const clientId = resolveClientId(header, p.clientId);
  if (!p.scopes.has('admin')) {
    throw new EngramError(
      'FORBIDDEN',
      `X-Client-ID ${JSON.stringify(clientId)} is not the authenticated client ${JSON.stringify(p.clientId)} (only admin credentials may act as another client)`,
    );
  }
  return { clientId, scopes: p.scopes, contexts: p.contexts, expiresAt: p.expiresAt };
}
