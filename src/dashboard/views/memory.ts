/**
 * Shared memory: a space's files (tree, a file with line numbers, its history), created, edited
 * and deleted through the memory tool's own commands, so an edit made while an agent changed
 * the file is refused by the tool (its old text is gone) instead of overwriting the agent's
 * change. The view follows the space's memory context and redraws when anything changes.
 */
import { api, ApiError, enc, type WorkUnit } from '../api.js';
import { h, replace } from '../dom.js';
import { field, setBusy, type Ui, type View } from '../ui.js';

interface Change {
  seq: number;
  ts: string;
  agentId: string;
  command: string;
}

async function command(space: string, input: Record<string, unknown>): Promise<string> {
  const r = await api<{ result: string; isError: boolean }>('POST', `/memory/${enc(space)}/command?agentId=${enc(localStorage.getItem('engram.agent') ?? 'dashboard')}`, input);
  if (r.isError) throw new ApiError('MEMORY_TOOL_ERROR', r.result, 200);
  return r.result;
}

export const memoryView: View = (root, ui, params, path) => {
  const space = decodeURIComponent(path[0] ?? 'default');
  const current = params.get('path') ?? undefined;
  /** Set when the file open in the editor changes (by an agent) before it is saved. */
  let changedUnderEditor = false;
  const conflict = (p: string) => new Error(`${p} changed while you edited it; nothing was saved. Reload it and edit again.`);
  const spaceInput = h('input', { type: 'text', value: space, 'aria-label': 'memory space' });
  const tree = h('ul', { class: 'tree', 'aria-label': 'memory files' });
  const fileBox = h('div', { class: 'file' });
  const historyBox = h('div', { class: 'history' });
  replace(
    root,
    h(
      'div',
      { class: 'split' },
      h(
        'nav',
        { class: 'side' },
        h('h2', {}, 'Memory'),
        h(
          'form',
          { class: 'row', onsubmit: (e: Event) => (e.preventDefault(), ui.go(`#/memory/${enc(spaceInput.value.trim() || 'default')}`)) },
          field('Space', spaceInput),
          h('button', { type: 'submit' }, 'Open'),
        ),
        tree,
        newFileForm(space, ui, (p) => ui.go(`#/memory/${enc(space)}?path=${enc(p)}`)),
      ),
      h('section', { class: 'main' }, fileBox, historyBox),
    ),
  );

  const loadTree = async () => {
    try {
      const r = await api<{ files: Array<{ path: string; size: number }> }>('GET', `/memory/${enc(space)}/tree`);
      replace(
        tree,
        ...r.files.map((f) =>
          h(
            'li',
            { class: f.path === current ? 'active' : '' },
            h('a', { href: `#/memory/${enc(space)}?path=${enc(f.path)}`, 'data-path': f.path }, f.path.replace(/^\/memories\//, '')),
            h('span', { class: 'meta' }, ` ${f.size} B`),
          ),
        ),
      );
      if (r.files.length === 0) tree.append(h('li', { class: 'empty' }, 'No files in this space yet.'));
    } catch (err) {
      ui.fail(err);
    }
  };

  const loadFile = async () => {
    if (current === undefined) {
      replace(fileBox, h('p', { class: 'empty' }, 'Choose a file, or create one.'));
      replace(historyBox);
      return;
    }
    const p = current;
    try {
      const f = await api<{ path: string; text: string }>('GET', `/memory/${enc(space)}/file?path=${enc(p)}`);
      drawFile(p, f.text);
      const hist = await api<{ changes: Change[] }>('GET', `/memory/${enc(space)}/history?path=${enc(p)}`);
      replace(
        historyBox,
        h('h3', {}, 'History'),
        h(
          'ol',
          { class: 'history-list' },
          ...hist.changes.map((c) =>
            h(
              'li',
              {},
              h('span', { class: 'seq' }, `#${c.seq}`),
              ' ',
              h('strong', {}, c.command),
              ` by ${c.agentId}, `,
              h('time', { datetime: c.ts }, new Date(c.ts).toLocaleString()),
            ),
          ),
        ),
      );
    } catch (err) {
      if (err instanceof ApiError && err.code === 'NOT_FOUND') {
        replace(fileBox, h('p', { class: 'empty' }, `${p} does not exist (any more).`));
      } else ui.fail(err);
    }
  };

  const drawFile = (p: string, text: string) => {
    const lines = text.split('\n');
    const edit = h('button', { type: 'button', onclick: () => drawEditor(p, text) }, 'Edit');
    const del = h(
      'button',
      {
        type: 'button',
        class: 'danger',
        onclick: async () => {
          if (!confirm(`Delete ${p}?`)) return;
          try {
            ui.note(await command(space, { command: 'delete', path: p }));
            ui.go(`#/memory/${enc(space)}`);
          } catch (err) {
            ui.fail(err);
          }
        },
      },
      'Delete',
    );
    replace(
      fileBox,
      h('div', { class: 'row file-head' }, h('h2', {}, p), edit, del),
      h('ol', { class: 'lines', 'aria-label': `${p} with line numbers` }, ...lines.map((l) => h('li', {}, h('code', {}, l === '' ? '\u200b' : l)))),
    );
  };

  const drawEditor = (p: string, text: string) => {
    changedUnderEditor = false;
    const area = h('textarea', { rows: 16, class: 'editor', 'aria-label': `edit ${p}` });
    area.value = text;
    const save = h('button', { type: 'submit' }, 'Save');
    replace(
      fileBox,
      h(
        'form',
        {
          onsubmit: async (e: Event) => {
            e.preventDefault();
            const next = area.value;
            if (next === text) return void drawFile(p, text);
            if (changedUnderEditor) return void ui.fail(conflict(p));
            setBusy(save, true);
            try {
              // The whole old text must still be there: a change made meanwhile is never overwritten.
              const input = text === '' ? { command: 'insert', path: p, insert_line: 0, insert_text: next } : { command: 'str_replace', path: p, old_str: text, new_str: next };
              await command(space, input);
              ui.note(`saved ${p}`);
              await loadFile();
            } catch (err) {
              ui.fail(err instanceof ApiError && err.code === 'MEMORY_TOOL_ERROR' ? conflict(p) : err);
            } finally {
              setBusy(save, false);
            }
          },
        },
        h('div', { class: 'row file-head' }, h('h2', {}, `Editing ${p}`), save, h('button', { type: 'button', onclick: () => drawFile(p, text) }, 'Cancel')),
        area,
      ),
    );
    area.focus();
  };

  let stopped = false;
  let unsubscribe = () => undefined as void;
  (async () => {
    let head = 0;
    try {
      head = (await api<{ headSeq: number }>('GET', `/contexts/${enc(`memories/${space}`)}`)).headSeq;
    } catch (err) {
      if (!(err instanceof ApiError && err.code === 'CONTEXT_NOT_FOUND')) ui.fail(err);
    }
    if (stopped) return;
    unsubscribe = ui.stream.subscribe(`memories/${space}`, head, (u: WorkUnit) => {
      void loadTree();
      const touched = [u.meta.path, (u.payload as { to?: string } | null)?.to];
      if (current !== undefined && touched.some((t) => t !== undefined && (t === current || current!.startsWith(t + '/')))) {
        if (fileBox.querySelector('textarea')) changedUnderEditor = true;
        else void loadFile();
        ui.note(`${u.agentId} changed ${u.meta.path ?? 'a file'} (${u.meta.command ?? 'change'})`);
      }
    });
  })();
  void loadTree();
  void loadFile();
  return () => {
    stopped = true;
    unsubscribe();
  };
};

function newFileForm(space: string, ui: Ui, opened: (path: string) => void): HTMLElement {
  const p = h('input', { type: 'text', required: true, value: '/memories/', 'aria-label': 'new file path' });
  const text = h('textarea', { rows: 4, 'aria-label': 'new file text' });
  const button = h('button', { type: 'submit' }, 'Create');
  return h(
    'form',
    {
      class: 'new-file',
      onsubmit: async (e: Event) => {
        e.preventDefault();
        setBusy(button, true);
        try {
          ui.note(await command(space, { command: 'create', path: p.value.trim(), file_text: text.value }));
          opened(p.value.trim());
        } catch (err) {
          ui.fail(err);
        } finally {
          setBusy(button, false);
        }
      },
    },
    h('h3', {}, 'New file'),
    field('Path', p),
    field('Text', text),
    button,
  );
}
