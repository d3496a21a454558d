'use strict';
// The daemon: health, readiness, metrics, the CLI, startup failures, migrations, SIGTERM.
// Contract: API.md §2 and §3 (health/metrics); docs/api-notes.md "Running the daemon" and "Metrics".

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/harness');

const METRIC_NAMES = [
  'maeul_http_requests_total',
  'maeul_http_request_duration_seconds',
  'maeul_http_connections_active',
  'maeul_db_pool_size',
  'maeul_db_pool_in_use',
  'maeul_db_pool_waiting',
  'process_resident_memory_bytes',
  'process_virtual_memory_bytes',
  'process_start_time_seconds',
];

async function scrape(d) {
  const res = await h.request(d, 'GET', '/metrics', { token: d.bootstrapToken });
  h.assertStatus(res, 200, 'GET /metrics');
  return res;
}

function requestCount(samples, pred) {
  return samples
    .filter((s) => s.name === 'maeul_http_requests_total' && pred(s.labels))
    .reduce((a, s) => a + s.value, 0);
}

describe('running daemon', () => {
  const ctx = h.useDaemon('daemon', { MAEUL_DB_POOL_SIZE: '3' });

  test('logs "listening on http://127.0.0.1:PORT" with the real port (port 0 picks a free one)', () => {
    assert.equal(ctx.d.host, '127.0.0.1');
    assert.ok(ctx.d.port > 0 && ctx.d.port < 65536, `port ${ctx.d.port}`);
  });

  test('MAEUL_LOG_FORMAT=json: every stderr line is one JSON object', () => {
    const lines = ctx.d.stderrLines;
    assert.ok(lines.length > 0, 'some log output');
    for (const l of lines) {
      let o;
      assert.doesNotThrow(() => { o = JSON.parse(l); }, `log line is JSON: ${l}`);
      assert.equal(typeof o, 'object', `log line is an object: ${l}`);
      assert.ok(o !== null && !Array.isArray(o), `log line is an object: ${l}`);
    }
  });

  test('GET /healthz → 200 without a token', async () => {
    const res = await h.request(ctx.d, 'GET', '/healthz');
    h.assertStatus(res, 200);
  });

  test('GET /readyz → 200 without a token while the database answers', async () => {
    const res = await h.request(ctx.d, 'GET', '/readyz');
    h.assertStatus(res, 200);
  });

  test('GET /metrics is Prometheus text with every documented metric', async () => {
    const res = await scrape(ctx.d);
    assert.match(res.contentType, /^text\/plain/, 'Prometheus text content type');
    const samples = h.parseProm(res.text); // throws on a malformed line
    const names = new Set(samples.map((s) => s.name));
    for (const n of METRIC_NAMES) {
      if (n === 'maeul_http_request_duration_seconds') {
        for (const suffix of ['_bucket', '_sum', '_count']) {
          assert.ok(names.has(n + suffix), `${n}${suffix} present`);
        }
        assert.match(res.text, new RegExp(`^# TYPE ${n} histogram$`, 'm'), `${n} is a histogram`);
        const inf = samples.find((s) => s.name === n + '_bucket' && s.labels.le === '+Inf');
        assert.ok(inf, `${n}_bucket{le="+Inf"} present`);
        assert.ok('route' in inf.labels, `${n} has a route label`);
      } else {
        assert.ok(names.has(n), `${n} present in /metrics`);
      }
    }
    assert.match(res.text, /^# TYPE maeul_http_requests_total counter$/m, 'requests_total is a counter');
    const rt = samples.find((s) => s.name === 'maeul_http_requests_total');
    for (const l of ['route', 'method', 'status']) assert.ok(l in rt.labels, `requests_total has label ${l}`);
  });

  test('metric families have # TYPE lines of the right kind; histogram buckets are cumulative', async () => {
    const res = await scrape(ctx.d);
    const types = {};
    for (const m of res.text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) types[m[1]] = m[2];
    assert.equal(types.maeul_http_requests_total, 'counter');
    assert.equal(types.maeul_http_request_duration_seconds, 'histogram');
    for (const g of ['maeul_http_connections_active', 'maeul_db_pool_size', 'maeul_db_pool_in_use', 'maeul_db_pool_waiting',
      'process_resident_memory_bytes', 'process_virtual_memory_bytes', 'process_start_time_seconds']) {
      assert.equal(types[g], 'gauge', `# TYPE ${g} gauge`);
    }
    const samples = h.parseProm(res.text);
    const byRoute = {};
    for (const s of samples.filter((x) => x.name === 'maeul_http_request_duration_seconds_bucket')) {
      (byRoute[s.labels.route] = byRoute[s.labels.route] || []).push(s);
    }
    assert.ok(Object.keys(byRoute).length > 0, 'some histogram series');
    for (const [route, buckets] of Object.entries(byRoute)) {
      const les = buckets.map((b) => (b.labels.le === '+Inf' ? Infinity : Number(b.labels.le)));
      const sortedB = buckets.map((b, i) => [les[i], b.value]).sort((a, b) => a[0] - b[0]);
      for (let i = 1; i < sortedB.length; i++) {
        assert.ok(sortedB[i][1] >= sortedB[i - 1][1], `${route}: buckets are cumulative (${JSON.stringify(sortedB)})`);
      }
      const count = samples.find((x) => x.name === 'maeul_http_request_duration_seconds_count' && x.labels.route === route);
      assert.ok(count, `${route}: _count present`);
      assert.equal(sortedB[sortedB.length - 1][1], count.value, `${route}: +Inf bucket equals _count`);
    }
  });

  test('metric values are plausible (pool size from MAEUL_DB_POOL_SIZE, start time, memory)', async () => {
    const samples = h.parseProm((await scrape(ctx.d)).text);
    const get = (n) => samples.find((s) => s.name === n);
    assert.equal(get('maeul_db_pool_size').value, 3, 'maeul_db_pool_size follows MAEUL_DB_POOL_SIZE=3');
    const now = Date.now() / 1000;
    const st = get('process_start_time_seconds').value;
    assert.ok(st > now - 600 && st <= now + 5, `process_start_time_seconds ${st} is about now (${now})`);
    assert.ok(get('process_resident_memory_bytes').value > 1e6, 'RSS > 1 MB');
    assert.ok(get('process_virtual_memory_bytes').value >= get('process_resident_memory_bytes').value, 'VSZ >= RSS');
    assert.ok(get('maeul_http_connections_active').value >= 1, 'the scraping connection is active');
    assert.ok(get('maeul_db_pool_in_use').value >= 0);
    assert.ok(get('maeul_db_pool_waiting').value >= 0);
  });

  test('request counters grow with requests', async () => {
    const isHealthz = (l) => /healthz/.test(l.route) && l.method === 'GET' && l.status === '200';
    const before = requestCount(h.parseProm((await scrape(ctx.d)).text), isHealthz);
    for (let i = 0; i < 5; i++) h.assertStatus(await h.request(ctx.d, 'GET', '/healthz'), 200);
    const samples = h.parseProm((await scrape(ctx.d)).text);
    const afterCount = requestCount(samples, isHealthz);
    assert.ok(afterCount >= before + 5, `GET /healthz 200 counter grew by >= 5: ${before} → ${afterCount}`);
    const hc = samples.filter((s) => s.name === 'maeul_http_request_duration_seconds_count' && /healthz/.test(s.labels.route));
    assert.ok(hc.length && hc[0].value >= 5, 'duration histogram counts /healthz requests');

    // 401s on /api/ routes are counted with their status
    const is401 = (l) => l.status === '401';
    const b401 = requestCount(samples, is401);
    h.assertStatus(await h.request(ctx.d, 'GET', '/api/v1/zones'), 401);
    const a401 = requestCount(h.parseProm((await scrape(ctx.d)).text), is401);
    assert.ok(a401 >= b401 + 1, `status="401" counter grew: ${b401} → ${a401}`);
  });

  test('maeul_http_connections_active follows open connections', async () => {
    const gauge = async () => h.parseProm((await scrape(ctx.d)).text).find((s) => s.name === 'maeul_http_connections_active').value;
    const base = await gauge();
    const conns = [];
    for (let i = 0; i < 5; i++) {
      const c = await h.RawConn.connect(ctx.d.port);
      await c.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
      assert.equal((await c.readResponse()).status, 200);
      conns.push(c);
    }
    await h.pollUntil(async () => (await gauge()) >= base + 5, { timeoutMs: 3000, what: `connections_active >= ${base + 5}` });
    for (const c of conns) c.destroy();
    await h.pollUntil(async () => (await gauge()) <= base + 1, { timeoutMs: 3000, what: `connections_active back to <= ${base + 1}` });
  });

  test('the route label is the route, not the raw path (bounded label values)', async () => {
    const tag = 'zzuniq' + Date.now();
    await h.request(ctx.d, 'GET', `/api/v1/zones/${tag}-a`, { token: ctx.d.bootstrapToken });
    await h.request(ctx.d, 'GET', `/no/such/${tag}-b`);
    const text = (await scrape(ctx.d)).text;
    assert.ok(!text.includes(tag), `no metric label contains the raw path segment ${tag}`);
  });

  test('`maeuld token create --role operator --name x` prints only the token; it works as an operator', async () => {
    const r = await h.runMaeuld(['token', 'create', '--role', 'operator', '--name', 'x', '--config', h.CONFIG], ctx.d.env);
    assert.equal(r.code, 0, `exit code 0; stderr: ${r.stderr}`);
    const lines = r.stdout.split('\n').filter((l) => l !== '');
    assert.equal(lines.length, 1, `stdout is exactly one line: ${JSON.stringify(r.stdout)}`);
    const token = lines[0];
    assert.match(token, /^\S{16,}$/, 'a token without spaces, at least 16 characters');
    h.assertStatus(await h.request(ctx.d, 'GET', '/api/v1/zones', { token }), 200, 'operator reads zones');
    const w = await h.request(ctx.d, 'POST', '/api/v1/zones', { token, body: h.zoneBody('cli-op-zone') });
    h.assertProblem(w, 403, 'forbidden');
    const list = await h.request(ctx.d, 'GET', '/api/v1/tokens', { token: ctx.d.bootstrapToken });
    const b = h.assertJson(list, 200);
    assert.ok(b.items.some((t) => t.name === 'x' && t.role === 'operator'), `token "x" listed: ${list.text}`);
    assert.ok(!list.text.includes(token), 'token list does not reveal the secret');
    // a second token with the same command is different
    const r2 = await h.runMaeuld(['token', 'create', '--role', 'operator', '--name', 'x2', '--config', h.CONFIG], ctx.d.env);
    assert.equal(r2.code, 0);
    assert.notEqual(r2.stdout.trim(), token, 'tokens are unique');
  });

  test('`maeuld token create` with an unknown role fails non-zero', async () => {
    const r = await h.runMaeuld(['token', 'create', '--role', 'overlord', '--name', 'y', '--config', h.CONFIG], ctx.d.env);
    assert.notEqual(r.code, 0, 'non-zero exit');
    assert.equal(r.stdout.trim(), '', 'no token printed');
  });
});

describe('CLI basics', () => {
  test('`maeuld --version` exits 0 and prints a version', async () => {
    const r = await h.runMaeuld(['--version'], h.daemonEnv(undefined), 10000);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout + r.stderr, /\d+\.\d+/);
  });

  test('`maeuld --help` exits 0 and mentions the subcommands', async () => {
    const r = await h.runMaeuld(['--help'], h.daemonEnv(undefined), 10000);
    assert.equal(r.code, 0, r.stderr);
    const out = r.stdout + r.stderr;
    for (const w of ['serve', 'migrate', 'token']) assert.match(out, new RegExp(w), `help mentions ${w}`);
  });
});

