'use strict';
// The authorization matrix for every registry and token route.
// Contract: API.md §3 (Bearer tokens, 401 vs 403, roles); docs/api-notes.md "Roles on the registry and token routes".

const { describe, test, before } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/harness');

let seq = 0;
const uniq = (p) => `${p}-${++seq}`;

// access: 'read'  → admin/operator/analyst/welfare_officer 200, device 403
//         'write' → admin `admin` status, everyone else 403
//         'admin' → admin `admin` status (tokens), everyone else 403
// Paths with :victim… are filled in at run time; victims are deleted by the admin (last).
const ROUTES = [
  { method: 'GET', path: '/api/v1/zones', access: 'read' },
  { method: 'POST', path: '/api/v1/zones', access: 'write', admin: 201, body: (who) => h.zoneBody(uniq(`${who}-zone`)) },
  { method: 'GET', path: '/api/v1/zones/auth-z', access: 'read' },
  { method: 'PUT', path: '/api/v1/zones/auth-z', access: 'write', admin: 200, body: () => h.zoneBody('auth-z', { population: 2000 }) },
  { method: 'DELETE', path: '/api/v1/zones/auth-z-victim', access: 'write', admin: 204 },

  { method: 'GET', path: '/api/v1/sensors', access: 'read' },
  { method: 'POST', path: '/api/v1/sensors', access: 'write', admin: 201, body: (who) => h.sensorBody(uniq(`${who}-sensor`), { zone: 'auth-z' }) },
  { method: 'GET', path: '/api/v1/sensors/auth-s', access: 'read' },
  { method: 'PATCH', path: '/api/v1/sensors/auth-s', access: 'write', admin: 200, body: () => ({ name: 'patched' }) },
  { method: 'DELETE', path: '/api/v1/sensors/auth-s-victim', access: 'write', admin: 204 },

  { method: 'GET', path: '/api/v1/facilities', access: 'read' },
  { method: 'POST', path: '/api/v1/facilities', access: 'write', admin: 201, body: (who) => h.facilityBody(uniq(`${who}-fac`), { zone: 'auth-z' }) },
  { method: 'GET', path: '/api/v1/facilities/auth-f', access: 'read' },
  { method: 'PUT', path: '/api/v1/facilities/auth-f', access: 'write', admin: 200, body: () => h.facilityBody('auth-f', { category: 'school' }) },
  { method: 'PATCH', path: '/api/v1/facilities/auth-f', access: 'write', admin: 200, body: () => ({ attributes: { beds: 3 } }) },
  { method: 'DELETE', path: '/api/v1/facilities/auth-f-victim', access: 'write', admin: 204 },

  { method: 'GET', path: '/api/v1/tokens', access: 'admin', admin: 200 },
  { method: 'POST', path: '/api/v1/tokens', access: 'admin', admin: 201, body: (who) => ({ name: uniq(`${who}-tok`), role: 'analyst' }) },
  { method: 'DELETE', path: '/api/v1/tokens/:victimToken', access: 'admin', admin: 204 },
];

const ROLES = ['operator', 'analyst', 'welfare_officer', 'device'];

function expectedFor(route, who) {
  if (who === 'admin') return route.admin || 200;
  if (route.access === 'read') return who === 'device' ? 403 : 200;
  return 403;
}

