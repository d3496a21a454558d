'use strict';
// The welfare screens in Debian's chromium against a real maeuld (API §9): a welfare officer registers a
// resident through the form and sees the household by its pseudonym with its consent; the identity is in
// neither the page nor any request until "show identity" is given a purpose (which goes with the request),
// and goes again when hidden; a linked sensor gives the row its last sign of life, routine and open case
// with its escalation ladder; an operator breaks the glass on the critical alert; an administrator's access
// review shows the officer's reads and the operator's reveal; the officer changes the care details and the
// consent, exports and erases; an operator has neither screen.
// Screenshots go to test-artifacts/web/.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const H = require('./lib/harness.js');
const { axe, describeViolations, WCAG } = require('./lib/axe.js');

const { PASSWORD } = H;

const RESIDENT = {
  name: '한순자테스트',
  birth: '1941',
  phone: '010-5550-1234',
  address: '강원 속초시 시험로 77 (가상)',
  guardian: '한영희보호자',
  guardianPhone: '010-5550-9876',
  notes: '귀가 어두우심 시험메모',
};
const IDENTITY_TEXTS = [RESIDENT.name, RESIDENT.phone, RESIDENT.address, RESIDENT.guardian, RESIDENT.guardianPhone, RESIDENT.notes];
const OFFICER = 'han.welfare';
const OPERATOR = 'kim.op';
const ADMIN = 'choi.admin';

// /api/ requests made by `page` (method, path and query), and the answers that were errors (`failed`),
// collected until `stop()`.
function watchRequests(page) {
  const seen = [];
  const failed = [];
  const onRequest = (r) => {
    const u = new URL(r.url());
    if (u.pathname.startsWith('/api/')) seen.push({ method: r.method(), path: u.pathname, search: u.search, body: r.postData() || '' });
  };
  const onResponse = (r) => {
    const u = new URL(r.url());
    if (u.pathname.startsWith('/api/') && r.status() >= 400) failed.push(`${r.status()} ${r.request().method()} ${u.pathname}`);
  };
  page.on('request', onRequest);
  page.on('response', onResponse);
  return { seen, failed, stop: () => { page.off('request', onRequest); page.off('response', onResponse); } };
}

// Fails when any identity text is in the page: its text, its attributes, or any open dialog.
async function assertNoIdentity(page, what) {
  const html = await page.content();
  const found = IDENTITY_TEXTS.filter((x) => html.includes(x));
  assert.deepEqual(found, [], `${what}: identity in the page`);
}

async function checkAxe(page, what, include) {
  const vs = await axe(page, { tags: WCAG, include });
  assert.deepEqual(vs, [], `${what}: ${describeViolations(vs)}`);
}

