// The live feed: WebSocket /api/v1/live with reconnection (exponential back-off with jitter), a heartbeat,
// replay of missed alert events (`since`), and a polling fallback while the server has no live feed (or the
// role may not use it). Signed in with a password, the browser sends the session cookie with the upgrade;
// with a display token, the token goes in `?access_token=`. A feed closed because the session ended or the
// credential was revoked is checked with a plain request, whose 401 takes the app back to the sign-in page.
import { api, getToken, ApiError } from './api.js';
import { emit } from './bus.js';
import { state, stats, changed, applyObservation, applyAlertEvent, loadLatest, loadAlerts } from './store.js';

const BACKOFF_MIN_MS = 1000;
const BACKOFF_MAX_MS = 30000;
const PING_EVERY_MS = 20000;
const SILENCE_LIMIT_MS = 50000; // no message at all for this long: the connection is dead
export const POLL_EVERY_S = 5;

let ws = null;
let attempt = 0;
let retryTimer = null;
let pingTimer = null;
let pollTimer = null;
let lastMessageAt = 0;
let stopped = true;
let everOpened = false;
let refused = 0; // upgrades refused in a row while the server answers plain requests
let withAlerts = true; // the role may read alerts (polling asks for them too)

function setLive(status, extra = {}) {
  state.live = { status, ...extra };
  changed('live');
}

// feed: false for a role that may not use the live feed (analyst): poll from the start. alerts: false for a
// role that may not read alerts (polling then asks only for the latest values).
export function startLive({ feed = true, alerts = true } = {}) {
  stopped = false;
  withAlerts = alerts;
  refused = 0;
  attempt = 0;
  everOpened = false;
  window.addEventListener('online', onOnline);
  window.addEventListener('offline', onOffline);
  document.addEventListener('visibilitychange', onVisible);
  if (feed) connect();
  else { setLive('forbidden'); startPolling(); }
}

export function stopLive() {
  stopped = true;
  window.removeEventListener('online', onOnline);
  window.removeEventListener('offline', onOffline);
  document.removeEventListener('visibilitychange', onVisible);
  clearTimeout(retryTimer);
  clearInterval(pingTimer);
  clearInterval(pollTimer);
  pollTimer = null;
  if (ws) { ws.onclose = null; try { ws.close(1000); } catch { /* closed */ } }
  ws = null;
}

// The operator asks for it (or the network came back): try at once.
export function reconnectNow() {
  if (stopped) return;
  clearTimeout(retryTimer);
  attempt = 0;
  if (ws && ws.readyState <= 1) return;
  connect();
}

function onOnline() { state.online = true; changed('live'); reconnectNow(); }
function onOffline() { state.online = false; changed('live'); }
function onVisible() {
  if (document.visibilityState === 'visible' && state.live.status === 'retrying') reconnectNow();
}

function wsUrl() {
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  // Browsers cannot set headers on a WebSocket: the contract takes a token as access_token here. A cookie
  // session needs nothing: the browser sends the cookie with the upgrade.
  const tok = getToken();
  return `${proto}//${location.host}/api/v1/live${tok ? `?access_token=${encodeURIComponent(tok)}` : ''}`;
}