describe('startup failures: exit non-zero with one clear line on stderr', () => {
  let db;
  before(() => { db = h.createDatabase('startfail'); });
  after(() => { h.dropDatabase(db); });

  function oneLine(r) {
    const lines = r.stderr.split('\n').filter((l) => l.trim() !== '');
    assert.equal(lines.length, 1, `exactly one stderr line, got ${lines.length}: ${r.stderr}`);
    return lines[0];
  }

  test('MAEUL_HTTP_LISTEN=nonsense → exit 1, one line naming the bad setting', async () => {
    const r = await h.runMaeuld(['serve', '--config', h.CONFIG], h.daemonEnv(db, { MAEUL_HTTP_LISTEN: 'nonsense' }), 10000);
    assert.equal(r.timedOut, false, 'exits by itself');
    assert.equal(r.code, 1, `exit code 1 (config); stderr: ${r.stderr}`);
    const line = oneLine(r);
    assert.match(line, /listen|nonsense/i, 'the line names the setting or value');
  });

  test('MAEUL_HTTP_BODY_LIMIT=lots → exit 1, one line', async () => {
    const r = await h.runMaeuld(['serve', '--config', h.CONFIG], h.daemonEnv(db, { MAEUL_HTTP_BODY_LIMIT: 'lots' }), 10000);
    assert.equal(r.timedOut, false, 'exits by itself');
    assert.equal(r.code, 1, `exit code 1 (config); stderr: ${r.stderr}`);
    assert.match(oneLine(r), /body_limit|BODY_LIMIT|lots/i);
  });

  test('a config file that does not exist → exit 1, one line naming the file', async () => {
    const missing = '/nonexistent/maeul-e2e-missing.toml';
    const r = await h.runMaeuld(['serve', '--config', missing], h.daemonEnv(db), 10000);
    assert.equal(r.timedOut, false, 'exits by itself');
    assert.equal(r.code, 1, `exit code 1 (config); stderr: ${r.stderr}`);
    assert.match(oneLine(r), /maeul-e2e-missing\.toml/);
  });

  test('MAEUL_LOG_LEVEL=loud → exit 1, one line', async () => {
    const r = await h.runMaeuld(['serve', '--config', h.CONFIG], h.daemonEnv(db, { MAEUL_LOG_LEVEL: 'loud' }), 10000);
    assert.equal(r.timedOut, false, 'exits by itself');
    assert.equal(r.code, 1, `exit code 1 (config); stderr: ${r.stderr}`);
    assert.match(oneLine(r), /level|loud/i);
  });

  for (const [key, value] of [
    ['MAEUL_HTTP_LISTEN', '127.0.0.1:70000'],
    ['MAEUL_HTTP_LISTEN', '127.0.0.1'],
    ['MAEUL_DB_POOL_SIZE', '0'],
    ['MAEUL_DB_POOL_SIZE', 'four'],
    ['MAEUL_HTTP_READ_TIMEOUT_MS', '-1'],
    ['MAEUL_LOG_FORMAT', 'xml'],
    ['MAEUL_CITY_TIMEZONE', 'Mars/Olympus_Mons'],
  ]) {
    test(`${key}=${value} → exit 1, one line`, async () => {
      const r = await h.runMaeuld(['serve', '--config', h.CONFIG], h.daemonEnv(db, { [key]: value }), 5000);
      assert.equal(r.timedOut, false, 'exits by itself');
      assert.equal(r.code, 1, `exit code 1 (config); stderr: ${r.stderr}`);
      oneLine(r);
    });
  }

  test('a port already in use → a clean non-zero exit (no crash) with a line naming the address', async () => {
    const net = require('node:net');
    const srv = net.createServer();
    await new Promise((r) => srv.listen(0, '127.0.0.1', r));
    const port = srv.address().port;
    try {
      const r = await h.runMaeuld(['serve', '--config', h.CONFIG], h.daemonEnv(db, { MAEUL_HTTP_LISTEN: `127.0.0.1:${port}` }), 10000);
      assert.equal(r.timedOut, false, 'exits by itself');
      assert.equal(r.signal, null, `exits, not killed by a signal (${r.signal}); stderr: ${r.stderr}`);
      assert.notEqual(r.code, 0, 'non-zero exit');
      assert.doesNotMatch(r.stderr, /terminate called|what\(\)|Aborted|core dumped/, 'no uncaught exception');
      const lines = r.stderr.split('\n').filter((l) => l.trim() !== '');
      assert.match(lines[lines.length - 1] || '', new RegExp(`${port}|address|in use`, 'i'), 'the last line says what failed');
    } finally {
      srv.close();
    }
  });

  test('a config file with a TOML syntax error → exit 1, one line naming the file', async () => {
    const fs = require('node:fs');
    const os = require('node:os');
    const path = require('node:path');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'maeul-e2e-'));
    const file = path.join(dir, 'broken-config.toml');
    fs.writeFileSync(file, '[http\nlisten = "127.0.0.1:0"\n');
    try {
      const r = await h.runMaeuld(['serve', '--config', file], h.daemonEnv(db), 10000);
      assert.equal(r.timedOut, false, 'exits by itself');
      assert.equal(r.code, 1, `exit code 1 (config); stderr: ${r.stderr}`);
      assert.match(oneLine(r), /broken-config\.toml/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a database that does not exist → exit 2, one line', async () => {
    const env = h.daemonEnv(db, { MAEUL_DB_URL: h.dbUrl('maeul_e2e_no_such_database') });
    const r = await h.runMaeuld(['serve', '--config', h.CONFIG], env, 12000);
    assert.equal(r.timedOut, false, 'exits by itself');
    assert.equal(r.code, 2, `exit code 2 (database); stderr: ${r.stderr}`);
    oneLine(r);
  });

  test('`maeuld migrate` against an unreachable database fails non-zero, one line', async () => {
    const port = await h.closedPort();
    const env = h.daemonEnv(db, { MAEUL_DB_URL: h.dbUrl(db, { host: '127.0.0.1', port }) });
    const r = await h.runMaeuld(['migrate', '--config', h.CONFIG], env, 12000);
    assert.equal(r.timedOut, false, 'exits by itself');
    assert.notEqual(r.code, 0, 'non-zero exit');
    oneLine(r);
  });

  test('unreachable database (closed port) → exit 2 quickly, one line', async () => {
    const port = await h.closedPort();
    const env = h.daemonEnv(db, { MAEUL_DB_URL: h.dbUrl(db, { host: '127.0.0.1', port }) });
    const r = await h.runMaeuld(['serve', '--config', h.CONFIG], env, 12000);
    assert.equal(r.timedOut, false, 'exits by itself');
    assert.equal(r.code, 2, `exit code 2 (database); stderr: ${r.stderr}`);
    assert.ok(r.elapsedMs < 8000, `exits quickly (${r.elapsedMs} ms)`);
    const line = oneLine(r);
    assert.match(line, /database|connect|postgres|db/i, 'the line says what failed');
    assert.ok(!line.includes(process.env.PGPASSWORD || '\u0000'), 'the line does not print the database password');
  });
});

