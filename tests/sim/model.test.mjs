// Unit tests of the maeul-sim world model (tools/sim/model.mjs): node --test tests/sim/
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createModel } from '../../tools/sim/model.mjs';
import { sunElevation, localTime, formatLocal } from '../../tools/sim/sun.mjs';
import { resolve, parseSpec } from '../../tools/sim/scenarios.mjs';

const world = JSON.parse(readFileSync(fileURLToPath(new URL('../../config/demo/sokcho.json', import.meta.url)), 'utf8'));
// The server derives a missing zone from the location; the world's ids name it too (KIND-ZONE-NN).
const sensors = world.sensors.map((s) => ({ ...s, zone: s.zone ?? s.id.split('-')[1] }));
const model = createModel({ seed: 42, sensors });

const HOUR = 3600e3, MIN = 60e3, DAY = 86400e3;
const kst = (y, mo, d, h = 0, mi = 0) => Date.UTC(y, mo - 1, d, h, mi) - 9 * HOUR;
const ofKind = (kind, zone) => sensors.filter((s) => s.kind === kind && (zone == null || s.zone === zone));
const scenario = (text, start, extra = {}) => ({ ...resolve(parseSpec(text), model, start), ...extra });

test('sun: below the horizon at night, highest near solar noon (~12:30 KST in Sokcho)', () => {
  for (const [mo, d] of [[1, 15], [3, 21], [6, 21], [9, 23], [12, 21]]) {
    assert.ok(sunElevation(38.2, 128.59, kst(2026, mo, d, 0)) < -20, `midnight ${mo}/${d}`);
    assert.ok(sunElevation(38.2, 128.59, kst(2026, mo, d, 22)) < 0, `22:00 ${mo}/${d}`);
    let best = -90, bestMin = 0;
    for (let m = 0; m < 24 * 60; m += 2) {
      const e = sunElevation(38.2, 128.59, kst(2026, mo, d) + m * MIN);
      if (e > best) { best = e; bestMin = m; }
    }
    assert.ok(bestMin >= 12 * 60 + 5 && bestMin <= 12 * 60 + 50, `solar noon ${mo}/${d} at minute ${bestMin}`);
  }
  // Noon elevation = 90 - latitude + declination: ~75.2° at the June solstice, ~28.4° at the December one.
  assert.ok(Math.abs(sunElevation(38.2, 128.59, kst(2026, 6, 21, 12, 28)) - 75.2) < 0.7);
  assert.ok(Math.abs(sunElevation(38.2, 128.59, kst(2026, 12, 21, 12, 23)) - 28.4) < 0.7);
});

test('solar_pv: zero at night, peaks near solar noon, never above capacity', () => {
  for (const pv of ofKind('solar_pv')) {
    const cap = pv.attributes.capacity_kw;
    for (const day of [kst(2026, 5, 10), kst(2026, 8, 3), kst(2026, 12, 2)]) {
      for (const h of [0, 2, 4, 20, 22, 23.5]) assert.equal(model.value(pv.id, 'power_kw', day + h * HOUR), 0, `${pv.id} at ${h} h`);
      let sum = 0, wsum = 0;
      for (let m = 0; m < 24 * 60; m += 5) {
        const t = day + m * MIN;
        const v = model.value(pv.id, 'power_kw', t);
        assert.ok(v >= 0 && v <= cap, `${pv.id} ${v} kW`);
        sum += v; wsum += v * m;
      }
      const centroid = wsum / sum / 60;  // power-weighted mean hour ≈ solar noon
      assert.ok(centroid > 11.3 && centroid < 13.7, `${pv.id} power centred at ${centroid.toFixed(2)} h`);
    }
  }
});

