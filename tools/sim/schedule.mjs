// Which readings are due at a tick. Each metric with interval_s reports on its own grid: times
// phase + k * interval_s, where the phase (whole seconds) comes from the sensor id, so sensors spread over the
// interval and a restarted simulator sends the same timestamps (the server counts repeats as duplicates); a sensor
// with attributes.grid_aligned reports on the grid itself (phase 0: hourly counts on the hour).
// A metric without interval_s reports every tick. A forced sensor reports at the tick time itself.
// A metric with interval_s whose last reading is more than one interval back (a replay at --speed, a stalled
// tick) gets every grid time since then, up to MAX_CATCH_UP of them, so a replayed past has no holes.

import { hashString } from './rand.mjs';

const MAX_CATCH_UP = 100000;  // grid times handed out for one metric at one tick

export class Schedule {
  constructor(tickMs) {
    this.tickMs = tickMs;
    this.last = new Map();  // "sensor\0metric" -> ts (ms) of the last reading handed out
    this.forced = new Set();
  }

  force(ids) {
    for (const id of ids) this.forced.add(id);
  }

  // [{sensor, metric, ts}] due at time t (ms) for sensors [{id, metrics: Map|Array}].
  due(sensors, t) {
    const out = [];
    const now = Math.floor(t / 1000) * 1000;
    for (const s of sensors) {
      const force = this.forced.has(s.id);
      const metrics = s.metrics instanceof Map ? [...s.metrics.values()] : s.metrics || [];
      for (const m of metrics) {
        const key = `${s.id}\0${m.name}`;
        const last = this.last.get(key);
        const grid = Number.isFinite(m.interval_s) && m.interval_s > 0;
        let ts;
        if (force) {
          ts = now;
        } else {
          const I = grid ? m.interval_s * 1000 : this.tickMs;
          const aligned = s.attrs && s.attrs.grid_aligned === true;  // e.g. hourly counts on the hour
          const phase = grid && !aligned ? (hashString(s.id) % Math.max(1, Math.round(m.interval_s))) * 1000 : 0;
          ts = Math.floor((t - phase) / I) * I + phase;
          if (grid && last !== undefined && ts - last > I) {
            // The grid times missed since the last reading, oldest first.
            const first = Math.max(Math.floor((last - phase) / I) * I + phase + I, ts - (MAX_CATCH_UP - 1) * I);
            for (let x = first; x < ts; x += I) if (x > last) out.push({ sensor: s.id, metric: m.name, ts: x });
          }
        }
        if (last !== undefined && ts <= last) continue;
        this.last.set(key, ts);
        out.push({ sensor: s.id, metric: m.name, ts });
      }
    }
    this.forced.clear();
    return out;
  }
}
