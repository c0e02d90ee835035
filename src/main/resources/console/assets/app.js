// The console and the partner portal: one app. It asks the server what session it has, then shows the
// screen the URL names. Each screen is a module with render(main, ctx), which may return a clean-up.
import { call, useSession, whenSignedOut, ApiError, onPortal as portal } from './api.js';
import { h, clear, notify, hideNotice, act, sessionEnded, describe, titleText, confirmed, plainly } from './dom.js';
import * as overview from './overview.js';
import * as integrations from './integrations.js';
import * as endpoint from './endpoint.js';
import * as live from './live.js';
import * as catalog from './catalog.js';
import * as audit from './audit.js';

const base = portal ? '/portal' : '/console';
const main = document.getElementById('main');
let session = null;
let cleanup = null;
// The address (path and query) of the screen on the page: a move in the history that keeps it only
// changed the #place on it.
let shown = null;
// Counts the screens shown, so that a screen still loading after the next one was shown changes nothing.
let shows = 0;

// [pattern, label in the menu, screen, title until the screen names what it shows (else the label)]
const screens = portal
  ? [
      ['', 'Endpoints', integrations.portalHome],
      ['endpoints/:id', null, endpoint.render, 'Endpoint'],
      ['catalog', 'Event catalog', catalog.render],
    ]
  : [
      ['', 'Overview', overview.render],
      ['integrations', 'Integrations', integrations.list],
      ['integrations/:id', null, integrations.render, 'Integration'],
      ['endpoints', 'Endpoints', integrations.endpoints],
      ['endpoints/:id', null, endpoint.render, 'Endpoint'],
      ['live', 'Live events', live.render],
      ['catalog', 'Event catalog', catalog.render],
      ['audit', 'Audit log', audit.render],
    ];

function match(path) {
  const rest = path.slice(base.length).replace(/^\/|\/$/g, '');
  for (const [pattern, label, screen, title] of screens) {
    const names = pattern.split('/');
    const parts = rest === '' ? [''] : rest.split('/');
    if (names.length !== parts.length) continue;
    const params = {};
    if (names.every((n, i) => (n.startsWith(':') ? ((params[n.slice(1)] = decodeURIComponent(parts[i])), true) : n === parts[i]))) {
      return { screen, params, pattern, title: title || label };
    }
  }
  return null;
}

export function navigate(url, { replace = false } = {}) {
  history[replace ? 'replaceState' : 'pushState'](null, '', url);
  show(true);
}

/** Changes the address of the screen on the page (a filter, the message open) without showing it again. */
function replaceAddress(url) {
  history.replaceState(null, '', url);
  shown = location.pathname + location.search;
}

function appName() {
  const name = (session && session.brand && session.brand.name) || 'Switchboard';
  return portal ? `${name} · Webhooks` : `${name} console`;
}

/** The window's title names the screen (and what it shows), so that tabs, history and screen readers tell screens apart. */
function setTitle(screen) {
  document.title = titleText(`${screen} · ${appName()}`);
}

function ctx(params, turn) {
  return {
    session,
    params,
    query: new URLSearchParams(location.search),
    base,
    portal,
    navigate,
    replaceAddress,
    title: (text) => turn === shows && setTitle(text),
    // The server checks every action; the page only leaves out what this session may not do.
    can: (capability) => !portal || (session.capabilities || []).includes(capability),
  };
}

async function show(moved) {
  if (cleanup) {
    cleanup();
    cleanup = null;
  }
  hideNotice();
  shown = location.pathname + location.search;
  const turn = ++shows;
  if (!session) {
    renderSignedOut();
    return;
  }
  const found = match(location.pathname);
  shell(found && found.pattern);
  setTitle(found ? found.title : 'Not found');
  if (!found) {
    clear(main, h('h1', {}, 'Not found'), h('p', {}, 'No screen at this address. ', h('a', { href: base }, 'Go to the start.')));
  } else {
    clear(main);
    try {
      const done = (await found.screen(main, ctx(found.params, turn))) || null;
      // A later screen is shown already: this one's clean-up (a live socket's close) runs now, not instead of its.
      if (turn !== shows) {
        if (done) done();
        return;
      }
      cleanup = done;
    } catch (e) {
      if (turn !== shows) return;
      setTitle('Something went wrong');
      clear(main, h('h1', {}, 'Something went wrong'), h('p', { class: 'error', role: 'alert' }, describe(e)));
    }
  }
  if (turn !== shows) return;
  if (moved) main.focus();
  revealTarget();
}

