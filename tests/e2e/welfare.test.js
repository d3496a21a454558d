'use strict';
// The welfare vault (API §9, §8 "break the glass"), end to end against a real maeuld and PostgreSQL:
// residents registered by a welfare officer of their zone, their identity sealed at rest (a pg_dump
// holds no name, phone or address), every access recorded in a hash chain that detects an edit, a
// break-the-glass reveal only on an open critical welfare alert, erasure for good, lapsed consent
// kept as a count, a sensor naming an unknown household refused, and `maeuld keys rotate` online.

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const { execFileSync } = require('node:child_process');
const h = require('./lib/harness');
const I = require('./lib/ingest-helpers');
const L = require('./lib/live-helpers');

const PASSWORD = 'correct horse battery staple';
const { MIN, SEC, iso } = I;

// Made-up people (clearly fictional), with strings a dump search cannot miss.
const KIM = {
  name: '김가상 Fictional-Kim-7731',
  birth_year: 1941,
  phone: '010-7731-2468',
  address: '강원 속초시 가상로 7731 (fictional-address-7731)',
  guardians: [{ name: '이가상 Fictional-Lee-7731', phone: '010-9999-7731', relation: 'daughter' }],
  notes: 'fictional-note-7731: hard of hearing, call twice',
};

describe('welfare vault: residents, sealing, access records, reveal, erasure', () => {
  const ctx = h.useDaemon('welfare');
  const tok = {};
  const t0 = Date.now() - 30 * MIN;
  let tick = 0;
  const nextTs = () => iso(t0 + (tick++) * SEC);
  const req = (who, method, path, body) => h.request(ctx.d, method, path, { token: tok[who] ?? ctx.d.bootstrapToken, body });
  let kim; // the registered resident's answer
  let sensorOf; // sensor ids by name

  const residentBody = (extra = {}) => ({
    ...KIM,
    zone: 'wf-a',
    care_worker: 'care_a',
    risk_level: 'high',
    consent: { purpose: 'emergency safety service for the elderly', basis: 'consent (PIPA art. 15(1)1)', granted_at: iso(Date.now() - 86400000) },
    ...extra,
  });

  before(async () => {
    const d = ctx.d;
    await I.makeZone(d, 'wf-a', 128.50, 38.20, 0.02);
    await I.makeZone(d, 'wf-b', 128.60, 38.20, 0.02);
    const people = {
      admin: { role: 'admin' },
      wo_a: { role: 'welfare_officer', zones: ['wf-a'] },
      wo_b: { role: 'welfare_officer', zones: ['wf-b'] },
      op: { role: 'operator' },
      analyst: { role: 'analyst' },
    };
    for (const [username, extra] of Object.entries(people)) {
      h.assertStatus(await h.request(d, 'POST', '/api/v1/users', {
        token: d.bootstrapToken, body: { username, display_name: `User ${username}`, password: PASSWORD, ...extra },
      }), 201, `create ${username}`);
      const signed = await h.request(d, 'POST', '/api/v1/sessions', { body: { username, password: PASSWORD } });
      h.assertStatus(signed, 201, `sign in ${username}`);
      tok[username] = signed.json.token;
    }
    const created = await req('wo_a', 'POST', '/api/v1/residents?purpose=enrolment', residentBody());
    h.assertStatus(created, 201, 'register the resident');
    kim = created.json;
    sensorOf = { button: 'wf-button-1', door: 'wf-door-1' };
    for (const [kind, id] of Object.entries(sensorOf)) {
      await I.makeSensor(d, id, {
        domain: 'welfare', kind, location: h.point(128.505, 38.205),
        metrics: [{ name: 'state', unit: '1' }], attributes: { household: kim.household },
      });
    }
  });

  test('registration answers the id and the household pseudonym, and the card holds the identity', async () => {
    assert.match(kim.id, /^r-[0-9a-f]{16}$/);
    assert.match(kim.household, /^hh-[0-9a-f]{16}$/);
    const card = await req('wo_a', 'GET', `/api/v1/residents/${kim.id}?purpose=weekly%20call`);
    h.assertStatus(card, 200);
    assert.equal(card.json.name, KIM.name);
    assert.equal(card.json.phone, KIM.phone);
    assert.equal(card.json.address, KIM.address);
    assert.deepEqual(card.json.guardians, KIM.guardians);
    assert.equal(card.json.consent.status, 'active');
    assert.match(card.json.key_id, /^[0-9a-f]{16}$/);
  });

  test('bad input: each bad field named; no consent, no resident', async () => {
    const res = await req('wo_a', 'POST', '/api/v1/residents', {
      name: '', zone: 'wf-a', phone: 'call me', birth_year: 1850, guardians: [{ name: 'x' }], extra: 1,
    });
    h.assertStatus(res, 422);
    const pointers = res.json.errors.map((e) => e.pointer).sort();
    for (const p of ['/name', '/phone', '/birth_year', '/guardians/0/phone', '/extra', '/consent'])
      assert.ok(pointers.includes(p), `${p} in ${JSON.stringify(pointers)}`);
    const nozone = await req('wo_a', 'POST', '/api/v1/residents', residentBody({ zone: 'wf-nowhere' }));
    assert.ok([404, 422].includes(nozone.status), `unknown zone: ${nozone.status}`);
  });

  test('scope: another zone\'s officer sees nothing; operator and analyst reach no resident route', async () => {
    h.assertStatus(await req('wo_b', 'GET', `/api/v1/residents/${kim.id}`), 404);
    const list = await req('wo_b', 'GET', '/api/v1/residents');
    h.assertStatus(list, 200);
    assert.equal(list.json.items.length, 0);
    const outside = await req('wo_b', 'POST', '/api/v1/residents', residentBody());
    h.assertStatus(outside, 422, 'registering in a zone outside the scope');
    for (const who of ['op', 'analyst']) {
      h.assertStatus(await req(who, 'GET', '/api/v1/residents'), 403, `${who} lists residents`);
      h.assertStatus(await req(who, 'GET', `/api/v1/residents/${kim.id}`), 403, `${who} reads the card`);
      h.assertStatus(await req(who, 'GET', `/api/v1/residents/${kim.id}/export`), 403, `${who} exports`);
      h.assertStatus(await req(who, 'GET', `/api/v1/sensors/${sensorOf.door}/latest`), 404, `${who} reads welfare values`);
    }
    const mine = await req('wo_a', 'GET', '/api/v1/residents?zone=wf-a');
    h.assertStatus(mine, 200);
    const item = mine.json.items.find((x) => x.id === kim.id);
    assert.ok(item, 'the officer of the zone lists the resident');
    assert.equal(item.name, undefined, 'a list holds no identity');
  });

  test('a lookup by phone goes through the blind index, in either written form', async () => {
    for (const form of ['010-7731-2468', '+82 10 7731 2468']) {
      const res = await req('wo_a', 'GET', `/api/v1/residents?phone=${encodeURIComponent(form)}&purpose=caller%20id`);
      h.assertStatus(res, 200);
      assert.deepEqual(res.json.items.map((x) => x.id), [kim.id], form);
    }
    const none = await req('wo_a', 'GET', `/api/v1/residents?phone=${encodeURIComponent('010-0000-0000')}`);
    assert.deepEqual(none.json.items, []);
  });

  test('at rest: a pg_dump of the database holds no name, phone, address, guardian or note in clear', () => {
    const dump = execFileSync('pg_dump', ['--no-owner', '-d', ctx.db], { encoding: 'utf8', maxBuffer: 256 << 20 });
    assert.ok(dump.includes('residents'), 'the dump holds the residents table');
    for (const secret of ['Fictional-Kim-7731', '7731-2468', '77312468', 'fictional-address-7731', 'Fictional-Lee-7731',
      'fictional-note-7731', '김가상'])
      assert.ok(!dump.includes(secret), `"${secret}" is in the dump`);
  });

  test('a welfare sensor naming an unknown household is refused, and so are its readings', async () => {
    const res = await h.request(ctx.d, 'POST', '/api/v1/sensors', {
      token: ctx.d.bootstrapToken,
      body: h.sensorBody('wf-ghost', { domain: 'welfare', kind: 'door', location: h.point(128.505, 38.205),
        metrics: [{ name: 'state', unit: '1' }], attributes: { household: 'hh-0000000000000000' } }),
    });
    h.assertStatus(res, 422);
    assert.ok(res.json.errors.some((e) => e.pointer === '/attributes/household'), JSON.stringify(res.json.errors));
  });

  test('break the glass: only on an open critical welfare alert, with a reason, and recorded', async () => {
    const d = ctx.d;
    const rule = await L.createRule(d, {
      name: { ko: '응급 버튼', en: 'Emergency button' }, kind: 'threshold', selector: { sensor: sensorOf.button },
      severity: 'critical', metric: 'state', op: '>', value: 0,
    });
    const minor = await L.createRule(d, {
      name: { ko: '문 열림', en: 'Door open' }, kind: 'threshold', selector: { sensor: sensorOf.door },
      severity: 'warning', metric: 'state', op: '>', value: 0,
    });
    await L.rulesSettled(d);
    await L.ingest(d, [{ sensor: sensorOf.button, metric: 'state', ts: nextTs(), value: 1 },
      { sensor: sensorOf.door, metric: 'state', ts: nextTs(), value: 1 }]);
    const critical = await L.waitAlert(d, (a) => a.rule === rule.id && a.state === 'open', { what: 'the button alert' });
    const warning = await L.waitAlert(d, (a) => a.rule === minor.id && a.state === 'open', { what: 'the door alert' });

    // The operator sees the alert with the household's pseudonym only.
    const seen = await req('op', 'GET', `/api/v1/alerts/${critical.id}`);
    h.assertStatus(seen, 200);
    assert.equal(seen.json.household, kim.household);
    assert.equal(seen.json.sensor, null);

    h.assertStatus(await req('op', 'POST', `/api/v1/alerts/${critical.id}/reveal`, {}), 422, 'no reason');
    h.assertStatus(await req('op', 'POST', `/api/v1/alerts/${warning.id}/reveal`, { reason: 'curious about the door' }), 403,
      'a warning is not a reason to break the glass');
    h.assertStatus(await req('analyst', 'POST', `/api/v1/alerts/${critical.id}/reveal`, { reason: 'analysis' }), 403,
      'an analyst never breaks the glass');
    const reveal = await req('op', 'POST', `/api/v1/alerts/${critical.id}/reveal`, { reason: 'button pressed, no answer on the phone' });
    h.assertStatus(reveal, 200);
    assert.equal(reveal.json.address, KIM.address);
    assert.equal(reveal.json.phone, KIM.phone);
    assert.deepEqual(reveal.json.guardians, KIM.guardians);
    assert.equal(reveal.json.household, kim.household);

    const recs = await req('admin', 'GET', `/api/v1/audit/access?resident=${kim.id}&limit=1000`);
    h.assertStatus(recs, 200);
    const r = recs.json.items.find((x) => x.action === 'reveal');
    assert.ok(r, JSON.stringify(recs.json.items));
    assert.equal(r.purpose, 'button pressed, no answer on the phone');
    assert.equal(r.alert, critical.id);
    assert.match(r.actor, /^op /);
    assert.equal(r.role, 'operator');
    assert.ok(r.ip.length > 0);

    h.assertStatus(await req('op', 'POST', `/api/v1/alerts/${critical.id}/resolve`, { note: 'visited, all well' }), 200);
    h.assertStatus(await req('op', 'POST', `/api/v1/alerts/${critical.id}/reveal`, { reason: 'after the fact' }), 403,
      'a resolved alert opens nothing');
  });

  test('every access is in the chained record; the monthly review counts them per person', async () => {
    const recs = await req('admin', 'GET', `/api/v1/audit/access?resident=${kim.id}&limit=1000`);
    const actions = recs.json.items.map((x) => x.action);
    for (const a of ['create', 'read', 'lookup', 'reveal']) assert.ok(actions.includes(a), `${a} in ${actions}`);
    const v = await req('admin', 'GET', '/api/v1/audit/verify');
    h.assertStatus(v, 200);
    assert.deepEqual(v.json, { ok: true, records: v.json.records, first_bad: null });
    assert.ok(v.json.records >= actions.length);
    const month = new Date().toISOString().slice(0, 7);
    const review = await req('admin', 'GET', `/api/v1/audit/review?month=${month}`);
    h.assertStatus(review, 200);
    const wo = review.json.actors.find((x) => x.actor.startsWith('wo_a '));
    assert.ok(wo && wo.reads >= 1 && wo.residents_read >= 1, JSON.stringify(review.json.actors));
    const op = review.json.actors.find((x) => x.actor.startsWith('op '));
    assert.equal(op.reveals, 1);
    h.assertStatus(await req('wo_a', 'GET', '/api/v1/audit/verify'), 403, 'only admins verify');
  });

  test('lapsed consent: readings are kept only as a count', async () => {
    const lapsed = await req('wo_a', 'POST', '/api/v1/residents', residentBody({
      name: 'Fictional Park', phone: '010-5555-0101',
      consent: { purpose: 'emergency safety service', basis: 'consent', granted_at: '2024-01-01T00:00:00Z', expires_at: '2025-01-01T00:00:00Z' },
    }));
    h.assertStatus(lapsed, 201);
    assert.equal(lapsed.json.consent.status, 'lapsed');
    await I.makeSensor(ctx.d, 'wf-park-door', {
      domain: 'welfare', kind: 'door', location: h.point(128.505, 38.205),
      metrics: [{ name: 'state', unit: '1' }], attributes: { household: lapsed.json.household },
    });
    const res = await I.postObs(ctx.d, ctx.d.bootstrapToken, [{ sensor: 'wf-park-door', metric: 'state', ts: nextTs(), value: 1 }]);
    h.assertStatus(res, 200);
    assert.equal(res.json.accepted, 1);
    assert.equal(res.json.withheld, 1);
    const latest = await h.request(ctx.d, 'GET', '/api/v1/sensors/wf-park-door/latest', { token: ctx.d.bootstrapToken });
    h.assertStatus(latest, 200);
    assert.deepEqual(latest.json.metrics, {}, 'nothing stored');
    const stored = h.psql("SELECT count(*) FROM observations o JOIN series s ON s.id = o.series_id WHERE s.sensor_id = 'wf-park-door'", ctx.db);
    assert.equal(stored.trim(), '0');
    await h.pollUntil(async () => {
      const card = await req('wo_a', 'GET', `/api/v1/residents/${lapsed.json.id}`);
      return card.json.withheld_readings === 1;
    }, { timeoutMs: 15000, intervalMs: 250, what: 'the withheld count to reach the database' });
  });

  test('maeuld keys rotate moves every record to a new key while the daemon serves', async () => {
    const before = (await req('wo_a', 'GET', `/api/v1/residents/${kim.id}`)).json.key_id;
    const env = h.daemonEnv(ctx.db);
    const oldCopy = `${env.MAEUL_PRIVACY_KEY_FILE}.before-rotation`;
    fs.copyFileSync(env.MAEUL_PRIVACY_KEY_FILE, oldCopy);
    fs.chmodSync(oldCopy, 0o600);
    // registrations go on during the rotation: none may be left under a key the rotation drops
    let rotating = true;
    const during = [];
    const registering = (async () => {
      for (let i = 0; rotating; i++) {
        const r = await req('wo_a', 'POST', '/api/v1/residents', residentBody({ name: `Fictional Rotation ${i}`, phone: `010-4444-${String(1000 + i)}` }));
        h.assertStatus(r, 201);
        during.push(r.json.id);
      }
    })();
    const run = await h.runMaeuld(['keys', 'rotate', '--config', h.CONFIG], env);
    rotating = false;
    await registering;
    assert.equal(run.code, 0, run.stderr);
    assert.ok(during.length >= 3, `registrations during the rotation: ${during.length}`);
    const newId = run.stdout.trim();
    assert.match(newId, /^[0-9a-f]{16}$/);
    assert.notEqual(newId, before);
    const ids = h.psql('SELECT DISTINCT key_id FROM residents WHERE data_key IS NOT NULL', ctx.db).trim().split('\n');
    assert.deepEqual(ids, [newId]);
    assert.equal(fs.readFileSync(env.MAEUL_PRIVACY_KEY_FILE, 'utf8').trim().split('\n').length, 1, 'old keys dropped');
    const card = await req('wo_a', 'GET', `/api/v1/residents/${kim.id}`);
    h.assertStatus(card, 200);
    assert.equal(card.json.key_id, newId);
    assert.equal(card.json.name, KIM.name);
    const byPhone = await req('wo_a', 'GET', `/api/v1/residents?phone=${encodeURIComponent(KIM.phone)}`);
    assert.deepEqual(byPhone.json.items.map((x) => x.id), [kim.id], 'the blind index follows the key');
    for (const id of during) {
      const r = await req('wo_a', 'GET', `/api/v1/residents/${id}`);
      h.assertStatus(r, 200);
      assert.equal(r.json.key_id, newId, `${id} is under the new key`);
      assert.match(r.json.name, /^Fictional Rotation /);
    }
    // the key file from before the rotation is refused at start: its key was retired
    const run2 = await h.runMaeuld(['serve', '--config', h.CONFIG], { ...env, MAEUL_PRIVACY_KEY_FILE: oldCopy, MAEUL_HTTP_LISTEN: '127.0.0.1:0' }, 15000);
    assert.equal(run2.timedOut, false, 'maeuld started with a retired key file');
    assert.notEqual(run2.code, 0);
    assert.match(run2.stderr, /was retired by `maeuld keys rotate`/);
  });

  test('the export holds every record about the person', async () => {
    const res = await req('wo_a', 'GET', `/api/v1/residents/${kim.id}/export?purpose=subject%20access%20request`);
    h.assertStatus(res, 200);
    assert.equal(res.json.resident.name, KIM.name);
    assert.deepEqual(res.json.sensors.map((s) => s.id).sort(), Object.values(sensorOf).sort());
    assert.ok(res.json.alerts.length >= 2);
    assert.ok(res.json.access_records.some((r) => r.action === 'reveal'));
  });

  test('erasure is for good: 404 everywhere, the sealed row opens with no key, its readings are refused', async () => {
    h.assertStatus(await req('wo_a', 'DELETE', `/api/v1/residents/${kim.id}?purpose=resident%20moved%20away`), 204);
    h.assertStatus(await req('wo_a', 'GET', `/api/v1/residents/${kim.id}`), 404);
    h.assertStatus(await req('wo_a', 'GET', `/api/v1/residents/${kim.id}/export`), 404);
    h.assertStatus(await req('wo_a', 'DELETE', `/api/v1/residents/${kim.id}`), 404);
    const row = h.psql(`SELECT data_key IS NULL, phone_index IS NULL, length(sealed) > 0 FROM residents WHERE id = '${kim.id}'`, ctx.db).trim();
    assert.equal(row, 't|t|t', 'the data key is gone, the sealed bytes are left unreadable');
    const res = await I.postObs(ctx.d, ctx.d.bootstrapToken, [{ sensor: sensorOf.door, metric: 'state', ts: nextTs(), value: 0 }]);
    assert.equal(res.json.accepted, 0);
    assert.match(res.json.rejected[0].error, /not registered/);
    const recs = await req('admin', 'GET', `/api/v1/audit/access?resident=${kim.id}&limit=1000`);
    assert.ok(recs.json.items.some((x) => x.action === 'erase'));
  });

  test('a changed access record is found by verify', async () => {
    h.psql("UPDATE access_records SET purpose = 'nothing to see' WHERE seq = 2", ctx.db);
    const v = await req('admin', 'GET', '/api/v1/audit/verify');
    h.assertStatus(v, 200);
    assert.equal(v.json.ok, false);
    assert.equal(v.json.first_bad, 2);
  });
});