describe('welfare screens', { timeout: 900000 }, () => {
  let city; let browser; let base;
  let resident = null; // {id, household} once registered

  before(async () => {
    city = await H.startCity({ label: 'web_welfare' });
    base = city.d.url;
    browser = await H.launch();
    await H.createUser(city, { username: OFFICER, role: 'welfare_officer', display_name: '한복지', zones: ['station'] });
    await H.createUser(city, { username: OPERATOR, role: 'operator', display_name: '김운영' });
    await H.createUser(city, { username: ADMIN, role: 'admin', display_name: '최관리' });
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

  it('an operator is offered neither the welfare screen nor the access review, and typing them in asks the server nothing', { timeout: 90000 }, async () => {
    await withPage(async (page) => {
      await H.signInWithPassword(page, base, OPERATOR, PASSWORD);
      await page.waitForSelector('a[data-nav="/alerts"]');
      assert.equal(await page.locator('a[data-nav="/welfare"]').count(), 0, 'no welfare link for an operator');
      assert.equal(await page.locator('a[data-nav="/access-review"]').count(), 0, 'no access review link for an operator');
      for (const p of ['/welfare', '/access-review']) {
        const watch = watchRequests(page);
        await page.goto(`${base}${p}`);
        await page.waitForSelector('.placeholder[data-state="forbidden"]');
        await page.waitForLoadState('networkidle');
        watch.stop();
        const asked = watch.seen.filter((r) => /residents|audit/.test(r.path));
        assert.deepEqual(asked, [], `${p}: no request about residents or access records`);
      }
      assert.deepEqual(page.errors, [], 'no script errors');
    });
  });

  it('a welfare officer registers a resident; the household shows by pseudonym and consent; the identity only for a stated purpose', { timeout: 180000 }, async () => {
    await withPage(async (page) => {
      const watch = watchRequests(page);
      await H.signInWithPassword(page, base, OFFICER, PASSWORD);
      await page.click('a[data-nav="/welfare"]');
      await page.waitForURL((u) => u.pathname === '/welfare');
      await page.waitForSelector('#households-empty');
      assert.equal(await page.evaluate(() => document.activeElement?.tagName), 'H1', 'focus on the screen heading');
      assert.equal(await page.locator('a[data-nav="/access-review"]').count(), 0, 'no access review link for a welfare officer');

      // The form: without the signed consent ticked, nothing is sent.
      await page.click('#welfare-register');
      await page.waitForSelector('dialog[open] #resident-create');
      assert.equal(await page.evaluate(() => document.activeElement?.id), 'rr-name', 'focus on the first field');
      await page.fill('#rr-name', RESIDENT.name);
      await page.fill('#rr-birth-year', RESIDENT.birth);
      await page.fill('#rr-phone', RESIDENT.phone);
      await page.fill('#rr-address', RESIDENT.address);
      await page.fill('#rr-notes', RESIDENT.notes);
      await page.fill('#rr-g0-name', RESIDENT.guardian);
      await page.fill('#rr-g0-phone', RESIDENT.guardianPhone);
      await page.fill('#rr-g0-relation', '딸');
      assert.equal(await page.inputValue('#rr-zone'), 'station', 'the officer\'s one zone');
      await page.selectOption('#rr-risk', 'high');
      await page.click('#resident-create button[type="submit"]');
      await page.waitForSelector('#rr-consent-given-err:not([hidden])');
      assert.equal(watch.seen.filter((r) => r.method === 'POST' && r.path === '/api/v1/residents').length, 0, 'no POST without the consent ticked');
      await checkAxe(page, 'register dialog with an error', 'dialog[open]');
      await H.shot(page, 'welfare-register-1366x768');

      await page.check('#rr-consent-given');
      await page.click('#resident-create button[type="submit"]');
      await page.waitForSelector('dialog[open]', { state: 'detached' });
      const row = page.locator('tr.household-row');
      await row.first().waitFor();
      assert.equal(await row.count(), 1);
      resident = { id: await row.getAttribute('data-resident'), household: await row.getAttribute('data-household') };
      assert.match(resident.household, /^hh-[0-9a-f]{16}$/);
      assert.match(resident.id, /^r-[0-9a-f]{16}$/);
      assert.equal(await row.locator('th .hh-open').innerText(), resident.household, 'the pseudonym names the row');
      assert.equal(await row.getAttribute('data-consent'), 'active');
      assert.match(await row.locator('.hh-consent').innerText(), /동의 유효/);
      assert.match(await row.innerText(), /위험 높음/);
      assert.match(await row.locator('.hh-last').innerText(), /연결된 센서 없음/);
      const posted = watch.seen.find((r) => r.method === 'POST' && r.path === '/api/v1/residents');
      assert.ok(posted, 'the form posted the resident');
      assert.match(posted.search, /purpose=/, 'the registration says its purpose');
      const sent = JSON.parse(posted.body);
      assert.equal(sent.consent.granted_at.slice(10), 'T00:00:00+09:00', `consent dates at the start of a Seoul day: ${sent.consent.granted_at}`);
      assert.deepEqual(sent.guardians, [{ name: RESIDENT.guardian, phone: RESIDENT.guardianPhone, relation: '딸' }]);

      // The card is open, without the identity, and nothing has read it.
      await page.waitForSelector('#resident-card #identity-show');
      assert.match(await page.textContent('#resident-title'), new RegExp(resident.household));
      await assertNoIdentity(page, 'after registering');
      const cardPath = `/api/v1/residents/${resident.id}`;
      const reads = () => watch.seen.filter((r) => r.method === 'GET' && r.path === cardPath);
      assert.deepEqual(reads(), [], 'the card was not asked for');
      await checkAxe(page, 'welfare screen with a card', 'main');
      await H.assertNoHorizontalOverflow(page, assert, 'welfare 1366x768');

      // "Show identity" asks why first; an empty purpose is refused without a request.
      await page.click('#identity-show');
      await page.waitForSelector('dialog[open] #identity-purpose-input');
      assert.equal(await page.evaluate(() => document.activeElement?.id), 'identity-purpose-input');
      await page.click('#identity-purpose-form button[type="submit"]');
      await page.waitForSelector('#identity-purpose-err:not([hidden])');
      assert.equal(await page.getAttribute('#identity-purpose-input', 'aria-invalid'), 'true');
      assert.deepEqual(reads(), [], 'no read without a purpose');
      await checkAxe(page, 'purpose dialog with an error', 'dialog[open]');
      const purpose = '안부 확인 전화 (시험)';
      await page.fill('#identity-purpose-input', purpose);
      await page.click('#identity-purpose-form button[type="submit"]');
      await page.waitForSelector('#identity [data-id="name"]');
      const shown = await page.innerText('#identity');
      for (const x of [RESIDENT.name, RESIDENT.phone, RESIDENT.address, RESIDENT.guardian, RESIDENT.notes]) assert.ok(shown.includes(x), `${x} shown: ${shown}`);
      assert.equal(reads().length, 1, 'one read of the card');
      assert.equal(new URLSearchParams(reads()[0].search).get('purpose'), purpose, 'the purpose goes with the read');
      await checkAxe(page, 'welfare card with the identity', 'main');
      await H.shot(page, 'welfare-identity-1366x768');

      // Hidden again: gone from the page, and a reload does not bring it back.
      await page.click('#identity-hide');
      await page.waitForSelector('#identity', { state: 'detached' });
      await assertNoIdentity(page, 'after hiding');
      await page.reload();
      await page.waitForSelector(`tr.household-row[data-resident="${resident.id}"]`);
      await page.waitForSelector('#resident-card #identity-show');
      await page.waitForLoadState('networkidle');
      await assertNoIdentity(page, 'after a reload');
      assert.equal(reads().length, 1, 'the reload read nothing');

      // English: the same screen, every label in English.
      await page.click('#lang-toggle');
      await page.waitForSelector('#households-table');
      assert.match(await page.textContent('#households-table thead'), /Household \(pseudonym\).*Last sign of life.*Consent/s);
      assert.match(await page.locator('tr.household-row .hh-consent').innerText(), /Consent active/);
      await checkAxe(page, 'welfare screen in English', 'main');
      // A narrower window: the card goes under the list, nothing wider than the window.
      await page.setViewportSize({ width: 1024, height: 768 });
      await H.assertNoHorizontalOverflow(page, assert, 'welfare 1024x768');
      await H.shot(page, 'welfare-en-1024x768');
      watch.stop();
      assert.deepEqual(watch.failed, [], 'no request of the welfare screen failed');
      assert.deepEqual(page.errors, [], 'no script errors');
    });
  });

  it('a linked sensor gives the household its last sign of life, routine and open case; an operator breaks the glass on the critical alert', { timeout: 180000 }, async () => {
    assert.ok(resident, 'a resident was registered by the test before');
    for (const sensor of ['home-station-001', 'sos-station-001']) {
      const res = await H.api(city, 'PATCH', `/api/v1/sensors/${sensor}`, { attributes: { household: resident.household } });
      assert.equal(res.status, 200, `link ${sensor}: ${res.text}`);
    }
    // Motion at three hours of the past days, then the emergency button (the demo rule opens a critical alert).
    const now = Date.now();
    await H.postReadings(city, [2, 26, 50].map((hAgo) => ({ sensor: 'home-station-001', metric: 'motion', ts: new Date(now - hAgo * 3600e3).toISOString(), value: 3 })));
    await H.postReadings(city, [{ sensor: 'sos-station-001', metric: 'pressed', ts: new Date().toISOString(), value: 1 }]);
    let alert = null;
    const deadline = Date.now() + 10000;
    while (!alert) {
      const res = await H.api(city, 'GET', '/api/v1/alerts?state=open&domain=welfare');
      alert = (res.json?.items || []).find((a) => a.sensor === 'sos-station-001' && a.severity === 'critical');
      if (!alert && Date.now() > deadline) throw new Error(`no critical alert on sos-station-001 within 10 s: ${res.text}`);
      if (!alert) await new Promise((r) => setTimeout(r, 100));
    }

    await withPage(async (page) => {
      await H.signInWithPassword(page, base, OFFICER, PASSWORD);
      await page.goto(`${base}/welfare?r=${resident.id}`);
      const row = page.locator(`tr.household-row[data-resident="${resident.id}"]`);
      await row.waitFor();
      // the newest of the household's readings: the button pressed a moment ago
      await page.waitForFunction(({ id, since }) => {
        const at = document.querySelector(`tr[data-resident="${id}"] .hh-last time`)?.getAttribute('datetime');
        return at && Date.parse(at) >= since;
      }, { id: resident.id, since: now - 1000 }, { timeout: 10000 })
        .catch(async (e) => { throw new Error(`last sign of life: ${await row.locator('.hh-last').innerText()}: ${e.message}`); });
      // the routine: three readings in the last four weeks, in both heat maps
      await page.waitForSelector(`tr[data-resident="${resident.id}"] .heat-small[data-total="3"]`, { timeout: 10000 })
        .catch(async (e) => { throw new Error(`routine in the row: ${await row.locator('.hh-routine').innerHTML()}: ${e.message}`); });
      await page.waitForSelector('#resident-card .heat-big[data-total="3"]', { timeout: 10000 });
      assert.match(await row.locator('.hh-routine [role="img"]').getAttribute('aria-label'), /기록 3건/);
      assert.match(await row.locator('.hh-alerts').innerText(), /긴급.*1건/s);
      // the open case and its ladder: opened, not yet acknowledged
      const kase = page.locator(`#card-cases li.case[data-alert="${alert.id}"]`);
      await kase.waitFor({ timeout: 10000 });
      assert.equal(await kase.locator('[data-stage="opened"]').getAttribute('data-done'), 'true');
      assert.equal(await kase.locator('[data-stage="acknowledged"]').getAttribute('data-done'), 'false');
      assert.equal(await kase.locator('[data-stage="escalated"]').getAttribute('data-done'), 'false');
      // acknowledged elsewhere: the ladder follows live
      const ack = await H.api(city, 'POST', `/api/v1/alerts/${alert.id}/ack`, { note: 'welfare web test' });
      assert.equal(ack.status, 200, ack.text);
      await page.waitForSelector(`#card-cases li.case[data-alert="${alert.id}"] [data-stage="acknowledged"][data-done="true"]`, { timeout: 10000 });
      await assertNoIdentity(page, 'the card with an open case');
      await checkAxe(page, 'welfare card with a case and routine', 'main');
      await H.shot(page, 'welfare-case-1366x768');
      assert.deepEqual(page.errors, [], 'no script errors');
    });

    await withPage(async (page) => {
      const watch = watchRequests(page);
      await H.signInWithPassword(page, base, OPERATOR, PASSWORD);
      await page.goto(`${base}/alerts?alert=${alert.id}`);
      await page.waitForSelector('#alert-reveal');
      // an operator sees the household's pseudonym, not the sensor
      assert.match(await page.textContent('.alert-detail'), new RegExp(resident.household));
      await assertNoIdentity(page, 'the operator\'s alert detail');
      await page.click('#alert-reveal');
      await page.waitForSelector('dialog[open] #reveal-input');
      await page.click('#reveal-form button[type="submit"]');
      await page.waitForSelector('#reveal-err:not([hidden])');
      assert.equal(watch.seen.filter((r) => r.path.endsWith('/reveal')).length, 0, 'no reveal without a reason');
      await page.fill('#reveal-input', '응급 호출, 전화 받지 않음 (시험)');
      await page.click('#reveal-form button[type="submit"]');
      await page.waitForSelector('#reveal-result [data-id="address"]');
      const text = await page.innerText('#reveal-result');
      for (const x of [RESIDENT.address, RESIDENT.phone, RESIDENT.guardian]) assert.ok(text.includes(x), `${x} revealed: ${text}`);
      await checkAxe(page, 'reveal result', 'dialog[open]');
      await H.shot(page, 'welfare-reveal-1366x768');
      await page.click('#reveal-result button');
      await page.waitForSelector('#reveal-result', { state: 'detached' });
      await assertNoIdentity(page, 'after the reveal is closed');
      const reveals = watch.seen.filter((r) => r.method === 'POST' && r.path === `/api/v1/alerts/${alert.id}/reveal`);
      assert.equal(reveals.length, 1, 'one reveal');
      watch.stop();
      assert.deepEqual(page.errors, [], 'no script errors');
    });
  });

  it('the officer changes the care details, records a consent that has lapsed, exports everything held, and erases the identity for good', { timeout: 150000 }, async () => {
    assert.ok(resident, 'a resident was registered by the test before');
    await withPage(async (page) => {
      const watch = watchRequests(page);
      await H.signInWithPassword(page, base, OFFICER, PASSWORD);
      await page.goto(`${base}/welfare?r=${resident.id}`);
      const row = page.locator(`tr.household-row[data-resident="${resident.id}"]`);
      await page.waitForSelector('#resident-card #care-form', { state: 'attached' });

      // care details: the risk goes down, a care worker is named
      await page.click('#resident-card details:has(#care-form) summary');
      await page.selectOption('#cf-risk', 'low');
      await page.fill('#cf-care-worker', 'care.lee');
      await page.click('#care-form button[type="submit"]');
      await page.waitForFunction((id) => /위험 낮음/.test(document.querySelector(`tr[data-resident="${id}"]`)?.textContent || ''), resident.id, { timeout: 10000 });
      assert.match(await row.innerText(), /care\.lee/);

      // a consent given and expired years ago: the household shows it as lapsed
      await page.click('#resident-card details:has(#consent-form) summary');
      await page.fill('#cn-consent-granted', '2020-01-01');
      await page.fill('#cn-consent-expires', '2021-01-01');
      await page.click('#consent-form button[type="submit"]');
      await page.waitForSelector('#cn-consent-given-err:not([hidden])');
      await page.check('#cn-consent-given');
      await page.click('#consent-form button[type="submit"]');
      await page.waitForSelector(`tr.household-row[data-resident="${resident.id}"][data-consent="lapsed"]`, { timeout: 10000 });
      assert.match(await row.locator('.hh-consent').innerText(), /동의 만료/);
      assert.equal(await page.getAttribute('#card-consent', 'data-consent'), 'lapsed');
      const patches = watch.seen.filter((r) => r.method === 'PATCH');
      assert.equal(patches.length, 2, 'two changes');
      assert.deepEqual(JSON.parse(patches[1].body).consent, {
        purpose: '독거노인 응급안전안심서비스', basis: '정보주체 동의 (개인정보 보호법 제15조 제1항 제1호)',
        granted_at: '2020-01-01T00:00:00+09:00', expires_at: '2021-01-01T00:00:00+09:00',
      });
      await assertNoIdentity(page, 'after the changes (whose answers carry the identity)');

      // the export: a purpose, then a file with everything held
      await page.click('#resident-export');
      await page.fill('#export-purpose-input', '본인 열람 요구 (시험)');
      const [download] = await Promise.all([page.waitForEvent('download', { timeout: 10000 }), page.click('#export-purpose-form button[type="submit"]')]);
      assert.equal(download.suggestedFilename(), `${resident.id}.json`);
      const exported = JSON.parse(require('node:fs').readFileSync(await download.path(), 'utf8'));
      assert.equal(exported.resident.name, RESIDENT.name);
      assert.ok(exported.access_records.length >= 3, 'the access records are part of it');
      await assertNoIdentity(page, 'after the export');

      // erasure: the pseudonym typed again, and a reason
      await page.click('#resident-erase');
      await page.fill('#erase-purpose-input', '본인 요청에 따른 삭제 (시험)');
      await page.fill('#erase-purpose-confirm', 'hh-0000000000000000');
      await page.click('#erase-purpose-form button[type="submit"]');
      await page.waitForSelector('#erase-purpose-confirm-err:not([hidden])');
      assert.equal(watch.seen.filter((r) => r.method === 'DELETE').length, 0, 'nothing erased on a wrong pseudonym');
      await checkAxe(page, 'erase dialog with an error', 'dialog[open]');
      await page.fill('#erase-purpose-confirm', resident.household);
      await page.click('#erase-purpose-form button[type="submit"]');
      await page.waitForSelector(`tr.household-row[data-resident="${resident.id}"]`, { state: 'detached', timeout: 10000 });
      await page.waitForSelector('#households-empty');
      const del = watch.seen.filter((r) => r.method === 'DELETE');
      assert.equal(del.length, 1);
      assert.equal(new URLSearchParams(del[0].search).get('purpose'), '본인 요청에 따른 삭제 (시험)');
      const gone = await H.api(city, 'GET', `/api/v1/residents/${resident.id}?purpose=test`);
      assert.equal(gone.status, 404, `the erased resident: ${gone.text}`);
      watch.stop();
      assert.deepEqual(page.errors, [], 'no script errors');
    });
  });

  it('an administrator\'s access review shows the officer\'s reads and the operator\'s reveal, with an intact chain', { timeout: 120000 }, async () => {
    assert.ok(resident, 'a resident was registered by the test before');
    await withPage(async (page) => {
      await H.signInWithPassword(page, base, ADMIN, PASSWORD);
      await page.click('a[data-nav="/access-review"]');
      await page.waitForURL((u) => u.pathname === '/access-review');
      assert.equal(await page.evaluate(() => document.activeElement?.tagName), 'H1', 'focus on the screen heading');
      const officer = page.locator(`tr.review-row[data-actor="${OFFICER} (welfare_officer)"]`);
      await officer.waitFor({ timeout: 10000 });
      assert.ok(Number(await officer.getAttribute('data-reads')) >= 1, `the officer's reads: ${await officer.innerText()}`);
      assert.ok(Number(await officer.getAttribute('data-residents-read')) >= 1);
      assert.ok(Number(await officer.getAttribute('data-lists')) >= 1);
      assert.equal(await officer.getAttribute('data-exports'), '1');
      assert.equal(await officer.getAttribute('data-erasures'), '1');
      const op = page.locator(`tr.review-row[data-actor="${OPERATOR} (operator)"]`);
      assert.equal(await op.getAttribute('data-reveals'), '1', `the operator's reveal: ${await op.innerText()}`);
      assert.equal(await page.getAttribute('#review-chain', 'data-ok'), 'true');
      await checkAxe(page, 'access review', 'main');

      // The officer's records of the month, with the purpose of the read.
      await officer.locator('[data-action="records"]').click();
      await page.waitForSelector('#records-table tr[data-action="read"]', { timeout: 10000 })
        .catch(async (e) => { throw new Error(`the officer's records: ${await page.innerText('#review-records')}: ${e.message}`); });
      assert.match(await page.innerText('#records-table tr[data-action="read"]'), /안부 확인 전화 \(시험\)/);
      assert.match(await page.innerText('#records-table tr[data-action="read"]'), new RegExp(resident.id));
      await checkAxe(page, 'access review with records', 'main');
      await H.shot(page, 'access-review-1366x768');

      // The previous month holds none of it.
      await page.click('#review-prev');
      await page.waitForSelector('#review-empty, #review-table');
      assert.equal(await page.locator(`tr.review-row[data-actor="${OFFICER} (welfare_officer)"]`).count(), 0, 'nothing of this month in the previous one');
      assert.deepEqual(page.errors, [], 'no script errors');
    });
  });
});
