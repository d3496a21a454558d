'use strict';
// People, sessions and the caller: accounts, sign-in by cookie and by Bearer session token, the
// same 401 for a wrong password and an unknown user, lock-out (surviving a restart), sign-out,
// idle expiry, disable, the Origin check on cookie changes, /api/v1/me, the grant audit, and
// `maeuld user create`. Contract: API.md §8 "Accounts", "Sign-in"; docs/security.md.

const { describe, test } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/harness');
const L = require('./lib/live-helpers');

const PASSWORD = 'correct horse battery staple';

async function createUser(d, username, extra = {}) {
  const res = await h.request(d, 'POST', '/api/v1/users', {
    token: d.bootstrapToken,
    body: { username, display_name: `User ${username}`, role: 'operator', password: PASSWORD, ...extra },
  });
  h.assertStatus(res, 201, `create user ${username}`);
  return res.json;
}

async function signIn(d, username, password = PASSWORD) {
  return h.request(d, 'POST', '/api/v1/sessions', { body: { username, password } });
}

function cookieOf(res) {
  const set = res.headers.get('set-cookie');
  assert.ok(set, 'Set-Cookie sent');
  const m = /^maeul_session=([^;]+)/.exec(set);
  assert.ok(m, `maeul_session cookie in ${set}`);
  return { header: set, value: m[1] };
}

const asCookie = (d, value, extra = {}) => ({ headers: { cookie: `maeul_session=${value}`, ...extra } });

