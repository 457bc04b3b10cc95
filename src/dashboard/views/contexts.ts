/**
 * Contexts: the list with activity, and one context's timeline, live. The timeline loads the
 * last 100 units, then follows the context from the last one shown (gap-free across
 * reconnects, see stream.ts). Relationships link to their target unit; the post box writes a
 * unit as the chosen agent.
 */
import { api, enc, type Context, type PresenceMember, type WorkUnit } from '../api.js';
import type { PresenceEvent } from '../stream.js';
import { ago, h, replace } from '../dom.js';
import { field, payloadView, setBusy, type View } from '../ui.js';

const TYPES = ['MESSAGE', 'REASONING', 'TOOL_CALL', 'TOOL_RESULT', 'FILE_CHANGE', 'TASK_STATUS', 'ERROR', 'SYSTEM', 'SUMMARY', 'APPROVAL_REQUEST', 'APPROVAL_DECISION'];

export const contextsView: View = (root, ui, params, path) => {
  const selected = path[0] === undefined ? undefined : decodeURIComponent(path[0]);
  const list = h('ul', { class: 'context-list', 'aria-label': 'contexts' });
  const filter = h('input', { type: 'search', placeholder: 'filter by prefix', 'aria-label': 'filter contexts by prefix', value: params.get('prefix') ?? '' });
  const side = h('nav', { class: 'side' }, h('h2', {}, 'Contexts'), filter, list);
  const main = h('section', { class: 'main', 'aria-label': 'timeline' });
  replace(root, h('div', { class: 'split' }, side, main));

  let contexts: Context[] = [];
  const drawList = () => {
    replace(
      list,
      ...contexts.map((c) =>
        h(
          'li',
          { class: c.id === selected ? 'active' : '' },
          h(
            'a',
            { href: `#/contexts/${enc(c.id)}`, 'data-context': c.id },
            h('span', { class: 'cid' }, c.displayName || c.id),
            h('span', { class: 'meta' }, `${plural(c.headSeq, 'unit')} · ${ago(c.updatedAt)} · ${plural(c.agentIds.length, 'agent')}`),
          ),
        ),
      ),
    );
    if (contexts.length === 0) list.append(h('li', { class: 'empty' }, 'No contexts yet: post a unit to create one.'));
  };
  const loadList = async () => {
    try {
      const prefix = filter.value.trim();
      const page = await api<{ contexts: Context[] }>('GET', `/contexts?limit=200${prefix ? `&prefix=${enc(prefix)}` : ''}`);
      contexts = page.contexts.sort((a, b) => (a.updatedAt < b.updatedAt ? 1 : -1));
      drawList();
    } catch (err) {
      ui.fail(err);
    }
  };
  filter.addEventListener('input', () => void loadList());
  void loadList();
  // Activity changes with every write anywhere; the list is refreshed every few seconds.
  const poll = window.setInterval(() => void loadList(), 3000);
  let stop = () => undefined as void;

  if (selected === undefined) {
    replace(main, h('p', { class: 'empty' }, 'Choose a context, or open one by id: '), openBox(ui), postBox(ui, undefined));
  } else {
    stop = timeline(main, ui, selected, params.get('unit') ?? undefined);
  }
  return () => {
    window.clearInterval(poll);
    stop();
  };
};

const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;

function openBox(ui: { go(hash: string): void }): HTMLElement {
  const input = h('input', { type: 'text', placeholder: 'context id', 'aria-label': 'context id to open' });
  return h(
    'form',
    { class: 'row', onsubmit: (e: Event) => (e.preventDefault(), input.value.trim() && ui.go(`#/contexts/${enc(input.value.trim())}`)) },
    input,
    h('button', { type: 'submit' }, 'Open'),
  );
}

function timeline(main: HTMLElement, ui: Parameters<View>[1], contextId: string, focusUnit: string | undefined): () => void {
  const items = h('ol', { class: 'timeline', 'aria-label': `units of ${contextId}`, 'aria-live': 'polite' });
  const head = h('div', { class: 'meta' });
  const here = presenceList(contextId);
  replace(main, h('h2', {}, contextId), here.element, head, items, postBox(ui, contextId));
  const shown = new Set<number>();
  const add = (u: WorkUnit) => {
    if (shown.has(u.seq)) return;
    shown.add(u.seq);
    const li = h(
      'li',
      { id: `unit-${u.id}`, 'data-seq': u.seq, class: `unit type-${u.type.toLowerCase()}` },
      h(
        'div',
        { class: 'unit-head' },
        h('span', { class: 'seq' }, `#${u.seq}`),
        h('span', { class: 'badge' }, u.type),
        h('span', { class: 'agent' }, u.agentId),
        h('time', { datetime: u.ts, title: u.ts }, new Date(u.ts).toLocaleTimeString()),
      ),
      payloadView(u.payload),
      u.relationships.length > 0
        ? h('div', { class: 'rels' }, ...u.relationships.map((r) => h('a', { href: `#/unit/${enc(r.targetId)}`, class: 'rel' }, `${r.type} → ${r.targetId.slice(-8)}`)))
        : null,
      Object.keys(u.meta).length > 0
        ? h(
            'div',
            { class: 'meta' },
            Object.entries(u.meta)
              .map(([k, v]) => `${k}: ${v}`)
              .join(' · '),
          )
        : null,
    );
    // Units arrive in seq order; the first page may come after live ones only on a race, so place by seq.
    let before: Element | null = null;
    for (const el of Array.from(items.children))
      if (Number((el as HTMLElement).dataset.seq) > u.seq) {
        before = el;
        break;
      }
    items.insertBefore(li, before);
    head.textContent = `${plural(shown.size, 'unit')} shown · head #${Math.max(...shown)}`;
    if (focusUnit === u.id) {
      li.classList.add('focus');
      li.scrollIntoView({ block: 'center' });
    }
  };
  let unsubscribe = () => undefined as void;
  let stopped = false;
  (async () => {
    try {
      const page = await api<{ workUnits: WorkUnit[] }>('GET', `/workunits/${enc(contextId)}?limit=100&reverse=true`);
      if (stopped) return;
      const units = page.workUnits.reverse();
      units.forEach(add);
      const last = units.length === 0 ? 0 : units[units.length - 1]!.seq;
      unsubscribe = ui.stream.subscribe(contextId, last, add, undefined, here.update);
    } catch (err) {
      if ((err as { code?: string }).code === 'CONTEXT_NOT_FOUND') {
        head.textContent = 'No units yet; waiting for the first.';
        unsubscribe = ui.stream.subscribe(contextId, 0, add, undefined, here.update);
      } else ui.fail(err);
    }
  })();
  return () => {
    stopped = true;
    unsubscribe();
  };
}