describe('welfare vault: the key file', () => {
  test('a key file other users may read stops maeuld at start with one clear line', async () => {
    const db = h.createDatabase('welfare_key');
    try {
      const env = h.daemonEnv(db);
      fs.chmodSync(env.MAEUL_PRIVACY_KEY_FILE, 0o644);
      const run = await h.runMaeuld(['serve', '--config', h.CONFIG], env, 15000);
      assert.equal(run.timedOut, false, 'maeuld started instead of refusing');
      assert.notEqual(run.code, 0);
      assert.match(run.stderr, /privacy\.key_file .*chmod 600/);
    } finally {
      h.dropDatabase(db);
    }
  });

  test('sealed residents and no key file: maeuld will not start', async () => {
    const db = h.createDatabase('welfare_nokey');
    try {
      const d = await h.startDaemon({ db });
      const created = await h.request(d, 'POST', '/api/v1/residents', {
        token: d.bootstrapToken,
        body: { name: 'Fictional Choi', zone: undefined },
      });
      assert.equal(created.status, 422);
      h.assertStatus(await h.request(d, 'POST', '/api/v1/zones', { token: d.bootstrapToken, body: h.zoneBody('nk-a', { boundary: h.polygon(128.5, 38.2, 0.02) }) }), 201);
      h.assertStatus(await h.request(d, 'POST', '/api/v1/residents', {
        token: d.bootstrapToken,
        body: { name: 'Fictional Choi', zone: 'nk-a', consent: { purpose: 'care', basis: 'consent', granted_at: iso(Date.now() - 1000) } },
      }), 201);
      assert.equal(await d.stop(), 0);
      const env = h.daemonEnv(db);
      delete env.MAEUL_PRIVACY_KEY_FILE;
      const run = await h.runMaeuld(['serve', '--config', h.CONFIG], env, 15000);
      assert.equal(run.timedOut, false, 'maeuld started instead of refusing');
      assert.notEqual(run.code, 0);
      assert.match(run.stderr, /sealed in the database but privacy\.key_file is not set/);
      // a key file that went missing is never replaced by a new one once anything is sealed
      const lost = require('node:path').join(require('node:os').tmpdir(), `maeul-lost-${process.pid}`, 'maeul.key');
      const again = await h.runMaeuld(['serve', '--config', h.CONFIG], { ...env, MAEUL_PRIVACY_KEY_FILE: lost }, 15000);
      assert.equal(again.timedOut, false, 'maeuld started with a new key instead of refusing');
      assert.notEqual(again.code, 0);
      assert.match(again.stderr, /privacy\.key_file/);
      assert.equal(fs.existsSync(lost), false, 'no key file was made');
    } finally {
      h.dropDatabase(db);
    }
  });

  test('the first start makes the key file, mode 0600, and the vault opens with it', async () => {
    const db = h.createDatabase('welfare_newkey');
    const dir = fs.mkdtempSync(require('node:path').join(require('node:os').tmpdir(), 'maeul-newkey-'));
    const file = require('node:path').join(dir, 'keys', 'maeul.key');
    try {
      const d = await h.startDaemon({ db, env: { MAEUL_PRIVACY_KEY_FILE: file } });
      try {
        const st = fs.statSync(file);
        assert.equal(st.mode & 0o777, 0o600);
        assert.match(fs.readFileSync(file, 'utf8'), /^[0-9a-f]{64}\n$/);
        h.assertStatus(await h.request(d, 'POST', '/api/v1/zones', { token: d.bootstrapToken, body: h.zoneBody('nw-a', { boundary: h.polygon(128.5, 38.2, 0.02) }) }), 201);
        const made = await h.request(d, 'POST', '/api/v1/residents', {
          token: d.bootstrapToken,
          body: { name: 'Fictional Seo', zone: 'nw-a', consent: { purpose: 'care', basis: 'consent', granted_at: iso(Date.now() - 1000) } },
        });
        h.assertStatus(made, 201);
        const card = await h.request(d, 'GET', `/api/v1/residents/${made.json.id}?purpose=check`, { token: d.bootstrapToken });
        h.assertStatus(card, 200);
        assert.equal(card.json.name, 'Fictional Seo');
      } finally {
        await d.stop();
      }
    } finally {
      h.dropDatabase(db);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('retention: whole partitions past a domain\'s horizon', () => {
  test('a restart with welfare_days = 30 drops the old welfare month, keeps rollups and other domains, and refuses old readings', async () => {
    const db = h.createDatabase('retention');
    let d;
    try {
      d = await h.startDaemon({ db, env: { MAEUL_RETENTION_WELFARE_DAYS: '0' } });
      await I.makeZone(d, 'rt-a', 128.50, 38.20, 0.02);
      const mk = (id, domain) => I.makeSensor(d, id, { domain, kind: 'probe', location: h.point(128.505, 38.205), metrics: [{ name: 'level', unit: 'm' }] });
      await mk('rt-welfare', 'welfare');
      await mk('rt-mobility', 'mobility');
      const old = Date.now() - 100 * 86400000;
      const oldHour = Math.floor(old / 3600000) * 3600000;
      const readings = [];
      for (const sensor of ['rt-welfare', 'rt-mobility'])
        for (let i = 0; i < 3; i++) readings.push({ sensor, metric: 'level', ts: iso(oldHour + i * 60000), value: i + 1 });
      readings.push({ sensor: 'rt-welfare', metric: 'level', ts: iso(Date.now() - 60000), value: 9 });
      await L.ingest(d, readings);
      await I.rollupsFolded(db, { what: 'the old readings folded into the rollups' });
      assert.equal(await d.stop(), 0);

      d = await h.startDaemon({ db, env: { MAEUL_RETENTION_WELFARE_DAYS: '30' } });
      const oldMonth = new Date(oldHour).toISOString().slice(0, 7);
      const partition = `observations_welfare_${oldMonth.replace('-', 'm')}`;
      const ret = await h.pollUntil(async () => {
        const res = await h.request(d, 'GET', '/api/v1/retention', { token: d.bootstrapToken });
        h.assertStatus(res, 200);
        return res.json.recent_drops.some((x) => x.partition === partition) && res.json;
      }, { timeoutMs: 20000, intervalMs: 200, what: `${partition} to be dropped` });
      const w = ret.domains.find((x) => x.domain === 'welfare');
      assert.equal(w.days, 30);
      assert.ok(Date.parse(w.oldest_reading) > Date.now() - 30 * 86400000, `oldest welfare reading ${w.oldest_reading}`);
      const m = ret.domains.find((x) => x.domain === 'mobility');
      assert.equal(m.days, 0);
      assert.equal(m.horizon, null);
      assert.equal(Date.parse(m.oldest_reading), oldHour, 'mobility keeps its old readings');
      assert.equal(h.psql(`SELECT to_regclass('${partition}') IS NULL`, db).trim(), 't');

      const range = { from: iso(oldHour), to: iso(oldHour + 3600000) };
      const raw = await I.series(d, d.bootstrapToken, 'rt-welfare', { metric: 'level', ...range });
      assert.equal(raw.points.length, 0, 'the raw welfare readings are gone');
      const hourly = await I.series(d, d.bootstrapToken, 'rt-welfare', { metric: 'level', ...range, bucket: '1h', agg: 'sum' });
      assert.equal(hourly.points.length, 1, 'the rollup stays');
      assert.equal(hourly.points[0][1], 6);
      const mob = await I.series(d, d.bootstrapToken, 'rt-mobility', { metric: 'level', ...range });
      assert.equal(mob.points.length, 3);

      const refused = await I.postObs(d, d.bootstrapToken, [
        { sensor: 'rt-welfare', metric: 'level', ts: iso(Date.now() - 40 * 86400000), value: 1 },
        { sensor: 'rt-welfare', metric: 'level', ts: iso(Date.now() - 2 * 86400000), value: 2 },
      ]);
      h.assertStatus(refused, 200);
      assert.equal(refused.json.accepted, 1);
      assert.equal(refused.json.rejected.length, 1);
      assert.equal(refused.json.rejected[0].index, 0);
      assert.match(refused.json.rejected[0].error, /retention\.welfare_days/);
      const all = await I.postObs(d, d.bootstrapToken, [{ sensor: 'rt-welfare', metric: 'level', ts: iso(Date.now() - 40 * 86400000), value: 1 }]);
      h.assertStatus(all, 422);
      const dropped = await L.metricValue(d, 'maeul_retention_partitions_dropped_total');
      assert.ok(dropped >= 1, `dropped counter ${dropped}`);
      assert.equal(await d.stop(), 0);
      d = undefined;
    } finally {
      if (d) await d.stop();
      h.dropDatabase(db);
    }
  });
});

describe('the care loop: officer, visit task, 119', () => {
  const ctx = h.useDaemon('careloop', {
    MAEUL_WELFARE_OFFICER_AFTER_S: '1', MAEUL_WELFARE_VISIT_AFTER_S: '4', MAEUL_WELFARE_EMERGENCY_AFTER_S: '2',
    MAEUL_WEBHOOKS_ALLOW_PRIVATE: 'true',
  });
  const receivers = [];
  after(async () => { for (const r of receivers) await r.close?.(); });

  test('a webhook receiver gets a welfare alert with the household pseudonym only', async () => {
    const d = ctx.d;
    const r = await L.startReceiver();
    receivers.push(r);
    h.assertStatus(await h.request(d, 'POST', '/api/v1/webhooks', {
      token: d.bootstrapToken, body: { url: r.url, events: ['alert.opened'], secret: 'welfare-hook-secret-1234' },
    }), 201);
    await I.makeZone(d, 'cl-w', 128.90, 38.20, 0.02);
    const res = await h.request(d, 'POST', '/api/v1/residents', {
      token: d.bootstrapToken,
      body: { name: 'Fictional Baek', zone: 'cl-w', consent: { purpose: 'care', basis: 'consent', granted_at: iso(Date.now() - 86400000) } },
    });
    h.assertStatus(res, 201);
    await I.makeSensor(d, 'cl-w-door', {
      domain: 'welfare', kind: 'door', location: h.point(128.905, 38.205), metrics: [{ name: 'state', unit: '1' }],
      attributes: { household: res.json.household },
    });
    await I.makeSensor(d, 'cl-w-river', {
      domain: 'disaster', kind: 'water_level', location: h.point(128.905, 38.205), metrics: [{ name: 'level', unit: 'm' }],
    });
    const open = await L.createRule(d, { name: { ko: '문 열림', en: 'Door open' }, kind: 'threshold',
      selector: { zone: 'cl-w' }, severity: 'warning', metric: 'state', op: '>', value: 0 });
    const flood = await L.createRule(d, { name: { ko: '수위', en: 'Level' }, kind: 'threshold',
      selector: { zone: 'cl-w' }, severity: 'warning', metric: 'level', op: '>', value: 1 });
    await L.rulesSettled(d);
    await L.ingest(d, [{ sensor: 'cl-w-door', metric: 'state', ts: iso(Date.now() - 1000), value: 1 },
      { sensor: 'cl-w-river', metric: 'level', ts: iso(Date.now() - 1000), value: 2.5 }]);
    const of = (rule) => r.got.find((x) => x.json?.data?.rule === rule);
    await h.pollUntil(() => of(open.id) && of(flood.id), { timeoutMs: 15000, what: 'both deliveries' });
    const welfare = of(open.id).json.data;
    assert.equal(welfare.domain, 'welfare');
    assert.equal(welfare.household, res.json.household);
    assert.equal(welfare.sensor, null);
    assert.equal(welfare.value, null);
    assert.equal(welfare.message, '');
    assert.ok(!of(open.id).body.toString('utf8').includes('cl-w-door'), 'the sensor id does not leave');
    const other = of(flood.id).json.data;
    assert.equal(other.sensor, 'cl-w-river', 'other domains are delivered whole');
    assert.equal(other.value, 2.5);
  });

  test('an unanswered alert climbs the ladder, and an emergency button opens its 119 incident at once', async () => {
    const d = ctx.d;
    await I.makeZone(d, 'cl-a', 128.50, 38.20, 0.02);
    const res = await h.request(d, 'POST', '/api/v1/residents', {
      token: d.bootstrapToken,
      body: { name: 'Fictional Han', zone: 'cl-a', consent: { purpose: 'care', basis: 'consent', granted_at: iso(Date.now() - 86400000) } },
    });
    h.assertStatus(res, 201);
    assert.equal(res.json.name, undefined, 'registration answers no identity');
    const household = res.json.household;
    const sensor = (id, kind) => I.makeSensor(d, id, {
      domain: 'welfare', kind, location: h.point(128.505, 38.205), metrics: [{ name: 'state', unit: '1' }], attributes: { household },
    });
    await sensor('cl-home', 'home_activity');
    await sensor('cl-button', 'emergency_button');
    const quiet = await L.createRule(d, { name: { ko: '활동 없음', en: 'No activity' }, kind: 'threshold',
      selector: { sensor: 'cl-home' }, severity: 'warning', metric: 'state', op: '<', value: 1 });
    const sos = await L.createRule(d, { name: { ko: '응급 호출', en: 'SOS' }, kind: 'threshold',
      selector: { sensor: 'cl-button' }, severity: 'critical', metric: 'state', op: '>', value: 0 });
    await L.rulesSettled(d);
    await L.ingest(d, [{ sensor: 'cl-home', metric: 'state', ts: iso(Date.now() - 1000), value: 0 },
      { sensor: 'cl-button', metric: 'state', ts: iso(Date.now() - 1000), value: 1 }]);
    const button = await L.waitAlert(d, (a) => a.rule === sos.id, { what: 'the SOS alert' });
    const home = await L.waitAlert(d, (a) => a.rule === quiet.id, { what: 'the inactivity alert' });

    const incidents = async () => (await h.request(d, 'GET', '/api/v1/incidents?limit=1000', { token: d.bootstrapToken })).json.items;
    const linked = (list, alertId, category) => list.find((i) => i.category === category && i.alerts.includes(alertId));

    const sosIncident = await h.pollUntil(async () => linked(await incidents(), button.id, 'welfare_emergency'),
      { timeoutMs: 10000, intervalMs: 100, what: 'the 119 incident of the emergency button' });
    assert.ok(Date.parse(sosIncident.reported_at) - Date.parse(button.opened_at) < 3500, 'at once, before any visit task');
    assert.equal(sosIncident.location, null, 'a welfare incident names its zone, never the home');
    assert.equal(sosIncident.zone, 'cl-a');

    const escalated = await L.waitAlert(d, (a) => a.id === home.id && a.escalated_at, { what: 'the escalation to the officer', timeoutMs: 10000 });
    const events = (await h.request(d, 'GET', `/api/v1/alerts/${home.id}/events`, { token: d.bootstrapToken })).json;
    const items = events.items ?? events;
    assert.ok(items.some((e) => e.event === 'escalated' && /welfare officer/.test(e.note ?? '')), JSON.stringify(items).slice(0, 800));
    assert.ok(Date.parse(escalated.escalated_at) - Date.parse(home.opened_at) >= 1000);

    const visit = await h.pollUntil(async () => linked(await incidents(), home.id, 'welfare_visit'),
      { timeoutMs: 15000, intervalMs: 200, what: 'the visit task' });
    assert.ok(Date.parse(visit.reported_at) - Date.parse(home.opened_at) >= 4000, 'not before visit_after_s');
    const emergency = await h.pollUntil(async () => linked(await incidents(), home.id, 'welfare_emergency'),
      { timeoutMs: 15000, intervalMs: 200, what: 'the 119 incident after the visit was not made' });
    assert.ok(Date.parse(emergency.reported_at) - Date.parse(visit.reported_at) >= 2000);
    const all = await incidents();
    assert.equal(all.filter((i) => i.alerts.includes(home.id)).length, 2, 'one visit task and one 119 incident, not more');
  });
  test('a home whose consent lapsed is not watched, and a case that cleared does not climb', async () => {
    const d = ctx.d;
    await I.makeZone(d, 'cl-q', 129.10, 38.20, 0.02);
    const register = async (name, expiresInMs) => {
      const consent = { purpose: 'care', basis: 'consent', granted_at: iso(Date.now() - 86400000) };
      if (expiresInMs) consent.expires_at = iso(Date.now() + expiresInMs);
      const r = await h.request(d, 'POST', '/api/v1/residents', { token: d.bootstrapToken, body: { name, zone: 'cl-q', consent } });
      h.assertStatus(r, 201);
      return r.json.household;
    };
    const watched = await register('Fictional Kang', 0);
    const lapsed = await register('Fictional Jung', 1000);
    const stirs = await register('Fictional Lim', 0);
    for (const [id, household] of [['cl-q-watched', watched], ['cl-q-lapsed', lapsed], ['cl-q-stirs', stirs]]) {
      await I.makeSensor(d, id, {
        domain: 'welfare', kind: 'home_activity', location: h.point(129.105, 38.205), metrics: [{ name: 'motion', unit: '1' }],
        attributes: { household },
      });
    }
    // the homes report once (the lapsed one maybe before its consent ends), then fall silent
    await L.ingest(d, ['cl-q-watched', 'cl-q-lapsed', 'cl-q-stirs'].map((sensor) => ({ sensor, metric: 'motion', ts: iso(Date.now() - 500), value: 1 })));
    const rule = await L.createRule(d, { name: { ko: '무활동', en: 'Quiet' }, kind: 'inactivity', severity: 'warning',
      selector: { zone: 'cl-q', kind: 'home_activity' }, cold_start: '3s', floor: '1s' });
    await L.rulesSettled(d);
    const incidents = async () => (await h.request(d, 'GET', '/api/v1/incidents?limit=1000', { token: d.bootstrapToken })).json.items;
    // the watched home climbs to a visit task (visit_after_s = 4): the ladder has run for longer than
    // the lapsed home would have needed to climb as well
    const quiet = await L.waitAlert(d, (a) => a.rule === rule.id && a.sensor === 'cl-q-watched', { what: 'the watched home\'s alert', timeoutMs: 15000 });
    // a third home stirs right after its alert opened: the alert clears, and a cleared case does not climb
    const stirred = await L.waitAlert(d, (a) => a.rule === rule.id && a.sensor === 'cl-q-stirs', { what: 'the third home\'s alert', timeoutMs: 15000 });
    await L.ingest(d, [{ sensor: 'cl-q-stirs', metric: 'motion', ts: iso(Date.now()), value: 1 }]);
    await L.waitAlert(d, (a) => a.id === stirred.id && a.cleared_at, { what: 'the third home\'s alert cleared', timeoutMs: 5000 });
    await h.pollUntil(async () => (await incidents()).some((i) => i.category === 'welfare_visit' && i.alerts.includes(quiet.id)),
      { timeoutMs: 15000, intervalMs: 200, what: 'the visit task of the watched home' });
    const alerts = (await h.request(d, 'GET', '/api/v1/alerts?limit=1000', { token: d.bootstrapToken })).json.items;
    const mine = alerts.filter((a) => a.sensor === 'cl-q-lapsed');
    assert.deepEqual(mine, [], 'no alert about a home that is not watched');
    assert.equal((await incidents()).filter((i) => i.alerts.includes(stirred.id)).length, 0, 'a cleared case sends nobody');
  });

  test('a lapsed consent raises one alert for the welfare officer, and a renewal resolves it', async () => {
    const d = ctx.d;
    await I.makeZone(d, 'cl-c', 128.70, 38.20, 0.02);
    const res = await h.request(d, 'POST', '/api/v1/residents', {
      token: d.bootstrapToken,
      body: { name: 'Fictional Oh', zone: 'cl-c', consent: { purpose: 'care', basis: 'consent',
        granted_at: iso(Date.now() - 86400000), expires_at: iso(Date.now() + 4000) } },
    });
    h.assertStatus(res, 201);
    const household = res.json.household;
    const lapse = await L.waitAlert(d, (a) => a.rule === 'welfare:consent-lapsed' && a.message.includes(household),
      { what: 'the consent alert', timeoutMs: 15000 });
    assert.equal(lapse.kind, 'consent');
    assert.equal(lapse.domain, 'welfare');
    assert.equal(lapse.zone, 'cl-c');
    assert.ok(Date.parse(lapse.opened_at) >= Date.parse(res.json.consent.expires_at), 'not before the consent lapsed');
    // one alert per lapse, and no ladder: once a second household's lapse is seen (5 s later, past
    // officer_after_s and visit_after_s), the ladder has run again since the first alert opened and
    // neither opened a second alert nor escalated the first or sent anyone to the home
    const other = await h.request(d, 'POST', '/api/v1/residents', {
      token: d.bootstrapToken,
      body: { name: 'Fictional Yoon', zone: 'cl-c', consent: { purpose: 'care', basis: 'consent',
        granted_at: iso(Date.now() - 86400000), expires_at: iso(Date.now() + 5000) } },
    });
    h.assertStatus(other, 201);
    await L.waitAlert(d, (a) => a.rule === 'welfare:consent-lapsed' && a.message.includes(other.json.household),
      { what: 'the second consent alert', timeoutMs: 15000 });
    const list = (await h.request(d, 'GET', '/api/v1/alerts?limit=1000&state=open', { token: d.bootstrapToken })).json.items;
    const mine = list.filter((a) => a.rule === 'welfare:consent-lapsed' && a.message.includes(household));
    assert.equal(mine.length, 1);
    assert.equal(mine[0].escalated_at, null, 'a consent is the officer\'s own business: not escalated');
    const tasks = (await h.request(d, 'GET', '/api/v1/incidents?limit=1000', { token: d.bootstrapToken })).json.items;
    assert.equal(tasks.filter((i) => i.alerts.includes(lapse.id)).length, 0, 'a lapsed consent sends nobody to the home');

    const renewed = await h.request(d, 'PATCH', `/api/v1/residents/${res.json.id}`, {
      token: d.bootstrapToken,
      body: { consent: { purpose: 'care', basis: 'consent', granted_at: iso(Date.now()), expires_at: iso(Date.now() + 365 * 86400000) } },
    });
    h.assertStatus(renewed, 200);
    assert.equal(renewed.json.consent.status, 'active');
    const resolved = await h.pollUntil(async () => {
      const a = (await h.request(d, 'GET', `/api/v1/alerts/${lapse.id}`, { token: d.bootstrapToken })).json;
      return a.state === 'resolved' ? a : null;
    }, { timeoutMs: 15000, intervalMs: 200, what: 'the consent alert resolved by the renewal' });
    assert.equal(resolved.resolved_by, 'system');
  });
});

describe('public pages withhold what fewer than 5 households make', () => {
  const ctx = h.useDaemon('suppress');

  test('welfare_ack_time: null and suppressed with 4 households, shown with 5; officials always see it', async () => {
    const d = ctx.d;
    await I.makeZone(d, 'sp-a', 128.50, 38.20, 0.02);
    for (let i = 0; i < 5; i++)
      await I.makeSensor(d, `sp-home-${i}`, { domain: 'welfare', kind: 'sp_probe', location: h.point(128.501 + i / 1000, 38.205), metrics: [{ name: 'state', unit: '1' }] });
    const rule = await L.createRule(d, { name: { ko: '호출', en: 'Call' }, kind: 'threshold', selector: { kind: 'sp_probe' },
      severity: 'warning', metric: 'state', op: '>', value: 0 });
    await L.rulesSettled(d);
    let step = 0;
    const t0 = Date.now() - 60000;
    const ackHomes = async (homes) => {
      const ts = iso(t0 + 1000 * ++step);
      await L.ingest(d, homes.map((i) => ({ sensor: `sp-home-${i}`, metric: 'state', ts, value: 1 })));
      const sensors = homes.map((i) => `sp-home-${i}`);
      const open = await h.pollUntil(async () => {
        const mine = (await L.alertsOf(d, rule.id)).filter((a) => a.state === 'open' && sensors.includes(a.sensor));
        return mine.length === homes.length && mine;
      }, { timeoutMs: 10000, intervalMs: 100, what: `${homes.length} open alerts` });
      for (const a of open) h.assertStatus(await h.request(d, 'POST', `/api/v1/alerts/${a.id}/ack`, { token: d.bootstrapToken, body: {} }), 200);
    };
    const publicCity = async () => {
      // A budget write clears the public pages' one-minute cache.
      h.assertStatus(await h.request(d, 'POST', '/api/v1/budget', { token: d.bootstrapToken,
        body: { id: `sp-${Date.now()}`, year: 2026, program: { ko: '캐시', en: 'cache' }, amount_krw: 1, kpis: [] } }), 201);
      const res = await h.request(d, 'GET', '/public/v1/kpis');
      h.assertStatus(res, 200);
      return res.json.items.find((x) => x.kpi === 'welfare_ack_time').city;
    };
    await ackHomes([0, 1, 2, 3]);
    const withheld = await publicCity();
    assert.ok(withheld, 'a city entry for the month');
    assert.equal(withheld.value, null);
    assert.equal(withheld.suppressed, true);
    const official = await h.request(d, 'GET', '/api/v1/kpis/welfare_ack_time/values?period=month', { token: d.bootstrapToken });
    h.assertStatus(official, 200);
    assert.ok(official.json.values.some((v) => v.zone === null && typeof v.value === 'number'), JSON.stringify(official.json).slice(0, 500));

    await ackHomes([4]);
    const shown = await publicCity();
    assert.equal(typeof shown.value, 'number');
    assert.equal(shown.suppressed, undefined);
  });
});