test('solar_pv: a clear summer noon yields much more than a winter dawn; energy never decreases', () => {
  const pv = ofKind('solar_pv')[0];
  let e = -Infinity, p = 0;
  for (let t = kst(2026, 7, 1); t < kst(2026, 7, 8); t += 30 * MIN) {
    const v = model.value(pv.id, 'energy_kwh', t);
    assert.ok(v >= e, `energy went down at ${new Date(t).toISOString()}`);
    e = v;
    p = Math.max(p, model.value(pv.id, 'power_kw', t));
  }
  assert.ok(p > 0.4 * pv.attributes.capacity_kw, `max summer power ${p}`);
});

test('bus stops in Seorak board more on weekends than on weekdays, and more in summer', () => {
  const stops = ofKind('bus_stop_counter', 'seorak');
  assert.ok(stops.length > 0);
  const dayTotal = (day) => {
    let n = 0;
    for (const s of stops) for (let m = 0; m < 24 * 60; m += 5) n += model.value(s.id, 'boardings', day + m * MIN);
    return n;
  };
  // 2026-05-13 Wednesday, 2026-05-16 Saturday; 2026-08-05 Wednesday in the beach season
  const weekday = dayTotal(kst(2026, 5, 13)), weekend = dayTotal(kst(2026, 5, 16)), summer = dayTotal(kst(2026, 8, 5));
  assert.ok(weekend > 1.5 * weekday, `weekend ${weekend} vs weekday ${weekday}`);
  assert.ok(summer > 1.2 * weekday, `summer weekday ${summer} vs spring weekday ${weekday}`);
  // no service in the small hours
  for (const s of stops) assert.equal(model.value(s.id, 'boardings', kst(2026, 5, 16, 3)), 0);
});

test('traffic corridors: rush hours are slower than the night', () => {
  const seg = ofKind('traffic_corridor', 'downtown');
  let rush = 0, night = 0;
  for (const day of [kst(2026, 3, 10), kst(2026, 3, 11), kst(2026, 3, 12)]) {
    for (const s of seg) {
      rush += model.value(s.id, 'travel_time_s', day + 18 * HOUR);
      night += model.value(s.id, 'travel_time_s', day + 3 * HOUR);
    }
  }
  assert.ok(rush > 1.2 * night, `rush ${rush} vs night ${night}`);
});

test('home activity: a night of quiet, an active morning, evening TV on the meter', () => {
  const homes = ofKind('home_activity');
  let night = 0, morning = 0, nightW = 0, eveningW = 0;
  for (let d = 0; d < 7; d++) {
    const day = kst(2026, 4, 6) + d * DAY;
    for (const h of homes) {
      night += model.value(h.id, 'motion', day + 3 * HOUR);
      morning += model.value(h.id, 'motion', day + 8 * HOUR);
      nightW += model.value(h.id, 'power_use', day + 3 * HOUR);
      eveningW += model.value(h.id, 'power_use', day + 20 * HOUR + 15 * MIN);
    }
  }
  assert.ok(morning > 5 * night, `motion: morning ${morning}, night ${night}`);
  assert.ok(eveningW > 1.5 * nightW, `power: evening ${eveningW}, night ${nightW}`);
  // Door events: some households go out during a week.
  let doors = 0;
  for (const h of homes.slice(0, 10)) {
    for (let t = kst(2026, 4, 6); t < kst(2026, 4, 13); t += 15 * MIN) doors += model.value(h.id, 'door', t);
  }
  assert.ok(doors > 10, `door events in a week: ${doors}`);
});

test('rain raises rivers: water levels follow the zone rain with a lag', () => {
  // Find a wet spell: the day with the most rain in the first half of 2026 in station, and compare the level
  // before it with the level a few hours into it.
  const rain = ofKind('rain_gauge', 'station')[0];
  const wl = ofKind('water_level', 'station')[0];
  let best = null;
  for (let t = kst(2026, 6, 1); t < kst(2026, 9, 1); t += 3 * HOUR) {
    let mm = 0;
    for (let k = 0; k < 18; k++) mm += model.value(rain.id, 'rain_mm', t + k * 10 * MIN);
    if (!best || mm > best.mm) best = { t, mm };
  }
  assert.ok(best.mm > 5, `no real rain in a summer? ${best.mm} mm`);
  const dry = model.value(wl.id, 'level', best.t - 12 * HOUR);
  const wet = Math.max(...[2, 3, 4, 5].map((h) => model.value(wl.id, 'level', best.t + h * HOUR)));
  assert.ok(wet > dry + 0.05, `level ${dry} before, ${wet} after ${best.mm} mm`);
});

