// Integrations (permissions, event types, connections, endpoints, portal links) and endpoint lists.
import { get, post, del, query, enc } from './api.js';
import { h, clear, section, failure, when, badge, field, act, secret, copyable, pagedTable, PAGE, hiddenText, focusInto, focusSecret } from './dom.js';
import { ENDPOINT_COLUMNS, endpointRow } from './overview.js';

export async function list(main, ctx) {
  main.append(h('h1', {}, 'Integrations'));
  const table = await pagedTable({
    label: 'Integrations',
    columns: ['Name', 'Id', 'Event types', 'Created'],
    loadPage: async (cursor) => {
      const page = await get(`/api/v1/integrations${query({ limit: PAGE, cursor })}`);
      return { items: page.integrations, cursor: page.cursor };
    },
    row: (i) => h('tr', {},
      h('td', {}, h('a', { href: `${ctx.base}/integrations/${enc(i.id)}` }, i.name || i.id)),
      h('td', {}, h('code', {}, i.id)),
      h('td', {}, (i.eventTypes || []).join(', ') || h('span', { class: 'muted' }, 'none')),
      h('td', {}, when(i.createdAt))),
    empty: 'No integration yet: create one with POST /api/v1/integrations.',
    moreId: 'more-integrations',
  });
  main.append(section('Partner applications', table));
}

export async function render(main, ctx) {
  const id = ctx.params.id;
  const integration = await get(`/api/v1/integrations/${enc(id)}`);
  ctx.title(`Integration ${integration.name || integration.id}`);
  main.append(h('p', { class: 'crumbs' }, h('a', { href: `${ctx.base}/integrations` }, 'Integrations'), ' / '),
    h('h1', {}, integration.name || integration.id));
  main.append(section('Access',
    h('dl', { class: 'facts' },
      h('dt', {}, 'Id'), h('dd', {}, h('code', {}, integration.id)),
      h('dt', {}, 'Reads'), h('dd', {}, list_(integration.permissions && integration.permissions.read)),
      h('dt', {}, 'Writes'), h('dd', {}, list_(integration.permissions && integration.permissions.write)),
      h('dt', {}, 'Event types'), h('dd', {}, list_(integration.eventTypes)),
      h('dt', {}, 'Created'), h('dd', {}, when(integration.createdAt)))));
  const connections = h('div', { id: 'connections' });
  // A rotated token is shown here, above the table: the table is drawn again after every change.
  const newToken = h('div', { id: 'connection-token' });
  main.append(section('Connections', newToken, connections));
  const endpoints = h('div', { id: 'endpoints' });
  main.append(section('Endpoints', endpoints, newEndpointForm(ctx, integration.id, () => loadEndpoints())));
  main.append(section('Partner portal link', portalLinkForm(integration.id)));

  async function loadConnections() {
    try {
      const table = await pagedTable({
        label: 'Connections',
        columns: ['Tenant', 'Connection', 'State', 'Since', 'Actions'],
        loadPage: async (cursor) => {
          const page = await get(`/api/v1/integrations/${enc(id)}/connections${query({ limit: PAGE, cursor })}`);
          return { items: page.connections, cursor: page.cursor };
        },
        row: (c) => connectionRow(c, changed),
        empty: 'Not connected to any tenant.',
        moreId: 'more-connections',
      });
      clear(connections, table);
    } catch (e) {
      clear(connections, failure(e));
    }
  }
  /** After a change to a connection: its new token (shown once), the table again, and the focus back in it. */
  async function changed(c, action, answer) {
    if (answer && answer.accessToken) clear(newToken, secret(`New access token for ${c.tenantId}`, answer.accessToken));
    await loadConnections();
    if (answer && answer.accessToken) {
      focusSecret(newToken);
      return;
    }
    // The row's button for the same action (Disable became Enable), else (deleted) the table.
    const same = connections.querySelector(`tr[data-connection="${CSS.escape(c.id)}"] [data-action="${action}"]`);
    if (same) same.focus();
    else focusInto(connections);
  }
  async function loadEndpoints() {
    try {
      clear(endpoints, await endpointList(ctx, { integrationId: id }, 'No endpoint yet.'));
    } catch (e) {
      clear(endpoints, failure(e));
    }
  }
  await Promise.all([loadConnections(), loadEndpoints()]);
}

const list_ = (items) => (items && items.length ? items.map((x) => h('code', { class: 'chip' }, x)) : h('span', { class: 'muted' }, 'none'));

/** A connection and its actions; each button's name says which tenant's connection it changes. */
function connectionRow(c, changed) {
  const path = `/api/v1/connections/${enc(c.id)}`;
  const change = (label, question, run) => {
    // Enable and Disable are one place in the row: the focus goes back to it, whichever it now says.
    const action = { Enable: 'state', Disable: 'state', 'Rotate token': 'rotate', Delete: 'delete' }[label];
    const b = h('button', { type: 'button', 'data-action': action }, label,
      hiddenText(`${label === 'Rotate token' ? ' of' : ''} the connection to ${c.tenantId}`));
    b.addEventListener('click', () => act(b, async () => changed(c, action, await run()), question));
    return b;
  };
  return h('tr', { 'data-connection': c.id },
    h('td', {}, h('code', {}, c.tenantId)),
    h('td', {}, h('code', {}, c.id)),
    h('td', {}, badge(c.state)),
    h('td', {}, when(c.updatedAt || c.createdAt)),
    h('td', { class: 'actions' },
      c.state === 'enabled'
        ? change('Disable', ['Disable the connection to ', h('bdi', {}, c.tenantId), '? Its access token is refused at once.'], () => post(`${path}/disable`))
        : change('Enable', ['Enable the connection to ', h('bdi', {}, c.tenantId), '?'], () => post(`${path}/enable`)),
      change('Rotate token', ['Rotate the access token of ', h('bdi', {}, c.tenantId), '\'s connection? The old token is refused at once.'], () => post(`${path}/rotate-token`)),
      change('Delete', ['Delete the connection to ', h('bdi', {}, c.tenantId), '? This cannot be undone.'], () => del(path))));
}

