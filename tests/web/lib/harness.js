'use strict';
// Browser tests of the dashboard: a private database and maeuld (through tests/e2e/lib/harness.js, used
// read-only), the Sokcho demo world, tokens, and Debian's chromium driven by playwright-core.
//
// Needs PGHOST/PGPORT/PGUSER of a throwaway PostgreSQL superuser (scripts/test sets them), build/maeuld
// (MAEUL_BIN), web/dist (scripts/build), /usr/bin/chromium (CHROMIUM to override) and `npm ci` in tests/web.

const path = require('node:path');
const fs = require('node:fs');
const { execFile } = require('node:child_process');
const { promisify } = require('node:util');
const e2e = require('../../e2e/lib/harness.js');

const ROOT = e2e.ROOT;
const WEB_ROOT = process.env.MAEUL_WEB_ROOT || path.join(ROOT, 'web', 'dist');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const ARTIFACTS = path.join(ROOT, 'test-artifacts', 'web');

function requireBrowser() {
  let pw;
  try {
    pw = require('playwright-core');
  } catch {
    throw new Error('playwright-core is not installed: run `npm ci` in tests/web (scripts/test does)');
  }
  if (!fs.existsSync(CHROMIUM)) throw new Error(`no chromium at ${CHROMIUM}: apt-get install chromium (scripts/test does)`);
  if (!fs.existsSync(path.join(WEB_ROOT, 'index.html'))) {
    throw new Error(`the dashboard is not built (${WEB_ROOT}/index.html): run scripts/build`);
  }
  return pw;
}

// A database, maeuld on it (on `port`, or a free one, with `env` added: e.g. MAEUL_AUTH_SESSION_IDLE_S), the
// demo world (unless `world: false`), an operator token. The world comes without its residents and welfare
// accounts (config/demo/welfare.json) unless `residents: true`: the welfare screens' tests register their own.
async function startCity({ label = 'web', port, env: extra = {}, world = true, residents = false } = {}) {
  const db = e2e.createDatabase(label);
  const env = { MAEUL_HTTP_WEB_ROOT: WEB_ROOT, ...extra };
  if (port) env.MAEUL_HTTP_LISTEN = `127.0.0.1:${port}`;
  const d = await e2e.startDaemon({ db, env });
  if (world) {
    const args = residents ? [] : ['--welfare', 'none'];
    await promisify(execFile)(process.execPath, [path.join(ROOT, 'scripts', 'lib', 'load-world.mjs'), '--url', d.url, ...args], {
      env: { ...process.env, MAEUL_TOKEN: d.bootstrapToken },
      timeout: 120000,
    });
  }
  const op = await e2e.createToken(d, 'operator', 'web-test-operator');
  return { db, d, operatorToken: op.token, adminToken: d.bootstrapToken };
}

async function stopCity(city) {
  if (!city) return;
  try {
    if (city.d) await city.d.stop();
  } finally {
    e2e.dropDatabase(city.db);
  }
}

async function launch() {
  const { chromium } = requireBrowser();
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu', '--autoplay-policy=no-user-gesture-required'],
  });
}

// A page whose console errors and uncaught exceptions are collected (tests assert there are none).
async function newPage(browser, { width = 1366, height = 768 } = {}) {
  const context = await browser.newContext({ viewport: { width, height }, locale: 'ko-KR', timezoneId: 'Asia/Seoul' });
  const page = await context.newPage();
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    // Failed requests are the server's answers (404 while a route is missing, a refused WebSocket while it is
    // down): the page is expected to cope with them. Anything else logged as an error is a bug.
    if (m.type() === 'error' && !/Failed to load resource|WebSocket connection to/.test(m.text())) page.errors.push(`console: ${m.text()}`);
  });
  return page;
}

// Signs in with an API token (the kiosk display form, /login?with=token).
async function signIn(page, baseUrl, token) {
  await page.goto(`${baseUrl}/login?with=token`);
  await page.fill('input[name="token"]', token);
  await page.click('#token-form button[type="submit"]');
  await page.waitForURL((u) => !u.pathname.startsWith('/login'), { timeout: 10000 });
}

// Signs in with a username and password (the default form); the session is the HttpOnly cookie.
async function signInWithPassword(page, baseUrl, username, password) {
  await page.goto(`${baseUrl}/login`);
  await page.fill('input[name="username"]', username);
  await page.fill('input[name="password"]', password);
  await page.click('#password-form button[type="submit"]');
  await page.waitForURL((u) => !u.pathname.startsWith('/login'), { timeout: 10000 });
}

// Creates a user account through the API as the admin; resolves to the account (201).
async function createUser(city, { username, role, password = PASSWORD, display_name: displayName, zones, domains }) {
  const body = { username, role, password, display_name: displayName || `Test ${username}` };
  if (zones) body.zones = zones;
  if (domains) body.domains = domains;
  const res = await api(city, 'POST', '/api/v1/users', body);
  if (res.status !== 201) throw new Error(`POST /api/v1/users ${username}: expected 201, got ${res.status} ${res.text}`);
  return res.json;
}
const PASSWORD = 'correct horse battery staple';

async function shot(page, name) {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path: file });
  return file;
}

// Posts readings as the admin (the device role would do as well).
async function postReadings(city, observations) {
  const res = await api(city, 'POST', '/api/v1/observations', { observations });
  if (res.status !== 200) throw new Error(`POST /api/v1/observations: expected 200, got ${res.status} ${res.text}`);
  return res.json;
}

// A request as the admin that gives up after `timeoutMs` (a hung server fails the test, not the run).
async function api(city, method, urlPath, body, timeoutMs = 10000) {
  const headers = { authorization: `Bearer ${city.adminToken}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  let res;
  try {
    res = await fetch(city.d.url + urlPath, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (e) {
    throw new Error(`${method} ${urlPath}: no answer within ${timeoutMs} ms (${e.message})`);
  }
  const text = await res.text();
  let json;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: res.status, text, json, headers: res.headers };
}

// Nothing wider than the window (no horizontal scroll bar, no cut-off layout).
async function assertNoHorizontalOverflow(page, assert, what) {
  const o = await page.evaluate(() => ({ sw: document.documentElement.scrollWidth, w: window.innerWidth }));
  assert.ok(o.sw <= o.w, `${what}: page is ${o.sw}px wide in a ${o.w}px window`);
}

module.exports = {
  e2e, ROOT, WEB_ROOT, ARTIFACTS, PASSWORD, startCity, stopCity, launch, newPage, signIn, signInWithPassword, createUser,
  shot, postReadings, api,
  assertNoHorizontalOverflow,
};
