#!/usr/bin/env node
// Replays a real data set from ../shared/data through maeuld's HTTP ingest path: creates the
// sensors it needs, posts the readings in batches, and reports what was read, sent, accepted,
// refused, skipped (and why) and found missing. See docs/import.md.
//
//   node tools/import/maeul-import.mjs --url http://127.0.0.1:8080 --token TOKEN --dataset NAME
//        [--data-dir ../shared/data] [--limit N] [--batch 1000] [--concurrency 4] [--tz ZONE]
//        [--dry-run] [--json]
//
// The token may come from MAEUL_TOKEN instead (keeps it out of `ps`); it needs the admin role
// (sensors are created). Exit: 0 done (per-reading rejections included), 1 an HTTP error other
// than per-reading rejections, 2 the server could not be reached, 3 the data could not be read,
// 64 bad arguments. Node 20, no packages.
import { dirname, resolve, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DATASETS } from './datasets/index.mjs';
import { Client, HttpFailure, pool } from './lib/client.mjs';
import { formatReport } from './lib/report.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '..', '..');
export const DEFAULT_DATA_DIR = resolve(repoRoot, '..', 'shared', 'data');

function usage(msg) {
  if (msg) console.error(`maeul-import: ${msg}`);
  console.error(`usage: node tools/import/maeul-import.mjs --url URL --token TOKEN --dataset NAME
         [--data-dir DIR] [--limit N] [--batch N] [--concurrency N] [--tz ZONE] [--dry-run] [--json]
  --dataset      ${Object.keys(DATASETS).join(' | ')}
${Object.entries(DATASETS).map(([k, v]) => `                   ${k}: ${v.about}`).join('\n')}
  --data-dir     the shared data folder (default ${relative(process.cwd(), DEFAULT_DATA_DIR) || '.'})
  --limit N      post only the first N readings (in time order); the whole file is still parsed
  --batch N      readings per request (default 1000)
  --concurrency  requests in flight (default 4)
  --tz ZONE      ordonez-adl only: the zone its wall-clock times are read in (default Asia/Seoul)
  --dry-run      parse and report; no server needed
  --json         print the report as JSON
  token: --token or MAEUL_TOKEN (admin role)`);
  process.exit(64);
}

export function parseArgs(argv, env = process.env) {
  const opts = { dataDir: DEFAULT_DATA_DIR, batch: 1000, concurrency: 4, limit: null, dryRun: false, json: false, token: env.MAEUL_TOKEN, tz: undefined };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const eq = a.indexOf('=');
    const [key, inline] = a.startsWith('--') && eq > 0 ? [a.slice(0, eq), a.slice(eq + 1)] : [a, undefined];
    const value = () => {
      if (inline !== undefined) return inline;
      if (i + 1 >= argv.length) usage(`${key} needs a value`);
      return argv[++i];
    };
    const int = (k) => { const n = Number(value()); if (!Number.isInteger(n) || n < 1) usage(`${k} must be a positive integer`); return n; };
    switch (key) {
      case '--url': opts.url = value(); break;
      case '--token': opts.token = value(); break;
      case '--dataset': opts.dataset = value(); break;
      case '--data-dir': opts.dataDir = resolve(value()); break;
      case '--limit': opts.limit = int(key); break;
      case '--batch': opts.batch = int(key); break;
      case '--concurrency': opts.concurrency = int(key); break;
      case '--tz': opts.tz = value(); break;
      case '--dry-run': opts.dryRun = true; break;
      case '--json': opts.json = true; break;
      case '-h': case '--help': usage(); break;
      default: usage(`unknown argument ${a}`);
    }
  }
  if (!opts.dataset) usage('--dataset is required');
  if (!DATASETS[opts.dataset]) usage(`unknown data set ${opts.dataset}`);
  if (opts.tz !== undefined) {
    try { new Intl.DateTimeFormat('en', { timeZone: opts.tz }); } catch { usage(`unknown time zone ${opts.tz}`); }
  }
  if (!opts.dryRun) {
    if (!opts.url) usage('--url is required (or --dry-run)');
    if (!opts.token) usage('--token (or MAEUL_TOKEN) is required (or --dry-run)');
  }
  return opts;
}

