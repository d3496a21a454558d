'use strict';
// The local spool (shared/API.md §10): with PostgreSQL really stopped (a private cluster of this
// file's own, stopped with pg_ctl), POST /api/v1/observations answers 202 {"accepted","spooled",
// "rejected"} once readings are fsync'd in spool.dir; `kill -9` of maeuld while the database is
// down loses none of them (and a torn tail appended to the last segment is cut off, never
// replayed); after PostgreSQL is back every spooled reading is stored exactly once (rows counted
// in the database), in order, reaches the live feed once and moves the latest values; `kill -9`
// in the middle of a replay (one record committed, the next held by a lock) loses nothing and the
// restarted replay publishes only what it newly stored; a full
// spool answers 503 with Retry-After and writes nothing; GET /api/v1/status tells the operator.

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync, spawn } = require('node:child_process');
const h = require('./lib/harness');
const I = require('./lib/ingest-helpers');
const L = require('./lib/live-helpers');

const { SEC } = I;
const PG_LIB = `source ${h.ROOT}/scripts/lib/common.sh; source ${h.ROOT}/scripts/lib/pg.sh`;

// Runs a pg.sh function in bash; returns its stdout.
function pgsh(script) {
  return execFileSync('bash', ['-c', `set -e; ${PG_LIB}; ${script}`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

describe('spool while PostgreSQL is stopped', () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'maeul-e2e-spool-'));
  const pgDir = path.join(work, 'pg');
  const spoolDir = path.join(work, 'spool');
  let port;
  let url;
  let env;
  let d;
  let T;
  let operatorToken;
  let analystToken;
  const base = Date.UTC(2026, 7, 1);
  const psqlPriv = (sql) =>
    execFileSync('psql', ['-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1', url, '-c', sql], { encoding: 'utf8' }).trim();
  const pgStart = () => pgsh(`PG_FSYNC=off pg_private_start ${pgDir} >/dev/null; echo $PG_PRIVATE_PORT`).trim();
  const pgStop = () => pgsh(`pg_private_stop ${pgDir}`);
  const stored = (sensor) =>
    psqlPriv(`SELECT count(*) || ',' || count(DISTINCT o.ts) FROM observations o JOIN series s ON s.id = o.series_id
              WHERE s.sensor_id = '${sensor}'`);
  const readings = (sensor, from, n) =>
    Array.from({ length: n }, (_, k) => ({ sensor, metric: 'level', ts: base + (from + k) * SEC, value: from + k }));
  const status = async (tok = T) => h.assertJson(await h.request(d, 'GET', '/api/v1/status', { token: tok }), 200);

  before(async () => {
    port = pgStart();
    url = `postgresql://postgres@127.0.0.1:${port}/maeul_spool`;
    execFileSync('psql', ['-X', '-q', `postgresql://postgres@127.0.0.1:${port}/postgres`, '-c', 'CREATE DATABASE maeul_spool']);
    // maeuld logs in as a role of its own, so one test can lock it out while PostgreSQL keeps running.
    psqlPriv('CREATE ROLE spooler LOGIN SUPERUSER');
    env = h.daemonEnv(null, {
      MAEUL_DB_URL: `postgresql://spooler@127.0.0.1:${port}/maeul_spool`,
      MAEUL_DB_CONNECT_TIMEOUT_S: '2',
      MAEUL_SPOOL_DIR: spoolDir,
      MAEUL_SPOOL_MAX_BYTES: '60000',
      MAEUL_SPOOL_SEGMENT_BYTES: '4096',
      MAEUL_INGEST_MAX_BATCH_ROWS: '100', // one 100-reading record per replay transaction (the kill-during-replay test)
    });
    d = new h.Daemon({ env });
    await d.start();
    T = d.bootstrapToken;
    for (const id of ['sp-a', 'sp-b', 'sp-c']) await I.makeSensor(d, id);
    operatorToken = (await h.createToken(d, 'operator', 'spool-operator')).token;
    analystToken = (await h.createToken(d, 'analyst', 'spool-analyst')).token;
  });

  after(async () => {
    try {
      if (d && d.exitCode === undefined && d.exitSignal === undefined) {
        const code = await d.stop();
        assert.equal(code, 0, `exit code after SIGTERM; stderr tail:\n${d.stderr.slice(-2000)}`);
      }
    } finally {
      pgStop();
      fs.rmSync(work, { recursive: true, force: true });
    }
  });

  test('status: admin and operator read it, analyst gets 403; database ok and an empty spool', async () => {
    const s = await status();
    assert.equal(s.database, 'ok');
    assert.deepEqual(s.spool, { bytes: 0, readings: 0, segments: 0, replaying: false });
    assert.equal(s.mqtt, null);
    assert.equal(s.tls, false);
    assert.equal(typeof s.version, 'string');
    assert.ok(Number.isInteger(s.uptime_s) && s.uptime_s >= 0);
    assert.equal((await status(operatorToken)).database, 'ok');
    h.assertProblem(await h.request(d, 'GET', '/api/v1/status', { token: analystToken }), 403, 'forbidden');
    h.assertStatus(await h.request(d, 'GET', '/api/v1/status'), 401);
  });

  test('database stopped: 202 spooled; kill -9 and a torn tail lose nothing; back: stored once, in order, published once', async () => {
    I.assertIngest(await I.postObs(d, T, readings('sp-a', 0, 10)), { accepted: 10 });

    pgStop();
    // 12 requests of 50 readings of sp-a (ts 10..609) and one with an unknown sensor in the middle.
    let spooled = 0;
    for (let j = 0; j < 12; j++) {
      const batch = readings('sp-a', 10 + j * 50, 50);
      if (j === 5) batch.splice(20, 0, { sensor: 'sp-nope', metric: 'level', ts: base, value: 1 });
      const res = await I.postObs(d, T, batch);
      const b = h.assertJson(res, 202);
      assert.equal(b.spooled, 50, res.text.slice(0, 300));
      assert.equal(b.accepted, 50);
      assert.deepEqual(b.rejected.map((x) => [x.index, x.pointer]), j === 5 ? [[20, '/observations/20/sensor']] : []);
      spooled += b.spooled;
    }
    const s1 = await status();
    assert.equal(s1.database, 'unreachable');
    assert.equal(s1.spool.readings, 600);
    assert.equal(s1.spool.bytes, 12 * (8 + 4 + 50 * 20), 'bytes: 12 records of 50 rows');
    assert.ok(s1.spool.segments >= 3, `segments of 4096 bytes: ${JSON.stringify(s1.spool)}`);

    // kill -9 while the database is down; then a crash in the middle of a record (a torn tail).
    d.child.kill('SIGKILL');
    await h.withTimeout(d.exited, 10000, 'maeuld did not die on SIGKILL');
    const segs = fs.readdirSync(spoolDir).filter((f) => f.endsWith('.spool')).sort();
    assert.ok(segs.length >= 3, `segment files: ${segs}`);
    fs.appendFileSync(path.join(spoolDir, segs[segs.length - 1]), Buffer.from([0x40, 0x00, 0x00, 0x00, 1, 2, 3, 4, 9, 9]));

    // A second database start-up: PostgreSQL first (maeuld refuses to start without it), then maeuld,
    // which replays the spool it finds.
    assert.equal(pgStart(), port);
    d = new h.Daemon({ env });
    await d.start();
    assert.match(d.stderr, /torn tail of 10 bytes/);
    await h.pollUntil(() => stored('sp-a') === '610,610', { timeoutMs: 15000, intervalMs: 100, what: `610 readings of sp-a stored (now ${stored('sp-a')})` });
    await h.pollUntil(async () => (await status()).spool.readings === 0, { timeoutMs: 5000, what: 'an empty spool' });
    const s2 = await status();
    assert.deepEqual(s2.spool, { bytes: 0, readings: 0, segments: 0, replaying: false });
    assert.equal(s2.database, 'ok');
    assert.deepEqual(fs.readdirSync(spoolDir).filter((f) => f.endsWith('.spool')), []);
    // every value is the one posted (value = index of its second)
    assert.equal(psqlPriv(`SELECT count(*) FROM observations o JOIN series s ON s.id = o.series_id
      WHERE s.sensor_id = 'sp-a' AND o.value <> extract(epoch FROM o.ts - timestamptz '${new Date(base).toISOString()}')`), '0');
    const latest = await I.getJson(d, T, '/api/v1/sensors/sp-a/latest');
    assert.equal(latest.metrics.level.value, 609);
    assert.equal(latest.metrics.level.ts, new Date(base + 609 * SEC).toISOString());
    const prom = h.parseProm((await h.request(d, 'GET', '/metrics', { token: T })).text);
    const val = (name, labels = {}) => (prom.find((m) => m.name === name && Object.entries(labels).every(([k, v]) => m.labels[k] === v)) || {}).value;
    assert.equal(val('maeul_spool_readings'), 0);
    assert.equal(val('maeul_spool_readings_total', { stage: 'replayed' }), 600);
    assert.equal(val('maeul_spool_readings_total', { stage: 'published' }), 600);
    assert.equal(val('maeul_database_up'), 1);
  });

  test('kill -9 in the middle of a replay: nothing lost, the committed record is not published again', async () => {
    // Two records in one segment: r1 in September, r2 in October. A transaction holding October's
    // partition locked lets the replay commit r1 and stop inside r2; then maeuld is killed. The
    // database stays up: maeuld's role is refused logins instead, so the lock is taken before the
    // replayer can reach the database.
    const sept = Date.UTC(2026, 8, 1);
    const oct = Date.UTC(2026, 9, 1);
    const rec = (t0, v0) => Array.from({ length: 100 }, (_, k) => ({ sensor: 'sp-c', metric: 'level', ts: t0 + k * SEC, value: v0 + k }));
    I.assertIngest(await I.postObs(d, T, [{ sensor: 'sp-c', metric: 'level', ts: oct + 3600 * SEC, value: -1 }]), { accepted: 1 });
    const octPart = psqlPriv(`SELECT o.tableoid::regclass FROM observations o JOIN series s ON s.id = o.series_id
      WHERE s.sensor_id = 'sp-c'`);
    assert.match(octPart, /^observations_[a-z]+_2026m10$/);
    const countIn = (from, to) => psqlPriv(`SELECT count(*) FROM observations o JOIN series s ON s.id = o.series_id
      WHERE s.sensor_id = 'sp-c' AND o.ts >= to_timestamp(${from / 1000}) AND o.ts < to_timestamp(${to / 1000})`);

    psqlPriv('ALTER ROLE spooler NOLOGIN');
    psqlPriv("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE usename = 'spooler'");
    assert.equal(h.assertJson(await I.postObs(d, T, rec(sept, 0)), 202).spooled, 100);
    assert.equal(h.assertJson(await I.postObs(d, T, rec(oct, 100)), 202).spooled, 100);
    let oneSegment = true;
    const locker = spawn('psql', ['-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1', url], { stdio: ['pipe', 'pipe', 'inherit'] });
    let lockerOut = '';
    locker.stdout.on('data', (x) => { lockerOut += x; });
    locker.stdin.write(`BEGIN; LOCK TABLE ${octPart} IN ACCESS EXCLUSIVE MODE; SELECT 'locked';\n`);
    try {
      await h.pollUntil(() => lockerOut.includes('locked'), { timeoutMs: 5000, what: 'the lock on October' });
      psqlPriv('ALTER ROLE spooler LOGIN');
      await h.pollUntil(() => countIn(sept, oct) === '100', { timeoutMs: 15000, intervalMs: 100, what: 'r1 committed by the replay' });
      const mid = await status();
      // Usually r1 and r2 share one segment, still there (200 readings). But the replayer takes the
      // open segment whenever it wakes, even while logins are refused: when it woke between the two
      // posts, r1 and r2 are in two segments, and r1's is gone once committed (100 readings left).
      assert.ok([100, 200].includes(mid.spool.readings), `r2 still spooled: ${JSON.stringify(mid.spool)}`);
      oneSegment = mid.spool.readings === 200;
      assert.equal(mid.spool.replaying, true);
      d.child.kill('SIGKILL');
      await h.withTimeout(d.exited, 10000, 'maeuld did not die on SIGKILL');
    } finally {
      locker.stdin.end('COMMIT;\n');
      await h.withTimeout(new Promise((r) => locker.once('exit', r)), 10000, 'psql did not exit');
    }
    assert.equal(countIn(oct, oct + 1800 * SEC), '0', 'r2 was not committed before the kill');

    d = new h.Daemon({ env });
    await d.start();
    await h.pollUntil(async () => (await status()).spool.readings === 0, { timeoutMs: 15000, what: 'the spool replayed after the restart' });
    assert.equal(countIn(sept, oct), '100');
    assert.equal(countIn(oct, oct + 1800 * SEC), '100');
    const prom = h.parseProm((await h.request(d, 'GET', '/metrics', { token: T })).text);
    const val = (stage) => prom.find((m) => m.name === 'maeul_spool_readings_total' && m.labels.stage === stage).value;
    assert.equal(val('replayed'), oneSegment ? 200 : 100, 'the segment holding r2 was written again, whole');
    assert.equal(val('published'), 100, 'only r2 was published: r1 came back as duplicates, or was not replayed again');
    const latest = await I.getJson(d, T, '/api/v1/sensors/sp-c/latest');
    assert.equal(latest.metrics.level.value, -1, 'the newest reading is still the direct one at 01:00');
  });

  test('a live subscriber sees each spooled reading once, in order, after the database is back', async () => {
    const ws = await L.connect(d, T);
    await ws.subscribeAndWait({ sensors: ['sp-b'] });
    I.assertIngest(await I.postObs(d, T, readings('sp-b', 0, 5)), { accepted: 5 });
    await ws.waitCount((m) => m.type === 'observation' && m.sensor === 'sp-b', 5, { what: 'the 5 direct readings' });

    pgStop();
    for (let j = 0; j < 4; j++) {
      const res = await I.postObs(d, T, readings('sp-b', 5 + j * 25, 25));
      assert.equal(h.assertJson(res, 202).spooled, 25);
    }
    // Nothing is published before its commit.
    assert.equal(ws.filter((m) => m.type === 'observation' && m.sensor === 'sp-b').length, 5);
    pgStart();
    await ws.waitCount((m) => m.type === 'observation' && m.sensor === 'sp-b', 105, { timeoutMs: 15000, what: '100 replayed readings' });
    await h.pollUntil(() => stored('sp-b') === '105,105', { timeoutMs: 5000, what: 'sp-b stored once' });
    // a moment for a duplicate publication to show up, were there one: the next direct reading is a fence
    I.assertIngest(await I.postObs(d, T, readings('sp-b', 105, 1)), { accepted: 1 });
    await ws.waitCount((m) => m.type === 'observation' && m.sensor === 'sp-b', 106, { what: 'the fence reading' });
    const got = ws.filter((m) => m.type === 'observation' && m.sensor === 'sp-b').map((m) => m.value);
    assert.deepEqual(got, Array.from({ length: 106 }, (_, k) => k), 'each reading once, in order');
    ws.close();
  });

  test('a full spool: 503 with Retry-After and nothing written; the rest is stored when the database is back', async () => {
    pgStop();
    let accepted = 0;
    let full;
    for (let j = 0; j < 40 && !full; j++) {
      const res = await I.postObs(d, T, readings('sp-b', 1000 + j * 100, 100));
      if (res.status === 202) accepted += res.json.spooled;
      else full = res;
    }
    assert.ok(full, 'the spool of 60000 bytes filled up');
    h.assertProblem(full, 503, 'unavailable');
    assert.match(full.headers.get('retry-after') || '', /^\d+$/);
    assert.equal(accepted, 2900, '29 records of 100 readings (2012 bytes each) fit in 60000 bytes');
    const s = await status();
    assert.equal(s.spool.readings, accepted, 'the refused batch wrote nothing');
    assert.equal(s.spool.bytes, 29 * 2012);
    pgStart();
    await h.pollUntil(() => stored('sp-b') === `${106 + accepted},${106 + accepted}`, { timeoutMs: 15000, intervalMs: 100, what: 'the spooled readings stored' });
    await h.pollUntil(async () => (await status()).spool.bytes === 0, { timeoutMs: 5000, what: 'an empty spool' });
    // direct again: 200
    I.assertIngest(await I.postObs(d, T, readings('sp-b', 9000, 1)), { accepted: 1 });
  });
});
