'use strict';
// The demo's "morning that does not start", end to end: three homes of the Sokcho world loaded with their
// residents and the demo's inactivity rule (scripts/lib/load-world.mjs), then maeul-sim replaying ten days with the
// morning scenario on the marked household (home-station-014) yesterday. The replay's routine warm-up teaches
// the rule each home's routine, so the quiet household's alert opens as "unusual at this hour, learned from N
// days" (not the cold-start limit) while the other homes stay quiet; the monitor keeps reporting; an operator
// sees the household's pseudonym and no reading; the care loop climbs to the officer, a visit task and 119
// (its steps shortened to seconds here).

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFile, spawn } = require('node:child_process');
const h = require('./lib/harness');
const L = require('./lib/live-helpers');

const DEMO = path.join(h.ROOT, 'config', 'demo');
const HOMES = ['home-station-014', 'home-station-001', 'home-daepo-001'];
const MARKED = 'home-station-014';

function run(args, env) {
  return new Promise((resolve) => {
    execFile(process.execPath, args, { env: { ...process.env, ...env }, timeout: 120000, maxBuffer: 1 << 22 },
      (err, stdout, stderr) => resolve({ code: err ? (err.code ?? 1) : 0, stdout, stderr }));
  });
}

describe('the morning scenario in the demo world: the inactivity rule learns the routines and the care loop climbs', () => {
  const ctx = h.useDaemon('demo_morning', {
    MAEUL_ALERTS_TICK_MS: '200',
    MAEUL_WELFARE_OFFICER_AFTER_S: '2',
    MAEUL_WELFARE_VISIT_AFTER_S: '4',
    MAEUL_WELFARE_EMERGENCY_AFTER_S: '6',
  });
  let dir, sim, world, state;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'maeul-demo-morning-'));
    const sokcho = JSON.parse(fs.readFileSync(path.join(DEMO, 'sokcho.json'), 'utf8'));
    const welfare = JSON.parse(fs.readFileSync(path.join(DEMO, 'welfare.json'), 'utf8'));
    const rules = JSON.parse(fs.readFileSync(path.join(DEMO, 'rules.json'), 'utf8'));
    world = path.join(dir, 'world.json');
    fs.writeFileSync(world, JSON.stringify({ ...sokcho, facilities: [], sensors: sokcho.sensors.filter((s) => HOMES.includes(s.id)) }));
    const residents = welfare.residents.filter((r) => HOMES.includes(r.sensor));
    const accounts = welfare.accounts.filter((a) => residents.some((r) => r.care_worker === a.username || a.zones.includes(r.zone)));
    fs.writeFileSync(path.join(dir, 'welfare.json'), JSON.stringify({ ...welfare, accounts, residents }));
    fs.writeFileSync(path.join(dir, 'rules.json'), JSON.stringify({ rules: rules.rules.filter((r) => r.id === 'demo-home-inactive') }));
    state = path.join(dir, 'state.json');
    const r = await run([path.join(h.ROOT, 'scripts', 'lib', 'load-world.mjs'), '--url', ctx.d.url, '--world', world,
      '--welfare', path.join(dir, 'welfare.json'), '--rules', path.join(dir, 'rules.json'), '--budget', 'none', '--state', state],
    { MAEUL_TOKEN: ctx.d.bootstrapToken });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /residents 3 created/);
  });

  after(async () => {
    if (sim && sim.exitCode === null) {
      sim.kill('SIGTERM');
      await new Promise((r) => sim.once('exit', r));
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('the quiet household opens an alert learned from the replayed days, the others none, and the care loop climbs', async () => {
    const d = ctx.d;
    const yesterday = new Date(Date.now() + 9 * 3600e3 - 86400e3).toISOString().slice(0, 10);  // in Korea
    const start = new Date(Date.now() - 10 * 86400e3).toISOString().replace(/\.\d+Z$/, 'Z');
    sim = spawn(process.execPath, [path.join(h.ROOT, 'tools', 'sim', 'maeul-sim.mjs'), '--url', d.url, '--world', world,
      '--start', start, '--speed', '100000', '--interval', '0.5', '--seed', '42', '--quiet',
      '--scenario', `morning:${MARKED}@${yesterday}`], { env: { ...process.env, MAEUL_TOKEN: d.bootstrapToken }, stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    sim.stderr.on('data', (c) => { log += c; });

    const alert = await L.waitAlert(d, (a) => a.rule === 'demo-home-inactive' && a.sensor === MARKED,
      { timeoutMs: 60000, what: `the inactivity alert of ${MARKED} (simulator log: ${log.slice(-800)})` });
    await h.pollUntil(() => /routine warm-up: \d+ readings of 3 home_activity sensors/.test(log), { timeoutMs: 30000, what: `the warm-up's log line: ${log}` });
    assert.match(log, new RegExp(`scenario morning:${MARKED} started: the resident of ${MARKED} does not get up: no activity from ${yesterday}T0`));
    assert.equal(alert.kind, 'inactivity');
    assert.equal(alert.severity, 'warning');
    assert.equal(alert.zone, 'station');
    // Learned from the replay (at least min_days 7 of it), not the cold start.
    assert.match(alert.message, /^no activity for \S+; unusual at this hour \(limit \S+, learned from (\d+) days\)$/);
    assert.ok(Number(/learned from (\d+) days/.exec(alert.message)[1]) >= 7, alert.message);
    // The monitor keeps reporting (it is not a silent sensor): readings of the quiet morning are stored.
    const latest = h.assertJson(await h.request(d, 'GET', `/api/v1/sensors/${MARKED}/latest`, { token: d.bootstrapToken }), 200);
    const motion = latest.metrics.motion;
    assert.ok(Date.now() - Date.parse(motion.ts) < 20 * 60e3, `a reading of the last quarter hour: ${JSON.stringify(latest)}`);
    assert.equal(motion.value, 0);

    // An operator sees the household's pseudonym, never the sensor or the reading.
    const household = JSON.parse(fs.readFileSync(state, 'utf8')).households[MARKED].household;
    const op = await h.createToken(d, 'operator', 'morning-operator');
    const seen = (await L.getAlerts(d, 'limit=1000', op.token)).find((a) => a.id === alert.id);
    assert.ok(seen, 'the operator sees the alert');
    assert.equal(seen.household, household);
    assert.equal(seen.sensor, null);
    assert.equal(seen.value, null);

    // The care loop: the welfare officer, a visit task, then 119.
    const incidents = async () => h.assertJson(await h.request(d, 'GET', '/api/v1/incidents?limit=1000', { token: d.bootstrapToken }), 200).items;
    const linked = (list, category) => list.find((i) => i.category === category && i.alerts.includes(alert.id));
    await L.waitAlert(d, (a) => a.id === alert.id && a.escalated_at, { timeoutMs: 15000, what: 'the escalation to the welfare officer' });
    const visit = await h.pollUntil(async () => linked(await incidents(), 'welfare_visit'), { timeoutMs: 20000, intervalMs: 200, what: 'the visit task' });
    assert.equal(visit.zone, 'station');
    await h.pollUntil(async () => linked(await incidents(), 'welfare_emergency'), { timeoutMs: 20000, intervalMs: 200, what: 'the 119 incident' });

    // The other homes lived their days: learned too, and no alert (it would have opened with the first tick after
    // their warm-up, long before the ladder above was done).
    const others = (await L.alertsOf(d, 'demo-home-inactive')).filter((a) => a.sensor !== MARKED);
    assert.deepEqual(others.map((a) => `${a.sensor}: ${a.message}`), []);
  });
});
