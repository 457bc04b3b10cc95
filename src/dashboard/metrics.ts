/**
 * The live metrics strip: writes per second, live subscriptions and fan-out p99, read from
 * /metrics (Prometheus text) every two seconds. Fan-out p99 is over the last interval, from the
 * histogram's bucket counts (an upper bound: the bucket's edge).
 */
import { api } from './api.js';
import { h, replace } from './dom.js';

type Sample = Map<string, number>;

/** name{labels} → value, for the lines of the Prometheus text format. */
export function parseMetrics(text: string): Sample {
  const out: Sample = new Map();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    out.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return out;
}

function sum(s: Sample, name: string): number {
  let total = 0;
  for (const [k, v] of s) if (k === name || k.startsWith(name + '{')) total += v;
  return total;
}

/** p99 from cumulative bucket counts of two samples' difference, or undefined without samples. */
function p99(prev: Sample, now: Sample, name: string): number | undefined {
  const buckets = new Map<number, number>();
  for (const [k, v] of now) {
    if (!k.startsWith(`${name}_bucket{`)) continue;
    const le = /le="([^"]+)"/.exec(k)?.[1];
    if (le === undefined) continue;
    const edge = le === '+Inf' ? Infinity : Number(le);
    buckets.set(edge, (buckets.get(edge) ?? 0) + v - (prev.get(k) ?? 0));
  }
  const edges = [...buckets.keys()].sort((a, b) => a - b);
  const total = buckets.get(Infinity) ?? 0;
  if (total <= 0) return undefined;
  for (const e of edges) if (buckets.get(e)! >= total * 0.99) return e;
  return undefined;
}

export function metricsStrip(): { el: HTMLElement; stop: () => void } {
  const el = h('div', { class: 'metrics', 'aria-label': 'server metrics', role: 'status' }, 'metrics…');
  let prev: { at: number; s: Sample } | undefined;
  const tick = async () => {
    try {
      const s = parseMetrics(await api<string>('GET', '/metrics'));
      const at = performance.now();
      const writes = sum(s, 'engram_units_written_total');
      const subs = sum(s, 'engram_subscriptions');
      let rate = '—';
      let fan = '—';
      if (prev !== undefined) {
        rate = ((writes - sum(prev.s, 'engram_units_written_total')) / ((at - prev.at) / 1000)).toFixed(1);
        const p = p99(prev.s, s, 'engram_fanout_duration_seconds');
        if (p !== undefined) fan = p === Infinity ? '> last bucket' : `≤ ${(p * 1000).toFixed(p < 0.001 ? 2 : 1)} ms`;
      }
      prev = { at, s };
      replace(
        el,
        h('span', {}, h('strong', { 'data-metric': 'writes' }, rate), ' writes/s'),
        h('span', {}, h('strong', { 'data-metric': 'subscriptions' }, String(subs)), ' subscriptions'),
        h('span', {}, 'fan-out p99 ', h('strong', { 'data-metric': 'fanout' }, fan)),
      );
    } catch {
      replace(el, h('span', { class: 'meta' }, 'metrics need the admin scope'));
    }
  };
  void tick();
  const timer = window.setInterval(() => void tick(), 2000);
  return { el, stop: () => window.clearInterval(timer) };
}