function connect() {
  if (stopped) return;
  clearTimeout(retryTimer);
  setLive('connecting');
  let opened = false;
  let sock;
  try {
    sock = new WebSocket(wsUrl());
  } catch {
    scheduleRetry();
    return;
  }
  ws = sock;
  sock.onopen = () => {
    opened = true;
    everOpened = true;
    refused = 0;
    lastMessageAt = Date.now();
    const sub = { type: 'subscribe', domains: [], zones: [], sensors: [], alerts: true, vehicles: true };  // vehicles: the transit screen's buses
    if (state.lastEventId !== null) sub.since = state.lastEventId;
    sock.send(JSON.stringify(sub));
    clearInterval(pingTimer);
    pingTimer = setInterval(() => {
      if (Date.now() - lastMessageAt > SILENCE_LIMIT_MS) { try { sock.close(4000, 'silent'); } catch { /* closed */ } return; }
      if (sock.readyState === 1) sock.send('{"type":"ping"}');
    }, PING_EVERY_MS);
  };
  sock.onmessage = (ev) => {
    lastMessageAt = Date.now();
    let msg;
    try { msg = JSON.parse(ev.data); } catch { return; }
    switch (msg.type) {
      case 'observation': applyObservation(msg); break;
      case 'alert': applyAlertEvent(msg); break;
      case 'vehicle': emit('vehicle', msg); break;  // a bus position (the transit screen keeps them)
      case 'hello':
        // A first connection starts from the server's latest event; the alert list comes from REST.
        if (state.lastEventId === null && typeof msg.event_id === 'number') state.lastEventId = msg.event_id;
        break;
      case 'subscribed': {
        const wasLive = state.live.status === 'live';
        attempt = 0;
        stopPolling();
        setLive('live');
        if (!wasLive) resync();
        break;
      }
      case 'notice':
        // The server sent only the latest reading per sensor and metric to catch us up: nothing is missing.
        if (msg.code === 'coalesced' && typeof msg.dropped === 'number') stats.coalesced += msg.dropped;
        break;
      default: break; // pong
    }
  };
  sock.onclose = (ev) => {
    clearInterval(pingTimer);
    if (ws === sock) ws = null;
    if (stopped) return;
    if (!opened || /session|revoked|credential|token|auth/i.test(ev.reason || '')) {
      // Refused, or closed for the credential: is there a live feed at all, and may we still use it?
      // (A 401 here ends the session in the app, through api.js.)
      probe().then((kind) => {
        if (stopped || kind === 'unauthorized') return;
        if (kind === 'missing' && !everOpened) startPolling();
        else if (kind === 'forbidden') { setLive('forbidden'); startPolling(); }
        // The server answers, but the upgrade keeps failing (a proxy without WebSockets, a stale session
        // cookie sent with it): poll meanwhile; the poll tries the feed again once a minute.
        else if (!opened && kind === 'present' && ++refused >= 3) startPolling();
        else scheduleRetry();
      });
      return;
    }
    scheduleRetry();
  };
  sock.onerror = () => { /* onclose follows */ };
}

// After a (re)connection: what happened while we were away.
function resync() {
  loadLatest();
  if (withAlerts) loadAlerts();
}

function scheduleRetry() {
  if (stopped) return;
  const base = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** attempt);
  const delay = Math.round(base * (0.75 + Math.random() * 0.5));
  attempt++;
  setLive(state.online ? 'retrying' : 'offline', { retryAt: Date.now() + delay });
  retryTimer = setTimeout(connect, delay);
}

// GET /api/v1/live without an upgrade: 404 means the server has no live feed (yet).
async function probe() {
  try {
    await api('/api/v1/live');
    return 'present';
  } catch (e) {
    if (e instanceof ApiError) {
      if (e.status === 404) return 'missing';
      if (e.status === 403) return 'forbidden';
      if (e.status === 401) return 'unauthorized';
      if (e.network) return 'network';
    }
    return 'present';
  }
}

// Fallback while there is no live feed: refresh the latest values and alerts, and look for the feed again.
function startPolling() {
  if (pollTimer) return;
  if (state.live.status !== 'forbidden') setLive('polling');
  let n = 0;
  const tick = async () => {
    const before = state.live.status;
    n++;
    if (await loadLatest()) state.lastReadingAt = Date.now();
    if (withAlerts && n % 3 === 1) await loadAlerts();
    if (before === 'polling' && n % 12 === 0) {
      // once a minute: has the live feed appeared?
      if ((await probe()) !== 'missing') { stopPolling(); attempt = 0; connect(); }
    }
  };
  pollTimer = setInterval(tick, POLL_EVERY_S * 1000);
  tick();
}

function stopPolling() {
  clearInterval(pollTimer);
  pollTimer = null;
}
