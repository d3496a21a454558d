'use strict';
// From alert to action (API §12): a staged threshold rule driven by readings rises
// attention → warning → danger as ONE alert with severity_changed events (alert events, live feed)
// and comes back down; bilingual title/text, value_at_open and current_value; a critical stage
// opens one incident of the rule's category for two gauges in one zone; playbooks (PUT/GET,
// validation) and the incident's steps (done, timeline, 404 unknown step, 409 closed incident);
// assign (422 unknown/disabled user), ?assignee=me; bulk ack (per-id outcomes, out of scope reads
// as not_found); the shift handover; stages out of order or duplicated → 422 with pointers.
// Contract: shared/API.md §12; docs/api-notes.md "From alert to action".

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/harness');
const I = require('./lib/ingest-helpers');
const L = require('./lib/live-helpers');

const { SEC, MIN, iso } = I;
const PASSWORD = 'correct horse battery staple';

describe('alert actions', () => {
  const ctx = h.useDaemon('alert_actions', { MAEUL_ALERTS_TICK_MS: '100' });
  let T;
  const tok = {};
  const clients = [];
  const t0 = Date.now() - 50 * MIN;
  let tick = 0;
  const reading = (sensor, value) => ({ sensor, metric: 'level', ts: iso(t0 + (tick++) * SEC), value });
  let rule;

  const stagedRule = (extra = {}) => ({
    name: { ko: '하천 수위', en: 'River level' }, kind: 'threshold', selector: { kind: 'gauge' }, metric: 'level', op: '>=',
    stages: [{ value: 1.5, severity: 'info' }, { value: 2, severity: 'warning' }, { value: 3, severity: 'critical' }],
    for: '0s', clear: 1.2, incident: { category: 'flood' }, ...extra,
  });

  const user = async (username, role, extra = {}) => {
    const res = await L.api(ctx.d, 'POST', '/api/v1/users', { username, display_name: username, role, password: PASSWORD, ...extra });
    h.assertStatus(res, 201, `create user ${username}`);
  };
  const signIn = async (username) => {
    const res = await h.request(ctx.d, 'POST', '/api/v1/sessions', { body: { username, password: PASSWORD } });
    return h.assertJson(res, 201).token;
  };

  before(async () => {
    T = ctx.d.bootstrapToken;
    const d = ctx.d;
    for (const role of ['operator', 'analyst']) tok[role] = (await h.createToken(d, role, `aa-${role}`)).token;
    tok.south = (await h.createToken(d, 'operator', 'aa-south', { zones: ['aa-south'] })).token;
    await I.makeZone(d, 'aa-river', 127.00, 37.00, 0.02);
    await I.makeZone(d, 'aa-south', 127.10, 37.00, 0.02);
    const s = (id, lon, kind = 'gauge') => I.makeSensor(d, id, { domain: 'disaster', kind, location: h.point(lon, 37.01), metrics: [{ name: 'level', unit: 'm' }] });
    await s('g-1', 127.01);
    await s('g-2', 127.011);
    await s('g-3', 127.012);
    await s('other-1', 127.013, 'other');
    await s('south-1', 127.11, 'other');
    await user('mina', 'operator');
    await user('jun', 'operator');
    await user('off', 'operator');
    h.assertStatus(await L.api(d, 'PATCH', '/api/v1/users/off', { disabled: true }), 200, 'disable off');
    await user('ana', 'analyst');
    rule = await L.createRule(d, stagedRule());
    await L.createRule(d, { name: 'other', kind: 'threshold', selector: { kind: 'other' }, severity: 'warning', metric: 'level', op: '>', value: 10 });
    await L.rulesSettled(d);
  });

  after(() => { for (const c of clients) c.destroy(); });

  test('a staged rule is stored normalized; out of order or duplicate stages are 422 with pointers', async () => {
    assert.equal(rule.severity, 'critical', 'a staged rule\'s severity is its highest stage\'s');
    assert.deepEqual(rule.stages.map((s) => [s.value, s.severity]), [[1.5, 'info'], [2, 'warning'], [3, 'critical']]);
    assert.deepEqual(rule.incident, { category: 'flood' });
    assert.ok(!('value' in rule), `no value beside stages: ${JSON.stringify(rule)}`);
    const bad = (stages) => L.api(ctx.d, 'POST', '/api/v1/rules', stagedRule({ stages }));
    h.assertInvalid(await bad([{ value: 2, severity: 'info' }, { value: 1.5, severity: 'warning' }]), '/stages/1/value');
    h.assertInvalid(await bad([{ value: 2, severity: 'info' }, { value: 3, severity: 'warning' }, { value: 3, severity: 'critical' }]), '/stages/2/value');
    h.assertInvalid(await bad([{ value: 2, severity: 'loud' }]), '/stages/0/severity');
    h.assertInvalid(await bad([]), '/stages');
    h.assertInvalid(await L.api(ctx.d, 'POST', '/api/v1/rules', stagedRule({ value: 2 })), '/value');
    h.assertInvalid(await L.api(ctx.d, 'POST', '/api/v1/rules', stagedRule({ incident: { category: 'Flood!' } })), '/incident/category');
  });

  test('one alert rises info → warning → critical with severity_changed events, live, and comes back down', async () => {
    const ws = await L.connect(ctx.d, T);
    clients.push(ws);
    await ws.subscribeAndWait({ alerts: true, sensors: ['none'] });
    await L.ingest(ctx.d, [reading('g-1', 1.0)]);
    await L.ingest(ctx.d, [reading('g-1', 1.6)]);
    const opened = await L.waitAlert(ctx.d, (a) => a.rule === rule.id && a.sensor === 'g-1', { what: 'g-1 alert' });
    assert.equal(opened.severity, 'info');
    assert.equal(opened.stage, 0);
    assert.equal(opened.value_at_open, 1.6);
    assert.equal(opened.title.en, 'River level · g-1');
    assert.equal(opened.title.ko, '하천 수위 · g-1');
    assert.match(opened.text.en, /1\.6 m/);
    assert.match(opened.text.ko, /3단계 중 1단계/);
    await L.ingest(ctx.d, [reading('g-1', 2.2)]);
    await L.waitAlert(ctx.d, (a) => a.id === opened.id && a.severity === 'warning', { what: 'warning' });
    await L.ingest(ctx.d, [reading('g-1', 3.6)]);
    const danger = await L.waitAlert(ctx.d, (a) => a.id === opened.id && a.severity === 'critical', { what: 'critical' });
    assert.equal(danger.stage, 2);
    assert.equal(danger.value_at_open, 1.6, 'value_at_open stays');
    assert.equal(danger.current_value, 3.6, 'current_value is the river now');
    assert.match(danger.text.en, /3\.6 m.*stage 3 of 3 \(critical\)/);
    // the critical stage opened a flood incident in the zone (closed here: the next test opens its own)
    const first = await h.pollUntil(async () => h.assertJson(await L.api(ctx.d, 'GET', '/api/v1/incidents?state=open&zone=aa-river'), 200)
      .items.find((i) => i.category === 'flood' && i.alerts.includes(opened.id)), { what: 'the flood incident of g-1' });
    h.assertStatus(await L.api(ctx.d, 'PATCH', `/api/v1/incidents/${first.id}`, { resolved_at: new Date().toISOString() }), 200);
    // still one alert of the rule for the sensor
    assert.equal((await L.alertsOf(ctx.d, rule.id)).filter((a) => a.sensor === 'g-1').length, 1);
    // a reading that changes no stage still moves current_value (from memory)
    await L.ingest(ctx.d, [reading('g-1', 3.4)]);
    await h.pollUntil(async () => (h.assertJson(await L.api(ctx.d, 'GET', `/api/v1/alerts/${opened.id}`), 200).current_value === 3.4), { what: 'current_value 3.4' });
    // and down: critical → warning (below 3), then cleared below the rule's clear
    await L.ingest(ctx.d, [reading('g-1', 2.5)]);
    await L.waitAlert(ctx.d, (a) => a.id === opened.id && a.severity === 'warning', { what: 'back to warning' });
    await L.ingest(ctx.d, [reading('g-1', 1.0)]);
    await L.waitAlert(ctx.d, (a) => a.id === opened.id && a.cleared_at !== null, { what: 'cleared' });
    const events = h.assertJson(await L.api(ctx.d, 'GET', `/api/v1/alerts/${opened.id}/events`), 200).items.map((e) => e.event);
    assert.deepEqual(events, ['opened', 'severity_changed', 'severity_changed', 'severity_changed', 'cleared']);
    const live = await ws.waitFor((m) => m.type === 'alert' && m.alert.id === opened.id && m.event === 'severity_changed' && m.alert.severity === 'critical', { what: 'live severity_changed' });
    assert.equal(live.alert.stage, 2);
  });

  test('two gauges turning critical in one zone make one flood incident; its playbook steps are recorded', async () => {
    // a playbook first: validation, then PUT (admin only), GET
    const steps = [
      { id: 'warn', text: { ko: '주민 대피 안내', en: 'Warn residents to evacuate' }, role: 'operator' },
      { id: 'shelter', text: { ko: '대피소 개방', en: 'Open the shelter' } },
    ];
    h.assertInvalid(await L.api(ctx.d, 'PUT', '/api/v1/playbooks/flood', { steps: [steps[0], steps[0]] }), '/steps/1/id');
    h.assertInvalid(await L.api(ctx.d, 'PUT', '/api/v1/playbooks/flood', { steps: [{ id: 'x', text: { ko: '한국어만' } }] }), '/steps/0/text/en');
    h.assertStatus(await L.api(ctx.d, 'PUT', '/api/v1/playbooks/flood', { steps }, tok.operator), 403);
    const created = await L.api(ctx.d, 'PUT', '/api/v1/playbooks/flood', { steps });
    h.assertStatus(created, 201);
    h.assertStatus(await L.api(ctx.d, 'PUT', '/api/v1/playbooks/flood', { steps }), 200);
    const pb = h.assertJson(await L.api(ctx.d, 'GET', '/api/v1/playbooks/flood', undefined, tok.analyst), 200);
    assert.deepEqual(pb.steps, steps);
    assert.ok(h.assertJson(await L.api(ctx.d, 'GET', '/api/v1/playbooks'), 200).items.some((p) => p.category === 'flood'));
    h.assertStatus(await L.api(ctx.d, 'GET', '/api/v1/playbooks/wildfire'), 404);

    await L.ingest(ctx.d, [reading('g-2', 3.5), reading('g-3', 3.7)]);
    const a2 = await L.waitAlert(ctx.d, (a) => a.sensor === 'g-2' && a.severity === 'critical', { what: 'g-2 critical' });
    const a3 = await L.waitAlert(ctx.d, (a) => a.sensor === 'g-3' && a.severity === 'critical', { what: 'g-3 critical' });
    const incidents = await h.pollUntil(async () => {
      const items = h.assertJson(await L.api(ctx.d, 'GET', '/api/v1/incidents?state=open&zone=aa-river'), 200).items.filter((i) => i.category === 'flood');
      return items.length && items[0].alerts.length === 2 ? items : null;
    }, { what: 'one flood incident with both alerts' });
    assert.equal(incidents.length, 1, `one incident: ${JSON.stringify(incidents)}`);
    const inc = incidents[0];
    assert.deepEqual(inc.alerts, [a2.id, a3.id].sort((x, y) => x - y));
    assert.equal(inc.created_by, 'system');
    assert.deepEqual(inc.steps.map((s) => [s.id, s.done]), [['warn', false], ['shelter', false]]);
    assert.equal(h.assertJson(await L.api(ctx.d, 'GET', `/api/v1/alerts/${a2.id}`), 200).incident, inc.id);

    const step = await L.api(ctx.d, 'POST', `/api/v1/incidents/${inc.id}/steps/warn`, { done: true, note: 'broadcast sent' }, tok.operator);
    const after = h.assertJson(step, 200);
    const warn = after.steps.find((s) => s.id === 'warn');
    assert.equal(warn.done, true);
    assert.equal(warn.by, 'aa-operator (operator)');
    assert.equal(warn.note, 'broadcast sent');
    assert.match(warn.at, h.TIME_RE);
    assert.ok(after.timeline.some((e) => e.what === 'step_done' && e.note === 'warn: broadcast sent'), JSON.stringify(after.timeline));
    h.assertStatus(await L.api(ctx.d, 'POST', `/api/v1/incidents/${inc.id}/steps/nope`, { done: true }), 404);
    h.assertStatus(await L.api(ctx.d, 'POST', `/api/v1/incidents/${inc.id}/steps/warn`, { done: true }, tok.south), 404, 'out of the zone scope');

    // the handover shows the step done and the one pending, and the note
    const since = new Date(Date.now() - 10 * MIN).toISOString();
    const ho = h.assertJson(await L.api(ctx.d, 'GET', `/api/v1/handover?since=${encodeURIComponent(since)}`, undefined, tok.operator), 200);
    assert.ok(ho.incidents.some((i) => i.id === inc.id));
    assert.ok(ho.steps.done.some((s) => s.incident === inc.id && s.step === 'warn' && s.note === 'broadcast sent'), JSON.stringify(ho.steps));
    assert.ok(ho.steps.pending.some((s) => s.incident === inc.id && s.step === 'shelter'), JSON.stringify(ho.steps));
    assert.ok(ho.alerts.some((a) => a.id === a2.id));
    assert.ok(ho.summary.open_incidents >= 1 && ho.summary.critical_alerts >= 2, JSON.stringify(ho.summary));
    assert.ok(ho.notes.some((n) => n.incident === inc.id && n.note === 'warn: broadcast sent'), JSON.stringify(ho.notes));
    h.assertBadParam(await L.api(ctx.d, 'GET', '/api/v1/handover?since=yesterday'), 'since');
    const scoped = h.assertJson(await L.api(ctx.d, 'GET', '/api/v1/handover', undefined, tok.south), 200);
    assert.ok(!scoped.incidents.some((i) => i.id === inc.id) && !scoped.alerts.some((a) => a.id === a2.id), 'the handover keeps to the scope');
    h.assertStatus(await L.api(ctx.d, 'GET', '/api/v1/handover', undefined, tok.analyst), 403);

    // closed: a step is 409
    const now = new Date().toISOString();
    h.assertStatus(await L.api(ctx.d, 'PATCH', `/api/v1/incidents/${inc.id}`, { resolved_at: now }), 200);
    h.assertProblem(await L.api(ctx.d, 'POST', `/api/v1/incidents/${inc.id}/steps/shelter`, { done: true }), 409);
  });

  test('assign: to a user, me, unassign; unknown or disabled users are 422 at /to', async () => {
    await L.ingest(ctx.d, [reading('other-1', 11)]);
    const a = await L.waitAlert(ctx.d, (x) => x.sensor === 'other-1', { what: 'other-1 alert' });
    assert.equal(a.assignee, null);
    h.assertInvalid(await L.api(ctx.d, 'POST', `/api/v1/alerts/${a.id}/assign`, { to: 'nobody' }), '/to');
    h.assertInvalid(await L.api(ctx.d, 'POST', `/api/v1/alerts/${a.id}/assign`, { to: 'off' }), '/to');
    h.assertInvalid(await L.api(ctx.d, 'POST', `/api/v1/alerts/${a.id}/assign`, { to: 'ana' }), '/to');
    h.assertInvalid(await L.api(ctx.d, 'POST', `/api/v1/alerts/${a.id}/assign`, {}), '/to');
    h.assertStatus(await L.api(ctx.d, 'POST', '/api/v1/alerts/999999/assign', { to: 'mina' }), 404);
    const assigned = h.assertJson(await L.api(ctx.d, 'POST', `/api/v1/alerts/${a.id}/assign`, { to: 'mina' }, tok.operator), 200);
    assert.equal(assigned.assignee, 'mina');
    assert.match(assigned.assigned_at, h.TIME_RE);
    const mina = await signIn('mina');
    const mine = h.assertJson(await L.api(ctx.d, 'GET', '/api/v1/alerts?assignee=me', undefined, mina), 200).items;
    assert.deepEqual(mine.map((x) => x.id), [a.id]);
    const jun = await signIn('jun');
    assert.deepEqual(h.assertJson(await L.api(ctx.d, 'GET', '/api/v1/alerts?assignee=me', undefined, jun), 200).items, []);
    assert.ok(!h.assertJson(await L.api(ctx.d, 'GET', '/api/v1/alerts?assignee=none&limit=1000'), 200).items.some((x) => x.id === a.id));
    const events = h.assertJson(await L.api(ctx.d, 'GET', `/api/v1/alerts/${a.id}/events`), 200).items;
    assert.ok(events.some((e) => e.event === 'assigned' && e.note === 'to mina' && e.actor === 'aa-operator (operator)'), JSON.stringify(events));
    const un = h.assertJson(await L.api(ctx.d, 'POST', `/api/v1/alerts/${a.id}/assign`, { to: null }), 200);
    assert.equal(un.assignee, null);
  });

  test('bulk ack: per-id outcomes; acked, already acked, resolved, unknown and out of scope', async () => {
    await L.ingest(ctx.d, [reading('other-1', 12)]);
    await L.ingest(ctx.d, [reading('south-1', 12)]);
    const other = await L.waitAlert(ctx.d, (x) => x.sensor === 'other-1' && x.state !== 'resolved', { what: 'other-1' });
    const south = await L.waitAlert(ctx.d, (x) => x.sensor === 'south-1', { what: 'south-1' });
    const g1 = (await L.alertsOf(ctx.d, rule.id)).find((x) => x.sensor === 'g-1');
    h.assertStatus(await L.api(ctx.d, 'POST', `/api/v1/alerts/${g1.id}/resolve`, { note: 'receded' }), 200);
    h.assertInvalid(await L.api(ctx.d, 'POST', '/api/v1/alerts/ack', { ids: [] }), '/ids');
    h.assertInvalid(await L.api(ctx.d, 'POST', '/api/v1/alerts/ack', { ids: [other.id, other.id] }), '/ids/1');
    h.assertInvalid(await L.api(ctx.d, 'POST', '/api/v1/alerts/ack', { ids: ['x'] }), '/ids/0');
    // the south-only operator: other-1 (aa-river) is out of its scope and reads like an unknown id
    const scoped = h.assertJson(await L.api(ctx.d, 'POST', '/api/v1/alerts/ack', { ids: [other.id, 999999] }, tok.south), 200);
    assert.deepEqual(scoped.items.map((x) => [x.outcome, x.alert]), [['not_found', null], ['not_found', null]]);
    const res = h.assertJson(await L.api(ctx.d, 'POST', '/api/v1/alerts/ack', { ids: [other.id, south.id, g1.id, 999999], note: 'on it' }, tok.operator), 200);
    assert.deepEqual(res.items.map((x) => [x.id, x.outcome]), [[other.id, 'acknowledged'], [south.id, 'acknowledged'], [g1.id, 'resolved'], [999999, 'not_found']]);
    assert.equal(res.acknowledged, 2);
    assert.equal(res.items[0].alert.state, 'acknowledged');
    assert.equal(res.items[0].alert.acknowledged_by, 'aa-operator (operator)');
    assert.equal(res.items[0].alert.note, 'on it');
    const again = h.assertJson(await L.api(ctx.d, 'POST', '/api/v1/alerts/ack', { ids: [other.id] }), 200);
    assert.deepEqual(again.items.map((x) => x.outcome), ['already_acknowledged']);
    assert.equal(again.acknowledged, 0);
  });
});
