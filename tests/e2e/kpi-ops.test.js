'use strict';
// KPIs from operations: emergency_response_time (incidents' reported_at → on_scene_at, mean and p90),
// welfare_ack_time (welfare alerts' opened_at → acknowledged_at), sensor_availability (readings
// received over readings expected from each metric's interval_s) — per zone and for the city, by the
// city's calendar (Asia/Seoul); and that the public summary carries none of the personal or
// operational details behind them. Every expected value is computed here from what this file created.
// Contract: shared/API.md §6-7; docs/api-notes.md "Live operations", "KPIs"; GET /api/v1/kpis descriptions.

const { describe, test, before } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/harness');
const I = require('./lib/ingest-helpers');
const K = require('./lib/kpi-helpers');

const { iso, MIN, SEC } = I;
const { Expected, periodStart, PERIODS, mean } = K;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------- incidents

const PRIVATE_NOTE = 'caller Kim 010-9876-5432, 12 Hidden-ro';

// reported_at (UTC), zone, minutes to on scene (null: never on scene)
const INCIDENTS = [
  ['2026-03-01T16:00:00Z', 'east', 7.5], // local 2026-03-02 01:00 (UTC day 03-01)
  ['2026-03-01T14:50:00Z', 'east', 15], // local 2026-03-01 23:50; on scene after local midnight
  ['2026-03-10T01:00:00Z', 'east', 3],
  ['2026-03-10T01:20:00Z', 'east', 4],
  ['2026-03-10T02:00:00Z', 'east', 5],
  ['2026-03-11T02:00:00Z', 'east', 6],
  ['2026-03-12T02:00:00Z', 'east', 8],
  ['2026-03-12T04:00:00Z', 'east', 9],
  ['2026-03-13T02:00:00Z', 'east', 12],
  ['2026-03-14T02:00:00Z', 'east', 12],
  ['2026-02-28T14:30:00Z', 'east', 20], // local 2026-02-28 23:30: February
  ['2026-02-28T15:10:00Z', 'east', 10], // local 2026-03-01 00:10: March
  ['2026-03-10T05:00:00Z', 'east', null], // dispatched only
  ['2025-12-31T15:30:00Z', 'west', 6], // local 2026-01-01
  ['2025-12-31T14:30:00Z', 'west', 9], // local 2025-12-31
  ['2026-03-10T03:00:00Z', 'west', 11.25],
].map(([r, zone, minutes]) => ({ reported: Date.parse(r), zone, minutes }));

function responseTime(period) {
  const done = INCIDENTS.filter((x) => x.minutes !== null);
  const e = new Expected();
  const p90 = new Map();
  for (const g of K.groups(done, period, (x) => x.reported, (x) => x.zone).values()) {
    const xs = g.items.map((x) => x.minutes);
    e.set(g.zone, g.start, mean(xs));
    p90.set(Expected.key(g.zone, g.start), K.p90Candidates(xs));
  }
  return { e, p90 };
}

// ---------------------------------------------------------------- availability

// Sensors registered by the test; metrics with interval_s are expected to report that often.
const AVAIL = [
  { id: 'av-p', zone: 'avail-a', metrics: [{ name: 'pm25', interval_s: 1, every: 1 }] },
  { id: 'av-q', zone: 'avail-a', metrics: [{ name: 'pm25', interval_s: 4, every: 8 }, { name: 'pm10', interval_s: 1, every: null }, { name: 'no2', every: 1 }] },
  { id: 'av-half', zone: 'avail-b', metrics: [{ name: 'pm25', interval_s: 1, every: 2 }] },
  { id: 'av-silent', zone: 'avail-b', metrics: [{ name: 'pm25', interval_s: 1, every: null }] }, // sends nothing
];

// value(t) for each (zone|city, current period start): 100 × received / expected, where a metric with
// interval_s is expected to report every interval_s seconds from max(period start, created_at) to t.
function availability(sensors, readings, period, t, zones) {
  const acc = new Map();
  for (const s of sensors) {
    for (const m of s.metrics) {
      if (!m.interval_s) continue;
      const ps = periodStart(t, period);
      const from = Math.max(ps, s.created);
      const expected = Math.max(0, t - from) / 1000 / m.interval_s;
      const received = readings.filter((r) => r.sensor === s.id && r.metric === m.name && r.t >= from && r.t < t).length;
      for (const z of [s.zone, null]) {
        if (zones && !zones.includes(z)) continue;
        const k = Expected.key(z, ps);
        if (!acc.has(k)) acc.set(k, { expected: 0, received: 0 });
        acc.get(k).expected += expected;
        acc.get(k).received += received;
      }
    }
  }
  const out = new Map();
  for (const [k, a] of acc) out.set(k, Math.min(100, (100 * a.received) / a.expected));
  return out;
}