describe('people and sessions', () => {
  const ctx = h.useDaemon('people');

  test('an admin creates a user; the hash is never shown; bad input points at the field', async () => {
    const d = ctx.d;
    const u = await createUser(d, 'mina', { zones: ['downtown'], domains: ['disaster'] });
    assert.equal(u.username, 'mina');
    assert.equal(u.role, 'operator');
    assert.deepEqual(u.zones, ['downtown']);
    assert.deepEqual(u.domains, ['disaster']);
    assert.equal(u.disabled, false);
    assert.ok(!JSON.stringify(u).includes('argon2'), 'no hash in the answer');
    const got = await h.request(d, 'GET', '/api/v1/users/mina', { token: d.bootstrapToken });
    h.assertStatus(got, 200);
    assert.ok(!got.text.includes('password'), 'no password field in GET');
    const list = await h.request(d, 'GET', '/api/v1/users', { token: d.bootstrapToken });
    h.assertStatus(list, 200);
    assert.ok(list.json.items.some((x) => x.username === 'mina'));

    const short = await h.request(d, 'POST', '/api/v1/users', {
      token: d.bootstrapToken,
      body: { username: 'shorty', display_name: 'S', role: 'operator', password: 'elevenchars' },
    });
    h.assertInvalid(short, '/password');
    const device = await h.request(d, 'POST', '/api/v1/users', {
      token: d.bootstrapToken,
      body: { username: 'dev', display_name: 'D', role: 'device', password: PASSWORD },
    });
    h.assertInvalid(device, '/role');
    const dup = await h.request(d, 'POST', '/api/v1/users', {
      token: d.bootstrapToken,
      body: { username: 'mina', display_name: 'M', role: 'analyst', password: PASSWORD },
    });
    h.assertStatus(dup, 409);
    const op = await h.createToken(d, 'operator', 'people-op');
    h.assertStatus(await h.request(d, 'GET', '/api/v1/users', { token: op.token }), 403);
  });

  test('sign-in: the cookie and the Bearer session token both work; /me for both kinds', async () => {
    const d = ctx.d;
    await createUser(d, 'jun', { role: 'analyst', zones: ['seorak'], domains: ['energy'] });
    const res = await signIn(d, 'jun');
    h.assertStatus(res, 201, 'sign in');
    assert.match(res.json.token, /^ms_[A-Za-z0-9_-]{43}$/);
    assert.match(res.json.expires_at, h.TIME_RE);
    assert.equal(res.json.user.username, 'jun');
    const c = cookieOf(res);
    assert.equal(c.value, res.json.token);
    assert.match(c.header, /HttpOnly/);
    assert.match(c.header, /SameSite=Strict/);
    assert.match(c.header, /Path=\//);
    assert.doesNotMatch(c.header, /Secure/, 'no Secure without TLS');

    h.assertStatus(await h.request(d, 'GET', '/api/v1/zones', asCookie(d, c.value)), 200, 'cookie');
    h.assertStatus(await h.request(d, 'GET', '/api/v1/zones', { token: res.json.token }), 200, 'bearer session');

    const me = await h.request(d, 'GET', '/api/v1/me', asCookie(d, c.value));
    h.assertStatus(me, 200);
    assert.deepEqual(me.json, {
      kind: 'user', name: 'jun', display_name: 'User jun', role: 'analyst', zones: ['seorak'], domains: ['energy'], expires_at: res.json.expires_at,
    });
    const tok = await h.createToken(d, 'analyst', 'me-token');
    const meTok = await h.request(d, 'GET', '/api/v1/me', { token: tok.token });
    h.assertStatus(meTok, 200);
    assert.deepEqual(meTok.json, { kind: 'token', name: 'me-token', display_name: 'me-token', role: 'analyst', zones: [], domains: [], expires_at: null });

    // A new session id at every sign-in.
    const again = await signIn(d, 'jun');
    h.assertStatus(again, 201);
    assert.notEqual(again.json.token, res.json.token);
  });

  test('session fixation: a session cookie sent with the sign-in is not adopted', async () => {
    const d = ctx.d;
    await createUser(d, 'fixa');
    // An attacker plants a cookie (one of their own sessions, or a made-up value) before the victim signs in.
    await createUser(d, 'mallory');
    const planted = (await signIn(d, 'mallory')).json.token;
    for (const cookie of [planted, 'ms_' + 'A'.repeat(43)]) {
      const res = await h.request(d, 'POST', '/api/v1/sessions', {
        body: { username: 'fixa', password: PASSWORD }, headers: { cookie: `maeul_session=${cookie}` },
      });
      h.assertStatus(res, 201);
      assert.notEqual(res.json.token, cookie);
      assert.equal(cookieOf(res).value, res.json.token, 'the answer sets the new secret');
      const me = await h.request(d, 'GET', '/api/v1/me', asCookie(d, res.json.token));
      assert.equal(me.json.name, 'fixa');
    }
    // The planted session is still only mallory's.
    assert.equal((await h.request(d, 'GET', '/api/v1/me', asCookie(d, planted))).json.name, 'mallory');
  });

  test('a wrong password and an unknown user get the same 401', async () => {
    const d = ctx.d;
    await createUser(d, 'sora');
    const wrong = await signIn(d, 'sora', 'not the password at all');
    const unknown = await signIn(d, 'nobody-here', 'not the password at all');
    h.assertStatus(wrong, 401);
    h.assertStatus(unknown, 401);
    assert.equal(wrong.text, unknown.text);
    assert.equal(wrong.headers.get('set-cookie'), null);
    h.assertInvalid(await h.request(d, 'POST', '/api/v1/sessions', { body: { username: 'sora' } }), '/password');
  });

  test('sign-out refuses the session at once', async () => {
    const d = ctx.d;
    await createUser(d, 'hyun');
    const s = (await signIn(d, 'hyun')).json.token;
    h.assertStatus(await h.request(d, 'GET', '/api/v1/zones', { token: s }), 200);
    const out = await h.request(d, 'DELETE', '/api/v1/sessions/current', { token: s });
    h.assertStatus(out, 204);
    assert.match(out.headers.get('set-cookie'), /maeul_session=;.*Max-Age=0/);
    h.assertStatus(await h.request(d, 'GET', '/api/v1/zones', { token: s }), 401);
    h.assertStatus(await h.request(d, 'GET', '/api/v1/zones', asCookie(d, s)), 401);
  });

  test('a disabled user is refused at once, and cannot sign in again', async () => {
    const d = ctx.d;
    await createUser(d, 'dami');
    const s = (await signIn(d, 'dami')).json.token;
    h.assertStatus(await h.request(d, 'GET', '/api/v1/zones', { token: s }), 200);
    const off = await h.request(d, 'PATCH', '/api/v1/users/dami', { token: d.bootstrapToken, body: { disabled: true } });
    h.assertStatus(off, 200);
    assert.equal(off.json.disabled, true);
    h.assertStatus(await h.request(d, 'GET', '/api/v1/zones', { token: s }), 401);
    h.assertStatus(await signIn(d, 'dami'), 401);
  });

  test('a cookie-authenticated change needs our own Origin; a Bearer one does not', async () => {
    const d = ctx.d;
    await createUser(d, 'origin-admin', { role: 'admin' });
    const s = (await signIn(d, 'origin-admin')).json.token;
    const body = h.zoneBody('origin-z1');
    const foreign = await h.request(d, 'POST', '/api/v1/zones', { body, ...asCookie(d, s, { origin: 'http://evil.example' }) });
    h.assertStatus(foreign, 403);
    const none = await h.request(d, 'POST', '/api/v1/zones', { body, ...asCookie(d, s) });
    h.assertStatus(none, 403, 'no Origin at all');
    const own = await h.request(d, 'POST', '/api/v1/zones', { body, ...asCookie(d, s, { origin: `http://127.0.0.1:${d.port}` }) });
    h.assertStatus(own, 201, 'own origin');
    h.assertStatus(await h.request(d, 'POST', '/api/v1/zones', { body: h.zoneBody('origin-z2'), token: s }), 201, 'bearer');
  });

  test('a role change is in effect at once and kept in the grant audit', async () => {
    const d = ctx.d;
    await createUser(d, 'yuna', { role: 'analyst' });
    const s = (await signIn(d, 'yuna')).json.token;
    h.assertStatus(await h.request(d, 'GET', '/api/v1/alerts', { token: s }), 403, 'analyst reads no alerts');
    const p = await h.request(d, 'PATCH', '/api/v1/users/yuna', {
      token: d.bootstrapToken, body: { role: 'operator', zones: ['downtown'] },
    });
    h.assertStatus(p, 200);
    h.assertStatus(await h.request(d, 'GET', '/api/v1/alerts', { token: s }), 200, 'operator now');
    const me = await h.request(d, 'GET', '/api/v1/me', { token: s });
    assert.equal(me.json.role, 'operator');
    assert.deepEqual(me.json.zones, ['downtown']);
    h.assertStatus(await h.request(d, 'PATCH', '/api/v1/users/yuna', { token: d.bootstrapToken, body: { password: 'a whole new password' } }), 200);
    h.assertStatus(await h.request(d, 'GET', '/api/v1/alerts', { token: s }), 401, 'a password change ends the sessions');
    h.assertStatus(await h.request(d, 'DELETE', '/api/v1/users/yuna', { token: d.bootstrapToken }), 204);

    const ch = await h.request(d, 'GET', '/api/v1/users/yuna/changes', { token: d.bootstrapToken });
    h.assertStatus(ch, 200);
    assert.deepEqual(ch.json.items.map((x) => x.action), ['create', 'change', 'password', 'delete']);
    const change = ch.json.items[1];
    assert.equal(change.actor, 'bootstrap (admin)');
    assert.match(change.at, h.TIME_RE);
    assert.deepEqual(change.before, { role: 'analyst', zones: [] });
    assert.deepEqual(change.after, { role: 'operator', zones: ['downtown'] });
    assert.ok(!JSON.stringify(ch.json).includes('a whole new password'));
    h.assertStatus(await h.request(d, 'GET', '/api/v1/users/yuna/changes', { token: s }), 401);
  });

  test('five failures lock the username (429 + Retry-After, even with the right password), across a restart', async () => {
    await createUser(ctx.d, 'lock-me');
    for (let i = 0; i < 5; i++) h.assertStatus(await signIn(ctx.d, 'lock-me', `wrong password ${i}!`), 401, `failure ${i + 1}`);
    const locked = await signIn(ctx.d, 'lock-me');
    h.assertStatus(locked, 429, 'right password, locked');
    const ra = Number(locked.headers.get('retry-after'));
    assert.ok(ra > 800 && ra <= 900, `Retry-After ${ra}`);
    h.assertStatus(await signIn(ctx.d, 'mina'), 201, 'another username is not locked');
    assert.equal(ctx.d.stderr.split('\n').filter((l) => l.includes('sign-in locked for username')).length, 1, 'one alarm');

    assert.equal(await ctx.d.stop(), 0);
    ctx.d = await h.startDaemon({ db: ctx.db, env: { MAEUL_BOOTSTRAP_TOKEN: ctx.d.bootstrapToken } });
    const after = await signIn(ctx.d, 'lock-me');
    h.assertStatus(after, 429, 'still locked after a restart');
    assert.ok(Number(after.headers.get('retry-after')) > 0);
  });

  test('maeuld user create, then sign-in', async () => {
    const d = ctx.d;
    const env = { ...d.env, MAEUL_USER_PASSWORD: 'from the environment 1' };
    const r = await h.runMaeuld(['user', 'create', '--username', 'cli-admin', '--role', 'admin', '--display-name', 'CLI Admin',
      '--config', h.CONFIG], env);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).username, 'cli-admin');
    assert.ok(!r.stdout.includes('argon2'));
    const s = await signIn(d, 'cli-admin', 'from the environment 1');
    h.assertStatus(s, 201);
    h.assertStatus(await h.request(d, 'GET', '/api/v1/users', { token: s.json.token }), 200, 'an admin session');
    const flag = await h.runMaeuld(['user', 'create', '--username', 'x', '--role', 'admin', '--display-name', 'X',
      '--password', 'pw-in-a-flag-123', '--config', h.CONFIG], env);
    assert.equal(flag.code, 64);
    const ch = await h.request(d, 'GET', '/api/v1/users/cli-admin/changes', { token: d.bootstrapToken });
    assert.equal(ch.json.items[0].actor, 'cli');
  });
});

