// Hand-drawn SVG charts of delivery statistics: stacked bars (messages by outcome) and lines
// (latency, lag). Colours come from CSS classes, so the page needs no inline style.
import { h, s, clock } from './dom.js';

const W = 600;
const H = 200;
const LEFT = 56;
const BOTTOM = 22;
const TOP = 8;

function niceMax(value) {
  if (!(value > 0)) return 1;
  const step = 10 ** Math.floor(Math.log10(value));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * step >= value) return m * step;
  return 10 * step;
}

function frame(buckets, max, unit, label, empty) {
  const plotH = H - TOP - BOTTOM;
  const y = (v) => TOP + plotH - (v / max) * plotH;
  const grid = [0, 0.5, 1].map((f) =>
    s('g', { class: 'grid' },
      s('line', { x1: LEFT, x2: W, y1: y(max * f), y2: y(max * f) }),
      s('text', { x: LEFT - 6, y: y(max * f) + 4, 'text-anchor': 'end' }, format(max * f, unit))));
  const n = buckets.length;
  const x = (i) => LEFT + ((W - LEFT) * i) / Math.max(n, 1);
  // The first and last labels stay inside the chart: anchored at their start and end.
  const ticks = n < 2 ? [] : [[0, 'start', LEFT], [Math.floor(n / 2), 'middle', x(Math.floor(n / 2))], [n - 1, 'end', W]].map(([i, anchor, at]) =>
    s('text', { class: 'tick', x: at, y: H - 4, 'text-anchor': anchor }, clock(new Date(buckets[i].start))));
  const none = empty && s('text', { class: 'none', x: LEFT + (W - LEFT) / 2, y: TOP + plotH / 2, 'text-anchor': 'middle' }, 'Nothing in this window');
  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': empty ? `${label}: nothing in this window` : label, class: 'chart' }, grid, ticks, none);
  return { svg, x, y, slot: (W - LEFT) / Math.max(n, 1) };
}

function format(v, unit) {
  if (unit === 'ms') return v >= 1000 ? `${+(v / 1000).toFixed(1)} s` : `${v < 10 ? +v.toFixed(1) : Math.round(v)} ms`;
  return `${Math.round(v * 10) / 10}`;
}

function legend(series) {
  return h('ul', { class: 'legend' }, series.map((x) => h('li', {}, s('svg', { viewBox: '0 0 10 10', class: 'swatch', 'aria-hidden': 'true' },
    s('rect', { width: 10, height: 10, class: x.cls })), x.label)));
}

/** Messages per bucket, stacked by outcome. */
export function bars(buckets, series, title) {
  const total = (b) => series.reduce((sum, x) => sum + (b[x.key] || 0), 0);
  const sums = series.map((x) => buckets.reduce((sum, b) => sum + (b[x.key] || 0), 0));
  const label = `${title}: ${series.map((x, i) => `${sums[i]} ${x.label.toLowerCase()}`).join(', ')}`;
  const { svg, x, y, slot } = frame(buckets, niceMax(Math.max(0, ...buckets.map(total))), '', label, sums.every((n) => n === 0));
  buckets.forEach((b, i) => {
    let base = 0;
    const tip = `${clock(new Date(b.start))}: ${series.map((s2) => `${b[s2.key] || 0} ${s2.label.toLowerCase()}`).join(', ')}`;
    const g = s('g', {}, s('title', {}, tip));
    for (const serie of series) {
      const v = b[serie.key] || 0;
      if (v > 0) {
        g.append(s('rect', { class: serie.cls, x: x(i) + slot * 0.1, width: Math.max(slot * 0.8, 1), y: y(base + v), height: y(base) - y(base + v) }));
      }
      base += v;
    }
    svg.append(g);
  });
  return h('figure', { class: 'chart-box' }, h('figcaption', {}, title), svg, legend(series));
}

/** Values per bucket as lines (a gap where a bucket has none). */
export function lines(buckets, series, unit, title) {
  const values = buckets.flatMap((b) => series.map((x) => b[x.key]).filter((v) => v != null));
  const max = niceMax(Math.max(0, ...values));
  const latest = series.map((x) => {
    const last = [...buckets].reverse().find((b) => b[x.key] != null);
    return `${x.label} ${last ? format(last[x.key], unit) : 'none'}`;
  });
  const { svg, x, y, slot } = frame(buckets, max, unit, `${title}, latest: ${latest.join(', ')}`, values.length === 0);
  for (const serie of series) {
    let d = '';
    let pen = false;
    buckets.forEach((b, i) => {
      const v = b[serie.key];
      if (v == null) {
        pen = false;
        return;
      }
      d += `${pen ? 'L' : 'M'}${(x(i) + slot / 2).toFixed(1)},${y(v).toFixed(1)}`;
      pen = true;
    });
    if (d) svg.append(s('path', { d, class: `line ${serie.cls}` }));
    buckets.forEach((b, i) => {
      const v = b[serie.key];
      if (v != null) svg.append(s('circle', { cx: x(i) + slot / 2, cy: y(v), r: 2.5, class: serie.cls }, s('title', {}, `${clock(new Date(b.start))}: ${serie.label} ${format(v, unit)}`)));
    });
  }
  return h('figure', { class: 'chart-box' }, h('figcaption', {}, title), svg, legend(series));
}

export const OUTCOMES = [
  { key: 'delivered', label: 'Delivered', cls: 's-ok' },
  { key: 'retried', label: 'Retried', cls: 's-warn' },
  { key: 'failed', label: 'Failed', cls: 's-bad' },
];
export const LATENCY = [
  { key: 'latencyP50Ms', label: 'p50', cls: 's-ok' },
  { key: 'latencyP99Ms', label: 'p99', cls: 's-warn' },
];
export const LAG = [{ key: 'lagP99Ms', label: 'Lag p99', cls: 's-info' }];
