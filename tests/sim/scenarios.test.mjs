// Scenario parsing/resolution and the reading schedule of maeul-sim.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createModel } from '../../tools/sim/model.mjs';
import { Schedule } from '../../tools/sim/schedule.mjs';
import {
  parseSpec, specFromBody, resolve, ScenarioSet, ScenarioError, affectedSensors,
} from '../../tools/sim/scenarios.mjs';

const world = JSON.parse(readFileSync(fileURLToPath(new URL('../../config/demo/sokcho.json', import.meta.url)), 'utf8'));
const sensors = world.sensors.map((s) => ({ ...s, zone: s.zone ?? s.id.split('-')[1] }));
const model = createModel({ seed: 42, sensors });

test('parseSpec and specFromBody', () => {
  assert.deepEqual(parseSpec('flood'), { name: 'flood', target: null });
  assert.deepEqual(parseSpec('Flood:downtown'), { name: 'flood', target: 'downtown' });
  assert.deepEqual(parseSpec('breakdown:Jungang-ro (Route 7)'), { name: 'breakdown', target: 'Jungang-ro (Route 7)' });
  assert.throws(() => parseSpec('earthquake'), ScenarioError);
  assert.deepEqual(specFromBody({ name: 'flood', zone: 'seorak', duration_s: 60 }), { name: 'flood', target: 'seorak', duration_s: 60 });
  assert.deepEqual(specFromBody({ name: 'silent', sensor: 'home-station-001' }), { name: 'silent', target: 'home-station-001' });
  assert.throws(() => specFromBody({ name: 'flood', sensor: 'x' }), /takes "zone"/);
  assert.throws(() => specFromBody({ name: 'flood', duration_s: -1 }), /duration_s/);
  assert.throws(() => specFromBody([]), ScenarioError);
  assert.throws(() => specFromBody({}), /name/);
});

test('resolve checks targets against the world', () => {
  assert.equal(resolve(parseSpec('flood'), model, 0).zone, null);
  assert.equal(resolve(parseSpec('flood:daepo'), model, 0).zone, 'daepo');
  assert.throws(() => resolve(parseSpec('flood:atlantis'), model, 0), /unknown zone/);
  assert.throws(() => resolve(parseSpec('wildfire'), model, 0), /needs a zone/);
  assert.throws(() => resolve(parseSpec('silent:nobody'), model, 0), /unknown sensor/);
  assert.throws(() => resolve(parseSpec('breakdown:nowhere'), model, 0), /unknown corridor/);
  assert.throws(() => resolve(parseSpec('breakdown:bus-daepo-01'), model, 0), /not a traffic_corridor/);
  assert.throws(() => resolve(parseSpec('breakdown:route 7'), model, 0), /several corridors/);
  assert.equal(resolve(parseSpec('breakdown:Seoraksan-ro'), model, 0).corridor, 'Seoraksan-ro');
  const sc = resolve(parseSpec('flood:seorak'), model, 5);
  assert.equal(sc.id, 'flood:seorak');
  assert.equal(sc.start, 5);
  assert.deepEqual(affectedSensors(sc, model).sort(), sensors.filter((s) => s.zone === 'seorak'
    && ['water_level', 'rain_gauge', 'tide_gauge'].includes(s.kind)).map((s) => s.id).sort());
});

test('every corridor of the demo world has segments and nearby stops', () => {
  const c = model.corridors();
  assert.equal(c.size, 5);
  for (const x of c.values()) {
    assert.ok(x.segments.length >= 3, x.name);
    assert.ok(x.stops.length >= 3, `${x.name}: ${x.stops}`);
  }
});

test('ScenarioSet: add is idempotent, remove ends and keeps for the after-effects', () => {
  const set = new ScenarioSet();
  const a = resolve(parseSpec('flood:seorak'), model, 1000);
  assert.equal(set.add(a).added, true);
  assert.equal(set.add(resolve(parseSpec('flood:seorak'), model, 2000)).added, false);
  set.add(resolve(parseSpec('flood:daepo'), model, 3000));
  assert.equal(set.running().length, 2);
  assert.equal(set.remove('flood', 'daepo', 4000).length, 1);
  assert.equal(set.running().length, 1);
  assert.equal(set.forModel(5000).length, 2);  // the ended one still recedes
  assert.equal(set.forModel(4000 + 3600e3 + 1).length, 1);
  assert.equal(set.remove('flood', null, 9e6).length, 1);
  assert.equal(set.remove('flood', null, 9e6).length, 0);
});

