'use strict';
// Limits at the edge (API.md §8 "Limits"; issue 10, "Bad input and attacks"): 2,000 idle
// connections from one address are held to http.max_connections_per_ip (the rest answered 503 and
// closed) while another address is served; http.max_connections refuses everyone past it and
// admits again when connections close; a slowloris (a header trickled a byte at a time) and a
// body trickled below http.min_body_rate are cut off by the deadline while others are served; a
// slow reader that never reads a large answer is cut off by the write deadline; an upload at a
// steady fine rate that takes longer than read_timeout_ms succeeds; and when the process runs out
// of descriptors (EMFILE), the accept loop backs off instead of spinning and recovers.
// Every client address here is on 127/8 (Linux routes all of it to lo).

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const h = require('./lib/harness');

const READ_TIMEOUT_MS = 1500;
const PER_IP = 50;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// GET over a fresh connection from `localAddress`: {status, headers (a Headers), contentType, text, json}.
// Answers that went through the router are checked against docs/openapi.yaml; a connection-cap 503
// (before any routing) is checked by assertCapRefusal instead.
function getFrom(d, urlPath, { localAddress = '127.0.0.1', token, timeoutMs = 5000 } = {}) {
  return new Promise((resolve, reject) => {
    const headers = token ? { authorization: `Bearer ${token}` } : {};
    const req = http.request({ host: '127.0.0.1', port: d.port, path: urlPath, localAddress, agent: false, headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const hs = new Headers();
        for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) hs.append(res.rawHeaders[i], res.rawHeaders[i + 1]);
        let json;
        try { json = JSON.parse(text); } catch { /* not JSON */ }
        const out = { status: res.statusCode, headers: hs, contentType: res.headers['content-type'] || '', text, json };
        if (res.statusCode !== 503) h.openapi.assertConforms('GET', urlPath, out);
        resolve(out);
      });
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer to GET ${urlPath} from ${localAddress} within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

function assertCapRefusal(res, limit) {
  h.assertProblem(res, 503, 'unavailable');
  assert.equal(res.headers.get('connection'), 'close', 'Connection: close');
  assert.ok(res.headers.get('retry-after'), 'Retry-After');
  assert.match(res.json.detail, new RegExp(limit));
}

async function metric(d, name, labels = {}, localAddress = '127.0.0.1') {
  const res = await getFrom(d, '/metrics', { token: d.bootstrapToken, localAddress });
  h.assertStatus(res, 200, 'GET /metrics');
  return h.parseProm(res.text)
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((a, s) => a + s.value, 0);
}

// An idle TCP connection from localAddress; records what arrives and when it closes.
function idleConn(port, localAddress) {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ port, host: '127.0.0.1', localAddress });
    const c = { sock, data: Buffer.alloc(0), closed: false };
    sock.on('data', (d) => { c.data = Buffer.concat([c.data, d]); });
    sock.on('close', () => { c.closed = true; });
    sock.on('error', () => { /* a reset is a close here */ });
    sock.once('connect', () => resolve(c));
    sock.once('error', reject);
  });
}

async function openMany(port, localAddress, n, batch = 200) {
  const out = [];
  for (let i = 0; i < n; i += batch) {
    const part = await Promise.all(Array.from({ length: Math.min(batch, n - i) }, () => idleConn(port, localAddress)));
    out.push(...part);
  }
  return out;
}

