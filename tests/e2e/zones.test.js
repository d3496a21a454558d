'use strict';
// Registry: zones CRUD, geometry validation, area, UTF-8 round trips.
// Contract: API.md §3-4; docs/api-notes.md "Shapes" and "Errors".

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/harness');

// Area of a lon/lat rectangle on the authalic sphere, km².
function rectAreaKm2(lon0, lat0, dLon, dLat) {
  const R = 6371.0072;
  const rad = Math.PI / 180;
  return R * R * Math.abs(Math.sin((lat0 + dLat) * rad) - Math.sin(lat0 * rad)) * dLon * rad;
}

function assertClose(actual, expected, relTol, what) {
  assert.equal(typeof actual, 'number', `${what} is a number: ${actual}`);
  assert.ok(Math.abs(actual - expected) <= expected * relTol, `${what}: ${actual} ≈ ${expected} (±${relTol * 100}%)`);
}

function assertSameGeometry(got, want) {
  assert.equal(got.type, want.type, 'geometry type');
  const flat = (c) => (Array.isArray(c) ? c.flatMap(flat) : [c]);
  const g = flat(got.coordinates);
  const w = flat(want.coordinates);
  assert.equal(g.length, w.length, `same number of coordinates: ${JSON.stringify(got.coordinates)}`);
  g.forEach((v, i) => assert.ok(Math.abs(v - w[i]) < 1e-9, `coordinate ${i}: ${v} vs ${w[i]}`));
}

