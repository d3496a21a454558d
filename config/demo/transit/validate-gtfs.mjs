#!/usr/bin/env node
// Checks the demo bus network's GTFS feed: node config/demo/transit/validate-gtfs.mjs [DIR] [--quiet]
// Exits 1 listing every problem found. Checks:
//  - the required files and columns are there; ids unique; agency and feed_info say the feed is illustrative;
//  - every trip's route, service and shape exist; every stop_time's trip and stop exist;
//  - within a trip, stop_sequence and times increase (arrival <= departure, departure < next arrival) and
//    shape_dist_traveled does not decrease; every trip serves at least 2 stops;
//  - every stop lies within 60 m of the shape of each trip that serves it, and in the Sokcho area;
//  - each stop is a bus_stop facility of the demo world (config/demo/sokcho.json), at the same place;
//  - the boardings sensors (sensors.json): one per stop, at the stop.
// validateFeed(dir) returns {problems, summary} for tests and config/demo/validate.mjs.

import { readFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readFeedFiles, buildFeed, gtfsSeconds, distanceToShape, metres } from '../../../tools/sim/gtfs.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const BBOX = { lon: [128.43, 128.65], lat: [38.10, 38.26] };
const REQUIRED = {
  agency: ['agency_name', 'agency_url', 'agency_timezone'],
  stops: ['stop_id', 'stop_name', 'stop_lat', 'stop_lon'],
  routes: ['route_id', 'route_short_name', 'route_type'],
  trips: ['route_id', 'service_id', 'trip_id', 'shape_id'],
  stop_times: ['trip_id', 'arrival_time', 'departure_time', 'stop_id', 'stop_sequence'],
  shapes: ['shape_id', 'shape_pt_lat', 'shape_pt_lon', 'shape_pt_sequence'],
  calendar: ['service_id', 'monday', 'sunday', 'start_date', 'end_date'],
  feed_info: ['feed_publisher_name', 'feed_lang'],
};

