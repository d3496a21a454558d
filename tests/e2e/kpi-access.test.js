'use strict';
// Walking access: GET /api/v1/zones/{id}/accessibility?minutes= (shares of residents within that walk
// of each essential facility category — clinic, pharmacy, grocery, bus_stop, care_center — and of all
// of them; 4.8 km/h, detour factor 1.3, residents spread evenly over the zone) and the KPI
// living_zone_9min_coverage per zone and for the city. Expected shares are the test's own estimate
// on a fine grid over each zone. Contract: shared/API.md §7; docs/api-notes.md "KPIs".

const { describe, test, before } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/harness');
const I = require('./lib/ingest-helpers');
const K = require('./lib/kpi-helpers');

const ESSENTIAL = ['bus_stop', 'care_center', 'clinic', 'grocery', 'pharmacy'];
const SPEED_KMH = 4.8;
const DETOUR = 1.3;
const radiusM = (minutes) => (SPEED_KMH * 1000 * (minutes / 60)) / DETOUR; // straight-line reach
const TOL = 0.03; // the daemon samples a few hundred points; the test a 150 × 150 grid

const SIZE = { compact: 0.004, corner: 0.02, none: 0.01, nocare: 0.004 };
const ZONES = [
  { id: 'compact', lon: 128.50, lat: 38.10, size: SIZE.compact, population: 500 }, // ~350 m × 445 m
  { id: 'corner', lon: 128.60, lat: 38.10, size: SIZE.corner, population: 1500 }, // ~1.75 km × 2.2 km
  { id: 'none', lon: 128.80, lat: 38.10, size: SIZE.none, population: 1000 },
  { id: 'nocare', lon: 128.70, lat: 38.10, size: SIZE.nocare, population: 2000 },
];

// [id, category, lon, lat]
const FACILITIES = [
  // compact: one of every essential category at its centre (farthest resident ~285 m away)
  ...ESSENTIAL.map((c, i) => [`c-${c}`, c, 128.502 + i * 0.0001, 38.102]),
  ['c-school', 'school', 128.5005, 38.1005],
  // corner: three categories near the south-west corner, a grocery 300-400 m in, a care centre just
  // outside the zone (residents may walk across a boundary), and non-essential places elsewhere
  ['k-clinic', 'clinic', 128.601, 38.101],
  ['k-pharmacy', 'pharmacy', 128.6012, 38.1008],
  ['k-bus', 'bus_stop', 128.6008, 38.1012],
  ['k-grocery', 'grocery', 128.605, 38.104],
  ['k-care', 'care_center', 128.5985, 38.0990],
  ['k-shelter', 'shelter', 128.615, 38.115],
  ['k-school', 'school', 128.610, 38.110],
  // nocare: everything but a care centre
  ...ESSENTIAL.filter((c) => c !== 'care_center').map((c, i) => [`n-${c}`, c, 128.702 + i * 0.0001, 38.102]),
  ['n-shelter', 'shelter', 128.7021, 38.1021],
];

// Equirectangular distance in metres (a few hundred metres at 38° N: well within the tolerance).
function distM(lon1, lat1, lon2, lat2) {
  const R = 6371008.8;
  const rad = Math.PI / 180;
  const x = (lon2 - lon1) * rad * Math.cos(((lat1 + lat2) / 2) * rad) * R;
  const y = (lat2 - lat1) * rad * R;
  return Math.hypot(x, y);
}

// The share of a square zone's area within `minutes` of each essential category, and of all of them.
function estimate(zone, facilities, minutes, n = 150) {
  const r = radiusM(minutes);
  const hits = Object.fromEntries(ESSENTIAL.map((c) => [c, 0]));
  let all = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const lon = zone.lon + ((i + 0.5) / n) * zone.size;
      const lat = zone.lat + ((j + 0.5) / n) * zone.size;
      let every = true;
      for (const c of ESSENTIAL) {
        const ok = facilities.some((f) => f[1] === c && distM(lon, lat, f[2], f[3]) <= r);
        if (ok) hits[c]++; else every = false;
      }
      if (every) all++;
    }
  }
  const out = { categories: {}, all: all / (n * n) };
  for (const c of ESSENTIAL) out.categories[c] = hits[c] / (n * n);
  return out;
}

