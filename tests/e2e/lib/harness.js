'use strict';
// End-to-end harness for maeuld: throwaway databases, daemon processes, HTTP helpers.
//
// Runs inside `pg_virtualenv -v 15` (PGHOST/PGPORT/PGUSER/PGPASSWORD point at a throwaway
// PostgreSQL superuser with PostGIS available). Every test file creates its own database
// and its own daemon, so files can run in parallel.

const { spawn, execFileSync } = require('node:child_process');
const https = require('node:https');
const path = require('node:path');
const fs = require('node:fs');
const crypto = require('node:crypto');
const net = require('node:net');
const assert = require('node:assert/strict');
const openapi = require('./openapi');

const ROOT = path.resolve(__dirname, '..', '..', '..');
const BIN = process.env.MAEUL_BIN || path.join(ROOT, 'build', 'maeuld');
const CONFIG = process.env.MAEUL_CONFIG || path.join(ROOT, 'config', 'maeul.example.toml');

const TIME_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const JSON_CT_RE = /^application\/json(\s*;\s*charset=utf-8)?$/i;
const PROBLEM_CT_RE = /^application\/problem\+json(\s*;\s*charset=utf-8)?$/i;
const PROBLEM_TYPE_PREFIX = 'https://maeul.city/problems/';

// ---------------------------------------------------------------- processes

const children = new Set();
function killAllChildren() {
  for (const c of children) {
    try { c.kill('SIGKILL'); } catch { /* already gone */ }
  }
}
process.on('exit', killAllChildren);
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => { killAllChildren(); process.exit(130); });
}

function requirePg() {
  for (const k of ['PGHOST', 'PGPORT', 'PGUSER']) {
    if (!process.env[k]) {
      throw new Error(`${k} is not set: run the suite inside pg_virtualenv (pg_virtualenv -v 15 node --test tests/e2e/)`);
    }
  }
}

function requireBinary() {
  if (!fs.existsSync(BIN)) throw new Error(`maeuld binary not found at ${BIN} (set MAEUL_BIN)`);
  if (!fs.existsSync(CONFIG)) throw new Error(`config not found at ${CONFIG} (set MAEUL_CONFIG)`);
}

// ---------------------------------------------------------------- databases

