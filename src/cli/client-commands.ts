/**
 * `engram put | get | tail | delete | search | lock | unlock | memory`: a command line on the running server of
 * a data dir (found through its discovery file), or on `--url`. Human-readable output by
 * default, one JSON document per result with `--json`.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { EngramClient, type EngramClientOptions } from '../client/http-client.js';
import { EngramClientError } from '../client/errors.js';
import type { TlsOptions } from '../client/tls.js';
import type { WorkUnit } from '../client/types.js';
import { isEngramProcess, readDiscovery } from './discovery.js';

export const CLIENT_COMMANDS = ['put', 'get', 'tail', 'delete', 'search', 'lock', 'unlock', 'memory', 'presence'] as const;

export interface Parsed {
  positional: string[];
  flags: Map<string, string>;
  bools: Set<string>;
}

const BOOL_FLAGS = new Set(['--json', '-f', '--follow', '--yes']);

/** Options, `--flag value` or `--flag=value`; `bools` are the ones that take no value. */
export function parse(args: string[], bools: ReadonlySet<string> = BOOL_FLAGS): Parsed {
  const out: Parsed = { positional: [], flags: new Map(), bools: new Set() };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (bools.has(a)) out.bools.add(a === '--follow' ? '-f' : a);
    else if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      if (eq !== -1) out.flags.set(a.slice(0, eq), a.slice(eq + 1));
      else {
        const v = args[i + 1];
        if (v === undefined) throw new UsageError(`${a} needs a value`);
        out.flags.set(a, v);
        i++;
      }
    } else out.positional.push(a);
  }
  return out;
}

export class UsageError extends Error {}

function int(p: Parsed, flag: string): number | undefined {
  const v = p.flags.get(flag);
  if (v === undefined) return undefined;
  if (!/^\d{1,15}$/.test(v)) throw new UsageError(`${flag} takes a whole number, got ${JSON.stringify(v)}`);
  return Number(v);
}

/** The server to talk to: --url, or the one the data dir's discovery file names. */
export function serverUrl(p: Parsed, env: NodeJS.ProcessEnv): string {
  const url = p.flags.get('--url') ?? env.ENGRAM_URL;
  if (url !== undefined) return url;
  const dataDir = resolve(p.flags.get('--data-dir') ?? env.ENGRAM_DATA_DIR ?? './data');
  const d = readDiscovery(dataDir);
  if (d === undefined || !isEngramProcess(d.pid)) {
    throw new UsageError(`no Engram server is running for data dir ${dataDir} (start one with: engram serve --data-dir ${dataDir}, or give --url)`);
  }
  return d.url;
}

/**
 * TLS files of a client command, read now: --ca (a private CA), --cert and --key (mutual TLS), or
 * ENGRAM_CA_FILE, ENGRAM_CERT_FILE and ENGRAM_KEY_FILE. An https:// URL needs none of them when
 * the system trusts the server's CA.
 */
export function tlsFiles(p: Parsed, env: NodeJS.ProcessEnv): TlsOptions {
  const read = (flag: string, variable: string): Buffer | undefined => {
    const path = p.flags.get(flag) ?? env[variable];
    if (path === undefined || path === '') return undefined;
    try {
      return readFileSync(path);
    } catch (err) {
      throw new UsageError(`${flag} ${path}: cannot be read (${(err as Error).message})`);
    }
  };
  return { ca: read('--ca', 'ENGRAM_CA_FILE'), cert: read('--cert', 'ENGRAM_CERT_FILE'), key: read('--key', 'ENGRAM_KEY_FILE') };
}

/** The SDK options of a client command: who it is (--token, --client) and its TLS files. */
export function clientOptions(p: Parsed, env: NodeJS.ProcessEnv): EngramClientOptions {
  return { token: p.flags.get('--token') ?? env.ENGRAM_TOKEN, clientId: p.flags.get('--client') ?? env.ENGRAM_CLIENT_ID, ...tlsFiles(p, env) };
}

function text(u: WorkUnit): string {
  const p = u.payload as { text?: unknown } | string | null;
  const body = typeof p === 'string' ? p : p !== null && typeof p === 'object' && typeof p.text === 'string' ? p.text : JSON.stringify(u.payload);
  return `#${u.seq} ${u.agentId} ${u.type}: ${body}`;
}

