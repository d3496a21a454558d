// maeul-sim with --gtfs against a stand-in daemon: bus positions posted to /api/v1/transit/positions, boardings
// sensors read like any other, the bus scenarios on the control endpoint, and a daemon without the transit
// endpoint (404) turning positions off without stopping the readings.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const SIM = fileURLToPath(new URL('../../tools/sim/maeul-sim.mjs', import.meta.url));
const GTFS = fileURLToPath(new URL('../../config/demo/transit', import.meta.url));
const boardSensors = JSON.parse(readFileSync(`${GTFS}/sensors.json`, 'utf8')).sensors;
const TOKEN = 'bus-token';

function fakeDaemon({ transit = true } = {}) {
  const state = { readings: [], positions: [], positionPosts: 0 };
  const server = createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    const json = (status, body) => { res.writeHead(status, { 'Content-Type': 'application/json' }); res.end(JSON.stringify(body)); };
    if (req.headers.authorization !== `Bearer ${TOKEN}`) return json(401, { status: 401 });
    if (req.method === 'GET' && url.pathname === '/api/v1/sensors') return json(200, { items: boardSensors.map((s) => ({ ...s, zone: s.attributes.gtfs_stop_id.split('-')[1] })), next_cursor: null });
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      if (req.method === 'POST' && url.pathname === '/api/v1/observations') {
        const obs = JSON.parse(body).observations;
        state.readings.push(...obs);
        return json(200, { accepted: obs.length, duplicates: 0, rejected: [] });
      }
      if (req.method === 'POST' && url.pathname === '/api/v1/transit/positions' && transit) {
        state.positionPosts++;
        const ps = JSON.parse(body).positions;
        state.positions.push(...ps);
        return json(200, { accepted: ps.length, rejected: [] });
      }
      return json(404, { status: 404, title: 'not found' });
    });
    return undefined;
  });
  return new Promise((r) => server.listen(0, '127.0.0.1', () => r({ server, state, url: `http://127.0.0.1:${server.address().port}` })));
}

function run(args) {
  const child = spawn(process.execPath, [SIM, ...args], { env: { ...process.env, MAEUL_TOKEN: TOKEN }, stdio: ['ignore', 'pipe', 'pipe'] });
  child.log = '';
  child.stderr.on('data', (d) => { child.log += d; });
  child.exited = new Promise((r) => child.on('exit', (code) => r(code)));
  return child;
}

async function until(what, fn, ms = 20000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

// The latest 08:00 in Korea at least an hour ago (buses are out then).
function lastMorning() {
  const KST = 9 * 3600e3, DAY = 86400e3;
  let t = Math.floor((Date.now() + KST) / DAY) * DAY - KST + 8 * 3600e3;
  if (t > Date.now() - 3600e3) t -= DAY;
  return t;
}
const rfc = (t) => new Date(t + 9 * 3600e3).toISOString().replace(/\.\d+Z$/, '+09:00');

test('--gtfs --once posts the buses in service and the hourly boardings', async () => {
  const d = await fakeDaemon();
  try {
    const start = lastMorning();
    const sim = run(['--url', d.url, '--gtfs', GTFS, '--once', '--start', rfc(start)]);
    assert.equal(await sim.exited, 0, sim.log);
    assert.ok(d.state.positions.length >= 15, `${d.state.positions.length} positions`);
    for (const p of d.state.positions) {
      assert.deepEqual(Object.keys(p).sort(), ['lat', 'lon', 'occupancy', 'route', 'trip', 'ts', 'vehicle']);
      assert.equal(Date.parse(p.ts), start);
      assert.match(p.ts, /\+09:00$/);
      assert.ok(['d1', 'd2', 'd3', 'd4'].includes(p.route));
    }
    assert.equal(d.state.readings.length, boardSensors.length);
    assert.ok(d.state.readings.every((r) => r.metric === 'boardings' && Date.parse(r.ts) % 3600e3 === 0), JSON.stringify(d.state.readings[0]));
    assert.ok(d.state.readings.some((r) => r.value > 0), 'people boarded between 7 and 8');
  } finally {
    d.server.close();
  }
});

test('the bus scenarios on the control endpoint; a daemon without transit turns positions off', async () => {
  const d = await fakeDaemon({ transit: false });
  const sim = run(['--url', d.url, '--gtfs', GTFS, '--interval', '0.5', '--control-port', '0', '--start', rfc(lastMorning())]);
  try {
    const port = Number(await until('control port', () => /control on http:\/\/127\.0\.0\.1:(\d+)/.exec(sim.log)?.[1]));
    const ctl = `http://127.0.0.1:${port}/scenario`;
    const list = await until('routes', async () => {
      const r = await (await fetch(ctl)).json();
      return r.routes.length ? r : null;
    });
    assert.deepEqual(list.routes, ['d1', 'd2', 'd3', 'd4']);
    assert.ok(list.available.some((a) => a.name === 'bunching' && a.target === 'route'));
    const post = (body) => fetch(ctl, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    const b = await post({ name: 'bunching', route: 'd3' });
    assert.equal(b.status, 201);
    assert.equal((await b.json()).route, 'd3');
    assert.equal((await post({ name: 'bunching', route: 'nope' })).status, 422);
    assert.equal((await post({ name: 'tourist-peak' })).status, 201);
    assert.equal((await fetch(`${ctl}/bunching:d3`, { method: 'DELETE' })).status, 204);
    await until('positions off', () => /bus positions off: .*404/.test(sim.log));
    await until('readings still sent', () => d.state.readings.length > 0);
  } finally {
    sim.kill('SIGTERM');
    await sim.exited;
    d.server.close();
  }
});
