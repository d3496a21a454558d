// The live state of a zone, from the latest readings of its sensors and its active alerts.
import { state, sensorState, levelStage, SEVERITY_RANK } from './store.js';

function avg(xs) { return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null; }

export function zoneSummary(zoneId, now = Date.now()) {
  let total = 0; let reporting = 0;
  const temp = []; const pm25 = []; const speed = []; let power = null; let rain = null; let calls = 0;
  let water = null; // {value, sensor, warning, stage}
  let worstOwn = null;
  for (const s of state.sensors.values()) {
    if (s.zone !== zoneId) continue;
    total++;
    const st = sensorState(s, now);
    if (st !== 'nodata' && st !== 'stale') reporting++;
    const m = state.latest.get(s.id);
    if (!m) continue;
    switch (s.kind) {
      case 'fire_weather': if (m.temperature_c) temp.push(m.temperature_c.value); break;
      case 'air_quality': if (m.pm25) pm25.push(m.pm25.value); break;
      case 'traffic_corridor': if (m.speed_kmh) speed.push(m.speed_kmh.value); break;
      case 'smart_meter': if (m.power_kw) power = (power || 0) + m.power_kw.value; break;
      case 'rain_gauge': if (m.rain_mm) rain = Math.max(rain ?? 0, m.rain_mm.value); break;
      case 'emergency_button': if (m.pressed && m.pressed.value >= 1) calls++; break;
      case 'water_level': if (m.level) {
        const w = s.attributes?.warning_m;
        const ratio = w ? m.level.value / w : 0;
        if (!water || ratio > water.ratio) {
          water = { value: m.level.value, sensor: s.id, warning: w, danger: s.attributes?.danger_m, ratio, stage: levelStage(s, m.level.value) };
        }
      } break;
      default: break;
    }
    if (st === 'critical' || st === 'warning' || st === 'info') {
      if (!worstOwn || SEVERITY_RANK[st] > SEVERITY_RANK[worstOwn]) worstOwn = st;
    }
  }
  const alerts = state.alertsByZone.get(zoneId) || { critical: 0, warning: 0, info: 0, open: 0 };
  let status = alerts.critical ? 'critical' : alerts.warning ? 'warning' : alerts.info ? 'info' : null;
  if (worstOwn && (!status || SEVERITY_RANK[worstOwn] > SEVERITY_RANK[status])) status = worstOwn;
  if (!status && total > 0 && reporting === 0) status = 'nodata';
  else if (!status && total > 0 && reporting < total / 2) status = 'stale';
  return {
    total, reporting, alerts, status: status || 'ok',
    temp: avg(temp), pm25: avg(pm25), speed: avg(speed), power, rain, calls, water,
  };
}
