/**
 * `engram repair`: LevelDB's own repair (it rebuilds the table index from every readable file
 * and moves unreadable ones to lost/), then a check of what the log promises: per context,
 * seqs 1..head. It reports what could not be recovered (the seqs missing from each context,
 * the files set aside), and fixes a head left below units that survived, so that new writes
 * can never reuse a seq that is still stored.
 */
import { cpSync, existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ClassicLevel } from 'classic-level';
import { pack, unpack } from 'msgpackr';
import { keys } from './keys.js';
import { AFTER_SEP, SEP } from '../basics/compound-key.js';
import { newEpoch } from '../basics/ids.js';

export interface RepairReport {
  /** Where the data dir was copied before repairing (unless asked not to). */
  copy: string | undefined;
  contexts: number;
  units: number;
  /** Contexts with seqs that could not be recovered, as ranges. */
  missing: Array<{ client: string; context: string; seqs: string; count: number }>;
  /** Contexts whose head was raised to the highest unit still stored. */
  headsRaised: Array<{ client: string; context: string; from: number; to: number }>;
  /** Files LevelDB could not read, moved to lost/ inside the data dir. */
  lostFiles: Array<{ name: string; bytes: number }>;
}

function ranges(seqs: number[]): string {
  const out: string[] = [];
  for (let i = 0; i < seqs.length;) {
    let j = i;
    while (j + 1 < seqs.length && seqs[j + 1] === seqs[j]! + 1) j++;
    out.push(i === j ? String(seqs[i]) : `${seqs[i]}–${seqs[j]}`);
    i = j + 1;
  }
  return out.join(', ');
}

export async function repairDataDir(dataDir: string, options: { copy: boolean }): Promise<RepairReport> {
  if (!existsSync(join(dataDir, 'CURRENT')) && !readdirSync(dataDir).some((f) => f.endsWith('.ldb') || f.endsWith('.log'))) {
    throw new Error(`${dataDir} holds no LevelDB data`);
  }
  const lostBefore = new Set(existsSync(join(dataDir, 'lost')) ? readdirSync(join(dataDir, 'lost')) : []);
  let copy: string | undefined;
  if (options.copy) {
    copy = `${dataDir}.before-repair-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    cpSync(dataDir, copy, { recursive: true });
  }
  await ClassicLevel.repair(dataDir);

  const db = new ClassicLevel<string, Buffer>(dataDir, { keyEncoding: 'utf8', valueEncoding: 'buffer' });
  await db.open();
  const report: RepairReport = { copy, contexts: 0, units: 0, missing: [], headsRaised: [], lostFiles: [] };
  try {
    // Units present, by space and context (keys sort by client, context, seq).
    const present = new Map<string, number[]>();
    for await (const k of db.keys({ gte: `u${SEP}`, lt: `u${AFTER_SEP}` })) {
      const [, client, context, seq] = k.split(SEP);
      const id = `${client}${SEP}${context}`;
      let list = present.get(id);
      if (list === undefined) present.set(id, (list = []));
      list.push(parseInt(seq!, 16));
      report.units++;
    }
    const heads = new Map<string, [number, number]>();
    for await (const [k, v] of db.iterator({ gte: `h${SEP}`, lt: `h${AFTER_SEP}` })) heads.set(k.slice(2), unpack(v) as [number, number]);
    const contexts = new Set([...present.keys(), ...heads.keys()]);
    report.contexts = contexts.size;
    const fixes = db.batch();
    for (const id of [...contexts].sort()) {
      const [client, context] = id.split(SEP) as [string, string];
      const seqs = present.get(id) ?? [];
      const top = seqs.length === 0 ? 0 : seqs[seqs.length - 1]!;
      const [head, updatedAt] = heads.get(id) ?? [0, Date.now()];
      if (top > head) {
        fixes.put(keys.head(client, context), pack([top, updatedAt]));
        report.headsRaised.push({ client, context, from: head, to: top });
      }
      const have = new Set(seqs);
      const gone: number[] = [];
      for (let s = 1; s <= Math.max(head, top); s++) if (!have.has(s)) gone.push(s);
      if (gone.length > 0) report.missing.push({ client, context, seqs: ranges(gone), count: gone.length });
    }
    // Projection snapshots are a cache of the history as it was; a repaired one may differ (a lost
    // tail is written again with other units), so they all go and the next rebuild replays.
    await db.clear({ gte: keys.snapshotsStart, lt: keys.snapshotsEnd });
    // A repaired history may lack units its readers saw: a new epoch tells a resuming reader so.
    fixes.put(keys.meta('epoch'), Buffer.from(newEpoch()));
    await fixes.write({ sync: true });
  } finally {
    await db.close();
  }
  const lost = join(dataDir, 'lost');
  if (existsSync(lost)) for (const name of readdirSync(lost)) if (!lostBefore.has(name)) report.lostFiles.push({ name, bytes: statSync(join(lost, name)).size });
  return report;
}
