'use strict';
// Bus network: GTFS import (API.md §11, docs/transit.md "Network import") of the public npm feed
// `sample-gtfs-feed`, zipped at test time; routes, a route with its stops and shape, stops near a
// point; bad input: a missing required file, rows naming unknown stops, zip bombs, the body cap.

const { describe, test, before } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const fs = require('node:fs');
const h = require('./lib/harness');
const { makeZip, zipDir } = require('./lib/zip');

const FEED = path.join(path.dirname(require.resolve('sample-gtfs-feed/package.json')), 'gtfs');
const read = (f) => fs.readFileSync(path.join(FEED, f), 'utf8');
const lines = (f) => read(f).trim().split(/\r?\n/).length - 1;

describe('transit: GTFS import', () => {
  const ctx = h.useDaemon('transit_gtfs');
  let T;
  const post = (zip, ct = 'application/zip', token = T) =>
    h.request(ctx.d, 'POST', '/api/v1/transit/gtfs', { token, rawBody: zip, headers: { 'content-type': ct } });
  const get = async (p, status = 200) => h.assertJson(await h.request(ctx.d, 'GET', p, { token: T }), status);

  before(() => { T = ctx.d.bootstrapToken; });

  test('the sample feed imports, real-feed quirks included (BOM, CRLF, quoted fields, times past 24:00)', async () => {
    // routes.txt rewritten with a byte-order mark, CRLF line ends and a quoted name holding a
    // comma, doubled quotes and a newline.
    const routes = read('routes.txt').trim().split(/\r?\n/);
    routes[1] = routes[1].replace('Ada Lovelace Bus Line', '"Ada ""Lovelace"", Bus\nLine"');
    const quirky = '\ufeff' + routes.join('\r\n') + '\r\n\r\n';
    const res = await post(zipDir(FEED, { 'routes.txt': quirky }));
    const b = h.assertJson(res, 200);
    assert.deepEqual(b.files['routes.txt'], { rows: 4, imported: 4, errors: 0 }, res.text);
    assert.deepEqual(b.files['stop_times.txt'], { rows: lines('stop_times.txt'), imported: lines('stop_times.txt'), errors: 0 });
    assert.equal(b.files['stops.txt'].imported, lines('stops.txt'));
    assert.equal(b.files['trips.txt'].imported, lines('trips.txt'));
    assert.equal(b.files['shapes.txt'].imported, lines('shapes.txt'));
    assert.equal(b.files['frequencies.txt'].imported, 2);
    assert.equal(b.error_count, 0, JSON.stringify(b.errors));
    assert.equal(b.imported.shapes, 2);
    assert.ok(!('levels.txt' in b.files), 'files GTFS does not need are ignored');

    const list = await get('/api/v1/transit/routes');
    assert.deepEqual(list.items.map((r) => r.id), ['A', 'B', 'C', 'D']);
    assert.equal(list.next_cursor, null);
    const a = await get('/api/v1/transit/routes/A');
    assert.equal(a.long_name, 'Ada "Lovelace", Bus\nLine');
    assert.equal(a.short_name, 'Ada');
    assert.equal(a.agency, 'MTA');
    assert.equal(a.trips, 2);
    // direction 0 first, then the trip with the most stops: a-downtown-all-day (sequence 3, 4, 5)
    assert.deepEqual(a.stops.map((s) => [s.id, s.sequence]), [['airport-1', 3], ['museum', 4], ['center', 5]]);
    assert.deepEqual(a.stops[0].location, { type: 'Point', coordinates: [13.5087, 52.36396] });
    assert.ok(['LineString', 'MultiLineString'].includes(a.shape.type), JSON.stringify(a.shape).slice(0, 200));
    // B has no shapes.txt entry: its shape is the line through its stops
    const bRoute = await get('/api/v1/transit/routes/B');
    assert.equal(bRoute.shape.type, 'LineString');
    assert.deepEqual(bRoute.shape.coordinates, bRoute.stops.map((s) => s.location.coordinates));
    h.assertProblem(await h.request(ctx.d, 'GET', '/api/v1/transit/routes/nope', { token: T }), 404);
  });

  test('stops near a point, nearest first, within the radius', async () => {
    const near = await get('/api/v1/transit/stops?near=13.5087,52.36396&radius=200');
    const ids = near.items.map((s) => s.id);
    assert.equal(ids[0], 'airport-1');
    assert.equal(near.items[0].distance_m, 0);
    assert.ok(ids.includes('airport-2') && ids.includes('airport'), ids.join());
    assert.ok(!ids.includes('museum') && !ids.includes('center'), ids.join());
    for (let i = 1; i < near.items.length; i++) assert.ok(near.items[i].distance_m >= near.items[i - 1].distance_m);
    for (const s of near.items) assert.ok(s.distance_m <= 200);
    assert.deepEqual(near.items[0].routes, ['A', 'C']);
    const far = await get('/api/v1/transit/stops?near=13.5,52.5,10');
    assert.deepEqual(far.items.map((s) => s.id), ['center']);
    h.assertBadParam(await h.request(ctx.d, 'GET', '/api/v1/transit/stops', { token: T }), 'near');
    h.assertBadParam(await h.request(ctx.d, 'GET', '/api/v1/transit/stops?near=13.5,95', { token: T }), 'near');
    h.assertBadParam(await h.request(ctx.d, 'GET', '/api/v1/transit/stops?near=13.5,52&radius=0', { token: T }), 'radius');
  });

  test('a zip missing a required file: 422 naming it, the network unchanged', async () => {
    const res = await post(zipDir(FEED, { 'stop_times.txt': null }));
    const b = h.assertInvalid(res);
    assert.match(b.detail, /stop_times\.txt/);
    assert.ok(b.errors.some((e) => e.pointer === '/stop_times.txt'), res.text);
    const res2 = await post(zipDir(FEED, { 'calendar.txt': null, 'calendar_dates.txt': null }));
    assert.match(h.assertInvalid(res2).detail, /calendar\.txt or calendar_dates\.txt/);
    assert.equal((await get('/api/v1/transit/routes')).items.length, 4);
  });

  test('a stops.txt that is not UTF-8 (CP949): 422 naming the file and line, never a 500', async () => {
    const [head, ...rows] = read('stops.txt').trim().split(/\r?\n/);
    // "속초" in CP949/EUC-KR appended to the first stop's name
    const cp949 = Buffer.concat([Buffer.from(head + '\n' + rows[0].replace(',', ',X') + '\n', 'utf8')]);
    const i = cp949.indexOf(',X');
    const bad = Buffer.concat([cp949.subarray(0, i + 1), Buffer.from([0xbc, 0xd3, 0xc3, 0xca]), cp949.subarray(i + 2),
      Buffer.from(rows.slice(1).join('\n') + '\n', 'utf8')]);
    const res = await post(zipDir(FEED, { 'stops.txt': bad }));
    const b = h.assertInvalid(res);
    assert.match(b.detail, /stops\.txt: is not UTF-8 \(line 2\)/);
    assert.ok(b.errors.some((e) => e.pointer === '/stops.txt'), res.text);
    assert.equal((await get('/api/v1/transit/routes')).items.length, 4);
  });

  test('stop_times naming unknown stops: per-row errors, the rest imported', async () => {
    const st = read('stop_times.txt').trimEnd() + '\na-downtown-all-day,15:40:00,15:41:00,atlantis,6,,,\n' +
      'a-downtown-all-day,25:99:00,15:41:00,center,7,,,\nghost-trip,15:40:00,15:41:00,center,1,,,\n';
    const res = await post(zipDir(FEED, { 'stop_times.txt': st }));
    const b = h.assertJson(res, 200);
    const n = lines('stop_times.txt');
    assert.deepEqual(b.files['stop_times.txt'], { rows: n + 3, imported: n, errors: 3 });
    const byField = Object.fromEntries(b.errors.map((e) => [e.field, e]));
    assert.equal(byField.stop_id.row, n);
    assert.equal(byField.stop_id.line, n + 2);
    assert.equal(byField.stop_id.pointer, `/stop_times.txt/${n}/stop_id`);
    assert.match(byField.stop_id.detail, /atlantis/);
    assert.match(byField.arrival_time.detail, /HH:MM:SS/);
    assert.match(byField.trip_id.detail, /ghost-trip/);
    assert.equal(b.error_count, 3);
  });

  test('re-import replaces the feed', async () => {
    const keepA = (f, col) => {
      const [head, ...rows] = read(f).trim().split(/\r?\n/);
      const i = head.split(',').indexOf(col);
      return [head, ...rows.filter((r) => r.split(',')[i].startsWith(f === 'routes.txt' || f === 'trips.txt' ? 'A' : 'a-'))].join('\n') + '\n';
    };
    const zip = zipDir(FEED, {
      'routes.txt': keepA('routes.txt', 'route_id'),
      'trips.txt': keepA('trips.txt', 'route_id'),
      'stop_times.txt': keepA('stop_times.txt', 'trip_id'),
      'frequencies.txt': null,
    });
    h.assertJson(await post(zip), 200);
    assert.deepEqual((await get('/api/v1/transit/routes')).items.map((r) => r.id), ['A']);
    h.assertProblem(await h.request(ctx.d, 'GET', '/api/v1/transit/routes/B', { token: T }), 404);
    h.assertJson(await post(zipDir(FEED)), 200);
    assert.equal((await get('/api/v1/transit/routes')).items.length, 4);
  });

  test('zip bombs are refused: declared sizes, ratio, and an inflater capped whatever the header says', async () => {
    const feed = Object.fromEntries(fs.readdirSync(FEED).map((f) => [f, fs.readFileSync(path.join(FEED, f))]));
    const entries = (extra) => [...Object.entries(feed).map(([name, data]) => ({ name, data })), extra];
    // declares 3 GiB: refused by its size before anything is unpacked
    const big = await post(makeZip(entries({ name: 'shapes2.txt', data: 'x', declaredSize: 3 * 2 ** 30 })));
    assert.match(h.assertInvalid(big).detail, /limit|more than/);
    // 40 MiB of zeros that deflate to ~40 KiB: a ratio of ~1000
    const ratio = await post(makeZip(entries({ name: 'notes.txt', data: Buffer.alloc(40 * 2 ** 20) })));
    assert.match(h.assertInvalid(ratio).detail, /ratio/);
    // declares 100 bytes, inflates to 5 MiB: the inflater stops at the declared size
    const liar = await post(makeZip(entries({ name: 'notes.txt', data: Buffer.alloc(5 * 2 ** 20), declaredSize: 100 })));
    assert.match(h.assertInvalid(liar).detail, /more than its declared/);
    // not a zip at all
    assert.match(h.assertInvalid(await post(Buffer.from('agency_id,agency_name\n'))).detail, /not a ZIP/);
    // the network is the one imported before
    assert.equal((await get('/api/v1/transit/routes')).items.length, 4);
  });

  test('body cap, media type and roles', async () => {
    const huge = Buffer.alloc(9 * 2 ** 20, 1);
    const res = await post(huge);
    h.assertStatus(res, 413);
    h.assertStatus(await post(zipDir(FEED), 'text/csv'), 415);
    const tok = async (role) => h.assertJson(await h.request(ctx.d, 'POST', '/api/v1/tokens',
      { token: T, body: { name: `t-${role}`, role } }), 201).token;
    const op = await tok('operator');
    h.assertStatus(await post(zipDir(FEED), 'application/zip', op), 403);
    h.assertStatus(await h.request(ctx.d, 'GET', '/api/v1/transit/routes', { token: op }), 200);
    h.assertStatus(await h.request(ctx.d, 'GET', '/api/v1/transit/routes'), 401);
  });

  test('scope: the network is mobility data with no zone (services::access, in the transit service)', async () => {
    const tok = async (name, extra) => h.assertJson(await h.request(ctx.d, 'POST', '/api/v1/tokens',
      { token: T, body: { name, role: 'operator', ...extra } }), 201).token;
    const mobility = await tok('t-mobility', { domains: ['mobility'] });
    const environment = await tok('t-environment', { domains: ['environment'] });
    const zoned = await tok('t-zoned', { zones: ['downtown'] });
    const as = (token, url) => h.request(ctx.d, 'GET', url, { token });
    const all = h.assertJson(await as(T, '/api/v1/transit/routes'), 200).items;
    assert.ok(all.length > 0);
    // mobility in its domains: the same answers as the admin's
    assert.deepEqual(h.assertJson(await as(mobility, '/api/v1/transit/routes'), 200).items, all);
    const id = all[0].id;
    h.assertJson(await as(mobility, `/api/v1/transit/routes/${id}`), 200);
    h.assertJson(await as(mobility, `/api/v1/transit/routes/${id}/performance`), 200);
    assert.ok(h.assertJson(await as(mobility, '/api/v1/transit/stops?near=13.5087,52.36396&radius=200'), 200).items.length > 0);
    // another domain, or limited to zones: empty lists, 404 for a route and its metrics
    for (const t of [environment, zoned]) {
      assert.deepEqual(h.assertJson(await as(t, '/api/v1/transit/routes'), 200).items, []);
      h.assertProblem(await as(t, `/api/v1/transit/routes/${id}`), 404);
      h.assertProblem(await as(t, `/api/v1/transit/routes/${id}/headways`), 404);
      h.assertProblem(await as(t, `/api/v1/transit/routes/${id}/performance`), 404);
      assert.deepEqual(h.assertJson(await as(t, '/api/v1/transit/stops?near=13.5087,52.36396&radius=200'), 200).items, []);
    }
  });
});
