'use strict';
// Durability of ingestion: every reading in a 200 answer survives `kill -9` of the daemon (also with 8
// concurrent posters killed mid-stream); SIGTERM under load flushes everything acknowledged and exits 0;
// while the database refuses connections POSTs get 503 + Retry-After (never 200) and ingestion resumes
// without a restart once it is back.
// Contract: shared/API.md §2 (SIGTERM), §5 ("sent only once every accepted reading is durable");
// docs/api-notes.md "Observations" (503 while the database is unreachable).

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const h = require('./lib/harness');
const I = require('./lib/ingest-helpers');

const { SEC, DAY, iso } = I;
const LOOPS = 8;
const BATCH = 500;

// A fresh daemon process on the same database and settings as `d` (new port).
async function restart(d) {
  const n = new h.Daemon({ env: d.env, args: d.args });
  await n.start();
  return n;
}

async function killHard(d) {
  d.child.kill('SIGKILL');
  const r = await h.withTimeout(d.exited, 10000, 'maeuld did not die on SIGKILL');
  assert.equal(r.signal, 'SIGKILL');
}

// The batch `j` of loop `i`: readings of sensor dur-<tag>-<i>, ts = base + (j*BATCH + k) s, value = j*BATCH + k.
function batchOf(tag, base, i, j) {
  const rs = [];
  for (let k = 0; k < BATCH; k++) {
    const n = j * BATCH + k;
    rs.push({ sensor: `dur-${tag}-${i}`, metric: 'level', ts: base + n * SEC, value: n });
  }
  return rs;
}

// LOOPS concurrent posters, each posting its next batch as soon as the previous one is answered, until
// `stop()` is true or a request fails at the transport level. Returns per loop: acked batch numbers
// (200 with every reading accepted), unanswered ones, and other statuses seen.
function startLoad(getDaemon, token, tag, base, { stop, maxMs = 15000 }) {
  const t0 = Date.now();
  const loops = Array.from({ length: LOOPS }, () => ({ acked: [], unanswered: [], other: [], next: 0 }));
  const done = I.parallel(LOOPS, async (i) => {
    const L = loops[i];
    while (!stop() && Date.now() - t0 < maxMs) {
      const j = L.next++;
      const sentAt = Date.now();
      let res;
      try {
        res = await I.postObs(getDaemon(), token, batchOf(tag, base, i, j), { signal: AbortSignal.timeout(20000) });
      } catch (e) {
        L.unanswered.push(j);
        L.failedSentAt = sentAt;
        L.failure = String((e && e.cause && e.cause.code) || e);
        return;
      }
      if (res.status === 200) {
        const b = res.json || {};
        assert.equal(b.accepted + b.duplicates, BATCH, `loop ${i} batch ${j}: ${res.text.slice(0, 300)}`);
        assert.deepEqual(b.rejected, []);
        L.acked.push(j);
      } else {
        L.other.push({ j, status: res.status, retryAfter: res.headers.get('retry-after'), text: res.text.slice(0, 200) });
      }
    }
  });
  return { loops, done };
}

// Stored readings of every loop sensor: Map ts(ms) → value, per loop.
// (Reads are retried on 503 + Retry-After: see the test "reads right after lost connections" for why.)
async function storedByLoop(d, token, tag, base) {
  const out = [];
  for (let i = 0; i < LOOPS; i++) {
    const pts = await I.rawAll(d, token, `dur-${tag}-${i}`, { from: base, to: base + 30 * DAY }, { retry503: 10 });
    out.push(new Map(pts.map(([t, v]) => [Date.parse(t), v])));
  }
  return out;
}

