'use strict';
// Rules: POST (generated or given id, Location), GET list/one, PUT, DELETE, validation pointers per
// kind, roles; changes take effect at once (create → a reading opens an alert; PUT, disable and DELETE
// stop it) without a restart.
// Contract: shared/API.md §6; docs/api-notes.md "Live operations" and "Shapes".

const { describe, test, before } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/harness');
const I = require('./lib/ingest-helpers');
const L = require('./lib/live-helpers');

const { SEC, MIN, iso } = I;

describe('rules', () => {
  const ctx = h.useDaemon('rules', { MAEUL_ALERTS_TICK_MS: '100' });
  let T;
  const tok = {};
  const t0 = Date.now() - 30 * MIN;
  let tick = 0;
  const nextTs = () => iso(t0 + (tick++) * SEC);
  const reading = (sensor, value) => ({ sensor, metric: 'level', ts: nextTs(), value });

  const threshold = (extra = {}) => ({
    name: { ko: '수위 경보', en: 'Water level' }, kind: 'threshold', selector: { kind: 'water_level' },
    severity: 'warning', enabled: true, metric: 'level', op: '>', value: 3, ...extra,
  });

  before(async () => {
    T = ctx.d.bootstrapToken;
    for (const role of ['operator', 'analyst', 'device', 'welfare_officer']) {
      tok[role] = (await h.createToken(ctx.d, role, `rules-${role}`)).token;
    }
    await I.makeZone(ctx.d, 'ru-z', 127.00, 37.00, 0.05);
    for (const id of ['dis-1']) {
      await I.makeSensor(ctx.d, id, { domain: 'disaster', kind: 'gauge', location: h.point(127.01, 37.01), metrics: [{ name: 'level', unit: 'm' }] });
    }
  });

  describe('CRUD', () => {
    let created;

    test('POST without id → 201, generated id, Location, the stored rule', async () => {
      const body = threshold({ for: '5m', clear: 2.5 });
      const res = await L.api(ctx.d, 'POST', '/api/v1/rules', body);
      const r = h.assertJson(res, 201);
      assert.equal(typeof r.id, 'string');
      assert.match(r.id, /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/, 'a generated id is a valid id');
      assert.equal(res.headers.get('location'), `/api/v1/rules/${encodeURIComponent(r.id)}`);
      for (const k of ['name', 'kind', 'selector', 'severity', 'enabled', 'metric', 'op', 'for']) {
        assert.deepEqual(r[k], body[k], `stored ${k}`);
      }
      assert.equal(r.value, 3);
      assert.equal(r.clear, 2.5);
      h.assertTimes(r);
      created = r;
      const again = await L.api(ctx.d, 'POST', '/api/v1/rules', body);
      const r2 = h.assertJson(again, 201);
      assert.notEqual(r2.id, r.id, 'each POST without id gets its own id');
      h.assertStatus(await L.api(ctx.d, 'DELETE', `/api/v1/rules/${r2.id}`), 204);
    });

    test('POST with an id keeps it; the same id again → 409', async () => {
      const r = await L.createRule(ctx.d, threshold({ id: 'rule.given-1' }));
      assert.equal(r.id, 'rule.given-1');
      h.assertProblem(await L.api(ctx.d, 'POST', '/api/v1/rules', threshold({ id: 'rule.given-1' })), 409, 'conflict');
    });

    test('GET one, GET list (paged), unknown id → 404', async () => {
      const one = h.assertJson(await L.api(ctx.d, 'GET', `/api/v1/rules/${created.id}`), 200);
      assert.deepEqual(one, created);
      const all = await h.listAll(ctx.d, '/api/v1/rules', T, 1);
      const ids = all.map((r) => r.id);
      assert.ok(ids.includes(created.id) && ids.includes('rule.given-1'), `listed: ${ids}`);
      assert.equal(new Set(ids).size, ids.length, 'no rule twice across pages');
      h.assertProblem(await L.api(ctx.d, 'GET', '/api/v1/rules/no-such-rule'), 404, 'not-found');
    });

    test('PUT replaces (200, updated_at moves), unknown id → 404, differing body id → 422', async () => {
      const body = threshold({ name: { ko: '바뀜', en: 'Changed' }, severity: 'critical', op: '>=', value: 4, for: '30s' });
      const res = await L.api(ctx.d, 'PUT', `/api/v1/rules/${created.id}`, body);
      const r = h.assertJson(res, 200);
      assert.equal(r.id, created.id);
      assert.deepEqual(r.name, body.name);
      assert.equal(r.severity, 'critical');
      assert.equal(r.op, '>=');
      assert.equal(r.value, 4);
      assert.equal(r.for, '30s');
      assert.ok(r.clear === undefined || r.clear === null || r.clear === 4, `clear not kept from the replaced rule: ${r.clear}`);
      assert.equal(r.created_at, created.created_at);
      assert.ok(Date.parse(r.updated_at) >= Date.parse(created.updated_at));
      assert.deepEqual(h.assertJson(await L.api(ctx.d, 'GET', `/api/v1/rules/${created.id}`), 200), r);
      h.assertProblem(await L.api(ctx.d, 'PUT', '/api/v1/rules/no-such-rule', body), 404, 'not-found');
      h.assertInvalid(await L.api(ctx.d, 'PUT', `/api/v1/rules/${created.id}`, { ...body, id: 'other-id' }), '/id');
      h.assertInvalid(await L.api(ctx.d, 'PUT', `/api/v1/rules/${created.id}`, { ...body, op: 'between' }), '/op');
    });

    test('DELETE → 204, then 404', async () => {
      h.assertStatus(await L.api(ctx.d, 'DELETE', '/api/v1/rules/rule.given-1'), 204);
      h.assertProblem(await L.api(ctx.d, 'GET', '/api/v1/rules/rule.given-1'), 404, 'not-found');
      h.assertProblem(await L.api(ctx.d, 'DELETE', '/api/v1/rules/rule.given-1'), 404, 'not-found');
    });

    test('roles: admin writes; operator and welfare_officer read; analyst and device 403; no token 401', async () => {
      for (const role of ['operator', 'welfare_officer']) {
        h.assertStatus(await L.api(ctx.d, 'GET', '/api/v1/rules', undefined, tok[role]), 200, `${role} lists`);
        h.assertStatus(await L.api(ctx.d, 'GET', `/api/v1/rules/${created.id}`, undefined, tok[role]), 200, `${role} reads`);
        h.assertProblem(await L.api(ctx.d, 'POST', '/api/v1/rules', threshold(), tok[role]), 403, 'forbidden');
        h.assertProblem(await L.api(ctx.d, 'PUT', `/api/v1/rules/${created.id}`, threshold(), tok[role]), 403, 'forbidden');
        h.assertProblem(await L.api(ctx.d, 'DELETE', `/api/v1/rules/${created.id}`, undefined, tok[role]), 403, 'forbidden');
      }
      for (const role of ['analyst', 'device']) {
        h.assertProblem(await L.api(ctx.d, 'GET', '/api/v1/rules', undefined, tok[role]), 403, 'forbidden');
        h.assertProblem(await L.api(ctx.d, 'POST', '/api/v1/rules', threshold(), tok[role]), 403, 'forbidden');
      }
      h.assertProblem(await h.request(ctx.d, 'GET', '/api/v1/rules'), 401, 'unauthorized');
      h.assertProblem(await h.request(ctx.d, 'POST', '/api/v1/rules', { body: threshold() }), 401, 'unauthorized');
      h.assertStatus(await L.api(ctx.d, 'GET', `/api/v1/rules/${created.id}`), 200, 'still there');
    });
  });

  describe('validation → 422 with pointers', () => {
    const rate = (extra = {}) => ({ name: 'rate', kind: 'rate', selector: {}, severity: 'info', metric: 'level', delta: 1, window: '10m', ...extra });
    const silence = (extra = {}) => ({ name: 'silence', kind: 'silence', selector: {}, severity: 'info', for: '6h', ...extra });
    const composite = (extra = {}) => ({
      name: 'composite', kind: 'composite', selector: {}, severity: 'info', window: '30m',
      conditions: [{ metric: 'temperature', op: '>', value: 30 }, { metric: 'humidity', op: '<', value: 30, kind: 'weather' }], ...extra,
    });
    const cases = [
      ['unknown kind', threshold({ kind: 'sometimes' }), '/kind'],
      ['missing kind', threshold({ kind: undefined }), '/kind'],
      ['bad op', threshold({ op: '=>' }), '/op'],
      ['missing op', threshold({ op: undefined }), '/op'],
      ['value not a number', threshold({ value: '3' }), '/value'],
      ['missing metric', threshold({ metric: undefined }), '/metric'],
      ['bad metric name', threshold({ metric: 'Level!' }), '/metric'],
      ['bad for', threshold({ for: '5 minutes' }), '/for'],
      ['for without unit', threshold({ for: '300' }), '/for'],
      ['for negative', threshold({ for: '-5m' }), '/for'],
      ['clear on the wrong side', threshold({ op: '>', value: 3, clear: 4 }), '/clear'],
      ['bad severity', threshold({ severity: 'high' }), '/severity'],
      ['missing severity', threshold({ severity: undefined }), '/severity'],
      ['selector not an object', threshold({ selector: 'all' }), '/selector'],
      ['selector unknown field', threshold({ selector: { colour: 'red' } }), '/selector*'],
      ['selector unknown domain', threshold({ selector: { domain: 'space' } }), '/selector/domain'],
      ['enabled not a boolean', threshold({ enabled: 'yes' }), '/enabled'],
      ['bad id', threshold({ id: '-leading-dash' }), '/id'],
      ['rate: bad window', rate({ window: 'soon' }), '/window'],
      ['rate: missing window', rate({ window: undefined }), '/window'],
      ['rate: zero delta', rate({ delta: 0 }), '/delta'],
      ['rate: delta not a number', rate({ delta: 'lots' }), '/delta'],
      ['silence: missing for', silence({ for: undefined }), '/for'],
      ['silence: bad for', silence({ for: '6 hours' }), '/for'],
      ['composite: no conditions', composite({ conditions: undefined }), '/conditions'],
      ['composite: empty conditions', composite({ conditions: [] }), '/conditions'],
      ['composite: conditions not an array', composite({ conditions: { metric: 'x' } }), '/conditions'],
      ['composite: bad op in a condition', composite({ conditions: [{ metric: 'temperature', op: '>', value: 30 }, { metric: 'humidity', op: '!', value: 30 }] }), '/conditions/1/op'],
      ['composite: value missing in a condition', composite({ conditions: [{ metric: 'temperature', op: '>' }] }), '/conditions/0/value'],
      ['composite: metric missing in a condition', composite({ conditions: [{ op: '>', value: 1 }] }), '/conditions/0/metric'],
      ['composite: bad window', composite({ window: 'half an hour' }), '/window'],
    ];
    for (const [what, body, pointer] of cases) {
      test(what, async () => {
        const clean = JSON.parse(JSON.stringify(body)); // drops undefined fields
        h.assertInvalid(await L.api(ctx.d, 'POST', '/api/v1/rules', clean), pointer);
      });
    }

    test('malformed JSON → 400; not JSON → 415; nothing stored by any refused request', async () => {
      const count0 = (await h.listAll(ctx.d, '/api/v1/rules', T)).length;
      h.assertProblem(await h.request(ctx.d, 'POST', '/api/v1/rules', { token: T, rawBody: '{"kind":', headers: { 'content-type': 'application/json' } }), 400, 'malformed-json');
      h.assertProblem(await h.request(ctx.d, 'POST', '/api/v1/rules', { token: T, rawBody: 'kind=threshold', headers: { 'content-type': 'application/x-www-form-urlencoded' } }), 415, 'unsupported-media-type');
      assert.equal((await h.listAll(ctx.d, '/api/v1/rules', T)).length, count0);
    });

    test('every kind has a valid form that is accepted', async () => {
      for (const b of [threshold({ selector: { sensor: 'x' } }), rate({ selector: { sensor: 'x' } }), silence({ selector: { sensor: 'x' } }), composite({ selector: { zone: 'ru-z' } })]) {
        const r = await L.createRule(ctx.d, b);
        assert.equal(r.kind, b.kind);
        h.assertStatus(await L.api(ctx.d, 'DELETE', `/api/v1/rules/${r.id}`), 204);
      }
    });
  });

  describe('changes take effect at once', () => {
    const N_CREATE = 60;
    const N_PUT = 30;
    const N_DEL = 30;
    const ROUNDS = 40;
    const markerRule = () => threshold({ selector: { sensor: 'mark-1' }, value: 5 });
    let marker;
    let mk = 0;

    // Posts a reading above the marker rule and waits for the marker alert: readings posted before
    // it have been evaluated by then. Resolves the marker alert so the next call opens a new one.
    async function markerPassed() {
      mk++;
      await L.ingest(ctx.d, [reading('mark-1', 100 + mk)]);
      const a = await L.waitAlert(ctx.d, (x) => x.rule === marker.id && x.state === 'open', { what: 'the marker alert' });
      h.assertStatus(await L.api(ctx.d, 'POST', `/api/v1/alerts/${a.id}/resolve`, { note: 'marker' }), 200);
      await L.ingest(ctx.d, [reading('mark-1', 0)]); // below again, so the next marker is a new crossing
    }

    before(async () => {
      const mkS = (id) => I.makeSensor(ctx.d, id, { domain: 'disaster', kind: 'gauge', location: h.point(127.01, 37.01), metrics: [{ name: 'level', unit: 'm' }] });
      await mkS('mark-1');
      for (let i = 0; i < N_CREATE; i++) await mkS(`cr-${i}`);
      for (let i = 0; i < N_PUT; i++) await mkS(`pu-${i}`);
      for (let i = 0; i < N_DEL; i++) await mkS(`de-${i}`);
      await mkS('bu-0');
      marker = await L.createRule(ctx.d, markerRule());
      await L.rulesSettled(ctx.d);
    });

    test('create: a reading posted right after the 201 is evaluated against the new rule', async () => {
      const rules = [];
      for (let i = 0; i < N_CREATE; i++) {
        const rule = await L.createRule(ctx.d, threshold({ selector: { sensor: `cr-${i}` }, value: 5 }));
        rules.push(rule);
        await L.ingest(ctx.d, [reading(`cr-${i}`, 4.9), reading(`cr-${i}`, 6)]);
      }
      await markerPassed();
      const alerts = await L.getAlerts(ctx.d, 'limit=1000');
      const missed = rules.filter((r) => !alerts.some((a) => a.rule === r.id)).map((r) => r.selector.sensor);
      for (const r of rules.filter((x) => !missed.includes(x.selector.sensor))) {
        const a = alerts.find((x) => x.rule === r.id);
        assert.equal(a.value, 6, 'the alert carries the triggering value');
        assert.equal(a.sensor, r.selector.sensor);
        assert.deepEqual(a.rule_name, { ko: '수위 경보', en: 'Water level' });
      }
      assert.deepEqual(missed, [], `${missed.length} of ${N_CREATE} new rules did not see the reading posted right after their 201`);
    });

    test('PUT: a reading posted right after the 200 is evaluated against the new value', async () => {
      const rules = [];
      for (let i = 0; i < N_PUT; i++) rules.push(await L.createRule(ctx.d, threshold({ selector: { sensor: `pu-${i}` }, value: 5 })));
      await L.rulesSettled(ctx.d);
      for (const r of rules) {
        h.assertStatus(await L.api(ctx.d, 'PUT', `/api/v1/rules/${r.id}`, threshold({ selector: r.selector, value: 50 })), 200);
        await L.ingest(ctx.d, [reading(r.selector.sensor, 20)]);
      }
      await markerPassed();
      const alerts = await L.getAlerts(ctx.d, 'limit=1000');
      const wrong = rules.filter((r) => alerts.some((a) => a.rule === r.id)).map((r) => r.selector.sensor);
      assert.deepEqual(wrong, [], `${wrong.length} of ${N_PUT} rules opened an alert for 20 right after being raised to 50`);
      // and the new value does apply
      await L.ingest(ctx.d, [reading('pu-0', 60)]);
      const a = await L.waitAlert(ctx.d, (x) => x.rule === rules[0].id, { what: 'the pu-0 alert above the new value' });
      assert.equal(a.value, 60);
    });

    test('DELETE: a reading posted right after the 204 opens nothing', async () => {
      const rules = [];
      for (let i = 0; i < N_DEL; i++) rules.push(await L.createRule(ctx.d, threshold({ selector: { sensor: `de-${i}` }, value: 5 })));
      await L.rulesSettled(ctx.d);
      for (const r of rules) {
        h.assertStatus(await L.api(ctx.d, 'DELETE', `/api/v1/rules/${r.id}`), 204);
        await L.ingest(ctx.d, [reading(r.selector.sensor, 20)]);
      }
      await markerPassed();
      const alerts = await L.getAlerts(ctx.d, 'limit=1000');
      const wrong = rules.filter((r) => alerts.some((a) => a.rule === r.id)).map((r) => r.selector.sensor);
      assert.deepEqual(wrong, [], `${wrong.length} of ${N_DEL} deleted rules still opened an alert`);
    });

    test('enabled:false: no alerts; enabled again: alerts', async () => {
      const off = await L.createRule(ctx.d, threshold({ selector: { sensor: 'dis-1' }, value: 5, enabled: false }));
      assert.equal(off.enabled, false);
      await L.rulesSettled(ctx.d);
      await L.ingest(ctx.d, [reading('dis-1', 10)]);
      await markerPassed();
      assert.deepEqual(await L.alertsOf(ctx.d, off.id), [], 'disabled rule');
      const on = h.assertJson(await L.api(ctx.d, 'PUT', `/api/v1/rules/${off.id}`, threshold({ selector: { sensor: 'dis-1' }, value: 5, enabled: true })), 200);
      assert.equal(on.enabled, true);
      await L.rulesSettled(ctx.d);
      await L.ingest(ctx.d, [reading('dis-1', 11)]);
      await L.waitAlert(ctx.d, (a) => a.rule === off.id, { what: 'the re-enabled rule\'s alert', timeoutMs: 3000 });
    });

    test('no rule change is lost: a new rule applies within 2 s with no further change (replace, resolve, repeat)', async () => {
      // An operator's loop: a rule on a sensor, its alert, resolve it, delete the rule, a new rule.
      const body = threshold({ selector: { sensor: 'bu-0' }, value: 5 });
      let problem = null;
      for (let round = 0; round < ROUNDS && !problem; round++) {
        const rule = await L.createRule(ctx.d, body);
        const t = Date.now();
        let alert;
        while (!alert && Date.now() - t < 2000) {
          await L.ingest(ctx.d, [reading('bu-0', 10)]);
          alert = (await L.getAlerts(ctx.d, 'limit=1000&state=open')).find((a) => a.rule === rule.id);
          if (!alert) await new Promise((r) => setTimeout(r, 50));
        }
        if (!alert) {
          // diagnose: does another rule change (a no-op PUT of this rule) make it apply?
          h.assertStatus(await L.api(ctx.d, 'PUT', `/api/v1/rules/${rule.id}`, body), 200);
          let after = 'no';
          for (const t2 = Date.now(); Date.now() - t2 < 2000;) {
            await L.ingest(ctx.d, [reading('bu-0', 10)]);
            if ((await L.getAlerts(ctx.d, 'limit=1000&state=open')).some((a) => a.rule === rule.id)) { after = `yes, ${Date.now() - t2} ms after it`; break; }
            await new Promise((r) => setTimeout(r, 50));
          }
          problem = `round ${round}: rule ${rule.id} ignored readings of bu-0 above its value for 2 s after its 201; ` +
            `applies after one more rule change: ${after}`;
          break;
        }
        h.assertStatus(await L.api(ctx.d, 'POST', `/api/v1/alerts/${alert.id}/resolve`, { note: 'next round' }), 200);
        h.assertStatus(await L.api(ctx.d, 'DELETE', `/api/v1/rules/${rule.id}`), 204);
      }
      assert.equal(problem, null, problem);
    });
  });
});
