'use strict';
// Helpers for the live-operations end-to-end tests (live*, rules*, alerts*, incidents*, webhooks*).
// Written from the contract (shared/API.md §6, docs/api-notes.md "Live operations"), without the
// daemon's source. Node 20 built-ins only: the WebSocket client below is a small RFC 6455 client
// over node:http's upgrade, so the tests need no --experimental-websocket flag and can stop reading
// from the socket (a slow consumer) at will.

const http = require('node:http');
const https = require('node:https');
const crypto = require('node:crypto');
const assert = require('node:assert/strict');
const h = require('./harness');
const I = require('./ingest-helpers');

const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

// ---------------------------------------------------------------- WebSocket client

class WsClient {
  constructor(socket, head) {
    this.sock = socket;
    this.buf = Buffer.alloc(0);
    this.msgs = []; // every message received: parsed JSON (non-JSON text as {_text}), each with _at (ms)
    this.frames = 0;
    this.fragments = null; // pending fragmented message
    this.closed = false;
    this.closeCode = undefined;
    this.closeReason = undefined;
    this.protocolErrors = [];
    this.waiters = [];
    this.pongs = 0; // control-frame pongs received
    this.bytes = 0;
    socket.setNoDelay(true);
    socket.on('data', (d) => this._onData(d));
    socket.on('error', (e) => { this.error = e; });
    socket.on('close', () => { this.closed = true; this.closedAt = Date.now(); this._wake(); });
    if (head && head.length) this._onData(head);
  }

