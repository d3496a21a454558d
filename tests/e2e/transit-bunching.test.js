'use strict';
// Bunching (API.md §11, docs/transit.md "Bunching"): the rule kind `bunching` opens an alert when a
// headway at a stop of its route falls below `ratio` × the scheduled one, with the control action
// in its message, and clears it when the headway is back; bad rules are refused with pointers.

const { describe, test, before } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/harness');
const { feedZip, pos } = require('./lib/transit-helpers');

const SEC = 1000;

describe('transit: bunching alerts', () => {
  const ctx = h.useDaemon('transit_bunching');
  let T;
  const base = Math.floor(Date.now() / (600 * SEC)) * 600 * SEC - 3600 * SEC;
  const post = async (positions) => h.assertJson(await h.request(ctx.d, 'POST', '/api/v1/transit/positions',
    { token: T, body: { positions } }), 200);
  const bunchAlerts = async () => {
    const res = await h.request(ctx.d, 'GET', '/api/v1/alerts?limit=1000', { token: T });
    return h.assertJson(res, 200).items.filter((a) => a.rule === 'bunch-r1');
  };

  before(async () => {
    T = ctx.d.bootstrapToken;
    h.assertJson(await h.request(ctx.d, 'POST', '/api/v1/transit/gtfs',
      { token: T, rawBody: feedZip({ headwayS: 600 }), headers: { 'content-type': 'application/zip' } }), 200);
  });

  test('a bunching rule is validated and stored', async () => {
    const bad = await h.request(ctx.d, 'POST', '/api/v1/rules',
      { token: T, body: { name: 'b', kind: 'bunching', ratio: 1.5, severity: 'warning' } });
    const b = h.assertInvalid(bad);
    assert.deepEqual(b.errors.map((e) => e.pointer).sort(), ['/ratio', '/route']);
    const res = await h.request(ctx.d, 'POST', '/api/v1/rules', { token: T, body: {
      id: 'bunch-r1', name: { ko: '1번 버스 몰림', en: 'Route 1 bunching' }, kind: 'bunching', route: 'R1', ratio: 0.5,
      severity: 'warning' } });
    const r = h.assertJson(res, 201);
    assert.equal(r.kind, 'bunching');
    assert.equal(r.route, 'R1');
    assert.equal(r.ratio, 0.5);
  });

  test('a follower 2 minutes behind (scheduled 10) opens an alert with the holding advice; a regular one clears it', async () => {
    await post([
      pos('bus-A', 0, base), pos('bus-A', 600, base + 120 * SEC),
      pos('bus-B', 0, base + 120 * SEC), pos('bus-B', 600, base + 240 * SEC),
    ]);
    // S0: bus-A at base, bus-B at base + 120 s; S1: base + 90 s and base + 210 s: 120 s < 0.5 × 600 s
    const open = await h.pollUntil(async () => {
      const as = await bunchAlerts();
      return as.length >= 2 ? as : false;
    }, { timeoutMs: 5000, what: 'two bunching alerts' });
    const s1 = open.find((a) => /stop S1/.test(a.message));
    assert.ok(s1, JSON.stringify(open.map((a) => a.message)));
    assert.equal(s1.state, 'open');
    assert.equal(s1.kind, 'bunching');
    assert.equal(s1.severity, 'warning');
    assert.equal(s1.domain, 'mobility');
    assert.equal(s1.value, 120);
    assert.match(s1.message, /bus-B arrived 2\.0 min after bus-A \(scheduled headway 10\.0 min\)/);
    assert.match(s1.message, /hold bus-B at the next timing point for 8 minutes/);
    assert.equal(s1.cleared_at, null);
    // bus-C 10 minutes behind bus-B at S0 and S1: the headway is back, both alerts clear
    await post([pos('bus-C', 0, base + 720 * SEC), pos('bus-C', 600, base + 840 * SEC)]);
    await h.pollUntil(async () => {
      const as = await bunchAlerts();
      return as.length === 2 && as.every((a) => a.cleared_at !== null) ? as : false;
    }, { timeoutMs: 5000, what: 'the bunching alerts cleared' });
  });

  test('two buses within distance_m along the shape open an alert with the holding advice; apart again, it clears', async () => {
    const res = await h.request(ctx.d, 'POST', '/api/v1/rules', { token: T, body: {
      id: 'bunch-dist', name: { ko: '1번 버스 간격', en: 'Route 1 spacing' }, kind: 'bunching', route: 'R1', ratio: 0.01,
      distance_m: 200, severity: 'warning' } });
    assert.equal(h.assertJson(res, 201).distance_m, 200);
    const distAlerts = async () => {
      const r = await h.request(ctx.d, 'GET', '/api/v1/alerts?limit=1000', { token: T });
      return h.assertJson(r, 200).items.filter((a) => a.rule === 'bunch-dist');
    };
    const t = base + 1800 * SEC;
    // bus-D at 300 m, then bus-E 150 m behind it (scheduled headway 10 min; E's speed unknown: 5 m/s,
    // so about 30 s behind: hold E for ceil(9.5) = 10 minutes)
    await post([pos('bus-D', 300, t), pos('bus-E', 150, t + 10 * SEC)]);
    const open = await h.pollUntil(async () => {
      const as = await distAlerts();
      return as.length >= 1 ? as : false;
    }, { timeoutMs: 5000, what: 'a bunching-by-distance alert' });
    assert.equal(open.length, 1, JSON.stringify(open.map((a) => a.message)));
    const a = open[0];
    assert.equal(a.state, 'open');
    assert.equal(a.kind, 'bunching');
    assert.equal(a.domain, 'mobility');
    assert.equal(a.metric, 'gap_m', JSON.stringify(a));
    assert.ok(Math.abs(a.value - 150) < 1, `gap ${a.value} m`);
    assert.match(a.message, /bus-E is 150 m behind bus-D \(about 0\.5 min; scheduled headway 10\.0 min\)/);
    assert.match(a.message, /hold bus-E at the next timing point for 10 minutes/);
    // D runs ahead: 500 m apart, more than 200: cleared
    await post([pos('bus-D', 900, t + 70 * SEC), pos('bus-E', 400, t + 80 * SEC)]);
    await h.pollUntil(async () => {
      const as = await distAlerts();
      return as.length === 1 && as[0].cleared_at !== null ? as : false;
    }, { timeoutMs: 5000, what: 'the bunching-by-distance alert cleared' });
    // the leader itself never got one: it has no vehicle ahead
    assert.ok(!(await distAlerts()).some((x) => /bus-D is/.test(x.message)));
  });
});
