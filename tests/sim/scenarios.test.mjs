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
