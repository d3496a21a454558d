'use strict';
// Registry: facilities — create, zone derivation, category/zone filters, PUT/PATCH/DELETE, zone references.
// Contract: API.md §4; docs/api-notes.md "Shapes".

const { describe, test, before } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/harness');

const ids = (items) => items.map((x) => x.id);

describe('facilities', () => {
  const ctx = h.useDaemon('facilities');
  let T;
  const post = (body) => h.request(ctx.d, 'POST', '/api/v1/facilities', { token: T, body });
  const get = (id) => h.request(ctx.d, 'GET', `/api/v1/facilities/${encodeURIComponent(id)}`, { token: T });
  const list = async (q) => h.assertJson(await h.request(ctx.d, 'GET', `/api/v1/facilities${q}`, { token: T }), 200);

  before(async () => {
    T = ctx.d.bootstrapToken;
    for (const z of [
      h.zoneBody('downtown', { boundary: h.polygon(128.58, 38.19, 0.03) }),
      h.zoneBody('seorak', { boundary: h.polygon(128.40, 38.10, 0.05) }),
    ]) {
      h.assertStatus(await h.request(ctx.d, 'POST', '/api/v1/zones', { token: T, body: z }), 201, `zone ${z.id}`);
    }
  });

  test('POST → 201 with Location; zone derived from the location', async () => {
    const body = h.facilityBody('clinic-1', { name: { ko: '속초의료원', en: 'Sokcho Medical Center' }, location: h.point(128.59, 38.20), attributes: { beds: 180 } });
    const res = await post(body);
    const b = h.assertJson(res, 201);
    assert.match(res.headers.get('location') || '', /\/api\/v1\/facilities\/clinic-1$/, 'Location header');
    for (const k of ['id', 'category', 'name', 'location', 'zone', 'attributes', 'created_at', 'updated_at']) {
      assert.ok(k in b, `facility has ${k}: ${res.text}`);
    }
    assert.equal(b.category, 'clinic');
    assert.deepEqual(b.name, body.name);
    assert.deepEqual(b.location, body.location);
    assert.equal(b.zone, 'downtown');
    assert.deepEqual(b.attributes, { beds: 180 });
    h.assertTimes(b);
    assert.deepEqual(h.assertJson(await get('clinic-1'), 200), b);
  });

  test('more facilities: derived, explicit and no zone; any well-formed category', async () => {
    const mk = async (id, extra) => h.assertJson(await post(h.facilityBody(id, extra)), 201);
    assert.equal((await mk('clinic-2', { location: h.point(128.42, 38.12) })).zone, 'seorak');
    assert.equal((await mk('bus-1', { category: 'bus_stop', location: h.point(128.60, 38.21) })).zone, 'downtown');
    assert.equal((await mk('bus-2', { category: 'bus_stop', location: h.point(128.60, 38.21), zone: 'seorak' })).zone, 'seorak');
    assert.equal((await mk('grocery-1', { category: 'grocery', location: h.point(127.0, 37.0) })).zone, null);
    assert.equal((await mk('shelter-1', { category: 'shelter', location: h.point(128.43, 38.13) })).zone, 'seorak');
    assert.equal((await mk('library-1', { category: 'public_library2', location: h.point(128.59, 38.20) })).category, 'public_library2');
  });

  test('category filter', async () => {
    assert.deepEqual(ids((await list('?category=clinic')).items), ['clinic-1', 'clinic-2']);
    assert.deepEqual(ids((await list('?category=bus_stop')).items), ['bus-1', 'bus-2']);
    assert.deepEqual((await list('?category=school')).items, []);
  });

  test('zone filter', async () => {
    assert.deepEqual(ids((await list('?zone=downtown')).items), ['bus-1', 'clinic-1', 'library-1']);
    assert.deepEqual(ids((await list('?zone=seorak')).items), ['bus-2', 'clinic-2', 'shelter-1']);
  });

  test('category and zone combine', async () => {
    assert.deepEqual(ids((await list('?category=clinic&zone=seorak')).items), ['clinic-2']);
    assert.deepEqual(ids((await list('?category=grocery&zone=downtown')).items), []);
  });

  test('unfiltered list: all, ordered by id, list shape', async () => {
    const b = await list('');
    assert.deepEqual(ids(b.items), ['bus-1', 'bus-2', 'clinic-1', 'clinic-2', 'grocery-1', 'library-1', 'shelter-1']);
    assert.equal(b.next_cursor, null);
    for (const f of b.items) h.assertTimes(f);
  });

  test('duplicate id → 409', async () => {
    h.assertProblem(await post(h.facilityBody('clinic-1')), 409, 'conflict');
  });

  describe('validation → 422', () => {
    const cases = [
      ['category with capitals', { category: 'Clinic' }, '/category'],
      ['category with a dash', { category: 'bus-stop' }, '/category'],
      ['category missing', { category: undefined }, '/category'],
      ['location missing', { location: undefined }, '/location'],
      ['location out of range', { location: h.point(128.5, 100) }, '/location*'],
      ['zone that does not exist', { zone: 'atlantis' }, '/zone'],
      ['name with neither ko nor en', { name: {} }, '/name*'],
      ['id invalid', { id: 'a b' }, '/id'],
    ];
    let n = 0;
    for (const [label, change, pointer] of cases) {
      test(`${label} → ${pointer}`, async () => {
        const body = h.facilityBody(`badf-${++n}`);
        for (const [k, v] of Object.entries(change)) {
          if (v === undefined) delete body[k];
          else body[k] = v;
        }
        h.assertInvalid(await post(body), pointer);
      });
    }
  });

  test('PUT replaces → 200; a moved location re-derives the zone', async () => {
    const before = h.assertJson(await get('clinic-2'), 200);
    await new Promise((r) => setTimeout(r, 5)); // deliberate: times have millisecond resolution, so updated_at must be able to move
    const body = h.facilityBody('clinic-2', { category: 'care_center', name: { ko: '노인복지관' }, location: h.point(128.59, 38.20) });
    const b = h.assertJson(await h.request(ctx.d, 'PUT', '/api/v1/facilities/clinic-2', { token: T, body }), 200);
    assert.equal(b.category, 'care_center');
    assert.deepEqual(b.name, { ko: '노인복지관' });
    assert.equal(b.zone, 'downtown');
    assert.equal(b.created_at, before.created_at);
    assert.ok(Date.parse(b.updated_at) > Date.parse(before.updated_at), 'updated_at moved');
    assert.deepEqual(ids((await list('?category=care_center')).items), ['clinic-2']);
    h.assertProblem(await h.request(ctx.d, 'PUT', '/api/v1/facilities/ghost', { token: T, body: h.facilityBody('ghost') }), 404, 'not-found');
    h.assertInvalid(await h.request(ctx.d, 'PUT', '/api/v1/facilities/clinic-2', { token: T, body: h.facilityBody('other') }), '/id');
  });

  test('PATCH merges → 200; a new location without zone re-derives it', async () => {
    const b = h.assertJson(await h.request(ctx.d, 'PATCH', '/api/v1/facilities/clinic-1', {
      token: T, body: { location: h.point(128.41, 38.11), attributes: { beds: null, ward: 'A' } },
    }), 200);
    assert.equal(b.zone, 'seorak');
    assert.deepEqual(b.attributes, { ward: 'A' });
    assert.equal(b.category, 'clinic');
    assert.deepEqual(b.name, { ko: '속초의료원', en: 'Sokcho Medical Center' });
    h.assertProblem(await h.request(ctx.d, 'PATCH', '/api/v1/facilities/ghost', { token: T, body: { category: 'school' } }), 404, 'not-found');
    h.assertInvalid(await h.request(ctx.d, 'PATCH', '/api/v1/facilities/clinic-1', { token: T, body: { category: 'No!' } }), '/category');
  });

  test('deleting a zone that facilities still reference → 409; DELETE facility → 204 then 404', async () => {
    h.assertProblem(await h.request(ctx.d, 'DELETE', '/api/v1/zones/downtown', { token: T }), 409, 'conflict');
    for (const id of ['bus-1', 'clinic-2', 'library-1']) {
      h.assertStatus(await h.request(ctx.d, 'DELETE', `/api/v1/facilities/${id}`, { token: T }), 204, `delete ${id}`);
      h.assertProblem(await get(id), 404, 'not-found');
    }
    h.assertProblem(await h.request(ctx.d, 'DELETE', '/api/v1/facilities/bus-1', { token: T }), 404, 'not-found');
    assert.deepEqual((await list('?zone=downtown')).items, []);
    h.assertStatus(await h.request(ctx.d, 'DELETE', '/api/v1/zones/downtown', { token: T }), 204, 'zone deletable once unreferenced');
  });
});
