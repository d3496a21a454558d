// Each data set's quirks, on the real files in ../shared/data (skipped when that folder is absent),
// plus small made-up inputs for the cases the real files do not have.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readTable } from '../../tools/import/lib/csv.mjs';
import { Report } from '../../tools/import/lib/report.mjs';
import { loadDataset } from '../../tools/import/maeul-import.mjs';
import * as seoulAir from '../../tools/import/datasets/seoul-air.mjs';
import * as krPower from '../../tools/import/datasets/kr-power.mjs';
import * as subway from '../../tools/import/datasets/seoul-subway.mjs';
import * as i94 from '../../tools/import/datasets/i94-traffic.mjs';
import * as adl from '../../tools/import/datasets/ordonez-adl.mjs';
import { DATA_DIR, needData } from './helpers.mjs';

const ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
const METRIC = /^[a-z][a-z0-9_]{0,63}$/;
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}$/;
const skipped = (report, reason) => report.skipped.get(reason)?.count ?? 0;

// Every reading well formed, every sensor valid and covering its readings' metrics; no two readings
// share (sensor, metric, ts).
function checkShape(readings, sensors) {
  const byId = new Map(sensors.map((s) => [s.id, new Map(s.metrics.map((m) => [m.name, m]))]));
  const keys = new Set();
  for (const s of sensors) {
    assert.match(s.id, ID);
    assert.ok(['mobility', 'energy', 'welfare', 'disaster', 'environment'].includes(s.domain), s.id);
    assert.equal(s.location.type, 'Point');
    const [lon, lat] = s.location.coordinates;
    assert.ok(lon >= -180 && lon <= 180 && lat >= -90 && lat <= 90, s.id);
    assert.ok(typeof s.name === 'string' && Buffer.byteLength(s.name) <= 200, s.id);
    for (const m of s.metrics) { assert.match(m.name, METRIC); assert.ok(m.unit, `${s.id} ${m.name} unit`); }
  }
  for (const r of readings) {
    const metrics = byId.get(r.sensor);
    assert.ok(metrics, `sensor ${r.sensor} is created`);
    const m = metrics.get(r.metric);
    assert.ok(m, `${r.sensor} has metric ${r.metric}`);
    assert.match(r.ts, RFC3339);
    assert.equal(Date.parse(r.ts), r.t, r.ts);
    assert.ok(Number.isFinite(r.value));
    if (m.min !== undefined) assert.ok(r.value >= m.min, `${r.sensor} ${r.metric} ${r.value} >= min`);
    if (m.max !== undefined) assert.ok(r.value <= m.max, `${r.sensor} ${r.metric} ${r.value} <= max`);
    const k = `${r.sensor}|${r.metric}|${r.t}`;
    assert.ok(!keys.has(k), `one reading per (sensor, metric, ts): ${k}`);
    keys.add(k);
  }
}

// ---------------------------------------------------------------- seoul-air
test('seoul-air (real file): hours 01..24, "24:00" -> next day 00:00, duplicates, "-", gaps', needData, () => {
  const { report, readings, sensors } = loadDataset('seoul-air', DATA_DIR);
  assert.equal(report.rowsRead, 43800);
  assert.equal(report.files[0].bom, false);
  assert.equal(readings.length, 262655);
  assert.equal(readings[0].ts, '2018-01-01T01:00:00+09:00');
  assert.equal(readings.at(-1).ts, '2023-01-01T00:00:00+09:00', 'the last row, 2022-12-31 24:00');
  assert.ok(!readings.some((r) => /T24:/.test(r.ts)));
  // hour 24 of each day becomes 00:00 of the next: 1,824 such hours, 6 metrics each
  const midnight = readings.filter((r) => r.ts.includes('T00:00:00'));
  assert.equal(midnight.length, 1824 * 6);
  assert.ok(report.notes.some((n) => n.startsWith('1824 rows stamped "24:00"')));
  assert.equal(skipped(report, 'row: duplicate row in file (same hour, same values)'), 24, '2019-12-01 appears twice');
  assert.equal(skipped(report, 'value: empty value "-" (co)'), 1);
  const g = report.gaps.find((x) => x.series === seoulAir.SENSOR);
  assert.equal(g.count, 2);
  assert.equal(g.missing, 48);
  assert.deepEqual(g.largest.map((x) => x.from).sort(), ['2019-12-07T01:00:00+09:00', '2020-02-29T01:00:00+09:00']);
  // the mislabeled column is no2
  const first = readings.filter((r) => r.ts === '2018-01-01T01:00:00+09:00');
  assert.deepEqual(Object.fromEntries(first.map((r) => [r.metric, r.value])), { pm25: 17, pm10: 31, o3: 0.018, no2: 0.021, co: 0.4, so2: 0.005 });
  checkShape(readings, sensors);
});

