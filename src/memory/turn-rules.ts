/**
 * Offline fact extraction: the statements a user makes about themselves (and about the people
 * and pets they name with "my"), read by rules, with no language model. A sentence becomes a
 * Claim: who it is about, a relation, a value, what kind of relation it is (a person has one
 * name, but likes many things), and whether it takes something back ("I no longer use Vim") or
 * replaces something named ("I switched from Vim to Emacs"). Stored facts are written in one
 * canonical form ("User prefers dark mode"), which the same rules read back, so a new claim can
 * be compared with the facts already known (memory/turn-decisions.ts).
 *
 * What it does not do, on purpose (docs/memory.md): questions, requests, plans, moods and
 * anything said about the present moment are not facts; statements about other people need a
 * "my" ("my wife is vegetarian"); pronouns are not resolved; English only.
 */

/** How values of a relation combine: one at a time, one per topic, or any number. */
export type RelationKind = 'single' | 'topic' | 'many';

export interface Claim {
  /** 'user', or "user's wife" for what the user says about someone of theirs. */
  subject: string;
  /** 'prefers', 'likes', 'dislikes', 'uses', 'lives in', 'works at', 'works as', 'is', 'has', …, or an attribute ("name", "favorite color"). */
  relation: string;
  /** True for an attribute ("User's name is Ana"), false for a verb ("User lives in Lisbon"). */
  attribute: boolean;
  value: string;
  kind: RelationKind;
  /** Takes the fact back: "no longer", "not … anymore", "stopped", "left", "forget that". */
  retracts: boolean;
  /** The value it replaces, when the sentence names one ("switched from Vim to Emacs"). */
  replaces?: string;
  /** "switched to X" without a "from": replaces a value of the same topic. */
  switched?: boolean;
}

/** People and animals a user speaks of as "my …". */
const RELATIVES = new Set(
  'wife husband partner girlfriend boyfriend spouse son daughter kid kids child children mother mom mum father dad brother sister boss manager team cofounder colleague roommate dog cat'.split(
    ' ',
  ),
);
const JOB_WORDS =
  'engineer|developer|programmer|manager|designer|scientist|analyst|teacher|student|doctor|nurse|lawyer|writer|researcher|architect|consultant|founder|ceo|cto|accountant|administrator|admin|freelancer|intern|lead|director|editor|journalist|product owner|tester|chef|artist|photographer|professor';
/** A job: up to three words, then one of the job words ("senior data engineer"). */
const JOBS = new RegExp(`^(?:[\\w-]+ ){0,3}(?:${JOB_WORDS})$`);
const DIETS = /^(vegetarian|vegan|pescatarian|keto|gluten-free|lactose intolerant|kosher|halal)$/;
/** "I am …" that tells of the moment, not of the person. */
const TRANSIENT =
  /^(going|trying|looking|working on|about to|not sure|sure|sorry|glad|happy|excited|tired|hungry|busy|back|here|done|ready|wondering|thinking|curious|confused|stuck|afraid|new to|in a|on my way|at (?:home|work|the))\b/;
/** First words of sentences that are requests, plans, guesses or past events, not facts. */
const NOT_FACTS =
  /^i (?:have to|have been(?! (?:using|writing|coding|programming|working (?:with|in))\b)|do not (?:know|think|want|need|care|remember|have)|will|would(?! rather)|want|wanted|need|needed|think|thought|guess|wonder|hope|feel|felt|was|were|did|had|just|can|could|should|might|must|may|see|saw|know|knew|mean|said|say|got|went|tried|forgot|asked|believe|remember|bet|suppose|assume)\b/;
const FILLERS =
  /^(?:actually|also|oh|and|but|so|well|btw|by the way|fyi|just so you know|for the record|for context|note that|please note(?: that)?|remember(?: that)?|please remember(?: that)?|keep in mind(?: that)?|as a reminder|update|correction|hey|hi|hello|ok|okay|yes|yeah|no|nope|right|anyway|oh and|plus|in fact|to be clear|heads up|quick update|these days|nowadays|now|honestly|frankly|seriously|funny thing|big news|good news|sorry|typo)\b[,:!]?\s+/i;
const ADVERBS =
  /\b(?:really|mostly|usually|always|definitely|absolutely|generally|currently|still|also|just|actually|totally|much|strongly|now|honestly|personally|kind of|sort of)\s+/g;
