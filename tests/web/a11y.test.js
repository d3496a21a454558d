'use strict';
// Accessibility and page hygiene of the dashboard, in Debian's chromium: the tab title during critical
// alerts, the public page against KWCAG (WCAG 2.1 AA, checked with axe-core) at 320 px, accessible names
// and landmarks of the English screens, focus after keyboard navigation, and no request answering 404.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const H = require('./lib/harness.js');
const { axe, describeViolations } = require('./lib/axe.js');

const { e2e } = H;
const SCREENS = [['/', '.zone-card'], ['/map', '.leaflet-interactive'], ['/alerts', '.toolbar'],
  ['/incidents', '.incidents-layout'], ['/kpis', '.page-head']];

// The accessible name of the element `locator` points at, as chromium's accessibility tree has it.
async function accessibleName(locator) {
  // the first line of its ARIA snapshot (YAML): - role "name" …, single-quoted as a whole when it has a colon
  let line = (await locator.ariaSnapshot()).split('\n')[0].trim().replace(/^- /, '');
  if (line.startsWith("'")) line = line.slice(1, line.lastIndexOf("'")).replace(/''/g, "'");
  const m = /^[\w-]+ "((?:[^"\\]|\\.)*)"/.exec(line);
  if (!m) throw new Error(`no accessible name in the ARIA snapshot ${JSON.stringify(line)}`);
  return JSON.parse(`"${m[1]}"`);
}

