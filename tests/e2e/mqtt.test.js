'use strict';
// MQTT input (API.md §10) with a real mosquitto and the real mosquitto_pub: a reading, a batch and a
// bare number reach GET /sensors/{id}/latest and the live feed through the same path as HTTP; bad
// payloads become dead letters (GET /api/v1/ingest/dead-letters, counted in /metrics); a broker
// restart is survived (reconnect with back-off, readings flow again); and a kill -9 of maeuld
// mid-stream is measured: how many acknowledged messages were lost (libmosquitto PUBACKs before
// the commit), and that none was stored twice.

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/harness');
const I = require('./lib/ingest-helpers');
const L = require('./lib/live-helpers');
const M = require('./lib/mqtt-helpers');

const { SEC, MIN, iso } = I;

describe('mqtt input', () => {
  let broker;
  let db;
  let d;
  let env;
  const t0 = Date.now() - 60 * MIN; // readings are stamped from here, one distinct second each
  let tick = 0;
  const nextMs = () => t0 + (tick++) * SEC;

  async function connected(daemon = d) {
    await h.pollUntil(async () => (await L.metricValue(daemon, 'maeul_mqtt_connected')) === 1,
      { timeoutMs: 15000, intervalMs: 100, what: 'maeul_mqtt_connected 1' });
  }

  async function latest(sensor, daemon = d) {
    const res = await h.request(daemon, 'GET', `/api/v1/sensors/${sensor}/latest`, { token: daemon.bootstrapToken });
    h.assertStatus(res, 200);
    return res.json.metrics;
  }

  async function waitLatest(sensor, ts, value, daemon = d) {
    return h.pollUntil(async () => {
      const m = await latest(sensor, daemon);
      return m.level && m.level.ts === ts && m.level.value === value ? m.level : false;
    }, { timeoutMs: 10000, what: `${sensor} latest = ${value} at ${ts}` });
  }

  async function deadLetters() {
    const res = await h.request(d, 'GET', '/api/v1/ingest/dead-letters?limit=1000', { token: d.bootstrapToken });
    h.assertStatus(res, 200);
    return res.json.items;
  }

  before(async () => {
    broker = await M.startBroker();
    db = h.createDatabase('mqtt');
    env = h.daemonEnv(db, {
      MAEUL_MQTT_URL: `mqtt://127.0.0.1:${broker.port}`,
      MAEUL_MQTT_CLIENT_ID: `maeuld-e2e-${process.pid}`,
      MAEUL_MQTT_RECONNECT_MIN_MS: '200',
      MAEUL_MQTT_RECONNECT_MAX_MS: '1000',
    });
    d = new h.Daemon({ env, args: ['serve', '--config', h.CONFIG] });
    await d.start();
    await I.makeZone(d, 'mq-z', 128.59, 38.20, 0.05);
    for (const id of ['mq-a', 'mq-b', 'mq-c', 'mq-r', 'mq-k']) await I.makeSensor(d, id);
    await connected();
  });

  after(async () => {
    try {
      if (d) {
        const code = await d.stop();
        assert.equal(code, 0, `maeuld exit code after SIGTERM; stderr tail:\n${d.stderr.slice(-2000)}`);
      }
    } finally {
      if (broker) await broker.stop();
      h.dropDatabase(db);
    }
  });

  test('a reading published with QoS 1 is stored and reaches the live feed', async () => {
    const ws = await L.connect(d, d.bootstrapToken);
    try {
      await ws.subscribeAndWait({ sensors: ['mq-a'] });
      const ms = nextMs();
      await M.publish(broker, 'maeul/v1/obs/mq-a', JSON.stringify({ metric: 'level', ts: iso(ms), value: 1.25 }));
      await waitLatest('mq-a', iso(ms), 1.25);
      const m = await ws.waitFor((x) => x.type === 'observation' && x.sensor === 'mq-a' && x.ts === iso(ms),
        { timeoutMs: 5000, what: 'the MQTT reading on the live feed' });
      assert.equal(m.value, 1.25);
      assert.equal(m.metric, 'level');
      assert.equal(m.zone, 'mq-z');
      assert.equal(m.domain, 'disaster');
      // GET /api/v1/status reports the MQTT input (null only when none is configured)
      const st = await h.request(d, 'GET', '/api/v1/status', { token: d.bootstrapToken });
      h.assertStatus(st, 200);
      assert.equal(st.json.mqtt?.connected, true, JSON.stringify(st.json));
      assert.ok(st.json.mqtt.stored >= 1);
      for (const k of ['dead_letters', 'in_flight', 'reconnects']) assert.equal(typeof st.json.mqtt[k], 'number', k);
    } finally {
      ws.close();
    }
  });

  test('a batch on the sensor topic stores every reading', async () => {
    const ms = [nextMs(), nextMs(), nextMs()];
    const body = { observations: ms.map((t, i) => ({ metric: 'level', ts: iso(t), value: 10 + i })) };
    await M.publish(broker, 'maeul/v1/obs/mq-b', JSON.stringify(body));
    await waitLatest('mq-b', iso(ms[2]), 12);
    const res = await h.request(d, 'GET',
      `/api/v1/sensors/mq-b/series?metric=level&from=${encodeURIComponent(iso(ms[0]))}&to=${encodeURIComponent(iso(ms[2] + SEC))}`,
      { token: d.bootstrapToken });
    h.assertStatus(res, 200);
    assert.deepEqual(res.json.points, ms.map((t, i) => [iso(t), 10 + i]));
  });

  test('a bare number on the metric topic is stored at the time of receipt', async () => {
    const before_ = Date.now();
    await M.publish(broker, 'maeul/v1/obs/mq-c/level', '7.5');
    const got = await h.pollUntil(async () => {
      const m = await latest('mq-c');
      return m.level && m.level.value === 7.5 ? m.level : false;
    }, { timeoutMs: 10000, what: 'mq-c latest 7.5' });
    const ts = Date.parse(got.ts);
    assert.ok(ts >= before_ - 1000 && ts <= Date.now() + 1000, `ts ${got.ts} is the time of receipt`);
    // and {"ts","value"} on the same topic
    const ms = nextMs();
    await M.publish(broker, 'maeul/v1/obs/mq-c/level', JSON.stringify({ ts: iso(ms), value: 8.5 }));
    await h.pollUntil(async () => {
      const res = await h.request(d, 'GET',
        `/api/v1/sensors/mq-c/series?metric=level&from=${encodeURIComponent(iso(ms))}&to=${encodeURIComponent(iso(ms + SEC))}`,
        { token: d.bootstrapToken });
      return res.status === 200 && res.json.points.length === 1 && res.json.points[0][1] === 8.5;
    }, { timeoutMs: 10000, what: 'mq-c reading 8.5 at its own ts' });
  });

  test('bad payloads become dead letters, counted in /metrics', async () => {
    const dead0 = await L.metricValue(d, 'maeul_mqtt_messages_total', { outcome: 'dead' });
    const ms = nextMs();
    await M.publish(broker, 'maeul/v1/obs/mq-a', 'level=3 not json');
    await M.publish(broker, 'maeul/v1/obs/mq-nosuch', JSON.stringify({ metric: 'level', ts: iso(ms), value: 1 }));
    await M.publish(broker, 'maeul/v1/obs/mq-a', JSON.stringify({ metric: 'level', ts: 'yesterday', value: 1 }));
    await M.publish(broker, 'maeul/v1/obs/mq-a/level', '"high"');
    const items = await h.pollUntil(async () => {
      const all = await deadLetters();
      return all.length >= 4 ? all : false;
    }, { timeoutMs: 10000, what: '4 dead letters' });
    const byPayload = (p) => items.find((x) => x.payload === p);
    const notJson = byPayload('level=3 not json');
    assert.ok(notJson, JSON.stringify(items));
    assert.equal(notJson.topic, 'maeul/v1/obs/mq-a');
    assert.match(notJson.error, /^payload is not JSON: /);
    assert.equal(notJson.payload_bytes, 16);
    assert.equal(notJson.truncated, false);
    assert.match(notJson.received_at, h.TIME_RE);
    const unknown = items.find((x) => x.topic === 'maeul/v1/obs/mq-nosuch');
    assert.equal(unknown.error, 'no reading could be accepted: /sensor: unknown sensor "mq-nosuch"');
    const badTs = items.find((x) => x.payload.includes('yesterday'));
    assert.equal(badTs.error, 'no reading could be accepted: /ts: ts must be an RFC 3339 time with an offset');
    const str = byPayload('"high"');
    assert.equal(str.error, 'payload on a metric topic must be a number or {"ts","value"}');
    // newest first
    assert.ok(items[0].id > items[items.length - 1].id);
    await h.pollUntil(async () => (await L.metricValue(d, 'maeul_mqtt_messages_total', { outcome: 'dead' })) === dead0 + 4,
      { timeoutMs: 5000, what: 'dead counter +4' });
    // admin only
    const op = (await h.createToken(d, 'operator', 'mq-op')).token;
    h.assertProblem(await h.request(d, 'GET', '/api/v1/ingest/dead-letters', { token: op }), 403);
    // paging: limit 1 gives a cursor to the next (older) one
    const p1 = await h.request(d, 'GET', '/api/v1/ingest/dead-letters?limit=1', { token: d.bootstrapToken });
    h.assertStatus(p1, 200);
    assert.equal(p1.json.items.length, 1);
    assert.equal(typeof p1.json.next_cursor, 'string');
    const p2 = await h.request(d, 'GET', `/api/v1/ingest/dead-letters?limit=1&cursor=${p1.json.next_cursor}`, { token: d.bootstrapToken });
    h.assertStatus(p2, 200);
    assert.equal(p2.json.items[0].id, items[1].id);
  });

  test('maeuld mqtt acl prints each device token\'s topics', async () => {
    await h.createToken(d, 'device', 'mq-gauge-1', { sensors: ['mq-a', 'mq-b'] });
    await h.createToken(d, 'device', 'mq gauge 2', { sensors: ['mq-c'] });
    const r = await h.runMaeuld(['mqtt', 'acl', '--config', h.CONFIG], env);
    assert.equal(r.code, 0, r.stderr);
    const out = r.stdout;
    assert.match(out, /^user maeuld\ntopic read maeul\/v1\/obs\/#\ntopic read maeul\/v1\/avl\/#$/m);
    // observation topics of each id, then the AVL topic of each (a device token's ids are the
    // vehicles it may post positions for, API §11)
    assert.ok(out.includes('user mq-gauge-1\ntopic write maeul/v1/obs/mq-a\ntopic write maeul/v1/obs/mq-a/+\n'
      + 'topic write maeul/v1/obs/mq-b\ntopic write maeul/v1/obs/mq-b/+\n'
      + 'topic write maeul/v1/avl/mq-a\ntopic write maeul/v1/avl/mq-b\n'), out);
    assert.ok(!out.includes('maeul/v1/avl/mq-c'), 'no AVL grant for a token mosquitto cannot name');
    // exactly one read grant on the AVL topics (maeuld's) and no write grant to any vehicle but theirs
    assert.equal(out.match(/^topic read maeul\/v1\/avl\/#$/mg).length, 1, out);
    assert.deepEqual(out.match(/^topic write maeul\/v1\/avl\/.*$/mg),
      ['topic write maeul/v1/avl/mq-a', 'topic write maeul/v1/avl/mq-b'], out);
    assert.ok(out.includes('# skipped device token "mq gauge 2"'), out);
    assert.ok(!out.includes('maeul/v1/obs/mq-c'), 'no grant for a token mosquitto cannot name');
  });

  test('a broker restart: maeuld reconnects and readings flow again', async () => {
    const rc0 = await L.metricValue(d, 'maeul_mqtt_reconnects_total');
    await broker.stop();
    await h.pollUntil(async () => (await L.metricValue(d, 'maeul_mqtt_connected')) === 0,
      { timeoutMs: 10000, what: 'maeul_mqtt_connected 0 after the broker stopped' });
    await broker.start(); // same port, same persistence directory
    await connected();
    assert.ok((await L.metricValue(d, 'maeul_mqtt_reconnects_total')) > rc0, 'reconnects counted');
    const ms = nextMs();
    await M.publish(broker, 'maeul/v1/obs/mq-r', JSON.stringify({ metric: 'level', ts: iso(ms), value: 4.5 }));
    await waitLatest('mq-r', iso(ms), 4.5);
    assert.ok(d.stderrLines.some((l) => /lost the connection to the broker/.test(l)), 'the loss is logged');
    assert.equal(d.stderrLines.filter((l) => /lost the connection to the broker/.test(l)).length, 1,
      'the loss is logged once, however many retries');
    assert.ok(d.stderrLines.some((l) => /connected to the broker .* again/.test(l)), 'the recovery is logged');
  });

  test('kill -9 mid-stream: the loss window is measured, nothing is stored twice', async () => {
    const N = 2000;
    const RATE = Number(process.env.MAEUL_MQTT_KILL_RATE || 500); // messages a second
    const base = nextMs();
    tick += N + 10;
    const pub = M.publisher(broker, 'maeul/v1/obs/mq-k');
    const killAt = Math.floor(N / 2);
    let inFlightAtKill = null;
    const start = Date.now();
    for (let i = 0; i < N; i++) {
      // a steady rate: message i leaves at start + i / RATE seconds
      const due = start + (i * 1000) / RATE;
      const wait = due - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait)); // pacing the stream, not waiting for a result
      pub.send(JSON.stringify({ metric: 'level', ts: iso(base + i * SEC), value: i }));
      if (i === killAt) {
        inFlightAtKill = await L.metricValue(d, 'maeul_mqtt_in_flight');
        d.child.kill('SIGKILL');
        const r = await h.withTimeout(d.exited, 10000, 'maeuld did not die on SIGKILL');
        assert.equal(r.signal, 'SIGKILL');
      }
    }
    await pub.end(); // every message acknowledged by the broker (the rest are queued for maeuld's session)
    d = new h.Daemon({ env, args: ['serve', '--config', h.CONFIG] });
    await d.start();
    await connected();
    // The broker delivers the queued messages in order; wait for the last one, then for nothing in flight.
    await waitLatest('mq-k', iso(base + (N - 1) * SEC), N - 1);
    await h.pollUntil(async () => (await L.metricValue(d, 'maeul_mqtt_in_flight')) === 0,
      { timeoutMs: 10000, what: 'no MQTT message in flight' });
    const res = await h.request(d, 'GET',
      `/api/v1/sensors/mq-k/series?metric=level&from=${encodeURIComponent(iso(base))}&to=${encodeURIComponent(iso(base + N * SEC))}&limit=10000`,
      { token: d.bootstrapToken });
    h.assertStatus(res, 200);
    const pts = res.json.points;
    const seen = new Set(pts.map((p) => p[0]));
    assert.equal(seen.size, pts.length, 'every stored message is stored once');
    for (const [ts, v] of pts) assert.equal(ts, iso(base + v * SEC), 'each point is the message that carried it');
    const lost = N - pts.length;
    const missing = [];
    for (let i = 0, j = 0; i < N; i++) {
      if (j < pts.length && pts[j][1] === i) j++;
      else missing.push(i);
    }
    const line = `MQTT kill -9 loss window: ${N} messages at ${RATE}/s, maeuld killed after message ${killAt} `
      + `(${inFlightAtKill} in flight just before): stored ${pts.length}, lost ${lost}`
      + (missing.length ? ` (values ${missing[0]}..${missing[missing.length - 1]})` : '');
    process.stdout.write(`# ${line}\n`);
    assert.ok(lost >= 0 && lost <= N);
    // The loss can only be messages acknowledged to the broker and not yet committed: around the kill.
    for (const i of missing) assert.ok(i <= killAt + 1, `message ${i} lost, but it was published after the kill`);
  });
});
