// The audit log: every change made through the API or the console, who made it and when.
import { get, query } from './api.js';
import { h, clear, when, json, scrollBox, nextPageButton } from './dom.js';

export async function render(main) {
  main.append(h('h1', {}, 'Audit log'));
  const rows = h('tbody', {});
  const more = h('div', {});
  main.append(h('section', { class: 'panel' }, scrollBox('Audit log', h('table', { id: 'audit' },
    h('thead', {}, h('tr', {}, ['When', 'Who', 'Action', 'Target', 'Details'].map((t) => h('th', { scope: 'col' }, t)))), rows)), more));

  /** Adds a page of entries; answers the first row it added. */
  async function load(cursor) {
    const page = await get(`/api/v1/audit-log${query({ limit: 50, cursor })}`);
    const entries = page.entries || page.auditLog || [];
    if (!cursor && entries.length === 0) rows.append(h('tr', {}, h('td', { colspan: 5, class: 'muted' }, 'Nothing has changed yet.')));
    const added = entries.map((e) => {
      const actor = e.actor || {};
      return h('tr', {},
        h('td', {}, when(e.at)),
        h('td', {}, actor.kind, actor.integrationId ? h('span', { class: 'muted' }, ` ${actor.integrationId}`) : ''),
        h('td', {}, h('code', {}, e.action)),
        h('td', {}, e.target ? [e.target.type, ' ', h('code', {}, e.target.id)] : ''),
        h('td', {}, e.details && Object.keys(e.details).length ? h('details', {}, h('summary', {}, 'Details'), json(e.details, `Details of ${e.action}`)) : ''));
    });
    rows.append(...added);
    clear(more, page.cursor ? nextPageButton('more-audit', 'Load more', load, page.cursor) : null);
    return added[0];
  }
  await load();
}
