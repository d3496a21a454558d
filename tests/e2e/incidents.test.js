'use strict';
// Incidents: created from alerts or by hand (reported_at, zone, location), PATCH of dispatched_at,
// on_scene_at, resolved_at once each and in order (out of order or twice → 409, nothing changed), notes, the
// timeline (at, what, by, note), list filters (state, zone) and paging, validation, roles.
// Contract: shared/API.md §6; docs/api-notes.md "Live operations" (incidents).

const { describe, test, before } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/harness');
const I = require('./lib/ingest-helpers');
const L = require('./lib/live-helpers');

const { MIN, iso, isoOffset } = I;

const INCIDENT_KEYS = ['id', 'category', 'zone', 'location', 'reported_at', 'dispatched_at', 'on_scene_at', 'resolved_at', 'alerts', 'timeline'];
const STEPS = ['reported', 'dispatched', 'on_scene', 'resolved'];

// Checks an incident body against the contract: every field, times in RFC 3339 UTC with milliseconds,
// `state` and `response_minutes` consistent with the times, and the fields in `want`.
function checkIncident(inc, want = {}) {
  assert.ok(inc && typeof inc === 'object', `incident is an object: ${JSON.stringify(inc)}`);
  for (const k of INCIDENT_KEYS) assert.ok(k in inc, `field ${k}: ${JSON.stringify(inc)}`);
  assert.ok(Number.isInteger(inc.id) && inc.id > 0, `id is a positive integer: ${inc.id}`);
  assert.match(inc.reported_at, h.TIME_RE, 'reported_at');
  for (const k of ['dispatched_at', 'on_scene_at', 'resolved_at']) {
    if (inc[k] !== null) assert.match(inc[k], h.TIME_RE, k);
  }
  assert.equal(inc.state, inc.resolved_at === null ? 'open' : 'resolved', `state follows resolved_at: ${JSON.stringify(inc)}`);
  const minutes = inc.on_scene_at === null ? null : (Date.parse(inc.on_scene_at) - Date.parse(inc.reported_at)) / MIN;
  if (minutes === null) assert.equal(inc.response_minutes, null, 'response_minutes without on_scene_at');
  else assert.ok(Math.abs(inc.response_minutes - minutes) < 1e-9, `response_minutes ${inc.response_minutes}, want ${minutes}`);
  assert.ok(Array.isArray(inc.alerts) && inc.alerts.every(Number.isInteger), `alerts: ${JSON.stringify(inc.alerts)}`);
  assert.ok(Array.isArray(inc.timeline) && inc.timeline.length >= 1, `timeline: ${JSON.stringify(inc.timeline)}`);
  for (const e of inc.timeline) {
    assert.match(e.at, h.TIME_RE, `timeline at: ${JSON.stringify(e)}`);
    assert.ok([...STEPS, 'note'].includes(e.what), `timeline what: ${JSON.stringify(e)}`);
    assert.ok('by' in e && 'note' in e, `timeline entry fields: ${JSON.stringify(e)}`);
  }
  // the steps appear once each, in their order, at their times
  const steps = inc.timeline.filter((e) => STEPS.includes(e.what));
  const wantSteps = STEPS.filter((w) => inc[`${w}_at`] !== null).map((w) => [w, inc[`${w}_at`]]);
  assert.deepEqual(steps.map((e) => [e.what, e.at]), wantSteps, `timeline steps: ${JSON.stringify(inc.timeline)}`);
  for (const [k, v] of Object.entries(want)) assert.deepEqual(inc[k], v, `${k}: ${JSON.stringify(inc)}`);
  return inc;
}

// The timeline as [what, at, by, note] rows (by and note as given; `at` of a note entry is not fixed
// by the contract, so `anyAt` replaces it).
function timelineRows(inc) {
  return inc.timeline.map((e) => [e.what, e.what === 'note' ? 'anyAt' : e.at, e.by, e.note]);
}

