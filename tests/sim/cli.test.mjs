// maeul-sim end to end against a stand-in daemon (a small node:http server): paging through the sensor list,
// batches of observations, retry after 503 and when the daemon is down, the control endpoint, SIGTERM.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createModel } from '../../tools/sim/model.mjs';
import { parseSpec, resolve } from '../../tools/sim/scenarios.mjs';

const SIM = fileURLToPath(new URL('../../tools/sim/maeul-sim.mjs', import.meta.url));
const world = JSON.parse(readFileSync(fileURLToPath(new URL('../../config/demo/sokcho.json', import.meta.url)), 'utf8'));
const sensors = world.sensors.map((s) => ({ ...s, zone: s.zone ?? s.id.split('-')[1] }));
const TOKEN = 'test-token';

// A fake maeuld: GET /api/v1/sensors in pages of 100; POST /api/v1/observations answers 503 to the first
// `fail503` requests, then 200 and keeps the readings.
function fakeDaemon({ fail503 = 0 } = {}) {
  const state = { readings: [], batches: [], posts: 0, gets: 0, fail503, auth: new Set() };
  const server = createServer((req, res) => {
    state.auth.add(req.headers.authorization);
    const url = new URL(req.url, 'http://x');
    const json = (status, body, headers = {}) => {
      res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
      res.end(JSON.stringify(body));
    };
    if (req.headers.authorization !== `Bearer ${TOKEN}`) return json(401, { status: 401 });
    if (req.method === 'GET' && url.pathname === '/api/v1/sensors') {
      state.gets++;
      const start = Number(url.searchParams.get('cursor') || 0);
      const items = sensors.slice(start, start + 100);
      return json(200, { items, next_cursor: start + 100 < sensors.length ? String(start + 100) : null });
    }
    if (req.method === 'POST' && url.pathname === '/api/v1/observations') {
      let body = '';
      req.on('data', (c) => { body += c; });
      req.on('end', () => {
        state.posts++;
        if (state.fail503 > 0) {
          state.fail503--;
          return json(503, { status: 503, title: 'unavailable' }, { 'Retry-After': '1' });
        }
        assert.equal(req.headers['content-type'], 'application/json');
        const obs = JSON.parse(body).observations;
        state.readings.push(...obs);
        state.batches.push(obs);
        json(200, { accepted: obs.length, duplicates: 0, rejected: [] });
      });
      return undefined;
    }
    return json(404, { status: 404 });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, state, url: `http://127.0.0.1:${server.address().port}` })));
}

