/**
 * Shared agent memory: the memory tool's files of a space, kept as work units. Every change is
 * an immutable FILE_CHANGE unit in the space's memory context (`memories/<space>`), so each file
 * has its whole history and every change streams to the context's subscribers; the files are
 * the replay of those units in seq order. Commands on one space run one at a time, each against
 * the files as the log has them, so two agents editing one file never lose an edit: the second
 * sees the first's text (and gets the tool's normal error if its old_str is gone).
 */
import type { Principal } from './access.js';
import type { Gate } from './gate.js';
import { EngramError } from './errors.js';
import { MemoryFiles, memoryPath, pathError, type CommandResult, type FileChange } from './memory-files.js';
import type { WorkUnit } from './types.js';

const SPACE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** The context holding a memory space's changes. */
export function memoryContext(space: string): string {
  if (!SPACE_NAME.test(space)) throw new EngramError('INVALID_ID', `memory space ${JSON.stringify(space.slice(0, 80))}: 1–64 of A-Z a-z 0-9 . _ -, starting with a letter or digit`);
  return `memories/${space}`;
}

interface Loaded {
  files: MemoryFiles;
  /** Seq of the last unit applied. */
  seq: number;
}

export class MemoryService {
  /** By storage space and context: the replayed files, kept up to date as changes are made. */
  private readonly loaded = new Map<string, Loaded>();
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(private readonly gate: Gate) {}

  /** Runs one memory-tool command for the principal; tool errors are results, not exceptions. */
  command(p: Principal, space: string, input: unknown, agentId = 'memory'): Promise<CommandResult> {
    try {
      return this.enqueue(p, space, input, agentId);
    } catch (err) {
      // A bad space name or a refused scope: a rejection, never a throw into the transport's callback.
      return Promise.reject(err);
    }
  }

  private enqueue(p: Principal, space: string, input: unknown, agentId: string): Promise<CommandResult> {
    const contextId = memoryContext(space);
    const reads = typeof input === 'object' && input !== null && (input as { command?: unknown }).command === 'view';
    const key = this.keyOf(p, contextId, reads ? 'read' : 'write');
    // One command at a time per space: each sees every change before it.
    const run = (this.queues.get(key) ?? Promise.resolve()).then(() => this.runOne(p, key, contextId, input, agentId));
    const tail = run.catch(() => undefined);
    this.queues.set(key, tail);
    void tail.then(() => {
      if (this.queues.get(key) === tail) this.queues.delete(key);
    });
    return run;
  }

  private async runOne(p: Principal, key: string, contextId: string, input: unknown, agentId: string): Promise<CommandResult> {
    const state = await this.current(p, key, contextId);
    const r = state.files.run(input);
    if (r.change === undefined) return r;
    const cmd = input as Record<string, unknown>;
    const written = await this.gate.append(p, {
      contextId,
      agentId,
      type: 'FILE_CHANGE',
      meta: { command: String(cmd.command), path: r.change.path },
      payload: r.change,
    });
    const unit = JSON.parse(written.json) as WorkUnit;
    // Units may have landed in between (written by hand to the context): catch up first, in order.
    if (unit.seq !== state.seq + 1) await this.catchUp(p, contextId, state, unit.seq - 1);
    state.files.apply(r.change);
    state.seq = unit.seq;
    return r;
  }

  /** The cache key of a memory context: the storage space it lives in (checked for `need`), and its id. */
  private keyOf(p: Principal, contextId: string, need: 'read' | 'write'): string {
    return this.gate.access.contextSpace(p, contextId, need) + '\u0000' + contextId;
  }

  /** The files as the log has them now (loaded once, then only what is new is read). */
  private async current(p: Principal, key: string, contextId: string): Promise<Loaded> {
    let state = this.loaded.get(key);
    if (state === undefined) {
      state = { files: new MemoryFiles(), seq: 0 };
      this.loaded.set(key, state);
    }
    let head: number;
    try {
      head = (await this.gate.getContext(p, contextId)).headSeq;
    } catch (err) {
      if (err instanceof EngramError && err.code === 'CONTEXT_NOT_FOUND') return state;
      throw err;
    }
    if (head > state.seq) await this.catchUp(p, contextId, state, head);
    return state;
  }

  private async catchUp(p: Principal, contextId: string, state: Loaded, upTo: number): Promise<void> {
    while (state.seq < upTo) {
      const page = await this.gate.listUnits(p, contextId, { after: state.seq, before: upTo + 1, limit: 1000 });
      if (page.units.length === 0) break;
      for (const json of page.units) {
        const u = JSON.parse(json) as WorkUnit;
        if (u.type === 'FILE_CHANGE') {
          const change = u.payload as FileChange;
          // Units written by hand that are not changes this service understands are history only.
          if (isChange(change)) state.files.apply(change);
        }
        state.seq = u.seq;
      }
    }
  }

  /** Every file of a space with its size. */
  async tree(p: Principal, space: string): Promise<Array<{ path: string; size: number }>> {
    const contextId = memoryContext(space);
    const state = await this.current(p, this.keyOf(p, contextId, 'read'), contextId);
    return [...state.files.files].map(([path, text]) => ({ path, size: text.length })).sort((a, b) => (a.path < b.path ? -1 : 1));
  }

  /** One file's text and the seq of the change that made it. */
  async file(p: Principal, space: string, rawPath: unknown): Promise<{ path: string; text: string }> {
    const path = memoryPath(rawPath);
    if (path === undefined) throw new EngramError('INVALID_QUERY', pathError(rawPath));
    const contextId = memoryContext(space);
    const text = (await this.current(p, this.keyOf(p, contextId, 'read'), contextId)).files.files.get(path);
    if (text === undefined) throw new EngramError('NOT_FOUND', `The path ${path} does not exist. Please provide a valid path.`);
    return { path, text };
  }

  /** The changes that touched a path (or anything under it), oldest first: who, when, what. */
  async history(p: Principal, space: string, rawPath: unknown): Promise<Array<{ seq: number; ts: string; agentId: string; command: string; change: FileChange }>> {
    const path = memoryPath(rawPath);
    if (path === undefined) throw new EngramError('INVALID_QUERY', pathError(rawPath));
    const contextId = memoryContext(space);
    const out: Array<{ seq: number; ts: string; agentId: string; command: string; change: FileChange }> = [];
    let after = 0;
    for (;;) {
      let page;
      try {
        page = await this.gate.listUnits(p, contextId, { after, limit: 1000 });
      } catch (err) {
        if (err instanceof EngramError && err.code === 'CONTEXT_NOT_FOUND') return out;
        throw err;
      }
      for (const json of page.units) {
        const u = JSON.parse(json) as WorkUnit;
        after = u.seq;
        const c = u.payload as FileChange;
        if (u.type !== 'FILE_CHANGE' || !isChange(c)) continue;
        const touches = (q: string) => q === path || q.startsWith(path + '/');
        if (touches(c.path) || (c.op === 'rename' && touches(c.to))) out.push({ seq: u.seq, ts: u.ts, agentId: u.agentId, command: u.meta.command ?? c.op, change: c });
      }
      if (page.nextCursor === null) return out;
    }
  }
}

function isChange(c: unknown): c is FileChange {
  if (typeof c !== 'object' || c === null) return false;
  const x = c as Record<string, unknown>;
  if (typeof x.path !== 'string' || memoryPath(x.path) === undefined) return false;
  if (x.op === 'write') return typeof x.text === 'string';
  if (x.op === 'delete') return true;
  return x.op === 'rename' && typeof x.to === 'string' && memoryPath(x.to) !== undefined;
}
