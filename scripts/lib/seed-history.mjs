#!/usr/bin/env node
// Gives a fresh demo its past, so every KPI has values: incidents of this year (emergency response times),
// acknowledged welfare alerts (welfare acknowledgement time), and — with --sim — waits until maeul-sim has
// replayed the past days of readings, then resolves the alerts that the replay opened and that are over.
//
//   node scripts/lib/seed-history.mjs --url http://127.0.0.1:8080 --token TOKEN [--sim http://127.0.0.1:PORT]
//        [--since RFC3339] [--done-file FILE] [--seed 42] [--replay-timeout 900]
//
// --sim: maeul-sim's control endpoint (its GET /status tells how far the replay is).
// --since: when the replay started (default: now); only alerts opened since then count as the replay's.
// --done-file: written once everything is done (scripts/demo keeps it in var/ and seeds only once).
// The token (or MAEUL_TOKEN) needs the admin role. Node 20, no packages.
//
// Idempotent: incidents and alert notes carry the tag "[demo-history...]"; when the daemon has any incident so
// tagged, no incident is made again, and likewise for the welfare alerts.
//
// Why the welfare alerts are real and recent: the daemon stamps an alert with its own clock when the rule fires
// (opened_at) and when someone acknowledges it, so an acknowledgement time cannot be put in the past. The
// script presses three emergency buttons (readings pressed = 1), lets the critical welfare rule open the alerts,
// and acknowledges them a minute or two later, as a welfare officer (a token it makes and then revokes).

import { writeFileSync } from 'node:fs';

const TAG = 'demo-history';
const MIN = 60e3, HOUR = 3600e3, DAY = 86400e3, KST = 9 * HOUR;

function usage(msg) {
  if (msg) console.error(`seed-history: ${msg}`);
  console.error('usage: node scripts/lib/seed-history.mjs --url URL --token TOKEN [--sim URL] [--since RFC3339]\n'
    + '                                     [--done-file FILE] [--seed N] [--replay-timeout SECONDS]');
  process.exit(64);
}

function parseArgs(argv) {
  const o = { token: process.env.MAEUL_TOKEN, seed: 42, since: Date.now(), replayTimeout: 900 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const eq = a.indexOf('=');
    const [key, inline] = a.startsWith('--') && eq > 0 ? [a.slice(0, eq), a.slice(eq + 1)] : [a, undefined];
    const value = () => {
      if (inline !== undefined) return inline;
      if (i + 1 >= argv.length) usage(`${key} needs a value`);
      return argv[++i];
    };
    switch (key) {
      case '--url': o.url = value().replace(/\/+$/, ''); break;
      case '--token': o.token = value(); break;
      case '--sim': o.sim = value().replace(/\/+$/, '').replace(/\/scenario$/, ''); break;
      case '--since': o.since = Date.parse(value()); break;
      case '--done-file': o.doneFile = value(); break;
      case '--seed': o.seed = Number(value()); break;
      case '--replay-timeout': o.replayTimeout = Number(value()); break;
      case '-h': case '--help': usage(); break;
      default: usage(`unknown argument ${a}`);
    }
  }
  if (!o.url) usage('--url is required');
  if (!o.token) usage('--token (or MAEUL_TOKEN) is required');
  if (!Number.isFinite(o.since)) usage('--since must be an RFC 3339 time');
  if (!Number.isInteger(o.seed)) usage('--seed must be an integer');
  if (!(o.replayTimeout > 0)) usage('--replay-timeout must be a positive number of seconds');
  return o;
}

