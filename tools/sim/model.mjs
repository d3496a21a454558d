// The maeul-sim world model: plausible readings for every sensor of a Maeul world, as a pure function of
// (seed, sensor, metric, time, scenarios). No clocks, no I/O, no Math.random(): the same inputs always give the
// same value, so a run is reproducible from its --seed and tests can ask for any instant.
//
// Time is UTC milliseconds; the city's calendar is Korea Standard Time (sun.mjs). Scenarios are plain objects
// (scenarios.mjs makes them): {name, zone, sensor, corridor, start, duration, end, stopAt}, times in ms of the same
// simulated clock. See docs/simulator.md for what each kind of sensor does.

import { hashString, hashInts, u01, gauss, valueNoise, poisson, clamp, smoothstep } from './rand.mjs';
import { sunElevation, clearSkyGhi, localTime } from './sun.mjs';

const MIN = 60e3, HOUR = 3600e3, DAY = 86400e3;

// What the zones of the Sokcho demo world are like. Any other zone id gets DEFAULT_ZONE.
//   tourism: share of activity driven by visitors; beach/foliage: how much summer/autumn peaks apply;
//   rain: orographic factor; temp: offset in °C; coastal: damped daily temperature swing.
export const ZONE_PROFILES = {
  seorak: { tourism: 0.9, beach: 0, foliage: 1.3, urban: 0.3, rain: 1.3, temp: -1.2, coastal: false },
  cheongcho: { tourism: 0.45, beach: 1.2, foliage: 0.2, urban: 0.85, rain: 1.0, temp: 0, coastal: true },
  downtown: { tourism: 0.35, beach: 0.4, foliage: 0.3, urban: 1.0, rain: 1.0, temp: 0.2, coastal: true },
  daepo: { tourism: 0.35, beach: 0.9, foliage: 0.2, urban: 0.55, rain: 1.05, temp: 0, coastal: true },
  station: { tourism: 0.1, beach: 0.1, foliage: 0.1, urban: 0.9, rain: 1.0, temp: 0, coastal: false },
};
const DEFAULT_ZONE = { tourism: 0.2, beach: 0.3, foliage: 0.3, urban: 0.7, rain: 1.0, temp: 0, coastal: false };

// Sites (attributes.site or corridor names) that draw visitors wherever they are.
const TOURIST_SITES = /beach|market|abai|sogongwon|resort|expo|oeongchi|port|seorak/i;

// Monthly climate of Sokcho (approximate): chance that a 12-hour spell is wet, cloud cover, relative humidity.
const WET_SPELL_P = [0.14, 0.14, 0.17, 0.18, 0.2, 0.26, 0.4, 0.38, 0.3, 0.18, 0.17, 0.13];
const CLOUD_BASE = [0.3, 0.32, 0.4, 0.42, 0.45, 0.58, 0.7, 0.62, 0.52, 0.38, 0.36, 0.3];
const RH_BASE = [52, 54, 57, 60, 67, 78, 84, 84, 78, 67, 59, 53];

// Flood stages used when a water_level sensor has no warning_m/danger_m attributes: shares of the metric's max.
const STAGE_SHARES = { attention: 0.25, warning: 0.33, danger: 0.5 };

const bump = (x, mu, sd) => Math.exp(-0.5 * ((x - mu) / sd) ** 2);
// Circular bump over the day of the year.
const seasonBump = (doy, mu, sd) => {
  let d = Math.abs(doy - mu);
  d = Math.min(d, 365 - d);
  return Math.exp(-0.5 * (d / sd) ** 2);
};

export function createModel(opts = {}) {
  return new Model(opts);
}

export class Model {
  constructor({ seed = 42, sensors = [] } = {}) {
    this.seed = Number(seed) >>> 0;
    this.sensors = new Map();
    this.setSensors(sensors);
  }

  key(name) {
    const keys = this.keys || (this.keys = new Map());  // a cache: the same value, without hashing again
    let k = keys.get(name);
    if (k === undefined) keys.set(name, k = hashInts(this.seed, hashString(name)));
    return k;
  }

  // Replaces the sensor list (as returned by GET /api/v1/sensors). Derived state of sensors that stay is kept.
  setSensors(list) {
    const next = new Map();
    for (const raw of list) {
      const old = this.sensors.get(raw.id);
      const s = this.#prepare(raw);
      if (old && old.cum) s.cum = old.cum;
      next.set(raw.id, s);
    }
    this.sensors = next;
    this.corridorCache = null;
  }

