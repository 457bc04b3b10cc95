/**
 * The `engram` command line. Each command loads its own modules when it runs, so a client
 * command (put, get, memory, ...) does not pay for the server's or the config loader's.
 */
import { SETTINGS } from '../config/schema.js';
import { CLIENT_COMMANDS, CLIENT_NOTES } from './client-usage.js';
import { packageVersion } from './version.js';

const MCP_USAGE = `  engram mcp [--data-dir DIR | --url URL] [--space S] [--agent A] [--no-start] [--ca FILE] [--cert FILE --key FILE]
                                 MCP server on stdio for an agent: memory, facts, graph and work-unit tools
                                 on the data dir's server (started in the background if none runs)`;

const DATA_COMMANDS: ReadonlyArray<readonly [string, string]> = [
  ['engram backup --out FILE [--data-dir DIR | --url URL] [--token T]', 'a consistent backup of a running server'],
  ['engram restore --in FILE --data-dir DIR', 'a backup into a new data dir'],
  ['engram export --out FILE [--prefix P] [--data-dir DIR | --url URL]', "a client's contexts and units as NDJSON, through the API"],
  ['engram import --in FILE [--data-dir DIR | --url URL]', 'append an export to a server (new seqs and ids; safe to re-run)'],
  ['engram repair --data-dir DIR [--no-copy]', 'recover a damaged data dir (copies it first) and report what was lost'],
];

const OPTIONS: ReadonlyArray<readonly [string, string]> = [
  ['--config FILE', 'YAML config file (see config.example.yaml)'],
  ...SETTINGS.map((s) => [`${s.flag} ${s.kind.type === 'bool' ? '[true|false]' : 'VALUE'}`, s.env] as const),
];

/**
 * Rows of two columns, the second starting in one column for all: two spaces after the longest
 * first cell (of the rows that have a second). Computed, so a longer option or command moves the
 * column instead of running into it.
 */
function columns(rows: ReadonlyArray<readonly [string, string]>, width = columnWidth(rows)): string {
  return rows.map(([first, second]) => (second === '' ? `  ${first}` : `  ${first.padEnd(width)}${second}`)).join('\n');
}

function columnWidth(rows: ReadonlyArray<readonly [string, string]>): number {
  return Math.max(...rows.filter(([, second]) => second !== '').map(([first]) => first.length)) + 2;
}

// The client and data commands' descriptions share a column, though other lines come between them.
const COMMANDS_WIDTH = columnWidth([...CLIENT_COMMANDS, ...DATA_COMMANDS]);

const USAGE = `engram: a real-time collaboration engine for AI agents

Usage:
  engram serve [--addr HOST:PORT] [--data-dir DIR] [--config FILE] [options]
  engram config [same options]   print the effective configuration and exit
  engram keygen --client ID [--scopes read,write,admin] [--contexts 'PATTERN,...'] [--expires 30d]
                                 make an API key; prints the key once and its auth.keys entry
${columns(CLIENT_COMMANDS, COMMANDS_WIDTH)}
${CLIENT_NOTES}
${MCP_USAGE}
${columns(DATA_COMMANDS, COMMANDS_WIDTH)}
  engram version
  engram help

Settings come from options, then ENGRAM_* environment variables, then the
YAML file named by --config (or ENGRAM_CONFIG), then defaults.

Options:
${columns(OPTIONS)}
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
      const { ConfigError, describeConfig, loadConfig } = await import('../config/load.js');
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
        const { stringify: toYaml } = await import('yaml');
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
    case 'keygen': {
      const { keygen } = await import('./keygen.js');
      return keygen(rest);
    }
    case 'put':
    case 'get':
    case 'tail':
    case 'delete':
    case 'search':
    case 'lock':
    case 'unlock':
    case 'memory':
    case 'presence': {
      const { runClientCommand } = await import('./client-commands.js');
      return runClientCommand(command, rest);
    }
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