/** An address with a #place (a catalog's collection): the browser looked for it before the screen was drawn. */
function revealTarget() {
  const id = decodeURIComponent(location.hash.slice(1));
  const target = id && document.getElementById(id);
  if (target) target.scrollIntoView();
}

function shell(active) {
  const nav = document.getElementById('nav');
  const top = (pattern) => pattern.split('/')[0];
  clear(nav, h('ul', {}, screens.filter(([, label]) => label).map(([pattern, label]) =>
    h('li', {}, h('a', { href: pattern ? `${base}/${pattern}` : base, 'aria-current': active != null && top(active) === top(pattern) ? 'page' : null }, label)))));
  const brand = document.getElementById('brand');
  brand.href = base;
  brand.textContent = appName();
  const accent = session.brand && session.brand.accentColor;
  if (accent && /^#[0-9a-fA-F]{3,8}$/.test(accent)) document.documentElement.style.setProperty('--accent', accent);
  const who = document.getElementById('who');
  const signOut = h('button', { type: 'button', class: 'link', id: 'sign-out' }, 'Sign out');
  signOut.addEventListener('click', () => act(signOut, async () => {
    await call('DELETE', '/console/api/session');
    signedOut('You are signed out.');
  }));
  // bdi: an integration's name is shown as written, and direction marks in it stop at its end.
  clear(who, h('bdi', { class: 'muted' }, portal ? session.integrationName || session.integrationId : 'Operator'), ' ', signOut);
}

function signedOut(message) {
  session = null;
  useSession(null);
  if (!portal && !location.pathname.startsWith(`${base}/signin`)) {
    const next = location.pathname + location.search;
    history.replaceState(null, '', `${base}/signin${next === base ? '' : `?next=${encodeURIComponent(next)}`}`);
  }
  show(false);
  if (message) notify(message, 'info');
}

function renderSignedOut() {
  clear(document.getElementById('nav'));
  clear(document.getElementById('who'));
  setTitle(portal ? 'Signed out' : 'Sign in');
  if (portal) {
    clear(main, h('h1', {}, 'Webhooks portal'),
      h('p', {}, 'Open this portal with the link your platform gave you. Each link works once; ask for a new one when it has expired.'));
    return;
  }
  const key = h('input', { type: 'password', id: 'admin-key', name: 'adminKey', autocomplete: 'off', required: true, spellcheck: 'false' });
  const submit = h('button', { type: 'submit', id: 'sign-in' }, 'Sign in');
  const form = h('form', { class: 'panel narrow', id: 'sign-in-form' },
    h('h1', {}, 'Sign in'),
    h('p', {}, 'Sign in with the admin key the server printed when it first started (or SWITCHBOARD_ADMIN_KEY). The key is exchanged for a session; this page keeps no copy of it.'),
    h('div', { class: 'field' }, h('label', { for: 'admin-key' }, 'Admin key'), key),
    submit);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    act(submit, async () => {
      try {
        const answer = await call('POST', '/console/api/session', { adminKey: key.value }, { quiet401: true });
        key.value = '';
        signedIn(answer);
        const next = new URLSearchParams(location.search).get('next');
        navigate(next && next.startsWith('/console') ? next : base, { replace: true });
      } catch (e) {
        if (e instanceof ApiError && e.status === 401) throw new Error('That is not the admin key.');
        throw e;
      }
    });
  });
  clear(main, form);
  key.focus();
}

