/**
 * Offline decisions: what each claim of a conversation turn (memory/turn-rules.ts) does to the
 * facts already known. A claim about the same subject and relation as a known fact is compared
 * with it by kind: a person has one name and one home (a new value is an UPDATE), prefers one
 * thing per topic (the embedder, or a shared word, says two values are of one topic: "dark
 * mode" and "light mode"), and may like many things (only the opposite feeling about the same
 * thing is an UPDATE). A claim that takes something back deletes the fact it names; one that
 * says what it replaces updates that fact. The rest is ADD, or NOOP when it is already known.
 * Claims of one turn are decided in order, each seeing the ones before it.
 */
import { normalized, numbers } from './facts.js';
import { claimKey, claimText, own, parseSentence, type Claim } from './turn-rules.js';

export interface KnownFact {
  key: string;
  value: string;
  deleted: boolean;
}

export interface PlannedDecision {
  decision: 'ADD' | 'UPDATE' | 'DELETE' | 'NOOP';
  /** The fact decided on: the new key (ADD), the known one (UPDATE, DELETE, NOOP), or absent (a NOOP about nothing known). */
  key?: string;
  /** The value stored (ADD, UPDATE), or the known value (DELETE, NOOP). */
  value: string;
  reason: string;
  /** The statement of the turn this decision is about. */
  statement: string;
}

/** Cosine similarity of `text` to each of `others` (an empty list: no embedder). */
export type Similarity = (text: string, others: string[]) => Promise<number[]>;

/** Two values at least this similar belong to one topic ("dark mode", "light mode": 0.88; "tea", "dark mode": 0.12). */
const SAME_TOPIC = 0.7;
/** "Switched to X" names no old value: a looser topic suffices (Vim and Emacs: 0.49). */
const SWITCH_TOPIC = 0.4;
/** Two values at least this similar name the same thing ("Vim", "vim editor"). */
const SAME_THING = 0.85;
const STOP = new Set('a an the of in on at to for my your his her their and or with'.split(' '));
const OPPOSITE: Record<string, string> = { likes: 'dislikes', dislikes: 'likes', loves: 'dislikes', hates: 'likes' };

interface Working extends KnownFact {
  claim: Claim | undefined;
}

