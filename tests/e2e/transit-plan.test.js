'use strict';
// Demand forecast and recommended plan (API.md §11, docs/transit.md "Demand forecast" and
// "Recommended headways"): a small feed with two routes; five weeks of hourly boardings posted for
// route R1's stops with a known daily pattern (a morning peak at 08-09 h); the forecast follows it,
// the plan's headway is shorter in the morning peak than at midday, beside the timetable's 15
// minutes; the GTFS export unpacks to a frequencies.txt that matches the plan; route R2 has no
// history (counts null, a plan that says so); bad dates, an unknown route and roles are refused.

const { describe, test, before } = require('node:test');
const assert = require('node:assert/strict');
const zlib = require('node:zlib');
const h = require('./lib/harness');
const { crc32, makeZip } = require('./lib/zip');
const { LAT, east } = require('./lib/transit-helpers');

const HOUR = 3600 * 1000;
const DAY = 24 * HOUR;
const SEOUL = 9 * HOUR;
// The local (Asia/Seoul) date of an instant, and the instant of a local date's midnight.
const localDate = (ms) => new Date(ms + SEOUL).toISOString().slice(0, 10);
const midnight = (date) => Date.parse(`${date}T00:00:00+09:00`);
const TODAY = localDate(Date.now());
const TOMORROW = localDate(midnight(TODAY) + DAY + HOUR);
const AFTER = localDate(midnight(TODAY) + 2 * DAY + HOUR);

// Boardings at S0 in each local hour (the 08-09 h peak); S1 boards half as many; nobody at night.
function pattern(hour) {
  if (hour < 5) return 0;
  if (hour === 8) return 600;
  if (hour === 7) return 200;
  if (hour >= 17 && hour < 19) return 150;
  return 40;
}

function feed() {
  const f = {
    'agency.txt': 'agency_id,agency_name,agency_url,agency_timezone\nSK,Sokcho Bus,https://bus.sokcho.example,Asia/Seoul\n',
    'stops.txt': 'stop_id,stop_name,stop_lat,stop_lon\n' +
      `S0,Stop 0,${LAT},${east(0)}\nS1,Stop 1,${LAT},${east(400)}\nS2,Stop 2,${LAT},${east(1000)}\n` +
      `S3,Stop 3,${LAT},${east(2000)}\nS4,Stop 4,${LAT},${east(2600)}\n`,
    'routes.txt': 'route_id,agency_id,route_short_name,route_long_name,route_type\nR1,SK,1,Beach line,3\nR2,SK,2,Quiet line,3\n',
    'trips.txt': 'route_id,service_id,trip_id,direction_id\nR1,ALL,T1,0\nR2,ALL,T2,0\n',
    'stop_times.txt': 'trip_id,arrival_time,departure_time,stop_id,stop_sequence\n' +
      'T1,00:00:00,00:00:00,S0,1\nT1,00:01:30,00:01:30,S1,2\nT1,00:03:00,00:03:00,S2,3\n' +
      'T2,00:00:00,00:00:00,S3,1\nT2,00:02:00,00:02:00,S4,2\n',
    'calendar.txt': 'service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,start_date,end_date\n' +
      'ALL,1,1,1,1,1,1,1,20200101,20351231\n',
    'frequencies.txt': 'trip_id,start_time,end_time,headway_secs\nT1,05:00:00,24:00:00,900\nT2,06:00:00,22:00:00,1800\n',
  };
  return makeZip(Object.entries(f).map(([name, data]) => ({ name, data })));
}

// The entries of a ZIP archive (stored or deflated), read through its central directory.
function unzip(buf) {
  let eocd = buf.length - 22;
  while (eocd >= 0 && buf.readUInt32LE(eocd) !== 0x06054b50) eocd--;
  assert.ok(eocd >= 0, 'no end of central directory');
  const n = buf.readUInt16LE(eocd + 10);
  let at = buf.readUInt32LE(eocd + 16);
  const out = {};
  for (let i = 0; i < n; i++) {
    assert.equal(buf.readUInt32LE(at), 0x02014b50, 'central directory entry');
    const method = buf.readUInt16LE(at + 10);
    const crc = buf.readUInt32LE(at + 16);
    const csize = buf.readUInt32LE(at + 20);
    const nameLen = buf.readUInt16LE(at + 28), extraLen = buf.readUInt16LE(at + 30), commentLen = buf.readUInt16LE(at + 32);
    const local = buf.readUInt32LE(at + 42);
    const name = buf.subarray(at + 46, at + 46 + nameLen).toString('utf8');
    assert.equal(buf.readUInt32LE(local), 0x04034b50, 'local header');
    const start = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
    const raw = buf.subarray(start, start + csize);
    const data = method === 0 ? raw : zlib.inflateRawSync(raw);
    assert.equal(crc32(data) >>> 0, crc, `CRC of ${name}`);
    out[name] = data.toString('utf8');
    at += 46 + nameLen + extraLen + commentLen;
  }
  return out;
}

