// KPI catalogue and the city's latest values with a short trend, for the overview tiles.
import { api, ApiError, query } from './api.js';
import { on } from './bus.js';

let cache = null;
let cacheAt = 0;
// What one person was shown is not reused for the next (store.js resetStore).
on('store:reset', () => { cache = null; cacheAt = 0; });
const TTL_MS = 120000;
// The tiles show each KPI in its own period (its target is per period), with the last few periods as the trend.
const TREND_SPAN_DAYS = { day: 14, week: 56, month: 186, year: 1830 };
export const TREND_POINTS = { day: 14, week: 8, month: 6, year: 5 };

function statusOf(e) {
  if (e instanceof ApiError && e.notAvailable) return 'unavailable';
  if (e instanceof ApiError && e.forbidden) return 'forbidden';
  return 'error';
}

export async function kpiCatalogue() {
  const res = await api('/api/v1/kpis');
  return res.items || [];
}

// One KPI's tile: its latest value in its own period, the target, the last few periods as the trend.
export async function kpiItem(k) {
  let values = [];
  const period = TREND_SPAN_DAYS[k.period] ? k.period : 'day';
  const from = new Date(Date.now() - TREND_SPAN_DAYS[period] * 86400000).toISOString();
  try {
    const res = await api(`/api/v1/kpis/${encodeURIComponent(k.id)}/values${query({ period, from })}`);
    values = res.values || [];
  } catch { /* a KPI without values */ }
  const city = values.filter((v) => v.zone === null || v.zone === undefined).sort((a, b) => a.start.localeCompare(b.start));
  const last = city[city.length - 1];
  const latestByZone = new Map();
  for (const v of values) if (v.zone) { const c = latestByZone.get(v.zone); if (!c || c.start < v.start) latestByZone.set(v.zone, v); }
  return {
    kpi: k,
    period,
    value: last ? last.value : null,
    start: last ? last.start : null,
    target: last?.target ?? k.target,
    trend: city.map((v) => [v.start, v.value]),
    zones: [...latestByZone.values()],
  };
}

// The tiles, as they come: onUpdate({status, items, error}) is called with the catalogue at once (values
// pending), then again as each KPI's values arrive (a slow KPI does not hold up the others).
export async function kpiSummary(onUpdate, { force = false } = {}) {
  if (!force && cache && Date.now() - cacheAt < TTL_MS) { onUpdate(cache); return; }
  let kpis;
  try {
    kpis = await kpiCatalogue();
  } catch (e) {
    // Without the operator routes, the public summary still has the latest values and targets.
    let out;
    try {
      const pub = await api('/public/v1/kpis');
      out = {
        status: 'ok',
        items: (pub.items || []).map((p) => ({
          kpi: { id: p.kpi, name: p.name, unit: p.unit, direction: p.direction, target: p.target, domain: p.domain, period: p.period },
          period: p.period, value: p.city?.value ?? null, start: p.city?.start ?? null, target: p.city?.target ?? p.target, trend: [],
          zones: (p.zones || []).map((z) => ({ zone: z.zone, value: z.value })),
        })),
      };
    } catch {
      out = { status: statusOf(e), items: [], error: e };
    }
    cache = out; cacheAt = Date.now();
    onUpdate(out);
    return;
  }
  const out = {
    status: 'ok',
    items: kpis.map((k) => ({ kpi: k, period: k.period, value: null, start: null, target: k.target, trend: [], zones: [], pending: true })),
  };
  // Keep showing the previous values while the new ones load.
  if (cache?.status === 'ok') {
    for (let i = 0; i < out.items.length; i++) {
      const old = cache.items.find((x) => x.kpi.id === out.items[i].kpi.id);
      if (old) out.items[i] = { ...old, kpi: out.items[i].kpi };
    }
  }
  onUpdate(out);
  await Promise.all(kpis.map(async (k, i) => {
    out.items[i] = await kpiItem(k);
    onUpdate(out);
  }));
  cache = out;
  cacheAt = Date.now();
}

// The city's calendar (Asia/Seoul keeps +09:00 all year): where a period that starts at `start` ends.
const CITY_OFFSET_MS = 9 * 3600000;
export function periodEnd(start, period) {
  const s = new Date(start).getTime();
  const local = new Date(s + CITY_OFFSET_MS);
  const y = local.getUTCFullYear(); const m = local.getUTCMonth(); const d = local.getUTCDate();
  if (period === 'month') return Date.UTC(y, m + 1, 1) - CITY_OFFSET_MS;
  if (period === 'year') return Date.UTC(y + 1, 0, 1) - CITY_OFFSET_MS;
  if (period === 'week') return Date.UTC(y, m, d + 7) - CITY_OFFSET_MS;
  return Date.UTC(y, m, d + 1) - CITY_OFFSET_MS;
}

// How much of the period that starts at `start` has passed at `now`: {fraction (0-1), elapsedDays, days,
// inProgress}.
export function periodProgress(start, period, now = Date.now()) {
  const s = new Date(start).getTime();
  const e = periodEnd(start, period);
  const days = (e - s) / 86400000;
  const elapsed = Math.min(Math.max(now - s, 0), e - s);
  return { fraction: e > s ? elapsed / (e - s) : 1, elapsedDays: elapsed / 86400000, days, inProgress: now < e };
}

// A KPI whose target is per day, summed over the period's days (the server's `target_basis`): a count or
// a total that grows as the period goes on, so a period in progress is judged against its share of it.
export function additive(kpi) { return typeof kpi.target_basis === 'string' && kpi.target_basis.startsWith('per day'); }

// The verdict on a value of the period starting at `start`, honest in time: {target (the one it is judged
// against), fullTarget, soFar (the period is in progress), prorated (the target was scaled to the part
// that has passed), fraction, elapsedDays, days, meets (true|false|null)}.
export function judge(kpi, value, target, start, period, now = Date.now()) {
  const out = { target, fullTarget: target, soFar: false, prorated: false, fraction: 1, elapsedDays: null, days: null, meets: null };
  if (start && period) {
    const p = periodProgress(start, period, now);
    Object.assign(out, { soFar: p.inProgress, fraction: p.fraction, elapsedDays: p.elapsedDays, days: p.days });
    if (p.inProgress && additive(kpi) && target !== null && target !== undefined) {
      out.target = target * p.fraction;
      out.prorated = true;
    }
  }
  out.meets = meets(kpi, value, out.target);
  return out;
}

// Does a value meet its target? null when unknown.
export function meets(kpi, value, target) {
  if (value === null || value === undefined || target === null || target === undefined) return null;
  return kpi.direction === 'lower_is_better' ? value <= target : value >= target;
}
