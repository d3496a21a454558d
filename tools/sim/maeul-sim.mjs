#!/usr/bin/env node
// maeul-sim: live, plausible readings for every sensor of a running maeuld (docs/simulator.md).
//
//   node tools/sim/maeul-sim.mjs --url http://127.0.0.1:8080 --token TOKEN [--interval 5] [--speed 1] [--seed 42]
//        [--scenario flood[:zone]|wildfire:zone|silent[:SENSOR]|breakdown:CORRIDOR|morning[:SENSOR][@DAY] ...]
//        [--control-port N]
//        [--start RFC3339] [--batch 5000] [--once] [--dry-run] [--world FILE] [--quiet] [--no-warm-up]
//        [--gtfs DIR] [--positions-every 30] [--bus-history 26]
//
// The token may also come from MAEUL_TOKEN. It reads the sensors from GET /api/v1/sensors and posts readings to
// POST /api/v1/observations, so the token needs both (admin). With --gtfs, buses run the feed's timetable
// (bus.mjs) and their positions go to POST /api/v1/transit/positions. Node 20, no packages.

import { readFileSync } from 'node:fs';
import { createModel } from './model.mjs';
import { Schedule } from './schedule.mjs';
import { formatLocal } from './sun.mjs';
import { Api } from './client.mjs';
import { readFeed } from './gtfs.mjs';
import { BusModel } from './bus.mjs';
import { startControl } from './control.mjs';
import {
  SCENARIOS, ScenarioError, ScenarioSet, parseSpec, specFromBody, resolve, describe, affectedSensors,
} from './scenarios.mjs';

const USAGE = `usage: maeul-sim --url URL --token TOKEN [--interval SECONDS] [--speed N] [--seed N]
                 [--scenario flood[:ZONE]|wildfire:ZONE|silent[:SENSOR]|breakdown:CORRIDOR|morning[:SENSOR][@DAY] ...]
                 [--control-port N] [--start RFC3339] [--batch N] [--once] [--dry-run] [--world FILE] [--quiet]
                 [--no-warm-up] [--gtfs DIR] [--positions-every S] [--bus-history H]
  --url URL           maeuld's base URL (required unless --dry-run with --world)
  --token TOKEN       API token (or env MAEUL_TOKEN); needs GET sensors and POST observations: admin
  --interval S        seconds between ticks (default 5)
  --speed N           simulated seconds per real second (default 1); the simulated clock never runs ahead of
                      the real one, so with --start in the past it replays the past N times faster, then goes live
  --start TIME        simulated start (RFC 3339; default now)
  --seed N            deterministic world (default 42)
  --scenario SPEC     start a scenario at once (repeatable); DAY: today, tomorrow or YYYY-MM-DD
  --control-port N    control endpoint on 127.0.0.1:N (0 = any free port): GET|POST /scenario, DELETE /scenario/NAME
  --batch N           at most N readings a request (default 5000)
  --once              one tick, send it, exit
  --dry-run           print readings as NDJSON on stdout instead of posting them
  --world FILE        read sensors from a world file instead of the API (for --dry-run)
  --quiet             only errors and the per-minute summary
  --no-warm-up        in a replay, send the home_activity sensors' past with the rest instead of first, one
                      request per sensor (routine-aware rules then learn nothing from the replay)
  --gtfs DIR          run buses on this GTFS feed (a directory of .txt files) and post their positions
  --positions-every S seconds of simulated time between two positions of a bus (default 30)
  --bus-history H     in a replay, post positions for the last H hours of it only (default 26)`;

function usage(msg) {
  if (msg) console.error(`maeul-sim: ${msg}`);
  console.error(USAGE);
  process.exit(64);
}

