#!/usr/bin/env node
// Checks the demo world: node config/demo/validate.mjs [config/demo/sokcho.json] [--quiet]
// Exits 1 on the first kind of problem found (all problems are listed). Checks:
//  - ids unique and well-formed, metric names and categories well-formed, domains known;
//  - zone rings closed, counter-clockwise, in the Sokcho area, pairwise not overlapping;
//  - every sensor and facility lies inside exactly one zone, and inside the zone it names (if it names one);
//  - population/households add up to plausible city totals; sensor count 250-400 across all five domains;
//  - the bus network in transit/ beside the world (transit/validate-gtfs.mjs);
//  - welfare.json beside the world (its residents and accounts, if the file is there): one resident for each
//    welfare sensor and none for anything else, in the sensor's zone; everyone clearly fictional (names with
//    가상 and "(Fictional)", phones 010-0000-/010-0001-xxxx, addresses on 가상로); care workers that are accounts
//    of the zone; consents with a purpose and a basis, at least one lapsed and one lapsing within 30 days, both
//    on emergency-button households other than the first of their zone (the ones seed-history.mjs presses);
//  - rules.json beside the world (if there): ids unique, none of them retired; staged threshold rules with their
//    stages in order (values rising for >/>=, falling for </<=, no duplicates, severities never falling); the
//    water_level rules' stages at the gauges' attention (warning_m - 0.5), warning_m and danger_m;
//  - playbooks.json beside the world (if there): step ids unique, both languages, at most 50 steps of at most
//    1000 bytes; every incident category a rule names has a playbook.

import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pointInPolygon, ringsOf, segmentsCross, areaKm2, distanceToBoundaryM } from './geo.mjs';

const args = process.argv.slice(2);
const quiet = args.includes('--quiet');
const file = args.find((a) => !a.startsWith('--')) || join(dirname(fileURLToPath(import.meta.url)), 'sokcho.json');
const world = JSON.parse(readFileSync(file, 'utf8'));

const problems = [];
const bad = (msg) => problems.push(msg);
const ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
const NAME = /^[a-z][a-z0-9_]{0,63}$/;
const DOMAINS = ['mobility', 'energy', 'welfare', 'disaster', 'environment'];
const BBOX = { lon: [128.43, 128.65], lat: [38.10, 38.26] };

// zones
const zones = world.zones || [];
const seen = new Set();
for (const z of zones) {
  if (!ID.test(z.id)) bad(`zone id ${z.id} is malformed`);
  if (seen.has(`zone:${z.id}`)) bad(`zone id ${z.id} repeats`);
  seen.add(`zone:${z.id}`);
  if (!z.name || !z.name.ko || !z.name.en) bad(`zone ${z.id} needs name.ko and name.en`);
  if (!Number.isInteger(z.population) || z.population < 0) bad(`zone ${z.id}: population`);
  if (!Number.isInteger(z.households) || z.households < 0) bad(`zone ${z.id}: households`);
  if (z.boundary?.type !== 'Polygon') { bad(`zone ${z.id}: boundary must be a Polygon`); continue; }
  for (const ring of z.boundary.coordinates) {
    if (ring.length < 4) bad(`zone ${z.id}: ring with fewer than 4 positions`);
    const [f, l] = [ring[0], ring[ring.length - 1]];
    if (f[0] !== l[0] || f[1] !== l[1]) bad(`zone ${z.id}: ring not closed`);
    for (const [lon, lat] of ring) {
      if (lon < BBOX.lon[0] || lon > BBOX.lon[1] || lat < BBOX.lat[0] || lat > BBOX.lat[1]) bad(`zone ${z.id}: position ${lon},${lat} is outside Sokcho`);
    }
  }
  const outer = z.boundary.coordinates[0];
  let a2 = 0;
  for (let i = 0; i + 1 < outer.length; i++) a2 += outer[i][0] * outer[i + 1][1] - outer[i + 1][0] * outer[i][1];
  if (a2 <= 0) bad(`zone ${z.id}: outer ring is not counter-clockwise`);
}
if (zones.length !== 5) bad(`expected 5 zones, found ${zones.length}`);

