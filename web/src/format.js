// Numbers, times and durations in the current language; times in the city's time zone.
import { locale, t } from './i18n.js';

export const CITY_TZ = 'Asia/Seoul';

const cache = new Map();
function fmt(key, make) {
  const k = locale() + key;
  if (!cache.has(k)) cache.set(k, make());
  return cache.get(k);
}

// A reading: at most 3 significant decimals, fewer for big numbers.
export function num(v, digits) {
  if (v === null || v === undefined || Number.isNaN(Number(v))) return '–';
  const x = Number(v);
  const d = digits ?? (Math.abs(x) >= 1000 ? 0 : Math.abs(x) >= 100 ? 1 : Math.abs(x) >= 10 ? 2 : Math.abs(x) >= 1 ? 2 : 3);
  return fmt(`n${d}`, () => new Intl.NumberFormat(locale(), { maximumFractionDigits: d })).format(x);
}

export function int(v) {
  if (v === null || v === undefined) return '–';
  return fmt('int', () => new Intl.NumberFormat(locale(), { maximumFractionDigits: 0 })).format(v);
}

// Units in the reader's language where they have words (SI symbols stay as they are).
const UNIT_KO = { min: '분', days: '일', day: '일', h: '시간', 'boardings/resident': '회/인', 'kWh/resident': 'kWh/인', persons: '명', people: '명' };
export function unitText(u) {
  if (!u || u === 'count' || u === 'bool' || u === 'events') return '';
  if (locale() === 'ko-KR' && UNIT_KO[u]) return UNIT_KO[u];
  return u;
}

export function withUnit(v, unit, digits) {
  const u = unitText(unit);
  if (u === '%' || u === 'pct') return `${num(v, digits)}%`;
  return u ? `${num(v, digits)} ${u}` : num(v, digits);
}

export function dateTime(ts) {
  if (!ts) return '–';
  return fmt('dt', () => new Intl.DateTimeFormat(locale(), {
    timeZone: CITY_TZ, month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false,
  })).format(new Date(ts));
}

export function timeOnly(ts) {
  if (!ts) return '–';
  return fmt('tm', () => new Intl.DateTimeFormat(locale(), {
    timeZone: CITY_TZ, hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false,
  })).format(new Date(ts));
}

export function dateOnly(ts, period = 'day') {
  if (!ts) return '–';
  const opts = period === 'year' ? { year: 'numeric' }
    : period === 'month' ? { year: 'numeric', month: 'short' }
      : { year: 'numeric', month: 'short', day: 'numeric' };
  return fmt(`d${period}`, () => new Intl.DateTimeFormat(locale(), { timeZone: CITY_TZ, ...opts })).format(new Date(ts));
}

export function clock(d = new Date()) {
  return fmt('clk', () => new Intl.DateTimeFormat(locale(), {
    timeZone: CITY_TZ, weekday: 'short', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false,
  })).format(d);
}

export function ago(ts, now = Date.now()) {
  if (!ts) return '–';
  const s = Math.max(0, Math.round((now - new Date(ts).getTime()) / 1000));
  if (s < 5) return t('just_now');
  if (s < 60) return t('ago_s', { n: s });
  if (s < 3600) return t('ago_m', { n: Math.floor(s / 60) });
  if (s < 86400) return t('ago_h', { n: Math.floor(s / 3600) });
  return t('ago_d', { n: Math.floor(s / 86400) });
}

export function krw(v) {
  return t('krw', { v: fmt('krw', () => new Intl.NumberFormat(locale(), { maximumFractionDigits: 0 })).format(v) });
}

// YYYY-MM-DD of a date in the city's time zone (for <input type=date>).
export function isoDay(d) {
  const p = new Intl.DateTimeFormat('en-CA', { timeZone: CITY_TZ, year: 'numeric', month: '2-digit', day: '2-digit' }).formatToParts(d);
  const g = (k) => p.find((x) => x.type === k).value;
  return `${g('year')}-${g('month')}-${g('day')}`;
}

// The RFC 3339 start of a day (YYYY-MM-DD, as <input type=date> gives it) in the city's time zone.
export function cityDayStart(day) {
  // the offset at noon that day (no zone changes its offset around noon)
  const noon = new Date(`${day}T12:00:00Z`);
  const name = new Intl.DateTimeFormat('en-US', { timeZone: CITY_TZ, timeZoneName: 'longOffset' })
    .formatToParts(noon).find((p) => p.type === 'timeZoneName')?.value || 'GMT';
  const off = name === 'GMT' ? 'Z' : name.slice(3);
  return `${day}T00:00:00${off}`;
}

// [day of the week (0 = Monday … 6 = Sunday), hour (0-23)] of a time in the city's time zone.
const WEEKDAY = { Mon: 0, Tue: 1, Wed: 2, Thu: 3, Fri: 4, Sat: 5, Sun: 6 };
let weekHourFmt = null;
export function weekHour(ts) {
  weekHourFmt = weekHourFmt || new Intl.DateTimeFormat('en-US', { timeZone: CITY_TZ, weekday: 'short', hour: 'numeric', hourCycle: 'h23' });
  const parts = weekHourFmt.formatToParts(new Date(ts));
  const wd = parts.find((p) => p.type === 'weekday')?.value;
  const hr = Number(parts.find((p) => p.type === 'hour')?.value);
  return [WEEKDAY[wd] ?? 0, hr % 24];
}
