// The event catalog: collections, their event types, schemas, and an example event of each type.
import { get } from './api.js';
import { h, json } from './dom.js';

export async function render(main) {
  main.append(h('h1', {}, 'Event catalog'));
  const catalog = await get('/api/v1/event-catalog');
  const collections = catalog.collections || [];
  if (collections.length === 0) main.append(h('p', { class: 'muted' }, 'No collection yet.'));
  const nav = h('nav', { class: 'toc', 'aria-label': 'Collections' }, h('ul', {}, collections.map((c) => h('li', {}, h('a', { href: `#c-${c.name}` }, c.name)))));
  if (collections.length > 1) main.append(nav);
  for (const c of collections) {
    const types = c.eventTypes || [];
    main.append(h('section', { class: 'panel', id: `c-${c.name}` }, h('h2', {}, c.name),
      c.eventFields && c.eventFields.length ? h('p', {}, 'Fields copied into its events: ', c.eventFields.map((f) => h('code', { class: 'chip' }, f))) : null,
      c.schema ? h('details', {}, h('summary', {}, 'Record schema'), json(c.schema, `Record schema of ${c.name}`)) : h('p', { class: 'muted' }, 'No schema: any JSON object.'),
      types.map((t) => {
        return h('article', { class: 'event-type' }, h('h3', {}, h('code', {}, t.type)),
          t.example ? [h('p', { class: 'muted' }, 'Example event'), json(t.example, `Example ${t.type} event`)] : null);
      })));
  }
}
