'use strict';
// The operator dashboard end to end, in Debian's chromium: sign-in, zones, a live reading, a critical alert
// acknowledged from the queue, both languages, the public page, layouts at 1366x768 and 1920x1080, and the
// live feed going offline and reconnecting by itself. Screenshots go to test-artifacts/web/.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const H = require('./lib/harness.js');

const { e2e } = H;

describe('operator dashboard', { timeout: 900000 }, () => {
  let city; let browser; let page; let base; let port;

  before(async () => {
    port = await e2e.closedPort();
    city = await H.startCity({ label: 'web', port });
    base = city.d.url;
    browser = await H.launch();
    page = await H.newPage(browser, { width: 1366, height: 768 });
  }, { timeout: 180000 });

  after(async () => {
    try {
      if (browser) await browser.close();
    } finally {
      await H.stopCity(city);
    }
  });

  it('serves the built dashboard with its CSP and immutable hashed assets', { timeout: 90000 }, async () => {
    const res = await e2e.request(city.d, 'GET', '/');
    e2e.assertStatus(res, 200);
    assert.match(res.contentType, /text\/html/);
    assert.match(res.headers.get('content-security-policy') || '', /default-src 'self'/);
    assert.doesNotMatch(res.text, /<script>(?!<\/script>)|<script(?![^>]*\bsrc=)[^>]*>/i, 'no inline script');
    const asset = /\/assets\/[^"']+\.js/.exec(res.text);
    assert.ok(asset, 'index.html loads a hashed script under /assets/');
    const js = await e2e.request(city.d, 'GET', asset[0]);
    e2e.assertStatus(js, 200);
    assert.match(js.headers.get('cache-control') || '', /immutable/);
    // A browser navigating to a client-side route (Accept: text/html) gets index.html.
    const route = await e2e.request(city.d, 'GET', '/alerts', { headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' } });
    e2e.assertStatus(route, 200, 'a client-side route gets index.html');
    assert.match(route.contentType, /text\/html/);
  });

  it('signs in with a display token kept in sessionStorage, never in the URL, and shows the five zones', { timeout: 90000 }, async () => {
    await page.goto(`${base}/`);
    await page.waitForURL(/\/login$/);
    await page.waitForSelector('input[name="username"]');
    await H.shot(page, 'login-1366x768');

    // The token form is one click away on the same page; a wrong token is refused with a message, and nothing is stored.
    await page.click('#token-toggle');
    await page.waitForSelector('input[name="token"]');
    assert.match(page.url(), /\/login\?with=token$/);
    await H.shot(page, 'login-token-1366x768');
    await page.fill('input[name="token"]', 'not-a-token-0000000000');
    await page.click('#token-form button[type="submit"]');
    await page.waitForSelector('#token-error:not([hidden])');
    assert.equal(await page.evaluate(() => sessionStorage.getItem('maeul.token')), null);

    await H.signIn(page, base, city.operatorToken);
    assert.ok(!page.url().includes(city.operatorToken), 'the token is not in the URL');
    assert.equal(await page.evaluate(() => sessionStorage.getItem('maeul.token')), city.operatorToken);
    assert.equal(await page.evaluate(() => localStorage.getItem('maeul.token')), null, 'not in localStorage');

    await page.waitForSelector('.zone-card[data-zone]');
    const zones = await page.$$eval('.zone-card[data-zone]', (els) => els.map((e) => e.dataset.zone).sort());
    assert.deepEqual(zones, ['cheongcho', 'daepo', 'downtown', 'seorak', 'station']);
    assert.equal(await page.getAttribute('html', 'lang'), 'ko', 'Korean by default');
    assert.match(await page.textContent('.zone-card[data-zone="downtown"]'), /원도심/);
    await page.waitForSelector('#live-status[data-state="live"]', { timeout: 10000 });
    await H.assertNoHorizontalOverflow(page, assert, 'overview 1366x768');
    await H.shot(page, 'overview-1366x768');
  });

  it('shows a reading posted through the API within 2 s (map, sensor panel, live)', { timeout: 90000 }, async (t) => {
    await page.goto(`${base}/map`);
    await page.waitForSelector('#live-status[data-state="live"]', { timeout: 10000 });
    // a click on the sensor's marker opens it
    await page.dispatchEvent('path.sensor-marker[data-sensor="wl-cheongcho-01"]', 'click');
    await page.waitForSelector('.sensor-panel[data-sensor="wl-cheongcho-01"] [data-metric="level"] .metric-value');
    assert.match(page.url(), /\/map\?sensor=wl-cheongcho-01$/);
    const value = 1.21 + Math.floor(Math.random() * 50) / 100; // a value nobody else sends (1.21..1.70)
    const shown = value.toFixed(2);
    const t0 = Date.now();
    await H.postReadings(city, [{ sensor: 'wl-cheongcho-01', metric: 'level', ts: new Date().toISOString(), value }]);
    await page.waitForFunction((text) => {
      const el = document.querySelector('.sensor-panel [data-metric="level"] .metric-value');
      return el && el.textContent.includes(text);
    }, shown, { timeout: 2000, polling: 50 });
    const elapsed = Date.now() - t0;
    assert.ok(elapsed <= 2000, `reading on screen after ${elapsed} ms`);
    t.diagnostic(`reading on screen ${elapsed} ms after the POST was sent`);
    await H.assertNoHorizontalOverflow(page, assert, 'map 1366x768');
    await H.shot(page, 'map-sensor-1366x768');
  });

  it('coalesces a burst of readings into a few renders a second', { timeout: 90000 }, async (t) => {
    await page.goto(`${base}/map`);
    await page.waitForSelector('#live-status[data-state="live"]', { timeout: 10000 });
    await page.waitForSelector('.leaflet-interactive');
    const sensors = ['wl-cheongcho-01', 'wl-cheongcho-02', 'wl-daepo-01', 'wl-seorak-01', 'wl-station-01'];
    const before = await page.evaluate(() => ({ ...window.maeulStats }));
    const t0 = Date.now();
    const base0 = Date.now() - 60000;
    // 20 requests of 250 readings each (5,000 readings), as fast as the server takes them
    await Promise.all(Array.from({ length: 20 }, (_, r) => H.postReadings(city, Array.from({ length: 250 }, (_, i) => ({
      sensor: sensors[i % sensors.length], metric: 'level', ts: new Date(base0 + (r * 250 + i) * 10).toISOString(), value: 0.5 + (i % 50) / 100,
    })))));
    // Every reading arrives, or the server says how many it folded into the latest values (a slow reader).
    const last = await page.waitForFunction((n) => {
      const s = window.maeulStats;
      return s.observations + s.coalesced >= n ? s : null;
    }, before.observations + before.coalesced + 5000, { timeout: 15000, polling: 100 }).then((h) => h.jsonValue());
    const seconds = (Date.now() - t0) / 1000;
    await page.waitForTimeout(400);
    const after = await page.evaluate(() => ({ ...window.maeulStats }));
    const renders = after.renders - before.renders;
    t.diagnostic(`${last.observations - before.observations} readings (+${last.coalesced - before.coalesced} coalesced by the server) in ${seconds.toFixed(1)} s → ${renders} renders`);
    assert.ok(renders <= Math.ceil(seconds * 4) + 2, `${renders} renders in ${seconds.toFixed(1)} s (at most 4 a second)`);
    assert.deepEqual(page.errors, [], 'no script errors');
  });

  it('draws attention to a critical alert at once and acknowledges it from the queue with a note', { timeout: 90000 }, async (t) => {
    const rule = await H.api(city, 'POST', '/api/v1/rules', {
      id: 'web-test-flood', name: { ko: '청초천 위험 수위', en: 'Cheongchocheon danger level' }, kind: 'threshold',
      selector: { sensor: 'wl-cheongcho-02' }, metric: 'level', op: '>=', value: 3.0, severity: 'critical',
    });
    assert.equal(rule.status, 201, `create rule: ${rule.text}`);

    await page.goto(`${base}/alerts`);
    await page.waitForSelector('#live-status[data-state="live"]', { timeout: 10000 });
    const t0 = Date.now();
    await H.postReadings(city, [{ sensor: 'wl-cheongcho-02', metric: 'level', ts: new Date().toISOString(), value: 3.62 }]);

    // The banner (on every screen) and the row in the queue.
    await page.waitForSelector('#crit-banner:not([hidden])', { timeout: 5000 });
    const banner = await page.textContent('#crit-banner');
    assert.match(banner, /긴급 경보/);
    assert.match(banner, /청초천 위험 수위/);
    const row = page.locator('tr.alert-row[data-severity="critical"][data-state="open"]').first();
    await row.waitFor({ timeout: 5000 });
    const elapsed = Date.now() - t0;
    assert.ok(elapsed <= 5000, `critical alert shown after ${elapsed} ms`);
    t.diagnostic(`critical alert in the banner and the queue ${elapsed} ms after the reading was sent`);
    await page.waitForFunction(() => document.title.includes('⚠'), null, { timeout: 3000 }); // the tab title too
    const rowText = await row.textContent();
    assert.match(rowText, /청초천 위험 수위/);
    assert.match(rowText, /wl-cheongcho-02/);
    assert.match(rowText, /청초호/, 'zone name');
    // Most severe first: the critical one is the first row.
    assert.equal(await page.locator('tr.alert-row').first().getAttribute('data-severity'), 'critical');
    const alertId = await row.getAttribute('data-alert');
    await H.shot(page, 'alerts-critical-1366x768');

    // Acknowledge it with a note, by keyboard in the dialog.
    await row.locator('[data-action="ack"]').click();
    const dialog = page.locator('dialog[open]');
    await dialog.waitFor();
    await dialog.locator('textarea[name="note"]').fill('현장 확인 요청 — 119 통보');
    await H.shot(page, 'alerts-ack-dialog-1366x768');
    await dialog.locator('[data-action="confirm-ack"]').click();
    await page.waitForSelector(`tr.alert-row[data-alert="${alertId}"][data-state="acknowledged"]`, { timeout: 5000 });
    await page.waitForSelector('#crit-banner[hidden]', { state: 'attached', timeout: 5000 });

    const stored = await H.api(city, 'GET', `/api/v1/alerts/${alertId}`);
    assert.equal(stored.status, 200, stored.text);
    assert.equal(stored.json.state, 'acknowledged');
    assert.ok(stored.json.acknowledged_at, 'acknowledged_at set');
    const events = await H.api(city, 'GET', `/api/v1/alerts/${alertId}/events`);
    assert.equal(events.status, 200, events.text);
    assert.ok(JSON.stringify(events.json).includes('현장 확인 요청'), `the note is in the audit trail: ${events.text}`);
    await H.assertNoHorizontalOverflow(page, assert, 'alerts 1366x768');
  });

  it('keeps an alert that opened while the alert list was on its way (a stale list does not erase it)', { timeout: 90000 }, async () => {
    const rule = await H.api(city, 'POST', '/api/v1/rules', {
      id: 'web-test-race', name: { ko: '청초천 경계 수위', en: 'Cheongchocheon warning level' }, kind: 'threshold',
      selector: { sensor: 'wl-cheongcho-01' }, metric: 'level', op: '>=', value: 2.5, severity: 'warning',
    });
    assert.equal(rule.status, 201, `create rule: ${rule.text}`);
    // Every list of open alerts the page asks for is read from the server at once, before the alert opens, and
    // handed to the page only later: the page sees the alert's event first and the list without it afterwards.
    const marker = { id: 987654321, rule: 'web-test-marker', rule_name: { ko: '표지', en: 'marker' }, kind: 'threshold',
      severity: 'info', state: 'open', sensor: 'wl-cheongcho-02', zone: 'cheongcho', domain: 'disaster', metric: 'level',
      value: 1, message: 'marker', opened_at: new Date().toISOString(), title: { ko: '표지', en: 'marker' } };
    let release;
    const held = new Promise((r) => { release = r; });
    let asked = 0;
    const hold = async (route) => {
      const response = await route.fetch();
      asked++;
      const body = await response.json();
      await held;
      body.items = [...(body.items || []), marker];
      await route.fulfill({ response, json: body });
    };
    await page.route(/\/api\/v1\/alerts\?state=open/, hold);
    try {
      await page.goto(`${base}/alerts`);
      await page.waitForSelector('#live-status[data-state="live"]', { timeout: 10000 });
      const deadline = Date.now() + 10000;
      while (asked === 0) {
        assert.ok(Date.now() < deadline, 'the page asks for the open alerts');
        await new Promise((r) => setTimeout(r, 50));
      }
      await H.postReadings(city, [{ sensor: 'wl-cheongcho-01', metric: 'level', ts: new Date().toISOString(), value: 2.8 }]);
      const row = 'tr.alert-row[data-severity="warning"]';
      let id;
      for (const until = Date.now() + 10000; !id; await new Promise((r) => setTimeout(r, 100))) {
        const res = await H.api(city, 'GET', '/api/v1/alerts?state=open&limit=100');
        id = res.json.items.find((a) => a.rule === 'web-test-race')?.id;
        assert.ok(id || Date.now() < until, 'the alert opens');
      }
      await page.waitForSelector(`${row}[data-alert="${id}"]`, { timeout: 5000 }); // from its live event
      release();
      await page.waitForSelector(`tr.alert-row[data-alert="${marker.id}"]`, { timeout: 5000 }); // the stale list is in
      assert.equal(await page.locator(`${row}[data-alert="${id}"]`).count(), 1, 'the alert is still in the queue');
    } finally {
      release();
      await page.unroute(/\/api\/v1\/alerts\?state=open/, hold);
      await H.api(city, 'DELETE', '/api/v1/rules/web-test-race');
    }
    // The marker was never on the server: the next list read drops it.
    await page.goto(`${base}/alerts`);
    await page.waitForSelector('#live-status[data-state="live"]', { timeout: 10000 });
    await page.waitForSelector(`tr.alert-row[data-alert="${marker.id}"]`, { state: 'detached', timeout: 10000 });
  });

  it('switches between Korean and English, and keeps the choice', { timeout: 90000 }, async () => {
    await page.goto(`${base}/`);
    await page.waitForSelector('.zone-card[data-zone]');
    assert.match(await page.textContent('nav.mainnav'), /종합 현황/);
    await page.click('#lang-toggle');
    await page.waitForFunction(() => document.documentElement.lang === 'en');
    assert.match(await page.textContent('nav.mainnav'), /Overview/);
    assert.match(await page.textContent('.zone-card[data-zone="downtown"]'), /Downtown/);
    await H.shot(page, 'overview-en-1366x768');
    await page.reload();
    await page.waitForSelector('.zone-card[data-zone]');
    assert.equal(await page.getAttribute('html', 'lang'), 'en', 'kept after a reload');
    await page.keyboard.press('Tab'); // keyboard reaches the language switch too
    await page.focus('#lang-toggle');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.documentElement.lang === 'ko');
    assert.match(await page.textContent('nav.mainnav'), /종합 현황/);
  });

  it('lays out without overflow at 1366x768 in both languages', { timeout: 90000 }, async () => {
    for (const lang of ['en', 'ko']) {
      await page.evaluate((l) => localStorage.setItem('maeul.lang', l), lang);
      for (const [p, name, sel] of [['/', 'overview', '.zone-card'], ['/map', 'map', '.leaflet-interactive'],
        ['/alerts', 'alerts', '.toolbar'], ['/incidents', 'incidents', '.incidents-layout'], ['/kpis', 'kpis', '.page-head']]) {
        await page.goto(`${base}${p}`);
        await page.waitForSelector(sel);
        await page.waitForTimeout(400);
        await H.assertNoHorizontalOverflow(page, assert, `${name} 1366x768 (${lang})`);
        if (lang === 'en' || name === 'incidents' || name === 'kpis') await H.shot(page, `${name}-${lang}-1366x768`);
      }
    }
    assert.deepEqual(page.errors, [], 'no script errors');
  });

  it('lays out without overflow at 1920x1080', { timeout: 90000 }, async () => {
    const big = await H.newPage(browser, { width: 1920, height: 1080 });
    try {
      await H.signIn(big, base, city.operatorToken);
      for (const [p, name, sel] of [['/', 'overview', '.zone-card'], ['/map', 'map', '.leaflet-interactive'],
        ['/alerts', 'alerts', '.toolbar'], ['/incidents', 'incidents', '.incidents-layout'], ['/kpis', 'kpis', '.page-head']]) {
        await big.goto(`${base}${p}`);
        await big.waitForSelector(sel);
        await big.waitForTimeout(600);
        await H.assertNoHorizontalOverflow(big, assert, `${name} 1920x1080`);
        await H.shot(big, `${name}-1920x1080`);
      }
      assert.deepEqual(big.errors, [], 'no script errors');
    } finally {
      await big.context().close();
    }
  });

  it('opens an incident, records the dispatch, and shows its timeline', { timeout: 90000 }, async () => {
    await page.goto(`${base}/incidents`);
    await page.waitForSelector('.incidents-layout');
    await page.click('.page-head .btn-primary');
    const dialog = page.locator('dialog[open]');
    await dialog.waitFor();
    await dialog.locator('#inc-cat').selectOption('flood');
    await dialog.locator('#inc-zone').selectOption('cheongcho');
    await dialog.locator('#inc-note').fill('아바이마을 앞 침수 신고');
    await dialog.locator('button[type="submit"]').click();
    await page.waitForSelector('.incident-card.active');
    await page.waitForSelector('.stepper li.done');
    await page.fill('#incident-note', '속초소방서 출동');
    await page.click('.step-form button[type="submit"]');
    await page.waitForFunction(() => document.querySelectorAll('.stepper li.done').length === 2, null, { timeout: 5000 });
    const timeline = await page.textContent('.incident-detail .timeline');
    assert.match(timeline, /아바이마을 앞 침수 신고/);
    assert.match(timeline, /속초소방서 출동/);
    await H.shot(page, 'incident-timeline-1366x768');
  });

  it('downloads a KPI as CSV from the KPI explorer', { timeout: 90000 }, async () => {
    await page.goto(`${base}/kpis`);
    await page.waitForSelector('#kx-csv');
    const [download] = await Promise.all([page.waitForEvent('download', { timeout: 15000 }), page.click('#kx-csv')]);
    assert.match(download.suggestedFilename(), /\.csv$/);
    const file = await download.path();
    const text = require('node:fs').readFileSync(file, 'utf8');
    assert.match(text.split(/\r?\n/)[0], /^kpi,zone,start,value,target$/, `CSV header: ${text.slice(0, 200)}`);
    assert.ok(!page.url().includes(city.operatorToken), 'the token stays out of URLs');
  });

  it('shows the public transparency page without signing in', { timeout: 90000 }, async () => {
    const anon = await H.newPage(browser, { width: 1366, height: 768 });
    try {
      await anon.goto(`${base}/transparency`);
      await anon.waitForSelector('h1');
      assert.match(await anon.textContent('h1'), /투명성 보고서/);
      assert.equal(await anon.evaluate(() => sessionStorage.getItem('maeul.token')), null);
      // The KPI figures and the budget report (a route answering 404 would show "not available yet").
      await anon.waitForSelector('.public-table');
      await anon.waitForSelector('.programs');
      await H.shot(anon, 'public-1366x768');
      assert.deepEqual(anon.errors, [], 'no script errors');
    } finally {
      await anon.context().close();
    }
  });

  it('opens a sensor from the list by keyboard alone', { timeout: 90000 }, async () => {
    await page.goto(`${base}/map`);
    await page.waitForSelector('.sensor-item[data-sensor]');
    await page.focus('.map-side input[type="search"]');
    await page.keyboard.type('wl-daepo-01');
    await page.waitForFunction(() => document.querySelectorAll('.sensor-item[data-sensor]').length === 1);
    await page.keyboard.press('Tab'); // the first domain checkbox
    // past the domain checkboxes (four for an operator: welfare sensors are not theirs to see)
    const boxes = await page.locator('.domain-filter input[type="checkbox"]').count();
    assert.equal(boxes, 4, 'disaster, mobility, energy, environment');
    for (let i = 0; i < boxes; i++) await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.dataset?.sensor), 'wl-daepo-01', 'the list is next in the tab order');
    await page.keyboard.press('Enter');
    await page.waitForSelector('.sensor-panel[data-sensor="wl-daepo-01"]');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'sensor-title', 'focus moves to the opened sensor');
    await page.keyboard.press('Escape');
    await page.waitForSelector('.sensor-panel', { state: 'detached' });
    assert.equal(await page.evaluate(() => document.activeElement?.dataset?.sensor), 'wl-daepo-01', 'focus returns to the list');
    await page.fill('.map-side input[type="search"]', '');
  });

  it('degrades on its own when the server lacks a feature: polling without a live feed, "not available yet" without KPIs', { timeout: 90000 }, async (t) => {
    const p = await H.newPage(browser, { width: 1366, height: 768 });
    const ctx = p.context();
    try {
      // Pretend to be a server without /api/v1/live and /api/v1/kpis.
      const notFound = (route) => route.fulfill({
        status: 404, contentType: 'application/problem+json',
        body: JSON.stringify({ type: 'https://maeul.city/problems/not-found', title: 'Not found', status: 404, detail: 'no such resource' }),
      });
      await p.route('**/api/v1/live*', notFound);
      await p.route('**/api/v1/kpis*', notFound);
      await p.route('**/public/v1/kpis*', notFound);
      if (typeof p.routeWebSocket === 'function') await p.routeWebSocket(/\/api\/v1\/live/, (ws) => ws.close());
      await H.signIn(p, base, city.operatorToken);
      await p.waitForSelector('#live-status[data-state="polling"]', { timeout: 15000 });
      await p.waitForSelector('#kpis .placeholder[data-state="not-available"]', { timeout: 10000 });
      await p.goto(`${base}/map?sensor=wl-seorak-01`);
      await p.waitForSelector('.sensor-panel [data-metric="level"]');
      await p.waitForSelector('#live-status[data-state="polling"]', { timeout: 15000 });
      const t0 = Date.now();
      await H.postReadings(city, [{ sensor: 'wl-seorak-01', metric: 'level', ts: new Date().toISOString(), value: 0.642 }]);
      await p.waitForFunction(() => document.querySelector('.sensor-panel [data-metric="level"] .metric-value')?.textContent.includes('0.642'),
        null, { timeout: 8000 });
      t.diagnostic(`without a live feed the reading showed after ${Date.now() - t0} ms (polling every 5 s)`);
      await H.shot(p, 'degraded-polling-1366x768');
      assert.deepEqual(p.errors, [], 'no script errors');
    } finally {
      await ctx.close();
    }
  });

  it('shows when it is offline and reconnects by itself when maeuld is back', { timeout: 90000 }, async () => {
    await page.goto(`${base}/`);
    await page.waitForSelector('#live-status[data-state="live"]', { timeout: 10000 });
    const token = city.adminToken;
    await city.d.stop();
    await page.waitForSelector('#live-status[data-state="offline"]', { timeout: 10000 });
    await H.shot(page, 'offline-1366x768');
    city.d = await e2e.startDaemon({
      db: city.db, env: { MAEUL_HTTP_WEB_ROOT: H.WEB_ROOT, MAEUL_HTTP_LISTEN: `127.0.0.1:${port}`, MAEUL_BOOTSTRAP_TOKEN: token },
    });
    // back-off starts at 1 s and doubles; within a few attempts it is live again
    await page.waitForSelector('#live-status[data-state="live"]', { timeout: 20000 });
    // and live readings flow again
    await page.goto(`${base}/map?sensor=wl-daepo-01`);
    await page.waitForSelector('#live-status[data-state="live"]', { timeout: 10000 });
    await page.waitForSelector('.sensor-panel [data-metric="level"]');
    await H.postReadings(city, [{ sensor: 'wl-daepo-01', metric: 'level', ts: new Date().toISOString(), value: 0.777 }]);
    await page.waitForFunction(() => document.querySelector('.sensor-panel [data-metric="level"] .metric-value')?.textContent.includes('0.777'),
      null, { timeout: 2000 });
    assert.deepEqual(page.errors, [], 'no script errors');
  });
});
