// One endpoint: its settings, secret, test event, streams and lag, delivery charts, the message log
// (filters, a message's events and attempts, retry one or all failed) and replay.
import { get, post, patch, del, query, enc } from './api.js';
import { h, add, clear, section, failure, when, badge, field, act, secret, button, json, instant, notify, scrollBox, hiddenText, nextPageButton, plainly, withoutQuery, focusSecret } from './dom.js';
import { deliveryPanel } from './overview.js';

const STATUSES = ['', 'pending', 'delivered', 'failed'];

export async function render(main, ctx) {
  const id = ctx.params.id;
  const path = `/api/v1/webhooks/${enc(id)}`;
  let timer = null;
  let alive = true;
  const endpoint = await get(path);
  ctx.title(`Endpoint ${withoutQuery(endpoint.url)}`);

  const title = h('h1', { class: 'url' }, endpoint.url);
  const state = h('span', {}, badge(endpoint.state));
  add(main, [
    h('p', { class: 'crumbs' }, ctx.portal ? h('a', { href: ctx.base }, 'Endpoints')
      : [h('a', { href: `${ctx.base}/integrations/${enc(endpoint.integrationId)}` }, 'Integration'), ' / ', h('a', { href: `${ctx.base}/endpoints` }, 'Endpoints')], ' / '),
    title, h('p', {}, state, ' ', h('code', {}, endpoint.id), ' · ', endpoint.kind, ' · created ', when(endpoint.createdAt)),
    endpoint.stateReason && h('p', { class: 'error' }, endpoint.stateReason)]);

  const top = h('div', { class: 'columns' });
  main.append(top);
  top.append(settings(ctx, path, endpoint, (updated) => {
    title.textContent = updated.url;
    ctx.title(`Endpoint ${withoutQuery(updated.url)}`);
    clear(state, badge(updated.state));
  }));
  top.append(actions(ctx, path, () => loadMessages()));

  const streams = h('div', { id: 'streams' }, h('p', { class: 'muted' }, 'Loading…'));
  main.append(section('Streams', streams));
  // The charts count the endpoint's messages to every tenant: a portal session limited to one tenant is
  // refused them (403), so it is not shown them.
  if (!(ctx.portal && ctx.session.tenantId)) main.append(deliveryPanel({ webhookId: id }));

  // The message log: the filter lives in the URL, so a filtered log can be reloaded or shared.
  const q = ctx.query;
  const tenant = h('input', { type: 'text', name: 'tenantId', id: 'filter-tenant', value: q.get('tenantId') || '' });
  const status = h('select', { name: 'status', id: 'filter-status' }, STATUSES.map((s) => h('option', { value: s, selected: q.get('status') === s }, s || 'any')));
  const eventType = h('input', { type: 'text', name: 'eventType', id: 'filter-type', value: q.get('eventType') || '', placeholder: 'reservations.created' });
  const from = h('input', { type: 'datetime-local', name: 'from', id: 'filter-from', step: 1, value: local(q.get('from')) });
  const to = h('input', { type: 'datetime-local', name: 'to', id: 'filter-to', step: 1, value: local(q.get('to')) });
  const apply = h('button', { type: 'submit', id: 'apply-filter' }, 'Show');
  const filterForm = h('form', { class: 'grid-form', id: 'message-filter', 'aria-label': 'Filter messages' },
    field('Tenant', tenant), field('Status', status), field('Event type', eventType), field('From (your time)', from), field('To (your time)', to),
    h('div', { class: 'field end' }, apply));
  const filter = () => ({ tenantId: tenant.value.trim(), status: status.value, eventType: eventType.value.trim(), from: instant(from.value), to: instant(to.value) });
  const rows = h('tbody', {});
  const more = h('div', {});
  const detail = h('div', { id: 'message' });
  let view = null; // the message shown in detail: { id, heading, update(m) }
  const retryAll = ctx.can('retry') && h('button', { type: 'button', id: 'retry-all' }, 'Retry all failed that match');
  if (retryAll) {
    retryAll.addEventListener('click', () => act(retryAll, async () => {
      const f = filter();
      const body = {};
      for (const k of ['tenantId', 'eventType', 'from', 'to']) if (f[k]) body[k] = f[k];
      // Each request looks through a window of the endpoint's messages: follow its cursor to the newest.
      let retried = 0;
      for (let cursor = null, first = true; first || cursor; first = false) {
        const answer = await post(`${path}/messages/retry`, cursor ? { ...body, cursor } : body);
        retried += answer.retried;
        cursor = answer.cursor;
      }
      notify(`${retried} failed message${retried === 1 ? '' : 's'} will be sent again.`, 'info');
      await loadMessages();
    }, 'Send every failed message that matches the filter again (the status filter does not apply)?'));
  }
  filterForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const params = new URLSearchParams(query(filter()));
    const message = ctx.query.get('message');
    if (message) params.set('message', message);
    const text = params.toString();
    ctx.replaceAddress(`${location.pathname}${text ? `?${text}` : ''}`);
    act(apply, loadMessages);
  });
  main.append(h('section', { class: 'panel', id: 'messages' },
    h('div', { class: 'row spread' }, h('h2', {}, 'Messages'), retryAll),
    filterForm,
    scrollBox('Messages', h('table', {},
      h('thead', {}, h('tr', {}, ['Created', 'Status', 'Tenant', 'Events', 'Attempts', 'Next attempt', hiddenText('Details')].map((t) => h('th', { scope: 'col' }, t)))),
      rows)),
    more, detail));
  // A lifecycle endpoint is never replayed: its messages carry access tokens.
  if (ctx.can('retry') && endpoint.kind !== 'lifecycle') main.append(replayPanel(path));

  /** The first page of messages again, or (with a cursor) the next one added; answers the first row it added. */
  async function loadMessages(cursor) {
    const f = filter();
    // The first page is drawn again while a message is on its way: the focus stays on the row it was in.
    const focused = !cursor && rows.contains(document.activeElement) ? document.activeElement.closest('tr[data-message]') : null;
    try {
      const page = await get(`${path}/messages${query({ ...f, cursor, limit: 50 })}`);
      if (!cursor) rows.replaceChildren();
      // A list reads so many messages a request: an empty page with a cursor has more to look through.
      if (!cursor && page.messages.length === 0) {
        const text = page.cursor ? 'No match among the newest messages; Load more looks further back.' : 'No message matches.';
        rows.append(h('tr', {}, h('td', { colspan: 7, class: 'muted' }, text)));
      }
      const added = page.messages.map(messageRow);
      rows.append(...added);
      clear(more, page.cursor ? nextPageButton('more-messages', 'Load more', loadMessages, page.cursor) : null);
      const again = focused && rows.querySelector(`tr[data-message="${CSS.escape(focused.dataset.message)}"] a.open-message`);
      if (again) again.focus();
      return added[0];
    } catch (e) {
      rows.replaceChildren(h('tr', {}, h('td', { colspan: 7 }, failure(e))));
      return undefined;
    }
  }

  function messageRow(m) {
    const open = h('a', { href: `${location.pathname}?${withParam('message', m.id)}`, class: 'open-message', 'data-id': m.id },
      'Open', hiddenText(` message ${m.id}`));
    open.addEventListener('click', (event) => {
      event.preventDefault();
      event.stopPropagation();
      ctx.replaceAddress(open.getAttribute('href'));
      showMessage(m.id, true);
    });
    const attempts = m.attempts || [];
    const last = attempts[attempts.length - 1];
    return h('tr', { 'data-message': m.id, class: ctx.query.get('message') === m.id ? 'selected' : null },
      h('td', {}, when(m.createdAt)),
      h('td', {}, badge(m.status)),
      h('td', {}, m.tenantId ? h('code', {}, m.tenantId) : ''),
      h('td', {}, `${m.eventCount}`, m.firstSeq != null ? h('span', { class: 'muted' }, ` (#${m.firstSeq}${m.lastSeq !== m.firstSeq ? `–${m.lastSeq}` : ''})`) : ''),
      h('td', {}, `${attempts.length}`, last && last.status ? h('span', { class: 'muted' }, ` (last ${last.status})`) : ''),
      h('td', {}, m.status === 'pending' ? when(m.nextAttemptAt) : ''),
      h('td', {}, open));
  }

  // A message is read again while it is on its way, for a few minutes from when it was opened (or
  // retried) at most: every read renews the session, so an open page left on a message that waits
  // hours for its retry would keep an unattended console signed in (and spend a portal's client-key
  // rate limit).
  const WATCH_FOR_MS = 5 * 60 * 1000;
  let watching = { id: null, since: 0 };

  async function showMessage(messageId, focus, retried) {
    clearTimeout(timer);
    if (watching.id !== messageId || focus || retried) watching = { id: messageId, since: Date.now() };
    try {
      const m = await get(`${path}/messages/${enc(messageId)}`);
      if (!alive) return;
      for (const tr of rows.querySelectorAll('tr[data-message]')) tr.classList.toggle('selected', tr.dataset.message === messageId);
      // The same message read again is changed in place: the focus, the events opened and a screen
      // reader's place in it stay.
      if (!view || view.id !== m.id) {
        view = messageDetail(m, ctx, path, async () => {
          await Promise.all([showMessage(messageId, false, true), loadMessages()]);
        });
        clear(detail, view.el);
      }
      view.update(m);
      if (focus) view.heading.focus();
      // A message on its way is shown as it goes: read again until it is delivered or failed.
      // Every 1.5 s while an attempt is due, else once when the next one is, within the watch.
      const due = m.nextAttemptAt ? Date.parse(m.nextAttemptAt) - Date.now() : 0;
      const delay = Math.max(1500, due);
      if (m.status === 'pending' && Date.now() - watching.since + delay < WATCH_FOR_MS) {
        timer = setTimeout(async () => {
          if (!alive) return;
          await showMessage(messageId);
          await loadMessages();
        }, delay);
      }
    } catch (e) {
      view = null;
      clear(detail, failure(e));
    }
  }

  loadStreams(path, streams);
  await loadMessages();
  if (q.get('message')) await showMessage(q.get('message'));
  return () => {
    alive = false;
    clearTimeout(timer);
  };
}