  #prepare(raw) {
    const h = hashString(raw.id);
    const coords = raw.location && Array.isArray(raw.location.coordinates) ? raw.location.coordinates : [128.59, 38.2];
    const metrics = new Map();
    for (const m of raw.metrics || []) metrics.set(m.name, m);
    const attrs = raw.attributes || {};
    const zone = raw.zone ?? null;
    const zp = ZONE_PROFILES[zone] || DEFAULT_ZONE;
    const site = String(attrs.site ?? attrs.corridor ?? attrs.segment ?? '');
    const p = (i) => u01(this.seed, h, i);  // stable per-sensor parameters
    return {
      id: raw.id, kind: raw.kind, domain: raw.domain, zone, zp, attrs, metrics, h, p,
      lon: Number(coords[0]) || 128.59, lat: Number(coords[1]) || 38.2,
      site, touristSite: TOURIST_SITES.test(site) || TOURIST_SITES.test(String(attrs.corridor || '')),
    };
  }

  zones() {
    return [...new Set([...this.sensors.values()].map((s) => s.zone).filter((z) => z != null))].sort();
  }

  // --- scenario helpers ----------------------------------------------------------------------------

  // Corridors: traffic_corridor sensors grouped by attributes.corridor (or by zone when it is missing), each
  // with the bus_stop_counter sensors within 700 m of one of its segments (or, if none, in the same zones).
  corridors() {
    if (this.corridorCache) return this.corridorCache;
    const out = new Map();
    const stops = [...this.sensors.values()].filter((s) => s.kind === 'bus_stop_counter');
    for (const s of this.sensors.values()) {
      if (s.kind !== 'traffic_corridor') continue;
      const name = corridorName(s);
      if (!out.has(name)) out.set(name, { name, segments: [], stops: [], zones: new Set() });
      const c = out.get(name);
      c.segments.push(s.id);
      if (s.zone) c.zones.add(s.zone);
    }
    for (const c of out.values()) {
      const segs = c.segments.map((id) => this.sensors.get(id));
      let near = stops.filter((b) => segs.some((g) => distanceM(b, g) <= 700));
      if (near.length === 0) near = stops.filter((b) => c.zones.has(b.zone));
      c.stops = near.map((b) => b.id).sort();
      c.segments.sort();
      c.zones = [...c.zones].sort();
    }
    this.corridorCache = out;
    return out;
  }

  #corridorOf(s) {
    if (s.kind === 'traffic_corridor') return corridorName(s);
    return null;
  }

  #inBreakdown(s, t, scen) {
    for (const sc of scen) {
      if (sc.name !== 'breakdown' || !active(sc, t)) continue;
      const c = this.corridors().get(sc.corridor);
      if (!c) continue;
      if (s.kind === 'traffic_corridor' && this.#corridorOf(s) === sc.corridor) return true;
      if (s.kind === 'bus_stop_counter' && c.stops.includes(s.id)) return true;
    }
    return false;
  }

  // --- the public entry point ----------------------------------------------------------------------

  // The reading of `metric` of sensor `id` at time t (ms), rounded and within the metric's min/max;
  // null when the sensor does not report then (unknown, or silenced by a scenario).
  value(id, metric, t, scen = []) {
    const s = typeof id === 'string' ? this.sensors.get(id) : id;
    if (!s) return null;
    const m = s.metrics.get(metric);
    if (!m) return null;
    if (this.isSilent(s.id, t, scen)) return null;
    let v;
    try {
      v = this.raw(s, metric, t, scen, m);
    } catch {
      v = undefined;
    }
    if (v === undefined || v === null || !Number.isFinite(v)) v = this.#generic(s, m, t);
    return finish(v, m);
  }

  isSilent(id, t, scen) {
    return scen.some((sc) => sc.name === 'silent' && sc.sensor === id && active(sc, t));
  }

  raw(s, metric, t, scen, m = s.metrics.get(metric)) {
    const lt = localTime(t);
    switch (s.kind) {
      case 'bus_stop_counter': return this.busStop(s, metric, t, lt, scen);
      // People who boarded the buses of the GTFS network (bus.mjs, this.bus) at the stop in the hour before t.
      case 'bus_boardings': return this.bus ? this.bus.boardings(String(s.attrs.gtfs_stop_id ?? ''), t - HOUR, t, scen) : 0;
      case 'traffic_corridor': return this.traffic(s, t, lt, scen)[metric];
      case 'bike_dock': return this.bikeDock(s, metric, t, lt, scen, m);
      case 'parking_lot': return this.parking(s, metric, t, lt, m);
      case 'smart_meter':
        if (metric === 'power_kw') return this.meterPower(s, t, true);
        if (metric === 'energy_kwh') return this.cumulative(s, t, (x) => this.meterPower(s, x, false));
        return undefined;
      case 'solar_pv':
        if (metric === 'power_kw') return this.pvPower(s, t, scen, m);
        if (metric === 'energy_kwh') return this.cumulative(s, t, (x) => this.pvPower(s, x, [], m));
        return undefined;
      case 'ess': return this.ess(s, t, lt)[metric];
      case 'ev_charger': return this.evCharger(s, t, lt, m)[metric];
      case 'home_activity': return this.home(s, metric, t, m, scen);
      case 'emergency_button':
        if (metric === 'pressed') return 0;
        if (metric === 'battery_pct') return 100 - 82 * (((t / DAY) + s.p(1) * 400) % 400) / 400;
        return undefined;
      case 'water_level': return this.waterLevel(s, t, scen, m);
      case 'tide_gauge': return this.tide(s, t, scen);
      case 'rain_gauge': return this.rainGauge(s, t, scen, m);
      case 'fire_weather': return this.fireWeather(s, t, scen)[metric];
      case 'seismic': return 0.03 + 0.12 * this.activity(s, t, lt) + 0.08 * -Math.log(1 - u01(this.seed, s.h, Math.floor(t / MIN)) * 0.999);
      case 'air_quality': return this.airQuality(s, t, lt, scen)[metric];
      case 'noise': return this.noise(s, t, lt, scen);
      default: return undefined;
    }
  }

  // Anything the model does not know: a slow wander inside the metric's range (or 0..100).
  #generic(s, m, t) {
    const lo = Number.isFinite(m.min) ? m.min : 0;
    const hi = Number.isFinite(m.max) ? m.max : lo + 100;
    const n = valueNoise(hashInts(this.seed, s.h, hashString(m.name)), t, 2 * HOUR);
    return lo + (hi - lo) * (0.2 + 0.4 * n);
  }

  // --- calendar: tourism --------------------------------------------------------------------------

  // Multiplier of visitor numbers for a zone profile at local time lt: weekends and holidays, Fridays,
  // the beach season (mid-July to mid-August), the Seorak autumn foliage (mid-October), quiet winters.
  tourismFactor(zp, lt) {
    const week = lt.offDay ? 2.3 : lt.dow === 5 ? 1.3 : 1.0;
    const summer = seasonBump(lt.doy, 212, 18);  // around 1 August
    const foliage = seasonBump(lt.doy, 292, 12);  // around 20 October
    const winter = seasonBump(lt.doy, 20, 30);
    return week * (1 + summer * (0.5 + zp.beach) + foliage * zp.foliage - 0.25 * winter);
  }

  // --- weather ------------------------------------------------------------------------------------

  // City-wide natural rain rate (mm/h): wet spells of 12 hours, wet knots every 3 hours, hourly modulation.
  naturalRain(t) {
    const P = 3 * HOUR;
    const x = t / P, k = Math.floor(x), f = x - k;
    const g = f * f * (3 - 2 * f);
    const a = this.#rainKnot(k), b = this.#rainKnot(k + 1);
    const v = a + (b - a) * g;
    if (v <= 0) return 0;
    return v * (0.55 + 0.9 * valueNoise(this.key('rain-mod'), t, HOUR));
  }

  #rainKnot(k) {
    const knots = this.knots || (this.knots = new Map());  // a cache (pure function of seed and k)
    let v = knots.get(k);
    if (v === undefined) {
      if (knots.size > 100000) knots.clear();
      knots.set(k, v = this.#rainKnotOf(k));
    }
    return v;
  }

  #rainKnotOf(k) {
    const t = k * 3 * HOUR;
    const lt = localTime(t);
    const spell = Math.floor(k / 4);
    if (u01(this.seed, 11, spell) >= WET_SPELL_P[lt.month - 1]) return -1.5;
    if (u01(this.seed, 12, k) >= 0.8) return -0.5;
    const summer = lt.month >= 7 && lt.month <= 9 ? 1.6 : 1;
    return 0.3 + 11 * summer * u01(this.seed, 13, k) ** 2.5;
  }

  // Extra rain from flood scenarios in a zone: ramps to about 45 mm/h over the first 30 % of the scenario,
  // holds, and dies away over ~15 minutes once the scenario is removed.
  floodRain(zone, zp, t, scen) {
    let r = 0;
    for (const sc of scen) {
      if (sc.name !== 'flood' || !covers(sc, zone) || t < sc.start) continue;
      const ramp = (x) => smoothstep(0, 0.3, (x - sc.start) / sc.duration);
      let w = ramp(t);
      if (sc.end != null && t >= sc.end) w = ramp(sc.end) * Math.exp(-(t - sc.end) / (15 * MIN));
      r = Math.max(r, 45 * zp.rain * w * (0.85 + 0.3 * valueNoise(this.key(`flood-rain:${zone}`), t, 10 * MIN)));
    }
    return r;
  }

  zoneRain(zone, zp, t, scen = []) {
    const nat = this.naturalRain(t);
    const local = nat > 0 ? nat * zp.rain * (0.8 + 0.4 * valueNoise(this.key(`rain:${zone}`), t, HOUR)) : 0;
    return local + (scen.length ? this.floodRain(zone, zp, t, scen) : 0);
  }

  cloud(zone, zp, t, scen = []) {
    const lt = localTime(t);
    let c = CLOUD_BASE[lt.month - 1] + (valueNoise(this.key('cloud'), t, 3 * HOUR) - 0.5) * 1.0
      + (valueNoise(this.key(`cloud:${zone}`), t, HOUR) - 0.5) * 0.2;
    const rain = this.zoneRain(zone, zp, t, scen);
    if (rain > 0.05) c = Math.max(c, 0.8 + 0.2 * Math.min(1, rain / 4));
    return clamp(c, 0, 1);
  }

  // Yanggan wind (양간지풍): warm, dry west-southwest gales of the Yeongdong coast in spring, 0..1.
  foehn(t) {
    const lt = localTime(t);
    if (lt.doy < 55 || lt.doy > 140) return 0;
    const P = 2 * DAY, x = t / P, k = Math.floor(x);
    if (u01(this.seed, 21, k) >= 0.2) return 0;
    return Math.sin(Math.PI * (x - k)) * (0.5 + 0.5 * u01(this.seed, 22, k));
  }

  // Temperature, humidity, wind of a zone (without scenarios, which fireWeather applies).
  weather(zone, zp, t, scen = []) {
    const lt = localTime(t);
    const c = this.cloud(zone, zp, t, scen);
    const rain = this.zoneRain(zone, zp, t, scen);
    const fo = this.foehn(t);
    const daily = Math.cos((2 * Math.PI * (lt.hour - 14.5)) / 24);
    const tMean = 12.2 - 13 * Math.cos((2 * Math.PI * (lt.doy - 25)) / 365.25);
    const amp = 4.2 * (1 - 0.55 * c) * (zp.coastal ? 0.8 : 1);
    const temperature = tMean + zp.temp + (valueNoise(this.key('t-syn'), t, 36 * HOUR) - 0.5) * 7
      + (valueNoise(this.key(`t:${zone}`), t, 6 * HOUR) - 0.5) * 1.2 + amp * daily
      - Math.min(2.5, rain * 0.3) + 3.5 * fo;
    let rh = RH_BASE[lt.month - 1] - 16 * (1 - c) * Math.max(0, daily) + 8 * (1 - c) * Math.max(0, -daily)
      + (valueNoise(this.key('rh-syn'), t, 24 * HOUR) - 0.5) * 20 + Math.min(22, rain * 5) - 32 * fo;
    rh = clamp(rh, 12, 100);
    const seaBreeze = Math.max(0, Math.cos((2 * Math.PI * (lt.hour - 14)) / 24));
    let wind = 1.6 + 1.8 * seaBreeze + 6 * valueNoise(this.key('w-syn'), t, 18 * HOUR) ** 2
      + 9 * fo + Math.min(5, rain * 0.2) + (u01(this.seed, hashString(`gust:${zone}`), Math.floor(t / (5 * MIN))) - 0.5) * 1.4;
    if (zone === 'seorak') wind *= 1.1;
    wind = Math.max(0, wind);
    // Direction: sea breeze from the east-northeast by day, land breeze from the west at night,
    // north-westerlies in winter, west-southwest in a Yanggan wind.
    const winter = seasonBump(lt.doy, 15, 45);
    let dir = seaBreeze > 0.3 ? 70 : 265;
    dir = dir * (1 - 0.6 * winter) + 305 * 0.6 * winter;
    if (fo > 0.2) dir = 250;
    dir += (valueNoise(this.key(`wd:${zone}`), t, 2 * HOUR) - 0.5) * 60;
    dir = ((dir % 360) + 360) % 360;
    return { temperature, rh, wind, dir, cloud: c, rain };
  }

  fireWeather(s, t, scen) {
    const w = this.weather(s.zone, s.zp, t, scen);
    const out = { temperature_c: w.temperature, humidity_pct: w.rh, wind_ms: w.wind, wind_dir_deg: w.dir };
    if (scen.some((sc) => sc.name === 'wildfire' && covers(sc, s.zone) && active(sc, t))) {
      const slot = Math.floor(t / MIN);
      const r = (i) => u01(this.seed, s.h, 31 + i, slot);
      out.temperature_c = Math.max(out.temperature_c, 31.2 + 3.5 * r(0));
      out.humidity_pct = Math.min(out.humidity_pct, 12 + 14 * r(1));
      out.wind_ms = Math.max(out.wind_ms, 9 + 6 * r(2));
      out.wind_dir_deg = 230 + 40 * r(3);
    }
    return out;
  }

  // --- disaster -----------------------------------------------------------------------------------

  stages(s, m = s.metrics.get('level') || {}) {
    const max = Number.isFinite(m.max) ? m.max : 6;
    const warning = Number(s.attrs.warning_m) || max * STAGE_SHARES.warning;
    const danger = Number(s.attrs.danger_m) || max * STAGE_SHARES.danger;
    const attention = Number(s.attrs.attention_m) || Math.max(warning * 0.5, warning - 0.5);
    return { attention, warning, danger, max };
  }

  // River or lake level without scenarios: a per-site base, plus the zone's rain of the last 12 hours through
  // a unit hydrograph that peaks `lag` minutes after the rain (40..120 min, upstream sites sooner).
  naturalLevel(s, t, m) {
    const st = this.stages(s, m);
    const base = st.warning * (0.2 + 0.15 * s.p(2)) + 0.08 * seasonBump(localTime(t).doy, 215, 40);
    const lag = 40 + 80 * s.p(3);
    const gain = st.warning * (0.018 + 0.012 * s.p(4));  // metres per mm/h of sustained rain
    let acc = 0, wsum = 0;
    const step = 10;  // minutes
    for (let j = 0; j < 72; j++) {
      const lagMin = j * step;
      const w = (lagMin / lag) * Math.exp(1 - lagMin / lag) + 0.02;  // gamma-like, peak at lag
      wsum += w;
      acc += w * this.zoneRain(s.zone, s.zp, t - lagMin * MIN);
    }
    const ripple = (valueNoise(hashInts(this.seed, s.h, 5), t, 20 * MIN) - 0.5) * 0.02;
    return base + gain * (acc / wsum) + ripple;
  }

  // The level of a water_level sensor: natural, or under a flood scenario a monotonic climb from the level at
  // its start to above the danger stage (danger_m + 0.6 m, below the metric's max), reached before the end of
  // the scenario's duration (each site at its own pace, 80..100 % of it); then it stays there with small waves;
  // once the scenario is removed it recedes towards the natural level (time constant 20 minutes).
  waterLevel(s, t, scen, m) {
    const floods = scen.filter((sc) => sc.name === 'flood' && covers(sc, s.zone) && t >= sc.start);
    const natural = this.naturalLevel(s, t, m);
    if (floods.length === 0) return natural;
    const st = this.stages(s, m);
    const pace = 1 + 0.25 * s.p(6);
    let best = -Infinity;
    for (const sc of floods) {
      const l0 = this.naturalLevel(s, sc.start, m);
      const peak = Math.max(l0 + 0.3, Math.min(st.max - 0.15, st.danger + 0.6));
      const climb = (x) => {
        const u = clamp(((x - sc.start) / sc.duration) * pace, 0, 1);
        return l0 + (peak - l0) * 0.5 * (u + u * u);
      };
      let v;
      if (sc.end == null || t < sc.end) {
        v = climb(t);
        if (t > sc.start + sc.duration) v += 0.04 * Math.sin(t / (47 * 1000) + s.p(7) * 6) - 0.04;
      } else {
        const atEnd = climb(sc.end);
        v = natural + Math.max(0, atEnd - this.naturalLevel(s, sc.end, m)) * Math.exp(-(t - sc.end) / (20 * MIN));
      }
      best = Math.max(best, v);
    }
    return anyActive(floods, t) ? best : Math.max(natural, best);
  }

  // Sea level at a port: the East Sea's small semi-diurnal tide, weather noise, a surge during a flood.
  tide(s, t, scen) {
    const m2 = 12.42 * HOUR, k1 = 23.93 * HOUR;
    let v = 0.22 + 0.11 * Math.cos((2 * Math.PI * t) / m2 + s.p(1)) + 0.05 * Math.cos((2 * Math.PI * t) / k1)
      + (valueNoise(this.key('surge'), t, 12 * HOUR) - 0.5) * 0.16 + (u01(this.seed, s.h, Math.floor(t / MIN)) - 0.5) * 0.02;
    for (const sc of scen) {
      if (sc.name !== 'flood' || !covers(sc, s.zone) || t < sc.start) continue;
      let w = smoothstep(0, 1, (t - sc.start) / sc.duration);
      if (sc.end != null && t >= sc.end) w = smoothstep(0, 1, (sc.end - sc.start) / sc.duration) * Math.exp(-(t - sc.end) / (20 * MIN));
      v += 0.4 * w;
    }
    return v;
  }

  // Rain in the reading's interval (mm), from the zone's rain rate.
  rainGauge(s, t, scen, m) {
    const I = (m.interval_s || 600) * 1000;
    const n = 10;
    let mm = 0;
    for (let i = 0; i < n; i++) mm += this.zoneRain(s.zone, s.zp, t - I + ((i + 0.5) * I) / n, scen) * (I / n / HOUR);
    return mm < 0.05 ? 0 : mm;
  }

  // --- mobility -----------------------------------------------------------------------------------

  // Everyday (non-visitor) activity of a zone, ~0.1 at night to ~1 at rush hours.
  commuteShape(h, offDay) {
    if (offDay) return 0.1 + 0.62 * bump(h, 14, 3.5) + 0.1 * bump(h, 11, 2);
    return 0.08 + 0.85 * bump(h, 8, 1) + 0.5 * bump(h, 12.7, 2.5) + 0.95 * bump(h, 18, 1.3) + 0.2 * bump(h, 21, 1.5);
  }

  // Visitors: arriving mid-morning, leaving mid-afternoon.
  touristShape(h) {
    return 0.03 + 0.9 * bump(h, 11, 2.2) + 0.7 * bump(h, 16, 2);
  }

  // A general 0..~2 activity index of a place (traffic, people), used by noise, seismic and air quality.
  activity(s, t, lt = localTime(t)) {
    const tw = touristWeight(s);
    return (1 - tw) * this.commuteShape(lt.hour, lt.offDay) * s.zp.urban
      + tw * this.touristShape(lt.hour) * this.tourismFactor(s.zp, lt) / 2.3;
  }

  busStop(s, metric, t, lt, scen) {
    const h = lt.hour;
    if (h < 5.5 || h >= 23.2) return 0;
    const tw = touristWeight(s);
    const home = s.p(2);  // share of commuters who live near this stop
    const morning = bump(h, 7.8, 1.1), evening = bump(h, 18, 1.4), midday = 0.45 * bump(h, 13, 3);
    const out = metric === 'boardings';
    const commute = (out ? home * morning + (1 - home) * evening : (1 - home) * morning + home * evening) + midday
      + 0.06;
    const tour = (out ? 0.4 * bump(h, 11, 2) + 0.9 * bump(h, 16, 1.8) : 0.9 * bump(h, 10.5, 1.8) + 0.4 * bump(h, 15, 2))
      * this.tourismFactor(s.zp, lt);
    const base = 1.5 + 5 * s.p(3);
    let lambda = base * ((1 - tw) * commute * (lt.offDay ? 0.6 : 1) + tw * tour);
    lambda *= 1 + 0.15 * Math.min(1, this.zoneRain(s.zone, s.zp, t) / 3);  // rain pushes people onto buses
    if (scen.length && this.#inBreakdown(s, t, scen)) lambda *= 0.15;
    const slot = Math.floor(t / (5 * MIN));
    return poisson(lambda, u01(this.seed, s.h, out ? 1 : 2, slot), gauss(this.seed, s.h, out ? 3 : 4, slot));
  }

  // Segment length, free-flow speed and capacity, from the corridor's character.
  #segment(s) {
    const name = String(s.attrs.corridor || '');
    const fast = /bypass|seoraksan|expressway/i.test(name);
    const lengthKm = 0.7 + 1.6 * s.p(1);
    const vf = fast ? 60 : 45;
    const capacity = fast ? 1900 : 1500;
    return { lengthKm, vf, capacity };
  }

  traffic(s, t, lt, scen) {
    const { lengthKm, vf, capacity } = this.#segment(s);
    const tw = touristWeight(s);
    const slot = Math.floor(t / MIN);
    const noise = 1 + 0.07 * gauss(this.seed, s.h, 5, Math.floor(t / (5 * MIN))) + 0.03 * gauss(this.seed, s.h, 6, slot);
    const rain = this.zoneRain(s.zone, s.zp, t);
    const demandShare = (1.1 * ((1 - tw) * this.commuteShape(lt.hour, lt.offDay)
      + tw * this.touristShape(lt.hour) * this.tourismFactor(s.zp, lt) / 2.0)) * noise * (rain > 1 ? 0.93 : 1);
    const x = Math.min(1.3, demandShare);
    let tt = (lengthKm / vf) * 3600 * (1 + 1.5 * x ** 4) * (rain > 1 ? 1.12 : 1);
    let volume = capacity * Math.min(x, 1.05);
    if (scen.length && this.#inBreakdown(s, t, scen)) {
      tt = tt * 2.4 + 150 + 90 * u01(this.seed, s.h, 7, slot);
      volume *= 0.45;
    }
    return { travel_time_s: tt, speed_kmh: (lengthKm / tt) * 3600, volume };
  }

  bikeDock(s, metric, t, lt, scen, m) {
    const cap = Math.round(Math.min(Number.isFinite(m.max) ? m.max : 20, 10 + 10 * s.p(1)));
    const home = s.p(2);
    const h = lt.hour;
    // Residential docks empty in the morning and fill in the evening; destination docks the reverse.
    const day = smoothstep(7, 9, h) - smoothstep(17, 20, h);
    let f = home * (0.75 - 0.5 * day) + (1 - home) * (0.3 + 0.45 * day);
    if (touristWeight(s) > 0.3) f -= 0.25 * (this.tourismFactor(s.zp, lt) - 1) / 3 * bump(h, 13, 3);
    if (this.zoneRain(s.zone, s.zp, t) > 0.5) f = 0.5 * f + 0.4;
    f += (valueNoise(hashInts(this.seed, s.h, 8), t, 40 * MIN) - 0.5) * 0.2;
    const bikes = Math.round(cap * clamp(f, 0, 1));
    return metric === 'bikes_available' ? bikes : cap - bikes;
  }

  parking(s, metric, t, lt, m) {
    const spaces = Number(s.attrs.spaces) || (Number.isFinite(m.max) && metric === 'free_spaces' ? Math.min(m.max, 200) : 150);
    const h = lt.hour, tw = touristWeight(s);
    const business = 0.25 + 0.62 * (smoothstep(8, 10, h) - smoothstep(18, 21, h)) * (lt.offDay ? 0.7 : 1);
    const visitors = 0.08 + 0.8 * smoothstep(8, 11, h) * (1 - smoothstep(16, 19, h)) * this.tourismFactor(s.zp, lt) / 3;
    const resident = s.p(2) < 0.3 ? 0.8 - 0.35 * (smoothstep(7, 9, h) - smoothstep(18, 20, h)) : null;
    let occ = resident ?? ((1 - tw) * business + tw * visitors);
    occ += (valueNoise(hashInts(this.seed, s.h, 9), t, HOUR) - 0.5) * 0.1;
    occ = clamp(occ, 0.02, 0.995);
    return metric === 'occupancy_pct' ? occ * 100 : Math.round(spaces * (1 - occ));
  }

  // --- energy -------------------------------------------------------------------------------------

  // A feeder/building meter: residential (evening peak) or commercial (working hours), heating in winter,
  // cooling in summer, visitors at tourist sites. `noisy` adds per-reading noise (not in the energy integral).
  meterPower(s, t, noisy) {
    const lt = localTime(t), h = lt.hour;
    const commercial = s.touristSite || s.p(1) < 0.4;
    const base = commercial ? 60 + 160 * s.p(2) : 40 + 120 * s.p(2);
    let shape;
    if (commercial) {
      shape = 0.3 + 0.7 * (smoothstep(7, 9, h) - smoothstep(18, 21.5, h)) + 0.1 * bump(h, 13, 2);
      shape *= s.touristSite ? 0.7 + 0.3 * this.tourismFactor(s.zp, lt) / 2.3 : lt.offDay ? 0.6 : 1;
    } else {
      shape = 0.45 + 0.35 * bump(h, 7.5, 1.2) + 0.25 * bump(h, 12.5, 2) + 0.75 * bump(h, 20, 2);
    }
    const season = 1 + 0.35 * seasonBump(lt.doy, 15, 40) + 0.3 * seasonBump(lt.doy, 215, 22);
    let p = base * shape * season;
    if (noisy) p *= 1 + 0.05 * gauss(this.seed, s.h, 10, Math.floor(t / (15 * MIN)));
    return p;
  }

  pvPower(s, t, scen, m) {
    const cap = Math.min(Number(s.attrs.capacity_kw) || 30 + 70 * s.p(1), Number.isFinite(m?.max) ? m.max : Infinity);
    const elev = sunElevation(s.lat, s.lon, t);
    if (elev <= 0) return 0;
    const c = this.cloud(s.zone, s.zp, t, scen);
    const trans = 1 - 0.78 * c ** 3.4;
    const flicker = c > 0.3 && c < 0.9 ? 1 - 0.25 * c * u01(this.seed, s.h, 11, Math.floor(t / (5 * MIN))) : 1;
    const temp = 1 - 0.004 * Math.max(0, localTime(t).month >= 6 && localTime(t).month <= 9 ? 15 : 5);
    return Math.min(cap, cap * 0.85 * (clearSkyGhi(elev) / 1000) * trans * flicker * temp);
  }

  // Cumulative energy (kWh) of a sensor whose power is powerFn(t) in kW: the integral of power sampled hourly
  // (trapezoids) since the meter was commissioned (2024–2025), plus a reading it started with. Day starts are
  // cached, so a run computes the history once per sensor. Never decreases with t.
  cumulative(s, t, powerFn) {
    const commission = Date.UTC(2025, 0, 1) - 9 * HOUR - Math.floor(s.p(12) * 300) * DAY;
    const e0 = s.kind === 'smart_meter' ? Math.round(5000 + 75000 * s.p(13)) : 0;
    if (t <= commission) return e0;
    const c = s.cum || (s.cum = { days: [e0] });
    const day = Math.floor((t - commission) / DAY);
    const hourly = (from, hours) => {
      let e = 0, p0 = Math.max(0, powerFn(from));
      for (let i = 1; i <= hours; i++) {
        const p1 = Math.max(0, powerFn(from + i * HOUR));
        e += (p0 + p1) / 2;
        p0 = p1;
      }
      return e;
    };
    while (c.days.length <= day) {
      const d = c.days.length - 1;
      c.days.push(c.days[d] + hourly(commission + d * DAY, 24));
    }
    const start = commission + day * DAY;
    const full = Math.floor((t - start) / HOUR);
    let e = c.days[day] + hourly(start, full);
    const h0 = start + full * HOUR, f = (t - h0) / HOUR;
    if (f > 0) {
      const p0 = Math.max(0, powerFn(h0)), p1 = Math.max(0, powerFn(h0 + HOUR));
      e += ((p0 + (p0 + (p1 - p0) * f)) / 2) * f;
    }
    return e;
  }

  // A battery store: charges from PV around midday, discharges at the evening peak. power_kw > 0 discharging.
  ess(s, t, lt) {
    const capKwh = Number(s.attrs.capacity_kwh) || 500;
    const low = 20 + 10 * s.p(1);
    const noonCloud = this.cloud(s.zone, s.zp, lt.midnightLocal + 12.5 * HOUR);
    const high = Math.max(low + 10, 55 + 38 * (1 - noonCloud));
    const h = lt.hour;
    let soc, power;
    if (h < 10) { soc = low; power = 0; }
    else if (h < 15) { soc = low + ((high - low) * (h - 10)) / 5; power = -((high - low) / 100) * capKwh / 5; }
    else if (h < 17.5) { soc = high; power = 0; }
    else if (h < 21.5) { soc = high - ((high - low) * (h - 17.5)) / 4; power = ((high - low) / 100) * capKwh / 4; }
    else { soc = low; power = 0; }
    power += (u01(this.seed, s.h, 14, Math.floor(t / (5 * MIN))) - 0.5) * 2;
    return { soc_pct: soc, power_kw: power };
  }

  evSessions(s, t, lt) {
    const fast = s.p(1) < 0.5;
    const block = fast ? 30 * MIN : 2 * HOUR;
    const k = Math.floor(t / block);
    const h = lt.hour;
    const tw = touristWeight(s);
    const p = (0.05 + 0.55 * bump(h, 13, 4.5)) * ((1 - tw) + tw * this.tourismFactor(s.zp, lt) / 2);
    return { fast, inUse: u01(this.seed, s.h, 15, k) < Math.min(0.95, p), k };
  }

  evCharger(s, t, lt, m) {
    const { fast, inUse, k } = this.evSessions(s, t, lt);
    const rated = Math.min(fast ? 50 : 7, Number.isFinite(m?.max) ? m.max : 100);
    const taper = fast ? 0.65 + 0.3 * u01(this.seed, s.h, 16, k) : 0.9 + 0.1 * u01(this.seed, s.h, 16, k);
    return { in_use: inUse ? 1 : 0, power_kw: inUse ? rated * taper : 0 };
  }

  // --- welfare: a person living alone ---------------------------------------------------------------

  // One day of a household's routine (local day index d): wake and bed times, outings, a night trip.
  homeDay(s, d) {
    const r = (i) => u01(this.seed, s.h, 40 + i, d);
    const g = (i) => gauss(this.seed, s.h, 40 + i, d);
    const wake = 5.2 + 1.6 * s.p(20) + 0.3 * g(0);
    const bed = 20.6 + 1.8 * s.p(21) + 0.3 * g(1);
    const outings = [];
    if (r(2) < 0.35 + 0.45 * s.p(22)) {  // to the senior centre, the market, the clinic
      const leave = 9.3 + 1.7 * r(3);
      outings.push([leave, leave + 1.5 + 3 * r(4)]);
    }
    if (r(5) < 0.25) {
      const leave = 16 + r(6);
      outings.push([leave, leave + 0.4 + 0.6 * r(7)]);
    }
    const visitor = (d + Math.floor(s.p(23) * 7)) % 7 === 0 ? 14 + 2 * r(8) : null;  // weekly care visit
    return { wake, bed, outings, nightTrip: 1.5 + 2.5 * r(9), visitor, morningDoor: r(10) < 0.3 ? 0.2 + 0.5 * r(11) : null };
  }

  // When the resident of household s gets up on local day d (UTC ms, whole seconds).
  wakeAt(s, d) {
    return Math.round(((d * DAY) - 9 * HOUR + this.homeDay(s, d).wake * HOUR) / 1000) * 1000;
  }

  // The spans [from, to) in which `morning` scenarios keep household s from getting up (to: Infinity while one
  // runs): from the scenario's stop time (a wake-up time) or its start, whichever is later, to its end.
  quietSpans(s, scen) {
    const out = [];
    for (const sc of scen) {
      if (sc.name !== 'morning' || sc.sensor !== s.id) continue;
      const from = Math.max(sc.stopAt ?? sc.start, sc.start), to = sc.end ?? Infinity;
      if (to > from) out.push([from, to]);
    }
    return out;
  }

  // State of the household at local hour h of its day: motion rate (events per minute) and power (W).
  // quiet: nobody got up (a `morning` scenario): no motion at all, the night's base load.
  homeState(s, day, h, lt, temperature, quiet = false) {
    const fridge = 35 + 35 * s.p(24);
    const winter = lt.month >= 11 || lt.month <= 3;
    if (quiet) return { motion: 0, power: fridge + 3 + (winter ? 70 + 40 * s.p(25) : 0) };
    if (h < day.wake || h >= day.bed) {
      const trip = Math.abs(h - day.nightTrip) < 0.12;
      return { motion: trip ? 0.6 : 0.01, power: fridge + (trip ? 40 : 3) + (winter ? 70 + 40 * s.p(25) : 0) };
    }
    for (const [a, b] of day.outings) if (h >= a && h < b) return { motion: 0, power: fridge + 3 };
    const mobility = 0.6 + 0.7 * s.p(26);
    let motion = 0.45 * mobility, power = fridge + 25;
    if (h < day.wake + 1.25) { motion = 0.9 * mobility; power += 40; if (h > day.wake + 0.4 && h < day.wake + 0.8) power += 650; }
    else if (h >= 12 && h < 12.75) { motion = 0.8 * mobility; power += 350; }
    else if (h >= 17.5 && h < 18.4) { motion = 0.9 * mobility; power += 550; }
    else if (h >= 19) { motion = 0.25 * mobility; power += 90 + 130 * s.p(27) + 60; }
    if (winter && s.p(28) < 0.4) power += 300 + 400 * s.p(29);
    if (temperature > 27 && s.p(30) < 0.5 && h >= 12 && h < 19) power += 450 + 300 * s.p(31);
    return { motion, power };
  }

  home(s, metric, t, m, scen) {
    const I = (m.interval_s || 900) * 1000;
    // The quiet spans that touch this reading's window (t - I, t].
    const quiet = scen.length ? this.quietSpans(s, scen).filter(([a, b]) => a <= t && b > t - I) : [];
    // The three metrics of a household share one computation per reading time (a small cache).
    const memo = s.homeMemo || (s.homeMemo = new Map());
    const key = `${t}/${I}${quiet.map(([a, b]) => `/${a}-${b}`).join('')}`;
    let c = memo.get(key);
    if (c === undefined) {
      if (memo.size >= 1024) memo.clear();
      memo.set(key, c = this.#homeSums(s, t, I, quiet));
    }
    const { motion, power, door } = c;
    const slot = Math.floor(t / I);
    if (metric === 'motion') return poisson(motion, u01(this.seed, s.h, 50, slot), gauss(this.seed, s.h, 51, slot));
    if (metric === 'door') return door;
    if (metric === 'power_use') return power * (1 + 0.05 * gauss(this.seed, s.h, 52, slot));
    return undefined;
  }

  // Motion events, mean power and door events of the reading window (t - I, t]; none of them in `quiet`.
  #homeSums(s, t, I, quiet = []) {
    const temp = this.weather(s.zone, s.zp, t).temperature;
    const n = 15;
    let motion = 0, power = 0, door = 0;
    const still = (x) => quiet.some(([a, b]) => x >= a && x < b);
    for (let i = 0; i < n; i++) {
      const x = t - I + ((i + 0.5) * I) / n;
      const lt = localTime(x);
      const st = this.homeState(s, this.homeDay(s, lt.dayIndex), lt.hour, lt, temp, still(x));
      motion += st.motion * (I / n / MIN);
      power += st.power / n;
    }
    // Door openings whose time falls in (t - I, t], on the days the window touches.
    const a = localTime(t - I), b = localTime(t);
    for (let d = a.dayIndex; d <= b.dayIndex; d++) {
      const day = this.homeDay(s, d);
      const mid = (d * DAY) - 9 * HOUR;
      const events = [day.visitor, day.visitor != null ? day.visitor + 0.7 : null, day.morningDoor != null ? day.wake + day.morningDoor : null];
      for (const [l, r] of day.outings) events.push(l, r);
      for (const e of events) {
        if (e == null) continue;
        const at = mid + e * HOUR;
        if (at > t - I && at <= t && !still(at)) door++;
      }
    }
    return { motion, power, door };
  }

  // --- environment --------------------------------------------------------------------------------

  airQuality(s, t, lt, scen) {
    const w = this.weather(s.zone, s.zp, t, scen);
    const h = lt.hour;
    const season = 1 + 0.5 * seasonBump(lt.doy, 75, 40) + 0.25 * seasonBump(lt.doy, 10, 30) - 0.35 * seasonBump(lt.doy, 215, 35);
    const synoptic = Math.exp((valueNoise(this.key('pm-syn'), t, 2 * DAY) - 0.5) * 1.6);
    const dust = lt.month >= 3 && lt.month <= 5 && u01(this.seed, 60, Math.floor(t / (3 * DAY))) < 0.12
      ? 1 + 4 * Math.sin(Math.PI * ((t / (3 * DAY)) % 1)) : 1;  // Asian dust (황사) episodes
    const inversion = 1 + 0.25 * bump(h, 7, 2) + 0.15 * bump(h, 22, 3);
    const washout = 0.45 + 0.55 / (1 + 0.3 * w.rain);
    const dilution = 1 / (1 + 0.06 * w.wind);
    const act = this.activity(s, t, lt);
    const local = 1 + 0.25 * act;
    const pm25 = 17 * season * synoptic * inversion * washout * dilution * local * (1 + 0.06 * gauss(this.seed, s.h, 61, Math.floor(t / (5 * MIN))));
    const pm10 = pm25 * (1.6 + 0.4 * s.p(1)) * (dust > 1 ? 1 + 0.6 * (dust - 1) : 1) + (dust - 1) * 40;
    const sun = Math.max(0, Math.sin((Math.PI * (h - 6)) / 13)) * (h >= 6 && h <= 19 ? 1 : 0);
    const o3 = (0.012 + 0.035 * sun * (1 - 0.5 * w.cloud)) * (1 + 0.4 * seasonBump(lt.doy, 150, 40))
      * (1 + 0.05 * gauss(this.seed, s.h, 62, Math.floor(t / (5 * MIN))));
    const no2 = (0.004 + 0.02 * act * s.zp.urban) * (1 / (1 + 0.08 * w.wind)) * (1 + 0.08 * gauss(this.seed, s.h, 63, Math.floor(t / (5 * MIN))));
    return { pm25, pm10, o3, no2 };
  }

  noise(s, t, lt, scen) {
    const act = this.activity(s, t, lt);
    const rain = this.zoneRain(s.zone, s.zp, t, scen);
    const near = 0.5 + s.p(1);  // how close to the road
    return 34 + 10 * Math.log10(1 + 220 * act * near) + (rain > 0.5 ? 2.5 : 0)
      + 1.5 * gauss(this.seed, s.h, 70, Math.floor(t / (5 * MIN)));
  }
}