describe('zones', () => {
  const ctx = h.useDaemon('zones');
  let T;
  let created;
  const post = (body) => h.request(ctx.d, 'POST', '/api/v1/zones', { token: T, body });
  const get = (id) => h.request(ctx.d, 'GET', `/api/v1/zones/${encodeURIComponent(id)}`, { token: T });
  before(() => { T = ctx.d.bootstrapToken; });

  const downtown = {
    id: 'downtown',
    name: { ko: '설악동', en: 'Seorak-dong' },
    boundary: h.polygon(128.58, 38.19, 0.03),
    population: 12000,
    households: 5400,
    attributes: { district: 'north', tags: ['coast', 'port'] },
  };

  test('POST a Polygon zone → 201 with Location and the stored object', async () => {
    const res = await post(downtown);
    const b = h.assertJson(res, 201);
    const loc = res.headers.get('location');
    assert.ok(loc, 'Location header');
    assert.match(loc, /\/api\/v1\/zones\/downtown$/, `Location points at the zone: ${loc}`);
    for (const k of ['id', 'name', 'boundary', 'population', 'households', 'attributes', 'area_km2', 'created_at', 'updated_at']) {
      assert.ok(k in b, `zone has ${k}: ${res.text}`);
    }
    assert.equal(b.id, 'downtown');
    assert.deepEqual(b.name, downtown.name);
    assertSameGeometry(b.boundary, downtown.boundary);
    assert.equal(b.population, 12000);
    assert.equal(b.households, 5400);
    assert.deepEqual(b.attributes, downtown.attributes);
    assertClose(b.area_km2, rectAreaKm2(128.58, 38.19, 0.03, 0.03), 0.02, 'area_km2 of a 0.03° square at 38.2°N');
    h.assertTimes(b);
    assert.equal(b.created_at, b.updated_at, 'created_at = updated_at on create');
    const age = Date.now() - Date.parse(b.created_at);
    assert.ok(age > -5000 && age < 60000, `created_at is now-ish: ${b.created_at}`);
    created = b;
  });

  test('GET /api/v1/zones/{id} returns the same object', async () => {
    const b = h.assertJson(await get('downtown'), 200);
    assert.deepEqual(b, created);
  });

  test('GET /api/v1/zones lists it, in the list shape', async () => {
    const b = h.assertJson(await h.request(ctx.d, 'GET', '/api/v1/zones', { token: T }), 200);
    assert.ok(Array.isArray(b.items), 'items[]');
    assert.equal(b.next_cursor, null, 'next_cursor null on the only page');
    const z = b.items.find((x) => x.id === 'downtown');
    assert.ok(z, 'downtown listed');
    assert.deepEqual(z, created, 'list item equals the stored object');
  });

  test('POST a MultiPolygon zone; area_km2 is the sum of its parts', async () => {
    const body = {
      id: 'islands',
      name: { en: 'Islands' },
      boundary: {
        type: 'MultiPolygon',
        coordinates: [[h.squareRing(128.30, 38.00, 0.02)], [h.squareRing(128.35, 38.05, 0.01)]],
      },
      population: 30,
    };
    const b = h.assertJson(await post(body), 201);
    assertSameGeometry(b.boundary, body.boundary);
    const want = rectAreaKm2(128.30, 38.00, 0.02, 0.02) + rectAreaKm2(128.35, 38.05, 0.01, 0.01);
    assertClose(b.area_km2, want, 0.02, 'MultiPolygon area_km2');
    assert.deepEqual(b.name.en, 'Islands');
    assert.equal(b.households, 0, 'households defaults to 0');
    assert.deepEqual(b.attributes, {}, 'attributes defaults to {}');
  });

  test('a Polygon with a hole: the hole is not part of the area', async () => {
    const body = {
      id: 'donut',
      name: { ko: '도넛' },
      boundary: { type: 'Polygon', coordinates: [h.squareRing(128.70, 38.30, 0.04), h.squareRing(128.71, 38.31, 0.02).reverse()] },
    };
    const b = h.assertJson(await post(body), 201);
    const want = rectAreaKm2(128.70, 38.30, 0.04, 0.04) - rectAreaKm2(128.71, 38.31, 0.02, 0.02);
    assertClose(b.area_km2, want, 0.02, 'area_km2 minus the hole');
    assert.equal(b.population, 0, 'population defaults to 0');
  });

  test('duplicate id → 409 conflict, original unchanged', async () => {
    h.assertProblem(await post({ ...downtown, population: 1 }), 409, 'conflict');
    assert.equal(h.assertJson(await get('downtown'), 200).population, 12000);
  });

  test('PUT replaces → 200 with the stored object; updated_at moves, created_at stays; area recomputed', async () => {
    const body = { ...downtown, population: 13000, name: { ko: '설악동', en: 'Seorak' }, boundary: h.polygon(128.58, 38.19, 0.06) };
    delete body.households; // replace: omitted fields go back to defaults
    await new Promise((r) => setTimeout(r, 5)); // deliberate: times have millisecond resolution, so updated_at must be able to move
    const b = h.assertJson(await h.request(ctx.d, 'PUT', '/api/v1/zones/downtown', { token: T, body }), 200);
    assert.equal(b.population, 13000);
    assert.equal(b.households, 0, 'PUT is a replace: households back to its default');
    assert.equal(b.name.en, 'Seorak');
    assert.equal(b.created_at, created.created_at, 'created_at unchanged');
    h.assertTimes(b);
    assert.ok(Date.parse(b.updated_at) > Date.parse(created.updated_at), `updated_at moved: ${created.updated_at} → ${b.updated_at}`);
    assertClose(b.area_km2, rectAreaKm2(128.58, 38.19, 0.06, 0.06), 0.02, 'area_km2 after PUT');
    assert.deepEqual(h.assertJson(await get('downtown'), 200), b, 'GET returns the replaced object');
  });

  test('PUT without an id in the body uses the path id', async () => {
    const body = { ...downtown };
    delete body.id;
    const b = h.assertJson(await h.request(ctx.d, 'PUT', '/api/v1/zones/downtown', { token: T, body }), 200);
    assert.equal(b.id, 'downtown');
  });

  test('PUT with a body id that differs from the path → 422', async () => {
    const res = await h.request(ctx.d, 'PUT', '/api/v1/zones/downtown', { token: T, body: { ...downtown, id: 'other' } });
    h.assertInvalid(res, '/id');
    h.assertProblem(await get('other'), 404, 'not-found');
  });

  test('PUT of an unknown id → 404 (no upsert)', async () => {
    const res = await h.request(ctx.d, 'PUT', '/api/v1/zones/ghost', { token: T, body: { ...downtown, id: 'ghost' } });
    h.assertProblem(res, 404, 'not-found');
    h.assertProblem(await get('ghost'), 404, 'not-found');
  });

  test('PUT with an invalid body → 422 and nothing changes', async () => {
    const res = await h.request(ctx.d, 'PUT', '/api/v1/zones/downtown', { token: T, body: { ...downtown, population: -1 } });
    h.assertInvalid(res, '/population');
    assert.equal(h.assertJson(await get('downtown'), 200).population, 12000);
  });

  test('DELETE → 204; then GET and DELETE → 404', async () => {
    h.assertJson(await post(h.zoneBody('doomed')), 201);
    const del = await h.request(ctx.d, 'DELETE', '/api/v1/zones/doomed', { token: T });
    h.assertStatus(del, 204);
    assert.equal(del.text, '');
    h.assertProblem(await get('doomed'), 404, 'not-found');
    h.assertProblem(await h.request(ctx.d, 'DELETE', '/api/v1/zones/doomed', { token: T }), 404, 'not-found');
    const list = h.assertJson(await h.request(ctx.d, 'GET', '/api/v1/zones', { token: T }), 200);
    assert.ok(!list.items.some((z) => z.id === 'doomed'), 'not listed after delete');
  });

  test('ids: valid edge cases are accepted', async () => {
    for (const id of ['a', 'A.b_c:d-e', '0zone', 'z'.repeat(128)]) {
      const res = await post(h.zoneBody(id));
      h.assertJson(res, 201);
      assert.equal(res.json.id, id);
      h.assertJson(await get(id), 200);
    }
  });

  describe('validation → 422 with errors[].pointer', () => {
    const ring = h.squareRing(128.50, 38.10, 0.02);
    const withRing = (r) => ({ type: 'Polygon', coordinates: [r] });
    const cases = [
      ['longitude outside [-180,180]', { boundary: withRing(ring.map((p, i) => (i === 2 ? [200, p[1]] : p))) }, '/boundary/coordinates/0/2*'],
      ['latitude outside [-90,90]', { boundary: withRing(ring.map((p, i) => (i === 1 ? [p[0], 95] : p))) }, '/boundary/coordinates/0/1*'],
      ['longitude -180.5 on the first (and closing) position', { boundary: withRing([[-180.5, 38], [128, 38], [128, 39], [-180.5, 38]]) }, '/boundary/coordinates/0*'],
      ['unclosed ring', { boundary: withRing(ring.slice(0, 4)) }, '/boundary/coordinates/0*'],
      ['ring with 3 positions', { boundary: withRing([ring[0], ring[1], ring[0]]) }, '/boundary/coordinates/0*'],
      ['unclosed hole', { boundary: { type: 'Polygon', coordinates: [ring, h.squareRing(128.505, 38.105, 0.005).slice(0, 4)] } }, '/boundary/coordinates/1*'],
      ['bad position in the 2nd polygon of a MultiPolygon', {
        boundary: { type: 'MultiPolygon', coordinates: [[ring], [h.squareRing(128.6, 38.1, 0.01).map((p, i) => (i === 3 ? [p[0], -91] : p))]] },
      }, '/boundary/coordinates/1/0/3*'],
      ['position with a string', { boundary: withRing(ring.map((p, i) => (i === 1 ? ['128.52', p[1]] : p))) }, '/boundary/coordinates/0/1*'],
      ['position with one number', { boundary: withRing(ring.map((p, i) => (i === 1 ? [128.52] : p))) }, '/boundary/coordinates/0/1*'],
      ['Polygon with no rings', { boundary: { type: 'Polygon', coordinates: [] } }, '/boundary/coordinates*'],
      ['boundary a Point', { boundary: h.point(128.5, 38.1) }, '/boundary*'],
      ['boundary an unknown type', { boundary: { type: 'Circle', coordinates: [128.5, 38.1] } }, '/boundary*'],
      ['boundary missing', { boundary: undefined }, '/boundary'],
      ['boundary coordinates not an array', { boundary: { type: 'Polygon', coordinates: 'abc' } }, '/boundary/coordinates*'],
      ['population as a string', { population: '12000' }, '/population'],
      ['population negative', { population: -1 }, '/population'],
      ['population fractional', { population: 1.5 }, '/population'],
      ['households negative', { households: -3 }, '/households'],
      ['name missing', { name: undefined }, '/name'],
      ['name with neither ko nor en', { name: {} }, '/name*'],
      ['name.ko not a string', { name: { ko: 123 } }, '/name/ko'],
      ['attributes not an object', { attributes: [1, 2] }, '/attributes'],
      ['id missing', { id: undefined }, '/id'],
      ['id starting with "-"', { id: '-bad' }, '/id'],
      ['id with a space', { id: 'bad id' }, '/id'],
      ['id of 129 characters', { id: 'z'.repeat(129) }, '/id'],
      ['id not a string', { id: 42 }, '/id'],
    ];
    let n = 0;
    for (const [label, patch, pointer] of cases) {
      test(`${label} → ${pointer}`, async () => {
        const body = h.zoneBody(`v-${++n}`);
        for (const [k, v] of Object.entries(patch)) {
          if (v === undefined) delete body[k];
          else body[k] = v;
        }
        const res = await post(body);
        h.assertInvalid(res, pointer);
        if (typeof body.id === 'string' && /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/.test(body.id)) {
          h.assertProblem(await get(body.id), 404, 'not-found');
        }
      });
    }
  });

  describe('robustness', () => {
    test('population beyond 64 bits → 422 /population', async () => {
      h.assertInvalid(await post(h.zoneBody('huge-pop', { population: 1e20 })), '/population');
    });

    test('population above 2^31 is stored exactly or refused with 422, never a 5xx', async () => {
      const res = await post(h.zoneBody('big-pop', { population: 3000000000 }));
      if (res.status === 201) {
        assert.equal(res.json.population, 3000000000);
        assert.equal(h.assertJson(await get('big-pop'), 200).population, 3000000000);
      } else {
        h.assertInvalid(res, '/population');
      }
    });

    test('a NUL character in a name is stored exactly or refused with 422, never a 5xx', async () => {
      const res = await post(h.zoneBody('nul-name', { name: { ko: 'a\u0000b', en: 'x' } }));
      if (res.status === 201) {
        assert.equal(res.json.name.ko, 'a\u0000b');
        assert.equal(h.assertJson(await get('nul-name'), 200).name.ko, 'a\u0000b');
      } else {
        h.assertInvalid(res, '/name/ko');
      }
    });

    test('a lone UTF-16 surrogate escape (\\ud800) → 400 or 422, never a 5xx', async () => {
      const raw = '{"id":"surrogate","name":{"ko":"\\ud800"},"boundary":' + JSON.stringify(h.polygon(128.5, 38.1, 0.01)) + '}';
      const res = await h.request(ctx.d, 'POST', '/api/v1/zones', { token: T, rawBody: raw, headers: { 'content-type': 'application/json' } });
      assert.ok([400, 422].includes(res.status), `got ${h.describeRes(res)}`);
      h.assertProblem(res, res.status);
    });

    test('a large boundary (20000-position ring, ~0.5 MB) is accepted under the default 8 MiB limit', async () => {
      const n = 20000;
      const ring = [];
      for (let i = 0; i < n; i++) {
        const a = (2 * Math.PI * i) / n;
        ring.push([+(128.9 + 0.05 * Math.cos(a)).toFixed(7), +(38.5 + 0.05 * Math.sin(a)).toFixed(7)]);
      }
      ring.push(ring[0]);
      const t0 = Date.now();
      const res = await post(h.zoneBody('big-ring', { boundary: { type: 'Polygon', coordinates: [ring] } }));
      const b = h.assertJson(res, 201);
      assert.ok(Date.now() - t0 < 15000, `took ${Date.now() - t0} ms`);
      // a circle of radius 0.05° lat (5.56 km) squashed by cos(38.5°) in longitude
      const R = 6371.0072;
      const want = Math.PI * (0.05 * Math.PI / 180 * R) ** 2 * Math.cos(38.5 * Math.PI / 180);
      assertClose(b.area_km2, want, 0.02, 'area of the big ring');
      h.assertStatus(await h.request(ctx.d, 'DELETE', '/api/v1/zones/big-ring', { token: T }), 204);
    });

    test('a 9 MiB body → 413 with the default 8 MiB limit', async () => {
      const big = h.zoneBody('nine-mib', { attributes: { pad: 'x'.repeat(9 * 1024 * 1024) } });
      h.assertProblem(await post(big), 413, 'payload-too-large');
      h.assertProblem(await get('nine-mib'), 404, 'not-found');
    });

    test('geometrically odd polygons (bow-tie, zero area, hole outside the shell) → 201 or 422, never 5xx; later lookups still work', async () => {
      const odd = {
        'odd-bowtie': { type: 'Polygon', coordinates: [[[129.0, 37.0], [129.02, 37.02], [129.02, 37.0], [129.0, 37.02], [129.0, 37.0]]] },
        'odd-flat': { type: 'Polygon', coordinates: [[[129.1, 37.0], [129.11, 37.0], [129.12, 37.0], [129.1, 37.0]]] },
        'odd-hole': { type: 'Polygon', coordinates: [h.squareRing(129.2, 37.0, 0.01), h.squareRing(129.3, 37.0, 0.01)] },
        'odd-dupes': { type: 'Polygon', coordinates: [[[129.4, 37.0], [129.4, 37.0], [129.41, 37.0], [129.41, 37.01], [129.4, 37.01], [129.4, 37.0]]] },
      };
      for (const [id, boundary] of Object.entries(odd)) {
        const res = await post(h.zoneBody(id, { boundary }));
        assert.ok(res.status === 201 || res.status === 422, `${id}: got ${h.describeRes(res)}`);
        if (res.status === 422) h.assertInvalid(res, '/boundary*');
        else assert.ok(Number.isFinite(res.json.area_km2) && res.json.area_km2 >= 0, `${id}: area_km2 ${res.json.area_km2}`);
      }
      // zone derivation for points in and around them must not fail
      for (const [lon, lat] of [[129.01, 37.005], [129.11, 37.0], [129.205, 37.005], [129.305, 37.005], [129.405, 37.005]]) {
        const res = await h.request(ctx.d, 'POST', '/api/v1/sensors', { token: T, body: h.sensorBody(`odd-s-${lon}`, { location: h.point(lon, lat) }) });
        h.assertJson(res, 201);
        const f = await h.request(ctx.d, 'POST', '/api/v1/facilities', { token: T, body: h.facilityBody(`odd-f-${lon}`, { location: h.point(lon, lat) }) });
        h.assertJson(f, 201);
      }
      h.assertJson(await h.request(ctx.d, 'GET', '/api/v1/sensors?near=129.01,37.005,50000', { token: T }), 200);
    });

    test('20 concurrent creates of the same id: exactly one 201, the rest 409', async () => {
      const all = await Promise.all(Array.from({ length: 20 }, () => post(h.zoneBody('race'))));
      const statuses = all.map((r) => r.status).sort();
      assert.equal(statuses.filter((x) => x === 201).length, 1, `one 201: ${statuses}`);
      for (const r of all) if (r.status !== 201) h.assertProblem(r, 409, 'conflict');
    });

    test('50 concurrent creates of different ids all succeed', async () => {
      const all = await Promise.all(Array.from({ length: 50 }, (_, i) => post(h.zoneBody(`par-${i}`))));
      for (const r of all) h.assertJson(r, 201);
      const list = await h.listAll(ctx.d, '/api/v1/zones', T);
      assert.equal(list.filter((z) => z.id.startsWith('par-')).length, 50);
      await Promise.all(Array.from({ length: 50 }, async (_, i) => {
        h.assertStatus(await h.request(ctx.d, 'DELETE', `/api/v1/zones/par-${i}`, { token: T }), 204);
      }));
    });
  });

  describe('JSON and UTF-8', () => {
    test('Korean and other non-ASCII names round-trip exactly (POST, GET, list)', async () => {
      const name = {
        ko: '속초시 청초호 🌊 — “따옴표” \\ / \t 탭',
        en: 'Cheongcho Lake — naïve café ① 𝄞',
      };
      const nfd = '한글'.normalize('NFD');
      const body = h.zoneBody('utf8-zone', { name, attributes: { 별칭: nfd, nested: { a: [1, 2.5, true, null, '가'] } } });
      const res = await post(body);
      const b = h.assertJson(res, 201);
      assert.deepEqual(b.name, name, 'POST response');
      assert.equal(b.attributes['별칭'], nfd, 'NFD text is not normalized');
      assert.deepEqual(b.attributes.nested, body.attributes.nested, 'nested attributes round-trip');
      const g = await get('utf8-zone');
      assert.match(g.contentType, h.JSON_CT_RE);
      assert.deepEqual(g.json.name, name, 'GET response');
      assert.equal(g.json.attributes['별칭'], nfd);
      // the bytes really are UTF-8
      assert.equal(Buffer.from(g.text, 'utf8').equals(g.bytes), true, 'body is valid UTF-8');
      const list = await h.listAll(ctx.d, '/api/v1/zones', T);
      assert.deepEqual(list.find((z) => z.id === 'utf8-zone').name, name, 'list response');
    });

    test('every JSON response is application/json (UTF-8) and every error application/problem+json', async () => {
      for (const [m, p, ct] of [
        ['GET', '/api/v1/zones', h.JSON_CT_RE],
        ['GET', '/api/v1/zones/downtown', h.JSON_CT_RE],
        ['GET', '/api/v1/zones/nope', h.PROBLEM_CT_RE],
        ['DELETE', '/api/v1/zones', h.PROBLEM_CT_RE],
      ]) {
        const res = await h.request(ctx.d, m, p, { token: T });
        assert.match(res.contentType, ct, `${m} ${p}: ${res.contentType}`);
        assert.ok(!/charset=(?!utf-8)/i.test(res.contentType), 'no charset other than utf-8');
      }
    });

    test('times in every zone are RFC 3339 UTC with milliseconds', async () => {
      const all = await h.listAll(ctx.d, '/api/v1/zones', T);
      assert.ok(all.length >= 5);
      for (const z of all) h.assertTimes(z);
    });
  });
});

