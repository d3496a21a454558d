// Helpers shared by the data set modules.
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { readText, parseNumber } from './text.mjs';
import { readTable } from './csv.mjs';
import { localToUtc, rfc3339, wallText } from './time.mjs';

// A metric as declared to the server. min/max are also the importer's outlier rule: a value outside
// them is skipped as "outlier" before it is sent (the server would reject it anyway).
export function metric(name, unit, min, max, interval_s, extra = {}) {
  const m = { name, unit };
  if (min !== undefined && min !== null) m.min = min;
  if (max !== undefined && max !== null) m.max = max;
  if (interval_s) m.interval_s = interval_s;
  return { ...m, ...extra };
}

export function point(lon, lat) {
  return { type: 'Point', coordinates: [Number(lon.toFixed(6)), Number(lat.toFixed(6))] };
}

// Reads a CSV data file under dataDir, records it in the report, returns {header, rows}.
export function loadCsv(report, dataDir, rel, encoding = 'utf-8', opts = {}) {
  const path = join(dataDir, rel);
  if (!existsSync(path)) throw new Error(`data file not found: ${path}`);
  const { text, bom } = readText(path, encoding);
  const table = readTable(text, opts);
  report.file(rel, encoding, bom, table.rows.length);
  if (table.blank) report.skip('row: blank line', undefined, table.blank);
  return table;
}

// Converts a wall-clock time to {t, ts} in tz, or records why not and returns null.
// Ambiguous times (the repeated hour when clocks go back) take the first (daylight) offset.
export function instant(report, tz, wall, rowLabel) {
  const r = localToUtc(tz, wall);
  if (r.status === 'nonexistent') {
    report.skip('row: nonexistent local time (clocks went forward)', `${rowLabel} ${wallText(wall)}`);
    return null;
  }
  return { t: r.ms, ts: rfc3339(r.ms, r.offset), status: r.status, later: r.later };
}

// Pushes one numeric reading, or records why not. `def` is the metric (its min/max is the outlier
// rule); `convert` maps the parsed number to the stored one (e.g. kelvin to Celsius).
// `outlier(v)` may return a more specific outlier reason (checked before min/max).
export function pushValue(report, out, { sensor, def, t, ts, raw, where, convert, outlier, emptyMarkers = ['', '-'] }) {
  const s = String(raw ?? '').trim();
  if (emptyMarkers.includes(s)) {
    report.skip(`value: empty value${s ? ` "${s}"` : ''} (${def.name})`, where);
    return false;
  }
  const n = parseNumber(s);
  if (!Number.isFinite(n)) {
    report.skip(`value: not a number (${def.name})`, `${where} ${JSON.stringify(s)}`);
    return false;
  }
  const special = outlier ? outlier(n) : null;
  if (special) { report.skip(`value: outlier: ${special}`, `${where} ${s}`); return false; }
  const v = convert ? convert(n) : n;
  if (def.min !== undefined && v < def.min) {
    report.skip(def.min === 0 ? `value: outlier: negative ${def.name}` : `value: outlier: ${def.name} below ${def.min} ${def.unit}`, `${where} ${s}`);
    return false;
  }
  if (def.max !== undefined && v > def.max) {
    report.skip(`value: outlier: ${def.name} above ${def.max} ${def.unit}`, `${where} ${s}`);
    return false;
  }
  out.push({ sensor, metric: def.name, ts, value: v, t });
  return true;
}

// Index of each wanted header name, or an error naming what is missing.
export function columns(header, wanted, file) {
  const idx = {};
  for (const [key, name] of Object.entries(wanted)) {
    const i = header.indexOf(name);
    if (i < 0) throw new Error(`${file}: column "${name}" not found in header ${JSON.stringify(header)}`);
    idx[key] = i;
  }
  return idx;
}

// Coverage: series that begin after / end before the data set's overall first/last instant.
export function coverageNotes(report, spans, fmt, unit) {
  let first = Infinity, last = -Infinity;
  for (const s of spans.values()) { first = Math.min(first, s.first); last = Math.max(last, s.last); }
  for (const [series, s] of spans) {
    const parts = [];
    if (s.first > first) parts.push(`starts ${fmt(s.first)}`);
    if (s.last < last) parts.push(`ends ${fmt(s.last)}`);
    if (parts.length) report.coverage.push(`${series}: ${parts.join(', ')} (data set: ${fmt(first)} .. ${fmt(last)}; ${s.n} ${s.n === 1 ? unit.replace(/s$/, '') : unit})`);
  }
}