// Every acknowledged reading is stored with its value; nothing is stored that was never sent.
function checkAcked(loops, stored, base) {
  let ackedReadings = 0;
  let unansweredStored = 0;
  for (let i = 0; i < LOOPS; i++) {
    const L = loops[i];
    const s = stored[i];
    const missing = [];
    for (const j of L.acked) {
      for (let k = 0; k < BATCH; k++) {
        const n = j * BATCH + k;
        if (s.get(base + n * SEC) !== n) missing.push(n);
      }
      ackedReadings += BATCH;
    }
    assert.deepEqual(missing.slice(0, 10), [], `loop ${i}: acknowledged readings missing after the restart (${missing.length} of them)`);
    for (const [t, v] of s) {
      const n = (t - base) / SEC;
      assert.equal(v, n, `loop ${i}: stored value at ${iso(t)}`);
      assert.ok(n < L.next * BATCH, `loop ${i}: a stored reading that was never sent: ${iso(t)}`);
    }
    for (const j of L.unanswered) {
      for (let k = 0; k < BATCH; k++) if (s.has(base + (j * BATCH + k) * SEC)) unansweredStored++;
    }
  }
  return { ackedReadings, unansweredStored };
}

// Bucketed answers agree with the raw readings (no reading counted twice or lost in the aggregates).
async function checkAggregates(d, token, tag, stored, base, what) {
  for (let i = 0; i < LOOPS; i++) {
    const readings = [...stored[i]].map(([t, value]) => ({ t, value }));
    for (const bucket of ['1h', '5m']) {
      for (const agg of ['count', 'sum', 'max']) {
        const params = { from: base, to: base + 30 * DAY, bucket, agg };
        const b = await I.series(d, token, `dur-${tag}-${i}`, params, { retry503: 10 });
        I.assertPoints(b.points, I.expectedBuckets(readings, params), `loop ${i} ${what}: ${bucket} ${agg}`);
      }
    }
  }
}

async function makeLoopSensors(d, tag) {
  for (let i = 0; i < LOOPS; i++) await I.makeSensor(d, `dur-${tag}-${i}`);
}