  _wake() {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  _changed(ms) {
    return new Promise((r) => {
      const t = setTimeout(r, ms);
      this.waiters.push(() => { clearTimeout(t); r(); });
    });
  }

  _onData(d) {
    this.bytes += d.length;
    this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
    for (;;) {
      if (this.buf.length < 2) break;
      const b0 = this.buf[0];
      const b1 = this.buf[1];
      const fin = (b0 & 0x80) !== 0;
      const opcode = b0 & 0x0f;
      const masked = (b1 & 0x80) !== 0;
      let len = b1 & 0x7f;
      let off = 2;
      if (len === 126) {
        if (this.buf.length < 4) break;
        len = this.buf.readUInt16BE(2);
        off = 4;
      } else if (len === 127) {
        if (this.buf.length < 10) break;
        len = Number(this.buf.readBigUInt64BE(2));
        off = 10;
      }
      if (masked) off += 4;
      if (this.buf.length < off + len) break;
      let payload = this.buf.subarray(off, off + len);
      if (masked) {
        this.protocolErrors.push('server frame is masked');
        const key = this.buf.subarray(off - 4, off);
        payload = Buffer.from(payload.map((x, i) => x ^ key[i % 4]));
      }
      this.buf = this.buf.subarray(off + len);
      this.frames++;
      this._onFrame(fin, opcode, Buffer.from(payload));
    }
    this._wake();
  }

  _onFrame(fin, opcode, payload) {
    if (opcode === 0x8) { // close
      this.closeCode = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
      this.closeReason = payload.length > 2 ? payload.subarray(2).toString('utf8') : '';
      if (!this.closeSent) this._sendFrame(0x8, payload.subarray(0, 2));
      this.closeSent = true;
      this.sock.end();
      return;
    }
    if (opcode === 0x9) { this._sendFrame(0xA, payload); return; } // ping → pong
    if (opcode === 0xA) { this.pongs++; return; }
    if (opcode === 0x0) {
      if (!this.fragments) { this.protocolErrors.push('continuation without a start'); return; }
      this.fragments.parts.push(payload);
      if (!fin) return;
      const whole = Buffer.concat(this.fragments.parts);
      const op = this.fragments.opcode;
      this.fragments = null;
      this._onMessage(op, whole);
      return;
    }
    if (opcode === 0x1 || opcode === 0x2) {
      if (!fin) { this.fragments = { opcode, parts: [payload] }; return; }
      this._onMessage(opcode, payload);
      return;
    }
    this.protocolErrors.push(`unknown opcode ${opcode}`);
  }

  _onMessage(opcode, payload) {
    if (opcode === 0x2) this.protocolErrors.push('binary message');
    const text = payload.toString('utf8');
    let m;
    try { m = JSON.parse(text); } catch { m = { _text: text }; }
    if (m === null || typeof m !== 'object' || Array.isArray(m)) m = { _value: m };
    Object.defineProperty(m, '_at', { value: Date.now(), enumerable: false });
    Object.defineProperty(m, '_index', { value: this.msgs.length, enumerable: false });
    this.msgs.push(m);
  }

  _sendFrame(opcode, payload) {
    if (this.sock.destroyed) return;
    const key = crypto.randomBytes(4);
    const len = payload.length;
    let head;
    if (len < 126) {
      head = Buffer.alloc(2);
      head[1] = 0x80 | len;
    } else if (len < 65536) {
      head = Buffer.alloc(4);
      head[1] = 0x80 | 126;
      head.writeUInt16BE(len, 2);
    } else {
      head = Buffer.alloc(10);
      head[1] = 0x80 | 127;
      head.writeBigUInt64BE(BigInt(len), 2);
    }
    head[0] = 0x80 | opcode;
    const masked = Buffer.from(payload.map((x, i) => x ^ key[i % 4]));
    this.sock.write(Buffer.concat([head, key, masked]));
  }

  send(obj) {
    this._sendFrame(0x1, Buffer.from(typeof obj === 'string' ? obj : JSON.stringify(obj), 'utf8'));
  }

  subscribe(opts = {}) {
    this.send({ type: 'subscribe', ...opts });
  }

  // Subscribes and waits for the "subscribed" answer that follows it.
  async subscribeAndWait(opts = {}, timeoutMs = 3000) {
    const from = this.msgs.length;
    this.subscribe(opts);
    return this.waitFor((m) => m.type === 'subscribed', { from, timeoutMs, what: 'subscribed' });
  }

  controlPing(payload = 'x') { this._sendFrame(0x9, Buffer.from(payload)); }

  // Stops reading from the socket (the kernel buffers fill, then the server's queue).
  pause() { this.sock.pause(); }

  resume() { this.sock.resume(); }

  find(pred, from = 0) {
    for (let i = from; i < this.msgs.length; i++) if (pred(this.msgs[i])) return this.msgs[i];
    return undefined;
  }

  filter(pred, from = 0) {
    return this.msgs.slice(from).filter(pred);
  }

  // The first message at index >= from satisfying pred; throws after timeoutMs.
  async waitFor(pred, { from = 0, timeoutMs = 3000, what = 'a message' } = {}) {
    const deadline = Date.now() + timeoutMs;
    let scanned = from;
    for (;;) {
      for (; scanned < this.msgs.length; scanned++) if (pred(this.msgs[scanned])) return this.msgs[scanned];
      if (this.closed) throw new Error(`connection closed (code ${this.closeCode} ${this.closeReason || ''}) while waiting for ${what}; last messages: ${this.tail()}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no ${what} within ${timeoutMs} ms; last messages: ${this.tail()}`);
      await this._changed(left);
    }
  }

  // Waits until `n` messages satisfying pred have arrived (from index `from`); returns them.
  async waitCount(pred, n, { from = 0, timeoutMs = 3000, what = 'messages' } = {}) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const got = this.filter(pred, from);
      if (got.length >= n) return got;
      if (this.closed) throw new Error(`connection closed (code ${this.closeCode}) with ${got.length}/${n} ${what}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${got.length}/${n} ${what} within ${timeoutMs} ms; last messages: ${this.tail()}`);
      await this._changed(left);
    }
  }

  // Resolves true when the connection closes within timeoutMs, false otherwise.
  async waitClose(timeoutMs = 3000) {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await this._changed(left);
    }
    return true;
  }

  tail(n = 5) {
    return JSON.stringify(this.msgs.slice(-n)).slice(0, 1500);
  }

  close(code = 1000) {
    if (this.closed) return;
    if (!this.closeSent) {
      const p = Buffer.alloc(2);
      p.writeUInt16BE(code, 0);
      this._sendFrame(0x8, p);
      this.closeSent = true;
    }
    setTimeout(() => this.sock.destroy(), 500).unref();
  }

  destroy() { this.sock.destroy(); }
}

const openSockets = new Set();
process.on('exit', () => { for (const s of openSockets) s.destroy(); });

