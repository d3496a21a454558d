'use strict';
// Time series: GET /api/v1/sensors/{id}/series — raw mode (order, [from, to), limit), buckets aligned to
// the epoch in UTC with every aggregate, checked against an independent computation over seeded random
// readings spread over ~3 days (across a month boundary); late readings; bad parameters; metric choice.
// Contract: shared/API.md §5; docs/api-notes.md "Observations".

const { describe, test, before } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/harness');
const I = require('./lib/ingest-helpers');

const { SEC, MIN, HOUR, DAY, iso, isoOffset } = I;
const SEED = Number(process.env.MAEUL_TEST_SEED || 20260131);
const AGGS = ['avg', 'min', 'max', 'sum', 'count', 'last'];
const BUCKETS = ['30s', '5m', '1h', '1d', '90s', '7m', '3h'];

// ~3 days around the end of January 2026 (the UTC month boundary, and the Asia/Seoul one 9 h before it).
const START = Date.UTC(2026, 0, 30, 6, 17, 23, 456);
const SPAN = 3 * DAY;
const END = START + SPAN;
// query bounds aligned to neither hours, minutes nor seconds
const FROM_U = START + 2 * HOUR + 7 * MIN + 13 * SEC + 250;
const TO_U = END - 2 * HOUR - 52 * MIN - 46 * SEC - 750;

