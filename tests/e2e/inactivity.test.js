'use strict';
// The `inactivity` rule kind through the API: created over welfare home sensors, stored normalized
// (every model field with its default), refused with pointers when a field is bad; it learns each
// sensor's routine from backdated readings and opens when the current gap is unusual for the hour
// (seconds, for a sensor that was busy at this hour yesterday) while a sensor that was quiet at this
// hour yesterday, with the same rule and the same gap, stays quiet; the next reading clears it.
// Clock-driven rules run every 100 ms here.
// Contract: docs/openapi.yaml (RuleInput, kinds); docs/welfare.md "Routine-aware inactivity".

const { describe, test, before } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/harness');
const I = require('./lib/ingest-helpers');
const L = require('./lib/live-helpers');

const { SEC, HOUR, iso } = I;

describe('inactivity rules', () => {
  const ctx = h.useDaemon('inactivity', { MAEUL_ALERTS_TICK_MS: '100' });

  before(async () => {
    // One welfare sensor per home (the rule keys its routine by sensor). No attributes.household:
    // the household registry is not this test's business.
    const home = (id) => I.makeSensor(ctx.d, id, {
      domain: 'welfare', kind: 'home_activity', location: h.point(128.57, 38.21), metrics: [{ name: 'motion', unit: 'events' }],
    });
    await home('in-busy');
    await home('in-night');
  });

  test('stored with every model field; bad fields → 422 with their pointers', async () => {
    const body = { name: 'quiet home', kind: 'inactivity', selector: { kind: 'home_activity', domain: 'welfare' }, severity: 'warning' };
    const r = await L.createRule(ctx.d, { ...body, id: 'in-defaults' });
    const got = h.assertJson(await L.api(ctx.d, 'GET', '/api/v1/rules/in-defaults'), 200);
    for (const x of [r, got]) {
      assert.equal(x.kind, 'inactivity');
      assert.deepEqual(
        { learn_weeks: x.learn_weeks, min_days: x.min_days, quantile: x.quantile, factor: x.factor, floor: x.floor, ceiling: x.ceiling, cold_start: x.cold_start },
        { learn_weeks: 4, min_days: 7, quantile: 0.95, factor: 1.5, floor: '1h', ceiling: '16h', cold_start: '12h' },
      );
      assert.equal(x.metric, undefined, 'no metric: any reading is activity');
    }
    h.assertStatus(await L.api(ctx.d, 'DELETE', '/api/v1/rules/in-defaults'), 204);
    for (const [bad, pointer] of [
      [{ learn_weeks: 13 }, '/learn_weeks'], [{ learn_weeks: 1, min_days: 8 }, '/min_days'], [{ quantile: 0.2 }, '/quantile'],
      [{ factor: 0 }, '/factor'], [{ floor: '0s' }, '/floor'], [{ floor: '2h', ceiling: '1h' }, '/ceiling'],
      [{ cold_start: 'soon' }, '/cold_start'], [{ metric: 'Motion!' }, '/metric'],
    ]) {
      h.assertInvalid(await L.api(ctx.d, 'POST', '/api/v1/rules', { ...body, ...bad }), pointer);
    }
  });

  test('a gap unusual for the hour opens (busy at this hour yesterday); the same gap where the hour is usually quiet does not; a reading clears it', async () => {
    // One day learned is enough here (min_days 1, learn_weeks 1); quantile 1 and factor 1 make the
    // limit the longest gap seen in the hour; cold_start 1d so that only the learned limit can open.
    const rule = await L.createRule(ctx.d, {
      name: { ko: '평소와 다른 무활동', en: 'Unusually quiet' }, kind: 'inactivity', selector: { kind: 'home_activity' }, severity: 'warning',
      learn_weeks: 1, min_days: 1, quantile: 1, factor: 1, floor: '1s', ceiling: '1d', cold_start: '1d',
    });
    await L.rulesSettled(ctx.d);
    const now = Date.now();
    const hour0 = Math.floor(now / HOUR) * HOUR; // the start of this UTC hour: the model's slots are UTC hours
    // in-busy: active every 2 s through this hour and the next one, yesterday (in case the test
    // crosses the hour). Its limit now: 2 s.
    const busy = [];
    for (let t = hour0 - 24 * HOUR - 2 * SEC; t <= hour0 - 22 * HOUR; t += 2 * SEC) busy.push({ sensor: 'in-busy', metric: 'motion', ts: iso(t), value: 1 });
    // in-night: active 27 h and 21 h before this hour only: at this hour yesterday it had been quiet
    // for 3-4 h. Its limit now: 4 h (5 h in the next hour).
    const night = [hour0 - 27 * HOUR, hour0 - 21 * HOUR].map((t) => ({ sensor: 'in-night', metric: 'motion', ts: iso(t), value: 1 }));
    // Both active just now, in the same request: the engine learns the history and this in one
    // batch, so no tick sees the day-long gap before it (that would open and clear an alert).
    const last = Date.now();
    const now1 = ['in-busy', 'in-night'].map((sensor) => ({ sensor, metric: 'motion', ts: iso(last), value: 1 }));
    await L.ingest(ctx.d, [...night, ...busy, ...now1]);
    const a = await L.waitAlert(ctx.d, (x) => x.rule === rule.id && x.sensor === 'in-busy', { timeoutMs: 8000, what: 'the inactivity alert of in-busy' });
    const openedAt = Date.parse(a.opened_at);
    assert.ok(openedAt >= last + 1900, `opened ${openedAt - last} ms after the last activity (learned limit 2 s)`);
    assert.equal(a.kind, 'inactivity');
    assert.equal(a.state, 'open');
    assert.equal(a.metric, null);
    assert.equal(a.value, null);
    assert.match(a.message, /^no activity for \d+s; unusual at this hour \(limit 2s, learned from 1 day\)$/);
    // The same rule, the same gap (and more) on in-night: usual at this hour, no alert.
    assert.deepEqual((await L.alertsOf(ctx.d, rule.id)).map((x) => x.sensor), ['in-busy'], 'in-night has no alert');
    // The next activity clears it.
    await L.ingest(ctx.d, [{ sensor: 'in-busy', metric: 'motion', ts: iso(Date.now()), value: 1 }]);
    const c = await L.waitAlert(ctx.d, (x) => x.id === a.id && x.cleared_at, { timeoutMs: 3000, what: 'the inactivity alert cleared by a reading' });
    assert.ok(Date.parse(c.cleared_at) >= openedAt);
    const trail = h.assertJson(await L.api(ctx.d, 'GET', `/api/v1/alerts/${a.id}/events`), 200).items;
    assert.deepEqual(trail.map((e) => e.event), ['opened', 'cleared']);
    assert.deepEqual((await L.alertsOf(ctx.d, rule.id)).map((x) => x.sensor), ['in-busy'], 'still one alert, and none for in-night');
  });
});
