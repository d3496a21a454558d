// Scenarios of maeul-sim: parsing (`flood:downtown`, `{"name":"flood","zone":"downtown"}`), checking against
// the loaded world, and the set of running ones. Times are in ms of the simulated clock.

import { formatLocal } from './sun.mjs';

export const SCENARIOS = {
  flood: { target: 'zone', optional: true, duration_s: 600,
    about: 'heavy rain; water levels climb through attention, warning and danger stages within duration_s' },
  wildfire: { target: 'zone', optional: false, duration_s: null,
    about: 'dry windy weather in one zone: temperature > 30 °C, humidity < 30 %, wind > 8 m/s' },
  silent: { target: 'sensor', optional: true, duration_s: null,
    about: 'one sensor (by default a home_activity one) stops reporting' },
  breakdown: { target: 'corridor', optional: false, duration_s: null,
    about: "a bus breaks down on a corridor: its travel times jump, boardings at its stops drop" },
  morning: { target: 'sensor', optional: true, duration_s: null, day: true,
    about: "one resident's morning routine stops: from their usual wake-up time (the next one, or that of \"day\") "
      + 'their home_activity monitor keeps reporting but shows nobody up (no motion, no door, night-time power)' },
  bunching: { target: 'route', optional: true, duration_s: null, bus: true,
    about: 'the next bus of a route (default: the first route of the feed) is held up a quarter of its way for most '
      + 'of a headway; its follower catches up and the two run together (needs --gtfs)' },
  'tourist-peak': { target: 'zone', optional: true, duration_s: null, bus: true,
    about: 'visitors crowd the buses: boardings ×3 at the stops of the zone (default: Seorak and Daepo), ×1.3 '
      + 'elsewhere; buses fuller, longer dwells, some late (needs --gtfs)' },
};

const DAY_MS = 86400e3, KST_MS = 9 * 3600e3;

export class ScenarioError extends Error {
  constructor(message, pointer) {
    super(message);
    this.pointer = pointer;
  }
}

// "flood", "flood:downtown", "wildfire:seorak", "silent:home-station-003", "breakdown:trf-downtown-02",
// "morning", "morning:home-station-014", "morning@today", "morning:home-station-014@2026-11-23"
// → {name, target} (and day, after "@", for a scenario that takes one). The target is checked by resolve().
export function parseSpec(text) {
  let s = String(text).trim();
  let day = null;
  const at = s.lastIndexOf('@');
  if (at >= 0) {
    day = s.slice(at + 1).trim();
    s = s.slice(0, at).trim();
  }
  const i = s.indexOf(':');
  const name = (i < 0 ? s : s.slice(0, i)).toLowerCase();
  const target = i < 0 ? null : s.slice(i + 1).trim() || null;
  if (!SCENARIOS[name]) throw new ScenarioError(`unknown scenario "${name}" (one of ${Object.keys(SCENARIOS).join(', ')})`, '/name');
  if (day == null) return { name, target };
  if (!SCENARIOS[name].day) throw new ScenarioError(`scenario ${name} takes no day ("@${day}")`, '/day');
  checkDay(day);
  return { name, target, day };
}

// A day as the control API and --scenario take it: "today", "tomorrow" or YYYY-MM-DD (the city's calendar).
function checkDay(day) {
  if (typeof day !== 'string' || !(/^(today|tomorrow)$/i.test(day) || /^\d{4}-\d\d-\d\d$/.test(day))) {
    throw new ScenarioError('"day" must be "today", "tomorrow" or a date YYYY-MM-DD', '/day');
  }
  if (/^\d/.test(day)) {
    const [y, m, d] = day.split('-').map(Number);
    const t = Date.UTC(y, m - 1, d);
    const back = new Date(t);
    if (back.getUTCFullYear() !== y || back.getUTCMonth() !== m - 1 || back.getUTCDate() !== d) {
      throw new ScenarioError(`"day": no such date ${day}`, '/day');
    }
  }
}

// The local day index (days since 1970-01-01 in Korea Standard Time) of a checked day; today is that of `now`.
function dayIndexOf(day, now) {
  const today = Math.floor((now + KST_MS) / DAY_MS);
  if (/^today$/i.test(day)) return today;
  if (/^tomorrow$/i.test(day)) return today + 1;
  const [y, m, d] = day.split('-').map(Number);
  return Date.UTC(y, m - 1, d) / DAY_MS;
}

