/**
 * Presence: who is in a context now, by client and agent. A stream subscription to a context
 * (WebSocket, SSE or gRPC) is one connection of its client and agent there; the router joins it
 * when the subscription starts and leaves it when the subscription ends, however it ends (an
 * unsubscribe, a close, a connection the hub closed because it stopped answering). Other nodes
 * of a shared deployment report their own connections (presence-sync.ts); what this node
 * answers is the sum of its own and theirs.
 *
 * A member appears (`join`) when its first connection to the context opens anywhere and goes
 * (`leave`) when its last one closes: a second tab of the same agent changes its count, not the
 * membership.
 */
import { scopedKey } from '../basics/compound-key.js';

/** One client and agent in a context, over every transport and node. */
export interface PresenceMember {
  clientId: string;
  /** The agent its connections named (`agentId` on the stream); null for connections that named none. */
  agentId: string | null;
  /** Its open subscriptions to the context; 0 in a `leave`. */
  connections: number;
  /** When the earliest of them opened (epoch ms). */
  since: number;
}

export type PresenceAction = 'join' | 'leave';

/** A membership change of one context: the first connection of a member opened, or its last closed. */
export interface PresenceChange {
  /** The space the context lives in (a client's id, or a group's shared space). */
  space: string;
  contextId: string;
  action: PresenceAction;
  member: PresenceMember;
}

/** This node's connections of one member in one context (what other nodes are told). */
export interface LocalEntry {
  space: string;
  contextId: string;
  clientId: string;
  agentId: string | null;
  connections: number;
  since: number;
}

/** Who a subscription is present as. */
export interface PresenceIdentity {
  clientId: string;
  agentId: string | null;
}

interface Slot {
  clientId: string;
  agentId: string | null;
  connections: number;
  since: number;
}

/** One context's members: this node's slots, and each other node's. */
interface Place {
  space: string;
  contextId: string;
  local: Map<string, Slot>;
  remote: Map<string, Map<string, Slot>>;
}

/** Plain code-unit order (no locale): the same on every node and in every answer. */
const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

const memberKey = (clientId: string, agentId: string | null): string => (agentId === null ? clientId : `${clientId}\u0000${agentId}`);

export class Presence {
  private readonly places = new Map<string, Place>();
  private readonly listeners = new Set<(change: PresenceChange) => void>();
  private readonly localListeners = new Set<(entry: LocalEntry) => void>();
  private localConnections = 0;

