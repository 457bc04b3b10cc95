/**
 * `engram mcp`: an MCP server over stdio for one agent process (an IDE or desktop assistant),
 * as a thin client of the Engram server of a data dir. It finds the server through the data
 * dir's discovery file, starts one in the background when none runs (or the file is stale after
 * a crash) and waits until it is ready, then forwards every tool call over HTTP. Many agent
 * processes can run `engram mcp` on one data dir: they share one server, so one memory, and
 * nothing they write is lost. stdout carries only MCP messages; logs go to stderr, and the
 * started server's own log to <data-dir>/engram-server.log.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, openSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { EngramClient } from '../client/http-client.js';
import { EngramClientError } from '../client/errors.js';
import { tlsFetch, tlsMaterial, type TlsOptions } from '../client/tls.js';
import { ClientAgentApi, type AgentApi } from '../mcp/agent-api.js';
import { createMcpServer } from '../mcp/tools.js';
import { parse, tlsFiles } from './client-commands.js';
import { isEngramProcess, readDiscovery } from './discovery.js';
import { packageVersion } from './version.js';

const MAIN_JS = resolve(import.meta.dirname, '../main.js');
const POLL_MS = 50;

interface McpArgs {
  dataDir: string;
  url: string | undefined;
  space: string;
  agentId: string;
  token: string | undefined;
  clientId: string | undefined;
  /** --ca, --cert, --key: for a server with TLS (its discovery file names an https:// URL). */
  tls: TlsOptions;
  config: string | undefined;
  start: boolean;
  startTimeoutMs: number;
}

function parseArgs(args: string[], env: NodeJS.ProcessEnv): McpArgs {
  const p = parse(args, new Set(['--no-start']));
  if (p.positional.length > 0) throw new Error(`unexpected argument ${JSON.stringify(p.positional[0])}`);
  const flags = p.flags;
  const start = !p.bools.has('--no-start');
  const known = new Set(['--data-dir', '--url', '--space', '--agent', '--token', '--client', '--ca', '--cert', '--key', '--config', '--start-timeout-ms']);
  for (const k of flags.keys()) if (!known.has(k)) throw new Error(`unknown option ${k}`);
  const timeout = Number(flags.get('--start-timeout-ms') ?? 30_000);
  if (!Number.isInteger(timeout) || timeout < 1) throw new Error('--start-timeout-ms takes a whole number of milliseconds');
  return {
    dataDir: resolve(flags.get('--data-dir') ?? env.ENGRAM_DATA_DIR ?? './data'),
    url: flags.get('--url') ?? env.ENGRAM_URL,
    space: flags.get('--space') ?? env.ENGRAM_MEMORY_SPACE ?? 'default',
    agentId: flags.get('--agent') ?? env.ENGRAM_AGENT_ID ?? 'mcp',
    token: flags.get('--token') ?? env.ENGRAM_TOKEN,
    clientId: flags.get('--client') ?? env.ENGRAM_CLIENT_ID,
    tls: tlsFiles(p, env),
    config: flags.get('--config') ?? env.ENGRAM_CONFIG,
    start,
    startTimeoutMs: timeout,
  };
}

const log = (msg: string) => process.stderr.write(`engram mcp: ${msg}\n`);

async function ready(url: string, fetch: typeof globalThis.fetch): Promise<boolean> {
  try {
    return (await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2000) })).ok;
  } catch {
    return false;
  }
}

