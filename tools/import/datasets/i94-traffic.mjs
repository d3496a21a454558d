// i94-traffic: hourly westbound traffic volume at MnDOT ATR station 301 on I-94 between
// Minneapolis and St Paul, with OpenWeatherMap weather, 2012-10-02 .. 2018-09-30
// (i94-traffic/Metro_Interstate_Traffic_Volume.csv, UCI "Metro Interstate Traffic Volume").
//
// Times are local wall-clock times in America/Chicago. Each becomes an instant with the offset in
// force (-06:00 CST, -05:00 CDT). In the hour repeated when clocks go back (01:00-01:59 on the first
// Sunday of November) the FIRST (CDT, -05:00) instant is used: the file has one traffic figure per
// local hour, so it cannot tell the two apart; a second row with the same local time is a
// duplicate. A local time that does not exist (02:00-02:59 when clocks go forward) is skipped
// (none is in the file). Gaps are measured between instants, so a DST change is not a gap.
//
// Quirks: a timestamp appears once per weather condition (rain + mist + ...): the first row of a
// timestamp is kept, the others are counted as duplicates (traffic_volume never differs between
// them; temperature, rain or clouds sometimes do, and the first row's value is kept). Temperature is
// in kelvin and stored in °C. Weather condition names (weather_main/description) and the holiday
// name are text and are not imported.
import { Report, findGaps } from '../lib/report.mjs';
import { loadCsv, metric, point, instant, pushValue, columns } from '../lib/dataset.mjs';
import { parseWall, rfc3339, offsetMinutes } from '../lib/time.mjs';

export const name = 'i94-traffic';
export const TZ = 'America/Chicago';
export const FILE = 'i94-traffic/Metro_Interstate_Traffic_Volume.csv';
export const TRAFFIC = 'i94-westbound-atr301';
export const WEATHER = 'i94-weather-minneapolis';

// Outlier rules: traffic_volume outside [0, 10,000] vehicles/hour (four lanes at ~2,000 veh/h/lane
// is about 8,000); temperature exactly 0 K (a missing value written as 0) or outside -50..50 °C;
// rain_1h above 300 mm (about the world record for one hour; the file has a 9,831.3 mm row);
// snow_1h above 100 mm; clouds_all outside 0..100 %.
export const M = {
  volume: metric('traffic_volume', 'veh/h', 0, 10000, 3600),
  temp: metric('temp', '°C', -50, 50, 3600),
  rain: metric('rain_1h', 'mm', 0, 300, 3600),
  snow: metric('snow_1h', 'mm', 0, 100, 3600),
  clouds: metric('clouds_all', '%', 0, 100, 3600),
};

export function sensors() {
  const attributes = {
    source: 'UCI Metro Interstate Traffic Volume, CC BY 4.0 (via github.com/CodyTheCoderPrice/Finding-Heavy-Traffic-Indicators-on-I94)',
    timestamp: 'start of the hour, America/Chicago local time',
  };
  return [
    {
      id: TRAFFIC,
      domain: 'mobility',
      kind: 'traffic_counter',
      name: 'I-94 westbound, MnDOT ATR 301 (Minneapolis-St Paul)',
      // ATR 301 is on I-94 roughly midway between downtown Minneapolis and downtown St Paul.
      location: point(-93.2014, 44.9665),
      metrics: [M.volume],
      attributes: { ...attributes, direction: 'westbound', station: 'MnDOT ATR 301', location_precision: 'approximate (about 1 km)' },
    },
    {
      id: WEATHER,
      domain: 'environment',
      kind: 'weather',
      name: 'Minneapolis weather (OpenWeatherMap)',
      location: point(-93.2650, 44.9778), // downtown Minneapolis
      metrics: [M.temp, M.rain, M.snow, M.clouds],
      attributes: { ...attributes, location_precision: 'city' },
    },
  ];
}

export function parse(table, report) {
  const col = columns(table.header, {
    time: 'date_time', volume: 'traffic_volume', temp: 'temp', rain: 'rain_1h', snow: 'snow_1h', clouds: 'clouds_all',
  }, FILE);
  const out = [];
  const seen = new Map(); // wall time text -> {volume, weather}
  const instants = { [TRAFFIC]: [], [WEATHER]: [] };
  let weatherDiffers = 0;
  let ambiguous = 0;
  const zero = (n) => (n === 0 ? 'temp 0 K (missing value written as 0)' : null);
  for (const { fields, line } of table.rows) {
    report.rowsRead++;
    const where = `line ${line}`;
    if (fields.length < table.header.length) { report.skip('row: too few fields', where); continue; }
    const rawTime = fields[col.time].trim();
    const wall = parseWall(rawTime);
    if (wall === null) { report.skip('row: unparseable time', `${where} ${JSON.stringify(rawTime)}`); continue; }
    const volume = fields[col.volume].trim();
    const weather = [col.temp, col.rain, col.snow, col.clouds].map((i) => fields[i].trim()).join('|');
    const prev = seen.get(wall);
    if (prev) {
      if (prev.volume === volume) {
        report.skip('row: duplicate hour (one row per weather condition; first kept)', `${where} ${rawTime}`);
        if (prev.weather !== weather) weatherDiffers++;
      } else {
        report.skip('row: conflicting duplicate hour (different traffic_volume; first kept)', `${where} ${rawTime}`);
      }
      continue;
    }
    const at = instant(report, TZ, wall, where);
    if (!at) continue;
    if (at.status === 'ambiguous') ambiguous++;
    seen.set(wall, { volume, weather });
    const ctx = `${where} ${rawTime}`;
    if (pushValue(report, out, { sensor: TRAFFIC, def: M.volume, t: at.t, ts: at.ts, raw: volume, where: ctx })) instants[TRAFFIC].push(at.t);
    let anyWeather = false;
    anyWeather = pushValue(report, out, {
      sensor: WEATHER, def: M.temp, t: at.t, ts: at.ts, raw: fields[col.temp], where: ctx,
      outlier: zero, convert: (k) => Math.round((k - 273.15) * 100) / 100,
    }) || anyWeather;
    anyWeather = pushValue(report, out, { sensor: WEATHER, def: M.rain, t: at.t, ts: at.ts, raw: fields[col.rain], where: ctx }) || anyWeather;
    anyWeather = pushValue(report, out, { sensor: WEATHER, def: M.snow, t: at.t, ts: at.ts, raw: fields[col.snow], where: ctx }) || anyWeather;
    anyWeather = pushValue(report, out, { sensor: WEATHER, def: M.clouds, t: at.t, ts: at.ts, raw: fields[col.clouds], where: ctx }) || anyWeather;
    if (anyWeather) instants[WEATHER].push(at.t);
  }
  if (weatherDiffers) report.note(`${weatherDiffers} of the duplicate-hour rows differ from the first row in temp/rain/snow/clouds (the first row's values are kept)`);
  if (ambiguous) report.note(`${ambiguous} local times fall in the hour repeated when clocks go back; stamped with the first (CDT, -05:00) offset`);
  report.note('temp converted from kelvin to °C; weather_main, weather_description and holiday (text) not imported');
  // Gaps are measured between instants and shown in local time.
  const local = (ms) => rfc3339(ms, offsetMinutes(TZ, ms));
  findGaps(report, TRAFFIC, instants[TRAFFIC], 3600000, 'hours', local);
  report.readingsParsed = out.length;
  return out;
}

export function load(dataDir) {
  const report = new Report(name);
  const table = loadCsv(report, dataDir, FILE, 'utf-8');
  const readings = parse(table, report);
  return { report, readings, sensors: sensors() };
}
