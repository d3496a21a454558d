'use strict';
// API tokens under API §8: an end (`expires_at`) that is refused at once, zone and domain scopes
// like users', every creation and revocation in the grant record; /metrics behind an admin token
// with bounded labels; request rates per principal and per address (429 with Retry-After).

const { describe, test } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/harness');
const I = require('./lib/ingest-helpers');
const L = require('./lib/live-helpers');

describe('tokens: expiry, scopes and the grant record', () => {
  const ctx = h.useDaemon('tokens');
  const admin = () => ctx.d.bootstrapToken;

  test('bad expires_at, zones and domains are 422 with pointers', async () => {
    const post = (body) => h.request(ctx.d, 'POST', '/api/v1/tokens', { token: admin(), body: { name: 't', role: 'analyst', ...body } });
    h.assertInvalid(await post({ expires_at: '2001-01-01T00:00:00Z' }), '/expires_at');
    h.assertInvalid(await post({ expires_at: 'tomorrow' }), '/expires_at');
    h.assertInvalid(await post({ expires_at: 12 }), '/expires_at');
    h.assertInvalid(await post({ zones: ['ok', ''] }), '/zones/1');
    h.assertInvalid(await post({ domains: ['weather'] }), '/domains/0');
  });

  test('a token is refused from its expires_at on, and its live feed closes', async () => {
    const d = ctx.d;
    const ends = new Date(Date.now() + 2500);
    const t = await h.createToken(d, 'operator', 'short-lived', { expires_at: ends.toISOString() });
    assert.equal(t.expires_at, new Date(Math.floor(ends.getTime())).toISOString());
    const me = await h.request(d, 'GET', '/api/v1/me', { token: t.token });
    assert.equal(me.json.expires_at, t.expires_at);
    h.assertStatus(await h.request(d, 'GET', '/api/v1/alerts', { token: t.token }), 200, 'before its end');
    const ws = await L.connect(d, t.token);
    await h.pollUntil(async () => (await h.request(d, 'GET', '/api/v1/alerts', { token: t.token })).status === 401,
      { timeoutMs: 6000, intervalMs: 100, what: 'the token to be refused after expires_at' });
    assert.ok(Date.now() >= ends.getTime(), 'not refused before its end');
    await h.pollUntil(() => ws.closed, { timeoutMs: 4000, what: 'the live feed of the expired token to close' });
  });

  test('a token limited to a zone and a domain sees only those; outside is 404', async () => {
    const d = ctx.d;
    await I.makeZone(d, 'tk-a', 127.30, 37.30, 0.02);
    await I.makeZone(d, 'tk-b', 127.40, 37.30, 0.02);
    const s = (id, domain, lon) => I.makeSensor(d, id, {
      domain, kind: 'probe', location: h.point(lon, 37.31), metrics: [{ name: 'level', unit: 'm' }],
    });
    await s('tk-dis-a', 'disaster', 127.31);
    await s('tk-ene-a', 'energy', 127.311);
    await s('tk-dis-b', 'disaster', 127.41);
    const t = await h.createToken(d, 'analyst', 'scoped', { zones: ['tk-a'], domains: ['disaster'] });
    assert.deepEqual([t.zones, t.domains], [['tk-a'], ['disaster']]);
    const res = await h.request(d, 'GET', '/api/v1/sensors?limit=1000', { token: t.token });
    h.assertStatus(res, 200);
    assert.deepEqual(res.json.items.map((x) => x.id).filter((x) => x.startsWith('tk-')), ['tk-dis-a']);
    h.assertStatus(await h.request(d, 'GET', '/api/v1/sensors/tk-dis-a', { token: t.token }), 200);
    for (const id of ['tk-ene-a', 'tk-dis-b']) {
      h.assertProblem(await h.request(d, 'GET', `/api/v1/sensors/${id}`, { token: t.token }), 404, 'not-found');
    }
    const me = await h.request(d, 'GET', '/api/v1/me', { token: t.token });
    h.assertStatus(me, 200);
    assert.deepEqual([me.json.kind, me.json.zones, me.json.domains], ['token', ['tk-a'], ['disaster']]);
  });

  test('creation and revocation are in the token\'s grant record, with who did it', async () => {
    const d = ctx.d;
    const t = await h.createToken(d, 'operator', 'audited', { zones: ['tk-a'] });
    h.assertStatus(await h.request(d, 'DELETE', `/api/v1/tokens/${t.id}`, { token: admin() }), 204);
    const res = await h.request(d, 'GET', `/api/v1/tokens/${t.id}/changes`, { token: admin() });
    h.assertStatus(res, 200);
    assert.deepEqual(res.json.items.map((x) => x.action), ['create', 'revoke']);
    for (const x of res.json.items) {
      assert.equal(x.username, t.id);
      assert.equal(x.actor, 'bootstrap (admin)');
    }
    assert.deepEqual(res.json.items[0].after.zones, ['tk-a']);
    assert.equal(res.json.items[1].before.id, t.id);
    assert.ok(!JSON.stringify(res.json).includes(t.token), 'the secret is not in the record');
    // The token's record is not a user's.
    const users = await h.request(d, 'GET', `/api/v1/users/${t.id}/changes`, { token: admin() });
    h.assertStatus(users, 200);
    assert.equal(users.json.items.length, 0);
  });
});

