'use strict';
// The Sokcho demo world as scripts/demo loads it (scripts/lib/load-world.mjs with config/demo/sokcho.json,
// welfare.json, rules.json), against a real maeuld: one registered resident per welfare sensor and every welfare
// sensor naming its resident's household; the welfare accounts sign in with the passwords the state file keeps,
// limited to their zone; a lapsed consent shows; loading again changes nothing; with the state file lost, the
// residents are found again by phone and the accounts get new passwords; a welfare sensor left without its
// household (a world loaded before the residents were) gets it back; the loader rides out the daemon's
// request limit (429 and Retry-After).

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFile } = require('node:child_process');
const h = require('./lib/harness');

const LOADER = path.join(h.ROOT, 'scripts', 'lib', 'load-world.mjs');
const WORLD = JSON.parse(fs.readFileSync(path.join(h.ROOT, 'config', 'demo', 'sokcho.json'), 'utf8'));
const WELFARE = JSON.parse(fs.readFileSync(path.join(h.ROOT, 'config', 'demo', 'welfare.json'), 'utf8'));
const WELFARE_SENSORS = WORLD.sensors.filter((s) => s.domain === 'welfare').map((s) => s.id).sort();

// Runs the loader to completion: {code, stdout, stderr}.
function load(d, args) {
  return new Promise((resolve) => {
    execFile(process.execPath, [LOADER, '--url', d.url, ...args], {
      env: { ...process.env, MAEUL_TOKEN: d.bootstrapToken }, timeout: 120000, maxBuffer: 1 << 22,
    }, (err, stdout, stderr) => resolve({ code: err ? (err.code ?? 1) : 0, stdout, stderr }));
  });
}