describe('maeuld migrate', () => {
  let db;
  before(() => { db = h.createDatabase('migrate'); });
  after(() => { h.dropDatabase(db); });

  const tables = () => h.psql(
    "SELECT table_schema||'.'||table_name FROM information_schema.tables " +
    "WHERE table_schema NOT IN ('pg_catalog','information_schema','tiger','topology') ORDER BY 1", db,
  ).trim();

  test('on an empty database creates the schema, and is idempotent', async () => {
    assert.equal(h.psql("SELECT count(*) FROM information_schema.tables WHERE table_schema='public'", db).trim(), '0',
      'database starts empty');
    const env = h.daemonEnv(db);
    const r1 = await h.runMaeuld(['migrate', '--config', h.CONFIG], env, 60000);
    assert.equal(r1.code, 0, `first migrate exits 0; stderr: ${r1.stderr}`);
    const t1 = tables();
    assert.ok(t1.split('\n').length >= 3, `migrate created tables: ${t1}`);
    const r2 = await h.runMaeuld(['migrate', '--config', h.CONFIG], env, 60000);
    assert.equal(r2.code, 0, `second migrate exits 0; stderr: ${r2.stderr}`);
    assert.equal(tables(), t1, 'second migrate changes nothing');
  });

  test('serve starts on the migrated database and answers', async () => {
    const d = await h.startDaemon({ db });
    try {
      h.assertStatus(await h.request(d, 'GET', '/readyz'), 200);
      h.assertStatus(await h.request(d, 'GET', '/api/v1/zones', { token: d.bootstrapToken }), 200);
    } finally {
      assert.equal(await d.stop(), 0, 'exit 0 on SIGTERM');
    }
  });
});

