/** The `engram` command line: serve, config, version, help. */
import { readFileSync } from 'node:fs';
import { stringify as toYaml } from 'yaml';
import { ConfigError, describeConfig, loadConfig } from '../config/load.js';
import { SETTINGS } from '../config/schema.js';
import { serve } from './serve.js';

const USAGE = `engram: a real-time collaboration engine for AI agents

Usage:
  engram serve [--addr HOST:PORT] [--data-dir DIR] [--config FILE] [options]
  engram config [same options]   print the effective configuration and exit
  engram version
  engram help

Settings come from options, then ENGRAM_* environment variables, then the
YAML file named by --config (or ENGRAM_CONFIG), then defaults.

Options:
  --config FILE                 YAML config file (see config.example.yaml)
${SETTINGS.map((s) => `  ${`${s.flag} ${s.kind.type === 'bool' ? '[true|false]' : 'VALUE'}`.padEnd(30)}${s.env}`).join('\n')}
`;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

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
      await serve(config);
      return undefined; // keeps running until a signal
    }
    case 'version':
    case '--version':
      process.stdout.write(`engram ${version()} (node ${process.version})\n`);
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
