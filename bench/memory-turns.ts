/**
 * How well the memory decides what a conversation turn changes: bench/memory-turns.json
 * (labelled turns) handed to POST /memory/{space}/process-turn of a running server, one fresh
 * space per scenario, and its decisions scored against the labels. A change (ADD, UPDATE,
 * DELETE) is right when its decision and its fact match a labelled one (UPDATE: the fact it
 * replaces too), compared without case, punctuation or articles; precision is right changes over
 * changes made, recall right changes over labelled ones. NOOPs are not scored on their own: a
 * turn with nothing to keep that changes something counts against precision.
 *
 *   node dist/bench/memory-turns.js [URL]    (default: starts nothing; give a server's URL)
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { EngramClient, type TurnDecision, type TurnMessage } from '../src/client/index.js';

interface Expected {
  decision: 'ADD' | 'UPDATE' | 'DELETE';
  /** The fact, or equivalent phrasings of it. */
  fact: string | string[];
  replaces?: string | string[];
}
interface Turn {
  user: string;
  assistant?: string;
  expect: Expected[];
}
interface Scenario {
  set: 'dev' | 'heldout-1' | 'heldout-2';
  name: string;
  turns: Turn[];
}

export interface Score {
  right: number;
  made: number;
  labelled: number;
  precision: number;
  recall: number;
}

export interface TurnsReport {
  extractor: string;
  scenarios: number;
  turns: number;
  /** By set (dev, heldout, all), then by decision (ADD, UPDATE, DELETE, all). */
  scores: Record<string, Record<string, Score>>;
  /** What was missed or made wrongly, for the docs. */
  misses: string[];
}

const ROOT = resolve(import.meta.dirname, '../..');
const norm = (s: string | undefined) =>
  (s ?? '')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}' ]+/gu, ' ')
    .replace(/\b(?:a|an|the)\b/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();

const same = (value: string | undefined, labels: string | string[] | undefined) => [labels ?? []].flat().some((l) => norm(l) === norm(value));

function matches(d: TurnDecision, e: Expected): boolean {
  if (d.decision !== e.decision) return false;
  if (e.decision === 'DELETE') return same(d.replaces?.value ?? d.fact?.value, e.fact);
  if (!same(d.fact?.value, e.fact)) return false;
  return e.decision === 'ADD' || same(d.replaces?.value, e.replaces);
}

export async function evaluateTurns(url: string, options: { extractor?: 'rules' | 'model' | 'auto' } = {}): Promise<TurnsReport> {
  const data = JSON.parse(readFileSync(resolve(ROOT, 'bench/memory-turns.json'), 'utf8')) as { scenarios: Scenario[] };
  const client = new EngramClient(url);
  const run = Date.now().toString(36);
  const tally = new Map<string, { right: number; made: number; labelled: number }>();
  const count = (set: string, decision: string, field: 'right' | 'made' | 'labelled') => {
    for (const k of [`${set}/${decision}`, `${set}/all`, `all/${decision}`, 'all/all']) {
      const t = tally.get(k) ?? { right: 0, made: 0, labelled: 0 };
      t[field]++;
      tally.set(k, t);
    }
  };
  const misses: string[] = [];
  let extractor = '';
  let turns = 0;
  for (const [i, s] of data.scenarios.entries()) {
    const space = `eval-${run}-${i}`;
    for (const t of s.turns) {
      turns++;
      const messages: TurnMessage[] = [...(t.assistant === undefined ? [] : [{ role: 'assistant' as const, content: t.assistant }]), { role: 'user', content: t.user }];
      const r = await client.processTurn(space, messages, { ...(options.extractor === undefined ? {} : { extractor: options.extractor }) });
      extractor = r.extractor;
      const made = r.decisions.filter((d) => d.decision !== 'NOOP');
      const unmatched = [...made];
      for (const e of t.expect) {
        count(s.set, e.decision, 'labelled');
        const at = unmatched.findIndex((d) => matches(d, e));
        if (at === -1) {
          misses.push(`${s.set} · ${s.name} · "${t.user}": missed ${e.decision} "${[e.fact].flat()[0]}"`);
          continue;
        }
        unmatched.splice(at, 1);
        count(s.set, e.decision, 'right');
      }
      for (const d of made) count(s.set, d.decision, 'made');
      for (const d of unmatched) misses.push(`${s.set} · ${s.name} · "${t.user}": made ${d.decision} "${d.fact?.value}" (${d.reason})`);
    }
  }
  client.close();
  const scores: TurnsReport['scores'] = {};
  for (const [k, t] of tally) {
    const [set, decision] = k.split('/') as [string, string];
    (scores[set] ??= {})[decision] = { ...t, precision: t.made === 0 ? 1 : t.right / t.made, recall: t.labelled === 0 ? 1 : t.right / t.labelled };
  }
  return { extractor, scenarios: data.scenarios.length, turns, scores, misses };
}

/** The report as a Markdown table (docs/memory.md). */
export function turnsTable(r: TurnsReport): string {
  const pct = (x: number) => `${(x * 100).toFixed(0)} %`;
  const rows = ['| set | decision | labelled | made | right | precision | recall |', '|---|---|---|---|---|---|---|'];
  for (const set of ['heldout-2', 'heldout-1', 'dev', 'all'])
    for (const d of ['ADD', 'UPDATE', 'DELETE', 'all']) {
      const s = r.scores[set]?.[d];
      if (s !== undefined) rows.push(`| ${set} | ${d} | ${s.labelled} | ${s.made} | ${s.right} | ${pct(s.precision)} | ${pct(s.recall)} |`);
    }
  return rows.join('\n');
}

if (process.argv[1] === import.meta.filename) {
  const url = process.argv[2];
  if (url === undefined) {
    process.stderr.write('usage: node dist/bench/memory-turns.js URL (a running server)\n');
    process.exit(2);
  }
  const r = await evaluateTurns(url);
  process.stdout.write(`extractor ${r.extractor}: ${r.scenarios} scenarios, ${r.turns} turns\n\n${turnsTable(r)}\n\n${r.misses.map((m) => `- ${m}`).join('\n')}\n`);
}
