#!/usr/bin/env node
// Loads a demo world (zones, then facilities, then its welfare accounts and residents, then sensors), its budget
// lines and its alert rules into a running maeuld through its REST API.
//
//   node scripts/lib/load-world.mjs --url http://127.0.0.1:8080 --token TOKEN [--world config/demo/sokcho.json]
//        [--welfare config/demo/welfare.json] [--state FILE] [--budget config/demo/budget.json]
//        [--rules config/demo/rules.json] [--playbooks config/demo/playbooks.json] [--year YYYY] [--concurrency 8]
//
// --welfare FILE: {"consent":{"purpose","basis"},"accounts":[...],"residents":[{"sensor",...}]} (see
// config/demo/generate-welfare.mjs): the accounts are made (POST /api/v1/users, role and zones as given, a random
// password), the residents registered (POST /api/v1/residents, consent dated relative to now), and each welfare
// sensor of the world is created, or patched, with "attributes":{"household"} naming its resident's pseudonym.
// The welfare vault must be open (privacy.key_file). --state FILE (mode 600, made if missing) remembers the
// account passwords and each sensor's resident and household, so a second run reuses them; without it, or for
// what it does not hold, a resident is found again by phone (GET /api/v1/residents?phone=), and an account that
// exists gets a new password (PATCH), printed like a new account's.
// --budget FILE: {"lines":[{"key","program","amount_krw","kpis"}]}, posted to /api/v1/budget for --year (default:
// this year in Korea) with the id CITY-YEAR-KEY. --rules FILE: {"rules":[...]}, posted to /api/v1/rules as they
// are (fixed ids) without their "about"; the rules its "retired" list names (ids of earlier demos) are deleted.
// --playbooks FILE: {"playbooks":{CATEGORY:[steps]}}, each PUT to /api/v1/playbooks/CATEGORY (replaced when it
// exists). "none" for any of the files skips it.
// The token may also come from the environment as MAEUL_TOKEN (keeps it out of `ps`); it needs the admin role.
// Idempotent: an object that exists already (409) is counted as "kept" and left as it is; a resident found
// again is kept; only a welfare sensor's household is put right when it differs.
// Any other failure prints the server's problem+json body and exits 1 (2 when the server cannot be reached).
// Node 20, no packages.

import { chmodSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

function usage(msg) {
  if (msg) console.error(`load-world: ${msg}`);
  console.error('usage: node scripts/lib/load-world.mjs --url URL --token TOKEN [--world FILE] [--welfare FILE|none]\n'
    + '                                   [--state FILE] [--budget FILE|none] [--rules FILE|none] [--playbooks FILE|none]\n'
    + '                                   [--year YYYY]\n'
    + '                                   [--concurrency N]');
  process.exit(64);
}

function parseArgs(argv) {
  const opts = {
    world: resolve(root, 'config/demo/sokcho.json'),
    welfare: resolve(root, 'config/demo/welfare.json'),
    state: null,
    budget: resolve(root, 'config/demo/budget.json'),
    rules: resolve(root, 'config/demo/rules.json'),
    playbooks: resolve(root, 'config/demo/playbooks.json'),
    year: Number(new Date(Date.now() + 9 * 3600e3).toISOString().slice(0, 4)),  // Korea has no summer time
    concurrency: 8,
    token: process.env.MAEUL_TOKEN,
  };
  const file = (v) => (v === 'none' ? null : resolve(v));
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
      case '--url': opts.url = value(); break;
      case '--token': opts.token = value(); break;
      case '--world': opts.world = resolve(value()); break;
      case '--welfare': opts.welfare = file(value()); break;
      case '--state': opts.state = resolve(value()); break;
      case '--budget': opts.budget = file(value()); break;
      case '--rules': opts.rules = file(value()); break;
      case '--playbooks': opts.playbooks = file(value()); break;
      case '--year': opts.year = Number(value()); break;
      case '--concurrency': opts.concurrency = Number(value()); break;
      case '-h': case '--help': usage(); break;
      default: usage(`unknown argument ${a}`);
    }
  }
  if (!opts.url) usage('--url is required');
  if (!opts.token) usage('--token (or MAEUL_TOKEN) is required');
  if (!Number.isInteger(opts.concurrency) || opts.concurrency < 1) usage('--concurrency must be a positive integer');
  if (!Number.isInteger(opts.year) || opts.year < 2000 || opts.year > 2100) usage('--year must be a year from 2000 to 2100');
  opts.url = opts.url.replace(/\/+$/, '');
  return opts;
}