// pairwise overlap: no edge crossings, no vertex of one strictly inside another (shared edges are fine)
for (let i = 0; i < zones.length; i++) {
  for (let j = i + 1; j < zones.length; j++) {
    const A = zones[i], B = zones[j];
    for (const ra of ringsOf(A.boundary)) for (const rb of ringsOf(B.boundary)) {
      for (let p = 0; p + 1 < ra.length; p++) for (let q = 0; q + 1 < rb.length; q++) {
        if (segmentsCross(ra[p], ra[p + 1], rb[q], rb[q + 1])) bad(`zones ${A.id} and ${B.id} overlap (edges cross)`);
      }
    }
    const inside = (pts, geom) => pts.some((pt) => pointInPolygon(pt, geom) && distanceToBoundaryM(pt, geom) > 1);
    if (inside(ringsOf(A.boundary).flat(), B.boundary) || inside(ringsOf(B.boundary).flat(), A.boundary)) bad(`zones ${A.id} and ${B.id} overlap (a vertex inside the other)`);
  }
}
// and a 20 m grid over the whole area: no point may be inside two zones
{
  const lons = zones.flatMap((z) => ringsOf(z.boundary).flat().map((p) => p[0]));
  const lats = zones.flatMap((z) => ringsOf(z.boundary).flat().map((p) => p[1]));
  let doubled = 0;
  for (let lon = Math.min(...lons); lon <= Math.max(...lons); lon += 0.00023) {
    for (let lat = Math.min(...lats); lat <= Math.max(...lats); lat += 0.00018) {
      if (zones.filter((z) => pointInPolygon([lon, lat], z.boundary)).length > 1) doubled++;
    }
  }
  if (doubled) bad(`zones overlap: ${doubled} grid points lie in more than one zone`);
}

const zonesOf = (pt) => zones.filter((z) => pointInPolygon(pt, z.boundary)).map((z) => z.id);

function checkPlaced(kind, o) {
  if (!ID.test(o.id)) bad(`${kind} id ${o.id} is malformed`);
  if (seen.has(`${kind}:${o.id}`)) bad(`${kind} id ${o.id} repeats`);
  seen.add(`${kind}:${o.id}`);
  if (o.location?.type !== 'Point') { bad(`${kind} ${o.id}: location must be a Point`); return null; }
  const inZones = zonesOf(o.location.coordinates);
  if (inZones.length !== 1) { bad(`${kind} ${o.id} at ${o.location.coordinates} lies in ${inZones.length} zones`); return null; }
  if (o.zone !== undefined && o.zone !== inZones[0]) bad(`${kind} ${o.id} names zone ${o.zone} but lies in ${inZones[0]}`);
  const [prefixZone] = o.id.split('-').slice(1, 2);
  if (prefixZone !== inZones[0]) bad(`${kind} ${o.id}: id says ${prefixZone} but it lies in ${inZones[0]}`);
  return inZones[0];
}

// facilities
const facCount = {};
for (const f of world.facilities || []) {
  const z = checkPlaced('facility', f);
  if (!NAME.test(f.category || '')) bad(`facility ${f.id}: category ${f.category} is malformed`);
  if (!f.name?.ko || !f.name?.en) bad(`facility ${f.id}: needs name.ko and name.en`);
  if (z) { facCount[z] ??= {}; facCount[z][f.category] = (facCount[z][f.category] || 0) + 1; }
}
const CATS = ['clinic', 'bus_stop', 'grocery', 'care_center', 'shelter', 'school', 'pharmacy'];
for (const z of zones) for (const c of CATS) if (!facCount[z.id]?.[c]) bad(`zone ${z.id} has no ${c}`);

