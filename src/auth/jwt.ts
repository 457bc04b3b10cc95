/**
 * Auth mode `jwt`: compact JWS tokens signed with an HMAC secret (HS256/384/512) or a
 * private key whose public half the server has (RS*, PS*, ES256/384/512, EdDSA), from a
 * PEM file or a JWKS file. Verification is synchronous (node:crypto), so a uWS request can
 * be authenticated inside its callback; verified tokens are cached until they expire.
 *
 * Claims: the client is `client_id` or `sub` (auth.jwtClientClaim), the scopes are `scope`
 * (space-separated) or `scopes` (an array), and `contexts` (an array of patterns) limits the
 * contexts the token may touch. `exp` and `nbf` are enforced when present, `iss` and `aud`
 * when configured. The header's `alg` must fit the key it is checked with; `none` never is.
 */
import { constants, createHmac, createPublicKey, timingSafeEqual, verify, type KeyObject } from 'node:crypto';
import { isClientId } from '../tenancy/clients.js';
import { Patterns, SCOPES, type Authenticator, type Credentials, type Principal, type Scope } from '../tenancy/access.js';
import { actingAs, presentedToken, unauthenticated } from './authenticator.js';

export interface JwtSettings {
  /** HMAC secret (HS*); '' for none. */
  secret: string;
  /** Public keys (RS*, PS*, ES*, EdDSA), each with its `kid` when it came from a JWKS. */
  keys: Array<{ kid: string | undefined; key: KeyObject }>;
  issuer: string;
  audience: string;
  /** Claim naming the client: `sub` by default. */
  clientClaim: string;
  /** Allowed clock skew for exp/nbf, in seconds. */
  clockToleranceSec: number;
  now?: () => number;
}

const HASH: Record<string, string> = { '256': 'sha256', '384': 'sha384', '512': 'sha512' };
const CURVE: Record<string, string> = { ES256: 'prime256v1', ES384: 'secp384r1', ES512: 'secp521r1' };
const CACHE_MAX = 10_000;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

/** Reads public keys from PEM text (one or more keys) or a JWKS document. */
export function parsePublicKeys(text: string, source: string): Array<{ kid: string | undefined; key: KeyObject }> {
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    const doc = JSON.parse(trimmed) as { keys?: Array<Record<string, unknown>> };
    if (!Array.isArray(doc.keys)) throw new Error(`${source}: a JWKS document needs a "keys" array`);
    return doc.keys
      .filter((k) => k.use === undefined || k.use === 'sig')
      .map((jwk) => ({ kid: typeof jwk.kid === 'string' ? jwk.kid : undefined, key: createPublicKey({ key: jwk as never, format: 'jwk' }) }));
  }
  const blocks = trimmed.match(/-----BEGIN [A-Z ]+-----[\s\S]+?-----END [A-Z ]+-----/g) ?? [];
  if (blocks.length === 0) throw new Error(`${source}: no PEM key found`);
  return blocks.map((pem) => ({ kid: undefined, key: createPublicKey(pem) }));
}

