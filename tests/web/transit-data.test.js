'use strict';
// The transit screen's data shaping (web/src/views/transit-data.js), without a browser: the route's reference
// line, projections, the Marey chart's series, live vehicles with bunching flags, a stop's headway figures.

const { describe, it, before } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { pathToFileURL } = require('node:url');

let D;
before(async () => { D = await import(pathToFileURL(path.join(__dirname, '../../web/src/views/transit-data.js')).href); });

// A straight east-west route of three stops about 1 km apart along a shape given backwards.
const stops = [[128.50, 38.18], [128.5114, 38.18], [128.5228, 38.18]];
const route = {
  id: 'r1',
  stops: stops.map((c, i) => ({ id: `s${i}`, name: `Stop ${i}`, sequence: i + 1, location: { type: 'Point', coordinates: c } })),
  shape: { type: 'LineString', coordinates: [[128.5228, 38.18], [128.515, 38.18], [128.50, 38.18]] },
};
const lonAt = (m) => 128.50 + m / (111320 * Math.cos(38.18 * Math.PI / 180));

describe('transit data', () => {
  it('measures along the shape from the first stop, even when the shape runs the other way', () => {
    const line = D.routeLine(route);
    assert.equal(line.stops.length, 3);
    assert.ok(Math.abs(line.stops[0].dist) < 1, `first stop at ${line.stops[0].dist}`);
    assert.ok(Math.abs(line.stops[1].dist - 1000) < 10, `second stop at ${line.stops[1].dist}`);
    assert.ok(Math.abs(line.length - 2000) < 20);
    const p = D.project(line, [lonAt(500), 38.1809]);
    assert.ok(Math.abs(p.dist - 500) < 5 && Math.abs(p.offset - 100) < 5, JSON.stringify(p));
    // Without a shape, the stops joined in order.
    const bare = D.routeLine({ ...route, shape: null });
    assert.ok(Math.abs(bare.stops[2].dist - 2000) < 20);
  });

  it('shapes the Marey chart: a series per vehicle of the route, km along, arrivals as points', () => {
    const line = D.routeLine(route);
    const tracks = new Map();
    const t0 = Date.parse('2026-12-08T01:00:00Z');
    for (let k = 0; k <= 10; k++) {
      assert.ok(D.addPosition(tracks, { vehicle: 'a', route: 'r1', trip: 'a1', lon: lonAt(k * 150), lat: 38.18, ts: new Date(t0 + k * 30e3).toISOString() }));
      D.addPosition(tracks, { vehicle: 'b', route: 'r1', trip: 'b1', lon: lonAt(2000 - k * 150), lat: 38.18, ts: t0 + k * 30e3 + 15e3 });
      D.addPosition(tracks, { vehicle: 'z', route: 'other', lon: lonAt(0), lat: 38.18, ts: t0 + k * 30e3 });
    }
    assert.equal(D.addPosition(tracks, { vehicle: 'a', route: 'r1', lon: lonAt(0), lat: 38.18, ts: t0 }), false, 'a repeat is ignored');
    const m = D.mareyData(tracks, line, 'r1', { arrivals: [{ stop: 's1', ts: new Date(t0 + 200e3).toISOString() }, { stop: 'nope', ts: t0 }] });
    assert.deepEqual(m.vehicles, ['a', 'b']);
    assert.equal(m.arrivals, 1);
    const [xs, ya, yb, arr] = m.data;
    assert.equal(xs.length, 11 + 11 + 1);
    assert.ok(xs.every((x, i) => i === 0 || x > xs[i - 1]), 'times in order');
    const at = (ys, t) => ys[xs.indexOf(Math.round(t / 1000))];
    assert.ok(Math.abs(at(ya, t0 + 300e3) - 1.5) < 0.01, at(ya, t0 + 300e3));
    assert.ok(Math.abs(at(yb, t0 + 15e3) - 2) < 0.01);
    assert.equal(at(ya, t0 + 15e3), undefined, 'a has no point at b\'s times (joined, not broken)');
    assert.ok(Math.abs(at(arr, t0 + 200e3) - 1) < 0.01);
    assert.equal(arr.filter((v) => v != null).length, 1);
  });

  it('flags vehicles of one direction that come within 250 m of each other', () => {
    const line = D.routeLine(route);
    const tracks = new Map();
    const now = Date.parse('2026-12-08T01:10:00Z');
    const move = (v, from, to, trip) => {
      D.addPosition(tracks, { vehicle: v, route: 'r1', trip, lon: lonAt(from), lat: 38.18, ts: now - 60e3 });
      D.addPosition(tracks, { vehicle: v, route: 'r1', trip, lon: lonAt(to), lat: 38.18, ts: now - 30e3 });
    };
    move('a', 800, 1000, 't1');
    move('b', 700, 900, 't2');   // 100 m behind a, same way: bunched
    move('c', 1300, 1100, 't3'); // the other way, 100 m from a: not bunched
    move('d', 100, 300, 't4');
    D.addPosition(tracks, { vehicle: 'old', route: 'r1', lon: lonAt(950), lat: 38.18, ts: now - 600e3 });
    const live = D.liveVehicles(tracks, line, 'r1', { now });
    const by = Object.fromEntries(live.map((v) => [v.vehicle, v]));
    assert.deepEqual(Object.keys(by).sort(), ['a', 'b', 'c', 'd'], 'a position 10 minutes old is not live');
    assert.equal(by.a.dir, 1);
    assert.equal(by.c.dir, -1);
    assert.equal(by.a.bunched, true);
    assert.equal(by.b.bunched, true);
    assert.equal(by.b.near, 'a');
    assert.equal(by.c.bunched, false);
    assert.equal(by.d.bunched, false);
  });

  it('a stop\'s figures from the headways answer; the average wait formula', () => {
    const f = D.stopFigures({ stop: 's1', direction: 1, arrivals: 3, headways: [{ ts: 'x', headway_s: 600 }, { ts: 'y', headway_s: 1200 }],
      average_wait_s: 500, scheduled_average_wait_s: 450, headway_cv: 0.33 });
    assert.equal(f.mean_headway_min, 15);
    assert.ok(Math.abs(f.excess_wait_min - 50 / 60) < 1e-9);
    assert.equal(f.cv, 0.33);
    assert.equal(D.averageWait([600, 1200]), (600 * 600 + 1200 * 1200) / (2 * 1800));
    assert.equal(D.averageWait([]), null);
    assert.equal(D.cityMidnight(Date.parse('2026-12-07T15:30:00Z'), 'Asia/Seoul'), Date.parse('2026-12-08T00:00:00+09:00'),
      '00:30 on the 8th in Korea: the day began at its midnight');
    assert.equal(D.cityMidnight(Date.parse('2026-07-01T03:00:00Z'), 'Europe/Berlin'), Date.parse('2026-07-01T00:00:00+02:00'),
      'the zone the server names, with its summer offset');
  });
});
