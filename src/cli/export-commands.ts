/**
 * `engram export --out FILE [--prefix P]`: a client's contexts and their units, read through the
 * API, as NDJSON: a header, then per context a `{"context"}` line and its `{"unit"}` lines in seq
 * order, then a trailer with the counts. Portable between servers and versions (unlike a backup,
 * which is the store itself, and one snapshot).
 * `engram import --in FILE`: appends them through the API, unit by unit in order, keeping agent,
 * type, meta and payload; relationships and pinned units point at the new ids. Each unit carries
 * the idempotency key `import:<old id>`, so an import that is run again (or resumed after a
 * failure) adds nothing twice (within idempotency.ttl).
 */
import { createWriteStream, createReadStream } from 'node:fs';
import { once } from 'node:events';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { EngramClient } from '../client/http-client.js';
import type { Context, WorkUnit } from '../client/types.js';
import { clientOptions, parse, serverUrl, UsageError } from './client-commands.js';

export const EXPORT_FORMAT = 'engram-export';

function clientFrom(args: string[], env: NodeJS.ProcessEnv, fileFlag: '--out' | '--in'): { client: EngramClient; file: string; prefix: string | undefined } {
  const p = parse(args);
  const file = p.flags.get(fileFlag);
  if (file === undefined) throw new UsageError(`${fileFlag} FILE is required`);
  const client = new EngramClient(serverUrl(p, env), clientOptions(p, env));
  return { client, file: resolve(file), prefix: p.flags.get('--prefix') };
}

export async function runExport(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let o: ReturnType<typeof clientFrom>;
  try {
    o = clientFrom(args, env, '--out');
  } catch (err) {
    process.stderr.write(`engram export: ${(err as Error).message}\n`);
    return 2;
  }
  const out = createWriteStream(o.file);
  const write = async (obj: unknown) => {
    if (!out.write(JSON.stringify(obj) + '\n')) await once(out, 'drain');
  };
  let contexts = 0;
  let units = 0;
  try {
    await write({ format: EXPORT_FORMAT, version: 1, createdAt: new Date().toISOString() });
    for (let after: string | undefined; ;) {
      const page = await o.client.listContexts({ limit: 1000, ...(after ? { after } : {}), ...(o.prefix ? { prefix: o.prefix } : {}) });
      for (const c of page.contexts) {
        await write({ context: c });
        contexts++;
        for (let seq = 0; ;) {
          const p = await o.client.list(c.id, { after: seq, limit: 1000 });
          for (const u of p.workUnits) await write({ unit: u });
          units += p.workUnits.length;
          if (p.nextCursor === null) break;
          seq = p.nextCursor;
        }
      }
      if (page.nextCursor === null) break;
      after = page.nextCursor;
    }
    await write({ end: true, contexts, units });
    out.end();
    await once(out, 'finish');
    process.stdout.write(`exported ${units} units in ${contexts} contexts to ${o.file}\n`);
    return 0;
  } catch (err) {
    out.destroy();
    process.stderr.write(`engram export: ${(err as Error).message}\n`);
    return 1;
  }
}

export async function runImport(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let o: ReturnType<typeof clientFrom>;
  try {
    o = clientFrom(args, env, '--in');
  } catch (err) {
    process.stderr.write(`engram import: ${(err as Error).message}\n`);
    return 2;
  }
  const ids = new Map<string, string>(); // old unit id → new
  const pins = new Map<string, string[]>(); // context → old pinned ids
  let contexts = 0;
  let units = 0;
  let replayed = 0;
  let header = false;
  let ended = false;
  let lineNo = 0;
  try {
    for await (const line of createInterface({ input: createReadStream(o.file, { encoding: 'utf8' }), crlfDelay: Infinity })) {
      lineNo++;
      if (line.trim() === '') continue;
      const obj = JSON.parse(line) as { format?: string; context?: Context; unit?: WorkUnit; end?: boolean };
      if (!header) {
        if (obj.format !== EXPORT_FORMAT) throw new Error(`${o.file} is not an Engram export (a backup is restored with engram restore)`);
        header = true;
      } else if (obj.context !== undefined) {
        const c = obj.context;
        contexts++;
        pins.set(c.id, c.pinnedUnits);
        if (c.displayName !== '' || Object.keys(c.meta).length > 0) await o.client.updateContext(c.id, { displayName: c.displayName, meta: c.meta });
      } else if (obj.unit !== undefined) {
        const u = obj.unit;
        const r = await o.client.write({
          contextId: u.contextId,
          agentId: u.agentId,
          type: u.type,
          meta: u.meta,
          payload: u.payload,
          relationships: u.relationships.map((rel) => ({ ...rel, targetId: ids.get(rel.targetId) ?? rel.targetId })),
          idempotencyKey: `import:${u.id}`,
        });
        ids.set(u.id, r.workUnit.id);
        units++;
        if (r.replayed) replayed++;
      } else if (obj.end === true) ended = true;
      else throw new Error(`line ${lineNo}: not a context, unit or end line`);
    }
    for (const [contextId, old] of pins) {
      const pinned = old.map((id) => ids.get(id)).filter((x): x is string => x !== undefined);
      if (pinned.length > 0) await o.client.updateContext(contextId, { pinUnits: pinned });
    }
    process.stdout.write(
      `imported ${units} units in ${contexts} contexts${replayed > 0 ? ` (${replayed} were there from an earlier import)` : ''}${ended ? '' : '; the file ended early (no end line): what it held was imported'}\n`,
    );
    return ended ? 0 : 1;
  } catch (err) {
    process.stderr.write(`engram import: line ${lineNo}: ${(err as Error).message} (run it again to resume: units already imported are not added twice)\n`);
    return 1;
  }
}
