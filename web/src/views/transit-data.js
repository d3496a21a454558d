// Pure data shaping for the transit screen (transit.js): a route's reference line and its stops' distances
// along it, positions projected onto it, the time-distance (Marey) chart's series, bunching flags and the
// headway figures of a stop. No DOM, no fetch: tested with node --test (tests/web/transit-data.test.js).

const R = 6371008.8;
const rad = Math.PI / 180;

// Local metres of [lon, lat] around latitude lat0 (equirectangular: fine at city scale).
function xy([lon, lat], lat0) {
  return [lon * rad * R * Math.cos(lat0 * rad), lat * rad * R];
}

export function metres(a, b) {
  const k = Math.cos(((a[1] + b[1]) / 2) * rad);
  return Math.hypot((b[0] - a[0]) * rad * R * k, (b[1] - a[1]) * rad * R);
}

// The line distances are measured along, for a route of GET /api/v1/transit/routes/{id}: its shape when that
// is one LineString (turned to run from the first stop), else the stops joined in order. Returns
// {coords, cum (metres at each vertex), stops: [{id, name, dist}], length}.
export function routeLine(route) {
  const stops = (route?.stops || []).filter((s) => s.location?.coordinates);
  const stopPts = stops.map((s) => s.location.coordinates);
  let coords = null;
  const shape = route?.shape;
  if (shape?.type === 'LineString' && shape.coordinates.length >= 2 && stopPts.length >= 2) {
    coords = shape.coordinates;
    const first = stopPts[0];
    if (metres(coords[coords.length - 1], first) < metres(coords[0], first) && !samePlace(stopPts[0], stopPts[stopPts.length - 1])) {
      coords = [...coords].reverse();
    }
  }
  if (!coords) coords = stopPts;
  const cum = [0];
  for (let i = 1; i < coords.length; i++) cum.push(cum[i - 1] + metres(coords[i - 1], coords[i]));
  const line = { coords, cum, length: cum[cum.length - 1] || 0, stops: [] };
  // Stops in order: each projected at or after the previous one (loops come back to their start).
  let from = 0;
  for (const s of stops) {
    const p = project(line, s.location.coordinates, from);
    line.stops.push({ id: s.id, name: s.name, dist: p.dist });
    from = p.dist;
  }
  return line;
}

function samePlace(a, b) { return metres(a, b) < 30; }

