// maeul-sim's buses: vehicles that run a GTFS timetable (gtfs.mjs) along the routes' shapes, as a pure function
// of (seed, feed, time, scenarios). No clocks, no I/O, no Math.random().
//
// A service day of a route is played trip by trip in the order of scheduled departure. Each trip starts when
// both its scheduled time and its bus (the trip's block, or the trip alone) are ready, then runs stop to stop:
// the scheduled running time (less the 20 s a stop is planned at) times a traffic factor (per trip and segment
// noise, a slower or faster day, hour by hour), plus a dwell that grows with the people boarding and alighting.
// People board at a rate per stop and hour (commuters and visitors, as the readings model has them) for as long
// as it has been since the previous bus of the route and direction left, so a late bus collects more people,
// dwells longer and gets later still while its follower catches up: bunching arises naturally, and the
// `bunching` scenario starts it for sure. A bus never overtakes the one ahead of it on its route and direction.
//
// Scenarios (plain objects from scenarios.mjs):
//   {name:'bunching', route, start}: the first trip of the route to leave its first stop at or after start is
//     held up (a wheelchair ramp, a crash ahead) at about a quarter of its way for 80 % of the scheduled headway;
//     its follower, with nobody left to pick up, runs 15 % faster until it has caught up.
//   {name:'tourist-peak', zone, start, end}: while it runs, boardings ×3 at stops in the zone (no zone: Seorak
//     and Daepo) and ×1.3 elsewhere; fuller buses dwell longer, and some run late.

import { hashInts, hashString, u01, gauss, valueNoise, poisson, clamp, smoothstep } from './rand.mjs';
import { localTime } from './sun.mjs';
import { pointAlong } from './gtfs.mjs';
import { Model, ZONE_PROFILES } from './model.mjs';

const DAY_MS = 86400e3, KST_MS = 9 * 3600e3;
export const CAPACITY = 60;              // people a bus carries (seated and standing)
const PLANNED_STOP_S = 20;               // what the timetable allows for each stop
const TERMINUS_MS = 60e3;                // a bus is reported standing at the end of the line this long
const TOURIST_ZONES = ['seorak', 'daepo'];
const STOP_WEIGHT = /terminal|market|시장|터미널|소공원|sogongwon|station|역|city hall|시청/i;

const bump = (x, mu, sd) => Math.exp(-0.5 * ((x - mu) / sd) ** 2);

export class BusModel {
  // feed: from gtfs.mjs buildFeed/readFeed. seed: as the readings model's.
  constructor({ seed = 42, feed }) {
    this.seed = Number(seed) >>> 0;
    this.feed = feed;
    this.calendar = new Model({ seed, sensors: [] });  // tourism and commuting shapes, shared with the readings
    this.cache = new Map();
    // People a stop sees per hour at full demand, shared among the routes that serve it.
    const routesAt = new Map();
    for (const r of feed.routes.values()) {
      for (const t of r.trips) for (const s of t.stops) {
        if (!routesAt.has(s.stop)) routesAt.set(s.stop, new Set());
        routesAt.get(s.stop).add(r.id);
      }
    }
    this.stopInfo = new Map();
    for (const st of feed.stops.values()) {
      const h = hashString(st.id);
      const zp = ZONE_PROFILES[st.zone] || { tourism: 0.2 };
      const big = STOP_WEIGHT.test(`${st.id} ${st.name}`) ? 1.8 : 1;
      this.stopInfo.set(st.id, { h, zone: st.zone, zp, tw: clamp(zp.tourism, 0, 1),
        perHour: (25 + 35 * u01(this.seed, h, 1)) * big / Math.max(1, routesAt.get(st.id)?.size || 1) });
    }
  }

  routes() {
    return [...this.feed.routes.keys()];
  }

  // People per hour who want route `route` at stop `stop` at time t (before any scenario).
  demand(stop, t, scen) {
    const info = this.stopInfo.get(stop);
    if (!info) return 0;
    const lt = localTime(t);
    const h = lt.hour;
    const commute = this.calendar.commuteShape(h, lt.offDay) * (lt.offDay ? 0.6 : 1);
    const tour = this.calendar.touristShape(h) * this.calendar.tourismFactor(info.zp, lt) / 2.3;
    let rate = info.perHour * ((1 - info.tw) * commute + info.tw * tour * 1.4);
    for (const sc of scen) {
      if (sc.name !== 'tourist-peak' || !(t >= sc.start && (sc.end == null || t < sc.end))) continue;
      const hot = sc.zone ? info.zone === sc.zone : TOURIST_ZONES.includes(info.zone);
      rate *= hot ? 3 : 1.3;
    }
    return rate;
  }