test('seoul-air (made up): conflicting duplicate, outliers, unparseable and impossible times', () => {
  const text = [',일시,초미세먼지,미세먼지,오존,이산화탄소,일산화탄소,아황산가스',
    '0,2018-01-01 23:00,10,20,0.01,0.02,0.3,0.004',
    '1,2018-01-01 24:00,11,21,0.01,0.02,0.3,0.004',
    '2,2018-01-02 00:00,99,21,0.01,0.02,0.3,0.004', // same instant as 24:00 above, other values
    '3,2018-01-02 01:00,-5,2500,0.01,abc,,0.004',
    '4,2018-01-02 24:30,1,1,0.01,0.02,0.3,0.004',
    '5,2018/01/02 03:00,1,1,0.01,0.02,0.3,0.004',
    '6,2018-01-02 05:00,1,1',
    '7,2018-01-02 06:00,1,1,0.01,0.02,0.3,0.004'].join('\n');
  const report = new Report('seoul-air');
  const out = seoulAir.parse(readTable(text), report);
  assert.equal(skipped(report, 'row: conflicting duplicate hour (kept the first)'), 1);
  assert.equal(skipped(report, 'value: outlier: negative pm25'), 1);
  assert.equal(skipped(report, 'value: outlier: pm10 above 2000 µg/m³'), 1);
  assert.equal(skipped(report, 'value: not a number (no2)'), 1);
  assert.equal(skipped(report, 'value: empty value (co)'), 1);
  assert.equal(skipped(report, 'row: unparseable time'), 2, '24:30 and 2018/01/02');
  assert.equal(skipped(report, 'row: too few fields'), 1);
  assert.equal(out.find((r) => r.metric === 'pm25' && r.ts === '2018-01-02T00:00:00+09:00').value, 11, 'first row kept');
  const g = report.gaps[0];
  assert.equal(g.count, 1);
  assert.equal(g.missing, 4, '02:00 to 05:00 missing between 01:00 and 06:00');
});

// ---------------------------------------------------------------- kr-power
test('kr-power (real file): CP949 decoded, padded header, 17 provinces, series coverage', needData, () => {
  const { report, readings, sensors } = loadDataset('kr-power', DATA_DIR);
  assert.equal(report.files[0].encoding, 'cp949');
  assert.equal(report.rowsRead, 54330);
  assert.equal(readings.length, 54330);
  assert.equal(report.skippedCount(), 0);
  assert.equal(sensors.length, 17);
  assert.deepEqual(new Set(sensors.map((s) => s.attributes.province)), new Set(Object.keys(krPower.PROVINCES)));
  assert.deepEqual(readings[0], { sensor: 'kr-power-gangwon', metric: 'lng', ts: '2018-01-01T00:00:00+09:00', value: 7003, t: Date.parse('2018-01-01T00:00:00+09:00') });
  assert.equal(report.gaps.length, 0);
  assert.equal(report.coverage.length, 3);
  assert.ok(report.coverage.some((c) => c.startsWith('kr-power-jeju lng: starts 2019-12-17')));
  checkShape(readings, sensors);
});

test('kr-power (made up): unknown fuel and province, negative and huge values, duplicates', () => {
  const text = ['거래일자,지역,연료원, 발전량(MWh) ', '2018-01-01,강원도,LNG,7003', '2018-01-01,강원도,LNG,7003',
    '2018-01-01,강원도,석탄,-1', '2018-01-01,강원도,유류,2000000', '2018-01-01,화성,LNG,1', '2018-01-01,강원도,원자력,5',
    '2018-01-03,강원도,LNG,7000'].join('\r\n');
  const report = new Report('kr-power');
  const out = krPower.parse(readTable(text), report);
  assert.equal(out.length, 2);
  assert.equal(skipped(report, 'row: duplicate row in file'), 1);
  assert.equal(skipped(report, 'value: outlier: negative coal'), 1);
  assert.equal(skipped(report, 'value: outlier: oil above 1000000 MWh'), 1);
  assert.equal(skipped(report, 'row: unknown province'), 1);
  assert.equal(skipped(report, 'row: unknown fuel'), 1);
  assert.equal(report.gaps[0].missing, 1, '2018-01-02 missing');
});

