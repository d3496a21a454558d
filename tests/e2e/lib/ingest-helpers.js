'use strict';
// Helpers for the ingestion / time-series end-to-end tests (observations*, series*, durability*).
// Written from the contract (shared/API.md §5, docs/api-notes.md "Observations"); it only builds
// requests and computes expected answers independently of the daemon.

const assert = require('node:assert/strict');
const h = require('./harness');

// ---------------------------------------------------------------- randomness

// mulberry32: a small seeded PRNG, so a failing run can be repeated exactly.
function rng(seed) {
  let a = seed >>> 0;
  return function next() {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// ---------------------------------------------------------------- times

const SEC = 1000;
const MIN = 60 * SEC;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

const iso = (ms) => new Date(ms).toISOString(); // RFC 3339 UTC with milliseconds

// The same instant written with another UTC offset, e.g. isoOffset(t, 9 * 60) → "...+09:00".
function isoOffset(ms, offsetMin) {
  const local = new Date(ms + offsetMin * MIN).toISOString().slice(0, -1); // drop the Z
  const sign = offsetMin < 0 ? '-' : '+';
  const a = Math.abs(offsetMin);
  return `${local}${sign}${String(Math.floor(a / 60)).padStart(2, '0')}:${String(a % 60).padStart(2, '0')}`;
}

function bucketMs(spec) {
  const m = /^(\d+)([smhd])$/.exec(spec);
  if (!m) throw new Error(`bad bucket spec ${spec}`);
  return Number(m[1]) * { s: SEC, m: MIN, h: HOUR, d: DAY }[m[2]];
}

// ---------------------------------------------------------------- bodies

// readings: [{sensor, metric, ts, value}] (ts a string or epoch ms)
const norm = (r) => ({ ...r, ts: typeof r.ts === 'number' ? iso(r.ts) : r.ts });

function jsonBody(readings) {
  return JSON.stringify({ observations: readings.map(norm) });
}

function ndjsonBody(readings) {
  return readings.map((r) => JSON.stringify(norm(r))).join('\n') + '\n';
}

function csvBody(readings) {
  const lines = ['sensor,metric,ts,value'];
  for (const r of readings.map(norm)) lines.push(`${r.sensor},${r.metric},${r.ts},${r.value}`);
  return lines.join('\n') + '\n';
}

const CT = { json: 'application/json', ndjson: 'application/x-ndjson', csv: 'text/csv' };

function bodyFor(format, readings) {
  if (format === 'json') return jsonBody(readings);
  if (format === 'ndjson') return ndjsonBody(readings);
  if (format === 'csv') return csvBody(readings);
  throw new Error(`unknown format ${format}`);
}

// POST /api/v1/observations; `body` is either an array of readings (encoded as `format`) or a raw string.
async function postObs(d, token, body, { format = 'json', contentType, signal } = {}) {
  const raw = typeof body === 'string' || Buffer.isBuffer(body) ? body : bodyFor(format, body);
  const headers = { 'content-type': contentType || CT[format] };
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(d.url + '/api/v1/observations', { method: 'POST', headers, body: raw, signal });
  const text = await res.text();
  let json;
  if (/json/i.test(res.headers.get('content-type') || '') && text.length) {
    try { json = JSON.parse(text); } catch { /* not JSON */ }
  }
  const out = { status: res.status, headers: res.headers, contentType: res.headers.get('content-type') || '', text, json };
  h.openapi.assertConforms('POST', '/api/v1/observations', out);
  return out;
}

// Asserts a 200 ingestion answer and returns it.
function assertIngest(res, { accepted, duplicates, rejected } = {}, msg = '') {
  const b = h.assertJson(res, 200);
  assert.equal(typeof b.accepted, 'number', `accepted is a number: ${res.text.slice(0, 300)}`);
  assert.equal(typeof b.duplicates, 'number', `duplicates is a number: ${res.text.slice(0, 300)}`);
  assert.ok(Array.isArray(b.rejected), `rejected[] present: ${res.text.slice(0, 300)}`);
  if (accepted !== undefined) assert.equal(b.accepted, accepted, `${msg} accepted: ${res.text.slice(0, 600)}`);
  if (duplicates !== undefined) assert.equal(b.duplicates, duplicates, `${msg} duplicates: ${res.text.slice(0, 600)}`);
  if (rejected !== undefined) {
    assert.deepEqual(b.rejected.map((x) => x.index), rejected, `${msg} rejected indexes: ${res.text.slice(0, 1200)}`);
  }
  for (const x of b.rejected) {
    assert.equal(typeof x.error, 'string', `rejected[].error is a string: ${JSON.stringify(x)}`);
    assert.ok(x.error.length > 0, 'rejected[].error not empty');
    assert.equal(typeof x.pointer, 'string', `rejected[].pointer is a string: ${JSON.stringify(x)}`);
  }
  return b;
}

// Polls until the rollup compactor has folded every pending partial aggregate into the rollups
// (migrations/0004: the table rollup_delta is then empty), instead of sleeping and hoping it ran.
// `db` is the test's database (ctx.db); fails with a clear message at the deadline.
async function rollupsFolded(db, { timeoutMs = 10000, what = '' } = {}) {
  let n;
  await h.pollUntil(() => {
    n = h.psql('SELECT count(*) FROM rollup_delta', db).trim();
    return n === '0';
  }, { timeoutMs, intervalMs: 100, what: `the rollup compactor to fold every pending delta${what ? ' ' + what : ''} (rollup_delta still has ${n} rows)` })
    .catch((e) => { throw new Error(`${e.message}; rollup_delta rows left: ${n}`); });
}

// ---------------------------------------------------------------- reading back

async function getJson(d, token, urlPath, status = 200) {
  const res = await h.request(d, 'GET', urlPath, { token });
  return h.assertJson(res, status);
}

function seriesPath(sensor, params = {}) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null) q.set(k, typeof v === 'number' && k !== 'limit' ? iso(v) : String(v));
  }
  const qs = q.toString();
  return `/api/v1/sensors/${encodeURIComponent(sensor)}/series${qs ? '?' + qs : ''}`;
}