function parseArgs(argv) {
  const o = { interval: 5, speed: 1, seed: 42, scenarios: [], batch: 5000, token: process.env.MAEUL_TOKEN || null,
    positionsEvery: 30, busHistory: 26 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const eq = a.indexOf('=');
    const [key, inline] = a.startsWith('--') && eq > 0 ? [a.slice(0, eq), a.slice(eq + 1)] : [a, undefined];
    const value = () => {
      if (inline !== undefined) return inline;
      if (i + 1 >= argv.length) usage(`${key} needs a value`);
      return argv[++i];
    };
    const num = (name, v, ok) => {
      const n = Number(v);
      if (v === '' || !Number.isFinite(n) || !ok(n)) usage(`bad ${name}: ${v}`);
      return n;
    };
    switch (key) {
      case '--url': o.url = value().replace(/\/+$/, ''); break;
      case '--token': o.token = value(); break;
      case '--interval': o.interval = num('--interval', value(), (n) => n >= 0.1 && n <= 3600); break;
      case '--speed': o.speed = num('--speed', value(), (n) => n > 0 && n <= 100000); break;
      case '--seed': o.seed = num('--seed', value(), (n) => Number.isInteger(n)); break;
      case '--scenario': o.scenarios.push(value()); break;
      case '--control-port': o.controlPort = num('--control-port', value(), (n) => Number.isInteger(n) && n >= 0 && n < 65536); break;
      case '--batch': o.batch = num('--batch', value(), (n) => Number.isInteger(n) && n >= 1 && n <= 100000); break;
      case '--start': {
        const v = value();
        const t = Date.parse(v);
        if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)$/i.test(v) || !Number.isFinite(t)) usage(`bad --start (RFC 3339 with an offset): ${v}`);
        if (t > Date.now() + 1000) usage('--start must not be in the future');
        o.start = t;
        break;
      }
      case '--once': o.once = true; break;
      case '--dry-run': o.dryRun = true; break;
      case '--quiet': o.quiet = true; break;
      case '--no-warm-up': o.noWarmUp = true; break;
      case '--world': o.world = value(); break;
      case '--gtfs': o.gtfs = value(); break;
      case '--positions-every': o.positionsEvery = num('--positions-every', value(), (n) => Number.isInteger(n) && n >= 1 && n <= 3600); break;
      case '--bus-history': o.busHistory = num('--bus-history', value(), (n) => n >= 0 && n <= 24 * 400); break;
      case '-h': case '--help': console.log(USAGE); process.exit(0); break;
      default: usage(`unknown argument ${a}`);
    }
  }
  if (!o.url && !(o.dryRun && o.world)) usage('--url is required');
  if (!o.token && !o.world) usage('--token (or MAEUL_TOKEN) is required');
  if (o.url && !/^https?:\/\/[^/]+/.test(o.url)) usage(`bad --url: ${o.url}`);
  for (const s of o.scenarios) {
    try { parseSpec(s); } catch (err) { usage(err.message); }
  }
  return o;
}

const opts = parseArgs(process.argv.slice(2));
const out = (line) => process.stderr.write(`${new Date().toISOString()} maeul-sim: ${line}\n`);
const info = (line) => { if (!opts.quiet) out(line); };

// --- the simulated clock -------------------------------------------------------------------------------

// Live, the simulated clock is the real one. From a --start in the past it replays: each tick moves it on by
// the real time since the previous one (at most a second of it) times --speed, until it meets the real clock.
// It waits while more than two batches are unsent, so a high --speed replays as fast as maeuld takes the readings
// and never piles them up in memory (nor skips any: the schedule hands out every grid time it passes).
let replayClock = opts.start != null && opts.start < Date.now() ? opts.start : null;  // null: live
let lastStep = Date.now();
const simNow = () => replayClock ?? Date.now();
const REPLAY_TICK_MS = 250;
function stepReplay(hold) {
  const w = Date.now();
  const dt = Math.min(w - lastStep, 1000);
  lastStep = w;
  if (hold || replayClock == null) return;
  replayClock += dt * opts.speed;
  if (replayClock >= w) {
    replayClock = null;
    info('replay done: live from now on');
  }
}

// --- state ---------------------------------------------------------------------------------------------

const stopCtl = new AbortController();
let stopping = false;
const api = opts.url ? new Api({ url: opts.url, token: opts.token }) : null;
const scenarios = new ScenarioSet();
const schedule = new Schedule(opts.interval * 1000);
let model = null;
const outbox = [];
const OUTBOX_MAX = 200000;
const totals = { generated: 0, sent: 0, accepted: 0, duplicates: 0, rejected: 0, errors: 0, dropped: 0, requests: 0 };
const buses = { positions: 0, sent: 0, accepted: 0, rejected: 0, errors: 0, dropped: 0, off: null };
let minute = { sent: 0, accepted: 0, duplicates: 0, rejected: 0, errors: 0, reasons: new Map(), lastError: null };
let backoffMs = 0;
let sending = null;
let wake = null;  // resolves the sender's back-off sleep early