describe('series', () => {
  const ctx = h.useDaemon('series');
  let T;
  const rand = I.rng(SEED);
  const stored = []; // {t, value} of sensor "ser", everything acknowledged
  const used = new Set();

  const get = (p) => h.request(ctx.d, 'GET', p, { token: T });
  const seriesOf = (sensor, params) => I.series(ctx.d, T, sensor, params);

  // a fresh random time in [lo, hi) not used before, in ms
  function freshTime(lo, hi) {
    for (;;) {
      const t = lo + Math.floor(rand() * (hi - lo));
      if (!used.has(t)) { used.add(t); return t; }
    }
  }
  const randValue = () => Math.round((rand() * 200 - 100) * 1000) / 1000;
  const offsets = [0, 9 * 60, -(3 * 60 + 30), 5 * 60 + 45];

  // posts readings of "ser" in shuffled batches of mixed formats and offsets; returns total accepted/duplicates
  async function postShuffled(readings, batchSize = 700) {
    const rs = [...readings];
    for (let i = rs.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [rs[i], rs[j]] = [rs[j], rs[i]];
    }
    let accepted = 0;
    let duplicates = 0;
    for (let i = 0, k = 0; i < rs.length; i += batchSize, k++) {
      const batch = rs.slice(i, i + batchSize).map((r) => ({
        sensor: 'ser', metric: 'level', ts: isoOffset(r.t, offsets[Math.floor(rand() * offsets.length)]), value: r.value,
      }));
      const format = ['json', 'ndjson', 'csv'][k % 3];
      const b = I.assertIngest(await I.postObs(ctx.d, T, batch, { format }), { rejected: [] }, `batch ${k} (${format})`);
      accepted += b.accepted;
      duplicates += b.duplicates;
    }
    return { accepted, duplicates };
  }

  async function compareAll(label, bounds) {
    for (const bucket of BUCKETS) {
      for (const agg of AGGS) {
        const b = await seriesOf('ser', { from: bounds.from, to: bounds.to, bucket, agg });
        assert.equal(b.sensor, 'ser');
        assert.equal(b.metric, 'level');
        assert.equal(b.bucket, bucket);
        assert.equal(b.agg, agg);
        I.assertPoints(b.points, I.expectedBuckets(stored, { ...bounds, bucket, agg }),
          `${label}: bucket=${bucket} agg=${agg} from=${iso(bounds.from)} to=${iso(bounds.to)} (seed ${SEED})`);
      }
    }
  }

  before(async () => {
    T = ctx.d.bootstrapToken;
    await I.makeSensor(ctx.d, 'ser');
    await I.makeSensor(ctx.d, 'ser-many');
    await I.makeSensor(ctx.d, 'mb');
    await I.makeSensor(ctx.d, 'recent');
    await I.makeSensor(ctx.d, 'multi', { metrics: [{ name: 'pm25', unit: 'ug/m3' }, { name: 'pm10', unit: 'ug/m3' }] });
    // 3600 readings spread over the 3 days, plus a dense cluster (600 in 10 minutes) so that small buckets
    // hold many readings; a few exactly on bucket edges and at the range ends.
    const readings = [];
    for (let i = 0; i < 3600; i++) readings.push({ t: freshTime(START, END), value: randValue() });
    const c0 = Date.UTC(2026, 0, 31, 14, 55, 0); // spans 15:00Z = 00:00 in Seoul on Feb 1
    for (let i = 0; i < 600; i++) readings.push({ t: freshTime(c0, c0 + 10 * MIN), value: randValue() });
    for (const t of [Date.UTC(2026, 1, 1), Date.UTC(2026, 1, 1) - 1, Date.UTC(2026, 0, 31, 15), Date.UTC(2026, 0, 31, 12, 30),
      Date.UTC(2026, 0, 31, 12, 30, 30), FROM_U, FROM_U - 1, TO_U, TO_U - 1, START, END - 1]) {
      if (!used.has(t)) { used.add(t); readings.push({ t, value: randValue() }); }
    }
    const r = await postShuffled(readings);
    assert.equal(r.accepted, readings.length, 'every reading accepted');
    assert.equal(r.duplicates, 0);
    stored.push(...readings);
  });

  describe('raw points', () => {
    const sortedStored = () => [...stored].sort((a, b) => a.t - b.t).map((r) => [iso(r.t), r.value]);

    test('oldest first; without limit at most 1000', async () => {
      const b = await seriesOf('ser', { from: START, to: END });
      assert.equal(b.sensor, 'ser');
      assert.equal(b.metric, 'level');
      assert.deepEqual(b.points, sortedStored().slice(0, 1000));
    });

    test('limit=7 → the 7 oldest; limit=10000 → all of them, exact values', async () => {
      assert.deepEqual((await seriesOf('ser', { from: START, to: END, limit: 7 })).points, sortedStored().slice(0, 7));
      assert.deepEqual((await seriesOf('ser', { from: START, to: END, limit: 10000 })).points, sortedStored());
    });

    test('[from, to): from included, to excluded, to the millisecond', async () => {
      const all = sortedStored();
      const from = Date.parse(all[100][0]);
      const to = Date.parse(all[160][0]);
      assert.deepEqual((await seriesOf('ser', { from, to, limit: 10000 })).points, all.slice(100, 160));
      assert.deepEqual((await seriesOf('ser', { from: from + 1, to: to + 1, limit: 10000 })).points, all.slice(101, 161));
      // offsets in the query parameters mean the same instants
      const q = `?from=${encodeURIComponent(isoOffset(from, 9 * 60))}&to=${encodeURIComponent(isoOffset(to, -7 * 60))}&limit=10000`;
      const res = h.assertJson(await get(`/api/v1/sensors/ser/series${q}`), 200);
      assert.deepEqual(res.points, all.slice(100, 160));
    });

    test('more than 10000 stored: limit=10000 gives 10000, the default 1000', async () => {
      const base = Date.UTC(2026, 2, 1);
      const rows = ['sensor,metric,ts,value'];
      for (let i = 0; i < 12000; i++) rows.push(`ser-many,level,${iso(base + i * SEC)},${i}`);
      I.assertIngest(await I.postObs(ctx.d, T, rows.join('\n'), { format: 'csv' }), { accepted: 12000 });
      const max = await seriesOf('ser-many', { from: base, to: base + DAY, limit: 10000 });
      assert.equal(max.points.length, 10000);
      assert.deepEqual(max.points[9999], [iso(base + 9999 * SEC), 9999]);
      const def = await seriesOf('ser-many', { from: base, to: base + DAY });
      assert.equal(def.points.length, 1000);
      assert.deepEqual(def.points[0], [iso(base), 0]);
      assert.deepEqual(def.points[999], [iso(base + 999 * SEC), 999]);
    });

    test('limit outside 1..10000 or not an integer → 422 naming limit', async () => {
      for (const limit of ['0', '10001', '-1', 'abc', '1.5', '']) {
        const res = await get(`/api/v1/sensors/ser/series?from=${iso(START)}&to=${iso(END)}&limit=${limit}`);
        h.assertBadParam(res, 'limit');
      }
    });
  });

  describe('buckets', () => {
    test('every bucket size and aggregate over unaligned from/to matches an independent computation', async () => {
      await compareAll('unaligned', { from: FROM_U, to: TO_U });
    });

    test('the whole range, and a range that ends exactly on bucket edges', async () => {
      await compareAll('whole', { from: START - DAY, to: END + DAY });
      for (const agg of AGGS) {
        const bounds = { from: Date.UTC(2026, 0, 31, 0, 0, 0), to: Date.UTC(2026, 1, 1, 0, 0, 0) };
        const b = await seriesOf('ser', { ...bounds, bucket: '1h', agg });
        I.assertPoints(b.points, I.expectedBuckets(stored, { ...bounds, bucket: '1h', agg }), `aligned 1h ${agg}`);
        assert.ok(b.points.length > 20 && b.points.length <= 24, `24 hourly buckets at most: ${b.points.length}`);
      }
    });

    test('buckets are aligned to the Unix epoch in UTC (1d at 00:00Z, not the city midnight; 7d on Thursdays)', async () => {
      const b = await seriesOf('ser', { from: FROM_U, to: TO_U, bucket: '1d', agg: 'count' });
      assert.ok(b.points.length >= 3);
      for (const [t] of b.points) assert.match(t, /T00:00:00\.000Z$/, `1d bucket at UTC midnight: ${t}`);
      const w = await seriesOf('ser', { from: START - 10 * DAY, to: END + 10 * DAY, bucket: '7d', agg: 'count' });
      for (const [t] of w.points) assert.equal(new Date(t).getUTCDay(), 4, `7d buckets start on Thursdays like the epoch: ${t}`);
      I.assertPoints(w.points, I.expectedBuckets(stored, { from: START - 10 * DAY, to: END + 10 * DAY, bucket: '7d', agg: 'count' }), '7d count');
      const m = await seriesOf('ser', { from: FROM_U, to: TO_U, bucket: '5m', agg: 'count' });
      for (const [t] of m.points) assert.equal(Date.parse(t) % (5 * MIN), 0, `5m bucket at a multiple of 5 min: ${t}`);
    });

    test('agg defaults to avg; empty buckets are omitted', async () => {
      const b = await seriesOf('ser', { from: FROM_U, to: TO_U, bucket: '30s' });
      assert.equal(b.agg, 'avg');
      const want = I.expectedBuckets(stored, { from: FROM_U, to: TO_U, bucket: '30s', agg: 'avg' });
      I.assertPoints(b.points, want, 'default agg');
      assert.ok(want.length < (TO_U - FROM_U) / (30 * SEC) / 2, 'most 30 s buckets are empty, so omission is tested');
    });

    test('late and out-of-order readings (and duplicates) posted afterwards change the buckets', async () => {
      // probe one 1h bucket before and after, so a stale rollup cannot pass by accident
      const hb = Date.UTC(2026, 0, 31, 14, 0, 0);
      const before1h = await seriesOf('ser', { from: hb, to: hb + HOUR, bucket: '1h', agg: 'max' });
      const late = [];
      for (let i = 0; i < 400; i++) late.push({ t: freshTime(START, END), value: randValue() });
      const c0 = Date.UTC(2026, 0, 31, 14, 55, 0);
      for (let i = 0; i < 50; i++) late.push({ t: freshTime(c0, c0 + 10 * MIN), value: randValue() });
      late.push({ t: freshTime(hb, hb + HOUR), value: 1000 }); // new max of that hour
      late.push({ t: freshTime(START, END), value: -1000 });
      late.push({ t: freshTime(START, START + HOUR), value: 500 });
      // 40 duplicates of stored readings with other values: must not count
      const dups = [];
      for (let i = 0; i < 40; i++) {
        const s = stored[Math.floor(rand() * stored.length)];
        if (!dups.some((x) => x.t === s.t)) dups.push({ t: s.t, value: s.value + 1 });
      }
      const r = await postShuffled([...late, ...dups], 150);
      assert.equal(r.accepted, late.length);
      assert.equal(r.duplicates, dups.length);
      stored.push(...late);
      const after1h = await seriesOf('ser', { from: hb, to: hb + HOUR, bucket: '1h', agg: 'max' });
      assert.notDeepEqual(after1h.points, before1h.points, 'the hour bucket changed');
      assert.deepEqual(after1h.points, [[iso(hb), 1000]]);
      await compareAll('after late readings (unaligned)', { from: FROM_U, to: TO_U });
      await compareAll('after late readings (whole)', { from: START - DAY, to: END + DAY });
      const rawAll = await I.rawAll(ctx.d, T, 'ser', { from: START, to: END });
      assert.equal(rawAll.length, stored.length, 'raw count: every reading stored once');
      // and the answers stay the same once the compactor has folded the late readings into the rollups
      await I.rollupsFolded(ctx.db, { what: 'after the late readings' });
      await compareAll('after the compactor folded the late readings', { from: FROM_U, to: TO_U });
    });

    test('across month and year boundaries', async () => {
      const pts = [
        [Date.UTC(2025, 11, 31, 23, 59, 59, 999), 1], [Date.UTC(2026, 0, 1), 2],
        [Date.UTC(2026, 0, 31, 14, 59, 59, 999), 4], [Date.UTC(2026, 0, 31, 15), 8],
        [Date.UTC(2026, 0, 31, 23, 59, 59, 999), 16], [Date.UTC(2026, 1, 1), 32], [Date.UTC(2026, 1, 28, 23, 30), 64],
        [Date.UTC(2026, 2, 1, 0, 30), 128],
      ];
      I.assertIngest(await I.postObs(ctx.d, T, pts.map(([t, value]) => ({ sensor: 'mb', metric: 'level', ts: isoOffset(t, 9 * 60), value }))),
        { accepted: pts.length });
      const readings = pts.map(([t, value]) => ({ t, value }));
      const from = Date.UTC(2025, 11, 30);
      const to = Date.UTC(2026, 2, 3);
      const raw = await seriesOf('mb', { from, to });
      assert.deepEqual(raw.points, pts.map(([t, v]) => [iso(t), v]));
      for (const bucket of ['1d', '1h', '30d', '366d', '5m']) {
        for (const agg of ['sum', 'count', 'last']) {
          const b = await seriesOf('mb', { from, to, bucket, agg });
          I.assertPoints(b.points, I.expectedBuckets(readings, { from, to, bucket, agg }), `mb ${bucket} ${agg}`);
        }
      }
      const d = await seriesOf('mb', { from, to, bucket: '1d', agg: 'sum' });
      assert.deepEqual(d.points, [
        ['2025-12-31T00:00:00.000Z', 1], ['2026-01-01T00:00:00.000Z', 2], ['2026-01-31T00:00:00.000Z', 28],
        ['2026-02-01T00:00:00.000Z', 32], ['2026-02-28T00:00:00.000Z', 64], ['2026-03-01T00:00:00.000Z', 128],
      ]);
      // a range that starts and ends inside months, cutting buckets
      const cut = await seriesOf('mb', { from: Date.UTC(2026, 0, 31, 15), to: Date.UTC(2026, 1, 28, 23, 30), bucket: '1d', agg: 'sum' });
      assert.deepEqual(cut.points, [['2026-01-31T00:00:00.000Z', 24], ['2026-02-01T00:00:00.000Z', 32]]);
    });
  });

  describe('parameters', () => {
    const q = (s) => get(`/api/v1/sensors/ser/series?from=${iso(START)}&to=${iso(END)}&${s}`);

    test('a bad bucket → 422 naming bucket', async () => {
      for (const b of ['0s', '5x', '5', '-5m', '367d', '1.5h', 'm', '5 m', '1w', '9999999999999999999999d']) {
        h.assertBadParam(await q(`bucket=${encodeURIComponent(b)}&agg=avg`), 'bucket');
      }
      h.assertStatus(await q('bucket=366d&agg=avg'), 200, '366 d is allowed');
    });

    test('more than 100000 buckets → 422', async () => {
      const res = await q('bucket=1s&agg=count'); // 259200 buckets
      const b = h.assertProblem(res, 422, 'invalid');
      assert.ok(Array.isArray(b.errors) && b.errors.some((e) => ['bucket', 'from', 'to'].includes(e.parameter)), res.text);
      h.assertStatus(await get(`/api/v1/sensors/ser/series?from=${iso(START)}&to=${iso(START + 100000 * SEC)}&bucket=1s&agg=count`), 200, '100000 buckets are allowed');
    });

    test('a bad agg → 422 naming agg', async () => {
      for (const a of ['median', 'avg,max', 'p95', '']) h.assertBadParam(await q(`bucket=5m&agg=${a}`), 'agg');
    });

    test('a bad from or to → 422 naming it', async () => {
      for (const bad of ['yesterday', '2026-01-30T00:00:00', '2026-01-30', '2026-13-01T00:00:00Z', '2026-02-30T00:00:00Z', '1769700000']) {
        h.assertBadParam(await get(`/api/v1/sensors/ser/series?from=${encodeURIComponent(bad)}&to=${iso(END)}`), 'from');
        h.assertBadParam(await get(`/api/v1/sensors/ser/series?from=${iso(START)}&to=${encodeURIComponent(bad)}`), 'to');
      }
    });

    test('from after to → 422', async () => {
      const res = await get(`/api/v1/sensors/ser/series?from=${iso(END)}&to=${iso(START)}&bucket=1h`);
      const b = h.assertProblem(res, 422, 'invalid');
      assert.ok(Array.isArray(b.errors) && b.errors.some((e) => e.parameter === 'from' || e.parameter === 'to'), res.text);
    });

    test('unknown sensor → 404', async () => {
      h.assertProblem(await get(`/api/v1/sensors/no-such/series?from=${iso(START)}&to=${iso(END)}`), 404, 'not-found');
    });

    test('a sensor with several metrics requires metric; each metric has its own series', async () => {
      const t0 = Date.UTC(2026, 0, 20, 10);
      const rs = [];
      for (let i = 0; i < 6; i++) {
        rs.push({ sensor: 'multi', metric: 'pm25', ts: t0 + i * MIN, value: i });
        rs.push({ sensor: 'multi', metric: 'pm10', ts: t0 + i * MIN, value: 100 + i });
      }
      I.assertIngest(await I.postObs(ctx.d, T, rs), { accepted: 12 });
      const base = `/api/v1/sensors/multi/series?from=${iso(t0)}&to=${iso(t0 + HOUR)}`;
      h.assertBadParam(await get(base), 'metric');
      h.assertBadParam(await get(base + '&bucket=1h&agg=sum'), 'metric');
      const unknown = await get(base + '&metric=co2');
      assert.ok(unknown.status === 404 || unknown.status === 422, `unknown metric: ${h.describeRes(unknown)}`);
      if (unknown.status === 422) h.assertBadParam(unknown, 'metric');
      const p10 = await seriesOf('multi', { metric: 'pm10', from: t0, to: t0 + HOUR });
      assert.equal(p10.metric, 'pm10');
      assert.deepEqual(p10.points, [0, 1, 2, 3, 4, 5].map((i) => [iso(t0 + i * MIN), 100 + i]));
      const s25 = await seriesOf('multi', { metric: 'pm25', from: t0, to: t0 + HOUR, bucket: '1h', agg: 'sum' });
      assert.deepEqual(s25.points, [[iso(t0), 15]]);
      // metric may be given for a single-metric sensor too
      assert.ok((await seriesOf('ser', { metric: 'level', from: START, to: END, limit: 1 })).points.length === 1);
    });

    test('from and to default to the last 24 hours up to now', async () => {
      const now = Date.now();
      const rs = [1, 23, 25, 48].map((hAgo) => ({ sensor: 'recent', metric: 'level', ts: now - hAgo * HOUR, value: hAgo }));
      I.assertIngest(await I.postObs(ctx.d, T, rs), { accepted: 4 });
      const b = h.assertJson(await get('/api/v1/sensors/recent/series'), 200);
      assert.deepEqual(b.points.map((p) => p[1]), [23, 1]);
      const f = h.assertJson(await get(`/api/v1/sensors/recent/series?from=${iso(now - 30 * HOUR)}`), 200);
      assert.deepEqual(f.points.map((p) => p[1]), [25, 23, 1], 'to defaults to now');
    });
  });
});
