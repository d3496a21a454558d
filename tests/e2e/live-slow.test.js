'use strict';
// A live-feed client that stops reading while tens of thousands of readings are posted: ingestion
// keeps its pace (every POST 200, latency stays low), other subscribers keep getting their readings,
// and when the slow client reads again it gets a `coalesced` notice and the latest value of every
// (sensor, metric) — or is closed with 1008 — and /metrics counts it.
// Contract: shared/API.md §6; docs/api-notes.md "Live operations" (slow clients).

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/harness');
const I = require('./lib/ingest-helpers');
const L = require('./lib/live-helpers');

const { SEC, HOUR, iso } = I;

const SENSORS = 20;
const BATCH = 2000; // readings a POST
const BATCHES = 40; // 80,000 readings, ~12 MB of observation frames: more than the kernel buffers hold
const BASELINE_BATCHES = 5;

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };

describe('slow live client', () => {
  const ctx = h.useDaemon('live_slow');
  let T;
  const clients = [];
  const base = Date.now() - 3 * HOUR;
  let seq = 0;

  // One batch: BATCH readings spread over the sensors, each with a distinct ts; value = sequence number.
  function batch() {
    const rs = [];
    for (let k = 0; k < BATCH; k++) {
      const n = seq++;
      rs.push({ sensor: `slow-${n % SENSORS}`, metric: 'level', ts: iso(base + Math.floor(n / SENSORS) * 100), value: n });
    }
    return rs;
  }

  async function timedPost(rs) {
    const t = Date.now();
    const res = await I.postObs(ctx.d, T, rs);
    const ms = Date.now() - t;
    I.assertIngest(res, { accepted: rs.length, rejected: [] }, 'load batch');
    return ms;
  }

  before(async () => {
    T = ctx.d.bootstrapToken;
    await I.makeZone(ctx.d, 'slow-z', 127.00, 37.00, 0.05);
    for (let i = 0; i < SENSORS; i++) {
      await I.makeSensor(ctx.d, `slow-${i}`, { domain: 'energy', kind: 'meter', location: h.point(127.01 + i * 0.001, 37.01), metrics: [{ name: 'level', unit: 'm' }] });
    }
    await I.makeSensor(ctx.d, 'slow-watch', { domain: 'energy', kind: 'meter', location: h.point(127.04, 37.01), metrics: [{ name: 'level', unit: 'm' }] });
  });

  after(() => { for (const c of clients) c.destroy(); });

  test('a client that never reads does not slow ingestion; on resuming it is coalesced (or closed 1008)', async () => {
    // baseline latency with nobody subscribed
    const baseline = [];
    for (let i = 0; i < BASELINE_BATCHES; i++) baseline.push(await timedPost(batch()));
    const base50 = median(baseline);

    const slow = await L.connect(ctx.d, T);
    clients.push(slow);
    await slow.subscribeAndWait({ alerts: true });
    const watcher = await L.connect(ctx.d, T);
    clients.push(watcher);
    await watcher.subscribeAndWait({ sensors: ['slow-watch'] });
    slow.pause();
    const coalesced0 = await L.metricValue(ctx.d, 'maeul_live_coalesced_total');
    const slowClosed0 = await L.metricValue(ctx.d, 'maeul_live_disconnects_total', { reason: 'slow' });

    const lat = [];
    const watchLat = [];
    const t0 = Date.now();
    for (let i = 0; i < BATCHES; i++) {
      lat.push(await timedPost(batch()));
      if (i % 10 === 9) {
        // another subscriber keeps getting its readings while the slow one is stuck
        const w = { sensor: 'slow-watch', metric: 'level', ts: iso(Date.now() - SEC), value: i };
        const tw = Date.now();
        await L.ingest(ctx.d, [w]);
        await watcher.waitFor((m) => m.type === 'observation' && m.sensor === 'slow-watch' && m.value === i, { timeoutMs: 2000, what: `watcher reading ${i}` });
        watchLat.push(Date.now() - tw);
      }
    }
    const total = Date.now() - t0;
    const received = slow.filter((m) => m.type === 'observation').length;
    const posted = BATCHES * BATCH;
    const info = `baseline median ${base50} ms; under load median ${median(lat)} ms, max ${Math.max(...lat)} ms; ` +
      `${posted} readings in ${total} ms; slow client had parsed ${received} observations, ${slow.bytes} bytes; watcher ${watchLat.join(',')} ms`;
    process.stderr.write(`# live-slow: ${info}\n`);
    assert.ok(received < posted / 2, `the paused client really was stuck (${info})`);
    assert.ok(median(lat) <= Math.max(5 * base50, base50 + 150), `POST median latency under a stuck client: ${info}`);
    assert.ok(Math.max(...lat) <= Math.max(10 * base50, 2000), `POST max latency under a stuck client: ${info}`);

    // resume reading: a coalesced notice and the latest value of each sensor, or a 1008 close
    const lastValue = new Map();
    for (let n = seq - SENSORS; n < seq; n++) lastValue.set(`slow-${n % SENSORS}`, n);
    slow.resume();
    const outcome = await Promise.race([
      slow.waitFor((m) => m.type === 'notice' && m.code === 'coalesced', { timeoutMs: 10000, what: 'a coalesced notice' }).then((m) => ({ notice: m })),
      slow.waitClose(10000).then((c) => ({ closed: c })),
    ]);
    process.stderr.write(`# live-slow: on resuming: ${outcome.notice ? JSON.stringify(outcome.notice) : `closed ${slow.closeCode} ${slow.closeReason}`}\n`);
    if (outcome.notice) {
      const n = outcome.notice;
      assert.ok(Number.isInteger(n.dropped) && n.dropped > 0, `notice.dropped: ${JSON.stringify(n)}`);
      // then the latest value of every (sensor, metric)
      await h.pollUntil(() => [...lastValue].every(([s, v]) => slow.find((m) => m.type === 'observation' && m.sensor === s && m.value === v)) || slow.closed,
        { timeoutMs: 10000, what: 'the latest value of every sensor after coalescing' });
      if (!slow.closed) {
        // every reading is accounted for: delivered, or counted in a notice's `dropped`
        const expected = posted + watchLat.length; // the slow client subscribed to everything
        const count = () => {
          const delivered = slow.filter((m) => m.type === 'observation').length;
          const notices = slow.filter((m) => m.type === 'notice' && m.code === 'coalesced');
          return { delivered, notices: notices.length, dropped: notices.reduce((a, m) => a + m.dropped, 0) };
        };
        await h.pollUntil(() => { const c = count(); return c.delivered + c.dropped >= expected; },
          { timeoutMs: 5000, what: 'delivered + dropped to cover every reading' }).catch(() => {});
        const c = count();
        process.stderr.write(`# live-slow: after resuming ${JSON.stringify(c)}, expected ${expected}\n`);
        assert.equal(c.delivered + c.dropped, expected, `delivered + dropped = readings posted: ${JSON.stringify(c)}`);
        assert.ok(c.delivered < posted, `not every reading was delivered: ${JSON.stringify(c)}`);
        await h.pollUntil(async () => (await L.metricValue(ctx.d, 'maeul_live_coalesced_total')) - coalesced0 >= c.dropped,
          { timeoutMs: 3000, what: `maeul_live_coalesced_total to grow by ${c.dropped}` });
        // the feed works normally again
        const mk = { sensor: 'slow-0', metric: 'level', ts: iso(Date.now() - SEC), value: -1 };
        await L.ingest(ctx.d, [mk]);
        await slow.waitFor((m) => m.type === 'observation' && m.ts === mk.ts, { timeoutMs: 2000, what: 'a reading after catching up' });
        slow.send({ type: 'ping' });
        await slow.waitFor((m) => m.type === 'pong', { timeoutMs: 2000, what: 'pong after catching up' });
        return;
      }
    }
    assert.ok(slow.closed, 'closed');
    assert.equal(slow.closeCode, 1008, `a slow client is closed with 1008, got ${slow.closeCode} ${slow.closeReason}`);
    await h.pollUntil(async () => (await L.metricValue(ctx.d, 'maeul_live_disconnects_total', { reason: 'slow' })) > slowClosed0,
      { timeoutMs: 3000, what: 'maeul_live_disconnects_total{reason="slow"} to grow' });
  });
});
