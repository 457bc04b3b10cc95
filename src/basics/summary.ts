/**
 * A SUMMARY unit stands in for a range of its context's seqs (docs/agents.md#summaries). Its
 * payload is `{text, covers: {from, to}}` (other fields are the writer's); the range is checked
 * when the unit is written: 1 ≤ from ≤ to, and `to` below the summary's own seq.
 */
import { EngramError } from './errors.js';

export interface SummaryRange {
  from: number;
  to: number;
}

/** The range a SUMMARY unit's payload covers; INVALID_FIELD / MISSING_FIELD when it is not one. */
export function summaryRange(payload: unknown): SummaryRange {
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
    throw new EngramError('INVALID_FIELD', 'payload: a SUMMARY is an object {text, covers: {from, to}}');
  }
  const p = payload as { text?: unknown; covers?: unknown };
  if (p.text === undefined) throw new EngramError('MISSING_FIELD', 'payload.text: a SUMMARY has the summary as text');
  if (typeof p.text !== 'string' || p.text.trim() === '') throw new EngramError('INVALID_FIELD', 'payload.text: the summary, a non-empty string');
  if (p.covers === undefined) throw new EngramError('MISSING_FIELD', 'payload.covers: the seq range {from, to} the SUMMARY stands in for');
  const c = p.covers as { from?: unknown; to?: unknown };
  if (typeof c !== 'object' || c === null || Array.isArray(c)) throw new EngramError('INVALID_FIELD', 'payload.covers: an object {from, to}');
  for (const k of Object.keys(c)) if (k !== 'from' && k !== 'to') throw new EngramError('UNKNOWN_FIELD', `payload.covers.${k}: unknown field`);
  const { from, to } = c;
  if (typeof from !== 'number' || !Number.isSafeInteger(from) || from < 1) throw new EngramError('INVALID_FIELD', 'payload.covers.from: a seq, 1 or more');
  if (typeof to !== 'number' || !Number.isSafeInteger(to) || to < from) throw new EngramError('INVALID_FIELD', 'payload.covers.to: a seq, at least `from`');
  return { from, to };
}