test('flood scenario: rain rises, water levels climb monotonically through every stage to danger within its duration', () => {
  const start = kst(2026, 9, 2, 14);
  const sc = scenario('flood:seorak', start);
  assert.equal(sc.duration, 600e3);
  const levels = ofKind('water_level', 'seorak');
  assert.ok(levels.length >= 2);
  for (const s of levels) {
    const { attention, warning, danger } = s.attributes.warning_m
      ? { attention: s.attributes.warning_m - 0.5, warning: s.attributes.warning_m, danger: s.attributes.danger_m } : {};
    let prev = -Infinity;
    const crossed = {};
    for (let t = start; t <= start + sc.duration; t += 10e3) {
      const v = model.value(s.id, 'level', t, [sc]);
      assert.ok(v >= prev, `${s.id} fell from ${prev} to ${v} at +${(t - start) / 1000} s`);
      prev = v;
      for (const [k, x] of Object.entries({ attention, warning, danger })) if (v >= x && crossed[k] == null) crossed[k] = t - start;
    }
    assert.ok(crossed.attention < crossed.warning && crossed.warning < crossed.danger, `${s.id} stages ${JSON.stringify(crossed)}`);
    assert.ok(crossed.attention > 60e3, `${s.id} should take minutes, not jump: ${JSON.stringify(crossed)}`);
    assert.ok(crossed.danger <= sc.duration, `${s.id} reached danger at ${crossed.danger}`);
    // It stays critical while the scenario runs, and is within the metric's max.
    const later = model.value(s.id, 'level', start + 3 * sc.duration, [sc]);
    assert.ok(later >= danger && later <= 6, `${s.id} later ${later}`);
    // Without the scenario, or in another zone, nothing happens.
    assert.ok(model.value(s.id, 'level', start + sc.duration) < attention);
  }
  for (const s of ofKind('water_level', 'station')) assert.ok(model.value(s.id, 'level', start + sc.duration, [sc]) < 1.5);
  // Rain gauges in the zone show heavy rain.
  for (const r of ofKind('rain_gauge', 'seorak')) {
    const mm = model.value(r.id, 'rain_mm', start + sc.duration, [sc]);
    assert.ok(mm > 5, `${r.id} ${mm} mm in 10 min`);
  }
  // Removed: the river recedes.
  const ended = { ...sc, end: start + sc.duration };
  const s0 = levels[0];
  const atEnd = model.value(s0.id, 'level', start + sc.duration, [ended]);
  const hourLater = model.value(s0.id, 'level', start + sc.duration + HOUR, [ended]);
  assert.ok(hourLater < atEnd - 1, `receding: ${atEnd} → ${hourLater}`);
});

test('flood without a zone covers every zone', () => {
  const start = kst(2026, 9, 2, 14);
  const sc = scenario('flood', start);
  for (const s of ofKind('water_level')) assert.ok(model.value(s.id, 'level', start + sc.duration, [sc]) >= 3);
});

test('wildfire scenario: hot, dry and windy in its zone only', () => {
  const start = kst(2026, 4, 12, 13);
  const sc = scenario('wildfire:seorak', start);
  for (let t = start; t < start + 2 * HOUR; t += 5 * MIN) {
    for (const s of ofKind('fire_weather', 'seorak')) {
      assert.ok(model.value(s.id, 'temperature_c', t, [sc]) > 30);
      assert.ok(model.value(s.id, 'humidity_pct', t, [sc]) < 30);
      assert.ok(model.value(s.id, 'wind_ms', t, [sc]) > 8);
    }
    for (const s of ofKind('fire_weather', 'downtown')) assert.ok(model.value(s.id, 'temperature_c', t, [sc]) < 30);
  }
});