function psql(sql, db = 'postgres') {
  requirePg();
  return execFileSync('psql', ['-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1', '-d', db, '-c', sql], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

function createDatabase(label) {
  const safe = String(label).toLowerCase().replace(/[^a-z0-9_]/g, '_').slice(0, 20);
  const name = `maeul_e2e_${safe}_${process.pid}_${crypto.randomBytes(3).toString('hex')}`;
  psql(`CREATE DATABASE ${name}`);
  return name;
}

// The webhook secret key of a database's daemons (created by maeuld at its first start; kept across
// restarts against the same database, removed with it).
function keyFileOf(dbName) {
  return path.join(require('node:os').tmpdir(), 'maeul-e2e-keys', `${dbName}.key`);
}

// The welfare vault's key file of a test database (privacy.key_file), made here with mode 0600 the
// way scripts/demo makes it: maeuld never creates it.
function privacyKeyOf(dbName) {
  const file = path.join(require('node:os').tmpdir(), 'maeul-e2e-keys', `${dbName}.privacy.key`);
  if (!fs.existsSync(file)) {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    fs.writeFileSync(file, crypto.randomBytes(32).toString('hex') + '\n', { mode: 0o600, flag: 'wx' });
  }
  return file;
}

function dropDatabase(name) {
  if (!name) return;
  fs.rmSync(keyFileOf(name), { force: true });
  fs.rmSync(path.join(require('node:os').tmpdir(), 'maeul-e2e-keys', `${name}.privacy.key`), { force: true });
  try {
    psql(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  } catch (e) {
    process.stderr.write(`warning: could not drop ${name}: ${e.message}\n`);
  }
}

function dbUrl(dbName, { port, host } = {}) {
  requirePg();
  const user = encodeURIComponent(process.env.PGUSER);
  const pw = process.env.PGPASSWORD ? ':' + encodeURIComponent(process.env.PGPASSWORD) : '';
  let h = host || process.env.PGHOST || 'localhost';
  const p = port || process.env.PGPORT || '5432';
  if (h.startsWith('/')) {
    return `postgresql://${user}${pw}@/${dbName}?host=${encodeURIComponent(h)}&port=${p}`;
  }
  return `postgresql://${user}${pw}@${h}:${p}/${dbName}`;
}

// A TCP port on 127.0.0.1 that nothing listens on (bound then released).
async function closedPort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function randomToken() {
  return 'boot-' + crypto.randomBytes(24).toString('hex');
}

// Environment for a daemon / CLI run: only our MAEUL_* settings (anything inherited is dropped).
function daemonEnv(dbName, extra = {}) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('MAEUL_')) env[k] = v;
  }
  Object.assign(env, {
    MAEUL_DB_URL: dbName ? dbUrl(dbName) : undefined,
    MAEUL_WEBHOOKS_SECRET_KEY_FILE: dbName ? keyFileOf(dbName) : undefined,
    MAEUL_PRIVACY_KEY_FILE: dbName ? privacyKeyOf(dbName) : undefined,
    MAEUL_HTTP_LISTEN: '127.0.0.1:0',
    MAEUL_BOOTSTRAP_TOKEN: randomToken(),
    MAEUL_LOG_FORMAT: 'json',
    // Tests fire requests far faster than a person or a gateway; the limit has tests of its own.
    MAEUL_LIMITS_REQUESTS_PER_S: '0',
  }, extra);
  for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];
  return env;
}

class Daemon {
  // wrap: a command and arguments maeuld runs under, e.g. ['prlimit', '--nofile=200'] (it must exec
  // maeuld in its own process, so that signals reach it).
  constructor({ env, args, wrap }) {
    this.env = env;
    this.args = args;
    this.wrap = wrap;
    this.bootstrapToken = env.MAEUL_BOOTSTRAP_TOKEN;
    this.stderr = '';
    this.stdout = '';
    this.exitCode = undefined;
    this.exitSignal = undefined;
    this.port = undefined;
    this.host = undefined;
    this.scheme = undefined; // 'https' when started with http.tls_cert and http.tls_key
    this.tlsCa = undefined;  // PEM of the CA request() trusts for an https daemon (set by the test)
  }

  get stderrLines() {
    return this.stderr.split('\n').filter((l) => l.trim() !== '');
  }

  get url() {
    return `${this.scheme || 'http'}://127.0.0.1:${this.port}`;
  }

  start(timeoutMs = 30000) {
    requireBinary();
    const child = this.wrap
      ? spawn(this.wrap[0], [...this.wrap.slice(1), BIN, ...this.args], { env: this.env, stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn(BIN, this.args, { env: this.env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    this.pid = child.pid;
    children.add(child);
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        children.delete(child);
        this.exitCode = code;
        this.exitSignal = signal;
        resolve({ code, signal });
      });
    });
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (d) => { this.stdout += d; });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`maeuld did not log "listening on http://" within ${timeoutMs} ms; stderr:\n${this.stderr}`));
      }, timeoutMs);
      child.stderr.on('data', (d) => {
        this.stderr += d;
        if (this.port === undefined) {
          const m = /listening on (https?):\/\/(\[[^\]]+\]|[^\s:"\/]+):(\d+)/.exec(this.stderr);
          if (m) {
            this.scheme = m[1];
            this.host = m[2];
            this.port = Number(m[3]);
            clearTimeout(timer);
            resolve(this);
          }
        }
      });
      child.once('error', (e) => { clearTimeout(timer); reject(e); });
      this.exited.then(({ code, signal }) => {
        clearTimeout(timer);
        if (this.port === undefined) {
          reject(new Error(`maeuld exited early (code ${code}, signal ${signal}); stderr:\n${this.stderr}`));
        }
      });
    });
  }

  // SIGTERM and wait for the exit; returns the exit code (null if killed by a signal).
  async stop(timeoutMs = 15000) {
    if (!this.child) return null;
    if (this.exitCode === undefined && this.exitSignal === undefined) {
      this.child.kill('SIGTERM');
    }
    const res = await withTimeout(this.exited, timeoutMs, 'maeuld did not exit after SIGTERM').catch((e) => {
      this.child.kill('SIGKILL');
      throw e;
    });
    return res.code;
  }
}

