// Overview: what is configured, what needs attention first, and how delivery went lately.
import { get, query } from './api.js';
import { h, clear, section, failure, badge } from './dom.js';
import { bars, lines, OUTCOMES, LATENCY, LAG } from './charts.js';

export async function render(main, ctx) {
  const counts = h('div', { class: 'tiles', id: 'counts' }, h('p', { class: 'muted' }, 'Loading…'));
  const attention = h('div', { id: 'attention' });
  main.append(h('h1', {}, 'Overview'), counts, section('Endpoints that need attention', attention), deliveryPanel({}));
  try {
    const o = await get('/api/v1/overview');
    clear(counts, tiles(o));
    const list = o.endpoints && Array.isArray(o.endpoints) ? o.endpoints : o.attention || [];
    clear(attention, list.length === 0
      ? h('p', { class: 'muted' }, 'Every endpoint is delivering.')
      : endpointTable(list, ctx));
  } catch (e) {
    clear(counts, failure(e));
  }
}

const LABELS = { tenants: 'Tenants', integrations: 'Integrations', connections: 'Connections', endpoints: 'Endpoints' };

/** Every count the server gives: a number, or numbers by state. */
function tiles(o) {
  const counts = o.counts || o;
  return Object.entries(counts)
    .filter(([, v]) => typeof v === 'number' || (v && typeof v === 'object' && !Array.isArray(v)))
    .map(([k, v]) => {
      const total = typeof v === 'number' ? v : Object.values(v).filter((x) => typeof x === 'number').reduce((a, b) => a + b, 0);
      const parts = typeof v === 'number' ? null : Object.entries(v).filter(([, x]) => typeof x === 'number' && k !== 'total');
      return h('div', { class: 'tile' }, h('span', { class: 'count' }, String(v.total ?? total)), h('span', {}, LABELS[k] || k),
        parts && h('ul', { class: 'states' }, parts.filter(([s]) => s !== 'total').map(([s, x]) => h('li', {}, `${x} ${s}`))));
    });
}

export function endpointTable(list, ctx) {
  return h('div', { class: 'scroll' }, h('table', {},
    h('thead', {}, h('tr', {}, ['Endpoint', 'Integration', 'State', 'Last error', 'Lag'].map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, list.map((e) => h('tr', {},
      h('td', {}, h('a', { href: `${ctx.base}/endpoints/${encodeURIComponent(e.id)}` }, e.url || e.id)),
      h('td', {}, e.integrationName || (e.integration && (e.integration.name || e.integration.id)) || e.integrationId || ''),
      h('td', {}, badge(e.state)),
      h('td', { class: 'wrap' }, e.lastError || e.stateReason || ''),
      h('td', {}, lag(e)))))));
}

function lag(e) {
  const events = e.lagEvents ?? (e.lag && e.lag.events);
  const seconds = e.lagSeconds ?? (e.lag && e.lag.seconds);
  if (events == null && seconds == null) return '';
  return [events != null ? `${events} events` : null, seconds != null ? `${Math.round(seconds)} s` : null].filter(Boolean).join(', ');
}

/** Delivery charts for the last hour or day, of everything or one endpoint or integration. */
export function deliveryPanel(filter) {
  const body = h('div', { class: 'charts' });
  const choices = [['1h', 'Last hour'], ['24h', 'Last day']];
  const buttons = choices.map(([w, label]) => h('button', { type: 'button', class: 'toggle', 'aria-pressed': 'false', onclick: () => load(w) }, label));
  async function load(span) {
    buttons.forEach((b, i) => b.setAttribute('aria-pressed', String(choices[i][0] === span)));
    clear(body, h('p', { class: 'muted' }, 'Loading…'));
    try {
      const stats = await get(`/api/v1/delivery-stats${query({ window: span, ...filter })}`);
      const buckets = stats.buckets || [];
      clear(body,
        bars(buckets, OUTCOMES, 'Messages by outcome'),
        lines(buckets, LATENCY, 'ms', 'Latency'),
        lines(buckets, LAG, 'ms', 'Lag (commit to delivery)'));
    } catch (e) {
      clear(body, failure(e));
    }
  }
  load('1h');
  return h('section', { class: 'panel', id: 'delivery' }, h('div', { class: 'row spread' }, h('h2', {}, 'Delivery'), h('div', { class: 'row', role: 'group', 'aria-label': 'Time window' }, buttons)), body);
}
