'use strict';
// Webhook hygiene (issue 10 item 6; docs/security.md "Webhook hygiene"): with allow_private = false,
// reserved address literals (NAT64, IPv4-mapped, 6to4, site-local, benchmarking, loopback...) are
// refused at registration (422 /url) and a host name that resolves to loopback is never delivered
// to (the delivery records why); URLs with CR/LF, escaped control characters, spaces or user info
// are refused in any mode; a receiver that is down keeps at most webhooks.max_pending_per_webhook
// pending deliveries (the oldest are dropped dead, counted); a slow receiver gets at most
// webhooks.max_in_flight_per_webhook deliveries at once and does not hold up another receiver;
// secrets are sealed in the database (no plaintext in the row, checked with psql) and deliveries
// still verify with the original secret, also for a secret stored in clear before the sealing
// migration (sealed at the next start); without a key file, no webhook can be registered (503).
// Contract: shared/API.md §6, §8; docs/operations.md [webhooks].

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const http = require('node:http');
const crypto = require('node:crypto');
const h = require('./lib/harness');
const I = require('./lib/ingest-helpers');
const L = require('./lib/live-helpers');

const { MIN, iso } = I;
const SECRET = 'hygiene-secret-0123456789abcdef';

function register(d, url, events = ['incident.opened'], secret = SECRET) {
  return L.api(d, 'POST', '/api/v1/webhooks', { url, events, secret });
}

async function incident(d, zone) {
  return h.assertJson(await L.api(d, 'POST', '/api/v1/incidents', { category: 'fire', zone, reported_at: iso(Date.now() - MIN) }), 201);
}

async function deliveries(d, id) {
  return h.assertJson(await L.api(d, 'GET', `/api/v1/webhooks/${id}/deliveries`), 200).items;
}

function checkSignature(req, secret) {
  const sig = String(req.headers['x-maeul-signature']);
  const want = L.sign(secret, req.body);
  assert.ok(sig.length === want.length && crypto.timingSafeEqual(Buffer.from(sig), Buffer.from(want)),
    `X-Maeul-Signature ${sig} is HMAC-SHA256 of the body with the original secret (${want})`);
}

