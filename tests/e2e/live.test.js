'use strict';
// The live feed: WebSocket /api/v1/live — authentication (header, ?access_token, 401 before the
// upgrade, 403 for analysts and devices), hello, subscribe filters (domains, zones, sensors, alerts),
// the observation and alert message shapes, ping/pong, re-subscribe, `since` replay of missed alert
// events, GET /api/v1/events, and nothing on the feed that was not stored.
// Contract: shared/API.md §6; docs/api-notes.md "Live operations".

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/harness');
const I = require('./lib/ingest-helpers');
const L = require('./lib/live-helpers');

const { SEC, MIN, iso } = I;

const OBS_KEYS = ['type', 'sensor', 'metric', 'ts', 'value', 'zone', 'domain'];

describe('live feed', () => {
  const ctx = h.useDaemon('live', { MAEUL_ALERTS_TICK_MS: '100' });
  let T; // admin
  const tok = {}; // role → token
  const clients = [];
  const t0 = Date.now() - 30 * MIN; // readings are stamped from here on, one distinct second each
  let tick = 0;
  const nextTs = () => iso(t0 + (tick++) * SEC);

  async function client(token = T, opts) {
    const ws = await L.connect(ctx.d, token, opts);
    clients.push(ws);
    return ws;
  }

  before(async () => {
    T = ctx.d.bootstrapToken;
    const d = ctx.d;
    for (const role of ['operator', 'analyst', 'device', 'welfare_officer']) {
      tok[role] = (await h.createToken(d, role, `live-${role}`)).token;
    }
    await I.makeZone(d, 'lv-a', 127.00, 37.00, 0.02);
    await I.makeZone(d, 'lv-b', 127.10, 37.00, 0.02);
    const s = (id, domain, lon, extra = {}) => I.makeSensor(d, id, {
      domain, kind: 'probe', location: h.point(lon, 37.01), metrics: [{ name: 'level', unit: 'm', min: -100, max: 100 }], ...extra,
    });
    await s('a-dis', 'disaster', 127.01); // zone lv-a (derived from the location)
    await s('a-ene', 'energy', 127.011);
    await s('b-dis', 'disaster', 127.11); // zone lv-b
    await s('b-env', 'environment', 127.111);
    await s('rs-1', 'mobility', 127.012);
    await s('rs-2', 'mobility', 127.013);
    await s('val-1', 'welfare', 127.014);
    await s('al-1', 'energy', 127.015);
  });

  after(() => { for (const c of clients) c.destroy(); });

  // ---------------------------------------------------------------- handshake and roles

  describe('authentication', () => {
    test('Bearer header and ?access_token both upgrade; hello carries event_id and server_time', async () => {
      for (const via of ['header', 'query']) {
        const r = await L.openWs(ctx.d, { token: T, via });
        assert.equal(r.status, 101, `${via}: ${r.status} ${r.text || ''}`);
        clients.push(r.ws);
        const hello = await r.ws.waitFor((m) => m.type === 'hello', { what: 'hello' });
        assert.equal(hello, r.ws.msgs[0], 'hello is the first message');
        assert.ok(Number.isInteger(hello.event_id) && hello.event_id >= 0, `hello.event_id: ${JSON.stringify(hello)}`);
        assert.match(hello.server_time, h.TIME_RE, 'hello.server_time');
        assert.ok(Math.abs(Date.parse(hello.server_time) - Date.now()) < 5000, 'server_time is now');
        assert.deepEqual(r.ws.protocolErrors, []);
        r.ws.destroy();
      }
    });

    test('a plain GET without an upgrade: 426 problem with Upgrade: websocket', async () => {
      const res = await h.request(ctx.d, 'GET', '/api/v1/live', { token: T });
      const b = h.assertProblem(res, 426, 'upgrade-required');
      assert.equal(b.status, 426);
      assert.match(String(res.headers.get('upgrade')), /^websocket$/i, 'Upgrade: websocket');
    });

    test('no token, an unknown token, a revoked token: 401 problem before any upgrade', async () => {
      const revoked = await h.createToken(ctx.d, 'operator', 'live-revoked');
      h.assertStatus(await h.request(ctx.d, 'DELETE', `/api/v1/tokens/${revoked.id}`, { token: T }), 204);
      const cases = [
        { token: undefined },
        { token: 'not-a-token-at-all-0123456789' },
        { token: 'not-a-token-at-all-0123456789', via: 'query' },
        { token: revoked.token },
        { token: revoked.token, via: 'query' },
      ];
      for (const c of cases) {
        const r = await L.openWs(ctx.d, c);
        assert.equal(r.status, 401, `${JSON.stringify(c)}: expected 401, got ${r.status}`);
        assert.match(String(r.headers['www-authenticate'] || ''), /^Bearer/i, 'WWW-Authenticate: Bearer');
        assert.match(r.contentType, h.PROBLEM_CT_RE);
        assert.equal(r.json && r.json.status, 401);
      }
    });

    test('analyst and device tokens: 403 (header and query); operator and welfare_officer: 101', async () => {
      for (const role of ['analyst', 'device']) {
        for (const via of ['header', 'query']) {
          const r = await L.openWs(ctx.d, { token: tok[role], via });
          assert.equal(r.status, 403, `${role} via ${via}: ${r.status} ${r.text || ''}`);
          assert.match(r.contentType, h.PROBLEM_CT_RE);
        }
      }
      for (const role of ['operator', 'welfare_officer']) {
        const ws = await client(tok[role], { via: role === 'operator' ? 'header' : 'query' });
        assert.equal(ws.hello.type, 'hello');
      }
    });
  });

  // ---------------------------------------------------------------- subscriptions

  describe('subscriptions', () => {
    test('ping → pong (JSON and control frames)', async () => {
      const ws = await client(tok.operator);
      const from = ws.msgs.length;
      ws.send({ type: 'ping' });
      await ws.waitFor((m) => m.type === 'pong', { from, what: 'pong', timeoutMs: 2000 });
      const p0 = ws.pongs;
      ws.controlPing('hi');
      await h.pollUntil(() => ws.pongs > p0, { timeoutMs: 2000, what: 'a control pong frame' });
    });

    test('filters: domains, zones, sensors, a combination, none; fields; within 2 s; only after it is stored', async () => {
      const subs = {
        all: {},
        emptyLists: { domains: [], zones: [], sensors: [] },
        dom: { domains: ['disaster'] },
        zone: { zones: ['lv-b'] },
        sens: { sensors: ['a-ene', 'b-env'] },
        combo: { domains: ['disaster'], zones: ['lv-b'] },
        twoDomains: { domains: ['energy', 'environment'] },
      };
      const want = {
        all: ['a-dis', 'a-ene', 'b-dis', 'b-env'],
        emptyLists: ['a-dis', 'a-ene', 'b-dis', 'b-env'],
        dom: ['a-dis', 'b-dis'],
        zone: ['b-dis', 'b-env'],
        sens: ['a-ene', 'b-env'],
        combo: ['b-dis'],
        twoDomains: ['a-ene', 'b-env'],
      };
      const ws = {};
      for (const [k, s] of Object.entries(subs)) {
        ws[k] = await client(tok.operator);
        const ack = await ws[k].subscribeAndWait({ ...s, alerts: false });
        assert.equal(ack.type, 'subscribed');
      }
      const meta = { 'a-dis': ['lv-a', 'disaster'], 'a-ene': ['lv-a', 'energy'], 'b-dis': ['lv-b', 'disaster'], 'b-env': ['lv-b', 'environment'] };
      // Two rounds: the second is the marker proving the first round's non-matching readings are not
      // merely late.
      const rounds = [];
      for (let round = 0; round < 2; round++) {
        const rs = Object.keys(meta).map((sensor, i) => ({ sensor, metric: 'level', ts: nextTs(), value: round * 10 + i + 0.5 }));
        const sentAt = Date.now();
        await L.ingest(ctx.d, rs);
        rounds.push({ rs, answeredAt: Date.now(), sentAt });
      }
      const isObs = (r) => (m) => m.type === 'observation' && m.sensor === r.sensor && m.ts === r.ts;
      for (const [k, c] of Object.entries(ws)) {
        for (const { rs, answeredAt } of rounds) {
          for (const r of rs.filter((x) => want[k].includes(x.sensor))) {
            const m = await c.waitFor(isObs(r), { timeoutMs: 2000, what: `${k}: ${r.sensor} ${r.ts}` });
            assert.deepEqual(Object.keys(m).sort(), [...OBS_KEYS].sort(), `observation fields: ${JSON.stringify(m)}`);
            assert.deepEqual(m, { type: 'observation', sensor: r.sensor, metric: 'level', ts: r.ts, value: r.value, zone: meta[r.sensor][0], domain: meta[r.sensor][1] });
            assert.ok(m._at - answeredAt < 2000, `${k}: arrived ${m._at - answeredAt} ms after the 200`);
          }
        }
        const got = c.filter((m) => m.type === 'observation').map((m) => m.sensor);
        const unexpected = got.filter((s) => !want[k].includes(s));
        assert.deepEqual(unexpected, [], `${k} (${JSON.stringify(subs[k])}) received readings of other sensors`);
        assert.equal(got.length, want[k].length * 2, `${k}: each matching reading exactly once: ${JSON.stringify(got)}`);
        assert.equal(c.filter((m) => m.type === 'alert').length, 0, `${k}: alerts:false receives no alert events`);
      }
    });

    test('a reading is on the feed only once it is stored: latest shows it when the frame arrives', async () => {
      const ws = await client(tok.operator);
      await ws.subscribeAndWait({ sensors: ['a-dis'] });
      for (let i = 0; i < 5; i++) {
        const r = { sensor: 'a-dis', metric: 'level', ts: nextTs(), value: 50 + i };
        const post = L.ingest(ctx.d, [r]);
        const m = await ws.waitFor((x) => x.type === 'observation' && x.ts === r.ts, { timeoutMs: 2000, what: `reading ${r.ts}` });
        // The frame may overtake the HTTP answer by a moment, but never the commit.
        const latest = await I.getJson(ctx.d, T, '/api/v1/sensors/a-dis/latest');
        assert.ok(Date.parse(latest.metrics.level.ts) >= Date.parse(r.ts),
          `latest when the frame arrived: ${JSON.stringify(latest)} (frame ${JSON.stringify(m)})`);
        await post;
      }
    });

    test('rejected readings never appear on the feed (partial batches and wholly refused ones)', async () => {
      const ws = await client(tok.welfare_officer); // welfare readings reach only admin and welfare_officer (API §8)
      await ws.subscribeAndWait({ sensors: ['val-1'] });
      const good1 = { sensor: 'val-1', metric: 'level', ts: nextTs(), value: 1 };
      const bad = [
        { sensor: 'val-1', metric: 'level', ts: nextTs(), value: 1000 }, // above max
        { sensor: 'val-1', metric: 'nosuch', ts: nextTs(), value: 2 }, // unknown metric
        { sensor: 'val-1', metric: 'level', ts: iso(Date.now() + 60 * MIN), value: 3 }, // future
        { sensor: 'val-1', metric: 'level', ts: '2026-01-01T00:00:00', value: 4 }, // no offset
      ];
      const res = await I.postObs(ctx.d, T, [bad[0], good1, bad[1], bad[2], bad[3]]);
      I.assertIngest(res, { accepted: 1, rejected: [0, 2, 3, 4] });
      const refused = await I.postObs(ctx.d, T, [{ sensor: 'val-1', metric: 'level', ts: nextTs(), value: -1000 }]);
      h.assertStatus(refused, 422, 'a batch with no acceptable reading');
      const good2 = { sensor: 'val-1', metric: 'level', ts: nextTs(), value: 2 };
      await L.ingest(ctx.d, [good2]);
      await ws.waitFor((m) => m.type === 'observation' && m.ts === good2.ts, { timeoutMs: 2000, what: 'the marker reading' });
      const got = ws.filter((m) => m.type === 'observation').map((m) => [m.ts, m.value]);
      assert.deepEqual(got, [[good1.ts, 1], [good2.ts, 2]], 'only the accepted readings, in order');
    });

    test('a new subscribe replaces the previous filters', async () => {
      const ws = await client(tok.operator);
      await ws.subscribeAndWait({ sensors: ['rs-1'] });
      const r1 = { sensor: 'rs-1', metric: 'level', ts: nextTs(), value: 1 };
      await L.ingest(ctx.d, [r1]);
      await ws.waitFor((m) => m.type === 'observation' && m.ts === r1.ts, { timeoutMs: 2000, what: 'rs-1 before' });
      const from = ws.msgs.length;
      const ack = await ws.subscribeAndWait({ sensors: ['rs-2'] });
      assert.deepEqual(ack.sensors, ['rs-2'], `subscribed echoes the new filter: ${JSON.stringify(ack)}`);
      const r2 = { sensor: 'rs-1', metric: 'level', ts: nextTs(), value: 2 };
      const r3 = { sensor: 'rs-2', metric: 'level', ts: nextTs(), value: 3 };
      await L.ingest(ctx.d, [r2, r3]);
      await ws.waitFor((m) => m.type === 'observation' && m.ts === r3.ts, { from, timeoutMs: 2000, what: 'rs-2 after' });
      assert.deepEqual(ws.filter((m) => m.type === 'observation', from).map((m) => m.sensor), ['rs-2'],
        'after the re-subscribe only rs-2');
    });
  });

  // ---------------------------------------------------------------- alert events

  describe('alert events', () => {
    let rule;
    const ruleBody = {
      name: { ko: '실시간 경보', en: 'Live alert' }, kind: 'threshold', selector: { sensor: 'al-1' },
      severity: 'warning', metric: 'level', op: '>', value: 10,
    };

    before(async () => {
      rule = await L.createRule(ctx.d, ruleBody);
      await L.rulesSettled(ctx.d);
    });

    // Opens an alert on al-1 (a reading below 10, then one above) and returns it, once opened.
    async function openAlert(value = 20) {
      await L.ingest(ctx.d, [{ sensor: 'al-1', metric: 'level', ts: nextTs(), value: 0 }, { sensor: 'al-1', metric: 'level', ts: nextTs(), value }]);
      const a = await L.waitAlert(ctx.d, (x) => x.rule === rule.id && x.state !== 'resolved', { what: 'the al-1 alert' });
      return a;
    }

    async function resolve(id, note = 'done') {
      const r = await L.api(ctx.d, 'POST', `/api/v1/alerts/${id}/resolve`, { note });
      h.assertStatus(r, 200, 'resolve');
      return r.json;
    }

    test('alerts:true receives opened/acknowledged/resolved with event ids; alerts:false does not', async () => {
      const on = await client(tok.operator);
      await on.subscribeAndWait({ alerts: true, sensors: ['nothing-matches-this'] });
      const off = await client(tok.operator);
      await off.subscribeAndWait({ alerts: false });
      const a = await openAlert();
      h.assertStatus(await L.api(ctx.d, 'POST', `/api/v1/alerts/${a.id}/ack`, { note: 'seen' }, tok.operator), 200);
      await resolve(a.id);
      const evs = await on.waitCount((m) => m.type === 'alert' && m.alert && m.alert.id === a.id, 3, { timeoutMs: 3000, what: 'alert events' });
      assert.deepEqual(evs.map((m) => m.event), ['opened', 'acknowledged', 'resolved']);
      for (let i = 0; i < evs.length; i++) {
        const m = evs[i];
        assert.ok(Number.isInteger(m.event_id) && m.event_id > 0, `event_id: ${JSON.stringify(m)}`);
        if (i > 0) assert.ok(m.event_id > evs[i - 1].event_id, 'event ids increase');
        assert.equal(m.alert.rule, rule.id);
        assert.equal(m.alert.sensor, 'al-1');
        assert.equal(m.alert.zone, 'lv-a');
        assert.equal(m.alert.domain, 'energy');
        assert.equal(m.alert.severity, 'warning');
        assert.equal(m.alert.metric, 'level');
      }
      assert.deepEqual(evs.map((m) => m.alert.state), ['open', 'acknowledged', 'resolved']);
      assert.ok(evs[1].alert.acknowledged_by, 'acknowledged_by in the acknowledged event');
      // events and alerts are not observations: the marker is one more observation for `off`
      const mk = { sensor: 'a-dis', metric: 'level', ts: nextTs(), value: 0 };
      await L.ingest(ctx.d, [mk]);
      await off.waitFor((m) => m.type === 'observation' && m.ts === mk.ts, { timeoutMs: 2000, what: 'marker' });
      assert.equal(off.filter((m) => m.type === 'alert').length, 0, 'alerts:false: no alert events');
      // the events list agrees with the feed
      const listed = await I.getJson(ctx.d, T, `/api/v1/events?since=${evs[0].event_id - 1}&limit=1000`);
      const mine = listed.items.filter((e) => e.alert && e.alert.id === a.id);
      assert.deepEqual(mine.map((e) => [e.event_id, e.event]), evs.map((m) => [m.event_id, m.event]));
    });

    test('since: alert events missed while disconnected are replayed first, in order, then live ones', async () => {
      const ws1 = await client(tok.operator);
      await ws1.subscribeAndWait({ alerts: true });
      const a0 = await openAlert();
      const seen = await ws1.waitFor((m) => m.type === 'alert' && m.alert.id === a0.id && m.event === 'opened', { timeoutMs: 2000, what: 'opened' });
      const lastSeen = seen.event_id;
      ws1.close();
      await ws1.waitClose(2000);

      // while disconnected: ack + resolve a0, open/ack a1
      h.assertStatus(await L.api(ctx.d, 'POST', `/api/v1/alerts/${a0.id}/ack`, { note: 'offline ack' }), 200);
      await resolve(a0.id, 'offline resolve');
      const a1 = await openAlert(30);
      assert.notEqual(a1.id, a0.id, 'a new alert after the resolve');
      h.assertStatus(await L.api(ctx.d, 'POST', `/api/v1/alerts/${a1.id}/ack`, { note: 'x' }), 200);
      const missed = (await I.getJson(ctx.d, T, `/api/v1/events?since=${lastSeen}&limit=1000`)).items;
      assert.ok(missed.length >= 4, `at least 4 events after ${lastSeen}: ${JSON.stringify(missed.map((e) => e.event))}`);
      assert.ok(missed.every((e) => e.event_id > lastSeen), 'since is exclusive');

      const ws2 = await client(tok.operator);
      assert.ok(ws2.hello.event_id >= missed[missed.length - 1].event_id, `hello.event_id ${ws2.hello.event_id} is the last event`);
      const from = ws2.msgs.length;
      ws2.subscribe({ alerts: true, since: lastSeen });
      const replay = await ws2.waitCount((m) => m.type === 'alert', missed.length, { from, timeoutMs: 3000, what: 'replayed events' });
      // then a live one
      await resolve(a1.id, 'live');
      await ws2.waitFor((m) => m.type === 'alert' && m.alert.id === a1.id && m.event === 'resolved', { from, timeoutMs: 2000, what: 'the live resolve' });
      const all = ws2.filter((m) => m.type === 'alert', from);
      const dedup = [];
      const ids = new Set();
      for (const m of all) if (!ids.has(m.event_id)) { ids.add(m.event_id); dedup.push(m); }
      const ordered = dedup.map((m) => m.event_id);
      assert.deepEqual(ordered, [...ordered].sort((x, y) => x - y), `event ids in order: ${ordered}`);
      assert.deepEqual(dedup.slice(0, missed.length).map((m) => [m.event_id, m.event, m.alert.id]),
        missed.map((e) => [e.event_id, e.event, e.alert.id]), 'the missed events first, as listed by /events');
      assert.ok(replay.every((m) => m.event_id > lastSeen), 'nothing at or before since');
      assert.equal(dedup[dedup.length - 1].event, 'resolved');
    });

    test('a replayed event is the event as it was pushed live (the alert as of that change)', async () => {
      const live = await client(tok.operator);
      await live.subscribeAndWait({ alerts: true });
      const a = await openAlert(40);
      h.assertStatus(await L.api(ctx.d, 'POST', `/api/v1/alerts/${a.id}/ack`, { note: 'replay ack' }), 200);
      await resolve(a.id, 'replay resolve');
      const pushed = await live.waitCount((m) => m.type === 'alert' && m.alert.id === a.id, 3, { timeoutMs: 3000, what: 'live events' });
      const later = await client(tok.operator);
      const from = later.msgs.length;
      later.subscribe({ alerts: true, since: pushed[0].event_id - 1 });
      const replayed = await later.waitCount((m) => m.type === 'alert' && m.alert.id === a.id, 3, { from, timeoutMs: 3000, what: 'replayed events' });
      assert.deepEqual(replayed.map((m) => `${m.event}:${m.alert.state}`), pushed.map((m) => `${m.event}:${m.alert.state}`),
        'each replayed event carries the alert as it was at that event');
      assert.deepEqual(replayed, pushed);
    });

    test('GET /api/v1/events: since is exclusive, id order, limit; roles', async () => {
      const all = (await I.getJson(ctx.d, T, '/api/v1/events?since=0&limit=1000')).items;
      assert.ok(all.length >= 8, `events so far: ${all.length}`);
      const ids = all.map((e) => e.event_id);
      assert.deepEqual(ids, [...ids].sort((x, y) => x - y));
      assert.equal(new Set(ids).size, ids.length);
      for (const e of all) {
        assert.ok(['opened', 'acknowledged', 'resolved', 'cleared', 'escalated'].includes(e.event), `event ${e.event}`);
        assert.equal(typeof e.alert, 'object');
      }
      const mid = ids[3];
      const after3 = (await I.getJson(ctx.d, T, `/api/v1/events?since=${mid}&limit=2`)).items;
      assert.deepEqual(after3.map((e) => e.event_id), ids.slice(4, 6));
      const op = await h.request(ctx.d, 'GET', '/api/v1/events?since=0', { token: tok.operator });
      h.assertStatus(op, 200, 'operator reads events');
      for (const role of ['analyst', 'device']) {
        h.assertProblem(await h.request(ctx.d, 'GET', '/api/v1/events?since=0', { token: tok[role] }), 403, 'forbidden');
      }
      h.assertProblem(await h.request(ctx.d, 'GET', '/api/v1/events?since=0'), 401, 'unauthorized');
    });
  });
});