/**
 * Who is in the context now, kept by the stream's presence events: a snapshot after every
 * (re)subscribe, then each join and leave (the page itself is there, as agent "dashboard").
 */
function presenceList(contextId: string): { element: HTMLElement; update: (e: PresenceEvent) => void } {
  const members = new Map<string, PresenceMember>();
  const key = (m: PresenceMember) => `${m.clientId}\u0000${m.agentId ?? ''}`;
  const list = h('ul', { class: 'presence', 'aria-label': `who is in ${contextId}` });
  const element = h('div', { class: 'presence-box' }, h('span', { class: 'meta' }, 'Here now: '), list);
  const draw = () => {
    const sorted = [...members.values()].sort((a, b) => (key(a) < key(b) ? -1 : 1));
    replace(
      list,
      ...sorted.map((m) =>
        h(
          'li',
          { 'data-client': m.clientId, 'data-agent': m.agentId ?? '', title: `since ${new Date(m.since).toLocaleTimeString()}` },
          h('span', { class: 'agent' }, m.agentId ?? '(no agent)'),
          h('span', { class: 'meta' }, ` ${m.clientId}`),
        ),
      ),
    );
  };
  const update = (e: PresenceEvent) => {
    if (e.action === 'snapshot') {
      members.clear();
      for (const m of e.members ?? []) members.set(key(m), m);
    } else if (e.member !== undefined) {
      if (e.action === 'join') members.set(key(e.member), e.member);
      else members.delete(key(e.member));
    }
    draw();
  };
  return { element, update };
}

function postBox(ui: Parameters<View>[1], contextId: string | undefined): HTMLElement {
  const ctx = h('input', { type: 'text', name: 'contextId', required: true, value: contextId ?? '', 'aria-label': 'context' });
  const agent = h('input', { type: 'text', name: 'agentId', required: true, value: localStorage.getItem('engram.agent') ?? 'dashboard' });
  const type = h('select', { name: 'type' }, ...TYPES.map((t) => h('option', { value: t }, t)));
  const text = h('textarea', { name: 'text', rows: 3, required: true, placeholder: 'text, or JSON for a structured payload' });
  const button = h('button', { type: 'submit' }, 'Post');
  const form = h(
    'form',
    {
      class: 'post',
      'aria-label': 'post a unit',
      onsubmit: async (e: Event) => {
        e.preventDefault();
        localStorage.setItem('engram.agent', agent.value);
        let payload: unknown = { text: text.value };
        const raw = text.value.trim();
        if (raw.startsWith('{') || raw.startsWith('[')) {
          try {
            payload = JSON.parse(raw);
          } catch {
            // not JSON after all: posted as text
          }
        }
        setBusy(button, true);
        try {
          const u = await api<WorkUnit>('POST', '/workunit', { contextId: ctx.value.trim(), agentId: agent.value.trim(), type: type.value, payload });
          text.value = '';
          ui.note(`posted #${u.seq} to ${u.contextId}`);
          if (contextId === undefined) ui.go(`#/contexts/${enc(u.contextId)}`);
        } catch (err) {
          ui.fail(err);
        } finally {
          setBusy(button, false);
        }
      },
    },
    h('h3', {}, 'Post a unit'),
    h('div', { class: 'row' }, contextId === undefined ? field('Context', ctx) : null, field('Agent', agent), field('Type', type)),
    field('Payload', text),
    button,
  );
  return form;
}

/** #/unit/ID: finds the unit and opens its context at it. */
export const unitView: View = (root, ui, _params, path) => {
  const id = decodeURIComponent(path[0] ?? '');
  replace(root, h('p', {}, `Opening unit ${id}…`));
  api<WorkUnit>('GET', `/workunit/${enc(id)}`).then(
    (u) => ui.go(`#/contexts/${enc(u.contextId)}?unit=${enc(u.id)}`),
    (err) => ui.fail(err),
  );
  return () => undefined;
};