describe('durability', () => {
  let db;
  let d; // the current daemon
  let T;

  before(async () => {
    db = h.createDatabase('durability');
    d = await h.startDaemon({ db });
    T = d.bootstrapToken;
    await I.makeSensor(d, 'dur-one');
    await makeLoopSensors(d, 'k');
    await makeLoopSensors(d, 't');
  });

  after(async () => {
    try {
      if (d && d.exitCode === undefined && d.exitSignal === undefined) {
        const code = await d.stop();
        assert.equal(code, 0, `exit code after SIGTERM; stderr tail:\n${d.stderr.slice(-2000)}`);
      }
    } finally {
      h.dropDatabase(db);
    }
  });

  test('a 200 then kill -9 at once: the batch is there after a restart', async () => {
    const base = Date.UTC(2026, 3, 1);
    const rs = Array.from({ length: 2000 }, (_, n) => ({ sensor: 'dur-one', metric: 'level', ts: base + n * SEC, value: n }));
    const res = await I.postObs(d, T, rs, { format: 'ndjson' });
    d.child.kill('SIGKILL'); // in the same tick as the answer
    I.assertIngest(res, { accepted: 2000, duplicates: 0, rejected: [] });
    await killHard(d);
    d = await restart(d);
    const pts = await I.rawAll(d, T, 'dur-one', { from: base, to: base + DAY });
    assert.equal(pts.length, 2000);
    assert.deepEqual(pts[1999], [iso(base + 1999 * SEC), 1999]);
    I.assertIngest(await I.postObs(d, T, rs), { accepted: 0, duplicates: 2000 }, 'the retry is all duplicates');
  });

  test('8 concurrent posters, kill -9 mid-stream: every acknowledged reading is stored; retries are idempotent', async () => {
    const base = Date.UTC(2026, 4, 1);
    let killed = false;
    const cur = d;
    const { loops, done } = startLoad(() => cur, T, 'k', base, { stop: () => false });
    // kill once the load is well under way (at least 16 acknowledged batches and ~1.2 s in)
    const t0 = Date.now();
    await h.pollUntil(() => Date.now() - t0 > 1500 && loops.reduce((a, L) => a + L.acked.length, 0) >= 16,
      { timeoutMs: 20000, intervalMs: 20, what: 'some acknowledged batches' });
    cur.child.kill('SIGKILL');
    killed = true;
    await killHard(cur);
    await h.withTimeout(done, 25000, 'posters did not stop after the kill');
    assert.ok(killed);
    for (const [i, L] of loops.entries()) assert.deepEqual(L.other, [], `loop ${i}: only 200s before the kill`);
    assert.ok(loops.every((L) => L.unanswered.length === 1), 'every poster had a request in flight when killed');

    d = await restart(cur);
    const stored = await storedByLoop(d, T, 'k', base);
    const { ackedReadings, unansweredStored } = checkAcked(loops, stored, base);
    assert.ok(ackedReadings >= 16 * BATCH, `acknowledged ${ackedReadings}`);
    process.stderr.write(`# kill -9: ${ackedReadings} acknowledged readings all stored; ${unansweredStored} of ${LOOPS * BATCH} unanswered ones stored\n`);

    // re-sending the unanswered batches: accepted + duplicates = the batch, then everything is stored once
    for (const [i, L] of loops.entries()) {
      for (const j of L.unanswered) {
        const b = I.assertIngest(await I.postObs(d, T, batchOf('k', base, i, j)), { rejected: [] });
        assert.equal(b.accepted + b.duplicates, BATCH);
      }
    }
    const again = await storedByLoop(d, T, 'k', base);
    for (let i = 0; i < LOOPS; i++) assert.equal(again[i].size, loops[i].next * BATCH, `loop ${i}: every sent reading stored once`);
    await checkAggregates(d, T, 'k', again, base, 'after kill -9');
  });

  test('SIGTERM under load: exit 0, and every request answered 200 is stored', async () => {
    const base = Date.UTC(2026, 5, 1);
    const cur = d;
    const { loops, done } = startLoad(() => cur, T, 't', base, { stop: () => false });
    const t0 = Date.now();
    await h.pollUntil(() => Date.now() - t0 > 1000 && loops.reduce((a, L) => a + L.acked.length, 0) >= 16,
      { timeoutMs: 20000, intervalMs: 20, what: 'some acknowledged batches' });
    const termAt = Date.now();
    cur.child.kill('SIGTERM');
    const r = await h.withTimeout(cur.exited, 20000, 'maeuld did not exit after SIGTERM under load');
    assert.equal(r.code, 0, `exit code after SIGTERM under load (signal ${r.signal}); stderr tail:\n${cur.stderr.slice(-1500)}`);
    await h.withTimeout(done, 25000, 'posters did not stop after the daemon exited');
    for (const [i, L] of loops.entries()) {
      for (const o of L.other) {
        assert.equal(o.status, 503, `loop ${i}: while stopping, a request is either served or refused with 503: ${JSON.stringify(o)}`);
      }
    }
    // a request whose body went out well before the signal was in flight: it must be answered
    for (const [i, L] of loops.entries()) {
      if (L.failedSentAt !== undefined) {
        assert.ok(L.failedSentAt > termAt - 100,
          `loop ${i}: a request sent ${termAt - L.failedSentAt} ms before SIGTERM got no answer (${L.failure}); in-flight requests are finished`);
      }
    }
    d = await restart(cur);
    const stored = await storedByLoop(d, T, 't', base);
    const { ackedReadings, unansweredStored } = checkAcked(loops, stored, base);
    await checkAggregates(d, T, 't', stored, base, 'after SIGTERM');
    process.stderr.write(`# SIGTERM: ${ackedReadings} acknowledged readings all stored; ${unansweredStored} unanswered ones stored\n`);
  });
});