function sleep(ms) {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() { clearTimeout(timer); wake = null; stopCtl.signal.removeEventListener('abort', done); resolve(); }
    wake = done;
    stopCtl.signal.addEventListener('abort', done, { once: true });
  });
}

// Sensors of a world file, with the zone derived from the zone boundaries where the file omits it.
function sensorsFromWorld(file) {
  const w = JSON.parse(readFileSync(file, 'utf8'));
  const inRing = (pt, ring) => {
    let inside = false;
    for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
      const [xi, yi] = ring[i], [xj, yj] = ring[j];
      if ((yi > pt[1]) !== (yj > pt[1]) && pt[0] < ((xj - xi) * (pt[1] - yi)) / (yj - yi) + xi) inside = !inside;
    }
    return inside;
  };
  const inGeom = (pt, g) => {
    const polys = g.type === 'MultiPolygon' ? g.coordinates : [g.coordinates];
    return polys.some((p) => inRing(pt, p[0]) && !p.slice(1).some((hole) => inRing(pt, hole)));
  };
  return (w.sensors || []).map((s) => ({
    ...s,
    zone: s.zone ?? (w.zones || []).find((z) => z.boundary && inGeom(s.location.coordinates, z.boundary))?.id ?? null,
  }));
}

async function loadSensors() {
  if (opts.world) return sensorsFromWorld(opts.world);
  let delay = 1000;
  for (;;) {
    try {
      return await api.listSensors(stopCtl.signal);
    } catch (err) {
      if (stopping) return null;
      if (!err.retryable) {
        if (err.status === 401 || err.status === 403) {
          out(`error: ${err.message} — the token must be able to read sensors and post observations (admin)`);
          process.exit(2);
        }
        out(`error: ${err.message}; retrying in ${Math.round(delay / 1000)} s`);
      } else {
        out(`waiting for maeuld: ${err.message}; retrying in ${Math.round((err.retryAfterMs ?? delay) / 1000)} s`);
      }
      await sleep(err.retryAfterMs ?? delay);
      if (stopping) return null;
      delay = Math.min(30000, delay * 2);
    }
  }
}

// --- sending -------------------------------------------------------------------------------------------

function enqueue(readings) {
  for (const r of readings) outbox.push(r);
  if (outbox.length > OUTBOX_MAX) {
    const n = outbox.length - OUTBOX_MAX;
    outbox.splice(0, n);
    totals.dropped += n;
    minute.dropped = (minute.dropped || 0) + n;
  }
  if (!sending) sending = sendLoop().finally(() => { sending = null; });
}

function noteRejections(batch, rejected) {
  for (const r of rejected) {
    const reading = Number.isInteger(r.index) ? batch[r.index] : null;
    const key = String(r.error || r.detail || 'rejected');
    const entry = minute.reasons.get(key) || { n: 0, example: reading ? `${reading.sensor}/${reading.metric}=${reading.value} @ ${reading.ts}` : '' };
    entry.n++;
    minute.reasons.set(key, entry);
  }
}

// Counts the daemon's answer to a batch of readings.
function account(batch, r) {
  totals.sent += batch.length; minute.sent += batch.length;
  totals.accepted += r.accepted; minute.accepted += r.accepted;
  totals.duplicates += r.duplicates; minute.duplicates += r.duplicates;
  const nrej = r.status === 422 ? Math.max(r.rejected.length, batch.length - r.accepted - r.duplicates) : r.rejected.length;
  totals.rejected += nrej; minute.rejected += nrej;
  noteRejections(batch, r.rejected);
}

async function sendLoop() {
  let batchSize = opts.batch;
  while (outbox.length && !stopping) {
    const batch = outbox.slice(0, batchSize);
    try {
      totals.requests++;
      const r = await api.postObservations(batch, stopCtl.signal);
      outbox.splice(0, batch.length);
      backoffMs = 0;
      account(batch, r);
    } catch (err) {
      if (stopping && err.message === 'stopped') break;
      totals.errors++; minute.errors++;
      if (err.status === 413 && batchSize > 1) {
        batchSize = Math.max(1, Math.floor(batch.length / 2));
        minute.lastError = `${err.message} (now at most ${batchSize} readings a request)`;
        continue;
      }
      if (err.status === 400 || err.status === 415) {
        // The daemon cannot read what we send: drop it rather than retry forever.
        outbox.splice(0, batch.length);
        totals.dropped += batch.length;
        minute.lastError = `${err.message} (dropped ${batch.length} readings)`;
        out(`error: ${minute.lastError}`);
        continue;
      }
      if (opts.once) {
        out(`error: ${err.message}`);
        break;
      }
      const first = backoffMs === 0;
      backoffMs = err.retryable ? Math.min(60000, Math.max(1000, backoffMs * 2)) : Math.min(60000, Math.max(10000, backoffMs * 2));
      const wait = err.retryAfterMs != null ? Math.min(120000, Math.max(err.retryAfterMs, 500)) : backoffMs;
      minute.lastError = err.message;
      if (first) {
        const hint = err.status === 404 || err.status === 405 ? ' (is the ingest endpoint there?)'
          : err.status === 401 || err.status === 403 ? ' (the token must be allowed to post observations)' : '';
        out(`${err.retryable ? 'daemon unavailable' : 'error'}: ${err.message}${hint}; keeping ${outbox.length} readings and retrying with back-off`);
      }
      await sleep(wait);
    }
  }
}

