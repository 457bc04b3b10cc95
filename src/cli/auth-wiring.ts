/** Builds the authenticator the config asks for. */
import { readFileSync } from 'node:fs';
import type { Authenticator } from '../tenancy/access.js';
import type { Config } from '../config/schema.js';
import { ApiKeyAuth } from '../auth/apikeys.js';
import { NoAuth } from '../auth/authenticator.js';
import { JwtAuth, parsePublicKeys } from '../auth/jwt.js';

export function createAuthenticator(config: Config): Authenticator {
  const a = config.auth;
  switch (a.mode) {
    case 'none':
      return new NoAuth(config.clients.defaultClient);
    case 'apikey':
      return new ApiKeyAuth(a.keys);
    case 'jwt':
      return new JwtAuth({
        secret: a.jwtSecret,
        keys: a.jwtKeysFile === '' ? [] : parsePublicKeys(readFileSync(a.jwtKeysFile, 'utf8'), a.jwtKeysFile),
        issuer: a.jwtIssuer,
        audience: a.jwtAudience,
        clientClaim: a.jwtClientClaim,
        clockToleranceSec: 5,
      });
  }
}
