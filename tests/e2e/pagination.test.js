'use strict';
// Lists: limit/cursor pagination over zones, sensors and facilities.
// Contract: API.md §3 (lists); docs/api-notes.md "Shapes" (limits, 422 with errors[].parameter).

const { describe, test, before } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/harness');

const pad = (n) => String(n).padStart(3, '0');

describe('pagination', () => {
  const ctx = h.useDaemon('pagination');
  let T;
  const zoneIds = [];
  const sensorIds = [];
  const facilityIds = [];

  async function page(p, limit, cursor) {
    const sep = p.includes('?') ? '&' : '?';
    let q = p;
    if (limit !== undefined) q += `${sep}limit=${limit}`;
    if (cursor) q += `${q.includes('?') ? '&' : '?'}cursor=${encodeURIComponent(cursor)}`;
    return h.assertJson(await h.request(ctx.d, 'GET', q, { token: T }), 200);
  }

  async function walk(p, limit) {
    const pages = [];
    let cursor = null;
    for (let i = 0; i < 200; i++) {
      const b = await page(p, limit, cursor);
      assert.ok(Array.isArray(b.items), 'items[]');
      assert.ok('next_cursor' in b, 'next_cursor present');
      pages.push(b.items.map((x) => x.id));
      if (b.next_cursor === null) return pages;
      assert.equal(typeof b.next_cursor, 'string', 'next_cursor is a string or null');
      assert.ok(b.next_cursor.length > 0);
      cursor = b.next_cursor;
    }
    throw new Error('pagination did not end');
  }

  before(async () => {
    T = ctx.d.bootstrapToken;
    // 25 zones in a shuffled creation order (ids order ≠ insertion order)
    const order = Array.from({ length: 25 }, (_, i) => (i * 7) % 25);
    for (const i of order) {
      const id = `z-${pad(i)}`;
      zoneIds.push(id);
      const body = h.zoneBody(id, { boundary: h.polygon(128.0 + (i % 5) * 0.02, 38.0 + Math.floor(i / 5) * 0.02, 0.015) });
      h.assertStatus(await h.request(ctx.d, 'POST', '/api/v1/zones', { token: T, body }), 201, `zone ${id}`);
    }
    zoneIds.sort();
    // 25 sensors of kind "pg", 5 of another kind
    for (const i of order) {
      const id = `s-${pad(i)}`;
      sensorIds.push(id);
      const body = h.sensorBody(id, { kind: 'pg', domain: i % 2 ? 'energy' : 'mobility', location: h.point(128.0 + i * 0.001, 38.001) });
      h.assertStatus(await h.request(ctx.d, 'POST', '/api/v1/sensors', { token: T, body }), 201, `sensor ${id}`);
    }
    sensorIds.sort();
    for (let i = 0; i < 5; i++) {
      const body = h.sensorBody(`other-${i}`, { kind: 'other', location: h.point(127.0, 37.0) });
      h.assertStatus(await h.request(ctx.d, 'POST', '/api/v1/sensors', { token: T, body }), 201);
    }
    // 105 facilities, to see the default limit of 100
    await Promise.all(Array.from({ length: 105 }, async (_, i) => {
      const id = `f-${pad(i)}`;
      facilityIds.push(id);
      const body = h.facilityBody(id, { category: i < 50 ? 'school' : 'clinic', location: h.point(129.0, 36.0) });
      h.assertStatus(await h.request(ctx.d, 'POST', '/api/v1/facilities', { token: T, body }), 201, `facility ${id}`);
    }));
    facilityIds.sort();
  });

  test('25 zones, limit=10: pages of 10, 10, 5; every zone exactly once, ordered by id; next_cursor null at the end', async () => {
    const pages = await walk('/api/v1/zones', 10);
    assert.deepEqual(pages.map((p) => p.length), [10, 10, 5]);
    assert.deepEqual(pages.flat(), zoneIds);
  });

  test('limit=7 and limit=1 walk the same 25 zones', async () => {
    for (const limit of [7, 1]) {
      const pages = await walk('/api/v1/zones', limit);
      assert.deepEqual(pages.flat(), zoneIds, `limit=${limit}`);
      assert.ok(pages.every((p) => p.length <= limit));
      assert.ok(pages.slice(0, -1).every((p) => p.length === limit), 'only the last page is short');
    }
  });

  test('limit=25 (exact fit): every zone once; a trailing page, if any, is empty with next_cursor null', async () => {
    const pages = await walk('/api/v1/zones', 25);
    assert.deepEqual(pages.flat(), zoneIds);
    assert.ok(pages.length <= 2);
    if (pages.length === 2) assert.deepEqual(pages[1], []);
  });

  test('limit=1000 (the maximum) is accepted: one page', async () => {
    const b = await page('/api/v1/zones', 1000);
    assert.deepEqual(b.items.map((z) => z.id), zoneIds);
    assert.equal(b.next_cursor, null);
  });

  test('sensors with a filter: kind=pg, limit=10 → the 25 pg sensors exactly once', async () => {
    const pages = await walk('/api/v1/sensors?kind=pg', 10);
    assert.deepEqual(pages.map((p) => p.length), [10, 10, 5]);
    assert.deepEqual(pages.flat(), sensorIds);
  });

  test('the cursor keeps the filter: domain=energy&kind=pg, limit=4', async () => {
    const pages = await walk('/api/v1/sensors?domain=energy&kind=pg', 4);
    const want = sensorIds.filter((id) => Number(id.slice(2)) % 2 === 1);
    assert.deepEqual(pages.flat(), want);
  });

  test('default limit is 100: 105 facilities → 100 then 5', async () => {
    const first = await page('/api/v1/facilities');
    assert.equal(first.items.length, 100);
    assert.equal(typeof first.next_cursor, 'string');
    assert.deepEqual(first.items.map((f) => f.id), facilityIds.slice(0, 100));
    const second = await page('/api/v1/facilities', undefined, first.next_cursor);
    assert.deepEqual(second.items.map((f) => f.id), facilityIds.slice(100));
    assert.equal(second.next_cursor, null);
  });

  test('facilities with category filter walk: 50 schools with limit=20', async () => {
    const pages = await walk('/api/v1/facilities?category=school', 20);
    assert.deepEqual(pages.map((p) => p.length), [20, 20, 10]);
    assert.deepEqual(pages.flat(), facilityIds.slice(0, 50));
  });

  test('changes between pages: no duplicates, deleted items vanish, items added ahead appear', async () => {
    const first = await page('/api/v1/zones', 10);
    const seen = first.items.map((z) => z.id);
    assert.deepEqual(seen, zoneIds.slice(0, 10));
    // delete one ahead of the cursor, add one ahead, add one behind
    h.assertStatus(await h.request(ctx.d, 'DELETE', '/api/v1/zones/z-015', { token: T }), 204);
    h.assertStatus(await h.request(ctx.d, 'POST', '/api/v1/zones', { token: T, body: h.zoneBody('z-999') }), 201);
    h.assertStatus(await h.request(ctx.d, 'POST', '/api/v1/zones', { token: T, body: h.zoneBody('a-000') }), 201);
    let cursor = first.next_cursor;
    while (cursor) {
      const b = await page('/api/v1/zones', 10, cursor);
      seen.push(...b.items.map((z) => z.id));
      cursor = b.next_cursor;
    }
    assert.equal(new Set(seen).size, seen.length, `no duplicates: ${seen}`);
    assert.ok(!seen.includes('z-015'), 'deleted zone not returned later');
    assert.ok(seen.includes('z-999'), 'zone added after the cursor is returned');
    assert.ok(!seen.includes('a-000'), 'zone added before the cursor is not returned');
    assert.deepEqual(seen, [...zoneIds.filter((z) => z !== 'z-015'), 'z-999']);
  });

  for (const [q, param] of [
    ['limit=0', 'limit'],
    ['limit=5000', 'limit'],
    ['limit=1001', 'limit'],
    ['limit=-1', 'limit'],
    ['limit=abc', 'limit'],
    ['limit=2.5', 'limit'],
    ['cursor=bogus', 'cursor'],
  ]) {
    for (const p of ['/api/v1/zones', '/api/v1/sensors', '/api/v1/facilities']) {
      test(`GET ${p}?${q} → 422 errors[].parameter=${param}`, async () => {
        h.assertBadParam(await h.request(ctx.d, 'GET', `${p}?${q}`, { token: T }), param);
      });
    }
  }

  test('a cursor from one collection is not silently accepted by another', async () => {
    const b = await page('/api/v1/zones', 5);
    const res = await h.request(ctx.d, 'GET', `/api/v1/facilities?limit=5&cursor=${encodeURIComponent(b.next_cursor)}`, { token: T });
    // opaque cursors may still decode; but it must never be a 5xx
    assert.ok(res.status === 200 || res.status === 422, `got ${res.status}`);
  });

  test('list items carry RFC 3339 UTC millisecond times', async () => {
    for (const p of ['/api/v1/zones', '/api/v1/sensors', '/api/v1/facilities']) {
      const b = await page(p, 1000);
      for (const it of b.items) h.assertTimes(it);
    }
  });
});
