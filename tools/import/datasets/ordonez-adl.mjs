// ordonez-adl: binary home sensors and labelled activities of daily living in two single-resident
// homes (ordonez-adl/Ordonez{A,B}_{Sensors,ADLs}.txt; UCI "Activities of Daily Living (ADLs)
// Recognition Using Binary Sensors", Ordonez, de Toledo, Sanchis, Sensors 2013, 13, 5460-5477;
// non-commercial test input only).
//
// Quirks: tab-separated with a variable number of tabs (padding) and stray spaces, CRLF, two header
// lines (names, dashes), blank lines; intervals (start, end) with no time zone.
//
// Mapping: each (home, place, location, type) is a sensor with one metric `active` (0/1): a reading
// 1 at the start of each interval and 0 at its end. The ADL labels of a home are one sensor
// (adl-home-a-activity) with one 0/1 metric per activity (sleeping, toileting, ...), 1 at the start
// of the labelled interval and 0 at its end. Times are the homes' wall-clock times, read in --tz
// (default Asia/Seoul, the zone of the made-up location in Sokcho; the data were recorded in Spain).
//
// Outlier rules (whole event dropped): end before start; an event that starts more than an hour
// before the previous row of the file (the files are in time order; such rows are typos, e.g. a
// 12:41 that belongs at 22:41); longer than 24 hours; a zero-length interval (start = end: 1 and 0
// would share one timestamp). Intervals of one sensor (or one activity) that overlap are merged.
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { Report } from '../lib/report.mjs';
import { metric, point, instant } from '../lib/dataset.mjs';
import { readText } from '../lib/text.mjs';
import { parseWall, rfc3339, offsetMinutes } from '../lib/time.mjs';

export const name = 'ordonez-adl';
export const DEFAULT_TZ = 'Asia/Seoul';
export const HOMES = {
  A: { id: 'a', location: [128.5905, 38.2035], sensors: 'ordonez-adl/OrdonezA_Sensors.txt', adls: 'ordonez-adl/OrdonezA_ADLs.txt' },
  B: { id: 'b', location: [128.5650, 38.1920], sensors: 'ordonez-adl/OrdonezB_Sensors.txt', adls: 'ordonez-adl/OrdonezB_ADLs.txt' },
};

const ACTIVE = metric('active', 'bool', 0, 1);
const MAX_EVENT_MS = 24 * 3600000;
const OUT_OF_ORDER_MS = 3600000;
const SILENCE_MS = 12 * 3600000;

const KINDS = { PIR: 'pir_motion', Magnetic: 'contact_switch', Pressure: 'pressure_mat', Flush: 'flush_sensor', Electric: 'appliance_power' };
const idPart = (s) => s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '');
export const activityMetric = (a) => a.toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_+|_+$/g, '');

export function sensorId(home, place, location, type) {
  return `adl-home-${HOMES[home].id}-${idPart(place)}-${idPart(location)}-${idPart(type)}`;
}
export const activitySensorId = (home) => `adl-home-${HOMES[home].id}-activity`;

// Splits the padded, tab-separated text into records: {fields, line}; 2 header lines dropped.
export function readPadded(text, report, file) {
  const lines = text.split(/\r\n|\n|\r/);
  const rows = [];
  let blank = 0;
  for (let i = 2; i < lines.length; i++) {
    const t = lines[i].trim();
    if (!t) { if (i < lines.length - 1) blank++; continue; }
    rows.push({ fields: t.split('\t').map((f) => f.trim()).filter((f) => f !== ''), line: i + 1 });
  }
  if (blank) report.skip('row: blank line', `${file}`, blank);
  return rows;
}

// intervals -> readings: sort, drop outliers, merge overlaps, emit 1 at start and 0 at end.
function emitIntervals(report, out, tz, events, what) {
  // events: [{sensor, metric, s, e, where, order}] with s/e wall ms (file order kept in `order`)
  const groups = new Map();
  let prevStart = -Infinity;
  for (const ev of events) {
    const where = ev.where;
    if (ev.e < ev.s) { report.skip(`row: outlier: end before start (${what})`, where); continue; }
    if (ev.s < prevStart - OUT_OF_ORDER_MS) {
      report.skip(`row: outlier: starts more than an hour before the previous row (${what})`, where);
      continue;
    }
    prevStart = Math.max(prevStart, ev.s);
    if (ev.e - ev.s > MAX_EVENT_MS) { report.skip(`row: outlier: longer than 24 hours (${what})`, where); continue; }
    if (ev.e === ev.s) { report.skip(`row: zero-length interval (${what})`, where); continue; }
    const key = `${ev.sensor} ${ev.metric}`;
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(ev);
  }
  const starts = [];
  for (const evs of groups.values()) {
    evs.sort((a, b) => a.s - b.s || a.e - b.e);
    const merged = [];
    for (const ev of evs) {
      const last = merged[merged.length - 1];
      if (last && ev.s <= last.e) {
        const same = ev.s === last.s && ev.e === last.e;
        report.skip(same ? `row: duplicate row in file (${what})` : `row: overlaps an earlier interval of the same ${what === 'activity label' ? 'activity' : 'sensor'} (merged)`, ev.where);
        last.e = Math.max(last.e, ev.e);
        continue;
      }
      merged.push({ ...ev });
    }
    for (const ev of merged) {
      const a = instant(report, tz, ev.s, ev.where);
      const b = instant(report, tz, ev.e, ev.where);
      if (!a || !b) continue;
      out.push({ sensor: ev.sensor, metric: ev.metric, ts: a.ts, value: 1, t: a.t });
      out.push({ sensor: ev.sensor, metric: ev.metric, ts: b.ts, value: 0, t: b.t });
      starts.push([a.t, b.t]);
    }
  }
  return starts;
}

