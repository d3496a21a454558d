// REST client. Signed in with a password, the browser sends the HttpOnly session cookie by itself (fetch
// same-origin; POST/PATCH/DELETE carry the Origin header the server checks) and nothing secret is kept
// here. Signed in with an API token (a kiosk display), the token is kept in sessionStorage and sent as a
// Bearer header (never in a page URL).
import { emit } from './bus.js';

const TOKEN_KEY = 'maeul.token';

export function getToken() {
  try { return sessionStorage.getItem(TOKEN_KEY) || ''; } catch { return ''; }
}
export function setToken(tok) {
  try { sessionStorage.setItem(TOKEN_KEY, tok); } catch { /* private mode */ }
}
export function clearToken() {
  try { sessionStorage.removeItem(TOKEN_KEY); } catch { /* private mode */ }
}

export class ApiError extends Error {
  constructor(status, path, problem, retryAfter) {
    super(problem?.detail || problem?.title || `HTTP ${status}`);
    this.status = status;
    this.path = path;
    this.problem = problem;
    this.retryAfter = retryAfter; // seconds, from Retry-After (429, 503), or undefined
  }
  // 404 on a route: the server does not offer it (yet). 501 likewise.
  get notAvailable() { return this.status === 404 || this.status === 501; }
  get forbidden() { return this.status === 403; }
}

// Seconds from a Retry-After header (delta-seconds or an HTTP date), or undefined.
function retryAfterOf(res) {
  const v = res.headers.get('retry-after');
  if (!v) return undefined;
  if (/^\d+$/.test(v.trim())) return Number(v.trim());
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.round((at - Date.now()) / 1000));
}

// api('/api/v1/zones', {method, body, accept, token, raw, quiet}) → parsed JSON (or text/Blob with raw/accept).
// A 401 from an /api/ route tells the app that the session or token ended ('auth:lost'), unless the call
// named its own token or is `quiet` (sign-in attempts, the first look at who is signed in).
export async function api(path, opts = {}) {
  const headers = { Accept: opts.accept || 'application/json' };
  const token = opts.token ?? (path.startsWith('/api/') ? getToken() : '');
  if (token) headers.Authorization = `Bearer ${token}`;
  let body;
  if (opts.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(opts.body);
  }
  let res;
  try {
    res = await fetch(path, { method: opts.method || 'GET', headers, body, signal: opts.signal, cache: 'no-store', credentials: 'same-origin' });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    const err = new ApiError(0, path, { detail: 'network error' });
    err.network = true;
    throw err;
  }
  if (!res.ok) {
    let problem;
    try { problem = await res.json(); } catch { problem = undefined; }
    const err = new ApiError(res.status, path, problem, retryAfterOf(res));
    if (res.status === 401 && path.startsWith('/api/') && opts.token === undefined && !opts.quiet) emit('auth:lost');
    throw err;
  }
  if (opts.raw === 'blob') return res.blob();
  if (opts.raw === 'text') return res.text();
  if (res.status === 204) return null;
  const text = await res.text();
  return text ? JSON.parse(text) : null;
}

// Every item of a paginated list.
export async function listAll(path, { limit = 1000, max = 20000 } = {}) {
  const out = [];
  let cursor = null;
  const sep = path.includes('?') ? '&' : '?';
  do {
    const page = await api(`${path}${sep}limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    out.push(...(page.items || []));
    cursor = page.next_cursor;
  } while (cursor && out.length < max);
  return out;
}

export function query(params) {
  const q = Object.entries(params).filter(([, v]) => v !== undefined && v !== null && v !== '')
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');
  return q ? `?${q}` : '';
}
