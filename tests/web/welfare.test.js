'use strict';
// The welfare screens in Debian's chromium against a real maeuld (API §9): a welfare officer registers a
// resident through the form and sees the household by its pseudonym with its consent; the identity is in
// neither the page nor any request until "show identity" is given a purpose (which goes with the request),
// and goes again when hidden; a linked sensor gives the row its last sign of life, routine and open case
// with its escalation ladder (the emergency button straight to the care loop's 119 incident); an operator
// breaks the glass on the critical alert; the officer works a case up its ladder (acknowledge, send a visit,
// record it, call 119: incidents linked to the alert, with a zone and no location), and an answer refused
// shows in its dialog; an administrator's access review shows the officer's reads and the operator's reveal;
// the officer changes the care details and the consent, exports and erases; an operator has neither screen.
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

// Polls `fn` (an async function returning a value or null) until it returns a value, for up to `ms`.
async function until(what, fn, ms = 10000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

// The incidents linked to alert `id` (the admin's view of the API).
async function incidentsOf(city, id) {
  const res = await H.api(city, 'GET', '/api/v1/incidents?limit=1000');
  assert.equal(res.status, 200, res.text);
  return res.json.items.filter((i) => (i.alerts || []).includes(Number(id)));
}

// The ladder of case `id` as the page shows it: the steps in order, the current one, the next one.
async function ladderOf(page, id) {
  return page.evaluate((aid) => {
    const li = document.querySelector(`#card-cases li.case[data-alert="${aid}"]`);
    if (!li) return null;
    const steps = [...li.querySelectorAll('ol.ladder > li')];
    return {
      stages: steps.map((s) => s.dataset.stage),
      done: steps.filter((s) => s.dataset.done === 'true').map((s) => s.dataset.stage),
      current: steps.filter((s) => s.getAttribute('aria-current') === 'step').map((s) => s.dataset.stage),
      next: steps.filter((s) => s.dataset.status === 'next').map((s) => s.dataset.stage),
      incidents: li.querySelector('.ladder-wrap')?.dataset.incidents,
      nextText: li.querySelector('.ladder-next')?.textContent || '',
      actions: [...li.querySelectorAll('.case-actions button')].map((b) => b.dataset.action),
    };
  }, String(id));
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
      // The emergency button goes straight to 119: the care loop's incident (no event on the live feed) shows
      // on the ladder as the current step, and nobody is offered to call 119 again.
      const sos = await until('the care loop\'s 119 incident', async () => (await incidentsOf(city, alert.id)).find((i) => i.category === 'welfare_emergency'), 15000);
      assert.equal(sos.location, null, 'a welfare incident has no location');
      assert.equal(sos.zone, 'station');
      await page.waitForSelector(`#card-cases li.case[data-alert="${alert.id}"] [data-stage="emergency"][data-done="true"][aria-current="step"]`, { timeout: 20000 })
        .catch(async (e) => { throw new Error(`the 119 step: ${JSON.stringify(await ladderOf(page, alert.id))}: ${e.message}`); });
      const l = await ladderOf(page, alert.id);
      assert.deepEqual(l.stages, ['opened', 'acknowledged', 'escalated', 'visit', 'emergency'], 'five steps in order');
      assert.deepEqual(l.done, ['opened', 'acknowledged', 'emergency']);
      assert.deepEqual(l.current, ['emergency'], 'one current step');
      assert.ok(!l.actions.includes('call119') && !l.actions.includes('ack'), `no second 119 call, no second acknowledgement: ${l.actions}`);
      assert.match(l.nextText, /119에 알렸습니다/);
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

  it('the officer works an open case up its ladder: acknowledge, send a visit, record it, call 119 (incidents with the zone, no location); a refused answer shows in its dialog', { timeout: 240000 }, async () => {
    assert.ok(resident, 'a resident was registered by the test before');
    // A warning on the household's activity sensor (a rule of the test's own): a case that is not on its way to 119.
    const rule = await H.api(city, 'POST', '/api/v1/rules', {
      id: 'web-test-door', name: { ko: '현관 출입 많음 (시험)', en: 'Many door events (test)' }, kind: 'threshold',
      selector: { sensor: 'home-station-001' }, severity: 'warning', metric: 'door', op: '>=', value: 50,
    });
    assert.equal(rule.status, 201, rule.text);
    await H.postReadings(city, [{ sensor: 'home-station-001', metric: 'door', ts: new Date().toISOString(), value: 60 }]);
    const alert = await until('an open alert of the test rule', async () => {
      const res = await H.api(city, 'GET', '/api/v1/alerts?state=open&domain=welfare');
      return (res.json?.items || []).find((a) => a.rule === 'web-test-door');
    });
    const sos = await until('the emergency button\'s alert', async () => {
      const res = await H.api(city, 'GET', '/api/v1/alerts?state=acknowledged&domain=welfare');
      return (res.json?.items || []).find((a) => a.sensor === 'sos-station-001');
    });
    assert.deepEqual(await incidentsOf(city, alert.id), [], 'no incident on the new case yet');

    await withPage(async (page) => {
      const watch = watchRequests(page);
      await H.signInWithPassword(page, base, OFFICER, PASSWORD);
      await page.goto(`${base}/welfare?r=${resident.id}`);
      const kase = page.locator(`#card-cases li.case[data-alert="${alert.id}"]`);
      await kase.locator('.ladder-wrap[data-incidents="ok"]').waitFor({ timeout: 15000 });

      // Opened: the current step, escalation to the officer next (by itself, unless acknowledged).
      let l = await ladderOf(page, alert.id);
      assert.deepEqual(l.stages, ['opened', 'acknowledged', 'escalated', 'visit', 'emergency'], 'five steps in order');
      assert.deepEqual(l.done, ['opened']);
      assert.deepEqual(l.current, ['opened']);
      assert.deepEqual(l.next, ['escalated']);
      assert.match(l.nextText, /다음: 상향 보고/);
      assert.deepEqual(l.actions, ['ack', 'visit', 'call119']);
      assert.equal(await kase.locator('[data-stage="visit"] .ladder-label').innerText(), '가정 방문');
      assert.equal(await kase.locator('[data-stage="emergency"] .ladder-label').innerText(), '119 신고');
      assert.equal(await kase.locator('ol.ladder').getAttribute('aria-label'), '대응 단계');
      await checkAxe(page, 'a case at its first step', 'main');

      // Acknowledge, with a note: the step names who did it; nothing more comes by itself.
      await kase.locator('button[data-action="ack"]').click();
      await page.waitForSelector('dialog[open] #alert-note');
      await page.fill('#alert-note', '전화 확인 중 (시험)');
      await page.click('dialog[open] button[data-action="confirm-ack"]');
      await kase.locator('[data-stage="acknowledged"][data-done="true"]').waitFor({ timeout: 10000 });
      assert.match(await kase.locator('[data-stage="acknowledged"] .ladder-who').innerText(), new RegExp(OFFICER.replace('.', '\\.')));
      l = await ladderOf(page, alert.id);
      assert.deepEqual(l.current, ['acknowledged']);
      assert.deepEqual(l.next, [], 'acknowledged: no automatic step');
      assert.match(l.nextText, /자동 단계는 멈췄습니다/);
      assert.deepEqual(l.actions, ['visit', 'call119']);
      assert.equal(await page.evaluate(() => document.activeElement?.dataset.action), 'visit', 'the focus stays on the case');

      // Send a visit: a confirmation (cancelled first: nothing is sent), then a welfare_visit linked to the alert.
      await kase.locator('button[data-action="visit"]').click();
      await page.waitForSelector('dialog[open]#case-visit');
      await checkAxe(page, 'the visit dialog', 'dialog[open]');
      await page.click('dialog[open]#case-visit button:not([data-action])');
      await page.waitForSelector('#case-visit', { state: 'detached' });
      assert.equal(watch.seen.filter((r) => r.method === 'POST' && r.path === '/api/v1/incidents').length, 0, 'no incident on a cancel');
      await kase.locator('button[data-action="visit"]').click();
      await page.fill('#case-visit-note', '오늘 오후 방문 (시험)');
      await page.click('dialog[open]#case-visit button[data-action="confirm"]');
      await kase.locator('[data-stage="visit"][data-done="true"]').waitFor({ timeout: 10000 });
      const visit = (await incidentsOf(city, alert.id)).find((i) => i.category === 'welfare_visit');
      assert.ok(visit, 'a welfare_visit incident linked to the alert');
      assert.equal(visit.zone, 'station');
      assert.equal(visit.location, null, 'no location on the visit');
      assert.equal(visit.on_scene_at, null);
      l = await ladderOf(page, alert.id);
      assert.deepEqual(l.current, ['visit']);
      assert.deepEqual(l.next, ['emergency'], '119 next, if the visit is not made');
      assert.match(await kase.locator('[data-stage="visit"] .ladder-detail').innerText(), /아직 방문 전/);
      assert.equal(await kase.locator('[data-stage="visit"]').getAttribute('data-incident'), String(visit.id));
      assert.deepEqual(l.actions, ['visited', 'call119']);

      // Visited: on the scene now; 119 no longer comes by itself.
      await kase.locator('button[data-action="visited"]').click();
      await page.waitForSelector('dialog[open]#case-visited');
      await page.click('dialog[open]#case-visited button[data-action="confirm"]');
      await kase.locator('[data-stage="visit"] .ladder-detail', { hasText: '방문함' }).waitFor({ timeout: 10000 })
        .catch(async (e) => { throw new Error(`visited: ${JSON.stringify(await ladderOf(page, alert.id))} ${await page.locator('#case-visited-error').innerText().catch(() => '')}: ${e.message}`); });
      const visited = (await incidentsOf(city, alert.id)).find((i) => i.id === visit.id);
      assert.ok(visited.on_scene_at, `on the scene: ${JSON.stringify(visited)}`);
      const patched = watch.seen.filter((r) => r.method === 'PATCH' && r.path === `/api/v1/incidents/${visit.id}`).map((r) => JSON.parse(r.body));
      assert.equal(patched.length, 1);
      assert.ok(patched[0].on_scene_at && !('location' in patched[0]), `the visit recorded: ${JSON.stringify(patched[0])}`);
      l = await ladderOf(page, alert.id);
      assert.deepEqual(l.next, []);
      assert.match(l.nextText, /방문했습니다/);
      assert.deepEqual(l.actions, ['call119']);

      // Call 119: a welfare_emergency linked to the alert, with the zone and no location.
      await kase.locator('button[data-action="call119"]').click();
      await page.waitForSelector('dialog[open]#case-119');
      await checkAxe(page, 'the 119 dialog', 'dialog[open]');
      await page.click('dialog[open]#case-119 button[data-action="confirm"]');
      await kase.locator('[data-stage="emergency"][data-done="true"]').waitFor({ timeout: 10000 });
      const call = (await incidentsOf(city, alert.id)).filter((i) => i.category === 'welfare_emergency');
      assert.equal(call.length, 1, 'one 119 incident');
      assert.equal(call[0].zone, 'station');
      assert.equal(call[0].location, null, 'no location on the 119 incident');
      l = await ladderOf(page, alert.id);
      assert.deepEqual(l.done, ['opened', 'acknowledged', 'visit', 'emergency']);
      assert.deepEqual(l.current, ['emergency']);
      assert.deepEqual(l.actions, [], 'nothing more to do on the case from here');
      const posted = watch.seen.filter((r) => r.method === 'POST' && r.path === '/api/v1/incidents').map((r) => JSON.parse(r.body));
      assert.equal(posted.length, 2);
      for (const b of posted) {
        assert.ok(!('location' in b), `no location sent: ${JSON.stringify(b)}`);
        assert.deepEqual(b.alerts, [alert.id]);
        assert.equal(b.zone, 'station');
      }
      assert.deepEqual(posted.map((b) => b.category), ['welfare_visit', 'welfare_emergency']);
      assert.equal(posted[0].note, '오늘 오후 방문 (시험)');
      await checkAxe(page, 'a case at 119', 'main');
      await H.shot(page, 'welfare-ladder-1366x768');

      // The emergency button's case: a visit sent here; recorded elsewhere while the dialog is open, the
      // refused answer (409) shows in the dialog, and the ladder catches up without a reload.
      const other = page.locator(`#card-cases li.case[data-alert="${sos.id}"]`);
      await other.locator('button[data-action="visit"]').click();
      await page.click('dialog[open]#case-visit button[data-action="confirm"]');
      await other.locator('[data-stage="visit"][data-done="true"]').waitFor({ timeout: 10000 });
      const sosVisit = (await incidentsOf(city, sos.id)).find((i) => i.category === 'welfare_visit');
      assert.ok(sosVisit, 'a visit on the emergency button\'s case');
      await other.locator('button[data-action="visited"]').click();
      await page.waitForSelector('dialog[open]#case-visited');
      const elsewhere = await H.api(city, 'PATCH', `/api/v1/incidents/${sosVisit.id}`, { dispatched_at: new Date().toISOString(), on_scene_at: new Date().toISOString() });
      assert.equal(elsewhere.status, 200, elsewhere.text);
      await page.click('dialog[open]#case-visited button[data-action="confirm"]');
      await page.waitForSelector('#case-visited-error:not([hidden])', { timeout: 10000 });
      assert.ok((await page.innerText('#case-visited-error')).length > 0, 'the problem is said');
      assert.equal(await page.locator('dialog[open]#case-visited').count(), 1, 'the dialog stays open');
      await checkAxe(page, 'the visit dialog with an error', 'dialog[open]');
      await page.keyboard.press('Escape');
      await page.waitForSelector('#case-visited', { state: 'detached' });
      await other.locator('[data-stage="visit"] .ladder-detail', { hasText: '방문함' }).waitFor({ timeout: 20000 });

      // English: the same ladder, every label in English.
      await page.click('#lang-toggle');
      await kase.locator('.ladder-wrap[data-incidents="ok"]').waitFor({ timeout: 15000 });
      const labels = await kase.locator('ol.ladder .ladder-label').allInnerTexts();
      assert.deepEqual(labels, ['Opened', 'Acknowledged', 'Escalated', 'Home visit', '119 call']);
      assert.equal(await kase.locator('ol.ladder').getAttribute('aria-label'), 'Escalation');
      assert.match(await kase.locator('.ladder-next').innerText(), /119 has been called/);
      assert.match(await other.locator('[data-stage="visit"] .ladder-detail').innerText(), /visited/);
      await checkAxe(page, 'the ladders in English', 'main');
      await H.shot(page, 'welfare-ladder-en-1366x768');
      await assertNoIdentity(page, 'the ladders');
      watch.stop();
      assert.deepEqual(watch.failed, [`409 PATCH /api/v1/incidents/${sosVisit.id}`], 'the one refused answer was the one provoked');
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
