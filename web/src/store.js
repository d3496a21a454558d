// The live picture of the city: registry, latest readings, active alerts. Updates arrive at any rate
// (WebSocket, polling); views are told about them at most RENDER_HZ times a second, with what changed.
import { api, listAll, ApiError } from './api.js';
import { emit } from './bus.js';

const RENDER_INTERVAL_MS = 250; // at most 4 renders a second

export const SEVERITY_RANK = { critical: 3, warning: 2, info: 1 };
export const DOMAINS = ['disaster', 'welfare', 'mobility', 'energy', 'environment'];

export const state = {
  zones: [],
  zoneById: new Map(),
  sensors: new Map(),
  registry: 'loading', // loading | ok | error
  registryError: null,
  latest: new Map(), // sensor id → { metric: {ts, value} }
  lastReadingAt: 0, // when the last reading arrived (client clock)
  alerts: new Map(), // active alerts (open or acknowledged) by id
  alertsStatus: 'loading', // loading | ok | unavailable | forbidden | error
  alertsBySensor: new Map(), // sensor id → highest severity of its active alerts
  alertsByZone: new Map(), // zone id → {critical, warning, info, open}
  lastEventId: null,
  live: { status: 'connecting', retryAt: 0 }, // connecting | live | retrying | polling | forbidden | offline
  online: navigator.onLine,
};

// Forgets everything loaded for the last person (at sign-out and session end, and before a sign-in), so that
// the next one never sees what only the previous one could.
export function resetStore() {
  Object.assign(state, {
    zones: [], zoneById: new Map(), sensors: new Map(), registry: 'loading', registryError: null,
    latest: new Map(), lastReadingAt: 0, alerts: new Map(), alertsStatus: 'loading',
    alertsBySensor: new Map(), alertsByZone: new Map(), lastEventId: null,
    live: { status: 'connecting', retryAt: 0 },
  });
  alertLoadTaken = alertLoadsStarted; // a list still on its way was asked for the last person: drop it
  emit('store:reset');
  changed('registry');
  changed('alerts');
}

// ------------------------------------------------------------------ change batching

let pending = { sensors: new Set(), alerts: false, live: false, registry: false, any: false };
let timer = null;
let lastFlush = 0;

export function changed(part, key) {
  if (part === 'sensors') pending.sensors.add(key);
  else pending[part] = true;
  pending.any = true;
  schedule();
}

function schedule() {
  if (timer) return;
  const wait = Math.max(0, RENDER_INTERVAL_MS - (performance.now() - lastFlush));
  timer = setTimeout(() => {
    // Rendering waits for a frame, so a hidden tab does no work (readings still land in the maps).
    requestAnimationFrame(flush);
  }, wait);
}

function flush() {
  timer = null;
  lastFlush = performance.now();
  stats.renders++;
  const c = pending;
  pending = { sensors: new Set(), alerts: false, live: false, registry: false, any: false };
  if (c.any) emit('changes', c);
}

// For tests and diagnostics: readings and alert events received, renders run (read-only on window.maeulStats).
export const stats = { observations: 0, alertEvents: 0, renders: 0, coalesced: 0 };
window.maeulStats = stats;

// ------------------------------------------------------------------ registry and latest values

export async function loadRegistry() {
  try {
    const [zones, sensors] = await Promise.all([listAll('/api/v1/zones'), listAll('/api/v1/sensors')]);
    state.zones = zones.sort((a, b) => ZONE_ORDER(a.id) - ZONE_ORDER(b.id) || a.id.localeCompare(b.id));
    state.zoneById = new Map(zones.map((z) => [z.id, z]));
    state.sensors = new Map(sensors.map((s) => [s.id, s]));
    state.registry = 'ok';
    state.registryError = null;
  } catch (e) {
    state.registry = 'error';
    state.registryError = e;
    if (e instanceof ApiError && e.status === 401) return;
  }
  changed('registry');
}

// Demo order: the busiest zones first, as operators in Sokcho read them (north to south).
const ORDER = ['downtown', 'station', 'cheongcho', 'daepo', 'seorak'];
function ZONE_ORDER(id) { const i = ORDER.indexOf(id); return i < 0 ? 99 : i; }