  /** Hears every membership change (the router sends them to subscribers that asked). */
  onChange(listener: (change: PresenceChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Hears every change of this node's own counts, the count after it (what presence-sync publishes). */
  onLocal(listener: (entry: LocalEntry) => void): () => void {
    this.localListeners.add(listener);
    return () => this.localListeners.delete(listener);
  }

  /** One connection of `who` joins the context; returns its leave (safe to call more than once). */
  join(space: string, contextId: string, who: PresenceIdentity, now = Date.now()): () => void {
    const place = this.place(space, contextId);
    const key = memberKey(who.clientId, who.agentId);
    const before = this.total(place, key);
    let slot = place.local.get(key);
    if (slot === undefined) place.local.set(key, (slot = { clientId: who.clientId, agentId: who.agentId, connections: 0, since: now }));
    slot.connections++;
    this.localConnections++;
    this.tellLocal(place, slot);
    if (before === 0) this.tell(place, 'join', key);
    let joined = true;
    return () => {
      if (!joined) return;
      joined = false;
      this.leave(place, key);
    };
  }

  private leave(place: Place, key: string): void {
    const slot = place.local.get(key);
    if (slot === undefined) return;
    slot.connections--;
    this.localConnections--;
    if (slot.connections === 0) place.local.delete(key);
    this.tellLocal(place, slot);
    if (this.total(place, key) === 0) this.tell(place, 'leave', key, slot);
    this.dropIfEmpty(place);
  }

  /**
   * Sets what another node reports of one member in one context: its `connections` there now
   * (0: none left). Only a change of membership is told to listeners.
   */
  setRemote(node: string, entry: LocalEntry): void {
    const key = memberKey(entry.clientId, entry.agentId);
    const existing = this.places.get(scopedKey(entry.space, entry.contextId));
    if (entry.connections <= 0 && existing?.remote.get(node)?.has(key) !== true) return;
    const place = existing ?? this.place(entry.space, entry.contextId);
    const before = this.total(place, key);
    let slots = place.remote.get(node);
    if (entry.connections > 0) {
      if (slots === undefined) place.remote.set(node, (slots = new Map()));
      slots.set(key, { clientId: entry.clientId, agentId: entry.agentId, connections: entry.connections, since: entry.since });
    } else {
      const gone = slots!.get(key)!;
      slots!.delete(key);
      if (slots!.size === 0) place.remote.delete(node);
      if (before > 0 && this.total(place, key) === 0) this.tell(place, 'leave', key, gone);
      this.dropIfEmpty(place);
      return;
    }
    if (before === 0) this.tell(place, 'join', key);
  }

  /** This node's own connections, member by member (a full state for other nodes). */
  *localEntries(): Generator<LocalEntry> {
    for (const place of this.places.values()) {
      for (const slot of place.local.values()) yield { space: place.space, contextId: place.contextId, ...slot };
    }
  }

  /** The members of a context now, in client then agent order. */
  members(space: string, contextId: string): PresenceMember[] {
    const place = this.places.get(scopedKey(space, contextId));
    if (place === undefined) return [];
    const keys = new Set(place.local.keys());
    for (const slots of place.remote.values()) for (const k of slots.keys()) keys.add(k);
    return [...keys].map((k) => this.member(place, k)!).sort((a, b) => compare(a.clientId, b.clientId) || compare(a.agentId ?? '', b.agentId ?? ''));
  }

  /** Counts for /metrics: contexts with someone in them, members, and connections here and on other nodes. */
  stats(): { contexts: number; members: number; localConnections: number; remoteConnections: number } {
    let members = 0;
    let remoteConnections = 0;
    for (const place of this.places.values()) {
      const keys = new Set(place.local.keys());
      for (const slots of place.remote.values()) {
        for (const [k, s] of slots) {
          keys.add(k);
          remoteConnections += s.connections;
        }
      }
      members += keys.size;
    }
    return { contexts: this.places.size, members, localConnections: this.localConnections, remoteConnections };
  }

  private place(space: string, contextId: string): Place {
    const key = scopedKey(space, contextId);
    let place = this.places.get(key);
    if (place === undefined) this.places.set(key, (place = { space, contextId, local: new Map(), remote: new Map() }));
    return place;
  }

  private dropIfEmpty(place: Place): void {
    if (place.local.size === 0 && place.remote.size === 0) this.places.delete(scopedKey(place.space, place.contextId));
  }

  /** Connections of a member in a place, over this node and the others. */
  private total(place: Place, key: string): number {
    let n = place.local.get(key)?.connections ?? 0;
    for (const slots of place.remote.values()) n += slots.get(key)?.connections ?? 0;
    return n;
  }

  private member(place: Place, key: string): PresenceMember | undefined {
    let out: PresenceMember | undefined;
    const add = (s: Slot | undefined) => {
      if (s === undefined) return;
      if (out === undefined) out = { clientId: s.clientId, agentId: s.agentId, connections: 0, since: s.since };
      out.connections += s.connections;
      out.since = Math.min(out.since, s.since);
    };
    add(place.local.get(key));
    for (const slots of place.remote.values()) add(slots.get(key));
    return out;
  }

  private tell(place: Place, action: PresenceAction, key: string, gone?: Slot): void {
    const member: PresenceMember | undefined =
      action === 'join' ? this.member(place, key) : gone === undefined ? undefined : { clientId: gone.clientId, agentId: gone.agentId, connections: 0, since: gone.since };
    if (member === undefined || this.listeners.size === 0) return;
    const change: PresenceChange = { space: place.space, contextId: place.contextId, action, member };
    for (const l of this.listeners) l(change);
  }

  private tellLocal(place: Place, slot: Slot): void {
    if (this.localListeners.size === 0) return;
    const entry: LocalEntry = { space: place.space, contextId: place.contextId, ...slot };
    for (const l of this.localListeners) l(entry);
  }
}