test('schedule: each metric on its own interval grid, every tick without one, forced sensors at once', () => {
  const sch = new Schedule(5000);
  const list = [...model.sensors.values()];
  const t0 = Date.UTC(2026, 10, 21, 1, 0, 0);
  const first = sch.due(list, t0);
  assert.equal(first.length, list.reduce((n, s) => n + s.metrics.size, 0));
  for (const d of first) assert.ok(d.ts <= t0 && d.ts % 1000 === 0);
  const counts = new Map();
  for (let t = t0 + 5000; t <= t0 + 3600e3; t += 5000) {
    for (const d of sch.due(list, t)) {
      const k = `${d.sensor}/${d.metric}`;
      counts.set(k, (counts.get(k) || 0) + 1);
      assert.ok(d.ts <= t && d.ts > t - 5000 - 1);
    }
  }
  assert.equal(counts.get('wl-station-01/level'), 60);  // interval_s 60 over an hour
  assert.equal(counts.get('meter-station-01/power_kw'), 4);  // 900
  assert.equal(counts.get('sos-station-001/pressed'), 720);  // no interval: every 5 s tick
  // A forced sensor reports at the tick time, then goes back to its grid.
  sch.force(['meter-station-01']);
  const t = t0 + 3600e3 + 5000;
  const forced = sch.due(list, t).filter((d) => d.sensor === 'meter-station-01');
  assert.equal(forced.length, 2);
  assert.equal(forced[0].ts, t);
  assert.equal(sch.due(list, t + 5000).filter((d) => d.sensor === 'meter-station-01').length, 0);
  // Timestamps do not depend on when the simulator started (restarts send the same ones).
  const other = new Schedule(5000);
  const again = other.due(list, t0 + 1234).find((d) => d.sensor === 'wl-station-01');
  const orig = first.find((d) => d.sensor === 'wl-station-01');
  assert.equal(again.ts, orig.ts);
});

// --- morning: one resident's routine stops at their wake-up time ------------------------------------------

const HOUR = 3600e3;
const homes = [...model.sensors.values()].filter((s) => s.kind === 'home_activity').map((s) => s.id);
// Every reading time of a 15-minute metric of sensor id in [a, b] (the schedule's grid).
function gridTimes(id, a, b) {
  const sch = new Schedule(5000);
  const s = model.sensors.get(id);
  const out = [...sch.due([s], a), ...sch.due([s], b)].filter((d) => d.metric === 'motion' && d.ts >= a).map((d) => d.ts);
  return [...new Set(out)].sort((x, y) => x - y);
}

test('morning: parsing, the default household, the day, and only home_activity sensors', () => {
  assert.deepEqual(parseSpec('morning'), { name: 'morning', target: null });
  assert.deepEqual(parseSpec('morning:home-daepo-003@2026-11-23'), { name: 'morning', target: 'home-daepo-003', day: '2026-11-23' });
  assert.deepEqual(parseSpec('Morning@today'), { name: 'morning', target: null, day: 'today' });
  assert.throws(() => parseSpec('flood:seorak@today'), /takes no day/);
  assert.throws(() => parseSpec('morning@someday'), /"day" must be/);
  assert.throws(() => parseSpec('morning@2026-02-30'), /no such date/);
  assert.deepEqual(specFromBody({ name: 'morning', sensor: 'home-station-001', day: 'tomorrow' }),
    { name: 'morning', target: 'home-station-001', day: 'tomorrow' });
  assert.throws(() => specFromBody({ name: 'silent', day: 'today' }), /takes no "day"/);
  assert.throws(() => specFromBody({ name: 'morning', day: 7 }), /"day" must be/);
  assert.throws(() => resolve(parseSpec('morning:sos-station-001'), model, 0), /not a home_activity/);
  assert.throws(() => resolve(parseSpec('morning:nobody'), model, 0), /unknown sensor/);
  // The same marked household as the silent scenario's: home-station-014 with the default seed.
  const evening = Date.parse('2026-11-22T21:00:00+09:00');
  const sc = resolve(parseSpec('morning'), model, evening);
  assert.equal(sc.sensor, 'home-station-014');
  assert.equal(sc.sensor, resolve(parseSpec('silent'), model, evening).sensor);
  assert.equal(sc.id, 'morning:home-station-014');
  // No day: the next wake-up. In the evening that is tomorrow's; before dawn, today's.
  const s = model.sensors.get(sc.sensor);
  const nov23 = Date.UTC(2026, 10, 23) / 86400e3;
  assert.equal(sc.stopAt, model.wakeAt(s, nov23));
  assert.ok(sc.stopAt > Date.parse('2026-11-23T04:30:00+09:00') && sc.stopAt < Date.parse('2026-11-23T07:30:00+09:00'), new Date(sc.stopAt).toISOString());
  assert.equal(resolve(parseSpec('morning'), model, Date.parse('2026-11-23T01:00:00+09:00')).stopAt, sc.stopAt);
  const noon = Date.parse('2026-11-23T12:00:00+09:00');
  assert.equal(resolve(parseSpec('morning'), model, noon).stopAt, model.wakeAt(s, nov23 + 1), 'up already: tomorrow morning');
  assert.equal(resolve(parseSpec('morning@today'), model, noon).stopAt, sc.stopAt, '@today: this morning (the quiet starts at the start)');
  assert.equal(resolve(parseSpec('morning@2026-11-25'), model, noon).stopAt, model.wakeAt(s, nov23 + 2));
  // A replay starts in the past: "today" and the next morning are the real calendar's (the `today` argument),
  // so the replayed days stay as they were.
  const replayStart = Date.parse('2026-11-13T21:00:00+09:00');
  assert.equal(resolve(parseSpec('morning@today'), model, replayStart, noon).stopAt, sc.stopAt);
  assert.equal(resolve(parseSpec('morning'), model, replayStart, evening).stopAt, sc.stopAt);
  assert.equal(resolve(parseSpec('morning@2026-11-14'), model, replayStart, noon).stopAt, model.wakeAt(s, nov23 - 9));
  assert.deepEqual(affectedSensors(sc, model), ['home-station-014']);
});