const TRAILERS =
  /\s+(?:now|these days|nowadays|currently|anymore|any more|as well|too|also|instead|at the moment|right now|again|by default|recently|lately|today|this (?:week|month|year)|last (?:week|month|year|spring|summer|autumn|fall|winter)|(?:a|one|two|three|a few|\d+) (?:days?|weeks?|months?|years?) ago|a while ago|for (?:a few|many|some|several|two|three|four|five|six|ten|\d+) (?:weeks|months|years)|since \d{4}|in \d{4}|though|anyway|please|for everything|every day|daily|weekly|at work|at home|in (?:january|february|march|april|may|june|july|august|september|october|november|december))$/i;

/** Longest sentence the rules read, in characters. */
const MAX_SENTENCE = 400;
/** Longest value a claim keeps ("User likes …"); a longer one is not a fact but a paste. */
const MAX_VALUE = 200;

/** Sentences of a message, each cut into clauses that have their own subject. */
export function sentences(text: string): string[] {
  const out: string[] = [];
  // Runs of spaces become one first: the rules' patterns scan a sentence from many starts, and a long run of spaces would make that quadratic.
  for (const raw of text.replace(/[^\S\n]+/g, ' ').split(/(?<=[.!?;]) |\n+/)) {
    let s = raw.trim();
    // A statement worth keeping is short; a longer "sentence" is code, a log or a paste.
    if (s === '' || s.endsWith('?') || s.length > MAX_SENTENCE) continue;
    // "When you book flights, I prefer …", "Big news: I moved …": the statement is the clause with the subject.
    const lead = /^(?!i\b|my\b)[^.]{1,80}?[,:;—]\s+(?=(?:i|i'm|my)\b)/i.exec(s);
    if (lead !== null) s = s.slice(lead[0].length);
    // "I work at Acme as a designer": two facts.
    s = s.replace(/\b(work(?:s|ing)?\s+(?:at|for)\s+[^,.;]+?)\s+as\s+(an?\s+[^,.;]+)/i, '$1, and I work as $2');
    // "I'm a designer at Acme": the same two.
    s = s.replace(new RegExp(`\\b(i(?:'m| am) an? [^,.;]*?(?:${JOB_WORDS}))\\s+(?:at|for)\\s+([^,.;]+)`, 'i'), '$1, and I work at $2');
    // "I live in Berlin and work at SAP": the second clause borrows the subject.
    const parts = s.split(/,?\s+(?:and|but)\s+(?=(?:i|my)\b|(?:i'm|now|also)\b|(?:work|live|use|prefer|like|love|enjoy|hate|am|have|speak)\b)/i);
    for (let i = 0; i < parts.length; i++) {
      let p = parts[i]!.trim();
      if (i > 0 && !/^(?:i|i'm|my)\b/i.test(p)) p = 'I ' + p.replace(/^(?:now|also)\s+/i, '');
      out.push(p);
    }
  }
  return out;
}

/** The claims of one user message, in order. */
export function extractClaims(text: string): Claim[] {
  const claims: Claim[] = [];
  for (const s of sentences(text)) {
    const c = parseSentence(s);
    if (c !== undefined) claims.push(c);
  }
  return claims;
}

/** One sentence in the first person, or a fact in the canonical form ("User …", "User's wife …"); undefined when it states no fact. */
export function parseSentence(sentence: string): Claim | undefined {
  const collapsed = sentence.replace(/\s+/g, ' ').trim();
  if (collapsed.length > MAX_SENTENCE) return undefined;
  let s = expand(collapsed.replace(/[.!…]+$/, ''));
  for (let before = ''; before !== s;) {
    before = s;
    s = s.replace(FILLERS, '');
  }
  let retracts = false;
  const callMe = /^(?:please\s+)?call\s+me\s+([A-Z][\w-]*)$/i.exec(s);
  if (callMe !== null) return { subject: 'user', relation: 'name', attribute: true, value: callMe[1]!, kind: 'single', retracts: false };
  const forget = /^(?:please\s+)?forget\s+(?:that\s+|about\s+)?(.+)$/i.exec(s);
  if (forget !== null) {
    s = forget[1]!;
    retracts = true;
  }
  const c = parseSubject(s);
  if (c === undefined) return undefined;
  if (retracts) c.retracts = true;
  return c;
}

function expand(s: string): string {
  return s
    .replace(/[’‘]/g, "'")
    .replace(/\bi'm\b/gi, 'I am')
    .replace(/\bi've\b/gi, 'I have')
    .replace(/\bi'd\b/gi, 'I would')
    .replace(/\bdon't\b/gi, 'do not')
    .replace(/\bdoesn't\b/gi, 'does not')
    .replace(/\bcan't\b/gi, 'cannot')
    .replace(/\bisn't\b/gi, 'is not')
    .replace(/\bwon't\b/gi, 'will not')
    .replace(/\bhe's\b|\bshe's\b|\bit's\b/gi, (m) => m.slice(0, -2) + ' is');
}

function parseSubject(s: string): Claim | undefined {
  const lower = s.toLowerCase();
  if (/^i\s/.test(lower)) {
    if (NOT_FACTS.test(lower) && !/^i (?:just )?(?:moved|started|joined|switched|left|got a new job)\b/.test(lower)) return undefined;
    return parsePredicate('user', thirdPerson(s.slice(2)));
  }
  const canonical = /^(?:the\s+)?user\b\s*(.*)$/i.exec(s);
  if (canonical !== null) {
    const rest = canonical[1]!;
    return rest.startsWith("'s ") ? possessive('user', rest.slice(3)) : parsePredicate('user', rest);
  }
  const my = /^my\s+(.+)$/i.exec(s);
  return my === null ? undefined : possessive('user', my[1]!);
}

/**
 * What follows a possessive: "wife likes jazz", "wife's diet is vegan", "dog's name is Rex" (a
 * relative, then what is said of them), or "favorite color is green" (an attribute of the subject).
 */
function possessive(subject: string, rest: string): Claim | undefined {
  const first = /^([a-z]+)\b\s*(.*)$/i.exec(rest);
  if (first === null) return undefined;
  const word = first[1]!.toLowerCase();
  if (subject === 'user' && RELATIVES.has(word)) {
    const tail = first[2]!;
    return tail.startsWith("'s ") ? possessive(`user's ${word}`, tail.slice(3)) : parsePredicate(`user's ${word}`, tail);
  }
  const m = /^(.*?)\s+((?:is|are)\s+.+)$/i.exec(rest);
  return m === null ? undefined : attribute(subject, m[1]!, m[2]!);
}

function attribute(subject: string, name: string, rest: string): Claim | undefined {
  const m = /^(?:is|are)\s+(?:no longer\s+|not\s+)?(.+)$/i.exec(rest);
  if (m === null) return undefined;
  const value = cleanValue(m[1]!);
  if (value === '' || value.length > MAX_VALUE || name.length > MAX_VALUE) return undefined;
  const retracts = /^(?:is|are)\s+(?:no longer|not)\s/i.test(rest);
  return { subject, relation: name.toLowerCase().trim(), attribute: true, value, kind: 'single', retracts };
}

const VERBS: Record<string, string> = {
  am: 'is',
  prefer: 'prefers',
  like: 'likes',
  love: 'loves',
  enjoy: 'enjoys',
  hate: 'hates',
  dislike: 'dislikes',
  use: 'uses',
  live: 'lives',
  work: 'works',
  have: 'has',
  own: 'owns',
  speak: 'speaks',
  drink: 'drinks',
  eat: 'eats',
  play: 'plays',
  do: 'does',
  code: 'codes',
  write: 'writes',
  read: 'reads',
  watch: 'watches',
  go: 'goes',
  avoid: 'avoids',
  run: 'runs',
  study: 'studies',
  teach: 'teaches',
};

/** "prefer dark mode" → "prefers dark mode" (the rules read the third person). */
function thirdPerson(rest: string): string {
  const r = rest.trim().replace(ADVERBS, '');
  const m = /^(\w+)\b(.*)$/.exec(r);
  if (m === null) return r;
  const verb = own(VERBS, m[1]!.toLowerCase());
  return verb === undefined ? r : verb + m[2]!;
}

const GERUNDS: Record<string, string> = { using: 'uses', living: 'lives in', working: 'works at', drinking: 'drinks', eating: 'eats', playing: 'plays', liking: 'likes' };

interface Rule {
  re: RegExp;
  relation: string;
  kind: RelationKind;
  /** An attribute relation (a name, an age), not a verb. */
  attribute?: boolean;
}

/** Predicates in the third person, first match wins; group 1 is the value. */
const RULES: Rule[] = [
  { re: /^(?:is called|goes by)\s+(.+)$/i, relation: 'name', kind: 'single', attribute: true },
  { re: /^is\s+(\d+)(?:\s+years?\s+old)?$/i, relation: 'age', kind: 'single', attribute: true },
  { re: /^(?:prefers|would rather (?:use|have|get)|favors|favours)\s+(.+?)(?:\s+(?:over|to|rather than|instead of)\s+.+)?$/i, relation: 'prefers', kind: 'topic' },
  { re: /^(?:likes|loves|enjoys|is a (?:big )?fan of|is into|adores)\s+(.+)$/i, relation: 'likes', kind: 'many' },
  { re: /^(?:dislikes|hates|does not like|does not enjoy|cannot stand|is not a fan of|avoids)\s+(.+)$/i, relation: 'dislikes', kind: 'many' },
  { re: /^(?:uses|is using|codes in|writes code in|programs in|develops in|works in)\s+(.+)$/i, relation: 'uses', kind: 'many' },
  { re: /^(?:lives|is based|is located|resides|is living)\s+in\s+(.+)$/i, relation: 'lives in', kind: 'single' },
  { re: /^(?:moved|relocated)\s+to\s+(.+)$/i, relation: 'lives in', kind: 'single' },
  { re: /^(?:is|comes)\s+(?:originally\s+)?from\s+(.+)$/i, relation: 'is from', kind: 'single' },
  { re: /^(?:works|is working)\s+(?:at|for)\s+(.+)$/i, relation: 'works at', kind: 'single' },
  { re: /^(?:joined|started (?:a new job |working )?at|got a (?:new )?job at)\s+(.+)$/i, relation: 'works at', kind: 'single' },
  { re: /^works\s+as\s+(?:an?\s+)?(.+)$/i, relation: 'works as', kind: 'single' },
  { re: /^is\s+(?:learning|studying)\s+(.+)$/i, relation: 'is learning', kind: 'many' },
  { re: /^is\s+allergic\s+to\s+(.+)$/i, relation: 'is allergic to', kind: 'many' },
  { re: /^speaks\s+(.+)$/i, relation: 'speaks', kind: 'many' },
  { re: /^(?:has|owns)\s+(.+)$/i, relation: 'has', kind: 'many' },
  { re: /^(drinks|eats|plays|reads|watches|runs|studies|teaches|writes|codes|goes)\s+(.+)$/i, relation: '$1', kind: 'many' },
];

function parsePredicate(subject: string, predicate: string): Claim | undefined {
  let p = predicate.trim().replace(ADVERBS, '');
  let retracts = false;
  let replaces: string | undefined;
  let switched = false;
  // Taking something back.
  let m: RegExpExecArray | null;
  if ((m = /^(?:no longer|does not|is not)\s+(.+?)(?:\s+(?:anymore|any more))$/i.exec(p)) !== null || (m = /^no longer\s+(.+)$/i.exec(p)) !== null) {
    const rest = m[1]!;
    p = /^is\s+not\s/i.test(p) ? 'is ' + rest : thirdPerson(rest);
    retracts = true;
  } else if ((m = /^is\s+no\s+longer\s+(.+)$/i.exec(p)) !== null) {
    p = 'is ' + m[1]!;
    retracts = true;
  } else if ((m = /^(?:stopped|quit|gave up)\s+(\w+ing)\s+(.+)$/i.exec(p)) !== null) {
    const verb = own(GERUNDS, m[1]!.toLowerCase());
    if (verb === undefined) return undefined;
    p = `${verb} ${m[2]!}`;
    retracts = true;
  } else if ((m = /^left\s+(.+)$/i.exec(p)) !== null) {
    p = `works at ${m[1]!}`;
    retracts = true;
  } else if ((m = /^moved\s+(?:out\s+of|away\s+from)\s+(.+)$/i.exec(p)) !== null) {
    p = `lives in ${m[1]!}`;
    retracts = true;
  } else if ((m = /^(?:switched|changed|moved|went|migrated)\s+from\s+(.+?)\s+to\s+(.+)$/i.exec(p)) !== null) {
    replaces = cleanValue(m[1]!);
    p = /^moved/i.test(p) ? `lives in ${m[2]!}` : `uses ${m[2]!}`;
  } else if ((m = /^(?:switched|migrated|moved over)\s+to\s+(.+)$/i.exec(p)) !== null) {
    switched = true;
    p = `uses ${m[1]!}`;
  }
  for (let before = ''; before !== p;) {
    before = p;
    p = p.replace(TRAILERS, '').trim();
  }
  // "have been writing Rust for years": a habit, as much a fact as "uses Rust".
  const habit = /^(?:has|have) been (?:using|writing|coding in|programming in|working with|working in)\s+(.+)$/i.exec(p);
  if (habit !== null) p = `uses ${habit[1]!}`;
  // "I don't run anymore": a habit taken back, whatever its object was.
  if (retracts && /^[a-z]+s$/i.test(p) && Object.values(VERBS).includes(p.toLowerCase()))
    return { subject, relation: p.toLowerCase(), attribute: false, value: '', kind: 'many', retracts };
  const claim = (relation: string, value: string, kind: RelationKind, attribute = false): Claim | undefined => {
    const v = cleanValue(value);
    if (v === '' || v.length > MAX_VALUE) return undefined;
    return { subject, relation, attribute, value: v, kind, retracts, ...(replaces === undefined ? {} : { replaces }), ...(switched ? { switched } : {}) };
  };
  for (const r of RULES) {
    const hit = r.re.exec(p);
    if (hit === null) continue;
    const relation = r.relation === '$1' ? hit[1]!.toLowerCase() : r.relation;
    // What a tool is used for is not the tool: "uses Jira for tickets" is "uses Jira".
    const value = relation === 'uses' ? hit[hit.length - 1]!.split(/\s+for\s+/i)[0]! : hit[hit.length - 1]!;
    return claim(relation, value, r.kind, r.attribute === true);
  }
  const is = /^is\s+(?:an?\s+)?(.+)$/i.exec(p);
  if (is === null) return undefined;
  const what = is[1]!.toLowerCase();
  // "I'm not a student" says what the user is not: no fact of these forms (taking back is handled above).
  if (TRANSIENT.test(what) || /ing\b/.test(what.split(' ')[0]!) || /^(?:not|no|never)\b/.test(what)) return undefined;
  if (JOBS.test(what)) return claim('works as', is[1]!, 'single');
  if (DIETS.test(what)) return claim('diet', is[1]!, 'single', true);
  // "I'm Sam": one capitalised word that is not a nationality ("I'm Korean") is a name.
  if (subject === 'user' && /^[A-Z][a-z]+$/.test(is[1]!) && !/(?:ican|ean|ese|ian|ish|ch|i)$/.test(is[1]!)) return claim('name', is[1]!, 'single', true);
  return claim('is', p.slice(3), 'many');
}

/** The value without trailing time words, reasons ("because …") or punctuation. */
function cleanValue(v: string): string {
  let s = v
    .split(
      /\s*(?:,|;|:|\s-\s|\bbecause\b|\bsince\b|\bso that\b|\bnow that\b|\bwhich\b|\bwhen\b|\bbut\b|\bas it\b|\bas they\b|\bfor (?:the|my|our|all|most|every|work|fun)\b)\s*/i,
    )[0]!
    .trim();
  for (let before = ''; before !== s;) {
    before = s;
    s = s.replace(TRAILERS, '').trim();
  }
  return s.replace(/[.!…]+$/, '').trim();
}

/** A table's own entry (never one of Object's: "my constructor is Bob" names no table row). */
export function own(table: Record<string, string>, key: string): string | undefined {
  return Object.hasOwn(table, key) ? table[key] : undefined;
}

/** The canonical sentence a claim is stored as: "User prefers dark mode", "User's name is Ana". */
export function claimText(c: Claim): string {
  const who = c.subject === 'user' ? 'User' : 'User' + c.subject.slice(4);
  if (c.attribute) return `${who}'s ${c.relation} is ${c.value}`;
  if (c.relation === 'works as') return `${who} works as ${/^[aeiou]/i.test(c.value) ? 'an' : 'a'} ${c.value}`;
  return `${who} ${c.relation} ${c.value}`;
}

/** A stable key for a new fact of this claim: user.location, user.wife.diet, user.prefers.dark-mode. */
export function claimKey(c: Claim): string {
  const slug = (s: string) =>
    s
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-|-$/g, '')
      .slice(0, 60) || 'x';
  const who = c.subject === 'user' ? 'user' : `user.${slug(c.subject.slice(7))}`;
  const NAMES: Record<string, string> = { 'lives in': 'location', 'works at': 'employer', 'works as': 'role', 'is from': 'origin' };
  if (c.kind === 'single') return `${who}.${own(NAMES, c.relation) ?? slug(c.relation)}`;
  return `${who}.${slug(c.relation)}.${slug(c.value)}`;
}
