// Reading a GTFS feed from a directory of .txt files (RFC 4180 CSV with a header row), for maeul-sim's buses
// and the demo feed's check. Pure parsing: readFeed is the only function that touches the file system.

import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';

// Rows of a CSV text as objects keyed by the header. Quoted fields may hold commas, quotes ("") and newlines;
// a byte-order mark and CRLF line ends are accepted.
export function parseCsv(text) {
  const rows = [];
  let row = [], field = '', i = 0, quoted = false;
  const s = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  for (; i < s.length; i++) {
    const c = s[i];
    if (quoted) {
      if (c === '"') {
        if (s[i + 1] === '"') { field += '"'; i++; } else quoted = false;
      } else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') { row.push(field); field = ''; }
    else if (c === '\n' || c === '\r') {
      if (c === '\r' && s[i + 1] === '\n') i++;
      row.push(field); field = '';
      if (row.length > 1 || row[0] !== '') rows.push(row);
      row = [];
    } else field += c;
  }
  if (field !== '' || row.length) { row.push(field); rows.push(row); }
  if (!rows.length) return [];
  const head = rows[0].map((h) => h.trim());
  return rows.slice(1).map((r) => Object.fromEntries(head.map((h, k) => [h, r[k] ?? ''])));
}

// "25:10:00" → seconds after the service day's noon-minus-12h (GTFS times may pass 24:00). NaN when malformed.
export function gtfsSeconds(t) {
  const m = /^\s*(\d{1,3}):(\d\d):(\d\d)\s*$/.exec(t || '');
  return m ? Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]) : NaN;
}

// The files of a feed as row arrays ({} of file stem → rows); missing optional files are empty arrays.
export function readFeedFiles(dir) {
  const out = {};
  for (const f of ['agency', 'feed_info', 'stops', 'routes', 'trips', 'stop_times', 'shapes', 'calendar', 'calendar_dates', 'frequencies']) {
    const p = join(dir, `${f}.txt`);
    out[f] = existsSync(p) ? parseCsv(readFileSync(p, 'utf8')) : [];
  }
  return out;
}

// A feed ready for simulation: routes, stops, shapes (points with cumulative metres) and trips with their
// stop times in order (seconds of the service day and metres along the shape).
export function buildFeed(files) {
  const stops = new Map(files.stops.map((s) => [s.stop_id, { id: s.stop_id, name: s.stop_name, zone: s.zone_id || null,
    lon: Number(s.stop_lon), lat: Number(s.stop_lat) }]));
  const shapes = new Map();
  for (const p of files.shapes) {
    if (!shapes.has(p.shape_id)) shapes.set(p.shape_id, []);
    shapes.get(p.shape_id).push({ seq: Number(p.shape_pt_sequence), lon: Number(p.shape_pt_lon), lat: Number(p.shape_pt_lat) });
  }
  for (const [id, pts] of shapes) {
    pts.sort((a, b) => a.seq - b.seq);
    let d = 0;
    pts.forEach((p, i) => { if (i) d += metres([pts[i - 1].lon, pts[i - 1].lat], [p.lon, p.lat]); p.dist = d; });
    shapes.set(id, pts);
  }
  const trips = new Map(files.trips.map((t) => [t.trip_id, { id: t.trip_id, route: t.route_id, service: t.service_id,
    dir: Number(t.direction_id || 0), block: t.block_id || null, shape: t.shape_id || null, stops: [] }]));
  for (const st of files.stop_times) {
    const t = trips.get(st.trip_id);
    if (!t) continue;
    t.stops.push({ stop: st.stop_id, seq: Number(st.stop_sequence), arr: gtfsSeconds(st.arrival_time),
      dep: gtfsSeconds(st.departure_time), dist: st.shape_dist_traveled === '' || st.shape_dist_traveled == null ? null : Number(st.shape_dist_traveled) });
  }
  for (const t of trips.values()) {
    t.stops.sort((a, b) => a.seq - b.seq);
    const shape = t.shape && shapes.get(t.shape);
    // Distances along the shape: given, or the nearest shape point after the previous stop's.
    let from = 0;
    for (const s of t.stops) {
      if (s.dist == null && shape) {
        const st = stops.get(s.stop);
        let best = null;
        for (const p of shape) {
          if (p.dist < from) continue;
          const m = metres([p.lon, p.lat], [st.lon, st.lat]);
          if (!best || m < best.m) best = { m, d: p.dist };
        }
        s.dist = best ? best.d : from;
      }
      from = s.dist ?? from;
    }
  }
  const routes = new Map(files.routes.map((r) => [r.route_id, { id: r.route_id, short: r.route_short_name, long: r.route_long_name, trips: [] }]));
  for (const t of trips.values()) routes.get(t.route)?.trips.push(t);
  for (const r of routes.values()) r.trips.sort((a, b) => a.stops[0].dep - b.stops[0].dep || (a.id < b.id ? -1 : 1));
  return { stops, shapes, trips, routes };
}

export function readFeed(dir) {
  return buildFeed(readFeedFiles(dir));
}

const R = 6371008.8;
// Metres between two [lon, lat] points (local equirectangular; fine at city scale).
export function metres(a, b) {
  const k = Math.cos(((a[1] + b[1]) / 2) * Math.PI / 180);
  return Math.hypot((b[0] - a[0]) * Math.PI / 180 * R * k, (b[1] - a[1]) * Math.PI / 180 * R);
}

// The [lon, lat] at `d` metres along a shape (clamped to its ends).
export function pointAlong(shape, d) {
  if (d <= 0) return [shape[0].lon, shape[0].lat];
  for (let i = 1; i < shape.length; i++) {
    if (shape[i].dist >= d) {
      const a = shape[i - 1], b = shape[i];
      const f = b.dist > a.dist ? (d - a.dist) / (b.dist - a.dist) : 0;
      return [a.lon + (b.lon - a.lon) * f, a.lat + (b.lat - a.lat) * f];
    }
  }
  const z = shape[shape.length - 1];
  return [z.lon, z.lat];
}

// Metres from a point to the nearest segment of a shape.
export function distanceToShape(pt, shape) {
  let best = Infinity;
  const k = Math.cos((pt[1] * Math.PI) / 180);
  const proj = (lon, lat) => [lon * Math.PI / 180 * R * k, lat * Math.PI / 180 * R];
  const p = proj(pt[0], pt[1]);
  for (let i = 1; i < shape.length; i++) {
    const a = proj(shape[i - 1].lon, shape[i - 1].lat), b = proj(shape[i].lon, shape[i].lat);
    const dx = b[0] - a[0], dy = b[1] - a[1];
    const l2 = dx * dx + dy * dy;
    const f = l2 ? Math.max(0, Math.min(1, ((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / l2)) : 0;
    best = Math.min(best, Math.hypot(p[0] - a[0] - f * dx, p[1] - a[1] - f * dy));
  }
  return best;
}