describe('connection caps, deadlines and rates', () => {
  const ctx = h.useDaemon('limits', {
    MAEUL_HTTP_MAX_CONNECTIONS_PER_IP: String(PER_IP),
    MAEUL_HTTP_READ_TIMEOUT_MS: String(READ_TIMEOUT_MS),
  });

  test('2,000 idle connections from one address: 50 are held, the rest get 503 and are closed; another address is served', async () => {
    const d = ctx.d;
    const soft = Number((/^Max open files\s+(\d+)/m.exec(fs.readFileSync('/proc/self/limits', 'utf8')) || [])[1]);
    assert.ok(!(soft < 2500), `this test opens 2,000 sockets: raise the limit (ulimit -n ${soft} → ulimit -n 4096; scripts/test does)`);
    const refusedBefore = await metric(d, 'maeul_http_connections_refused_total', { limit: 'max_connections_per_ip' });
    const conns = await openMany(d.port, '127.0.0.1', 2000);
    try {
      // Every connection past the cap is closed by the server, promptly.
      await h.pollUntil(() => conns.filter((c) => !c.closed).length <= PER_IP, { timeoutMs: 15000, what: 'the refused connections closed' });
      const open = conns.filter((c) => !c.closed);
      assert.equal(open.length, PER_IP, 'exactly max_connections_per_ip stay open');
      assert.ok(open.every((c) => c.data.length === 0), 'the held ones got nothing (idle, not refused)');
      // Refusals are answered up to 1,024 at a time, the rest of a burst is closed unanswered; the
      // first batch (150 over the cap at once) is always answered.
      const answered = conns.filter((c) => c.closed && c.data.length > 0);
      assert.ok(answered.length >= 150, `refused connections got the 503 before the close (${answered.length})`);
      for (const c of answered) assert.match(c.data.toString('latin1'), /^HTTP\/1\.1 503 /, 'a refused connection gets 503');

      // Others are served: another address, right now.
      const other = await getFrom(d, '/healthz', { localAddress: '127.0.0.2' });
      h.assertStatus(other, 200, 'another address is served');
      // The capped address gets a well-formed 503 with Connection: close.
      assertCapRefusal(await getFrom(d, '/healthz', { localAddress: '127.0.0.1' }), 'max_connections_per_ip');
      const refused = await metric(d, 'maeul_http_connections_refused_total', { limit: 'max_connections_per_ip' }, '127.0.0.2');
      assert.equal(refused - refusedBefore, 2000 - PER_IP + 1, 'every refusal counted');
    } finally {
      for (const c of conns) c.sock.destroy();
    }
    // Closing them frees the address again (the per-address count goes back to zero).
    await h.pollUntil(async () => (await getFrom(d, '/healthz')).status === 200, { timeoutMs: 5000, what: '127.0.0.1 served again' });
  });

  test('a slowloris (a header trickled a byte at a time) is cut off after read_timeout_ms; a normal client is served meanwhile', async () => {
    const d = ctx.d;
    const timedBefore = await metric(d, 'maeul_http_connections_timed_out_total');
    const c = await h.RawConn.connect(d.port);
    const t0 = Date.now();
    const head = 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ' + 'a'.repeat(100);
    let sent = 0;
    const trickle = (async () => {
      while (!c.closed && sent < head.length) {
        try { await c.write(head[sent++]); } catch { break; }
        await sleep(200);
      }
    })();
    const ok = await h.request(d, 'GET', '/healthz');
    h.assertStatus(ok, 200, 'served while the slowloris trickles');
    assert.ok(await c.waitClose(READ_TIMEOUT_MS + 4000), 'the slowloris is closed');
    await trickle;
    const took = c.closedAt - t0;
    assert.ok(took >= READ_TIMEOUT_MS - 50 && took < READ_TIMEOUT_MS + 4000, `closed after ${took} ms`);
    assert.ok(sent < head.length, 'before its header was whole');
    assert.equal(c.buf.length, 0, 'no answer');
    await h.pollUntil(async () => (await metric(d, 'maeul_http_connections_timed_out_total')) > timedBefore, { what: 'counted as timed out' });
  });

  test('a body trickled below min_body_rate is cut off; one sent at a steady fine rate for longer than read_timeout_ms succeeds', async () => {
    const d = ctx.d;
    const T = d.bootstrapToken;
    h.assertStatus(await h.request(d, 'POST', '/api/v1/sensors', { token: T, body: h.sensorBody('lim-up') }), 201);

    // The trickle: 20 bytes every 100 ms (200 B/s, far below 16 KiB/s) of a 100 kB body.
    const slow = await h.RawConn.connect(d.port);
    const t0 = Date.now();
    await slow.write(`POST /api/v1/observations HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${T}\r\n`
      + 'Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n');
    const trickle = (async () => {
      while (!slow.closed) {
        try { await slow.write('['.repeat(20)); } catch { break; }
        await sleep(100);
      }
    })();
    assert.ok(await slow.waitClose(READ_TIMEOUT_MS + 4000), 'the trickled body is cut off');
    await trickle;
    assert.ok(slow.closedAt - t0 < READ_TIMEOUT_MS + 4000);

    // The steady upload: about 190 kB at 64 kB/s (4x min_body_rate), some 3 s in all.
    const base = Math.floor(Date.now() / 1000) * 1000 - 3600 * 1000;
    const readings = Array.from({ length: 2400 }, (_, i) => ({ sensor: 'lim-up', metric: 'level', ts: new Date(base + i * 1000).toISOString(), value: i / 10 }));
    const body = Buffer.from(JSON.stringify({ observations: readings }));
    const rate = 64 * 1000;
    const up = await h.RawConn.connect(d.port);
    const u0 = Date.now();
    await up.write(`POST /api/v1/observations HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${T}\r\n`
      + `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`);
    let off = 0;
    while (off < body.length) {
      // Catch up with the schedule (a late timer sends more, never less than the rate on average).
      const due = Math.min(body.length, Math.floor(((Date.now() - u0) / 1000) * rate));
      if (due > off) {
        await up.write(body.subarray(off, due));
        off = due;
      }
      await sleep(50);
    }
    const res = await up.readResponse(10000);
    const took = Date.now() - u0;
    assert.equal(res.status, 200, `the upload succeeded: ${res.status} ${res.text.slice(0, 300)}`);
    assert.equal(res.json.accepted, readings.length);
    assert.ok(took > 2 * READ_TIMEOUT_MS, `it took longer than read_timeout_ms (${took} ms)`);
    up.destroy();
  });
});