const opts = parseArgs(process.argv.slice(2));
const say = (line) => console.log(`seed-history: ${line}`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

class Failure extends Error {}

async function api(method, path, body, token = opts.token, { ok = [200, 201, 204] } = {}) {
  let res;
  try {
    res = await fetch(`${opts.url}${path}`, {
      method,
      headers: {
        Authorization: `Bearer ${token}`,
        Accept: 'application/json, application/problem+json',
        ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(30000),
    });
  } catch (err) {
    throw new Failure(`${method} ${path}: cannot reach ${opts.url}: ${err.cause?.code || err.message}`);
  }
  const text = await res.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
  if (!ok.includes(res.status)) throw new Failure(`${method} ${path}: HTTP ${res.status} ${text.slice(0, 600)}`);
  return { status: res.status, body: json };
}

async function listAll(path) {
  const items = [];
  let cursor = null;
  do {
    const sep = path.includes('?') ? '&' : '?';
    const r = await api('GET', `${path}${sep}limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    items.push(...r.body.items);
    cursor = r.body.next_cursor;
  } while (cursor);
  return items;
}

// A small deterministic generator (mulberry32), so the same seed gives the same history.
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const iso = (t) => new Date(t).toISOString();
const kstDate = (t) => new Date(t + KST).toISOString().slice(0, 10);

// --- incidents ---------------------------------------------------------------------------------------------

// What happens in Sokcho, with the response time (minutes from the report to the first unit on scene) of
// each kind of call; mountain and sea rescues take longest. months: when it can happen (1-12).
const CALLS = [
  { category: 'medical', w: 32, mins: [5, 9], zones: 'any',
    what: ['낙상 환자 병원 이송 / Fall, patient taken to Sokcho Medical Center', '흉통 신고, 응급 처치 후 이송 / Chest pain, treated and taken to hospital',
      '독거노인 의식 저하 / Older person living alone found drowsy, taken to hospital', '호흡 곤란 / Breathing difficulty, oxygen given on scene'] },
  { category: 'fire', w: 12, mins: [5, 9], zones: 'any',
    what: ['주택 주방 화재, 초기 진화 / Kitchen fire in a house, put out early', '차량 화재 / Car fire', '음식점 덕트 화재 / Restaurant duct fire'] },
  { category: 'traffic', w: 14, mins: [6, 10], zones: 'any',
    what: ['국도 7호선 추돌 사고 / Rear-end collision on Route 7', '보행자 교통사고 / Pedestrian hit by a car', '이륜차 단독 사고 / Motorbike crash'] },
  { category: 'welfare_check', w: 10, mins: [7, 12], zones: 'any',
    what: ['응급 호출 버튼 신고, 현장 확인 / Emergency button call, checked at home', '활동 감지 없음, 안부 확인 / No activity detected, welfare visit'] },
  { category: 'rescue', w: 5, mins: [14, 28], zones: ['seorak', 'daepo', 'cheongcho'],
    what: ['설악산 등산객 발목 부상 구조 / Hiker with an ankle injury rescued in Seoraksan', '방파제 추락자 구조 / Person fallen from the breakwater rescued',
      '해수욕장 물놀이 사고 / Swimmer in difficulty at the beach'] },
  { category: 'flood', w: 6, mins: [8, 14], zones: ['cheongcho', 'station', 'daepo'], months: [7, 8, 9],
    what: ['청초천 범람 우려, 하천변 통제 / Cheongchocheon close to overflowing, riverside closed', '지하 주차장 침수 / Flooded underground car park'] },
  { category: 'wildfire', w: 5, mins: [10, 20], zones: ['seorak', 'station'], months: [2, 3, 4, 5],
    what: ['야산 산불, 헬기 투입 / Hillside wildfire, helicopter sent', '영농 부산물 소각 불씨 확산 / Farm waste burning spread to the forest edge'] },
];
const ZONE_WEIGHT = { station: 28, downtown: 16, cheongcho: 30, seorak: 3, daepo: 6 };

function pick(r, items, weight = (x) => x.w) {
  const total = items.reduce((n, x) => n + weight(x), 0);
  let u = r() * total;
  for (const x of items) if ((u -= weight(x)) < 0) return x;
  return items[items.length - 1];
}

// The incidents of this year up to now: about ten a month from January, one or two a day over the last five
// weeks, one resolved earlier today and one still open. Response times improve over the year (the flood and
// wildfire response programme), from about 15 % above their base in January to 5 % below in December.
function plannedIncidents(now, seed, zones) {
  const r = rng(seed * 7919 + 1);
  const year = Number(kstDate(now).slice(0, 4));
  const yearStart = Date.parse(`${year}-01-01T00:00:00+09:00`);
  const todayStart = Date.parse(`${kstDate(now)}T00:00:00+09:00`);
  const dense = todayStart - 35 * DAY;
  const times = [];
  for (let t = yearStart + (1 + 3 * r()) * DAY; t < dense; t += (2 + 3 * r()) * DAY) times.push(t);
  for (let d = Math.max(yearStart, dense); d < todayStart; d += DAY) {
    const n = r() < 0.35 ? 2 : 1;
    for (let i = 0; i < n; i++) times.push(d + (7 + 15 * r()) * HOUR);
  }
  const out = [];
  const make = (reportedAt, key, { open = false } = {}) => {
    const month = Number(new Date(reportedAt + KST).toISOString().slice(5, 7));
    const call = pick(r, CALLS.filter((c) => !c.months || c.months.includes(month)));
    const zoneIds = (call.zones === 'any' ? Object.keys(ZONE_WEIGHT) : call.zones).filter((z) => zones.has(z));
    const zone = zoneIds.length ? pick(r, zoneIds, (z) => ZONE_WEIGHT[z] ?? 1) : [...zones.keys()][0];
    const yearShare = (reportedAt - yearStart) / (365 * DAY);
    const trend = 1.15 - 0.2 * yearShare;
    const far = zone === 'seorak' && call.category !== 'rescue' ? 1.6 : 1;  // the valley is far from the stations
    const [lo, hi] = call.mins;
    const response = (lo + (hi - lo) * r() ** 1.5) * trend * far;
    const dispatch = Math.min(response * 0.4, 0.7 + 1.8 * r());
    const spots = zones.get(zone) || [];
    const spot = spots.length ? spots[Math.floor(r() * spots.length)] : null;
    const location = spot ? { type: 'Point', coordinates: [+(spot[0] + (r() - 0.5) * 0.004).toFixed(5), +(spot[1] + (r() - 0.5) * 0.004).toFixed(5)] } : undefined;
    const what = call.what[Math.floor(r() * call.what.length)];
    out.push({
      key, category: call.category, zone, location, what,
      reported_at: reportedAt,
      dispatched_at: reportedAt + dispatch * MIN,
      on_scene_at: reportedAt + response * MIN,
      resolved_at: open ? null : reportedAt + (response + 20 + 100 * r()) * MIN,
    });
  };
  let n = 0;
  for (const t of times) make(Math.round(t / 1000) * 1000, `${kstDate(t)}-${++n}`);
  // Today: one resolved a few hours ago, one still being handled.
  const earlier = Math.max(todayStart + 10 * MIN, now - (3 + 2 * r()) * HOUR);
  if (earlier + 3 * HOUR < now) make(Math.round(earlier / 1000) * 1000, `${kstDate(now)}-${++n}`);
  make(Math.round((now - (35 + 20 * r()) * MIN) / 1000) * 1000, `${kstDate(now)}-${++n}`, { open: true });
  return out.filter((x) => x.on_scene_at < now - MIN && (x.resolved_at == null || x.resolved_at < now - MIN));
}

async function seedIncidents(now) {
  const existing = await listAll('/api/v1/incidents');
  if (existing.some((i) => String(i.note || '').includes(`[${TAG}`) || (i.timeline || []).some((e) => String(e.note || '').includes(`[${TAG}`)))) {
    say('incidents: history is there already (tagged incidents found); nothing to do');
    return 0;
  }
  // Places for the incidents: the facilities of each zone.
  const zones = new Map();
  for (const z of await listAll('/api/v1/zones')) zones.set(z.id, []);
  for (const f of await listAll('/api/v1/facilities')) if (f.zone && zones.has(f.zone)) zones.get(f.zone).push(f.location.coordinates);
  if (zones.size === 0) throw new Failure('no zones: load the world first');
  const plan = plannedIncidents(now, opts.seed, zones);
  let made = 0;
  for (const p of plan) {
    const tag = `[${TAG}:${p.key}]`;
    const created = await api('POST', '/api/v1/incidents', {
      category: p.category, zone: p.zone, ...(p.location ? { location: p.location } : {}),
      reported_at: iso(p.reported_at), note: `${tag} ${p.what}`,
    });
    const id = created.body.id;
    await api('PATCH', `/api/v1/incidents/${id}`, { dispatched_at: iso(p.dispatched_at), on_scene_at: iso(p.on_scene_at) });
    if (p.resolved_at) {
      await api('PATCH', `/api/v1/incidents/${id}`, { resolved_at: iso(p.resolved_at), note: `${tag} ${p.what} — 종결 / closed` });
    }
    made++;
  }
  const mins = plan.map((p) => (p.on_scene_at - p.reported_at) / MIN);
  say(`incidents: ${made} made, ${kstDate(plan[0].reported_at)} to today; response ${Math.min(...mins).toFixed(1)}-${Math.max(...mins).toFixed(1)} min, mean ${(mins.reduce((a, b) => a + b, 0) / mins.length).toFixed(1)}`);
  return made;
}

// --- welfare alerts ----------------------------------------------------------------------------------------

const WELFARE_NOTES = [
  ['통화 확인: 거실에서 넘어짐, 보호자 연락, 방문 간호 요청 / Called back: fell in the living room; family told, home nurse asked to visit',
    '방문 간호사 확인, 경미한 타박상 / Home nurse visited: a light bruise'],
  ['통화 확인: 버튼 오작동 (청소 중 눌림) / Called back: pressed by mistake while cleaning', '오작동 확인, 조치 없음 / False alarm, nothing to do'],
  ['응답 없음, 생활지원사 현장 출동 / No answer; care worker sent to the home', '생활지원사 도착: 어지럼증, 병원 동행 / Care worker on site: dizziness, went with her to the clinic'],
];

async function pressButtons() {
  const welfare = await listAll('/api/v1/alerts?domain=welfare');
  if (welfare.some((a) => a.acknowledged_at && String(a.note || '').includes(`[${TAG}]`))) {
    say('welfare alerts: history is there already; nothing to do');
    return null;
  }
  const rule = await api('GET', '/api/v1/rules/demo-sos-pressed', undefined, opts.token, { ok: [200, 404] });
  if (rule.status === 404) {
    say('welfare alerts: no rule demo-sos-pressed (load config/demo/rules.json); skipped');
    return null;
  }
  const buttons = await listAll('/api/v1/sensors?kind=emergency_button');
  const byZone = new Map();
  for (const b of buttons) if (b.zone && !byZone.has(b.zone)) byZone.set(b.zone, b);
  const chosen = [...byZone.values()].slice(0, 3);
  if (chosen.length === 0) {
    say('welfare alerts: no emergency buttons; skipped');
    return null;
  }
  // Alerts of an earlier, interrupted start are still open on these buttons (one open alert per rule and
  // sensor): closed without an acknowledgement, so that new presses open new alerts.
  const chosenIds = new Set(chosen.map((b) => b.id));
  for (const a of welfare) {
    if (a.rule !== 'demo-sos-pressed' || a.state === 'resolved' || !chosenIds.has(a.sensor)) continue;
    await api('POST', `/api/v1/alerts/${a.id}/resolve`, {
      note: `[${TAG}:stale] 중단된 시연 시작에서 남은 경보 / Left over from an interrupted demo start`,
    }, opts.token, { ok: [200, 409] });
  }
  const pressedAt = Date.now();
  const ts = new Date(Math.floor(pressedAt / 1000) * 1000 + KST).toISOString().replace('.000Z', '+09:00');
  await api('POST', '/api/v1/observations', { observations: chosen.map((b) => ({ sensor: b.id, metric: 'pressed', ts, value: 1 })) });
  say(`welfare alerts: emergency buttons pressed at ${chosen.map((b) => b.id).join(', ')}`);
  // The rule engine opens the alerts in the background.
  const ids = chosenIds;
  let alerts = [];
  for (let i = 0; i < 50 && alerts.length < ids.size; i++) {
    await sleep(200);
    alerts = (await listAll('/api/v1/alerts?domain=welfare&state=open'))
      .filter((a) => a.rule === 'demo-sos-pressed' && ids.has(a.sensor) && Date.parse(a.opened_at) >= pressedAt - 5000);
  }
  if (alerts.length === 0) say('welfare alerts: warning: no alert opened (is the rule enabled?)');
  return alerts.map((a, i) => ({ alert: a, ackAfter: (55 + 30 * i) * 1000, notes: WELFARE_NOTES[i % WELFARE_NOTES.length] }));
}

async function acknowledge(pending) {
  if (!pending || pending.length === 0) return;
  const officer = await api('POST', '/api/v1/tokens', { name: 'demo-welfare-desk', role: 'welfare_officer' });
  const token = officer.body.token;
  try {
    const mins = [];
    for (const [i, p] of pending.entries()) {
      const wait = Date.parse(p.alert.opened_at) + p.ackAfter - Date.now();
      if (wait > 0) await sleep(wait);
      const r = await api('POST', `/api/v1/alerts/${p.alert.id}/ack`, { note: `[${TAG}] ${p.notes[0]}` }, token, { ok: [200, 409] });
      if (r.status !== 200) continue;
      mins.push((Date.parse(r.body.acknowledged_at) - Date.parse(r.body.opened_at)) / MIN);
      // The last one stays acknowledged: the care worker is still with the resident.
      if (i < pending.length - 1) {
        await api('POST', `/api/v1/alerts/${p.alert.id}/resolve`, { note: `[${TAG}] ${p.notes[1]}` }, token, { ok: [200, 409] });
      }
    }
    say(`welfare alerts: ${mins.length} acknowledged by demo-welfare-desk, ${mins.map((m) => m.toFixed(1)).join(', ')} min after they opened`);
  } finally {
    await api('DELETE', `/api/v1/tokens/${officer.body.id}`, undefined, opts.token, { ok: [204, 404] });
  }
}

// --- the simulator's replay --------------------------------------------------------------------------------

async function waitForReplay() {
  if (!opts.sim) return true;
  const deadline = Date.now() + opts.replayTimeout * 1000;
  let lastSay = 0, first = null;
  for (;;) {
    let st = null;
    try {
      const res = await fetch(`${opts.sim}/status`, { signal: AbortSignal.timeout(5000) });
      st = await res.json();
    } catch (err) {
      say(`simulator: cannot read ${opts.sim}/status (${err.cause?.code || err.message}); not waiting for its replay`);
      return false;
    }
    const simTime = Date.parse(st.sim_time);
    first ??= simTime;
    const behind = Date.now() - simTime;
    if (behind < 20000 && st.queued === 0) {
      say(`simulator: replay done (${st.accepted} readings accepted, ${st.duplicates} duplicates, ${st.rejected} rejected)`);
      return true;
    }
    if (Date.now() - lastSay > 15000) {
      const done = first < Date.now() ? Math.min(1, (simTime - first) / (Date.now() - first)) : 1;
      say(`simulator: replaying the past, at ${new Date(simTime + KST).toISOString().slice(0, 16).replace('T', ' ')} KST (${Math.round(done * 100)} %), ${st.accepted} readings accepted`);
      lastSay = Date.now();
    }
    if (Date.now() > deadline) {
      say(`simulator: warning: the replay is not done after ${opts.replayTimeout} s; going on (it keeps replaying)`);
      return false;
    }
    await sleep(1000);
  }
}

// Alerts the replay opened on past readings whose condition is over: the daemon stamps them with the time they
// were processed, so left open they would look like things happening now. They are resolved, with a note.
async function resolveReplayed() {
  await sleep(2000);  // the rule engine records transitions in the background
  const open = await listAll('/api/v1/alerts?state=open');
  const replayed = open.filter((a) => a.cleared_at && Date.parse(a.opened_at) >= opts.since - 1000 && a.rule !== 'demo-sos-pressed');
  for (const a of replayed) {
    await api('POST', `/api/v1/alerts/${a.id}/resolve`, {
      note: `[${TAG}] 재생된 과거 측정값에서 발생, 시연 시작 전에 해제됨 / Raised by replayed past readings; over before the demo started`,
    }, opts.token, { ok: [200, 409] });
  }
  const still = open.filter((a) => !a.cleared_at && Date.parse(a.opened_at) >= opts.since - 1000 && a.rule !== 'demo-sos-pressed');
  say(`alerts from the replay: ${replayed.length} over and resolved${still.length ? `, ${still.length} still open (their condition holds now)` : ''}`);
}

async function main() {
  const now = Date.now();
  const pending = await pressButtons();
  await seedIncidents(now);
  const replayed = await waitForReplay();
  await acknowledge(pending);
  if (opts.sim && replayed) await resolveReplayed();
  if (opts.doneFile && (replayed || !opts.sim)) {
    writeFileSync(opts.doneFile, `${new Date().toISOString()} history seeded (scripts/lib/seed-history.mjs)\n`);
  }
}

main().catch((err) => {
  console.error(`seed-history: ${err.message}`);
  process.exit(err instanceof Failure ? 1 : 2);
});