// ---------------------------------------------------------------- seoul-subway
test('seoul-subway (real file): BOM stripped, quoted fields, undeclared empty 7th field, ids', needData, () => {
  const { report, readings, sensors } = loadDataset('seoul-subway', DATA_DIR);
  assert.equal(report.files[0].bom, true);
  assert.equal(report.rowsRead, 19139);
  assert.equal(readings.length, 38278);
  assert.equal(report.skippedCount(), 0);
  assert.ok(report.notes.some((n) => n.startsWith('19139 rows carry a 7th, empty field')));
  assert.equal(sensors.length, 621);
  assert.equal(new Set(sensors.map((s) => s.id)).size, 621, 'ids are unique');
  const gangnam = sensors.find((s) => s.id === 'seoul-subway-l2-gangnam');
  assert.equal(gangnam.attributes.station, '강남');
  const sum = readings.filter((r) => r.sensor === 'seoul-subway-l2-gangnam' && r.metric === 'boardings').reduce((a, r) => a + r.value, 0);
  assert.equal(sum, 2304701);
  assert.ok(sensors.every((s) => s.attributes.location_precision.startsWith('approximate')), 'every station has a position');
  assert.equal(report.gaps.length, 7);
  assert.equal(report.gaps.reduce((a, g) => a + g.count, 0), 25);
  assert.ok(report.coverage.some((c) => c.startsWith('seoul-subway-l7-kkachiul: starts 2025-05-17, ends 2025-05-17')));
  checkShape(readings, sensors);
});

test('seoul-subway (made up): extra non-empty field, duplicates, bad counts', () => {
  const text = '\ufeff"사용일자","노선명","역명","승차총승객수","하차총승객수","등록일자"\n' +
    '"20250501","2호선","강남","100","90","20250504",""\n' +
    '"20250501","2호선","강남","100","90","20250504",""\n' +
    '"20250501","2호선","역삼","100","90","20250504","x"\n' +
    '"20250501","2호선","선릉","-3","","20250504",""\n' +
    '"2025-05-02","2호선","강남","1","1","20250504",""\n';
  const report = new Report('seoul-subway');
  const out = subway.parse(readTable(text.replace(/^\ufeff/, '')), report);
  assert.equal(out.length, 4);
  assert.equal(skipped(report, 'row: duplicate row in file'), 1);
  assert.equal(skipped(report, 'row: extra non-empty fields'), 1);
  assert.equal(skipped(report, 'value: outlier: negative boardings'), 1);
  assert.equal(skipped(report, 'value: empty value (alightings)'), 1);
  assert.equal(out.at(-1).ts, '2025-05-02T00:00:00+09:00');
});

// ---------------------------------------------------------------- i94-traffic
test('i94-traffic (real file): duplicate hours, 0 K and 9831 mm outliers, gaps, DST', needData, () => {
  const { report, readings, sensors } = loadDataset('i94-traffic', DATA_DIR);
  assert.equal(report.rowsRead, 48204);
  assert.equal(skipped(report, 'row: duplicate hour (one row per weather condition; first kept)'), 7629);
  assert.equal(skipped(report, 'value: outlier: temp 0 K (missing value written as 0)'), 10);
  assert.equal(skipped(report, 'value: outlier: rain_1h above 300 mm'), 1);
  const volume = readings.filter((r) => r.metric === 'traffic_volume');
  assert.equal(volume.length, 48204 - 7629);
  assert.equal(readings.length, 202864);
  const g = report.gaps.find((x) => x.series === i94.TRAFFIC);
  assert.equal(g.count, 2588);
  assert.equal(g.missing, 11976);
  assert.equal(g.over_day, 12, 'README: 12 gaps > 1 day');
  const ts = (local) => volume.find((r) => r.ts.startsWith(local))?.ts;
  assert.equal(ts('2012-10-02T09:00'), '2012-10-02T09:00:00-05:00', 'CDT');
  assert.equal(ts('2012-12-03T09:00'), '2012-12-03T09:00:00-06:00', 'CST');
  assert.equal(ts('2012-11-04T01:00'), '2012-11-04T01:00:00-05:00', 'repeated hour: first instant');
  assert.equal(ts('2013-03-10T03:00'), '2013-03-10T03:00:00-05:00');
  assert.ok(!volume.some((r) => r.ts.startsWith('2013-03-10T02:')), 'no reading in the skipped hour');
  const temp = readings.find((r) => r.metric === 'temp' && r.ts === '2012-10-02T09:00:00-05:00');
  assert.equal(temp.value, 15.13, '288.28 K in °C');
  checkShape(readings, sensors);
});

