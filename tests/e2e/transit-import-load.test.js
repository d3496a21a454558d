'use strict';
// A large GTFS import does not stall the server (docs/transit.md "Network import"): the unzip and
// parse run on the transit service's own thread and the write on a database thread, so GET /healthz
// keeps answering quickly while a feed of 300,000 stop_times is imported; a second import meanwhile
// is refused (503), not queued. The feed comes from the benchmark's generator (bench/transit_feed.mjs).

const { describe, test } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const http = require('node:http');
const h = require('./lib/harness');

const STOP_TIMES = 300000;

describe('transit: a large import', () => {
  const ctx = h.useDaemon('transit_import_load', { MAEUL_HTTP_BODY_LIMIT: String(64 * 1024 * 1024) });

  test('GET /healthz answers within 500 ms all through an import of 300,000 stop_times', async () => {
    const zip = execFileSync(process.execPath, [path.join(h.ROOT, 'bench', 'transit_feed.mjs'), String(STOP_TIMES)],
      { maxBuffer: 256 * 1024 * 1024, stdio: ['ignore', 'pipe', 'ignore'] });
    const T = ctx.d.bootstrapToken;
    // one check first: the client's response validator (tests/e2e/lib/openapi.js) compiles its
    // schemas on first use, which would count against the server
    h.assertStatus(await h.request(ctx.d, 'GET', '/healthz'), 200);
    let done = false;
    // node:http, not fetch: the second import must not overtake the first, whose body takes a while
    // to upload on a busy machine. `sent` is when the whole body has been handed to the socket.
    let sentAt = null;
    const importing = new Promise((resolve, reject) => {
      const req = http.request({
        host: '127.0.0.1', port: ctx.d.port, path: '/api/v1/transit/gtfs', method: 'POST', agent: false,
        headers: { authorization: `Bearer ${T}`, 'content-type': 'application/zip', 'content-length': zip.length },
      }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => resolve({ status: res.statusCode, text: Buffer.concat(chunks).toString('utf8') }));
      });
      req.on('error', reject);
      req.on('finish', () => { sentAt = Date.now(); });
      req.end(zip);
    }).finally(() => { done = true; });
    const latencies = [];
    let second = null;
    const deadline = Date.now() + 120000;
    while (!done) {
      assert.ok(Date.now() < deadline, 'the import did not finish within 120 s');
      const t0 = process.hrtime.bigint();
      const res = await h.request(ctx.d, 'GET', '/healthz');
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      h.assertStatus(res, 200);
      if (!done) latencies.push(ms);
      // The server takes the import once it has read the body: 300 ms after the last byte left, with
      // health checks answered meanwhile, it holds the import (which runs for seconds).
      if (second === null && sentAt !== null && Date.now() - sentAt > 300 && latencies.length >= 3 && !done) {
        second = await h.request(ctx.d, 'POST', '/api/v1/transit/gtfs',
          { token: T, rawBody: zip.subarray(0, 100), headers: { 'content-type': 'application/zip' } });
      }
    }
    const res = await importing;
    assert.equal(res.status, 200, res.text);
    const body = JSON.parse(res.text);
    assert.equal(body.imported.stop_times, STOP_TIMES);
    assert.equal(body.error_count, 0);
    assert.ok(latencies.length >= 5, `only ${latencies.length} health checks ran during the import`);
    const worst = Math.max(...latencies);
    assert.ok(worst < 500, `slowest GET /healthz during the import: ${worst.toFixed(0)} ms (of ${latencies.length})`);
    assert.ok(second, 'a second import was sent during the first');
    const p = h.assertProblem(second, 503);
    assert.match(p.detail, /another GTFS import is running/);
    // the network is the new feed's
    assert.equal(body.imported.routes, 100);
    const r = h.assertJson(await h.request(ctx.d, 'GET', '/api/v1/transit/routes/r42', { token: T }), 200);
    assert.equal(r.trips, STOP_TIMES / 25 / 100); // 25 stop times a trip, 100 routes
  });
});