// Parses the data set: {report, readings (time order), sensors}.
export function loadDataset(name, dataDir, opts = {}) {
  const t0 = performance.now();
  const { report, readings, sensors } = DATASETS[name].module.load(dataDir, opts);
  readings.sort((a, b) => a.t - b.t);
  report.timing.parse = performance.now() - t0;
  return { report, readings, sensors };
}

export async function run(opts, log = (s) => console.error(s)) {
  const { report, readings: all, sensors: allSensors } = loadDataset(opts.dataset, opts.dataDir, { tz: opts.tz });
  const readings = opts.limit ? all.slice(0, opts.limit) : all;
  if (opts.limit && readings.length < all.length) report.note(`--limit ${opts.limit}: posting the first ${readings.length} of ${all.length} readings`);
  const used = new Set(readings.map((r) => r.sensor));
  const sensors = allSensors.filter((s) => used.has(s.id));
  report.sensors.needed = sensors.length;
  if (opts.dryRun) return { report, code: 0 };

  const client = new Client(opts.url, opts.token);
  const server = { requests: 0, posted: 0, accepted: 0, duplicates: 0, rejected: new Map() };
  report.server = server;
  let code = 0;
  try {
    let t0 = performance.now();
    await pool(sensors, 8, async (s) => {
      const r = await client.ensureSensor(s);
      if (r.result === 'created') report.sensors.created++;
      else {
        report.sensors.existing++;
        if (r.missing && r.missing.length) report.note(`sensor ${s.id} exists without metric(s) ${r.missing.join(', ')}: their readings will be rejected`);
      }
    });
    report.timing.sensors = performance.now() - t0;

    t0 = performance.now();
    const batches = [];
    for (let i = 0; i < readings.length; i += opts.batch) batches.push(readings.slice(i, i + opts.batch));
    let done = 0;
    let lastLog = 0;
    await pool(batches, opts.concurrency, async (batch) => {
      const r = await client.postObservations(batch);
      server.requests++;
      server.posted += batch.length;
      server.accepted += r.accepted;
      server.duplicates += r.duplicates;
      for (const rej of r.rejected) {
        // group by reason: the value itself is left out ("value 15.46 is outside ..." -> "value N is outside ...")
        const reason = String(rej.error ?? 'no reason given').replace(/\bvalue -?\d[\d.eE+-]*/g, 'value N');
        const key = server.rejected.size < 50 || server.rejected.has(reason) ? reason : '(other reasons)';
        server.rejected.set(key, (server.rejected.get(key) || 0) + 1);
      }
      done += batch.length;
      const now = performance.now();
      if (!opts.quiet && now - lastLog > 5000) {
        lastLog = now;
        log(`  ${done.toLocaleString('en-US')} / ${readings.length.toLocaleString('en-US')} readings posted`);
      }
    });
    report.timing.post = performance.now() - t0;
    if (report.timing.post > 0 && server.posted) report.note(`${Math.round(server.posted / (report.timing.post / 1000)).toLocaleString('en-US')} readings/s posted`);
  } catch (err) {
    if (!(err instanceof HttpFailure)) throw err;
    report.error = err.message;
    code = err.code;
  }
  return { report, code };
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  let result;
  try {
    result = await run(opts);
  } catch (err) {
    console.error(`maeul-import: ${err.message}`);
    process.exit(3);
  }
  const { report, code } = result;
  if (opts.json) console.log(JSON.stringify({ ...report.toJSON(), error: report.error ?? null }, null, 2));
  else console.log(formatReport(report, { dryRun: opts.dryRun }));
  if (report.error) console.error(`maeul-import: stopped on an HTTP error:\n${report.error}`);
  process.exit(code);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