/** How much of a hit `engram search` shows: a line, around the first query word it holds. */
const EXCERPT_CHARS = 160;

/**
 * A search hit as one line: the words of its payload (a memory file's text, a fact's value, a
 * message), cut to EXCERPT_CHARS around the first word of the query they contain.
 */
export function excerpt(payload: unknown, query: string): string {
  const parts: string[] = [];
  const walk = (v: unknown): void => {
    if (typeof v === 'string') parts.push(v);
    else if (typeof v === 'number' || typeof v === 'boolean') parts.push(String(v));
    else if (Array.isArray(v)) v.forEach(walk);
    else if (typeof v === 'object' && v !== null && !('$binary' in v)) Object.values(v).forEach(walk);
  };
  walk(payload);
  const flat = parts.join(' ').replace(/\s+/g, ' ').trim();
  if (flat.length <= EXCERPT_CHARS) return flat;
  const lower = flat.toLowerCase();
  const at = query
    .toLowerCase()
    .split(/\W+/)
    .filter((w) => w.length > 2)
    .map((w) => lower.indexOf(w))
    .filter((i) => i >= 0)
    .sort((a, b) => a - b)[0];
  let start = at === undefined ? 0 : Math.max(0, Math.min(at - EXCERPT_CHARS / 4, flat.length - EXCERPT_CHARS));
  let end = Math.min(flat.length, start + EXCERPT_CHARS);
  // Whole words at both ends.
  if (start > 0 && flat.indexOf(' ', start) !== -1 && flat.indexOf(' ', start) < (at ?? end)) start = flat.indexOf(' ', start) + 1;
  if (end < flat.length && flat.lastIndexOf(' ', end) > start) end = flat.lastIndexOf(' ', end);
  return `${start > 0 ? '…' : ''}${flat.slice(start, end)}${end < flat.length ? '…' : ''}`;
}

