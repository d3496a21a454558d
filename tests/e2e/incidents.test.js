'use strict';
// Incidents: created from alerts or by hand (reported_at, zone, location), PATCH of dispatched_at,
// on_scene_at, resolved_at once each and in order (out of order → 409/422, twice → 409), notes, the
// timeline (at, what, by, note), list filters (state, zone) and paging, validation, roles.
// Contract: shared/API.md §6; docs/api-notes.md "Live operations" (incidents).

const { describe, test, before } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/harness');
const I = require('./lib/ingest-helpers');
const L = require('./lib/live-helpers');

const { MIN, iso, isoOffset } = I;

const INCIDENT_KEYS = ['id', 'category', 'zone', 'location', 'reported_at', 'dispatched_at', 'on_scene_at', 'resolved_at', 'alerts', 'timeline'];

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
  const refused = (res, what) => {
    assert.ok([409, 422].includes(res.status), `${what}: expected 409 or 422, got ${h.describeRes(res)}`);
    h.assertProblem(res, res.status);
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
      const inc = h.assertJson(res, 201);
      for (const k of INCIDENT_KEYS) assert.ok(k in inc, `field ${k}: ${JSON.stringify(inc)}`);
      assert.equal(res.headers.get('location'), `/api/v1/incidents/${inc.id}`);
      assert.equal(inc.category, 'flood');
      assert.equal(inc.zone, 'in-a');
      assert.deepEqual(inc.location, h.point(127.015, 37.015));
      assert.equal(inc.reported_at, iso(base));
      assert.deepEqual([...inc.alerts].sort((a, b) => a - b), alertIds);
      assert.equal(inc.dispatched_at, null);
      assert.equal(inc.on_scene_at, null);
      assert.equal(inc.resolved_at, null);
      assert.ok(Array.isArray(inc.timeline) && inc.timeline.length >= 1, `timeline: ${JSON.stringify(inc.timeline)}`);
      assert.equal(inc.timeline[0].what, 'reported');
      assert.equal(inc.timeline[0].at, iso(base));
      assert.match(String(inc.timeline[0].by), /inc-operator/);
      assert.deepEqual(h.assertJson(await L.api(ctx.d, 'GET', `/api/v1/incidents/${inc.id}`), 200), inc);
    });

    test('by hand: no alerts, no location', async () => {
      const inc = await create({ category: 'welfare_check', zone: 'in-b', reported_at: at(5) }, tok.welfare_officer);
      assert.deepEqual(inc.alerts, []);
      assert.equal(inc.location, null);
      assert.equal(inc.zone, 'in-b');
      assert.equal(inc.reported_at, at(5));
      assert.match(String(inc.timeline[0].by), /inc-welfare_officer/);
    });

    test('a location and no zone: the zone that contains it', async () => {
      const inc = await create({ category: 'fire', location: h.point(127.105, 37.005), reported_at: at(6) });
      assert.equal(inc.zone, 'in-b');
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
        const one = (await h.listAll(ctx.d, '/api/v1/incidents', T))[0];
        const got = {
          create: (await L.api(ctx.d, 'POST', '/api/v1/incidents', { category: 'x', zone: 'in-a', reported_at: at(0) }, tok[role])).status,
          list: (await L.api(ctx.d, 'GET', '/api/v1/incidents', undefined, tok[role])).status,
          one: (await L.api(ctx.d, 'GET', `/api/v1/incidents/${one.id}`, undefined, tok[role])).status,
          patch: (await patch(one.id, { note: 'x' }, tok[role])).status,
        };
        const read = role === 'analyst' ? 200 : 403;
        assert.deepEqual(got, { create: 403, list: read, one: read, patch: 403 });
      });
    }

    test('roles: no token 401', async () => {
      h.assertProblem(await h.request(ctx.d, 'GET', '/api/v1/incidents'), 401, 'unauthorized');
      h.assertProblem(await h.request(ctx.d, 'POST', '/api/v1/incidents', { body: { category: 'x', zone: 'in-a', reported_at: at(0) } }), 401, 'unauthorized');
    });
  });

  describe('timeline', () => {
    test('dispatched → on scene → resolved, each once, in order; notes; the timeline records who, when, what', async () => {
      const inc = await create({ category: 'flood', zone: 'in-a', reported_at: at(10) });
      let r = h.assertJson(await patch(inc.id, { dispatched_at: isoOffset(base + 12 * MIN, 9 * 60), note: '구조대 출동' }, tok.operator), 200);
      assert.equal(r.dispatched_at, at(12));
      assert.equal(r.resolved_at, null);
      h.assertProblem(await patch(inc.id, { dispatched_at: at(13) }), 409, 'conflict');
      r = h.assertJson(await patch(inc.id, { on_scene_at: at(20) }, tok.welfare_officer), 200);
      assert.equal(r.on_scene_at, at(20));
      h.assertProblem(await patch(inc.id, { on_scene_at: at(21) }), 409, 'conflict');
      r = h.assertJson(await patch(inc.id, { note: '수위 하강 중' }), 200);
      r = h.assertJson(await patch(inc.id, { resolved_at: at(45) }), 200);
      assert.equal(r.resolved_at, at(45));
      h.assertProblem(await patch(inc.id, { resolved_at: at(46) }), 409, 'conflict');
      const got = h.assertJson(await L.api(ctx.d, 'GET', `/api/v1/incidents/${inc.id}`), 200);
      assert.deepEqual(got, r);
      assert.equal(got.dispatched_at, at(12));
      assert.equal(got.on_scene_at, at(20));
      const steps = got.timeline.filter((e) => ['reported', 'dispatched', 'on_scene', 'resolved'].includes(e.what));
      assert.deepEqual(steps.map((e) => [e.what, e.at]), [['reported', at(10)], ['dispatched', at(12)], ['on_scene', at(20)], ['resolved', at(45)]]);
      for (const e of got.timeline) {
        assert.match(e.at, h.TIME_RE, `timeline at: ${JSON.stringify(e)}`);
        assert.equal(typeof e.what, 'string');
        assert.ok('by' in e && 'note' in e, `timeline entry fields: ${JSON.stringify(e)}`);
      }
      assert.match(String(steps[1].by), /inc-operator/);
      assert.match(String(steps[2].by), /inc-welfare_officer/);
      const notes = got.timeline.map((e) => e.note);
      assert.ok(notes.includes('구조대 출동') && notes.includes('수위 하강 중'), `notes in the timeline: ${JSON.stringify(got.timeline)}`);
    });

    test('several steps in one PATCH, in order: accepted', async () => {
      const inc = await create({ category: 'medical', zone: 'in-a', reported_at: at(100) });
      const r = h.assertJson(await patch(inc.id, { dispatched_at: at(101), on_scene_at: at(108), resolved_at: at(130) }), 200);
      assert.deepEqual([r.dispatched_at, r.on_scene_at, r.resolved_at], [at(101), at(108), at(130)]);
    });

    test('out of order: dispatched before it was reported → 409/422, nothing changes', async () => {
      const inc = await create({ category: 'fire', zone: 'in-a', reported_at: at(200) });
      refused(await patch(inc.id, { dispatched_at: at(199) }), 'dispatched_at before reported_at');
      const got = h.assertJson(await L.api(ctx.d, 'GET', `/api/v1/incidents/${inc.id}`), 200);
      assert.deepEqual(got, inc);
    });

    test('out of order: on scene earlier than dispatched → 409/422', async () => {
      const inc = await create({ category: 'fire', zone: 'in-a', reported_at: at(300) });
      h.assertStatus(await patch(inc.id, { dispatched_at: at(305) }), 200);
      refused(await patch(inc.id, { on_scene_at: at(303) }), 'on_scene_at before dispatched_at');
      refused(await patch(inc.id, { dispatched_at: at(306), on_scene_at: at(304) }), 'a repeated dispatched_at with an earlier on_scene_at');
    });

    test('out of order: on scene before anyone was dispatched → 409/422', async () => {
      const inc = await create({ category: 'fire', zone: 'in-a', reported_at: at(400) });
      refused(await patch(inc.id, { on_scene_at: at(410) }), 'on_scene_at with no dispatched_at');
      const got = h.assertJson(await L.api(ctx.d, 'GET', `/api/v1/incidents/${inc.id}`), 200);
      assert.equal(got.on_scene_at, null);
    });

    test('out of order: a dispatch recorded after the arrival, at a later time → 409/422', async () => {
      const inc = await create({ category: 'fire', zone: 'in-a', reported_at: at(500) });
      const first = await patch(inc.id, { on_scene_at: at(510) });
      if (first.status !== 200) { refused(first, 'on_scene_at first'); return; } // refused already: the previous test covers it
      refused(await patch(inc.id, { dispatched_at: at(520) }), 'dispatched_at later than the recorded on_scene_at');
    });

    test('out of order: dispatched after it was resolved → 409/422', async () => {
      const inc = await create({ category: 'fire', zone: 'in-a', reported_at: at(600) });
      h.assertStatus(await patch(inc.id, { resolved_at: at(605), note: 'false alarm' }), 200);
      refused(await patch(inc.id, { dispatched_at: at(610) }), 'dispatched_at after resolved_at (a later time)');
      refused(await patch(inc.id, { on_scene_at: at(611) }), 'on_scene_at after resolved_at (a later time)');
    });

    test('PATCH validation and unknown ids', async () => {
      const inc = await create({ category: 'fire', zone: 'in-a', reported_at: at(700) });
      h.assertInvalid(await patch(inc.id, { dispatched_at: 'soon' }), '/dispatched_at');
      h.assertInvalid(await patch(inc.id, { on_scene_at: 12 }), '/on_scene_at');
      h.assertProblem(await patch(99999999, { note: 'x' }), 404, 'not-found');
      h.assertProblem(await L.api(ctx.d, 'GET', '/api/v1/incidents/99999999'), 404, 'not-found');
      h.assertProblem(await patch(inc.id, { dispatched_at: at(701) }, tok.analyst), 403, 'forbidden');
    });
  });

  describe('listing', () => {
    test('state=open|resolved, zone, and paging', async () => {
      const all = await h.listAll(ctx.d, '/api/v1/incidents', T, 1000);
      assert.ok(all.length >= 8, `incidents so far: ${all.length}`);
      const paged = await h.listAll(ctx.d, '/api/v1/incidents', T, 2);
      assert.deepEqual(paged.map((i) => i.id), all.map((i) => i.id), 'paging walks the same list');
      const open = await h.listAll(ctx.d, '/api/v1/incidents?state=open', T);
      const resolved = await h.listAll(ctx.d, '/api/v1/incidents?state=resolved', T);
      assert.ok(open.length > 0 && resolved.length > 0);
      assert.ok(open.every((i) => i.resolved_at === null), 'open: not resolved');
      assert.ok(resolved.every((i) => i.resolved_at !== null), 'resolved: resolved_at set');
      assert.deepEqual([...open, ...resolved].map((i) => i.id).sort((a, b) => a - b), all.map((i) => i.id).sort((a, b) => a - b), 'open + resolved = all');
      const inB = await h.listAll(ctx.d, '/api/v1/incidents?zone=in-b', T);
      assert.deepEqual(inB.map((i) => i.category).sort(), ['fire', 'welfare_check']);
      const openB = await h.listAll(ctx.d, '/api/v1/incidents?zone=in-b&state=open', T);
      assert.equal(openB.length, 2);
      assert.deepEqual(await h.listAll(ctx.d, '/api/v1/incidents?zone=in-b&state=resolved', T), []);
      h.assertBadParam(await h.request(ctx.d, 'GET', '/api/v1/incidents?state=closed', { token: T }), 'state');
      h.assertStatus(await L.api(ctx.d, 'GET', '/api/v1/incidents', undefined, tok.operator), 200);
    });
  });
});