// Opens /api/v1/live (or `path`). token: sent as a Bearer header (via 'header', the default) or as
// ?access_token= (via 'query'). Resolves {status: 101, ws} on an upgrade, or {status, headers, text, json}
// when the server answers with a plain HTTP response instead.
function openWs(d, { token, via = 'header', path = '/api/v1/live', headers = {}, timeoutMs = 5000 } = {}) {
  return new Promise((resolve, reject) => {
    const key = crypto.randomBytes(16).toString('base64');
    let p = path;
    if (token && via === 'query') p += (p.includes('?') ? '&' : '?') + 'access_token=' + encodeURIComponent(token);
    const hdrs = {
      Connection: 'Upgrade',
      Upgrade: 'websocket',
      'Sec-WebSocket-Key': key,
      'Sec-WebSocket-Version': '13',
      ...headers,
    };
    if (token && via === 'header') hdrs.Authorization = `Bearer ${token}`;
    // WSS for a daemon serving HTTPS, trusting the test's CA (d.tlsCa).
    const mod = d.scheme === 'https' ? https : http;
    const req = mod.request({ host: '127.0.0.1', port: d.port, path: p, method: 'GET', headers: hdrs, agent: false, ca: d.tlsCa });
    const timer = setTimeout(() => { req.destroy(new Error(`no WebSocket handshake answer within ${timeoutMs} ms`)); }, timeoutMs);
    req.on('upgrade', (res, socket, head) => {
      clearTimeout(timer);
      try {
        assert.equal(res.statusCode, 101);
        assert.match(String(res.headers.upgrade), /^websocket$/i, 'Upgrade: websocket');
        const want = crypto.createHash('sha1').update(key + WS_GUID).digest('base64');
        assert.equal(res.headers['sec-websocket-accept'], want, 'Sec-WebSocket-Accept');
      } catch (e) {
        socket.destroy();
        reject(e);
        return;
      }
      openSockets.add(socket);
      socket.on('close', () => openSockets.delete(socket));
      resolve({ status: 101, ws: new WsClient(socket, head), headers: res.headers });
    });
    req.on('response', (res) => {
      clearTimeout(timer);
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json;
        try { json = JSON.parse(text); } catch { /* not JSON */ }
        const out = { status: res.statusCode, headers: res.headers, text, json, contentType: res.headers['content-type'] || '' };
        try { h.openapi.assertConforms('GET', p, out); } catch (e) { reject(e); return; }
        resolve(out);
      });
      res.on('error', reject);
    });
    req.on('error', (e) => { clearTimeout(timer); reject(e); });
    req.end();
  });
}

// Opens the feed and waits for the hello message; returns the client (hello in ws.hello).
async function connect(d, token, opts = {}) {
  const r = await openWs(d, { token, ...opts });
  assert.equal(r.status, 101, `WebSocket upgrade: got ${r.status} ${r.text ? r.text.slice(0, 300) : ''}`);
  const ws = r.ws;
  ws.hello = await ws.waitFor((m) => m.type === 'hello', { what: 'hello' });
  return ws;
}

// ---------------------------------------------------------------- REST shortcuts

async function api(d, method, urlPath, body, token = d.bootstrapToken) {
  return h.request(d, method, urlPath, { token, body });
}

async function createRule(d, body, token = d.bootstrapToken) {
  const res = await api(d, 'POST', '/api/v1/rules', body, token);
  h.assertStatus(res, 201, `create rule ${JSON.stringify(body).slice(0, 200)}`);
  return res.json;
}

function ruleName(s) {
  return { ko: `규칙 ${s}`, en: `Rule ${s}` };
}

// Waits until the daemon's rule engine has taken up every rule change made so far. A sentinel rule on
// a sensor of its own (created on first use, in no zone, domain mobility, kind "sentinel") gets a fresh
// reading until its alert opens. Tests that are about something else use it so that they do not
// depend on how quickly rule changes apply (rules.test.js checks that on its own). A rule change is
// sometimes not applied until the next one (see rules.test.js), so every `nudgeMs` without effect the
// sentinel is written again (PUT, same body): that is one more change.
const sentinels = new WeakMap();
async function rulesSettled(d, { timeoutMs = 5000, nudgeMs = 750 } = {}) {
  let st = sentinels.get(d);
  if (!st) {
    st = { n: 0, nudges: 0, sensor: `sentinel-${crypto.randomBytes(3).toString('hex')}` };
    const res = await h.request(d, 'POST', '/api/v1/sensors', {
      token: d.bootstrapToken,
      body: h.sensorBody(st.sensor, { domain: 'mobility', kind: 'sentinel', location: h.point(-170, -80), metrics: [{ name: 'level', unit: 'm' }] }),
    });
    h.assertStatus(res, 201, 'create the sentinel sensor');
    sentinels.set(d, st);
  }
  const body = { name: 'sentinel', kind: 'threshold', selector: { sensor: st.sensor }, severity: 'info', metric: 'level', op: '>', value: 0 };
  const rule = await createRule(d, body);
  let nudgeAt = Date.now() + nudgeMs;
  const alert = await h.pollUntil(async () => {
    st.n++;
    await ingest(d, [{ sensor: st.sensor, metric: 'level', ts: new Date(Date.now() - 60000 + st.n).toISOString(), value: st.n }]);
    const found = (await getAlerts(d, 'limit=1000&state=open')).find((a) => a.rule === rule.id);
    if (!found && Date.now() > nudgeAt) {
      st.nudges++;
      h.assertStatus(await api(d, 'PUT', `/api/v1/rules/${rule.id}`, body), 200, 'nudge the sentinel');
      nudgeAt = Date.now() + nudgeMs;
    }
    return found;
  }, { timeoutMs, intervalMs: 20, what: 'the sentinel rule to take effect' }).catch(async (e) => {
    const mine = (await getAlerts(d, 'limit=1000')).filter((a) => a.sensor === st.sensor);
    e.message += `; rule ${rule.id}; alerts of the sentinel sensor: ${JSON.stringify(mine).slice(0, 1500)}`;
    throw e;
  });
  h.assertStatus(await api(d, 'DELETE', `/api/v1/rules/${rule.id}`), 204);
  h.assertStatus(await api(d, 'POST', `/api/v1/alerts/${alert.id}/resolve`, { note: 'sentinel' }), 200);
}