// sensors
const byDomain = {}, byZone = {}, byKind = {};
let explicit = 0;
for (const s of world.sensors || []) {
  const z = checkPlaced('sensor', s);
  if (!DOMAINS.includes(s.domain)) bad(`sensor ${s.id}: unknown domain ${s.domain}`);
  if (!NAME.test(s.kind || '')) bad(`sensor ${s.id}: kind ${s.kind} is malformed`);
  if (!Array.isArray(s.metrics) || s.metrics.length === 0) bad(`sensor ${s.id}: no metrics`);
  const names = new Set();
  for (const m of s.metrics || []) {
    if (!NAME.test(m.name)) bad(`sensor ${s.id}: metric ${m.name} is malformed`);
    if (names.has(m.name)) bad(`sensor ${s.id}: metric ${m.name} repeats`);
    names.add(m.name);
    if (!m.unit) bad(`sensor ${s.id}: metric ${m.name} has no unit`);
    if (m.min !== undefined && m.max !== undefined && !(m.min < m.max)) bad(`sensor ${s.id}: metric ${m.name} min >= max`);
  }
  if (s.domain === 'welfare') {
    if (/name|phone|birth|address|age/i.test(Object.keys(s.attributes || {}).join(' '))) bad(`sensor ${s.id}: welfare attributes must not carry personal data`);
    if (s.location.coordinates.some((c) => Math.round(c * 1000) / 1000 !== c)) bad(`sensor ${s.id}: welfare locations are rounded to 0.001°`);
  }
  if (s.zone !== undefined) explicit++;
  byDomain[s.domain] = (byDomain[s.domain] || 0) + 1;
  byKind[s.kind] = (byKind[s.kind] || 0) + 1;
  if (z) byZone[z] = (byZone[z] || 0) + 1;
}
const nSensors = (world.sensors || []).length;
if (nSensors < 250 || nSensors > 400) bad(`expected 250-400 sensors, found ${nSensors}`);
for (const d of DOMAINS) if (!byDomain[d]) bad(`no sensor in domain ${d}`);
for (const z of zones) if (!byZone[z.id]) bad(`no sensor in zone ${z.id}`);
if (explicit === 0 || explicit === nSensors) bad('some sensors should name their zone and some should not');

const pop = zones.reduce((s, z) => s + z.population, 0), hh = zones.reduce((s, z) => s + z.households, 0);
if (pop < 81000 || pop > 83000) bad(`population totals ${pop}, expected 81,000-83,000`);
if (hh < 38000 || hh > 43000) bad(`households total ${hh}, expected about 40,000`);

