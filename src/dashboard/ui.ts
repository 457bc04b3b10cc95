/** What every view shares: the live stream, the notice area, navigation. */
import { ApiError } from './api.js';
import { h, replace } from './dom.js';
import type { LiveStream } from './stream.js';

export interface Ui {
  stream: LiveStream;
  /** Shows an error (or any failure) where the user will see it, with its stable code. */
  fail(err: unknown): void;
  /** Shows a short confirmation. */
  note(text: string): void;
  go(hash: string): void;
}

/** A view renders into its element and returns what stops it (streams, timers). */
export type View = (root: HTMLElement, ui: Ui, params: URLSearchParams, path: string[]) => () => void;

export function noticeArea(): { el: HTMLElement; fail: (err: unknown) => void; note: (t: string) => void } {
  const el = h('div', { class: 'notices', role: 'status', 'aria-live': 'polite' });
  const show = (cls: string, text: string) => {
    const n = h(
      'div',
      { class: `notice ${cls}`, role: cls === 'error' ? 'alert' : undefined },
      text,
      ' ',
      h('button', { class: 'link', 'aria-label': 'dismiss', onclick: () => n.remove() }, '×'),
    );
    el.append(n);
    if (cls !== 'error') setTimeout(() => n.remove(), 4000);
    while (el.children.length > 4) el.firstElementChild?.remove();
  };
  return {
    el,
    fail: (err) => show('error', err instanceof ApiError ? `${err.code}: ${err.message}` : err instanceof Error ? err.message : String(err)),
    note: (t) => show('ok', t),
  };
}

/** Renders a payload readably: its text when it has one, else indented JSON. */
export function payloadView(p: unknown): HTMLElement {
  if (typeof p === 'string') return h('div', { class: 'payload text' }, p);
  if (p !== null && typeof p === 'object' && typeof (p as { text?: unknown }).text === 'string') {
    const { text, ...rest } = p as { text: string } & Record<string, unknown>;
    return h('div', { class: 'payload' }, h('div', { class: 'text' }, text), Object.keys(rest).length > 0 ? h('pre', {}, JSON.stringify(rest, null, 2)) : null);
  }
  return h('pre', { class: 'payload' }, JSON.stringify(p, null, 2));
}

export function table(head: string[], rows: Array<Array<Node | string | number>>, empty: string): HTMLElement {
  if (rows.length === 0) return h('p', { class: 'empty' }, empty);
  const t = h('table', {}, h('thead', {}, h('tr', {}, ...head.map((x) => h('th', { scope: 'col' }, x)))));
  const body = h('tbody');
  for (const r of rows) body.append(h('tr', {}, ...r.map((c) => h('td', {}, c))));
  t.append(body);
  return t;
}

export function field(label: string, input: HTMLElement): HTMLElement {
  return h('label', { class: 'field' }, h('span', {}, label), input);
}

export function setBusy(button: HTMLButtonElement, busy: boolean): void {
  button.disabled = busy;
  button.setAttribute('aria-busy', String(busy));
}

export { replace };