describe('the global connection cap and the slow reader', () => {
  const MAX = 20;
  const webRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'maeul-limits-web-'));
  const BIG = 2 * 1024 * 1024;
  fs.writeFileSync(path.join(webRoot, 'index.html'), '<!doctype html><title>t</title>');
  fs.writeFileSync(path.join(webRoot, 'big.bin'), Buffer.alloc(BIG, 0x61));
  const ctx = h.useDaemon('limits_global', {
    MAEUL_HTTP_MAX_CONNECTIONS: String(MAX),
    MAEUL_HTTP_READ_TIMEOUT_MS: '1000',
    MAEUL_HTTP_MIN_BODY_RATE: String(2 * 1024 * 1024),
    MAEUL_HTTP_WEB_ROOT: webRoot,
  });
  after(() => fs.rmSync(webRoot, { recursive: true, force: true }));

  test('past http.max_connections every address gets 503; closing connections admits again', async () => {
    const d = ctx.d;
    const held = [];
    try {
      for (let i = 0; i < MAX; i++) held.push(await idleConn(d.port, `127.0.0.${10 + (i % 5)}`));
      // Poll: the server registers a connection a moment after the client sees it connected.
      const refused = await h.pollUntil(async () => {
        const r = await getFrom(d, '/healthz', { localAddress: '127.0.0.99' });
        return r.status === 503 ? r : null;
      }, { what: 'a refusal at the global cap' });
      assertCapRefusal(refused, 'max_connections');
      assertCapRefusal(await getFrom(d, '/healthz', { localAddress: '127.0.0.10' }), 'max_connections');
      assert.ok(held.every((c) => !c.closed), 'the held connections stay open');
    } finally {
      for (const c of held.splice(0, 5)) c.sock.destroy();
    }
    await h.pollUntil(async () => (await getFrom(d, '/healthz', { localAddress: '127.0.0.99' })).status === 200,
      { timeoutMs: 5000, what: 'admitted again once connections closed' });
    for (const c of held) c.sock.destroy();
    await h.pollUntil(async () => (await metric(d, 'maeul_http_connections_refused_total', { limit: 'max_connections' })) >= 2,
      { what: 'refusals counted' });
  });

  test('a slow reader that never reads a large answer is cut off by the write deadline; the server stays responsive', async () => {
    const d = ctx.d;
    const timedBefore = await metric(d, 'maeul_http_connections_timed_out_total');
    const activeBefore = await metric(d, 'maeul_http_connections_active');
    const c = await h.RawConn.connect(d.port);
    c.sock.pause(); // never reads: the kernel buffers fill, then the server's write stalls
    const n = 40; // 40 pipelined GETs of 2 MiB: far more than the socket buffers hold
    await c.write('GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(n));
    const t0 = Date.now();
    await h.pollUntil(async () => (await metric(d, 'maeul_http_connections_timed_out_total')) > timedBefore,
      { timeoutMs: 20000, intervalMs: 200, what: 'the slow reader cut off' });
    const ok = await getFrom(d, '/healthz', { timeoutMs: 2000 });
    h.assertStatus(ok, 200, 'responsive');
    await h.pollUntil(async () => (await metric(d, 'maeul_http_connections_active')) <= activeBefore,
      { timeoutMs: 5000, what: 'its connection released' });
    // What it could still read is well short of the 40 answers it asked for.
    c.sock.resume();
    await c.waitClose(10000);
    assert.ok(c.buf.length < n * BIG, `got ${c.buf.length} of ${n * BIG} bytes`);
    assert.ok(Date.now() - t0 < 30000);
    c.destroy();
  });
});

