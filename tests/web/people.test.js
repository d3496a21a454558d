'use strict';
// People in the dashboard, in Debian's chromium against a real maeuld: sign-in by username and password (the
// HttpOnly session cookie, nothing secret kept by the page), the name and role in the header, wrong password,
// lock-out and an unreachable server, sign-out (the cookie stops working), the users screen (an admin creates
// a person who then signs in; role, disable, password, delete, the record of changes), welfare screens only for
// admin and welfare_officer, the kiosk token sign-in, and a session that ends (idle, or at its hard end)
// taking the page back to sign-in in the language chosen. Screenshots go to test-artifacts/web/.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const H = require('./lib/harness.js');

const { e2e, PASSWORD } = H;

// Responses with one of `statuses` to /api/ requests made by `page` (collected until `stop()`).
function watchStatuses(page, statuses) {
  const seen = [];
  const fn = (r) => { if (statuses.includes(r.status()) && new URL(r.url()).pathname.startsWith('/api/')) seen.push(`${r.status()} ${r.request().method()} ${new URL(r.url()).pathname}`); };
  page.on('response', fn);
  return { seen, stop: () => page.off('response', fn) };
}

async function whoText(page) {
  return (await page.textContent('#who')).replace(/\s+/g, ' ').trim();
}

// Signs in through the API (as a script would) and resolves to {status, json, headers}.
async function apiSignIn(city, username, password) {
  const res = await fetch(`${city.d.url}/api/v1/sessions`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }),
    signal: AbortSignal.timeout(10000),
  });
  const text = await res.text();
  let json;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: res.status, json, text, headers: res.headers };
}