describe('the demo world: residents, households, welfare accounts, idempotent loading', () => {
  // A request limit low enough that the loader meets 429 (as scripts/demo's first load does at the example
  // config's 100/s): it must wait for Retry-After and go on.
  const ctx = h.useDaemon('demo_world', { MAEUL_LIMITS_REQUESTS_PER_S: '60', MAEUL_LIMITS_BURST: '60' });
  let dir, state, checker;
  // The test's own reads use a token of their own: the loader spends the bootstrap token's requests.
  const admin = () => checker;
  const residents = () => h.listAll(ctx.d, '/api/v1/residents?purpose=test', admin(), 1000);
  const welfareSensors = async () => (await h.listAll(ctx.d, '/api/v1/sensors?domain=welfare', admin(), 1000))
    .sort((a, b) => (a.id < b.id ? -1 : 1));
  const signIn = (username, password) => h.request(ctx.d, 'POST', '/api/v1/sessions', { body: { username, password } });

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'maeul-demo-world-'));
    state = path.join(dir, 'demo-welfare.json');
    checker = (await h.createToken(ctx.d, 'admin', 'demo-world-checker')).token;
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('every welfare sensor names the household of a registered, fictional resident of its zone', async () => {
    const r = await load(ctx.d, ['--state', state]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /welfare accounts 10 created, 0 kept/);
    assert.match(r.stdout, /residents 74 created, 0 kept/);
    assert.equal(r.stdout.includes('password'), false, 'with a state file no password goes to stdout');
    assert.equal(fs.statSync(state).mode & 0o777, 0o600, 'the state file is mode 600');
    const metrics = h.parseProm((await h.request(ctx.d, 'GET', '/metrics', { token: admin() })).text);
    const limited = metrics.filter((m) => m.name === 'maeul_http_requests_total' && m.labels.status === '429').reduce((n, m) => n + m.value, 0);
    assert.ok(limited > 0, 'the loader met the request limit (and waited it out)');

    const people = await residents();
    assert.equal(people.length, WELFARE.residents.length);
    const byHousehold = new Map(people.map((p) => [p.household, p]));
    const sensors = await welfareSensors();
    assert.deepEqual(sensors.map((s) => s.id), WELFARE_SENSORS);
    const seen = new Set();
    for (const s of sensors) {
      const hh = s.attributes.household;
      assert.match(hh ?? '', /^hh-[0-9a-f]{16}$/, `${s.id} names a household`);
      assert.ok(byHousehold.has(hh), `${s.id}: household ${hh} is registered`);
      assert.equal(byHousehold.get(hh).zone, s.zone, `${s.id}: the resident lives in the sensor's zone`);
      assert.ok(!seen.has(hh), `${s.id}: one household per sensor`);
      seen.add(hh);
    }
    // A card: the identity is the fictional one of welfare.json.
    const mine = JSON.parse(fs.readFileSync(state, 'utf8')).households['home-station-014'];
    const card = h.assertJson(await h.request(ctx.d, 'GET', `/api/v1/residents/${mine.resident}?purpose=test`, { token: admin() }), 200);
    const want = WELFARE.residents.find((x) => x.sensor === 'home-station-014');
    assert.equal(card.name, want.name);
    assert.match(card.name, /^가상 .+ \(Fictional\)$/);
    assert.match(card.phone, /^010-0000-\d{4}$/);
    assert.equal(card.care_worker, 'care-station');
    assert.equal(card.consent.status, 'active');
    assert.equal(card.consent.purpose, WELFARE.consent.purpose);
    // The lapsed consent shows as such; the one lapsing soon is still active.
    const st = JSON.parse(fs.readFileSync(state, 'utf8'));
    const statusOf = (sensor) => people.find((p) => p.id === st.households[sensor].resident).consent.status;
    assert.equal(statusOf('sos-seorak-002'), 'lapsed');
    assert.equal(statusOf('sos-station-004'), 'active');
    // The demo's welfare rules.
    const rule = h.assertJson(await h.request(ctx.d, 'GET', '/api/v1/rules/demo-home-inactive', { token: admin() }), 200);
    assert.equal(rule.kind, 'inactivity');
    assert.equal(rule.metric, 'motion');
    assert.equal(h.assertJson(await h.request(ctx.d, 'GET', '/api/v1/rules/demo-sos-pressed', { token: admin() }), 200).severity, 'critical');
    // The flood: one staged rule naming flood incidents, whose playbook is loaded (API §12); the retired
    // single-stage rules are gone.
    const flood = h.assertJson(await h.request(ctx.d, 'GET', '/api/v1/rules/demo-flood-water-level', { token: admin() }), 200);
    assert.deepEqual(flood.stages.map((x) => [x.value, x.severity]), [[1.5, 'info'], [2, 'warning'], [3, 'critical']]);
    assert.deepEqual(flood.incident, { category: 'flood' });
    h.assertStatus(await h.request(ctx.d, 'GET', '/api/v1/rules/demo-flood-danger', { token: admin() }), 404);
    const books = h.assertJson(await h.request(ctx.d, 'GET', '/api/v1/playbooks', { token: admin() }), 200).items;
    assert.deepEqual(books.map((b) => b.category), ['fire', 'flood', 'traffic', 'welfare_emergency', 'welfare_visit', 'wildfire']);
  });

  test('the welfare accounts sign in with the kept passwords and see only their zone', async () => {
    const st = JSON.parse(fs.readFileSync(state, 'utf8'));
    assert.deepEqual(Object.keys(st.accounts).sort(), WELFARE.accounts.map((a) => a.username).sort());
    const signed = await signIn('care-station', st.accounts['care-station'].password);
    h.assertStatus(signed, 201, 'sign in as care-station');
    const me = h.assertJson(await h.request(ctx.d, 'GET', '/api/v1/me', { token: signed.json.token }), 200);
    assert.equal(me.role, 'welfare_officer');
    assert.deepEqual(me.zones, ['station']);
    const theirs = await h.listAll(ctx.d, '/api/v1/residents?purpose=test', signed.json.token, 1000);
    const inStation = WELFARE.residents.filter((x) => x.zone === 'station').length;
    assert.equal(theirs.length, inStation);
    assert.ok(theirs.every((p) => p.zone === 'station' && p.care_worker === 'care-station'));
  });

  test('loading again changes nothing', async () => {
    const before1 = (await welfareSensors()).map((s) => `${s.id}=${s.attributes.household}`);
    const r = await load(ctx.d, ['--state', state]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /welfare accounts 0 created, 10 kept/);
    assert.match(r.stdout, /residents 0 created, 74 kept/);
    assert.match(r.stdout, /sensors 0 created, 288 kept/);
    assert.match(r.stdout, /0 sensors linked anew/);
    assert.equal((await residents()).length, 74);
    assert.deepEqual((await welfareSensors()).map((s) => `${s.id}=${s.attributes.household}`), before1);
  });

  test('without the state file the residents are found again by phone, and the accounts get new passwords', async () => {
    const old = JSON.parse(fs.readFileSync(state, 'utf8'));
    fs.rmSync(state);
    const r = await load(ctx.d, ['--state', state]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /residents 0 created, 74 kept/);
    assert.match(r.stdout, /welfare accounts 0 created, 0 kept, 10 password reset/);
    const now = JSON.parse(fs.readFileSync(state, 'utf8'));
    assert.deepEqual(now.households, old.households, 'the same residents and households');
    h.assertStatus(await signIn('welfare-daepo', now.accounts['welfare-daepo'].password), 201, 'the new password works');
    h.assertStatus(await signIn('welfare-seorak', old.accounts['welfare-seorak'].password), 401, 'the old one no longer does');
    assert.equal((await residents()).length, 74);
  });

  test('a welfare sensor without its household (loaded before the residents) gets it back', async () => {
    const hh = JSON.parse(fs.readFileSync(state, 'utf8')).households['home-daepo-003'].household;
    h.assertStatus(await h.request(ctx.d, 'PATCH', '/api/v1/sensors/home-daepo-003', {
      token: admin(), body: { attributes: { household: null } },
    }), 200, 'drop the household');
    assert.equal(h.assertJson(await h.request(ctx.d, 'GET', '/api/v1/sensors/home-daepo-003', { token: admin() }), 200).attributes.household, undefined);
    const r = await load(ctx.d, ['--state', state, '--budget', 'none', '--rules', 'none']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /households 74, 1 sensors linked anew/);
    assert.equal(h.assertJson(await h.request(ctx.d, 'GET', '/api/v1/sensors/home-daepo-003', { token: admin() }), 200).attributes.household, hh);
  });
});