// Silences: stretches longer than SILENCE_MS with no sensor active in a home.
function silences(report, series, spans, tz) {
  spans.sort((x, y) => x[0] - y[0]);
  const gaps = [];
  let end = -Infinity;
  let missing = 0;
  for (const [s, e] of spans) {
    if (end > -Infinity && s - end > SILENCE_MS) {
      const h = Math.round((s - end) / 3600000);
      missing += h;
      gaps.push({ from: rfc3339(end, offsetMinutes(tz, end)), to: rfc3339(s, offsetMinutes(tz, s)), missing: h });
    }
    end = Math.max(end, e);
  }
  if (gaps.length) {
    report.gaps.push({ series, unit: 'hours of silence (no sensor active for over 12 h)', count: gaps.length, missing, largest: [...gaps].sort((a, b) => b.missing - a.missing).slice(0, 12) });
  }
}

// parseHome(home, sensorsText, adlsText, report, tz) -> {readings, sensors: Map(id -> [place, location, type]), activities: Set}
export function parseHome(home, sensorsText, adlsText, report, tz = DEFAULT_TZ) {
  const h = HOMES[home];
  const readings = [];
  const sensorDefs = new Map();
  const activities = new Set();
  const events = [];
  for (const { fields, line } of readPadded(sensorsText, report, h.sensors)) {
    report.rowsRead++;
    const where = `${h.sensors.split('/').pop()} line ${line}`;
    if (fields.length < 5) { report.skip('row: too few fields', where); continue; }
    const [start, end, location, type, place] = fields;
    const s = parseWall(start);
    const e = parseWall(end);
    if (s === null || e === null) { report.skip('row: unparseable time', `${where} ${JSON.stringify(`${start} ${end}`)}`); continue; }
    const id = sensorId(home, place, location, type);
    sensorDefs.set(id, [place, location, type]);
    events.push({ sensor: id, metric: 'active', s, e, where });
  }
  const spans = emitIntervals(report, readings, tz, events, 'sensor event');
  silences(report, `home ${home}`, spans, tz);

  const labels = [];
  for (const { fields, line } of readPadded(adlsText, report, h.adls)) {
    report.rowsRead++;
    const where = `${h.adls.split('/').pop()} line ${line}`;
    if (fields.length < 3) { report.skip('row: too few fields', where); continue; }
    const [start, end, activity] = fields;
    const s = parseWall(start);
    const e = parseWall(end);
    if (s === null || e === null) { report.skip('row: unparseable time', `${where} ${JSON.stringify(`${start} ${end}`)}`); continue; }
    const m = activityMetric(activity);
    if (!m) { report.skip('row: empty activity name', where); continue; }
    activities.add(m);
    labels.push({ sensor: activitySensorId(home), metric: m, s, e, where });
  }
  emitIntervals(report, readings, tz, labels, 'activity label');
  return { readings, sensorDefs, activities };
}

export function sensorsFor(home, sensorDefs, activities) {
  const h = HOMES[home];
  const common = {
    source: 'UCI ADLs Recognition Using Binary Sensors (Ordonez et al., Sensors 2013); non-commercial test input',
    home: `Ordonez ${home}`,
    subject: `pseudonym:ordonez-${h.id}`,
    location_precision: 'made up: the data set gives no location (a point in Sokcho)',
  };
  const list = [...sensorDefs].sort().map(([id, [place, location, type]]) => ({
    id,
    domain: 'welfare',
    kind: KINDS[type] || idPart(type),
    name: `Home ${home}: ${location} (${type}, ${place})`,
    location: point(...h.location),
    metrics: [ACTIVE],
    attributes: { ...common, place, fixture: location, sensor_type: type },
  }));
  if (activities.size) {
    list.push({
      id: activitySensorId(home),
      domain: 'welfare',
      kind: 'adl_label',
      name: `Home ${home}: labelled activities of daily living`,
      location: point(...h.location),
      metrics: [...activities].sort().map((a) => metric(a, 'bool', 0, 1)),
      attributes: { ...common, note: 'ground-truth labels written by the resident, not a device' },
    });
  }
  return list;
}

export function load(dataDir, { tz = DEFAULT_TZ } = {}) {
  const report = new Report(name);
  let readings = [];
  const sensors = [];
  for (const home of Object.keys(HOMES)) {
    const h = HOMES[home];
    const texts = [h.sensors, h.adls].map((rel) => {
      const path = join(dataDir, rel);
      if (!existsSync(path)) throw new Error(`data file not found: ${path}`);
      const { text, bom } = readText(path, 'utf-8');
      const rows = text.split(/\r\n|\n|\r/).slice(2).filter((l) => l.trim()).length;
      report.file(rel, 'utf-8', bom, rows);
      return text;
    });
    const r = parseHome(home, texts[0], texts[1], report, tz);
    readings = readings.concat(r.readings);
    sensors.push(...sensorsFor(home, r.sensorDefs, r.activities));
  }
  readings.sort((a, b) => a.t - b.t);
  report.readingsParsed = readings.length;
  report.note(`wall-clock times read as ${tz} (the data set has no time zone)`);
  return { report, readings, sensors };
}
