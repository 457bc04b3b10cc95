/** What the WebSocket and SSE routes share on HTTP: their dependencies and the stream URL's query. */
import type { Authenticator } from '../../tenancy/access.js';
import { EngramError } from '../../basics/errors.js';
import type { Gate } from '../../gate/gate.js';
import { checkEpoch, checkId, checkOnTrimmed } from '../../basics/validate.js';
import type { StreamHub } from '../../streams/hub.js';
import { Query } from './io.js';
import type { OriginPolicy } from './origins.js';

/** What a stream route needs from the server. */
export interface StreamRoute {
  gate: Gate;
  auth: Authenticator;
  hub: StreamHub;
  onInternal: (err: unknown) => void;
  /** Which browser pages may open streams (docs/reliability.md). */
  origins: OriginPolicy;
}

/**
 * The contexts and start a stream asks for in its URL: `?context=A&context=B&since=41&epoch=E`,
 * the agent it is present as (`agentId`), and whether it wants presence events (`presence=1`).
 */
export function parseStreamQuery(
  raw: string | undefined,
  maxContexts: number,
): {
  contexts: string[];
  since: number | undefined;
  epoch: string | undefined;
  format: string | undefined;
  locks: boolean;
  agentId: string | undefined;
  presence: boolean;
  continueAfterTrim: boolean;
} {
  const q = new Query(raw);
  const contexts = q.all('context');
  if (contexts.length > maxContexts) {
    throw new EngramError('INVALID_QUERY', `context: at most ${maxContexts} contexts per connection`);
  }
  contexts.forEach((c, i) => checkId(c, `context[${i}]`));
  if (new Set(contexts).size !== contexts.length) throw new EngramError('INVALID_QUERY', 'context: the same context is named twice');
  const epoch = q.string('epoch');
  const agentId = q.string('agentId');
  return {
    contexts,
    since: q.int('since'),
    epoch: epoch === undefined ? undefined : checkEpoch(epoch),
    format: q.string('format'),
    locks: q.bool('locks') ?? false,
    agentId: agentId === undefined ? undefined : checkId(agentId, 'agentId'),
    presence: q.bool('presence') ?? false,
    continueAfterTrim: checkOnTrimmed(q.string('onTrimmed'), 'INVALID_QUERY'),
  };
}
