'use strict';
// Defects found by independent checks of the core (shared/FINDINGS.md 1-9), each from the
// contract: a poisoned reading fails only itself, json-seq bodies, bounded rule durations, open
// alerts rebuilt after a restart, a bad live subscribe, note limits, compact rule answers.

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/harness');
const I = require('./lib/ingest-helpers');
const L = require('./lib/live-helpers');

const now = () => Date.now();

describe('a reading no database can store (FINDINGS 1)', () => {
  const ctx = h.useDaemon('poison');
  before(async () => {
    await I.makeSensor(ctx.d, 'wl-poison-a');
    await I.makeSensor(ctx.d, 'wl-poison-b');
  });

  test('year 0000 among six concurrent requests of 300 readings: only it is rejected', async () => {
    const t0 = now() - 3600 * 1000;
    const good = (k) => Array.from({ length: 300 }, (_, i) => ({
      sensor: k % 2 ? 'wl-poison-a' : 'wl-poison-b', metric: 'level', ts: t0 + (k * 300 + i) * 1000, value: 1 + i / 100,
    }));
    const bad = [
      { sensor: 'wl-poison-a', metric: 'level', ts: new Date(t0 - 5000).toISOString(), value: 1 },
      { sensor: 'wl-poison-a', metric: 'level', ts: '0000-06-01T00:00:00Z', value: 2 },
    ];
    const answers = await Promise.all([
      ...Array.from({ length: 6 }, (_, k) => I.postObs(ctx.d, ctx.d.bootstrapToken, good(k))),
      I.postObs(ctx.d, ctx.d.bootstrapToken, bad),
    ]);
    for (let k = 0; k < 6; k++) I.assertIngest(answers[k], { accepted: 300, duplicates: 0, rejected: [] }, `good request ${k}`);
    const b = I.assertIngest(answers[6], { accepted: 1, rejected: [1] }, 'the request with year 0000');
    assert.equal(b.rejected[0].pointer, '/observations/1/ts');
    assert.doesNotMatch(b.rejected[0].error, /SQL|pqxx|ERROR/);
  });

  test('alone, year 0000 (and any time before 1970) is a 422 with a pointer, not a 500', async () => {
    for (const ts of ['0000-06-01T00:00:00Z', '0001-01-01T00:00:00Z', '1969-12-31T23:59:59Z']) {
      const res = await I.postObs(ctx.d, ctx.d.bootstrapToken, [{ sensor: 'wl-poison-a', metric: 'level', ts, value: 1 }]);
      assert.equal(res.status, 422, `${ts}: ${res.text}`);
      assert.equal(res.json.rejected[0].pointer, '/observations/0/ts', ts);
    }
    const ok = await I.postObs(ctx.d, ctx.d.bootstrapToken, [{ sensor: 'wl-poison-a', metric: 'level', ts: '1970-01-01T00:00:00Z', value: 1 }]);
    I.assertIngest(ok, { accepted: 1 }, '1970-01-01');
    const parts = Number(h.psql(`SELECT count(*) FROM pg_inherits WHERE inhparent = 'observations'::regclass AND inhrelid::regclass::text < 'observations_1970m01'`, ctx.db));
    assert.equal(parts, 0, 'no partition before 1970 was created');
  });
});

describe('application/json-seq bodies (FINDINGS 2)', () => {
  const ctx = h.useDaemon('jsonseq');
  before(async () => { await I.makeSensor(ctx.d, 'wl-seq'); });

  test('records separated by 0x1E are read, a bad one is rejected on its own', async () => {
    const t = now() - 60000;
    const rec = (i, v) => '\x1e' + JSON.stringify({ sensor: 'wl-seq', metric: 'level', ts: new Date(t + i * 1000).toISOString(), value: v }) + '\n';
    const body = rec(0, 1.5) + rec(1, 1.6) + '\x1e{not json}\n' + rec(3, 1.8);
    const res = await I.postObs(ctx.d, ctx.d.bootstrapToken, body, { contentType: 'application/json-seq' });
    const b = I.assertIngest(res, { accepted: 3, rejected: [2] }, 'json-seq');
    assert.equal(b.rejected[0].pointer, '/2');
  });
});

describe('rule durations are bounded (FINDINGS 3)', () => {
  const ctx = h.useDaemon('durations');

  test('a rate window over a day, and durations that would overflow, are 422 with pointers', async () => {
    const cases = [
      [{ kind: 'rate', metric: 'level', delta: 1, window: '86401s' }, '/window'],
      [{ kind: 'rate', metric: 'level', delta: 1, window: '9999999999999d' }, '/window'],
      [{ kind: 'rate', metric: 'level', delta: 1, window: 1e300 }, '/window'],
      [{ kind: 'threshold', metric: 'level', op: '>', value: 1, for: '9223372036854775807s' }, '/for'],
      [{ kind: 'silence', for: '367d' }, '/for'],
    ];
    for (const [body, pointer] of cases) {
      const res = await L.api(ctx.d, 'POST', '/api/v1/rules', { name: { en: 'x' }, selector: { kind: 'water_level' }, severity: 'warning', ...body });
      h.assertInvalid(res, pointer);
    }
    const ok = await L.api(ctx.d, 'POST', '/api/v1/rules', { name: { en: 'x' }, selector: { kind: 'water_level' }, severity: 'info', kind: 'rate', metric: 'level', delta: 1, window: '1d' });
    h.assertStatus(ok, 201, 'a one-day window');
  });
});

