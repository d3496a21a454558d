'use strict';
// KPIs computed from readings: electricity_per_capita, renewable_share, transit_boardings_per_capita,
// pm25_bad_days and travel_time_index, per zone and for the city, for period=day|week|month|year in
// the city's calendar (Asia/Seoul); UTC days vs local days; ?zone=; CSV (?format=csv, Accept: text/csv);
// targets; duplicates and late readings; the public KPI summary and the public report joined to budget
// lines. Every expected value is computed here, with plain arithmetic over the readings this file posts.
// Contract: shared/API.md §7; docs/api-notes.md "KPIs"; the descriptions in GET /api/v1/kpis.

const { describe, test, before } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/harness');
const I = require('./lib/ingest-helpers');
const K = require('./lib/kpi-helpers');

const { iso, MIN, HOUR } = I;
const { Expected, periodStart, PERIODS, mean, sum } = K;

// ---------------------------------------------------------------- the fixture

const ZONES = [
  { id: 'north', lon: 128.50, lat: 38.10, population: 20 },
  { id: 'south', lon: 128.50, lat: 38.00, population: 30 },
  { id: 'empty', lon: 128.70, lat: 38.10, population: 50 }, // no sensors: residents count for the city
];
const POP = Object.fromEntries(ZONES.map((z) => [z.id, z.population]));
const CITY_POP = sum(ZONES.map((z) => z.population));

// Hours (UTC) in which sensors report; the comment gives the city's local time (UTC+9).
const HOURS = [
  '2025-12-31T14:00:00Z', // 0: 2025-12-31 23:00 Wed (year 2025)
  '2025-12-31T15:00:00Z', // 1: 2026-01-01 00:00 Thu (year 2026, same ISO week as hour 0)
  '2026-01-15T03:00:00Z', // 2: 2026-01-15 12:00
  '2026-02-28T14:00:00Z', // 3: 2026-02-28 23:00 Sat (February)
  '2026-02-28T15:00:00Z', // 4: 2026-03-01 00:00 Sun (March, though UTC still says Feb 28)
  '2026-02-28T16:00:00Z', // 5: 2026-03-01 01:00 Sun
  '2026-03-01T14:00:00Z', // 6: 2026-03-01 23:00 Sun
  '2026-03-01T16:00:00Z', // 7: 2026-03-02 01:00 Mon (UTC day 03-01, local day 03-02, a new week)
  '2026-03-01T17:00:00Z', // 8: 2026-03-02 02:00 Mon
  '2026-03-10T05:00:00Z', // 9: 2026-03-10 14:00 Tue
].map(Date.parse);
const ALL = HOURS.map((_, i) => i);

// pm25 per hour (one reading an hour, at every hour, for both sensors).
const PM25 = { 'aq-n1': [40, 20, 30, 36, 30, 45, 50, 20, 50, 10], 'aq-s1': [20, 50, 40, 34, 40, 25, 20, 30, 40, 80] };

