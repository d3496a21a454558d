// Which readings are due at a tick. Each metric with interval_s reports on its own grid: times
// phase + k * interval_s, where the phase (whole seconds) comes from the sensor id, so sensors spread over the
// interval and a restarted simulator sends the same timestamps (the server counts repeats as duplicates).
// A metric without interval_s reports every tick. A forced sensor reports at the tick time itself.

import { hashString } from './rand.mjs';

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
        let ts;
        if (force) {
          ts = now;
        } else {
          const I = Number.isFinite(m.interval_s) && m.interval_s > 0 ? m.interval_s * 1000 : this.tickMs;
          const phase = Number.isFinite(m.interval_s) && m.interval_s > 0
            ? (hashString(s.id) % Math.max(1, Math.round(m.interval_s))) * 1000 : 0;
          ts = Math.floor((t - phase) / I) * I + phase;
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