function withParam(name, value) {
  const params = new URLSearchParams(location.search);
  params.set(name, value);
  return params.toString();
}

/** An RFC 3339 instant as a datetime-local value in the viewer's time zone. */
function local(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

function settings(ctx, path, endpoint, changed) {
  if (!ctx.can('manage_endpoints')) {
    return section('Settings', h('dl', { class: 'facts' },
      h('dt', {}, 'URL'), h('dd', { class: 'wrap' }, endpoint.url),
      h('dt', {}, 'Event types'), h('dd', {}, (endpoint.eventTypes || []).join(', ') || 'all the integration receives'),
      h('dt', {}, 'Max batch size'), h('dd', {}, String(endpoint.maxBatchSize)),
      h('dt', {}, 'State'), h('dd', {}, endpoint.state)));
  }
  const url = h('input', { type: 'url', name: 'url', id: 'edit-url', required: true, value: endpoint.url });
  const types = h('input', { type: 'text', name: 'eventTypes', id: 'edit-types', value: (endpoint.eventTypes || []).join(', ') });
  const batch = h('input', { type: 'number', name: 'maxBatchSize', id: 'edit-batch', min: 1, max: 1000, value: String(endpoint.maxBatchSize) });
  const state = h('select', { name: 'state', id: 'edit-state' }, ['enabled', 'disabled'].map((s) => h('option', { value: s, selected: endpoint.state === s || (s === 'enabled' && endpoint.state === 'failing') }, s)));
  const save = h('button', { type: 'submit', id: 'save-endpoint' }, 'Save');
  const form = h('form', { class: 'stack', id: 'endpoint-settings' },
    field('URL', url), field('Event types', types, 'comma-separated'), field('Max batch size', batch),
    field('State', state, endpoint.state === 'failing' ? 'failing: still sending, with retries' : null), h('div', { class: 'row' }, save));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    act(save, async () => {
      // The URL only when edited: a portal session without secrets is shown it without its query.
      const body = { maxBatchSize: Number(batch.value) };
      if (url.value !== endpoint.url) body.url = url.value;
      if (endpoint.kind === 'events') body.eventTypes = types.value.split(',').map((x) => x.trim()).filter(Boolean);
      if (state.value !== (endpoint.state === 'failing' ? 'enabled' : endpoint.state)) body.state = state.value;
      const updated = await patch(path, body);
      Object.assign(endpoint, updated);
      changed(updated);
      notify('Saved.', 'info');
    });
  });
  if (endpoint.kind === 'lifecycle') types.disabled = true;
  const remove = button('Delete endpoint', () => act(remove, async () => {
    await del(path);
    ctx.navigate(ctx.portal ? ctx.base : `${ctx.base}/integrations/${enc(endpoint.integrationId)}`);
  }, ['Delete the endpoint ', h('bdi', {}, endpoint.url), '? Its messages go with it.']), 'danger');
  return section('Settings', form, h('div', { class: 'row' }, remove));
}