  // The day's run of a route: Map trip id → {trip, vehicle, arr[], dep[] (ms), board[], alight[], load[]}.
  // `day` is the service day (days since 1970-01-01, Korea time). Cached per relevant scenarios.
  dayRun(routeId, day, scen = []) {
    const route = this.feed.routes.get(routeId);
    if (!route) return new Map();
    const base = day * DAY_MS - KST_MS;
    const dayEnd = base + 30 * 3600e3;
    const rel = scen.filter((sc) => (sc.name === 'tourist-peak' || (sc.name === 'bunching' && sc.route === routeId))
      && sc.start < dayEnd && (sc.end == null || sc.end > base));
    const key = `${routeId}|${day}|${rel.map((sc) => `${sc.name}:${sc.zone ?? sc.route ?? ''}:${sc.start}:${sc.end ?? ''}`).join(',')}`;
    let run = this.cache.get(key);
    if (run) return run;
    if (this.cache.size > 64) this.cache.clear();
    run = this.#play(route, day, base, rel);
    this.cache.set(key, run);
    return run;
  }

  #play(route, day, base, scen) {
    const out = new Map();
    const busFree = new Map();        // vehicle → {at: ms, stop}
    const lastDep = new Map();        // "dir|stopIndex" → ms the previous bus left
    const leaderOf = new Map();       // dir → run of the previous trip
    const slowDay = valueNoise(hashInts(this.seed, hashString(route.id), 7), day, 1);
    // The bunching scenario's pair: the first trip leaving at or after the start, and the next one its way.
    const held = new Map();           // trip id → 'leader' | 'follower'
    for (const sc of scen) {
      if (sc.name !== 'bunching') continue;
      const first = route.trips.find((t) => base + t.stops[0].dep * 1000 >= sc.start);
      if (!first) continue;
      held.set(first.id, 'leader');
      const next = route.trips.find((t) => t.dir === first.dir && t.stops[0].dep > first.stops[0].dep);
      if (next) held.set(next.id, 'follower');
    }
    for (const trip of route.trips) {
      const th = hashString(trip.id);
      const n = trip.stops.length;
      const vehicle = `bus-${trip.block || trip.id}`;
      const sched = trip.stops.map((s) => base + s.dep * 1000);
      const r = { trip, vehicle, route: route.id, arr: new Array(n), dep: new Array(n), board: new Array(n),
        alight: new Array(n), load: new Array(n), sched };
      const free = busFree.get(vehicle);
      const launch = Math.max(0, 40 * gauss(this.seed, th, day, 1) + 20) * 1000;
      let t = Math.max(sched[0], free ? free.at + 120e3 : sched[0]) + launch;
      const role = held.get(trip.id);
      const holdAt = Math.max(1, Math.round((n - 1) / 4));
      const headway = this.#headway(route, trip);
      const leader = leaderOf.get(trip.dir);
      let load = 0;
      for (let i = 0; i < n; i++) {
        if (i > 0) {
          const planned = Math.max(30e3, (trip.stops[i].arr - trip.stops[i - 1].dep) * 1000 - PLANNED_STOP_S * 1000);
          const hour = Math.floor((t - base) / 3600e3);
          const traffic = clamp(1 + 0.1 * gauss(this.seed, th, day, i, 2) + 0.16 * (slowDay - 0.5)
            + 0.1 * (valueNoise(hashInts(this.seed, hashString(route.id), 9, day), hour, 1) - 0.5), 0.75, 1.5);
          let run = planned * traffic;
          if (role === 'follower' && leader && leader.dep[i - 1] - t > 60e3) run *= 0.85;
          t += run;
          if (role === 'leader' && i === holdAt) t += 0.8 * headway;
          // No overtaking: arrive at least 20 s after the bus ahead left this stop.
          if (leader && leader.dep[i] != null && t < leader.dep[i] + 20e3 && leader.arr[i] <= t + headway) t = Math.max(t, leader.dep[i] + 20e3);
        }
        r.arr[i] = t;
        const alight = i === n - 1 ? load : i === 0 ? 0
          : Math.min(load, poisson(load * Math.min(1, 1.3 / (n - i)), u01(this.seed, th, day, i, 3), gauss(this.seed, th, day, i, 4)));
        load -= alight;
        let board = 0;
        if (i < n - 1) {
          const k = `${trip.dir}|${i}`;
          const since = lastDep.has(k) ? clamp(t - lastDep.get(k), 0, 2 * headway) : headway;
          const want = role === 'follower' && leader && t - leader.dep[i] < 0.5 * headway ? 0.4 : 1;
          const lambda = this.demand(trip.stops[i].stop, t, scen) * want * since / 3600e3;
          board = Math.min(CAPACITY - load, poisson(lambda, u01(this.seed, th, day, i, 5), gauss(this.seed, th, day, i, 6)));
        }
        load += board;
        const dwell = board + alight > 0 ? (6 + 2.5 * board + 1.2 * alight) * 1000 : i === 0 ? 0 : 3000;
        let dep = t + dwell;
        // Never leaves the first stop early, nor any other more than a minute early (drivers wait).
        dep = Math.max(dep, i === 0 ? sched[0] : sched[i] - 60e3);
        r.board[i] = board; r.alight[i] = alight; r.load[i] = load; r.dep[i] = i === n - 1 ? t : dep;
        lastDep.set(`${trip.dir}|${i}`, r.dep[i]);
        t = r.dep[i];
      }
      busFree.set(vehicle, { at: r.arr[n - 1], stop: trip.stops[n - 1].stop });
      leaderOf.set(trip.dir, r);
      out.set(trip.id, r);
    }
    return out;
  }

  // The scheduled headway (ms) of a trip: the gap to the previous departure of its route and direction.
  #headway(route, trip) {
    const same = route.trips.filter((t) => t.dir === trip.dir);
    const i = same.indexOf(trip);
    const j = i > 0 ? i - 1 : i + 1;
    return same[j] ? Math.abs(trip.stops[0].dep - same[j].stops[0].dep) * 1000 : 1800e3;
  }

  // Where every bus in service is at time t: [{vehicle, route, trip, lon, lat, ts, occupancy}], occupancy the
  // share of the bus's capacity in use (0..1, two decimals).
  positions(t, scen = []) {
    const out = [];
    const today = Math.floor((t + KST_MS) / DAY_MS);
    for (const routeId of this.feed.routes.keys()) {
      for (const day of [today - 1, today]) {
        for (const r of this.dayRun(routeId, day, scen).values()) {
          const n = r.arr.length;
          // In service from its start until a minute after it reached the end of the line (standing there).
          if (t < r.arr[0] || t > r.arr[n - 1] + TERMINUS_MS) continue;
          const shape = this.feed.shapes.get(r.trip.shape);
          const stops = r.trip.stops;
          let dist, load;
          let i = 0;
          while (i < n - 1 && t >= r.arr[i + 1]) i++;
          if (t <= r.dep[i] || i === n - 1) {
            dist = stops[i].dist; load = r.load[i];
          } else {
            const f = smoothstep(0, 1, (t - r.dep[i]) / (r.arr[i + 1] - r.dep[i]));
            dist = stops[i].dist + (stops[i + 1].dist - stops[i].dist) * f;
            load = r.load[i];
          }
          const [lon, lat] = shape ? pointAlong(shape, dist) : [0, 0];
          out.push({ vehicle: r.vehicle, route: routeId, trip: r.trip.id, lon: Number(lon.toFixed(6)), lat: Number(lat.toFixed(6)),
            ts: t, occupancy: Math.round((load / CAPACITY) * 100) / 100 });
        }
      }
    }
    return out;
  }

  // People who boarded any bus at `stop` in [from, to) (ms).
  boardings(stop, from, to, scen = []) {
    let n = 0;
    const d0 = Math.floor((from + KST_MS) / DAY_MS) - 1, d1 = Math.floor((to + KST_MS) / DAY_MS);
    for (const routeId of this.feed.routes.keys()) {
      for (let day = d0; day <= d1; day++) {
        for (const r of this.dayRun(routeId, day, scen).values()) {
          r.trip.stops.forEach((s, i) => { if (s.stop === stop && r.arr[i] >= from && r.arr[i] < to) n += r.board[i]; });
        }
      }
    }
    return n;
  }

  // The actual times at each stop of a route's trips on a day (for tests and the docs).
  stopEvents(routeId, day, scen = []) {
    return [...this.dayRun(routeId, day, scen).values()];
  }
}
