/**
 * The files of one memory space, as the commands of Anthropic's memory tool
 * (`memory_20250818`: view, create, str_replace, insert, delete, rename) see them. Results and
 * error strings are the ones the tool's documentation gives, so a model reads what it was
 * trained on. Pure: the service (memory.ts) stores each change as a FILE_CHANGE work unit and
 * rebuilds a space by replaying them.
 */

export const MEMORY_ROOT = '/memories';
/** Largest file, in characters; a change that would make one larger is refused. */
export const MEMORY_FILE_MAX = 256 * 1024;
/** Largest space (all its files), in characters. */
export const MEMORY_SPACE_MAX = 8 * 1024 * 1024;
const LINE_LIMIT = 999_999;

/** What a command changed: stored as a unit's payload, and replayed in seq order. */
export type FileChange = { op: 'write'; path: string; text: string } | { op: 'delete'; path: string } | { op: 'rename'; path: string; to: string };

export interface CommandResult {
  /** The text the tool returns to the model. */
  result: string;
  isError: boolean;
  change?: FileChange;
}

const fail = (result: string): CommandResult => ({ result, isError: true });

/**
 * The canonical form of a model-given path (`/memories` or `/memories/a/b.txt`), or undefined
 * when it leaves the memory directory or is not a plain path: `..` and `.` segments, encoded
 * forms (`%2e%2e%2f`), backslashes, control characters, anything outside `/memories`.
 */
export function memoryPath(raw: unknown): string | undefined {
  if (typeof raw !== 'string' || raw.length === 0 || raw.length > 1024) return undefined;
  // Decoding is refused rather than done: a path with escapes is never one the model meant literally.
  if (/%[0-9a-fA-F]{2}/.test(raw) || raw.includes('\\') || /[\u0000-\u001f\u007f]/.test(raw) || !raw.isWellFormed()) return undefined;
  const trimmed = raw.length > 1 && raw.endsWith('/') ? raw.replace(/\/+$/, '') : raw;
  if (trimmed !== MEMORY_ROOT && !trimmed.startsWith(MEMORY_ROOT + '/')) return undefined;
  const parts = trimmed.slice(MEMORY_ROOT.length + 1).split('/');
  if (trimmed !== MEMORY_ROOT && parts.some((p) => p === '' || p === '.' || p === '..')) return undefined;
  return trimmed;
}

export const pathError = (raw: unknown) =>
  `Error: The path ${typeof raw === 'string' ? raw : JSON.stringify(raw)} is not allowed: paths must stay inside ${MEMORY_ROOT} (no "..", no encoded or backslash forms)`;

function humanSize(n: number): string {
  if (n < 1024) return `${n}B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)}K`;
  return `${(n / (1024 * 1024)).toFixed(1)}M`;
}

function numbered(text: string, from = 1, to?: number): string {
  const lines = text.split('\n');
  const end = Math.min(lines.length, to ?? lines.length);
  const out: string[] = [];
  for (let i = from; i <= end; i++) out.push(`${String(i).padStart(6, ' ')}\t${lines[i - 1]}`);
  return out.join('\n');
}

/** A space's files by canonical path; directories are implied by the files under them. */
export class MemoryFiles {
  readonly files = new Map<string, string>();
  private chars = 0;

  /** Files from [path, text] pairs, in that order (a snapshot of `files`); throws on anything else. */
  static from(entries: unknown): MemoryFiles {
    if (!Array.isArray(entries)) throw new TypeError('memory files: expected [path, text] pairs');
    const out = new MemoryFiles();
    for (const e of entries) {
      if (!Array.isArray(e) || e.length !== 2 || typeof e[0] !== 'string' || typeof e[1] !== 'string') throw new TypeError('memory files: expected [path, text] pairs');
      out.chars += e[1].length - (out.files.get(e[0])?.length ?? 0);
      out.files.set(e[0], e[1]);
    }
    return out;
  }

  isDir(path: string): boolean {
    if (path === MEMORY_ROOT) return true;
    const prefix = path + '/';
    for (const p of this.files.keys()) if (p.startsWith(prefix)) return true;
    return false;
  }

  private under(path: string): string[] {
    const prefix = path + '/';
    return [...this.files.keys()].filter((p) => p.startsWith(prefix));
  }