class Failure extends Error {
  constructor(message, code) { super(message); this.code = code; }
}

// One API call: {status, json, text}. Throws Failure(…, 2) when the server cannot be reached. A 429 or 503
// (maeuld's limits.requests_per_s, a busy moment) is tried again after its Retry-After, up to 20 times.
async function call(opts, method, path, body) {
  for (let attempt = 1; ; attempt++) {
    let res;
    try {
      res = await fetch(`${opts.url}${path}`, {
        method,
        headers: {
          Authorization: `Bearer ${opts.token}`,
          Accept: 'application/json, application/problem+json',
          ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(30000),
      });
    } catch (err) {
      const cause = err.cause ? ` (${err.cause.code || err.cause.message})` : '';
      throw new Failure(`cannot reach ${opts.url}: ${err.message}${cause}`, 2);
    }
    const text = await res.text();
    if ((res.status === 429 || res.status === 503) && attempt < 20) {
      const after = Number(res.headers.get('retry-after'));
      await new Promise((r) => setTimeout(r, Math.min(30, Number.isFinite(after) && after > 0 ? after : 1) * 1000));
      continue;
    }
    let json = null;
    try { json = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
    return { status: res.status, json, text };
  }
}

function failed(method, path, what, r) {
  const shown = r.json ? JSON.stringify(r.json, null, 2) : r.text;
  return new Failure(`${method} ${path}${what ? ` ${what}` : ''}: HTTP ${r.status}\n${shown}`, 1);
}

// POST an object with a fixed id: 'created', or 'kept' when it exists (409).
async function post(opts, path, body) {
  const r = await call(opts, 'POST', path, body);
  if (r.status === 201 || r.status === 200) return 'created';
  if (r.status === 409) return 'kept';
  throw failed('POST', path, body.id, r);
}

// Every item of a list, following next_cursor.
async function listAll(opts, path) {
  const items = [];
  let cursor = null;
  do {
    const sep = path.includes('?') ? '&' : '?';
    const p = `${path}${sep}limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const r = await call(opts, 'GET', p);
    if (r.status !== 200) throw failed('GET', p, '', r);
    items.push(...r.json.items);
    cursor = r.json.next_cursor;
  } while (cursor);
  return items;
}

// Runs fn over items with at most `limit` in flight; stops starting new work after the first failure.
async function pool(items, limit, fn) {
  let next = 0, failure = null;
  const worker = async () => {
    while (!failure && next < items.length) {
      const item = items[next++];
      try { await fn(item); } catch (err) { failure ??= err; }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure) throw failure;
}

function readJson(path) {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Failure(`cannot read ${path}: ${err.message}`, 1);
  }
}

// Budget lines of the file for one year: ids CITY-YEAR-KEY.
function budgetLines(doc, city, year) {
  return (doc.lines || []).map(({ key, ...line }) => ({ id: `${city}-${year}-${key}`, year, ...line }));
}

// Rules of the file as the API takes them (without the people's notes in "about").
function ruleBodies(doc) {
  return (doc.rules || []).map(({ about, ...rule }) => rule);
}

// --- welfare: accounts, residents, households ----------------------------------------------------------

// Why the loader reads and writes personal data (recorded with every access, API §9).
const PURPOSE = encodeURIComponent('demo world setup (scripts/lib/load-world.mjs)');
const DAY = 86400e3, KST = 9 * 3600e3;

// The state file: {"accounts":{username:{password}}, "households":{sensor:{resident, household}}}.
function readState(path) {
  if (!path) return { accounts: {}, households: {} };
  let text;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if (err.code === 'ENOENT') return { accounts: {}, households: {} };
    throw new Failure(`cannot read ${path}: ${err.message}`, 1);
  }
  try {
    const st = JSON.parse(text);
    return { accounts: st.accounts || {}, households: st.households || {} };
  } catch (err) {
    throw new Failure(`${path} is not JSON (${err.message}): move it away and run again`, 1);
  }
}

// Written whole to a new file (mode 600) and renamed over the old one.
function writeState(path, state) {
  if (!path) return;
  const doc = {
    about: 'Written by scripts/lib/load-world.mjs: the demo accounts\' passwords and the resident and household of '
      + 'each welfare sensor, so that loading again reuses them. Secret: keep it mode 600.',
    accounts: state.accounts,
    households: state.households,
  };
  const tmp = `${path}.new-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(doc, null, 2) + '\n', { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
}

// A day relative to now, at 10:00 in Korea, as RFC 3339.
function kstDay(now, days) {
  const d = new Date(Math.floor((now + KST) / DAY) * DAY + days * DAY);
  return `${d.toISOString().slice(0, 10)}T10:00:00+09:00`;
}

async function loadAccounts(opts, doc, state, printed) {
  const count = { created: 0, kept: 0, 'password reset': 0 };
  for (const a of doc.accounts || []) {
    const known = state.accounts[a.username]?.password;
    const password = known ?? randomBytes(12).toString('base64url');
    const body = { username: a.username, display_name: a.display_name, role: a.role, password, zones: a.zones || [] };
    const r = await call(opts, 'POST', '/api/v1/users', body);
    if (r.status === 201) {
      count.created++;
    } else if (r.status === 409 && known) {
      count.kept++;
    } else if (r.status === 409) {
      // It exists, with a password nobody here knows: give it a new one, so that the one shown works.
      const path = `/api/v1/users/${encodeURIComponent(a.username)}`;
      const p = await call(opts, 'PATCH', path, { password });
      if (p.status !== 200) throw failed('PATCH', path, '(password)', p);
      count['password reset']++;
    } else {
      throw failed('POST', '/api/v1/users', a.username, r);
    }
    state.accounts[a.username] = { password, role: a.role, zones: a.zones || [], display_name: a.display_name };
    if (!opts.state && !known) printed.push(`  ${a.username}  ${password}  (${a.role}, ${(a.zones || []).join(', ') || 'all zones'})`);
  }
  return count;
}

// Registers the residents (or finds them again) and returns Map(sensor id -> household pseudonym).
async function loadResidents(opts, doc, state) {
  const count = { created: 0, kept: 0 };
  const now = Date.now();
  const listed = new Map((await listAll(opts, `/api/v1/residents?purpose=${PURPOSE}`)).map((x) => [x.id, x.household]));
  // Residents registered that the state does not name (an earlier run could not write it, or it is gone):
  // only then is a lookup by phone worth its access record.
  const named = new Set(Object.values(state.households).map((x) => x.resident));
  const strays = [...listed.keys()].some((id) => !named.has(id));
  const households = new Map();
  await pool(doc.residents || [], opts.concurrency, async (res) => {
    const known = state.households[res.sensor];
    if (known && listed.get(known.resident) === known.household) {
      households.set(res.sensor, known.household);
      count.kept++;
      return;
    }
    // Registered by a run that could not write the state, or the state is gone: the blind index finds them.
    if (strays && res.phone) {
      const path = `/api/v1/residents?phone=${encodeURIComponent(res.phone)}&purpose=${PURPOSE}`;
      const r = await call(opts, 'GET', path);
      if (r.status !== 200) throw failed('GET', path, '', r);
      const found = (r.json.items || []).find((x) => x.zone === res.zone);
      if (found) {
        state.households[res.sensor] = { resident: found.id, household: found.household };
        households.set(res.sensor, found.household);
        count.kept++;
        return;
      }
    }
    const { sensor, consent, ...identity } = res;
    const body = {
      ...identity,
      consent: {
        ...doc.consent,
        granted_at: kstDay(now, -consent.granted_days_ago),
        ...(consent.expires_in_days == null ? {} : { expires_at: kstDay(now, consent.expires_in_days) }),
      },
    };
    const path = `/api/v1/residents?purpose=${PURPOSE}`;
    const r = await call(opts, 'POST', path, body);
    if (r.status !== 201) throw failed('POST', '/api/v1/residents', `(resident of ${sensor})`, r);
    state.households[sensor] = { resident: r.json.id, household: r.json.household };
    households.set(sensor, r.json.household);
    count.created++;
  });
  return { count, households };
}

// Welfare sensors that exist with another household (or none, e.g. loaded before residents were): patched.
async function linkHouseholds(opts, households) {
  let linked = 0;
  for (const s of await listAll(opts, '/api/v1/sensors?domain=welfare')) {
    const hh = households.get(s.id);
    if (!hh || s.attributes?.household === hh) continue;
    const path = `/api/v1/sensors/${encodeURIComponent(s.id)}`;
    const r = await call(opts, 'PATCH', path, { attributes: { household: hh } });
    if (r.status !== 200) throw failed('PATCH', path, '(household)', r);
    linked++;
  }
  return linked;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const world = readJson(opts.world);
  const city = world.city?.id ?? 'demo';
  const summary = [];
  const load = async (what, path, items) => {
    const count = { created: 0, kept: 0 };
    await pool(items, opts.concurrency, async (item) => { count[await post(opts, path, item)]++; });
    summary.push(`${what} ${count.created} created, ${count.kept} kept`);
  };
  await load('zones', '/api/v1/zones', world.zones || []);
  await load('facilities', '/api/v1/facilities', world.facilities || []);

  let households = new Map();
  const printed = [];
  if (opts.welfare) {
    const doc = readJson(opts.welfare);
    const state = readState(opts.state);
    try {
      const a = await loadAccounts(opts, doc, state, printed);
      summary.push(`welfare accounts ${Object.entries(a).filter(([k, n]) => n || k !== 'password reset').map(([k, n]) => `${n} ${k}`).join(', ')}`);
      const r = await loadResidents(opts, doc, state);
      households = r.households;
      summary.push(`residents ${r.count.created} created, ${r.count.kept} kept`);
    } finally {
      writeState(opts.state, state);
    }
    const unhoused = (world.sensors || []).filter((s) => s.domain === 'welfare' && !households.has(s.id)).map((s) => s.id);
    if (unhoused.length) console.error(`load-world: warning: no resident in ${opts.welfare} for ${unhoused.join(', ')}`);
  }
  const sensors = (world.sensors || []).map((s) => (households.has(s.id)
    ? { ...s, attributes: { ...(s.attributes || {}), household: households.get(s.id) } } : s));
  await load('sensors', '/api/v1/sensors', sensors);
  if (households.size) summary.push(`households ${households.size}, ${await linkHouseholds(opts, households)} sensors linked anew`);
  if (opts.budget) await load(`budget lines ${opts.year}`, '/api/v1/budget', budgetLines(readJson(opts.budget), city, opts.year));
  if (opts.rules) {
    const doc = readJson(opts.rules);
    await load('rules', '/api/v1/rules', ruleBodies(doc));
    let retired = 0;
    for (const id of doc.retired || []) {
      const path = `/api/v1/rules/${encodeURIComponent(id)}`;
      const r = await call(opts, 'DELETE', path);
      if (r.status === 204) retired++;
      else if (r.status !== 404) throw failed('DELETE', path, '', r);
    }
    if (retired) summary.push(`${retired} retired rules deleted`);
  }
  if (opts.playbooks) {
    const doc = readJson(opts.playbooks);
    let n = 0;
    for (const [category, steps] of Object.entries(doc.playbooks || {})) {
      const path = `/api/v1/playbooks/${encodeURIComponent(category)}`;
      const r = await call(opts, 'PUT', path, { steps });
      if (r.status !== 200 && r.status !== 201) throw failed('PUT', path, '', r);
      n++;
    }
    summary.push(`playbooks ${n}`);
  }
  console.log(`world ${world.city?.id ?? opts.world} loaded: ${summary.join('; ')}`);
  if (printed.length) console.log(`welfare accounts (username, password, role):\n${printed.join('\n')}`);
}

main().catch((err) => {
  console.error(`load-world: ${err.message}`);
  process.exit(err instanceof Failure ? err.code : 1);
});