describe('incidents', () => {
  const ctx = h.useDaemon('incidents', { MAEUL_ALERTS_TICK_MS: '100' });
  let T;
  const tok = {};
  const base = Date.UTC(2026, 0, 12, 3, 0, 0); // a fixed morning in the past, whole minutes
  const at = (min) => iso(base + min * MIN);
  let alertIds;

  const create = async (body, token = T) => {
    const res = await L.api(ctx.d, 'POST', '/api/v1/incidents', body, token);
    return h.assertJson(res, 201);
  };
  const patch = (id, body, token = T) => L.api(ctx.d, 'PATCH', `/api/v1/incidents/${id}`, body, token);
  const getInc = async (id) => checkIncident(h.assertJson(await L.api(ctx.d, 'GET', `/api/v1/incidents/${id}`), 200));
  // openapi PATCH /api/v1/incidents/{id}: a time recorded twice or out of order is 409, with a pointer
  // to each refused member, and nothing is changed
  const conflict = (res, pointer, what) => {
    const b = h.assertProblem(res, 409, 'conflict');
    assert.ok(Array.isArray(b.errors) && b.errors.some((e) => e.pointer === pointer),
      `${what}: 409 with an error pointing at ${pointer}, got ${res.text}`);
  };

  before(async () => {
    T = ctx.d.bootstrapToken;
    for (const role of ['operator', 'analyst', 'device', 'welfare_officer']) {
      tok[role] = (await h.createToken(ctx.d, role, `inc-${role}`)).token;
    }
    await I.makeZone(ctx.d, 'in-a', 127.00, 37.00, 0.02);
    await I.makeZone(ctx.d, 'in-b', 127.10, 37.00, 0.02);
    for (const id of ['in-s1', 'in-s2']) {
      await I.makeSensor(ctx.d, id, { domain: 'disaster', kind: 'water_level', location: h.point(127.01, 37.01), metrics: [{ name: 'level', unit: 'm' }] });
    }
    await L.createRule(ctx.d, { name: 'flood', kind: 'threshold', selector: { kind: 'water_level' }, severity: 'warning', metric: 'level', op: '>', value: 3 });
    await L.rulesSettled(ctx.d);
    await L.ingest(ctx.d, [{ sensor: 'in-s1', metric: 'level', ts: iso(Date.now() - MIN), value: 4 }, { sensor: 'in-s2', metric: 'level', ts: iso(Date.now() - MIN), value: 5 }]);
    await h.pollUntil(async () => (await L.getAlerts(ctx.d, 'zone=in-a')).filter((a) => a.sensor && a.sensor.startsWith('in-s')).length === 2, { what: 'two alerts' });
    alertIds = (await L.getAlerts(ctx.d, 'zone=in-a')).map((a) => a.id).sort((a, b) => a - b);
  });

  describe('create', () => {
    test('from alerts: 201, Location, reported_at normalized to UTC ms, the alerts, a "reported" timeline entry', async () => {
      const res = await L.api(ctx.d, 'POST', '/api/v1/incidents', {
        category: 'flood', zone: 'in-a', location: h.point(127.015, 37.015), reported_at: isoOffset(base, 9 * 60), alerts: alertIds, note: '하천 범람',
      }, tok.operator);
      const inc = checkIncident(h.assertJson(res, 201), { state: 'open', response_minutes: null, note: '하천 범람' });
      assert.equal(res.headers.get('location'), `/api/v1/incidents/${inc.id}`);
      assert.equal(inc.category, 'flood');
      assert.equal(inc.zone, 'in-a');
      assert.deepEqual(inc.location, h.point(127.015, 37.015));
      assert.equal(inc.reported_at, iso(base));
      assert.deepEqual([...inc.alerts].sort((a, b) => a - b), alertIds);
      assert.equal(inc.dispatched_at, null);
      assert.equal(inc.on_scene_at, null);
      assert.equal(inc.resolved_at, null);
      assert.equal(inc.timeline.length, 1, `one timeline entry: ${JSON.stringify(inc.timeline)}`);
      assert.deepEqual([inc.timeline[0].what, inc.timeline[0].at, inc.timeline[0].note], ['reported', iso(base), '하천 범람']);
      assert.match(String(inc.timeline[0].by), /inc-operator/);
      assert.match(String(inc.created_by), /inc-operator/);
      assert.deepEqual(h.assertJson(await L.api(ctx.d, 'GET', `/api/v1/incidents/${inc.id}`), 200), inc);
    });

    test('by hand: no alerts, no location', async () => {
      const inc = checkIncident(await create({ category: 'welfare_check', zone: 'in-b', reported_at: at(5) }, tok.welfare_officer), {
        category: 'welfare_check', zone: 'in-b', location: null, reported_at: at(5), alerts: [], state: 'open',
        dispatched_at: null, on_scene_at: null, resolved_at: null, response_minutes: null, note: null,
      });
      assert.equal(inc.timeline.length, 1, `one timeline entry: ${JSON.stringify(inc.timeline)}`);
      assert.deepEqual([inc.timeline[0].what, inc.timeline[0].at, inc.timeline[0].note], ['reported', at(5), null]);
      assert.match(String(inc.timeline[0].by), /inc-welfare_officer/);
      assert.deepEqual(h.assertJson(await L.api(ctx.d, 'GET', `/api/v1/incidents/${inc.id}`), 200), inc);
    });

    test('a location and no zone: the zone that contains it', async () => {
      const inc = checkIncident(await create({ category: 'fire', location: h.point(127.105, 37.005), reported_at: at(6) }), {
        category: 'fire', zone: 'in-b', location: h.point(127.105, 37.005), reported_at: at(6), alerts: [], state: 'open',
      });
      assert.deepEqual(h.assertJson(await L.api(ctx.d, 'GET', `/api/v1/incidents/${inc.id}`), 200), inc);
    });

    const bad = [
      ['no category', { zone: 'in-a', reported_at: at(0) }, '/category'],
      ['unknown zone', { category: 'flood', zone: 'no-such-zone', reported_at: at(0) }, '/zone'],
      ['reported_at without an offset', { category: 'flood', zone: 'in-a', reported_at: '2026-01-12T12:00:00' }, '/reported_at'],
      ['reported_at not a time', { category: 'flood', zone: 'in-a', reported_at: 'yesterday' }, '/reported_at'],
      ['location not a Point', { category: 'flood', zone: 'in-a', reported_at: at(0), location: h.polygon(127, 37, 0.01) }, '/location*'],
      ['an unknown alert', { category: 'flood', zone: 'in-a', reported_at: at(0), alerts: [99999999] }, '/alerts*'],
      ['alerts not ids', { category: 'flood', zone: 'in-a', reported_at: at(0), alerts: ['x'] }, '/alerts*'],
    ];
    for (const [what, body, ptr] of bad) {
      test(`422: ${what}`, async () => {
        h.assertInvalid(await L.api(ctx.d, 'POST', '/api/v1/incidents', body), ptr);
      });
    }

    // api-notes: analysts read incidents (they feed the emergency-response KPI) but never write them
    for (const role of ['analyst', 'device']) {
      test(`roles: ${role} → 403 on create and patch; reads only for analyst`, async () => {
        const all = await h.listAll(ctx.d, '/api/v1/incidents', T);
        const one = all[0];
        const before = await h.listAll(ctx.d, '/api/v1/incidents', T);
        h.assertProblem(await L.api(ctx.d, 'POST', '/api/v1/incidents', { category: 'x', zone: 'in-a', reported_at: at(0) }, tok[role]), 403, 'forbidden');
        h.assertProblem(await patch(one.id, { note: 'x' }, tok[role]), 403, 'forbidden');
        const list = await L.api(ctx.d, 'GET', '/api/v1/incidents?limit=1000', undefined, tok[role]);
        const single = await L.api(ctx.d, 'GET', `/api/v1/incidents/${one.id}`, undefined, tok[role]);
        if (role === 'analyst') {
          const b = h.assertJson(list, 200);
          assert.deepEqual(b.items, all, 'an analyst reads the same list as an admin');
          assert.equal(b.next_cursor, null);
          assert.deepEqual(checkIncident(h.assertJson(single, 200)), one);
        } else {
          h.assertProblem(list, 403, 'forbidden');
          h.assertProblem(single, 403, 'forbidden');
        }
        assert.deepEqual(await h.listAll(ctx.d, '/api/v1/incidents', T), before, 'the refused writes changed nothing');
      });
    }

    test('roles: no token 401', async () => {
      for (const res of [
        await h.request(ctx.d, 'GET', '/api/v1/incidents'),
        await h.request(ctx.d, 'POST', '/api/v1/incidents', { body: { category: 'x', zone: 'in-a', reported_at: at(0) } }),
      ]) {
        h.assertProblem(res, 401, 'unauthorized');
        assert.match(String(res.headers.get('www-authenticate')), /^Bearer/, 'WWW-Authenticate: Bearer');
      }
    });
  });

  describe('timeline', () => {
    test('dispatched → on scene → resolved, each once, in order; notes; the timeline records who, when, what', async () => {
      const inc = await create({ category: 'flood', zone: 'in-a', reported_at: at(10) });
      const w1 = [Date.now()];
      let r = checkIncident(h.assertJson(await patch(inc.id, { dispatched_at: isoOffset(base + 12 * MIN, 9 * 60), note: '구조대 출동' }, tok.operator), 200),
        { id: inc.id, reported_at: at(10), dispatched_at: at(12), on_scene_at: null, resolved_at: null, state: 'open', response_minutes: null });
      w1.push(Date.now());
      conflict(await patch(inc.id, { dispatched_at: at(13) }), '/dispatched_at', 'dispatched twice');
      assert.deepEqual(await getInc(inc.id), r, 'a refused PATCH changes nothing');
      r = checkIncident(h.assertJson(await patch(inc.id, { on_scene_at: at(20) }, tok.welfare_officer), 200),
        { dispatched_at: at(12), on_scene_at: at(20), resolved_at: null, state: 'open', response_minutes: 10 });
      conflict(await patch(inc.id, { on_scene_at: at(21) }), '/on_scene_at', 'on scene twice');
      const w2 = [Date.now()];
      r = checkIncident(h.assertJson(await patch(inc.id, { note: '수위 하강 중' }), 200), { on_scene_at: at(20), resolved_at: null });
      w2.push(Date.now());
      r = checkIncident(h.assertJson(await patch(inc.id, { resolved_at: at(45) }), 200),
        { dispatched_at: at(12), on_scene_at: at(20), resolved_at: at(45), state: 'resolved', response_minutes: 10 });
      conflict(await patch(inc.id, { resolved_at: at(46) }), '/resolved_at', 'resolved twice');
      const got = await getInc(inc.id);
      assert.deepEqual(got, r);
      // the timeline in the order things were recorded: each step at its own time, each note of a
      // PATCH a `note` entry of its own at the time it was recorded; who did each
      assert.deepEqual(timelineRows(got), [
        ['reported', at(10), 'bootstrap (admin)', null],
        ['dispatched', at(12), 'inc-operator (operator)', null],
        ['note', 'anyAt', 'inc-operator (operator)', '구조대 출동'],
        ['on_scene', at(20), 'inc-welfare_officer (welfare_officer)', null],
        ['note', 'anyAt', 'bootstrap (admin)', '수위 하강 중'],
        ['resolved', at(45), 'bootstrap (admin)', null],
      ], `timeline: ${JSON.stringify(got.timeline)}`);
      const notes = got.timeline.filter((e) => e.what === 'note').map((e) => Date.parse(e.at));
      for (const [i, [t0, t1]] of [w1, w2].entries()) {
        assert.ok(notes[i] >= t0 - 1000 && notes[i] <= t1 + 1000, `note ${i} recorded at ${iso(notes[i])}, during its PATCH (${iso(t0)} .. ${iso(t1)})`);
      }
    });

    test('several steps in one PATCH, in order: accepted, one entry each, in order', async () => {
      const inc = await create({ category: 'medical', zone: 'in-a', reported_at: at(100) });
      const r = checkIncident(h.assertJson(await patch(inc.id, { dispatched_at: at(101), on_scene_at: at(108), resolved_at: at(130) }), 200),
        { reported_at: at(100), dispatched_at: at(101), on_scene_at: at(108), resolved_at: at(130), state: 'resolved', response_minutes: 8 });
      assert.deepEqual(r.timeline.map((e) => [e.what, e.at]),
        [['reported', at(100)], ['dispatched', at(101)], ['on_scene', at(108)], ['resolved', at(130)]]);
      assert.deepEqual(await getInc(inc.id), r);
    });

    test('out of order: dispatched before it was reported → 409, nothing changes', async () => {
      const inc = await create({ category: 'fire', zone: 'in-a', reported_at: at(200) });
      conflict(await patch(inc.id, { dispatched_at: at(199) }), '/dispatched_at', 'dispatched_at before reported_at');
      assert.deepEqual(await getInc(inc.id), inc);
    });

    test('out of order: on scene earlier than dispatched → 409, nothing changes', async () => {
      const inc = await create({ category: 'fire', zone: 'in-a', reported_at: at(300) });
      const r = checkIncident(h.assertJson(await patch(inc.id, { dispatched_at: at(305) }), 200), { dispatched_at: at(305), on_scene_at: null });
      conflict(await patch(inc.id, { on_scene_at: at(303) }), '/on_scene_at', 'on_scene_at before dispatched_at');
      conflict(await patch(inc.id, { dispatched_at: at(306), on_scene_at: at(304) }), '/dispatched_at', 'a repeated dispatched_at with an earlier on_scene_at');
      assert.deepEqual(await getInc(inc.id), r);
    });

    test('out of order: on scene before anyone was dispatched → 409, nothing changes', async () => {
      const inc = await create({ category: 'fire', zone: 'in-a', reported_at: at(400) });
      conflict(await patch(inc.id, { on_scene_at: at(410) }), '/on_scene_at', 'on_scene_at with no dispatched_at');
      assert.deepEqual(await getInc(inc.id), inc);
    });

    test('out of order: a dispatch recorded after the arrival, at a later time → 409', async () => {
      const inc = await create({ category: 'fire', zone: 'in-a', reported_at: at(500) });
      const r = checkIncident(h.assertJson(await patch(inc.id, { dispatched_at: at(505), on_scene_at: at(510) }), 200),
        { dispatched_at: at(505), on_scene_at: at(510), response_minutes: 10 });
      conflict(await patch(inc.id, { dispatched_at: at(520) }), '/dispatched_at', 'dispatched_at later than the recorded on_scene_at');
      assert.deepEqual(await getInc(inc.id), r);
    });

    test('out of order: dispatched after it was resolved → 409', async () => {
      const inc = await create({ category: 'fire', zone: 'in-a', reported_at: at(600) });
      const r = checkIncident(h.assertJson(await patch(inc.id, { resolved_at: at(605), note: 'false alarm' }), 200),
        { dispatched_at: null, on_scene_at: null, resolved_at: at(605), state: 'resolved', response_minutes: null });
      assert.deepEqual(r.timeline.map((e) => [e.what, e.at]).slice(0, 1), [['reported', at(600)]]);
      assert.ok(r.timeline.some((e) => e.note === 'false alarm'), `the note is in the timeline: ${JSON.stringify(r.timeline)}`);
      conflict(await patch(inc.id, { dispatched_at: at(610) }), '/dispatched_at', 'dispatched_at after resolved_at (a later time)');
      conflict(await patch(inc.id, { on_scene_at: at(611) }), '/on_scene_at', 'on_scene_at after resolved_at (a later time)');
      assert.deepEqual(await getInc(inc.id), r);
    });

    test('PATCH validation and unknown ids', async () => {
      const inc = await create({ category: 'fire', zone: 'in-a', reported_at: at(700) });
      h.assertInvalid(await patch(inc.id, { dispatched_at: 'soon' }), '/dispatched_at');
      h.assertInvalid(await patch(inc.id, { on_scene_at: 12 }), '/on_scene_at');
      h.assertProblem(await patch(99999999, { note: 'x' }), 404, 'not-found');
      h.assertProblem(await L.api(ctx.d, 'GET', '/api/v1/incidents/99999999'), 404, 'not-found');
      h.assertProblem(await patch(inc.id, { dispatched_at: at(701) }, tok.analyst), 403, 'forbidden');
      assert.deepEqual(await getInc(inc.id), inc, 'nothing changed');
    });
  });

  describe('listing', () => {
    test('state=open|resolved, zone, and paging', async () => {
      const all = await h.listAll(ctx.d, '/api/v1/incidents', T, 1000);
      assert.ok(all.length >= 8, `incidents so far: ${all.length}`);
      for (const i of all) checkIncident(i);
      // newest first (the most recently opened first: ids are given in order)
      assert.deepEqual(all.map((i) => i.id), [...all.map((i) => i.id)].sort((a, b) => b - a), 'newest first');
      for (const i of all) assert.deepEqual(await getInc(i.id), i, `the list item is the incident ${i.id}`);
      const paged = await h.listAll(ctx.d, '/api/v1/incidents', T, 2);
      assert.deepEqual(paged.map((i) => i.id), all.map((i) => i.id), 'paging walks the same list');
      const open = await h.listAll(ctx.d, '/api/v1/incidents?state=open', T);
      const resolved = await h.listAll(ctx.d, '/api/v1/incidents?state=resolved', T);
      assert.ok(open.length > 0 && resolved.length > 0);
      assert.ok(open.every((i) => i.resolved_at === null && i.state === 'open'), 'open: not resolved');
      assert.ok(resolved.every((i) => i.resolved_at !== null && i.state === 'resolved'), 'resolved: resolved_at set');
      assert.deepEqual(open, all.filter((i) => i.resolved_at === null), 'open: the open ones of the whole list, in its order');
      assert.deepEqual(resolved, all.filter((i) => i.resolved_at !== null), 'resolved: the resolved ones of the whole list, in its order');
      assert.deepEqual([...open, ...resolved].map((i) => i.id).sort((a, b) => a - b), all.map((i) => i.id).sort((a, b) => a - b), 'open + resolved = all');
      const inB = await h.listAll(ctx.d, '/api/v1/incidents?zone=in-b', T);
      assert.deepEqual(inB, all.filter((i) => i.zone === 'in-b'), 'zone=in-b: the incidents of in-b, in the order of the whole list');
      assert.deepEqual(inB.map((i) => [i.category, i.reported_at]), [['fire', at(6)], ['welfare_check', at(5)]]);
      const openB = await h.listAll(ctx.d, '/api/v1/incidents?zone=in-b&state=open', T);
      assert.deepEqual(openB, inB);
      assert.deepEqual(await h.listAll(ctx.d, '/api/v1/incidents?zone=in-b&state=resolved', T), []);
      h.assertBadParam(await h.request(ctx.d, 'GET', '/api/v1/incidents?state=closed', { token: T }), 'state');
      const page = h.assertJson(await L.api(ctx.d, 'GET', '/api/v1/incidents?limit=3', undefined, tok.operator), 200);
      assert.deepEqual(page.items, all.slice(0, 3), 'an operator reads the same first page');
      assert.equal(typeof page.next_cursor, 'string');
    });
  });
});
