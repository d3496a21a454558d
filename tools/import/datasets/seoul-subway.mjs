// seoul-subway: boardings and alightings per line and station per day, May 2025
// (seoul-subway/CARD_SUBWAY_MONTH_202505.csv, Seoul Open Data Plaza OA-12914, T-money card taps).
//
// Quirks: UTF-8 with a byte-order mark; every field quoted; each data row has a 7th, empty field
// the 6-column header does not declare (accepted when empty, counted in a note). One sensor per
// (line, station) pair, ids romanized (seoul-subway-l2-gangnam); a reading is stamped 00:00
// (Asia/Seoul) of the day it counts. Station positions are approximate (see
// seoul-subway-stations.mjs); the registration date column (등록일자) is not imported.
import { Report, findGaps, fixedOffsetFormatter } from '../lib/report.mjs';
import { loadCsv, metric, point, instant, pushValue, columns, coverageNotes } from '../lib/dataset.mjs';
import { parseWall } from '../lib/time.mjs';
import { slug } from '../lib/hangul.mjs';
import { stationLocation } from './seoul-subway-stations.mjs';

export const name = 'seoul-subway';
export const TZ = 'Asia/Seoul';
export const FILE = 'seoul-subway/CARD_SUBWAY_MONTH_202505.csv';

// Outlier rule: a daily count outside [0, 500,000] for one line at one station (the busiest
// stations see about 100,000 a day).
export const METRICS = {
  boardings: metric('boardings', 'count', 0, 500000, 86400),
  alightings: metric('alightings', 'count', 0, 500000, 86400),
};

// Line as written -> id fragment and English name.
export const LINES = {
  '1호선': ['l1', 'Line 1'], '2호선': ['l2', 'Line 2'], '3호선': ['l3', 'Line 3'], '4호선': ['l4', 'Line 4'],
  '5호선': ['l5', 'Line 5'], '6호선': ['l6', 'Line 6'], '7호선': ['l7', 'Line 7'], '8호선': ['l8', 'Line 8'],
  '9호선': ['l9', 'Line 9'], '9호선2~3단계': ['l9ext', 'Line 9 (phases 2-3)'],
  경부선: ['gyeongbu', 'Gyeongbu Line'], 경원선: ['gyeongwon', 'Gyeongwon Line'], 경의선: ['gyeongui', 'Gyeongui Line'],
  경인선: ['gyeongin', 'Gyeongin Line'], 경춘선: ['gyeongchun', 'Gyeongchun Line'], 경강선: ['gyeonggang', 'Gyeonggang Line'],
  중앙선: ['jungang', 'Jungang Line'], 분당선: ['bundang', 'Bundang Line'], 수인선: ['suin', 'Suin Line'],
  '공항철도 1호선': ['arex', 'AREX'], 안산선: ['ansan', 'Ansan Line'], 과천선: ['gwacheon', 'Gwacheon Line'],
  일산선: ['ilsan', 'Ilsan Line'], 장항선: ['janghang', 'Janghang Line'], 서해선: ['seohae', 'Seohae Line'],
  우이신설선: ['uisinseol', 'Ui-Sinseol Line'], 신림선: ['sillim', 'Sillim Line'],
};

export function lineCode(line) {
  return LINES[line] ? LINES[line][0] : slug(line);
}

// sensor id for (line, station); the station's subtitle in parentheses is left out of the id.
export function sensorId(line, station) {
  const base = station.replace(/\(.*\)\s*$/, '').trim();
  return `seoul-subway-${lineCode(line)}-${slug(base) || 'station'}`;
}

export function sensorFor(line, station) {
  const loc = stationLocation(line, station);
  return {
    id: sensorId(line, station),
    domain: 'mobility',
    kind: 'station_gate_counter',
    name: `${line} ${station} (${LINES[line] ? LINES[line][1] : line})`,
    location: loc ? point(loc[0], loc[1]) : point(126.9780, 37.5665),
    metrics: Object.values(METRICS),
    attributes: {
      source: 'Seoul Open Data Plaza OA-12914 (via github.com/kyuyounglee-20250607/basic-python)',
      line, station,
      aggregate: 'T-money card taps per day',
      timestamp: '00:00 Asia/Seoul of the counted day',
      location_precision: loc ? 'approximate (a few hundred metres)' : 'unknown: placed at Seoul City Hall',
    },
  };
}

