// seoul-air: Seoul city-average hourly air quality 2018-2022 (seoul-air-kr-power/seoul-air.csv).
//
// Quirks: hours are numbered 01..24 and "24:00" stands for 00:00 of the next day; a stamp is the END
// of the hour averaged (Korean convention), kept as it is. The column "이산화탄소" (carbon DIOXIDE)
// holds NO2 in ppm: the header is mislabeled, the metric is no2. "-" marks a missing value. One day
// (2019-12-01) is in the file twice, identical; two days are missing (2019-12-07, 2020-02-29).
// The values are Seoul's city average, so there is one sensor, placed at Seoul City Hall.
import { Report, findGaps, fixedOffsetFormatter } from '../lib/report.mjs';
import { loadCsv, metric, point, instant, pushValue, columns } from '../lib/dataset.mjs';
import { parseWall } from '../lib/time.mjs';

export const name = 'seoul-air';
export const TZ = 'Asia/Seoul';
export const FILE = 'seoul-air-kr-power/seoul-air.csv';
export const SENSOR = 'seoul-air-citywide';

// Outlier rule: outside [0, ceiling]. The ceilings are far above anything Seoul has measured as an
// hourly city average (PM10 peaked near 1,000 ug/m3 in the 2021 yellow-dust storms, kept) but below
// instrument garbage: PM2.5 1000, PM10 2000 ug/m3; O3 0.6, NO2 1, SO2 1, CO 50 ppm.
export const METRICS = [
  { col: '초미세먼지', def: metric('pm25', 'µg/m³', 0, 1000, 3600) },
  { col: '미세먼지', def: metric('pm10', 'µg/m³', 0, 2000, 3600) },
  { col: '오존', def: metric('o3', 'ppm', 0, 0.6, 3600) },
  { col: '이산화탄소', def: metric('no2', 'ppm', 0, 1, 3600) },
  { col: '일산화탄소', def: metric('co', 'ppm', 0, 50, 3600) },
  { col: '아황산가스', def: metric('so2', 'ppm', 0, 1, 3600) },
];

export function sensors() {
  return [{
    id: SENSOR,
    domain: 'environment',
    kind: 'air_quality',
    name: 'Seoul city-average air quality (서울시 평균 대기질)',
    location: point(126.9780, 37.5665), // Seoul City Hall
    metrics: METRICS.map((m) => m.def),
    attributes: {
      source: 'cleanair.seoul.go.kr city average (via github.com/SeojinSeojin/aai2009)',
      aggregate: 'city average of all Seoul stations',
      timestamp: 'end of the averaged hour',
      location_precision: 'city',
    },
  }];
}

const HOUR_24 = /\s24:00(:00)?$/;

// parse(table, report) -> readings. table: {header, rows} from readTable.
export function parse(table, report) {
  const col = columns(table.header, { time: '일시', ...Object.fromEntries(METRICS.map((m, i) => [`m${i}`, m.col])) }, FILE);
  const out = [];
  const seen = new Map(); // ts -> values joined (the first row's)
  const instants = [];
  let h24 = 0;
  for (const { fields, line } of table.rows) {
    report.rowsRead++;
    const where = `line ${line}`;
    if (fields.length < table.header.length) { report.skip('row: too few fields', where); continue; }
    const rawTime = fields[col.time].trim();
    const wall = parseWall(rawTime);
    if (wall === null) { report.skip('row: unparseable time', `${where} ${JSON.stringify(rawTime)}`); continue; }
    const at = instant(report, TZ, wall, where);
    if (!at) continue;
    const values = METRICS.map((_, i) => fields[col[`m${i}`]].trim()).join('|');
    const prev = seen.get(at.ts);
    if (prev !== undefined) {
      report.skip(prev === values ? 'row: duplicate row in file (same hour, same values)' : 'row: conflicting duplicate hour (kept the first)', `${where} ${rawTime}`);
      continue;
    }
    seen.set(at.ts, values);
    if (HOUR_24.test(rawTime)) h24++;
    instants.push(at.t);
    METRICS.forEach((m, i) => {
      pushValue(report, out, { sensor: SENSOR, def: m.def, t: at.t, ts: at.ts, raw: fields[col[`m${i}`]], where: `${where} ${rawTime}` });
    });
  }
  if (h24) report.note(`${h24} rows stamped "24:00" read as 00:00 of the next day`);
  report.note('column "이산화탄소" (CO2, sic) imported as no2 (the values are NO2 in ppm)');
  findGaps(report, SENSOR, instants, 3600000, 'hours', fixedOffsetFormatter(540));
  report.readingsParsed = out.length;
  return out;
}

export function load(dataDir) {
  const report = new Report(name);
  const table = loadCsv(report, dataDir, FILE, 'utf-8');
  const readings = parse(table, report);
  return { report, readings, sensors: sensors() };
}
