#!/usr/bin/env node
// Generates the demo world's bus network, an ILLUSTRATIVE and FICTIONAL GTFS feed, from the demo world's
// geography (config/demo/sokcho.json: its bus_stop facilities are the feed's stops), and the boardings
// sensors of its stops (one per stop, sensors.json).
//
//   node config/demo/transit/generate-gtfs.mjs          writes the .txt files and sensors.json beside this file
//   node config/demo/transit/generate-gtfs.mjs --check  exits 1 when they are not what this file generates
//
// The network is made up for the demo: four routes linking Seorak, Daepo, Cheongchoho, downtown and the
// planned station area, with a timetable of peak and off-peak headways for one service day, every day. It is
// not Sokcho's real bus network (whose routes and numbers differ). Deterministic: no randomness at all.
// The zip that POST /api/v1/transit/gtfs takes is built at demo time (zip.mjs). See docs/transit.md.

import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const world = JSON.parse(readFileSync(join(here, '..', 'sokcho.json'), 'utf8'));

const AGENCY = {
  agency_id: 'maeul-demo',
  agency_name: '가상 속초 시내버스 (예시용 가상 노선망) / Illustrative fictional demo bus network',
  agency_url: 'https://maeul.invalid/demo-transit',
  agency_timezone: 'Asia/Seoul',
  agency_lang: 'ko',
};
const FEED_INFO = {
  feed_publisher_name: 'Maeul demo world: illustrative, fictional network (가상 예시 노선망, 실제 노선 아님)',
  feed_publisher_url: 'https://maeul.invalid/demo-transit',
  feed_lang: 'ko',
  feed_start_date: '20260101',
  feed_end_date: '20281231',
  feed_version: 'maeul-demo-1',
};

// Routes: stops are the world's bus_stop facilities, in the order of direction 0. A loop ends where it starts
// and runs in one direction only. Headways in minutes per period (early, am peak, midday, pm peak, evening).
const ROUTES = [
  { id: 'd1', short: 'D1', color: 'D9480F', ko: '설악–대포–원도심', en: 'Seorak–Daepo–Downtown',
    stops: ['stop-seorak-01', 'stop-seorak-03', 'stop-seorak-02', 'stop-seorak-04', 'stop-daepo-03', 'stop-daepo-01',
      'stop-daepo-02', 'stop-cheongcho-01', 'stop-cheongcho-04', 'stop-cheongcho-03', 'stop-downtown-02',
      'stop-downtown-01', 'stop-downtown-04', 'stop-downtown-05'],
    headways: [20, 12, 15, 12, 25], offset: [0, 4] },
  { id: 'd2', short: 'D2', color: '2B8A3E', ko: '설악–속초역–시청', en: 'Seorak–Station–City Hall',
    stops: ['stop-seorak-01', 'stop-seorak-03', 'stop-station-04', 'stop-station-01', 'stop-station-02', 'stop-station-03',
      'stop-downtown-02', 'stop-downtown-01'],
    headways: [30, 20, 30, 20, 40], offset: [5, 10] },
  { id: 'd3', short: 'D3', color: '1971C2', ko: '청초호 순환', en: 'Cheongchoho Loop', loop: true,
    stops: ['stop-downtown-01', 'stop-downtown-03', 'stop-cheongcho-02', 'stop-cheongcho-04', 'stop-cheongcho-01',
      'stop-cheongcho-03', 'stop-cheongcho-05', 'stop-station-03', 'stop-downtown-02', 'stop-downtown-01'],
    headways: [20, 12, 15, 12, 20], offset: [2] },
  { id: 'd4', short: 'D4', color: '7048E8', ko: '속초역–대포', en: 'Station–Daepo',
    stops: ['stop-station-05', 'stop-station-01', 'stop-station-02', 'stop-cheongcho-05', 'stop-cheongcho-01',
      'stop-daepo-02', 'stop-daepo-01', 'stop-daepo-04'],
    headways: [30, 15, 20, 15, 30], offset: [7, 3] },
];
// Period starts (minutes after midnight); service from 06:00, last departures before 22:30.
const PERIODS = [360, 420, 540, 1020, 1140];
const SERVICE_END = 1350;

