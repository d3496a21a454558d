'use strict';
// Alerts: one open alert per (rule, sensor); ack with a note (acknowledged_by/at), resolve, ack of a
// resolved alert → 409; the audit trail (/alerts/{id}/events: who, when, note); list filters (state,
// zone, domain, severity), newest first, cursor paging; roles; escalation of unacknowledged critical
// alerts (escalate_after_s = 1) with an `escalated` event on the WebSocket and in /events.
// Contract: shared/API.md §6; docs/api-notes.md "Live operations" (alerts).

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/harness');
const I = require('./lib/ingest-helpers');
const L = require('./lib/live-helpers');

const { SEC, MIN, iso } = I;

const ALERT_KEYS = ['id', 'rule', 'rule_name', 'kind', 'severity', 'state', 'sensor', 'zone', 'domain', 'metric', 'value', 'message',
  'opened_at', 'acknowledged_at', 'acknowledged_by', 'resolved_at', 'resolved_by', 'cleared_at', 'escalated_at', 'note',
  // API §12
  'title', 'text', 'value_at_open', 'current_value', 'stage', 'assignee', 'assigned_at', 'incident'];

describe('alerts', () => {
  const ctx = h.useDaemon('alerts', { MAEUL_ALERTS_TICK_MS: '100', MAEUL_ALERTS_ESCALATE_AFTER_S: '1' });
  let T;
  const tok = {};
  const clients = [];
  const t0 = Date.now() - 30 * MIN;
  let tick = 0;
  const reading = (sensor, value) => ({ sensor, metric: 'level', ts: iso(t0 + (tick++) * SEC), value });
  const rules = {};

  const threshold = (name, selector, severity, value = 10) => ({
    name: { ko: `경보 ${name}`, en: `Alert ${name}` }, kind: 'threshold', selector, severity, metric: 'level', op: '>', value,
  });

  before(async () => {
    T = ctx.d.bootstrapToken;
    const d = ctx.d;
    for (const role of ['operator', 'analyst', 'device', 'welfare_officer']) {
      tok[role] = (await h.createToken(d, role, `kim-${role}`)).token;
    }
    await I.makeZone(d, 'al-north', 127.00, 37.00, 0.02);
    await I.makeZone(d, 'al-south', 127.10, 37.00, 0.02);
    const s = (id, domain, lon, kind) => I.makeSensor(d, id, { domain, kind, location: h.point(lon, 37.01), metrics: [{ name: 'level', unit: 'm' }] });
    await s('one-1', 'disaster', 127.01, 'one');
    await s('one-2', 'disaster', 127.011, 'one');
    await s('life-1', 'disaster', 127.012, 'life');
    for (let i = 0; i < 3; i++) await s(`ln-${i}`, 'disaster', 127.013 + i * 0.001, 'list'); // north, disaster
    for (let i = 0; i < 2; i++) await s(`ls-${i}`, 'energy', 127.11 + i * 0.001, 'list'); // south, energy
    await s('esc-crit', 'disaster', 127.02, 'esc');
    await s('esc-acked', 'disaster', 127.021, 'esc');
    await s('esc-warn', 'disaster', 127.022, 'escw');
    rules.one = await L.createRule(d, threshold('one', { kind: 'one' }, 'warning'));
    rules.life = await L.createRule(d, threshold('life', { kind: 'life' }, 'warning'));
    rules.listWarn = await L.createRule(d, threshold('list-w', { kind: 'list' }, 'warning', 10));
    rules.listInfo = await L.createRule(d, threshold('list-i', { kind: 'list' }, 'info', 100));
    rules.esc = await L.createRule(d, threshold('esc', { kind: 'esc' }, 'critical'));
    rules.escWarn = await L.createRule(d, threshold('esc-w', { kind: 'escw' }, 'warning'));
    await L.rulesSettled(d);
  });

  after(() => { for (const c of clients) c.destroy(); });

  test('one open alert per (rule, sensor): repeated triggering, while open and while acknowledged', async () => {
    await L.ingest(ctx.d, [reading('one-1', 11), reading('one-1', 12)]);
    await L.ingest(ctx.d, [reading('one-1', 13)]);
    await L.ingest(ctx.d, [reading('one-2', 20)]);
    const a2 = await L.waitAlert(ctx.d, (a) => a.rule === rules.one.id && a.sensor === 'one-2', { what: 'one-2 alert' });
    let mine = await L.alertsOf(ctx.d, rules.one.id);
    assert.deepEqual(mine.map((a) => a.sensor).sort(), ['one-1', 'one-2'], `one alert per sensor: ${JSON.stringify(mine.map((a) => [a.id, a.sensor]))}`);
    const a1 = mine.find((a) => a.sensor === 'one-1');
    assert.deepEqual(Object.keys(a1).sort(), [...ALERT_KEYS].sort(), `alert fields: ${JSON.stringify(a1)}`);
    assert.equal(a1.state, 'open');
    assert.equal(a1.value, 11, 'value of the reading that opened it');
    assert.equal(a1.zone, 'al-north');
    assert.equal(a1.domain, 'disaster');
    assert.equal(a1.metric, 'level');
    assert.equal(a1.severity, 'warning');
    assert.deepEqual(a1.rule_name, rules.one.name);
    assert.equal(typeof a1.message, 'string');
    assert.ok(a1.message.length > 0);
    h.assertTimes(a1, ['opened_at']);
    for (const k of ['acknowledged_at', 'acknowledged_by', 'resolved_at', 'resolved_by', 'cleared_at', 'escalated_at', 'note']) {
      assert.equal(a1[k], null, `${k} of a new alert`);
    }
    assert.deepEqual(h.assertJson(await L.api(ctx.d, 'GET', `/api/v1/alerts/${a1.id}`), 200), a1, 'GET one = the listed alert');
    // acknowledged is still "open" for uniqueness
    h.assertStatus(await L.api(ctx.d, 'POST', `/api/v1/alerts/${a1.id}/ack`, { note: 'on it' }, tok.operator), 200);
    await L.ingest(ctx.d, [reading('one-1', 5), reading('one-1', 14)]); // below, then above again
    await L.ingest(ctx.d, [reading('one-2', 5), reading('one-2', 21)]);
    await L.ingest(ctx.d, [reading('one-2', 22)]);
    mine = await L.alertsOf(ctx.d, rules.one.id);
    assert.deepEqual(mine.map((a) => a.id).sort((x, y) => x - y), [a1.id, a2.id].sort((x, y) => x - y), 'still the same two alerts');
  });

  describe('lifecycle and audit trail', () => {
    let alert;

    before(async () => {
      await L.ingest(ctx.d, [reading('life-1', 50)]);
      alert = await L.waitAlert(ctx.d, (a) => a.rule === rules.life.id, { what: 'life-1 alert' });
    });

    test('ack with a note → 200 acknowledged, acknowledged_by names the token, acknowledged_at now', async () => {
      const sentAt = Date.now();
      const res = await L.api(ctx.d, 'POST', `/api/v1/alerts/${alert.id}/ack`, { note: '현장 확인 중' }, tok.operator);
      const a = h.assertJson(res, 200);
      assert.equal(a.id, alert.id);
      assert.equal(a.state, 'acknowledged');
      assert.equal(a.note, '현장 확인 중');
      assert.match(String(a.acknowledged_by), /kim-operator/, `acknowledged_by: ${a.acknowledged_by}`);
      h.assertTimes(a, ['acknowledged_at']);
      assert.ok(Math.abs(Date.parse(a.acknowledged_at) - sentAt) < 5000);
      assert.equal(a.resolved_at, null);
      assert.deepEqual(h.assertJson(await L.api(ctx.d, 'GET', `/api/v1/alerts/${alert.id}`), 200), a);
    });

    test('resolve with a note → 200 resolved, resolved_by/at; ack of a resolved alert → 409; it stays resolved', async () => {
      const res = await L.api(ctx.d, 'POST', `/api/v1/alerts/${alert.id}/resolve`, { note: '배수 완료' }, tok.welfare_officer);
      const a = h.assertJson(res, 200);
      assert.equal(a.state, 'resolved');
      assert.match(String(a.resolved_by), /kim-welfare_officer/, `resolved_by: ${a.resolved_by}`);
      h.assertTimes(a, ['resolved_at', 'acknowledged_at']);
      assert.ok(Date.parse(a.resolved_at) >= Date.parse(a.acknowledged_at));
      assert.match(String(a.acknowledged_by), /kim-operator/, 'acknowledged_by kept');
      h.assertProblem(await L.api(ctx.d, 'POST', `/api/v1/alerts/${alert.id}/ack`, { note: 'late' }, tok.operator), 409, 'conflict');
      const now = h.assertJson(await L.api(ctx.d, 'GET', `/api/v1/alerts/${alert.id}`), 200);
      assert.equal(now.state, 'resolved');
      assert.deepEqual(now, a, 'the refused ack changed nothing');
    });

    test('the audit trail: opened, acknowledged, resolved — who, when, note, in order', async () => {
      const b = h.assertJson(await L.api(ctx.d, 'GET', `/api/v1/alerts/${alert.id}/events`, undefined, tok.operator), 200);
      assert.ok(Array.isArray(b.items), `items[]: ${JSON.stringify(b)}`);
      const evs = b.items;
      assert.deepEqual(evs.map((e) => e.event), ['opened', 'acknowledged', 'resolved']);
      const who = (e) => e.actor ?? e.by ?? e.who;
      assert.match(String(who(evs[1])), /kim-operator/, `who acknowledged: ${JSON.stringify(evs[1])}`);
      assert.match(String(who(evs[2])), /kim-welfare_officer/, `who resolved: ${JSON.stringify(evs[2])}`);
      assert.equal(evs[1].note, '현장 확인 중');
      assert.equal(evs[2].note, '배수 완료');
      for (let i = 0; i < evs.length; i++) {
        assert.match(evs[i].at, h.TIME_RE, `at: ${JSON.stringify(evs[i])}`);
        if (i) assert.ok(Date.parse(evs[i].at) >= Date.parse(evs[i - 1].at), 'in time order');
      }
      const a = h.assertJson(await L.api(ctx.d, 'GET', `/api/v1/alerts/${alert.id}`), 200);
      assert.equal(evs[0].at, a.opened_at);
      assert.equal(evs[1].at, a.acknowledged_at);
      assert.equal(evs[2].at, a.resolved_at);
    });

    test('unknown alert: 404 for GET, events, ack, resolve; non-numeric id 404', async () => {
      for (const [m, p] of [['GET', '/api/v1/alerts/999999'], ['GET', '/api/v1/alerts/999999/events'],
        ['POST', '/api/v1/alerts/999999/ack'], ['POST', '/api/v1/alerts/999999/resolve'], ['GET', '/api/v1/alerts/not-a-number']]) {
        h.assertProblem(await L.api(ctx.d, m, p, m === 'POST' ? { note: 'x' } : undefined), 404, 'not-found');
      }
    });

    test('roles: analyst and device 403 on list, one, ack; no token 401', async () => {
      for (const role of ['analyst', 'device']) {
        h.assertProblem(await L.api(ctx.d, 'GET', '/api/v1/alerts', undefined, tok[role]), 403, 'forbidden');
        h.assertProblem(await L.api(ctx.d, 'GET', `/api/v1/alerts/${alert.id}`, undefined, tok[role]), 403, 'forbidden');
        h.assertProblem(await L.api(ctx.d, 'POST', `/api/v1/alerts/${alert.id}/ack`, { note: 'x' }, tok[role]), 403, 'forbidden');
      }
      h.assertProblem(await h.request(ctx.d, 'GET', '/api/v1/alerts'), 401, 'unauthorized');
      h.assertProblem(await h.request(ctx.d, 'POST', `/api/v1/alerts/${alert.id}/resolve`, { body: { note: 'x' } }), 401, 'unauthorized');
    });
  });

  describe('listing', () => {
    let mine;

    before(async () => {
      // north (disaster): ln-0 warning only, ln-1 warning + info, ln-2 warning acked; south (energy): ls-0 warning resolved, ls-1 info+warning
      await L.ingest(ctx.d, [reading('ln-0', 20)]);
      await L.ingest(ctx.d, [reading('ln-1', 200)]);
      await L.ingest(ctx.d, [reading('ln-2', 20)]);
      await L.ingest(ctx.d, [reading('ls-0', 20)]);
      await L.ingest(ctx.d, [reading('ls-1', 200)]);
      await h.pollUntil(async () => (await L.getAlerts(ctx.d, 'limit=1000')).filter((a) => [rules.listWarn.id, rules.listInfo.id].includes(a.rule)).length === 7,
        { what: '7 list alerts' });
      const all = await L.getAlerts(ctx.d, 'limit=1000');
      const find = (rule, sensor) => all.find((a) => a.rule === rule.id && a.sensor === sensor);
      h.assertStatus(await L.api(ctx.d, 'POST', `/api/v1/alerts/${find(rules.listWarn, 'ln-2').id}/ack`, { note: 'a' }), 200);
      h.assertStatus(await L.api(ctx.d, 'POST', `/api/v1/alerts/${find(rules.listWarn, 'ls-0').id}/resolve`, { note: 'r' }), 200);
      mine = (await L.getAlerts(ctx.d, 'limit=1000')).filter((a) => [rules.listWarn.id, rules.listInfo.id].includes(a.rule));
    });

    const ofList = (items) => items.filter((a) => a.rule === rules.listWarn.id || a.rule === rules.listInfo.id);
    const key = (a) => `${a.sensor}/${a.severity}/${a.state}`;

    test('newest first', async () => {
      const all = await L.getAlerts(ctx.d, 'limit=1000');
      for (let i = 1; i < all.length; i++) {
        const p = all[i - 1];
        const c = all[i];
        assert.ok(Date.parse(p.opened_at) > Date.parse(c.opened_at) || (p.opened_at === c.opened_at && p.id > c.id),
          `newest first: #${i - 1} ${p.id} ${p.opened_at} before #${i} ${c.id} ${c.opened_at}`);
      }
    });

    test('filters: state, zone, domain, severity, and combined', async () => {
      const cases = [
        ['state=open', (a) => a.state === 'open'],
        ['state=acknowledged', (a) => a.state === 'acknowledged'],
        ['state=resolved', (a) => a.state === 'resolved'],
        ['zone=al-north', (a) => a.zone === 'al-north'],
        ['zone=al-south', (a) => a.zone === 'al-south'],
        ['domain=energy', (a) => a.domain === 'energy'],
        ['severity=info', (a) => a.severity === 'info'],
        ['severity=warning&zone=al-south', (a) => a.severity === 'warning' && a.zone === 'al-south'],
        ['state=open&domain=disaster&severity=warning', (a) => a.state === 'open' && a.domain === 'disaster' && a.severity === 'warning'],
      ];
      const everything = await L.getAlerts(ctx.d, 'limit=1000');
      for (const [q, pred] of cases) {
        const got = await L.getAlerts(ctx.d, `${q}&limit=1000`);
        assert.ok(got.every(pred), `${q}: every item matches: ${JSON.stringify(got.map(key))}`);
        assert.deepEqual(got.map((a) => a.id), everything.filter(pred).map((a) => a.id), `${q}: the same alerts, in the same order, as filtering the full list`);
      }
      assert.deepEqual(ofList(await L.getAlerts(ctx.d, 'zone=al-south&limit=1000')).map(key).sort(),
        ['ls-0/warning/resolved', 'ls-1/info/open', 'ls-1/warning/open']);
      assert.deepEqual(ofList(await L.getAlerts(ctx.d, 'state=acknowledged&limit=1000')).map(key), ['ln-2/warning/acknowledged']);
      assert.equal(mine.length, 7);
    });

    test('bad filter values → 422 naming the parameter; unknown zone → empty', async () => {
      for (const [q, p] of [['state=closed', 'state'], ['severity=high', 'severity'], ['limit=0', 'limit'], ['limit=1001', 'limit'], ['cursor=@@@', 'cursor']]) {
        h.assertBadParam(await h.request(ctx.d, 'GET', `/api/v1/alerts?${q}`, { token: T }), p);
      }
      assert.deepEqual(await L.getAlerts(ctx.d, 'zone=no-such-zone'), []);
    });

    test('an unknown domain → 422 naming the parameter (as for every list: api-notes "Shapes")', async () => {
      h.assertBadParam(await h.request(ctx.d, 'GET', '/api/v1/alerts?domain=space', { token: T }), 'domain');
    });

    test('cursor paging: limit=2 walks the same list, no repeats', async () => {
      const full = await L.getAlerts(ctx.d, 'domain=energy&limit=1000');
      const paged = await h.listAll(ctx.d, '/api/v1/alerts?domain=energy', T, 2);
      assert.deepEqual(paged.map((a) => a.id), full.map((a) => a.id));
      const pagedAll = await h.listAll(ctx.d, '/api/v1/alerts?severity=warning', T, 1);
      assert.equal(new Set(pagedAll.map((a) => a.id)).size, pagedAll.length, 'no alert twice');
      const first = h.assertJson(await L.api(ctx.d, 'GET', '/api/v1/alerts?limit=1'), 200);
      assert.equal(first.items.length, 1);
      assert.equal(typeof first.next_cursor, 'string');
    });
  });

  describe('escalation (escalate_after_s = 1)', () => {
    test('a critical alert nobody acknowledges escalates (escalated_at, event on the feed and in /events); acknowledged and warning ones do not', async () => {
      const ws = await L.connect(ctx.d, tok.operator);
      clients.push(ws);
      await ws.subscribeAndWait({ alerts: true, sensors: ['none'] });
      // acked critical first, then the warning, then the unacknowledged critical (the marker)
      await L.ingest(ctx.d, [reading('esc-acked', 20)]);
      const acked = await L.waitAlert(ctx.d, (a) => a.rule === rules.esc.id && a.sensor === 'esc-acked', { what: 'esc-acked alert' });
      const ackRes = h.assertJson(await L.api(ctx.d, 'POST', `/api/v1/alerts/${acked.id}/ack`, { note: 'quick' }, tok.operator), 200);
      assert.equal(ackRes.escalated_at, null, `acknowledged ${Date.parse(ackRes.acknowledged_at) - Date.parse(acked.opened_at)} ms after opening, before escalation`);
      await L.ingest(ctx.d, [reading('esc-warn', 20)]);
      const warn = await L.waitAlert(ctx.d, (a) => a.rule === rules.escWarn.id, { what: 'esc-warn alert' });
      await L.ingest(ctx.d, [reading('esc-crit', 20)]);
      const crit = await L.waitAlert(ctx.d, (a) => a.rule === rules.esc.id && a.sensor === 'esc-crit', { what: 'esc-crit alert' });
      assert.equal(crit.escalated_at, null, 'not escalated at once');
      const esc = await L.waitAlert(ctx.d, (a) => a.id === crit.id && a.escalated_at, { what: 'escalated_at', timeoutMs: 5000 });
      const lag = Date.parse(esc.escalated_at) - Date.parse(esc.opened_at);
      assert.ok(lag >= 950, `escalated ${lag} ms after opening (escalate_after_s = 1)`);
      assert.ok(lag < 4000, `escalated ${lag} ms after opening`);
      assert.equal(esc.state, 'open', 'escalation does not change the state');
      const m = await ws.waitFor((x) => x.type === 'alert' && x.event === 'escalated' && x.alert.id === crit.id, { timeoutMs: 2000, what: 'the escalated event' });
      assert.equal(m.alert.escalated_at, esc.escalated_at);
      const evs = (await I.getJson(ctx.d, T, `/api/v1/events?since=${m.event_id - 1}&limit=1`)).items;
      assert.deepEqual(evs.map((e) => [e.event_id, e.event, e.alert.id]), [[m.event_id, 'escalated', crit.id]]);
      const trail = h.assertJson(await L.api(ctx.d, 'GET', `/api/v1/alerts/${crit.id}/events`), 200).items;
      assert.deepEqual(trail.map((e) => e.event), ['opened', 'escalated']);
      // the others, opened earlier, are past their second too
      const all = await L.getAlerts(ctx.d, 'limit=1000');
      assert.equal(all.find((a) => a.id === acked.id).escalated_at, null, 'acknowledged in time: not escalated');
      assert.equal(all.find((a) => a.id === warn.id).escalated_at, null, 'warning: not escalated');
      assert.equal(ws.filter((x) => x.type === 'alert' && x.event === 'escalated' && [acked.id, warn.id].includes(x.alert.id)).length, 0);
      assert.equal(ws.filter((x) => x.event === 'escalated' && x.alert.id === crit.id).length, 1, 'one escalated event');
    });
  });
});
