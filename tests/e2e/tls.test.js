'use strict';
// TLS (API.md §8 "TLS"): with http.tls_cert and http.tls_key, maeuld serves only HTTPS and WSS
// (TLS 1.2+), sends Strict-Transport-Security, makes the session cookie Secure, closes a client
// that never finishes its handshake, and reloads the pair on SIGHUP without dropping open
// connections (a bad pair is refused and the old one kept). Webhooks to https:// receivers are
// verified against webhooks.ca_file: a receiver whose certificate does not chain to it, or does not
// name the host, gets nothing. Certificates are made with openssl at run time (lib/tls-helpers.js).

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const https = require('node:https');
const h = require('./lib/harness');
const L = require('./lib/live-helpers');
const { TestPki, tlsProbe } = require('./lib/tls-helpers');

const HSTS = 'max-age=31536000';
const READ_TIMEOUT_MS = 1500;
const PASSWORD = 'correct horse battery staple';
const SECRET = 'a-webhook-secret-0123456789';

const pki = new TestPki('tls');
const ca = pki.ca('ca');
const first = pki.leaf(ca, 'server1', { serial: '1001' });
const second = pki.leaf(ca, 'server2', { serial: '2002' });
// The files maeuld is configured with; the SIGHUP test writes other pairs over them.
const liveCert = pki.file('live-cert.pem');
const liveKey = pki.file('live-key.pem');
fs.copyFileSync(first.cert, liveCert);
fs.copyFileSync(first.key, liveKey);

async function metric(d, name, labels = {}) {
  const res = await h.request(d, 'GET', '/metrics', { token: d.bootstrapToken });
  h.assertStatus(res, 200, 'GET /metrics');
  return h.parseProm(res.text)
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((a, s) => a + s.value, 0);
}

