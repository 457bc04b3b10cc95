/**
 * Long-term memory from conversations. `processTurn` takes the messages of a turn, extracts
 * the statements worth keeping and decides what each does to the space's facts (ADD, UPDATE,
 * DELETE, NOOP, each with a reason); the changes are fact units like any other (memory/facts.ts),
 * so they have history, stream live and replay. Extraction and decisions are made by a language
 * model when `memory.model` names one (memory/turn-model.ts), otherwise by rules
 * (memory/turn-rules.ts, memory/turn-decisions.ts). `query` ranks the live facts for a
 * question with the hybrid search over the facts context.
 */
import { memoryOperation } from './memory-spans.js';
import type { Tracer } from '../basics/tracer.js';
import type { Principal } from '../tenancy/access.js';
import type { Gate } from '../gate/gate.js';
import { EngramError } from '../basics/errors.js';
import { FACT_LIMITS, SEARCH_LIMITS, TURN_LIMITS } from '../basics/limits.js';
import { UlidFactory } from '../basics/ids.js';
import { cosine, factsContext, type FactChangeOutcome, type FactService, type FactVersion, type PlannedFactChange, type PublicFact } from './facts.js';
import type { LanguageModel } from './language-model.js';
import { decideClaims, freeKey, type Similarity } from './turn-decisions.js';
import { decideStatements, extractStatements, type TurnMessage } from './turn-model.js';
import { claimKey, extractClaims, parseSentence } from './turn-rules.js';

export interface ConversationOptions {
  /** The search embedder (absent or null: words only). */
  embed?: (texts: string[]) => Promise<Float32Array[] | null>;
  /** Cosine similarity at or above which two statements are the same fact (memory.factSimilarity). */
  factSimilarity: number;
  /** The language model of `memory.model` (absent: the rules). */
  model?: LanguageModel;
  /** Spans of process-turn and query (memory/memory-spans.ts). */
  tracer?: Tracer;
}

export interface TurnDecision extends FactChangeOutcome {
  /** The statement of the turn it is about (the rules' canonical sentence, or the model's fact). */
  statement: string;
}

export interface TurnResult {
  /** 'rules', or the provider and model that decided ('openai:gpt-4o-mini'). */
  extractor: string;
  /** What was read from the turn, in order. */
  statements: string[];
  decisions: TurnDecision[];
}

export interface Memory extends PublicFact {
  score: number;
  /** Whether the search matched the fact as it reads now, or an earlier version of it. */
  matched: 'current' | 'history';
  history?: FactVersion[];
}

/** Facts shown to the model beside a turn's statements: the most similar ones, at most this many. */
const RELATED_FACTS = 50;
/** Embeddings kept of fact and statement texts (a text's vector never changes). */
const VECTOR_CACHE = 10_000;

export class ConversationMemory {
  private readonly vectors = new Map<string, Float32Array>();
  private readonly ids = new UlidFactory();

  constructor(
    private readonly gate: Gate,
    private readonly facts: FactService,
    private readonly options: ConversationOptions,
  ) {}

  get extractor(): string {
    return this.options.model?.id ?? 'rules';
  }

  processTurn(p: Principal, space: string, input: unknown, agentId = 'memory'): Promise<TurnResult> {
    return memoryOperation(this.options.tracer, 'process_turn', `facts/${space}`, agentId, async (span) => {
      const r = await this.processTurnNow(p, space, input, agentId);
      span.set({ 'engram.memory.extractor': r.extractor, 'engram.memory.decisions': r.decisions.length });
      return r;
    });
  }

  private async processTurnNow(p: Principal, space: string, input: unknown, agentId: string): Promise<TurnResult> {
    factsContext(space); // a bad space name fails before any model is asked
    const turn = parseTurn(input);
    const model = turn.extractor === 'rules' ? undefined : this.options.model;
    if (turn.extractor === 'model' && model === undefined)
      throw new EngramError('MODEL_UNAVAILABLE', 'no language model is configured (memory.model.provider is none); use extractor "rules" or "auto"');
    return model === undefined ? this.byRules(p, space, turn.messages, agentId) : this.byModel(p, space, turn.messages, model, agentId);
  }