// A receiver that answers each request after `delayMs` and records the most requests open at once.
async function slowReceiver(delayMs) {
  const got = [];
  let open = 0;
  const state = { got, maxOpen: 0 };
  const server = http.createServer((req, res) => {
    open += 1;
    state.maxOpen = Math.max(state.maxOpen, open);
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      setTimeout(() => {
        got.push({ at: Date.now(), body: Buffer.concat(chunks), headers: req.headers });
        open -= 1;
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end('ok');
      }, delayMs);
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  state.url = `http://127.0.0.1:${server.address().port}/hook`;
  state.close = () => new Promise((r) => { server.closeAllConnections(); server.close(r); });
  return state;
}

describe('webhook hygiene: allow_private = false', () => {
  const ctx = h.useDaemon('wh_hyg_private', {
    MAEUL_WEBHOOKS_ALLOW_PRIVATE: 'false', MAEUL_WEBHOOKS_MAX_ATTEMPTS: '3', MAEUL_WEBHOOKS_TIMEOUT_MS: '1000',
  });
  let rcv;

  before(async () => {
    rcv = await L.startReceiver(() => 200);
    await I.makeZone(ctx.d, 'hy-z', 127.00, 37.00, 0.05);
  });
  after(async () => { if (rcv) await rcv.close(); });

  test('reserved address literals, IPv6 forms that embed a private IPv4 address included, are refused (422 /url)', async () => {
    const urls = [
      'http://[64:ff9b::a00:1]/', 'http://[::ffff:10.0.0.1]/', 'http://198.18.0.1/', 'http://[2002:a00:1::]/',
      'http://[fec0::1]/', `http://127.0.0.1:${rcv.port}/hook`, 'http://[::1]/', 'http://169.254.169.254/latest',
      'http://2130706433/', 'http://127.1/', 'http://[64:ff9b::127.0.0.1]/', 'http://100.64.0.1/', 'http://[fd00::1]/',
    ];
    for (const url of urls) {
      const b = h.assertInvalid(await register(ctx.d, url), '/url');
      const e = b.errors.find((x) => x.pointer === '/url');
      assert.match(e.detail, /private or reserved/, `${url}: ${e.detail}`);
    }
    const list = h.assertJson(await L.api(ctx.d, 'GET', '/api/v1/webhooks'), 200);
    assert.equal(list.items.length, 0, 'none was registered');
  });

  test('URLs with CR/LF, escaped control characters, spaces, user info or another scheme are refused (422 /url)', async () => {
    const urls = [
      'http://example.org/a\r\nX-Injected: 1', 'http://example.org/a\nb', 'http://example.org/a\rb',
      'http://example.org/%0d%0aX-Injected:%201', 'http://example.org/%0A', 'http://example.org/a%00',
      'http://example.org/a b', 'http://example.org/\tx', 'http://user:pw@example.org/', 'http://user@example.org/',
      'ftp://example.org/', 'file:///etc/passwd', 'http://example.org/\u0000', 'http://exa\u00e9mple.org/',
    ];
    for (const url of urls) h.assertInvalid(await register(ctx.d, url), '/url');
  });

  test('a host name that resolves to 127.0.0.1 (localhost) is registered but never delivered to; the delivery says why', async () => {
    const refused0 = await L.metricValue(ctx.d, 'maeul_webhook_deliveries_total', { outcome: 'refused' });
    const w = h.assertJson(await register(ctx.d, `http://localhost:${rcv.port}/hook`), 201);
    await incident(ctx.d, 'hy-z');
    const d = await h.pollUntil(async () => (await deliveries(ctx.d, w.id)).find((x) => x.attempts >= 1 && x.last_error),
      { timeoutMs: 8000, what: 'a failed attempt with its reason' });
    assert.match(d.last_error, /localhost resolves to 127\.0\.0\.1/, d.last_error);
    assert.match(d.last_error, /allow_private/, d.last_error);
    assert.ok(d.last_status === null || d.last_status === undefined, `no HTTP status: ${JSON.stringify(d)}`);
    // Keep watching through the retries (back-off 1 s, 2 s) until the delivery is dead: nothing arrives.
    const dead = await h.pollUntil(async () => (await deliveries(ctx.d, w.id)).find((x) => x.state === 'dead'),
      { timeoutMs: 10000, what: 'the delivery to be dead after max_attempts refusals' });
    assert.equal(dead.attempts, 3);
    assert.equal(rcv.got.length, 0, 'the loopback receiver was never contacted');
    assert.ok(await L.metricValue(ctx.d, 'maeul_webhook_deliveries_total', { outcome: 'refused' }) >= refused0 + 3,
      'each refused attempt is counted');
  });
});

describe('webhook hygiene: sealed secrets, per-receiver concurrency (allow_private = true)', () => {
  const ctx = h.useDaemon('wh_hyg_sealed', {
    MAEUL_WEBHOOKS_ALLOW_PRIVATE: 'true', MAEUL_WEBHOOKS_TIMEOUT_MS: '5000', MAEUL_WEBHOOKS_MAX_IN_FLIGHT_PER_WEBHOOK: '2',
  });
  const closers = [];

  before(async () => {
    await I.makeZone(ctx.d, 'hs-z', 127.00, 37.00, 0.05);
  });
  after(async () => { for (const c of closers) await c(); });

  test('the secret is stored sealed (no plaintext in the row) and deliveries verify with the original secret', async () => {
    const rcv = await L.startReceiver(() => 200);
    closers.push(() => rcv.close());
    const w = h.assertJson(await register(ctx.d, rcv.url), 201);
    assert.equal(w.secret, undefined, 'the answer never holds the secret');
    const listed = h.assertJson(await L.api(ctx.d, 'GET', '/api/v1/webhooks'), 200).items.find((x) => x.id === w.id);
    assert.equal(listed.secret, undefined, 'nor does the list');

    const row = h.psql(`SELECT secret IS NULL, encode(secret_sealed, 'hex'), position(convert_to('${SECRET}', 'UTF8') in secret_sealed) `
      + `FROM webhooks WHERE id = '${w.id}'`, ctx.db).trim().split('|');
    assert.equal(row[0], 't', 'no clear secret column');
    assert.equal(row[1].length, 2 * (1 + 8 + 24 + SECRET.length + 16), `version, key id, nonce, ciphertext, tag: ${row[1]}`);
    assert.equal(row[2], '0', 'the plaintext is nowhere in the sealed bytes');
    assert.ok(!row[1].includes(Buffer.from(SECRET).toString('hex')));

    await incident(ctx.d, 'hs-z');
    const [req] = await rcv.waitCount(1, 8000);
    checkSignature(req, SECRET);
  });

  test('a slow receiver gets at most max_in_flight_per_webhook deliveries at once and holds up no other receiver', async () => {
    const slow = await slowReceiver(700);
    closers.push(slow.close);
    const fast = await L.startReceiver(() => 200);
    closers.push(() => fast.close());
    h.assertJson(await register(ctx.d, slow.url), 201);
    h.assertJson(await register(ctx.d, fast.url), 201);
    const n = 8;
    for (let i = 0; i < n; i++) await incident(ctx.d, 'hs-z');
    await fast.waitCount(n, 8000, 'deliveries to the fast receiver');
    const fastDone = Date.now();
    await h.pollUntil(() => slow.got.length >= n, { timeoutMs: 20000, what: `${n} deliveries to the slow receiver` });
    assert.ok(slow.maxOpen <= 2, `at most 2 requests open at once at the slow receiver, saw ${slow.maxOpen}`);
    assert.ok(slow.maxOpen >= 1);
    assert.ok(fastDone < slow.got[n - 1].at, 'the fast receiver had all of its deliveries before the slow one finished');
    for (const req of slow.got) checkSignature(req, SECRET);
  });
});

describe('webhook hygiene: a receiver that is down keeps a bounded backlog', () => {
  const ctx = h.useDaemon('wh_hyg_bound', {
    MAEUL_WEBHOOKS_ALLOW_PRIVATE: 'true', MAEUL_WEBHOOKS_MAX_PENDING_PER_WEBHOOK: '3', MAEUL_WEBHOOKS_MAX_ATTEMPTS: '100',
    MAEUL_WEBHOOKS_TIMEOUT_MS: '1000',
  });

  before(async () => {
    await I.makeZone(ctx.d, 'hb-z', 127.00, 37.00, 0.05);
  });

  test('past max_pending_per_webhook the oldest pending deliveries are dropped dead, with the reason, and counted', async () => {
    const port = await h.closedPort();
    const w = h.assertJson(await register(ctx.d, `http://127.0.0.1:${port}/down`), 201);
    const dropped0 = await L.metricValue(ctx.d, 'maeul_webhook_deliveries_total', { outcome: 'dropped' });
    const n = 8;
    for (let i = 0; i < n; i++) await incident(ctx.d, 'hb-z');
    const items = await h.pollUntil(async () => {
      const all = await deliveries(ctx.d, w.id);
      return all.length === n && all.filter((x) => x.state === 'pending').length <= 3 ? all : null;
    }, { timeoutMs: 15000, intervalMs: 250, what: 'the backlog to be cut to 3 pending deliveries' });
    const byId = [...items].sort((a, b) => a.id - b.id);
    const dead = byId.filter((x) => x.state === 'dead');
    assert.equal(dead.length, n - 3, `dropped: ${JSON.stringify(byId.map((x) => [x.id, x.state]))}`);
    assert.deepEqual(dead.map((x) => x.id), byId.slice(0, n - 3).map((x) => x.id), 'the oldest are dropped, the newest kept');
    for (const x of dead) assert.match(String(x.last_error), /dropped/, JSON.stringify(x));
    assert.ok(byId.slice(n - 3).every((x) => x.state === 'pending'));
    await h.pollUntil(async () => (await L.metricValue(ctx.d, 'maeul_webhook_deliveries_total', { outcome: 'dropped' })) >= dropped0 + n - 3,
      { timeoutMs: 3000, what: 'maeul_webhook_deliveries_total{outcome="dropped"}' });
  });
});

describe('webhook hygiene: secrets in clear from before the sealing migration are sealed at start', () => {
  const ctx = h.useDaemon('wh_hyg_legacy', { MAEUL_WEBHOOKS_ALLOW_PRIVATE: 'true', MAEUL_WEBHOOKS_TIMEOUT_MS: '1000' });
  let rcv;

  before(async () => {
    rcv = await L.startReceiver(() => 200);
    await I.makeZone(ctx.d, 'hl-z', 127.00, 37.00, 0.05);
  });
  after(async () => { if (rcv) await rcv.close(); });

  test('a row written in clear is sealed at the next start, its clear column emptied, and its deliveries still verify', async () => {
    const legacy = 'legacy-plain-secret-000000001';
    h.psql(`INSERT INTO webhooks (id, url, events, secret) VALUES ('wh_legacy000001', '${rcv.url}', '{incident.opened}', '${legacy}')`, ctx.db);
    assert.equal(await ctx.d.stop(), 0);
    ctx.d = await h.startDaemon({ db: ctx.db, env: { MAEUL_WEBHOOKS_ALLOW_PRIVATE: 'true', MAEUL_WEBHOOKS_TIMEOUT_MS: '1000' } });
    const row = h.psql("SELECT secret IS NULL, secret_sealed IS NOT NULL, position(convert_to('" + legacy + "', 'UTF8') in secret_sealed) "
      + "FROM webhooks WHERE id = 'wh_legacy000001'", ctx.db).trim();
    assert.equal(row, 't|t|0', 'sealed at start and nothing left in clear');
    await incident(ctx.d, 'hl-z');
    const [req] = await rcv.waitCount(1, 8000);
    checkSignature(req, legacy);
  });
});

describe('webhook hygiene: without a key file no secret is stored', () => {
  const ctx = h.useDaemon('wh_hyg_nokey', { MAEUL_WEBHOOKS_SECRET_KEY_FILE: '', MAEUL_WEBHOOKS_ALLOW_PRIVATE: 'true' });

  test('POST /api/v1/webhooks answers 503 and stores nothing', async () => {
    const res = await register(ctx.d, 'http://10.0.0.5:9000/hook');
    const b = h.assertProblem(res, 503);
    assert.match(b.detail, /webhooks\.secret_key_file/, b.detail);
    assert.equal(h.psql('SELECT count(*) FROM webhooks', ctx.db).trim(), '0');
  });
});