  /** Applies a stored change (replay, or a command's own change once stored). */
  apply(c: FileChange): void {
    if (c.op === 'write') {
      this.chars += c.text.length - (this.files.get(c.path)?.length ?? 0);
      this.files.set(c.path, c.text);
    } else if (c.op === 'delete') {
      for (const p of [c.path, ...this.under(c.path)]) {
        const t = this.files.get(p);
        if (t === undefined) continue;
        this.chars -= t.length;
        this.files.delete(p);
      }
    } else {
      for (const p of [c.path, ...this.under(c.path)]) {
        const t = this.files.get(p);
        if (t === undefined) continue;
        this.files.delete(p);
        this.files.set(c.to + p.slice(c.path.length), t);
      }
    }
  }

  private fits(path: string, text: string): string | undefined {
    if (text.length > MEMORY_FILE_MAX) return `Error: The file ${path} would be larger than the limit of ${MEMORY_FILE_MAX} characters`;
    if (this.chars - (this.files.get(path)?.length ?? 0) + text.length > MEMORY_SPACE_MAX) {
      return `Error: The memory space would be larger than its limit of ${MEMORY_SPACE_MAX} characters; delete something first`;
    }
    return undefined;
  }

  /** Runs one memory-tool command against the files as they are now; nothing changes until `apply`. */
  run(input: unknown): CommandResult {
    if (typeof input !== 'object' || input === null || Array.isArray(input)) return fail('Error: the command must be a JSON object');
    const cmd = input as Record<string, unknown>;
    switch (cmd.command) {
      case 'view':
        return this.view(cmd.path ?? MEMORY_ROOT, cmd.view_range);
      case 'create':
        return this.create(cmd.path, cmd.file_text);
      case 'str_replace':
        return this.strReplace(cmd.path, cmd.old_str, cmd.new_str);
      case 'insert':
        return this.insert(cmd.path, cmd.insert_line, cmd.insert_text);
      case 'delete':
        return this.remove(cmd.path);
      case 'rename':
        return this.rename(cmd.old_path, cmd.new_path);
      default:
        return fail(`Error: Unknown command ${JSON.stringify(cmd.command)}. Allowed commands: view, create, str_replace, insert, delete, rename`);
    }
  }

