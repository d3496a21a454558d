'use strict';
// Observations: POST /api/v1/observations in JSON, NDJSON and CSV; per-reading validation and partial
// batches; whole-batch errors (422/415/400/413); duplicates; roles; latest values.
// Contract: shared/API.md §3, §5; docs/api-notes.md "Observations" and "Errors".

const { describe, test, before } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/harness');
const I = require('./lib/ingest-helpers');

const { MIN, SEC, HOUR, iso, isoOffset } = I;

// All fixed times are well in the past (so never "in the future"), on whole minutes.
const BASE = Date.UTC(2026, 0, 12, 3, 0, 0);

describe('observations', () => {
  const ctx = h.useDaemon('observations');
  let T; // admin
  const post = (body, opts) => I.postObs(ctx.d, T, body, opts);
  const raw = (sensor, from, to, metric) => I.rawAll(ctx.d, T, sensor, { metric, from, to });
  const get = (p, token = T) => h.request(ctx.d, 'GET', p, { token });

  before(async () => {
    T = ctx.d.bootstrapToken;
    const d = ctx.d;
    await I.makeZone(d, 'east', 128.58, 38.19, 0.03); // holds h.sensorBody's default location
    await I.makeZone(d, 'lz-a', 127.00, 37.00, 0.02);
    await I.makeZone(d, 'lz-b', 127.10, 37.00, 0.02);
    for (const id of ['f-json', 'f-ndjson', 'f-csv', 'f-csv2', 'f-nonfinite', 'p-2', 'dup-1', 'dup-2', 'big', 'r-1', 'r-2', 'r-3']) {
      await I.makeSensor(d, id, { zone: 'east' });
    }
    await I.makeSensor(d, 'p-1', { zone: 'east', metrics: [{ name: 'level', unit: 'm', min: 0, max: 10 }] });
    // latest: sensors only the latest tests post to, in zones only they use
    await I.makeSensor(d, 'lt-1', {
      domain: 'energy', kind: 'meter', location: h.point(127.005, 37.005),
      metrics: [{ name: 'power', unit: 'kW' }, { name: 'temp', unit: 'C' }],
    });
    await I.makeSensor(d, 'lt-2', { domain: 'energy', kind: 'meter', location: h.point(127.105, 37.005), metrics: [{ name: 'power', unit: 'kW' }] });
    await I.makeSensor(d, 'lt-3', { domain: 'environment', kind: 'air', location: h.point(127.106, 37.006), metrics: [{ name: 'pm25', unit: 'ug/m3' }] });
    await I.makeSensor(d, 'lt-empty', { domain: 'environment', kind: 'air', location: h.point(127.107, 37.007), metrics: [{ name: 'pm25', unit: 'ug/m3' }] });
  });

  // ---------------------------------------------------------------- formats

  describe('body formats', () => {
    test('JSON: accepted count, times with offsets stored as the same instants', async () => {
      const rs = [
        { sensor: 'f-json', metric: 'level', ts: iso(BASE), value: 1.25 },
        { sensor: 'f-json', metric: 'level', ts: isoOffset(BASE + MIN, 9 * 60), value: -3 },
        { sensor: 'f-json', metric: 'level', ts: isoOffset(BASE + 2 * MIN + 500, -(5 * 60 + 30)), value: 0 },
        { sensor: 'f-json', metric: 'level', ts: '2026-01-12T12:03:00.250+09:00', value: 1e-7 },
      ];
      I.assertIngest(await post(rs), { accepted: 4, duplicates: 0, rejected: [] });
      const pts = await raw('f-json', BASE - HOUR, BASE + HOUR);
      assert.deepEqual(pts, [
        [iso(BASE), 1.25], [iso(BASE + MIN), -3], [iso(BASE + 2 * MIN + 500), 0], [iso(BASE + 3 * MIN + 250), 1e-7],
      ]);
    });

    test('JSON with "; charset=utf-8" in the content type is accepted', async () => {
      const rs = [{ sensor: 'f-json', metric: 'level', ts: iso(BASE + 10 * MIN), value: 7 }];
      I.assertIngest(await post(rs, { contentType: 'application/json; charset=utf-8' }), { accepted: 1, rejected: [] });
    });

    test('NDJSON: one reading a line, blank lines ignored, index counts non-blank lines', async () => {
      const line = (i, extra = {}) => JSON.stringify({ sensor: 'f-ndjson', metric: 'level', ts: iso(BASE + i * SEC), value: i, ...extra });
      const body = [
        '', line(0), '', '   ', line(1), line(2, { sensor: 'no-such-sensor' }), '',
        line(3), line(4, { value: '4' }), line(5), '',
      ].join('\n');
      const b = I.assertIngest(await post(body, { format: 'ndjson' }), { accepted: 4, duplicates: 0, rejected: [2, 4] });
      assert.match(b.rejected[0].pointer, /^(\/observations)?\/2(\/sensor)?$/, `pointer of index 2: ${b.rejected[0].pointer}`);
      assert.match(b.rejected[1].pointer, /^(\/observations)?\/4(\/value)?$/, `pointer of index 4: ${b.rejected[1].pointer}`);
      const pts = await raw('f-ndjson', BASE - HOUR, BASE + HOUR);
      assert.deepEqual(pts, [0, 1, 3, 5].map((i) => [iso(BASE + i * SEC), i]));
    });

    test('NDJSON without a trailing newline and with CRLF line ends', async () => {
      const rs = [10, 11, 12].map((i) => JSON.stringify({ sensor: 'f-ndjson', metric: 'level', ts: iso(BASE + i * SEC), value: i }));
      I.assertIngest(await post(rs.join('\r\n'), { format: 'ndjson' }), { accepted: 3, rejected: [] });
      const pts = await raw('f-ndjson', BASE + 10 * SEC, BASE + 13 * SEC);
      assert.deepEqual(pts, [10, 11, 12].map((i) => [iso(BASE + i * SEC), i]));
    });

    test('CSV: BOM, CRLF, columns in another order, quoted fields, an extra column with commas and quotes', async () => {
      const body = '\ufeff' + [
        'value,"ts",note,sensor,"metric"',
        `2.5,${iso(BASE)},plain,f-csv,level`,
        `"-1.75","${isoOffset(BASE + MIN, 9 * 60)}","a, ""quoted"" note",f-csv,"level"`,
        `1e3,${iso(BASE + 2 * MIN)},"multi`,
        `line note",f-csv,level`,
        `0.125,${iso(BASE + 3 * MIN)},,"f-csv",level`,
      ].join('\r\n') + '\r\n';
      I.assertIngest(await post(body, { format: 'csv' }), { accepted: 4, duplicates: 0, rejected: [] });
      const pts = await raw('f-csv', BASE - HOUR, BASE + HOUR);
      assert.deepEqual(pts, [[iso(BASE), 2.5], [iso(BASE + MIN), -1.75], [iso(BASE + 2 * MIN), 1000], [iso(BASE + 3 * MIN), 0.125]]);
    });

    test('CSV: rejected rows are indexed by data row; non-numbers and non-finite values are refused', async () => {
      const row = (i, v, s = 'f-csv2') => `${s},level,${iso(BASE + i * SEC)},${v}`;
      const body = ['sensor,metric,ts,value',
        row(0, 1), row(1, 'abc'), row(2, 'NaN'), row(3, 'inf'), row(4, '-Infinity'), row(5, ''), row(6, '1e999'),
        row(7, 2), `f-csv2,level,${iso(BASE + 8 * SEC).slice(0, -1)},3`, row(9, 4, 'nobody'), row(10, 5)].join('\n');
      const b = I.assertIngest(await post(body, { format: 'csv' }), { accepted: 3, duplicates: 0, rejected: [1, 2, 3, 4, 5, 6, 8, 9] });
      for (const x of b.rejected) {
        assert.match(x.pointer, new RegExp(`^(/observations)?/${x.index}(/|$)`), `pointer names the row: ${JSON.stringify(x)}`);
      }
      const pts = await raw('f-csv2', BASE - HOUR, BASE + HOUR);
      assert.deepEqual(pts, [[iso(BASE), 1], [iso(BASE + 7 * SEC), 2], [iso(BASE + 10 * SEC), 5]]);
    });

    test('JSON: a number too large for a double (1e999) is never stored and never a 500', async () => {
      const body = `{"observations":[{"sensor":"f-nonfinite","metric":"level","ts":"${iso(BASE)}","value":1e999},`
        + `{"sensor":"f-nonfinite","metric":"level","ts":"${iso(BASE + SEC)}","value":-1e999},`
        + `{"sensor":"f-nonfinite","metric":"level","ts":"${iso(BASE + 2 * SEC)}","value":5}]}`;
      const res = await post(body);
      assert.ok(res.status === 200 || res.status === 400,
        `1e999 is a JSON number that is not finite: expected 200 with it rejected (or 400), got ${h.describeRes(res)}`);
      if (res.status === 200) {
        const b = I.assertIngest(res, { accepted: 1, rejected: [0, 1] });
        assert.equal(b.rejected[0].pointer, '/observations/0/value');
      }
    });
  });

  // ---------------------------------------------------------------- partial batches

  describe('per-reading validation', () => {
    test('a partial batch: 200, rejected items in body order with pointers, the good ones stored', async () => {
      const now = Date.now();
      const g = (i, extra = {}) => ({ sensor: 'p-1', metric: 'level', ts: iso(BASE + i * MIN), value: 5, ...extra });
      const batch = [
        g(0, { value: 0.5 }), //                                         0 good
        g(1, { sensor: 'no-such-sensor' }), //                           1 unknown sensor
        g(2, { metric: 'flow' }), //                                     2 unknown metric for the sensor
        g(3, { ts: 'yesterday' }), //                                    3 not a time
        g(4, { ts: '2026-01-12T03:04:00' }), //                          4 no offset
        g(5, { ts: iso(now + 10 * MIN) }), //                            5 > 5 min in the future
        g(6, { value: '1.5' }), //                                       6 numeric string in JSON
        g(7, { value: null }), //                                        7 null
        g(8, { value: 10.5 }), //                                        8 above max 10
        g(9, { value: -0.001 }), //                                      9 below min 0
        g(10, { value: 10 }), //                                        10 good (max is inclusive)
        g(11, { value: 0 }), //                                         11 good (min is inclusive)
        { sensor: 'p-2', metric: 'level', ts: iso(now + 3 * MIN), value: 1 }, // 12 good: 3 min ahead is allowed
        (({ value, ...r }) => r)(g(13)), //                              13 no value
        g(14, { value: true }), //                                      14 boolean
        (({ sensor, ...r }) => r)(g(15)), //                            15 no sensor
        g(16, { ts: '2026-02-30T00:00:00Z' }), //                       16 no such date
        g(17, { ts: 1768186800000 }), //                                17 ts a number
        g(18, { value: [1] }), //                                       18 array
        g(19, { value: 2 }), //                                         19 good
      ];
      // helper stringifies numeric ts into ISO: undo that for index 17
      const body = JSON.parse(I.jsonBody(batch));
      body.observations[17].ts = 1768186800000;
      const res = await h.request(ctx.d, 'POST', '/api/v1/observations', { token: T, body });
      const rejected = [1, 2, 3, 4, 5, 6, 7, 8, 9, 13, 14, 15, 16, 17, 18];
      const b = I.assertIngest(res, { accepted: 5, duplicates: 0, rejected });
      const field = { 1: 'sensor', 2: 'metric', 3: 'ts', 4: 'ts', 5: 'ts', 6: 'value', 7: 'value', 8: 'value', 9: 'value', 16: 'ts', 17: 'ts', 18: 'value' };
      for (const x of b.rejected) {
        if (field[x.index]) assert.equal(x.pointer, `/observations/${x.index}/${field[x.index]}`, JSON.stringify(x));
        else assert.match(x.pointer, new RegExp(`^/observations/${x.index}(/|$)`), JSON.stringify(x));
      }
      assert.deepEqual(await raw('p-1', BASE - HOUR, BASE + HOUR),
        [[iso(BASE), 0.5], [iso(BASE + 10 * MIN), 10], [iso(BASE + 11 * MIN), 0], [iso(BASE + 19 * MIN), 2]]);
      const p2 = await raw('p-2', now - HOUR, now + HOUR);
      assert.equal(p2.length, 1, `the reading 3 min ahead is stored: ${JSON.stringify(p2)}`);
      // the rejected future reading is not stored either
      assert.deepEqual(await raw('p-1', now - HOUR, now + HOUR), []);
    });

    test('no acceptable reading: 422 problem+json whose errors carry the pointers, plus rejected[]', async () => {
      const batch = [
        { sensor: 'p-1', metric: 'level', ts: iso(BASE + 30 * MIN), value: 11 },
        { sensor: 'ghost', metric: 'level', ts: iso(BASE + 31 * MIN), value: 1 },
        { sensor: 'p-1', metric: 'level', ts: 'soon', value: 1 },
      ];
      const res = await post(batch);
      const b = h.assertInvalid(res);
      const ptrs = b.errors.map((e) => e.pointer);
      for (const p of ['/observations/0/value', '/observations/1/sensor', '/observations/2/ts']) {
        assert.ok(ptrs.includes(p), `errors[] has pointer ${p}: ${res.text}`);
      }
      assert.ok(Array.isArray(b.rejected), `422 carries rejected[]: ${res.text}`);
      assert.deepEqual(b.rejected.map((x) => x.index), [0, 1, 2]);
      assert.deepEqual(await raw('p-1', BASE + 30 * MIN, BASE + 32 * MIN), []);
    });

    test('an empty batch (JSON, NDJSON, CSV) → 422 problem+json with errors[]', async () => {
      for (const [fmt, body] of [
        ['json', '{"observations":[]}'],
        ['ndjson', '\n\n'],
        ['csv', 'sensor,metric,ts,value\r\n'],
      ]) {
        const res = await post(body, { format: fmt });
        const b = h.assertProblem(res, 422, 'invalid');
        assert.ok(Array.isArray(b.errors) && b.errors.length > 0 && b.errors.every((e) => typeof e.pointer === 'string'),
          `${fmt}: API.md §3 / api-notes "Errors": a 422 carries errors:[{pointer, detail}]; got ${res.text}`);
      }
    });

    test('a body that is not a batch → 422 pointing at /observations', async () => {
      for (const body of ['{}', '{"observations":{}}', '{"observations":"x"}', '[]']) {
        const res = await post(body);
        h.assertInvalid(res, '/observations*');
      }
    });

    test('CSV without one of the four columns → 422', async () => {
      const res = await post(`sensor,ts,value\nf-csv,${iso(BASE)},1\n`, { format: 'csv' });
      h.assertInvalid(res);
    });

    test('wrong or missing content type → 415', async () => {
      const rs = [{ sensor: 'f-json', metric: 'level', ts: iso(BASE + 50 * MIN), value: 1 }];
      for (const ct of ['text/plain', 'application/xml', 'application/x-www-form-urlencoded']) {
        const res = await post(I.jsonBody(rs), { contentType: ct });
        h.assertProblem(res, 415, 'unsupported-media-type');
      }
      const res = await fetch(ctx.d.url + '/api/v1/observations', {
        method: 'POST', headers: { authorization: `Bearer ${T}` }, body: new Uint8Array(Buffer.from(I.jsonBody(rs))),
      });
      const text = await res.text();
      const noCt = { status: res.status, contentType: res.headers.get('content-type') || '', text, json: JSON.parse(text) };
      h.openapi.assertConforms('POST', '/api/v1/observations', noCt);
      h.assertProblem(noCt, 415, 'unsupported-media-type');
      assert.deepEqual(await raw('f-json', BASE + 50 * MIN, BASE + 51 * MIN), [], 'nothing stored');
    });

    test('malformed JSON → 400 malformed-json', async () => {
      for (const body of ['{"observations":[', '{"observations":[{"sensor":"f-json",}]}', 'nope', '']) {
        const res = await post(body);
        h.assertProblem(res, 400, 'malformed-json');
      }
    });

    test('more than 100000 readings → 413 and nothing stored; exactly 100000 → 200', async () => {
      const rows = ['sensor,metric,ts,value'];
      for (let i = 0; i <= 100000; i++) rows.push(`big,level,${iso(BASE + i * SEC)},${i % 97}`);
      const over = rows.join('\n') + '\n';
      assert.ok(over.length < 8 * 1024 * 1024, 'under the body limit, so only the reading count is too large');
      const res = await post(over, { format: 'csv' });
      h.assertProblem(res, 413, 'payload-too-large');
      assert.deepEqual((await I.series(ctx.d, T, 'big', { from: BASE - HOUR, to: BASE + 2 * 86400 * SEC, limit: 10 })).points, []);
      const ok = await post(rows.slice(0, 100001).join('\n') + '\n', { format: 'csv' });
      I.assertIngest(ok, { accepted: 100000, duplicates: 0, rejected: [] });
      const cnt = await I.series(ctx.d, T, 'big', { from: BASE - HOUR, to: BASE + 2 * 86400 * SEC, bucket: '366d', agg: 'count' });
      assert.equal(cnt.points.reduce((a, p) => a + p[1], 0), 100000);
    });
  });

  // ---------------------------------------------------------------- duplicates

  describe('duplicates', () => {
    const A = Array.from({ length: 50 }, (_, i) => ({ sensor: 'dup-1', metric: 'level', ts: BASE + i * MIN, value: i + 0.5 }));

    test('re-sending the same batch: accepted 0, duplicates N (in any format)', async () => {
      I.assertIngest(await post(A), { accepted: 50, duplicates: 0, rejected: [] });
      I.assertIngest(await post(A), { accepted: 0, duplicates: 50, rejected: [] });
      I.assertIngest(await post(A, { format: 'ndjson' }), { accepted: 0, duplicates: 50, rejected: [] });
      I.assertIngest(await post(A, { format: 'csv' }), { accepted: 0, duplicates: 50, rejected: [] });
    });

    test('a reading repeated inside one batch (same instant, other offset, other value) counts once each way; the first value is kept', async () => {
      const t = BASE + 100 * MIN;
      const batch = [
        { sensor: 'dup-1', metric: 'level', ts: iso(t), value: 1 },
        { sensor: 'dup-1', metric: 'level', ts: iso(t + MIN), value: 2 },
        { sensor: 'dup-1', metric: 'level', ts: isoOffset(t, 9 * 60), value: 99 },
      ];
      I.assertIngest(await post(batch), { accepted: 2, duplicates: 1, rejected: [] });
      assert.deepEqual(await raw('dup-1', t, t + 2 * MIN), [[iso(t), 1], [iso(t + MIN), 2]]);
      // a later duplicate with another value does not overwrite the stored one
      I.assertIngest(await post([{ sensor: 'dup-1', metric: 'level', ts: isoOffset(t, -4 * 60), value: 42 }]), { accepted: 0, duplicates: 1 });
      assert.deepEqual(await raw('dup-1', t, t + 2 * MIN), [[iso(t), 1], [iso(t + MIN), 2]]);
    });

    test('a batch mixing new and already stored readings: the right split; every reading stored exactly once', async () => {
      const fresh = Array.from({ length: 10 }, (_, i) => ({ sensor: 'dup-1', metric: 'level', ts: BASE + (200 + i) * MIN, value: 0.5 - i }));
      const mixed = [];
      for (let i = 0; i < 10; i++) mixed.push(A[i * 5], fresh[i]);
      I.assertIngest(await post(mixed), { accepted: 10, duplicates: 10, rejected: [] });
      const pts = await raw('dup-1', BASE - HOUR, BASE + 24 * HOUR);
      assert.equal(pts.length, 50 + 2 + 10, 'stored once each');
      const want = [...A.map((r) => [iso(r.ts), r.value]), [iso(BASE + 100 * MIN), 1], [iso(BASE + 101 * MIN), 2], ...fresh.map((r) => [iso(r.ts), r.value])];
      assert.deepEqual(pts, want);
    });

    test('duplicates in a partial batch: rejected, duplicate and new readings are counted apart', async () => {
      const batch = [A[0], { sensor: 'dup-1', metric: 'level', ts: 'x', value: 1 }, { sensor: 'dup-1', metric: 'level', ts: BASE + 300 * MIN, value: 3 }];
      I.assertIngest(await post(batch), { accepted: 1, duplicates: 1, rejected: [1] });
    });

    test('only duplicates is not an error: 200 with accepted 0', async () => {
      I.assertIngest(await post([A[1], A[2]]), { accepted: 0, duplicates: 2, rejected: [] });
    });

    test('the same new batch posted 4 times concurrently is stored once: accepted sums to N, duplicates to 3N', async () => {
      const B = Array.from({ length: 200 }, (_, i) => ({ sensor: 'dup-2', metric: 'level', ts: BASE + i * SEC, value: i }));
      const rs = await Promise.all([0, 1, 2, 3].map(() => post(B)));
      const bs = rs.map((r) => I.assertIngest(r, { rejected: [] }));
      assert.equal(bs.reduce((a, b) => a + b.accepted, 0), 200, `accepted: ${bs.map((b) => b.accepted)}`);
      assert.equal(bs.reduce((a, b) => a + b.duplicates, 0), 600, `duplicates: ${bs.map((b) => b.duplicates)}`);
      const pts = await raw('dup-2', BASE - HOUR, BASE + HOUR);
      assert.deepEqual(pts, B.map((r) => [iso(r.ts), r.value]));
    });
  });

  // ---------------------------------------------------------------- roles

  describe('roles', () => {
    const tokens = {};
    before(async () => {
      for (const role of ['operator', 'analyst', 'welfare_officer', 'device']) {
        tokens[role] = (await h.createToken(ctx.d, role, `obs-${role}`)).token;
      }
      const bound = await h.createToken(ctx.d, 'device', 'obs-bound', { sensors: ['r-1', 'r-3'] });
      assert.deepEqual([...bound.sensors].sort(), ['r-1', 'r-3'], 'a bound token lists its sensors');
      tokens.bound = bound.token;
    });
    const r = (s, i, v = i) => ({ sensor: s, metric: 'level', ts: BASE + i * MIN, value: v });

    test('a device token that names no sensors writes nothing, and reads no series or latest values (403)', async () => {
      const res = await I.postObs(ctx.d, tokens.device, [r('r-2', 0), r('r-2', 1)]);
      h.assertInvalid(res, '/observations/0/sensor');
      assert.equal((await raw('r-2', BASE, BASE + 2 * MIN)).length, 0, 'nothing stored for r-2');
      for (const p of [
        `/api/v1/sensors/r-2/series?from=${iso(BASE)}&to=${iso(BASE + HOUR)}`,
        '/api/v1/sensors/r-2/latest', '/api/v1/latest', '/api/v1/sensors/r-2',
      ]) {
        h.assertProblem(await get(p, tokens.device), 403, 'forbidden');
      }
    });

    test('a device token bound to sensors: readings of other sensors are rejected, its own stored', async () => {
      const res = await I.postObs(ctx.d, tokens.bound, [r('r-1', 0), r('r-2', 10), r('r-3', 0), r('r-2', 11), r('r-1', 1)]);
      const b = I.assertIngest(res, { accepted: 3, duplicates: 0, rejected: [1, 3] });
      for (const x of b.rejected) assert.equal(x.error, 'unknown sensor "r-2"', JSON.stringify(x));
      assert.equal((await raw('r-2', BASE + 10 * MIN, BASE + 12 * MIN)).length, 0, 'nothing stored for r-2');
      assert.equal((await raw('r-1', BASE, BASE + HOUR)).length, 2);
      // only foreign sensors → 422; also in CSV
      h.assertInvalid(await I.postObs(ctx.d, tokens.bound, [r('r-2', 20)]), '/observations/0*');
      const csv = await I.postObs(ctx.d, tokens.bound, [r('r-2', 21), r('r-3', 21)], { format: 'csv' });
      I.assertIngest(csv, { accepted: 1, rejected: [0] });
      assert.equal((await raw('r-2', BASE + 20 * MIN, BASE + 22 * MIN)).length, 0, 'nothing stored for r-2');
    });

    test('"unknown sensor" and "not yours" look the same to a device: same status, error and pointer', async () => {
      const foreign = await I.postObs(ctx.d, tokens.bound, [{ sensor: 'r-2', metric: 'level', ts: BASE + 30 * MIN, value: 1 }]);
      const unknown = await I.postObs(ctx.d, tokens.bound, [{ sensor: 'r-none', metric: 'level', ts: BASE + 30 * MIN, value: 1 }]);
      assert.equal(foreign.status, unknown.status);
      const strip = (res, id) => JSON.stringify(res.json).replaceAll(id, 'ID');
      assert.equal(strip(foreign, 'r-2'), strip(unknown, 'r-none'));
    });

    test('a device token bound with `maeuld token create --role device --sensor ID` posts only that sensor', async () => {
      const env = h.daemonEnv(ctx.db);
      const out = await h.runMaeuld(['token', 'create', '--role', 'device', '--name', 'cli-device', '--sensor', 'r-3', '--config', h.CONFIG], env);
      assert.equal(out.code, 0, `token create: ${out.stderr}`);
      const tok = out.stdout.trim();
      assert.ok(tok.length >= 16 && !/\s/.test(tok), `one token on stdout: ${JSON.stringify(out.stdout)}`);
      const b = I.assertIngest(await I.postObs(ctx.d, tok, [r('r-3', 5), r('r-2', 5)], { format: 'ndjson' }), { accepted: 1, rejected: [1] });
      assert.equal(b.rejected[0].error, 'unknown sensor "r-2"');
    });

    test('operator, analyst and welfare_officer may not post (403); nothing stored', async () => {
      for (const role of ['operator', 'analyst', 'welfare_officer']) {
        const res = await I.postObs(ctx.d, tokens[role], [r('r-2', 30)]);
        h.assertProblem(res, 403, 'forbidden');
      }
      assert.equal((await raw('r-2', BASE + 30 * MIN, BASE + 31 * MIN)).length, 0);
    });

    test('no token, an unknown token → 401 with WWW-Authenticate', async () => {
      for (const tok of [undefined, 'not-a-token']) {
        const res = await I.postObs(ctx.d, tok, [r('r-2', 40)]);
        h.assertProblem(res, 401, 'unauthorized');
        assert.match(res.headers.get('www-authenticate') || '', /^Bearer/i);
      }
      for (const p of ['/api/v1/sensors/r-2/latest', '/api/v1/latest', `/api/v1/sensors/r-2/series?from=${iso(BASE)}&to=${iso(BASE + HOUR)}`]) {
        h.assertProblem(await h.request(ctx.d, 'GET', p), 401, 'unauthorized');
      }
      assert.equal((await raw('r-2', BASE + 40 * MIN, BASE + 41 * MIN)).length, 0);
    });

    test('readers: analyst reads series and latest; operator and welfare_officer read latest', async () => {
      I.assertIngest(await I.postObs(ctx.d, T, [r('r-2', 0), r('r-2', 1)]), { rejected: [] });
      const s = await I.series(ctx.d, tokens.analyst, 'r-2', { from: BASE, to: BASE + HOUR });
      assert.deepEqual(s.points, [[iso(BASE), 0], [iso(BASE + MIN), 1]]);
      for (const role of ['analyst', 'operator', 'welfare_officer']) {
        h.assertJson(await get('/api/v1/sensors/r-2/latest', tokens[role]), 200);
        h.assertJson(await get('/api/v1/latest', tokens[role]), 200);
      }
    });

    test('a revoked device token can no longer post', async () => {
      const t = await h.createToken(ctx.d, 'device', 'obs-revoked', { sensors: ['r-2'] });
      I.assertIngest(await I.postObs(ctx.d, t.token, [r('r-2', 50)]), { accepted: 1 });
      h.assertStatus(await h.request(ctx.d, 'DELETE', `/api/v1/tokens/${t.id}`, { token: T }), 204);
      h.assertProblem(await I.postObs(ctx.d, t.token, [r('r-2', 51)]), 401, 'unauthorized');
    });
  });

  // ---------------------------------------------------------------- latest

  describe('latest values', () => {
    const P = (s, m, i, v) => ({ sensor: s, metric: m, ts: BASE + i * MIN, value: v });

    test('GET /sensors/{id}/latest: newest ts per metric; metrics with no reading absent', async () => {
      I.assertIngest(await post([P('lt-1', 'power', 1, 10), P('lt-1', 'power', 3, 30), P('lt-1', 'power', 2, 20)]), { accepted: 3 });
      let b = h.assertJson(await get('/api/v1/sensors/lt-1/latest'), 200);
      assert.deepEqual(b, { sensor: 'lt-1', metrics: { power: { ts: iso(BASE + 3 * MIN), value: 30 } } });
      I.assertIngest(await post([P('lt-1', 'temp', 2, -4.5)]), { accepted: 1 });
      b = h.assertJson(await get('/api/v1/sensors/lt-1/latest'), 200);
      assert.deepEqual(b, {
        sensor: 'lt-1',
        metrics: { power: { ts: iso(BASE + 3 * MIN), value: 30 }, temp: { ts: iso(BASE + 2 * MIN), value: -4.5 } },
      });
    });

    test('an older reading arriving late does not replace the latest; a newer one does', async () => {
      I.assertIngest(await post([P('lt-1', 'power', 0, 999)]), { accepted: 1 });
      let b = h.assertJson(await get('/api/v1/sensors/lt-1/latest'), 200);
      assert.deepEqual(b.metrics.power, { ts: iso(BASE + 3 * MIN), value: 30 }, 'late older reading ignored');
      // in one batch: newest first, then older ones
      I.assertIngest(await post([P('lt-1', 'power', 9, 90), P('lt-1', 'power', 5, 50), P('lt-1', 'power', 4, 40)]), { accepted: 3 });
      b = h.assertJson(await get('/api/v1/sensors/lt-1/latest'), 200);
      assert.deepEqual(b.metrics.power, { ts: iso(BASE + 9 * MIN), value: 90 });
      // a duplicate of the latest with another value changes nothing
      I.assertIngest(await post([P('lt-1', 'power', 9, -1)]), { accepted: 0, duplicates: 1 });
      b = h.assertJson(await get('/api/v1/sensors/lt-1/latest'), 200);
      assert.deepEqual(b.metrics.power, { ts: iso(BASE + 9 * MIN), value: 90 });
      // a rejected reading changes nothing
      I.assertIngest(await post([P('lt-1', 'power', 20, 1), { ...P('lt-1', 'power', 30, 1), ts: 'x' }]), { accepted: 1, rejected: [1] });
      b = h.assertJson(await get('/api/v1/sensors/lt-1/latest'), 200);
      assert.deepEqual(b.metrics.power, { ts: iso(BASE + 20 * MIN), value: 1 });
      assert.deepEqual(b.metrics.temp, { ts: iso(BASE + 2 * MIN), value: -4.5 });
    });

    test('a sensor with no reading: 200 with no metrics; an unknown sensor: 404', async () => {
      const b = h.assertJson(await get('/api/v1/sensors/lt-empty/latest'), 200);
      assert.deepEqual(b, { sensor: 'lt-empty', metrics: {} });
      h.assertProblem(await get('/api/v1/sensors/no-such-sensor/latest'), 404, 'not-found');
    });

    test('GET /latest?domain=&zone=&kind= filters; items carry sensor, metric, ts, value, zone, domain', async () => {
      I.assertIngest(await post([P('lt-2', 'power', 7, 70), P('lt-2', 'power', 6, 60), P('lt-3', 'pm25', 8, 8.5)]), { accepted: 3 });
      const items = async (q) => {
        const b = h.assertJson(await get(`/api/v1/latest${q}`), 200);
        assert.ok(Array.isArray(b.items), 'items[]');
        return [...b.items].sort((x, y) => (x.sensor + x.metric < y.sensor + y.metric ? -1 : 1));
      };
      const lt1p = { sensor: 'lt-1', metric: 'power', ts: iso(BASE + 20 * MIN), value: 1, zone: 'lz-a', domain: 'energy' };
      const lt1t = { sensor: 'lt-1', metric: 'temp', ts: iso(BASE + 2 * MIN), value: -4.5, zone: 'lz-a', domain: 'energy' };
      const lt2 = { sensor: 'lt-2', metric: 'power', ts: iso(BASE + 7 * MIN), value: 70, zone: 'lz-b', domain: 'energy' };
      const lt3 = { sensor: 'lt-3', metric: 'pm25', ts: iso(BASE + 8 * MIN), value: 8.5, zone: 'lz-b', domain: 'environment' };
      assert.deepEqual(await items('?zone=lz-a'), [lt1p, lt1t]);
      assert.deepEqual(await items('?zone=lz-b'), [lt2, lt3]);
      assert.deepEqual(await items('?domain=energy'), [lt1p, lt1t, lt2]);
      assert.deepEqual(await items('?domain=environment&zone=lz-b'), [lt3]);
      assert.deepEqual(await items('?domain=energy&zone=lz-b'), [lt2]);
      assert.deepEqual(await items('?domain=welfare'), []);
      assert.deepEqual(await items('?kind=air'), [lt3]);
      const all = await items('');
      for (const x of [lt1p, lt1t, lt2, lt3]) assert.ok(all.some((y) => JSON.stringify(y) === JSON.stringify(x)), `unfiltered has ${x.sensor}/${x.metric}`);
      assert.ok(all.some((y) => y.sensor === 'dup-1' && y.zone === 'east' && y.domain === 'disaster'), 'unfiltered has the other sensors too');
      assert.ok(!all.some((y) => y.sensor === 'lt-empty'), 'a sensor with no reading has no item');
    });

    test('GET /latest with a bad domain → 422 naming the parameter', async () => {
      h.assertBadParam(await get('/api/v1/latest?domain=weather'), 'domain');
    });
  });
});