describe('open alerts survive a restart (FINDINGS 4)', () => {
  let db;
  let d;
  const token = h.randomToken();
  before(async () => { db = h.createDatabase('restart-alerts'); });
  after(async () => {
    try { if (d) assert.equal(await d.stop(), 0); } finally { h.dropDatabase(db); }
  });

  test('an alert whose condition ends after a restart is cleared, and does not escalate', async () => {
    const env = { MAEUL_BOOTSTRAP_TOKEN: token, MAEUL_ALERTS_ESCALATE_AFTER_S: '1', MAEUL_ALERTS_TICK_MS: '100' };
    d = await h.startDaemon({ db, env });
    await I.makeSensor(d, 'wl-restart');
    const rule = await L.createRule(d, {
      name: { en: 'river high' }, kind: 'threshold', selector: { sensor: 'wl-restart' }, metric: 'level', op: '>', value: 2,
      severity: 'warning',
    });
    await L.ingest(d, [{ sensor: 'wl-restart', metric: 'level', ts: now() - 2000, value: 3 }]);
    const opened = await L.waitAlert(d, (a) => a.rule === rule.id && a.state === 'open', { what: 'the open alert' });
    assert.equal(opened.cleared_at, null);
    assert.equal(await d.stop(), 0);

    d = await h.startDaemon({ db, env });
    await L.ingest(d, [{ sensor: 'wl-restart', metric: 'level', ts: now() - 1000, value: 1 }]);
    const cleared = await L.waitAlert(d, (a) => a.id === opened.id && a.cleared_at, { what: 'the alert cleared after the restart' });
    assert.equal(cleared.state, 'open', 'cleared, still waiting for an operator');
  });
});

describe('a live subscribe with wrong types (FINDINGS 6)', () => {
  const ctx = h.useDaemon('live-types');

  test('answers an error and keeps the session usable; the client count returns to zero on close', async () => {
    const ws = await L.connect(ctx.d, ctx.d.bootstrapToken);
    for (const bad of [{ alerts: 'yes' }, { observations: 1 }, { zones: 'downtown' }, { sensors: { id: 'x' } }, { alerts: true, since: 'x' }]) {
      const from = ws.msgs.length;
      ws.send({ type: 'subscribe', ...bad });
      const err = await ws.waitFor((m) => m.type === 'error', { from, what: `an error for ${JSON.stringify(bad)}` });
      assert.equal(typeof err.detail, 'string');
    }
    const from = ws.msgs.length;
    ws.send({ type: 'ping' });
    await ws.waitFor((m) => m.type === 'pong', { from, what: 'pong after the bad messages' });
    ws.close();
    await h.pollUntil(async () => {
      const res = await h.request(ctx.d, 'GET', '/metrics', { token: ctx.d.bootstrapToken });
      const m = h.parseProm(res.text);
      const v = m.find((x) => x.name === 'maeul_live_clients');
      return v && v.value === 0;
    }, { timeoutMs: 5000, what: 'no live client left' });
  });
});

describe('incident notes and rule answers (FINDINGS 8, 9)', () => {
  const ctx = h.useDaemon('notes');

  test('a note over 2000 bytes or with a NUL is 422 on create and on patch', async () => {
    const base = { category: 'flood', location: h.point(128.59, 38.2), reported_at: new Date(now() - 60000).toISOString() };
    h.assertInvalid(await L.api(ctx.d, 'POST', '/api/v1/incidents', { ...base, note: 'x'.repeat(2001) }), '/note');
    h.assertInvalid(await L.api(ctx.d, 'POST', '/api/v1/incidents', { ...base, note: 'a\u0000b' }), '/note');
    const created = await L.api(ctx.d, 'POST', '/api/v1/incidents', { ...base, note: '가'.repeat(600) });
    h.assertStatus(created, 201, 'a note of 1800 bytes');
    const path = `/api/v1/incidents/${created.json.id}`;
    h.assertInvalid(await L.api(ctx.d, 'PATCH', path, { note: 'y'.repeat(2001) }), '/note');
    h.assertInvalid(await L.api(ctx.d, 'PATCH', path, { note: 'a\u0000b' }), '/note');
    h.assertInvalid(await L.api(ctx.d, 'PATCH', path, { note: 42 }), '/note');
  });

  test('rule answers are compact JSON, like every other endpoint', async () => {
    const res = await L.api(ctx.d, 'POST', '/api/v1/rules', {
      name: { en: 'compact' }, kind: 'threshold', selector: { kind: 'water_level' }, metric: 'level', op: '>', value: 2,
      severity: 'warning',
    });
    h.assertStatus(res, 201);
    // compact: no white space outside strings
    const compact = (text) => !/\s/.test(text.replace(/"(?:[^"\\]|\\.)*"/g, '""'));
    assert.ok(compact(res.text), `POST answer is compact: ${res.text}`);
    const got = await L.api(ctx.d, 'GET', `/api/v1/rules/${res.json.id}`);
    assert.ok(compact(got.text), `GET answer is compact: ${got.text}`);
    const list = await L.api(ctx.d, 'GET', '/api/v1/rules');
    assert.ok(compact(list.text), `list answer is compact: ${list.text}`);
  });
});