// Each case gets a daemon of its own, so that a crash does not take other tests down with it.
describe('hostile JSON bodies do not crash the daemon', () => {
  let db;
  before(async () => {
    db = h.createDatabase('hostile');
    const d = await h.startDaemon({ db });
    try {
      h.assertStatus(await h.request(d, 'POST', '/api/v1/zones', { token: d.bootstrapToken, body: h.zoneBody('hz') }), 201);
      h.assertStatus(await h.request(d, 'POST', '/api/v1/sensors', { token: d.bootstrapToken, body: h.sensorBody('hs', { zone: 'hz' }) }), 201);
    } finally {
      await d.stop();
    }
  });
  after(() => h.dropDatabase(db));

  const nestedArrays = (n) => '['.repeat(n) + ']'.repeat(n);
  const nestedObjects = (n) => '{"a":'.repeat(n) + '1' + '}'.repeat(n);
  const boundary = JSON.stringify(h.polygon(128.5, 38.1, 0.01));
  const cases = [
    ['POST zone, attributes = 100000 nested arrays', 'POST', '/api/v1/zones',
      `{"id":"deep1","name":{"en":"d"},"boundary":${boundary},"attributes":{"x":${nestedArrays(100000)}}}`],
    ['POST zone, attributes = 100000 nested objects', 'POST', '/api/v1/zones',
      `{"id":"deep2","name":{"en":"d"},"boundary":${boundary},"attributes":${nestedObjects(100000)}}`],
    ['POST zone, name.ko = 100000 nested arrays', 'POST', '/api/v1/zones',
      `{"id":"deep3","name":{"ko":${nestedArrays(100000)}},"boundary":${boundary}}`],
    ['POST zone, boundary.coordinates = 100000 nested arrays', 'POST', '/api/v1/zones',
      `{"id":"deep4","name":{"en":"d"},"boundary":{"type":"Polygon","coordinates":${nestedArrays(100000)}}}`],
    ['PATCH sensor, attributes = 100000 nested objects (merge patch)', 'PATCH', '/api/v1/sensors/hs',
      `{"attributes":${nestedObjects(100000)}}`],
    ['POST sensor, metrics = 100000 nested arrays', 'POST', '/api/v1/sensors',
      `{"id":"deep5","domain":"energy","kind":"k","location":{"type":"Point","coordinates":[128.5,38.1]},"metrics":${nestedArrays(100000)}}`],
  ];
  for (const [label, method, path, raw] of cases) {
    test(`${label} → 400/413/422, and the daemon keeps serving`, async () => {
      const d = await h.startDaemon({ db });
      try {
        let res;
        try {
          res = await h.request(d, method, path, { token: d.bootstrapToken, rawBody: raw, headers: { 'content-type': 'application/json' } });
        } catch (e) {
          // no answer: wait (bounded) for the daemon to exit, so the message can say how it ended
          await Promise.race([d.exited, new Promise((r) => setTimeout(r, 2000).unref())]);
          assert.fail(`no HTTP response (${e.cause ? e.cause.message : e.message}); daemon exit code ${d.exitCode}, signal ${d.exitSignal}`);
        }
        assert.ok([400, 413, 422].includes(res.status), `got ${h.describeRes(res)}`);
        h.assertProblem(res, res.status);
        h.assertStatus(await h.request(d, 'GET', '/healthz'), 200, 'still alive');
      } finally {
        if (d.exitCode === undefined && d.exitSignal === undefined) {
          assert.equal(await d.stop(), 0, 'exit 0 on SIGTERM');
        }
      }
    });
  }
});