  private async byRules(p: Principal, space: string, messages: TurnMessage[], agentId: string): Promise<TurnResult> {
    // Only what the user says about themselves: the assistant's words are not the user's facts.
    const claims = messages.filter((m) => m.role === 'user').flatMap((m) => extractClaims(m.content));
    if (claims.length === 0) return { extractor: 'rules', statements: [], decisions: [] };
    let statements: string[] = [];
    const outcomes = await this.facts.changeMany(
      p,
      space,
      async (all) => {
        const planned = await decideClaims(claims, all, this.similarity, this.options.factSimilarity);
        statements = planned.map((d) => d.statement);
        return planned;
      },
      agentId,
    );
    return { extractor: 'rules', statements, decisions: outcomes.map((o, i) => ({ ...o, statement: statements[i]! })) };
  }

  private async byModel(p: Principal, space: string, messages: TurnMessage[], model: LanguageModel, agentId: string): Promise<TurnResult> {
    const statements = await extractStatements(model, messages);
    if (statements.length === 0) return { extractor: model.id, statements, decisions: [] };
    // The model decides on the facts as read now, without holding the space: a slow model must not
    // stall other writers. If they changed before the decision is stored, it is made once more,
    // inside (an unrelated unit in the facts context changes no fact and costs nothing).
    let decided = await this.modelDecisions(model, statements, await this.facts.list(p, space, true));
    let again = false;
    const outcomes = await this.facts.changeMany(
      p,
      space,
      async (all) => {
        if (factsVersion(all) !== decided.version) {
          if (again) throw new EngramError('SEQ_CONFLICT', 'the facts of this space changed twice while the language model decided; hand the turn over again');
          again = true;
          decided = await this.modelDecisions(model, statements, all);
        }
        return decided.changes;
      },
      agentId,
    );
    return { extractor: model.id, statements, decisions: outcomes.map((o: FactChangeOutcome, i) => ({ ...o, statement: decided.said[i]! })) };
  }

  /** The model's decisions on `statements` against `all` (deleted ones too), as changes to store. */
  private async modelDecisions(model: LanguageModel, statements: string[], all: PublicFact[]): Promise<{ version: string; changes: PlannedFactChange[]; said: string[] }> {
    const live = all.filter((f) => !f.deleted);
    const related = await this.related(statements, live);
    const known = new Map(related.map((f, i) => [String(i), f] as const));
    const decided = await decideStatements(model, statements, new Map([...known].map(([id, f]) => [id, f.value])));
    const taken = new Set(live.map((f) => f.key));
    const changes = decided.map((d): PlannedFactChange => {
      const f = d.id === undefined ? undefined : known.get(d.id)!;
      if (d.decision === 'ADD') {
        const key = this.newKey(d.fact, taken);
        taken.add(key);
        return { decision: 'ADD', key, value: d.fact, reason: d.reason };
      }
      if (d.decision === 'UPDATE') return { decision: 'UPDATE', key: f!.key, value: d.fact, reason: d.reason };
      if (d.decision === 'DELETE') return { decision: 'DELETE', key: f!.key, value: f!.value, reason: d.reason };
      return { decision: 'NOOP', ...(f === undefined ? {} : { key: f.key }), value: f?.value ?? d.fact, reason: d.reason };
    });
    const said = decided.map((d) => d.fact || (d.id === undefined ? '' : known.get(d.id)!.value));
    return { version: factsVersion(all), changes, said };
  }

  /** A key for a fact the model added: the rules' key when they can read the fact, else fact-<ulid>. */
  private newKey(fact: string, taken: Set<string>): string {
    const claim = parseSentence(fact);
    return freeKey(claim === undefined ? `fact-${this.ids.next(Date.now()).toLowerCase()}` : claimKey(claim), (k) => taken.has(k));
  }