// From a control-API body {"name","zone"|"sensor"|"corridor"|"target","duration_s"?}.
export function specFromBody(body) {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw new ScenarioError('the body must be a JSON object', '');
  if (typeof body.name !== 'string') throw new ScenarioError('"name" is required (a string)', '/name');
  const spec = parseSpec(body.name);
  const kind = SCENARIOS[spec.name].target;
  for (const k of ['zone', 'sensor', 'corridor', 'route', 'target']) {
    if (body[k] == null) continue;
    if (typeof body[k] !== 'string' || body[k] === '') throw new ScenarioError(`"${k}" must be a non-empty string`, `/${k}`);
    if (k !== kind && k !== 'target') throw new ScenarioError(`scenario ${spec.name} takes "${kind}", not "${k}"`, `/${k}`);
    spec.target = body[k];
  }
  if (body.day != null) {
    if (!SCENARIOS[spec.name].day) throw new ScenarioError(`scenario ${spec.name} takes no "day"`, '/day');
    checkDay(body.day);
    spec.day = body.day;
  }
  if (body.duration_s != null) {
    if (typeof body.duration_s !== 'number' || !(body.duration_s >= 1) || body.duration_s > 86400 * 7) {
      throw new ScenarioError('"duration_s" must be a number of seconds, 1 to 604800', '/duration_s');
    }
    spec.duration_s = body.duration_s;
  }
  return spec;
}

// The household a scenario on "a home" picks when none is named: the first home_activity sensor in an order
// that depends on the seed only (home-station-014 with the default seed 42). null when there is none.
export function defaultHome(model) {
  const homes = [...model.sensors.values()].filter((s) => s.kind === 'home_activity')
    .sort((a, b) => a.p(99) - b.p(99) || (a.id < b.id ? -1 : 1));
  return homes.length ? homes[0].id : null;
}

// Checks a spec against the model's world and returns a scenario object, or throws ScenarioError.
//   flood[:zone]: the zone must have sensors; no zone = every zone.
//   wildfire:zone.
//   silent[:sensor]: any sensor id; none = defaultHome().
//   breakdown:corridor: a traffic_corridor sensor id, a corridor name (attributes.corridor, case-insensitive,
//     or a unique part of it), or a zone id with one corridor.
//   morning[:sensor][@day]: a home_activity sensor (none = defaultHome()); stopAt is the household's wake-up
//     time on `day`, or without a day its first wake-up at or after `today`. `today` is the real clock (the
//     simulator passes Date.now(); default: now), so that in a replay, which starts in the past, "today" is the
//     calendar's today and a scenario given at the start leaves the replayed days as they were.
export function resolve(spec, model, now, today = now) {
  const def = SCENARIOS[spec.name];
  const sc = { name: spec.name, zone: null, sensor: null, corridor: null, route: null, start: now, end: null,
    duration: (spec.duration_s ?? def.duration_s ?? 0) * 1000 || null };
  const t = spec.target;
  if (def.bus && !model.bus) throw new ScenarioError(`scenario ${spec.name} needs the bus network: start maeul-sim with --gtfs DIR`, '/name');
  if (t == null && !def.optional) throw new ScenarioError(`scenario ${spec.name} needs a ${def.target}`, `/${def.target}`);
  if (def.target === 'zone') {
    if (t != null) {
      if (!model.zones().includes(t)) {
        throw new ScenarioError(`unknown zone "${t}" (zones with sensors: ${model.zones().join(', ') || 'none'})`, '/zone');
      }
      sc.zone = t;
    }
  } else if (def.target === 'sensor') {
    if (t != null) {
      if (!model.sensors.has(t)) throw new ScenarioError(`unknown sensor "${t}"`, '/sensor');
      sc.sensor = t;
    } else {
      sc.sensor = defaultHome(model);
      if (sc.sensor == null) throw new ScenarioError(`no home_activity sensor for ${spec.name}: name a sensor`, '/sensor');
    }
    if (spec.name === 'morning') {
      const s = model.sensors.get(sc.sensor);
      if (s.kind !== 'home_activity') throw new ScenarioError(`sensor "${sc.sensor}" is a ${s.kind}, not a home_activity`, '/sensor');
      const after = Math.max(now, today);
      let d = spec.day != null ? dayIndexOf(spec.day, after) : Math.floor((after + KST_MS) / DAY_MS);
      if (spec.day == null && model.wakeAt(s, d) < after) d++;  // up already today: tomorrow morning
      sc.day = d;
      sc.stopAt = model.wakeAt(s, d);
    }
  } else if (def.target === 'corridor') {
    sc.corridor = findCorridor(model, t);
  } else if (def.target === 'route') {
    const routes = model.bus.routes();
    if (t != null && !routes.includes(t)) throw new ScenarioError(`unknown route "${t}" (routes: ${routes.join(', ') || 'none'})`, '/route');
    sc.route = t ?? routes[0];
    if (sc.route == null) throw new ScenarioError('the bus network has no routes', '/route');
  }
  sc.id = scenarioId(sc);
  return sc;
}