export async function loadLatest() {
  try {
    const res = await api('/api/v1/latest');
    for (const r of res.items || []) applyReading(r.sensor, r.metric, r.ts, r.value);
    return true;
  } catch {
    return false;
  }
}

function applyReading(sensor, metric, ts, value) {
  let m = state.latest.get(sensor);
  if (!m) { m = {}; state.latest.set(sensor, m); }
  const cur = m[metric];
  if (cur && cur.ts >= ts) return false; // an older reading arriving late
  m[metric] = { ts, value };
  changed('sensors', sensor);
  return true;
}

export function applyObservation(o) {
  stats.observations++;
  state.lastReadingAt = Date.now();
  if (applyReading(o.sensor, o.metric, o.ts, o.value)) emit('observation', o);
}

// ------------------------------------------------------------------ alerts

// A REST list is the server's picture at the moment it answered, and it can reach us after live events that
// are newer (an alert opened while the request was on its way): taking it as it is would lose that alert until
// its next change. So every change taken while a list is loading is logged, and replayed over the list when it
// arrives; a list older than one already taken is dropped. Replaying a change the list already holds is
// harmless: the events that come after it arrive afterwards and are taken in their turn.
const MAX_LOGGED_CHANGES = 10000;
let alertLoadsInFlight = 0;
let alertLoadsStarted = 0;
let alertLoadTaken = 0; // the number of the newest list taken
let changeLog = []; // alerts changed (by event or REST answer) while a list was loading, in order
let changeLogBase = 0; // the position of changeLog[0] among all changes logged since the log was last empty
let changeLogOverflow = false;

export async function loadAlerts() {
  const seq = ++alertLoadsStarted;
  const from = changeLogBase + changeLog.length;
  alertLoadsInFlight++;
  try {
    const [open, acked] = await Promise.all([
      listAll('/api/v1/alerts?state=open', { max: 5000 }),
      listAll('/api/v1/alerts?state=acknowledged', { max: 5000 }),
    ]);
    if (seq > alertLoadTaken) {
      alertLoadTaken = seq;
      const lost = changeLogOverflow;
      state.alerts = mergeAlertList([...open, ...acked], changeLog.slice(Math.max(0, from - changeLogBase)));
      state.alertsStatus = 'ok';
      if (lost) queueMicrotask(loadAlerts); // more changed meanwhile than the log keeps: read again
    }
  } catch (e) {
    if (e instanceof ApiError && e.notAvailable) state.alertsStatus = 'unavailable';
    else if (e instanceof ApiError && e.forbidden) state.alertsStatus = 'forbidden';
    else state.alertsStatus = 'error';
  } finally {
    if (--alertLoadsInFlight === 0) { changeLog = []; changeLogBase = 0; changeLogOverflow = false; }
  }
  reindexAlerts();
  changed('alerts');
}

// The active alerts from a REST list, with the changes taken since it was asked for replayed over it in order.
export function mergeAlertList(items, changesSince = []) {
  const m = new Map(items.filter((a) => a && a.id !== undefined).map((a) => [a.id, a]));
  for (const a of changesSince) {
    if (a.state === 'resolved') m.delete(a.id);
    else m.set(a.id, a);
  }
  return m;
}

function logChange(a) {
  if (alertLoadsInFlight === 0) return;
  if (changeLog.length >= MAX_LOGGED_CHANGES) { changeLog.shift(); changeLogBase++; changeLogOverflow = true; }
  changeLog.push(a);
}

function takeAlert(a) {
  if (a.state === 'resolved') state.alerts.delete(a.id);
  else state.alerts.set(a.id, a);
  logChange(a);
}

export function applyAlertEvent(msg) {
  stats.alertEvents++;
  if (typeof msg.event_id === 'number' && (state.lastEventId === null || msg.event_id > state.lastEventId)) {
    state.lastEventId = msg.event_id;
  }
  const a = msg.alert;
  if (!a || a.id === undefined) return;
  const before = state.alerts.get(a.id);
  takeAlert(a);
  state.alertsStatus = 'ok';
  reindexAlerts();
  changed('alerts');
  const ev = msg.event || (before ? 'updated' : 'opened');
  // A critical alert draws attention at once, not at the next render.
  // A staged alert rising to critical (API §12, `severity_changed`) counts as a new critical alert.
  const rose = (ev === 'severity_changed' || ev === 'alert.severity_changed') && before?.severity !== 'critical';
  if (a.severity === 'critical' && (ev === 'opened' || ev === 'escalated' || rose) && a.state === 'open') emit('critical', a);
  emit('alert-event', { event: ev, alert: a });
}

