/**
 * Memory from a conversation turn, by a language model: two structured calls, the way the
 * long-term memory design does it. The first reads the turn and returns the facts worth
 * keeping, each a short statement about the user; the second sees those statements beside the
 * known facts most like them (under short ids, so the model cannot invent a real key) and
 * decides ADD, UPDATE, DELETE or NOOP for each, with a reason. Every answer is checked here:
 * anything but the shape asked for (an unknown id, a missing text) refuses the whole turn with
 * MODEL_OUTPUT_INVALID before anything is stored.
 */
import { EngramError } from '../basics/errors.js';
import { FACT_LIMITS } from '../basics/limits.js';
import type { LanguageModel } from './language-model.js';

export interface TurnMessage {
  role: string;
  content: string;
}

export interface ModelDecision {
  decision: 'ADD' | 'UPDATE' | 'DELETE' | 'NOOP';
  /** The known fact it is about (UPDATE, DELETE, and a NOOP that names one). */
  id?: string;
  /** The fact as it should read (ADD, UPDATE). */
  fact: string;
  reason: string;
}

const EXTRACT = `You read one turn of a conversation between a user and an AI assistant, and list the facts about the user that are worth remembering in later conversations: who they are (name, age, home, employer, role), their preferences, likes and dislikes, habits, the tools and languages they use, health notes such as allergies or diets, plans with dates, and facts about the people and pets they name.
Write each fact as one short statement in the third person that starts with "User" ("User prefers dark mode", "User's wife is vegetarian", "User works at Acme").
Leave out questions, requests to the assistant, small talk, passing moods, and anything the assistant said that the user did not confirm.
When the user takes something back, say so ("User no longer uses Vim").
Return an empty list when nothing is worth remembering.`;

const DECIDE = `You keep a memory of facts about a user. You get the facts already known, each with an id, and new statements from the latest conversation turn.
For each new statement, decide one event:
- ADD: new information. Give the fact as it should be stored, and id "".
- UPDATE: it changes a known fact (a new value, a correction, a change of mind, a detail added). Give the known fact's id and the fact as it should now read.
- DELETE: it takes a known fact back, so that it no longer holds and nothing replaces it. Give the known fact's id, and the known fact's text.
- NOOP: already known, or not worth keeping. Give the id of the known fact it repeats, or "".
Give a short reason for each. Use only ids from the list of known facts.`;

const EXTRACT_SCHEMA = {
  type: 'object',
  properties: { facts: { type: 'array', items: { type: 'string' }, description: 'Facts about the user, each one short statement starting with "User".' } },
  required: ['facts'],
  additionalProperties: false,
};

const DECIDE_SCHEMA = {
  type: 'object',
  properties: {
    decisions: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          event: { type: 'string', enum: ['ADD', 'UPDATE', 'DELETE', 'NOOP'] },
          id: { type: 'string', description: 'The id of the known fact, or "" when none.' },
          fact: { type: 'string', description: 'The fact as it should be stored.' },
          reason: { type: 'string' },
        },
        required: ['event', 'id', 'fact', 'reason'],
        additionalProperties: false,
      },
    },
  },
  required: ['decisions'],
  additionalProperties: false,
};

/** Most statements one turn may yield (a model that lists more is not doing what it was asked). */
const MAX_STATEMENTS = 50;

function invalid(model: LanguageModel, what: string): EngramError {
  return new EngramError('MODEL_OUTPUT_INVALID', `${model.id}: ${what}; nothing was stored`, { details: { provider: model.id } });
}

/** The statements worth keeping from a turn. */
export async function extractStatements(model: LanguageModel, messages: TurnMessage[]): Promise<string[]> {
  const prompt = messages.map((m) => `${m.role}: ${m.content}`).join('\n\n');
  const out = await model.generate({ system: EXTRACT, prompt, name: 'record_facts', description: 'Record the facts about the user worth remembering.', schema: EXTRACT_SCHEMA });
  const facts = out.facts;
  if (!Array.isArray(facts)) throw invalid(model, '`facts` is not a list');
  if (facts.length > MAX_STATEMENTS) throw invalid(model, `${facts.length} facts from one turn (at most ${MAX_STATEMENTS})`);
  return facts.map((f, i) => {
    if (typeof f !== 'string') throw invalid(model, `facts[${i}] is not a string`);
    const t = f.trim();
    if (!t.isWellFormed()) throw invalid(model, `facts[${i}] is not well-formed Unicode`);
    if (t === '' || t.length > FACT_LIMITS.valueChars) throw invalid(model, `facts[${i}] is empty or longer than ${FACT_LIMITS.valueChars} characters`);
    return t;
  });
}

/** Decisions for `statements` against `known` (id → text), checked before anything is stored. */
export async function decideStatements(model: LanguageModel, statements: string[], known: Map<string, string>): Promise<ModelDecision[]> {
  const prompt = JSON.stringify({ known: [...known].map(([id, fact]) => ({ id, fact })), new: statements }, null, 1);
  const out = await model.generate({ system: DECIDE, prompt, name: 'decide_memory', description: 'Decide what each new statement does to the memory.', schema: DECIDE_SCHEMA });
  const list = out.decisions;
  if (!Array.isArray(list)) throw invalid(model, '`decisions` is not a list');
  if (list.length > statements.length * 2 + 10) throw invalid(model, `${list.length} decisions for ${statements.length} statements`);
  return list.map((raw, i) => {
    const at = `decisions[${i}]`;
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw invalid(model, `${at} is not an object`);
    const d = raw as Record<string, unknown>;
    const event = d.event;
    if (event !== 'ADD' && event !== 'UPDATE' && event !== 'DELETE' && event !== 'NOOP')
      throw invalid(model, `${at}.event is ${JSON.stringify(event)}, not ADD, UPDATE, DELETE or NOOP`);
    if (typeof d.reason !== 'string') throw invalid(model, `${at}.reason is not a string`);
    if (typeof d.fact !== 'string') throw invalid(model, `${at}.fact is not a string`);
    const id = d.id === undefined || d.id === null || d.id === '' ? undefined : d.id;
    if (id !== undefined && (typeof id !== 'string' || !known.has(id))) throw invalid(model, `${at}.id ${JSON.stringify(id)} names no known fact`);
    if ((event === 'UPDATE' || event === 'DELETE') && id === undefined) throw invalid(model, `${at} is ${event} but names no known fact`);
    const fact = d.fact.trim();
    if (!fact.isWellFormed() || !d.reason.isWellFormed()) throw invalid(model, `${at} is not well-formed Unicode`);
    if ((event === 'ADD' || event === 'UPDATE') && fact === '') throw invalid(model, `${at} is ${event} with an empty fact`);
    if (fact.length > FACT_LIMITS.valueChars) throw invalid(model, `${at}.fact is longer than ${FACT_LIMITS.valueChars} characters`);
    return { decision: event, ...(id === undefined ? {} : { id: id as string }), fact, reason: d.reason.slice(0, 1000) };
  });
}
