// The command line and the HTTP side, against a small fake maeuld (node:http on 127.0.0.1).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { spawnSync } from 'node:child_process';
import { run, parseArgs } from '../../tools/import/maeul-import.mjs';
import { Client, HttpFailure } from '../../tools/import/lib/client.mjs';
import { DATA_DIR, IMPORTER, needData } from './helpers.mjs';

// A fake daemon. behaviour(body) -> [status, json, headers] for observations.
async function fakeServer(behaviour) {
  const state = { sensors: new Map(), inFlight: 0, maxInFlight: 0, batches: [], auth: new Set() };
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', async () => {
      state.auth.add(req.headers.authorization);
      const send = (status, json, headers = {}) => {
        res.writeHead(status, { 'Content-Type': status >= 400 ? 'application/problem+json' : 'application/json', ...headers });
        res.end(JSON.stringify(json));
      };
      if (req.method === 'POST' && req.url === '/api/v1/sensors') {
        const s = JSON.parse(body);
        if (state.sensors.has(s.id)) return send(409, { status: 409, title: 'Conflict' });
        state.sensors.set(s.id, s);
        return send(201, s);
      }
      if (req.method === 'GET' && req.url.startsWith('/api/v1/sensors/')) {
        const s = state.sensors.get(decodeURIComponent(req.url.slice(16)));
        return s ? send(200, s) : send(404, { status: 404 });
      }
      if (req.method === 'POST' && req.url === '/api/v1/observations') {
        assert.equal(req.headers['content-type'], 'application/json');
        const obs = JSON.parse(body).observations;
        state.inFlight++;
        state.maxInFlight = Math.max(state.maxInFlight, state.inFlight);
        await new Promise((r) => setTimeout(r, 15));
        state.inFlight--;
        state.batches.push(obs.length);
        const [status, json, headers] = behaviour(obs, state);
        return send(status, json, headers);
      }
      send(404, { status: 404 });
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${server.address().port}`;
  return { url, state, close: () => new Promise((r) => server.close(r)) };
}

const opts = (url, extra = {}) => ({ url, token: 'tok', dataset: 'ordonez-adl', dataDir: DATA_DIR, batch: 500, concurrency: 4, limit: null, dryRun: false, quiet: true, ...extra });

test('posts batches with 4 in flight, creates sensors once, sums the answers', needData, async () => {
  const srv = await fakeServer((obs) => [200, {
    accepted: obs.length - 2, duplicates: 1,
    rejected: [{ index: 0, error: 'value above the metric max', pointer: '/observations/0/value' }],
  }]);
  try {
    const { report, code } = await run(opts(srv.url), () => {});
    assert.equal(code, 0);
    const s = report.server;
    assert.equal(s.posted, 6954);
    assert.equal(s.requests, 14);
    assert.deepEqual(srv.state.batches.sort((a, b) => b - a).slice(0, 2), [500, 500]);
    assert.equal(srv.state.maxInFlight, 4);
    assert.equal(s.accepted, 6954 - 28);
    assert.equal(s.duplicates, 14);
    assert.deepEqual([...s.rejected], [['value above the metric max', 14]]);
    assert.equal(report.sensors.created, 26);
    assert.deepEqual([...srv.state.auth], ['Bearer tok']);
    // a second run finds the sensors there
    const again = await run(opts(srv.url, { limit: 10 }), () => {});
    assert.equal(again.report.sensors.existing, again.report.sensors.needed);
    assert.equal(again.report.server.posted, 10);
  } finally { await srv.close(); }
});

test('a batch refused as a whole (422 with rejected) is counted, not an error', needData, async () => {
  const srv = await fakeServer((obs) => [422, { status: 422, title: 'Invalid input', errors: [], accepted: 0, duplicates: 0, rejected: obs.map((_, i) => ({ index: i, error: 'unknown sensor' })) }]);
  try {
    const { report, code } = await run(opts(srv.url, { limit: 1200 }), () => {});
    assert.equal(code, 0);
    assert.deepEqual([...report.server.rejected], [['unknown sensor', 1200]]);
  } finally { await srv.close(); }
});

test('an HTTP error stops the import with exit code 1; 503 is retried', needData, async () => {
  let calls = 0;
  const srv = await fakeServer((obs) => {
    calls++;
    if (calls === 1) return [503, { status: 503, title: 'Unavailable' }, { 'Retry-After': '0' }];
    if (calls === 4) return [500, { status: 500, title: 'Internal error' }];
    return [200, { accepted: obs.length, duplicates: 0, rejected: [] }];
  });
  try {
    const { report, code } = await run(opts(srv.url, { concurrency: 1 }), () => {});
    assert.equal(code, 1);
    assert.match(report.error, /HTTP 500/);
    assert.equal(report.server.requests, 2, 'the 503 was retried; the 500 stopped it');
  } finally { await srv.close(); }
});

test('an unreachable server is exit code 2', async () => {
  const c = new Client('http://127.0.0.1:9', 't');
  await assert.rejects(c.postObservations([{ sensor: 's', metric: 'm', ts: '2020-01-01T00:00:00Z', value: 1 }], { retries: 0 }),
    (e) => e instanceof HttpFailure && e.code === 2);
});

test('arguments: token from MAEUL_TOKEN, --dry-run needs no server', () => {
  const o = parseArgs(['--url', 'http://x:1/', '--dataset', 'seoul-air', '--batch=250'], { MAEUL_TOKEN: 'env-token' });
  assert.equal(o.token, 'env-token');
  assert.equal(o.batch, 250);
  assert.equal(o.concurrency, 4);
  assert.equal(parseArgs(['--dataset', 'i94-traffic', '--dry-run'], {}).dryRun, true);
});

test('the CLI: --dry-run --json, bad arguments (64), missing data (3)', needData, () => {
  const ok = spawnSync(process.execPath, [IMPORTER, '--dataset', 'kr-power', '--dry-run', '--json', '--data-dir', DATA_DIR], { encoding: 'utf8' });
  assert.equal(ok.status, 0, ok.stderr);
  const rep = JSON.parse(ok.stdout);
  assert.equal(rep.rows_read, 54330);
  assert.equal(rep.sensors.needed, 17);
  assert.equal(rep.server, null);
  const bad = spawnSync(process.execPath, [IMPORTER, '--dataset', 'nope', '--dry-run'], { encoding: 'utf8' });
  assert.equal(bad.status, 64);
  assert.match(bad.stderr, /unknown data set nope/);
  const noUrl = spawnSync(process.execPath, [IMPORTER, '--dataset', 'seoul-air'], { encoding: 'utf8', env: { ...process.env, MAEUL_TOKEN: '' } });
  assert.equal(noUrl.status, 64);
  const missing = spawnSync(process.execPath, [IMPORTER, '--dataset', 'seoul-air', '--dry-run', '--data-dir', '/nonexistent'], { encoding: 'utf8' });
  assert.equal(missing.status, 3);
  assert.match(missing.stderr, /data file not found/);
  const text = spawnSync(process.execPath, [IMPORTER, '--dataset', 'seoul-subway', '--dry-run', '--data-dir', DATA_DIR], { encoding: 'utf8' });
  assert.match(text.stdout, /BOM stripped/);
  assert.match(text.stdout, /readings parsed: +38,278/);
});
