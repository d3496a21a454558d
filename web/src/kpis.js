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

// Does a value meet its target? null when unknown.
export function meets(kpi, value, target) {
  if (value === null || value === undefined || target === null || target === undefined) return null;
  return kpi.direction === 'lower_is_better' ? value <= target : value >= target;
}
