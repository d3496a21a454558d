// The demo bus network's GTFS feed (config/demo/transit): generated files up to date, integrity checks pass,
// and the checks catch a broken copy; the zip the demo imports unpacks to the same files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, cpSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { validateFeed } from '../../config/demo/transit/validate-gtfs.mjs';
import { gtfsZip, feedFiles } from '../../config/demo/transit/zip.mjs';
import { readFeed } from '../../tools/sim/gtfs.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const dir = join(root, 'config/demo/transit');

test('the generated feed is up to date', () => {
  const r = spawnSync(process.execPath, [join(dir, 'generate-gtfs.mjs'), '--check'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
});

test('the feed passes its integrity checks and is the network the demo describes', () => {
  const { problems } = validateFeed(dir);
  assert.deepEqual(problems, []);
  const feed = readFeed(dir);
  assert.ok(feed.routes.size >= 3 && feed.routes.size <= 4, `${feed.routes.size} routes`);
  const zones = new Set([...feed.stops.values()].map((s) => s.zone));
  for (const z of ['station', 'downtown', 'cheongcho', 'daepo', 'seorak']) assert.ok(zones.has(z), `a stop in ${z}`);
  // Peak headways shorter than off-peak ones on the main route.
  const d1 = feed.routes.get('d1').trips.filter((t) => t.dir === 0).map((t) => t.stops[0].dep);
  const gapAt = (h) => { const i = d1.findIndex((s) => s >= h * 3600); return d1[i + 1] - d1[i]; };
  assert.ok(gapAt(7.5) < gapAt(20), `peak ${gapAt(7.5)} s, evening ${gapAt(20)} s`);
});

test('the checks catch a stop_time at an unknown stop, times that go back, a stop far from its shape', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'gtfs-'));
  try {
    cpSync(dir, tmp, { recursive: true });
    const st = readFileSync(join(tmp, 'stop_times.txt'), 'utf8').split('\n');
    st[2] = st[2].replace('stop-seorak-03', 'stop-nowhere');
    st[5] = st[5].replace(/,0\d:\d\d:00,0\d:\d\d:00,/, ',05:00:00,05:00:00,');
    writeFileSync(join(tmp, 'stop_times.txt'), st.join('\n'));
    const stops = readFileSync(join(tmp, 'stops.txt'), 'utf8').replace(/38\.17043/, '38.18043');
    writeFileSync(join(tmp, 'stops.txt'), stops);
    const { problems } = validateFeed(tmp);
    assert.ok(problems.some((p) => /unknown stop stop-nowhere/.test(p)), problems.join('\n'));
    assert.ok(problems.some((p) => /time does not increase/.test(p)), problems.join('\n'));
    assert.ok(problems.some((p) => /stop-seorak-02 is \d+ m from shape/.test(p)), problems.join('\n'));
    const cli = spawnSync(process.execPath, [join(dir, 'validate-gtfs.mjs'), tmp], { encoding: 'utf8' });
    assert.equal(cli.status, 1);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('the zip unpacks to the feed files', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'gtfszip-'));
  try {
    const files = feedFiles(dir);
    writeFileSync(join(tmp, 'feed.zip'), gtfsZip(files));
    const list = execFileSync('unzip', ['-Z1', join(tmp, 'feed.zip')], { encoding: 'utf8' }).trim().split('\n');
    assert.deepEqual(list, files.map(([n]) => n));
    assert.equal(list[0], 'agency.txt');
    const st = execFileSync('unzip', ['-p', join(tmp, 'feed.zip'), 'stop_times.txt']);
    assert.ok(st.equals(readFileSync(join(dir, 'stop_times.txt'))));
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
