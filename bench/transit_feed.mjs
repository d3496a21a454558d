#!/usr/bin/env node
// Writes a large synthetic GTFS zip to stdout, for the import benchmark (scripts/bench, case transit):
//
//   node bench/transit_feed.mjs [STOP_TIMES [TEXT_OUT]] > feed.zip   (default 1000000 stop_times)
//
// With TEXT_OUT, stop_times.txt is also written there as plain text (the COPY baseline reads it).
//
// 100 routes, each in two directions over 25 of 500 stops on a grid around Sokcho, trips every few
// minutes from 05:00 until STOP_TIMES are written (each trip 25 stop times); one daily service.
// Times past 24:00 occur as the day fills. Nothing is committed: it is made at bench time.
import { writeFileSync } from 'node:fs';
import { gtfsZip } from '../config/demo/transit/zip.mjs';

const wanted = Number(process.argv[2] ?? 1000000);
const routes = 100, stopsPerTrip = 25, nStops = 500;

const stops = ['stop_id,stop_name,stop_lat,stop_lon'];
for (let i = 0; i < nStops; i++) {
  const lat = 38.15 + Math.floor(i / 25) * 0.004, lon = 128.5 + (i % 25) * 0.004;
  stops.push(`s${i},"Bench stop ${i}",${lat.toFixed(6)},${lon.toFixed(6)}`);
}
const routeRows = ['route_id,agency_id,route_short_name,route_long_name,route_type'];
for (let r = 0; r < routes; r++) routeRows.push(`r${r},bench,B${r},"Bench route ${r}",3`);

const trips = ['route_id,service_id,trip_id,direction_id'];
const stopTimes = ['trip_id,arrival_time,departure_time,stop_id,stop_sequence'];
const hms = (s) => `${String(Math.floor(s / 3600)).padStart(2, '0')}:${String(Math.floor(s / 60) % 60).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
let written = 0, k = 0;
while (written < wanted) {
  const r = k % routes, dir = Math.floor(k / routes) % 2, n = Math.floor(k / (2 * routes));
  const start = 5 * 3600 + n * 120 + r;  // a trip of each route and direction every 2 minutes
  const trip = `r${r}-${dir}-${n}`;
  trips.push(`r${r},daily,${trip},${dir}`);
  for (let q = 0; q < stopsPerTrip && written < wanted; q++) {
    const idx = dir === 0 ? q : stopsPerTrip - 1 - q;
    const stop = (r * 7 + idx * 19) % nStops;  // the route's stops, scattered over the grid
    const t = hms(start + q * 90);
    stopTimes.push(`${trip},${t},${t},s${stop},${q + 1}`);
    written++;
  }
  k++;
}
const files = [
  ['agency.txt', 'agency_id,agency_name,agency_url,agency_timezone\nbench,Bench,https://bench.invalid,Asia/Seoul\n'],
  ['stops.txt', stops.join('\n') + '\n'],
  ['routes.txt', routeRows.join('\n') + '\n'],
  ['trips.txt', trips.join('\n') + '\n'],
  ['stop_times.txt', stopTimes.join('\n') + '\n'],
  ['calendar.txt', 'service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,start_date,end_date\n' +
    'daily,1,1,1,1,1,1,1,20260101,20281231\n'],
];
if (process.argv[3]) writeFileSync(process.argv[3], files[4][1]);
process.stdout.write(gtfsZip(files));
process.stderr.write(`stop_times=${written} trips=${trips.length - 1}\n`);
