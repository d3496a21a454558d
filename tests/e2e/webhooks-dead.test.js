'use strict';
// Webhooks that never succeed: with webhooks.max_attempts = 2, a receiver that always answers 500 gets
// exactly two attempts (about 1 s apart), then the delivery is `dead` with its attempts, last status
// and last error visible over the API, and counted in /metrics.
// Contract: shared/API.md §6; docs/api-notes.md "Live operations" (webhooks); config/maeul.example.toml.

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/harness');
const I = require('./lib/ingest-helpers');
const L = require('./lib/live-helpers');

const { MIN, iso } = I;

describe('webhooks: dead deliveries', () => {
  const ctx = h.useDaemon('webhooks_dead', { MAEUL_WEBHOOKS_MAX_ATTEMPTS: '2', MAEUL_WEBHOOKS_TIMEOUT_MS: '1000', MAEUL_WEBHOOKS_ALLOW_PRIVATE: 'true' });
  let rcv;

  before(async () => {
    rcv = await L.startReceiver(() => 500);
    await I.makeZone(ctx.d, 'wd-z', 127.00, 37.00, 0.05);
  });

  after(async () => { if (rcv) await rcv.close(); });

  test('always 500 → two attempts, then state dead with attempts and the last error', async () => {
    const w = h.assertJson(await L.api(ctx.d, 'POST', '/api/v1/webhooks', { url: rcv.url, events: ['incident.opened'], secret: 'dead-letter-secret-0001' }), 201);
    const dead0 = await L.metricValue(ctx.d, 'maeul_webhook_deliveries_total', { outcome: 'dead' });
    const inc = h.assertJson(await L.api(ctx.d, 'POST', '/api/v1/incidents', { category: 'fire', zone: 'wd-z', reported_at: iso(Date.now() - MIN) }), 201);
    const d = await h.pollUntil(async () => {
      const b = h.assertJson(await L.api(ctx.d, 'GET', `/api/v1/webhooks/${w.id}/deliveries`), 200);
      return b.items.find((x) => x.state === 'dead');
    }, { timeoutMs: 6000, what: 'the delivery to be dead' });
    assert.equal(d.attempts, 2, `attempts: ${JSON.stringify(d)}`);
    assert.equal(d.event, 'incident.opened');
    assert.equal(typeof d.last_error, 'string');
    assert.ok(d.last_error.length > 0, 'last_error says what went wrong');
    assert.ok(d.last_status === undefined || d.last_status === 500, `last_status: ${JSON.stringify(d)}`);
    assert.ok(d.delivered_at === undefined || d.delivered_at === null, 'never delivered');
    assert.equal(rcv.got.length, 2, 'the receiver saw exactly two attempts');
    assert.ok(rcv.got.every((q) => q.json && q.json.data && q.json.data.id === inc.id));
    assert.ok(rcv.got[1].at - rcv.got[0].at >= 800, `back-off between the attempts: ${rcv.got[1].at - rcv.got[0].at} ms`);
    await h.pollUntil(async () => (await L.metricValue(ctx.d, 'maeul_webhook_deliveries_total', { outcome: 'dead' })) > dead0,
      { timeoutMs: 2000, what: 'maeul_webhook_deliveries_total{outcome="dead"}' });
  });
});

describe('webhooks: allow_private = false', () => {
  const ctx = h.useDaemon('webhooks_private', { MAEUL_WEBHOOKS_ALLOW_PRIVATE: 'false', MAEUL_WEBHOOKS_MAX_ATTEMPTS: '2' });
  let rcv;

  before(async () => {
    rcv = await L.startReceiver(() => 200);
    await I.makeZone(ctx.d, 'wp-z', 127.00, 37.00, 0.05);
  });

  after(async () => { if (rcv) await rcv.close(); });

  test('a loopback receiver is refused at registration (422 /url) or never contacted', async () => {
    const res = await L.api(ctx.d, 'POST', '/api/v1/webhooks', { url: rcv.url, events: ['incident.opened'], secret: 'private-net-secret-0001' });
    if (res.status === 422) {
      h.assertInvalid(res, '/url');
      return;
    }
    const w = h.assertJson(res, 201);
    h.assertJson(await L.api(ctx.d, 'POST', '/api/v1/incidents', { category: 'fire', zone: 'wp-z', reported_at: iso(Date.now() - MIN) }), 201);
    const d = await h.pollUntil(async () => {
      const b = h.assertJson(await L.api(ctx.d, 'GET', `/api/v1/webhooks/${w.id}/deliveries`), 200);
      return b.items.find((x) => x.attempts >= 1 && x.state !== 'pending' && x.state !== 'delivered');
    }, { timeoutMs: 6000, what: 'the delivery to fail' });
    assert.ok(['failed', 'dead'].includes(d.state), JSON.stringify(d));
    assert.equal(rcv.got.length, 0, 'the loopback receiver was never contacted');
  });
});
