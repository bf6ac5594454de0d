// The console's only way to the server: the HTTP API under /api/v1, with the
// session cookie (HttpOnly, so this code never sees it) and, on every change,
// the CSRF token that the session endpoints hand out. The token is kept in
// memory only and re-read with GET /api/v1/session after a reload.

let csrfToken = null;

/** A refusal or failure from the API, with its words. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** Calls the API; resolves to the JSON body, or rejects with an ApiError. */
export async function api(method, path, body) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && method !== 'HEAD' && csrfToken) headers['X-CSRF-Token'] = csrfToken;
  let response;
  try {
    response = await fetch('/api/v1' + path, {
      method,
      headers,
      credentials: 'same-origin',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (e) {
    throw new ApiError(0, 'network', `The server could not be reached (${e.message}). Is hubkeep serve running?`);
  }
  const text = await response.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!response.ok) {
    const error = data && data.error;
    throw new ApiError(
      response.status,
      (error && error.code) || `http_${response.status}`,
      (error && error.message) || `The server answered ${response.status} ${response.statusText}.`,
    );
  }
  return data;
}

/** A path segment, URL-encoded (ids carry ':' and '/'). */
export const seg = (s) => encodeURIComponent(s);

/** Signs in with an access token: the server sets the session cookie. */
export async function signIn(token) {
  const session = await api('POST', '/session', { token });
  csrfToken = session.csrf_token;
  return session;
}

/** The current session, or null when signed out. */
export async function currentSession() {
  try {
    const session = await api('GET', '/session');
    csrfToken = session.csrf_token;
    return session;
  } catch (e) {
    if (e.status === 401) return null;
    throw e;
  }
}

/** Ends the session on the server and forgets the CSRF token. */
export async function signOut() {
  try {
    await api('DELETE', '/session');
  } finally {
    csrfToken = null;
  }
}
