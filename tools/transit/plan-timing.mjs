#!/usr/bin/env node
// Times the live plan (docs/transit.md, "Recommended headways", speed): against a running maeuld
// with an empty database, imports the demo bus network, posts the boardings sensors and a year of
// hourly boardings (a daily pattern with noise) for every stop of route d1, then asks
// GET /api/v1/transit/routes/d1/plan for N different dates (each uncached) and prints each time.
//
//   node tools/transit/plan-timing.mjs --url http://127.0.0.1:PORT --token ADMIN_TOKEN [--runs 5]
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import { gtfsZip, feedFiles } from '../../config/demo/transit/zip.mjs';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const url = arg('url');
const token = arg('token');
const runs = Number(arg('runs', '5'));
if (!url || !token) {
  console.error('usage: plan-timing.mjs --url URL --token ADMIN_TOKEN [--runs N]');
  process.exit(2);
}
const auth = { authorization: `Bearer ${token}` };
async function call(method, p, body, type = 'application/json') {
  const res = await fetch(url + p, { method, headers: { ...auth, 'content-type': type },
    body: body === undefined ? undefined : type === 'application/json' ? JSON.stringify(body) : body });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${p}: ${res.status} ${text.slice(0, 300)}`);
  return text ? JSON.parse(text) : null;
}

const dir = path.join(root, 'config/demo/transit');
await call('POST', '/api/v1/transit/gtfs', gtfsZip(feedFiles(dir)), 'application/zip');
const sensors = JSON.parse(readFileSync(path.join(dir, 'sensors.json'), 'utf8')).sensors;
const route = await call('GET', '/api/v1/transit/routes/d1');
const stopIds = new Set((route.stops || []).map((s) => s.id ?? s.stop_id));
const mine = sensors.filter((s) => stopIds.size === 0 || stopIds.has(s.attributes.gtfs_stop_id));
for (const s of mine) {
  const res = await fetch(`${url}/api/v1/sensors`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(s) });
  if (res.status !== 201 && res.status !== 409) throw new Error(`sensor ${s.id}: ${res.status} ${await res.text()}`);
}
const HOUR = 3600e3;
const end = Math.floor(Date.now() / HOUR) * HOUR - 2 * HOUR;
const start = end - 364 * 24 * HOUR;
let batch = [];
let posted = 0;
let seed = 7;
const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
for (let t = start; t <= end; t += HOUR) {
  const hour = new Date(t + 9 * HOUR).getUTCHours();
  const base = hour < 6 ? 0 : hour === 7 || hour === 8 ? 90 : hour >= 17 && hour < 19 ? 70 : 30;
  for (const s of mine) {
    batch.push({ sensor: s.id, metric: 'boardings', ts: new Date(t).toISOString(), value: Math.round(base * (0.7 + 0.6 * rnd())) });
    if (batch.length === 10000) { await call('POST', '/api/v1/observations', { observations: batch }); posted += batch.length; batch = []; }
  }
}
if (batch.length) { await call('POST', '/api/v1/observations', { observations: batch }); posted += batch.length; }
console.log(`posted ${posted} readings for ${mine.length} stops of d1 (a year each); waiting 10 s for the writers`);
await new Promise((r) => setTimeout(r, 10000));
const today = new Date(Date.now() + 9 * HOUR);
for (let i = 1; i <= runs; i++) {
  const date = new Date(today.getTime() + i * 24 * HOUR).toISOString().slice(0, 10);
  const t0 = performance.now();
  const plan = await call('GET', `/api/v1/transit/routes/d1/plan?date=${date}`);
  const ms = performance.now() - t0;
  const am = plan.directions[0].periods.find((p) => p.name === 'am_peak');
  console.log(`plan d1 ${date}: ${ms.toFixed(0)} ms (stops known ${plan.history.stops_with_history}/${plan.history.stops}, am peak ${am?.headway_min} min)`);
}