function b64json(part: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
  } catch {
    throw unauthenticated(`malformed token: its ${what} is not base64url JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw unauthenticated(`malformed token: its ${what} is not a JSON object`);
  return value as Record<string, unknown>;
}

export class JwtAuth implements Authenticator {
  readonly mode = 'jwt';
  private readonly secret: Buffer | undefined;
  private readonly cache = new Map<string, { principal: Principal; exp: number }>();
  private readonly now: () => number;

  constructor(private readonly settings: JwtSettings) {
    this.secret = settings.secret === '' ? undefined : Buffer.from(settings.secret, 'utf8');
    this.now = settings.now ?? Date.now;
  }

  authenticate(c: Credentials): Principal {
    const token = presentedToken(c);
    const now = this.now();
    const hit = this.cache.get(token);
    if (hit !== undefined && hit.exp > now) return actingAs(hit.principal, c.clientId);
    const { principal, exp } = this.verifyToken(token, now);
    // Oldest first out (Map order is insertion order), so a flood of new tokens cannot evict everyone at once.
    if (this.cache.size >= CACHE_MAX) this.cache.delete(this.cache.keys().next().value!);
    // A token without exp is re-verified after a minute, so a key rotation takes effect.
    this.cache.set(token, { principal, exp: Math.min(exp, now + 60_000) });
    return actingAs(principal, c.clientId);
  }

  private verifyToken(token: string, now: number): { principal: Principal; exp: number } {
    const parts = token.split('.');
    if (parts.length !== 3) throw unauthenticated('malformed token: a JWT has three dot-separated parts');
    // Strict base64url: Node's decoder skips stray characters, which would let one token be spelled many ways (and flood the cache).
    if (!parts.every((x) => BASE64URL.test(x))) throw unauthenticated('malformed token: its parts must be unpadded base64url');
    const [h, b, s] = parts as [string, string, string];
    const header = b64json(h, 'header');
    const alg = header.alg;
    if (typeof alg !== 'string') throw unauthenticated('malformed token: its header has no alg');
    const signature = Buffer.from(s, 'base64url');
    if (!this.signatureValid(alg, typeof header.kid === 'string' ? header.kid : undefined, Buffer.from(`${h}.${b}`), signature)) {
      throw unauthenticated('invalid token signature');
    }
    const claims = b64json(b, 'payload');
    return this.principalOf(claims, now);
  }

  private signatureValid(alg: string, kid: string | undefined, data: Buffer, sig: Buffer): boolean {
    const bits = alg.slice(2);
    const hash = HASH[bits];
    if (alg.startsWith('HS') && hash !== undefined) {
      if (this.secret === undefined) return false;
      const mac = createHmac(hash, this.secret).update(data).digest();
      return mac.length === sig.length && timingSafeEqual(mac, sig);
    }
    for (const { kid: k, key } of this.settings.keys) {
      if (kid !== undefined && k !== undefined && k !== kid) continue;
      const type = key.asymmetricKeyType;
      try {
        if ((alg.startsWith('RS') || alg.startsWith('PS')) && hash !== undefined && type === 'rsa') {
          const padding = alg.startsWith('PS') ? { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST } : {};
          if (verify(hash, data, { key, ...padding }, sig)) return true;
        } else if (CURVE[alg] !== undefined && type === 'ec' && key.asymmetricKeyDetails?.namedCurve === CURVE[alg]) {
          if (verify(hash!, data, { key, dsaEncoding: 'ieee-p1363' }, sig)) return true;
        } else if (alg === 'EdDSA' && (type === 'ed25519' || type === 'ed448')) {
          if (verify(null, data, key, sig)) return true;
        }
      } catch {
        // A signature of the wrong length or shape for this key: not valid with it.
      }
    }
    return false;
  }

  private principalOf(claims: Record<string, unknown>, now: number): { principal: Principal; exp: number } {
    const tol = this.settings.clockToleranceSec * 1000;
    const { exp, nbf, iss, aud } = claims;
    if (exp !== undefined && (typeof exp !== 'number' || exp * 1000 + tol <= now)) throw unauthenticated('token expired');
    if (nbf !== undefined && (typeof nbf !== 'number' || nbf * 1000 - tol > now)) throw unauthenticated('token not valid yet (nbf)');
    if (this.settings.issuer !== '' && iss !== this.settings.issuer) throw unauthenticated('token issuer (iss) is not the configured one');
    if (this.settings.audience !== '') {
      const auds = Array.isArray(aud) ? aud : [aud];
      if (!auds.includes(this.settings.audience)) throw unauthenticated('token audience (aud) does not include this server');
    }
    // Only the default claim falls back (sub → client_id); a configured claim that is missing is an error, never another claim.
    const clientId = claims[this.settings.clientClaim] ?? (this.settings.clientClaim === 'sub' ? claims.client_id : undefined);
    if (typeof clientId !== 'string' || !isClientId(clientId)) {
      throw unauthenticated(`token claim ${this.settings.clientClaim} is not a client id (1–64 of A-Z a-z 0-9 . _ - : @)`);
    }
    const raw = typeof claims.scope === 'string' ? claims.scope.split(/\s+/) : Array.isArray(claims.scopes) ? claims.scopes : ['read', 'write'];
    const scopes = new Set<Scope>(raw.filter((x): x is Scope => typeof x === 'string' && (SCOPES as readonly string[]).includes(x)));
    let contexts: Patterns | undefined;
    if (claims.contexts !== undefined) {
      if (!Array.isArray(claims.contexts) || claims.contexts.some((x) => typeof x !== 'string')) {
        throw unauthenticated('token claim contexts must be an array of context patterns');
      }
      contexts = new Patterns(claims.contexts as string[]);
    }
    const expiresAt = typeof exp === 'number' ? exp * 1000 + tol : undefined;
    return { principal: { clientId, scopes, contexts, expiresAt }, exp: expiresAt ?? Number.POSITIVE_INFINITY };
  }
}