describe('out of descriptors', () => {
  const NOFILE = 160;
  const ctx = { db: undefined, d: undefined };
  before(async () => {
    ctx.db = h.createDatabase('limits_emfile');
    // Two I/O threads whatever the machine: their descriptors come out of the same budget.
    ctx.d = await h.startDaemon({ db: ctx.db, env: { MAEUL_HTTP_THREADS: '2' }, wrap: ['prlimit', `--nofile=${NOFILE}:${NOFILE}`] });
  });
  after(async () => {
    try {
      if (ctx.d) assert.equal(await ctx.d.stop(), 0, `exit code; stderr tail:\n${ctx.d.stderr.slice(-2000)}`);
    } finally {
      h.dropDatabase(ctx.db);
    }
  });

  function cpuSeconds(pid) {
    const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(f[11]) + Number(f[12])) / 100; // utime + stime, in clock ticks of 1/100 s
  }

  test('EMFILE: the accept loop backs off (no spinning, one log line), and accepts again once descriptors free up', async () => {
    const d = ctx.d;
    const conns = await openMany(d.port, '127.0.0.1', 300, 50); // more than the descriptors maeuld has
    try {
      await h.pollUntil(() => /backing off until connections close/.test(d.stderr), { timeoutMs: 10000, what: 'the back-off logged' });
      const cpu0 = cpuSeconds(d.pid);
      await sleep(2000);
      const cpu = cpuSeconds(d.pid) - cpu0;
      assert.ok(cpu < 0.5, `no spinning while out of descriptors: ${cpu} s of CPU in 2 s`);
      assert.equal((d.stderr.match(/backing off until connections close/g) || []).length, 1, 'logged once an episode');
    } finally {
      for (const c of conns) c.sock.destroy();
    }
    await h.pollUntil(async () => {
      try { return (await getFrom(d, '/healthz', { timeoutMs: 1000 })).status === 200; } catch { return false; }
    }, { timeoutMs: 10000, what: 'served again' });
    await h.pollUntil(() => /accepting connections again after \d+ failed attempts/.test(d.stderr), { timeoutMs: 5000, what: 'the recovery logged' });
    const res = await getFrom(d, '/metrics', { token: d.bootstrapToken });
    const errors = h.parseProm(res.text).find((s) => s.name === 'maeul_http_accept_errors_total');
    assert.ok(errors && errors.value >= 1, 'accept errors counted');
  });
});