describe('auth matrix', () => {
  const ctx = h.useDaemon('auth');
  const tokens = {};
  let victimTokenId;
  const unauth = {}; // name → headers

  before(async () => {
    const d = ctx.d;
    const admin = d.bootstrapToken;
    const mk = async (p, body) => h.assertStatus(await h.request(d, 'POST', p, { token: admin, body }), 201, `fixture ${p} ${body.id || body.name}`);
    await mk('/api/v1/zones', h.zoneBody('auth-z', { boundary: h.polygon(128.58, 38.19, 0.03) }));
    await mk('/api/v1/zones', h.zoneBody('auth-z-victim', { boundary: h.polygon(128.40, 38.00, 0.01) }));
    await mk('/api/v1/sensors', h.sensorBody('auth-s', { zone: 'auth-z' }));
    await mk('/api/v1/sensors', h.sensorBody('auth-s-victim', { zone: 'auth-z' }));
    await mk('/api/v1/facilities', h.facilityBody('auth-f', { zone: 'auth-z' }));
    await mk('/api/v1/facilities', h.facilityBody('auth-f-victim', { zone: 'auth-z' }));

    for (const role of ROLES) {
      const extra = role === 'device' ? { sensors: ['auth-s'] } : {};
      tokens[role] = (await h.createToken(d, role, `auth-${role}`, extra)).token;
    }
    tokens.admin = admin;
    victimTokenId = (await h.createToken(d, 'analyst', 'auth-victim')).id;

    const revoked = await h.createToken(d, 'operator', 'auth-revoked');
    h.assertStatus(await h.request(d, 'GET', '/api/v1/zones', { token: revoked.token }), 200, 'token works before revocation');
    const del = await h.request(d, 'DELETE', `/api/v1/tokens/${encodeURIComponent(revoked.id)}`, { token: admin });
    h.assertStatus(del, 204, 'revoke token');

    unauth['no Authorization header'] = {};
    unauth['malformed: Basic scheme'] = { authorization: 'Basic ' + Buffer.from('admin:admin').toString('base64') };
    unauth['malformed: "Bearer" without a token'] = { authorization: 'Bearer' };
    unauth['malformed: bare token, no scheme'] = { authorization: admin };
    unauth['unknown token'] = { authorization: 'Bearer ' + h.randomToken() };
    unauth['bootstrap token with a suffix'] = { authorization: `Bearer ${admin}x` };
    unauth['revoked token'] = { authorization: 'Bearer ' + revoked.token };
  });

  const pathOf = (r) => r.path.replace(':victimToken', () => encodeURIComponent(String(victimTokenId)));

  async function call(route, who, headers) {
    const opts = { headers: { ...headers } };
    if (route.body) opts.body = route.body(who.replace(/[^a-z]/gi, '').slice(0, 12) || 'x');
    return h.request(ctx.d, route.method, pathOf(route), opts);
  }

  // Unauthenticated credentials: 401 with WWW-Authenticate: Bearer on every route.
  for (const name of [
    'no Authorization header', 'malformed: Basic scheme', 'malformed: "Bearer" without a token',
    'malformed: bare token, no scheme', 'unknown token', 'bootstrap token with a suffix', 'revoked token',
  ]) {
    describe(name, () => {
      for (const route of ROUTES) {
        test(`${route.method} ${route.path} → 401`, async () => {
          const res = await call(route, 'anon', unauth[name]);
          h.assertProblem(res, 401, 'unauthorized');
          const wa = res.headers.get('www-authenticate');
          assert.ok(wa, '401 carries WWW-Authenticate');
          assert.match(wa, /^Bearer\b/i, `WWW-Authenticate: Bearer…, got ${wa}`);
        });
      }
    });
  }

  // Roles (admin last: it deletes the victims that the others must have failed to delete).
  for (const who of [...ROLES, 'admin']) {
    describe(`role ${who}`, () => {
      for (const route of ROUTES) {
        const want = expectedFor(route, who);
        test(`${route.method} ${route.path} → ${want}`, async () => {
          const res = await call(route, who, { authorization: `Bearer ${tokens[who]}` });
          if (want === 403) {
            h.assertProblem(res, 403, 'forbidden');
          } else if (want === 204) {
            h.assertStatus(res, 204);
            assert.equal(res.text, '', '204 has no body');
          } else {
            h.assertJson(res, want);
          }
        });
      }
    });
  }

  describe('after the matrix', () => {
    test('no forbidden or unauthorized write had an effect', async () => {
      const admin = tokens.admin;
      for (const [p, key] of [['/api/v1/zones', 'id'], ['/api/v1/sensors', 'id'], ['/api/v1/facilities', 'id'], ['/api/v1/tokens', 'name']]) {
        const items = await h.listAll(ctx.d, p, admin);
        const bad = items.filter((it) => !/^admin/.test(String(it[key])) && /-(zone|sensor|fac|tok)-\d+$/.test(String(it[key])));
        assert.deepEqual(bad.map((it) => it[key]), [], `${p}: only the admin created objects`);
      }
      const zone = h.assertJson(await h.request(ctx.d, 'GET', '/api/v1/zones/auth-z', { token: admin }), 200);
      assert.equal(zone.population, 2000, 'only the admin PUT changed the zone');
    });

    test('victims were deleted by the admin and are gone (404)', async () => {
      for (const p of ['/api/v1/zones/auth-z-victim', '/api/v1/sensors/auth-s-victim', '/api/v1/facilities/auth-f-victim']) {
        h.assertProblem(await h.request(ctx.d, 'GET', p, { token: tokens.admin }), 404, 'not-found');
      }
      const toks = await h.listAll(ctx.d, '/api/v1/tokens', tokens.admin);
      const v = toks.find((t) => String(t.id) === String(victimTokenId));
      assert.ok(!v || v.revoked === true || (v.revoked_at !== undefined && v.revoked_at !== null),
        `a revoked token is either not listed or marked revoked: ${JSON.stringify(v)}`);
    });

    test('GET /api/v1/tokens lists tokens without secrets', async () => {
      const res = await h.request(ctx.d, 'GET', '/api/v1/tokens', { token: tokens.admin });
      const b = h.assertJson(res, 200);
      assert.ok(Array.isArray(b.items) && b.items.length >= 4);
      for (const t of b.items) {
        assert.ok(!('token' in t), `no "token" field in listing: ${JSON.stringify(t)}`);
        for (const k of ['id', 'name', 'role', 'created_at']) assert.ok(k in t, `token item has ${k}`);
        h.assertTimes(t, ['created_at']);
      }
      for (const secret of Object.values(tokens)) assert.ok(!res.text.includes(secret), 'no secret in listing');
      const dev = b.items.find((t) => t.name === 'auth-device');
      assert.ok(dev, 'device token listed');
      assert.equal(dev.role, 'device');
      assert.deepEqual(dev.sensors, ['auth-s'], 'device token keeps its sensors');
    });

    test('POST /api/v1/tokens shape: 201 {id,name,role,sensors,token,created_at} with Location', async () => {
      const res = await h.request(ctx.d, 'POST', '/api/v1/tokens', { token: tokens.admin, body: { name: 'shape', role: 'welfare_officer' } });
      const b = h.assertJson(res, 201);
      for (const k of ['id', 'name', 'role', 'sensors', 'token', 'created_at']) assert.ok(k in b, `has ${k}: ${res.text}`);
      assert.equal(b.name, 'shape');
      assert.equal(b.role, 'welfare_officer');
      h.assertTimes(b, ['created_at']);
      assert.ok(res.headers.get('location'), 'Location header on 201');
      h.assertStatus(await h.request(ctx.d, 'GET', '/api/v1/zones', { token: b.token }), 200, 'new token works');
    });

    test('POST /api/v1/tokens with an unknown role → 422 /role', async () => {
      const res = await h.request(ctx.d, 'POST', '/api/v1/tokens', { token: tokens.admin, body: { name: 'bad', role: 'superuser' } });
      h.assertInvalid(res, '/role');
    });

    test('DELETE /api/v1/tokens/{unknown} → 404', async () => {
      const res = await h.request(ctx.d, 'DELETE', '/api/v1/tokens/999999999', { token: tokens.admin });
      h.assertProblem(res, 404, 'not-found');
    });

    test('the auth scheme is case-insensitive: "bearer TOKEN" works (RFC 9110 §11.1)', async () => {
      const res = await h.request(ctx.d, 'GET', '/api/v1/zones', { headers: { authorization: `bearer ${tokens.analyst}` } });
      h.assertJson(res, 200);
    });

    test('POST /api/v1/tokens without a name → 422 /name', async () => {
      h.assertInvalid(await h.request(ctx.d, 'POST', '/api/v1/tokens', { token: tokens.admin, body: { role: 'analyst' } }), '/name');
    });

    test('a revoked token stays revoked; revoking twice → 404', async () => {
      const t = await h.createToken(ctx.d, 'analyst', 'twice');
      h.assertStatus(await h.request(ctx.d, 'DELETE', `/api/v1/tokens/${encodeURIComponent(t.id)}`, { token: tokens.admin }), 204);
      h.assertProblem(await h.request(ctx.d, 'DELETE', `/api/v1/tokens/${encodeURIComponent(t.id)}`, { token: tokens.admin }), 404, 'not-found');
      h.assertProblem(await h.request(ctx.d, 'GET', '/api/v1/zones', { token: t.token }), 401, 'unauthorized');
    });

    test('revocation takes effect at once, even on an open keep-alive connection', async () => {
      const t = await h.createToken(ctx.d, 'operator', 'keepalive-revoke');
      const conn = await h.RawConn.connect(ctx.d.port);
      try {
        const req = `GET /api/v1/zones HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${t.token}\r\n\r\n`;
        await conn.write(req);
        assert.equal((await conn.readResponse()).status, 200);
        h.assertStatus(await h.request(ctx.d, 'DELETE', `/api/v1/tokens/${encodeURIComponent(t.id)}`, { token: tokens.admin }), 204);
        await conn.write(req);
        const r = await conn.readResponse();
        assert.equal(r.status, 401, `same connection after revocation: ${r.status} ${r.text}`);
      } finally {
        conn.destroy();
      }
    });

    test('/healthz and /readyz need no token, and ignore a bad one', async () => {
      for (const p of ['/healthz', '/readyz']) {
        h.assertStatus(await h.request(ctx.d, 'GET', p), 200, p);
        h.assertStatus(await h.request(ctx.d, 'GET', p, { headers: { authorization: 'Bearer nope' } }), 200, `${p} with a bad token`);
      }
    });

    test('a 401 does not depend on the route existing (no id probing): GET /api/v1/zones/nope → 401', async () => {
      const res = await h.request(ctx.d, 'GET', '/api/v1/zones/definitely-missing');
      h.assertProblem(res, 401, 'unauthorized');
    });
  });
});