  /** The live facts most like any of the statements (all of them, when there are few). */
  private async related(statements: string[], live: PublicFact[]): Promise<PublicFact[]> {
    if (live.length <= RELATED_FACTS) return live;
    const best = new Array<number>(live.length).fill(0);
    for (const s of statements) {
      let sims = await this.similarity(
        s,
        live.map((f) => f.value),
      );
      if (sims.length === 0) sims = live.map((f) => sharedWords(s, f.value));
      sims.forEach((x, i) => (best[i] = Math.max(best[i]!, x)));
    }
    return live
      .map((f, i) => [f, best[i]!] as const)
      .sort((a, b) => b[1] - a[1])
      .slice(0, RELATED_FACTS)
      .map(([f]) => f);
  }

  private readonly similarity: Similarity = async (text, others) => {
    const embed = this.options.embed;
    if (embed === undefined || others.length === 0) return [];
    // Vectors of this call, from the cache or the embedder (the cache may drop any of them meanwhile).
    const here = new Map<string, Float32Array>();
    const missing: string[] = [];
    for (const t of new Set([text, ...others])) {
      const v = this.vectors.get(t);
      if (v === undefined) missing.push(t);
      else here.set(t, v);
    }
    if (missing.length > 0) {
      const vectors = await embed(missing);
      if (vectors === null) return [];
      missing.forEach((t, i) => {
        here.set(t, vectors[i]!);
        if (this.vectors.size >= VECTOR_CACHE) this.vectors.delete(this.vectors.keys().next().value!);
        this.vectors.set(t, vectors[i]!);
      });
    }
    const v = here.get(text)!;
    return others.map((o) => cosine(v, here.get(o)!));
  };

  /** The live facts relevant to a question, best first: the hybrid search over the facts context, or word and embedder similarity with search off. */
  query(p: Principal, space: string, input: unknown): Promise<{ ranking: 'hybrid' | 'similarity'; memories: Memory[] }> {
    return memoryOperation(this.options.tracer, 'query_memory', `facts/${space}`, undefined, async (span) => {
      const r = await this.queryNow(p, space, input);
      span.set({ 'engram.memory.ranking': r.ranking, 'engram.memory.results': r.memories.length });
      return r;
    });
  }

  private async queryNow(p: Principal, space: string, input: unknown): Promise<{ ranking: 'hybrid' | 'similarity'; memories: Memory[] }> {
    const q = parseQuery(input);
    const contextId = factsContext(space);
    const withHistory = async (f: PublicFact, score: number, matched: Memory['matched']): Promise<Memory> => ({
      ...f,
      score,
      matched,
      ...(q.history ? { history: (await this.facts.get(p, space, f.key)).history } : {}),
    });
    if (!this.gate.searchable) {
      const found = await this.facts.recall(p, space, q.query, q.limit);
      return { ranking: 'similarity', memories: await Promise.all(found.map(({ score, ...f }) => withHistory(f, score, 'current'))) };
    }
    const facts = new Map((await this.facts.list(p, space)).map((f) => [f.key, f]));
    if (facts.size === 0) return { ranking: 'hybrid', memories: [] };
    // Every version is indexed; a hit on an old one still finds its fact (as it reads now).
    const r = await this.gate.search(p, { query: q.query, contextId, limit: Math.min(100, q.limit * 5), fresh: true });
    const seen = new Set<string>();
    const out: Memory[] = [];
    for (const hit of r.results) {
      const u = JSON.parse(hit.workUnit) as { id: string; payload?: { key?: unknown } };
      const key = u.payload?.key;
      const f = typeof key === 'string' ? facts.get(key) : undefined;
      if (f === undefined || seen.has(f.key)) continue;
      seen.add(f.key);
      out.push(await withHistory(f, hit.score, u.id === f.unitId ? 'current' : 'history'));
      if (out.length === q.limit) break;
    }
    return { ranking: 'hybrid', memories: out };
  }
}

