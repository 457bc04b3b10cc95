/**
 * Summaries written by the language model of `memory.model` (docs/agents.md#summaries): a range
 * of a context, read with the summaries already there standing in for their parts, is handed to
 * the model, and its summary is stored as a SUMMARY unit covering the range (widened to take in
 * every summary it read, so a summary of summaries covers all they covered). Any agent can write
 * a SUMMARY itself; this is for when the server should.
 */
import type { Principal } from '../tenancy/access.js';
import type { Gate } from '../gate/gate.js';
import { EngramError } from '../basics/errors.js';
import { checkId } from '../basics/validate.js';
import type { WorkUnit } from '../basics/types.js';
import type { LanguageModel } from '../memory/language-model.js';
import { readWithSummaries, type SummaryIndex } from './summaries.js';
import { unitLine } from './token-counts.js';

/** The most characters of units one summary reads (about 50k tokens): a longer range is summarized in parts, then the parts. */
export const SUMMARIZE_MAX_INPUT_CHARS = 200_000;
/** The longest summary kept (characters). */
const MAX_SUMMARY_CHARS = 20_000;

const SYSTEM = [
  'You summarize part of the shared log of a team of AI agents, so that an agent can later read the summary instead of the units it covers.',
  'Each line is one unit: [seq] agentId (TYPE): text; a line whose seq is a range is an earlier summary of that range.',
  'Keep what a later agent needs: decisions and their reasons, results, open questions, names, numbers, file paths, errors and how they were resolved.',
  'Leave out chatter and repetition. Write plain prose or short bullet points, in the language of the units.',
].join('\n');

interface SummarizeRequest {
  from: number | undefined;
  to: number | undefined;
  agentId: string;
  instructions: string | undefined;
}

function parseRequest(input: unknown): SummarizeRequest {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new EngramError('INVALID_FIELD', 'the body: a JSON object');
  const o = input as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!['from', 'to', 'agentId', 'instructions'].includes(k)) throw new EngramError('UNKNOWN_FIELD', `unknown field ${JSON.stringify(k)}`);
  for (const k of ['from', 'to'] as const) {
    const v = o[k];
    if (v !== undefined && (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1)) throw new EngramError('INVALID_FIELD', `${k}: a seq, 1 or more`);
  }
  if (o.instructions !== undefined && (typeof o.instructions !== 'string' || o.instructions.length > 2000))
    throw new EngramError('INVALID_FIELD', 'instructions: a string of at most 2000 characters');
  return {
    from: o.from as number | undefined,
    to: o.to as number | undefined,
    agentId: o.agentId === undefined ? 'engram-summarizer' : checkId(o.agentId, 'agentId'),
    instructions: o.instructions as string | undefined,
  };
}

export class Summarizer {
  constructor(
    private readonly gate: Gate,
    private readonly summaries: SummaryIndex,
    private readonly model: LanguageModel | undefined,
  ) {}

  /** Summarizes seqs from..to (default: the whole context) and stores the SUMMARY; answers its JSON. */
  async summarize(p: Principal, contextId: string, input: unknown): Promise<string> {
    const q = parseRequest(input);
    this.gate.access.contextSpace(p, contextId, 'write');
    const state = await this.summaries.state(p, contextId);
    const { view } = state;
    const to = q.to ?? view.headSeq;
    const from = q.from ?? 1;
    if (to > view.headSeq) throw new EngramError('INVALID_FIELD', `to: the context is at seq ${view.headSeq}`);
    if (from > to) throw new EngramError('INVALID_FIELD', `from: at most \`to\` (${to})`);
    if (this.model === undefined) {
      throw new EngramError('MODEL_UNAVAILABLE', 'no language model is configured (memory.model.provider); an agent can write the SUMMARY unit itself');
    }
    const lines: string[] = [];
    let chars = 0;
    let low = from;
    let high = to;
    for (let after = from - 1; ;) {
      const page = await readWithSummaries(this.gate, state, p, contextId, { after, before: to + 1, limit: 1000 });
      for (const x of page.items) {
        const u = JSON.parse(x.json) as WorkUnit;
        const text = x.low === x.high ? `[${x.seq}] ${unitLine(u)}` : `[${x.low}-${x.high}] ${unitLine(u)}`;
        chars += text.length + 1;
        if (chars > SUMMARIZE_MAX_INPUT_CHARS)
          throw new EngramError(
            'INVALID_FIELD',
            `the range ${from}-${to} holds more than ${SUMMARIZE_MAX_INPUT_CHARS} characters of units; summarize it in parts, then summarize the parts`,
          );
        lines.push(text);
        low = Math.min(low, x.low);
        high = Math.max(high, x.high);
      }
      if (page.nextCursor === null) break;
      after = page.nextCursor;
    }
    if (lines.length === 0) throw new EngramError('INVALID_FIELD', `seqs ${from}-${to}: nothing left to summarize (retention trimmed them)`);
    const out = await this.model.generate({
      system: q.instructions === undefined ? SYSTEM : `${SYSTEM}\n${q.instructions}`,
      prompt: lines.join('\n'),
      name: 'write_summary',
      description: 'The summary of the units.',
      schema: { type: 'object', properties: { summary: { type: 'string', description: 'The summary.' } }, required: ['summary'], additionalProperties: false },
    });
    const text = out.summary;
    if (typeof text !== 'string' || text.trim() === '' || text.length > MAX_SUMMARY_CHARS) {
      throw new EngramError('MODEL_OUTPUT_INVALID', `${this.model.id} did not answer a summary (a non-empty string of at most ${MAX_SUMMARY_CHARS} characters)`);
    }
    const r = await this.gate.append(p, {
      contextId,
      agentId: q.agentId,
      type: 'SUMMARY',
      meta: { model: this.model.id },
      payload: { text, covers: { from: low, to: high } },
    });
    return r.json;
  }
}
