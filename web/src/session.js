// Who is signed in, and what that allows the dashboard to show. Two ways in: a password (a cookie session:
// the HttpOnly `maeul_session` cookie is the only secret, and this file never sees it) or an API token for a
// kiosk display (kept in sessionStorage by api.js). `GET /api/v1/me` says who the caller is; the role decides
// which screens and which domains are offered, so that nobody is shown a screen that could only answer 403.
import { api, ApiError, getToken, setToken, clearToken } from './api.js';
import { DOMAINS } from './store.js';

const MODE_KEY = 'maeul.auth'; // 'password' | 'token': this tab believes it is signed in
const USER_KEY = 'maeul.user'; // {username, display_name} from the sign-in answer (not a secret)
const EXPIRED_KEY = 'maeul.expired'; // the sign-in page says why it is shown: 'expired' | 'signed-out'

export const session = {
  me: null, // GET /api/v1/me: {kind, name, role, zones, domains, expires_at}
};

function get(key) { try { return sessionStorage.getItem(key); } catch { return null; } }
function put(key, v) { try { if (v === null) sessionStorage.removeItem(key); else sessionStorage.setItem(key, v); } catch { /* storage off */ } }

// 'password' | 'token' | null
export function mode() {
  if (getToken()) return 'token';
  return get(MODE_KEY) === 'password' ? 'password' : null;
}

// Did this tab sign in (so that a 401 now means the session ended)?
export function wasSignedIn() { return !!mode(); }

// Who is signed in, asked once per page load (and after each sign-in). Resolves to `me`, or null when
// nobody is (401); rejects on any other failure (server unreachable, 5xx).
let pending = null;
export function loadMe() {
  if (session.me) return Promise.resolve(session.me);
  if (!pending) {
    pending = api('/api/v1/me', { quiet: true })
      .then((me) => { session.me = me; return me; })
      .catch((e) => { if (e instanceof ApiError && e.status === 401) return null; throw e; })
      .finally(() => { pending = null; });
  }
  return pending;
}

// After POST /api/v1/sessions answered 201: the cookie is set; keep who it is for the header.
export function signedInWithPassword(answer) {
  clearToken();
  put(EXPIRED_KEY, null);
  put(MODE_KEY, 'password');
  const u = answer?.user || {};
  put(USER_KEY, JSON.stringify({ username: u.username, display_name: u.display_name }));
  session.me = null;
}

export function signedInWithToken(tok) {
  put(EXPIRED_KEY, null);
  put(MODE_KEY, 'token');
  put(USER_KEY, null);
  setToken(tok);
  session.me = null;
}

// Forgets everything this tab knew about the sign-in; `why` is shown on the sign-in page.
export function forget(why) {
  clearToken();
  put(MODE_KEY, null);
  put(USER_KEY, null);
  put(EXPIRED_KEY, why || null);
  session.me = null;
}

// Why the sign-in page is shown: 'expired' | 'signed-out' | null. Kept until the next sign-in, so that it
// survives a switch of language (which draws the page again).
export function signInReason() {
  const v = get(EXPIRED_KEY);
  return v === 'expired' || v === 'signed-out' ? v : null;
}

// The name to show: the display name given at sign-in when it is the same account, else /me's name.
export function displayName() {
  const me = session.me;
  if (!me) return '';
  if (me.display_name) return me.display_name;
  try {
    const u = JSON.parse(get(USER_KEY) || 'null');
    if (me.kind === 'user' && u && u.username === me.name && u.display_name) return u.display_name;
  } catch { /* ignore */ }
  return me.name;
}

export function role() { return session.me?.role || ''; }

// Screens and data by role (docs/openapi.yaml, "Authentication and roles"; API §8 "Welfare data").
export function can(what) {
  const r = role();
  switch (what) {
    case 'users': case 'access-review': return r === 'admin';
    case 'welfare-data': return r === 'admin' || r === 'welfare_officer';
    case 'alerts': case 'live': case 'incidents-write': return r === 'admin' || r === 'operator' || r === 'welfare_officer';
    default: return false;
  }
}

// Domains whose sensors (and their readings) this person may see: the scope's, and welfare only for admin
// and welfare_officer.
export function sensorDomains() {
  const scope = session.me?.domains || [];
  return DOMAINS.filter((d) => (!scope.length || scope.includes(d)) && (d !== 'welfare' || can('welfare-data')));
}

// Domains of alerts this person may see (other roles see welfare alerts without the household's data).
export function alertDomains() {
  const scope = session.me?.domains || [];
  return DOMAINS.filter((d) => !scope.length || scope.includes(d));
}
