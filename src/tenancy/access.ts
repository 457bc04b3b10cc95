/**
 * Who may touch what. A request runs as a Principal (its client, its scopes, and the
 * context patterns its credentials allow); every piece of data lives in a *space*: a
 * client's own space is its client id, and a group's shared space is `~` + the group
 * name (no client id starts with `~`, so the two can never meet). The engine, locks,
 * router and search key everything by space; this module decides the space of each
 * request and refuses what the principal may not do.
 */
import { EngramError } from '../basics/errors.js';
import { checkId, checkResource } from '../basics/validate.js';

export type Scope = 'read' | 'write' | 'admin';
export const SCOPES: readonly Scope[] = ['read', 'write', 'admin'];

/** A list of glob patterns (`*` matches any run of characters, `/` included; nothing else is special). */
export class Patterns {
  /** Each pattern split at its stars: the literal pieces between them. */
  private readonly parts: string[][];

  constructor(readonly sources: readonly string[]) {
    this.parts = sources.map((s) => s.split('*'));
  }

  matches(id: string): boolean {
    for (const p of this.parts) if (globMatch(p, id)) return true;
    return false;
  }
}

/**
 * Whether `s` matches a glob given as its literal pieces between stars. Linear in |s| per
 * piece (greedy: each middle piece is taken at its first occurrence, which is always safe for
 * `*`-only globs), so no pattern and input can make it backtrack (a RegExp of `.*` pieces can,
 * quadratically and worse).
 */
function globMatch(pieces: readonly string[], s: string): boolean {
  const first = pieces[0]!;
  if (pieces.length === 1) return s === first;
  const last = pieces[pieces.length - 1]!;
  if (s.length < first.length + last.length || !s.startsWith(first) || !s.endsWith(last)) return false;
  let at = first.length;
  const end = s.length - last.length;
  for (let i = 1; i < pieces.length - 1; i++) {
    const piece = pieces[i]!;
    if (piece === '') continue;
    const found = s.indexOf(piece, at);
    if (found === -1 || found + piece.length > end) return false;
    at = found + piece.length;
  }
  return true;
}

/** The identity a request runs as, fixed by authentication (or by X-Client-ID when auth is off). */
export interface Principal {
  readonly clientId: string;
  readonly scopes: ReadonlySet<Scope>;
  /** Context patterns the credentials are limited to; undefined: every context of the principal's spaces. */
  readonly contexts: Patterns | undefined;
  /** Epoch ms when the credentials stop being valid (a JWT's exp, an API key's expires); undefined: never. */
  readonly expiresAt?: number;
}

export const ALL_SCOPES: ReadonlySet<Scope> = new Set(SCOPES);

/** A principal with every scope and no context limit: what auth mode `none` gives each client. */
export function trustedPrincipal(clientId: string): Principal {
  return { clientId, scopes: ALL_SCOPES, contexts: undefined };
}

export type Membership = 'read' | 'write';

/** A configured shared space: named members see the contexts (and lock resources) matching `contexts`. */
export interface GroupConfig {
  name: string;
  contexts: readonly string[];
  members: Readonly<Record<string, Membership>>;
}

interface Group {
  name: string;
  space: string;
  patterns: Patterns;
  canWrite: boolean;
}

export const GROUP_SPACE_PREFIX = '~';

export function groupSpace(name: string): string {
  return GROUP_SPACE_PREFIX + name;
}

export type Need = 'read' | 'write';

export class Access {
  /** Each client's group memberships, in config order (the first matching group wins). */
  private readonly memberships = new Map<string, Group[]>();
  readonly groups: readonly GroupConfig[];

  constructor(groups: readonly GroupConfig[] = []) {
    this.groups = groups;
    for (const g of groups) {
      const patterns = new Patterns(g.contexts);
      for (const [clientId, membership] of Object.entries(g.members)) {
        let list = this.memberships.get(clientId);
        if (list === undefined) this.memberships.set(clientId, (list = []));
        list.push({ name: g.name, space: groupSpace(g.name), patterns, canWrite: membership === 'write' });
      }
    }
  }

