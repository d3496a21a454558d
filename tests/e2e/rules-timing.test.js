'use strict';
// Rule kinds over time: threshold with `for` (held by reading timestamps) and `clear` hysteresis (both
// directions), rate (rise or drop by delta within window), silence (opens with no reading at all,
// clears at the next one), composite (all conditions in one zone within the window → one alert per
// zone with sensor null). Clock-driven rules run every 100 ms here.
// Negative cases are checked against a marker: a case that must open an alert, posted after the one
// that must not, on the same rule.
// Rules are created, then L.rulesSettled waits until the engine has them (how quickly rule changes
// apply is rules.test.js's business).
// Contract: shared/API.md §6; docs/api-notes.md "Live operations" (rules, alerts).

const { describe, test, before } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/harness');
const I = require('./lib/ingest-helpers');
const L = require('./lib/live-helpers');

const { SEC, MIN, iso } = I;

describe('rule kinds over time', () => {
  const ctx = h.useDaemon('rules_timing', { MAEUL_ALERTS_TICK_MS: '100' });
  let T;
  let NOW;
  const r = (sensor, metric, msAgo, value) => ({ sensor, metric, ts: iso(NOW - msAgo), value });

  before(async () => {
    T = ctx.d.bootstrapToken;
    NOW = Date.now();
    const d = ctx.d;
    await I.makeZone(d, 'rt-main', 127.00, 37.00, 0.02);
    await I.makeZone(d, 'rt-c1', 127.10, 37.00, 0.02);
    await I.makeZone(d, 'rt-c2', 127.20, 37.00, 0.02);
    await I.makeZone(d, 'rt-c3', 127.30, 37.00, 0.02);
    const gauge = (id, kind) => I.makeSensor(d, id, { domain: 'disaster', kind, location: h.point(127.01, 37.01), metrics: [{ name: 'level', unit: 'm' }] });
    for (const id of ['for-spiky', 'for-held', 'for-short']) await gauge(id, 'for_probe');
    for (const id of ['hy-up', 'hy-down']) await gauge(id, 'hyst_probe');
    for (const id of ['rate-fast', 'rate-slow', 'rate-drop', 'rate-dfast', 'rate-dslow']) await gauge(id, 'rate_probe');
    for (const id of ['sil-quiet', 'sil-busy']) await gauge(id, 'silence_probe');
    // composite: one sensor per metric in each zone
    const weather = (id, lon, metric, unit) => I.makeSensor(d, id, { domain: 'environment', kind: 'weather', location: h.point(lon, 37.01), metrics: [{ name: metric, unit }] });
    for (const [z, lon] of [['c1', 127.11], ['c2', 127.21], ['c3', 127.31]]) {
      await weather(`${z}-temp`, lon, 'temperature', 'C');
      await weather(`${z}-hum`, lon + 0.001, 'humidity', '%');
      await weather(`${z}-wind`, lon + 0.002, 'wind', 'm/s');
    }
  });

  test('threshold with for: a spike or a short run does not open; a run held longer than for does', async () => {
    const rule = await L.createRule(ctx.d, {
      name: 'for', kind: 'threshold', selector: { kind: 'for_probe' }, severity: 'warning', metric: 'level', op: '>', value: 10, for: '1m',
    });
    await L.rulesSettled(ctx.d);
    // spikes: above for a moment, then below again, several times (each run far shorter than 1 m)
    await L.ingest(ctx.d, [
      r('for-spiky', 'level', 10 * MIN, 12), r('for-spiky', 'level', 10 * MIN - 10 * SEC, 5),
      r('for-spiky', 'level', 9 * MIN, 12), r('for-spiky', 'level', 9 * MIN - 40 * SEC, 12), r('for-spiky', 'level', 9 * MIN - 50 * SEC, 5),
      r('for-spiky', 'level', 8 * MIN, 15), r('for-spiky', 'level', 7 * MIN + 30 * SEC, 4),
    ].sort((a, b) => a.ts.localeCompare(b.ts)));
    // held above for 50 s (not yet 1 m), by timestamps
    await L.ingest(ctx.d, [r('for-short', 'level', 5 * MIN, 11), r('for-short', 'level', 5 * MIN - 25 * SEC, 11), r('for-short', 'level', 5 * MIN - 50 * SEC, 11)]);
    // held above for 90 s: opens (the marker)
    await L.ingest(ctx.d, [r('for-held', 'level', 5 * MIN, 11), r('for-held', 'level', 5 * MIN - 30 * SEC, 12)]);
    assert.deepEqual(await L.alertsOf(ctx.d, rule.id), [], 'held for 30 s only: nothing yet');
    await L.ingest(ctx.d, [r('for-held', 'level', 3 * MIN - 30 * SEC, 13)]);
    const a = await L.waitAlert(ctx.d, (x) => x.rule === rule.id && x.sensor === 'for-held', { what: 'the for-held alert' });
    assert.equal(a.state, 'open');
    const others = (await L.alertsOf(ctx.d, rule.id)).filter((x) => x.sensor !== 'for-held');
    assert.deepEqual(others, [], 'a spike or a run shorter than for opens nothing');
    // the short run continued past 1 m now opens too
    await L.ingest(ctx.d, [r('for-short', 'level', 3 * MIN, 11)]);
    await L.waitAlert(ctx.d, (x) => x.rule === rule.id && x.sensor === 'for-short', { what: 'the for-short alert once held long enough' });
  });

  test('clear hysteresis: between clear and value keeps the alert; past clear records cleared_at (both directions)', async () => {
    const up = await L.createRule(ctx.d, {
      name: 'hyst up', kind: 'threshold', selector: { sensor: 'hy-up' }, severity: 'info', metric: 'level', op: '>', value: 10, clear: 8,
    });
    const down = await L.createRule(ctx.d, {
      name: 'hyst down', kind: 'threshold', selector: { sensor: 'hy-down' }, severity: 'info', metric: 'level', op: '<=', value: 5, clear: 7,
    });
    await L.rulesSettled(ctx.d);
    const ws = await L.connect(ctx.d, T);
    await ws.subscribeAndWait({ alerts: true, sensors: ['none'] });
    try {
      await L.ingest(ctx.d, [r('hy-up', 'level', 60 * SEC, 12), r('hy-down', 'level', 60 * SEC, 5)]);
      const aUp = await L.waitAlert(ctx.d, (x) => x.rule === up.id, { what: 'hy-up opened' });
      const aDown = await L.waitAlert(ctx.d, (x) => x.rule === down.id, { what: 'hy-down opened' });
      // back inside the band (below value, not past clear): still active, not cleared
      await L.ingest(ctx.d, [r('hy-up', 'level', 50 * SEC, 9), r('hy-down', 'level', 50 * SEC, 6.5)]);
      await L.ingest(ctx.d, [r('hy-up', 'level', 45 * SEC, 8.5), r('hy-down', 'level', 45 * SEC, 6.9)]);
      // the marker: hy-down crosses clear
      await L.ingest(ctx.d, [r('hy-down', 'level', 40 * SEC, 7.5)]);
      const dn = await L.waitAlert(ctx.d, (x) => x.id === aDown.id && x.cleared_at, { what: 'hy-down cleared' });
      assert.match(dn.cleared_at, h.TIME_RE);
      const upNow = (await L.alertsOf(ctx.d, up.id)).find((x) => x.id === aUp.id);
      assert.equal(upNow.cleared_at, null, `hy-up at 9 then 8.5 (clear 8, op >) is not cleared yet: ${JSON.stringify(upNow)}`);
      // hy-up past clear
      await L.ingest(ctx.d, [r('hy-up', 'level', 40 * SEC, 7.9)]);
      const upCleared = await L.waitAlert(ctx.d, (x) => x.id === aUp.id && x.cleared_at, { what: 'hy-up cleared' });
      assert.ok(Date.parse(upCleared.cleared_at) >= Date.parse(upCleared.opened_at), 'cleared after opened');
      assert.equal((await L.alertsOf(ctx.d, up.id)).length, 1, 'still one alert for (rule, sensor)');
      const evs = ws.filter((m) => m.type === 'alert' && [aUp.id, aDown.id].includes(m.alert.id));
      const byAlert = (id) => evs.filter((m) => m.alert.id === id).map((m) => m.event);
      await ws.waitFor((m) => m.type === 'alert' && m.alert.id === aUp.id && m.event === 'cleared', { timeoutMs: 2000, what: 'the cleared event' });
      assert.deepEqual(byAlert(aDown.id), ['opened', 'cleared']);
      const trail = h.assertJson(await L.api(ctx.d, 'GET', `/api/v1/alerts/${aUp.id}/events`), 200).items;
      assert.deepEqual(trail.map((e) => e.event), ['opened', 'cleared']);
    } finally {
      ws.destroy();
    }
  });

  test('rate: a rise by delta within the window opens; a slow rise and a drop do not; negative delta on drops', async () => {
    const riseBody = { name: 'rise', kind: 'rate', severity: 'warning', metric: 'level', delta: 5, window: '10m' };
    const rise = await L.createRule(ctx.d, { ...riseBody, selector: { sensor: 'rate-slow' } });
    const rise2 = await L.createRule(ctx.d, { ...riseBody, selector: { kind: 'rate_probe' } });
    const drop = await L.createRule(ctx.d, {
      name: 'drop', kind: 'rate', selector: { kind: 'rate_probe' }, severity: 'warning', metric: 'level', delta: -5, window: '10m',
    });
    await L.rulesSettled(ctx.d);
    // slow: +4 every 15 min (never +5 within 10 min); drop: falls 20 → 10 in 2 min; dslow: falls 4 every 15 min
    await L.ingest(ctx.d, [60, 45, 30, 15].map((m, i) => r('rate-slow', 'level', m * MIN, 10 + 4 * i)));
    await L.ingest(ctx.d, [r('rate-drop', 'level', 8 * MIN, 20), r('rate-drop', 'level', 6 * MIN, 10)]);
    await L.ingest(ctx.d, [60, 45, 30, 15].map((m, i) => r('rate-dslow', 'level', m * MIN, 50 - 4 * i)));
    // markers: fast rise +6 in 4 min; fast drop -6 in 4 min
    await L.ingest(ctx.d, [r('rate-fast', 'level', 8 * MIN, 10), r('rate-fast', 'level', 6 * MIN, 13), r('rate-fast', 'level', 4 * MIN, 16)]);
    await L.ingest(ctx.d, [r('rate-dfast', 'level', 8 * MIN, 30), r('rate-dfast', 'level', 4 * MIN, 24)]);
    await L.waitAlert(ctx.d, (x) => x.rule === rise2.id && x.sensor === 'rate-fast', { what: 'rate-fast alert' });
    await L.waitAlert(ctx.d, (x) => x.rule === drop.id && x.sensor === 'rate-dfast', { what: 'rate-dfast alert' });
    const sensorsOf = async (id) => (await L.alertsOf(ctx.d, id)).map((x) => x.sensor).sort();
    assert.deepEqual(await sensorsOf(rise.id), [], 'slow rise: +4 per 15 min');
    assert.deepEqual(await sensorsOf(rise2.id), ['rate-fast'], 'rise rule: only the fast rise (not a drop, not a slow rise)');
    assert.deepEqual(await sensorsOf(drop.id), ['rate-dfast', 'rate-drop'], 'drop rule: both fast drops (-10 in 2 min, -6 in 4 min), no slow one');
  });

  test('silence: opens with no reading for `for` (2 s), not before; a sensor that keeps sending stays quiet; the next reading clears it', async () => {
    const rule = await L.createRule(ctx.d, {
      name: 'silence', kind: 'silence', selector: { kind: 'silence_probe' }, severity: 'warning', for: '2s',
    });
    await L.rulesSettled(ctx.d);
    const last = Date.now();
    await L.ingest(ctx.d, [{ sensor: 'sil-quiet', metric: 'level', ts: iso(last), value: 1 }, { sensor: 'sil-busy', metric: 'level', ts: iso(last), value: 1 }]);
    const sentAt = Date.now();
    // sil-busy sends every 300 ms while we wait for sil-quiet's alert
    let busy = 0;
    const a = await h.pollUntil(async () => {
      if (Date.now() - sentAt > busy * 300) {
        busy++;
        await L.ingest(ctx.d, [{ sensor: 'sil-busy', metric: 'level', ts: iso(Date.now()), value: busy }]);
      }
      return (await L.alertsOf(ctx.d, rule.id)).find((x) => x.sensor === 'sil-quiet');
    }, { timeoutMs: 6000, intervalMs: 50, what: 'the silence alert of sil-quiet' });
    const openedAt = Date.parse(a.opened_at);
    assert.ok(openedAt >= last + 1900, `opened ${openedAt - last} ms after the last reading (for = 2 s)`);
    assert.ok(Date.now() - sentAt < 5000, 'opened within 5 s');
    assert.equal(a.kind, 'silence');
    assert.equal(a.state, 'open');
    assert.equal(a.cleared_at, null);
    assert.deepEqual((await L.alertsOf(ctx.d, rule.id)).map((x) => x.sensor), ['sil-quiet'], 'the sensor that kept sending has no alert');
    await L.ingest(ctx.d, [{ sensor: 'sil-quiet', metric: 'level', ts: iso(Date.now()), value: 2 }]);
    const c = await L.waitAlert(ctx.d, (x) => x.id === a.id && x.cleared_at, { what: 'the silence alert cleared by a reading', timeoutMs: 2000 });
    assert.ok(Date.parse(c.cleared_at) > openedAt);
    assert.equal((await L.alertsOf(ctx.d, rule.id)).filter((x) => x.sensor === 'sil-quiet').length, 1, 'one alert for (rule, sensor)');
  });

  test('composite: all conditions in one zone within the window → one alert for that zone, sensor null', async () => {
    const rule = await L.createRule(ctx.d, {
      name: { ko: '산불 위험', en: 'Wildfire risk' }, kind: 'composite', selector: { domain: 'environment' }, severity: 'critical', window: '10m',
      conditions: [{ metric: 'temperature', op: '>', value: 30 }, { metric: 'humidity', op: '<', value: 30 }, { metric: 'wind', op: '>', value: 8, kind: 'weather' }],
    });
    await L.rulesSettled(ctx.d);
    // c2: wind too low; c3: all three, but the temperature 30 min before the others (outside 10 m)
    await L.ingest(ctx.d, [
      r('c2-temp', 'temperature', 3 * MIN, 35), r('c2-hum', 'humidity', 2 * MIN, 20), r('c2-wind', 'wind', 1 * MIN, 5),
      r('c3-temp', 'temperature', 40 * MIN, 35), r('c3-hum', 'humidity', 2 * MIN, 20), r('c3-wind', 'wind', 1 * MIN, 12),
      r('c3-temp', 'temperature', 5 * MIN, 25),
    ]);
    // c1: all three within 3 minutes (the marker)
    await L.ingest(ctx.d, [r('c1-temp', 'temperature', 3 * MIN, 35), r('c1-hum', 'humidity', 2 * MIN, 20)]);
    assert.deepEqual(await L.alertsOf(ctx.d, rule.id), [], 'two of three conditions: nothing');
    await L.ingest(ctx.d, [r('c1-wind', 'wind', 1 * MIN, 12)]);
    const a = await L.waitAlert(ctx.d, (x) => x.rule === rule.id, { what: 'the composite alert', timeoutMs: 3000 });
    assert.equal(a.zone, 'rt-c1');
    assert.equal(a.sensor, null);
    assert.equal(a.kind, 'composite');
    assert.equal(a.severity, 'critical');
    // still true: more matching readings keep one alert for (rule, zone)
    await L.ingest(ctx.d, [r('c1-temp', 'temperature', 30 * SEC, 36), r('c1-wind', 'wind', 20 * SEC, 13), r('c1-hum', 'humidity', 10 * SEC, 10)]);
    // marker for "evaluated": c2 now gets its wind
    await L.ingest(ctx.d, [r('c2-wind', 'wind', 5 * SEC, 9)]);
    await L.waitAlert(ctx.d, (x) => x.rule === rule.id && x.zone === 'rt-c2', { what: 'the c2 alert once its wind is high', timeoutMs: 3000 });
    const all = await L.alertsOf(ctx.d, rule.id);
    assert.deepEqual(all.map((x) => x.zone).sort(), ['rt-c1', 'rt-c2'], `one alert per zone, none for c3: ${JSON.stringify(all.map((x) => [x.zone, x.sensor]))}`);
    assert.ok(all.every((x) => x.sensor === null));
  });
});
