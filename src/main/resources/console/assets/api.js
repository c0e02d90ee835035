// Talking to the server: the session cookie (HttpOnly, set by the server) authenticates; every change
// carries the session's CSRF token. Nothing secret is ever written to the browser's storage.

let csrfToken = null;
let onSignedOut = () => {};

export class ApiError extends Error {
  constructor(status, body) {
    const error = (body && body.error) || {};
    super(error.message || `the server answered ${status}`);
    this.status = status;
    this.code = error.code || `http_${status}`;
    this.details = error.details;
  }
}

export function useSession(session) {
  csrfToken = session ? session.csrfToken : null;
}

/** What to do when the server no longer knows the session (idle expiry, signed out elsewhere). */
export function whenSignedOut(callback) {
  onSignedOut = callback;
}

/** Whether this page is the partner portal (under /portal) rather than the operator console. */
export const onPortal = location.pathname === '/portal' || location.pathname.startsWith('/portal/');
// The console and the portal each have a session cookie of their own, so one browser can be signed in
// to both; every request names the one this page uses.
const sessionKind = onPortal ? 'portal' : 'console';

/** No answer at all (the server is down, the network is gone): the browser only says "Failed to fetch". */
export class NetworkError extends Error {
  constructor() {
    super('The server could not be reached; check that it is running and try again.');
  }
}

export async function call(method, path, body, { quiet401 = false } = {}) {
  const headers = { Accept: 'application/json', 'X-Switchboard-Session': sessionKind };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && csrfToken) headers['X-CSRF-Token'] = csrfToken;
  let response;
  let text;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      cache: 'no-store',
    });
    text = await response.text();
  } catch {
    // fetch rejects only when no answer arrived (or was cut off): an answer with an error status resolves.
    throw new NetworkError();
  }
  let parsed = null;
  if (text) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = null;
    }
  }
  if (!response.ok) {
    const error = new ApiError(response.status, parsed);
    if (response.status === 401 && !quiet401 && csrfToken) {
      csrfToken = null;
      onSignedOut(error);
    }
    throw error;
  }
  return parsed;
}

export const get = (path) => call('GET', path);
export const post = (path, body = {}) => call('POST', path, body);
export const patch = (path, body) => call('PATCH', path, body);
export const del = (path) => call('DELETE', path);

/** A query string of the given fields that have a value. */
export function query(fields) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(fields)) if (v != null && v !== '') q.set(k, v);
  const text = q.toString();
  return text ? `?${text}` : '';
}

export const enc = encodeURIComponent;