function startSim(args, env = {}) {
  const child = spawn(process.execPath, [SIM, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  child.log = '';
  child.stderr.on('data', (d) => { child.log += d; });
  child.exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return child;
}

async function until(what, fn, ms = 15000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('reads every page of sensors, posts every metric, retries after 503, controls scenarios, stops on SIGTERM', async () => {
  const d = await fakeDaemon({ fail503: 1 });
  const sim = startSim(['--url', d.url, '--interval', '0.5', '--seed', '3', '--control-port', '0'], { MAEUL_TOKEN: TOKEN });
  try {
    const port = Number(await until('control port', () => /control on http:\/\/127\.0\.0\.1:(\d+)/.exec(sim.log)?.[1]));
    const metrics = sensors.reduce((n, s) => n + s.metrics.length, 0);
    await until('every metric posted', () => new Set(d.state.readings.map((r) => `${r.sensor}/${r.metric}`)).size === metrics);
    assert.ok(d.state.gets >= 3, 'paged through the sensor list');
    assert.ok(d.state.posts >= 2, 'retried after 503');
    assert.deepEqual([...d.state.auth], [`Bearer ${TOKEN}`]);
    const byKey = new Map(sensors.flatMap((s) => s.metrics.map((m) => [`${s.id}/${m.name}`, m])));
    for (const r of d.state.readings) {
      const m = byKey.get(`${r.sensor}/${r.metric}`);
      assert.ok(m, `${r.sensor}/${r.metric}`);
      assert.equal(typeof r.value, 'number');
      if (m.min != null) assert.ok(r.value >= m.min);
      if (m.max != null) assert.ok(r.value <= m.max);
      assert.match(r.ts, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+09:00$/);
      assert.ok(Date.parse(r.ts) <= Date.now() + 1000);
    }

    const ctl = `http://127.0.0.1:${port}`;
    const post = (body) => fetch(`${ctl}/scenario`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    const mark = d.state.readings.length;
    const injected = Math.floor(Date.now() / 1000) * 1000;
    let res = await post({ name: 'flood', zone: 'seorak', duration_s: 30 });
    assert.equal(res.status, 201);
    assert.equal((await res.json()).id, 'flood:seorak');
    assert.equal((await post({ name: 'flood', zone: 'seorak' })).status, 200);  // already running
    res = await post({ name: 'flood', zone: 'atlantis' });
    assert.equal(res.status, 422);
    assert.match((await res.json()).detail, /unknown zone/);
    assert.equal((await post({ name: 'meteor' })).status, 422);
    res = await fetch(`${ctl}/scenario`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{' });
    assert.equal(res.status, 400);
    assert.equal((await post({ name: 'silent', sensor: 'home-daepo-001' })).status, 201);
    assert.equal((await post({ name: 'breakdown', corridor: 'trf-seorak-02' })).status, 201);
    const list = await (await fetch(`${ctl}/scenario`)).json();
    assert.deepEqual(list.running.map((s) => s.id).sort(), ['breakdown:Seoraksan-ro', 'flood:seorak', 'silent:home-daepo-001']);
    assert.equal((await fetch(`${ctl}/nope`)).status, 404);
    assert.equal((await fetch(`${ctl}/scenario`, { method: 'PUT' })).status, 405);

    // The flood makes the Seorak rivers report at once, and rise.
    await until('a forced water level reading', () => d.state.readings.slice(mark)
      .some((r) => r.sensor.startsWith('wl-seorak') && Date.parse(r.ts) >= injected));
    const afterSilence = d.state.readings.length;
    await new Promise((r) => setTimeout(r, 1500));
    assert.ok(!d.state.readings.slice(afterSilence).some((r) => r.sensor === 'home-daepo-001'), 'the silent household posts nothing');

    assert.equal((await fetch(`${ctl}/scenario/silent`, { method: 'DELETE' })).status, 204);
    assert.equal((await fetch(`${ctl}/scenario/silent`, { method: 'DELETE' })).status, 404);
    await until('the household reports again', () => d.state.readings.some((r, i) => i >= afterSilence && r.sensor === 'home-daepo-001'));
    assert.equal((await fetch(`${ctl}/scenario/breakdown:Seoraksan-ro`, { method: 'DELETE' })).status, 204);
    const status = await (await fetch(`${ctl}/status`)).json();
    assert.ok(status.accepted > 0 && status.errors >= 1);

    sim.kill('SIGTERM');
    const { code } = await sim.exited;
    assert.equal(code, 0, sim.log);
    assert.match(sim.log, /stopped: \d+ readings sent/);
  } finally {
    sim.kill('SIGKILL');
    d.server.close();
  }
});

test('the morning scenario through the control endpoint and --scenario: its household, day and stop time', async () => {
  const d = await fakeDaemon();
  const sim = startSim(['--url', d.url, '--interval', '0.5', '--quiet', '--control-port', '0', '--scenario', 'morning:home-seorak-002@2026-11-23'],
    { MAEUL_TOKEN: TOKEN });
  try {
    const port = Number(await until('control port', () => /control on http:\/\/127\.0\.0\.1:(\d+)/.exec(sim.log)?.[1]));
    const ctl = `http://127.0.0.1:${port}`;
    await until('the --scenario started', () => /scenario morning:home-seorak-002 started: the resident of home-seorak-002 does not get up/.test(sim.log));
    const post = (body) => fetch(`${ctl}/scenario`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    let res = await post({ name: 'morning', sensor: 'home-daepo-001', day: 'tomorrow' });
    assert.equal(res.status, 201);
    const sc = await res.json();
    assert.equal(sc.id, 'morning:home-daepo-001');
    assert.match(sc.stops_at, /^\d{4}-\d\d-\d\dT0[4-8]:\d\d:\d\d\+09:00$/, 'a wake-up time, early in the morning');
    const tomorrow = new Date(Date.now() + 9 * 3600e3 + 86400e3).toISOString().slice(0, 10);
    assert.equal(sc.day, tomorrow);
    assert.equal(sc.stops_at.slice(0, 10), tomorrow);
    assert.equal((await post({ name: 'morning', sensor: 'home-daepo-001' })).status, 200, 'already running');
    res = await post({ name: 'morning', sensor: 'sos-daepo-001' });
    assert.equal(res.status, 422);
    assert.match((await res.json()).detail, /not a home_activity/);
    res = await post({ name: 'morning', day: 'yesterday-ish' });
    assert.equal(res.status, 422);
    assert.equal((await res.json()).errors[0].pointer, '/day');
    const list = await (await fetch(`${ctl}/scenario`)).json();
    assert.deepEqual(list.running.map((x) => x.id).sort(), ['morning:home-daepo-001', 'morning:home-seorak-002']);
    assert.equal(list.running.find((x) => x.sensor === 'home-seorak-002').day, '2026-11-23');
    assert.equal(list.available.find((x) => x.name === 'morning').takes_day, true);
    assert.equal((await fetch(`${ctl}/scenario/morning:home-daepo-001`, { method: 'DELETE' })).status, 204);
    sim.kill('SIGTERM');
    assert.equal((await sim.exited).code, 0, sim.log);
  } finally {
    sim.kill('SIGKILL');
    d.server.close();
  }
});

test('a replay first sends each home_activity sensor\'s past in one request in time order (with a morning in it), then skips it', async () => {
  const d = await fakeDaemon();
  const start = Math.floor((Date.now() - 2 * 86400e3) / 1000) * 1000;
  const yesterday = new Date(Date.now() + 9 * 3600e3 - 86400e3).toISOString().slice(0, 10);  // in Korea
  const spec = `morning:home-station-014@${yesterday}`;
  const sim = startSim(['--url', d.url, '--interval', '0.5', '--speed', '100000', '--start', new Date(start).toISOString(),
    '--seed', '42', '--scenario', spec], { MAEUL_TOKEN: TOKEN });
  try {
    await until('the warm-up', () => /routine warm-up: \d+ readings of 56 home_activity sensors/.test(sim.log), 60000);
    await until('the replay done', () => /replay done/.test(sim.log), 60000);
    sim.kill('SIGTERM');
    assert.equal((await sim.exited).code, 0, sim.log);
  } finally {
    sim.kill('SIGKILL');
    d.server.close();
  }
  const homes = sensors.filter((s) => s.kind === 'home_activity').map((s) => s.id);
  const warm = d.state.batches.slice(0, homes.length);
  const model = createModel({ seed: 42, sensors });
  const sc = resolve(parseSpec(spec), model, start);
  const warmEnd = new Map();
  for (const batch of warm) {
    const ids = new Set(batch.map((r) => r.sensor));
    assert.equal(ids.size, 1, 'one sensor a request');
    const [id] = ids;
    assert.ok(homes.includes(id), id);
    const ts = batch.map((r) => Date.parse(r.ts));
    for (let i = 1; i < ts.length; i++) assert.ok(ts[i] >= ts[i - 1], `${id}: in time order`);
    assert.ok(ts[0] <= start && ts[0] > start - 900e3, `${id} starts at the replay's start`);
    assert.ok(ts.at(-1) > Date.now() - 20 * 60e3, `${id} ends about now`);
    assert.ok(batch.length >= 3 * 190, `${id}: two days of three metrics (${batch.length})`);
    warmEnd.set(id, ts.at(-1));
    // Exactly the model's readings for the seed, the morning scenario included.
    for (const r of batch) assert.equal(r.value, model.value(id, r.metric, Date.parse(r.ts), [sc]), `${id} ${r.metric} ${r.ts}`);
  }
  assert.deepEqual([...warmEnd.keys()].sort(), [...homes].sort());
  // The marked household is still from yesterday's wake-up on; before it, it lived its days.
  const marked = warm.find((b) => b[0].sensor === 'home-station-014');
  const motion = marked.filter((r) => r.metric === 'motion').map((r) => [Date.parse(r.ts), r.value]);
  assert.ok(sc.stopAt > start && sc.stopAt < Date.now(), 'yesterday\'s wake-up is in the replay');
  assert.ok(motion.filter(([t]) => t >= sc.stopAt + 900e3).every(([, v]) => v === 0), 'no motion after the wake-up time');
  assert.ok(motion.filter(([t]) => t < sc.stopAt).some(([, v]) => v > 0), 'motion before it');
  // Afterwards the replay sends the rest of the city's past, and nothing of a home twice.
  const later = d.state.batches.slice(homes.length).flat();
  assert.ok(later.some((r) => !homes.includes(r.sensor) && Date.parse(r.ts) < start + 3600e3), 'the rest of the city is replayed from the start');
  for (const r of later) if (warmEnd.has(r.sensor)) assert.ok(Date.parse(r.ts) > warmEnd.get(r.sensor), `${r.sensor} ${r.ts} sent twice`);
});

test('waits for a daemon that is not there yet, then sends', async () => {
  // Reserve a port, close it, start the simulator against it, and only then start the daemon there.
  const probe = createServer();
  await new Promise((r) => probe.listen(0, '127.0.0.1', r));
  const port = probe.address().port;
  await new Promise((r) => probe.close(r));
  const sim = startSim(['--url', `http://127.0.0.1:${port}`, '--token', TOKEN, '--interval', '0.5', '--quiet']);
  try {
    await until('a retry message', () => /waiting for maeuld/.test(sim.log));
    const d = await fakeDaemon();
    d.server.close();
    const real = createServer((req, res) => d.server.emit('request', req, res));
    await new Promise((r) => real.listen(port, '127.0.0.1', r));
    await until('readings', () => d.state.readings.length > 100, 20000);
    sim.kill('SIGINT');
    assert.equal((await sim.exited).code, 0, sim.log);
    real.close();
  } finally {
    sim.kill('SIGKILL');
  }
});

test('bad arguments and a refused token exit non-zero with a clear line', async () => {
  let sim = startSim(['--url', 'http://127.0.0.1:9', '--token', 'x', '--scenario', 'meteor']);
  assert.equal((await sim.exited).code, 64);
  assert.match(sim.log, /unknown scenario "meteor"/);
  sim = startSim(['--token', 'x']);
  assert.equal((await sim.exited).code, 64);
  assert.match(sim.log, /--url is required/);
  const d = await fakeDaemon();
  sim = startSim(['--url', d.url, '--token', 'wrong']);
  assert.equal((await sim.exited).code, 2);
  assert.match(sim.log, /HTTP 401/);
  sim = startSim(['--url', d.url, '--token', TOKEN, '--scenario', 'wildfire:atlantis']);
  assert.equal((await sim.exited).code, 64);
  assert.match(sim.log, /unknown zone "atlantis"/);
  d.server.close();
});

test('--dry-run --world --once prints one reading per metric as NDJSON, deterministic for a seed', async () => {
  const run = async () => {
    const child = spawn(process.execPath, [SIM, '--dry-run', '--once', '--world', fileURLToPath(new URL('../../config/demo/sokcho.json', import.meta.url)),
      '--start', '2026-08-01T10:00:00+09:00', '--seed', '5'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c) => { out += c; });
    const code = await new Promise((r) => child.on('exit', r));
    assert.equal(code, 0);
    return out.trim().split('\n').map((l) => JSON.parse(l));
  };
  const a = await run(), b = await run();
  assert.equal(a.length, sensors.reduce((n, s) => n + s.metrics.length, 0));
  // The clock moved on a little between the runs; readings on the same timestamps are the same.
  const key = (r) => `${r.sensor}/${r.metric}@${r.ts}`;
  const bm = new Map(b.map((r) => [key(r), r.value]));
  let same = 0;
  for (const r of a) if (bm.has(key(r))) { assert.equal(bm.get(key(r)), r.value, key(r)); same++; }
  assert.ok(same > a.length / 2);
});