// --- helpers ---------------------------------------------------------------------------------------

export function corridorName(s) {
  const c = s.attrs && s.attrs.corridor;
  return c ? String(c) : `zone:${s.zone ?? 'none'}`;
}

function touristWeight(s) {
  return clamp(s.zp.tourism + (s.touristSite ? 0.3 : 0), 0, 1);
}

export function active(sc, t) {
  return t >= sc.start && (sc.end == null || t < sc.end);
}

function anyActive(floods, t) {
  return floods.some((sc) => active(sc, t));
}

// A scenario without a zone covers every zone.
function covers(sc, zone) {
  return sc.zone == null || sc.zone === zone;
}

export function distanceM(a, b) {
  const R = 6371000, rad = Math.PI / 180;
  const dLat = (b.lat - a.lat) * rad, dLon = (b.lon - a.lon) * rad;
  const x = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * R * Math.asin(Math.sqrt(x));
}

// Decimals by unit; counts and booleans are whole numbers.
const DECIMALS = {
  count: 0, events: 0, bool: 0, 'veh/h': 0, W: 0, s: 0, '°': 0, 'µg/m³': 0,
  '%': 1, '°C': 1, 'm/s': 1, 'km/h': 1, 'dB(A)': 1, mm: 1,
  m: 3, ppm: 4, kW: 2, kWh: 2, gal: 3,
};

export function finish(v, m) {
  const d = DECIMALS[m.unit] ?? 3;
  const f = 10 ** d;
  let r = Math.round(v * f) / f;
  if (Number.isFinite(m.min)) r = Math.max(m.min, r);
  if (Number.isFinite(m.max)) r = Math.min(m.max, r);
  return r === 0 ? 0 : r;  // no -0
}