describe('transit: demand forecast and recommended plan', () => {
  const ctx = h.useDaemon('transit_plan', { MAEUL_CITY_HOLIDAYS: TOMORROW, MAEUL_CITY_TOURIST_PEAKS: AFTER });
  let T; let analyst; let device;
  const get = (path, token = analyst) => h.request(ctx.d, 'GET', path, { token });

  before(async () => {
    T = ctx.d.bootstrapToken;
    h.assertJson(await h.request(ctx.d, 'POST', '/api/v1/transit/gtfs',
      { token: T, rawBody: feed(), headers: { 'content-type': 'application/zip' } }), 200);
    h.assertJson(await h.request(ctx.d, 'POST', '/api/v1/zones', { token: T, body: h.zoneBody('tp-a') }), 201);
    // S0's sensor lies in zone tp-a, S1's in none
    for (const [id, stop, zone] of [['board-s0', 'S0', 'tp-a'], ['board-s1', 'S1', undefined]]) {
      h.assertJson(await h.request(ctx.d, 'POST', '/api/v1/sensors', { token: T, body: {
        id, domain: 'mobility', kind: 'bus_boardings', location: h.point(east(0), LAT),
        metrics: [{ name: 'boardings', unit: 'count' }], attributes: { gtfs_stop_id: stop }, ...(zone ? { zone } : {}) } }), 201);
    }
    // Five weeks before today: each hour's boardings as a reading at the hour's end (local time).
    const obs = [];
    const first = midnight(TODAY) - 35 * DAY;
    for (let t = first; t < midnight(TODAY); t += HOUR) {
      const hour = new Date(t + SEOUL).getUTCHours();
      const v = pattern(hour);
      const ts = new Date(t + HOUR).toISOString();
      obs.push({ sensor: 'board-s0', metric: 'boardings', ts, value: v });
      obs.push({ sensor: 'board-s1', metric: 'boardings', ts, value: v / 2 });
    }
    for (let i = 0; i < obs.length; i += 1000) {
      const res = await h.request(ctx.d, 'POST', '/api/v1/observations', { token: T, body: { observations: obs.slice(i, i + 1000) } });
      assert.ok(res.status === 200 || res.status === 202, h.describeRes ? h.describeRes(res) : res.text);
    }
    await h.pollUntil(() => Number(h.psql(
      "SELECT count(*) FROM observations o JOIN series s ON s.id = o.series_id WHERE s.sensor_id IN ('board-s0','board-s1')",
      ctx.db)) === obs.length, { timeoutMs: 20000, what: 'the readings stored' });
    analyst = (await h.createToken(ctx.d, 'analyst', 'plan-analyst')).token;
    device = (await h.createToken(ctx.d, 'device', 'plan-device', { sensors: ['board-s0'] })).token;
  });

  test('the forecast follows the posted pattern: the 08-09 h peak is the peak, a stop without a sensor unknown', async () => {
    const d = h.assertJson(await get(`/api/v1/transit/routes/R1/demand?date=${TODAY}`), 200);
    assert.equal(d.route, 'R1');
    assert.equal(d.date, TODAY);
    assert.deepEqual(d.flags, { holiday: false, tourist_peak: false });
    assert.equal(d.weather_used, false);
    assert.equal(d.directions.length, 1);
    const stops = d.directions[0].stops;
    assert.deepEqual(stops.map((s) => s.stop), ['S0', 'S1', 'S2']);
    assert.equal(stops[0].name, 'Stop 0');
    assert.equal(stops[0].sensor, 'board-s0');
    assert.ok(stops[0].weeks_found >= 4, JSON.stringify(stops[0]));
    assert.equal(d.history.stops_with_history, 2);
    const c = stops[0].counts;
    assert.equal(c.length, 24);
    const peak = c.indexOf(Math.max(...c.filter((x) => x !== null)));
    assert.equal(peak, 8, `peak hour of ${JSON.stringify(c)}`);
    for (let hour = 5; hour < 24; hour++) assert.ok(Math.abs(c[hour] - pattern(hour)) <= 1, `S0 hour ${hour}: ${c[hour]}`);
    assert.ok(Math.abs(stops[1].counts[8] - 300) <= 1, `S1 at 8: ${stops[1].counts[8]}`);
    // S2 has no sensor: nothing known
    assert.equal(stops[2].sensor, null);
    assert.ok(stops[2].counts.every((x) => x === null));
  });

  test('the plan runs buses more often in the morning peak than at midday, beside the timetable', async () => {
    const p = h.assertJson(await get(`/api/v1/transit/routes/R1/plan?date=${TODAY}&timetable_date=${TODAY}`), 200);
    assert.equal(p.basis, 'forecast');
    assert.equal(p.timetable_date, TODAY);
    const dir = p.directions[0];
    assert.equal(dir.demand_known, true);
    assert.equal(dir.template_trip, 'T1');
    const by = Object.fromEntries(dir.periods.map((x) => [x.name, x]));
    assert.ok(by.am_peak && by.midday, JSON.stringify(dir.periods.map((x) => x.name)));
    assert.ok(by.am_peak.headway_min < by.midday.headway_min,
      `am peak ${by.am_peak.headway_min} min vs midday ${by.midday.headway_min} min`);
    // 08-09 h: S0's 600 on the first link; half of them still aboard past S1 with S1's 300: 600 on
    // both links. 60 × 80 × 0.8 / 600 = 6.4 min, down to the grid: 6 min, capacity-bound, 60 aboard.
    assert.equal(by.am_peak.bound, 'capacity');
    assert.equal(by.am_peak.headway_min, 6);
    assert.equal(by.am_peak.busiest_hour, 8);
    assert.ok(by.am_peak.capacity_met && by.am_peak.wait_met);
    assert.equal(by.midday.bound, 'wait');
    assert.equal(by.midday.headway_min, 20);
    assert.ok(Math.abs(by.am_peak.expected_load - 60) <= 1, `expected load ${by.am_peak.expected_load}`);
    // the timetable: every 15 minutes from 05:00
    assert.equal(by.am_peak.scheduled_headway_min, 15);
    assert.equal(by.am_peak.scheduled_departures, 8);
    assert.equal(by.midday.scheduled_headway_min, 15);
    assert.ok(p.params.cycle_min > 0, `cycle ${p.params.cycle_min}`);
  });

  test('holidays and tourist peaks of the config are flagged', async () => {
    const hol = h.assertJson(await get(`/api/v1/transit/routes/R1/demand?date=${TOMORROW}`), 200);
    assert.deepEqual(hol.flags, { holiday: true, tourist_peak: false });
    const peak = h.assertJson(await get(`/api/v1/transit/routes/R1/plan?date=${AFTER}`), 200);
    // without a date the plan is tomorrow's in the city's time zone (and says so)
    const def = h.assertJson(await get('/api/v1/transit/routes/R1/plan'), 200);
    assert.equal(def.date, TOMORROW);
    assert.equal(def.timezone, 'Asia/Seoul');
    assert.equal(def.timetable_date, TODAY);
    assert.deepEqual(def.flags, { holiday: true, tourist_peak: false });
    assert.deepEqual(peak.flags, { holiday: false, tourist_peak: true });
  });

  test('a route without history: counts null and a plan that says so', async () => {
    const d = h.assertJson(await get(`/api/v1/transit/routes/R2/demand?date=${TODAY}`), 200);
    assert.equal(d.history.stops_with_history, 0);
    for (const s of d.directions[0].stops) assert.ok(s.counts.every((x) => x === null), JSON.stringify(s));
    const p = h.assertJson(await get(`/api/v1/transit/routes/R2/plan?date=${TODAY}&timetable_date=${TODAY}`), 200);
    assert.equal(p.basis, 'no_history');
    assert.equal(p.directions[0].demand_known, false);
    for (const x of p.directions[0].periods) assert.equal(x.bound, 'wait');
  });

  test('plan.zip unpacks to a frequencies.txt that matches the plans', async () => {
    const res = await get(`/api/v1/transit/plan.zip?date=${TODAY}&timetable_date=${TODAY}`);
    assert.equal(res.status, 200, res.text);
    assert.match(res.contentType, /application\/zip/);
    assert.match(res.headers.get('content-disposition') || '', new RegExp(`plan-${TODAY}\\.zip`));
    const files = unzip(res.bytes);
    assert.deepEqual(Object.keys(files), ['frequencies.txt']);
    const lines = files['frequencies.txt'].trim().split('\n');
    assert.equal(lines[0], 'trip_id,start_time,end_time,headway_secs,exact_times');
    const rows = lines.slice(1).map((l) => l.split(','));
    const time = /^\d{2}:\d{2}:\d{2}$/;
    const secs = (s) => s.split(':').reduce((a, x) => a * 60 + Number(x), 0);
    for (const r of rows) {
      assert.equal(r.length, 5, r.join(','));
      assert.ok(['T1', 'T2'].includes(r[0]), r[0]);
      assert.match(r[1], time);
      assert.match(r[2], time);
      assert.ok(secs(r[1]) < secs(r[2]), r.join(','));
      assert.ok(Number(r[3]) > 0 && Number.isInteger(Number(r[3])), r.join(','));
      assert.equal(r[4], '0');
    }
    const plan = h.assertJson(await get(`/api/v1/transit/routes/R1/plan?date=${TODAY}&timetable_date=${TODAY}`), 200);
    const t1 = rows.filter((r) => r[0] === 'T1');
    assert.equal(t1.length, plan.directions[0].periods.length);
    const am = plan.directions[0].periods.find((x) => x.name === 'am_peak');
    assert.ok(t1.some((r) => r[1] === '07:00:00' && r[2] === '09:00:00' && Number(r[3]) === Math.round(am.headway_min * 60)),
      JSON.stringify(t1));
    assert.ok(rows.some((r) => r[0] === 'T2'));
  });

  test('bad dates, an unknown route and the wrong roles are refused', async () => {
    h.assertBadParam(await get('/api/v1/transit/routes/R1/demand'), 'date');
    h.assertBadParam(await get('/api/v1/transit/routes/R1/demand?date=2026-02-30'), 'date');
    h.assertBadParam(await get('/api/v1/transit/routes/R1/plan?date=tomorrow'), 'date');
    h.assertBadParam(await get(`/api/v1/transit/routes/R1/plan?date=${TODAY}&timetable_date=13/12/2026`), 'timetable_date');
    h.assertBadParam(await get('/api/v1/transit/plan.zip?date=2026-13-01'), 'date');
    h.assertProblem(await get(`/api/v1/transit/routes/NOPE/demand?date=${TODAY}`), 404);
    h.assertProblem(await get(`/api/v1/transit/routes/NOPE/plan?date=${TODAY}`), 404);
    const anon = await h.request(ctx.d, 'GET', `/api/v1/transit/routes/R1/plan?date=${TODAY}`);
    h.assertProblem(anon, 401);
    h.assertProblem(await get(`/api/v1/transit/routes/R1/demand?date=${TODAY}`, device), 403);
    h.assertProblem(await get(`/api/v1/transit/plan.zip?date=${TODAY}`, device), 403);
    // a token limited to another domain reads no bus demand (boardings are mobility readings)
    const energy = (await h.createToken(ctx.d, 'analyst', 'plan-energy', { domains: ['energy'] })).token;
    h.assertProblem(await get(`/api/v1/transit/routes/R1/demand?date=${TODAY}`, energy), 404);
    h.assertProblem(await get(`/api/v1/transit/plan.zip?date=${TODAY}`, energy), 403);
    const mobility = (await h.createToken(ctx.d, 'analyst', 'plan-mobility', { domains: ['mobility'] })).token;
    h.assertJson(await get(`/api/v1/transit/routes/R1/demand?date=${TODAY}`, mobility), 200);
    // a token scoped to zone tp-a sees S0's counts, not those of S1 (its sensor in no zone)
    const zoned = (await h.createToken(ctx.d, 'analyst', 'plan-zoned', { zones: ['tp-a'] })).token;
    const z = h.assertJson(await get(`/api/v1/transit/routes/R1/demand?date=${TODAY}`, zoned), 200);
    const [s0, s1] = z.directions[0].stops;
    assert.equal(s0.sensor, 'board-s0');
    assert.ok(Math.abs(s0.counts[8] - 600) <= 1, JSON.stringify(s0.counts));
    assert.equal(s1.sensor, null);
    assert.ok(s1.counts.every((x) => x === null), JSON.stringify(s1.counts));
    assert.equal(s1.total, null);
    // the unscoped analyst still sees both (the scoped answer did not change the cached one)
    const all = h.assertJson(await get(`/api/v1/transit/routes/R1/demand?date=${TODAY}`), 200);
    assert.equal(all.directions[0].stops[1].sensor, 'board-s1');
    assert.ok(Math.abs(all.directions[0].stops[1].counts[8] - 300) <= 1);
    // an operator reads the plan
    const op = (await h.createToken(ctx.d, 'operator', 'plan-operator')).token;
    h.assertJson(await get(`/api/v1/transit/routes/R1/plan?date=${TODAY}`, op), 200);
  });
});
