'use strict';
// HTTP conventions: 404/405/400/413/415/422/431, keep-alive, slow and garbage clients.
// Contract: API.md §3; docs/api-notes.md "Errors" and the http.* settings.

const { describe, test, before } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/harness');

const BODY_LIMIT = 4096;
const READ_TIMEOUT_MS = 1000;
const IDLE_TIMEOUT_MS = 2000;

describe('HTTP conventions', () => {
  const ctx = h.useDaemon('http', {
    MAEUL_HTTP_BODY_LIMIT: String(BODY_LIMIT),
    MAEUL_HTTP_READ_TIMEOUT_MS: String(READ_TIMEOUT_MS),
    MAEUL_HTTP_IDLE_TIMEOUT_MS: String(IDLE_TIMEOUT_MS),
  });
  let admin;
  before(() => { admin = ctx.d.bootstrapToken; });

  const healthy = async () => h.assertStatus(await h.request(ctx.d, 'GET', '/healthz'), 200, 'server still serves');

  describe('status codes', () => {
    test('unknown path under /api/ → 404 problem+json', async () => {
      const res = await h.request(ctx.d, 'GET', '/api/v1/no-such-collection', { token: admin });
      h.assertProblem(res, 404, 'not-found');
    });

    test('unknown path outside /api/ → 404 problem+json', async () => {
      const res = await h.request(ctx.d, 'GET', '/definitely/not/here');
      h.assertProblem(res, 404, 'not-found');
    });

    test('unknown id → 404 problem+json', async () => {
      h.assertProblem(await h.request(ctx.d, 'GET', '/api/v1/zones/nope', { token: admin }), 404, 'not-found');
      h.assertProblem(await h.request(ctx.d, 'GET', '/api/v1/sensors/nope', { token: admin }), 404, 'not-found');
      h.assertProblem(await h.request(ctx.d, 'GET', '/api/v1/facilities/nope', { token: admin }), 404, 'not-found');
    });

    for (const [method, path, must] of [
      ['DELETE', '/api/v1/zones', ['GET', 'POST']],
      ['PATCH', '/api/v1/sensors', ['GET', 'POST']],
      ['PUT', '/api/v1/sensors/some-id', ['GET', 'PATCH', 'DELETE']],
      ['POST', '/api/v1/zones/some-id', ['GET', 'PUT', 'DELETE']],
      ['POST', '/healthz', ['GET']],
      ['DELETE', '/readyz', ['GET']],
      ['POST', '/metrics', ['GET']],
      ['DELETE', '/api/v1/tokens', ['GET', 'POST']],
      ['PATCH', '/api/v1/tokens/some-id', ['DELETE', 'GET']],
    ]) {
      test(`${method} ${path} → 405 with Allow ⊇ ${must.join(',')}`, async () => {
        const opts = { token: admin };
        if (['POST', 'PUT', 'PATCH'].includes(method)) opts.body = {};
        const res = await h.request(ctx.d, method, path, opts);
        h.assertProblem(res, 405, 'method-not-allowed');
        const allow = res.headers.get('allow');
        assert.ok(allow, '405 carries Allow');
        const methods = allow.split(',').map((s) => s.trim().toUpperCase());
        for (const m of must) assert.ok(methods.includes(m), `Allow "${allow}" includes ${m}`);
        assert.ok(!methods.includes(method), `Allow "${allow}" excludes ${method}`);
      });
    }

    for (const [label, raw] of [
      ['truncated object', '{"id":"x","name":'],
      ['trailing garbage', '{"id":"x"} junk'],
      ['not JSON at all', 'hello'],
      ['invalid UTF-8', Buffer.from([0x7b, 0x22, 0x69, 0x64, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d])],
      ['empty body', ''],
    ]) {
      test(`malformed JSON (${label}) → 400 malformed-json`, async () => {
        const res = await h.request(ctx.d, 'POST', '/api/v1/zones', {
          token: admin, rawBody: raw, headers: { 'content-type': 'application/json' },
        });
        h.assertProblem(res, 400, 'malformed-json');
      });
    }

    test('unknown path with any method → 404, not 405', async () => {
      for (const m of ['DELETE', 'PUT', 'PATCH']) {
        h.assertProblem(await h.request(ctx.d, m, '/api/v1/no-such-thing', { token: admin, body: {} }), 404, 'not-found');
      }
    });

    test('NaN and Infinity are not JSON → 400', async () => {
      for (const raw of ['{"id":"nan-zone","population":NaN}', '{"id":"inf-zone","population":Infinity}']) {
        const res = await h.request(ctx.d, 'POST', '/api/v1/zones', { token: admin, rawBody: raw, headers: { 'content-type': 'application/json' } });
        h.assertProblem(res, 400, 'malformed-json');
      }
    });

    test('JSON that is not an object → 422 (well-formed but invalid)', async () => {
      const res = await h.request(ctx.d, 'POST', '/api/v1/zones', {
        token: admin, rawBody: '[1,2,3]', headers: { 'content-type': 'application/json' },
      });
      h.assertProblem(res, 422, 'invalid');
    });

    test(`body over MAEUL_HTTP_BODY_LIMIT=${BODY_LIMIT} → 413; just under is accepted`, async () => {
      const big = h.zoneBody('too-big', { attributes: { pad: 'x'.repeat(BODY_LIMIT) } });
      h.assertProblem(await h.request(ctx.d, 'POST', '/api/v1/zones', { token: admin, body: big }), 413, 'payload-too-large');
      h.assertProblem(await h.request(ctx.d, 'GET', '/api/v1/zones/too-big', { token: admin }), 404, 'not-found');

      const small = h.zoneBody('just-under', { attributes: { pad: '' } });
      const base = Buffer.byteLength(JSON.stringify(small));
      small.attributes.pad = 'y'.repeat(BODY_LIMIT - base - 10);
      assert.ok(Buffer.byteLength(JSON.stringify(small)) <= BODY_LIMIT);
      h.assertJson(await h.request(ctx.d, 'POST', '/api/v1/zones', { token: admin, body: small }), 201);
    });

    test(`the limit is exact: ${BODY_LIMIT} bytes accepted, ${BODY_LIMIT + 1} → 413`, async () => {
      const sized = (id, n) => {
        const b = h.zoneBody(id, { attributes: { pad: '' } });
        b.attributes.pad = 'z'.repeat(n - Buffer.byteLength(JSON.stringify(b)));
        const raw = JSON.stringify(b);
        assert.equal(Buffer.byteLength(raw), n);
        return raw;
      };
      const ok = await h.request(ctx.d, 'POST', '/api/v1/zones', { token: admin, rawBody: sized('exact-limit', BODY_LIMIT), headers: { 'content-type': 'application/json' } });
      h.assertJson(ok, 201);
      const over = await h.request(ctx.d, 'POST', '/api/v1/zones', { token: admin, rawBody: sized('over-limit', BODY_LIMIT + 1), headers: { 'content-type': 'application/json' } });
      h.assertProblem(over, 413, 'payload-too-large');
    });

    test('a chunked body over the limit (no Content-Length) → 413', async () => {
      const conn = await h.RawConn.connect(ctx.d.port);
      try {
        const body = JSON.stringify(h.zoneBody('chunked-big', { attributes: { pad: 'c'.repeat(BODY_LIMIT * 2) } }));
        let msg = `POST /api/v1/zones HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${admin}\r\n` +
          'Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n';
        for (let i = 0; i < body.length; i += 1000) {
          const part = body.slice(i, i + 1000);
          msg += `${Buffer.byteLength(part).toString(16)}\r\n${part}\r\n`;
        }
        msg += '0\r\n\r\n';
        await conn.write(msg).catch(() => {});
        const r = await conn.readResponse(READ_TIMEOUT_MS + 3000);
        assert.equal(r.status, 413, `got ${r.status} ${r.text}`);
      } finally {
        conn.destroy();
      }
      h.assertProblem(await h.request(ctx.d, 'GET', '/api/v1/zones/chunked-big', { token: admin }), 404, 'not-found');
    });

    test('a chunked body under the limit is accepted', async () => {
      const conn = await h.RawConn.connect(ctx.d.port);
      try {
        const body = JSON.stringify(h.zoneBody('chunked-small'));
        const half = Math.floor(body.length / 2);
        const parts = [body.slice(0, half), body.slice(half)];
        let msg = `POST /api/v1/zones HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${admin}\r\n` +
          'Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n';
        for (const part of parts) msg += `${Buffer.byteLength(part).toString(16)}\r\n${part}\r\n`;
        msg += '0\r\n\r\n';
        await conn.write(msg);
        const r = await conn.readResponse();
        assert.equal(r.status, 201, `got ${r.status} ${r.text}`);
        assert.equal(r.json.id, 'chunked-small');
      } finally {
        conn.destroy();
      }
    });

    test('a chunk-size line without end is refused at once (400), not buffered', async () => {
      const conn = await h.RawConn.connect(ctx.d.port);
      try {
        // A chunk extension that never ends: 256 KiB in which the parser can take nothing.
        const msg = `POST /api/v1/zones HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${admin}\r\n` +
          'Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n1;' + 'a'.repeat(256 * 1024);
        await conn.write(msg).catch(() => {});
        const r = await conn.readResponse(READ_TIMEOUT_MS + 3000);
        assert.equal(r.status, 400, `got ${r.status} ${r.text}`);
        assert.ok(await conn.waitClose(READ_TIMEOUT_MS + 3000), 'closed after the 400');
      } finally {
        conn.destroy();
      }
      await healthy();
    });

    test('Expect: 100-continue is honoured', async () => {
      const conn = await h.RawConn.connect(ctx.d.port);
      try {
        const body = JSON.stringify(h.zoneBody('expect-continue'));
        await conn.write(`POST /api/v1/zones HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${admin}\r\n` +
          `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nExpect: 100-continue\r\n\r\n`);
        let r;
        try { r = await conn.readResponse(400); } catch { r = null; } // clients wait a moment, then send anyway
        if (r) assert.equal(r.status, 100, `interim 100 Continue, got ${r.status}`);
        await conn.write(body);
        const fin = await conn.readResponse();
        assert.equal(fin.status, 201, `got ${fin.status} ${fin.text}`);
      } finally {
        conn.destroy();
      }
    });

    test('a POST without Content-Type → 415', async () => {
      const res = await h.request(ctx.d, 'POST', '/api/v1/zones', {
        token: admin, rawBody: new Blob([JSON.stringify(h.zoneBody('no-ct'))]),
      });
      h.assertProblem(res, 415, 'unsupported-media-type');
    });

    test('a declared Content-Length over the limit gets 413 without waiting for the body', async () => {
      const conn = await h.RawConn.connect(ctx.d.port);
      try {
        await conn.write(
          'POST /api/v1/zones HTTP/1.1\r\nHost: localhost\r\n' +
          `Authorization: Bearer ${admin}\r\nContent-Type: application/json\r\n` +
          'Content-Length: 100000000\r\n\r\n{"id":',
        );
        const r = await conn.readResponse(READ_TIMEOUT_MS + 3000);
        assert.equal(r.status, 413, `got ${r.status} ${r.text}`);
      } finally {
        conn.destroy();
      }
      await healthy();
    });

    test('wrong content type → 415 unsupported-media-type', async () => {
      const body = JSON.stringify(h.zoneBody('ct-plain'));
      for (const ct of ['text/plain', 'application/x-www-form-urlencoded', 'application/xml']) {
        const res = await h.request(ctx.d, 'POST', '/api/v1/zones', { token: admin, rawBody: body, headers: { 'content-type': ct } });
        h.assertProblem(res, 415, 'unsupported-media-type');
      }
      h.assertProblem(await h.request(ctx.d, 'GET', '/api/v1/zones/ct-plain', { token: admin }), 404, 'not-found');
    });

    test('application/json; charset=utf-8 is accepted', async () => {
      const res = await h.request(ctx.d, 'POST', '/api/v1/zones', {
        token: admin, rawBody: JSON.stringify(h.zoneBody('ct-charset')), headers: { 'content-type': 'application/json; charset=utf-8' },
      });
      h.assertJson(res, 201);
    });

    test('well-formed but invalid → 422 with errors[].pointer', async () => {
      const res = await h.request(ctx.d, 'POST', '/api/v1/zones', { token: admin, body: h.zoneBody('bad-pop', { population: 'many' }) });
      h.assertInvalid(res, '/population');
    });

    test('request headers over the header limit → 431 (or a close), and the server keeps serving', async () => {
      const conn = await h.RawConn.connect(ctx.d.port);
      try {
        await conn.write(`GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Big: ${'a'.repeat(20000)}\r\n\r\n`).catch(() => {});
        let status;
        try { status = (await conn.readResponse(5000)).status; } catch { status = conn.closed ? 'closed' : 'none'; }
        assert.equal(status, 431, `expected 431, got ${status}`);
      } finally {
        conn.destroy();
      }
      await healthy();
    });
  });

  describe('connections', () => {
    test('keep-alive: several requests over one connection', async () => {
      const conn = await h.RawConn.connect(ctx.d.port);
      try {
        const reqs = [
          ['GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n', 200],
          [`GET /api/v1/zones HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${admin}\r\n\r\n`, 200],
          ['GET /api/v1/zones HTTP/1.1\r\nHost: localhost\r\n\r\n', 401],
          [`GET /api/v1/zones/nope HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${admin}\r\n\r\n`, 404],
          ['GET /readyz HTTP/1.1\r\nHost: localhost\r\n\r\n', 200],
        ];
        for (const [raw, status] of reqs) {
          await conn.write(raw);
          const r = await conn.readResponse();
          assert.equal(r.status, status, `${raw.split('\r\n')[0]} → ${status}, got ${r.status} ${r.text}`);
          assert.ok(!/close/i.test(r.headers.connection || ''), `server keeps the connection (${r.headers.connection})`);
        }
        assert.equal(conn.closed, false, 'still open after 5 requests');
        // pipelined: two requests in one write, two responses in order
        await conn.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\nGET /api/v1/zones HTTP/1.1\r\nHost: localhost\r\n\r\n');
        assert.equal((await conn.readResponse()).status, 200);
        assert.equal((await conn.readResponse()).status, 401);
        // Connection: close is honoured
        await conn.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
        assert.equal((await conn.readResponse()).status, 200);
        assert.ok(await conn.waitClose(3000), 'server closes after Connection: close');
      } finally {
        conn.destroy();
      }
    });

    test('HTTP/1.0 without keep-alive: one response, then the server closes', async () => {
      const c = await h.RawConn.connect(ctx.d.port);
      try {
        await c.write('GET /healthz HTTP/1.0\r\n\r\n');
        const r = await c.readResponse();
        assert.equal(r.status, 200);
        assert.ok(await c.waitClose(3000), 'closed after an HTTP/1.0 response');
      } finally {
        c.destroy();
      }
    });

    test(`a client that sends half a request and stalls is disconnected after ~${READ_TIMEOUT_MS} ms; others are served meanwhile`, async () => {
      const slow = await h.RawConn.connect(ctx.d.port);
      try {
        const t0 = Date.now();
        await slow.write('GET /healthz HTTP/1.1\r\nHost: local');
        // the server keeps serving others while the slow client hangs
        for (let i = 0; i < 3; i++) await healthy();
        const closed = await slow.waitClose(READ_TIMEOUT_MS + 4000);
        const elapsed = Date.now() - t0;
        assert.ok(closed, `slow client disconnected within ${READ_TIMEOUT_MS + 4000} ms`);
        assert.ok(elapsed >= READ_TIMEOUT_MS * 0.8, `not before the read timeout (${elapsed} ms)`);
        // a 408 before closing is fine; anything else is not
        if (slow.buf.length) assert.match(slow.buf.toString('latin1'), /^HTTP\/1\.1 408/, 'only a 408 may be sent');
      } finally {
        slow.destroy();
      }
      await healthy();
    });

    test('a client trickling one byte every 200 ms is still cut off by the read timeout', async () => {
      const slow = await h.RawConn.connect(ctx.d.port);
      const msg = 'GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Pad: ' + 'p'.repeat(100) + '\r\n\r\n';
      let i = 0;
      const t0 = Date.now();
      const timer = setInterval(() => {
        if (slow.closed || i >= msg.length) return;
        slow.sock.write(msg[i++]);
      }, 200);
      try {
        const closed = await slow.waitClose(READ_TIMEOUT_MS + 5000);
        assert.ok(closed, `trickling client disconnected (sent ${i} bytes in ${Date.now() - t0} ms)`);
      } finally {
        clearInterval(timer);
        slow.destroy();
      }
      await healthy();
    });

    test(`an idle keep-alive connection is closed after MAEUL_HTTP_IDLE_TIMEOUT_MS=${IDLE_TIMEOUT_MS}`, async () => {
      const c = await h.RawConn.connect(ctx.d.port);
      try {
        await c.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n');
        assert.equal((await c.readResponse()).status, 200);
        const closed = await c.waitClose(IDLE_TIMEOUT_MS + 4000);
        assert.ok(closed, `idle connection closed within ${IDLE_TIMEOUT_MS + 4000} ms`);
        assert.equal(c.buf.length, 0, 'nothing sent on an idle close');
      } finally {
        c.destroy();
      }
    });

    test('a connection that never sends a byte is closed too', async () => {
      const c = await h.RawConn.connect(ctx.d.port);
      try {
        const closed = await c.waitClose(IDLE_TIMEOUT_MS + 4000);
        assert.ok(closed, `silent connection closed within ${IDLE_TIMEOUT_MS + 4000} ms`);
      } finally {
        c.destroy();
      }
    });

    test('many stalled clients at once do not stop the server', async () => {
      const conns = [];
      for (let i = 0; i < 50; i++) {
        const c = await h.RawConn.connect(ctx.d.port);
        await c.write('POST /api/v1/zones HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{');
        conns.push(c);
      }
      try {
        const t0 = Date.now();
        await healthy();
        assert.ok(Date.now() - t0 < READ_TIMEOUT_MS, 'served promptly while 50 clients stall');
        const allClosed = await h.pollUntil(() => conns.every((c) => c.closed), { timeoutMs: READ_TIMEOUT_MS + 5000, what: 'all stalled clients disconnected' });
        assert.ok(allClosed);
      } finally {
        for (const c of conns) c.destroy();
      }
      await healthy();
    });

    for (const [label, bytes] of [
      ['random binary', Buffer.from(Array.from({ length: 256 }, (_, i) => (i * 73 + 11) % 256))],
      ['text that is not HTTP', Buffer.from('HELLO THERE\r\n\r\n')],
      ['a bad request line', Buffer.from('GET\r\n\r\n')],
      ['an invalid header line', Buffer.from('GET /healthz HTTP/1.1\r\nHost localhost\r\n\r\n')],
      ['a bad Content-Length', Buffer.from('POST /api/v1/zones HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n')],
      ['a TLS ClientHello', Buffer.from('160301002a010000260303' + '00'.repeat(32) + '000002002f0100', 'hex')],
      ['two different Content-Lengths', Buffer.from('POST /api/v1/zones HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\n{}{}{}{}')],
      ['an invalid chunk size', Buffer.from('POST /api/v1/zones HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n')],
      ['NUL bytes in the request line', Buffer.from('GET /heal\u0000thz HTTP/1.1\r\nHost: x\r\n\r\n')],
    ]) {
      test(`garbage (${label}) gets 400 or a close; the server keeps serving`, async () => {
        const c = await h.RawConn.connect(ctx.d.port);
        try {
          await c.write(bytes).catch(() => {});
          const closed = await c.waitClose(READ_TIMEOUT_MS + 4000);
          if (c.buf.length) {
            assert.match(c.buf.toString('latin1'), /^HTTP\/1\.[01] (400|408|413|431)/, `only an error response: ${c.buf.toString('latin1').slice(0, 200)}`);
            assert.ok(!/^HTTP\/1\.[01] 400/.test(c.buf.toString('latin1')) || closed, 'connection closed after a 400 for garbage');
          } else {
            assert.ok(closed, 'connection closed');
          }
        } finally {
          c.destroy();
        }
        await healthy();
      });
    }
  });
});
