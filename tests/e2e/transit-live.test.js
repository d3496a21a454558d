'use strict';
// Live vehicles (API.md §11, docs/transit.md "Live vehicles and arrivals"): positions validated
// beside each other, matched to the route's shape, stop arrivals derived (interpolated), off-route
// and out-of-order positions, device tokens, the live feed's vehicle frames, headways and
// performance from the arrivals; and the MQTT door maeul/v1/avl/{vehicle}.

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/harness');
const L = require('./lib/live-helpers');
const M = require('./lib/mqtt-helpers');
const { feedZip, pos, east, north, LAT } = require('./lib/transit-helpers');

const SEC = 1000;

describe('transit: positions, arrivals, headways', () => {
  const env = {};
  let broker;
  before(async () => {
    broker = await M.startBroker();
    env.MAEUL_MQTT_URL = `mqtt://127.0.0.1:${broker.port}`;
    env.MAEUL_MQTT_CLIENT_ID = `maeuld-transit-${process.pid}`;
    env.MAEUL_MQTT_RECONNECT_MIN_MS = '200';
  });
  const ctx = h.useDaemon('transit_live', env);
  after(async () => { if (broker) await broker.stop(); });
  let T;
  // an hour ago, on a schedule boundary (every 600 s from midnight Seoul, which is whole hours UTC)
  const base = Math.floor(Date.now() / (600 * SEC)) * 600 * SEC - 3600 * SEC;
  const post = (positions, token = T) => h.request(ctx.d, 'POST', '/api/v1/transit/positions', { token, body: { positions } });
  const get = async (p) => h.assertJson(await h.request(ctx.d, 'GET', p, { token: T }), 200);
  const iso = (ms) => new Date(ms).toISOString();

  before(async () => {
    T = ctx.d.bootstrapToken;
    h.assertJson(await h.request(ctx.d, 'POST', '/api/v1/transit/gtfs',
      { token: T, rawBody: feedZip(), headers: { 'content-type': 'application/zip' } }), 200);
  });

  test('positions: good ones kept beside bad ones, arrivals interpolated along the shape', async () => {
    const res = await post([
      pos('bus-1', 0, base, { trip: 'T1', occupancy: 12 }),
      pos('bus-1', 200, base + 60 * SEC, { trip: 'T1' }),
      { ...pos('bus-x', 10, base), route: 'R9' },
      { ...pos('bus-y', 10, base), lat: 91 },
      pos('bus-1', 600, base + 120 * SEC, { trip: 'T1' }),
      pos('bus-1', 1000, base + 180 * SEC, { trip: 'T1' }),
    ]);
    const b = h.assertJson(res, 200);
    assert.equal(b.accepted, 4);
    // S0 at the first fix, S1 (400 m) half way between 200 m and 600 m, S2 at 1000 m
    assert.equal(b.arrivals, 3);
    assert.deepEqual(b.rejected.map((r) => [r.index, r.pointer]), [[2, '/positions/2/route'], [3, '/positions/3/lat']]);
    const hw = await get(`/api/v1/transit/routes/R1/headways?stop=S1&from=${encodeURIComponent(iso(base - 60 * SEC))}&to=${encodeURIComponent(iso(base + 3000 * SEC))}`);
    assert.equal(hw.stops.length, 1);
    assert.equal(hw.stops[0].stop, 'S1');
    assert.equal(hw.stops[0].arrivals, 1);
    assert.deepEqual(hw.stops[0].headways, []);
  });

  test('a vehicle without a trip, a bunched follower, off-route and out-of-order positions', async () => {
    const b = h.assertJson(await post([
      pos('bus-2', 0, base + 120 * SEC),
      pos('bus-2', 200, base + 180 * SEC),
      pos('bus-2', 600, base + 240 * SEC),   // S1 at base + 210 s: 120 s after bus-1
      { ...pos('bus-2', 700, base + 250 * SEC), lat: north(500) },  // 500 m off the road
      pos('bus-2', 100, base + 200 * SEC),   // older than its last: stored, not used
      pos('bus-3', 0, base + 600 * SEC),
      pos('bus-3', 600, base + 720 * SEC),   // S1 at base + 680 s: 470 s after bus-2
    ]), 200);
    assert.equal(b.accepted, 7);
    assert.equal(b.off_route, 1);
    assert.equal(b.out_of_order, 1);
    assert.equal(b.arrivals, 4);  // bus-2: S0, S1; bus-3: S0, S1
    const q = `from=${encodeURIComponent(iso(base - 60 * SEC))}&to=${encodeURIComponent(iso(base + 3000 * SEC))}`;
    const hw = await get(`/api/v1/transit/routes/R1/headways?stop=S1&${q}`);
    const s1 = hw.stops[0];
    assert.equal(s1.arrivals, 3);
    assert.deepEqual(s1.headways.map((x) => x.headway_s), [120, 470]);
    assert.equal(s1.headways[0].ts, iso(base + 210 * SEC));
    // Σh²/(2Σh) = (120² + 470²) / (2 × 590)
    assert.ok(Math.abs(s1.average_wait_s - (120 ** 2 + 470 ** 2) / (2 * 590)) < 0.01, JSON.stringify(s1));
    const all = await get(`/api/v1/transit/routes/R1/headways?${q}`);
    assert.deepEqual(all.stops.map((s) => s.stop).sort(), ['S0', 'S1', 'S2']);
    const perf = await get(`/api/v1/transit/routes/R1/performance?${q}`);
    assert.ok(perf.bunching_events >= 2, JSON.stringify(perf));  // 120 s at S0 and S1, below 300 s
    assert.equal(typeof perf.excess_wait_min, 'number');
    assert.equal(typeof perf.headway_cv, 'number');
    assert.equal(typeof perf.on_time_pct, 'number');
    assert.equal(perf.arrivals, 7);
    h.assertProblem(await h.request(ctx.d, 'GET', '/api/v1/transit/routes/R9/performance', { token: T }), 404);
    h.assertBadParam(await h.request(ctx.d, 'GET', '/api/v1/transit/routes/R1/headways?from=yesterday', { token: T }), 'from');
  });

  test('device tokens write only the vehicles they name; a batch with none good is 422', async () => {
    const dev = h.assertJson(await h.request(ctx.d, 'POST', '/api/v1/tokens',
      { token: T, body: { name: 'avl-bus-7', role: 'device', sensors: ['bus-7'] } }), 201).token;
    const ok = h.assertJson(await post([pos('bus-7', 0, base + 900 * SEC), pos('bus-8', 0, base + 900 * SEC)], dev), 200);
    assert.equal(ok.accepted, 1);
    assert.deepEqual(ok.rejected.map((r) => r.pointer), ['/positions/1/vehicle']);
    const none = await post([pos('bus-8', 0, base + 900 * SEC)], dev);
    assert.ok(h.assertInvalid(none).errors.some((e) => e.pointer === '/positions/0/vehicle'));
    h.assertInvalid(await post([]));
    const op = h.assertJson(await h.request(ctx.d, 'POST', '/api/v1/tokens',
      { token: T, body: { name: 'op', role: 'operator' } }), 201).token;
    h.assertStatus(await post([pos('bus-7', 0, base)], op), 403);
  });

  test('the live feed carries vehicle frames to those who subscribe to them', async () => {
    const ws = await L.connect(ctx.d, T);
    try {
      const ack = await ws.subscribeAndWait({ vehicles: true, routes: ['R1'], observations: false });
      assert.equal(ack.vehicles, true);
      const from = ws.msgs.length;
      const now = Date.now();
      h.assertJson(await post([pos('bus-9', 300, now - 5 * SEC, { occupancy: 'MANY_SEATS_AVAILABLE' })]), 200);
      const f = await ws.waitFor((m) => m.type === 'vehicle' && m.vehicle === 'bus-9', { from, what: 'vehicle frame' });
      assert.equal(f.route, 'R1');
      assert.equal(f.ts, iso(now - 5 * SEC));
      assert.equal(f.occupancy, 'MANY_SEATS_AVAILABLE');
      assert.equal(f.off_route, false);
      assert.ok(Math.abs(f.progress_m - 300) < 1, JSON.stringify(f));
      assert.equal(f.next_stop, 'S1');
      assert.ok(Math.abs(f.lon - east(300)) < 1e-9 && f.lat === LAT);
    } finally {
      ws.close();
    }
  });

  test('MQTT maeul/v1/avl/{vehicle}: same validation and authorization, bad ones kept as dead letters', async () => {
    await h.pollUntil(async () => (await L.metricValue(ctx.d, 'maeul_mqtt_connected')) === 1,
      { timeoutMs: 15000, intervalMs: 100, what: 'maeul_mqtt_connected 1' });
    const ws = await L.connect(ctx.d, T);
    try {
      await ws.subscribeAndWait({ vehicles: true });
      const from = ws.msgs.length;
      const now = Date.now();
      const { vehicle, ...body } = pos('bus-m', 450, now - 2 * SEC);
      assert.equal(vehicle, 'bus-m');
      await M.publish(broker, 'maeul/v1/avl/bus-m', JSON.stringify(body));
      const f = await ws.waitFor((m) => m.type === 'vehicle' && m.vehicle === 'bus-m', { from, timeoutMs: 10000, what: 'MQTT vehicle frame' });
      assert.equal(f.next_stop, 'S2');
      // another vehicle's position on this topic, and a bad latitude: dead letters with pointers
      await M.publish(broker, 'maeul/v1/avl/bus-m', JSON.stringify({ ...body, vehicle: 'bus-other' }));
      await M.publish(broker, 'maeul/v1/avl/bus-m', JSON.stringify({ ...body, lat: 'north' }));
      const dead = await h.pollUntil(async () => {
        const res = await h.request(ctx.d, 'GET', '/api/v1/ingest/dead-letters?limit=1000', { token: T });
        const items = res.json.items.filter((x) => x.topic === 'maeul/v1/avl/bus-m');
        return items.length >= 2 ? items : false;
      }, { timeoutMs: 10000, what: 'two avl dead letters' });
      const text = JSON.stringify(dead);
      assert.match(text, /\/vehicle: vehicle must be the topic's/);
      assert.match(text, /\/lat: lat must be a latitude/);
    } finally {
      ws.close();
    }
  });
});
