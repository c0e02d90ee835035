// Live events: a tenant's events as they are written, over the server's own WebSocket (the session's
// cookie authenticates it, read-only). Pausing keeps what arrives and shows it on resume.
import { get, query, enc, call } from './api.js';
import { h, field, when, json, plainly } from './dom.js';

const KEEP = 200;

export async function render(main, ctx) {
  main.append(h('h1', {}, 'Live events'));
  const tenants = (await get('/api/v1/tenants?limit=1000')).tenants;
  const asked = ctx.query.get('tenantId');
  // The picker lists the first 1,000 tenants; a link may name any tenant, which is looked up on its own
  // rather than quietly replaced by the first one.
  let unknown = false;
  if (asked && !tenants.some((t) => t.id === asked)) {
    try {
      tenants.unshift(await get(`/api/v1/tenants/${enc(asked)}`));
    } catch (error) {
      if (error.status !== 404) throw error;
      unknown = true;
      main.append(h('p', { class: 'error', id: 'live-unknown', role: 'alert' }, `No tenant '${asked}': choose one below.`));
    }
  }
  const chosen = tenants.some((t) => t.id === asked) ? asked : (tenants[0] && tenants[0].id) || '';
  const select = h('select', { name: 'tenantId', id: 'live-tenant' }, tenants.map((t) => h('option', { value: t.id, selected: t.id === chosen }, t.name && t.name !== t.id ? `${t.name} (${t.id})` : t.id)));
  const after = h('input', { type: 'number', name: 'after', id: 'live-after', min: 0, placeholder: 'only new events' });
  const status = h('span', { id: 'live-status', class: 'badge', role: 'status' }, 'closed');
  const pause = h('button', { type: 'button', id: 'live-pause', 'aria-pressed': 'false' }, 'Pause');
  const list = h('ol', { id: 'live-events', class: 'events', reversed: true });
  const held = [];
  let paused = false;
  let socket = null;
  let count = 0;

  if (tenants.length === 0) {
    main.append(h('p', { class: 'muted' }, 'No tenant yet.'));
    return undefined;
  }
  // More tenants than the picker holds: any other is followed by its id in the address.
  const more = tenants.length >= 1000 ? `the first 1,000; another by its id: ${location.pathname}?tenantId=…` : undefined;
  const form = h('form', { class: 'grid-form', id: 'live-form' }, field('Tenant', select, more), field('From position', after, 'empty: from now'),
    h('div', { class: 'field end' }, h('button', { type: 'submit' }, 'Follow')));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    ctx.replaceAddress(`${location.pathname}${query({ tenantId: select.value })}`);
    connect();
  });
  pause.addEventListener('click', () => {
    paused = !paused;
    pause.setAttribute('aria-pressed', String(paused));
    pause.textContent = paused ? `Resume` : 'Pause';
    if (!paused) {
      held.splice(0).forEach(show);
    }
  });
  main.append(h('section', { class: 'panel' }, form, h('div', { class: 'row spread' }, h('p', {}, 'Connection: ', status), pause), list));

  function show(event) {
    count += 1;
    list.prepend(h('li', { class: 'event', 'data-seq': event.seq },
      h('details', {}, h('summary', {}, h('strong', {}, `#${event.seq} ${event.type}`), event.subject ? ` ${plainly(event.subject)}` : '', ' · ', when(event.time)), json(event, `Event #${event.seq}`))));
    while (list.children.length > KEEP) list.lastChild.remove();
  }

  function setStatus(text, cls) {
    status.textContent = text;
    status.className = `badge ${cls}`;
  }

  function connect() {
    if (socket) socket.close(1000);
    list.replaceChildren();
    held.length = 0;
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const params = { tenantId: select.value, after: after.value };
    const ws = new WebSocket(`${scheme}//${location.host}/api/v1/ws${query(params)}`);
    socket = ws;
    setStatus('connecting', 'pending');
    // Open is not yet live: the server says "live" once it follows the log from its position.
    ws.addEventListener('open', () => ws === socket && setStatus('connected', 'pending'));
    ws.addEventListener('message', (message) => {
      let frame;
      try {
        frame = JSON.parse(message.data);
      } catch {
        return;
      }
      if (frame.type === 'live') setStatus('live', 'enabled');
      if (frame.type === 'resume_failed' || frame.type === 'error') setStatus(`${frame.type}: ${frame.message}`, 'failed');
      if (frame.type !== 'events') return;
      for (const event of frame.events) (paused ? held.push(event) : show(event));
      if (paused) pause.textContent = `Resume (${held.length} waiting)`;
    });
    ws.addEventListener('close', (e) => {
      if (ws !== socket) return;
      setStatus(`closed (${e.code}${e.reason ? `: ${e.reason}` : ''})`, 'disabled');
      // An ended session (signed out elsewhere, idle) closes the socket as normal: asked, the server's 401
      // takes the page to the sign-in with "Your session has ended" as every other request's would.
      call('GET', '/console/api/session').catch(() => {});
    });
  }

  // A tenant the link named that does not exist is not swapped for another without the operator's choice.
  if (!unknown) connect();
  return () => {
    if (socket) socket.close(1000);
    socket = null;
  };
}