// id, zone, kind, domain, metric the KPI reads, distractor metrics, hours, readings an hour, values
const SENSORS = [
  { id: 'meter-n1', zone: 'north', kind: 'smart_meter', domain: 'energy', metric: 'power_kw', extra: ['energy_kwh'], hours: ALL, per: [1, 4], val: [10, 200] },
  { id: 'meter-n2', zone: 'north', kind: 'smart_meter', domain: 'energy', metric: 'power_kw', hours: [1, 2, 4, 6, 7, 9], per: [1, 3], val: [10, 200] },
  { id: 'meter-s1', zone: 'south', kind: 'smart_meter', domain: 'energy', metric: 'power_kw', hours: [0, 1, 3, 4, 5, 6, 7, 8, 9], per: [1, 4], val: [10, 200] },
  { id: 'pv-n1', zone: 'north', kind: 'solar_pv', domain: 'energy', metric: 'power_kw', hours: [0, 1, 4, 5, 7, 9], per: [1, 3], val: [1, 60] },
  { id: 'pv-s1', zone: 'south', kind: 'solar_pv', domain: 'energy', metric: 'power_kw', hours: [0, 3, 4, 8, 9], per: [1, 3], val: [1, 60] },
  // a battery's power_kw is neither consumption nor solar output
  { id: 'ess-n1', zone: 'north', kind: 'ess', domain: 'energy', metric: 'power_kw', extra: ['soc_pct'], hours: [4, 5], per: [2, 2], val: [500, 500] },
  { id: 'bus-n1', zone: 'north', kind: 'bus_stop_counter', domain: 'mobility', metric: 'boardings', extra: ['alightings'], hours: [3, 4, 5, 6, 7, 8, 9], per: [1, 4], val: [0, 40], int: true },
  { id: 'bus-s1', zone: 'south', kind: 'bus_stop_counter', domain: 'mobility', metric: 'boardings', extra: ['alightings'], hours: [3, 6, 7, 9], per: [1, 4], val: [0, 40], int: true },
  { id: 'bus-s2', zone: 'south', kind: 'bus_stop_counter', domain: 'mobility', metric: 'boardings', hours: [4, 8], per: [1, 2], val: [0, 40], int: true },
  { id: 'aq-n1', zone: 'north', kind: 'air_quality', domain: 'environment', metric: 'pm25', extra: ['pm10'], hours: ALL, per: [1, 1], fixed: PM25['aq-n1'] },
  { id: 'aq-s1', zone: 'south', kind: 'air_quality', domain: 'environment', metric: 'pm25', extra: ['pm10'], hours: ALL, per: [1, 1], fixed: PM25['aq-s1'] },
  { id: 'tt-n1', zone: 'north', kind: 'traffic_corridor', domain: 'mobility', metric: 'travel_time_s', extra: ['speed_kmh'], hours: ALL, per: [2, 2], val: [100, 400], freeFlow: 120 },
  { id: 'tt-s1', zone: 'south', kind: 'traffic_corridor', domain: 'mobility', metric: 'travel_time_s', hours: ALL, per: [2, 2], val: [100, 400] },
  { id: 'tt-s2', zone: 'south', kind: 'traffic_corridor', domain: 'mobility', metric: 'travel_time_s', hours: [3, 4, 5, 6, 7, 8], per: [2, 2], val: [150, 600], freeFlow: 300 },
];
const SENSOR = Object.fromEntries(SENSORS.map((s) => [s.id, s]));

// Every reading: {sensor, metric, t, value}; the readings the KPIs read and the distractors.
function makeReadings() {
  const rnd = I.rng(20260301);
  const pick = (lo, hi, step) => lo + Math.floor(rnd() * ((hi - lo) / step + 1)) * step;
  const out = [];
  for (const s of SENSORS) {
    for (const hi of s.hours) {
      const n = pick(s.per[0], s.per[1], 1);
      const minutes = new Set();
      if (hi === 7) minutes.add(0); // a reading at exactly 2026-03-01T16:00:00Z (local 2026-03-02 01:00)
      while (minutes.size < n) minutes.add(pick(0, 59, 1));
      for (const m of [...minutes].sort((a, b) => a - b)) {
        const t = HOURS[hi] + m * MIN + pick(0, 59, 1) * 1000;
        const value = s.fixed ? s.fixed[hi] : pick(s.val[0], s.val[1], s.int ? 1 : 0.5);
        out.push({ sensor: s.id, metric: s.metric, t, value });
        for (const x of s.extra || []) out.push({ sensor: s.id, metric: x, t, value: 10000 + value });
      }
    }
  }
  return out;
}

const toObs = (rs) => rs.map((r) => ({ sensor: r.sensor, metric: r.metric, ts: iso(r.t), value: r.value }));

// ---------------------------------------------------------------- the KPIs, computed here

const of = (readings, kind, metric) => readings.filter((r) => SENSOR[r.sensor].kind === kind && r.metric === metric);

// [{sensor, zone, hour, mean}] — one item per (sensor, UTC hour) with readings
function hourlyMeans(rs) {
  const m = new Map();
  for (const r of rs) {
    const k = `${r.sensor}|${K.hourStart(r.t)}`;
    if (!m.has(k)) m.set(k, { sensor: r.sensor, zone: SENSOR[r.sensor].zone, hour: K.hourStart(r.t), values: [] });
    m.get(k).values.push(r.value);
  }
  return [...m.values()].map((x) => ({ ...x, mean: mean(x.values) }));
}