function parseTurn(input: unknown): { messages: TurnMessage[]; extractor: 'auto' | 'rules' | 'model' } {
  const o = object(input, 'the body');
  for (const k of Object.keys(o))
    if (k !== 'messages' && k !== 'extractor') throw new EngramError('UNKNOWN_FIELD', `unknown field ${JSON.stringify(k)}; a turn has messages and extractor`);
  const extractor = o.extractor ?? 'auto';
  if (extractor !== 'auto' && extractor !== 'rules' && extractor !== 'model') throw new EngramError('INVALID_FIELD', 'extractor: auto, rules or model');
  if (o.messages === undefined) throw new EngramError('MISSING_FIELD', 'messages: the messages of the turn, [{role, content}]');
  if (!Array.isArray(o.messages) || o.messages.length === 0) throw new EngramError('INVALID_FIELD', 'messages: a non-empty list of {role, content}');
  if (o.messages.length > TURN_LIMITS.messages) throw new EngramError('INVALID_FIELD', `messages: at most ${TURN_LIMITS.messages} in one turn`);
  let chars = 0;
  const messages = o.messages.map((raw, i) => {
    const m = object(raw, `messages[${i}]`);
    if (typeof m.role !== 'string' || !/^(?:user|assistant|system|developer|tool)$/.test(m.role))
      throw new EngramError('INVALID_FIELD', `messages[${i}].role: user, assistant, system, developer or tool`);
    const content = contentText(m.content, i);
    if (!content.isWellFormed()) throw new EngramError('INVALID_FIELD', `messages[${i}].content: is not well-formed Unicode (lone surrogate)`);
    chars += content.length;
    return { role: m.role, content };
  });
  if (chars > TURN_LIMITS.chars) throw new EngramError('INVALID_FIELD', `messages: at most ${TURN_LIMITS.chars} characters of text in one turn (this one has ${chars})`);
  return { messages, extractor };
}

/** A message's text: a string, or the text blocks of a content list (other blocks, such as images, are skipped). */
function contentText(content: unknown, i: number): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) throw new EngramError('INVALID_FIELD', `messages[${i}].content: a string or a list of content blocks`);
  return content
    .map((b, j) => {
      if (typeof b !== 'object' || b === null || typeof (b as { type?: unknown }).type !== 'string')
        throw new EngramError('INVALID_FIELD', `messages[${i}].content[${j}]: a block with a type`);
      const x = b as { type: string; text?: unknown };
      if (x.type !== 'text') return '';
      if (typeof x.text !== 'string') throw new EngramError('INVALID_FIELD', `messages[${i}].content[${j}].text: a string`);
      return x.text;
    })
    .filter((t) => t !== '')
    .join('\n');
}

function parseQuery(input: unknown): { query: string; limit: number; history: boolean } {
  const o = object(input, 'the body');
  for (const k of Object.keys(o))
    if (k !== 'query' && k !== 'limit' && k !== 'history') throw new EngramError('UNKNOWN_FIELD', `unknown field ${JSON.stringify(k)}; a query has query, limit and history`);
  if (typeof o.query !== 'string' || o.query.trim() === '') throw new EngramError(o.query === undefined ? 'MISSING_FIELD' : 'INVALID_FIELD', 'query: a non-empty string');
  if (o.query.length > SEARCH_LIMITS.queryLength) throw new EngramError('INVALID_FIELD', `query: at most ${SEARCH_LIMITS.queryLength} characters`);
  const limit = o.limit ?? 10;
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > FACT_LIMITS.recallMax)
    throw new EngramError('INVALID_FIELD', `limit: 1–${FACT_LIMITS.recallMax}`);
  if (o.history !== undefined && typeof o.history !== 'boolean') throw new EngramError('INVALID_FIELD', 'history: true or false');
  return { query: o.query, limit, history: o.history === true };
}

function object(v: unknown, what: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new EngramError('INVALID_FIELD', `${what}: a JSON object`);
  return v as Record<string, unknown>;
}

/** What the model's decisions depend on: each fact's key, latest version and state. */
function factsVersion(facts: Array<{ key: string; unitId: string; deleted: boolean }>): string {
  return facts.map((f) => `${f.key}\u0000${f.unitId}\u0000${f.deleted ? 1 : 0}`).join('\u0001');
}

function sharedWords(a: string, b: string): number {
  const aw = new Set(a.toLowerCase().split(/\W+/).filter(Boolean));
  const bw = b.toLowerCase().split(/\W+/).filter(Boolean);
  return aw.size === 0 ? 0 : bw.filter((w) => aw.has(w)).length / aw.size;
}