describe('people in the dashboard', { timeout: 900000 }, () => {
  let city; let browser; let base;

  before(async () => {
    city = await H.startCity({ label: 'web_people' });
    base = city.d.url;
    browser = await H.launch();
    await H.createUser(city, { username: 'kim.op', role: 'operator', display_name: '김운영 (야간)' });
    await H.createUser(city, { username: 'lee.analyst', role: 'analyst', display_name: 'Lee Analyst' });
    await H.createUser(city, { username: 'park.welfare', role: 'welfare_officer', display_name: '박복지' });
    await H.createUser(city, { username: 'choi.admin', role: 'admin', display_name: 'Choi Admin' });
    await H.createUser(city, { username: 'locked.out', role: 'operator' });
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

  it('an operator signs in with a password: name and role in the header, no users screen, the password kept nowhere', { timeout: 90000 }, async () => {
    await withPage(async (page) => {
      await page.goto(`${base}/`);
      await page.waitForURL(/\/login$/);
      await page.waitForSelector('input[name="username"]');
      assert.equal(await page.getAttribute('input[name="password"]', 'type'), 'password');
      assert.equal(await page.getAttribute('input[name="password"]', 'autocomplete'), 'current-password');
      await H.signInWithPassword(page, base, 'kim.op', PASSWORD);
      await page.waitForSelector('.zone-card[data-zone]');
      const who = await whoText(page);
      assert.match(who, /김운영 \(야간\)/, `the display name in the header: ${who}`);
      assert.match(who, /운영자/, `the role in the header: ${who}`);
      assert.equal(await page.locator('a[data-nav="/users"]').count(), 0, 'no users screen for an operator');
      // The live feed authenticates with the cookie sent on the upgrade (no token in the page).
      await page.waitForSelector('#live-status[data-state="live"]', { timeout: 10000 });

      // The session is the HttpOnly cookie: the page's script cannot read it, and stores no secret of its own.
      const cookies = await page.context().cookies();
      const c = cookies.find((x) => x.name === 'maeul_session');
      assert.ok(c, `the maeul_session cookie is set: ${JSON.stringify(cookies.map((x) => x.name))}`);
      assert.equal(c.httpOnly, true);
      assert.equal(c.sameSite, 'Strict');
      assert.doesNotMatch(await page.evaluate(() => document.cookie), /maeul_session/);
      const stored = await page.evaluate(() => JSON.stringify({ ...sessionStorage, ...localStorage }));
      assert.ok(!stored.includes(PASSWORD), 'the password is not stored');
      assert.ok(!stored.includes(c.value), 'the session secret is not stored');
      assert.ok(!stored.includes('ms_'), `no session token stored: ${stored}`);
      assert.ok(!page.url().includes(PASSWORD));
      await H.assertNoHorizontalOverflow(page, assert, 'overview with the signed-in person, 1366x768');
      await H.shot(page, 'people-operator-header-1366x768');

      // A reload keeps the session (the cookie), and /users typed in says the role may not use it without asking the server.
      await page.reload();
      await page.waitForSelector('.zone-card[data-zone]');
      assert.match(await whoText(page), /김운영/);
      const watch = watchStatuses(page, [403, 404]);
      await page.goto(`${base}/users`);
      await page.waitForSelector('.placeholder[data-state="forbidden"]');
      await page.waitForLoadState('networkidle');
      watch.stop();
      assert.deepEqual(watch.seen, [], 'the users screen asks nothing of the server for an operator');
      assert.deepEqual(page.errors, [], 'no script errors');
    });
  });

  it('a wrong password and an unknown user get the same message; a lock-out says how long to wait; an unreachable server is said so', { timeout: 120000 }, async () => {
    await withPage(async (page) => {
      const attempt = async (username, password) => {
        await page.fill('input[name="username"]', username);
        await page.fill('input[name="password"]', password);
        await page.click('#password-form button[type="submit"]');
        await page.waitForSelector('#login-error:not([hidden])');
        await page.waitForSelector('#password-form button[type="submit"]:not([disabled])');
        return (await page.textContent('#login-error')).trim();
      };
      await page.goto(`${base}/login`);
      await page.waitForSelector('input[name="username"]');
      const wrong = await attempt('kim.op', 'not the password at all');
      assert.equal(wrong, '아이디 또는 비밀번호가 맞지 않습니다.');
      assert.equal(await page.getAttribute('input[name="password"]', 'aria-invalid'), 'true');
      assert.equal(await page.evaluate(() => document.activeElement?.name), 'password', 'focus back on the password');
      const unknown = await attempt('nobody.here', 'not the password at all');
      assert.equal(unknown, wrong, 'the same words for an unknown user');
      assert.match(page.url(), /\/login$/);
      assert.equal((await page.context().cookies()).filter((c) => c.name === 'maeul_session').length, 0, 'no cookie after a failure');
      await H.shot(page, 'people-login-wrong-1366x768');

      // Five failures for one username: the sixth attempt, even with the right password, is told to wait.
      for (let i = 0; i < 5; i++) await attempt('locked.out', `wrong password ${i}`);
      const locked = await attempt('locked.out', PASSWORD);
      assert.match(locked, /로그인 실패가 너무 많아/, locked);
      assert.match(locked, /\d+(분|초)/, `says how long: ${locked}`);
      assert.match(page.url(), /\/login$/);
      await H.shot(page, 'people-login-locked-1366x768');

      // The server cannot be reached.
      await page.route('**/api/v1/sessions', (route) => route.abort('connectionrefused'));
      const down = await attempt('kim.op', PASSWORD);
      assert.equal(down, '서버에 연결할 수 없습니다.');
      await page.unroute('**/api/v1/sessions');
      assert.deepEqual(page.errors, [], 'no script errors');
    });
  });

  it('signing out ends the session: back to the sign-in page, and the cookie no longer works', { timeout: 90000 }, async () => {
    await withPage(async (page) => {
      await H.signInWithPassword(page, base, 'kim.op', PASSWORD);
      await page.waitForSelector('#who');
      const cookie = (await page.context().cookies()).find((x) => x.name === 'maeul_session');
      assert.ok(cookie, 'signed in with a cookie');
      // the page's own request with the cookie works before …
      assert.equal(await page.evaluate(() => fetch('/api/v1/me').then((r) => r.status)), 200);
      const signOut = page.waitForResponse((r) => r.url().endsWith('/api/v1/sessions/current') && r.request().method() === 'DELETE');
      await page.click('#sign-out');
      assert.equal((await signOut).status(), 204);
      await page.waitForURL(/\/login$/);
      await page.waitForSelector('#login-reason:not([hidden])');
      assert.equal((await page.textContent('#login-reason')).trim(), '로그아웃했습니다.');
      // … and not after: neither from the page nor with the old cookie value sent by hand
      assert.equal(await page.evaluate(() => fetch('/api/v1/me').then((r) => r.status)), 401);
      const replay = await fetch(`${base}/api/v1/me`, { headers: { cookie: `maeul_session=${cookie.value}` }, signal: AbortSignal.timeout(10000) });
      assert.equal(replay.status, 401, 'the old session secret is refused');
      // the screens are behind the sign-in page again, and nothing of the last person is shown
      await page.goto(`${base}/`);
      await page.waitForURL(/\/login$/);
      assert.equal(await page.locator('#who').count(), 0);
      assert.equal(await page.locator('#login-reason:not([hidden])').count(), 0, 'a fresh visit has no "signed out" note');
      assert.deepEqual(page.errors, [], 'no script errors');
    });
  });

  it('an admin creates a person on the users screen (server problems next to the field), and that person signs in', { timeout: 120000 }, async () => {
    await withPage(async (page) => {
      await H.signInWithPassword(page, base, 'choi.admin', PASSWORD);
      assert.match(await whoText(page), /Choi Admin.*관리자/);
      await page.click('a[data-nav="/users"]');
      await page.waitForURL(/\/users$/);
      await page.waitForSelector('tr.user-row[data-user="kim.op"]');
      const row = page.locator('tr.user-row[data-user="kim.op"]');
      assert.match(await row.textContent(), /김운영 \(야간\)/);
      assert.match(await row.textContent(), /운영자/);
      assert.equal(await row.getAttribute('data-disabled'), 'false');

      await page.click('#user-new');
      const dlg = page.locator('dialog[open]');
      await dlg.waitFor();
      await dlg.locator('#nu-username').fill('jung.new');
      await dlg.locator('#nu-display-name').fill('정새봄');
      await dlg.locator('#nu-role').selectOption('welfare_officer');
      await dlg.locator('#nu-password').fill('too-short');
      await dlg.locator('#nu-zones input[value="daepo"]').check();
      await dlg.locator('button[type="submit"]').click();
      // the server's 422 names /password: its detail shows under the password field, which gets focus
      await dlg.locator('#nu-password-err:not([hidden])').waitFor({ timeout: 10000 });
      assert.match(await dlg.locator('#nu-password-err').textContent(), /\S/);
      assert.equal(await dlg.locator('#nu-password').getAttribute('aria-invalid'), 'true');
      assert.equal(await page.evaluate(() => document.activeElement?.id), 'nu-password');
      assert.equal(await dlg.locator('#nu-username-err').isHidden(), true, 'no error on the username');
      await H.shot(page, 'people-users-create-error-1366x768');
      // a username that is taken is said next to the username
      await dlg.locator('#nu-username').fill('kim.op');
      await dlg.locator('#nu-password').fill('a long enough password 1');
      await dlg.locator('button[type="submit"]').click();
      await dlg.locator('#nu-username-err:not([hidden])').waitFor({ timeout: 10000 });
      assert.equal(await dlg.locator('#nu-password-err').isHidden(), true);
      await dlg.locator('#nu-username').fill('jung.new');
      await dlg.locator('button[type="submit"]').click();
      await page.waitForSelector('dialog[open]', { state: 'detached', timeout: 10000 });
      const created = page.locator('tr.user-row[data-user="jung.new"]');
      await created.waitFor();
      assert.match(await created.textContent(), /정새봄/);
      assert.match(await created.textContent(), /복지 담당자/);
      assert.match(await created.textContent(), /대포/);
      // its record starts with the grant
      await page.waitForSelector('#user-history li[data-action="create"]');
      assert.match(await page.textContent('#user-history'), /Choi Admin|choi\.admin/);
      await H.shot(page, 'people-users-1366x768');
      await H.assertNoHorizontalOverflow(page, assert, 'users 1366x768');

      const stored = await H.api(city, 'GET', '/api/v1/users/jung.new');
      assert.equal(stored.status, 200, stored.text);
      assert.deepEqual({ role: stored.json.role, zones: stored.json.zones, display_name: stored.json.display_name },
        { role: 'welfare_officer', zones: ['daepo'], display_name: '정새봄' });
      assert.deepEqual(page.errors, [], 'no script errors');
    });
    // The new person signs in with the password the admin set.
    await withPage(async (page) => {
      await H.signInWithPassword(page, base, 'jung.new', 'a long enough password 1');
      assert.match(await whoText(page), /정새봄.*복지 담당자/);
    });
  });

  it('an admin changes a role and scope, disables and enables, resets the password and deletes (with confirmation); each is in the record', { timeout: 150000 }, async () => {
    await H.createUser(city, { username: 'han.temp', role: 'analyst', display_name: 'Han Temp' });
    await withPage(async (page) => {
      await page.addInitScript(() => localStorage.setItem('maeul.lang', 'en'));
      await H.signInWithPassword(page, base, 'choi.admin', PASSWORD);
      // The zones arrive only after the form is open (held back here): what was chosen meanwhile stays.
      let release;
      const gate = new Promise((r) => { release = r; });
      await page.route('**/api/v1/zones?*', async (route) => { await gate; await route.continue(); });
      await page.goto(`${base}/users?u=han.temp`);
      await page.waitForSelector('#user-edit');
      assert.equal(await page.inputValue('#ed-role'), 'analyst');
      assert.equal(await page.locator('#ed-zones input').count(), 0, 'no zones yet');

      // role and scope
      await page.selectOption('#ed-role', 'operator');
      await page.check('#ed-domains input[value="disaster"]');
      await page.check('#ed-domains input[value="mobility"]');
      release();
      await page.waitForSelector('#ed-zones input[value="daepo"]');
      await page.unroute('**/api/v1/zones?*');
      assert.equal(await page.inputValue('#ed-role'), 'operator', 'the role chosen before the zones arrived');
      assert.equal(await page.isChecked('#ed-domains input[value="mobility"]'), true);
      await page.click('#user-edit button[type="submit"]');
      await page.waitForSelector('tr.user-row[data-user="han.temp"][data-role="operator"]');
      await page.waitForSelector('#user-history li[data-action="change"]');
      assert.match(await page.textContent('#user-history li[data-action="change"]'), /Role: Analyst → Operator/);
      let u = (await H.api(city, 'GET', '/api/v1/users/han.temp')).json;
      assert.deepEqual([u.role, [...u.domains].sort()], ['operator', ['disaster', 'mobility']]);

      // disable: the person cannot sign in; enable: they can again
      await page.click('#user-toggle[data-action="disable"]');
      await page.waitForSelector('tr.user-row[data-user="han.temp"][data-disabled="true"]');
      assert.equal((await apiSignIn(city, 'han.temp', PASSWORD)).status, 401, 'a disabled account cannot sign in');
      await page.click('#user-toggle[data-action="enable"]');
      await page.waitForSelector('tr.user-row[data-user="han.temp"][data-disabled="false"]');
      assert.equal((await apiSignIn(city, 'han.temp', PASSWORD)).status, 201);

      // a new password: too short is the server's 422 under the field; then the new one works and the old does not
      await page.fill('#ed-password', 'short');
      await page.click('#user-password button[type="submit"]');
      await page.waitForSelector('#ed-password-err:not([hidden])');
      assert.equal(await page.getAttribute('#ed-password', 'aria-invalid'), 'true');
      await page.fill('#ed-password', 'another long password 2');
      await page.click('#user-password button[type="submit"]');
      await page.waitForSelector('#user-history li[data-action="password"]');
      assert.equal(await page.inputValue('#ed-password'), '', 'the field is emptied');
      assert.equal((await apiSignIn(city, 'han.temp', PASSWORD)).status, 401);
      assert.equal((await apiSignIn(city, 'han.temp', 'another long password 2')).status, 201);
      for (const a of ['create', 'change', 'disable', 'enable', 'password']) {
        assert.equal(await page.locator(`#user-history li[data-action="${a}"]`).count() >= 1, true, `the record has ${a}`);
      }
      await H.shot(page, 'people-users-detail-en-1366x768');

      // delete: Cancel keeps it, Delete removes it
      await page.click('#user-delete');
      let dlg = page.locator('dialog[open]');
      await dlg.waitFor();
      assert.match(await dlg.textContent(), /han\.temp/);
      assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Cancel', 'Cancel has the focus');
      await H.shot(page, 'people-users-delete-en-1366x768');
      await page.keyboard.press('Enter');
      await page.waitForSelector('dialog[open]', { state: 'detached' });
      assert.equal((await H.api(city, 'GET', '/api/v1/users/han.temp')).status, 200, 'still there after Cancel');
      await page.click('#user-delete');
      dlg = page.locator('dialog[open]');
      await dlg.locator('[data-action="confirm"]').click();
      await page.waitForSelector('tr.user-row[data-user="han.temp"]', { state: 'detached' });
      assert.equal((await H.api(city, 'GET', '/api/v1/users/han.temp')).status, 404);
      u = await H.api(city, 'GET', '/api/v1/users/han.temp/changes');
      assert.ok(u.json.items.some((c) => c.action === 'delete'), 'the record outlives the account');
      assert.deepEqual(page.errors, [], 'no script errors');
    });
  });

  it('welfare data and screens: none for an analyst (and no request answered 403/404), all for a welfare officer', { timeout: 150000 }, async () => {
    const welfareSensor = 'home-station-001';
    await H.postReadings(city, [{ sensor: welfareSensor, metric: 'motion', ts: new Date().toISOString(), value: 7 }]);

    await withPage(async (page) => {
      const watch = watchStatuses(page, [403, 404]);
      await H.signInWithPassword(page, base, 'lee.analyst', PASSWORD);
      assert.match(await whoText(page), /Lee Analyst.*분석가/);
      await page.waitForSelector('.zone-card[data-zone]');
      await page.waitForSelector('.kpi-tile');
      // no alert queue for an analyst (the API answers 403 there): neither the tab nor the overview panel
      assert.equal(await page.locator('a[data-nav="/alerts"]').count(), 0);
      assert.equal(await page.locator('#alert-summary').count(), 0);
      await page.goto(`${base}/map`);
      await page.waitForSelector('.sensor-item[data-sensor]');
      const domains = await page.$$eval('.domain-filter input[type="checkbox"]', (els) => els.map((e) => e.dataset.domain).sort());
      assert.deepEqual(domains, ['disaster', 'energy', 'environment', 'mobility'], 'no welfare layer');
      const listed = await page.$$eval('.sensor-item[data-sensor]', (els) => els.map((e) => e.dataset.sensor));
      assert.ok(listed.length > 100, `the analyst sees the other sensors (${listed.length})`);
      assert.deepEqual(listed.filter((id) => id.startsWith('home-') || id.startsWith('sos-') || id.includes('emergency')), [], 'no welfare sensor listed');
      await H.shot(page, 'people-analyst-map-1366x768');
      // a welfare sensor's address typed in shows no panel of readings and asks nothing about it
      await page.goto(`${base}/map?sensor=${welfareSensor}`);
      await page.waitForSelector(`.sensor-panel[data-sensor="${welfareSensor}"]`);
      assert.equal(await page.locator('.sensor-panel .metric-value').count(), 0);
      assert.match(await page.textContent(`.sensor-panel[data-sensor="${welfareSensor}"] [data-state="not-found"]`), /이 역할로는 볼 수 없습니다/);
      // the screen's once-a-second tick runs with that panel open (the clock turning shows it ran)
      const clock0 = await page.textContent('#clock');
      await page.waitForFunction((c) => document.getElementById('clock')?.textContent !== c, clock0, { timeout: 5000 });
      assert.deepEqual(page.errors, [], 'no script errors with the panel open');
      await page.goto(`${base}/kpis`);
      await page.waitForSelector('.page-head');
      await page.waitForLoadState('networkidle');
      watch.stop();
      assert.deepEqual(watch.seen.filter((s) => !/\/api\/v1\/live$/.test(s)), [], 'no request answered 403 or 404');
      assert.deepEqual(page.errors, [], 'no script errors');
    });

    await withPage(async (page) => {
      await H.signInWithPassword(page, base, 'park.welfare', PASSWORD);
      assert.match(await whoText(page), /박복지.*복지 담당자/);
      await page.goto(`${base}/map`);
      await page.waitForSelector('.sensor-item[data-sensor]');
      const domains = await page.$$eval('.domain-filter input[type="checkbox"]', (els) => els.map((e) => e.dataset.domain).sort());
      assert.deepEqual(domains, ['disaster', 'energy', 'environment', 'mobility', 'welfare']);
      assert.equal(await page.locator(`.sensor-item[data-sensor="${welfareSensor}"]`).count(), 1, 'the welfare sensor is listed');
      await page.goto(`${base}/map?sensor=${welfareSensor}`);
      await page.waitForFunction(() => document.querySelector('.sensor-panel [data-metric="motion"] .metric-value')?.textContent.includes('7'),
        null, { timeout: 10000 });
      await H.shot(page, 'people-welfare-officer-sensor-1366x768');
      assert.deepEqual(page.errors, [], 'no script errors');
    });
  });

  it('disabling a signed-in person closes their feed and their page returns to sign-in; a display token then still gets data', { timeout: 120000 }, async () => {
    await H.createUser(city, { username: 'kiosk.person', role: 'operator', display_name: 'Kiosk Person' });
    await withPage(async (page) => {
      await H.signInWithPassword(page, base, 'kiosk.person', PASSWORD);
      await page.waitForSelector('#live-status[data-state="live"]', { timeout: 10000 });
      // the admin disables the account: its sessions end, its live feed is closed ("credential revoked") and
      // the page, with no action of its own, goes back to sign-in saying the session ended
      const off = await H.api(city, 'PATCH', '/api/v1/users/kiosk.person', { disabled: true });
      assert.equal(off.status, 200, off.text);
      await page.waitForURL(/\/login$/, { timeout: 10000 });
      assert.equal((await page.textContent('#login-reason')).trim(), '세션이 끝났습니다. 다시 로그인하세요.');
      assert.equal((await H.api(city, 'PATCH', '/api/v1/users/kiosk.person', { disabled: false })).status, 200);
      // The ended session's cookie is still in the browser (only the server knows it ended). A display token
      // signed in now must not be stuck retrying a refused feed: live, or polling after three refused upgrades.
      assert.equal((await page.context().cookies()).filter((c) => c.name === 'maeul_session').length, 1, 'the ended session\'s cookie is still there');
      await page.click('#token-toggle');
      await page.fill('input[name="token"]', city.operatorToken);
      await page.click('#token-form button[type="submit"]');
      await page.waitForSelector('#who');
      await page.waitForSelector('#live-status[data-state="live"], #live-status[data-state="polling"]', { timeout: 30000 });
      const st = await page.getAttribute('#live-status', 'data-state');
      await H.shot(page, `people-token-after-ended-cookie-${st}-1366x768`);
      // and readings reach the screen either way
      await page.goto(`${base}/map?sensor=wl-daepo-01`);
      await page.waitForSelector('.sensor-panel [data-metric="level"]');
      await page.waitForSelector('#live-status[data-state="live"], #live-status[data-state="polling"]', { timeout: 30000 });
      await H.postReadings(city, [{ sensor: 'wl-daepo-01', metric: 'level', ts: new Date().toISOString(), value: 0.913 }]);
      await page.waitForFunction(() => document.querySelector('.sensor-panel [data-metric="level"] .metric-value')?.textContent.includes('0.913'),
        null, { timeout: 10000 });
      assert.deepEqual(page.errors, [], 'no script errors');
    });
  });

  it('token sign-in still works for a kiosk display, and its sign-out only forgets the token', { timeout: 90000 }, async () => {
    await withPage(async (page) => {
      await page.goto(`${base}/login`);
      await page.click('#token-toggle');
      assert.equal(await page.getAttribute('#token-toggle', 'aria-expanded'), 'true');
      assert.equal(await page.evaluate(() => document.activeElement?.name), 'token', 'focus moves to the token field');
      await page.fill('input[name="token"]', city.operatorToken);
      await page.click('#token-form button[type="submit"]');
      await page.waitForURL((u) => !u.pathname.startsWith('/login'));
      await page.waitForSelector('#live-status[data-state="live"]', { timeout: 10000 });
      const who = await whoText(page);
      assert.match(who, /web-test-operator/, who);
      assert.match(who, /운영자 · 표시 화면 토큰/, who);
      assert.equal((await page.context().cookies()).filter((c) => c.name === 'maeul_session').length, 0, 'no session cookie');
      await page.click('#sign-out');
      await page.waitForURL(/\/login$/);
      assert.equal(await page.evaluate(() => sessionStorage.getItem('maeul.token')), null, 'the token is forgotten');
      const still = await H.api(city, 'GET', '/api/v1/tokens');
      assert.equal(still.status, 200);
      assert.deepEqual(page.errors, [], 'no script errors');
    });
  });
});

describe('a session that ends', { timeout: 600000 }, () => {
  // Idle after 3 s without a request, and ended 10 s after sign-in whatever its use.
  let city; let browser; let base;

  before(async () => {
    city = await H.startCity({
      label: 'web_expiry', world: false, env: { MAEUL_AUTH_SESSION_IDLE_S: '3', MAEUL_AUTH_SESSION_MAX_S: '10' },
    });
    base = city.d.url;
    browser = await H.launch();
    await H.createUser(city, { username: 'short.op', role: 'operator', display_name: 'Short Shift' });
  }, { timeout: 120000 });

  after(async () => {
    try {
      if (browser) await browser.close();
    } finally {
      await H.stopCity(city);
    }
  });

  it('idle: the server closes the live feed of an idle session and the page returns to sign-in with "your session ended", in the language chosen before', { timeout: 90000 }, async () => {
    const page = await H.newPage(browser);
    try {
      await page.goto(`${base}/login`);
      await page.click('#lang-toggle');
      await page.waitForFunction(() => document.documentElement.lang === 'en');
      await H.signInWithPassword(page, base, 'short.op', PASSWORD);
      const signedInAt = Date.now();
      await page.waitForSelector('#live-status[data-state="live"]', { timeout: 5000 });
      assert.match(await whoText(page), /Short Shift.*Operator/);
      // No click: once the page has made no request for the idle limit (3 s), the server closes the
      // feed (within 2 s) and the page follows by itself, well before the hard end (10 s).
      await page.waitForURL(/\/login$/, { timeout: 15000 });
      const back = Date.now() - signedInAt;
      assert.ok(back >= 3000, `not before the idle limit (${back} ms)`);
      assert.ok(back < 9000, `before the hard end: this is the idle limit at work (${back} ms)`);
      await page.waitForSelector('#login-reason:not([hidden])');
      assert.equal((await page.textContent('#login-reason')).trim(), 'Your session ended. Please sign in again.');
      assert.equal(await page.getAttribute('html', 'lang'), 'en', 'the language is kept');
      assert.equal(await page.evaluate(() => localStorage.getItem('maeul.lang')), 'en');
      assert.equal(await page.locator('#who').count(), 0);
      await H.shot(page, 'people-session-ended-en-1366x768');
      // the note survives a switch of language, and a new sign-in takes the person to where they were going
      await page.click('#lang-toggle');
      await page.waitForFunction(() => document.documentElement.lang === 'ko');
      assert.equal((await page.textContent('#login-reason')).trim(), '세션이 끝났습니다. 다시 로그인하세요.');
      await page.click('#lang-toggle');
      await page.waitForFunction(() => document.documentElement.lang === 'en');
      await page.fill('input[name="username"]', 'short.op');
      await page.fill('input[name="password"]', PASSWORD);
      await page.click('#password-form button[type="submit"]');
      await page.waitForSelector('#who', { timeout: 10000 });
      assert.deepEqual(page.errors, [], 'no script errors');
    } finally {
      await page.context().close();
    }
  });

  it('hard end: the server closes the live feed and the page returns to sign-in by itself', { timeout: 90000 }, async () => {
    const page = await H.newPage(browser);
    try {
      await H.signInWithPassword(page, base, 'short.op', PASSWORD);
      const signedInAt = Date.now();
      await page.waitForSelector('#live-status[data-state="live"]', { timeout: 5000 });
      // In use (a request every second, as a person clicking would make), so never idle: no click, no
      // navigation, and the feed is closed at the session's hard end (within 2 s); the page follows.
      await page.evaluate(() => { window.__keepBusy = setInterval(() => { fetch('/api/v1/me').catch(() => {}); }, 1000); });
      await page.waitForURL(/\/login$/, { timeout: 20000 });
      const after = Date.now() - signedInAt;
      assert.ok(after >= 8000, `not before the hard end (${after} ms)`);
      await page.waitForSelector('#login-reason:not([hidden])');
      assert.equal((await page.textContent('#login-reason')).trim(), '세션이 끝났습니다. 다시 로그인하세요.');
      assert.equal(await page.getAttribute('html', 'lang'), 'ko');
      assert.deepEqual(page.errors, [], 'no script errors');
    } finally {
      await page.context().close();
    }
  });
});