function signedIn(answer) {
  session = answer;
  useSession(answer);
}

/**
 * A portal link carries its secret in the fragment: exchanged once for a session, then removed. Any page can
 * send a browser to /portal#token=… with a link of its own integration: where the browser has a portal
 * session, the server uses the link only once the visitor said so (409 portal_session_open, then sent again
 * with replace), or the visitor would go on, unaware, in that integration's portal.
 */
async function exchangePortalLink() {
  const token = new URLSearchParams(location.hash.slice(1)).get('token');
  if (!token) return false;
  history.replaceState(null, '', location.pathname + location.search);
  let replace = false;
  for (;;) {
    let opened;
    try {
      opened = await call('POST', '/portal/api/session', replace ? { token, replace } : { token }, { quiet401: true });
    } catch (e) {
      if (e.code === 'portal_session_open' && !replace) {
        const name = plainly(e.details.integrationName);
        if (await confirmed(`This link opens another portal session, in place of the one you have for ${name}.`
          + ' Open it? Open only links your platform gave you.')) {
          replace = true;
          continue;
        }
        await keepSession(`The link was not used: you are still in the portal of ${name}.`);
        return true;
      }
      const why = {
        link_already_used: 'This link was already used. Each portal link opens the portal once: ask your platform for a new one.',
        link_expired: 'This link has expired. Ask your platform for a new one.',
        link_not_found: 'This link is not valid.',
      }[e.code] || `The link could not be used (${e.message}).`;
      if (session || replace) {
        // A link opened again where a session still works: that session, and the screen, stay.
        await keepSession(why);
      } else {
        linkRefused(why);
      }
      return true;
    }
    signedIn(opened);
    show(false);
    return true;
  }
}

/** Goes on with the portal session the browser has (a page just loaded reads it first), and says why. */
async function keepSession(why) {
  if (!session) {
    try {
      signedIn(await call('GET', '/console/api/session', undefined, { quiet401: true }));
    } catch {
      linkRefused(why); // it ended meanwhile
      return;
    }
    show(false);
  }
  notify(why);
}

function linkRefused(why) {
  renderSignedOut();
  setTitle('Link refused');
  clear(main, h('h1', {}, 'Webhooks portal'), h('p', { class: 'error', role: 'alert', id: 'link-error' }, why));
}

document.addEventListener('click', (event) => {
  const a = event.target.closest('a[href]');
  if (!a || event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || a.target) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin || !(url.pathname === base || url.pathname.startsWith(`${base}/`))) return;
  if (url.hash && url.pathname === location.pathname && url.search === location.search) return; // a place on this screen
  event.preventDefault();
  navigate(url.pathname + url.search + url.hash);
});
// A link to a place on the screen (Skip to content, the catalog's contents) is a move in the history too:
// the browser scrolls to the place and focuses it, and the screen, with what was loaded and typed in it, stays.
window.addEventListener('popstate', () => {
  if (location.pathname + location.search !== shown) show(true);
});
whenSignedOut(() => signedOut(sessionEnded()));
// A second portal link opened in a tab already on /portal changes only the fragment, so the page is not
// loaded again: its token is exchanged here, or it would stay unused in the address and the history
// while the page went on with the session of the first.
window.addEventListener('hashchange', () => {
  if (portal) exchangePortalLink();
});

async function start() {
  if (portal && (await exchangePortalLink())) return;
  try {
    signedIn(await call('GET', '/console/api/session', undefined, { quiet401: true }));
    const kindFits = portal ? session.kind === 'portal' : session.kind === 'operator';
    if (!kindFits) {
      session = null;
      useSession(null);
    }
  } catch (e) {
    if (!(e instanceof ApiError && e.status === 401)) notify(e);
  }
  if (session && !portal && location.pathname.startsWith(`${base}/signin`)) {
    navigate(base, { replace: true });
    return;
  }
  if (!session && !portal && !location.pathname.startsWith(`${base}/signin`)) {
    signedOut(null);
    return;
  }
  show(false);
}

start();