/** Runs one client command; resolves with the exit status. */
export async function runClientCommand(command: (typeof CLIENT_COMMANDS)[number], args: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const out = (s: string) => process.stdout.write(s + '\n');
  let p: Parsed;
  let client: EngramClient;
  try {
    p = parse(args);
    client = new EngramClient(serverUrl(p, env), clientOptions(p, env));
  } catch (err) {
    process.stderr.write(`engram ${command}: ${(err as Error).message}\n`);
    return 2;
  }
  const json = p.bools.has('--json');
  const need = (n: number, what: string) => {
    if (p.positional.length < n) throw new UsageError(`expected ${what}`);
  };
  try {
    switch (command) {
      case 'put': {
        need(2, 'CONTEXT TEXT');
        const [contextId, body] = p.positional as [string, string];
        const raw = p.flags.get('--payload');
        let payload: unknown = { text: body };
        if (raw !== undefined) {
          try {
            payload = JSON.parse(raw);
          } catch {
            throw new UsageError('--payload takes JSON');
          }
        }
        const r = await client.write({ contextId, agentId: p.flags.get('--agent') ?? 'cli', type: (p.flags.get('--type') ?? 'MESSAGE') as WorkUnit['type'], payload });
        out(json ? JSON.stringify(r.workUnit) : `${r.workUnit.contextId} #${r.workUnit.seq} ${r.workUnit.id}`);
        return 0;
      }
      case 'get': {
        const id = p.flags.get('--id');
        if (id !== undefined) {
          const u = await client.get(id);
          out(json ? JSON.stringify(u) : text(u));
          return 0;
        }
        need(1, 'CONTEXT (or --id UNIT)');
        const page = await client.list(p.positional[0]!, { limit: int(p, '--limit') ?? 20, reverse: true });
        for (const u of page.workUnits.reverse()) out(json ? JSON.stringify(u) : text(u));
        return 0;
      }
      case 'tail': {
        need(1, 'CONTEXT');
        const contextId = p.positional[0]!;
        const since = int(p, '--since');
        if (!p.bools.has('-f')) {
          const page = await client.list(contextId, { after: since ?? 0, limit: 1000 });
          for (const u of page.workUnits) out(json ? JSON.stringify(u) : text(u));
          return 0;
        }
        // Follows until interrupted; the SDK reconnects and resumes from the last seq printed.
        const stop = new AbortController();
        process.once('SIGINT', () => stop.abort());
        process.once('SIGTERM', () => stop.abort());
        const agentId = p.flags.get('--agent');
        for await (const u of client.subscribe(contextId, { since: since ?? 0, signal: stop.signal, ...(agentId === undefined ? {} : { agentId }) })) {
          out(json ? JSON.stringify(u) : text(u));
        }
        return 0;
      }
      case 'presence': {
        need(1, 'CONTEXT');
        const r = await client.presence(p.positional[0]!);
        if (json) out(JSON.stringify(r));
        else if (r.members.length === 0) out(`nobody is subscribed to ${r.contextId}`);
        else for (const m of r.members) out(`${m.clientId} ${m.agentId ?? '(no agent)'} ${m.connections} since ${m.since}`);
        return 0;
      }
      case 'search': {
        need(1, 'QUERY');
        const contextId = p.flags.get('--context');
        const mode = p.flags.get('--mode') as 'hybrid' | 'keyword' | 'vector' | undefined;
        const query = p.positional.join(' ');
        const r = await client.search({ query, limit: int(p, '--limit') ?? 10, ...(contextId ? { contextId } : {}), ...(mode ? { mode } : {}) });
        if (json) out(JSON.stringify(r));
        else
          for (const x of r.results)
            out(`${x.score.toFixed(3)} ${x.workUnit.contextId} #${x.workUnit.seq} ${x.workUnit.agentId} ${x.workUnit.type}: ${excerpt(x.workUnit.payload, query)}`);
        return 0;
      }
      case 'delete': {
        need(1, 'CONTEXT');
        // Nothing brings a deleted context back: say so explicitly.
        if (!p.bools.has('--yes')) throw new UsageError(`deleting ${JSON.stringify(p.positional[0])} removes it for good; add --yes to confirm`);
        const d = await client.deleteContext(p.positional[0]!);
        out(json ? JSON.stringify(d) : `${d.contextId} deleted: ${d.units} units, ${d.bytes} bytes`);
        return 0;
      }
      case 'lock': {
        need(1, 'RESOURCE');
        const agentId = p.flags.get('--agent');
        if (agentId === undefined) throw new UsageError('--agent is required');
        const ttlMs = int(p, '--ttl');
        const waitMs = int(p, '--wait');
        const l = await client.acquire(p.positional[0]!, { agentId, ...(ttlMs === undefined ? {} : { ttlMs }), ...(waitMs === undefined ? {} : { waitMs }) });
        out(json ? JSON.stringify(l) : `${l.resource} held by ${l.agentId} until ${l.expiresAt}: lockId ${l.lockId} token ${l.token}`);
        return 0;
      }
      case 'memory': {
        need(2, 'SPACE \'COMMAND-JSON\' (for example \'{"command":"view","path":"/memories"}\')');
        let input: unknown;
        try {
          input = JSON.parse(p.positional[1]!);
        } catch {
          throw new UsageError('the command must be JSON, like {"command":"view","path":"/memories"}');
        }
        const r = await client.memory(p.positional[0]!, input, p.flags.get('--agent') ?? 'cli');
        out(json ? JSON.stringify(r) : r.result);
        return r.isError ? 1 : 0;
      }
      case 'unlock': {
        need(1, 'RESOURCE');
        const agentId = p.flags.get('--agent');
        const lockId = p.flags.get('--lock-id');
        if (agentId === undefined || lockId === undefined) throw new UsageError('--agent and --lock-id are required');
        const l = await client.release(p.positional[0]!, { agentId, lockId });
        out(json ? JSON.stringify(l) : `${l.resource} released`);
        return 0;
      }
    }
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`engram ${command}: ${err.message}\n`);
      return 2;
    }
    if (err instanceof EngramClientError) {
      process.stderr.write(json ? JSON.stringify({ error: { code: err.code, message: err.message } }) + '\n' : `engram ${command}: ${err.code}: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
  return 2;
}