// One GET over `agent` (keep-alive): {status, serial of the server's certificate, the socket's
// local port, headers, bytes: the body's length}.
function getWith(d, agent, urlPath = '/healthz', headers = {}) {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port: d.port, path: urlPath, agent, headers }, (res) => {
      const cert = res.socket.getPeerCertificate();
      const localPort = res.socket.localPort;
      let bytes = 0;
      res.on('data', (chunk) => { bytes += chunk.length; });
      res.on('end', () => resolve({ status: res.statusCode, serial: String(cert.serialNumber).toUpperCase(), localPort, headers: res.headers, bytes }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('TLS', () => {
  const ctx = h.useDaemon('tls', {
    MAEUL_HTTP_TLS_CERT: liveCert,
    MAEUL_HTTP_TLS_KEY: liveKey,
    MAEUL_HTTP_READ_TIMEOUT_MS: String(READ_TIMEOUT_MS),
    MAEUL_WEBHOOKS_CA_FILE: ca.cert,
    MAEUL_WEBHOOKS_ALLOW_PRIVATE: 'true',
    MAEUL_WEBHOOKS_TIMEOUT_MS: '2000',
  });
  const receivers = [];

  before(() => {
    ctx.d.tlsCa = ca.certPem;
  });

  after(async () => {
    for (const r of receivers) await r.close();
    pki.cleanup();
  });

  test('logs "listening on https://"; GET /healthz over HTTPS with the CA, with HSTS; /status says tls', async () => {
    assert.equal(ctx.d.scheme, 'https');
    const res = await h.request(ctx.d, 'GET', '/healthz');
    h.assertStatus(res, 200);
    assert.equal(res.headers.get('strict-transport-security'), HSTS);
    const st = await h.request(ctx.d, 'GET', '/api/v1/status', { token: ctx.d.bootstrapToken });
    assert.equal(h.assertJson(st, 200).tls, true);
    const notFound = await h.request(ctx.d, 'GET', '/api/v1/no-such-thing', { token: ctx.d.bootstrapToken });
    h.assertStatus(notFound, 404);
    assert.equal(notFound.headers.get('strict-transport-security'), HSTS, 'HSTS on errors too');
    // The certificate names 127.0.0.1 and localhost, and chains to the test CA only.
    const byName = await tlsProbe(ctx.d.port, { ca: ca.certPem, servername: 'localhost' });
    assert.equal(byName.serial, first.serial);
    byName.socket.destroy();
    const untrusted = await tlsProbe(ctx.d.port, { servername: 'localhost' }).then((p) => { p.socket.destroy(); return null; }, (e) => e);
    assert.ok(untrusted, 'a client without the test CA refuses the certificate');
    assert.match(String(untrusted.code), /SELF_SIGNED|UNABLE_TO_GET_ISSUER|UNABLE_TO_VERIFY/, `error code ${untrusted.code}`);
  });

  test('answers larger than one TLS record arrive whole, on a fresh and on a keep-alive connection', async () => {
    // A zone list of about 36 KiB: more than one 16 KiB record, written as head then body.
    const T = ctx.d.bootstrapToken;
    const name = (i, lang) => `${lang === 'ko' ? '큰 응답 시험 구역' : 'large answer test zone'} ${i} ${'x'.repeat(150)}`;
    for (let i = 0; i < 60; i++) {
      const res = await h.request(ctx.d, 'POST', '/api/v1/zones', {
        token: T,
        body: {
          id: `big-${i}`, name: { ko: name(i, 'ko'), en: name(i, 'en') }, population: 100 + i,
          boundary: { type: 'Polygon', coordinates: [[[128.585, 38.195], [128.6, 38.195], [128.6, 38.21], [128.585, 38.21], [128.585, 38.195]]] },
        },
      });
      h.assertStatus(res, 201);
    }
    const fresh = await h.request(ctx.d, 'GET', '/api/v1/zones?limit=1000', { token: T });
    const listed = h.assertJson(fresh, 200);
    assert.ok(fresh.bytes.length > 20 * 1024, `a large answer (${fresh.bytes.length} bytes)`);
    assert.equal(Number(fresh.headers.get('content-length')), fresh.bytes.length);
    assert.equal(listed.items.filter((z) => z.id.startsWith('big-')).length, 60);
    // The same on one keep-alive connection, twice, with a small answer between.
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1, ca: ca.certPem });
    const auth = { authorization: `Bearer ${T}` };
    try {
      const a = await getWith(ctx.d, agent, '/api/v1/zones?limit=1000', auth);
      const b = await getWith(ctx.d, agent, '/healthz');
      const c = await getWith(ctx.d, agent, '/api/v1/zones?limit=1000', auth);
      assert.deepEqual([a.status, b.status, c.status], [200, 200, 200]);
      assert.deepEqual([a.bytes, b.bytes, c.bytes], [fresh.bytes.length, 15, fresh.bytes.length]);
      assert.equal(c.localPort, a.localPort, 'one keep-alive connection');
    } finally {
      agent.destroy();
    }
  });

  test('plain HTTP to the TLS port gets no HTTP answer and is closed', async () => {
    const failedBefore = await metric(ctx.d, 'maeul_tls_handshakes_failed_total');
    const c = await h.RawConn.connect(ctx.d.port);
    await c.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    assert.ok(await c.waitClose(5000), 'closed');
    assert.doesNotMatch(c.buf.toString('latin1'), /^HTTP\//, 'no plain HTTP answer');
    await h.pollUntil(async () => (await metric(ctx.d, 'maeul_tls_handshakes_failed_total')) > failedBefore,
      { what: 'a failed handshake counted' });
  });

  test('TLS 1.2 and 1.3 are served; TLS 1.1 and 1.0 are refused by the server', async () => {
    for (const v of ['TLSv1.2', 'TLSv1.3']) {
      const p = await tlsProbe(ctx.d.port, { ca: ca.certPem, minVersion: v, maxVersion: v });
      assert.equal(p.protocol, v);
      p.socket.destroy();
    }
    for (const v of ['TLSv1.1', 'TLSv1']) {
      // SECLEVEL=0 lets this client really offer the old protocol (OpenSSL 3 refuses it locally
      // otherwise): the refusal must come from the server, as a protocol_version alert.
      const err = await tlsProbe(ctx.d.port, { ca: ca.certPem, minVersion: 'TLSv1', maxVersion: v, ciphers: 'DEFAULT@SECLEVEL=0' })
        .then((p) => { p.socket.destroy(); return null; }, (e) => e);
      assert.ok(err, `${v} refused`);
      assert.match(String(err.code), /ALERT_PROTOCOL_VERSION/, `${v}: the server's protocol_version alert, got ${err.code} ${err.message}`);
    }
  });

  test('a client that never completes its handshake is closed after read_timeout_ms', async () => {
    const timedBefore = await metric(ctx.d, 'maeul_http_connections_timed_out_total');
    const t0 = Date.now();
    const c = await h.RawConn.connect(ctx.d.port);
    await c.write(Buffer.from([0x16, 0x03, 0x01])); // the first bytes of a ClientHello, and nothing more
    assert.ok(await c.waitClose(READ_TIMEOUT_MS + 4000), 'closed by the handshake deadline');
    const took = c.closedAt - t0;
    assert.ok(took >= READ_TIMEOUT_MS, `not before the deadline (${took} ms)`);
    await h.pollUntil(async () => (await metric(ctx.d, 'maeul_http_connections_timed_out_total')) > timedBefore,
      { what: 'the timeout counted' });
    const ok = await h.request(ctx.d, 'GET', '/healthz');
    h.assertStatus(ok, 200, 'others are served meanwhile');
  });

  test('WSS /api/v1/live: the upgrade (with HSTS), hello, subscribe, and a live reading', async () => {
    const T = ctx.d.bootstrapToken;
    h.assertStatus(await h.request(ctx.d, 'POST', '/api/v1/sensors', { token: T, body: h.sensorBody('tls-s1') }), 201);
    const r = await L.openWs(ctx.d, { token: T });
    assert.equal(r.status, 101, `upgrade: ${r.status} ${r.text || ''}`);
    assert.equal(r.headers['strict-transport-security'], HSTS);
    const ws = r.ws;
    try {
      await ws.waitFor((m) => m.type === 'hello', { what: 'hello' });
      await ws.subscribeAndWait({ sensors: ['tls-s1'] });
      const ts = new Date(Math.floor(Date.now() / 1000) * 1000 - 60000).toISOString();
      const post = await h.request(ctx.d, 'POST', '/api/v1/observations', {
        token: T, body: { observations: [{ sensor: 'tls-s1', metric: 'level', ts, value: 4.25 }] },
      });
      assert.equal(h.assertJson(post, 200).accepted, 1);
      const m = await ws.waitFor((x) => x.type === 'observation' && x.ts === ts, { timeoutMs: 3000, what: 'the reading over WSS' });
      assert.equal(m.value, 4.25);
    } finally {
      ws.close();
    }
  });

  test('sign-in under TLS: the session cookie is Secure; cookie writes need the https:// origin', async () => {
    const T = ctx.d.bootstrapToken;
    const created = await h.request(ctx.d, 'POST', '/api/v1/users', {
      token: T, body: { username: 'tls-user', display_name: 'TLS User', role: 'operator', password: PASSWORD },
    });
    h.assertStatus(created, 201);
    const res = await h.request(ctx.d, 'POST', '/api/v1/sessions', { body: { username: 'tls-user', password: PASSWORD } });
    h.assertStatus(res, 201);
    const set = res.headers.get('set-cookie');
    assert.match(String(set), /^maeul_session=[^;]+;/, `Set-Cookie: ${set}`);
    assert.match(set, /;\s*Secure(;|$)/i, `Secure under TLS: ${set}`);
    assert.match(set, /;\s*HttpOnly(;|$)/i);
    const value = /^maeul_session=([^;]+)/.exec(set)[1];
    const host = `127.0.0.1:${ctx.d.port}`;
    const cross = await h.request(ctx.d, 'DELETE', '/api/v1/sessions/current', {
      headers: { cookie: `maeul_session=${value}`, host, origin: `http://${host}` },
    });
    h.assertStatus(cross, 403, 'the http:// origin is not this https:// dashboard');
    const same = await h.request(ctx.d, 'DELETE', '/api/v1/sessions/current', {
      headers: { cookie: `maeul_session=${value}`, host, origin: `https://${host}` },
    });
    h.assertStatus(same, 204, 'the https:// origin signs out');
  });

  test('https:// webhooks: delivered when the receiver chains to webhooks.ca_file and names the host; refused otherwise', async () => {
    const T = ctx.d.bootstrapToken;
    const otherCa = pki.ca('other-ca', 'Some Other CA');
    const good = await L.startReceiver(() => 200, { tls: { key: first.keyPem, cert: first.certPem } });
    const strange = pki.leaf(otherCa, 'strange', { serial: '3003' });
    const untrusted = await L.startReceiver(() => 200, { tls: { key: strange.keyPem, cert: strange.certPem } });
    const misnamed = pki.leaf(ca, 'misnamed', { serial: '4004', sans: ['DNS:receiver.example'], cn: 'receiver.example' });
    const wrongName = await L.startReceiver(() => 200, { tls: { key: misnamed.keyPem, cert: misnamed.certPem } });
    receivers.push(good, untrusted, wrongName);
    assert.match(good.url, /^https:\/\//);

    const hooks = {};
    for (const [k, r] of Object.entries({ good, untrusted, wrongName })) {
      const res = await h.request(ctx.d, 'POST', '/api/v1/webhooks', { token: T, body: { url: r.url, events: ['incident.opened'], secret: SECRET } });
      hooks[k] = h.assertJson(res, 201);
    }
    h.assertStatus(await h.request(ctx.d, 'POST', '/api/v1/zones', { token: T, body: h.zoneBody('tls-z') }), 201);
    const inc = await h.request(ctx.d, 'POST', '/api/v1/incidents', {
      token: T, body: { category: 'flood', zone: 'tls-z', reported_at: new Date(Date.now() - 60000).toISOString() },
    });
    h.assertStatus(inc, 201);

    const q = await good.waitFor((x) => x.json && x.json.event === 'incident.opened', 8000, 'the delivery over https');
    assert.equal(q.headers['x-maeul-signature'], L.sign(SECRET, q.body));
    assert.equal(q.json.data.id, inc.json.id);

    const deliveries = async (id) => h.assertJson(await h.request(ctx.d, 'GET', `/api/v1/webhooks/${id}/deliveries`, { token: T }), 200).items;
    await h.pollUntil(async () => (await deliveries(hooks.good.id)).some((x) => x.state === 'delivered'),
      { timeoutMs: 5000, what: 'the good delivery recorded as delivered' });
    for (const k of ['untrusted', 'wrongName']) {
      const failed = await h.pollUntil(async () => (await deliveries(hooks[k].id)).find((x) => x.attempts >= 1 && x.last_error),
        { timeoutMs: 8000, what: `a failed attempt recorded for ${k}` });
      assert.notEqual(failed.state, 'delivered', `${k}: ${JSON.stringify(failed)}`);
      assert.match(failed.last_error, /certificate verify failed/i, `${k}: ${failed.last_error}`);
    }
    assert.equal(untrusted.got.length, 0, 'a receiver the CA does not vouch for gets no request');
    assert.equal(wrongName.got.length, 0, 'a receiver whose certificate names another host gets no request');
    for (const id of Object.values(hooks).map((w) => w.id)) {
      h.assertStatus(await h.request(ctx.d, 'DELETE', `/api/v1/webhooks/${id}`, { token: T }), 204);
    }
  });

  test('SIGHUP reloads the pair: open keep-alive connections keep working, new ones get the new certificate; a bad pair is refused', async () => {
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1, ca: ca.certPem });
    try {
      const a = await getWith(ctx.d, agent);
      assert.equal(a.status, 200);
      assert.equal(a.serial, first.serial);

      // A bad pair (the new certificate with the old key): logged, refused, the old one kept.
      fs.copyFileSync(second.cert, liveCert);
      fs.copyFileSync(first.key, liveKey);
      const refusedBefore = await metric(ctx.d, 'maeul_tls_reloads_total', { outcome: 'refused' });
      ctx.d.child.kill('SIGHUP');
      await h.pollUntil(async () => (await metric(ctx.d, 'maeul_tls_reloads_total', { outcome: 'refused' })) > refusedBefore,
        { what: 'the bad pair refused' });
      assert.match(ctx.d.stderr, /TLS certificate not reloaded, keeping the current one[^\n]*does not match/);
      const still = await tlsProbe(ctx.d.port, { ca: ca.certPem });
      assert.equal(still.serial, first.serial, 'new connections still get the old certificate');
      still.socket.destroy();

      // The good new pair.
      fs.copyFileSync(second.key, liveKey);
      ctx.d.child.kill('SIGHUP');
      const fresh = await h.pollUntil(async () => {
        const p = await tlsProbe(ctx.d.port, { ca: ca.certPem });
        p.socket.destroy();
        return p.serial === second.serial ? p : null;
      }, { timeoutMs: 5000, what: 'a new connection with the new certificate' });
      assert.equal(fresh.serial, second.serial);
      assert.match(ctx.d.stderr, /TLS certificate reloaded for new connections: [^\n]*serial 2002/);

      // The connection opened before both reloads: same socket, still answering, still the old certificate.
      const b = await getWith(ctx.d, agent);
      assert.equal(b.status, 200);
      assert.equal(b.localPort, a.localPort, 'the same keep-alive connection');
      assert.equal(b.serial, first.serial, 'it keeps the certificate it started with');
      const res = await h.request(ctx.d, 'GET', '/healthz');
      h.assertStatus(res, 200, 'a new connection works');
    } finally {
      agent.destroy();
    }
  });
});