// welfare residents and accounts
const welfareFile = join(dirname(file), 'welfare.json');
let welfareDoc = null;
try { welfareDoc = JSON.parse(readFileSync(welfareFile, 'utf8')); } catch (err) { if (err.code !== 'ENOENT') bad(`welfare.json: ${err.message}`); }
if (welfareDoc) {
  const sensorsById = new Map((world.sensors || []).map((s) => [s.id, s]));
  const accounts = new Map((welfareDoc.accounts || []).map((a) => [a.username, a]));
  const USERNAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
  for (const a of accounts.values()) {
    if (!USERNAME.test(a.username)) bad(`welfare account ${a.username}: malformed username`);
    if (a.role !== 'welfare_officer') bad(`welfare account ${a.username}: role ${a.role}, expected welfare_officer`);
    if (!Array.isArray(a.zones) || a.zones.length !== 1 || !zones.some((z) => z.id === a.zones[0])) bad(`welfare account ${a.username}: one zone of the world`);
    if (!a.display_name || Buffer.byteLength(a.display_name) > 200 || !/가상/.test(a.display_name) || !/\(Fictional\)/.test(a.display_name)) {
      bad(`welfare account ${a.username}: display_name must say 가상 and (Fictional), at most 200 bytes`);
    }
  }
  if (accounts.size !== (welfareDoc.accounts || []).length) bad('welfare accounts: a username repeats');
  if (!welfareDoc.consent?.purpose || !welfareDoc.consent?.basis) bad('welfare.json: consent needs purpose and basis');
  const bySensor = new Map(), phones = new Set();
  let lapsed = 0, lapsing = 0;
  for (const r of welfareDoc.residents || []) {
    const s = sensorsById.get(r.sensor);
    if (!s || s.domain !== 'welfare') { bad(`resident ${r.name}: sensor ${r.sensor} is not a welfare sensor of the world`); continue; }
    if (bySensor.has(r.sensor)) bad(`sensor ${r.sensor} has two residents`);
    bySensor.set(r.sensor, r);
    const zone = zonesOf(s.location.coordinates)[0];
    if (r.zone !== zone) bad(`resident of ${r.sensor}: zone ${r.zone}, but the sensor lies in ${zone}`);
    if (!/^가상 .+ \(Fictional\)$/.test(r.name || '')) bad(`resident of ${r.sensor}: name "${r.name}" must read "가상 … (Fictional)"`);
    for (const g of r.guardians || []) if (!/^가상 .+ \(Fictional\)$/.test(g.name || '') || !/^010-0001-\d{4}$/.test(g.phone || '')) bad(`resident of ${r.sensor}: guardian ${g.name} ${g.phone} is not clearly fictional`);
    if (!/^010-0000-\d{4}$/.test(r.phone || '')) bad(`resident of ${r.sensor}: phone ${r.phone} is not in 010-0000-xxxx`);
    for (const p of [r.phone, ...(r.guardians || []).map((g) => g.phone)]) {
      if (phones.has(p)) bad(`phone ${p} repeats`);
      phones.add(p);
    }
    if (!/가상로/.test(r.address || '') || !/fictional/.test(r.address)) bad(`resident of ${r.sensor}: address "${r.address}" is not on 가상로`);
    if (!/^가상 인물 \/ fictional person\./.test(r.notes || '')) bad(`resident of ${r.sensor}: notes must start "가상 인물 / fictional person."`);
    if (!Number.isInteger(r.birth_year) || r.birth_year < 1920 || r.birth_year > 1960) bad(`resident of ${r.sensor}: birth_year ${r.birth_year}`);
    if (!['low', 'medium', 'high'].includes(r.risk_level)) bad(`resident of ${r.sensor}: risk_level ${r.risk_level}`);
    const cw = accounts.get(r.care_worker);
    if (!cw || !cw.zones.includes(r.zone)) bad(`resident of ${r.sensor}: care worker ${r.care_worker} is not an account of zone ${r.zone}`);
    const c = r.consent || {};
    if (!(c.granted_days_ago > 0) || !Number.isInteger(c.expires_in_days) || c.expires_in_days <= -c.granted_days_ago) bad(`resident of ${r.sensor}: consent ${JSON.stringify(c)}`);
    if (c.expires_in_days < 0 || c.expires_in_days <= 30) {
      if (c.expires_in_days < 0) lapsed++; else lapsing++;
      if (s.kind !== 'emergency_button') bad(`resident of ${r.sensor}: a lapsed or lapsing consent belongs on an emergency-button household (every activity monitor stays watched)`);
      const firstOfZone = (world.sensors || []).filter((x) => x.kind === 'emergency_button' && x.id.split('-')[1] === r.zone)
        .map((x) => x.id).sort()[0];
      if (r.sensor === firstOfZone) bad(`resident of ${r.sensor}: scripts/lib/seed-history.mjs presses this button; its readings must not be withheld`);
    }
  }
  for (const s of world.sensors || []) if (s.domain === 'welfare' && !bySensor.has(s.id)) bad(`welfare sensor ${s.id} has no resident in welfare.json`);
  if (lapsed < 1 || lapsing < 1) bad(`welfare.json: expected a lapsed consent and one lapsing within 30 days (found ${lapsed} and ${lapsing})`);
  if (!quiet) console.log(`welfare: ${bySensor.size} residents, ${accounts.size} accounts, ${lapsed} consent(s) lapsed, ${lapsing} lapsing within 30 days`);
}