/** Creates an endpoint; the answer's signing secret is shown once. */
export function newEndpointForm(ctx, integrationId, created) {
  const url = h('input', { type: 'url', name: 'url', required: true, placeholder: 'https://partner.example/hooks', id: 'new-url' });
  // A lifecycle endpoint receives access tokens: a portal session makes one only with the secrets capability.
  const kind = h('select', { name: 'kind', id: 'new-kind' }, h('option', { value: 'events' }, 'events'),
    ctx.can('secrets') && h('option', { value: 'lifecycle' }, 'lifecycle'));
  const types = h('input', { type: 'text', name: 'eventTypes', placeholder: 'reservations.*, device.command', id: 'new-types' });
  const batch = h('input', { type: 'number', name: 'maxBatchSize', min: 1, max: 1000, placeholder: '100', id: 'new-batch' });
  const submit = h('button', { type: 'submit', id: 'create-endpoint' }, 'Add endpoint');
  const out = h('div', { id: 'created' });
  const form = h('form', { class: 'grid-form', id: 'new-endpoint' },
    field('URL', url), field('Kind', kind), field('Event types', types, 'comma-separated; empty: every type the integration receives'),
    field('Max batch size', batch), h('div', { class: 'field end' }, submit));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    act(submit, async () => {
      const body = { url: url.value, kind: kind.value };
      if (integrationId) body.integrationId = integrationId;
      const list = types.value.split(',').map((x) => x.trim()).filter(Boolean);
      if (list.length) body.eventTypes = list;
      if (batch.value) body.maxBatchSize = Number(batch.value);
      const answer = await post('/api/v1/webhooks', body);
      form.reset();
      clear(out, h('p', {}, 'Created ', h('a', { href: `${ctx.base}/endpoints/${enc(answer.id)}` }, answer.url), '.'), secret('Signing secret', answer.secret));
      await created(answer);
      focusSecret(out);
    });
  });
  return h('details', { class: 'add' }, h('summary', {}, 'Add an endpoint'), form, out);
}

const CAPABILITIES = [['manage_endpoints', 'Manage endpoints'], ['retry', 'Retry, replay and send tests'], ['secrets', 'Reveal and rotate secrets']];

function portalLinkForm(integrationId) {
  const boxes = CAPABILITIES.map(([value, label]) => h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'capabilities', value }), ' ', label));
  const tenant = h('input', { type: 'text', name: 'tenantId', placeholder: 'every tenant' });
  const ttl = h('input', { type: 'text', name: 'ttl', value: '1h', pattern: '[0-9]+(m|h)' });
  const submit = h('button', { type: 'submit' }, 'Create link');
  const out = h('div', {});
  const form = h('form', { class: 'grid-form', id: 'portal-link' },
    h('fieldset', {}, h('legend', {}, 'Capabilities (reading is always allowed)'), boxes),
    field('Tenant', tenant, 'only this tenant\'s messages: reading and retrying, not endpoints or secrets'), field('Valid for', ttl, '1m to 24h'), h('div', { class: 'field end' }, submit));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    act(submit, async () => {
      const capabilities = ['read', ...boxes.map((b) => b.firstChild).filter((b) => b.checked).map((b) => b.value)];
      const body = { integrationId, capabilities, ttl: ttl.value };
      if (tenant.value) body.tenantId = tenant.value;
      const answer = await post('/api/v1/portal-sessions', body);
      clear(out, h('p', { role: 'status' }, 'A link that opens the portal once, until ', when(answer.expiresAt), ':'), copyable('Portal link', answer.url, 'portal-url'));
      focusSecret(out);
    });
  });
  return [h('p', {}, 'A single-use link for the partner: it opens the portal on this integration\'s endpoints and messages.'), form, out];
}

/** Every endpoint (operator). */
export async function endpoints(main, ctx) {
  main.append(h('h1', {}, 'Endpoints'));
  main.append(section('Webhook endpoints', await endpointList(ctx, {}, 'No endpoint yet: add one on an integration.')));
}

/** The endpoints the filter picks, a page at a time. */
function endpointList(ctx, filter, empty) {
  return pagedTable({
    label: 'Endpoints',
    columns: ENDPOINT_COLUMNS,
    loadPage: async (cursor) => {
      const page = await get(`/api/v1/webhooks${query({ ...filter, limit: PAGE, cursor })}`);
      return { items: page.webhooks, cursor: page.cursor };
    },
    row: (e) => endpointRow(e, ctx),
    empty,
    moreId: 'more-endpoints',
  });
}

/** The portal's start: the integration's endpoints. */
export async function portalHome(main, ctx) {
  const s = ctx.session;
  main.append(h('h1', {}, 'Webhook endpoints'),
    h('p', { class: 'muted' }, h('bdi', {}, s.integrationName || s.integrationId), s.tenantId ? [' · tenant ', h('bdi', {}, s.tenantId)] : '',
      ' · you may: ', (s.capabilities || ['read']).join(', ')));
  const box = h('div', { id: 'endpoints' });
  async function load() {
    try {
      clear(box, await endpointList(ctx, {}, 'No endpoint yet.'));
    } catch (e) {
      clear(box, failure(e));
    }
  }
  main.append(section('Endpoints', box, ctx.can('manage_endpoints') && newEndpointForm(ctx, null, load)));
  await load();
}


