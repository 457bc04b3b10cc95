/** The rules of a context PATCH, as a pure function of the current record. */
import { EngramError } from '../basics/errors.js';
import { LIMITS } from '../basics/limits.js';
import type { ContextPatch, ContextRecord } from '../basics/types.js';

/**
 * Applies a validated PATCH to a context record (or creates the record). Returns the
 * new record, or `current` itself when nothing changes (no new version, nothing to store).
 * `ifMatch` is the version the caller last saw ('*' for any existing version).
 */
export function applyPatch(current: ContextRecord | undefined, contextId: string, p: ContextPatch, ifMatch: number | '*' | undefined, now: number): ContextRecord {
  if (ifMatch !== undefined) {
    const ok = ifMatch === '*' ? current !== undefined : current !== undefined && current.version === ifMatch;
    if (!ok) {
      throw new EngramError(
        'VERSION_MISMATCH',
        current === undefined
          ? `If-Match: context ${JSON.stringify(contextId)} does not exist yet`
          : `If-Match: version ${ifMatch} is stale; the current version is ${current.version}`,
      );
    }
  }
  const base: ContextRecord = current ?? {
    id: contextId,
    displayName: contextId,
    agentIds: [],
    pinnedUnits: [],
    meta: {},
    createdAt: now,
    updatedAt: now,
    version: 0,
    headSeq: 0,
  };
  const displayName = p.displayName ?? base.displayName;
  let agentIds = base.agentIds.filter((a) => !p.removeAgents.includes(a));
  for (const a of p.addAgents) if (!agentIds.includes(a)) agentIds.push(a);
  if (agentIds.length > LIMITS.agentsPerContext) {
    throw new EngramError('INVALID_FIELD', `addAgents: a context has at most ${LIMITS.agentsPerContext} agents`);
  }
  let pinnedUnits = base.pinnedUnits.filter((u) => !p.unpinUnits.includes(u));
  for (const u of p.pinUnits) if (!pinnedUnits.includes(u)) pinnedUnits.push(u);
  if (pinnedUnits.length > LIMITS.pinnedUnits) {
    throw new EngramError('INVALID_FIELD', `pinUnits: a context has at most ${LIMITS.pinnedUnits} pinned units`);
  }
  const meta: Record<string, string> = { ...base.meta };
  for (const [k, v] of Object.entries(p.meta)) {
    if (v === null) delete meta[k];
    else meta[k] = v;
  }
  if (Object.keys(meta).length > LIMITS.metaEntries) {
    throw new EngramError('INVALID_FIELD', `meta: a context has at most ${LIMITS.metaEntries} entries`);
  }
  if (current !== undefined && displayName === base.displayName && sameList(agentIds, base.agentIds) && sameList(pinnedUnits, base.pinnedUnits) && sameMap(meta, base.meta)) {
    return current; // nothing changes: no new version, nothing to store
  }
  if (sameList(agentIds, base.agentIds)) agentIds = base.agentIds;
  if (sameList(pinnedUnits, base.pinnedUnits)) pinnedUnits = base.pinnedUnits;
  return { ...base, displayName, agentIds, pinnedUnits, meta, updatedAt: now, version: base.version + 1 };
}

function sameList(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function sameMap(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => b[k] === a[k]);
}
