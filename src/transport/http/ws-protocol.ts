/**
 * The client side of the WebSocket protocol: what a client may send, checked into
 * typed operations. Each operation may carry a `ref` (a string or an integer) that
 * the server echoes on the frame answering it.
 */
import { withTraceparent } from '../../basics/trace.js';
import { EngramError } from '../../basics/errors.js';
import { checkEpoch, checkId, checkOnTrimmed } from '../../basics/validate.js';

export type Ref = string | number | undefined;

export type ClientOp =
  | {
      op: 'subscribe';
      ref: Ref;
      contextId: string;
      since: number | undefined;
      epoch: string | undefined;
      presence: boolean;
      agentId: string | undefined;
      continueAfterTrim: boolean;
    }
  | { op: 'unsubscribe'; ref: Ref; contextId: string }
  | { op: 'publish'; ref: Ref; unit: Record<string, unknown> }
  | { op: 'subscribeLocks'; ref: Ref }
  | { op: 'unsubscribeLocks'; ref: Ref }
  | { op: 'ping'; ref: Ref };

const OPS = ['subscribe', 'unsubscribe', 'publish', 'subscribeLocks', 'unsubscribeLocks', 'ping'];

/** The ref of a message, when it has a usable one, so that even its error can be matched. */
export function refOf(value: unknown): Ref {
  if (typeof value !== 'object' || value === null) return undefined;
  const ref = (value as Record<string, unknown>).ref;
  if (typeof ref === 'string' && ref.length <= 256) return ref;
  if (typeof ref === 'number' && Number.isSafeInteger(ref)) return ref;
  return undefined;
}

function onlyFields(obj: Record<string, unknown>, allowed: string[]): void {
  for (const key of Object.keys(obj)) {
    if (!allowed.includes(key)) throw new EngramError('UNKNOWN_FIELD', `${key}: unknown field for op ${String(obj.op)}`);
  }
}

export function parseClientOp(value: unknown): ClientOp {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new EngramError('INVALID_FIELD', 'a client message must be a JSON object with an "op"');
  }
  const obj = value as Record<string, unknown>;
  if (obj.ref !== undefined && refOf(obj) === undefined) {
    throw new EngramError('INVALID_FIELD', 'ref: must be a string of at most 256 characters or an integer');
  }
  const ref = refOf(obj);
  switch (obj.op) {
    case 'subscribe': {
      onlyFields(obj, ['op', 'ref', 'contextId', 'since', 'epoch', 'presence', 'agentId', 'onTrimmed']);
      if (obj.contextId === undefined) throw new EngramError('MISSING_FIELD', 'contextId: required');
      const contextId = checkId(obj.contextId, 'contextId');
      if (obj.since !== undefined && (typeof obj.since !== 'number' || !Number.isSafeInteger(obj.since) || obj.since < 0)) {
        throw new EngramError('INVALID_FIELD', 'since: must be a non-negative integer seq');
      }
      const epoch = obj.epoch === undefined ? undefined : checkEpoch(obj.epoch);
      if (obj.presence !== undefined && typeof obj.presence !== 'boolean') throw new EngramError('INVALID_FIELD', 'presence: must be true or false');
      const agentId = obj.agentId === undefined ? undefined : checkId(obj.agentId, 'agentId');
      return {
        op: 'subscribe',
        ref,
        contextId,
        since: obj.since as number | undefined,
        epoch,
        presence: obj.presence === true,
        agentId,
        continueAfterTrim: checkOnTrimmed(obj.onTrimmed, 'INVALID_FIELD'),
      };
    }
    case 'unsubscribe': {
      onlyFields(obj, ['op', 'ref', 'contextId']);
      if (obj.contextId === undefined) throw new EngramError('MISSING_FIELD', 'contextId: required');
      return { op: 'unsubscribe', ref, contextId: checkId(obj.contextId, 'contextId') };
    }
    case 'publish': {
      // The unit's own fields sit beside op and ref; the engine validates them like an HTTP body.
      const { op: _op, ref: _ref, traceparent, ...unit } = obj;
      return { op: 'publish', ref, unit: withTraceparent(unit, typeof traceparent === 'string' ? traceparent : undefined, 'traceparent field') as Record<string, unknown> };
    }
    case 'ping':
    case 'subscribeLocks':
    case 'unsubscribeLocks':
      onlyFields(obj, ['op', 'ref']);
      return { op: obj.op, ref };
    default:
      throw new EngramError('INVALID_FIELD', `op: must be one of ${OPS.join(', ')}, got ${JSON.stringify(obj.op) ?? 'nothing'}`);
  }
}
