// maeul-sim's buses (tools/sim/bus.mjs) on the demo network (config/demo/transit): deterministic under a seed,
// on their shapes, varying naturally around the timetable, and the bunching and tourist-peak scenarios.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readFeed, distanceToShape } from '../../tools/sim/gtfs.mjs';
import { BusModel, CAPACITY } from '../../tools/sim/bus.mjs';
import { createModel } from '../../tools/sim/model.mjs';
import { Schedule } from '../../tools/sim/schedule.mjs';
import { resolve, parseSpec, specFromBody, ScenarioError } from '../../tools/sim/scenarios.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const feed = readFeed(join(root, 'config/demo/transit'));
const at = (s) => Date.parse(s);
const DAY = Math.floor((at('2026-12-08T12:00:00+09:00') + 9 * 3600e3) / 86400e3);  // a Tuesday
const lateness = (r) => (r.arr.at(-1) - (r.sched[0] + (r.trip.stops.at(-1).arr - r.trip.stops[0].dep) * 1000)) / 60e3;
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

test('the same seed gives the same buses, another seed other ones', () => {
  const t = at('2026-12-08T08:17:30+09:00');
  const a = new BusModel({ seed: 42, feed }).positions(t);
  const b = new BusModel({ seed: 42, feed }).positions(t);
  const c = new BusModel({ seed: 7, feed }).positions(t);
  assert.ok(a.length > 10, `${a.length} buses in service at 08:17`);
  assert.deepEqual(a, b);
  assert.notDeepEqual(a.map((p) => [p.lon, p.lat]), c.map((p) => [p.lon, p.lat]));
});

test('buses are on their route\'s shape, with an occupancy between 0 and 1, one position per bus', () => {
  const bus = new BusModel({ seed: 42, feed });
  for (const hhmm of ['06:10', '08:00', '12:34', '18:05', '22:40']) {
    const t = at(`2026-12-08T${hhmm}:00+09:00`);
    const ps = bus.positions(t);
    assert.equal(new Set(ps.map((p) => p.vehicle)).size, ps.length, `a bus in two places at ${hhmm}`);
    for (const p of ps) {
      const trip = feed.trips.get(p.trip);
      assert.equal(trip.route, p.route);
      const m = distanceToShape([p.lon, p.lat], feed.shapes.get(trip.shape));
      assert.ok(m < 2, `${p.vehicle} on ${p.trip} is ${m} m off its shape`);
      assert.ok(p.occupancy >= 0 && p.occupancy <= 1, `occupancy ${p.occupancy}`);
      assert.equal(p.ts, t);
    }
  }
  assert.equal(bus.positions(at('2026-12-08T03:00:00+09:00')).length, 0, 'no buses at 3 a.m.');
});

test('natural variation: trips differ from the timetable, by little on the whole, and never overtake', () => {
  const bus = new BusModel({ seed: 42, feed });
  for (const route of bus.routes()) {
    const runs = bus.stopEvents(route, DAY);
    const late = runs.map(lateness);
    assert.ok(late.some((x) => Math.abs(x) > 1), `${route}: some trip a minute or more off`);
    assert.ok(Math.abs(median(late)) < 3, `${route}: median lateness ${median(late)} min`);
    for (const dir of [0, 1]) {
      const d = runs.filter((r) => r.trip.dir === dir);
      for (let k = 1; k < d.length; k++) {
        for (let i = 0; i < d[k].arr.length; i++) assert.ok(d[k].arr[i] > d[k - 1].arr[i], `${d[k].trip.id} overtook at stop ${i}`);
      }
    }
    for (const r of runs) {
      for (let i = 1; i < r.arr.length; i++) assert.ok(r.arr[i] > r.dep[i - 1] && r.dep[i - 1] >= r.arr[i - 1], `${r.trip.id}: times go back`);
      assert.ok(r.dep[0] >= r.sched[0], `${r.trip.id} left early`);
      assert.ok(Math.max(...r.load) <= CAPACITY && Math.min(...r.load) >= 0);
    }
  }
});

