'use strict';
// Helpers for the KPI end-to-end tests (kpi*.test.js). Written from the contract (shared/API.md §7,
// docs/api-notes.md "KPIs" and the catalogue's own descriptions), without the daemon's source: the
// city's calendar (Asia/Seoul, +09:00 all year, no DST), expected-value bookkeeping, comparison of
// GET /api/v1/kpis/{id}/values answers with the values the tests compute themselves, and CSV parsing.

const assert = require('node:assert/strict');
const h = require('./harness');
const I = require('./ingest-helpers');

const { HOUR, DAY, iso } = I;

// ---------------------------------------------------------------- the city's calendar

const TZ_OFFSET = 9 * HOUR; // Asia/Seoul: UTC+09:00, no daylight saving time since 1988
const PERIODS = ['day', 'week', 'month', 'year'];

// Start (epoch ms, UTC) of the city-calendar period holding `ms`. Weeks start on Monday (ISO 8601).
function periodStart(ms, period) {
  const l = new Date(ms + TZ_OFFSET);
  const y = l.getUTCFullYear();
  const m = l.getUTCMonth();
  const d = l.getUTCDate();
  switch (period) {
    case 'day': return Date.UTC(y, m, d) - TZ_OFFSET;
    case 'week': return Date.UTC(y, m, d - ((l.getUTCDay() + 6) % 7)) - TZ_OFFSET;
    case 'month': return Date.UTC(y, m, 1) - TZ_OFFSET;
    case 'year': return Date.UTC(y, 0, 1) - TZ_OFFSET;
    default: throw new Error(`period ${period}`);
  }
}

// Number of calendar days in the period that starts at `startMs`.
function periodDays(startMs, period) {
  const l = new Date(startMs + TZ_OFFSET);
  const y = l.getUTCFullYear();
  const m = l.getUTCMonth();
  switch (period) {
    case 'day': return 1;
    case 'week': return 7;
    case 'month': return Math.round((Date.UTC(y, m + 1, 1) - Date.UTC(y, m, 1)) / DAY);
    case 'year': return Math.round((Date.UTC(y + 1, 0, 1) - Date.UTC(y, 0, 1)) / DAY);
    default: throw new Error(`period ${period}`);
  }
}

const hourStart = (ms) => Math.floor(ms / HOUR) * HOUR;

// ---------------------------------------------------------------- numbers

// KPI values are published with a few decimals; compare with an absolute and a relative tolerance.
function near(got, want, { abs = 6e-5, rel = 1e-6 } = {}) {
  if (want === null || want === undefined) return got === null || got === undefined;
  if (typeof got !== 'number') return false;
  return Math.abs(got - want) <= abs + rel * Math.abs(want);
}

const mean = (xs) => xs.reduce((a, x) => a + x, 0) / xs.length;
const sum = (xs) => xs.reduce((a, x) => a + x, 0);

// The two usual 90th percentiles: nearest rank and linear interpolation (PostgreSQL percentile_cont).
function p90Candidates(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  const nearest = s[Math.max(0, Math.ceil(0.9 * n) - 1)];
  const pos = 0.9 * (n - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(n - 1, lo + 1);
  const linear = s[lo] + (pos - lo) * (s[hi] - s[lo]);
  return [nearest, linear];
}

// ---------------------------------------------------------------- expected values

// A map "zone|startISO" → value ("" for the city), built with add()/set() and compared with the daemon's.
class Expected {
  constructor() { this.m = new Map(); }
  static key(zone, startMs) { return `${zone === null || zone === undefined ? '' : zone}|${typeof startMs === 'number' ? iso(startMs) : startMs}`; }
  set(zone, startMs, value) { this.m.set(Expected.key(zone, startMs), value); return this; }
  get(zone, startMs) { return this.m.get(Expected.key(zone, startMs)); }
  has(zone, startMs) { return this.m.has(Expected.key(zone, startMs)); }
  filter(fn) {
    const e = new Expected();
    for (const [k, v] of this.m) {
      const [zone, start] = k.split('|');
      if (fn(zone === '' ? null : zone, start, v)) e.m.set(k, v);
    }
    return e;
  }
  get size() { return this.m.size; }
  entries() { return [...this.m.entries()].sort(); }
}

// Groups items by (zone, period start) and by (city, period start): groups(items, period, tsOf, zoneOf)
// → Map key → {zone, start, items}. Items whose zone is null count for the city only.
function groups(items, period, tsOf, zoneOf) {
  const out = new Map();
  const add = (zone, start, it) => {
    const k = Expected.key(zone, start);
    if (!out.has(k)) out.set(k, { zone, start, items: [] });
    out.get(k).items.push(it);
  };
  for (const it of items) {
    const start = periodStart(tsOf(it), period);
    const z = zoneOf(it);
    if (z !== null && z !== undefined) add(z, start, it);
    add(null, start, it);
  }
  return out;
}

// ---------------------------------------------------------------- reading values back

function valuesPath(kpi, params = {}) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null) q.set(k, String(v));
  const qs = q.toString();
  return `/api/v1/kpis/${encodeURIComponent(kpi)}/values${qs ? '?' + qs : ''}`;
}