export function parse(table, report) {
  const col = columns(table.header, { date: '사용일자', line: '노선명', station: '역명', on: '승차총승객수', off: '하차총승객수' }, FILE);
  const out = [];
  const seen = new Map();
  const series = new Map(); // sensor id -> instants
  const pairs = new Map();  // sensor id -> [line, station]
  let extraEmpty = 0;
  for (const { fields, line } of table.rows) {
    report.rowsRead++;
    const where = `line ${line}`;
    if (fields.length < table.header.length) { report.skip('row: too few fields', where); continue; }
    if (fields.length > table.header.length) {
      if (fields.slice(table.header.length).every((f) => f.trim() === '')) extraEmpty++;
      else { report.skip('row: extra non-empty fields', where); continue; }
    }
    const [date, lineName, station, on, off] = [col.date, col.line, col.station, col.on, col.off].map((i) => fields[i].trim());
    const wall = parseWall(date);
    if (wall === null) { report.skip('row: unparseable date', `${where} ${JSON.stringify(date)}`); continue; }
    if (!lineName || !station) { report.skip('row: empty line or station name', where); continue; }
    const at = instant(report, TZ, wall, where);
    if (!at) continue;
    const id = sensorId(lineName, station);
    const prevPair = pairs.get(id);
    if (prevPair && (prevPair[0] !== lineName || prevPair[1] !== station)) {
      report.skip('row: station id collision (two names romanize alike)', `${where} ${lineName} ${station} vs ${prevPair[1]}`);
      continue;
    }
    const key = `${date}|${id}`;
    const prev = seen.get(key);
    if (prev !== undefined) {
      report.skip(prev === `${on}|${off}` ? 'row: duplicate row in file' : 'row: conflicting duplicate (kept the first)', `${where} ${date} ${lineName} ${station}`);
      continue;
    }
    seen.set(key, `${on}|${off}`);
    pairs.set(id, [lineName, station]);
    const ctx = `${where} ${date} ${lineName} ${station}`;
    const a = pushValue(report, out, { sensor: id, def: METRICS.boardings, t: at.t, ts: at.ts, raw: on, where: ctx });
    const b = pushValue(report, out, { sensor: id, def: METRICS.alightings, t: at.t, ts: at.ts, raw: off, where: ctx });
    if (a || b) {
      if (!series.has(id)) series.set(id, []);
      series.get(id).push(at.t);
    }
  }
  if (extraEmpty) report.note(`${extraEmpty} rows carry a 7th, empty field the header does not declare (ignored)`);
  const fmt = (ms) => fixedOffsetFormatter(540)(ms).slice(0, 10);
  const spans = new Map();
  for (const [id, ts] of [...series].sort()) {
    const s = findGaps(report, id, ts, 86400000, 'days', fmt);
    spans.set(id, { first: s.first, last: s.last, n: new Set(ts).size });
  }
  coverageNotes(report, spans, fmt, 'days');
  const unplaced = [...pairs.values()].filter(([l, s]) => !stationLocation(l, s));
  if (unplaced.length) report.note(`${unplaced.length} stations without a known position, placed at Seoul City Hall: ${unplaced.map((p) => p.join(' ')).slice(0, 10).join(', ')}`);
  report.readingsParsed = out.length;
  report.pairs = pairs;
  return out;
}

export function load(dataDir) {
  const report = new Report(name);
  const table = loadCsv(report, dataDir, FILE, 'utf-8');
  const readings = parse(table, report);
  const sensors = [...report.pairs.values()].map(([l, s]) => sensorFor(l, s));
  return { report, readings, sensors };
}
