'use strict';
// Registry: sensors — zone derivation, validation, filters (domain, zone, kind, near), PATCH, DELETE.
// Contract: API.md §4; docs/api-notes.md "Shapes".

const { describe, test, before } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/harness');

// Great-circle distance in metres (mean Earth radius); geodesic differs by < 0.5%.
function haversine([lon1, lat1], [lon2, lat2]) {
  const R = 6371008.8;
  const rad = Math.PI / 180;
  const dLat = (lat2 - lat1) * rad;
  const dLon = (lon2 - lon1) * rad;
  const a = Math.sin(dLat / 2) ** 2 + Math.cos(lat1 * rad) * Math.cos(lat2 * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * R * Math.asin(Math.sqrt(a));
}

const ids = (items) => items.map((x) => x.id);
const sorted = (a) => [...a].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));

describe('sensors', () => {
  const ctx = h.useDaemon('sensors');
  let T;
  const sensors = {}; // id → body as created (for expected filter results)
  const post = (body) => h.request(ctx.d, 'POST', '/api/v1/sensors', { token: T, body });
  const get = (id) => h.request(ctx.d, 'GET', `/api/v1/sensors/${encodeURIComponent(id)}`, { token: T });
  const patch = (id, body) => h.request(ctx.d, 'PATCH', `/api/v1/sensors/${encodeURIComponent(id)}`, { token: T, body });
  const list = async (q) => h.assertJson(await h.request(ctx.d, 'GET', `/api/v1/sensors${q}`, { token: T }), 200);

  async function make(id, extra) {
    const body = h.sensorBody(id, extra);
    const res = await post(body);
    const b = h.assertJson(res, 201);
    sensors[id] = b;
    return b;
  }

  before(async () => {
    T = ctx.d.bootstrapToken;
    for (const z of [
      h.zoneBody('downtown', { boundary: h.polygon(128.58, 38.19, 0.03) }),
      h.zoneBody('seorak', { boundary: h.polygon(128.40, 38.10, 0.05) }),
    ]) {
      h.assertStatus(await h.request(ctx.d, 'POST', '/api/v1/zones', { token: T, body: z }), 201, `zone ${z.id}`);
    }
  });

  describe('create and zone derivation', () => {
    test('zone omitted → the zone whose boundary contains the location', async () => {
      const res = await post(h.sensorBody('wl-auto', { location: h.point(128.595, 38.205) }));
      const b = h.assertJson(res, 201);
      sensors['wl-auto'] = b;
      assert.match(res.headers.get('location') || '', /\/api\/v1\/sensors\/wl-auto$/, 'Location header');
      for (const k of ['id', 'domain', 'kind', 'location', 'zone', 'metrics', 'attributes', 'created_at', 'updated_at']) {
        assert.ok(k in b, `sensor has ${k}: ${res.text}`);
      }
      assert.equal(b.zone, 'downtown');
      assert.equal(b.domain, 'disaster');
      assert.equal(b.kind, 'water_level');
      assert.deepEqual(b.location, h.point(128.595, 38.205));
      assert.deepEqual(b.metrics, [{ name: 'level', unit: 'm' }]);
      assert.deepEqual(b.attributes, {});
      h.assertTimes(b);
      assert.deepEqual(h.assertJson(await get('wl-auto'), 200), b, 'GET returns the same object');
    });

    test('zone: null → derived as well', async () => {
      const b = await make('wl-null', { zone: null, location: h.point(128.60, 38.21) });
      assert.equal(b.zone, 'downtown');
    });

    test('an explicit zone wins over the location', async () => {
      const b = await make('wl-explicit', { zone: 'seorak', location: h.point(128.59, 38.20) });
      assert.equal(b.zone, 'seorak');
    });

    test('a location inside no zone → zone null', async () => {
      const b = await make('wl-nowhere', { location: h.point(127.00, 37.50) });
      assert.equal(b.zone, null);
      assert.ok('zone' in b, 'zone is present (null), not omitted');
    });

    test('optional fields round-trip: name, metrics min/max/interval_s, attributes', async () => {
      const metrics = [
        { name: 'level', unit: 'm', min: 0, max: 5.5, interval_s: 60 },
        { name: 'battery_v', unit: 'V' },
      ];
      const b = await make('wl-full', { name: '청초호 수위계', metrics, attributes: { vendor: 'acme', depth: 3.2 }, location: h.point(128.42, 38.12) });
      assert.equal(b.name, '청초호 수위계');
      assert.deepEqual(b.metrics, metrics);
      assert.deepEqual(b.attributes, { vendor: 'acme', depth: 3.2 });
      assert.equal(b.zone, 'seorak');
    });

    test('a nonexistent zone → 422 pointing at /zone', async () => {
      h.assertInvalid(await post(h.sensorBody('wl-atlantis', { zone: 'atlantis' })), '/zone');
      h.assertProblem(await get('wl-atlantis'), 404, 'not-found');
    });

    test('duplicate id → 409', async () => {
      h.assertProblem(await post(h.sensorBody('wl-auto', { domain: 'energy' })), 409, 'conflict');
      assert.equal(h.assertJson(await get('wl-auto'), 200).domain, 'disaster');
    });

    for (const domain of ['mobility', 'energy', 'welfare', 'disaster', 'environment']) {
      test(`domain ${domain} is accepted`, async () => {
        const b = await make(`dom-${domain}`, { domain, kind: 'probe', location: h.point(126.0 + domain.length / 100, 36.0) });
        assert.equal(b.domain, domain);
      });
    }
  });

  describe('validation → 422 with errors[].pointer', () => {
    const cases = [
      ['unknown domain', { domain: 'plumbing' }, '/domain'],
      ['domain missing', { domain: undefined }, '/domain'],
      ['kind missing', { kind: undefined }, '/kind'],
      ['metrics missing', { metrics: undefined }, '/metrics'],
      ['metrics empty', { metrics: [] }, '/metrics'],
      ['metrics not an array', { metrics: { name: 'level' } }, '/metrics'],
      ['duplicate metric names', { metrics: [{ name: 'level', unit: 'm' }, { name: 'level', unit: 'cm' }] }, '/metrics*'],
      ['metric name with capitals', { metrics: [{ name: 'Level', unit: 'm' }] }, '/metrics/0/name'],
      ['metric name missing', { metrics: [{ name: 'level', unit: 'm' }, { unit: 'm' }] }, '/metrics/1/name'],
      ['metric interval_s negative', { metrics: [{ name: 'level', unit: 'm', interval_s: -1 }] }, '/metrics/0/interval_s'],
      ['location missing', { location: undefined }, '/location'],
      ['location longitude 200', { location: h.point(200, 38.2) }, '/location*'],
      ['location latitude -91', { location: h.point(128.5, -91) }, '/location*'],
      ['location not a Point', { location: h.polygon(128.5, 38.1, 0.01) }, '/location*'],
      ['location coordinates strings', { location: { type: 'Point', coordinates: ['128.5', '38.1'] } }, '/location*'],
      ['id invalid', { id: '_x' }, '/id'],
      ['zone not a string', { zone: 7 }, '/zone'],
      ['attributes not an object', { attributes: 'x' }, '/attributes'],
    ];
    let n = 0;
    for (const [label, change, pointer] of cases) {
      test(`${label} → ${pointer}`, async () => {
        const body = h.sensorBody(`bad-${++n}`);
        for (const [k, v] of Object.entries(change)) {
          if (v === undefined) delete body[k];
          else body[k] = v;
        }
        h.assertInvalid(await post(body), pointer);
        if (/^bad-\d+$/.test(body.id)) h.assertProblem(await get(body.id), 404, 'not-found');
      });
    }
  });

  describe('filters', () => {
    const A = [128.600, 38.200];
    before(async () => {
      await make('f-a', { domain: 'disaster', kind: 'water_level', location: h.point(...A) });
      await make('f-b', { domain: 'energy', kind: 'power_meter', location: h.point(128.605, 38.200) });
      await make('f-c', { domain: 'environment', kind: 'air_quality', location: h.point(128.610, 38.205) });
      await make('f-d', { domain: 'disaster', kind: 'water_level', location: h.point(128.42, 38.12) });
      await make('f-e', { domain: 'mobility', kind: 'bus_counter', location: h.point(128.6001, 38.2001) });
    });

    const expect = (pred) => sorted(Object.values(sensors).filter(pred).map((s) => s.id));

    test('no filter: all sensors, ordered by id', async () => {
      const all = await h.listAll(ctx.d, '/api/v1/sensors', T);
      assert.deepEqual(ids(all), expect(() => true));
      for (const s of all) h.assertTimes(s);
    });

    test('domain=disaster', async () => {
      const b = await list('?domain=disaster');
      assert.deepEqual(ids(b.items), expect((s) => s.domain === 'disaster'));
      assert.ok(b.items.length >= 3);
    });

    test('zone=seorak', async () => {
      const b = await list('?zone=seorak');
      assert.deepEqual(ids(b.items), expect((s) => s.zone === 'seorak'));
      assert.ok(b.items.length >= 2);
    });

    test('kind=water_level', async () => {
      const b = await list('?kind=water_level');
      assert.deepEqual(ids(b.items), expect((s) => s.kind === 'water_level'));
    });

    test('domain=disaster&zone=downtown&kind=water_level combine (AND)', async () => {
      const b = await list('?domain=disaster&zone=downtown&kind=water_level');
      const want = expect((s) => s.domain === 'disaster' && s.zone === 'downtown' && s.kind === 'water_level');
      assert.deepEqual(ids(b.items), want);
      assert.ok(want.includes('f-a') && !want.includes('f-d'));
    });

    test('filters matching nothing → empty items, next_cursor null', async () => {
      const b = await list('?kind=no_such_kind');
      assert.deepEqual(b.items, []);
      assert.equal(b.next_cursor, null);
      assert.deepEqual((await list('?zone=no-such-zone')).items, []);
    });

    for (const radius of [50, 800, 30000]) {
      test(`near=${A.join(',')},${radius}: exactly the sensors within ${radius} m, with distance_m`, async () => {
        const b = await list(`?near=${A[0]},${A[1]},${radius}`);
        const want = [];
        for (const s of Object.values(sensors)) {
          const dist = haversine(A, s.location.coordinates);
          assert.ok(Math.abs(dist - radius) > radius * 0.02 + 2, `fixture ${s.id} is not ambiguous at ${radius} m (${dist})`);
          if (dist < radius) want.push(s.id);
        }
        assert.deepEqual(ids(b.items), sorted(want), 'the sensors within the radius, ordered by id');
        for (const it of b.items) {
          assert.equal(typeof it.distance_m, 'number', `distance_m on ${it.id}`);
          const ref = haversine(A, it.location.coordinates);
          assert.ok(Math.abs(it.distance_m - ref) <= ref * 0.006 + 1, `${it.id}: distance_m ${it.distance_m} ≈ ${ref}`);
        }
        if (radius === 800) {
          assert.deepEqual(ids(b.items).filter((i) => i.startsWith('f-')), ['f-a', 'f-b', 'f-e']);
          assert.ok(!ids(b.items).includes('f-c') && !ids(b.items).includes('f-d'), 'far sensors excluded');
        }
      });
    }

    test('near results paginate: limit=2 walks the same sensors as one page', async () => {
      const q = `?near=${A[0]},${A[1]},30000`;
      const one = await list(q);
      const walked = await h.listAll(ctx.d, `/api/v1/sensors${q}`, T, 2);
      assert.deepEqual(ids(walked), ids(one.items));
      for (const it of walked) assert.equal(typeof it.distance_m, 'number');
    });

    test('near combines with domain', async () => {
      const b = await list(`?near=${A[0]},${A[1]},800&domain=disaster`);
      assert.deepEqual(ids(b.items).filter((i) => i.startsWith('f-')), ['f-a']);
      for (const it of b.items) assert.equal(it.domain, 'disaster');
    });

    test('plain lists carry no distance_m', async () => {
      const b = await list('?domain=disaster');
      for (const it of b.items) assert.ok(!('distance_m' in it), 'distance_m only with near');
    });

    for (const [q, param] of [
      ['domain=plumbing', 'domain'],
      ['near=abc', 'near'],
      ['near=128.6,38.2', 'near'],
      ['near=200,38.2,100', 'near'],
      ['near=128.6,95,100', 'near'],
      ['near=128.6,38.2,-5', 'near'],
      ['near=128.6,38.2,x', 'near'],
      ['limit=0', 'limit'],
      ['cursor=not-a-real-cursor', 'cursor'],
    ]) {
      test(`bad query ${q} → 422 errors[].parameter=${param}`, async () => {
        h.assertBadParam(await h.request(ctx.d, 'GET', `/api/v1/sensors?${q}`, { token: T }), param);
      });
    }
  });

  describe('PATCH (JSON merge patch)', () => {
    before(async () => {
      await make('p-1', { location: h.point(128.59, 38.20), attributes: { a: 1, b: 2, deep: { x: 1, y: 2 } }, name: 'first' });
    });

    test('a new location without zone re-derives the zone', async () => {
      const before = h.assertJson(await get('p-1'), 200);
      assert.equal(before.zone, 'downtown');
      await new Promise((r) => setTimeout(r, 5)); // deliberate: times have millisecond resolution, so updated_at must be able to move
      const b = h.assertJson(await patch('p-1', { location: h.point(128.41, 38.11) }), 200);
      assert.equal(b.zone, 'seorak', 'zone re-derived from the new location');
      assert.deepEqual(b.location, h.point(128.41, 38.11));
      assert.equal(b.name, 'first', 'other fields kept');
      assert.equal(b.domain, before.domain);
      assert.deepEqual(b.metrics, before.metrics);
      assert.equal(b.created_at, before.created_at, 'created_at unchanged');
      assert.ok(Date.parse(b.updated_at) > Date.parse(before.updated_at), 'updated_at moved');
      h.assertTimes(b);
      assert.deepEqual(h.assertJson(await get('p-1'), 200), b, 'GET returns the patched object');
      // moving it outside every zone → null
      assert.equal(h.assertJson(await patch('p-1', { location: h.point(127.0, 37.0) }), 200).zone, null);
      assert.equal(h.assertJson(await patch('p-1', { location: h.point(128.59, 38.20) }), 200).zone, 'downtown');
    });

    test('a new location with an explicit zone keeps the explicit zone', async () => {
      const b = h.assertJson(await patch('p-1', { location: h.point(128.60, 38.20), zone: 'seorak' }), 200);
      assert.equal(b.zone, 'seorak');
    });

    test('a patch without location leaves the zone alone', async () => {
      const b = h.assertJson(await patch('p-1', { name: 'second' }), 200);
      assert.equal(b.name, 'second');
      assert.equal(b.zone, 'seorak');
    });

    test('merge semantics: null removes a key, objects merge recursively, arrays replace', async () => {
      const b = h.assertJson(await patch('p-1', { attributes: { b: null, c: 3, deep: { y: null, z: 9 } }, metrics: [{ name: 'temp', unit: 'C' }] }), 200);
      assert.deepEqual(b.attributes, { a: 1, c: 3, deep: { x: 1, z: 9 } });
      assert.deepEqual(b.metrics, [{ name: 'temp', unit: 'C' }]);
    });

    test('invalid patches → 422 with pointers, nothing changes', async () => {
      const before = h.assertJson(await get('p-1'), 200);
      h.assertInvalid(await patch('p-1', { domain: 'plumbing' }), '/domain');
      h.assertInvalid(await patch('p-1', { zone: 'atlantis' }), '/zone');
      h.assertInvalid(await patch('p-1', { metrics: [] }), '/metrics');
      h.assertInvalid(await patch('p-1', { location: h.point(181, 0) }), '/location*');
      h.assertInvalid(await patch('p-1', { id: 'renamed' }), '/id');
      h.assertInvalid(await patch('p-1', { domain: null }), '/domain');
      assert.deepEqual(h.assertJson(await get('p-1'), 200), before, 'unchanged after invalid patches');
    });

    test('PATCH of an unknown id → 404', async () => {
      h.assertProblem(await patch('ghost', { name: 'x' }), 404, 'not-found');
    });

    test('PATCH with a non-object body → 422 or 400, never 2xx', async () => {
      const res = await h.request(ctx.d, 'PATCH', '/api/v1/sensors/p-1', { token: T, rawBody: '[1]', headers: { 'content-type': 'application/json' } });
      assert.ok(res.status === 422 || res.status === 400, `got ${res.status}`);
    });
  });

  describe('DELETE', () => {
    test('→ 204, then 404; the zone no longer counts it', async () => {
      await make('del-1', { zone: 'seorak' });
      const del = await h.request(ctx.d, 'DELETE', '/api/v1/sensors/del-1', { token: T });
      h.assertStatus(del, 204);
      h.assertProblem(await get('del-1'), 404, 'not-found');
      h.assertProblem(await h.request(ctx.d, 'DELETE', '/api/v1/sensors/del-1', { token: T }), 404, 'not-found');
      const b = await list('?zone=seorak');
      assert.ok(!ids(b.items).includes('del-1'));
      delete sensors['del-1'];
    });

    test('deleting a zone that sensors still reference → 409; after removing them → 204', async () => {
      h.assertStatus(await h.request(ctx.d, 'POST', '/api/v1/zones', { token: T, body: h.zoneBody('tiny', { boundary: h.polygon(129.5, 37.5, 0.01) }) }), 201);
      await make('ref-1', { location: h.point(129.505, 37.505) });
      assert.equal(sensors['ref-1'].zone, 'tiny');
      h.assertProblem(await h.request(ctx.d, 'DELETE', '/api/v1/zones/tiny', { token: T }), 409, 'conflict');
      h.assertJson(await h.request(ctx.d, 'GET', '/api/v1/zones/tiny', { token: T }), 200);
      assert.equal(h.assertJson(await get('ref-1'), 200).zone, 'tiny', 'sensor untouched');
      h.assertStatus(await h.request(ctx.d, 'DELETE', '/api/v1/sensors/ref-1', { token: T }), 204);
      delete sensors['ref-1'];
      h.assertStatus(await h.request(ctx.d, 'DELETE', '/api/v1/zones/tiny', { token: T }), 204);
    });
  });
});
