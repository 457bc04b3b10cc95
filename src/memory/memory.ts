/**
 * Shared agent memory: the memory tool's files of a space, kept as work units. Every change is
 * an immutable FILE_CHANGE unit in the space's memory context (`memories/<space>`), so each file
 * has its whole history and every change streams to the context's subscribers; the files are
 * the replay of those units in seq order (memory/projection.ts). Commands on one space run one at a
 * time, each against the files as the log has them, so two agents editing one file never lose an
 * edit: the second sees the first's text (and gets the tool's normal error if its old_str is gone).
 */
import type { Principal } from '../tenancy/access.js';
import type { Gate } from '../gate/gate.js';
import { EngramError } from '../basics/errors.js';
import { MemoryFiles, memoryPath, pathError, type CommandResult, type FileChange } from './memory-files.js';
import { Projection, type ProjectionOf, type ProjectionOptions } from './projection.js';
import { memoryOperation } from './memory-spans.js';
import type { Tracer } from '../basics/tracer.js';

const SPACE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** The context holding a memory space's changes. */
/** Whether a context holds a memory space's files, facts or graph (retention never trims those: their state is rebuilt from all their units). */
export function isMemoryContext(contextId: string): boolean {
  return contextId.startsWith('memories/') || contextId.startsWith('facts/') || contextId.startsWith('graph/');
}

export function memoryContext(space: string): string {
  if (!SPACE_NAME.test(space))
    throw new EngramError('INVALID_ID', `memory space ${JSON.stringify(space.slice(0, 80))}: 1–64 of A-Z a-z 0-9 . _ -, starting with a letter or digit`);
  return `memories/${space}`;
}

/** Exported for tests that compare rebuilt states. */
export const FILES_PROJECTION: ProjectionOf<MemoryFiles> = {
  empty: () => new MemoryFiles(),
  apply(files, u) {
    // Units written by hand that are not changes this service understands are history only.
    if (u.type === 'FILE_CHANGE' && isChange(u.payload)) files.apply(u.payload);
  },
  snapshot: { name: 'files', version: 1, encode: (files) => [...files.files], decode: (data) => MemoryFiles.from(data) },
};

export class MemoryService {
  private readonly files: Projection<MemoryFiles>;
  private readonly tracer: Tracer | undefined;

  constructor(gate: Gate, projection: ProjectionOptions = {}) {
    this.files = new Projection(gate, FILES_PROJECTION, projection);
    this.tracer = projection.tracer;
  }

  /** Resolves once no snapshot of this service's states is being written (tests, benchmarks). */
  idle(): Promise<void> {
    return this.files.snapshotsSettled();
  }

  /** Runs one memory-tool command for the principal; tool errors are results, not exceptions. */
  command(p: Principal, space: string, input: unknown, agentId = 'memory'): Promise<CommandResult> {
    return memoryOperation(this.tracer, 'memory', `memories/${space}`, agentId, async (span) => {
      const command = typeof input === 'object' && input !== null ? (input as { command?: unknown }).command : undefined;
      span.set({ 'engram.memory.command': typeof command === 'string' ? command : undefined });
      const r = await this.runCommand(p, space, input, agentId);
      span.set({ 'engram.memory.tool_error': r.isError });
      return r;
    });
  }

  private async runCommand(p: Principal, space: string, input: unknown, agentId: string): Promise<CommandResult> {
    const contextId = memoryContext(space);
    if (typeof input === 'object' && input !== null && (input as { command?: unknown }).command === 'view') return (await this.files.read(p, contextId)).run(input);
    const changed = await this.files.change(p, contextId, (files) => {
      const r = files.run(input);
      if (r.change === undefined) return { units: [], result: r };
      const command = String((input as Record<string, unknown>).command);
      return { units: [{ agentId, type: 'FILE_CHANGE', meta: { command, path: r.change.path }, payload: r.change }], result: r };
    });
    return changed.result;
  }

  /** Every file of a space with its size. */
  async tree(p: Principal, space: string): Promise<Array<{ path: string; size: number }>> {
    const files = await this.files.read(p, memoryContext(space));
    return [...files.files].map(([path, text]) => ({ path, size: text.length })).sort((a, b) => (a.path < b.path ? -1 : 1));
  }

  /** One file's text. */
  async file(p: Principal, space: string, rawPath: unknown): Promise<{ path: string; text: string }> {
    const path = memoryPath(rawPath);
    if (path === undefined) throw new EngramError('INVALID_QUERY', pathError(rawPath));
    const text = (await this.files.read(p, memoryContext(space))).files.get(path);
    if (text === undefined) throw new EngramError('NOT_FOUND', `The path ${path} does not exist. Please provide a valid path.`);
    return { path, text };
  }

  /** The changes that touched a path (or anything under it), oldest first: who, when, what. */
  async history(p: Principal, space: string, rawPath: unknown): Promise<Array<{ seq: number; ts: string; agentId: string; command: string; change: FileChange }>> {
    const path = memoryPath(rawPath);
    if (path === undefined) throw new EngramError('INVALID_QUERY', pathError(rawPath));
    const out: Array<{ seq: number; ts: string; agentId: string; command: string; change: FileChange }> = [];
    const touches = (q: string) => q === path || q.startsWith(path + '/');
    for await (const u of this.files.units(p, memoryContext(space))) {
      const c = u.payload;
      if (u.type !== 'FILE_CHANGE' || !isChange(c)) continue;
      if (touches(c.path) || (c.op === 'rename' && touches(c.to))) out.push({ seq: u.seq, ts: u.ts, agentId: u.agentId, command: u.meta.command ?? c.op, change: c });
    }
    return out;
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
