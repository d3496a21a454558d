'use strict';
// Webhooks: registration and validation (url, events, secret ≥ 16 characters; the secret is never
// returned), roles; deliveries signed with X-Maeul-Signature (HMAC-SHA256 of the raw body, checked with
// node:crypto), X-Maeul-Event, X-Maeul-Delivery; retries with back-off until a 2xx (a receiver that
// fails twice), the deliveries list (attempts, state delivered); a receiver that never answers does not
// hold up another one (timeout 1 s); event filtering; incident events; escalation events; DELETE.
// Contract: shared/API.md §6; docs/api-notes.md "Live operations" (webhooks).

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const h = require('./lib/harness');
const I = require('./lib/ingest-helpers');
const L = require('./lib/live-helpers');

const { SEC, MIN, iso } = I;

const EVENTS = ['alert.opened', 'alert.acknowledged', 'alert.resolved', 'alert.cleared', 'alert.escalated', 'incident.opened', 'incident.updated'];
const SECRET = 'a-webhook-secret-0123456789';

describe('webhooks', () => {
  const ctx = h.useDaemon('webhooks', {
    MAEUL_ALERTS_TICK_MS: '100', MAEUL_ALERTS_ESCALATE_AFTER_S: '1', MAEUL_WEBHOOKS_TIMEOUT_MS: '1000', MAEUL_WEBHOOKS_ALLOW_PRIVATE: 'true',
  });
  let T;
  const tok = {};
  const receivers = [];
  const t0 = Date.now() - 30 * MIN;
  let tick = 0;
  const reading = (sensor, value) => ({ sensor, metric: 'level', ts: iso(t0 + (tick++) * SEC), value });
  let rule;
  let critRule;

  async function receiver(respond) {
    const r = await L.startReceiver(respond);
    receivers.push(r);
    return r;
  }

  async function register(body, token = T) {
    const res = await L.api(ctx.d, 'POST', '/api/v1/webhooks', body, token);
    const w = h.assertJson(res, 201);
    return w;
  }

  async function deliveries(id) {
    const b = h.assertJson(await L.api(ctx.d, 'GET', `/api/v1/webhooks/${id}/deliveries`), 200);
    assert.ok(Array.isArray(b.items), `items[]: ${JSON.stringify(b)}`);
    return b.items;
  }

  // Every request a receiver got is a well-formed, correctly signed delivery.
  function checkSigned(req, secret = SECRET) {
    assert.equal(req.method, 'POST');
    assert.match(String(req.headers['content-type']), /^application\/json/i);
    const sig = req.headers['x-maeul-signature'];
    assert.match(String(sig), /^sha256=[0-9a-f]{64}$/, `X-Maeul-Signature: ${sig}`);
    const want = L.sign(secret, req.body);
    assert.ok(crypto.timingSafeEqual(Buffer.from(sig), Buffer.from(want)), `signature ${sig} is HMAC-SHA256(secret, raw body) = ${want}`);
    assert.notEqual(sig, L.sign(secret + 'x', req.body), 'and not with another secret');
    const b = req.json;
    assert.ok(b && typeof b === 'object', `JSON body: ${req.body.toString().slice(0, 300)}`);
    assert.ok(EVENTS.includes(req.headers['x-maeul-event']), `X-Maeul-Event: ${req.headers['x-maeul-event']}`);
    assert.equal(b.event, req.headers['x-maeul-event'], 'body.event = X-Maeul-Event');
    assert.ok(req.headers['x-maeul-delivery'], 'X-Maeul-Delivery');
    assert.match(String(b.created_at), h.TIME_RE, 'created_at');
    assert.equal(typeof b.data, 'object');
    return b;
  }

  before(async () => {
    T = ctx.d.bootstrapToken;
    for (const role of ['operator', 'analyst', 'welfare_officer']) {
      tok[role] = (await h.createToken(ctx.d, role, `wh-${role}`)).token;
    }
    await I.makeZone(ctx.d, 'wh-z', 127.00, 37.00, 0.05);
    for (let i = 0; i < 12; i++) {
      await I.makeSensor(ctx.d, `wh-${i}`, { domain: 'disaster', kind: 'wh', location: h.point(127.01 + i * 0.001, 37.01), metrics: [{ name: 'level', unit: 'm' }] });
    }
    await I.makeSensor(ctx.d, 'wh-crit', { domain: 'disaster', kind: 'whc', location: h.point(127.03, 37.01), metrics: [{ name: 'level', unit: 'm' }] });
    rule = await L.createRule(ctx.d, { name: 'wh', kind: 'threshold', selector: { kind: 'wh' }, severity: 'warning', metric: 'level', op: '>', value: 10 });
    critRule = await L.createRule(ctx.d, { name: 'wh crit', kind: 'threshold', selector: { kind: 'whc' }, severity: 'critical', metric: 'level', op: '>', value: 10 });
    await L.rulesSettled(ctx.d); // no rule changes after this: sentinel alerts would be delivered too
  });

  after(async () => { for (const r of receivers) await r.close(); });

  // An alert on sensor wh-<i>: resolves to the alert, once opened.
  async function openAlert(i) {
    await L.ingest(ctx.d, [reading(`wh-${i}`, 20)]);
    return L.waitAlert(ctx.d, (a) => a.rule === rule.id && a.sensor === `wh-${i}`, { what: `alert on wh-${i}` });
  }

  describe('registration', () => {
    test('201 with id, url, events; the secret is never returned (create, list, deliveries)', async () => {
      const r = await receiver(() => 200);
      const res = await L.api(ctx.d, 'POST', '/api/v1/webhooks', { url: r.url, events: ['incident.opened'], secret: 'never-shown-secret-xyz' });
      const w = h.assertJson(res, 201);
      assert.equal(typeof w.id, 'string');
      assert.equal(w.url, r.url);
      assert.deepEqual(w.events, ['incident.opened']);
      assert.equal(res.headers.get('location'), `/api/v1/webhooks/${w.id}`);
      assert.ok(!res.text.includes('never-shown-secret-xyz'), `no secret in the answer: ${res.text}`);
      assert.ok(!('secret' in w) || w.secret === null, 'no secret field');
      const list = await L.api(ctx.d, 'GET', '/api/v1/webhooks');
      const b = h.assertJson(list, 200);
      assert.ok(b.items.some((x) => x.id === w.id), 'listed');
      assert.ok(!list.text.includes('never-shown-secret-xyz'), 'no secret in the list');
      const del = await L.api(ctx.d, 'GET', `/api/v1/webhooks/${w.id}/deliveries`);
      assert.ok(!del.text.includes('never-shown-secret-xyz'), 'no secret in deliveries');
      h.assertStatus(await L.api(ctx.d, 'DELETE', `/api/v1/webhooks/${w.id}`), 204);
      assert.ok(!h.assertJson(await L.api(ctx.d, 'GET', '/api/v1/webhooks'), 200).items.some((x) => x.id === w.id), 'gone from the list');
      h.assertProblem(await L.api(ctx.d, 'DELETE', `/api/v1/webhooks/${w.id}`), 404, 'not-found');
      h.assertProblem(await L.api(ctx.d, 'GET', '/api/v1/webhooks/no-such-hook/deliveries'), 404, 'not-found');
    });

    const good = { url: 'http://127.0.0.1:9/hook', events: ['alert.opened'], secret: SECRET };
    const bad = [
      ['url not http(s)', { ...good, url: 'ftp://127.0.0.1/hook' }, '/url'],
      ['url not a URL', { ...good, url: 'not a url' }, '/url'],
      ['url missing', { ...good, url: undefined }, '/url'],
      ['unknown event', { ...good, events: ['alert.opened', 'alert.exploded'] }, '/events/1'],
      ['events empty', { ...good, events: [] }, '/events'],
      ['events missing', { ...good, events: undefined }, '/events'],
      ['secret too short', { ...good, secret: 'short' }, '/secret'],
      ['secret of 15 characters', { ...good, secret: '123456789012345' }, '/secret'],
      ['secret missing', { ...good, secret: undefined }, '/secret'],
    ];
    for (const [what, body, ptr] of bad) {
      test(`422: ${what}`, async () => {
        h.assertInvalid(await L.api(ctx.d, 'POST', '/api/v1/webhooks', JSON.parse(JSON.stringify(body))), ptr);
      });
    }

    test('every documented event and a 16-character secret are accepted', async () => {
      const w = await register({ url: 'http://127.0.0.1:9/hook', events: EVENTS, secret: '1234567890123456' });
      assert.deepEqual([...w.events].sort(), [...EVENTS].sort());
      h.assertStatus(await L.api(ctx.d, 'DELETE', `/api/v1/webhooks/${w.id}`), 204);
    });

    test('roles: only admin (operator, welfare_officer, analyst → 403; no token 401)', async () => {
      for (const role of ['operator', 'welfare_officer', 'analyst']) {
        h.assertProblem(await L.api(ctx.d, 'POST', '/api/v1/webhooks', good, tok[role]), 403, 'forbidden');
        h.assertProblem(await L.api(ctx.d, 'GET', '/api/v1/webhooks', undefined, tok[role]), 403, 'forbidden');
      }
      h.assertProblem(await h.request(ctx.d, 'GET', '/api/v1/webhooks'), 401, 'unauthorized');
    });
  });

  describe('delivery', () => {
    let sample; // one delivery request, from the retry test
    test('a receiver that fails twice gets the delivery on the third attempt, signed, after back-off; deliveries show it', async () => {
      const r = await receiver((req, n) => (n <= 2 ? 500 : 200));
      const w = await register({ url: r.url, events: ['alert.opened'], secret: SECRET });
      const a = await openAlert(0);
      await r.waitCount(3, 8000, 'attempts');
      const tries = r.got.slice(0, 3);
      const bodies = tries.map((q) => checkSigned(q));
      for (const b of bodies) {
        assert.equal(b.event, 'alert.opened');
        assert.equal(b.data.id, a.id, 'data is the alert');
        assert.equal(b.data.rule, rule.id);
        assert.equal(b.data.sensor, 'wh-0');
        assert.equal(b.data.state, 'open');
      }
      sample = tries[0];
      assert.equal(new Set(tries.map((q) => q.headers['x-maeul-delivery'])).size, 1, 'one delivery id across the retries');
      assert.ok(tries.every((q) => q.body.equals(tries[0].body)), 'the same body each time');
      const gap1 = tries[1].at - tries[0].at;
      const gap2 = tries[2].at - tries[1].at;
      assert.ok(gap1 >= 800, `back-off before the second attempt: ${gap1} ms (1 s)`);
      assert.ok(gap2 >= 1600, `back-off doubles: ${gap2} ms (2 s)`);
      const d = await h.pollUntil(async () => (await deliveries(w.id)).find((x) => x.state === 'delivered'), { timeoutMs: 3000, what: 'state delivered' });
      assert.equal(d.attempts, 3, `attempts: ${JSON.stringify(d)}`);
      assert.equal(d.event, 'alert.opened');
      assert.equal(String(d.id), String(tries[0].headers['x-maeul-delivery']), 'the delivery id of the header');
      await new Promise((res) => setImmediate(res));
      assert.equal(r.got.filter((q) => q.headers['x-maeul-delivery'] === tries[0].headers['x-maeul-delivery']).length, 3, 'no attempt after the 2xx');
      h.assertStatus(await L.api(ctx.d, 'DELETE', `/api/v1/webhooks/${w.id}`), 204);
    });

    test('the body is {"id","event","created_at","data"}, its id the X-Maeul-Delivery id', async () => {
      assert.ok(sample, 'a delivery from the previous test');
      const b = sample.json;
      assert.deepEqual(Object.keys(b).sort(), ['created_at', 'data', 'event', 'id'], `body keys: ${sample.body.toString().slice(0, 300)}`);
      assert.equal(String(b.id), String(sample.headers['x-maeul-delivery']));
    });

    test('a receiver that never answers does not hold up another one (timeout 1 s)', async () => {
      const hang = await receiver(() => 'hang');
      const ok = await receiver(() => 200);
      const wHang = await register({ url: hang.url, events: ['alert.opened'], secret: SECRET });
      const wOk = await register({ url: ok.url, events: ['alert.opened'], secret: SECRET });
      const t = Date.now();
      await L.ingest(ctx.d, [reading('wh-1', 20), reading('wh-2', 20), reading('wh-3', 20)]);
      await ok.waitCount(3, 2000, 'deliveries to the good receiver (3 alerts)');
      const late = Math.max(...ok.got.slice(0, 3).map((q) => q.at - t));
      assert.ok(late < 2000, `the good receiver had all three within ${late} ms`);
      assert.deepEqual(ok.got.slice(0, 3).map((q) => checkSigned(q).data.sensor).sort(), ['wh-1', 'wh-2', 'wh-3']);
      await hang.waitCount(1, 3000, 'attempts at the hanging receiver');
      // its attempt times out and is recorded as failed, to be retried
      const d = await h.pollUntil(async () => (await deliveries(wHang.id)).find((x) => x.attempts >= 1 && x.state !== 'delivered' && x.last_error),
        { timeoutMs: 4000, what: 'a failed attempt on the hanging receiver' });
      assert.ok(['pending', 'failed'].includes(d.state), `state ${d.state}`);
      assert.equal(typeof d.last_error, 'string');
      const okd = await deliveries(wOk.id);
      assert.ok(okd.filter((x) => x.state === 'delivered').length >= 3, `good receiver: ${JSON.stringify(okd)}`);
      h.assertStatus(await L.api(ctx.d, 'DELETE', `/api/v1/webhooks/${wHang.id}`), 204);
      h.assertStatus(await L.api(ctx.d, 'DELETE', `/api/v1/webhooks/${wOk.id}`), 204);
    });

    test('only subscribed events: a webhook for alert.acknowledged and alert.resolved gets those, not alert.opened', async () => {
      const r = await receiver(() => 204);
      const w = await register({ url: r.url, events: ['alert.acknowledged', 'alert.resolved'], secret: SECRET });
      const a = await openAlert(4);
      h.assertStatus(await L.api(ctx.d, 'POST', `/api/v1/alerts/${a.id}/ack`, { note: 'ack' }), 200);
      h.assertStatus(await L.api(ctx.d, 'POST', `/api/v1/alerts/${a.id}/resolve`, { note: 'done' }), 200);
      await r.waitCount(2, 4000);
      const evs = r.got.map((q) => checkSigned(q)).filter((b) => b.data.id === a.id);
      assert.deepEqual(evs.map((b) => b.event).sort(), ['alert.acknowledged', 'alert.resolved']);
      assert.ok(!r.got.some((q) => q.headers['x-maeul-event'] === 'alert.opened'), 'no alert.opened');
      const ack = evs.find((b) => b.event === 'alert.acknowledged');
      assert.equal(ack.data.state, 'acknowledged');
      assert.equal(ack.data.note, 'ack');
      const d = await h.pollUntil(async () => { const x = await deliveries(w.id); return x.length >= 2 && x.every((y) => y.state === 'delivered') && x; },
        { timeoutMs: 3000, what: '204 counts as delivered' });
      assert.ok(d.every((y) => y.attempts === 1));
      h.assertStatus(await L.api(ctx.d, 'DELETE', `/api/v1/webhooks/${w.id}`), 204);
    });

    test('incident.opened and incident.updated; a deleted webhook gets nothing', async () => {
      const r = await receiver(() => 200);
      const gone = await receiver(() => 200);
      const w = await register({ url: r.url, events: ['incident.opened', 'incident.updated'], secret: 'another-secret-for-incidents' });
      const wGone = await register({ url: gone.url, events: ['incident.opened', 'incident.updated'], secret: SECRET });
      h.assertStatus(await L.api(ctx.d, 'DELETE', `/api/v1/webhooks/${wGone.id}`), 204);
      const inc = h.assertJson(await L.api(ctx.d, 'POST', '/api/v1/incidents', { category: 'flood', zone: 'wh-z', reported_at: iso(Date.now() - 10 * MIN) }), 201);
      const dispatched = iso(Math.floor(Date.now() / 1000) * 1000 - 5 * MIN);
      h.assertStatus(await L.api(ctx.d, 'PATCH', `/api/v1/incidents/${inc.id}`, { dispatched_at: dispatched }), 200);
      await r.waitCount(2, 4000);
      const bodies = r.got.map((q) => checkSigned(q, 'another-secret-for-incidents'));
      // deliveries run in parallel: the order of arrival is not promised
      assert.deepEqual(bodies.map((b) => b.event).sort(), ['incident.opened', 'incident.updated']);
      assert.ok(bodies.every((b) => b.data.id === inc.id), `data is the incident: ${JSON.stringify(bodies)}`);
      const upd = bodies.find((b) => b.event === 'incident.updated');
      const opened = bodies.find((b) => b.event === 'incident.opened');
      assert.equal(upd.data.dispatched_at, dispatched, 'incident.updated carries the update');
      assert.equal(opened.data.dispatched_at, null, 'incident.opened carries the incident as it was');
      assert.ok(Date.parse(opened.created_at) <= Date.parse(upd.created_at), 'created_at orders them');
      assert.equal(gone.got.length, 0, 'the deleted webhook received nothing');
      h.assertStatus(await L.api(ctx.d, 'DELETE', `/api/v1/webhooks/${w.id}`), 204);
    });

    test('alert.escalated for a critical alert nobody acknowledged (escalate_after_s = 1)', async () => {
      const r = await receiver(() => 200);
      const w = await register({ url: r.url, events: ['alert.escalated'], secret: SECRET });
      await L.ingest(ctx.d, [reading('wh-crit', 50)]);
      const a = await L.waitAlert(ctx.d, (x) => x.rule === critRule.id, { what: 'the critical alert' });
      const q = await r.waitFor((x) => x.json && x.json.data && x.json.data.id === a.id, 5000, 'alert.escalated delivery');
      const b = checkSigned(q);
      assert.equal(b.event, 'alert.escalated');
      assert.match(String(b.data.escalated_at), h.TIME_RE);
      h.assertStatus(await L.api(ctx.d, 'DELETE', `/api/v1/webhooks/${w.id}`), 204);
    });

    test('/metrics counts deliveries', async () => {
      assert.ok(await L.metricValue(ctx.d, 'maeul_webhook_deliveries_total', { outcome: 'ok' }) >= 6);
      assert.ok(await L.metricValue(ctx.d, 'maeul_webhook_deliveries_total', { outcome: 'failed' }) >= 2);
    });
  });
});
