#!/usr/bin/env node
// Loads the demo bus network into a running maeuld: the GTFS feed of this directory (zipped on the fly,
// POST /api/v1/transit/gtfs), its boardings sensors (sensors.json, POST /api/v1/sensors) and its bunching
// rules (rules.json, POST /api/v1/rules).
//
//   MAEUL_TOKEN=ADMIN_TOKEN node config/demo/transit/load-transit.mjs --url http://127.0.0.1:8080 [--dir DIR] [--force]
//
// The feed is imported only when the server's routes are not already this feed's (or with --force: an import
// replaces the whole feed). Sensors and rules have fixed ids: one that exists (409) is kept as it is; a rule the
// server refuses (422: a maeuld without bunching rules) is a warning.
// Exits 0 when loaded, 3 when this maeuld has no bus operations (404 on the import route: nothing else is
// tried), 2 when it cannot be reached, 1 on any other failure (the server's problem printed). Node 20.

import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gtfsZip, feedFiles } from './zip.mjs';
import { parseCsv } from '../../../tools/sim/gtfs.mjs';

const here = dirname(fileURLToPath(import.meta.url));

function parseArgs(argv) {
  const o = { dir: here, token: process.env.MAEUL_TOKEN, force: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--url') o.url = argv[++i];
    else if (a === '--dir') o.dir = resolve(argv[++i]);
    else if (a === '--token') o.token = argv[++i];
    else if (a === '--force') o.force = true;
    else { console.error(`load-transit: unknown argument ${a}`); process.exit(64); }
  }
  if (!o.url || !o.token) { console.error('usage: MAEUL_TOKEN=TOKEN node config/demo/transit/load-transit.mjs --url URL [--dir DIR] [--force]'); process.exit(64); }
  o.url = o.url.replace(/\/+$/, '');
  return o;
}

class Failure extends Error {
  constructor(message, code) { super(message); this.code = code; }
}

async function call(o, method, path, body, contentType = 'application/json') {
  for (let attempt = 1; ; attempt++) {
    let res;
    try {
      res = await fetch(`${o.url}${path}`, {
        method,
        headers: { Authorization: `Bearer ${o.token}`, Accept: 'application/json, application/problem+json',
          ...(body === undefined ? {} : { 'Content-Type': contentType }) },
        body: body === undefined ? undefined : contentType === 'application/json' ? JSON.stringify(body) : body,
        signal: AbortSignal.timeout(120000),
      });
    } catch (err) {
      throw new Failure(`cannot reach ${o.url}: ${err.message}${err.cause ? ` (${err.cause.code || err.cause.message})` : ''}`, 2);
    }
    const text = await res.text();
    if ((res.status === 429 || res.status === 503) && attempt < 20) {
      const after = Number(res.headers.get('retry-after'));
      await new Promise((r) => setTimeout(r, Math.min(30, after > 0 ? after : 1) * 1000));
      continue;
    }
    let json = null;
    try { json = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
    return { status: res.status, json, text };
  }
}

const failed = (what, r) => new Failure(`${what}: HTTP ${r.status}\n${r.json ? JSON.stringify(r.json, null, 2) : r.text}`, 1);

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const feedRoutes = parseCsv(readFileSync(join(o.dir, 'routes.txt'), 'utf8')).map((r) => r.route_id).sort();
  const have = await call(o, 'GET', '/api/v1/transit/routes?limit=1000');
  if (have.status === 404) throw new Failure('this maeuld has no bus operations (GET /api/v1/transit/routes: 404)', 3);
  if (have.status !== 200) throw failed('GET /api/v1/transit/routes', have);
  const ids = (have.json.items || []).map((r) => r.id).sort();
  if (o.force || JSON.stringify(ids) !== JSON.stringify(feedRoutes)) {
    const zip = gtfsZip(feedFiles(o.dir));
    const r = await call(o, 'POST', '/api/v1/transit/gtfs', zip, 'application/zip');
    if (r.status === 404) throw new Failure('this maeuld has no bus operations (POST /api/v1/transit/gtfs: 404)', 3);
    if (r.status !== 200) throw failed('POST /api/v1/transit/gtfs', r);
    const errors = JSON.stringify(r.json).match(/"errors?"\s*:\s*\[\s*\{/g);
    console.log(`load-transit: imported the demo feed (${zip.length} bytes): ${JSON.stringify(r.json).slice(0, 400)}`);
    if (errors) console.log('load-transit: warning: the import reported row errors (above)');
  } else {
    console.log(`load-transit: the demo feed is there already (routes ${ids.join(', ')})`);
  }
  const counts = { created: 0, kept: 0 };
  for (const s of JSON.parse(readFileSync(join(o.dir, 'sensors.json'), 'utf8')).sensors) {
    const r = await call(o, 'POST', '/api/v1/sensors', s);
    if (r.status === 201 || r.status === 200) counts.created++;
    else if (r.status === 409) counts.kept++;
    else throw failed(`POST /api/v1/sensors ${s.id}`, r);
  }
  console.log(`load-transit: boardings sensors: ${counts.created} created, ${counts.kept} kept`);
  const rc = { created: 0, kept: 0, refused: 0 };
  for (const { about, ...rule } of JSON.parse(readFileSync(join(o.dir, 'rules.json'), 'utf8')).rules) {
    const r = await call(o, 'POST', '/api/v1/rules', rule);
    if (r.status === 201 || r.status === 200) rc.created++;
    else if (r.status === 409) rc.kept++;
    else if (r.status === 422) {
      // A maeuld whose rules do not know the kind yet: the buses run all the same.
      rc.refused++;
      console.log(`load-transit: warning: rule ${rule.id} refused (422): ${r.json?.detail || r.json?.errors?.[0]?.detail || r.text.slice(0, 200)}`);
    } else throw failed(`POST /api/v1/rules ${rule.id}`, r);
  }
  console.log(`load-transit: bunching rules: ${rc.created} created, ${rc.kept} kept${rc.refused ? `, ${rc.refused} refused` : ''}`);
}

main().catch((err) => {
  console.error(`load-transit: ${err.message}`);
  process.exit(err instanceof Failure ? err.code : 1);
});
