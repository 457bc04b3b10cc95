/**
 * Approvals: every pending approval request of the client (all its contexts), live, with Approve
 * and Deny. The list is a long poll of GET /approvals that the server answers as soon as an
 * approval is asked, decided or dropped (its `version` changed), so a request shows up, and a
 * decision taken elsewhere takes its row away, without polling on a clock.
 */
import { api, enc, type Approval, type ApprovalPage } from '../api.js';
import { h, replace } from '../dom.js';
import { field, setBusy, table, type View } from '../ui.js';

const DECIDER_KEY = 'engram.decider';

export const approvalsView: View = (root, ui) => {
  let pending: Approval[] = [];
  let stopped = false;
  const inFlight = new AbortController();
  const body = h('div', { class: 'approvals', 'aria-live': 'polite' });
  const decider = h('input', { name: 'by', value: localStorage.getItem(DECIDER_KEY) ?? 'human', 'aria-label': 'deciding as', autocomplete: 'off' });
  decider.addEventListener('change', () => localStorage.setItem(DECIDER_KEY, decider.value.trim()));
  const reason = h('input', { name: 'reason', placeholder: 'optional', autocomplete: 'off' });
  replace(
    root,
    h(
      'section',
      { class: 'main wide' },
      h('h2', {}, 'Approvals'),
      h('p', { class: 'hint' }, 'Agents wait on these. An approval is only acted on while the agent still holds the lock it asked under.'),
      h('div', { class: 'approval-form' }, field('Deciding as', decider), field('Reason', reason)),
      body,
    ),
  );

  const decide = async (a: Approval, decision: 'approve' | 'deny', button: HTMLButtonElement) => {
    setBusy(button, true);
    try {
      const by = decider.value.trim() || 'human';
      const r = reason.value.trim();
      await api('POST', `/contexts/${enc(a.contextId)}/approvals/${enc(a.requestId)}/decision`, { decision, by, ...(r === '' ? {} : { reason: r }) });
      ui.note(`${decision === 'approve' ? 'approved' : 'denied'}: ${a.agentId} in ${a.contextId}`);
      pending = pending.filter((x) => x.requestId !== a.requestId);
      draw();
    } catch (err) {
      ui.fail(err);
      setBusy(button, false);
    }
  };

  const draw = () => {
    const now = Date.now();
    const rows = pending.map((a) => {
      const left = Date.parse(a.expiresAt) - now;
      const approve = h('button', { type: 'button', class: 'approve', 'data-request': a.requestId, disabled: left <= 0 }, 'Approve');
      const deny = h('button', { type: 'button', class: 'danger deny', 'data-request': a.requestId, disabled: left <= 0 }, 'Deny');
      approve.addEventListener('click', () => void decide(a, 'approve', approve));
      deny.addEventListener('click', () => void decide(a, 'deny', deny));
      return [
        h('a', { href: `#/contexts/${enc(a.contextId)}` }, a.contextId),
        a.agentId,
        h('pre', { class: 'action' }, JSON.stringify(a.action, null, 1)),
        h('code', {}, `${a.lock.resource} #${a.lock.token}`),
        h(
          'span',
          { class: left < 60_000 ? 'countdown soon' : 'countdown' },
          left <= 0 ? 'expired' : left < 120_000 ? `${Math.ceil(left / 1000)} s` : `${Math.ceil(left / 60_000)} min`,
        ),
        h('span', { class: 'decide', 'data-request': a.requestId }, approve, ' ', deny),
      ];
    });
    replace(body, table(['context', 'agent', 'action', 'lock', 'expires in', ''], rows, 'No approvals are pending.'));
  };

  const loop = async () => {
    let version: string | undefined;
    while (!stopped) {
      try {
        const q = version === undefined ? '' : `&since=${enc(version)}&wait=25`;
        const page = await api<ApprovalPage>('GET', `/approvals?status=pending&limit=1000${q}`, undefined, inFlight.signal);
        if (stopped) return;
        version = page.version;
        pending = page.approvals;
        body.setAttribute('aria-busy', 'false');
        draw();
      } catch (err) {
        if (stopped) return;
        ui.fail(err);
        version = undefined;
        await new Promise((r) => setTimeout(r, 2000));
      }
    }
  };
  body.setAttribute('aria-busy', 'true');
  void loop();
  const tick = window.setInterval(draw, 1000);
  return () => {
    stopped = true;
    inFlight.abort();
    window.clearInterval(tick);
  };
};