  private view(raw: unknown, range: unknown): CommandResult {
    const path = memoryPath(raw);
    if (path === undefined) return fail(pathError(raw));
    const text = this.files.get(path);
    if (text !== undefined) {
      const lines = text.split('\n');
      if (lines.length > LINE_LIMIT) return fail(`File ${path} exceeds maximum line limit of 999,999 lines.`);
      let from = 1;
      let to = lines.length;
      if (range !== undefined) {
        if (!Array.isArray(range) || range.length !== 2 || !range.every((x) => Number.isInteger(x))) return fail('Error: view_range must be two line numbers [start, end]');
        from = range[0] as number;
        to = range[1] === -1 ? lines.length : (range[1] as number);
        if (from < 1 || from > lines.length || to < from || to > lines.length) {
          return fail(`Error: Invalid \`view_range\` parameter: [${range.join(', ')}]. It should be within the range of lines of the file: [1, ${lines.length}]`);
        }
      }
      return { result: `Here's the content of ${path} with line numbers:\n${numbered(text, from, to)}`, isError: false };
    }
    if (!this.isDir(path)) return fail(`The path ${path} does not exist. Please provide a valid path.`);
    if (range !== undefined) return fail('Error: The `view_range` parameter is not allowed when `path` points to a directory.');
    // Up to 2 levels below `path`, hidden entries (a segment starting with ".") and node_modules left out.
    const sizes = new Map<string, number>([[path, 0]]);
    for (const [p, t] of this.files) {
      if (!p.startsWith(path + '/')) continue;
      const rel = p.slice(path.length + 1).split('/');
      if (rel.some((s) => s.startsWith('.') || s === 'node_modules')) continue;
      sizes.set(path, sizes.get(path)! + t.length);
      for (let depth = 1; depth <= Math.min(2, rel.length); depth++) {
        const entry = `${path}/${rel.slice(0, depth).join('/')}`;
        sizes.set(entry, (sizes.get(entry) ?? 0) + t.length);
      }
    }
    const lines = [...sizes].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([p, n]) => `${humanSize(n)}\t${p}`);
    return { result: `Here're the files and directories up to 2 levels deep in ${path}, excluding hidden items and node_modules:\n${lines.join('\n')}`, isError: false };
  }

  private create(raw: unknown, fileText: unknown): CommandResult {
    const path = memoryPath(raw);
    if (path === undefined || path === MEMORY_ROOT) return fail(pathError(raw));
    if (typeof fileText !== 'string') return fail('Error: create needs file_text (a string)');
    if (this.files.has(path) || this.isDir(path)) return fail(`Error: File ${path} already exists`);
    const tooBig = this.fits(path, fileText);
    if (tooBig !== undefined) return fail(tooBig);
    return { result: `File created successfully at: ${path}`, isError: false, change: { op: 'write', path, text: fileText } };
  }

  private strReplace(raw: unknown, oldStr: unknown, newStr: unknown): CommandResult {
    const path = memoryPath(raw);
    if (path === undefined) return fail(pathError(raw));
    const text = this.files.get(path);
    if (text === undefined) return fail(`Error: The path ${path} does not exist. Please provide a valid path.`);
    if (typeof oldStr !== 'string' || (newStr !== undefined && typeof newStr !== 'string')) return fail('Error: str_replace needs old_str and new_str (strings)');
    const replacement = (newStr as string | undefined) ?? '';
    const first = oldStr === '' ? -1 : text.indexOf(oldStr);
    if (first === -1) return fail(`No replacement was performed, old_str \`${oldStr}\` did not appear verbatim in ${path}.`);
    if (text.indexOf(oldStr, first + 1) !== -1) {
      const lines: number[] = [];
      for (let at = text.indexOf(oldStr); at !== -1; at = text.indexOf(oldStr, at + 1)) {
        const line = text.slice(0, at).split('\n').length;
        if (lines[lines.length - 1] !== line) lines.push(line);
      }
      return fail(`No replacement was performed. Multiple occurrences of old_str \`${oldStr}\` in lines: ${lines.join(', ')}. Please ensure it is unique`);
    }
    const next = text.slice(0, first) + replacement + text.slice(first + oldStr.length);
    const tooBig = this.fits(path, next);
    if (tooBig !== undefined) return fail(tooBig);
    // The snippet: a few lines around the edit, numbered as in the file.
    const line = text.slice(0, first).split('\n').length;
    const last = line + replacement.split('\n').length - 1;
    const snippet = numbered(next, Math.max(1, line - 4), Math.min(next.split('\n').length, last + 4));
    return { result: `The memory file has been edited.\n${snippet}`, isError: false, change: { op: 'write', path, text: next } };
  }

  private insert(raw: unknown, at: unknown, insertText: unknown): CommandResult {
    const path = memoryPath(raw);
    if (path === undefined) return fail(pathError(raw));
    const text = this.files.get(path);
    if (text === undefined) return fail(`Error: The path ${path} does not exist`);
    if (typeof insertText !== 'string') return fail('Error: insert needs insert_text (a string)');
    const lines = text.split('\n');
    if (!Number.isInteger(at) || (at as number) < 0 || (at as number) > lines.length) {
      return fail(`Error: Invalid \`insert_line\` parameter: ${String(at)}. It should be within the range of lines of the file: [0, ${lines.length}]`);
    }
    const added = insertText.endsWith('\n') ? insertText.slice(0, -1).split('\n') : insertText.split('\n');
    lines.splice(at as number, 0, ...added);
    const next = lines.join('\n');
    const tooBig = this.fits(path, next);
    if (tooBig !== undefined) return fail(tooBig);
    return { result: `The file ${path} has been edited.`, isError: false, change: { op: 'write', path, text: next } };
  }

  private remove(raw: unknown): CommandResult {
    const path = memoryPath(raw);
    if (path === undefined) return fail(pathError(raw));
    if (path === MEMORY_ROOT) return fail(`Error: ${MEMORY_ROOT} itself cannot be deleted`);
    if (!this.files.has(path) && !this.isDir(path)) return fail(`Error: The path ${path} does not exist`);
    return { result: `Successfully deleted ${path}`, isError: false, change: { op: 'delete', path } };
  }

  private rename(rawOld: unknown, rawNew: unknown): CommandResult {
    const from = memoryPath(rawOld);
    if (from === undefined || from === MEMORY_ROOT) return fail(pathError(rawOld));
    const to = memoryPath(rawNew);
    if (to === undefined || to === MEMORY_ROOT) return fail(pathError(rawNew));
    if (!this.files.has(from) && !this.isDir(from)) return fail(`Error: The path ${from} does not exist`);
    if (this.files.has(to) || this.isDir(to)) return fail(`Error: The destination ${to} already exists`);
    if (to.startsWith(from + '/')) return fail(`Error: ${from} cannot be moved into itself (${to})`);
    return { result: `Successfully renamed ${from} to ${to}`, isError: false, change: { op: 'rename', path: from, to } };
  }
}