describe('/metrics: an admin token unless public, and bounded labels', () => {
  const ctx = h.useDaemon('metrics-auth');

  test('without a token 401, with an operator 403, with an admin 200', async () => {
    const d = ctx.d;
    h.assertProblem(await h.request(d, 'GET', '/metrics'), 401, 'unauthorized');
    const op = await h.createToken(d, 'operator', 'm-op');
    h.assertProblem(await h.request(d, 'GET', '/metrics', { token: op.token }), 403, 'forbidden');
    const res = await h.request(d, 'GET', '/metrics', { token: d.bootstrapToken });
    h.assertStatus(res, 200);
    assert.ok(h.parseProm(res.text).length > 0);
  });

  test('a method nobody defined adds no series: it is counted as "other"', async () => {
    const d = ctx.d;
    for (const m of ['BREW', 'PROPFIND', 'XYZZY']) {
      const c = await h.RawConn.connect(d.port);
      await c.write(`${m} /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
      await c.readResponse();
      c.destroy();
    }
    const text = (await h.request(d, 'GET', '/metrics', { token: d.bootstrapToken })).text;
    for (const m of ['BREW', 'PROPFIND', 'XYZZY']) assert.ok(!text.includes(`method="${m}"`), `no series for ${m}`);
    const other = h.parseProm(text).filter((s) => s.name === 'maeul_http_requests_total' && s.labels.method === 'other');
    assert.equal(other.reduce((n, s) => n + s.value, 0), 3);
  });
});

describe('/metrics with metrics.public = true', () => {
  const ctx = h.useDaemon('metrics-public', { MAEUL_METRICS_PUBLIC: 'true' });
  test('answers without a token', async () => {
    h.assertStatus(await h.request(ctx.d, 'GET', '/metrics'), 200);
  });
});

describe('request rates (limits.requests_per_s)', () => {
  const ctx = h.useDaemon('rates', { MAEUL_LIMITS_REQUESTS_PER_S: '2', MAEUL_LIMITS_BURST: '5' });

  test('past its burst a principal gets 429 with Retry-After; another principal is still served', async () => {
    const d = ctx.d;
    const a = await h.createToken(d, 'operator', 'rate-a');
    const b = await h.createToken(d, 'operator', 'rate-b');
    const statuses = [];
    let limited;
    for (let i = 0; i < 8; i++) {
      const res = await h.request(d, 'GET', '/api/v1/alerts', { token: a.token });
      statuses.push(res.status);
      if (res.status === 429) limited = res;
    }
    assert.deepEqual(statuses.slice(0, 5), [200, 200, 200, 200, 200], 'the burst is served');
    assert.ok(limited, `a 429 past the burst: ${statuses}`);
    h.assertProblem(limited, 429, 'too-many-requests');
    assert.ok(Number(limited.headers.get('retry-after')) >= 1, 'Retry-After in whole seconds');
    h.assertStatus(await h.request(d, 'GET', '/api/v1/alerts', { token: b.token }), 200, 'another token');
    // The bucket refills at 2 a second: within a couple of seconds the first token is served again.
    await h.pollUntil(async () => (await h.request(d, 'GET', '/api/v1/alerts', { token: a.token })).status === 200,
      { timeoutMs: 3000, intervalMs: 250, what: 'the bucket to refill' });
  });

  test('guessing tokens is limited per address', async () => {
    const d = ctx.d;
    const statuses = [];
    for (let i = 0; i < 8; i++) statuses.push((await h.request(d, 'GET', '/api/v1/alerts', { token: `mt_guess${i}` })).status);
    assert.ok(statuses.every((x) => x === 401 || x === 429), `only 401 and 429: ${statuses}`);
    assert.ok(statuses.includes(401) && statuses.includes(429), `token guesses limited: ${statuses}`);
  });

  test('anonymous requests are limited per address; /healthz never is', async () => {
    const d = ctx.d;
    const statuses = [];
    for (let i = 0; i < 8; i++) statuses.push((await h.request(d, 'GET', '/public/v1/kpis')).status);
    assert.ok(statuses.includes(429), `public pages limited per address: ${statuses}`);
    for (let i = 0; i < 20; i++) h.assertStatus(await h.request(d, 'GET', '/healthz'), 200, `healthz ${i}`);
  });
});

describe('public pages under anonymous load', () => {
  const ctx = h.useDaemon('public-cache');

  test('100 concurrent anonymous requests compute the page once; later ones within the minute not at all', async () => {
    const d = ctx.d;
    const computed = async () => h.parseProm((await h.request(d, 'GET', '/metrics', { token: d.bootstrapToken })).text)
      .find((s) => s.name === 'maeul_public_pages_computed_total').value;
    const before = await computed();
    const all = await Promise.all(Array.from({ length: 100 }, () => h.request(d, 'GET', '/public/v1/kpis')));
    for (const r of all) h.assertStatus(r, 200);
    assert.equal(new Set(all.map((r) => r.text)).size, 1, 'one page for all');
    assert.equal(await computed(), before + 1);
    for (let i = 0; i < 10; i++) h.assertStatus(await h.request(d, 'GET', '/public/v1/kpis'), 200);
    assert.equal(await computed(), before + 1);
    // A budget change is shown at once: the report is computed again.
    h.assertStatus(await h.request(d, 'GET', '/public/v1/report?year=2026'), 200);
    const afterReport = await computed();
    h.assertStatus(await h.request(d, 'POST', '/api/v1/budget', {
      token: d.bootstrapToken, body: { id: 'pc-1', program: { en: 'Cache' }, year: 2026, amount_krw: 5, kpis: [] },
    }), 201);
    const r = await h.request(d, 'GET', '/public/v1/report?year=2026');
    assert.ok(r.json.programs.some((x) => x.amount_krw === 5), 'the new line is in the report');
    assert.equal(await computed(), afterReport + 1);
  });
});
