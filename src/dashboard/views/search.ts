/** Search: a query with mode and filters; results with scores, each a link to the unit in its context. */
import { api, enc, type WorkUnit } from '../api.js';
import { h, replace } from '../dom.js';
import { field, payloadView, setBusy, type View } from '../ui.js';

interface Hit {
  workUnit: WorkUnit;
  score: number;
  keywordScore: number | null;
  vectorScore: number | null;
}

const TYPES = ['MESSAGE', 'REASONING', 'TOOL_CALL', 'TOOL_RESULT', 'FILE_CHANGE', 'TASK_STATUS', 'ERROR', 'SYSTEM', 'SUMMARY', 'APPROVAL_REQUEST', 'APPROVAL_DECISION'];

export const searchView: View = (root, ui, params) => {
  const query = h('input', {
    type: 'search',
    name: 'query',
    required: true,
    value: params.get('q') ?? '',
    placeholder: 'what did we decide about retries?',
    'aria-label': 'search query',
  });
  const mode = h('select', { name: 'mode' }, ...['hybrid', 'keyword', 'vector'].map((m) => h('option', { value: m }, m)));
  const context = h('input', { type: 'text', name: 'contextId', placeholder: 'any' });
  const agent = h('input', { type: 'text', name: 'agentId', placeholder: 'any' });
  const type = h('select', { name: 'type' }, h('option', { value: '' }, 'any'), ...TYPES.map((t) => h('option', { value: t }, t)));
  const button = h('button', { type: 'submit' }, 'Search');
  const results = h('ol', { class: 'results', 'aria-label': 'search results', 'aria-live': 'polite' });
  const summary = h('p', { class: 'meta' });
  const run = async () => {
    const q = query.value.trim();
    if (q === '') return;
    setBusy(button, true);
    try {
      const body: Record<string, unknown> = { query: q, mode: mode.value, limit: 25 };
      if (context.value.trim()) body.contextId = context.value.trim();
      if (agent.value.trim()) body.agentIds = [agent.value.trim()];
      if (type.value) body.types = [type.value];
      const r = await api<{ results: Hit[]; total: number; totalRelation: string }>('POST', '/search', body);
      summary.textContent = `${r.results.length} shown of ${r.totalRelation === 'gte' ? 'at least ' : ''}${r.total}`;
      replace(
        results,
        ...r.results.map((x) =>
          h(
            'li',
            { class: 'hit' },
            h(
              'div',
              { class: 'unit-head' },
              h('span', { class: 'score', title: `keyword ${x.keywordScore ?? '–'}, vector ${x.vectorScore ?? '–'}` }, x.score.toFixed(3)),
              h('a', { href: `#/contexts/${enc(x.workUnit.contextId)}?unit=${enc(x.workUnit.id)}`, class: 'open-unit' }, `${x.workUnit.contextId} #${x.workUnit.seq}`),
              h('span', { class: 'badge' }, x.workUnit.type),
              h('span', { class: 'agent' }, x.workUnit.agentId),
            ),
            payloadView(x.workUnit.payload),
          ),
        ),
      );
      if (r.results.length === 0) results.append(h('li', { class: 'empty' }, 'Nothing found.'));
    } catch (err) {
      ui.fail(err);
    } finally {
      setBusy(button, false);
    }
  };
  const form = h(
    'form',
    { class: 'search', role: 'search', onsubmit: (e: Event) => (e.preventDefault(), void run()) },
    h('div', { class: 'row' }, field('Query', query), button),
    h('div', { class: 'row' }, field('Mode', mode), field('Context', context), field('Agent', agent), field('Type', type)),
  );
  replace(root, h('section', { class: 'main wide' }, h('h2', {}, 'Search'), form, summary, results));
  if (query.value) void run();
  query.focus();
  return () => undefined;
};