export function findCorridor(model, t) {
  const corridors = model.corridors();
  const names = [...corridors.keys()];
  const s = model.sensors.get(t);
  if (s && s.kind === 'traffic_corridor') return names.find((n) => corridors.get(n).segments.includes(t));
  if (s) throw new ScenarioError(`sensor "${t}" is a ${s.kind}, not a traffic_corridor`, '/corridor');
  const lower = t.toLowerCase();
  const exact = names.filter((n) => n.toLowerCase() === lower);
  if (exact.length === 1) return exact[0];
  const inZone = names.filter((n) => corridors.get(n).zones.includes(t));
  if (inZone.length === 1) return inZone[0];
  const part = names.filter((n) => n.toLowerCase().includes(lower));
  if (part.length === 1) return part[0];
  const list = names.map((n) => `"${n}"`).join(', ') || 'none';
  if (part.length > 1 || inZone.length > 1) throw new ScenarioError(`"${t}" matches several corridors: ${list}`, '/corridor');
  throw new ScenarioError(`unknown corridor "${t}" (corridors: ${list}; or a traffic_corridor sensor id, or a zone)`, '/corridor');
}

export function scenarioId(sc) {
  const target = sc.zone ?? sc.sensor ?? sc.corridor ?? sc.route;
  return target == null ? sc.name : `${sc.name}:${target}`;
}

// The scenarios of a run: the running ones, and removed ones kept for an hour so their after-effects
// (a receding river) play out.
export class ScenarioSet {
  constructor() {
    this.list = [];
    this.version = 0;
  }

  // Adds a resolved scenario; if the same one (same id) is running, it is kept and returned with added=false.
  add(sc) {
    const same = this.list.find((x) => x.id === sc.id && x.end == null);
    if (same) return { scenario: same, added: false };
    this.list.push(sc);
    this.version++;
    return { scenario: sc, added: true };
  }

  // Ends running scenarios with this name (and, when given, this target). Returns those ended.
  remove(name, target, now) {
    const ended = [];
    for (const sc of this.list) {
      if (sc.end != null || sc.name !== name) continue;
      if (target != null && ![sc.zone, sc.sensor, sc.corridor, sc.route].includes(target)) continue;
      sc.end = now;
      ended.push(sc);
    }
    if (ended.length) this.version++;
    return ended;
  }

  running() {
    return this.list.filter((sc) => sc.end == null);
  }

  // What the model sees at time now (drops scenarios removed more than an hour ago).
  forModel(now) {
    this.list = this.list.filter((sc) => sc.end == null || now - sc.end < 3600e3);
    return this.list;
  }
}

export function describe(sc, now, model) {
  const out = { id: sc.id, name: sc.name };
  if (SCENARIOS[sc.name].target === 'zone') out.zone = sc.zone;
  if (sc.sensor) out.sensor = sc.sensor;
  if (sc.route) out.route = sc.route;
  if (sc.corridor) {
    out.corridor = sc.corridor;
    const c = model && model.corridors().get(sc.corridor);
    if (c) { out.segments = c.segments; out.stops = c.stops; }
  }
  if (sc.stopAt != null) {
    out.day = new Date(sc.day * DAY_MS).toISOString().slice(0, 10);
    out.stops_at = formatLocal(Math.max(sc.stopAt, sc.start));
  }
  out.started_at = new Date(sc.start).toISOString();
  out.elapsed_s = Math.max(0, Math.round((now - sc.start) / 1000));
  if (sc.duration) out.duration_s = sc.duration / 1000;
  out.about = SCENARIOS[sc.name].about;
  return out;
}

// Sensors whose readings a scenario changes (so they can report at once rather than at their next slot).
export function affectedSensors(sc, model) {
  const inZone = (s) => sc.zone == null || s.zone === sc.zone;
  const ids = [];
  for (const s of model.sensors.values()) {
    if (sc.name === 'flood' && ['water_level', 'rain_gauge', 'tide_gauge'].includes(s.kind) && inZone(s)) ids.push(s.id);
    if (sc.name === 'wildfire' && s.kind === 'fire_weather' && inZone(s)) ids.push(s.id);
  }
  if (sc.name === 'breakdown') {
    const c = model.corridors().get(sc.corridor);
    if (c) ids.push(...c.segments, ...c.stops);
  }
  if (sc.name === 'morning') ids.push(sc.sensor);
  return ids;
}