async function getAlerts(d, query = '', token = d.bootstrapToken) {
  const res = await h.request(d, 'GET', '/api/v1/alerts' + (query ? '?' + query : ''), { token });
  return h.assertJson(res, 200).items;
}

// Polls the alert list until pred holds for some alert; returns it.
async function waitAlert(d, pred, { query = 'limit=1000', timeoutMs = 5000, what = 'an alert' } = {}) {
  let last = [];
  try {
    return await h.pollUntil(async () => {
      last = await getAlerts(d, query);
      return last.find(pred);
    }, { timeoutMs, intervalMs: 50, what });
  } catch (e) {
    e.message += `; alerts: ${JSON.stringify(last).slice(0, 1500)}`;
    throw e;
  }
}

async function alertsOf(d, ruleId) {
  return (await getAlerts(d, 'limit=1000')).filter((a) => a.rule === ruleId);
}

// Posts readings and asserts every one was accepted.
async function ingest(d, readings, token = d.bootstrapToken) {
  const res = await I.postObs(d, token, readings);
  I.assertIngest(res, { accepted: readings.length, rejected: [] }, 'ingest');
  return res.json;
}

async function metricValue(d, name, labels = {}) {
  const res = await h.request(d, 'GET', '/metrics', { token: d.bootstrapToken });
  h.assertStatus(res, 200);
  const samples = h.parseProm(res.text).filter((s) => s.name === name
    && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  return samples.reduce((a, s) => a + s.value, 0);
}

// ---------------------------------------------------------------- webhook receiver

// A local HTTP server recording every request: {method, url, headers, body (raw Buffer), json, at, n}.
// respond(req, n) → a status code, or 'hang' (never answer). n counts requests from 1.
// tls: {key, cert} (PEM) makes it an HTTPS server (url https://127.0.0.1:PORT/hook).
async function startReceiver(respond = () => 200, { tls } = {}) {
  const got = [];
  const hanging = new Set();
  const waiters = [];
  const onRequest = (req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      let json;
      try { json = JSON.parse(body.toString('utf8')); } catch { /* not JSON */ }
      const rec = { method: req.method, url: req.url, headers: req.headers, body, json, at: Date.now(), n: got.length + 1 };
      got.push(rec);
      for (const w of waiters.splice(0)) w();
      const r = respond(rec, rec.n);
      if (r === 'hang') { hanging.add(res); return; }
      res.writeHead(r, { 'content-type': 'text/plain' });
      res.end(String(r));
    });
  };
  const server = tls ? https.createServer(tls, onRequest) : http.createServer(onRequest);
  server.keepAliveTimeout = 1000;
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address();
  return {
    got,
    server,
    url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}/hook`,
    port,
    async waitCount(n, timeoutMs = 5000, what = 'deliveries') {
      const deadline = Date.now() + timeoutMs;
      while (got.length < n) {
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`${got.length}/${n} ${what} within ${timeoutMs} ms`);
        await new Promise((r) => { const t = setTimeout(r, left); waiters.push(() => { clearTimeout(t); r(); }); });
      }
      return got;
    },
    async waitFor(pred, timeoutMs = 5000, what = 'a delivery') {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const f = got.find(pred);
        if (f) return f;
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`no ${what} within ${timeoutMs} ms; got ${JSON.stringify(got.map((g) => g.json)).slice(0, 1200)}`);
        await new Promise((r) => { const t = setTimeout(r, left); waiters.push(() => { clearTimeout(t); r(); }); });
      }
    },
    close() {
      for (const res of hanging) { try { res.socket.destroy(); } catch { /* gone */ } }
      server.closeAllConnections?.();
      return new Promise((r) => server.close(() => r()));
    },
  };
}

function sign(secret, body) {
  return 'sha256=' + crypto.createHmac('sha256', secret).update(body).digest('hex');
}

module.exports = {
  WsClient, openWs, connect, api, createRule, rulesSettled, ruleName, getAlerts, waitAlert, alertsOf, ingest, metricValue,
  startReceiver, sign,
};