// --- bus positions ---------------------------------------------------------------------------------------
// Positions wait in their own queue (at most 100,000; the oldest are dropped) and go out in requests of at most
// 2,000, with back-off like readings. A daemon without the transit endpoint (404/405) turns them off, once logged.

const posQueue = [];
let posSending = null, posBackoffMs = 0, lastPosT = null;

function busTick(t) {
  if (!model.bus) return 0;
  const P = opts.positionsEvery * 1000;
  if (lastPosT == null) lastPosT = Math.floor(t / P) * P - P;
  const list = [];
  for (let x = Math.floor(lastPosT / P) * P + P; x <= t; x += P) {
    for (const p of model.bus.positions(x, scenarios.forModel(x))) list.push({ ...p, ts: formatLocal(p.ts) });
  }
  lastPosT = Math.max(lastPosT, Math.floor(t / P) * P);
  buses.positions += list.length;
  if (opts.dryRun) {
    for (const p of list) process.stdout.write(JSON.stringify(p) + '\n');
  } else if (list.length && !buses.off) {
    for (const p of list) posQueue.push(p);
    if (posQueue.length > 100000) { const n = posQueue.length - 100000; posQueue.splice(0, n); buses.dropped += n; }
    if (!posSending) posSending = sendPositions().finally(() => { posSending = null; });
  }
  return list.length;
}

async function sendPositions() {
  while (posQueue.length && !stopping && !buses.off) {
    const batch = posQueue.slice(0, 2000);
    try {
      const r = await api.postPositions(batch, stopCtl.signal);
      posQueue.splice(0, batch.length);
      posBackoffMs = 0;
      buses.sent += batch.length; buses.accepted += r.accepted; buses.rejected += batch.length - r.accepted;
      if (r.status === 422 && buses.sent === batch.length) out(`bus positions refused: ${r.detail}`);
    } catch (err) {
      if (stopping) break;
      buses.errors++;
      if (err.status === 404 || err.status === 405) {
        buses.off = err.message;
        buses.dropped += posQueue.length;
        posQueue.length = 0;
        out(`bus positions off: ${err.message} (this maeuld has no transit endpoint)`);
        break;
      }
      if (err.status === 400 || err.status === 413 || err.status === 415) {
        posQueue.splice(0, batch.length);
        buses.dropped += batch.length;
        out(`error: ${err.message} (dropped ${batch.length} positions)`);
        continue;
      }
      if (opts.once) { out(`error: ${err.message}`); break; }
      if (posBackoffMs === 0) out(`bus positions: ${err.message}; retrying with back-off`);
      posBackoffMs = Math.min(60000, Math.max(1000, posBackoffMs * 2));
      await sleep(err.retryAfterMs ?? posBackoffMs);
    }
  }
}

// --- the routine warm-up of a replay --------------------------------------------------------------------
// maeuld's routine-aware (inactivity) rules learn each home's day from the times of its readings, but close
// their hour slots on the daemon's own clock, at every tick. Past days replayed over many requests would reach
// them as one long silence up to now (learned as such, and opening alerts), the days themselves coming too late
// to count. So a replay first sends, for each home_activity sensor, all its readings of the replayed span (from
// --start to the moment of the warm-up) in time order in one request, which the daemon evaluates in one go;
// the replay then skips them (the schedule has handed them out) and goes on.