// The nearest point of the line to pt, at or after `from` metres: {dist (metres along), offset (metres away)}.
export function project(line, pt, from = 0) {
  const c = line.coords;
  if (!c || c.length === 0) return { dist: 0, offset: Infinity };
  if (c.length === 1) return { dist: 0, offset: metres(c[0], pt) };
  const lat0 = pt[1];
  const p = xy(pt, lat0);
  let best = { dist: 0, offset: Infinity };
  for (let i = 1; i < c.length; i++) {
    if (line.cum[i] < from) continue;
    const a = xy(c[i - 1], lat0), b = xy(c[i], lat0);
    const dx = b[0] - a[0], dy = b[1] - a[1];
    const l2 = dx * dx + dy * dy;
    let f = l2 ? ((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / l2 : 0;
    f = Math.max(0, Math.min(1, f));
    const d = line.cum[i - 1] + f * (line.cum[i] - line.cum[i - 1]);
    if (d < from) continue;
    const off = Math.hypot(p[0] - a[0] - f * dx, p[1] - a[1] - f * dy);
    if (off < best.offset - 1e-9) best = { dist: d, offset: off };
  }
  return best;
}

// Keeps each vehicle's track: tracks is a Map vehicle → [{t (ms), lon, lat, route, trip, occupancy}], in time
// order, at most `max` points, older than `keepMs` before the newest dropped. Returns true when it changed.
export function addPosition(tracks, p, { keepMs = 3 * 3600e3, max = 2000 } = {}) {
  const t = typeof p.ts === 'number' ? p.ts : Date.parse(p.ts);
  if (!p.vehicle || !Number.isFinite(t) || !Number.isFinite(p.lon) || !Number.isFinite(p.lat)) return false;
  let tr = tracks.get(p.vehicle);
  if (!tr) { tr = []; tracks.set(p.vehicle, tr); }
  const pt = { t, lon: p.lon, lat: p.lat, route: p.route, trip: p.trip ?? null, occupancy: p.occupancy ?? null };
  if (tr.length && tr[tr.length - 1].t === t) return false;
  if (tr.length && tr[tr.length - 1].t > t) {
    const i = tr.findIndex((x) => x.t >= t);
    if (tr[i].t === t) return false;
    tr.splice(i, 0, pt);
  } else tr.push(pt);
  const cut = tr[tr.length - 1].t - keepMs;
  while (tr.length > max || (tr.length && tr[0].t < cut)) tr.shift();
  return true;
}

// The Marey chart's data for uPlot: [xs (seconds), one y array per vehicle (km along the line, null where it has
// no position)], the vehicles in the order of their series, and the arrivals as one more series of points.
// A vehicle's track is cut (null) where it jumps back more than half the line (a new trip) or leaves the line
// by more than `maxOffset` metres. Only the route's positions in [from, to] (ms) are used.
export function mareyData(tracks, line, route, { from = -Infinity, to = Infinity, maxOffset = 250, arrivals = [] } = {}) {
  const rows = new Map();  // x → Map(vehicle → km)
  const vehicles = [];
  for (const [vehicle, tr] of tracks) {
    const pts = tr.filter((p) => p.route === route && p.t >= from && p.t <= to);
    if (!pts.length) continue;
    let used = false;
    let prev = null;
    for (const p of pts) {
      const pr = project(line, [p.lon, p.lat]);
      if (pr.offset > maxOffset) { prev = null; continue; }
      const x = Math.round(p.t / 1000);
      if (prev != null && prev.trip !== p.trip && p.trip != null && prev.trip != null) {
        // a new trip: break the line just before it
        if (!rows.has(x - 1)) rows.set(x - 1, new Map());
        rows.get(x - 1).set(vehicle, null);
      }
      if (!rows.has(x)) rows.set(x, new Map());
      rows.get(x).set(vehicle, Math.round(pr.dist) / 1000);
      prev = p;
      used = true;
    }
    if (used) vehicles.push(vehicle);
  }
  const arr = [];
  for (const a of arrivals) {
    const t = typeof a.ts === 'number' ? a.ts : Date.parse(a.ts);
    const s = line.stops.find((x) => x.id === a.stop);
    if (!s || !Number.isFinite(t) || t < from || t > to) continue;
    const x = Math.round(t / 1000);
    if (!rows.has(x)) rows.set(x, new Map());
    rows.get(x).set('\u0000arrivals', Math.round(s.dist) / 1000);
    arr.push(x);
  }
  vehicles.sort();
  const xs = [...rows.keys()].sort((a, b) => a - b);
  const ys = vehicles.map((v) => xs.map((x) => (rows.get(x).has(v) ? rows.get(x).get(v) : undefined)));
  const ya = xs.map((x) => rows.get(x).get('\u0000arrivals') ?? null);
  return { data: [xs, ...ys, ya], vehicles, arrivals: arr.length };
}

// The latest position of each vehicle of a route (at most `staleMs` old at `now`), with its distance along the
// line and direction (+1 along, -1 against, 0 unknown) from its last moves, and `bunched` when another vehicle of
// the same route and direction is within `gapM` metres ahead or behind.
export function liveVehicles(tracks, line, route, { now = Date.now(), staleMs = 5 * 60e3, gapM = 250 } = {}) {
  const out = [];
  for (const [vehicle, tr] of tracks) {
    const last = tr[tr.length - 1];
    if (!last || last.route !== route || now - last.t > staleMs) continue;
    const pr = project(line, [last.lon, last.lat]);
    let dir = 0;
    for (let i = tr.length - 2; i >= 0 && i >= tr.length - 6; i--) {
      if (tr[i].route !== route || (tr[i].trip && last.trip && tr[i].trip !== last.trip)) break;
      const d = project(line, [tr[i].lon, tr[i].lat]).dist;
      if (Math.abs(pr.dist - d) > 20) { dir = pr.dist > d ? 1 : -1; break; }
    }
    out.push({ vehicle, trip: last.trip, t: last.t, lon: last.lon, lat: last.lat, occupancy: last.occupancy, dist: pr.dist, offset: pr.offset, dir, bunched: false, near: null });
  }
  for (const a of out) {
    for (const b of out) {
      if (a === b || a.dir !== b.dir || a.dir === 0) continue;
      const gap = Math.abs(a.dist - b.dist);
      if (gap <= gapM) { a.bunched = true; a.near = a.near == null ? b.vehicle : a.near; }
    }
  }
  return out.sort((a, b) => a.dist - b.dist || (a.vehicle < b.vehicle ? -1 : 1));
}

// The figures of one stop of GET …/headways: mean headway (minutes), excess wait (minutes) and the CV, as the
// server gives them (average_wait_s, scheduled_average_wait_s, headway_cv); the mean from its headways.
export function stopFigures(s) {
  const hs = (s.headways || []).map((x) => x.headway_s).filter((x) => Number.isFinite(x));
  const mean = hs.length ? hs.reduce((a, b) => a + b, 0) / hs.length / 60 : null;
  const wait = Number.isFinite(s.average_wait_s) ? s.average_wait_s / 60 : null;
  const sched = Number.isFinite(s.scheduled_average_wait_s) ? s.scheduled_average_wait_s / 60 : null;
  return { stop: s.stop, direction: s.direction ?? 0, arrivals: s.arrivals ?? hs.length + (hs.length ? 1 : 0),
    mean_headway_min: mean, wait_min: wait, scheduled_wait_min: sched,
    excess_wait_min: wait != null && sched != null ? wait - sched : null, cv: Number.isFinite(s.headway_cv) ? s.headway_cv : null };
}

// The average wait of headways h (seconds) for people arriving at random: Σh² / (2 Σh). null without headways.
export function averageWait(hs) {
  const sum = hs.reduce((a, b) => a + b, 0);
  return sum > 0 ? hs.reduce((a, b) => a + b * b, 0) / (2 * sum) : null;
}

// The offset (ms) of an IANA time zone at time t (ms): local wall time minus UTC.
export function zoneOffset(t, zone) {
  const parts = new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23', year: 'numeric', month: '2-digit',
    day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' }).formatToParts(new Date(t));
  const g = (k) => Number(parts.find((x) => x.type === k).value);
  return Date.UTC(g('year'), g('month') - 1, g('day'), g('hour'), g('minute'), g('second')) - Math.floor(t / 1000) * 1000;
}

// Midnight (ms) of the local day holding t in the city's time zone (the server's `timezone`):
// the start of "today" for the performance figures.
export function cityMidnight(t, zone = 'Asia/Seoul') {
  const DAY = 86400e3;
  const local = t + zoneOffset(t, zone);
  const wall = Math.floor(local / DAY) * DAY;  // the local midnight as if it were UTC
  return wall - zoneOffset(wall - zoneOffset(t, zone), zone);
}