async function startDaemon({ db, env = {}, args, wrap } = {}) {
  const fullEnv = daemonEnv(db, env);
  const d = new Daemon({ env: fullEnv, args: args || ['serve', '--config', CONFIG], wrap });
  await d.start();
  return d;
}

// Runs maeuld with arguments to completion. Resolves {code, signal, stdout, stderr, elapsedMs}.
function runMaeuld(args, env, timeoutMs = 30000) {
  requireBinary();
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const child = spawn(BIN, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    let timedOut = false;
    const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, timeoutMs);
    child.once('error', (e) => { clearTimeout(timer); children.delete(child); reject(e); });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      children.delete(child);
      resolve({ code, signal, stdout, stderr, elapsedMs: Date.now() - t0, timedOut });
    });
  });
}

// ---------------------------------------------------------------- timing helpers

function withTimeout(promise, ms, msg) {
  let timer;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`${msg} (after ${ms} ms)`)), ms); }),
  ]);
}

async function pollUntil(fn, { timeoutMs = 5000, intervalMs = 50, what = 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    last = await fn();
    if (last) return last;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

// ---------------------------------------------------------------- HTTP

// request(d, method, path, {token, body, rawBody, headers}) → {status, headers, contentType, text, json}
// Every response is checked against docs/openapi.yaml (lib/openapi.js): a status the document does not
// list for the route, or a body that does not match its schema, fails the test that made the request.
async function request(d, method, urlPath, opts = {}) {
  const headers = { ...(opts.headers || {}) };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  let body;
  if (opts.rawBody !== undefined) {
    body = opts.rawBody;
  } else if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    if (!Object.keys(headers).some((k) => k.toLowerCase() === 'content-type')) {
      headers['content-type'] = 'application/json';
    }
  }
  const res = d.scheme === 'https'
    ? await httpsFetch(d, method, urlPath, headers, body)
    : await fetch(d.url + urlPath, { method, headers, body, redirect: 'manual' });
  const buf = Buffer.from(await res.arrayBuffer());
  const text = buf.toString('utf8');
  const contentType = res.headers.get('content-type') || '';
  let json;
  if (/json/i.test(contentType) && text.length) {
    try { json = JSON.parse(text); } catch { json = undefined; }
  }
  const out = { status: res.status, headers: res.headers, contentType, text, json, bytes: buf };
  openapi.assertConforms(method, urlPath, out);
  return out;
}

// fetch() for a daemon serving HTTPS: node:https trusting d.tlsCa (fetch cannot be given a CA).
// Resolves a fetch-like {status, headers (a Headers), arrayBuffer()}.
function httpsFetch(d, method, urlPath, headers, body) {
  return new Promise((resolve, reject) => {
    const req = https.request({
      host: '127.0.0.1', port: d.port, path: urlPath, method, headers, ca: d.tlsCa, agent: false,
    }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const hs = new Headers();
        for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) hs.append(res.rawHeaders[i], res.rawHeaders[i + 1]);
        const buf = Buffer.concat(chunks);
        resolve({ status: res.statusCode, headers: hs, arrayBuffer: async () => buf });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

function describeRes(res) {
  return `${res.status} ${res.contentType} ${res.text.slice(0, 600)}`;
}

function assertStatus(res, status, msg) {
  assert.equal(res.status, status, `${msg ? msg + ': ' : ''}expected ${status}, got ${describeRes(res)}`);
}

function assertJson(res, status) {
  assertStatus(res, status);
  assert.match(res.contentType, JSON_CT_RE, `content-type of a JSON response: ${res.contentType}`);
  assert.ok(res.json !== undefined, `body is JSON: ${res.text.slice(0, 300)}`);
  return res.json;
}

const LEAK_RE = /\bSELECT\b[\s\S]*\bFROM\b|\bINSERT INTO\b|SQLSTATE|\bERROR: |duplicate key value|violates .* constraint|std::|terminate called|what\(\)|pqxx/i;

function assertProblem(res, status, slug) {
  assertStatus(res, status);
  assert.match(res.contentType, PROBLEM_CT_RE, `problem content-type, got "${res.contentType}" for ${describeRes(res)}`);
  const b = res.json;
  assert.ok(b && typeof b === 'object', `problem body is a JSON object: ${res.text.slice(0, 300)}`);
  assert.equal(b.status, status, 'problem.status');
  assert.equal(typeof b.title, 'string', 'problem.title is a string');
  assert.equal(typeof b.detail, 'string', 'problem.detail is a string');
  assert.equal(typeof b.type, 'string', 'problem.type is a string');
  if (slug) assert.equal(b.type, PROBLEM_TYPE_PREFIX + slug, 'problem.type');
  assert.doesNotMatch(res.text, LEAK_RE, 'no SQL or stack trace in errors');
  return b;
}

// 422 whose errors[] has a pointer satisfying `want` (exact string, or prefix when it ends with '*').
function assertInvalid(res, want) {
  const b = assertProblem(res, 422, 'invalid');
  assert.ok(Array.isArray(b.errors) && b.errors.length > 0, `errors[] present: ${res.text}`);
  for (const e of b.errors) {
    assert.equal(typeof e.detail, 'string', `errors[].detail is a string: ${JSON.stringify(e)}`);
  }
  if (want !== undefined) {
    const ptrs = b.errors.map((e) => e.pointer);
    const ok = ptrs.some((p) => typeof p === 'string' && (want.endsWith('*') ? p.startsWith(want.slice(0, -1)) : p === want));
    assert.ok(ok, `expected an error pointer ${want}, got ${JSON.stringify(b.errors)}`);
  }
  return b;
}

// 422 for a query parameter: errors[].parameter === name
function assertBadParam(res, name) {
  const b = assertProblem(res, 422, 'invalid');
  assert.ok(Array.isArray(b.errors) && b.errors.some((e) => e.parameter === name),
    `expected errors[].parameter "${name}", got ${res.text}`);
  return b;
}

function assertTimes(obj, keys = ['created_at', 'updated_at']) {
  for (const k of keys) {
    assert.match(String(obj[k]), TIME_RE, `${k} is RFC 3339 UTC with milliseconds: ${obj[k]}`);
  }
}

// Minimal HTTP/1.1 client over a raw socket, for keep-alive and misbehaving-client tests.
class RawConn {
  static connect(port, host = '127.0.0.1') {
    return new Promise((resolve, reject) => {
      const sock = net.connect({ port, host });
      sock.once('error', reject);
      sock.once('connect', () => {
        sock.removeListener('error', reject);
        resolve(new RawConn(sock));
      });
    });
  }

  constructor(sock) {
    this.sock = sock;
    this.buf = Buffer.alloc(0);
    this.closed = false;
    this.error = null;
    this.waiters = [];
    sock.on('data', (d) => { this.buf = Buffer.concat([this.buf, d]); this._wake(); });
    sock.on('error', (e) => { this.error = e; });
    sock.on('close', () => { this.closed = true; this.closedAt = Date.now(); this._wake(); });
  }

  _wake() {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  _changed() {
    return new Promise((r) => this.waiters.push(r));
  }

  write(data) {
    return new Promise((resolve, reject) => {
      this.sock.write(data, (e) => (e ? reject(e) : resolve()));
    });
  }

  // Parses one response from the buffer; null if incomplete.
  _tryParse() {
    const end = this.buf.indexOf('\r\n\r\n');
    if (end < 0) return null;
    const head = this.buf.subarray(0, end).toString('latin1');
    const lines = head.split('\r\n');
    const m = /^HTTP\/1\.[01] (\d{3})(?: (.*))?$/.exec(lines[0]);
    if (!m) throw new Error(`bad status line: ${JSON.stringify(lines[0])}`);
    const headers = {};
    for (const l of lines.slice(1)) {
      const i = l.indexOf(':');
      if (i > 0) {
        const k = l.slice(0, i).trim().toLowerCase();
        const v = l.slice(i + 1).trim();
        headers[k] = headers[k] !== undefined ? headers[k] + ', ' + v : v;
      }
    }
    let rest = this.buf.subarray(end + 4);
    let body;
    let consumed;
    if (/chunked/i.test(headers['transfer-encoding'] || '')) {
      const parts = [];
      let off = 0;
      for (;;) {
        const le = rest.indexOf('\r\n', off);
        if (le < 0) return null;
        const size = parseInt(rest.subarray(off, le).toString('latin1'), 16);
        if (Number.isNaN(size)) throw new Error('bad chunk size');
        if (size === 0) {
          const te = rest.indexOf('\r\n\r\n', le);
          // trailers are not expected; accept plain CRLF after the last chunk
          const fin = rest.indexOf('\r\n', le + 2);
          if (fin < 0) return null;
          consumed = (te === le ? te + 4 : fin + 2);
          break;
        }
        if (rest.length < le + 2 + size + 2) return null;
        parts.push(rest.subarray(le + 2, le + 2 + size));
        off = le + 2 + size + 2;
      }
      body = Buffer.concat(parts);
    } else if (headers['content-length'] !== undefined) {
      const n = Number(headers['content-length']);
      if (rest.length < n) return null;
      body = rest.subarray(0, n);
      consumed = n;
    } else if (m[1][0] === '1' || m[1] === '204' || m[1] === '304') {
      body = Buffer.alloc(0);
      consumed = 0;
    } else {
      if (!this.closed) return null; // read until close
      body = rest;
      consumed = rest.length;
    }
    this.buf = rest.subarray(consumed);
    const text = body.toString('utf8');
    let json;
    try { json = JSON.parse(text); } catch { /* not JSON */ }
    return { status: Number(m[1]), headers, text, json };
  }

  async readResponse(timeoutMs = 5000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const r = this._tryParse();
      if (r) return r;
      if (this.closed) {
        throw new Error(`connection closed before a whole response arrived (${this.buf.length} bytes buffered)`);
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no whole response within ${timeoutMs} ms`);
      await Promise.race([this._changed(), new Promise((r) => setTimeout(r, left))]);
    }
  }

  // Resolves true when the peer closes the connection within timeoutMs, false otherwise.
  async waitClose(timeoutMs) {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await Promise.race([this._changed(), new Promise((r) => setTimeout(r, left))]);
    }
    return true;
  }

  destroy() {
    this.sock.destroy();
  }
}

// ---------------------------------------------------------------- fixtures

// A closed square ring around (lon, lat), `size` degrees on a side.
function squareRing(lon, lat, size) {
  return [[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]];
}

function polygon(lon, lat, size) {
  return { type: 'Polygon', coordinates: [squareRing(lon, lat, size)] };
}

function zoneBody(id, extra = {}) {
  return {
    id,
    name: { ko: `구역 ${id}`, en: `Zone ${id}` },
    boundary: polygon(128.50, 38.10, 0.02),
    population: 1000,
    households: 400,
    attributes: {},
    ...extra,
  };
}

function point(lon, lat) {
  return { type: 'Point', coordinates: [lon, lat] };
}

function sensorBody(id, extra = {}) {
  return {
    id,
    domain: 'disaster',
    kind: 'water_level',
    location: point(128.59, 38.20),
    metrics: [{ name: 'level', unit: 'm' }],
    attributes: {},
    ...extra,
  };
}

function facilityBody(id, extra = {}) {
  return {
    id,
    category: 'clinic',
    name: { ko: `시설 ${id}`, en: `Facility ${id}` },
    location: point(128.59, 38.20),
    attributes: {},
    ...extra,
  };
}

async function createToken(d, role, name, extra = {}) {
  const res = await request(d, 'POST', '/api/v1/tokens', {
    token: d.bootstrapToken,
    body: { name, role, ...extra },
  });
  assertStatus(res, 201, `create ${role} token`);
  assert.equal(typeof res.json.token, 'string', 'token string returned');
  assert.ok(res.json.id !== undefined, 'token id returned');
  return res.json;
}

// Walks a paginated list; returns every item, asserting the page shape.
async function listAll(d, urlPath, token, limit = 100) {
  const items = [];
  let cursor = null;
  const sep = urlPath.includes('?') ? '&' : '?';
  for (let pages = 0; pages < 1000; pages++) {
    const q = `${urlPath}${sep}limit=${limit}` + (cursor ? `&cursor=${encodeURIComponent(cursor)}` : '');
    const res = await request(d, 'GET', q, { token });
    const b = assertJson(res, 200);
    assert.ok(Array.isArray(b.items), 'items[]');
    assert.ok('next_cursor' in b, 'next_cursor present');
    items.push(...b.items);
    if (b.next_cursor === null) return items;
    assert.equal(typeof b.next_cursor, 'string');
    cursor = b.next_cursor;
  }
  throw new Error('pagination did not terminate');
}

// Prometheus text exposition → [{name, labels, value}]
function parseProm(text) {
  const out = [];
  for (const line of text.split('\n')) {
    if (!line.trim() || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+\S+)?$/.exec(line.trim());
    if (!m) throw new Error(`not a Prometheus sample line: ${JSON.stringify(line)}`);
    const labels = {};
    if (m[3]) {
      const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
      let lm;
      while ((lm = re.exec(m[3]))) labels[lm[1]] = lm[2];
    }
    const v = m[4] === '+Inf' ? Infinity : m[4] === '-Inf' ? -Infinity : Number(m[4]);
    out.push({ name: m[1], labels, value: v });
  }
  return out;
}

// Registers before/after hooks in the current suite: a fresh database and a daemon on it.
// Returns a context whose .d (daemon) and .db are set once `before` has run. `after` sends
// SIGTERM and asserts exit code 0, then drops the database.
function useDaemon(label, env = {}) {
  const { before, after } = require('node:test');
  const ctx = { db: undefined, d: undefined };
  before(async () => {
    ctx.db = createDatabase(label);
    ctx.d = await startDaemon({ db: ctx.db, env });
  });
  after(async () => {
    try {
      if (ctx.d) {
        const code = await ctx.d.stop();
        assert.equal(code, 0, `maeuld exit code after SIGTERM (signal ${ctx.d.exitSignal}); stderr tail:\n${ctx.d.stderr.slice(-2000)}`);
      }
    } finally {
      dropDatabase(ctx.db);
    }
  });
  return ctx;
}

module.exports = {
  useDaemon,
  ROOT, BIN, CONFIG, TIME_RE, JSON_CT_RE, PROBLEM_CT_RE, PROBLEM_TYPE_PREFIX,
  psql, createDatabase, dropDatabase, keyFileOf, privacyKeyOf, dbUrl, closedPort, randomToken, daemonEnv,
  Daemon, startDaemon, runMaeuld, withTimeout, pollUntil, openapi,
  request, describeRes, assertStatus, assertJson, assertProblem, assertInvalid, assertBadParam, assertTimes,
  RawConn, squareRing, polygon, point, zoneBody, sensorBody, facilityBody, createToken, listAll, parseProm,
};
