/**
 * Server frames of the streaming protocol. A frame is built once and encoded at most
 * once per wire format (JSON text, MessagePack, SSE text), however many subscribers
 * it goes to. Transports define the formats; core knows only the JSON text.
 */
import type { ErrorCode } from '../basics/errors.js';
import type { AppendResult } from '../engine/engine.js';
import type { LockAction, LockView } from '../locks/lock-types.js';
import { contextView, type ContextRecord } from '../basics/types.js';
import type { PresenceAction, PresenceMember } from './presence.js';

/** A presence member as the wire shows it (`since` as an ISO time, like a context's times). */
export interface PresenceMemberView {
  clientId: string;
  agentId: string | null;
  connections: number;
  since: string;
}

export const presenceView = (m: PresenceMember): PresenceMemberView => ({
  clientId: m.clientId,
  agentId: m.agentId,
  connections: m.connections,
  since: new Date(m.since).toISOString(),
});

export type FrameEvent = 'workunit' | 'context' | 'lock' | 'presence' | 'subscribed' | 'unsubscribed' | 'deleted' | 'trimmed' | 'ack' | 'error' | 'heartbeat' | 'pong';

/** A wire encoding of frames, e.g. MessagePack. One instance per format, shared by all connections. */
export interface FrameFormat<T> {
  readonly name: string;
  encode(frame: Frame): T;
}

export class Frame {
  /** Cached encodings, as [format, value] pairs: there are only ever a few formats. */
  private cache: Array<[FrameFormat<unknown>, unknown]> | undefined;

  constructor(
    readonly event: FrameEvent,
    /** The frame as JSON text: `{"event":"...", ...}`. */
    readonly json: string,
    /** The unit's seq, for workunit frames. */
    readonly seq?: number,
  ) {}

  encoded<T>(format: FrameFormat<T>): T {
    if (this.cache !== undefined) {
      for (const [f, value] of this.cache) if (f === format) return value as T;
    }
    const value = format.encode(this);
    (this.cache ??= []).push([format, value]);
    return value;
  }
}

const withRef = (ref: string | number | undefined) => (ref === undefined ? '' : `"ref":${JSON.stringify(ref)},`);

export const frames = {
  /** Wraps a stored unit's JSON text without parsing it. */
  workunit: (seq: number, unitJson: string) => new Frame('workunit', `{"event":"workunit","workUnit":${unitJson}}`, seq),
  context: (record: ContextRecord) => new Frame('context', JSON.stringify({ event: 'context', context: contextView(record) })),
  lock: (action: LockAction, lock: LockView) => new Frame('lock', JSON.stringify({ event: 'lock', action, lock })),
  /** A member of the context joined (its first connection opened) or left (its last closed). */
  presence: (contextId: string, action: PresenceAction, member: PresenceMember) =>
    new Frame('presence', JSON.stringify({ event: 'presence', action, contextId, member: presenceView(member) })),
  /** Everyone in the context now: sent after `subscribed` to a subscriber that asked for presence, and after it missed events. */
  presenceSnapshot: (contextId: string, members: PresenceMember[]) =>
    new Frame('presence', JSON.stringify({ event: 'presence', action: 'snapshot', contextId, members: members.map(presenceView) })),
  /** The locks held now, sent to a lock-stream subscriber that missed events while it was paused. */
  lockSnapshot: (locks: LockView[]) => new Frame('lock', JSON.stringify({ event: 'lock', action: 'snapshot', locks })),
  locksSubscribed: (ref?: string | number) => new Frame('subscribed', `{"event":"subscribed",${withRef(ref)}"locks":true}`),
  locksUnsubscribed: (ref?: string | number) => new Frame('unsubscribed', `{"event":"unsubscribed",${withRef(ref)}"locks":true}`),
  subscribed: (contextId: string, headSeq: number, epoch: string, ref?: string | number) =>
    new Frame('subscribed', `{"event":"subscribed",${withRef(ref)}"contextId":${JSON.stringify(contextId)},"headSeq":${headSeq},"epoch":${JSON.stringify(epoch)}}`),
  /** The context was deleted; the subscription ends with this frame. */
  deleted: (contextId: string) => new Frame('deleted', `{"event":"deleted","contextId":${JSON.stringify(contextId)}}`),
  /**
   * Units the subscription asked for are gone (retention): the first seq still stored. `continues`:
   * the subscription goes on from there (it asked for that); otherwise it ends with this frame.
   */
  trimmed: (contextId: string, firstSeq: number, continues: boolean) =>
    new Frame('trimmed', `{"event":"trimmed","contextId":${JSON.stringify(contextId)},"firstSeq":${firstSeq},"continues":${continues}}`),
  unsubscribed: (contextId: string, ref?: string | number) => new Frame('unsubscribed', `{"event":"unsubscribed",${withRef(ref)}"contextId":${JSON.stringify(contextId)}}`),
  ack: (r: AppendResult, ref?: string | number) =>
    new Frame('ack', `{"event":"ack",${withRef(ref)}"id":${JSON.stringify(r.id)},"contextId":${JSON.stringify(r.contextId)},"seq":${r.seq},"replayed":${r.replayed}}`),
  error: (code: ErrorCode, message: string, ref?: string | number, details?: Record<string, unknown>) =>
    new Frame('error', `{"event":"error",${withRef(ref)}"error":${JSON.stringify(details === undefined ? { code, message } : { code, message, details })}}`),
  pong: (ref?: string | number) => new Frame('pong', ref === undefined ? '{"event":"pong"}' : `{"event":"pong","ref":${JSON.stringify(ref)}}`),
  heartbeat: new Frame('heartbeat', '{"event":"heartbeat"}'),
};
