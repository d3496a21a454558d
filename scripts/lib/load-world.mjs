#!/usr/bin/env node
// Loads a demo world (zones, then facilities, then sensors), its budget lines and its alert rules into a running
// maeuld through its REST API.
//
//   node scripts/lib/load-world.mjs --url http://127.0.0.1:8080 --token TOKEN [--world config/demo/sokcho.json]
//        [--budget config/demo/budget.json] [--rules config/demo/rules.json] [--year YYYY] [--concurrency 8]
//
// --budget FILE: {"lines":[{"key","program","amount_krw","kpis"}]}, posted to /api/v1/budget for --year (default:
// this year in Korea) with the id CITY-YEAR-KEY. --rules FILE: {"rules":[...]}, posted to /api/v1/rules as they
// are (fixed ids) without their "about". "none" for either file skips it.
// The token may also come from the environment as MAEUL_TOKEN (keeps it out of `ps`); it needs the admin role.
// Idempotent: an object that exists already (409) is counted as "kept" and left as it is.
// Any other failure prints the server's problem+json body and exits 1 (2 when the server cannot be reached).
// Node 20, no packages.

import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

function usage(msg) {
  if (msg) console.error(`load-world: ${msg}`);
  console.error('usage: node scripts/lib/load-world.mjs --url URL --token TOKEN [--world FILE] [--budget FILE|none]\n'
    + '                                   [--rules FILE|none] [--year YYYY] [--concurrency N]');
  process.exit(64);
}

function parseArgs(argv) {
  const opts = {
    world: resolve(root, 'config/demo/sokcho.json'),
    budget: resolve(root, 'config/demo/budget.json'),
    rules: resolve(root, 'config/demo/rules.json'),
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
      case '--budget': opts.budget = file(value()); break;
      case '--rules': opts.rules = file(value()); break;
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

async function post(opts, path, body) {
  let res;
  try {
    res = await fetch(`${opts.url}${path}`, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${opts.token}`,
        'Content-Type': 'application/json',
        Accept: 'application/json, application/problem+json',
      },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(30000),
    });
  } catch (err) {
    const cause = err.cause ? ` (${err.cause.code || err.cause.message})` : '';
    throw new Failure(`cannot reach ${opts.url}: ${err.message}${cause}`, 2);
  }
  const text = await res.text();
  if (res.status === 201 || res.status === 200) return 'created';
  if (res.status === 409) return 'kept';
  let shown = text;
  try { shown = JSON.stringify(JSON.parse(text), null, 2); } catch { /* not JSON: show as is */ }
  throw new Failure(`POST ${path} ${body.id}: HTTP ${res.status}\n${shown}`, 1);
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

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const world = readJson(opts.world);
  const city = world.city?.id ?? 'demo';
  const steps = [
    ['zones', '/api/v1/zones', world.zones || []],
    ['facilities', '/api/v1/facilities', world.facilities || []],
    ['sensors', '/api/v1/sensors', world.sensors || []],
  ];
  if (opts.budget) steps.push([`budget lines ${opts.year}`, '/api/v1/budget', budgetLines(readJson(opts.budget), city, opts.year)]);
  if (opts.rules) steps.push(['rules', '/api/v1/rules', ruleBodies(readJson(opts.rules))]);
  const summary = [];
  for (const [what, path, items] of steps) {
    const count = { created: 0, kept: 0 };
    await pool(items, opts.concurrency, async (item) => { count[await post(opts, path, item)]++; });
    summary.push(`${what} ${count.created} created, ${count.kept} kept`);
  }
  console.log(`world ${world.city?.id ?? opts.world} loaded: ${summary.join('; ')}`);
}

main().catch((err) => {
  console.error(`load-world: ${err.message}`);
  process.exit(err instanceof Failure ? err.code : 1);
});