// rules and playbooks
const SEVERITY = ['info', 'warning', 'critical'];
let rulesDoc = null, playbooksDoc = null;
try { rulesDoc = JSON.parse(readFileSync(join(dirname(file), 'rules.json'), 'utf8')); } catch (err) { if (err.code !== 'ENOENT') bad(`rules.json: ${err.message}`); }
try { playbooksDoc = JSON.parse(readFileSync(join(dirname(file), 'playbooks.json'), 'utf8')); } catch (err) { if (err.code !== 'ENOENT') bad(`playbooks.json: ${err.message}`); }
if (rulesDoc) {
  const ids = new Set();
  const retired = new Set(rulesDoc.retired || []);
  for (const r of rulesDoc.rules || []) {
    if (!ID.test(r.id || '') || ids.has(r.id)) bad(`rule id ${r.id} is malformed or repeats`);
    if (retired.has(r.id)) bad(`rule ${r.id} is both loaded and retired`);
    ids.add(r.id);
    if (!r.name?.ko || !r.name?.en) bad(`rule ${r.id} needs name.ko and name.en`);
    if (r.incident && !NAME.test(r.incident.category || '')) bad(`rule ${r.id}: incident.category is malformed`);
    if (!r.stages) continue;
    if (r.kind !== 'threshold' || 'value' in r) bad(`rule ${r.id}: stages belong on a threshold rule without value`);
    const up = r.op === '>' || r.op === '>=';
    r.stages.forEach((st, i) => {
      if (!SEVERITY.includes(st.severity)) bad(`rule ${r.id}: stage ${i} severity ${st.severity}`);
      if (i === 0) return;
      const prev = r.stages[i - 1];
      if (up ? !(st.value > prev.value) : !(st.value < prev.value)) bad(`rule ${r.id}: stage ${i} (${st.value}) is not beyond stage ${i - 1} (${prev.value})`);
      if (SEVERITY.indexOf(st.severity) < SEVERITY.indexOf(prev.severity)) bad(`rule ${r.id}: stage ${i} severity falls`);
    });
    if (r.selector?.kind === 'water_level') {
      for (const s of (world.sensors || []).filter((x) => x.kind === 'water_level')) {
        const w = s.attributes?.warning_m, dg = s.attributes?.danger_m;
        const want = [w - 0.5, w, dg];
        if (JSON.stringify(r.stages.map((x) => x.value)) !== JSON.stringify(want)) {
          bad(`rule ${r.id}: stages ${r.stages.map((x) => x.value)} do not match gauge ${s.id} (attention ${want[0]}, warning ${w}, danger ${dg})`);
        }
      }
    }
  }
  if (!quiet) console.log(`rules: ${ids.size} (${(rulesDoc.rules || []).filter((r) => r.stages).length} staged), ${retired.size} retired`);
}
if (playbooksDoc) {
  const books = playbooksDoc.playbooks || {};
  for (const [cat, steps] of Object.entries(books)) {
    if (!NAME.test(cat)) bad(`playbook category ${cat} is malformed`);
    if (!Array.isArray(steps) || steps.length < 1 || steps.length > 50) { bad(`playbook ${cat}: 1-50 steps`); continue; }
    const ids = new Set();
    for (const st of steps) {
      if (!ID.test(st.id || '') || st.id.length > 64 || ids.has(st.id)) bad(`playbook ${cat}: step id ${st.id} is malformed or repeats`);
      ids.add(st.id);
      for (const lang of ['ko', 'en']) {
        const t = st.text?.[lang];
        if (typeof t !== 'string' || !t || Buffer.byteLength(t) > 1000) bad(`playbook ${cat}: step ${st.id} needs text.${lang} (1-1000 bytes)`);
      }
      if (st.role !== undefined && !NAME.test(st.role)) bad(`playbook ${cat}: step ${st.id} role ${st.role}`);
    }
  }
  for (const r of rulesDoc?.rules || []) if (r.incident && !books[r.incident.category]) bad(`rule ${r.id} opens ${r.incident.category} incidents: no playbook for them`);
  if (!quiet) console.log(`playbooks: ${Object.entries(books).map(([c, st]) => `${c} ${st.length}`).join(', ')}`);
}

// the demo bus network (config/demo/transit/validate-gtfs.mjs), when it lies beside the world
{
  const transitDir = join(dirname(file), 'transit');
  if (existsSync(join(transitDir, 'stops.txt'))) {
    const { validateFeed } = await import('./transit/validate-gtfs.mjs');
    const t = validateFeed(transitDir, file);
    for (const p of t.problems) bad(`transit: ${p}`);
    if (!quiet && t.summary) console.log(`transit: ${t.summary}`);
  }
}

if (!quiet) {
  console.log(`zones: ${zones.map((z) => `${z.id} ${areaKm2(z.boundary).toFixed(1)} km² pop ${z.population}`).join('; ')}`);
  console.log(`population ${pop}, households ${hh}`);
  console.log(`facilities: ${(world.facilities || []).length} — ${Object.entries(facCount).map(([z, c]) => `${z} ${Object.values(c).reduce((a, b) => a + b, 0)}`).join(', ')}`);
  console.log(`sensors: ${nSensors} (${explicit} name their zone) — by domain ${JSON.stringify(byDomain)}`);
  console.log(`sensors by zone ${JSON.stringify(byZone)}`);
  console.log(`sensors by kind ${JSON.stringify(byKind)}`);
}
if (problems.length) {
  for (const p of problems) console.error(`problem: ${p}`);
  process.exit(1);
}
console.log('world ok');