const popOf = (zone) => (zone === null ? CITY_POP : POP[zone]);

// kWh (sum over hours of the hour's mean kW) over residents
function electricity(readings, period) {
  const e = new Expected();
  for (const g of K.groups(hourlyMeans(of(readings, 'smart_meter', 'power_kw')), period, (x) => x.hour, (x) => x.zone).values()) {
    e.set(g.zone, g.start, sum(g.items.map((x) => x.mean)) / popOf(g.zone));
  }
  return e;
}

// solar kWh over consumed kWh, in percent
function renewable(readings, period) {
  const items = [
    ...hourlyMeans(of(readings, 'smart_meter', 'power_kw')).map((x) => ({ ...x, use: x.mean, pv: 0 })),
    ...hourlyMeans(of(readings, 'solar_pv', 'power_kw')).map((x) => ({ ...x, use: 0, pv: x.mean })),
  ];
  const e = new Expected();
  for (const g of K.groups(items, period, (x) => x.hour, (x) => x.zone).values()) {
    const use = sum(g.items.map((x) => x.use));
    assert.ok(use > 0, 'the fixture has consumption wherever it has solar output');
    e.set(g.zone, g.start, (100 * sum(g.items.map((x) => x.pv))) / use);
  }
  return e;
}

// boardings over residents
function transit(readings, period) {
  const e = new Expected();
  for (const g of K.groups(of(readings, 'bus_stop_counter', 'boardings'), period, (r) => r.t, (r) => SENSOR[r.sensor].zone).values()) {
    e.set(g.zone, g.start, sum(g.items.map((r) => r.value)) / popOf(g.zone));
  }
  return e;
}

// days (city calendar) whose mean pm25 exceeds 35, counted per period
function pm25BadDays(readings, period) {
  const e = new Expected();
  const days = K.groups(of(readings, 'air_quality', 'pm25'), 'day', (r) => r.t, (r) => SENSOR[r.sensor].zone);
  for (const g of days.values()) {
    const start = periodStart(g.start, period);
    const bad = mean(g.items.map((r) => r.value)) > 35 ? 1 : 0;
    e.set(g.zone, start, (e.get(g.zone, start) || 0) + bad);
  }
  return e;
}

// per corridor: mean travel time over free flow (attributes.free_flow_s, else the lowest hourly mean
// in the period); per zone and for the city: the mean of the corridors' indexes
function travelTimeIndex(readings, period) {
  const perCorridor = new Map(); // sensor|start → readings
  for (const r of of(readings, 'traffic_corridor', 'travel_time_s')) {
    const k = `${r.sensor}|${periodStart(r.t, period)}`;
    if (!perCorridor.has(k)) perCorridor.set(k, []);
    perCorridor.get(k).push(r);
  }
  const acc = new Map(); // zone|start → {zone, start, xs: [index]}
  for (const rs of perCorridor.values()) {
    const s = SENSOR[rs[0].sensor];
    const start = periodStart(rs[0].t, period);
    const ff = s.freeFlow !== undefined ? s.freeFlow : Math.min(...hourlyMeans(rs).map((x) => x.mean));
    const idx = mean(rs.map((r) => r.value)) / ff;
    for (const z of [s.zone, null]) {
      const k = Expected.key(z, start);
      if (!acc.has(k)) acc.set(k, { zone: z, start, xs: [] });
      acc.get(k).xs.push(idx);
    }
  }
  const e = new Expected();
  for (const a of acc.values()) e.set(a.zone, a.start, mean(a.xs));
  return e;
}

const COMPUTE = {
  electricity_per_capita: electricity,
  renewable_share: renewable,
  transit_boardings_per_capita: transit,
  pm25_bad_days: pm25BadDays,
  travel_time_index: travelTimeIndex,
};