const words = (s: string) =>
  normalized(s)
    .split(/[^\p{L}\p{N}+#]+/u)
    .filter((w) => w !== '' && !STOP.has(w));

export async function decideClaims(claims: Claim[], facts: KnownFact[], similar: Similarity, factSimilarity: number): Promise<PlannedDecision[]> {
  const known: Working[] = facts.map((f) => ({ ...f, claim: parseSentence(f.value) }));
  const out: PlannedDecision[] = [];
  for (const c of claims) {
    const d = await decideOne(c, known, similar, factSimilarity);
    out.push(d);
    // Later claims of the turn see this one.
    if (d.key === undefined || d.decision === 'NOOP') continue;
    const at = known.find((f) => f.key === d.key);
    const next: Working = { key: d.key, value: d.value, deleted: d.decision === 'DELETE', claim: d.decision === 'DELETE' ? at?.claim : parseSentence(d.value) };
    if (at === undefined) known.push(next);
    else Object.assign(at, next);
  }
  return out;
}

async function decideOne(c: Claim, known: Working[], similar: Similarity, factSimilarity: number): Promise<PlannedDecision> {
  const statement = claimText(c);
  const live = known.filter((f) => !f.deleted);
  const about = live.filter((f) => f.claim !== undefined && f.claim.subject === c.subject);
  const noop = (f: Working | undefined, reason: string): PlannedDecision => ({
    decision: 'NOOP',
    ...(f === undefined ? {} : { key: f.key, value: f.value }),
    value: f?.value ?? statement,
    reason,
    statement,
  });
  const update = (f: Working, value: string, reason: string): PlannedDecision => ({ decision: 'UPDATE', key: f.key, value, reason, statement });

  if (c.retracts) {
    const ofRelation = about.filter((k) => k.claim!.relation === c.relation);
    // A claim with no value ("no longer runs") takes back the one fact of its relation, if there is just one.
    const f = c.value === '' ? (ofRelation.length === 1 ? ofRelation[0] : undefined) : await best(c.value, ofRelation, similar, SAME_THING);
    if (f === undefined) return noop(undefined, `takes back "${statement}", which is not known`);
    return { decision: 'DELETE', key: f.key, value: f.value, reason: `the turn takes back "${f.value}"`, statement };
  }
  const same = live.find((f) => normalized(f.value) === normalized(statement));
  if (same !== undefined) return noop(same, `already known as ${same.key}`);

  if (c.replaces !== undefined) {
    const f = await best(c.replaces, about, similar, SAME_THING);
    if (f !== undefined) {
      const value = claimText({ ...f.claim!, value: c.value });
      return update(f, value, `replaces ${c.replaces} with ${c.value}; "${f.value}" is kept in the history`);
    }
  } else if (c.switched) {
    const f = await best(
      c.value,
      about.filter((k) => k.claim!.relation === 'uses' || k.claim!.relation === 'prefers'),
      similar,
      SWITCH_TOPIC,
    );
    if (f !== undefined) return update(f, claimText({ ...f.claim!, value: c.value }), `switched to ${c.value} from "${f.value}", which is kept in the history`);
  } else if (c.kind === 'single') {
    const f = about.find((k) => k.claim!.relation === c.relation && k.claim!.attribute === c.attribute);
    if (f !== undefined) {
      if (normalized(f.claim!.value) === normalized(c.value)) return noop(f, `already known as ${f.key}`);
      return update(f, statement, `${subjectName(c)} has one ${c.attribute ? c.relation : relationNoun(c.relation)}: "${f.value}" is replaced and kept in the history`);
    }
  } else if (c.kind === 'topic') {
    const f = await best(
      c.value,
      about.filter((k) => k.claim!.relation === c.relation),
      similar,
      SAME_TOPIC,
    );
    if (f !== undefined) return update(f, statement, `"${f.value}" is about the same thing (${c.relation} one at a time): replaced, and kept in the history`);
  } else {
    const opposite = own(OPPOSITE, c.relation);
    if (opposite !== undefined) {
      const f = await best(
        c.value,
        about.filter((k) => k.claim!.relation === opposite),
        similar,
        SAME_THING,
      );
      if (f !== undefined) return update(f, statement, `contradicts "${f.value}", which is replaced and kept in the history`);
    }
    const f = await best(
      c.value,
      about.filter((k) => k.claim!.relation === c.relation),
      similar,
      SAME_THING,
    );
    if (f !== undefined && numbers(f.claim!.value) === numbers(c.value)) return noop(f, `already known as ${f.key}`);
  }

  // Near-identical wording of a fact the rules cannot read (one remembered by an agent, say).
  const sims = await similar(
    statement,
    live.map((f) => f.value),
  );
  let top = -1;
  for (let i = 0; i < sims.length; i++) if (top === -1 || sims[i]! > sims[top]!) top = i;
  if (top !== -1 && sims[top]! >= factSimilarity && numbers(live[top]!.value) === numbers(statement)) {
    return noop(live[top], `already known as ${live[top]!.key}: a near-identical statement (similarity ${sims[top]!.toFixed(3)})`);
  }
  return { decision: 'ADD', key: freeKey(claimKey(c), (k) => known.some((f) => f.key === k && !f.deleted)), value: statement, reason: 'not known yet', statement };
}

/** The known fact whose value is most like `value`: sharing a word, or at least `threshold` similar. */
async function best(value: string, candidates: Working[], similar: Similarity, threshold: number): Promise<Working | undefined> {
  if (candidates.length === 0) return undefined;
  const mine = new Set(words(value));
  const sims = await similar(
    value,
    candidates.map((f) => f.claim!.value),
  );
  let found: Working | undefined;
  let score = -Infinity;
  candidates.forEach((f, i) => {
    const shared = words(f.claim!.value).some((w) => mine.has(w));
    const s = Math.max(shared ? 1 : 0, normalized(f.claim!.value) === normalized(value) ? 2 : 0, sims[i] ?? 0);
    if (s >= threshold && s > score) {
      found = f;
      score = s;
    }
  });
  return found;
}

/** The key itself, or with -2, -3… when `taken` says it is in use (a deleted fact's key is not: its history continues). */
export function freeKey(key: string, taken: (key: string) => boolean): string {
  if (!taken(key)) return key;
  for (let i = 2; ; i++) if (!taken(`${key}-${i}`)) return `${key}-${i}`;
}

function subjectName(c: Claim): string {
  return c.subject === 'user' ? 'the user' : `the ${c.subject}`;
}

function relationNoun(relation: string): string {
  return own({ 'lives in': 'home', 'works at': 'employer', 'works as': 'role', 'is from': 'origin' }, relation) ?? relation;
}