// GET values; asserts the documented shape and returns the body.
async function getValues(d, token, kpi, params = {}) {
  const res = await h.request(d, 'GET', valuesPath(kpi, params), { token });
  const b = h.assertJson(res, 200);
  assert.equal(b.kpi, kpi, 'values.kpi');
  if (params.period) assert.equal(b.period, params.period, 'values.period');
  assert.ok(Array.isArray(b.values), `values[]: ${res.text.slice(0, 300)}`);
  for (const v of b.values) {
    assert.ok('zone' in v && (v.zone === null || typeof v.zone === 'string'), `value.zone is a string or null: ${JSON.stringify(v)}`);
    assert.match(v.start, h.TIME_RE, `value.start is RFC 3339 UTC with ms: ${JSON.stringify(v)}`);
    assert.ok(v.value === null || typeof v.value === 'number', `value.value is a number: ${JSON.stringify(v)}`);
    assert.ok('target' in v, `value.target present: ${JSON.stringify(v)}`);
  }
  return b;
}

// Compares the daemon's values with an Expected map; `only` restricts the comparison to some keys.
// Returns a list of differences (empty when they agree).
function diffValues(values, expected, { tol } = {}) {
  const diffs = [];
  const got = new Map();
  for (const v of values) {
    const k = Expected.key(v.zone, v.start);
    if (got.has(k)) diffs.push(`duplicate row ${k}`);
    got.set(k, v.value);
  }
  for (const [k, want] of expected.entries()) {
    if (!got.has(k)) diffs.push(`missing ${k} (want ${want})`);
    else if (!near(got.get(k), want, tol)) diffs.push(`${k}: got ${got.get(k)}, want ${want}`);
  }
  for (const [k, v] of got) if (!expected.m.has(k)) diffs.push(`unexpected ${k} = ${v}`);
  return diffs;
}

// Polls GET values until they equal `expected` (rollups are folded about every second), then returns
// the body; fails with the differences of the last answer after `timeoutMs`.
async function expectValues(d, token, kpi, params, expected, { timeoutMs = 6000, tol, what = '' } = {}) {
  const deadline = Date.now() + timeoutMs;
  let diffs;
  let b;
  for (;;) {
    b = await getValues(d, token, kpi, params);
    diffs = diffValues(b.values, expected, { tol });
    if (diffs.length === 0) return b;
    if (Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.fail(`${kpi} ${JSON.stringify(params)} ${what}: ${diffs.length} difference(s) from the values computed by the test:\n  ` +
    diffs.slice(0, 12).join('\n  '));
}

// Asserts each value's target: the catalogue target, times the period's days when its basis is per day.
function assertTargets(values, catalogueKpi, period) {
  const perDay = /^per day/i.test(String(catalogueKpi.target_basis || ''));
  for (const v of values) {
    const want = perDay ? catalogueKpi.target * periodDays(Date.parse(v.start), period) : catalogueKpi.target;
    assert.ok(near(v.target, want, { abs: 6e-5, rel: 1e-6 }),
      `${catalogueKpi.id} ${period} ${v.zone}@${v.start}: target ${v.target}, want ${want} (${catalogueKpi.target_basis})`);
  }
}

// ---------------------------------------------------------------- CSV

// RFC 4180 parser → array of rows (arrays of strings).
function parseCsv(text) {
  const rows = [];
  let row = [];
  let field = '';
  let q = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (q) {
      if (c === '"') {
        if (text[i + 1] === '"') { field += '"'; i++; } else q = false;
      } else field += c;
    } else if (c === '"') q = true;
    else if (c === ',') { row.push(field); field = ''; }
    else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field); rows.push(row); row = []; field = '';
    } else field += c;
  }
  if (field !== '' || row.length) { row.push(field); rows.push(row); }
  return rows;
}

module.exports = {
  TZ_OFFSET, PERIODS, periodStart, periodDays, hourStart,
  near, mean, sum, p90Candidates,
  Expected, groups,
  valuesPath, getValues, diffValues, expectValues, assertTargets, parseCsv,
};
