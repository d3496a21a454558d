'use strict';
// Chaos, the short form of scripts/soak (issue 12, item 5): under steady HTTP and MQTT load the
// database goes away for about 5 s (maeuld's own role is refused logins and its sessions are
// ended), readings are spooled (202); when it is back maeuld is killed with SIGKILL in the middle
// of the spool's replay and started again. Then every reading answered 200 or 202 is stored exactly
// once with its value, and every MQTT message (each acknowledged by the broker: mosquitto_pub -l
// exits 0) is stored at most once; the lost ones may only be messages sent before the kill
// (docs/architecture.md, Flow 13: libmosquitto sends the PUBACK before maeuld commits).

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const h = require('./lib/harness');
const I = require('./lib/ingest-helpers');
const L = require('./lib/live-helpers');
const M = require('./lib/mqtt-helpers');

const { SEC, iso } = I;
const LOOPS = 4;          // HTTP posters, one sensor each
const BATCH = 50;         // readings a request
const HTTP_RATE = 10;     // requests a second per poster
const MQTT_RATE = 100;    // single-reading messages a second
const BACKLOG = 8000;     // readings spooled before the database comes back (about 5 s of load)
const MAX_IN_FLIGHT = 500; // mqtt.max_in_flight: the most MQTT messages a kill -9 may lose (Flow 13)

// A libpq URI for the test's database as `user` (the harness's host and port).
function roleUrl(db, user, password) {
  const host = process.env.PGHOST || 'localhost';
  const port = process.env.PGPORT || '5432';
  const auth = `${encodeURIComponent(user)}:${encodeURIComponent(password)}`;
  if (host.startsWith('/')) return `postgresql://${auth}@/${db}?host=${encodeURIComponent(host)}&port=${port}`;
  return `postgresql://${auth}@${host}:${port}/${db}`;
}