describe('SIGTERM', () => {
  let db;
  before(() => { db = h.createDatabase('sigterm'); });
  after(() => { h.dropDatabase(db); });

  test('exits 0 promptly while an idle keep-alive connection is open', async () => {
    const d = await h.startDaemon({ db });
    let conn;
    try {
      conn = await h.RawConn.connect(d.port);
      await conn.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: keep-alive\r\n\r\n');
      const r = await conn.readResponse();
      assert.equal(r.status, 200);
      assert.equal(conn.closed, false, 'connection kept alive');
      const t0 = Date.now();
      d.child.kill('SIGTERM');
      const { code } = await h.withTimeout(d.exited, 10000, 'exit after SIGTERM');
      assert.equal(code, 0, `exit code 0; stderr tail: ${d.stderr.slice(-1000)}`);
      assert.ok(Date.now() - t0 < 10000);
      assert.ok(await conn.waitClose(2000), 'the keep-alive connection is closed');
    } finally {
      if (conn) conn.destroy();
      if (d.exitCode === undefined) await d.stop().catch(() => {});
    }
  });

  test('SIGINT also exits 0', async () => {
    const d = await h.startDaemon({ db });
    h.assertStatus(await h.request(d, 'GET', '/healthz'), 200);
    d.child.kill('SIGINT');
    const { code } = await h.withTimeout(d.exited, 10000, 'exit after SIGINT');
    assert.equal(code, 0);
  });
});

