/** `engram keygen`: a new API key. */
import { stringify as toYaml } from 'yaml';
import { hashKey, newKey } from '../auth/apikeys.js';
import { SCOPES } from '../tenancy/access.js';
import { isClientId } from '../tenancy/clients.js';

/** `engram keygen`: a new random API key, shown once, and the entry that stores only its hash. */
export function keygen(args: string[]): number {
  const opts = new Map<string, string>();
  for (let i = 0; i < args.length; i += 2) {
    const name = args[i]!;
    const value = args[i + 1];
    if (!['--client', '--scopes', '--contexts', '--expires'].includes(name) || value === undefined) {
      process.stderr.write(`engram keygen: expected --client ID [--scopes LIST] [--contexts LIST] [--expires DAYSd|RFC3339], got ${JSON.stringify(name)}\n`);
      return 2;
    }
    opts.set(name, value);
  }
  const client = opts.get('--client') ?? '';
  if (!isClientId(client)) {
    process.stderr.write('engram keygen: --client must be a client id (1–64 of A-Z a-z 0-9 . _ - : @, starting with a letter or digit)\n');
    return 2;
  }
  const scopes = (opts.get('--scopes') ?? 'read,write')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const bad = scopes.filter((s) => !(SCOPES as readonly string[]).includes(s));
  if (scopes.length === 0 || bad.length > 0) {
    process.stderr.write(`engram keygen: --scopes takes ${SCOPES.join(', ')}\n`);
    return 2;
  }
  const contexts = opts
    .get('--contexts')
    ?.split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const expiresRaw = opts.get('--expires');
  let expires: string | undefined;
  if (expiresRaw !== undefined) {
    const days = /^(\d{1,5})d$/.exec(expiresRaw);
    const at = days ? Date.now() + Number(days[1]) * 86_400_000 : Date.parse(expiresRaw);
    if (!Number.isFinite(at)) {
      process.stderr.write('engram keygen: --expires takes a number of days (30d) or an RFC 3339 time\n');
      return 2;
    }
    expires = new Date(at).toISOString();
  }
  const key = newKey();
  const entry = {
    client,
    hash: hashKey(key),
    scopes,
    ...(contexts === undefined || contexts.length === 0 ? {} : { contexts }),
    ...(expires === undefined ? {} : { expires }),
  };
  process.stdout.write(`# The key, shown only now; give it to the client (Authorization: Bearer <key>):\n# ${key}\n`);
  process.stdout.write(`# Its entry for auth.keys (or the auth.keysFile list); only the hash is stored:\n`);
  process.stdout.write(toYaml([entry]));
  return 0;
}