// Bends of the road between two stops (direction 0; reversed for direction 1), so shapes follow the streets
// rather than cutting across the lake or the hills. [lon, lat]
const BENDS = {
  'stop-seorak-01>stop-seorak-03': [[128.5000, 38.1740], [128.5100, 38.1760]],
  'stop-seorak-03>stop-seorak-02': [[128.5300, 38.1745]],
  'stop-seorak-02>stop-seorak-04': [[128.5560, 38.1735]],
  'stop-seorak-04>stop-daepo-03': [[128.5830, 38.1770]],
  'stop-daepo-02>stop-cheongcho-01': [[128.6050, 38.1870]],
  'stop-cheongcho-03>stop-downtown-02': [[128.5880, 38.1912], [128.5800, 38.1950], [128.5805, 38.2010], [128.5860, 38.2040]],
  'stop-seorak-03>stop-station-04': [[128.5300, 38.1800], [128.5400, 38.1860]],
  'stop-station-04>stop-station-01': [[128.5540, 38.1930]],
  'stop-station-02>stop-station-03': [[128.5720, 38.2010]],
  'stop-station-03>stop-downtown-02': [[128.5850, 38.2075]],
  'stop-downtown-03>stop-cheongcho-02': [[128.5985, 38.2050], [128.5990, 38.2010]],
  'stop-cheongcho-05>stop-station-03': [[128.5800, 38.1950], [128.5785, 38.2020]],
  'stop-station-02>stop-cheongcho-05': [[128.5750, 38.1900]],
  'stop-cheongcho-05>stop-cheongcho-01': [[128.5960, 38.1885]],
  'stop-station-05>stop-station-01': [[128.5480, 38.2030], [128.5560, 38.2000]],
  'stop-daepo-01>stop-daepo-04': [[128.6060, 38.1700]],
};

const R = 6371008.8;
export function metres(a, b) {
  const k = Math.cos(((a[1] + b[1]) / 2) * Math.PI / 180);
  const dx = (b[0] - a[0]) * Math.PI / 180 * R * k, dy = (b[1] - a[1]) * Math.PI / 180 * R;
  return Math.hypot(dx, dy);
}

const facilities = new Map(world.facilities.filter((f) => f.category === 'bus_stop').map((f) => [f.id, f]));
const zoneOfFacility = (f) => f.id.split('-')[1];

// --- stops -------------------------------------------------------------------------------------------------
const usedStops = [...new Set(ROUTES.flatMap((r) => r.stops))].sort();
const stops = usedStops.map((id) => {
  const f = facilities.get(id);
  if (!f) throw new Error(`route stop ${id} is not a bus_stop facility of sokcho.json`);
  const [lon, lat] = f.location.coordinates;
  return { stop_id: id, stop_code: id.replace(/^stop-/, ''), stop_name: f.name.ko.replace(/ 정류장$/, ''),
    stop_desc: `${f.name.en} (illustrative demo stop)`, stop_lat: lat, stop_lon: lon, zone_id: zoneOfFacility(f) };
});
const stopById = new Map(stops.map((s) => [s.stop_id, s]));
const pos = (id) => [stopById.get(id).stop_lon, stopById.get(id).stop_lat];

// --- shapes ------------------------------------------------------------------------------------------------
function bendsBetween(a, b) {
  if (BENDS[`${a}>${b}`]) return BENDS[`${a}>${b}`];
  if (BENDS[`${b}>${a}`]) return [...BENDS[`${b}>${a}`]].reverse();
  return [];
}