describe('database outage', () => {
  const role = `maeul_e2e_outage_${process.pid}_${crypto.randomBytes(3).toString('hex')}`;
  const pw = crypto.randomBytes(12).toString('hex');
  let db;
  let d;
  let T;
  const base = Date.UTC(2026, 6, 1);
  let seq = 0;
  const nextBatch = (n = 50) => {
    const rs = [];
    for (let k = 0; k < n; k++, seq++) rs.push({ sensor: 'out-1', metric: 'level', ts: base + seq * SEC, value: seq });
    return rs;
  };
  const setLogin = (on) => h.psql(`ALTER ROLE ${role} ${on ? 'LOGIN' : 'NOLOGIN'}`);
  const terminate = () => h.psql(`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE usename = '${role}'`);

  before(async () => {
    h.psql(`CREATE ROLE ${role} LOGIN SUPERUSER PASSWORD '${pw}'`);
    db = h.createDatabase('outage');
    const url = new URL(h.dbUrl(db));
    url.username = role;
    url.password = pw;
    d = await h.startDaemon({ db, env: { MAEUL_DB_URL: url.toString(), MAEUL_DB_CONNECT_TIMEOUT_S: '2' } });
    T = d.bootstrapToken;
    await I.makeSensor(d, 'out-1');
    await makeLoopSensors(d, 'b');
  });

  after(async () => {
    try {
      try { setLogin(true); } catch { /* role may be gone */ }
      if (d) {
        const code = await d.stop();
        assert.equal(code, 0, `exit code after SIGTERM; stderr tail:\n${d.stderr.slice(-2000)}`);
      }
    } finally {
      h.dropDatabase(db);
      try { h.psql(`DROP ROLE IF EXISTS ${role}`); } catch (e) { process.stderr.write(`warning: ${e.message}\n`); }
    }
  });

  test('while the database refuses connections: 503 + Retry-After, never 200; afterwards ingestion resumes without a restart', async () => {
    const first = nextBatch();
    I.assertIngest(await I.postObs(d, T, first), { accepted: 50 });

    setLogin(false);
    terminate();
    const during = [];
    const t0 = Date.now();
    while (Date.now() - t0 < 3000 || during.length < 3) {
      const batch = nextBatch();
      const t1 = Date.now();
      const res = await I.postObs(d, T, batch, { signal: AbortSignal.timeout(20000) });
      during.push({ batch, status: res.status, ms: Date.now() - t1 });
      assert.equal(res.status, 503, `POST while the database is down: expected 503, got ${h.describeRes(res)}`);
      h.assertProblem(res, 503, 'unavailable');
      const ra = res.headers.get('retry-after') || '';
      assert.match(ra, /^\d+$|^[A-Z][a-z]{2}, /, `Retry-After on the 503: "${ra}"`);
      await new Promise((r) => setTimeout(r, 100)); // deliberate: pace the POSTs over the 3 s outage
    }
    h.assertStatus(await h.request(d, 'GET', '/readyz'), 503, '/readyz while the database is down');
    h.assertStatus(await h.request(d, 'GET', '/healthz'), 200, '/healthz while the database is down');

    setLogin(true);
    const t2 = Date.now();
    let after;
    for (;;) {
      const batch = nextBatch();
      const res = await I.postObs(d, T, batch, { signal: AbortSignal.timeout(20000) });
      if (res.status === 200) { I.assertIngest(res, { accepted: 50 }); after = batch; break; }
      assert.equal(res.status, 503, `while reconnecting: ${h.describeRes(res)}`);
      assert.ok(Date.now() - t2 < 20000, 'ingestion resumed within 20 s of the database coming back');
      await new Promise((r) => setTimeout(r, 200));
    }
    process.stderr.write(`# outage: ${during.length} POSTs answered 503 (slowest ${Math.max(...during.map((x) => x.ms))} ms); resumed after ${Date.now() - t2} ms\n`);
    I.assertIngest(await I.postObs(d, T, nextBatch()), { accepted: 50 });
    {
      const t3 = Date.now();
      const seen = [];
      let last;
      while (Date.now() - t3 < 10000) {
        last = await h.request(d, 'GET', '/readyz');
        seen.push(last.status);
        if (last.status === 200) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      process.stderr.write(`# readyz after recovery: ${seen.join(',')} in ${Date.now() - t3} ms\n`);
      h.assertStatus(last, 200, `/readyz once the database is back (POSTs succeed again) stays 503 for 10 s: ${seen.length} probes`);
    }

    const pts = await I.rawAll(d, T, 'out-1', { from: base, to: base + DAY });
    const have = new Set(pts.map((p) => Date.parse(p[0])));
    for (const r of [...first, ...after]) assert.ok(have.has(r.ts), `acknowledged reading ${iso(r.ts)} stored`);
    // the batches refused with 503 can be sent again
    for (const x of during) {
      const b = I.assertIngest(await I.postObs(d, T, x.batch), { rejected: [] });
      assert.equal(b.accepted + b.duplicates, 50);
    }
    assert.equal((await I.rawAll(d, T, 'out-1', { from: base, to: base + DAY })).length, seq);
  });

  test('connections killed under load (8 posters): only 200 or 503; every 200 is stored; ingestion goes on', async () => {
    const lbase = Date.UTC(2026, 7, 1);
    let stop = false;
    const { loops, done } = startLoad(() => d, T, 'b', lbase, { stop: () => stop });
    let kills = 0;
    for (let r = 0; r < 4; r++) {
      await new Promise((res) => setTimeout(res, 350)); // deliberate: spread the kills over the load
      kills += Number(terminate().trim());
    }
    const ackedAtLastKill = loops.reduce((a, L) => a + L.acked.length, 0);
    await h.pollUntil(() => loops.reduce((a, L) => a + L.acked.length, 0) >= ackedAtLastKill + 8,
      { timeoutMs: 15000, intervalMs: 20, what: 'acknowledged batches after the last kill' });
    stop = true;
    await h.withTimeout(done, 25000, 'posters did not stop');
    assert.ok(kills > 0, 'some database connections were terminated');
    for (const [i, L] of loops.entries()) {
      assert.deepEqual(L.unanswered, [], `loop ${i}: every request answered`);
      for (const o of L.other) {
        assert.equal(o.status, 503, `loop ${i}: a request hit by a lost connection gets 503 (or is retried): ${JSON.stringify(o)}`);
        assert.ok(o.retryAfter, `loop ${i}: Retry-After on the 503`);
      }
    }
    const stored = await storedByLoop(d, T, 'b', lbase);
    const { ackedReadings } = checkAcked(loops, stored, lbase);
    await checkAggregates(d, T, 'b', stored, lbase, 'after lost connections');
    const n503 = loops.reduce((a, L) => a + L.other.length, 0);
    process.stderr.write(`# connection kills: ${kills} backends terminated; ${ackedReadings} acknowledged readings stored; ${n503} answers 503\n`);
  });

  test('reads right after the database connections were lost (database up) succeed: no 503', async () => {
    const from = iso(base);
    const to = iso(base + DAY);
    h.assertStatus(await h.request(d, 'GET', `/api/v1/sensors/out-1/series?from=${from}&to=${to}`, { token: T }), 200);
    const killed = Number(terminate().trim());
    assert.ok(killed > 0, 'some connections were terminated');
    // deliberate: give the terminated backends time to be gone; the reads must then succeed at once
    await new Promise((r) => setTimeout(r, 200));
    const statuses = [];
    for (let i = 0; i < 8; i++) {
      const p = i % 2 ? '/api/v1/sensors/out-1/latest' : `/api/v1/sensors/out-1/series?from=${from}&to=${to}&bucket=1h&agg=count`;
      statuses.push((await h.request(d, 'GET', p, { token: T })).status);
    }
    assert.deepEqual(statuses, [200, 200, 200, 200, 200, 200, 200, 200],
      'the database answers, so a read on a pooled connection that was closed under it should reconnect (and retry), not answer 503');
  });
});