function actions(ctx, path, reload) {
  const out = h('div', { id: 'action-result' });
  const items = [];
  if (ctx.can('retry')) {
    const test = h('button', { type: 'button', id: 'send-test' }, 'Send test event');
    test.addEventListener('click', () => act(test, async () => {
      const answer = await post(`${path}/test`);
      clear(out, h('p', { role: 'status' }, 'Test message ', h('code', {}, answer.messageId), ' is on its way.'));
      await reload();
    }));
    items.push(h('div', {}, test, h('p', { class: 'muted' }, 'Sends one example event to the URL, signed like every message.')));
  }
  if (ctx.can('secrets')) {
    const rotate = h('button', { type: 'button', id: 'rotate-secret' }, 'Rotate signing secret');
    rotate.addEventListener('click', () => act(rotate, async () => {
      const answer = await post(`${path}/rotate-secret`);
      clear(out, secret('New signing secret', answer.secret),
        answer.previousSecretsValidFor ? h('p', { class: 'muted' }, `Messages are also signed with the previous secret for ${answer.previousSecretsValidFor}.`) : null);
      focusSecret(out);
    }, 'Rotate the signing secret? The new one is shown once; the previous one keeps signing for a grace period.'));
    items.push(h('div', {}, rotate));
  }
  if (items.length === 0) items.push(h('p', { class: 'muted' }, 'This session may only read.'));
  return section('Actions', items, out);
}

