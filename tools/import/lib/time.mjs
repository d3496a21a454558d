// Local wall-clock times to instants and RFC 3339 strings with the zone's offset.
//
// A "wall" value is a wall-clock time encoded as if it were UTC milliseconds (Date.UTC of the
// local fields). Date.UTC normalizes overflow, so hour 24 of a day is 00:00 of the next one.

const formatters = new Map();
function formatter(tz) {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric',
      hour: 'numeric', minute: 'numeric', second: 'numeric',
    });
    formatters.set(tz, f);
  }
  return f;
}

// The zone's UTC offset in minutes at instant utcMs (whole seconds).
const offsetCache = new Map();
export function offsetMinutes(tz, utcMs) {
  const key = `${tz}|${Math.floor(utcMs / 900000)}`; // offsets change on quarter hours at most
  const hit = offsetCache.get(key);
  if (hit !== undefined) return hit;
  const p = {};
  for (const { type, value } of formatter(tz).formatToParts(new Date(Math.floor(utcMs / 900000) * 900000))) p[type] = value;
  const wall = Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour, +p.minute, +p.second);
  const off = Math.round((wall - Math.floor(utcMs / 900000) * 900000) / 60000);
  if (offsetCache.size > 200000) offsetCache.clear();
  offsetCache.set(key, off);
  return off;
}

// localToUtc(tz, wall) -> {ms, offset, status}
//   status 'ok'; 'ambiguous' (the hour repeated when clocks go back: the EARLIER instant, i.e. the
//   offset before the change, is returned and `later` holds the other); 'nonexistent' (skipped
//   when clocks go forward: ms is null).
export function localToUtc(tz, wall) {
  const before = offsetMinutes(tz, wall - 86400000);
  const after = offsetMinutes(tz, wall + 86400000);
  const cands = [];
  for (const off of before === after ? [before] : [before, after]) {
    const ms = wall - off * 60000;
    if (offsetMinutes(tz, ms) === off) cands.push({ ms, offset: off });
  }
  if (cands.length === 0) {
    // also try the offset at the wall time itself (zones whose offset changed for good)
    const off = offsetMinutes(tz, wall);
    const ms = wall - off * 60000;
    if (offsetMinutes(tz, ms) === off) return { ms, offset: off, status: 'ok' };
    return { ms: null, offset: null, status: 'nonexistent' };
  }
  if (cands.length === 1) return { ...cands[0], status: 'ok' };
  cands.sort((a, b) => a.ms - b.ms);
  return { ...cands[0], status: 'ambiguous', later: cands[1] };
}

const pad = (n, w = 2) => String(n).padStart(w, '0');

// RFC 3339 with the local offset: 2018-01-01T01:00:00+09:00
export function rfc3339(utcMs, offsetMin) {
  const d = new Date(utcMs + offsetMin * 60000);
  const sign = offsetMin < 0 ? '-' : '+';
  const a = Math.abs(offsetMin);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}T${pad(d.getUTCHours())}:` +
    `${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}${sign}${pad(Math.floor(a / 60))}:${pad(a % 60)}`;
}

// Wall-clock fields (validated) -> wall ms, or null. hour may be 24 only as 24:00:00 (= next day 00:00).
export function wallOf(y, mo, d, h = 0, mi = 0, s = 0) {
  if (![y, mo, d, h, mi, s].every(Number.isInteger)) return null;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 24 || mi < 0 || mi > 59 || s < 0 || s > 59) return null;
  if (h === 24 && (mi !== 0 || s !== 0)) return null;
  const probe = new Date(Date.UTC(y, mo - 1, d));
  if (probe.getUTCMonth() !== mo - 1) return null; // 2019-02-30
  return Date.UTC(y, mo - 1, d, h, mi, s);
}

// "YYYY-MM-DD HH:MM[:SS]" / "YYYY-MM-DDTHH:MM[:SS]" / "YYYYMMDD" / "YYYY-MM-DD" -> wall ms or null
const DT = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$/;
const COMPACT = /^(\d{4})(\d{2})(\d{2})$/;
export function parseWall(s) {
  const t = String(s).trim();
  let m = DT.exec(t);
  if (m) return wallOf(+m[1], +m[2], +m[3], m[4] === undefined ? 0 : +m[4], m[5] === undefined ? 0 : +m[5], m[6] === undefined ? 0 : +m[6]);
  m = COMPACT.exec(t);
  if (m) return wallOf(+m[1], +m[2], +m[3]);
  return null;
}

// Wall ms -> "YYYY-MM-DD HH:MM" (for messages)
export function wallText(wall) {
  const d = new Date(wall);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`;
}