// A route direction's stop order, polyline and each stop's distance along it (metres).
function pattern(route, dir) {
  const seq = dir === 0 ? route.stops : [...route.stops].reverse();
  const points = [pos(seq[0])];
  const stopDist = [0];
  let d = 0;
  for (let i = 1; i < seq.length; i++) {
    for (const p of [...bendsBetween(seq[i - 1], seq[i]), pos(seq[i])]) {
      d += metres(points[points.length - 1], p);
      points.push(p);
    }
    stopDist.push(d);
  }
  const pointDist = [0];
  for (let i = 1; i < points.length; i++) pointDist.push(pointDist[i - 1] + metres(points[i - 1], points[i]));
  return { seq, points, pointDist, stopDist };
}

// --- the timetable -------------------------------------------------------------------------------------------
const PEAK = (min) => (min >= 420 && min < 540) || (min >= 1020 && min < 1140);

// Seconds to run from stop i-1 to stop i (incl. the stop at i): 28 km/h in the Seorak valley, 17 km/h in town,
// 15 % slower at the peaks, 20 s at each stop.
function runSeconds(seq, i, metresApart, departMin) {
  const valley = seq[i - 1].startsWith('stop-seorak') && seq[i].startsWith('stop-seorak');
  const kmh = valley ? 28 : 17;
  return (metresApart / (kmh / 3.6)) * (PEAK(departMin) ? 1.15 : 1) + 20;
}

const hhmmss = (sec) => {
  const h = Math.floor(sec / 3600), m = Math.floor((sec % 3600) / 60), s = Math.round(sec % 60);
  return `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}:${String(s).padStart(2, '0')}`;
};
const hhmm = (min) => `${String(Math.floor(min / 60)).padStart(2, '0')}${String(min % 60).padStart(2, '0')}`;

function headwayAt(route, min) {
  let k = 0;
  for (let i = 0; i < PERIODS.length; i++) if (min >= PERIODS[i]) k = i;
  return route.headways[k];
}

const routes = [], trips = [], stopTimes = [], shapes = [];
for (const route of ROUTES) {
  routes.push({ route_id: route.id, agency_id: AGENCY.agency_id, route_short_name: route.short,
    route_long_name: `${route.ko} (${route.en})`, route_desc: '가상 예시 노선 / illustrative fictional demo route',
    route_type: 3, route_color: route.color, route_text_color: 'FFFFFF' });
  const dirs = route.loop ? [0] : [0, 1];
  const dirTrips = [];
  for (const dir of dirs) {
    const pat = pattern(route, dir);
    const shapeId = `${route.id}-${dir}`;
    pat.points.forEach((p, i) => shapes.push({ shape_id: shapeId, shape_pt_lat: Number(p[1].toFixed(6)),
      shape_pt_lon: Number(p[0].toFixed(6)), shape_pt_sequence: i + 1, shape_dist_traveled: Math.round(pat.pointDist[i]) }));
    const list = [];
    for (let dep = PERIODS[0] + route.offset[dir]; dep < SERVICE_END; dep += headwayAt(route, dep)) {
      const tripId = `${route.id}-${dir}-${hhmm(dep)}`;
      let sec = dep * 60;
      const times = [sec];
      for (let i = 1; i < pat.seq.length; i++) {
        sec += runSeconds(pat.seq, i, pat.stopDist[i] - pat.stopDist[i - 1], dep);
        times.push(Math.round(sec / 60) * 60);  // a public timetable: whole minutes
      }
      list.push({ tripId, dir, dep, times, pat, shapeId });
    }
    dirTrips.push(list);
  }
  // Blocks: each trip goes to the bus that has been longest at that terminus after a layover of at least 5
  // minutes; a new bus otherwise.
  const all = dirTrips.flat().sort((a, b) => a.times[0] - b.times[0] || a.dir - b.dir);
  const buses = [];  // {id, at: stop, free: seconds}
  for (const t of all) {
    const start = t.pat.seq[0];
    const ready = buses.filter((b) => b.at === start && b.free + 300 <= t.times[0]).sort((a, b) => a.free - b.free);
    let bus = ready[0];
    if (!bus) {
      bus = { id: `${route.id}-b${String(buses.length + 1).padStart(2, '0')}`, at: start, free: 0 };
      buses.push(bus);
    }
    bus.at = t.pat.seq[t.pat.seq.length - 1];
    bus.free = t.times[t.times.length - 1];
    t.block = bus.id;
  }
  for (const t of dirTrips.flat()) {
    const headsign = stopById.get(t.pat.seq[t.pat.seq.length - 1]).stop_name;
    trips.push({ route_id: route.id, service_id: 'daily', trip_id: t.tripId,
      trip_headsign: route.loop ? `${headsign} (순환)` : headsign, direction_id: t.dir, block_id: t.block, shape_id: t.shapeId });
    t.pat.seq.forEach((stopId, i) => stopTimes.push({ trip_id: t.tripId, arrival_time: hhmmss(t.times[i]),
      departure_time: hhmmss(t.times[i]), stop_id: stopId, stop_sequence: i + 1,
      timepoint: i === 0 || i === t.pat.seq.length - 1 ? 1 : 0, shape_dist_traveled: Math.round(t.pat.stopDist[i]) }));
  }
}