describe('idle sessions', () => {
  const ctx = h.useDaemon('people_idle', { MAEUL_AUTH_SESSION_IDLE_S: '2' });

  test('a session unused for auth.session_idle_s is refused; one in use is kept', async () => {
    const d = ctx.d;
    await createUser(d, 'idler');
    const s = (await signIn(d, 'idler')).json.token;
    // In use every 0.5 s for 3 s (longer than the idle limit): kept.
    const until = Date.now() + 3000;
    while (Date.now() < until) {
      h.assertStatus(await h.request(d, 'GET', '/api/v1/me', { token: s }), 200, 'in use');
      await new Promise((r) => setTimeout(r, 500)); // deliberate: the pace of a user's requests
    }
    const t0 = Date.now();
    // Deliberate: let the idle limit (2 s) pass without a request before polling.
    await new Promise((r) => setTimeout(r, 2100));
    await h.pollUntil(async () => (await h.request(d, 'GET', '/api/v1/me', { token: s })).status === 401,
      { timeoutMs: 5000, what: 'the idle session to be refused' });
    assert.ok(Date.now() - t0 >= 2000);
  });

  test('an idle session\'s live feed closes within 2 s of the idle limit; a session in use keeps its own', async () => {
    const d = ctx.d;
    await createUser(d, 'ws_idler');
    await createUser(d, 'ws_busy');
    const idle = (await signIn(d, 'ws_idler')).json.token;
    const busy = (await signIn(d, 'ws_busy')).json.token;
    const wsBusy = await L.connect(d, busy);
    const beforeUpgrade = Date.now();
    const wsIdle = await L.connect(d, idle);
    const opened = Date.now();
    // The busy session makes a request every 0.5 s (the pace of a user), the idle one none.
    let closedAt = 0;
    while (!closedAt && Date.now() - opened < 6000) {
      h.assertStatus(await h.request(d, 'GET', '/api/v1/me', { token: busy }), 200, 'in use');
      if (await wsIdle.waitClose(500)) closedAt = Date.now();
    }
    assert.ok(closedAt, 'the idle session\'s live feed is still open 6 s after it was opened');
    // the idle clock starts at the upgrade's authentication, between beforeUpgrade and opened
    assert.ok(closedAt - beforeUpgrade >= 2000, `closed before the idle limit: ${closedAt - beforeUpgrade} ms`);
    assert.ok(closedAt - opened <= 2000 + 2500, `closed ${closedAt - opened} ms after opening (idle limit 2 s, then within 2 s)`);
    assert.equal(wsBusy.closed, false, 'a session in use keeps its live feed');
    const from = wsBusy.msgs.length;
    wsBusy.send({ type: 'ping' });
    await wsBusy.waitFor((m) => m.type === 'pong', { from, what: 'pong on the busy session' });
    h.assertStatus(await h.request(d, 'GET', '/api/v1/me', { token: idle }), 401, 'the idle session is ended for requests too');
    wsBusy.close();
  });
});
