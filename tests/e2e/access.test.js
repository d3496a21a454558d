'use strict';
// The access matrix's data rules (API §8 "Scopes", "Welfare data"), walked with signed-in people of
// every role and scope: lists hold only what the scope covers, a single item outside it is 404,
// welfare sensors and their values (registry entry, latest, series, live) reach only admin and
// welfare_officer, and a subscription never widens what a connection may see.

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/harness');
const I = require('./lib/ingest-helpers');
const L = require('./lib/live-helpers');

const PASSWORD = 'correct horse battery staple';
const { MIN, SEC, iso } = I;

describe('access matrix: scopes and welfare data', () => {
  const ctx = h.useDaemon('access');
  const tok = {}; // username → session token
  const clients = [];
  const t0 = Date.now() - 20 * MIN;
  let tick = 0;
  const nextTs = () => iso(t0 + (tick++) * SEC);

  const get = (path, who) => h.request(ctx.d, 'GET', path, { token: tok[who] });
  const ids = async (path, who) => {
    const res = await get(path, who);
    h.assertStatus(res, 200, `${who} GET ${path}`);
    return res.json.items.map((x) => x.id ?? x.sensor).sort();
  };

  before(async () => {
    const d = ctx.d;
    await I.makeZone(d, 'ac-a', 127.50, 37.50, 0.02);
    await I.makeZone(d, 'ac-b', 127.60, 37.50, 0.02);
    const s = (id, domain, lon) => I.makeSensor(d, id, {
      domain, kind: 'probe', location: h.point(lon, 37.51), metrics: [{ name: 'level', unit: 'm' }],
    });
    await s('ac-dis-a', 'disaster', 127.51); // zone ac-a (derived from the location)
    await s('ac-ene-a', 'energy', 127.511);
    await s('ac-hh-a', 'welfare', 127.512); // a household's door sensor
    await s('ac-dis-b', 'disaster', 127.61); // zone ac-b
    await s('ac-hh-b', 'welfare', 127.611);
    for (const [id, fac, lon] of [['ac-clinic-a', 'clinic', 127.513], ['ac-clinic-b', 'clinic', 127.612]]) {
      h.assertStatus(await h.request(d, 'POST', '/api/v1/facilities', {
        token: d.bootstrapToken, body: h.facilityBody(id, { category: fac, location: h.point(lon, 37.51) }),
      }), 201, `facility ${id}`);
    }
    const readings = ['ac-dis-a', 'ac-ene-a', 'ac-hh-a', 'ac-dis-b', 'ac-hh-b']
      .map((sensor, i) => ({ sensor, metric: 'level', ts: nextTs(), value: i }));
    await L.ingest(d, readings);
    const people = {
      admin: { role: 'admin' },
      op_a: { role: 'operator', zones: ['ac-a'] },
      op: { role: 'operator' },
      analyst: { role: 'analyst' },
      analyst_energy: { role: 'analyst', domains: ['energy'] },
      wo_a: { role: 'welfare_officer', zones: ['ac-a'] },
    };
    for (const [username, extra] of Object.entries(people)) {
      const created = await h.request(d, 'POST', '/api/v1/users', {
        token: d.bootstrapToken,
        body: { username, display_name: `User ${username}`, password: PASSWORD, ...extra },
      });
      h.assertStatus(created, 201, `create ${username}`);
      const signed = await h.request(d, 'POST', '/api/v1/sessions', { body: { username, password: PASSWORD } });
      h.assertStatus(signed, 201, `sign in ${username}`);
      tok[username] = signed.json.token;
    }
  });

  after(() => { for (const c of clients) c.destroy(); });

  test('the sensor list holds only the scope, and welfare sensors only for admin and welfare_officer', async () => {
    const all = ['ac-dis-a', 'ac-dis-b', 'ac-ene-a', 'ac-hh-a', 'ac-hh-b'];
    const mine = (list) => list.filter((x) => x.startsWith('ac-'));
    assert.deepEqual(mine(await ids('/api/v1/sensors?limit=1000', 'admin')), all);
    assert.deepEqual(mine(await ids('/api/v1/sensors?limit=1000', 'op')), ['ac-dis-a', 'ac-dis-b', 'ac-ene-a']);
    assert.deepEqual(mine(await ids('/api/v1/sensors?limit=1000', 'op_a')), ['ac-dis-a', 'ac-ene-a']);
    assert.deepEqual(mine(await ids('/api/v1/sensors?limit=1000', 'analyst_energy')), ['ac-ene-a']);
    assert.deepEqual(mine(await ids('/api/v1/sensors?limit=1000', 'wo_a')), ['ac-dis-a', 'ac-ene-a', 'ac-hh-a']);
    assert.deepEqual(mine(await ids('/api/v1/sensors?near=127.51,37.51,5000', 'op_a')), ['ac-dis-a', 'ac-ene-a'],
      'the near query is scoped too');
  });

  test('a single sensor outside the scope, or a welfare sensor to other roles, is 404 like an unknown one', async () => {
    for (const [who, path] of [['op_a', '/api/v1/sensors/ac-dis-b'], ['op', '/api/v1/sensors/ac-hh-a'],
      ['analyst', '/api/v1/sensors/ac-hh-a'], ['analyst_energy', '/api/v1/sensors/ac-dis-a'],
      ['wo_a', '/api/v1/sensors/ac-hh-b']]) {
      h.assertProblem(await get(path, who), 404, 'not-found');
    }
    h.assertStatus(await get('/api/v1/sensors/ac-hh-a', 'wo_a'), 200);
    h.assertStatus(await get('/api/v1/sensors/ac-dis-b', 'op'), 200);
  });

  test('welfare latest values and series reach only admin and the welfare officer of the zone', async () => {
    const from = iso(t0 - MIN);
    const to = iso(Date.now() + MIN);
    const series = (id) => `/api/v1/sensors/${id}/series?from=${from}&to=${to}`;
    for (const who of ['op', 'op_a', 'analyst', 'analyst_energy']) {
      h.assertProblem(await get('/api/v1/sensors/ac-hh-a/latest', who), 404, 'not-found');
      h.assertProblem(await get(series('ac-hh-a'), who), 404, 'not-found');
    }
    const latest = h.assertJson(await get('/api/v1/sensors/ac-hh-a/latest', 'wo_a'), 200);
    assert.equal(latest.metrics.level.value, 2);
    assert.equal(h.assertJson(await get(series('ac-hh-a'), 'wo_a'), 200).points.length, 1);
    assert.equal(h.assertJson(await get(series('ac-hh-b'), 'admin'), 200).points.length, 1);
    h.assertProblem(await get(series('ac-hh-b'), 'wo_a'), 404, 'not-found');
    h.assertProblem(await get(series('ac-dis-b'), 'op_a'), 404, 'not-found');
    assert.equal(h.assertJson(await get(series('ac-dis-b'), 'analyst'), 200).points.length, 1);
  });

  test('GET /api/v1/latest holds only what the caller may read', async () => {
    const sensors = async (who, q = '') => (h.assertJson(await get(`/api/v1/latest${q}`, who), 200)).items
      .map((x) => x.sensor).filter((x) => x.startsWith('ac-')).sort();
    assert.deepEqual(await sensors('admin'), ['ac-dis-a', 'ac-dis-b', 'ac-ene-a', 'ac-hh-a', 'ac-hh-b']);
    assert.deepEqual(await sensors('op'), ['ac-dis-a', 'ac-dis-b', 'ac-ene-a']);
    assert.deepEqual(await sensors('op_a'), ['ac-dis-a', 'ac-ene-a']);
    assert.deepEqual(await sensors('analyst', '?domain=welfare'), []);
    assert.deepEqual(await sensors('wo_a', '?domain=welfare'), ['ac-hh-a']);
  });

  test('zones and facilities: lists hold the scope, other items are 404', async () => {
    const mine = (list) => list.filter((x) => x.startsWith('ac-'));
    assert.deepEqual(mine(await ids('/api/v1/zones?limit=1000', 'op_a')), ['ac-a']);
    assert.deepEqual(mine(await ids('/api/v1/zones?limit=1000', 'op')), ['ac-a', 'ac-b']);
    h.assertProblem(await get('/api/v1/zones/ac-b', 'op_a'), 404, 'not-found');
    h.assertStatus(await get('/api/v1/zones/ac-a', 'op_a'), 200);
    assert.deepEqual(mine(await ids('/api/v1/facilities?limit=1000', 'op_a')), ['ac-clinic-a']);
    h.assertProblem(await get('/api/v1/facilities/ac-clinic-b', 'op_a'), 404, 'not-found');
    h.assertStatus(await get('/api/v1/facilities/ac-clinic-b', 'analyst'), 200);
  });

  test('the live feed sends a connection only what its principal may see, whatever it subscribes to', async () => {
    const connect = async (who) => {
      const ws = await L.connect(ctx.d, tok[who]);
      clients.push(ws);
      await ws.subscribeAndWait({});
      return ws;
    };
    const opA = await connect('op_a');
    const woA = await connect('wo_a');
    const admin = await connect('admin');
    const batch = ['ac-dis-a', 'ac-hh-a', 'ac-dis-b', 'ac-hh-b'].map((sensor) => ({ sensor, metric: 'level', ts: nextTs(), value: 7 }));
    await L.ingest(ctx.d, batch);
    // Then a marker every one of them may see: frames reach a connection in order, so once the
    // marker is there, every frame of the first batch meant for it is there too.
    await L.ingest(ctx.d, [{ sensor: 'ac-ene-a', metric: 'level', ts: nextTs(), value: 8 }]);
    const seen = async (ws) => {
      const obs = () => ws.filter((m) => m.type === 'observation' && m.sensor.startsWith('ac-'));
      await h.pollUntil(() => obs().some((m) => m.sensor === 'ac-ene-a'), { timeoutMs: 5000, what: 'the marker' });
      return obs().map((m) => m.sensor).filter((x) => x !== 'ac-ene-a').sort();
    };
    assert.deepEqual(await seen(admin), ['ac-dis-a', 'ac-dis-b', 'ac-hh-a', 'ac-hh-b']);
    assert.deepEqual(await seen(woA), ['ac-dis-a', 'ac-hh-a']);
    assert.deepEqual(await seen(opA), ['ac-dis-a']);
  });

  test('alerts, their events, the event feed and incidents hold only the scope; acting outside it is 404', async () => {
    const d = ctx.d;
    const rule = await L.createRule(d, { name: L.ruleName('access'), kind: 'threshold', selector: { kind: 'probe', domain: 'disaster' },
      severity: 'warning', metric: 'level', op: '>', value: 100 });
    await L.rulesSettled(d);
    await L.ingest(d, ['ac-dis-a', 'ac-dis-b'].map((sensor) => ({ sensor, metric: 'level', ts: nextTs(), value: 500 })));
    const alertA = await L.waitAlert(d, (a) => a.rule === rule.id && a.sensor === 'ac-dis-a', { what: 'the alert in ac-a' });
    const alertB = await L.waitAlert(d, (a) => a.rule === rule.id && a.sensor === 'ac-dis-b', { what: 'the alert in ac-b' });
    const mineOf = async (who) => (await L.getAlerts(d, 'limit=1000', tok[who])).filter((a) => a.rule === rule.id)
      .map((a) => a.sensor).sort();
    assert.deepEqual(await mineOf('op'), ['ac-dis-a', 'ac-dis-b']);
    assert.deepEqual(await mineOf('op_a'), ['ac-dis-a']);
    h.assertStatus(await get(`/api/v1/alerts/${alertA.id}`, 'op_a'), 200);
    h.assertProblem(await get(`/api/v1/alerts/${alertB.id}`, 'op_a'), 404, 'not-found');
    h.assertProblem(await get(`/api/v1/alerts/${alertB.id}/events`, 'op_a'), 404, 'not-found');
    h.assertProblem(await h.request(d, 'POST', `/api/v1/alerts/${alertB.id}/ack`, { token: tok.op_a, body: {} }), 404, 'not-found');
    assert.equal(h.assertJson(await get(`/api/v1/alerts/${alertB.id}`, 'op'), 200).state, 'open', 'the refused ack changed nothing');
    h.assertStatus(await h.request(d, 'POST', `/api/v1/alerts/${alertA.id}/ack`, { token: tok.op_a, body: {} }), 200);
    const feed = async (who) => h.assertJson(await get('/api/v1/events?since=0&limit=1000', who), 200).items
      .filter((e) => e.alert.rule === rule.id).map((e) => `${e.alert.sensor}:${e.event}`).sort();
    assert.deepEqual(await feed('op_a'), ['ac-dis-a:acknowledged', 'ac-dis-a:opened']);
    assert.deepEqual(await feed('op'), ['ac-dis-a:acknowledged', 'ac-dis-a:opened', 'ac-dis-b:opened']);

    const report = (who, zone) => h.request(d, 'POST', '/api/v1/incidents', {
      token: tok[who], body: { category: 'flood', zone, reported_at: iso(Date.now() - MIN), note: `in ${zone}` },
    });
    const incB = h.assertJson(await report('op', 'ac-b'), 201);
    const incA = h.assertJson(await report('op_a', 'ac-a'), 201);
    h.assertInvalid(await report('op_a', 'ac-b'), '/zone');
    const incidents = async (who) => h.assertJson(await get('/api/v1/incidents?limit=1000', who), 200).items
      .map((x) => x.id).filter((x) => x === incA.id || x === incB.id).sort((a, b) => a - b);
    assert.deepEqual(await incidents('op_a'), [incA.id]);
    assert.deepEqual(await incidents('op'), [incA.id, incB.id].sort((a, b) => a - b));
    h.assertProblem(await get(`/api/v1/incidents/${incB.id}`, 'op_a'), 404, 'not-found');
    h.assertProblem(await h.request(d, 'PATCH', `/api/v1/incidents/${incB.id}`, { token: tok.op_a, body: { note: 'x' } }),
      404, 'not-found');
  });

  test('welfare alerts reach other roles with the household\'s pseudonym, never the sensor or its readings', async () => {
    const d = ctx.d;
    const live = {};
    for (const who of ['op', 'wo_a']) {
      live[who] = await L.connect(d, tok[who]);
      clients.push(live[who]);
      await live[who].subscribeAndWait({ alerts: true, domains: ['welfare'] });
    }
    await L.createRule(d, { id: 'hh-rule-ac', name: L.ruleName('hh'), kind: 'threshold', selector: { domain: 'welfare', zone: 'ac-a' },
      severity: 'critical', enabled: true, metric: 'level', op: '>', value: 1000 });
    await L.ingest(d, [{ sensor: 'ac-hh-a', metric: 'level', ts: nextTs(), value: 4321 }]);
    const full = await L.waitAlert(d, (a) => a.rule === 'hh-rule-ac', { what: 'the welfare alert' });
    assert.equal(full.sensor, 'ac-hh-a');
    const item = async (who) => {
      const res = await get(`/api/v1/alerts/${full.id}`, who);
      h.assertStatus(res, 200, `${who} GET alert`);
      return res.json;
    };
    const masked = await item('op');
    assert.match(masked.household, /^hh-[0-9a-f]{16}$/);
    assert.deepEqual([masked.sensor, masked.value, masked.message, masked.zone, masked.severity],
      [null, null, '', 'ac-a', 'critical']);
    assert.ok(!JSON.stringify(masked).includes('ac-hh-a') && !JSON.stringify(masked).includes('4321'));
    const listed = (await get('/api/v1/alerts?limit=1000', 'op')).json.items.find((a) => a.id === full.id);
    assert.deepEqual(listed, masked);
    const fed = (await get('/api/v1/events?limit=1000', 'op')).json.items.filter((e) => e.alert.id === full.id);
    assert.ok(fed.length > 0 && fed.every((e) => e.alert.household === masked.household && e.alert.sensor === null));
    // The welfare officer of the zone and the admin see the sensor.
    for (const who of ['wo_a', 'admin']) {
      const a = await item(who);
      assert.equal(a.sensor, 'ac-hh-a');
      assert.equal(a.household, undefined);
    }
    // The same household: the same pseudonym, also live.
    const frame = await live.op.waitFor((m) => m.type === 'alert' && m.alert.id === full.id, { what: 'the live welfare alert' });
    assert.equal(frame.alert.household, masked.household);
    assert.equal(frame.alert.sensor, null);
    const officer = await live.wo_a.waitFor((m) => m.type === 'alert' && m.alert.id === full.id, { what: 'the officer\'s alert' });
    assert.equal(officer.alert.sensor, 'ac-hh-a');
    // Acknowledging it as an operator answers the masked alert too.
    const ack = await h.request(d, 'POST', `/api/v1/alerts/${full.id}/ack`, { token: tok.op, body: { note: 'calling' } });
    h.assertStatus(ack, 200);
    assert.equal(ack.json.sensor, null);
    assert.equal(ack.json.household, masked.household);
    // The alert's trail: the system's notes carry readings ("level back to 7"), withheld from the
    // operator; the admin reads them; people's notes stay for both.
    await L.ingest(d, [{ sensor: 'ac-hh-a', metric: 'level', ts: nextTs(), value: 7 }]);
    const trail = async (who) => h.assertJson(await get(`/api/v1/alerts/${full.id}/events`, who), 200).items;
    let adminTrail = [];
    for (const deadline = Date.now() + 10000; Date.now() < deadline;) {
      adminTrail = await trail('admin');
      if (adminTrail.some((e) => e.event === 'cleared')) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(adminTrail.some((e) => e.event === 'cleared' && /\b7\b/.test(e.note)), JSON.stringify(adminTrail));
    const opTrail = await trail('op');
    assert.deepEqual(opTrail.map((e) => e.event), adminTrail.map((e) => e.event));
    assert.ok(opTrail.filter((e) => e.actor === 'system').every((e) => e.note === null), JSON.stringify(opTrail));
    assert.ok(!JSON.stringify(opTrail).includes('4321') && !JSON.stringify(opTrail).includes('back to'));
    assert.equal(opTrail.find((e) => e.event === 'acknowledged').note, 'calling');
  });

  test('rules: a scoped reader sees those of its zones and domains and the ones that apply everywhere', async () => {
    const d = ctx.d;
    const rule = (id, selector) => L.createRule(d, {
      id, name: { ko: id, en: id }, kind: 'threshold', selector, severity: 'info', enabled: true,
      metric: 'level', op: '>', value: 1e9,
    });
    await rule('ac-r-a', { zone: 'ac-a' });
    await rule('ac-r-b', { zone: 'ac-b' });
    await rule('ac-r-ene', { domain: 'energy' });
    await rule('ac-r-dis-b', { zone: 'ac-b', domain: 'disaster' });
    await rule('ac-r-all', { kind: 'probe' });
    const rules = async (who) => (await ids('/api/v1/rules?limit=1000', who)).filter((x) => x.startsWith('ac-r-'));
    assert.deepEqual(await rules('op'), ['ac-r-a', 'ac-r-all', 'ac-r-b', 'ac-r-dis-b', 'ac-r-ene']);
    assert.deepEqual(await rules('op_a'), ['ac-r-a', 'ac-r-all', 'ac-r-ene']);
    assert.deepEqual(await rules('wo_a'), ['ac-r-a', 'ac-r-all', 'ac-r-ene']);
    h.assertStatus(await get('/api/v1/rules/ac-r-a', 'op_a'), 200);
    for (const id of ['ac-r-b', 'ac-r-dis-b']) h.assertProblem(await get(`/api/v1/rules/${id}`, 'op_a'), 404, 'not-found');
  });

  test('KPIs: domains filter the catalog and values, zones filter the values and accessibility', async () => {
    const kpiIds = async (who) => {
      const res = await get('/api/v1/kpis', who);
      h.assertStatus(res, 200);
      return res.json.items.map((x) => x.id);
    };
    const all = await kpiIds('op');
    assert.ok(all.includes('renewable_share') && all.includes('emergency_response_time'));
    assert.deepEqual(await kpiIds('analyst_energy'), ['electricity_per_capita', 'renewable_share']);
    h.assertProblem(await get('/api/v1/kpis/emergency_response_time/values?period=year', 'analyst_energy'), 404, 'not-found');
    h.assertStatus(await get('/api/v1/kpis/renewable_share/values?period=year', 'analyst_energy'), 200);
    // sensor_availability has a value per zone of sensors that declare an interval: op sees both
    // zones, op_a only its own.
    for (const [id, lon] of [['kx-a', 127.514], ['kx-b', 127.614]]) {
      await I.makeSensor(ctx.d, id, { domain: 'environment', kind: 'meter', location: h.point(lon, 37.51),
        metrics: [{ name: 'level', unit: 'm', interval_s: 60 }] });
    }
    const zones = async (who) => {
      const res = await get('/api/v1/kpis/sensor_availability/values?period=year', who);
      h.assertStatus(res, 200, `${who} values`);
      return [...new Set(res.json.values.map((v) => v.zone).filter((z) => z && z.startsWith('ac-')))].sort();
    };
    assert.deepEqual(await zones('op'), ['ac-a', 'ac-b']);
    assert.deepEqual(await zones('op_a'), ['ac-a']);
    h.assertProblem(await get('/api/v1/kpis/sensor_availability/values?zone=ac-b', 'op_a'), 404, 'not-found');
    h.assertStatus(await get('/api/v1/kpis/sensor_availability/values?zone=ac-a', 'op_a'), 200);
    h.assertStatus(await get('/api/v1/zones/ac-a/accessibility', 'op_a'), 200);
    h.assertProblem(await get('/api/v1/zones/ac-b/accessibility', 'op_a'), 404, 'not-found');
  });

  test('a revoked token, a signed-out session and a disabled user lose their open WebSockets within 2 s', async () => {
    const d = ctx.d;
    const open = async (token) => {
      const ws = await L.connect(d, token);
      clients.push(ws);
      await ws.subscribeAndWait({});
      return ws;
    };
    const closesWithin2s = async (ws, what) => {
      const t = Date.now();
      assert.ok(await ws.waitClose(2000), `${what}: still open after 2 s`);
      return Date.now() - t;
    };
    // A revoked API token.
    const t = await h.createToken(d, 'operator', 'ws-revoked');
    const other = await h.createToken(d, 'operator', 'ws-kept');
    const byToken = await open(t.token);
    const byOther = await open(other.token);
    h.assertStatus(await h.request(d, 'DELETE', `/api/v1/tokens/${t.id}`, { token: d.bootstrapToken }), 204);
    await closesWithin2s(byToken, 'revoked token');
    // Two sessions of one person: signing out of one closes only its own socket.
    h.assertStatus(await h.request(d, 'POST', '/api/v1/users', {
      token: d.bootstrapToken, body: { username: 'ws_user', display_name: 'WS', role: 'operator', password: PASSWORD },
    }), 201);
    const signIn = async () => (h.assertJson(await h.request(d, 'POST', '/api/v1/sessions',
      { body: { username: 'ws_user', password: PASSWORD } }), 201)).token;
    const [sa, sb] = [await signIn(), await signIn()];
    const wsA = await open(sa);
    const wsB = await open(sb);
    h.assertStatus(await h.request(d, 'DELETE', '/api/v1/sessions/current', { token: sa }), 204);
    await closesWithin2s(wsA, 'signed-out session');
    // Disabling the person ends the other session, and its socket.
    h.assertStatus(await h.request(d, 'PATCH', '/api/v1/users/ws_user', { token: d.bootstrapToken, body: { disabled: true } }), 200);
    await closesWithin2s(wsB, 'disabled user');
    // Nothing else was closed: the other token's socket still answers.
    assert.equal(byOther.closed, false);
    const from = byOther.msgs.length;
    byOther.send({ type: 'ping' });
    await byOther.waitFor((m) => m.type === 'pong', { from, what: 'pong on the untouched connection' });
  });

  test('?access_token= authenticates the live feed only: on any other route it is 401', async () => {
    const d = ctx.d;
    for (const path of ['/api/v1/zones', '/api/v1/sensors/ac-dis-a', '/api/v1/me', '/api/v1/alerts']) {
      h.assertProblem(await h.request(d, 'GET', `${path}?access_token=${encodeURIComponent(d.bootstrapToken)}`), 401,
        'unauthorized');
    }
    const ws = await L.connect(d, tok.op, { via: 'query' });
    clients.push(ws);
    assert.equal(ws.hello.type, 'hello');
  });
});