/** The URL of the data dir's running server, starting one when none runs. */
export async function findOrStartServer(
  o: Pick<McpArgs, 'dataDir' | 'config' | 'start' | 'startTimeoutMs'> & { tls?: TlsOptions },
  env: NodeJS.ProcessEnv = process.env,
): Promise<string> {
  const fetch = tlsFetch(tlsMaterial(o.tls ?? {}));
  const running = () => {
    const d = readDiscovery(o.dataDir);
    return d !== undefined && isEngramProcess(d.pid) ? d : undefined;
  };
  let found = running();
  // A server that is there but not ready (starting, stopping, hung; or a reused pid) gets a few
  // seconds; after that a new one is started (LevelDB's lock decides which server keeps the dir).
  for (let i = 0; found !== undefined && i < 50; i++) {
    if (await ready(found.url, fetch)) return found.url;
    await new Promise((r) => setTimeout(r, 100));
    found = running();
  }
  let exited: number | null | undefined;
  if (!o.start) throw new Error(`no Engram server is running and ready for data dir ${o.dataDir} (and --no-start was given)`);
  mkdirSync(o.dataDir, { recursive: true });
  const logFile = join(o.dataDir, 'engram-server.log');
  const out = openSync(logFile, 'a');
  // Any free loopback ports unless the environment or config names an address: the
  // discovery file tells every client where the server is.
  const ports = env.ENGRAM_ADDR !== undefined || o.config !== undefined ? [] : ['--addr', '127.0.0.1:0', '--grpc-addr', '127.0.0.1:0'];
  const args = [MAIN_JS, 'serve', '--data-dir', o.dataDir, ...ports, ...(o.config === undefined ? [] : ['--config', o.config])];
  const child = spawn(process.execPath, args, { detached: true, stdio: ['ignore', out, out], env });
  child.on('exit', (code) => (exited = code));
  child.unref();
  log(`started an Engram server (pid ${child.pid}) for ${o.dataDir}; its log is ${logFile}`);

  // Wait for a ready server: ours, or one another process started at the same moment (ours
  // then exits, finding the data dir taken, and that is fine).
  const deadline = Date.now() + o.startTimeoutMs;
  let exitedAt: number | undefined;
  while (Date.now() < deadline) {
    const d = running();
    if (d !== undefined && (await ready(d.url, fetch))) return d.url;
    if (exited !== undefined) {
      exitedAt ??= Date.now();
      // Give a concurrent starter's server a moment to announce itself before giving up.
      if (Date.now() - exitedAt > 5000) throw new Error(`the Engram server for ${o.dataDir} exited (code ${exited}); see ${join(o.dataDir, 'engram-server.log')}`);
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  throw new Error(`no Engram server became ready for ${o.dataDir} within ${o.startTimeoutMs} ms; see ${join(o.dataDir, 'engram-server.log')}`);
}

/** True when a request never reached a server (nothing can have been applied). */
function refused(err: unknown): boolean {
  let e: unknown = err;
  for (let i = 0; i < 4 && e !== undefined && e !== null; i++) {
    if ((e as { code?: unknown }).code === 'ECONNREFUSED') return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

const READS = new Set(['facts', 'recall', 'recent', 'search']);

/** Calls that change nothing, so repeating one after a lost answer is harmless. */
function readOnly(name: string, args: unknown[]): boolean {
  if (READS.has(name)) return true;
  if (name === 'memory') return (args[1] as { command?: unknown } | undefined)?.command === 'view';
  if (name === 'graph') return ['read_graph', 'search_nodes', 'open_nodes'].includes(args[1] as string);
  return false;
}

/**
 * Forwards to the server. When it has gone (a restart, a crash), finds or starts it again; the
 * call is repeated there if it never reached the old server or changes nothing. A change whose
 * answer was lost is not repeated (it may have been applied): the model gets UNAVAILABLE
 * saying so, and its next call goes to the new server.
 */
function reconnecting(connect: () => Promise<AgentApi>): AgentApi {
  let api: Promise<AgentApi> | undefined;
  // A failed connect is forgotten, so the next call tries again instead of failing for good.
  const fresh = () => {
    const p = connect();
    p.catch(() => {
      if (api === p) api = undefined;
    });
    return p;
  };
  return new Proxy({} as AgentApi, {
    get:
      (_, name: string) =>
      async (...args: unknown[]) => {
        api ??= fresh();
        const call = async (a: AgentApi) => (a[name as keyof AgentApi] as (...x: unknown[]) => Promise<unknown>).apply(a, args);
        try {
          return await call(await api);
        } catch (err) {
          if ((err as { code?: unknown }).code !== 'UNAVAILABLE') throw err;
          log('the server is gone; finding or starting it again');
          api = fresh();
          const a = await api;
          if (refused(err) || readOnly(name, args)) return call(a);
          throw new EngramClientError(
            'UNAVAILABLE',
            'the Engram server went away during this call, so it may or may not have been applied; a server is running again: check (read) before repeating it',
            undefined,
            undefined,
            { cause: err },
          );
        }
      },
  });
}

export async function runMcp(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<number | undefined> {
  let o: McpArgs;
  try {
    o = parseArgs(args, env);
  } catch (err) {
    log((err as Error).message);
    return 2;
  }
  const connect = async (): Promise<AgentApi> => {
    const url = o.url ?? (await findOrStartServer(o, env));
    return new ClientAgentApi(new EngramClient(url, { token: o.token, clientId: o.clientId, ...o.tls }));
  };
  // Connect before serving, so a server that cannot start is reported at once.
  let first: AgentApi;
  try {
    first = await connect();
  } catch (err) {
    log((err as Error).message);
    return 1;
  }
  let used = false;
  const api = reconnecting(async () => {
    if (!used) {
      used = true;
      return first;
    }
    return connect();
  });
  const server = createMcpServer(api, { space: o.space, agentId: o.agentId, version: packageVersion() });
  const transport = new StdioServerTransport();
  transport.onclose = () => process.exit(0);
  process.stdin.on('end', () => process.exit(0));
  await server.connect(transport);
  log(`serving memory space "${o.space}" as agent "${o.agentId}" over stdio`);
  return undefined;
}
