/**
 * The Engram dashboard: one page, hash routes (#/contexts/ID, #/locks, #/approvals, #/search, #/memory/SPACE,
 * #/clients), one live WebSocket shared by every view. Served by the server itself at / (no CDN;
 * everything ships in the package).
 */
import { setToken, token } from './api.js';
import { h, replace } from './dom.js';
import { metricsStrip } from './metrics.js';
import { LiveStream } from './stream.js';
import { noticeArea, type Ui, type View } from './ui.js';
import { approvalsView } from './views/approvals.js';
import { clientsView } from './views/clients.js';
import { contextsView, unitView } from './views/contexts.js';
import { locksView } from './views/locks.js';
import { memoryView } from './views/memory.js';
import { searchView } from './views/search.js';

const VIEWS: Record<string, View> = {
  contexts: contextsView,
  unit: unitView,
  locks: locksView,
  approvals: approvalsView,
  search: searchView,
  memory: memoryView,
  clients: clientsView,
};
const NAV: Array<[string, string]> = [
  ['contexts', 'Contexts'],
  ['locks', 'Locks'],
  ['approvals', 'Approvals'],
  ['search', 'Search'],
  ['memory', 'Memory'],
  ['clients', 'Clients'],
];

const stream = new LiveStream();
const notices = noticeArea();
const ui: Ui = { stream, fail: notices.fail, note: notices.note, go: (hash) => (location.hash = hash) };

const status = h('span', { class: 'stream-status', 'data-status': stream.status }, 'connecting');
stream.onStatus((s, detail) => {
  status.dataset.status = s;
  status.textContent = s === 'live' ? 'live' : s === 'reconnecting' ? 'reconnecting…' : s;
  if (detail) notices.fail(new Error(detail));
});

const tokenInput = h('input', { type: 'password', placeholder: 'API key or token', 'aria-label': 'API key or token', autocomplete: 'off', value: token() });
const tokenForm = h(
  'form',
  {
    class: 'token',
    onsubmit: (e: Event) => {
      e.preventDefault();
      setToken(tokenInput.value.trim());
      stream.restart();
      notices.note(tokenInput.value.trim() ? 'token saved in this browser' : 'token cleared');
      render();
    },
  },
  tokenInput,
  h('button', { type: 'submit' }, 'Use'),
);

const nav = h('nav', { class: 'top', 'aria-label': 'views' }, ...NAV.map(([id, label]) => h('a', { href: `#/${id}`, 'data-view': id }, label)));
const metrics = metricsStrip();
const main = h('main', { id: 'main', tabindex: -1 });
document.body.append(
  h('a', { class: 'skip', href: '#main', onclick: (e: Event) => (e.preventDefault(), main.focus()) }, 'Skip to content'),
  h('header', {}, h('div', { class: 'brand' }, h('strong', {}, 'Engram'), status), nav, tokenForm),
  metrics.el,
  notices.el,
  main,
);

let stop = () => undefined as void;
function render(): void {
  stop();
  const raw = location.hash.replace(/^#\/?/, '');
  const [pathPart = '', query = ''] = raw.split('?', 2);
  const [name = 'contexts', ...path] = pathPart.split('/').filter((x) => x !== '');
  const view = VIEWS[name] ?? contextsView;
  for (const a of Array.from(nav.querySelectorAll('a'))) a.setAttribute('aria-current', a.dataset.view === (name === 'unit' ? 'contexts' : name) ? 'page' : 'false');
  replace(main);
  stop = view(main, ui, new URLSearchParams(query), path);
}
window.addEventListener('hashchange', render);
render();

// For people (and end-to-end tests) poking at a live page from the console.
(window as unknown as { engram: unknown }).engram = { stream };
