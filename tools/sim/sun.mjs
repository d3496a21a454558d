// Sun position (NOAA's low-precision formulas, good to a fraction of a degree), and local calendar time.

const DEG = Math.PI / 180;

// Solar elevation in degrees at UTC time t (ms) for latitude/longitude in degrees (east positive).
export function sunElevation(latDeg, lonDeg, t) {
  const d = new Date(t);
  const start = Date.UTC(d.getUTCFullYear(), 0, 1);
  const dayOfYear = Math.floor((t - start) / 86400000) + 1;
  const utcHours = (t - Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate())) / 3600000;
  const g = (2 * Math.PI / 365) * (dayOfYear - 1 + (utcHours - 12) / 24);
  const eqtime = 229.18 * (0.000075 + 0.001868 * Math.cos(g) - 0.032077 * Math.sin(g)
    - 0.014615 * Math.cos(2 * g) - 0.040849 * Math.sin(2 * g));
  const decl = 0.006918 - 0.399912 * Math.cos(g) + 0.070257 * Math.sin(g) - 0.006758 * Math.cos(2 * g)
    + 0.000907 * Math.sin(2 * g) - 0.002697 * Math.cos(3 * g) + 0.00148 * Math.sin(3 * g);
  const trueSolarMin = utcHours * 60 + eqtime + 4 * lonDeg;
  const ha = (trueSolarMin / 4 - 180) * DEG;
  const lat = latDeg * DEG;
  const cosZ = Math.sin(lat) * Math.sin(decl) + Math.cos(lat) * Math.cos(decl) * Math.cos(ha);
  return 90 - Math.acos(Math.max(-1, Math.min(1, cosZ))) / DEG;
}

// Clear-sky global horizontal irradiance (W/m², Haurwitz model) for a solar elevation in degrees.
export function clearSkyGhi(elevDeg) {
  if (elevDeg <= 0) return 0;
  const s = Math.sin(elevDeg * DEG);
  return 1098 * s * Math.exp(-0.057 / s);
}

// The city's clock: Korea Standard Time, UTC+9, no daylight saving.
export const UTC_OFFSET_MIN = 540;

const FIXED_HOLIDAYS = new Set(['01-01', '03-01', '05-05', '06-06', '08-15', '10-03', '10-09', '12-25']);

// Local calendar facts for UTC time t (ms).
export function localTime(t) {
  const l = new Date(t + UTC_OFFSET_MIN * 60000);
  const year = l.getUTCFullYear(), month = l.getUTCMonth() + 1, day = l.getUTCDate();
  const midnightLocal = Date.UTC(year, month - 1, day) - UTC_OFFSET_MIN * 60000;  // as UTC ms
  const hour = (t - midnightLocal) / 3600000;
  const doy = Math.floor((Date.UTC(year, month - 1, day) - Date.UTC(year, 0, 1)) / 86400000) + 1;
  const dow = l.getUTCDay();  // 0 = Sunday
  const mmdd = `${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
  const holiday = FIXED_HOLIDAYS.has(mmdd);
  const dayIndex = Math.floor((t + UTC_OFFSET_MIN * 60000) / 86400000);  // local days since 1970-01-01
  return { year, month, day, doy, hour, dow, holiday, offDay: dow === 0 || dow === 6 || holiday, dayIndex, midnightLocal };
}

// RFC 3339 with the city's offset, whole seconds: 2026-11-21T10:00:05+09:00.
export function formatLocal(t) {
  const l = new Date(Math.floor(t / 1000) * 1000 + UTC_OFFSET_MIN * 60000);
  const iso = l.toISOString().slice(0, 19);
  const h = Math.floor(UTC_OFFSET_MIN / 60), m = UTC_OFFSET_MIN % 60;
  return `${iso}+${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}`;
}
