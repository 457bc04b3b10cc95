/**
 * Contexts read into memory and kept up to date by their tails: a state built by applying a
 * context's units in seq order, which the next read brings forward with only the units after the
 * last one applied. Used by the saver (a thread per context) and the store (a namespace per
 * context); several processes writing one context all read it whole.
 */
import { EngramClientError } from '../client/errors.js';
import type { EngramClient } from '../client/http-client.js';
import type { WorkUnit } from '../client/types.js';

export interface Replayed {
  apply(unit: WorkUnit): unknown;
}

interface Replica<S> {
  state: S;
  /** The seq and id of the last unit applied: a context deleted and written again has another unit there. */
  head: number;
  headUnitId: string;
}

/** Units asked for per read (the most a page gives). */
const PAGE = 1000;

/** The ids of the client's contexts that start with `prefix`, every page of them. */
export async function contextIdsWithPrefix(client: EngramClient, prefix: string): Promise<string[]> {
  const ids: string[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await client.listContexts({ prefix, limit: PAGE, ...(after !== undefined ? { after } : {}) });
    for (const c of page.contexts) ids.push(c.id);
    if (page.nextCursor === null || page.contexts.length === 0) return ids;
    after = page.nextCursor;
  }
}

export class ContextReplicas<S extends Replayed> {
  /** Least recently used first. */
  private readonly replicas = new Map<string, Replica<S>>();
  /** One refresh of a context at a time: two would apply the same units twice. */
  private readonly refreshing = new Map<string, Promise<S | undefined>>();

  constructor(
    private readonly client: EngramClient,
    private readonly make: () => S,
    private readonly max: number,
  ) {}

  /** The context's state brought up to date (one read when nothing changed), or undefined when it does not exist. */
  get(contextId: string): Promise<S | undefined> {
    const previous = this.refreshing.get(contextId) ?? Promise.resolve(undefined);
    const next = previous
      .catch(() => undefined)
      .then(() => this.refresh(contextId))
      .finally(() => {
        if (this.refreshing.get(contextId) === next) this.refreshing.delete(contextId);
      });
    this.refreshing.set(contextId, next);
    return next;
  }

  forget(contextId: string): void {
    this.replicas.delete(contextId);
  }

  /** A fresh state with the units up to seq `upTo` applied (for a follower that starts there). */
  async readUpTo(contextId: string, upTo: number): Promise<S> {
    const r: Replica<S> = { state: this.make(), head: 0, headUnitId: '' };
    if (upTo > 0) await this.readInto(r, contextId, upTo);
    return r.state;
  }

  private apply(r: Replica<S>, unit: WorkUnit): void {
    r.head = unit.seq;
    r.headUnitId = unit.id;
    r.state.apply(unit);
  }

  private async refresh(contextId: string): Promise<S | undefined> {
    let r = this.replicas.get(contextId);
    this.replicas.delete(contextId);
    try {
      if (r === undefined || !(await this.readInto(r, contextId, Infinity))) {
        r = { state: this.make(), head: 0, headUnitId: '' };
        await this.readInto(r, contextId, Infinity);
      }
    } catch (err) {
      if (err instanceof EngramClientError && err.code === 'CONTEXT_NOT_FOUND') return undefined;
      throw err;
    }
    this.replicas.set(contextId, r);
    while (this.replicas.size > this.max) this.replicas.delete(this.replicas.keys().next().value!);
    return r.state;
  }

  /**
   * Applies the units after the replica's head up to seq `upTo`. A replica that holds units asks
   * from its last one, which must still be there: false when it is not (the context was deleted,
   * and perhaps written again, since), and the caller reads it anew.
   */
  private async readInto(r: Replica<S>, contextId: string, upTo: number): Promise<boolean> {
    let expect = r.head > 0 ? r.headUnitId : undefined;
    let cursor: number | null = r.head > 0 ? r.head - 1 : 0;
    while (cursor !== null) {
      const page = await this.client.list(contextId, { after: cursor, limit: PAGE });
      for (const unit of page.workUnits) {
        if (expect !== undefined) {
          if (unit.seq !== r.head || unit.id !== expect) return false;
          expect = undefined;
          continue;
        }
        if (unit.seq > upTo) return true;
        this.apply(r, unit);
      }
      if (expect !== undefined) return false; // the unit we held is gone
      cursor = page.nextCursor;
    }
    return true;
  }
}