const RANGE = { from: '2025-12-01T00:00:00Z', to: '2026-04-01T00:00:00Z' };
const rangeFor = (period) => (period === 'year' ? { from: '2025-01-01T00:00:00Z', to: '2026-04-01T00:00:00Z' } : RANGE);

// ---------------------------------------------------------------- tests

describe('KPIs from readings', () => {
  const ctx = h.useDaemon('kpi_readings');
  let T;
  let analyst;
  let readings;
  let catalogue;

  before(async () => {
    const d = ctx.d;
    T = d.bootstrapToken;
    analyst = (await h.createToken(d, 'analyst', 'kpi-analyst')).token;
    for (const z of ZONES) {
      const res = await h.request(d, 'POST', '/api/v1/zones', {
        token: T, body: h.zoneBody(z.id, { boundary: h.polygon(z.lon, z.lat, 0.02), population: z.population, households: 1 }),
      });
      h.assertStatus(res, 201, `zone ${z.id}`);
    }
    let i = 0;
    for (const s of SENSORS) {
      const z = ZONES.find((x) => x.id === s.zone);
      const metrics = [s.metric, ...(s.extra || [])].map((name) => ({ name, unit: 'u' }));
      const res = await h.request(d, 'POST', '/api/v1/sensors', {
        token: T,
        body: h.sensorBody(s.id, {
          domain: s.domain, kind: s.kind, zone: s.zone, metrics,
          location: h.point(z.lon + 0.002 + 0.001 * (i++), z.lat + 0.005),
          attributes: s.freeFlow !== undefined ? { free_flow_s: s.freeFlow } : {},
        }),
      });
      h.assertStatus(res, 201, `sensor ${s.id}`);
    }
    readings = makeReadings();
    I.assertIngest(await I.postObs(d, T, toObs(readings)), { accepted: readings.length, duplicates: 0, rejected: [] });
    const cat = await I.getJson(d, analyst, '/api/v1/kpis');
    catalogue = Object.fromEntries(cat.items.map((k) => [k.id, k]));
  });

  for (const kpi of Object.keys(COMPUTE).filter((k) => k !== 'travel_time_index')) {
    test(`${kpi}: per zone and city, day/week/month/year, equals the test's own arithmetic`, async () => {
      assert.ok(catalogue[kpi], `${kpi} is in the catalogue`);
      for (const period of PERIODS) {
        const want = COMPUTE[kpi](readings, period);
        assert.ok(want.size > 0);
        const b = await K.expectValues(ctx.d, analyst, kpi, { period, ...rangeFor(period) }, want);
        K.assertTargets(b.values, catalogue[kpi], period);
      }
    });
  }

  test('travel_time_index, corridors with attributes.free_flow_s (zone north): mean travel time over free flow', async () => {
    for (const period of PERIODS) {
      const want = travelTimeIndex(readings, period).filter((z) => z === 'north');
      assert.ok(want.size > 0);
      const b = await K.expectValues(ctx.d, analyst, 'travel_time_index', { period, zone: 'north', ...rangeFor(period) }, want);
      K.assertTargets(b.values, catalogue.travel_time_index, period);
    }
  });

  test('travel_time_index without free_flow_s (zone south, city): free flow is the lowest hourly mean in the period', async () => {
    for (const period of PERIODS) {
      const want = travelTimeIndex(readings, period).filter((z) => z !== 'north');
      const values = (await K.getValues(ctx.d, analyst, 'travel_time_index', { period, ...rangeFor(period) })).values.filter((v) => v.zone !== 'north');
      const diffs = K.diffValues(values, want);
      assert.ok(diffs.length === 0, `travel_time_index period=${period}: per the catalogue, a corridor without attributes.free_flow_s ` +
        `uses "the lowest hourly mean in the period"; differences:\n  ${diffs.slice(0, 8).join('\n  ')}`);
    }
  });

  test("a period's value does not depend on the from/to of the request", async () => {
    // the same local days, asked for within a narrow range and within the wide one
    const narrow = { from: '2026-02-28T00:00:00Z', to: '2026-03-01T15:00:00Z' }; // local 2026-02-28 09:00 .. 03-02 00:00
    for (const kpi of Object.keys(COMPUTE)) {
      const a = await K.getValues(ctx.d, analyst, kpi, { period: 'day', ...narrow });
      const b = await K.getValues(ctx.d, analyst, kpi, { period: 'day', ...RANGE });
      assert.ok(a.values.length > 0, `${kpi}: values in the narrow range`);
      const wide = new Map(b.values.map((v) => [K.Expected.key(v.zone, v.start), v.value]));
      for (const v of a.values) {
        const k = K.Expected.key(v.zone, v.start);
        assert.equal(v.value, wide.get(k), `${kpi} ${k}: ${v.value} when asked for ${narrow.from}..${narrow.to}, ${wide.get(k)} when asked for ${RANGE.from}..${RANGE.to}`);
      }
    }
  });

  test('a local day is not a UTC day: 2026-03-01T16:00Z counts for 2026-03-02 in Asia/Seoul', async () => {
    const b = await K.getValues(ctx.d, analyst, 'electricity_per_capita', { period: 'day', ...RANGE });
    const starts = new Set(b.values.map((v) => v.start));
    for (const s of starts) {
      assert.match(s, /T15:00:00\.000Z$/, `a city day starts at 15:00Z (00:00 +09:00): ${s}`);
    }
    // north, local 2026-03-02: only hours 7 and 8 (UTC 2026-03-01T16,17)
    const hm = hourlyMeans(of(readings, 'smart_meter', 'power_kw')).filter((x) => x.zone === 'north');
    const want = sum(hm.filter((x) => x.hour === HOURS[7] || x.hour === HOURS[8]).map((x) => x.mean)) / POP.north;
    const row = b.values.find((v) => v.zone === 'north' && v.start === '2026-03-01T15:00:00.000Z');
    assert.ok(row, `a north value for local 2026-03-02: ${JSON.stringify(b.values.filter((v) => v.zone === 'north'))}`);
    assert.ok(K.near(row.value, want), `north 2026-03-02: got ${row.value}, want ${want}`);
    // month: 2026-02-28T15:00Z..16:59Z belong to March, 14:xx to February
    const m = await K.getValues(ctx.d, analyst, 'pm25_bad_days', { period: 'month', ...RANGE });
    const march = m.values.find((v) => v.zone === 'north' && v.start === '2026-02-28T15:00:00.000Z');
    assert.ok(march, 'March (local) begins 2026-02-28T15:00Z');
    // year: 2025-12-31T15:00Z is 2026 in Seoul
    const y = await K.getValues(ctx.d, analyst, 'transit_boardings_per_capita', { period: 'year', ...rangeFor('year') });
    for (const v of y.values) assert.ok(['2024-12-31T15:00:00.000Z', '2025-12-31T15:00:00.000Z'].includes(v.start), `year start ${v.start}`);
  });

  test('?zone= narrows to one zone', async () => {
    for (const [kpi, period, zone] of [['electricity_per_capita', 'month', 'south'], ['pm25_bad_days', 'day', 'south'], ['travel_time_index', 'week', 'north']]) {
      const want = COMPUTE[kpi](readings, period).filter((z) => z === zone);
      await K.expectValues(ctx.d, analyst, kpi, { period, zone, ...RANGE }, want);
    }
  });

  test('CSV (?format=csv and Accept: text/csv) carries the same rows as JSON', async () => {
    for (const [kpi, period] of [['electricity_per_capita', 'month'], ['pm25_bad_days', 'day'], ['renewable_share', 'week']]) {
      const params = { period, ...RANGE };
      const json = await K.getValues(ctx.d, analyst, kpi, params);
      assert.ok(json.values.length > 0);
      const viaQuery = await h.request(ctx.d, 'GET', K.valuesPath(kpi, { ...params, format: 'csv' }), { token: analyst });
      const viaAccept = await h.request(ctx.d, 'GET', K.valuesPath(kpi, params), { token: analyst, headers: { accept: 'text/csv' } });
      for (const [how, res] of [['?format=csv', viaQuery], ['Accept: text/csv', viaAccept]]) {
        h.assertStatus(res, 200, how);
        assert.match(res.contentType, /^text\/csv\b/i, `${how}: content-type ${res.contentType}`);
        const rows = K.parseCsv(res.text).filter((r) => !(r.length === 1 && r[0] === ''));
        assert.deepEqual(rows[0], ['kpi', 'zone', 'start', 'value', 'target'], `${how}: header`);
        const body = rows.slice(1);
        assert.equal(body.length, json.values.length, `${how}: one row per JSON value\n${res.text}`);
        body.forEach((r, i) => {
          const v = json.values[i];
          assert.equal(r[0], kpi, `${how} row ${i}: kpi`);
          assert.equal(r[1], v.zone === null ? '' : v.zone, `${how} row ${i}: zone`);
          assert.equal(r[2], v.start, `${how} row ${i}: start`);
          assert.ok(v.value === null ? r[3] === '' : K.near(Number(r[3]), v.value, { abs: 1e-9 }), `${how} row ${i}: value ${r[3]} vs ${v.value}`);
          assert.ok(K.near(Number(r[4]), v.target, { abs: 1e-9 }), `${how} row ${i}: target ${r[4]} vs ${v.target}`);
        });
      }
    }
  });

  test('GET /public/v1/kpis without a token: latest city and zone values with targets, no sensor ids, ETag and 304', async () => {
    const d = ctx.d;
    const res = await h.request(d, 'GET', '/public/v1/kpis');
    const b = h.assertJson(res, 200);
    const etag = res.headers.get('etag');
    assert.ok(etag && /^(W\/)?"[^"]*"$/.test(etag), `ETag: ${etag}`);
    for (const s of SENSORS) assert.ok(!res.text.includes(s.id), `no sensor id (${s.id}) in the public summary`);
    assert.doesNotMatch(res.text, /"sensors?"\s*:/, 'no sensor fields');
    assert.ok(Array.isArray(b.items), 'items[]');
    assert.deepEqual(b.items.map((x) => x.kpi).sort(), Object.keys(catalogue).sort(), 'one item per catalogue KPI');
    // travel_time_index (period week) is left out: its latest week here is months old, and the summary
    // looks back only so far (see kpi-api.test.js for its shape).
    for (const [kpi, fn] of Object.entries(COMPUTE).filter(([k]) => k !== 'travel_time_index')) {
      const item = b.items.find((x) => x.kpi === kpi);
      const period = catalogue[kpi].period;
      const want = fn(readings, period);
      const cityRows = want.entries().filter(([k]) => k.startsWith('|')).map(([k, v]) => [k.slice(1), v]).sort();
      const [latestStart, latestValue] = cityRows[cityRows.length - 1];
      assert.ok(item.city, `${kpi}: city present: ${JSON.stringify(item)}`);
      assert.equal(item.city.start, latestStart, `${kpi}: the city's latest ${period}`);
      assert.ok(K.near(item.city.value, latestValue), `${kpi}: city ${item.city.value}, want ${latestValue}`);
      assert.equal(item.target, catalogue[kpi].target, `${kpi}: target`);
      assert.equal(item.unit, catalogue[kpi].unit, `${kpi}: unit`);
      assert.equal(item.direction, catalogue[kpi].direction, `${kpi}: direction`);
      assert.ok(item.name && (item.name.ko || item.name.en), `${kpi}: name`);
      for (const z of ['north', 'south']) {
        const zi = item.zones.find((x) => x.zone === z);
        assert.ok(zi, `${kpi}: zone ${z} listed: ${JSON.stringify(item.zones)}`);
        assert.ok(K.near(zi.value, want.get(z, Date.parse(latestStart))), `${kpi} ${z}: ${zi.value}, want ${want.get(z, Date.parse(latestStart))}`);
        assert.ok(zi.name && (zi.name.ko || zi.name.en), `${kpi} ${z}: zone name`);
      }
      const e = item.zones.find((x) => x.zone === 'empty');
      assert.ok(!e || e.value === null, `${kpi}: the zone without sensors has no value: ${JSON.stringify(e)}`);
    }
    const again = await h.request(d, 'GET', '/public/v1/kpis', { headers: { 'if-none-match': etag } });
    h.assertStatus(again, 304, 'If-None-Match with the current ETag');
    assert.equal(again.text, '', '304 has no body');
  });

  test('GET /public/v1/report?year=: budget lines joined to monthly city values (start, latest, progress)', async () => {
    const d = ctx.d;
    // the city's monthly values within a (local) year, oldest first
    const months = (kpi, year) => COMPUTE[kpi](readings, 'month').entries()
      .filter(([key]) => key.startsWith('|'))
      .map(([key, v]) => [Date.parse(key.slice(1)), v])
      .filter(([st]) => st >= periodStart(Date.UTC(year, 6, 1), 'year') && st < periodStart(Date.UTC(year + 1, 6, 1), 'year'))
      .sort((x, y) => x[0] - y[0]);
    const firstLast = (kpi, year) => { const m = months(kpi, year); return [m[0][1], m[m.length - 1][1]]; };
    // Targets on the side the KPI's direction calls better: transit and renewable improved from their
    // first month (progress 0.25 and 0.4 of the way); electricity (lower is better) got worse.
    const [eS, eL] = firstLast('electricity_per_capita', 2026);
    const [tS, tL] = firstLast('transit_boardings_per_capita', 2026);
    const [rS, rL] = firstLast('renewable_share', 2026);
    assert.ok(eL > eS && tL > tS && rL > rS, `the fixture's trends: ${[eS, eL, tS, tL, rS, rL]}`);
    const lines = [
      { id: 'bl-energy', program: { ko: '에너지 절약', en: 'Energy saving' }, year: 2026, amount_krw: 120000000,
        kpis: [{ kpi: 'electricity_per_capita', target: eS / 2 }, { kpi: 'transit_boardings_per_capita', target: tS + (tL - tS) / 0.25 },
          { kpi: 'renewable_share', target: rS + (rL - rS) / 0.4 }] },
      { id: 'bl-roads', program: { ko: '도로', en: 'Roads' }, year: 2026, amount_krw: 3500000, kpis: [{ kpi: 'travel_time_index', target: 1.0 }] },
      // 2025 has one month of data (local 2025-12-31): start = latest, progress 0
      { id: 'bl-grid', program: { ko: '전력망', en: 'Grid' }, year: 2025, amount_krw: 7000000,
        kpis: [{ kpi: 'electricity_per_capita', target: firstLast('electricity_per_capita', 2025)[0] / 2 }] },
    ];
    for (const l of lines) h.assertStatus(await h.request(d, 'POST', '/api/v1/budget', { token: T, body: l }), 201, `budget ${l.id}`);

    for (const year of [2026, 2025]) {
      const res = await h.request(d, 'GET', `/public/v1/report?year=${year}`);
      const b = h.assertJson(res, 200);
      assert.ok(res.headers.get('etag'), 'report ETag');
      for (const s of SENSORS) assert.ok(!res.text.includes(s.id), `no sensor id (${s.id}) in the report`);
      assert.equal(b.year, year);
      const mine = lines.filter((l) => l.year === year);
      assert.equal(b.programs.length, mine.length, `${year}: only that year's lines: ${JSON.stringify(b.programs)}`);
      for (const l of mine) {
        const p = b.programs.find((x) => x.amount_krw === l.amount_krw);
        assert.ok(p, `${year}: program ${l.id}: ${JSON.stringify(b.programs)}`);
        assert.deepEqual(p.program, l.program, 'program name');
        assert.equal(p.kpis.length, l.kpis.length, `${l.id}: one entry per funded KPI`);
        for (const lk of l.kpis) {
          const k = p.kpis.find((x) => x.kpi === lk.kpi);
          assert.ok(k, `${l.id}: ${lk.kpi}`);
          assert.ok(K.near(k.target, lk.target), `${lk.kpi}: the line's target ${k.target} vs ${lk.target}`);
          const check = (start, latest, what) => {
            assert.ok(K.near(k.start_value, start), `${year} ${lk.kpi}: start_value ${k.start_value}, want ${start} ${what}`);
            assert.ok(K.near(k.latest_value, latest), `${year} ${lk.kpi}: latest_value ${k.latest_value}, want ${latest} ${what}`);
            const raw = (latest - start) / (lk.target - start);
            // "the share of the way": a report may clamp it to 0..1 (moving away shows as 0)
            const ok = K.near(k.progress, raw, { abs: 2e-3 }) || K.near(k.progress, Math.max(0, Math.min(1, raw)), { abs: 2e-3 });
            assert.ok(ok, `${year} ${lk.kpi}: progress ${k.progress}, want ${raw} ((latest - start) / (target - start))`);
          };
          if (lk.kpi === 'travel_time_index') {
            // see the travel_time_index tests; here only the join and the arithmetic of progress
            assert.ok(typeof k.start_value === 'number' && typeof k.latest_value === 'number', `${lk.kpi}: values present`);
            check(k.start_value, k.latest_value, '(its own)');
          } else {
            const m = months(lk.kpi, year);
            check(m[0][1], m[m.length - 1][1], `(months ${iso(m[0][0])} .. ${iso(m[m.length - 1][0])})`);
          }
        }
      }
    }
    const res = await h.request(d, 'GET', '/public/v1/report?year=2026');
    const again = await h.request(d, 'GET', '/public/v1/report?year=2026', { headers: { 'if-none-match': res.headers.get('etag') } });
    h.assertStatus(again, 304, 'report If-None-Match');
    const other = await h.request(d, 'GET', '/public/v1/report?year=2025', { headers: { 'if-none-match': res.headers.get('etag') } });
    h.assertStatus(other, 200, "another year's report does not match this ETag");
    h.assertBadParam(await h.request(d, 'GET', '/public/v1/report?year=20x6'), 'year');
  });

  // Runs last: it changes the readings the other tests compare against.
  test('duplicates change nothing; a late reading is folded in within seconds', async () => {
    const d = ctx.d;
    I.assertIngest(await I.postObs(d, T, toObs(readings)), { accepted: 0, duplicates: readings.length, rejected: [] });
    // whatever the duplicates left for the compactor is folded before the values are compared
    await I.rollupsFolded(ctx.db, { what: 'after re-posting every reading' });
    for (const kpi of Object.keys(COMPUTE)) {
      const zone = kpi === 'travel_time_index' ? 'north' : undefined;
      const want = COMPUTE[kpi](readings, 'month').filter((z) => !zone || z === zone);
      await K.expectValues(d, analyst, kpi, { period: 'month', zone, ...RANGE }, want, { timeoutMs: 0, what: 'after re-posting every reading' });
    }
    // new readings in an hour that already has some, and in a new (local) day
    const late = [
      { sensor: 'meter-s1', metric: 'power_kw', t: HOURS[9] + 59 * MIN + 59000, value: 333 },
      { sensor: 'pv-s1', metric: 'power_kw', t: HOURS[9] + 58 * MIN, value: 77 },
      { sensor: 'bus-s2', metric: 'boardings', t: HOURS[9] + 30 * MIN, value: 25 },
      { sensor: 'aq-s1', metric: 'pm25', t: HOURS[9] + 31 * MIN, value: 10 }, // 2026-03-10 south: (80+10)/2 = 45 still bad
      { sensor: 'aq-n1', metric: 'pm25', t: HOURS[9] + 12 * HOUR, value: 99 }, // 2026-03-11 local: a new bad day
      { sensor: 'tt-n1', metric: 'travel_time_s', t: HOURS[9] + 12 * HOUR, value: 999 },
    ];
    I.assertIngest(await I.postObs(d, T, toObs(late)), { accepted: late.length, duplicates: 0, rejected: [] });
    readings.push(...late);
    for (const kpi of Object.keys(COMPUTE)) {
      for (const period of ['day', 'month']) {
        // travel_time_index: only the zone whose corridor has attributes.free_flow_s (see its own tests)
        const zone = kpi === 'travel_time_index' ? 'north' : undefined;
        const want = COMPUTE[kpi](readings, period).filter((z) => !zone || z === zone);
        await K.expectValues(d, analyst, kpi, { period, zone, ...RANGE }, want, { timeoutMs: 8000, what: 'after late readings' });
      }
    }
  });
});
