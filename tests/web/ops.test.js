'use strict';
// What an operator needs beside the queue (issue 15), in Debian's chromium: the map's own layers offline
// (zones, facilities with shelters and clinics, open incidents with their area, sensors) with a legend and
// switches, and a base map from web.tiles; KPI tiles honest about a period in progress, sparklines inside
// their tiles, the KPI explorer with whole periods and gaps; who is on shift in the header; the alarm tone
// on a critical alert. axe (WCAG 2.1 AA) on the map and the KPI screens in both languages.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const H = require('./lib/harness.js');
const { axe, describeViolations, WCAG } = require('./lib/axe.js');

describe('operator screens: map layers, honest KPIs, the shift and the alarm', { timeout: 900000 }, () => {
  let city; let browser; let base;

  before(async () => {
    city = await H.startCity({ label: 'web_ops' });
    base = city.d.url;
    browser = await H.launch();
    // The demo world's water-level rules would open alerts beside this test's own: retired first.
    const rules = await H.api(city, 'GET', '/api/v1/rules?limit=1000');
    assert.equal(rules.status, 200, rules.text);
    for (const r of rules.json.items.filter((x) => x.selector?.kind === 'water_level')) {
      const del = await H.api(city, 'DELETE', `/api/v1/rules/${encodeURIComponent(r.id)}`);
      assert.equal(del.status, 204, `delete ${r.id}: ${del.text}`);
    }
  }, { timeout: 180000 });

  after(async () => {
    try {
      if (browser) await browser.close();
    } finally {
      await H.stopCity(city);
    }
  });

  async function withPage(fn, opts = {}) {
    const page = await H.newPage(browser, opts);
    try {
      return await fn(page);
    } finally {
      await page.context().close();
    }
  }

  async function setLang(page, lang) {
    const now = await page.evaluate(() => document.documentElement.lang);
    if (now !== lang) {
      await page.click('#lang-toggle');
      await page.waitForFunction((l) => document.documentElement.lang === l, lang);
    }
  }

  it('draws what Maeul knows without a base map: zones, shelters and clinics, open incidents with their area; switches and legend', { timeout: 180000 }, async () => {
    const inc = await H.api(city, 'POST', '/api/v1/incidents', {
      category: 'flood', zone: 'cheongcho', location: { type: 'Point', coordinates: [128.5835, 38.1985] },
      reported_at: new Date().toISOString(), note: 'water over the inlet road',
    });
    assert.equal(inc.status, 201, inc.text);
    const facilities = await H.api(city, 'GET', '/api/v1/facilities?limit=1000');
    const shelters = facilities.json.items.filter((f) => f.category === 'shelter').length;
    const clinics = facilities.json.items.filter((f) => ['clinic', 'pharmacy'].includes(f.category)).length;
    assert.ok(shelters > 0 && clinics > 0, 'the demo world has shelters and clinics');

    await withPage(async (page) => {
      await H.signIn(page, base, city.operatorToken);
      await page.goto(`${base}/map`);
      await page.waitForSelector('.leaflet-interactive');
      await page.waitForSelector('#map[data-tiles="off"]');
      assert.match(await page.textContent('.leaflet-control-attribution'), /배경 지도 없음/);
      await page.waitForFunction((n) => document.querySelectorAll('.fac-icon.fac-shelter').length === n, shelters, { timeout: 10000 });
      assert.equal(await page.locator('.fac-icon.fac-clinic').count(), clinics, 'clinics and pharmacies');
      assert.equal(await page.locator('.fac-icon.fac-other').count(), 0, 'other facilities are off by default');
      await page.waitForSelector(`.inc-icon[data-incident="${inc.json.id}"]`, { timeout: 10000 });
      assert.equal(await page.locator('path.incident-area').count(), 1, 'the incident\'s area');
      // The legend names every layer; the switches turn them off and on.
      const legend = await page.textContent('#map-legend');
      for (const w of ['대피소', '의원·약국', '진행 중인 사건', '구역 경계', '긴급']) assert.ok(legend.includes(w), `legend has ${w}: ${legend}`);
      await page.uncheck('#layer-filter input[data-layer="shelter"]');
      await page.waitForFunction(() => document.querySelectorAll('.fac-icon.fac-shelter').length === 0);
      await page.check('#layer-filter input[data-layer="other"]');
      await page.waitForFunction(() => document.querySelectorAll('.fac-icon.fac-other').length > 0);
      await page.uncheck('#layer-filter input[data-layer="incidents"]');
      await page.waitForFunction(() => !document.querySelector('.inc-icon'));
      await page.uncheck('#layer-filter input[data-layer="zones"]');
      await page.check('#layer-filter input[data-layer="zones"]');
      await page.check('#layer-filter input[data-layer="shelter"]');
      await page.check('#layer-filter input[data-layer="incidents"]');
      await page.uncheck('#layer-filter input[data-layer="other"]');
      await page.waitForSelector('.inc-icon');
      await H.shot(page, 'map-layers-ko-1366x768');
      for (const lang of ['ko', 'en']) {
        await setLang(page, lang);
        await page.waitForSelector('.fac-icon.fac-shelter');
        const vs = await axe(page, { tags: WCAG });
        assert.deepEqual(vs, [], `map (${lang}): ${describeViolations(vs)}`);
      }
      assert.match(await page.textContent('#map-legend'), /Shelters/);
      await H.shot(page, 'map-layers-en-1366x768');
      assert.deepEqual(page.errors, [], 'no script errors');
    });
  });

  it('uses the base map named by web.tiles (served in index.html), with its attribution as text', { timeout: 120000 }, async () => {
    const db = H.e2e.createDatabase('web_tiles');
    const d = await H.e2e.startDaemon({
      db,
      env: {
        MAEUL_HTTP_WEB_ROOT: H.WEB_ROOT,
        MAEUL_WEB_TILES: 'https://tiles.example.test/base/{z}/{x}/{y}.png',
        MAEUL_WEB_TILES_ATTRIBUTION: '© Example <b>tiles</b>',
      },
    });
    try {
      await withPage(async (page) => {
        const asked = [];
        // No internet in tests: answer the tile requests with a 1x1 PNG and count them.
        const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64');
        await page.route('https://tiles.example.test/**', (r) => { asked.push(r.request().url()); r.fulfill({ status: 200, contentType: 'image/png', body: png }); });
        await H.signIn(page, d.url, d.bootstrapToken);
        await page.goto(`${d.url}/map`);
        await page.waitForSelector('#map[data-tiles="on"]');
        await page.waitForFunction(() => document.querySelectorAll('img.leaflet-tile').length > 0);
        const attribution = await page.textContent('.leaflet-control-attribution');
        assert.match(attribution, /© Example <b>tiles<\/b>/, 'the attribution is shown as text, not HTML');
        assert.ok(asked.length > 0 && asked.every((u) => /^https:\/\/tiles\.example\.test\/base\/\d+\/\d+\/\d+\.png$/.test(u)), `tile requests: ${asked.slice(0, 3)}`);
        assert.deepEqual(page.errors, [], 'no script errors');
      });
    } finally {
      await d.stop();
      H.e2e.dropDatabase(db);
    }
  });

  it('judges a period in progress against the part that has passed, keeps sparklines inside their tiles', { timeout: 120000 }, async () => {
    await withPage(async (page) => {
      await H.signIn(page, base, city.operatorToken);
      await page.waitForSelector('.kpi-tile');
      await page.waitForFunction(() => ![...document.querySelectorAll('.kpi-number')].some((n) => n.textContent === '…'), null, { timeout: 30000 });
      // Each tile's trend stays within the tile.
      const out = await page.evaluate(() => [...document.querySelectorAll('.kpi-tile')].map((tile) => {
        const r = tile.getBoundingClientRect();
        const s = tile.querySelector('.spark')?.getBoundingClientRect();
        return { id: tile.dataset.kpi, inside: !s || (s.left >= r.left - 0.5 && s.right <= r.right + 0.5 && s.top >= r.top - 0.5 && s.bottom <= r.bottom + 0.5) };
      }));
      assert.ok(out.length >= 5, 'tiles');
      assert.deepEqual(out.filter((o) => !o.inside), [], 'every sparkline inside its tile');
      // A monthly KPI in progress says how far into the month it is, and never "misses target" for it.
      const month = await page.evaluate(() => [...document.querySelectorAll('.kpi-tile')].map((t) => t.textContent));
      const withValue = month.filter((x) => /이번 달 \d+\/\d+일째/.test(x));
      for (const text of withValue) assert.doesNotMatch(text, /목표 미달(?!.*지금까지)/, `a month in progress is not called a miss: ${text}`);
      await H.shot(page, 'overview-kpis-ko-1366x768');
    });
  });

  it('KPI explorer: whole periods on the axis with their year, gaps where there are no values', { timeout: 120000 }, async () => {
    await withPage(async (page) => {
      await H.signIn(page, base, city.operatorToken);
      await page.goto(`${base}/kpis?kpi=sensor_availability`);
      await page.waitForSelector('#kx-period');
      await page.selectOption('#kx-period', 'month');
      // the monthly chart (not the weekly one it replaces)
      await page.waitForFunction(() => {
        const u = document.querySelector('#kpi-chart')?.maeulChart;
        return u && u.data[0].length > 1 && u.data[0][1] - u.data[0][0] > 27 * 86400;
      }, null, { timeout: 15000 });
      const c = await page.evaluate(() => {
        const u = document.querySelector('#kpi-chart').maeulChart;
        return { xs: u.data[0], ys: u.data.slice(1).map((s) => s.map((v) => (v == null ? null : v))), span: u.series.slice(1).map((s) => s.spanGaps), ticks: u.axes[0]._values };
      });
      // 730 days by month: about 25 months, one point per month, each a month after the one before.
      assert.ok(c.xs.length >= 24, `${c.xs.length} months on the axis`);
      for (let i = 1; i < c.xs.length; i++) {
        const gap = (c.xs[i] - c.xs[i - 1]) / 86400;
        assert.ok(gap >= 28 && gap <= 31, `months apart: ${gap} days`);
      }
      assert.ok(c.ys[0].some((v) => v === null), 'months without values are null (gaps)');
      assert.ok(c.ys[0].some((v) => v !== null), 'and this month has a value');
      assert.ok(c.span.every((x) => x === false), 'no line drawn across a gap');
      assert.ok(c.ticks.some((v) => /\d{4}/.test(v)), `the axis names the year: ${c.ticks}`);
      for (const lang of ['ko', 'en']) {
        await setLang(page, lang);
        await page.waitForSelector('#kpi-chart .uplot', { timeout: 15000 });
        const vs = await axe(page, { tags: WCAG });
        assert.deepEqual(vs, [], `KPI explorer (${lang}): ${describeViolations(vs)}`);
      }
      await H.shot(page, 'kpis-month-en-1366x768');
      assert.deepEqual(page.errors, [], 'no script errors');
    });
  });

  it('queue: alerts grouped by zone, the count says what it counts, a selection; axe in both languages', { timeout: 120000 }, async () => {
    const rule = await H.api(city, 'POST', '/api/v1/rules', {
      id: 'ops-queue', name: { ko: '높은 수위', en: 'High water' }, kind: 'threshold',
      selector: { kind: 'water_level', zone: 'station' }, metric: 'level', op: '>=', value: 2.5, severity: 'warning',
    });
    assert.equal(rule.status, 201, rule.text);
    const sensors = (await H.api(city, 'GET', '/api/v1/sensors?kind=water_level&zone=station')).json.items.map((x) => x.id);
    assert.ok(sensors.length >= 1);
    await H.postReadings(city, sensors.map((sensor) => ({ sensor, metric: 'level', ts: new Date().toISOString(), value: 2.8 })));
    await withPage(async (page) => {
      await H.signIn(page, base, city.operatorToken);
      await page.goto(`${base}/alerts?zone=station`);
      await page.waitForFunction((n) => document.querySelectorAll('tr.alert-row').length === n, sensors.length, { timeout: 10000 });
      assert.equal(await page.locator('tr.group-row').count(), 1, 'one group: the zone');
      await page.waitForFunction(() => /역세권/.test(document.querySelector('tr.group-row')?.textContent || ''), null, { timeout: 10000 });
      assert.match(await page.textContent('#alert-count'), new RegExp(`미확인 경보 ${sensors.length}건`));
      assert.equal(await page.isDisabled('#bulk-ack'), true);
      await page.check('tr.group-row input.pick-group');
      assert.match(await page.textContent('#bulk-ack'), new RegExp(`${sensors.length}건`));
      assert.equal(await page.isDisabled('#bulk-ack'), false);
      await page.click('tr.alert-row .rule-link');
      await page.waitForSelector('#assign-form');
      for (const lang of ['ko', 'en']) {
        await setLang(page, lang);
        await page.waitForSelector('tr.group-row');
        const vs = await axe(page, { tags: WCAG });
        const html = vs.length ? await page.evaluate((sel) => document.querySelector(sel)?.outerHTML, vs[0].targets[0]) : '';
        assert.deepEqual(vs, [], `queue (${lang}): ${describeViolations(vs)} ${html}`);
      }
      assert.match(await page.textContent('#alert-count'), new RegExp(`open alerts: ${sensors.length}`));
      await page.goto(`${base}/handover`);
      await page.waitForSelector('.handover-body > *');
      for (const lang of ['en', 'ko']) {
        await setLang(page, lang);
        await page.waitForSelector('.handover-body > *');
        const vs = await axe(page, { tags: WCAG });
        assert.deepEqual(vs, [], `handover (${lang}): ${describeViolations(vs)}`);
      }
      assert.deepEqual(page.errors, [], 'no script errors');
    });
  });

  it('shows who is on shift and sounds the alarm on a critical alert (and not when the bell is off)', { timeout: 120000 }, async () => {
    await H.createUser(city, { username: 'kim.op', role: 'operator', display_name: '김민지' });
    const rule = await H.api(city, 'POST', '/api/v1/rules', {
      id: 'ops-alarm', name: { ko: '대포 위험 수위', en: 'Daepo danger level' }, kind: 'threshold',
      selector: { sensor: 'wl-daepo-01' }, metric: 'level', op: '>=', value: 3.0, clear: 2.0, severity: 'critical',
    });
    assert.equal(rule.status, 201, rule.text);
    await withPage(async (page) => {
      await H.signInWithPassword(page, base, 'kim.op', H.PASSWORD);
      const who = await page.textContent('#who');
      assert.match(who, /김민지/);
      assert.match(who, /운영자|관제/);
      await page.waitForSelector('#live-status[data-state="live"]', { timeout: 10000 });
      assert.equal(await page.evaluate(() => window.maeulSound.played), 0);
      await H.postReadings(city, [{ sensor: 'wl-daepo-01', metric: 'level', ts: new Date().toISOString(), value: 3.4 }]);
      await page.waitForSelector('#crit-banner:not([hidden])', { timeout: 5000 });
      await page.waitForFunction(() => window.maeulSound.played === 1, null, { timeout: 3000 });
      const t0 = await page.evaluate(() => window.maeulSound.time);
      await page.waitForFunction((t) => window.maeulSound.state === 'running' && window.maeulSound.time > t + 0.1, t0, { timeout: 3000 });
      // Clear it, turn the bell off: the next critical alert is shown but not sounded.
      await H.postReadings(city, [{ sensor: 'wl-daepo-01', metric: 'level', ts: new Date(Date.now() + 1000).toISOString(), value: 1.0 }]);
      const open = await H.api(city, 'GET', '/api/v1/alerts?state=open&limit=100');
      for (const a of open.json.items.filter((x) => x.rule === 'ops-alarm')) await H.api(city, 'POST', `/api/v1/alerts/${a.id}/resolve`, { note: 'test' });
      await page.waitForSelector('#crit-banner[hidden]', { state: 'attached', timeout: 5000 });
      await page.click('#sound-toggle');
      assert.equal(await page.getAttribute('#sound-toggle', 'aria-pressed'), 'false');
      await H.postReadings(city, [{ sensor: 'wl-daepo-01', metric: 'level', ts: new Date(Date.now() + 2000).toISOString(), value: 3.5 }]);
      await page.waitForSelector('#crit-banner:not([hidden])', { timeout: 5000 });
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(await page.evaluate(() => window.maeulSound.played), 1, 'no tone with the bell off');
      assert.deepEqual(page.errors, [], 'no script errors');
    });
  });
});
