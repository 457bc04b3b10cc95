/** Clients (multi-client servers): each client with data or in-memory state, and its activity. */
import { api, enc } from '../api.js';
import { h, replace } from '../dom.js';
import { table, type View } from '../ui.js';

interface Status {
  clientId: string;
  lastActivity: number | null;
  connections: number;
  subscriptions: number;
}

export const clientsView: View = (root, ui) => {
  const body = h('div', { class: 'clients' });
  replace(root, h('section', { class: 'main wide' }, h('h2', {}, 'Clients'), h('p', { class: 'meta' }, 'Needs the admin scope when auth is on.'), body));
  const load = async () => {
    try {
      const r = await api<{ clients: Array<{ clientId: string; active: boolean }> }>('GET', '/clients/list?limit=100');
      const statuses = await Promise.all(r.clients.map((c) => api<Status>('GET', `/clients/status/${enc(c.clientId)}`).catch(() => undefined)));
      replace(
        body,
        table(
          ['client', 'active', 'last activity', 'connections', 'subscriptions'],
          r.clients.map((c, i) => {
            const s = statuses[i];
            return [
              h('code', {}, c.clientId),
              c.active ? 'yes' : 'no',
              s?.lastActivity ? new Date(s.lastActivity).toLocaleTimeString() : '—',
              String(s?.connections ?? '—'),
              String(s?.subscriptions ?? '—'),
            ];
          }),
          'No clients yet.',
        ),
      );
    } catch (err) {
      replace(body, h('p', { class: 'empty' }, 'Not available to these credentials.'));
      ui.fail(err);
    }
  };
  void load();
  const poll = window.setInterval(() => void load(), 5000);
  return () => window.clearInterval(poll);
};