test('i94-traffic (made up): nonexistent local time, conflicting duplicate hour, bad volume', () => {
  const h = 'holiday,temp,rain_1h,snow_1h,clouds_all,weather_main,weather_description,date_time,traffic_volume';
  const text = [h, 'None,280,0,0,40,Clouds,x,2013-03-10 01:00:00,500', 'None,280,0,0,40,Clouds,x,2013-03-10 02:00:00,600',
    'None,280,0,0,40,Clouds,x,2013-03-10 03:00:00,700', 'None,280,0,0,40,Rain,x,2013-03-10 03:00:00,701',
    'None,280,0,0,40,Clouds,x,2013-03-10 04:00:00,-1', 'None,280,0,0,140,Clouds,x,2013-03-10 05:00:00,20000'].join('\n');
  const report = new Report('i94-traffic');
  const out = i94.parse(readTable(text), report);
  assert.equal(skipped(report, 'row: nonexistent local time (clocks went forward)'), 1);
  assert.equal(skipped(report, 'row: conflicting duplicate hour (different traffic_volume; first kept)'), 1);
  assert.equal(skipped(report, 'value: outlier: negative traffic_volume'), 1);
  assert.equal(skipped(report, 'value: outlier: traffic_volume above 10000 veh/h'), 1);
  assert.equal(skipped(report, 'value: outlier: clouds_all above 100 %'), 1);
  const vols = out.filter((r) => r.metric === 'traffic_volume').map((r) => r.ts);
  assert.deepEqual(vols, ['2013-03-10T01:00:00-06:00', '2013-03-10T03:00:00-05:00']);
  assert.equal(report.gaps.length, 0, '01:00 CST to 03:00 CDT is one hour: no gap');
});

// ---------------------------------------------------------------- ordonez-adl
test('ordonez-adl (real files): padded tabs, CRLF, intervals as 1/0, outliers', needData, () => {
  const { report, readings, sensors } = loadDataset('ordonez-adl', DATA_DIR);
  assert.equal(report.rowsRead, 409 + 248 + 2334 + 493);
  assert.equal(skipped(report, 'row: outlier: end before start (activity label)'), 3);
  assert.equal(skipped(report, 'row: outlier: starts more than an hour before the previous row (sensor event)'), 2);
  assert.equal(skipped(report, 'row: zero-length interval (sensor event)'), 1);
  assert.equal(skipped(report, 'row: overlaps an earlier interval of the same activity (merged)'), 1);
  assert.equal(readings.length, 2 * (report.rowsRead - 7));
  assert.equal(readings.filter((r) => r.value === 1).length, readings.length / 2);
  assert.equal(sensors.length, 26);
  assert.ok(sensors.some((s) => s.id === 'adl-home-a-kitchen-cooktop-pir'));
  const act = sensors.find((s) => s.id === 'adl-home-b-activity');
  assert.deepEqual(act.metrics.map((m) => m.name), ['breakfast', 'dinner', 'grooming', 'leaving', 'lunch', 'showering', 'sleeping', 'snack', 'spare_time_tv', 'toileting']);
  const bed = readings.filter((r) => r.sensor === 'adl-home-a-bedroom-bed-pressure');
  assert.deepEqual(bed.slice(0, 2).map((r) => [r.ts, r.value]), [['2011-11-28T02:27:59+09:00', 1], ['2011-11-28T10:18:11+09:00', 0]]);
  checkShape(readings, sensors);
});

test('ordonez-adl (made up): another zone; touching intervals merge; long events are outliers', () => {
  const head = 'Start time          \tEnd time            \tLocation\tType\t\tPlace\r\n--------\t--------\t----\t----\t---\r\n';
  const sensorsText = head +
    '2011-11-28 10:00:00\t2011-11-28 10:05:00\t\tBasin\t\tPIR\t\tBathroom\r\n' +
    '2011-11-28 10:05:00\t\t2011-11-28 10:06:00\tBasin\tPIR\tBathroom \r\n' +
    '\r\n' +
    '2011-11-28 11:00:00\t2011-11-30 11:00:00\tSeat\tPressure\tLiving\r\n' +
    '2011-11-28 12:00:00\tnot a time\tSeat\tPressure\tLiving\r\n';
  const adlsText = 'Start time\tEnd time\tActivity\r\n--\t--\t--\r\n2011-11-28 10:00:00\t\t2011-11-28 10:06:00\t \tGrooming\t\r\n';
  const report = new Report('ordonez-adl');
  const r = adl.parseHome('A', sensorsText, adlsText, report, 'Europe/Madrid');
  assert.equal(skipped(report, 'row: overlaps an earlier interval of the same sensor (merged)'), 1);
  assert.equal(skipped(report, 'row: outlier: longer than 24 hours (sensor event)'), 1);
  assert.equal(skipped(report, 'row: unparseable time'), 1);
  assert.equal(skipped(report, 'row: blank line'), 1);
  const basin = r.readings.filter((x) => x.sensor === 'adl-home-a-bathroom-basin-pir').map((x) => [x.ts, x.value]);
  assert.deepEqual(basin, [['2011-11-28T10:00:00+01:00', 1], ['2011-11-28T10:06:00+01:00', 0]]);
  assert.deepEqual([...r.activities], ['grooming']);
});