// An alert answered by a REST call (ack, resolve): take it at once.
export function applyAlert(a) {
  if (!a || a.id === undefined) return;
  takeAlert(a);
  reindexAlerts();
  changed('alerts');
}

function reindexAlerts() {
  const bySensor = new Map();
  const byZone = new Map();
  for (const a of state.alerts.values()) {
    const r = SEVERITY_RANK[a.severity] || 0;
    if (a.sensor) {
      const cur = bySensor.get(a.sensor);
      if (!cur || SEVERITY_RANK[cur] < r) bySensor.set(a.sensor, a.severity);
    }
    const zone = a.zone || state.sensors.get(a.sensor)?.zone;
    if (zone) {
      const z = byZone.get(zone) || { critical: 0, warning: 0, info: 0, open: 0 };
      z[a.severity] = (z[a.severity] || 0) + 1;
      if (a.state === 'open') z.open++;
      byZone.set(zone, z);
    }
  }
  state.alertsBySensor = bySensor;
  state.alertsByZone = byZone;
}

export function sortAlerts(list) {
  return list.sort((a, b) =>
    (SEVERITY_RANK[b.severity] || 0) - (SEVERITY_RANK[a.severity] || 0)
    || (a.state === 'open' ? 0 : 1) - (b.state === 'open' ? 0 : 1)
    || String(b.opened_at || '').localeCompare(String(a.opened_at || ''))
    || String(b.id).localeCompare(String(a.id), undefined, { numeric: true }));
}

export function activeAlerts() { return sortAlerts([...state.alerts.values()]); }

export function openCritical() {
  return activeAlerts().filter((a) => a.severity === 'critical' && a.state === 'open');
}

// ------------------------------------------------------------------ sensor state

export function staleAfterMs(sensor) {
  const iv = Math.max(0, ...(sensor.metrics || []).map((m) => m.interval_s || 0));
  return Math.max(10 * 60, 3 * (iv || 60)) * 1000;
}

export function lastTs(sensorId) {
  const m = state.latest.get(sensorId);
  if (!m) return null;
  let best = null;
  for (const v of Object.values(m)) if (!best || v.ts > best) best = v.ts;
  return best;
}

// Level stages of a water level sensor from its own attributes (attention is 0.5 m below warning).
export function levelStage(sensor, value) {
  const a = sensor.attributes || {};
  if (typeof a.warning_m !== 'number' || value == null) return null;
  if (typeof a.danger_m === 'number' && value >= a.danger_m) return 'critical';
  if (value >= a.warning_m) return 'warning';
  if (value >= a.warning_m - 0.5) return 'info';
  return null;
}

// One state a sensor is drawn in: critical | warning | info | stale | nodata | ok.
export function sensorState(sensor, now = Date.now()) {
  const alertSev = state.alertsBySensor.get(sensor.id);
  const m = state.latest.get(sensor.id);
  let own = null;
  if (m) {
    if (sensor.kind === 'water_level' && m.level) own = levelStage(sensor, m.level.value);
    if (sensor.kind === 'emergency_button' && m.pressed && m.pressed.value >= 1) own = 'critical';
  }
  const worst = [alertSev, own].filter(Boolean).sort((a, b) => SEVERITY_RANK[b] - SEVERITY_RANK[a])[0];
  if (worst) return worst;
  const ts = lastTs(sensor.id);
  if (!ts) return 'nodata';
  if (now - new Date(ts).getTime() > staleAfterMs(sensor)) return 'stale';
  return 'ok';
}

export function sensorsOfZone(zoneId) {
  const out = [];
  for (const s of state.sensors.values()) if (s.zone === zoneId) out.push(s);
  return out;
}