describe('database outage', () => {
  const ctx = h.useDaemon('outage', { MAEUL_DB_CONNECT_TIMEOUT_S: '2' });

  const block = (on) => {
    h.psql(`ALTER DATABASE ${ctx.db} ALLOW_CONNECTIONS ${on ? 'false' : 'true'}`);
    if (on) h.psql(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${ctx.db}' AND pid <> pg_backend_pid()`);
  };

  test('/readyz → 503 while the database is gone, /healthz stays 200, API answers 503; all recover', async () => {
    const T = ctx.d.bootstrapToken;
    h.assertStatus(await h.request(ctx.d, 'POST', '/api/v1/zones', { token: T, body: h.zoneBody('before-outage') }), 201);
    block(true);
    try {
      await h.pollUntil(async () => (await h.request(ctx.d, 'GET', '/readyz')).status === 503,
        { timeoutMs: 10000, intervalMs: 200, what: '/readyz 503 during the outage' });
      h.assertStatus(await h.request(ctx.d, 'GET', '/healthz'), 200, '/healthz during the outage');
      const t0 = Date.now();
      const res = await h.request(ctx.d, 'GET', '/api/v1/zones', { token: T });
      h.assertProblem(res, 503, 'unavailable');
      assert.ok(Date.now() - t0 < 8000, `answers within the connect timeout (${Date.now() - t0} ms)`);
    } finally {
      block(false);
    }
    await h.pollUntil(async () => (await h.request(ctx.d, 'GET', '/readyz')).status === 200,
      { timeoutMs: 15000, intervalMs: 200, what: '/readyz 200 after the outage' });
    await h.pollUntil(async () => (await h.request(ctx.d, 'GET', '/api/v1/zones/before-outage', { token: T })).status === 200,
      { timeoutMs: 10000, intervalMs: 200, what: 'the API answers again after the outage' });
    h.assertJson(await h.request(ctx.d, 'POST', '/api/v1/zones', { token: T, body: h.zoneBody('after-outage') }), 201);
  });
});

describe('SIGTERM during a burst of writes', () => {
  let db;
  before(() => { db = h.createDatabase('burst'); });
  after(() => { h.dropDatabase(db); });

  test('every write answered 201 is stored; no response is cut short; exit 0', async () => {
    const d = await h.startDaemon({ db });
    const T = d.bootstrapToken;
    const N = 60;
    let firstDone;
    const first = new Promise((r) => { firstDone = r; });
    const results = await Promise.all([
      ...Array.from({ length: N }, (_, i) => h.request(d, 'POST', '/api/v1/zones', { token: T, body: h.zoneBody(`burst-${i}`) })
        .then((res) => { firstDone(); return { i, res }; }, (err) => ({ i, err }))),
      first.then(() => { d.child.kill('SIGTERM'); }),
    ]);
    const { code } = await h.withTimeout(d.exited, 15000, 'exit after SIGTERM');
    assert.equal(code, 0, `exit 0; stderr tail: ${d.stderr.slice(-1500)}`);
    const answered = [];
    for (const r of results.slice(0, N)) {
      if (r.err) continue; // refused or reset before any response: acceptable during shutdown
      assert.ok([201, 503].includes(r.res.status), `burst-${r.i}: ${h.describeRes(r.res)}`);
      if (r.res.status === 201) {
        assert.equal(r.res.json && r.res.json.id, `burst-${r.i}`, 'a whole JSON body');
        answered.push(`burst-${r.i}`);
      }
    }
    assert.ok(answered.length >= 1, 'at least the first write was answered');
    const d2 = await h.startDaemon({ db });
    try {
      for (const id of answered) {
        h.assertStatus(await h.request(d2, 'GET', `/api/v1/zones/${id}`, { token: d2.bootstrapToken }), 200, `${id} stored`);
      }
    } finally {
      assert.equal(await d2.stop(), 0);
    }
  });
});
