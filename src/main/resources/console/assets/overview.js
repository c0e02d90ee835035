// Overview: what is configured, what needs attention first, and how delivery went lately.
import { get, query } from './api.js';
import { h, clear, section, failure, badge, scrollBox } from './dom.js';
import { bars, lines, OUTCOMES, LATENCY, LAG } from './charts.js';

export async function render(main, ctx) {
  const counts = h('div', { class: 'tiles', id: 'counts' }, h('p', { class: 'muted' }, 'Loading…'));
  const attention = h('div', { id: 'attention' });
  main.append(h('h1', {}, 'Overview'), counts, section('Endpoints, failing and disabled first', attention), deliveryPanel({}));
  try {
    const o = await get('/api/v1/overview');
    clear(counts, tiles(o));
    const list = o.endpointList || [];
    clear(attention, list.length === 0
      ? h('p', { class: 'muted' }, 'No endpoint yet: add one on an integration.')
      : endpointTable(list, ctx));
  } catch (e) {
    clear(counts, failure(e));
    clear(attention);
  }
}

/** Tenants and integrations as numbers; connections and endpoints by state. */
function tiles(o) {
  const tile = (label, value) => {
    const byState = value && typeof value === 'object' ? Object.entries(value) : null;
    const total = byState ? byState.reduce((sum, [, n]) => sum + n, 0) : value;
    return h('div', { class: 'tile' }, h('span', { class: 'count' }, String(total)), h('span', {}, label),
      byState && h('ul', { class: 'states' }, byState.map(([state, n]) => h('li', {}, `${n} ${state}`))));
  };
  return [tile('Tenants', o.tenants), tile('Integrations', o.integrations), tile('Connections', o.connections), tile('Endpoints', o.endpoints)];
}

export const ENDPOINT_COLUMNS = ['Endpoint', 'Integration', 'State', 'Last error', 'Lag'];

export function endpointTable(list, ctx) {
  return scrollBox('Endpoints', h('table', {},
    h('thead', {}, h('tr', {}, ENDPOINT_COLUMNS.map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, list.map((e) => endpointRow(e, ctx)))));
}

export function endpointRow(e, ctx) {
  return h('tr', {},
    h('td', {}, h('a', { href: `${ctx.base}/endpoints/${encodeURIComponent(e.id)}` }, e.url || e.id)),
    h('td', {}, e.integrationName || (e.integration && (e.integration.name || e.integration.id)) || e.integrationId || ''),
    h('td', {}, badge(e.state)),
    h('td', { class: 'wrap' }, e.lastError || e.stateReason || ''),
    h('td', {}, lag(e)));
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