// ---------------------------------------------------------------- tests

describe('KPIs from operations', () => {
  const ctx = h.useDaemon('kpi_ops');
  let T;
  let analyst;
  let catalogue;
  const alerts = []; // welfare and other alerts after their acknowledgement (or not)
  const availReadings = [];

  before(async () => {
    const d = ctx.d;
    T = d.bootstrapToken;
    analyst = (await h.createToken(d, 'analyst', 'kpi-ops-analyst')).token;
    const zones = [['east', 128.50, 38.10], ['west', 128.40, 38.10], ['avail-a', 128.50, 38.30], ['avail-b', 128.40, 38.30]];
    for (const [id, lon, lat] of zones) {
      h.assertStatus(await h.request(d, 'POST', '/api/v1/zones', {
        token: T, body: h.zoneBody(id, { boundary: h.polygon(lon, lat, 0.02), population: 100 }),
      }), 201, `zone ${id}`);
    }
    catalogue = Object.fromEntries((await I.getJson(d, analyst, '/api/v1/kpis')).items.map((k) => [k.id, k]));

    // availability sensors first: their clock starts at created_at
    for (const s of AVAIL) {
      const z = zones.find((x) => x[0] === s.zone);
      const res = await h.request(d, 'POST', '/api/v1/sensors', {
        token: T,
        body: h.sensorBody(s.id, {
          domain: 'environment', kind: 'air_quality', zone: s.zone, location: h.point(z[1] + 0.01, z[2] + 0.01),
          metrics: s.metrics.map((m) => ({ name: m.name, unit: 'u', ...(m.interval_s ? { interval_s: m.interval_s } : {}) })),
        }),
      });
      h.assertStatus(res, 201, `sensor ${s.id}`);
      s.created = Date.parse(res.json.created_at);
      assert.ok(Math.abs(s.created - Date.now()) < 5000, 'created_at is now');
    }

    // incidents
    for (const x of INCIDENTS) {
      const res = await h.request(d, 'POST', '/api/v1/incidents', {
        token: T, body: { category: 'fire', zone: x.zone, reported_at: iso(x.reported), note: PRIVATE_NOTE },
      });
      h.assertStatus(res, 201, `incident ${iso(x.reported)}`);
      const id = res.json.id;
      const patch = async (body) => h.assertStatus(await h.request(d, 'PATCH', `/api/v1/incidents/${id}`, { token: T, body }), 200, `PATCH ${JSON.stringify(body)}`);
      await patch({ dispatched_at: iso(x.reported + 60 * SEC) });
      if (x.minutes !== null) await patch({ on_scene_at: iso(x.reported + x.minutes * MIN) });
    }

    // welfare alerts: a rule on emergency buttons; a disaster alert that must not count
    const sensor = async (id, zone, domain, kind, metric) => {
      const z = zones.find((x) => x[0] === zone);
      h.assertStatus(await h.request(d, 'POST', '/api/v1/sensors', {
        token: T, body: h.sensorBody(id, { domain, kind, zone, location: h.point(z[1] + 0.005, z[2] + 0.005), metrics: [{ name: metric, unit: 'u' }] }),
      }), 201, `sensor ${id}`);
    };
    for (const [id, zone] of [['btn-e1', 'east'], ['btn-e2', 'east'], ['btn-w1', 'west'], ['btn-w2', 'west']]) await sensor(id, zone, 'welfare', 'emergency_button', 'pressed');
    await sensor('wl-e1', 'east', 'disaster', 'water_level', 'level');
    const rule = async (body) => h.assertStatus(await h.request(d, 'POST', '/api/v1/rules', { token: T, body }), 201, 'rule');
    await rule({ name: { en: 'button pressed' }, kind: 'threshold', selector: { domain: 'welfare', kind: 'emergency_button' }, severity: 'warning', metric: 'pressed', op: '>=', value: 1 });
    await rule({ name: { en: 'high water' }, kind: 'threshold', selector: { domain: 'disaster' }, severity: 'warning', metric: 'level', op: '>', value: 5 });
    const now = Date.now();
    I.assertIngest(await I.postObs(d, T, [
      ...['btn-e1', 'btn-e2', 'btn-w1', 'btn-w2'].map((s) => ({ sensor: s, metric: 'pressed', ts: iso(now - SEC), value: 1 })),
      { sensor: 'wl-e1', metric: 'level', ts: iso(now - SEC), value: 9 },
    ]), { accepted: 5, rejected: [] });
    const open = await h.pollUntil(async () => {
      const b = await I.getJson(d, T, '/api/v1/alerts?state=open');
      return b.items.length >= 5 ? b.items : null;
    }, { timeoutMs: 5000, what: 'five open alerts' });
    const bySensor = Object.fromEntries(open.map((a) => [a.sensor, a]));
    // Deliberate waits (part of what is tested): each alert is acknowledged a different time after it
    // opened, so welfare_ack_time is a mean of unequal durations. The expected values are computed
    // from the acknowledged_at the server returns, so the exact delays do not matter.
    for (const [s, delay] of [['btn-e1', 150], ['wl-e1', 100], ['btn-w1', 400], ['btn-e2', 500]]) {
      await sleep(delay);
      const res = await h.request(d, 'POST', `/api/v1/alerts/${bySensor[s].id}/ack`, { token: T, body: { note: 'on my way' } });
      h.assertStatus(res, 200, `ack ${s}`);
      alerts.push(res.json);
    }
    alerts.push(bySensor['btn-w2']); // never acknowledged

    // availability readings: only after each sensor's registration and before now. A deliberate wait
    // (part of what is tested): availability is readings received over readings expected since
    // registration, so at least 3.5 s of every sensor's life must pass to expect several readings.
    await sleep(Math.max(0, AVAIL[AVAIL.length - 1].created + 3500 - Date.now()));
    const until = Date.now() - 200;
    for (const s of AVAIL) {
      for (const m of s.metrics) {
        if (!m.every) continue;
        for (let t = s.created + 500; t < until; t += m.every * 1000) availReadings.push({ sensor: s.id, metric: m.name, t, value: 1 });
      }
    }
    I.assertIngest(await I.postObs(d, T, availReadings.map((r) => ({ ...r, ts: iso(r.t) }))), { accepted: availReadings.length, rejected: [] });
  });

  test('emergency_response_time: mean minutes reported_at → on_scene_at, by reported_at in the city calendar; p90', async () => {
    for (const period of PERIODS) {
      const { e, p90 } = responseTime(period);
      const b = await K.expectValues(ctx.d, analyst, 'emergency_response_time', { period, from: '2025-01-01T00:00:00Z' }, e);
      K.assertTargets(b.values, catalogue.emergency_response_time, period);
      for (const v of b.values) {
        const c = p90.get(Expected.key(v.zone, v.start));
        assert.ok(typeof v.p90 === 'number', `p90 reported: ${JSON.stringify(v)}`);
        assert.ok(c.some((x) => K.near(v.p90, x)), `${period} ${v.zone}@${v.start}: p90 ${v.p90}, want one of ${c} (nearest rank, interpolated)`);
      }
    }
    // the brief's case: reported 2026-03-01T16:00Z is the local day 2026-03-02, alone there
    const day = await K.getValues(ctx.d, analyst, 'emergency_response_time', { period: 'day', zone: 'east', from: '2026-03-01T00:00:00Z', to: '2026-03-03T00:00:00Z' });
    const row = day.values.find((v) => v.start === '2026-03-01T15:00:00.000Z');
    assert.ok(row && K.near(row.value, 7.5), `east on local 2026-03-02: ${JSON.stringify(day.values)}`);
  });

  test('welfare_ack_time: mean minutes from a welfare alert to its acknowledgement (others and unacknowledged left out)', async () => {
    const welfare = alerts.filter((a) => a.domain === 'welfare' && a.acknowledged_at);
    assert.equal(welfare.length, 3);
    for (const a of alerts) assert.match(a.opened_at, h.TIME_RE);
    for (const period of PERIODS) {
      const e = new Expected();
      for (const g of K.groups(welfare, period, (a) => Date.parse(a.opened_at), (a) => a.zone).values()) {
        e.set(g.zone, g.start, mean(g.items.map((a) => (Date.parse(a.acknowledged_at) - Date.parse(a.opened_at)) / MIN)));
      }
      // The API gives times to the millisecond, the database keeps microseconds: one truncated
      // millisecond (1/60000 minute) on top of the 4-decimal rounding (5e-5).
      const b = await K.expectValues(ctx.d, analyst, 'welfare_ack_time', { period }, e, { tol: { abs: 5e-5 + 1 / 60000 + 1e-9 } });
      K.assertTargets(b.values, catalogue.welfare_ack_time, period);
    }
  });

  // Availability moves with the clock: the daemon's "now" is somewhere between the request's start
  // (less a second for folding) and its answer; the value must lie between the two bounds.
  async function expectAvailability(zones, what) {
    const deadline = Date.now() + 4000;
    let last;
    for (;;) {
      last = [];
      for (const period of PERIODS) {
        const r0 = Date.now();
        const b = await K.getValues(ctx.d, analyst, 'sensor_availability', { period });
        const r1 = Date.now();
        const hi = availability(AVAIL, availReadings, period, r0 - 1200, zones);
        const lo = availability(AVAIL, availReadings, period, r1 + 100, zones);
        const got = new Map(b.values.filter((v) => zones.includes(v.zone)).map((v) => [Expected.key(v.zone, v.start), v.value]));
        for (const [k, vlo] of lo) {
          const vhi = hi.get(k);
          if (!got.has(k)) last.push(`${period} ${k}: missing (want ${vlo.toFixed(2)}..${vhi.toFixed(2)})`);
          else if (!(got.get(k) >= vlo - 0.01 && got.get(k) <= vhi + 0.01)) last.push(`${period} ${k}: got ${got.get(k)}, want ${vlo.toFixed(2)}..${vhi.toFixed(2)}`);
        }
        for (const k of got.keys()) if (!lo.has(k)) last.push(`${period} unexpected ${k} = ${got.get(k)}`);
        if (period === 'day') K.assertTargets(b.values, catalogue.sensor_availability, period);
      }
      if (last.length === 0) return;
      if (Date.now() > deadline) break;
      await sleep(200);
    }
    assert.fail(`sensor_availability ${what}:\n  ${last.join('\n  ')}`);
  }

  test('sensor_availability: readings received over readings expected from interval_s since registration (zone with reporting sensors)', async () => {
    await expectAvailability(['avail-a'], 'zone avail-a (av-p every 1 s of 1 s; av-q pm25 every 8 s of 4 s, pm10 nothing of 1 s, no2 without interval_s)');
  });

  test('sensor_availability: a sensor that sent nothing is 0 % available and counts in its zone and the city', async () => {
    await expectAvailability(['avail-b', null], 'zone avail-b (av-half every 2 s of 1 s; av-silent nothing of 1 s) and the city');
  });

  test('sensor_availability never exceeds 100 %, even with readings from before registration', async () => {
    const d = ctx.d;
    const s = AVAIL[0];
    const back = [];
    for (let k = 1; k <= 300; k++) back.push({ sensor: s.id, metric: 'pm25', ts: iso(s.created - k * SEC), value: 1 });
    I.assertIngest(await I.postObs(d, T, back), { accepted: back.length, rejected: [] });
    await I.rollupsFolded(ctx.db, { what: 'after the readings from before registration' });
    for (const period of PERIODS) {
      const b = await K.getValues(d, analyst, 'sensor_availability', { period });
      for (const v of b.values) assert.ok(v.value === null || (v.value >= 0 && v.value <= 100), `${period} ${v.zone}: ${v.value}`);
    }
  });

  test('the public summary carries none of the incidents, alerts, sensors or tokens behind these KPIs', async () => {
    const res = await h.request(ctx.d, 'GET', '/public/v1/kpis');
    const b = h.assertJson(res, 200);
    const forbidden = [PRIVATE_NOTE, '010-9876-5432', 'on my way', 'kpi-ops-analyst', 'bootstrap', 'button pressed', 'high water',
      ...AVAIL.map((s) => s.id), 'btn-e1', 'btn-e2', 'btn-w1', 'btn-w2', 'wl-e1'];
    for (const f of forbidden) assert.ok(!res.text.includes(f), `public summary must not contain ${JSON.stringify(f)}`);
    assert.doesNotMatch(res.text, /"(sensor|sensors|note|acknowledged_by|created_by|reported_at|on_scene_at|location)"\s*:/, 'no operational fields');
    // the city's latest month of emergency response time: March 2026 (local)
    const item = b.items.find((x) => x.kpi === 'emergency_response_time');
    const { e } = responseTime('month');
    const want = e.get(null, Date.parse('2026-02-28T15:00:00Z'));
    assert.ok(item && item.city && item.city.start === '2026-02-28T15:00:00.000Z' && K.near(item.city.value, want),
      `emergency_response_time city: ${JSON.stringify(item && item.city)}, want ${want} for 2026-02-28T15:00:00.000Z`);
    for (const z of item.zones) assert.deepEqual(Object.keys(z).sort(), ['name', 'value', 'zone'], `zone entry keys: ${JSON.stringify(z)}`);
  });
});