async function warmUp() {
  const from = replayClock, until = Math.floor(Date.now() / 1000) * 1000;
  const homes = [...model.sensors.values()].filter((s) => s.kind === 'home_activity');
  if (homes.length === 0 || until <= from) return;
  const began = Date.now();
  const scen = scenarios.forModel(from);
  const forced = new Set(schedule.forced);  // due() clears them: kept for the first tick
  let readingsSent = 0, late = 0;
  for (const s of homes) {
    if (stopping) return;
    const due = [...schedule.due([s], from), ...schedule.due([s], until)];
    const batch = [];
    for (const d of due.sort((a, b) => a.ts - b.ts || (a.metric < b.metric ? -1 : 1))) {
      const v = model.value(d.sensor, d.metric, d.ts, scen);
      if (v !== null) batch.push({ sensor: d.sensor, metric: d.metric, ts: formatLocal(d.ts), value: v });
    }
    totals.generated += batch.length;
    if (batch.length === 0) continue;
    for (let attempt = 1; ; attempt++) {
      try {
        totals.requests++;
        account(batch, await api.postObservations(batch, stopCtl.signal));
        readingsSent += batch.length;
        break;
      } catch (err) {
        if (stopping) return;
        totals.errors++; minute.errors++; minute.lastError = err.message;
        if (err.retryable && attempt < 6) {
          await sleep(err.retryAfterMs ?? 500 * 2 ** attempt);
          continue;
        }
        // Sent with the replay instead: the readings are the same, only routine-aware rules will not learn them.
        out(`warning: routine warm-up of ${s.id}: ${err.message}; its ${batch.length} readings go with the replay`);
        late++;
        enqueue(batch);
        break;
      }
    }
  }
  for (const id of forced) if (!homes.some((h) => h.id === id)) schedule.force([id]);
  out(`routine warm-up: ${readingsSent} readings of ${homes.length - late} home_activity sensors, ${formatLocal(from)} to `
    + `${formatLocal(until)}, one request per sensor, in ${((Date.now() - began) / 1000).toFixed(1)} s`);
}

// --- ticking -------------------------------------------------------------------------------------------

function tick() {
  const t = simNow();
  const scen = scenarios.forModel(t);
  const due = schedule.due(model.sensors.values(), t);
  const readings = [];
  for (const d of due) {
    const v = model.value(d.sensor, d.metric, d.ts, scen);
    if (v === null) continue;
    readings.push({ sensor: d.sensor, metric: d.metric, ts: formatLocal(d.ts), value: v });
  }
  totals.generated += readings.length;
  if (opts.dryRun) {
    for (const r of readings) process.stdout.write(JSON.stringify(r) + '\n');
  } else if (readings.length) {
    enqueue(readings);
  }
  busTick(t);
  return readings.length;
}

function logMinute() {
  const m = minute;
  let line = `readings sent ${m.sent}, accepted ${m.accepted}, duplicates ${m.duplicates}, rejected ${m.rejected}, errors ${m.errors}; queued ${outbox.length}`;
  if (m.dropped) line += `, dropped ${m.dropped}`;
  if (opts.dryRun) line = `readings generated ${totals.generated} (dry run)`;
  const running = scenarios.running().map((s) => s.id);
  if (running.length) line += `; scenarios ${running.join(', ')}`;
  line += `; sim time ${formatLocal(simNow())}`;
  out(line);
  if (m.reasons.size) {
    const top = [...m.reasons.entries()].sort((a, b) => b[1].n - a[1].n).slice(0, 3);
    out(`  rejected: ${top.map(([k, v]) => `${v.n}x "${k}"${v.example ? ` (e.g. ${v.example})` : ''}`).join('; ')}`);
  }
  if (m.errors && m.lastError) out(`  last error: ${m.lastError}`);
  if (model && model.bus && !opts.quiet) {
    out(`  buses: positions ${buses.positions} made, ${buses.sent} sent, ${buses.accepted} accepted, ${buses.errors} errors; queued ${posQueue.length}${buses.off ? '; off' : ''}`);
  }
  minute = { sent: 0, accepted: 0, duplicates: 0, rejected: 0, errors: 0, reasons: new Map(), lastError: null };
}

// --- scenarios -----------------------------------------------------------------------------------------

