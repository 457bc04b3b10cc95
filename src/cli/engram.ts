/** The `engram` command line: serve, config, version, help. */
import { stringify as toYaml } from 'yaml';
import { ConfigError, describeConfig, loadConfig } from '../config/load.js';
import { SETTINGS } from '../config/schema.js';
import { hashKey, newKey } from '../auth/apikeys.js';
import { SCOPES } from '../tenancy/access.js';
import { isClientId } from '../tenancy/clients.js';
import { CLIENT_USAGE, runClientCommand } from './client-commands.js';
import { packageVersion } from './version.js';

const MCP_USAGE = `  engram mcp [--data-dir DIR | --url URL] [--space S] [--agent A] [--no-start]
                                 MCP server on stdio for an agent: memory, facts, graph and work-unit tools
                                 on the data dir's server (started in the background if none runs)`;

const USAGE = `engram: a real-time collaboration engine for AI agents

Usage:
  engram serve [--addr HOST:PORT] [--data-dir DIR] [--config FILE] [options]
  engram config [same options]   print the effective configuration and exit
  engram keygen --client ID [--scopes read,write,admin] [--contexts 'PATTERN,...'] [--expires 30d]
                                 make an API key; prints the key once and its auth.keys entry
${CLIENT_USAGE}
${MCP_USAGE}
  engram backup --out FILE [--data-dir DIR | --url URL] [--token T]   a consistent backup of a running server
  engram restore --in FILE --data-dir DIR                            a backup into a new data dir
  engram export --out FILE [--prefix P] [--data-dir DIR | --url URL]   a client's contexts and units as NDJSON, through the API
  engram import --in FILE [--data-dir DIR | --url URL]                 append an export to a server (new seqs and ids; safe to re-run)
  engram repair --data-dir DIR [--no-copy]                           recover a damaged data dir (copies it first) and report what was lost
  engram version
  engram help

Settings come from options, then ENGRAM_* environment variables, then the
YAML file named by --config (or ENGRAM_CONFIG), then defaults.

Options:
  --config FILE                 YAML config file (see config.example.yaml)
${SETTINGS.map((s) => `  ${`${s.flag} ${s.kind.type === 'bool' ? '[true|false]' : 'VALUE'}`.padEnd(30)}${s.env}`).join('\n')}
`;


export async function main(argv: string[]): Promise<number | undefined> {
  const [command, ...rest] = argv;
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(USAGE);
    return 0;
  }
  switch (command) {
    case 'serve':
    case 'config': {
      let config;
      try {
        config = loadConfig({ argv: rest, env: process.env });
      } catch (err) {
        if (err instanceof ConfigError) {
          process.stderr.write(`engram: ${err.message}\n`);
          return 2;
        }
        throw err;
      }
      if (command === 'config') {
        process.stdout.write(toYaml(describeConfig(config)));
        return 0;
      }
      // uWebSockets.js reads its header limit from the environment when it loads, which is here:
      // the server's modules load on demand (so client commands start quickly).
      process.env.UWS_HTTP_MAX_HEADERS_SIZE = String(config.limits.maxHeaderBytes);
      const { serve } = await import('./serve.js');
      await serve(config);
      return undefined; // keeps running until a signal
    }
    case 'keygen':
      return keygen(rest);
    case 'put':
    case 'get':
    case 'tail':
    case 'search':
    case 'lock':
    case 'unlock':
    case 'memory':
      return runClientCommand(command, rest);
    case 'backup':
    case 'restore':
    case 'repair': {
      const { runBackup, runRepair, runRestore } = await import('./backup-commands.js');
      return command === 'backup' ? runBackup(rest) : command === 'restore' ? runRestore(rest) : runRepair(rest);
    }
    case 'export':
    case 'import': {
      const { runExport, runImport } = await import('./export-commands.js');
      return command === 'export' ? runExport(rest) : runImport(rest);
    }
    case 'mcp': {
      const { runMcp } = await import('./mcp-stdio.js');
      return runMcp(rest);
    }
    case 'version':
    case '--version':
      process.stdout.write(`engram ${packageVersion()} (node ${process.version})\n`);
      return 0;
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return 0;
    default:
      process.stderr.write(`engram: unknown command ${JSON.stringify(command)}\n\n${USAGE}`);
      return 2;
  }
}

/** `engram keygen`: a new random API key, shown once, and the entry that stores only its hash. */
function keygen(args: string[]): number {
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
  const scopes = (opts.get('--scopes') ?? 'read,write').split(',').map((s) => s.trim()).filter((s) => s !== '');
  const bad = scopes.filter((s) => !(SCOPES as readonly string[]).includes(s));
  if (scopes.length === 0 || bad.length > 0) {
    process.stderr.write(`engram keygen: --scopes takes ${SCOPES.join(', ')}\n`);
    return 2;
  }
  const contexts = opts.get('--contexts')?.split(',').map((s) => s.trim()).filter((s) => s !== '');
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
