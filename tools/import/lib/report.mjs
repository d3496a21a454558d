// What an import read, skipped and found missing, and what the server answered.
import { rfc3339 } from './time.mjs';

export class Report {
  constructor(dataset) {
    this.dataset = dataset;
    this.files = [];          // {path, encoding, bom, rows}
    this.rowsRead = 0;        // data rows (records after the header; blank lines not counted)
    this.readingsParsed = 0;
    this.skipped = new Map(); // reason -> {count, examples: [..]}
    this.gaps = [];           // per series: {series, step, gaps: [{from, to, missing}], missing}
    this.coverage = [];       // series that start later / end earlier than the data set
    this.notes = [];
    this.sensors = { needed: 0, created: 0, existing: 0 };
    this.server = null;       // {requests, posted, accepted, duplicates, rejected: Map(reason->count)}
    this.timing = {};
  }

  file(path, encoding, bom, rows) { this.files.push({ path, encoding, bom, rows }); }

  // Reasons start with "row: " (a whole input row/event dropped) or "value: " (one reading dropped).
  skip(reason, example, count = 1) {
    let e = this.skipped.get(reason);
    if (!e) { e = { count: 0, examples: [] }; this.skipped.set(reason, e); }
    e.count += count;
    if (example !== undefined && e.examples.length < 3) e.examples.push(example);
  }

  skippedCount(prefix = '') {
    let n = 0;
    for (const [r, e] of this.skipped) if (r.startsWith(prefix)) n += e.count;
    return n;
  }

  note(text) { this.notes.push(text); }

  toJSON() {
    const obj = (m) => Object.fromEntries([...m].map(([k, v]) => [k, v]));
    return {
      dataset: this.dataset,
      files: this.files,
      rows_read: this.rowsRead,
      readings_parsed: this.readingsParsed,
      skipped: obj(this.skipped),
      gaps: this.gaps,
      coverage: this.coverage,
      notes: this.notes,
      sensors: this.sensors,
      server: this.server && { ...this.server, rejected: obj(this.server.rejected) },
      timing: this.timing,
    };
  }
}

// findGaps(report, series, instants, stepMs, unitLabel, offsetMin)
//   instants: UTC ms of one series (any order, duplicates allowed). A gap is any step between
//   consecutive instants longer than stepMs; `missing` counts the absent steps. Works on instants,
//   so a DST change is not a gap. Records at most `keep` gaps (largest first) but counts all.
export function findGaps(report, series, instants, stepMs, unitLabel, fmt, keep = 12) {
  const t = [...new Set(instants)].sort((a, b) => a - b);
  const gaps = [];
  let missing = 0;
  for (let i = 1; i < t.length; i++) {
    const d = t[i] - t[i - 1];
    if (d > stepMs) {
      const m = Math.round(d / stepMs) - 1;
      missing += m;
      gaps.push({ from: fmt(t[i - 1] + stepMs), to: fmt(t[i] - stepMs), missing: m });
    }
  }
  if (gaps.length) {
    const count = gaps.length;
    const largest = [...gaps].sort((a, b) => b.missing - a.missing).slice(0, keep);
    // a gap "longer than a day": more than a day between the readings around it
    const overDay = stepMs < 86400000 ? gaps.filter((g) => (g.missing + 1) * stepMs > 86400000).length : 0;
    report.gaps.push({ series, unit: unitLabel, count, missing, over_day: overDay, largest });
  }
  return { count: gaps.length, missing, first: t[0], last: t[t.length - 1] };
}

// A formatter of UTC ms in a fixed offset (for gap messages).
export function fixedOffsetFormatter(offsetMin) {
  return (ms) => rfc3339(ms, offsetMin);
}

const fmtInt = (n) => n.toLocaleString('en-US');
const unitOf = (n, unit) => (n === 1 && /^(hours|days)$/.test(unit) ? unit.slice(0, -1) : unit);
const plural = (n, word) => `${fmtInt(n)} ${word}${n === 1 ? '' : 's'}`;

export function formatReport(r, { dryRun } = {}) {
  const out = [];
  const line = (k, v) => out.push(`${(k + ':').padEnd(22)}${v}`);
  out.push(`maeul-import ${r.dataset}${dryRun ? ' (dry run: nothing sent)' : ''}`);
  for (const f of r.files) line('file', `${f.path} (${f.encoding}${f.bom ? ', BOM stripped' : ''}, ${fmtInt(f.rows)} data rows)`);
  line('rows read', fmtInt(r.rowsRead));
  line('readings parsed', fmtInt(r.readingsParsed));
  if (r.server) {
    const s = r.server;
    line('readings posted', `${fmtInt(s.posted)} in ${plural(s.requests, 'request')}`);
    line('sensors', `${r.sensors.needed} needed: ${r.sensors.created} created, ${r.sensors.existing} existed`);
    line('accepted', fmtInt(s.accepted));
    line('duplicates', fmtInt(s.duplicates));
    const rej = [...s.rejected.values()].reduce((a, b) => a + b, 0);
    line('rejected', fmtInt(rej));
    for (const [reason, n] of [...s.rejected].sort((a, b) => b[1] - a[1])) out.push(`  ${fmtInt(n).padStart(9)}  ${reason}`);
  } else {
    line('sensors', `${r.sensors.needed} needed`);
  }
  const sk = [...r.skipped].sort((a, b) => b[1].count - a[1].count);
  line('skipped by importer', `${plural(r.skippedCount('row: '), 'row')}, ${plural(r.skippedCount('value: '), 'value')}`);
  for (const [reason, e] of sk) {
    out.push(`  ${fmtInt(e.count).padStart(9)}  ${reason}${e.examples.length ? `  (e.g. ${e.examples.join('; ')})` : ''}`);
  }
  const totalGaps = r.gaps.reduce((a, g) => a + g.count, 0);
  line('gaps', r.gaps.length ? `${fmtInt(totalGaps)} in ${r.gaps.length} series` : 'none');
  for (const g of r.gaps) {
    const over = g.over_day ? ` (${fmtInt(g.over_day)} longer than a day)` : '';
    out.push(`  ${g.series}: ${plural(g.count, 'gap')}${over}, ${fmtInt(g.missing)} missing ${unitOf(g.missing, g.unit)}`);
    const shown = g.largest.slice(0, g.count > 5 ? 5 : g.count);
    for (const x of shown) out.push(`      ${x.from} .. ${x.to}  (${fmtInt(x.missing)} ${unitOf(x.missing, g.unit)})`);
    if (g.count > shown.length) out.push(`      ... and ${plural(g.count - shown.length, 'smaller gap')}`);
  }
  if (r.coverage.length) {
    line('partial series', r.coverage.length);
    for (const c of r.coverage.slice(0, 20)) out.push(`  ${c}`);
    if (r.coverage.length > 20) out.push(`  ... ${r.coverage.length - 20} more`);
  }
  for (const n of r.notes) line('note', n);
  const t = r.timing;
  line('time', Object.entries(t).map(([k, v]) => `${k} ${(v / 1000).toFixed(1)} s`).join(', '));
  return out.join('\n');
}