function startScenario(spec) {
  const now = simNow();
  const sc = resolve(spec, model, now, Date.now());  // a morning's "today" is the calendar's, in a replay too
  const r = scenarios.add(sc);
  if (r.added) {
    const ids = affectedSensors(sc, model);
    schedule.force(ids);
    const what = sc.name === 'bunching' ? `route ${sc.route}: the next bus is held up, its follower catches up`
      : sc.name === 'tourist-peak' ? `boardings up at the stops of ${sc.zone ?? 'seorak and daepo'}`
      : sc.name === 'silent' ? `sensor ${sc.sensor} stops reporting`
      : sc.name === 'breakdown' ? `corridor "${sc.corridor}" (${ids.length} sensors)`
        : sc.name === 'morning' ? `the resident of ${sc.sensor} does not get up: no activity from ${formatLocal(Math.max(sc.stopAt, sc.start))}`
          + `${sc.stopAt < sc.start ? ' (that wake-up was before the start: from the start)' : ''}; the monitor keeps reporting`
          : `${ids.length} sensors in ${sc.zone ?? 'every zone'}`;
    out(`scenario ${sc.id} started: ${what}${sc.duration ? `, over ${sc.duration / 1000} s` : ''}`);
  }
  return r;
}

function stopScenario(name, target) {
  // Ended on a whole second: the forced readings below are stamped with the tick's whole second, which must
  // not fall inside the scenario (a silenced sensor would stay silent until its next slot).
  const ended = scenarios.remove(name, target, Math.floor(simNow() / 1000) * 1000);
  for (const sc of ended) {
    out(`scenario ${sc.id} stopped`);
    const ids = affectedSensors(sc, model);
    if (sc.sensor) ids.push(sc.sensor);
    schedule.force(ids);
  }
  return ended.length;
}

const controlHandlers = {
  list() {
    const now = simNow();
    const corridors = model ? [...model.corridors().values()].map((c) => ({ name: c.name, zones: c.zones, segments: c.segments })) : [];
    return {
      running: scenarios.running().map((sc) => describe(sc, now, model)),
      available: Object.entries(SCENARIOS).map(([name, d]) => ({ name, target: d.target, target_optional: d.optional, takes_day: d.day === true, duration_s: d.duration_s, about: d.about })),
      zones: model ? model.zones() : [],
      corridors,
      routes: model && model.bus ? model.bus.routes() : [],
      sim_time: new Date(now).toISOString(),
    };
  },
  add(body) {
    let spec;
    try {
      spec = specFromBody(body);
      if (!model) throw Object.assign(new Error('the sensor list is not loaded yet'), { status: 503, title: 'not ready' });
      const r = startScenario(spec);
      return { status: r.added ? 201 : 200, body: describe(r.scenario, simNow(), model) };
    } catch (err) {
      if (err instanceof ScenarioError) throw Object.assign(err, { status: 422, title: 'invalid scenario' });
      throw err;
    }
  },
  remove(name, target) {
    return stopScenario(name, target);
  },
  status() {
    return { ...totals, queued: outbox.length, buses: { ...buses, queued: posQueue.length }, sensors: model ? model.sensors.size : 0, sim_time: new Date(simNow()).toISOString(), speed: opts.speed, seed: opts.seed };
  },
};

// --- main ----------------------------------------------------------------------------------------------

let tickTimer = null, minuteTimer = null, refreshTimer = null, control = null;

async function shutdown(signal) {
  if (stopping) {
    out(`${signal} again: exiting now`);
    process.exit(1);
  }
  stopping = true;
  info(`${signal}: stopping`);
  clearTimeout(tickTimer); clearInterval(minuteTimer); clearInterval(refreshTimer);
  if (control) control.close();
  // One last try at what is queued, briefly, if the daemon was answering.
  if (sending) {
    if (wake) wake();  // a sender asleep in back-off gives up at once; one in flight gets 3 s to finish
    await Promise.race([sending.catch(() => {}), new Promise((r) => setTimeout(r, 3000))]);
    stopCtl.abort();
    await sending?.catch(() => {});
  }
  if (outbox.length && api && backoffMs === 0) {
    try {
      const r = await Promise.race([
        api.postObservations(outbox.slice(0, opts.batch)),
        new Promise((_, rej) => setTimeout(() => rej(new Error('timeout')), 3000)),
      ]);
      totals.sent += Math.min(outbox.length, opts.batch); totals.accepted += r.accepted; totals.duplicates += r.duplicates;
      totals.rejected += r.rejected.length;
      outbox.splice(0, opts.batch);
    } catch { /* the daemon is going away too */ }
  }
  stopCtl.abort();
  out(`stopped: ${totals.sent} readings sent in total, ${totals.accepted} accepted, ${totals.duplicates} duplicates, ${totals.rejected} rejected, ${totals.errors} errors${outbox.length ? `, ${outbox.length} unsent` : ''}`);
  process.exit(0);
}