const calendar = [{ service_id: 'daily', monday: 1, tuesday: 1, wednesday: 1, thursday: 1, friday: 1, saturday: 1,
  sunday: 1, start_date: FEED_INFO.feed_start_date, end_date: FEED_INFO.feed_end_date }];

// Boardings sensors: one per stop, hourly counts (maeul-sim computes them from its buses).
const sensors = stops.map((s) => ({
  id: `board-${s.stop_code}`, domain: 'mobility', kind: 'bus_boardings',
  location: { type: 'Point', coordinates: [s.stop_lon, s.stop_lat] },
  metrics: [{ name: 'boardings', unit: 'count', min: 0, max: 5000, interval_s: 3600 }],
  attributes: { gtfs_stop_id: s.stop_id, grid_aligned: true, illustrative: true, about: 'boardings in the hour before each reading, on the hour (demo network)' },
}));

// --- writing -------------------------------------------------------------------------------------------------
function csvField(v) {
  const s = String(v ?? '');
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
function csv(rows) {
  const cols = Object.keys(rows[0]);
  return [cols.join(','), ...rows.map((r) => cols.map((c) => csvField(r[c])).join(','))].join('\n') + '\n';
}

export const FILES = {
  'agency.txt': csv([AGENCY]),
  'feed_info.txt': csv([FEED_INFO]),
  'stops.txt': csv(stops),
  'routes.txt': csv(routes),
  'trips.txt': csv(trips),
  'stop_times.txt': csv(stopTimes),
  'shapes.txt': csv(shapes),
  'calendar.txt': csv(calendar),
  'sensors.json': `{\n  "generated_by": "config/demo/transit/generate-gtfs.mjs",\n  "sensors": [\n${sensors.map((s) => `    ${JSON.stringify(s)}`).join(',\n')}\n  ]\n}\n`,
};

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  if (process.argv.includes('--check')) {
    const stale = Object.entries(FILES).filter(([name, text]) => {
      try { return readFileSync(join(here, name), 'utf8') !== text; } catch { return true; }
    }).map(([name]) => name);
    if (stale.length) {
      console.error(`config/demo/transit: ${stale.join(', ')} out of date: run node config/demo/transit/generate-gtfs.mjs`);
      process.exit(1);
    }
    console.log('config/demo/transit is up to date');
  } else {
    for (const [name, text] of Object.entries(FILES)) writeFileSync(join(here, name), text);
    console.log(`wrote config/demo/transit: ${routes.length} routes, ${stops.length} stops, ${trips.length} trips, `
      + `${stopTimes.length} stop times, ${shapes.length} shape points, ${sensors.length} boardings sensors`);
  }
}