  /** Throws unless the principal has the scope (and its credentials have not expired since they were checked). */
  require(p: Principal, scope: Scope): void {
    if (p.expiresAt !== undefined && p.expiresAt <= Date.now()) {
      throw new EngramError('UNAUTHENTICATED', 'the credentials of this connection have expired; reconnect with new ones', { details: { reason: 'invalid_token' } });
    }
    if (!p.scopes.has(scope)) {
      throw new EngramError('FORBIDDEN', `the credentials of client ${JSON.stringify(p.clientId)} lack the ${scope} scope`, {
        details: { scope },
      });
    }
  }

  /** The space a context of this principal lives in, after checking scope, context patterns and membership. */
  contextSpace(p: Principal, contextId: string, need: Need): string {
    this.require(p, need);
    // The id is checked before any pattern sees it, so a matcher never runs over a megabyte of input.
    checkId(contextId, 'contextId');
    if (p.contexts !== undefined && !p.contexts.matches(contextId)) {
      throw new EngramError('FORBIDDEN', `the credentials do not allow context ${JSON.stringify(contextId)}`, { details: { contextId } });
    }
    return this.spaceOf(p, contextId, need);
  }

  /** The space of a lock resource: group patterns apply to resource names as to context ids. */
  resourceSpace(p: Principal, resource: string, need: Need): string {
    this.require(p, need);
    checkResource(resource);
    return this.spaceOf(p, resource, need);
  }

  private spaceOf(p: Principal, name: string, need: Need): string {
    const groups = this.memberships.get(p.clientId);
    if (groups !== undefined) {
      for (const g of groups) {
        if (!g.patterns.matches(name)) continue;
        if (need === 'write' && !g.canWrite) {
          throw new EngramError('FORBIDDEN', `client ${JSON.stringify(p.clientId)} is a read-only member of group ${JSON.stringify(g.name)}`, {
            details: { group: g.name },
          });
        }
        return g.space;
      }
    }
    return p.clientId;
  }

  /** Every space the principal can read: its own first, then its groups'. */
  readSpaces(p: Principal): string[] {
    const groups = this.memberships.get(p.clientId);
    return groups === undefined ? [p.clientId] : [p.clientId, ...groups.map((g) => g.space)];
  }

  /**
   * Whether a context found in `space` is one the principal sees: allowed by its
   * credentials, and not a context of its own space that a group's pattern now covers
   * (the group's context of that id is the one it reads and writes).
   */
  visible(p: Principal, space: string, contextId: string): boolean {
    if (p.contexts !== undefined && !p.contexts.matches(contextId)) return false;
    return this.spaceOf(p, contextId, 'read') === space;
  }

  /** The groups a client belongs to, with its membership. */
  groupsOf(clientId: string): Array<{ group: string; membership: Membership }> {
    return (this.memberships.get(clientId) ?? []).map((g) => ({ group: g.name, membership: g.canWrite ? 'write' : 'read' }));
  }
}

/** What a request presents to prove who it is; '' where absent. */
export interface Credentials {
  /** The Authorization header (`Bearer <token>`). */
  authorization: string;
  /** The X-API-Key header. */
  apiKey: string;
  /** The `access_token` query parameter (browsers cannot set headers on WebSocket and EventSource). */
  accessToken: string;
  /** The X-Client-ID header (gRPC metadata x-client-id). */
  clientId: string;
}

/** Turns credentials into a principal, or throws UNAUTHENTICATED / FORBIDDEN / INVALID_CLIENT_ID. Synchronous: uWS requests are only readable inside their callback. */
export interface Authenticator {
  readonly mode: 'none' | 'apikey' | 'jwt';
  authenticate(c: Credentials): Principal;
}