describe('walking access and living_zone_9min_coverage', () => {
  const ctx = h.useDaemon('kpi_access');
  let T;
  let analyst;
  let device;
  let catalogue;
  const facilities = [...FACILITIES];

  before(async () => {
    const d = ctx.d;
    T = d.bootstrapToken;
    analyst = (await h.createToken(d, 'analyst', 'acc-analyst')).token;
    device = (await h.createToken(d, 'device', 'acc-device')).token;
    for (const z of ZONES) {
      h.assertStatus(await h.request(d, 'POST', '/api/v1/zones', {
        token: T, body: h.zoneBody(z.id, { boundary: h.polygon(z.lon, z.lat, z.size), population: z.population }),
      }), 201, `zone ${z.id}`);
    }
    for (const [id, category, lon, lat] of FACILITIES) {
      h.assertStatus(await h.request(d, 'POST', '/api/v1/facilities', {
        token: T, body: h.facilityBody(id, { category, location: h.point(lon, lat) }),
      }), 201, `facility ${id}`);
    }
    catalogue = Object.fromEntries((await I.getJson(d, analyst, '/api/v1/kpis')).items.map((k) => [k.id, k]));
  });

  async function access(zone, minutes, token = analyst) {
    const q = minutes === undefined ? '' : `?minutes=${minutes}`;
    const b = await I.getJson(ctx.d, token, `/api/v1/zones/${zone}/accessibility${q}`);
    assert.equal(b.zone, zone, 'zone');
    assert.equal(b.minutes, minutes === undefined ? 9 : minutes, 'minutes');
    assert.equal(b.walking_speed_kmh, SPEED_KMH, 'walking_speed_kmh');
    assert.equal(b.detour_factor, DETOUR, 'detour_factor');
    assert.deepEqual(Object.keys(b.categories).sort(), ESSENTIAL, `the essential categories: ${JSON.stringify(b.categories)}`);
    for (const v of [...Object.values(b.categories), b.all]) assert.ok(v >= 0 && v <= 1, `a share in 0..1: ${v}`);
    return b;
  }

  function assertShares(got, want, what) {
    const diffs = [];
    for (const c of ESSENTIAL) if (Math.abs(got.categories[c] - want.categories[c]) > TOL) diffs.push(`${c}: got ${got.categories[c]}, want ≈${want.categories[c].toFixed(3)}`);
    if (Math.abs(got.all - want.all) > TOL) diffs.push(`all: got ${got.all}, want ≈${want.all.toFixed(3)}`);
    assert.deepEqual(diffs, [], `${what}: ${diffs.join('; ')}`);
  }

  test('a small zone with every essential category at its centre: all shares 1', async () => {
    const b = await access('compact', 9);
    for (const c of ESSENTIAL) assert.ok(Math.abs(b.categories[c] - 1) < 1e-9, `${c}: ${b.categories[c]}`);
    assert.ok(Math.abs(b.all - 1) < 1e-9, `all: ${b.all}`);
    assert.deepEqual(await access('compact'), b, 'minutes defaults to 9');
  });

  test('a short walk from the centre of the small zone reaches only part of it', async () => {
    const b = await access('compact', 3);
    const want = estimate(ZONES[0], facilities, 3);
    assert.ok(want.all > 0.3 && want.all < 0.95, `the fixture gives a partial share: ${want.all}`);
    assertShares(b, want, 'compact, 3 minutes');
  });

  test('facilities only in one corner: partial shares, "all" is the intersection, boundaries can be crossed', async () => {
    const z = ZONES[1];
    for (const minutes of [9, 15]) {
      const want = estimate(z, facilities, minutes);
      assert.ok(want.all > 0.02 && want.all < want.categories.clinic - 0.02, `the fixture: all (${want.all}) < clinic (${want.categories.clinic})`);
      assertShares(await access('corner', minutes), want, `corner, ${minutes} minutes`);
    }
  });

  test('no facilities in reach: every share 0; a missing category makes "all" 0', async () => {
    const none = await access('none', 9);
    for (const c of ESSENTIAL) assert.equal(none.categories[c], 0, `none ${c}`);
    assert.equal(none.all, 0, 'none all');
    const nocare = await access('nocare', 9);
    for (const c of ESSENTIAL.filter((x) => x !== 'care_center')) assert.ok(Math.abs(nocare.categories[c] - 1) < 1e-9, `nocare ${c}: ${nocare.categories[c]}`);
    assert.equal(nocare.categories.care_center, 0, 'nocare care_center');
    assert.equal(nocare.all, 0, 'nocare all');
  });

  test('living_zone_9min_coverage: each zone\'s share of residents within 9 minutes of all, in %, and the population-weighted city', async () => {
    const byZone = {};
    for (const z of ZONES) byZone[z.id] = { est: estimate(z, facilities, 9).all, api: (await access(z.id, 9)).all, pop: z.population };
    const now = Date.now();
    for (const period of ['year', 'month', 'day']) {
      const b = await K.getValues(ctx.d, analyst, 'living_zone_9min_coverage', { period });
      K.assertTargets(b.values, catalogue.living_zone_9min_coverage, period);
      const start = new Date(K.periodStart(now, period)).toISOString();
      const cur = b.values.filter((v) => v.start === start);
      for (const z of ZONES) {
        const v = cur.find((x) => x.zone === z.id);
        assert.ok(v, `${period}: a value for ${z.id} in the current period ${start}: ${JSON.stringify(b.values.slice(-6))}`);
        assert.ok(Math.abs(v.value - 100 * byZone[z.id].est) <= 100 * TOL, `${period} ${z.id}: ${v.value} %, want ≈${(100 * byZone[z.id].est).toFixed(2)} %`);
        assert.ok(Math.abs(v.value - 100 * byZone[z.id].api) <= 0.01, `${period} ${z.id}: ${v.value} % vs accessibility all ${byZone[z.id].api}`);
      }
      const city = cur.find((x) => x.zone === null);
      const pop = K.sum(ZONES.map((z) => z.population));
      const wantCity = K.sum(ZONES.map((z) => 100 * byZone[z.id].api * z.population)) / pop;
      const estCity = K.sum(ZONES.map((z) => 100 * byZone[z.id].est * z.population)) / pop;
      assert.ok(city, `${period}: a city value`);
      assert.ok(Math.abs(city.value - wantCity) <= 0.01, `${period} city: ${city.value} %, want ${wantCity} % (population-weighted)`);
      assert.ok(Math.abs(city.value - estCity) <= 100 * TOL, `${period} city: ${city.value} %, the test's estimate ${estCity} %`);
    }
  });

  test('a new facility changes the answer: a care centre in the zone that lacked one', async () => {
    h.assertStatus(await h.request(ctx.d, 'POST', '/api/v1/facilities', {
      token: T, body: h.facilityBody('n-care', { category: 'care_center', location: h.point(128.702, 38.1022) }),
    }), 201);
    facilities.push(['n-care', 'care_center', 128.702, 38.1022]);
    const b = await h.pollUntil(async () => {
      const x = await access('nocare', 9);
      return x.all > 0.99 ? x : null;
    }, { timeoutMs: 5000, what: 'nocare all = 1 after adding a care centre' });
    assert.ok(Math.abs(b.categories.care_center - 1) < 1e-9);
    await h.pollUntil(async () => {
      const v = (await K.getValues(ctx.d, analyst, 'living_zone_9min_coverage', { period: 'year', zone: 'nocare' })).values;
      const cur = v.find((x) => x.start === new Date(K.periodStart(Date.now(), 'year')).toISOString());
      return cur && Math.abs(cur.value - 100) < 0.01;
    }, { timeoutMs: 5000, what: 'living_zone_9min_coverage for nocare = 100 %' });
  });

  test('accessibility: minutes validation, unknown zone, roles', async () => {
    const d = ctx.d;
    for (const m of ['0', '-5', 'abc', '61', '9m', '']) {
      h.assertBadParam(await h.request(d, 'GET', `/api/v1/zones/compact/accessibility?minutes=${m}`, { token: analyst }), 'minutes');
    }
    h.assertProblem(await h.request(d, 'GET', '/api/v1/zones/nope/accessibility?minutes=9', { token: analyst }), 404, 'not-found');
    h.assertProblem(await h.request(d, 'GET', '/api/v1/zones/compact/accessibility?minutes=9', { token: device }), 403, 'forbidden');
    const anon = await h.request(d, 'GET', '/api/v1/zones/compact/accessibility?minutes=9');
    h.assertProblem(anon, 401, 'unauthorized');
    for (const role of ['operator', 'welfare_officer']) {
      const t = (await h.createToken(d, role, `acc-${role}`)).token;
      h.assertStatus(await h.request(d, 'GET', '/api/v1/zones/compact/accessibility?minutes=9', { token: t }), 200, role);
    }
  });
});