// A page of streams (one per tenant) at a time: an integration may be connected to thousands of tenants.
async function loadStreams(path, box) {
  const rows = h('tbody', {});
  const more = h('div', {});
  /** Adds a page of streams; answers the first row it added. */
  async function page(cursor) {
    const answer = await get(`${path}/streams${query({ cursor, limit: 100 })}`);
    const list = answer.streams || [];
    if (!cursor && list.length === 0) {
      clear(box, h('p', { class: 'muted' }, 'No stream yet: one starts with the first event of a connected tenant.'));
      return undefined;
    }
    if (!cursor) {
      clear(box, scrollBox('Streams', h('table', {},
        h('thead', {}, h('tr', {}, ['Tenant', 'Position', 'Log head', 'Lag', 'State', 'Next attempt', 'Last error'].map((t) => h('th', { scope: 'col' }, t)))),
        rows)), more);
    }
    const added = list.map((s) => h('tr', {},
        h('td', {}, h('code', {}, s.tenantId || 'lifecycle')),
        h('td', {}, String(s.position ?? '')),
        h('td', {}, String(s.head ?? '')),
        h('td', {}, [s.lagEvents != null ? `${s.lagEvents} events` : null, s.lagSeconds != null ? `${Math.round(s.lagSeconds)} s` : null,
          s.retriesWaiting ? `${s.retriesWaiting} retried waiting` : null].filter(Boolean).join(', ')),
        h('td', {}, s.state ? badge(s.state) : ''),
        h('td', {}, s.nextAttemptAt ? when(s.nextAttemptAt) : ''),
        h('td', { class: 'wrap' }, s.lastError || '')));
    rows.append(...added);
    clear(more, answer.cursor ? nextPageButton('more-streams', 'More streams', page, answer.cursor) : null);
    return added[0];
  }
  try {
    await page(null);
  } catch (e) {
    clear(box, failure(e));
  }
}

/**
 * A message in detail, drawn once and then changed in place as it is read again (update): only the status
 * line is a live region, and it changes when the status does, so a screen reader is not read the whole
 * message every 1.5 s while it is on its way.
 */