// opts.retry503: retry that many times on 503 + Retry-After (a client's normal reaction to it).
async function series(d, token, sensor, params, opts = {}) {
  let res;
  for (let i = 0; ; i++) {
    res = await h.request(d, 'GET', seriesPath(sensor, params), { token });
    if (res.status !== 503 || !res.headers.get('retry-after') || i >= (opts.retry503 || 0)) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const b = h.assertJson(res, 200);
  assert.ok(Array.isArray(b.points), `points[]: ${res.text.slice(0, 300)}`);
  for (const p of b.points) {
    assert.ok(Array.isArray(p) && p.length === 2, `point is [ts, value]: ${JSON.stringify(p)}`);
    assert.match(p[0], h.TIME_RE, `point time is RFC 3339 UTC with ms: ${p[0]}`);
    assert.equal(typeof p[1], 'number', `point value is a number: ${JSON.stringify(p)}`);
  }
  return b;
}

// Every raw point of (sensor, metric) in [from, to), walking forward with `from` past the last point
// (raw points are oldest first, at most 10000 per request).
async function rawAll(d, token, sensor, { metric, from, to }, opts = {}) {
  const out = [];
  let f = from;
  for (let i = 0; i < 1000; i++) {
    const b = await series(d, token, sensor, { metric, from: f, to, limit: 10000 }, opts);
    out.push(...b.points);
    if (b.points.length < 10000) return out;
    f = Date.parse(b.points[b.points.length - 1][0]) + 1;
  }
  throw new Error('rawAll did not terminate');
}

// ---------------------------------------------------------------- expected answers

// readings: [{t (epoch ms), value}] for one (sensor, metric). Returns [[iso, value]] for [from, to).
function expectedBuckets(readings, { from, to, bucket, agg }) {
  const w = bucketMs(bucket);
  const groups = new Map();
  for (const r of readings) {
    if (r.t < from || r.t >= to) continue;
    const k = Math.floor(r.t / w) * w;
    if (!groups.has(k)) groups.set(k, []);
    groups.get(k).push(r);
  }
  const keys = [...groups.keys()].sort((a, b) => a - b);
  return keys.map((k) => {
    const g = groups.get(k);
    const vals = g.map((r) => r.value);
    let v;
    switch (agg) {
      case 'avg': v = vals.reduce((a, x) => a + x, 0) / vals.length; break;
      case 'sum': v = vals.reduce((a, x) => a + x, 0); break;
      case 'min': v = Math.min(...vals); break;
      case 'max': v = Math.max(...vals); break;
      case 'count': v = vals.length; break;
      case 'last': v = g.reduce((a, r) => (r.t > a.t ? r : a)).value; break;
      default: throw new Error(`agg ${agg}`);
    }
    return [iso(k), v];
  });
}

function close(a, b) {
  return Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));
}

// Compares series points to expected ones; reports the first few differences.
function assertPoints(got, want, what) {
  const diffs = [];
  const n = Math.max(got.length, want.length);
  for (let i = 0; i < n && diffs.length < 5; i++) {
    const g = got[i];
    const w = want[i];
    if (!g || !w || g[0] !== w[0] || !close(g[1], w[1])) diffs.push(`#${i}: got ${JSON.stringify(g)}, want ${JSON.stringify(w)}`);
  }
  assert.ok(diffs.length === 0 && got.length === want.length,
    `${what}: ${got.length} points, want ${want.length}; first differences:\n  ${diffs.join('\n  ')}`);
}

// ---------------------------------------------------------------- fixtures

async function makeZone(d, id, lon, lat, size = 0.02) {
  const res = await h.request(d, 'POST', '/api/v1/zones', {
    token: d.bootstrapToken, body: h.zoneBody(id, { boundary: h.polygon(lon, lat, size) }),
  });
  h.assertStatus(res, 201, `create zone ${id}`);
  return res.json;
}

async function makeSensor(d, id, extra = {}) {
  const res = await h.request(d, 'POST', '/api/v1/sensors', { token: d.bootstrapToken, body: h.sensorBody(id, extra) });
  h.assertStatus(res, 201, `create sensor ${id}`);
  return res.json;
}

// Runs `n` async workers until each returns false (or throws); collects their errors.
async function parallel(n, worker) {
  return Promise.all(Array.from({ length: n }, (_, i) => worker(i)));
}

module.exports = {
  rollupsFolded,
  rng, SEC, MIN, HOUR, DAY, iso, isoOffset, bucketMs,
  jsonBody, ndjsonBody, csvBody, bodyFor, CT, postObs, assertIngest,
  getJson, seriesPath, series, rawAll, expectedBuckets, close, assertPoints,
  makeZone, makeSensor, parallel,
};
