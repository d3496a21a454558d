// kr-power: Korean daily thermal generation by province and fuel, 2018-01-01 .. 2022-06-30
// (seoul-air-kr-power/korea-thermal-power.csv).
//
// Quirks: the file is CP949 (not UTF-8); the header's last name has spaces around it
// (" 발전량(MWh) "). Rows are long: one (date, province, fuel) per row. One sensor per province
// (17), with one metric per fuel: lng, coal (석탄), oil (유류), in MWh per day. A reading is stamped
// 00:00 (Asia/Seoul) of the trading day it covers.
import { Report, findGaps, fixedOffsetFormatter } from '../lib/report.mjs';
import { loadCsv, metric, point, instant, pushValue, columns, coverageNotes } from '../lib/dataset.mjs';
import { parseWall } from '../lib/time.mjs';

export const name = 'kr-power';
export const TZ = 'Asia/Seoul';
export const FILE = 'seoul-air-kr-power/korea-thermal-power.csv';

// Outlier rule: outside [0, 1,000,000] MWh a day for one province and fuel (about 42 GW running
// all day; the largest province-fuel figure in the file is about 365,000).
const MAX_MWH = 1000000;
export const FUELS = {
  LNG: metric('lng', 'MWh', 0, MAX_MWH, 86400),
  석탄: metric('coal', 'MWh', 0, MAX_MWH, 86400),
  유류: metric('oil', 'MWh', 0, MAX_MWH, 86400),
};

// Province (as written in the file) -> id suffix, English name, the seat of its government.
export const PROVINCES = {
  서울시: ['seoul', 'Seoul', 126.9780, 37.5665],
  부산시: ['busan', 'Busan', 129.0750, 35.1798],
  대구시: ['daegu', 'Daegu', 128.6017, 35.8714],
  인천시: ['incheon', 'Incheon', 126.7052, 37.4563],
  광주시: ['gwangju', 'Gwangju', 126.8514, 35.1595],
  대전시: ['daejeon', 'Daejeon', 127.3845, 36.3504],
  울산시: ['ulsan', 'Ulsan', 129.3114, 35.5384],
  세종시: ['sejong', 'Sejong', 127.2890, 36.4800],
  경기도: ['gyeonggi', 'Gyeonggi', 127.0096, 37.2752],
  강원도: ['gangwon', 'Gangwon', 127.7298, 37.8853],
  충청북도: ['chungbuk', 'North Chungcheong', 127.4914, 36.6357],
  충청남도: ['chungnam', 'South Chungcheong', 126.6728, 36.6588],
  전라북도: ['jeonbuk', 'North Jeolla', 127.1088, 35.8203],
  전라남도: ['jeonnam', 'South Jeolla', 126.4629, 34.8161],
  경상북도: ['gyeongbuk', 'North Gyeongsang', 128.5056, 36.5760],
  경상남도: ['gyeongnam', 'South Gyeongsang', 128.6924, 35.2383],
  제주도: ['jeju', 'Jeju', 126.4983, 33.4890],
};

export const sensorId = (province) => `kr-power-${PROVINCES[province][0]}`;

export function sensors(provinces = Object.keys(PROVINCES)) {
  return provinces.map((p) => {
    const [, en, lon, lat] = PROVINCES[p];
    return {
      id: sensorId(p),
      domain: 'energy',
      kind: 'thermal_generation',
      name: `${en} thermal generation (${p} 화력 발전량)`,
      location: point(lon, lat),
      metrics: Object.values(FUELS),
      attributes: {
        source: 'data.go.kr 15069345 (via github.com/SeojinSeojin/aai2009)',
        province: p,
        aggregate: 'daily generation of all thermal plants in the province, by fuel',
        timestamp: '00:00 Asia/Seoul of the trading day',
        location_precision: 'province seat of government',
      },
    };
  });
}

export function parse(table, report) {
  const col = columns(table.header, { date: '거래일자', province: '지역', fuel: '연료원', mwh: '발전량(MWh)' }, FILE);
  const out = [];
  const seen = new Map();
  const series = new Map(); // "sensor metric" -> instants
  const used = new Set();
  for (const { fields, line } of table.rows) {
    report.rowsRead++;
    const where = `line ${line}`;
    if (fields.length < table.header.length) { report.skip('row: too few fields', where); continue; }
    const [date, prov, fuel, mwh] = [col.date, col.province, col.fuel, col.mwh].map((i) => fields[i].trim());
    const wall = parseWall(date);
    if (wall === null) { report.skip('row: unparseable date', `${where} ${JSON.stringify(date)}`); continue; }
    if (!PROVINCES[prov]) { report.skip('row: unknown province', `${where} ${JSON.stringify(prov)}`); continue; }
    const def = FUELS[fuel];
    if (!def) { report.skip('row: unknown fuel', `${where} ${JSON.stringify(fuel)}`); continue; }
    const at = instant(report, TZ, wall, where);
    if (!at) continue;
    const key = `${date}|${prov}|${fuel}`;
    const prev = seen.get(key);
    if (prev !== undefined) {
      report.skip(prev === mwh ? 'row: duplicate row in file' : 'row: conflicting duplicate (kept the first)', `${where} ${key}`);
      continue;
    }
    seen.set(key, mwh);
    const sensor = sensorId(prov);
    if (pushValue(report, out, { sensor, def, t: at.t, ts: at.ts, raw: mwh, where: `${where} ${key}` })) {
      used.add(prov);
      const k = `${sensor} ${def.name}`;
      if (!series.has(k)) series.set(k, []);
      series.get(k).push(at.t);
    }
  }
  const fmt = (ms) => fixedOffsetFormatter(540)(ms).slice(0, 10);
  const spans = new Map();
  for (const [k, ts] of [...series].sort()) {
    const s = findGaps(report, k, ts, 86400000, 'days', fmt);
    spans.set(k, { first: s.first, last: s.last, n: new Set(ts).size });
  }
  coverageNotes(report, spans, fmt, 'days');
  report.readingsParsed = out.length;
  report.provinces = [...used];
  return out;
}

export function load(dataDir) {
  const report = new Report(name);
  const table = loadCsv(report, dataDir, FILE, 'cp949');
  const readings = parse(table, report);
  return { report, readings, sensors: sensors(report.provinces) };
}