function messageDetail(first, ctx, path, reload) {
  const heading = h('h3', { tabindex: '-1' }, 'Message ', h('code', {}, first.id));
  const retrySlot = h('div', {});
  const said = h('p', { class: 'visually-hidden', role: 'status', id: 'message-live' });
  const facts = h('dl', { class: 'facts' });
  const attempts = h('div', {});
  const el = h('article', { class: 'message' }, h('div', { class: 'row spread' }, heading, retrySlot), said, facts, attempts,
    eventList(first));

  function retryButton(m) {
    if (!ctx.can('retry') || m.status !== 'failed') return null;
    const retry = h('button', { type: 'button', id: 'retry-message' }, 'Retry this message');
    retry.addEventListener('click', () => act(retry, async () => {
      await post(`${path}/messages/${enc(m.id)}/retry`);
      await reload();
      heading.focus(); // the button is gone: the message is no longer failed
    }));
    return retry;
  }

  function update(m) {
    el.dataset.status = m.status;
    const line = `Message ${m.id} is ${m.status}.`;
    if (said.textContent !== line) said.textContent = line;
    clear(facts,
      h('dt', {}, 'Status'), h('dd', { id: 'message-status' }, badge(m.status)),
      h('dt', {}, 'Tenant'), h('dd', {}, m.tenantId || '—'),
      h('dt', {}, 'Created'), h('dd', {}, when(m.createdAt)),
      h('dt', {}, 'Finished'), h('dd', {}, when(m.finishedAt)),
      h('dt', {}, 'Next attempt'), h('dd', {}, m.status === 'pending' ? when(m.nextAttemptAt) : '—'),
      h('dt', {}, 'Lane'), h('dd', {}, m.lane || ''));
    clear(attempts, attemptTable(m.attempts || []));
    clear(retrySlot, retryButton(m));
  }
  return { id: first.id, el, heading, update };
}

function attemptTable(attempts) {
  return [h('h4', {}, `Attempts (${attempts.length})`),
    attempts.length === 0 ? h('p', { class: 'muted' }, 'Not sent yet.') : scrollBox('Attempts', h('table', { class: 'attempts' },
      h('thead', {}, h('tr', {}, ['#', 'Time', 'Status', 'Duration', 'Outcome', 'Error', 'Response'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, attempts.map((a) => h('tr', {},
        h('td', {}, String(a.n)),
        h('td', {}, when(a.startedAt)),
        h('td', { class: 'status-code' }, a.status == null ? '—' : String(a.status)),
        h('td', {}, `${a.durationMs} ms`),
        h('td', {}, badge(a.outcome)),
        h('td', { class: 'wrap' }, a.error || ''),
        h('td', {}, a.responseBody ? h('pre', { class: 'excerpt', tabindex: '0', role: 'group', 'aria-label': `Response to attempt ${a.n}` },
          plainly(a.responseBody.slice(0, 500))) : ''))))))];
}

/** The events a message carries: they do not change, so they are drawn once (and stay open when opened). */
function eventList(m) {
  const body = m.body || {};
  const events = Array.isArray(body.events) ? body.events : body.type ? [body] : [];
  return [h('h4', {}, `Events (${events.length})`),
    events.map((e) => h('details', { class: 'event' },
      h('summary', {}, e.seq != null ? `#${e.seq} ` : '', h('strong', {}, e.type), e.subject ? ` ${plainly(e.subject)}` : '', ' · ', when(e.time)),
      json(e, `Event ${e.seq != null ? `#${e.seq} ` : ''}${e.type}`)))];
}

function replayPanel(path) {
  const tenant = h('input', { type: 'text', name: 'tenantId', id: 'replay-tenant', placeholder: 'every tenant' });
  const fromSeq = h('input', { type: 'number', name: 'fromSeq', id: 'replay-seq', min: 1 });
  const since = h('input', { type: 'datetime-local', name: 'since', id: 'replay-since', step: 1 });
  const submit = h('button', { type: 'submit', id: 'replay' }, 'Replay');
  const out = h('div', { id: 'replay-result' });
  const form = h('form', { class: 'grid-form', id: 'replay-form' },
    field('Tenant', tenant), field('From position (seq)', fromSeq), field('Or from time (your time)', since), h('div', { class: 'field end' }, submit));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const body = {};
    if (tenant.value.trim()) body.tenantId = tenant.value.trim();
    if (fromSeq.value) body.fromSeq = Number(fromSeq.value);
    if (since.value) body.since = instant(since.value);
    act(submit, async () => {
      const answer = await post(`${path}/replay`, body);
      clear(out, h('p', { role: 'status' }, `${answer.streams} stream${answer.streams === 1 ? '' : 's'} will send the log again from there, in order.`));
    }, 'Send these events to the endpoint again?');
  });
  return section('Replay', h('p', { class: 'muted' }, 'Send the log again from a position or a time, after the message each stream is sending now. Give a position or a time.'), form, out);
}