test('bunching: the next bus is held up and its follower catches up with it', () => {
  const bus = new BusModel({ seed: 42, feed });
  const start = at('2026-12-08T10:00:00+09:00');
  const sc = [{ name: 'bunching', route: 'd1', start, end: null }];
  const pairAt = (scen) => {
    const runs = bus.stopEvents('d1', DAY, scen);
    const k = runs.findIndex((r) => r.sched[0] >= start);
    const lead = runs[k], next = runs.slice(k + 1).find((r) => r.trip.dir === lead.trip.dir);
    return { lead, next };
  };
  const { lead, next } = pairAt(sc);
  const n = lead.arr.length;
  const scheduled = next.sched[0] - lead.sched[0];
  const last = next.arr[n - 1] - lead.arr[n - 1];
  assert.ok(last < 0.25 * scheduled, `headway at the last stop ${last / 60e3} min of ${scheduled / 60e3}`);
  const base = pairAt([]);
  const before = base.next.arr[n - 1] - base.lead.arr[n - 1];
  assert.ok(before > 0.5 * scheduled, `without the scenario: ${before / 60e3} min`);
  assert.ok(lateness(lead) > lateness(base.lead) + 5, 'the held bus is late');
  // Trips before the start are untouched.
  const early = bus.stopEvents('d1', DAY, sc).filter((r) => r.sched[0] < start - 3600e3);
  const earlyBase = bus.stopEvents('d1', DAY, []).filter((r) => r.sched[0] < start - 3600e3);
  assert.deepEqual(early.map((r) => r.arr), earlyBase.map((r) => r.arr));
});

test('tourist-peak: more people board at Seorak and Daepo, buses are fuller and later', () => {
  const bus = new BusModel({ seed: 42, feed });
  const from = at('2026-12-08T09:00:00+09:00'), to = at('2026-12-08T17:00:00+09:00');
  const sc = [{ name: 'tourist-peak', zone: null, start: from, end: to }];
  const hot = [...feed.stops.values()].filter((s) => ['seorak', 'daepo'].includes(s.zone)).map((s) => s.id);
  const sum = (scen) => hot.reduce((n, id) => n + bus.boardings(id, from, to, scen), 0);
  const base = sum([]), peak = sum(sc);
  assert.ok(peak > 2 * base, `boardings at Seorak and Daepo stops: ${base} → ${peak}`);
  const inWindow = (scen) => bus.stopEvents('d1', DAY, scen).filter((r) => r.sched[0] >= from && r.sched[0] < to);
  const meanLoad = (runs) => runs.reduce((s, r) => s + Math.max(...r.load), 0) / runs.length;
  assert.ok(meanLoad(inWindow(sc)) > 1.3 * meanLoad(inWindow([])), 'fuller buses');
  const late = (runs) => runs.filter((r) => lateness(r) > 5).length;
  assert.ok(late(inWindow(sc)) > late(inWindow([])), `trips over 5 min late: ${late(inWindow([]))} → ${late(inWindow(sc))}`);
});

test('boardings readings: per stop, on the hour, the buses\' boardings of the hour before', () => {
  const sensors = [{ id: 'board-seorak-01', kind: 'bus_boardings', domain: 'mobility', zone: 'seorak',
    location: { type: 'Point', coordinates: [128.49133, 38.17121] },
    metrics: [{ name: 'boardings', unit: 'count', min: 0, max: 5000, interval_s: 3600 }],
    attributes: { gtfs_stop_id: 'stop-seorak-01', grid_aligned: true } }];
  const model = createModel({ seed: 42, sensors });
  model.bus = new BusModel({ seed: 42, feed });
  const sched = new Schedule(5000);
  sched.due(model.sensors.values(), at('2026-12-08T10:59:00+09:00'));
  const due = sched.due(model.sensors.values(), at('2026-12-08T11:00:03+09:00'));
  assert.deepEqual(due.map((d) => new Date(d.ts).toISOString()), ['2026-12-08T02:00:00.000Z']);
  const v = model.value('board-seorak-01', 'boardings', due[0].ts, []);
  assert.equal(v, model.bus.boardings('stop-seorak-01', at('2026-12-08T10:00:00+09:00'), at('2026-12-08T11:00:00+09:00')));
  assert.ok(v > 0, 'people board at Sogongwon at 10 a.m.');
  const night = model.value('board-seorak-01', 'boardings', at('2026-12-08T03:00:00+09:00'), []);
  assert.equal(night, 0);
});

test('the scenarios: bunching takes a route of the feed, tourist-peak a zone; both need the buses', () => {
  const model = createModel({ seed: 42, sensors: [{ id: 'x-seorak-01', kind: 'noise', zone: 'seorak', metrics: [] }] });
  assert.throws(() => resolve(parseSpec('bunching:d1'), model, 0), (e) => e instanceof ScenarioError && /--gtfs/.test(e.message));
  model.bus = new BusModel({ seed: 42, feed });
  assert.equal(resolve(parseSpec('bunching:d3'), model, 0).id, 'bunching:d3');
  assert.equal(resolve(parseSpec('bunching'), model, 0).route, 'd1');
  assert.throws(() => resolve(specFromBody({ name: 'bunching', route: 'x9' }), model, 0), (e) => e.pointer === '/route');
  assert.equal(resolve(specFromBody({ name: 'tourist-peak', zone: 'seorak' }), model, 0).id, 'tourist-peak:seorak');
  assert.equal(resolve(parseSpec('tourist-peak'), model, 0).id, 'tourist-peak');
});