test('silent scenario: the household produces no readings, the others do', () => {
  const start = kst(2026, 4, 12, 13);
  const sc = scenario('silent:home-downtown-003', start);
  for (const m of ['motion', 'door', 'power_use']) {
    assert.equal(model.value('home-downtown-003', m, start + HOUR, [sc]), null);
    assert.notEqual(model.value('home-downtown-003', m, start - HOUR, [sc]), null);
    assert.notEqual(model.value('home-downtown-004', m, start + HOUR, [sc]), null);
  }
  assert.notEqual(model.value('home-downtown-003', 'motion', start + HOUR, [{ ...sc, end: start + 30 * MIN }]), null);
  // Without a sensor, a home_activity one is picked, the same for the same seed.
  const a = scenario('silent', start), b = resolve(parseSpec('silent'), createModel({ seed: 42, sensors }), start);
  assert.equal(a.sensor, b.sensor);
  assert.match(a.sensor, /^home-/);
});

test('breakdown scenario: the corridor slows sharply, its stops board fewer, other corridors are unchanged', () => {
  const start = kst(2026, 3, 10, 10);
  const sc = scenario('breakdown:trf-downtown-02', start);
  assert.equal(sc.corridor, 'Jungang-ro (Route 7)');
  assert.equal(scenario('breakdown:downtown', start).corridor, sc.corridor);
  assert.equal(scenario('breakdown:jungang', start).corridor, sc.corridor);
  const c = model.corridors().get(sc.corridor);
  assert.ok(c.stops.length > 0);
  for (const id of c.segments) {
    const before = model.value(id, 'travel_time_s', start + 10 * MIN);
    const after = model.value(id, 'travel_time_s', start + 10 * MIN, [sc]);
    assert.ok(after > 2 * before, `${id}: ${before} → ${after}`);
    assert.ok(model.value(id, 'speed_kmh', start + 10 * MIN, [sc]) < model.value(id, 'speed_kmh', start + 10 * MIN));
  }
  let before = 0, after = 0;
  for (let t = start; t < start + 4 * HOUR; t += 5 * MIN) {
    for (const id of c.stops) {
      before += model.value(id, 'boardings', t);
      after += model.value(id, 'boardings', t, [sc]);
    }
  }
  assert.ok(after < 0.4 * before, `boardings ${before} → ${after}`);
  const other = ofKind('traffic_corridor', 'seorak')[0].id;
  assert.equal(model.value(other, 'travel_time_s', start, [sc]), model.value(other, 'travel_time_s', start));
});

test('every reading is a finite number within its metric min/max, over a year and under every scenario', () => {
  const year = kst(2026, 1, 1);
  const scen = (t) => [
    scenario('flood', t - 5 * MIN), scenario('wildfire:seorak', t - HOUR), scenario('breakdown:Seoraksan-ro', t - HOUR),
  ];
  let n = 0;
  for (let i = 0; i < 120; i++) {
    const t = year + Math.floor(((i * 7919) % 365) * DAY + ((i * 104729) % 1440) * MIN);
    const list = i % 3 === 0 ? scen(t) : [];
    for (const s of sensors) {
      for (const m of s.metrics) {
        const v = model.value(s.id, m.name, t, list);
        assert.equal(typeof v, 'number', `${s.id}/${m.name}`);
        assert.ok(Number.isFinite(v), `${s.id}/${m.name} = ${v}`);
        if (m.min != null) assert.ok(v >= m.min, `${s.id}/${m.name} = ${v} < ${m.min}`);
        if (m.max != null) assert.ok(v <= m.max, `${s.id}/${m.name} = ${v} > ${m.max}`);
        if (['count', 'events', 'bool'].includes(m.unit)) assert.ok(Number.isInteger(v), `${s.id}/${m.name} = ${v}`);
        n++;
      }
    }
  }
  assert.ok(n > 50000);
});

