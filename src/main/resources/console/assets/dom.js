// Building the page: a small element builder, dates in the viewer's local time, confirmations,
// and one place that shows what went wrong.
import { onPortal } from './api.js';

const PROPS = new Set(['value', 'checked', 'selected', 'disabled', 'hidden']);

/** h('button', {class: 'x', onclick: f}, 'text', child, [children]): an element, never HTML text. */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  setProps(el, props);
  add(el, children);
  return el;
}

const SVG = 'http://www.w3.org/2000/svg';

/** An SVG element (charts): attributes only, never a style attribute (the CSP forbids inline styles). */
export function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) if (v != null) el.setAttribute(k, v);
  add(el, children);
  return el;
}

function setProps(el, props) {
  for (const [k, v] of Object.entries(props || {})) {
    if (v == null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (PROPS.has(k)) el[k] = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
}

export function add(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c == null || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

export function clear(el, ...children) {
  el.replaceChildren();
  return add(el, children);
}

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
const timeOnly = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });

/** A time from the server (RFC 3339), shown in the viewer's time zone. */
export function when(iso) {
  if (!iso) return h('span', { class: 'muted' }, '—');
  const d = new Date(iso);
  return h('time', { datetime: iso, title: iso }, dateTime.format(d));
}

export const clock = (d) => timeOnly.format(d);

/** A datetime-local input's value (the viewer's local time) as an RFC 3339 instant, or null. */
export function instant(local) {
  return local ? new Date(local).toISOString() : null;
}

export function badge(state) {
  return h('span', { class: `badge ${state}` }, state);
}

/**
 * A block of JSON. It may scroll, so it takes the keyboard's focus (to scroll it with the arrow keys)
 * and has a name that says what it holds.
 */
export function json(value, label) {
  return h('pre', { class: 'json', tabindex: '0', role: 'group', 'aria-label': label }, plainly(JSON.stringify(value, null, 2)));
}

/** A table that scrolls sideways on a narrow screen: focusable, for the keyboard, and named, for a screen reader. */
export function scrollBox(label, ...children) {
  return h('div', { class: 'scroll', tabindex: '0', role: 'region', 'aria-label': label }, children);
}

/** Text only a screen reader says, e.g. the rest of a repeated button's name. */
export function hiddenText(text) {
  return h('span', { class: 'visually-hidden' }, text);
}

/**
 * Moves the keyboard's focus into el: to its first control, else to el itself (focusable by script
 * only), so that Tab goes on from there, e.g. from the first of the rows Load more added.
 */
export function focusInto(el) {
  const target = el.querySelector('a[href], button:not([disabled]), summary, input, select') || el;
  if (target === el && !el.hasAttribute('tabindex')) el.setAttribute('tabindex', '-1');
  target.focus();
}

/** A labelled form field; the input gets an id so the label points at it. */
let fieldIds = 0;
export function field(label, input, hint) {
  const id = input.id || `f${++fieldIds}`;
  input.id = id;
  return h('div', { class: 'field' }, h('label', { for: id }, label), input, hint && h('small', { class: 'muted' }, hint));
}

export function section(title, ...children) {
  return h('section', { class: 'panel' }, h('h2', {}, title), children);
}

/** Shows an error (an API refusal names its status and code) at the top of the page, for screen readers too. */
export function notify(error, kind = 'error') {
  const box = document.getElementById('notice');
  const text = typeof error === 'string' ? error : describe(error);
  box.className = kind;
  clear(box, h('span', {}, text), h('button', { type: 'button', class: 'link', onclick: () => (box.hidden = true) }, 'Dismiss'));
  box.hidden = false;
}

export function hideNotice() {
  document.getElementById('notice').hidden = true;
}

/** What to do once the session has ended: the console signs in again, the portal has no sign-in. */
export function sessionEnded() {
  return onPortal
    ? 'Your portal session has ended. Ask your platform for a new portal link to open it again.'
    : 'Your session has ended. Sign in again.';
}

/** A refusal as a sentence: the server's reason first, its status and code (for a support request) after. */
export function describe(error) {
  if (error && error.status === 401) return sessionEnded();
  if (error && error.status) {
    const reason = String(error.message || '');
    return `${reason.charAt(0).toUpperCase()}${reason.slice(1)} (${error.status} ${error.code}).`;
  }
  return String(error && error.message ? error.message : error);
}

/** An inline error for one panel that failed to load; the rest of the screen still works. */
export function failure(error) {
  return h('p', { class: 'error', role: 'alert' }, describe(error));
}

/**
 * Runs an action started by a button: the button is disabled while it runs, a refusal is shown, and
 * the button's own confirmation question (when given) is asked first in a modal dialog.
 */
export async function act(button, action, question) {
  // Disabling the focused button (and the dialog) sends the keyboard's focus to <body>: it is given back
  // to the button when the button is still on the page and the action has not moved it on purpose (to a
  // result, or to a control that replaced the button).
  const hadFocus = button != null && document.activeElement === button;
  if (question) {
    const yes = await confirmed(question);
    if (hadFocus) button.focus();
    if (!yes) return undefined;
  }
  if (button) button.disabled = true;
  try {
    hideNotice();
    return await action();
  } catch (e) {
    notify(e);
    return undefined;
  } finally {
    if (button) {
      button.disabled = false;
      if (hadFocus && button.isConnected && focusLost()) button.focus();
    }
  }
}

const focusLost = () => !document.activeElement || document.activeElement === document.body;

/** A modal yes/no question (a native dialog: focus stays inside it, Escape says no). */
export function confirmed(question) {
  return new Promise((resolve) => {
    const yes = h('button', { type: 'submit', value: 'yes', class: 'danger' }, 'Confirm');
    const no = h('button', { type: 'submit', value: 'no' }, 'Cancel');
    const dialog = h('dialog', { class: 'confirm', 'aria-labelledby': 'confirm-q' },
      h('form', { method: 'dialog' }, h('p', { id: 'confirm-q' }, question), h('div', { class: 'row' }, no, yes)));
    dialog.addEventListener('close', () => {
      dialog.remove();
      resolve(dialog.returnValue === 'yes');
    });
    document.body.append(dialog);
    dialog.showModal();
    no.focus();
  });
}

// Characters that reorder the text after them (embeddings, overrides, isolates): in text a partner or a
// receiver wrote, they make "gnp.exe" read as "exe.png". (Marks such as U+200F, which right-to-left
// writing uses, only place the characters beside them, and are left as they are.)
const DIRECTION_CONTROLS = /[\u202A-\u202E\u2066-\u2069]/g;

/** Text others wrote, with its direction controls shown as what they are (U+202E) instead of obeyed. */
export function plainly(text) {
  return String(text).replace(DIRECTION_CONTROLS, (c) => `⟨U+${c.codePointAt(0).toString(16).toUpperCase().padStart(4, '0')}⟩`);
}

/** Text for the window's title, which cannot isolate what it quotes: direction controls left out. */
export function titleText(text) {
  return String(text).replace(DIRECTION_CONTROLS, '');
}

/** A URL without its query (partners keep shared secrets there), for places such as the window's title. */
export function withoutQuery(url) {
  const at = String(url).indexOf('?');
  return at < 0 ? String(url) : `${String(url).slice(0, at)}?…`;
}

/** Gives the keyboard's focus to the secret just shown in {@code container}, selecting it whole. */
export function focusSecret(container) {
  const value = container.querySelector('.secret-value');
  if (value) value.focus();
}

/** A secret shown once, with a note that it will not be shown again, and a Copy button. */
export function secret(label, value, id) {
  return h('div', { class: 'secret' },
    h('p', { role: 'status' }, h('strong', {}, label), ' (shown once; copy it now):'),
    copyable(label, value, id));
}

let copyables = 0;

/**
 * A value to copy: it takes the keyboard's focus and is then selected whole (Ctrl+C copies it), and its
 * Copy button says whether the browser let the page write to the clipboard (it may refuse: a page not
 * served over https, a permission denied).
 */
export function copyable(label, value, id) {
  const shown = h('code', { class: 'secret-value', id: id || `copyable-${++copyables}`, tabindex: '0', role: 'textbox', 'aria-readonly': 'true', 'aria-label': label }, value);
  shown.addEventListener('focus', () => window.getSelection().selectAllChildren(shown));
  const said = h('span', { class: 'copied', role: 'status' });
  const copy = h('button', { type: 'button', class: 'copy' }, 'Copy', hiddenText(` ${label.charAt(0).toLowerCase()}${label.slice(1)}`));
  copy.addEventListener('click', async () => {
    said.textContent = '';
    try {
      await navigator.clipboard.writeText(value);
      said.textContent = 'Copied.';
    } catch {
      shown.focus();
      window.getSelection().selectAllChildren(shown);
      said.textContent = 'The browser did not let the page copy it: it is selected, press Ctrl+C (⌘C on a Mac) to copy it.';
    }
  });
  return h('div', { class: 'row copy-row' }, shown, copy, said);
}

/**
 * A list the server pages (integrations, an integration's connections, endpoints) as a table, a page at a
 * time: loadPage(cursor) answers { items, cursor } (cursor null on the first call and at the end), row(item)
 * draws one row, and a button loads the next page while there is one. Returns the table and its button, or
 * the empty text.
 */
export async function pagedTable({ label, columns, loadPage, row, empty, moreId }) {
  const first = await loadPage(null);
  if (first.items.length === 0) return h('p', { class: 'muted' }, empty);
  const tbody = h('tbody', {});
  const more = h('div', {});
  function add(page) {
    const added = page.items.map(row);
    tbody.append(...added);
    clear(more, page.cursor ? nextPageButton(moreId, 'Load more', async (cursor) => add(await loadPage(cursor)), page.cursor) : null);
    return added[0];
  }
  add(first);
  const table = scrollBox(label, h('table', {}, h('thead', {}, h('tr', {}, columns.map((t) => h('th', { scope: 'col' }, t)))), tbody));
  return h('div', {}, table, more);
}

/** Rows a page of a list screen asks the server for at once: a screen of them, not thousands of buttons. */
export const PAGE = 100;

/**
 * A button that loads the page after cursor and adds its rows. It is replaced below the new rows, so the
 * focus goes to the first of them (loadPage returns it), and Tab skips none.
 */
export function nextPageButton(id, text, loadPage, cursor) {
  const b = h('button', { type: 'button', id }, text);
  b.addEventListener('click', () => act(b, async () => {
    const first = await loadPage(cursor);
    if (first) focusInto(first);
  }));
  return b;
}

export function button(text, onclick, cls) {
  return h('button', { type: 'button', class: cls, onclick }, text);
}