describe('chaos: database away, kill -9 during the replay, under HTTP and MQTT load', () => {
  const role = `maeul_chaos_${process.pid}_${crypto.randomBytes(3).toString('hex')}`;
  const spoolDir = fs.mkdtempSync(path.join(os.tmpdir(), 'maeul-e2e-chaos-'));
  let broker;
  let db;
  let env;
  let d;
  const base = Date.UTC(2026, 10, 2);         // HTTP readings: base + n s
  const mqttBase = Date.UTC(2026, 10, 20);    // MQTT message i: mqttBase + i s, value i

  const metric = (name, labels) => L.metricValue(d, name, labels);

  before(async () => {
    broker = await M.startBroker();
    db = h.createDatabase('chaos');
    const password = crypto.randomBytes(12).toString('hex');
    // maeuld logs in as a role of its own, so the test can lock it out while PostgreSQL keeps running.
    h.psql(`CREATE ROLE ${role} LOGIN SUPERUSER PASSWORD '${password}'`);
    env = h.daemonEnv(db, {
      MAEUL_DB_URL: roleUrl(db, role, password),
      MAEUL_DB_CONNECT_TIMEOUT_S: '2',
      MAEUL_SPOOL_DIR: spoolDir,
      // small transactions, so that the replay of the backlog takes long enough to be cut in two
      MAEUL_INGEST_MAX_BATCH_ROWS: '100',
      MAEUL_MQTT_URL: `mqtt://127.0.0.1:${broker.port}`,
      MAEUL_MQTT_CLIENT_ID: `maeuld-chaos-${process.pid}`,
      MAEUL_MQTT_RECONNECT_MIN_MS: '200',
      MAEUL_MQTT_RECONNECT_MAX_MS: '1000',
      MAEUL_MQTT_MAX_IN_FLIGHT: String(MAX_IN_FLIGHT),
    });
    d = new h.Daemon({ env });
    await d.start();
    for (let i = 0; i < LOOPS; i++) await I.makeSensor(d, `ch-h-${i}`);
    await I.makeSensor(d, 'ch-m');
    await h.pollUntil(async () => (await metric('maeul_mqtt_connected')) === 1,
      { timeoutMs: 15000, intervalMs: 100, what: 'maeul_mqtt_connected 1' });
  });

  after(async () => {
    try {
      if (d && d.exitCode === undefined && d.exitSignal === undefined) {
        const code = await d.stop();
        assert.equal(code, 0, `maeuld exit code after SIGTERM; stderr tail:\n${d.stderr.slice(-2000)}`);
      }
    } finally {
      try { h.psql(`ALTER ROLE ${role} LOGIN`); } catch { /* never created */ }
      if (broker) await broker.stop();
      h.dropDatabase(db);
      try { h.psql(`DROP ROLE IF EXISTS ${role}`); } catch (e) { process.stderr.write(`warning: ${e.message}\n`); }
      fs.rmSync(spoolDir, { recursive: true, force: true });
    }
  });

  test('every acknowledged reading stored exactly once; MQTT at most once, lost only before the kill', async () => {
    // ---- HTTP: LOOPS posters; request j of poster i holds readings n = j*BATCH .. j*BATCH+BATCH-1 of
    // sensor ch-h-i at base + n s with value n. A request not acknowledged (no answer, 503, a
    // rejection) is sent again, the same readings, until it is: a client's normal retry.
    let stop = false;
    const loops = Array.from({ length: LOOPS }, () => ({ acked: new Map(), next: 0, attempts: 0, failures: [] }));
    const t0 = Date.now();
    const http = I.parallel(LOOPS, async (i) => {
      const Lp = loops[i];
      while (!stop) {
        const j = Lp.next++;
        const due = t0 + (j * 1000) / HTTP_RATE;
        if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now())); // pacing the load
        const body = Array.from({ length: BATCH }, (_, k) => ({
          sensor: `ch-h-${i}`, metric: 'level', ts: base + (j * BATCH + k) * SEC, value: j * BATCH + k,
        }));
        for (;;) {
          Lp.attempts++;
          let res;
          try {
            res = await I.postObs(d, d.bootstrapToken, body, { signal: AbortSignal.timeout(20000) });
          } catch (e) {
            res = { status: 0, text: String((e && e.cause && e.cause.code) || e) };
          }
          if ((res.status === 200 || res.status === 202) && res.json && res.json.rejected.length === 0) {
            assert.equal(res.status === 200 ? res.json.accepted + res.json.duplicates : res.json.spooled, BATCH, res.text);
            Lp.acked.set(j, res.status);
            break;
          }
          if (res.status !== 0 && res.status !== 503) Lp.failures.push(`${res.status} ${res.text.slice(0, 200)}`);
          if (stop) return;
          await new Promise((r) => setTimeout(r, 100)); // the client's back-off before sending it again
        }
      }
    });

    // ---- MQTT: message i on maeul/v1/obs/ch-m, {"metric","ts":mqttBase + i s,"value":i}, through
    // one mosquitto_pub -l -q 1; sentAt[i] is when the line was handed to it (before it left).
    const pub = M.publisher(broker, 'maeul/v1/obs/ch-m');
    const sentAt = [];
    let mqttStop = false;
    const mqtt = (async () => {
      const start = Date.now();
      for (let i = 0; !mqttStop; i++) {
        const due = start + (i * 1000) / MQTT_RATE;
        if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now())); // pacing the stream
        sentAt.push(Date.now());
        pub.send(JSON.stringify({ metric: 'level', ts: iso(mqttBase + i * SEC), value: i }));
      }
    })();

    const acked = () => loops.reduce((a, Lp) => a + Lp.acked.size, 0);
    const ackedWith = (status) => loops.reduce((a, Lp) => a + [...Lp.acked.values()].filter((s) => s === status).length, 0);
    let killAt;
    let inFlightAtKill;
    try {
      await h.pollUntil(() => acked() >= 2 * LOOPS && sentAt.length >= 100,
        { timeoutMs: 15000, what: 'load flowing (2 acknowledged requests per poster, 100 messages)' });

      // ---- the database away: logins refused, maeuld's sessions ended
      h.psql(`ALTER ROLE ${role} NOLOGIN`);
      h.psql(`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE usename = '${role}'`);
      await h.pollUntil(async () => (await metric('maeul_spool_readings')) >= BACKLOG,
        { timeoutMs: 20000, intervalMs: 100, what: `${BACKLOG} readings spooled while the database is away` });
      assert.ok(ackedWith(202) > 0, 'requests answered 202 (spooled) during the outage');
      const replayed0 = await metric('maeul_spool_readings_total', { stage: 'replayed' });

      // ---- back; kill -9 once the replay has committed something and the spool still holds more
      h.psql(`ALTER ROLE ${role} LOGIN`);
      await h.pollUntil(async () => {
        const p = h.parseProm((await h.request(d, 'GET', '/metrics', { token: d.bootstrapToken })).text);
        const v = (name, stage) => (p.find((x) => x.name === name && (!stage || x.labels.stage === stage)) || { value: 0 }).value;
        const replayed = v('maeul_spool_readings_total', 'replayed') - replayed0;
        const left = v('maeul_spool_readings');
        if (replayed > 0 && left === 0) throw new Error('the replay finished before the kill could cut it (raise BACKLOG)');
        if (replayed > 0 && left > 0) {
          inFlightAtKill = v('maeul_mqtt_in_flight');
          killAt = Date.now();
          d.child.kill('SIGKILL');
          return true;
        }
        return false;
      }, { timeoutMs: 15000, intervalMs: 20, what: 'the replay under way (readings replayed, more still spooled)' });
      const r = await h.withTimeout(d.exited, 10000, 'maeuld did not die on SIGKILL');
      assert.equal(r.signal, 'SIGKILL');
      const ackedAtKill = acked();

      d = new h.Daemon({ env });
      await d.start();
      assert.match(d.stderr, /spool in \S+: [1-9]\d* readings in \d+ segments to replay/, 'the kill left a spool to replay');
      await h.pollUntil(async () => (await metric('maeul_spool_readings')) === 0 && (await metric('maeul_database_up')) === 1,
        { timeoutMs: 30000, intervalMs: 100, what: 'the spool replayed after the restart' });
      await h.pollUntil(async () => (await metric('maeul_mqtt_connected')) === 1,
        { timeoutMs: 15000, intervalMs: 100, what: 'maeuld subscribed again' });
      await h.pollUntil(() => acked() >= ackedAtKill + 2 * LOOPS,
        { timeoutMs: 15000, what: 'requests acknowledged after the restart' });
    } finally {
      stop = true;
      mqttStop = true;
      await http;
      await mqtt;
      await pub.end(); // exit 0: the broker acknowledged every message (PUBACK)
    }
    const N = sentAt.length;
    const last = N - 1;

    // ---- drained: the broker delivers a session's queue in order; then nothing in flight or spooled
    await h.pollUntil(() => h.psql(`SELECT count(*) FROM observations o JOIN series s ON s.id = o.series_id
        WHERE s.sensor_id = 'ch-m' AND o.ts = '${iso(mqttBase + last * SEC)}'`, db).trim() === '1',
      { timeoutMs: 30000, intervalMs: 100, what: `the last MQTT message (${last}) stored` });
    await h.pollUntil(async () => (await metric('maeul_mqtt_in_flight')) === 0 && (await metric('maeul_spool_readings')) === 0,
      { timeoutMs: 15000, intervalMs: 100, what: 'nothing in flight, an empty spool' });

    // ---- counts, from the database itself
    const rows = (sensorLike) => h.psql(`SELECT s.sensor_id, (extract(epoch FROM o.ts) * 1000)::bigint, o.value
        FROM observations o JOIN series s ON s.id = o.series_id WHERE s.sensor_id LIKE '${sensorLike}'`, db)
      .split('\n').filter(Boolean).map((l) => l.split('|')).map(([s, t, v]) => ({ s, t: Number(t), v: Number(v) }));
    const twice = h.psql(`SELECT count(*) FROM (SELECT 1 FROM observations GROUP BY series_id, ts HAVING count(*) > 1) x`, db).trim();
    assert.equal(twice, '0', 'no (series, ts) stored twice (the primary key (series_id, ts, domain) forbids it)');

    let ackedReadings = 0;
    let lostHttp = 0;
    const httpRows = rows('ch-h-%');
    for (let i = 0; i < LOOPS; i++) {
      const stored = new Map();
      for (const x of httpRows.filter((x) => x.s === `ch-h-${i}`)) {
        assert.ok(!stored.has(x.t), `ch-h-${i} ${iso(x.t)} stored twice`);
        stored.set(x.t, x.v);
      }
      const missing = [];
      for (const j of loops[i].acked.keys()) {
        for (let k = 0; k < BATCH; k++) {
          const n = j * BATCH + k;
          ackedReadings++;
          if (stored.get(base + n * SEC) !== n) missing.push(n);
        }
      }
      lostHttp += missing.length;
      assert.deepEqual(missing.slice(0, 10), [], `ch-h-${i}: acknowledged readings not stored with their value (${missing.length})`);
      for (const [t, v] of stored) {
        assert.equal(v, (t - base) / SEC, `ch-h-${i} ${iso(t)}: the value sent`);
        assert.ok(v < loops[i].next * BATCH, `ch-h-${i}: a reading never sent: ${iso(t)}`);
      }
      assert.deepEqual(loops[i].failures.slice(0, 3), [], `ch-h-${i}: answers other than 200, 202 and 503`);
    }

    const mqttRows = rows('ch-m');
    const seen = new Set();
    for (const x of mqttRows) {
      assert.equal(x.t, mqttBase + x.v * SEC, `the MQTT point at ${iso(x.t)} is the message that carried it`);
      assert.ok(!seen.has(x.v), `MQTT message ${x.v} stored twice`);
      seen.add(x.v);
      assert.ok(x.v < N, `MQTT message ${x.v} was never sent`);
    }
    const lost = [];
    for (let i = 0; i < N; i++) if (!seen.has(i)) lost.push(i);
    const lostAfterKill = lost.filter((i) => sentAt[i] >= killAt);
    process.stdout.write(`# chaos: HTTP ${ackedReadings} readings acknowledged (${ackedWith(200)} requests 200, `
      + `${ackedWith(202)} 202, ${loops.reduce((a, Lp) => a + Lp.attempts, 0)} attempts), ${lostHttp} lost; `
      + `MQTT ${N} messages PUBACKed by the broker, ${seen.size} stored, ${lost.length} lost`
      + (lost.length ? ` (messages ${lost[0]}..${lost[lost.length - 1]}, sent ${killAt - sentAt[lost[lost.length - 1]]}..`
        + `${killAt - sentAt[lost[0]]} ms before the kill)` : '')
      + `, ${inFlightAtKill} in flight just before the kill\n`);
    assert.deepEqual(lostAfterKill, [], 'no MQTT message sent after the kill is lost (the broker held them)');
    // The loss window is what maeuld had acknowledged and not yet committed or spooled: at most mqtt.max_in_flight.
    assert.ok(lost.length <= MAX_IN_FLIGHT, `${lost.length} MQTT messages lost: more than mqtt.max_in_flight (${MAX_IN_FLIGHT})`);
  });
});
