/** Locks: every held lock with its holder, token and a live countdown; events as they happen. */
import { api, type Lock } from '../api.js';
import { h, replace } from '../dom.js';
import type { LockEvent } from '../stream.js';
import { table, type View } from '../ui.js';

export const locksView: View = (root, ui) => {
  const held = new Map<string, Lock>();
  const body = h('div', { class: 'locks', 'aria-live': 'polite' });
  const events = h('ol', { class: 'events', 'aria-label': 'lock events', reversed: true });
  replace(root, h('section', { class: 'main wide' }, h('h2', {}, 'Locks'), body, h('h3', {}, 'Events'), events));

  const draw = () => {
    const now = Date.now();
    const rows = [...held.values()]
      .sort((a, b) => (a.resource < b.resource ? -1 : 1))
      .map((l) => {
        const left = Math.max(0, Date.parse(l.expiresAt) - now);
        return [
          h('code', { class: 'resource' }, l.resource),
          l.agentId,
          l.token === undefined ? '(hidden: another member holds it)' : String(l.token),
          h('span', { class: left < 5000 ? 'countdown soon' : 'countdown', 'data-resource': l.resource }, `${(left / 1000).toFixed(1)} s`),
          l.contextId ?? '',
        ];
      });
    replace(body, table(['resource', 'holder', 'token', 'expires in', 'context'], rows, 'No locks are held.'));
  };
  // Events that arrive while a read of the locks is in flight are applied again on top of its answer: the
  // answer may predate them (a lock acquired just after the read was served must not vanish from the table).
  const inFlight = new Set<LockEvent[]>();
  const apply = (e: LockEvent) => {
    if (e.action === 'snapshot') {
      held.clear();
      for (const l of e.locks ?? []) held.set(l.resource, l);
    } else if (e.lock !== undefined) {
      if (e.action === 'acquired' || e.action === 'renewed') held.set(e.lock.resource, e.lock);
      else held.delete(e.lock.resource);
    }
  };
  const load = async () => {
    const since: LockEvent[] = [];
    inFlight.add(since);
    body.setAttribute('aria-busy', 'true');
    try {
      const page = await api<{ locks: Lock[] }>('GET', '/locks?limit=1000');
      held.clear();
      for (const l of page.locks) held.set(l.resource, l);
      for (const e of since) apply(e);
      draw();
    } catch (err) {
      ui.fail(err);
    } finally {
      inFlight.delete(since);
      body.setAttribute('aria-busy', String(inFlight.size > 0));
    }
  };
  const onEvent = (e: LockEvent) => {
    for (const since of inFlight) since.push(e);
    apply(e);
    if (e.action !== 'snapshot' && e.lock !== undefined) {
      events.prepend(
        h(
          'li',
          { class: `event ${e.action}` },
          h('time', {}, new Date().toLocaleTimeString()),
          ' ',
          h('strong', {}, e.action),
          ' ',
          h('code', {}, e.lock.resource),
          ` by ${e.lock.agentId}`,
          e.lock.token === undefined ? '' : ` (token ${e.lock.token})`,
        ),
      );
      while (events.children.length > 100) events.lastElementChild?.remove();
    }
    draw();
  };
  const stopLocks = ui.stream.subscribeLocks(onEvent);
  // Events missed while the stream was down: read the locks again when it is back.
  const stopStatus = ui.stream.onStatus((s) => s === 'live' && void load());
  void load();
  const tick = window.setInterval(draw, 250);
  return () => {
    stopLocks();
    stopStatus();
    window.clearInterval(tick);
  };
};
