'use strict';
// The transit screen (/transit) end to end, in Debian's chromium: the demo bus network imported through
// POST /api/v1/transit/gtfs, buses' positions posted through POST /api/v1/transit/positions (a history first,
// then live ones while the screen is open), the buses on the map and in the list with a bunching flag, the
// time-distance chart, today's performance figures equal to the API's, both languages, axe (WCAG 2.1 AA).

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { pathToFileURL } = require('node:url');
const H = require('./lib/harness.js');
const { axe, describeViolations, WCAG } = require('./lib/axe.js');

const ROOT = path.join(__dirname, '..', '..');
const esm = (p) => import(pathToFileURL(path.join(ROOT, p)).href);

async function pollUntil(what, fn, timeoutMs = 15000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    last = await fn();
    if (last && last.ok !== false) return last;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms (last: ${JSON.stringify(last)})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const rfc = (t) => new Date(t).toISOString();

describe('transit screen', { timeout: 900000 }, () => {
  let city; let browser; let base; let feed; let pointAlong; let shape; let trip;

  before(async () => {
    city = await H.startCity({ label: 'web_transit' });
    base = city.d.url;
    browser = await H.launch();
    const { gtfsZip, feedFiles } = await esm('config/demo/transit/zip.mjs');
    const gtfs = await esm('tools/sim/gtfs.mjs');
    feed = gtfs.readFeed(path.join(ROOT, 'config/demo/transit'));
    pointAlong = gtfs.pointAlong;
    trip = feed.routes.get('d1').trips.find((t) => t.dir === 0);
    shape = feed.shapes.get(trip.shape);
    const res = await fetch(`${base}/api/v1/transit/gtfs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${city.adminToken}`, 'content-type': 'application/zip' },
      body: gtfsZip(feedFiles(path.join(ROOT, 'config/demo/transit'))),
      signal: AbortSignal.timeout(120000),
    });
    const text = await res.text();
    assert.equal(res.status, 200, `POST /api/v1/transit/gtfs: ${text}`);
  }, { timeout: 300000 });

  after(async () => {
    try {
      if (browser) await browser.close();
    } finally {
      await H.stopCity(city);
    }
  });

  // Three buses of D1 (direction 0) over the 20 minutes before `now`, a position every 30 s: v1 at 6 m/s from
  // the first stop, v2 closing in on it (900 m behind at first, 100 m at the end: bunched), v3 5 km behind v1.
  function history(now) {
    const out = [];
    const t0 = now - 20 * 60e3;
    for (let t = t0; t <= now - 30e3; t += 30e3) out.push(...at(t, t0));
    return out;
  }
  function at(t, t0) {
    const s = (t - t0) / 1000;
    const d1 = 6 * s;
    const gap = 900 - 800 * (s / 1200);
    const list = [['web-v1', d1], ['web-v2', d1 - gap], ['web-v3', d1 - 5000]];
    return list.filter(([, d]) => d >= 0).map(([vehicle, d]) => {
      const [lon, lat] = pointAlong(shape, d);
      return { vehicle, route: 'd1', trip: trip.id, lon: Number(lon.toFixed(6)), lat: Number(lat.toFixed(6)), ts: rfc(t), occupancy: 0.4 };
    });
  }

  it('shows the buses live with a bunching flag, the time-distance chart and the API\'s figures, in Korean and English', { timeout: 300000 }, async () => {
    const now = Date.now();
    const t0 = now - 20 * 60e3;
    const posted = await H.api(city, 'POST', '/api/v1/transit/positions', { positions: history(now) }, 60000);
    assert.equal(posted.status, 200, posted.text);
    assert.ok(posted.json.accepted > 80, posted.text);

    const page = await H.newPage(browser, { width: 1366, height: 768 });
    try {
      await H.signIn(page, base, city.operatorToken);
      await page.goto(`${base}/transit?route=d1`);
      await page.waitForSelector('.view-transit h1');
      assert.equal((await page.textContent('.view-transit h1')).trim(), '버스 운행');
      assert.equal(await page.inputValue('#transit-route'), 'd1');
      await page.waitForSelector('#transit-performance [data-kpi="excess_wait_min"]');

      // Live: the positions of now reach the page through the live feed.
      await page.waitForSelector('#live-status[data-state="live"]', { timeout: 15000 });
      // Two positions each, 10 s apart, so the page sees which way each bus goes.
      for (const t of [Date.now() - 10e3, Date.now()]) {
        const r = await H.api(city, 'POST', '/api/v1/transit/positions', { positions: at(t, t0) });
        assert.equal(r.status, 200, r.text);
      }
      await page.waitForSelector('#transit-vehicles tr[data-vehicle="web-v3"]', { timeout: 10000 });
      await page.waitForSelector('#transit-vehicles tr[data-vehicle="web-v2"][data-bunched="true"]', { timeout: 5000 });
      const rows = await page.$$eval('#transit-vehicles tr[data-vehicle]', (els) => els.map((e) => [e.dataset.vehicle, e.dataset.bunched]));
      assert.deepEqual(Object.fromEntries(rows), { 'web-v1': 'true', 'web-v2': 'true', 'web-v3': 'false' });
      const markers = await page.$$eval('#transit-map [data-vehicle]', (els) => els.map((e) => e.getAttribute('data-vehicle')).sort());
      assert.deepEqual(markers, ['web-v1', 'web-v2', 'web-v3']);
      assert.equal(await page.$$eval('#transit-map .vehicle-bunched', (els) => els.length), 2);

      // Performance figures: what the page shows is what the API answers for the same window.
      await page.click('#transit-refresh');
      const from = await page.getAttribute('#transit-performance', 'data-from');
      const api = await H.api(city, 'GET', `/api/v1/transit/routes/d1/performance?from=${encodeURIComponent(from)}&to=${encodeURIComponent(rfc(Date.now()))}`);
      assert.equal(api.status, 200, api.text);
      assert.ok(api.json.bunching_events >= 0);
      await pollUntil('the figures of the API', async () => {
        const shown = await page.$$eval('#transit-performance [data-kpi]', (els) => Object.fromEntries(els.map((e) => [e.dataset.kpi, e.dataset.value])));
        const want = Object.fromEntries(['excess_wait_min', 'headway_cv', 'on_time_pct', 'bunching_events'].map((k) => [k, api.json[k] == null ? '' : String(api.json[k])]));
        return { ok: JSON.stringify(shown) === JSON.stringify(want), shown, want };
      });

      // The time-distance chart: the three buses and the arrivals the server derived.
      await pollUntil('the chart', async () => {
        const d = await page.$eval('#transit-marey', (e) => ({ v: Number(e.dataset.vehicles), a: Number(e.dataset.arrivals), canvas: !!e.querySelector('canvas') }));
        return { ok: d.v === 3 && d.canvas, ...d };
      });
      const hw = await H.api(city, 'GET', `/api/v1/transit/routes/d1/headways?from=${encodeURIComponent(from)}`);
      assert.equal(hw.status, 200, hw.text);
      const stopsWithHeadways = hw.json.stops.filter((s) => s.arrivals > 0).length;
      assert.equal(await page.$$eval('#transit-headways tr[data-stop]', (els) => els.length), stopsWithHeadways);
      // Tomorrow's plan beside today's timetable: one row per direction and period, as the API plans it.
      await page.waitForSelector('#transit-plan table tbody tr', { timeout: 20000 });
      const lead = await page.$eval('#transit-plan', (e) => e.previousElementSibling.textContent);
      const date = (lead.match(/\d{4}-\d{2}-\d{2}/) || [])[0];
      assert.ok(date, `the plan's date in "${lead}"`);
      const plan = await H.api(city, 'GET', `/api/v1/transit/routes/d1/plan?date=${date}`);
      assert.equal(plan.status, 200, plan.text);
      const want = plan.json.directions.flatMap((d) => d.periods.map((x) => [String(x.headway_min), x.scheduled_headway_min == null ? '' : String(x.scheduled_headway_min)]));
      assert.ok(want.length >= 2, plan.text);
      const shownPlan = await page.$$eval('#transit-plan tbody tr', (els) => els.map((e) => [e.dataset.headway, e.dataset.today]));
      assert.deepEqual(shownPlan, want);
      assert.ok(want.some(([, today]) => today !== ''), 'the timetable\'s headways are shown beside the plan');
      const planText = await page.textContent('#transit-plan');
      assert.match(planText, /권장 간격/);
      assert.match(planText, /오전 첨두/);
      if (plan.json.basis === 'no_history') assert.ok(await page.$('#transit-plan [data-state="no-history"]'));
      await H.shot(page, 'transit-ko-1366x768');

      let vs = await axe(page, { tags: WCAG, include: '.view-transit' });
      assert.deepEqual(vs, [], `axe (ko): ${describeViolations(vs)}`);

      await page.click('#lang-toggle');
      await pollUntil('English', async () => ({ ok: (await page.textContent('.view-transit h1').catch(() => '')).trim() === 'Bus operations' }));
      await page.waitForSelector('#transit-vehicles tr[data-vehicle="web-v1"]');
      await page.waitForSelector('#transit-performance [data-kpi="excess_wait_min"]');
      assert.match(await page.textContent('#transit-performance'), /Excess wait time/);
      await page.waitForSelector('#transit-plan table tbody tr');
      assert.match(await page.textContent('#transit-plan'), /Recommended headway[\s\S]*AM peak/);
      vs = await axe(page, { tags: WCAG, include: '.view-transit' });
      assert.deepEqual(vs, [], `axe (en): ${describeViolations(vs)}`);
      await H.shot(page, 'transit-en-1366x768');
      assert.deepEqual(page.errors, []);
    } finally {
      await page.context().close();
    }
  });
});
