'use strict';
// Issue 15, "from alert to action", in Debian's chromium: during a flood in Cheongchoho, one alert per gauge
// rises from attention to danger (a staged rule), a flood incident opens with its playbook, an operator signed
// in with a password takes an alert, acknowledges the rest in bulk, ticks playbook steps, and the handover page
// shows it all, in Korean and in English; axe (WCAG 2.1 AA) on each screen in both languages. Readings go in
// through the API.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const H = require('./lib/harness.js');
const { axe, describeViolations, WCAG } = require('./lib/axe.js');

const GAUGES = ['wl-cheongcho-01', 'wl-cheongcho-02'];
const STEPS = [
  { id: 'close-roads', text: { ko: '하천변 도로 통제', en: 'Close the riverside roads' }, role: 'operator' },
  { id: 'open-shelters', text: { ko: '대피소 개방', en: 'Open the shelters' } },
  { id: 'warn-residents', text: { ko: '주민 대피 안내 방송', en: 'Broadcast the evacuation warning' } },
];

async function poll(fn, { timeoutMs = 10000, intervalMs = 100, what }) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    last = await fn();
    if (last && last.ok) return last;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms (last: ${JSON.stringify(last).slice(0, 600)})`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

describe('a flood shift: from alert to action', { timeout: 900000 }, () => {
  let city; let browser; let base;
  const t0 = Date.now();
  let n = 0;
  const ts = () => new Date(t0 + (n++) * 1000).toISOString();

  before(async () => {
    city = await H.startCity({ label: 'web_flood' });
    base = city.d.url;
    browser = await H.launch();
    // The demo world's own water-level rules would open alerts of their own: this shift has one staged rule.
    const rules = await H.api(city, 'GET', '/api/v1/rules?limit=1000');
    assert.equal(rules.status, 200, rules.text);
    for (const r of rules.json.items.filter((x) => x.selector?.kind === 'water_level' || /flood/.test(x.id))) {
      const del = await H.api(city, 'DELETE', `/api/v1/rules/${encodeURIComponent(r.id)}`);
      assert.equal(del.status, 204, `delete ${r.id}: ${del.text}`);
    }
    const rule = await H.api(city, 'POST', '/api/v1/rules', {
      id: 'flood-stages', name: { ko: '청초천 수위 단계', en: 'Cheongchocheon water level stages' }, kind: 'threshold',
      selector: { kind: 'water_level', zone: 'cheongcho' }, metric: 'level', op: '>=',
      stages: [{ value: 1.5, severity: 'info' }, { value: 2.0, severity: 'warning' }, { value: 3.0, severity: 'critical' }],
      clear: 1.2, incident: { category: 'flood' },
    });
    assert.equal(rule.status, 201, `staged rule: ${rule.text}`);
    const pb = await H.api(city, 'PUT', '/api/v1/playbooks/flood', { steps: STEPS });
    assert.ok([200, 201].includes(pb.status), `flood playbook: ${pb.status} ${pb.text}`);
    await H.createUser(city, { username: 'park.op', role: 'operator', display_name: '박서준' });
  }, { timeout: 180000 });

  after(async () => {
    try {
      if (browser) await browser.close();
    } finally {
      await H.stopCity(city);
    }
  });

  async function ruleAlerts(state = '') {
    const res = await H.api(city, 'GET', `/api/v1/alerts?limit=100${state ? `&state=${state}` : ''}`);
    assert.equal(res.status, 200, res.text);
    return res.json.items.filter((a) => a.rule === 'flood-stages');
  }

  async function setLang(page, lang) {
    if (await page.evaluate(() => document.documentElement.lang) !== lang) {
      await page.click('#lang-toggle');
      await page.waitForFunction((l) => document.documentElement.lang === l, lang);
    }
  }

  async function axeBoth(page, what, ready) {
    for (const lang of ['ko', 'en']) {
      await setLang(page, lang);
      await page.waitForSelector(ready);
      const vs = await axe(page, { tags: WCAG });
      assert.deepEqual(vs, [], `${what} (${lang}): ${describeViolations(vs)}`);
      await H.shot(page, `flood-${what}-${lang}-1366x768`);
    }
    await setLang(page, 'ko');
  }

  it('works the flood from the first reading to the handover', { timeout: 600000 }, async () => {
    const page = await H.newPage(browser, { width: 1366, height: 768 });
    try {
      await H.signInWithPassword(page, base, 'park.op', H.PASSWORD);
      await page.waitForSelector('#live-status[data-state="live"]', { timeout: 10000 });
      assert.match(await page.textContent('#who'), /박서준/);
      await page.goto(`${base}/alerts`);

      // The river rises: attention, then warning, then danger, at both gauges.
      await H.postReadings(city, GAUGES.map((sensor) => ({ sensor, metric: 'level', ts: ts(), value: 1.62 })));
      await poll(async () => { const a = await ruleAlerts('open'); return { ok: a.length === 2 && a.every((x) => x.severity === 'info'), a: a.map((x) => x.severity) }; }, { what: 'two info alerts' });
      await page.waitForFunction(() => document.querySelectorAll('tr.alert-row[data-severity="info"]').length >= 2, null, { timeout: 5000 });
      await H.postReadings(city, GAUGES.map((sensor) => ({ sensor, metric: 'level', ts: ts(), value: 2.31 })));
      await poll(async () => { const a = await ruleAlerts('open'); return { ok: a.length === 2 && a.every((x) => x.severity === 'warning'), a: a.map((x) => x.severity) }; }, { what: 'both rise to warning' });
      await H.postReadings(city, GAUGES.map((sensor) => ({ sensor, metric: 'level', ts: ts(), value: 3.6 })));
      const crit = await poll(async () => { const a = await ruleAlerts('open'); return { ok: a.length === 2 && a.every((x) => x.severity === 'critical'), a }; }, { what: 'both rise to critical' });
      assert.equal((await ruleAlerts()).length, 2, 'one alert per gauge, not one per stage');
      for (const a of crit.a) {
        assert.equal(a.value_at_open, 1.62);
        assert.equal(a.current_value, 3.6);
        assert.ok(a.title && a.title.ko && a.title.en, 'a title in both languages');
      }

      // The flood incident opens in the zone with both alerts and its playbook.
      const inc = await poll(async () => {
        const r = await H.api(city, 'GET', '/api/v1/incidents?state=open&limit=100');
        const i = r.json.items.find((x) => x.category === 'flood' && x.zone === 'cheongcho');
        return { ok: !!i && crit.a.every((a) => (i.alerts || []).map(String).includes(String(a.id))), i };
      }, { what: 'a flood incident with both alerts' });
      const incId = inc.i.id;

      // The queue: one group for the incident, both alerts critical, the value now beside the value at opening.
      const group = page.locator(`tr.group-row.is-incident`);
      await group.first().waitFor({ timeout: 35000 });
      assert.match(await group.first().textContent(), new RegExp(`#${incId}`));
      for (const a of crit.a) {
        const row = page.locator(`tr.alert-row[data-alert="${a.id}"]`);
        await page.waitForSelector(`tr.alert-row[data-alert="${a.id}"][data-severity="critical"]`, { timeout: 5000 });
        const vals = await row.locator('td.values').textContent();
        assert.match(vals, /3\.6/);
        assert.match(vals, /1\.62/);
      }
      assert.match(await page.textContent('#alert-count'), /미확인 경보 2건/);
      assert.match(await page.getAttribute('a[data-nav="/alerts"]', 'aria-label'), /경보, \d+ 건 미확인/);
      await page.waitForSelector('#crit-banner:not([hidden])');
      await axeBoth(page, 'queue', 'tr.group-row');

      // Take the first gauge's alert; "mine" shows it alone.
      const mineId = crit.a.find((a) => a.sensor === GAUGES[0]).id;
      await page.click(`tr.alert-row[data-alert="${mineId}"] .rule-link`);
      await page.click('#assign-form [data-action="assign-me"]');
      await poll(async () => {
        const r = await H.api(city, 'GET', `/api/v1/alerts/${mineId}`);
        return { ok: r.json.assignee === 'park.op', assignee: r.json.assignee };
      }, { what: 'assigned to park.op' });
      await page.waitForSelector(`tr.alert-row[data-alert="${mineId}"][data-assignee="park.op"]`, { timeout: 5000 });
      await page.selectOption('select[name="assignee"]', 'me');
      await page.waitForFunction((id) => {
        const rows = [...document.querySelectorAll('tr.alert-row')];
        return rows.length === 1 && rows[0].dataset.alert === String(id);
      }, mineId, { timeout: 5000 });
      await page.selectOption('select[name="assignee"]', '');

      // Acknowledge the incident's alerts at once.
      await page.check('tr.group-row.is-incident input.pick-group');
      assert.match(await page.textContent('#bulk-ack'), /2건/);
      await page.click('#bulk-ack');
      await page.waitForSelector('#bulk-dialog');
      await page.fill('#bulk-note', '수위 3.6 m, 현장 출동 요청');
      await page.click('[data-action="confirm-bulk-ack"]');
      await poll(async () => { const a = await ruleAlerts('acknowledged'); return { ok: a.length === 2, n: a.length }; }, { what: 'both acknowledged' });
      await page.waitForFunction(() => document.querySelectorAll('tr.alert-row[data-state="acknowledged"]').length >= 2, null, { timeout: 5000 });

      // The incident: its playbook, one step ticked with a note, who and when.
      await page.goto(`${base}/incidents?id=${incId}`);
      await page.waitForSelector('#playbook .pb-step');
      assert.equal(await page.locator('#playbook .pb-step').count(), STEPS.length);
      await page.click('#playbook .pb-step[data-step="close-roads"] [data-action="tick"]');
      await page.waitForSelector('#tick-dialog');
      await page.fill('#step-note', '청초호반로 양방향 통제');
      await page.click('[data-action="confirm-tick"]');
      await page.waitForSelector('#playbook .pb-step[data-step="close-roads"][data-done="true"]', { timeout: 5000 });
      assert.match(await page.textContent('#playbook .pb-step[data-step="close-roads"]'), /park\.op|박서준/);
      await page.click('#playbook .pb-step[data-step="open-shelters"] [data-action="tick"]');
      await page.click('[data-action="confirm-tick"]');
      await page.waitForSelector('#playbook .pb-step[data-step="open-shelters"][data-done="true"]', { timeout: 5000 });
      const stored = await H.api(city, 'GET', `/api/v1/incidents/${incId}`);
      assert.ok(JSON.stringify(stored.json).includes('청초호반로 양방향 통제'), `the note is in the incident: ${stored.text.slice(0, 800)}`);
      await axeBoth(page, 'incident', '#playbook .pb-step');

      // The handover: the alerts (acknowledged, assigned), the incident, steps done and to do, the notes.
      await page.goto(`${base}/handover?since=${encodeURIComponent(new Date(t0 - 60000).toISOString())}`);
      await page.waitForSelector('#ho-alerts-open');
      for (const a of crit.a) assert.equal(await page.locator(`#ho-alerts-open tr[data-alert="${a.id}"]`).count(), 1, `alert ${a.id} in the handover`);
      assert.match(await page.textContent(`#ho-alerts-open tr[data-alert="${mineId}"]`), /park\.op/);
      assert.equal(await page.locator(`#ho-incidents-open li[data-incident="${incId}"]`).count(), 1);
      const done = await page.textContent('#ho-steps-done');
      assert.match(done, /하천변 도로 통제/);
      assert.match(done, /대피소 개방/);
      assert.match(await page.textContent('#ho-steps-pending'), /주민 대피 안내 방송/);
      assert.match(await page.textContent('.handover-body'), /청초호반로 양방향 통제/);
      await axeBoth(page, 'handover', '#ho-alerts-open');
      await setLang(page, 'en');
      await page.waitForSelector('#ho-steps-done');
      assert.match(await page.textContent('#ho-steps-done'), /Close the riverside roads/);
      assert.match(await page.textContent('#ho-steps-pending'), /Broadcast the evacuation warning/);
      assert.match(await page.textContent('#ho-alerts-open'), /Escalated|Acknowledged/);
      // Printable: no header or buttons in print.
      await page.emulateMedia({ media: 'print' });
      assert.equal(await page.locator('header.topbar').isVisible(), false, 'no header in print');
      assert.equal(await page.locator('#ho-print').isVisible(), false, 'no buttons in print');
      await H.shot(page, 'flood-handover-print-en');
      await page.emulateMedia({ media: 'screen' });
      assert.deepEqual(page.errors, [], 'no script errors');
    } finally {
      await page.context().close();
    }
  });
});