test('morning: the household is still from its wake-up time on while the monitor keeps reporting; the other homes go on', () => {
  const evening = Date.parse('2026-11-22T21:00:00+09:00');
  const sc = resolve(parseSpec('morning'), model, evening);
  const id = sc.sensor;
  const times = gridTimes(id, evening, Date.parse('2026-11-23T14:00:00+09:00'));
  const read = (sid, m, t, scen) => model.value(sid, m, t, scen);
  let before = 0, after = 0, normalMorning = 0;
  for (const t of times) {
    const withIt = ['motion', 'door', 'power_use'].map((m) => read(id, m, t, [sc]));
    const without = ['motion', 'door', 'power_use'].map((m) => read(id, m, t, []));
    for (const v of withIt) assert.notEqual(v, null, 'the monitor keeps reporting (unlike "silent")');
    if (t <= sc.stopAt) {
      assert.deepEqual(withIt, without, `the night before is as usual (${new Date(t).toISOString()})`);
      before++;
    } else if (t - 900e3 >= sc.stopAt) {
      assert.equal(withIt[0], 0, `no motion after the wake-up time (${new Date(t).toISOString()})`);
      assert.equal(withIt[1], 0, 'no door');
      assert.ok(withIt[2] > 0 && withIt[2] < 400, `power at the night's base load, not cooking: ${withIt[2]} W`);
      if (without[0] > 0) normalMorning++;
      after++;
    }
  }
  assert.ok(before >= 30 && after >= 30, `${before} readings before, ${after} after`);
  assert.ok(normalMorning > after * 0.8, `without the scenario the resident is up and about (${normalMorning} of ${after} readings with motion)`);
  // Every other household: the same readings as without the scenario, and up and about in the morning.
  const morning = [Date.parse('2026-11-23T07:30:00+09:00'), Date.parse('2026-11-23T13:00:00+09:00')];
  for (const other of homes.filter((h) => h !== id)) {
    let moving = 0;
    for (const t of gridTimes(other, ...morning)) {
      for (const m of ['motion', 'door', 'power_use']) assert.equal(read(other, m, t, [sc]), read(other, m, t, []), `${other} ${m}`);
      if (read(other, 'motion', t, [sc]) > 0) moving++;
    }
    assert.ok(moving >= 4, `${other}: ${moving} readings with motion between 07:30 and 13:00`);
  }
  // Ended (the resident is found well): the routine is back at once.
  const ended = { ...sc, end: Date.parse('2026-11-23T10:00:00+09:00') };
  const later = gridTimes(id, ended.end + 900e3, ended.end + 3 * HOUR);
  assert.ok(later.some((t) => read(id, 'motion', t, [ended]) > 0));
  for (const t of later) assert.equal(read(id, 'motion', t, [ended]), read(id, 'motion', t, []));
});

test('morning: deterministic under the seed', () => {
  const evening = Date.parse('2026-11-22T21:00:00+09:00');
  for (const seed of [42, 7]) {
    const a = createModel({ seed, sensors }), b = createModel({ seed, sensors });
    const sa = resolve(parseSpec('morning'), a, evening), sb = resolve(parseSpec('morning'), b, evening);
    assert.equal(sa.sensor, sb.sensor);
    assert.equal(sa.stopAt, sb.stopAt);
    for (let t = evening; t < evening + 16 * HOUR; t += 900e3) {
      for (const m of ['motion', 'door', 'power_use']) assert.equal(a.value(sa.sensor, m, t, [sa]), b.value(sb.sensor, m, t, [sb]));
    }
  }
  // Another seed picks its own household or wake-up time.
  const other = resolve(parseSpec('morning'), createModel({ seed: 7, sensors }), evening);
  const ours = resolve(parseSpec('morning'), model, evening);
  assert.ok(other.sensor !== ours.sensor || other.stopAt !== ours.stopAt);
});