process.on('SIGINT', () => shutdown('SIGINT'));
process.on('SIGTERM', () => shutdown('SIGTERM'));

async function main() {
  info(`starting: ${opts.url || opts.world}, every ${opts.interval} s, speed ${opts.speed}, seed ${opts.seed}${opts.start ? `, from ${formatLocal(opts.start)}` : ''}`);
  if (opts.speed > 1 && opts.start == null) {
    info('note: --speed without --start: the simulated clock cannot run ahead of the real one, so it runs at real time');
  }
  if (opts.controlPort != null) {
    try {
      control = await startControl({ port: opts.controlPort, handlers: controlHandlers });
    } catch (err) {
      out(`error: cannot open the control port 127.0.0.1:${opts.controlPort}: ${err.code || err.message}`);
      process.exit(1);
    }
    out(`control on http://127.0.0.1:${control.address().port}/scenario`);
  }
  const sensors = await loadSensors();
  if (!sensors) return;
  model = createModel({ seed: opts.seed, sensors });
  if (opts.gtfs) {
    try {
      model.bus = new BusModel({ seed: opts.seed, feed: readFeed(opts.gtfs) });
    } catch (err) {
      out(`error: --gtfs ${opts.gtfs}: ${err.message}`);
      process.exit(64);
    }
    const nTrips = [...model.bus.feed.routes.values()].reduce((n, r) => n + r.trips.length, 0);
    info(`buses: ${model.bus.routes().length} routes, ${nTrips} trips a day, a position every ${opts.positionsEvery} s`);
    if (replayClock != null) lastPosT = Math.max(replayClock, Date.now() - opts.busHistory * 3600e3) - opts.positionsEvery * 1000;
  }
  const metrics = [...model.sensors.values()].reduce((n, s) => n + s.metrics.size, 0);
  info(`${model.sensors.size} sensors, ${metrics} metrics, zones: ${model.zones().join(', ') || 'none'}`);
  for (const s of opts.scenarios) {
    try {
      startScenario(parseSpec(s));
    } catch (err) {
      out(`error: --scenario ${s}: ${err.message}`);
      process.exit(64);
    }
  }
  if (replayClock != null && !opts.once && !opts.dryRun && !opts.noWarmUp) {
    await warmUp();
    if (stopping) return;
    lastStep = Date.now();  // the replay's clock starts after the warm-up
  }
  if (opts.once) {
    const n = tick();
    if (sending) await sending;
    if (posSending) await posSending;
    out(`one tick: ${n} readings; sent ${totals.sent}, accepted ${totals.accepted}, duplicates ${totals.duplicates}, rejected ${totals.rejected}, errors ${totals.errors}`);
    if (minute.reasons.size) logMinute();
    const code = totals.errors || (totals.rejected && !totals.accepted) ? 1 : 0;
    process.stdout.write('', () => process.exit(code));  // a piped stdout is written asynchronously
    return;
  }
  const period = opts.interval * 1000;
  const loop = () => {
    if (stopping) return;
    // Replaying: short ticks, and none while more than two batches wait to be sent.
    const replay = replayClock != null;
    const hold = replay && outbox.length > 2 * opts.batch;
    stepReplay(hold);
    // Metrics without interval_s: one reading per --interval of simulated time.
    schedule.tickMs = opts.interval * 1000;
    try {
      if (!hold) tick();
    } catch (err) {
      out(`error in tick: ${err.stack || err.message}`);
    }
    const next = replay ? Math.min(period, REPLAY_TICK_MS) : period - (Date.now() % period) || period;
    tickTimer = setTimeout(loop, next);
  };
  loop();
  minuteTimer = setInterval(logMinute, 60000);
  if (!opts.world) {
    refreshTimer = setInterval(async () => {
      try {
        const list = await api.listSensors(stopCtl.signal);
        if (list.length !== model.sensors.size || list.some((s) => !model.sensors.has(s.id))) {
          model.setSensors(list);
          info(`sensor list changed: now ${model.sensors.size} sensors`);
        } else {
          model.setSensors(list);  // zones, metrics or limits may have changed
        }
      } catch { /* keep the list we have */ }
    }, 600000);
  }
}

main().catch((err) => {
  out(`fatal: ${err.stack || err.message}`);
  process.exit(1);
});