async function pollUntil(fn, { timeoutMs = 5000, intervalMs = 50, what }) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    last = await fn();
    if (last.ok) return last;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms (last: ${JSON.stringify(last)})`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

describe('dashboard accessibility and page hygiene', { timeout: 900000 }, () => {
  let city; let browser; let base;

  before(async () => {
    city = await H.startCity({ label: 'web_a11y' });
    base = city.d.url;
    browser = await H.launch();
  }, { timeout: 180000 });

  after(async () => {
    try {
      if (browser) await browser.close();
    } finally {
      await H.stopCity(city);
    }
  });

  async function withPage(opts, fn) {
    const page = await H.newPage(browser, opts);
    try {
      return await fn(page);
    } finally {
      await page.context().close();
    }
  }

  async function openAlerts(ruleId) {
    const res = await H.api(city, 'GET', '/api/v1/alerts?state=open&limit=100');
    assert.equal(res.status, 200, res.text);
    return (res.json.items || res.json).filter((a) => !ruleId || a.rule === ruleId);
  }

  it('keeps exactly one critical prefix with the current count in the tab title, and drops it when none is open', { timeout: 120000 }, async () => {
    for (const [id, sensor] of [['a11y-crit-daepo', 'wl-daepo-02'], ['a11y-crit-seorak', 'wl-seorak-02']]) {
      const rule = await H.api(city, 'POST', '/api/v1/rules', {
        id, name: { ko: `${sensor} 위험 수위`, en: `${sensor} danger level` }, kind: 'threshold',
        selector: { sensor }, metric: 'level', op: '>=', value: 3.0, severity: 'critical',
      });
      assert.equal(rule.status, 201, `create rule: ${rule.text}`);
    }
    await withPage({}, async (page) => {
      await H.signIn(page, base, city.operatorToken);
      await page.waitForSelector('#live-status[data-state="live"]', { timeout: 10000 });
      const plain = await page.title();
      assert.doesNotMatch(plain, /⚠/);

      await H.postReadings(city, [{ sensor: 'wl-daepo-02', metric: 'level', ts: new Date().toISOString(), value: 3.5 }]);
      await page.waitForFunction((p) => document.title === `(⚠ 1) ${p}`, plain, { timeout: 5000 });
      // For three seconds (past the old once-a-second flash) every look at the title finds one prefix.
      const seen = new Set();
      const until = Date.now() + 3000;
      while (Date.now() < until) {
        seen.add(await page.title());
        await page.waitForTimeout(100);
      }
      assert.deepEqual([...seen], [`(⚠ 1) ${plain}`], 'the title over 3 s');

      // A second critical alert: the count follows.
      await H.postReadings(city, [{ sensor: 'wl-seorak-02', metric: 'level', ts: new Date().toISOString(), value: 3.5 }]);
      await page.waitForFunction((p) => document.title === `(⚠ 2) ${p}`, plain, { timeout: 5000 })
        .catch(async (e) => { throw new Error(`title is ${JSON.stringify(await page.title())}: ${e.message}`); });

      // Another screen: its own title, with one prefix.
      await page.click('a[data-nav="/alerts"]');
      await page.waitForURL(/\/alerts$/);
      await page.waitForFunction(() => /^\(⚠ 2\) 경보 · /.test(document.title), null, { timeout: 5000 })
        .catch(async (e) => { throw new Error(`title is ${JSON.stringify(await page.title())}: ${e.message}`); });
      const alertsPlain = (await page.title()).replace('(⚠ 2) ', '');
      assert.doesNotMatch(alertsPlain, /⚠/);

      // Every critical alert acknowledged: the plain title again.
      const crit = (await openAlerts()).filter((a) => a.severity === 'critical');
      assert.deepEqual(crit.map((a) => a.rule).sort(), ['a11y-crit-daepo', 'a11y-crit-seorak']);
      for (const a of crit) {
        const res = await H.api(city, 'POST', `/api/v1/alerts/${a.id}/ack`, { note: 'a11y test' });
        assert.equal(res.status, 200, res.text);
      }
      await page.waitForFunction((p) => document.title === p, alertsPlain, { timeout: 5000 })
        .catch(async (e) => { throw new Error(`title is ${JSON.stringify(await page.title())}: ${e.message}`); });
      assert.deepEqual(page.errors, [], 'no script errors');
    });
  });

  it('public page meets KWCAG at 320 px in both languages: named progress bars, no sideways scroll, focusable scroll regions', { timeout: 120000 }, async () => {
    for (const lang of ['ko', 'en']) {
      await withPage({ width: 320, height: 640 }, async (page) => {
        await page.addInitScript((l) => localStorage.setItem('maeul.lang', l), lang);
        await page.goto(`${base}/transparency`);
        await page.waitForSelector('.public-table');
        await page.waitForSelector('.programs [role="progressbar"]');
        await H.shot(page, `public-${lang}-320`);
        const problems = [];
        const bars = page.locator('[role="progressbar"]');
        assert.ok(await bars.count() > 0, 'the report has progress bars');
        const unnamed = await bars.evaluateAll((els) => els.filter((e) => !e.getAttribute('aria-label') && !e.getAttribute('aria-labelledby')).length);
        if (unnamed) problems.push(`${unnamed} progress bars without aria-label or aria-labelledby`);
        const vs = await axe(page, {
          rules: ['aria-progressbar-name', 'scrollable-region-focusable'],
          tags: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'],
        });
        if (vs.length) problems.push(`axe: ${describeViolations(vs)}`);
        const o = await page.evaluate(() => ({ sw: document.scrollingElement.scrollWidth, cw: document.scrollingElement.clientWidth }));
        if (o.sw > o.cw) problems.push(`the page is ${o.sw}px wide in a ${o.cw}px window`);
        assert.deepEqual(problems, [], `public page (${lang}, 320 px)`);
        // chromium's accessibility tree agrees: named after their KPI
        assert.match(await accessibleName(bars.first()), /^(진척도|Progress): \S/);
        assert.deepEqual(page.errors, [], 'no script errors');
      });
    }
  });

  it('English screens: a main and an h1 each, names that contain the visible label, an Alerts tab with a spoken count', { timeout: 180000 }, async () => {
    const rule = await H.api(city, 'POST', '/api/v1/rules', {
      id: 'a11y-high-water', name: { ko: '높은 수위', en: 'High water' }, kind: 'threshold',
      selector: { domain: 'disaster' }, metric: 'level', op: '>=', value: 2.5, severity: 'warning',
    });
    assert.equal(rule.status, 201, `create rule: ${rule.text}`);
    const now = new Date().toISOString();
    await H.postReadings(city, ['wl-cheongcho-01', 'wl-downtown-01', 'wl-station-01'].map((sensor) => ({ sensor, metric: 'level', ts: now, value: 2.8 })));
    await pollUntil(async () => ({ ok: (await openAlerts('a11y-high-water')).length === 3 }), { what: 'three open warnings' });

    await withPage({}, async (page) => {
      await page.addInitScript(() => localStorage.setItem('maeul.lang', 'en'));
      await page.goto(`${base}/login`);
      await page.waitForSelector('input[name="username"]');
      let vs = await axe(page, { rules: ['landmark-one-main', 'page-has-heading-one', 'label-content-name-mismatch'] });
      assert.deepEqual(vs, [], `sign-in: ${describeViolations(vs)}`);

      await H.signIn(page, base, city.operatorToken);
      for (const [p, sel] of SCREENS) {
        await page.goto(`${base}${p}`);
        await page.waitForSelector(sel);
        await page.waitForSelector('#live-status[data-state="live"]', { timeout: 10000 });
        vs = await axe(page, { rules: ['landmark-one-main', 'page-has-heading-one', 'label-content-name-mismatch'] });
        assert.deepEqual(vs, [], `${p}: ${describeViolations(vs)}`);
        // The Alerts tab says how many are open, as words apart from its label.
        await pollUntil(async () => {
          const open = (await openAlerts()).length;
          const name = await accessibleName(page.locator('a[data-nav="/alerts"]'));
          return { ok: open > 0 && name === `Alerts, ${open} open`, name, open };
        }, { what: `${p}: the Alerts tab is named "Alerts, N open" with N the open alerts` });
      }

      // Label in name: a button showing "Ack" is called "Ack …" (overview and the sensor panel).
      await page.goto(`${base}/`);
      await page.waitForSelector('.mini-alerts button');
      assert.deepEqual([...new Set(await page.locator('.mini-alerts button').allInnerTexts())], ['Ack'], 'the buttons in the list show "Ack"');
      // one snapshot of the whole list (it is re-rendered as alerts change)
      const names = (await page.locator('.mini-alerts').ariaSnapshot()).split('\n')
        .map((l) => /^\s*- '?button "((?:[^"\\]|\\.)*)"/.exec(l)).filter(Boolean).map((m) => JSON.parse(`"${m[1]}"`));
      assert.ok(names.length >= 3, `the overview offers Ack for the open alerts: ${JSON.stringify(names)}`);
      for (const name of names) assert.match(name, /^Ack: \S/, `an overview Ack button is named ${JSON.stringify(name)}`);
      await page.goto(`${base}/map?sensor=wl-downtown-01`);
      const panelAck = page.locator('.sensor-panel button', { hasText: /^Ack$/ }).first();
      await panelAck.waitFor({ timeout: 10000 });
      // (the panel's alert list is drawn again as alerts arrive: read the name once it holds still)
      await pollUntil(async () => {
        try {
          const name = await accessibleName(panelAck);
          return { ok: /^Ack\b/.test(name), name };
        } catch (e) {
          return { ok: false, error: e.message };
        }
      }, { what: 'the sensor panel Ack button is named "Ack …"' });
      assert.deepEqual(page.errors, [], 'no script errors');
    });
  });

  it('sign-in forms and the users screen meet KWCAG (WCAG 2.1 AA, axe) in both languages, with focus where it belongs', { timeout: 180000 }, async () => {
    const WCAG = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];
    const admin = await H.createUser(city, { username: 'a11y.admin', role: 'admin', display_name: 'A11y Admin' });
    for (const lang of ['ko', 'en']) {
      await withPage({}, async (page) => {
        await page.addInitScript((l) => localStorage.setItem('maeul.lang', l), lang);
        const check = async (what, opts = {}) => {
          const vs = await axe(page, { tags: WCAG, ...opts });
          assert.deepEqual(vs, [], `${what} (${lang}): ${describeViolations(vs)}`);
        };
        await page.goto(`${base}/login`);
        await page.waitForSelector('input[name="username"]');
        assert.equal(await page.evaluate(() => document.activeElement?.name), 'username', 'focus starts on the username');
        await check('sign-in');
        assert.equal(await accessibleName(page.locator('input[name="username"]')), lang === 'ko' ? '아이디' : 'Username');
        assert.equal(await accessibleName(page.locator('input[name="password"]')), lang === 'ko' ? '비밀번호' : 'Password');
        // a refused sign-in: the message is an alert tied to the fields
        await page.fill('input[name="username"]', admin.username);
        await page.fill('input[name="password"]', 'wrong password here');
        await page.click('#password-form button[type="submit"]');
        await page.waitForSelector('#login-error:not([hidden])');
        assert.equal(await page.getAttribute('#login-error', 'role'), 'alert');
        assert.match(await page.getAttribute('input[name="password"]', 'aria-describedby'), /login-error/);
        await check('sign-in with an error');
        await H.shot(page, `login-error-${lang}-1366x768`);
        await page.click('#token-toggle');
        await page.waitForSelector('input[name="token"]');
        await check('token sign-in');

        await page.click('#token-toggle');
        await page.fill('input[name="username"]', admin.username);
        await page.fill('input[name="password"]', H.PASSWORD);
        await page.click('#password-form button[type="submit"]');
        await page.waitForSelector('#who');
        await page.focus('a[data-nav="/users"]');
        await page.keyboard.press('Enter');
        await page.waitForSelector('tr.user-row[data-user="a11y.admin"]');
        assert.equal(await page.evaluate(() => document.activeElement?.tagName), 'H1', 'focus on the screen heading');
        await check('users', { include: 'main' });
        await page.locator('tr.user-row[data-user="a11y.admin"] [data-action="manage"]').click();
        await page.waitForSelector('#user-edit');
        assert.equal(await page.evaluate(() => document.activeElement?.id), 'user-title', 'focus on the opened account');
        await page.waitForSelector('#user-history li');
        await check('users with an account open', { include: 'main' });
        await page.click('#user-new');
        await page.waitForSelector('dialog[open]');
        assert.equal(await page.evaluate(() => document.activeElement?.id), 'nu-username', 'focus in the dialog');
        await page.click('dialog[open] button[type="submit"]'); // empty: the server names every missing field
        await page.waitForSelector('#nu-error:not([hidden])');
        await check('new user dialog with errors', { include: 'dialog[open]' });
        await H.shot(page, `users-create-errors-${lang}-1366x768`);
        await page.keyboard.press('Escape');
        await page.waitForSelector('dialog[open]', { state: 'detached' });
        assert.equal(await page.evaluate(() => document.activeElement?.id), 'user-new', 'focus back on the button that opened it');
        assert.deepEqual(page.errors, [], 'no script errors');
      });
    }
  });

  it('moves focus to the screen content after keyboard navigation', { timeout: 120000 }, async () => {
    await withPage({}, async (page) => {
      await H.signIn(page, base, city.operatorToken);
      await page.waitForSelector('.zone-card');
      for (const p of ['/map', '/alerts', '/incidents', '/kpis', '/']) {
        await page.focus(`a[data-nav="${p}"]`);
        await page.keyboard.press('Enter');
        await page.waitForURL((u) => u.pathname === p);
        const got = await pollUntil(() => page.evaluate(() => {
          const a = document.activeElement;
          const main = document.querySelector('main');
          const ok = !!a && !!main && (a === main || (a.tagName === 'H1' && main.contains(a))) && a.tabIndex === -1;
          return { ok, tag: a?.tagName, text: a?.textContent?.slice(0, 40) };
        }), { what: `focus on the h1 or main of ${p}` });
        assert.ok(got.ok);
      }
    });
  });

  it('makes no request that answers 404 while loading each screen', { timeout: 180000 }, async () => {
    for (const [p, sel, signedIn] of [['/login', 'input[name="username"]', false], ['/login?with=token', 'input[name="token"]', false], ['/transparency', '.public-table', false],
      ...SCREENS.map(([sp, ss]) => [sp, ss, true])]) {
      await withPage({}, async (page) => {
        if (signedIn) await page.addInitScript((tok) => sessionStorage.setItem('maeul.token', tok), city.operatorToken);
        const missing = [];
        page.on('response', (r) => { if (r.status() === 404) missing.push(r.url()); });
        await page.goto(`${base}${p}`);
        await page.waitForSelector(sel);
        await page.waitForLoadState('networkidle', { timeout: 15000 });
        assert.deepEqual(missing, [], `${p}: requests answered 404`);
        assert.deepEqual(page.errors, [], `${p}: no script errors`);
      });
    }
  });
});