export function validateFeed(dir = here, worldFile = join(here, '..', 'sokcho.json')) {
  const problems = [];
  const bad = (m) => { if (problems.length < 200) problems.push(m); };
  const files = readFeedFiles(dir);
  for (const [f, cols] of Object.entries(REQUIRED)) {
    if (!files[f].length) { bad(`${f}.txt is missing or empty`); continue; }
    for (const c of cols) if (!(c in files[f][0])) bad(`${f}.txt has no ${c} column`);
  }
  if (problems.length) return { problems, summary: null };

  const illustrative = /illustrative|fictional|가상/i;
  if (!files.agency.every((a) => illustrative.test(a.agency_name))) bad('agency_name must say the network is illustrative (가상)');
  if (!files.feed_info.every((f) => illustrative.test(f.feed_publisher_name))) bad('feed_publisher_name must say the feed is illustrative');

  const unique = (rows, key, name) => {
    const seen = new Set();
    for (const r of rows) {
      if (seen.has(r[key])) bad(`${name} ${r[key]} repeats`);
      seen.add(r[key]);
    }
    return seen;
  };
  const stopIds = unique(files.stops, 'stop_id', 'stop');
  const routeIds = unique(files.routes, 'route_id', 'route');
  const tripIds = unique(files.trips, 'trip_id', 'trip');
  const services = unique(files.calendar, 'service_id', 'service');
  const shapeIds = new Set(files.shapes.map((p) => p.shape_id));

  for (const s of files.stops) {
    const lon = Number(s.stop_lon), lat = Number(s.stop_lat);
    if (!(lon >= BBOX.lon[0] && lon <= BBOX.lon[1] && lat >= BBOX.lat[0] && lat <= BBOX.lat[1])) bad(`stop ${s.stop_id} at ${lon},${lat} is outside Sokcho`);
  }
  for (const t of files.trips) {
    if (!routeIds.has(t.route_id)) bad(`trip ${t.trip_id}: unknown route ${t.route_id}`);
    if (!services.has(t.service_id)) bad(`trip ${t.trip_id}: unknown service ${t.service_id}`);
    if (!shapeIds.has(t.shape_id)) bad(`trip ${t.trip_id}: unknown shape ${t.shape_id}`);
  }
  for (const st of files.stop_times) {
    if (!tripIds.has(st.trip_id)) bad(`stop_time of unknown trip ${st.trip_id}`);
    if (!stopIds.has(st.stop_id)) bad(`trip ${st.trip_id}: stop_time at unknown stop ${st.stop_id}`);
    for (const k of ['arrival_time', 'departure_time']) if (Number.isNaN(gtfsSeconds(st[k]))) bad(`trip ${st.trip_id}: ${k} "${st[k]}" is malformed`);
  }
  const byShape = new Map();
  for (const p of files.shapes) {
    if (!byShape.has(p.shape_id)) byShape.set(p.shape_id, []);
    byShape.get(p.shape_id).push(p);
  }
  for (const [id, pts] of byShape) {
    const seqs = pts.map((p) => Number(p.shape_pt_sequence));
    if (new Set(seqs).size !== seqs.length) bad(`shape ${id}: shape_pt_sequence repeats`);
    const sorted = [...pts].sort((a, b) => a.shape_pt_sequence - b.shape_pt_sequence);
    for (let i = 1; i < sorted.length; i++) {
      if (Number(sorted[i].shape_dist_traveled) < Number(sorted[i - 1].shape_dist_traveled)) bad(`shape ${id}: shape_dist_traveled decreases at ${sorted[i].shape_pt_sequence}`);
    }
  }

  const feed = buildFeed(files);
  let stopTimes = 0;
  for (const t of feed.trips.values()) {
    const seqs = t.stops;
    stopTimes += seqs.length;
    if (seqs.length < 2) { bad(`trip ${t.id} serves ${seqs.length} stop(s)`); continue; }
    for (let i = 0; i < seqs.length; i++) {
      const s = seqs[i];
      if (s.arr > s.dep) bad(`trip ${t.id}: arrives after it departs at stop_sequence ${s.seq}`);
      if (i && s.seq <= seqs[i - 1].seq) bad(`trip ${t.id}: stop_sequence does not increase at ${s.seq}`);
      if (i && !(s.arr > seqs[i - 1].dep)) bad(`trip ${t.id}: time does not increase at stop_sequence ${s.seq}`);
      if (i && s.dist != null && seqs[i - 1].dist != null && s.dist < seqs[i - 1].dist) bad(`trip ${t.id}: shape_dist_traveled decreases at ${s.seq}`);
      const shape = feed.shapes.get(t.shape), stop = feed.stops.get(s.stop);
      if (shape && stop) {
        const m = distanceToShape([stop.lon, stop.lat], shape);
        if (m > 60) bad(`trip ${t.id}: stop ${s.stop} is ${Math.round(m)} m from shape ${t.shape}`);
      }
    }
  }

  // The demo world: every stop a bus_stop facility, at the same place.
  if (existsSync(worldFile)) {
    const world = JSON.parse(readFileSync(worldFile, 'utf8'));
    const fac = new Map((world.facilities || []).filter((f) => f.category === 'bus_stop').map((f) => [f.id, f]));
    for (const s of feed.stops.values()) {
      const f = fac.get(s.id);
      if (!f) { bad(`stop ${s.id} is not a bus_stop facility of the demo world`); continue; }
      const m = metres(f.location.coordinates, [s.lon, s.lat]);
      if (m > 5) bad(`stop ${s.id} is ${Math.round(m)} m from its facility`);
    }
  }
  const sensorsFile = join(dir, 'sensors.json');
  let nSensors = 0;
  if (existsSync(sensorsFile)) {
    const sensors = JSON.parse(readFileSync(sensorsFile, 'utf8')).sensors || [];
    nSensors = sensors.length;
    const byStop = new Map(sensors.map((s) => [s.attributes?.gtfs_stop_id, s]));
    for (const s of feed.stops.values()) {
      const x = byStop.get(s.id);
      if (!x) bad(`stop ${s.id} has no boardings sensor`);
      else if (metres(x.location.coordinates, [s.lon, s.lat]) > 5) bad(`boardings sensor ${x.id} is not at its stop`);
    }
    if (byStop.size !== sensors.length || byStop.has(undefined)) bad('sensors.json: one boardings sensor per stop, each naming attributes.gtfs_stop_id');
  }
  const summary = `${feed.routes.size} routes, ${feed.stops.size} stops, ${feed.trips.size} trips, ${stopTimes} stop times, `
    + `${feed.shapes.size} shapes, ${nSensors} boardings sensors`;
  return { problems, summary };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2);
  const dir = args.find((a) => !a.startsWith('--')) || here;
  const { problems, summary } = validateFeed(dir);
  for (const p of problems) console.error(`problem: ${p}`);
  if (problems.length) process.exit(1);
  if (!args.includes('--quiet')) console.log(summary);
  console.log('transit feed ok');
}