test('plausible ranges: temperature by season, humidity, air quality, bikes and docks add up', () => {
  const fw = ofKind('fire_weather', 'downtown')[0];
  const temps = (mo) => [0, 6, 12, 18].flatMap((h) => [1, 8, 15, 22].map((d) => model.value(fw.id, 'temperature_c', kst(2026, mo, d, h))));
  const mean = (a) => a.reduce((x, y) => x + y, 0) / a.length;
  assert.ok(mean(temps(1)) < 5 && mean(temps(1)) > -8, `January ${mean(temps(1))}`);
  assert.ok(mean(temps(8)) > 20 && mean(temps(8)) < 30, `August ${mean(temps(8))}`);
  const bike = ofKind('bike_dock')[0];
  const t = kst(2026, 6, 3, 9);
  const cap = model.value(bike.id, 'bikes_available', t) + model.value(bike.id, 'docks_free', t);
  for (let k = 0; k < 48; k++) {
    const x = t + k * HOUR;
    assert.equal(model.value(bike.id, 'bikes_available', x) + model.value(bike.id, 'docks_free', x), cap);
  }
  const aq = ofKind('air_quality')[0];
  for (let k = 0; k < 48; k++) {
    const x = t + k * HOUR;
    assert.ok(model.value(aq.id, 'pm10', x) >= model.value(aq.id, 'pm25', x));
  }
  // Ozone: afternoon above early morning (diurnal cycle).
  let pm = 0, am = 0;
  for (let d = 0; d < 10; d++) {
    pm += model.value(aq.id, 'o3', kst(2026, 6, 1 + d, 15));
    am += model.value(aq.id, 'o3', kst(2026, 6, 1 + d, 5));
  }
  assert.ok(pm > 1.5 * am);
});

test('deterministic: same seed, same values; another seed, other values', () => {
  const a = createModel({ seed: 7, sensors }), b = createModel({ seed: 7, sensors }), c = createModel({ seed: 8, sensors });
  const t = kst(2026, 10, 18, 11, 5);
  let diff = 0;
  for (const s of sensors) {
    for (const m of s.metrics) {
      assert.equal(a.value(s.id, m.name, t), b.value(s.id, m.name, t));
      if (a.value(s.id, m.name, t) !== c.value(s.id, m.name, t)) diff++;
    }
  }
  assert.ok(diff > 100, `${diff} values differ between seeds`);
});

test('unknown kinds and metrics still get values inside their range', () => {
  const m = createModel({ seed: 1, sensors: [{ id: 'x-1', kind: 'mystery', zone: 'elsewhere', location: { type: 'Point', coordinates: [127, 37.5] },
    metrics: [{ name: 'level', unit: 'm', min: 2, max: 4 }, { name: 'other', unit: 'x' }] }] });
  for (let t = kst(2026, 1, 1); t < kst(2026, 1, 3); t += HOUR) {
    const v = m.value('x-1', 'level', t);
    assert.ok(v >= 2 && v <= 4);
    assert.ok(Number.isFinite(m.value('x-1', 'other', t)));
  }
  assert.equal(m.value('x-1', 'nope', 0), null);
  assert.equal(m.value('nope', 'level', 0), null);
});

test('local time: KST calendar and RFC 3339 with +09:00', () => {
  const t = Date.UTC(2026, 10, 21, 15, 30);  // 2026-11-22 00:30 KST, a Sunday
  const lt = localTime(t);
  assert.deepEqual([lt.year, lt.month, lt.day, lt.dow, lt.offDay], [2026, 11, 22, 0, true]);
  assert.ok(Math.abs(lt.hour - 0.5) < 1e-9);
  assert.equal(formatLocal(t), '2026-11-22T00:30:00+09:00');
});
