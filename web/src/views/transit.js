// Bus operations (API.md §11): a route on the map with its buses live (from the live feed's "vehicle"
// messages) and bunching flags, today's performance (excess wait, regularity, on time, bunching events) as the
// server computes it, headways per stop, a time-distance (Marey) chart of the route's buses over the last two
// hours, and tomorrow's recommended plan. Data shaping is in transit-data.js, words in transit-i18n.js.
import L from 'leaflet';
import 'leaflet/dist/leaflet.css';
import { h, replace } from '../dom.js';
import { api, query } from '../api.js';
import { on } from '../bus.js';
import { num, timeOnly, dateOnly } from '../format.js';
import { makeChart, PALETTE } from '../chart.js';
import { siteConfig } from '../config.js';
import { unavailable, loading } from '../widgets.js';
import { tt } from './transit-i18n.js';
import { routeLine, addPosition, mareyData, liveVehicles, stopFigures, cityMidnight } from './transit-data.js';

const MAREY_SPAN_MS = 2 * 3600e3;
const REFRESH_MS = 30000;
const BUNCH_COLOR = '#ff4d57';

// Positions seen since the page loaded, kept across visits to the screen (not a reload).
const tracks = new Map();
let listening = false;
function listen() {
  if (listening) return;
  listening = true;
  on('vehicle', (m) => { if (addPosition(tracks, m.vehicle && typeof m.vehicle === 'object' ? m.vehicle : m)) notify(); });
  on('store:reset', () => tracks.clear());
}
const watchers = new Set();
let notifyTimer = null;
function notify() {
  if (notifyTimer) return;
  notifyTimer = setTimeout(() => { notifyTimer = null; for (const w of watchers) w(); }, 500);
}

const sel = { route: null };

export default {
  mount(el, { params }) {
    listen();
    if (params.get('route')) sel.route = params.get('route');
    let destroyed = false;
    let routes = [];
    let route = null;       // GET /routes/{id}
    let line = null;
    let perf = null;        // GET /routes/{id}/performance, or an ApiError
    let headways = null;    // GET /routes/{id}/headways, or an ApiError
    let plan = null;        // GET /routes/{id}/plan (the server's tomorrow), or an ApiError
    let zone = 'Asia/Seoul';  // the city's time zone, as the last plan answer names it
    let map = null, shapeLayer = null, stopLayer = null;
    const others = new Map();  // route id → {route, line, layer}: the other routes, thinner, with their buses
    const vehicleMarkers = new Map();
    let chart = null, chartKey = '';
    let refreshTimer = null;

    const picker = h('div', { class: 'toolbar transit-controls' });
    const mapEl = h('div', { class: 'transit-map', id: 'transit-map', role: 'region', 'aria-label': tt('map') });
    const vehiclesEl = h('div', { class: 'transit-vehicles', id: 'transit-vehicles' });
    const perfEl = h('div', { class: 'transit-perf', id: 'transit-performance', 'aria-live': 'polite' });
    const headwaysEl = h('div', { class: 'table-wrap', id: 'transit-headways' });
    const mareyEl = h('div', { class: 'transit-marey', id: 'transit-marey', role: 'img' });
    const mareyNote = h('p', { class: 'muted small', id: 'transit-marey-note' });
    const planEl = h('div', { class: 'table-wrap', id: 'transit-plan' });
    const planLead = h('p', { class: 'muted small' });
    const panel = (title, id, ...body) => h('section', { class: 'panel', 'aria-labelledby': id },
      h('div', { class: 'panel-head' }, h('h2', { id }, title)), ...body);
    const bodyEl = h('div', { class: 'transit-body' },
      h('div', { class: 'transit-top' },
        panel(tt('map'), 'tr-map-h', mapEl),
        h('div', { class: 'transit-side' },
          panel(tt('performance'), 'tr-perf-h', perfEl),
          panel(tt('vehicles'), 'tr-veh-h', vehiclesEl))),
      panel(tt('marey'), 'tr-marey-h', h('p', { class: 'muted small' }, tt('marey_lead')), mareyEl, mareyNote),
      panel(tt('headways'), 'tr-hw-h', headwaysEl),
      panel(tt('plan'), 'tr-plan-h', planLead, planEl));
    el.append(h('div', { class: 'page-head' }, h('h1', {}, tt('title')), h('p', { class: 'muted' }, tt('lead'))), picker, bodyEl);

    async function init() {
      replace(picker, loading());
      try {
        const list = await api('/api/v1/transit/routes?limit=1000');
        if (destroyed) return;
        routes = list.items || [];
      } catch (e) {
        if (destroyed) return;
        replace(picker, unavailable(e, '/api/v1/transit/routes', init));
        bodyEl.hidden = true;
        return;
      }
      if (!routes.length) {
        replace(picker, h('div', { class: 'placeholder na', 'data-state': 'empty' }, h('p', {}, tt('no_routes'))));
        bodyEl.hidden = true;
        return;
      }
      bodyEl.hidden = false;
      if (!routes.some((r) => r.id === sel.route)) sel.route = routes[0].id;
      loadOthers();
      const select = h('select', { id: 'transit-route', class: 'input', onchange: () => { sel.route = select.value; history.replaceState(null, '', `/transit?route=${encodeURIComponent(sel.route)}`); loadRoute(); } },
        routes.map((r) => h('option', { value: r.id, selected: r.id === sel.route }, routeName(r))));
      replace(picker, h('label', { for: 'transit-route', class: 'field-label' }, tt('route')), select,
        h('button', { type: 'button', class: 'btn btn-small', id: 'transit-refresh', onclick: () => loadFigures() }, tt('refresh')));
      await loadRoute();
    }

    // Every route's detail, for the map: drawn thin under the selected one, with their buses.
    async function loadOthers() {
      for (const r of routes) {
        if (others.has(r.id)) continue;
        try {
          const d = await api(`/api/v1/transit/routes/${encodeURIComponent(r.id)}`);
          if (destroyed) return;
          others.set(r.id, { route: d, line: routeLine(d), layer: null });
        } catch { /* the selected route's own load says what is wrong */ }
      }
      drawOthers();
      drawVehicles();
    }

    function drawOthers() {
      if (!map) return;
      for (const o of others.values()) {
        if (o.layer) { o.layer.remove(); o.layer = null; }
        if (o.route.id === sel.route) continue;
        const color = o.route.color ? `#${o.route.color}` : PALETTE[1];
        o.layer = L.geoJSON(o.route.shape || { type: 'LineString', coordinates: o.line.coords },
          { style: { color, weight: 3, opacity: 0.5, dashArray: '6 6' } }).bindTooltip(routeName(o.route)).addTo(map);
        o.layer.bringToBack();
      }
    }

    async function loadRoute() {
      const id = sel.route;
      replace(perfEl, loading());
      try {
        route = await api(`/api/v1/transit/routes/${encodeURIComponent(id)}`);
      } catch (e) {
        if (destroyed || id !== sel.route) return;
        route = null;
        replace(perfEl, unavailable(e, `/api/v1/transit/routes/${id}`, loadRoute));
        return;
      }
      if (destroyed || id !== sel.route) return;
      line = routeLine(route);
      mapEl.setAttribute('aria-label', tt('map_label', { route: routeName(route) }));
      mareyEl.setAttribute('aria-label', tt('marey_label', { route: routeName(route) }));
      drawMap();
      drawVehicles();
      await loadFigures();
    }

    async function loadFigures() {
      if (!route) return;
      const id = route.id;
      const now = Date.now();
      const from = new Date(cityMidnight(now, zone)).toISOString();
      const to = new Date(now).toISOString();
      const get = (path) => api(path).catch((e) => e);
      const base = `/api/v1/transit/routes/${encodeURIComponent(id)}`;
      const [p, hw, pl] = await Promise.all([get(`${base}/performance${query({ from, to })}`),
        get(`${base}/headways${query({ from, to })}`), get(`${base}/plan`)]);
      if (destroyed || id !== sel.route) return;
      perf = p; headways = hw; plan = pl;
      // The plan is for the server's tomorrow in the city's time zone: its answer says which date.
      if (!(pl instanceof Error) && pl?.date) {
        planLead.textContent = tt('plan_lead', { date: pl.date });
        if (typeof pl.timezone === 'string' && pl.timezone) zone = pl.timezone;
      } else {
        planLead.textContent = '';
      }
      perfEl.dataset.from = from;
      drawPerformance(from);
      drawHeadways();
      drawMarey();
      drawPlan();
    }

    // ---------------------------------------------------------------- map

    function drawMap() {
      if (!map) {
        map = L.map(mapEl, { zoomSnap: 0.25, minZoom: 10, maxZoom: 18, keyboard: true });
        map.setView([38.19, 128.56], 12);
        map.attributionControl.setPrefix(false);
        siteConfig().then((cfg) => {
          if (cfg.tileUrl && map) L.tileLayer(cfg.tileUrl, { attribution: cfg.tileAttribution || '', maxZoom: cfg.tileMaxZoom || 18 }).addTo(map);
        });
        new ResizeObserver(() => map && map.invalidateSize()).observe(mapEl);
      }
      if (shapeLayer) shapeLayer.remove();
      if (stopLayer) stopLayer.remove();
      for (const m of vehicleMarkers.values()) m.remove();
      vehicleMarkers.clear();
      const color = route.color ? `#${route.color}` : PALETTE[0];
      shapeLayer = L.geoJSON(route.shape || { type: 'LineString', coordinates: line.coords }, { style: { color, weight: 5, opacity: 0.85 } }).addTo(map);
      stopLayer = L.layerGroup((route.stops || []).filter((s) => s.location).map((s) => L.circleMarker([s.location.coordinates[1], s.location.coordinates[0]],
        { radius: 5, color: '#06121b', weight: 1.5, fillColor: '#ffffff', fillOpacity: 1 }).bindTooltip(s.name || s.id))).addTo(map);
      drawOthers();
      const b = shapeLayer.getBounds();
      if (b.isValid()) map.fitBounds(b, { padding: [24, 24] });
    }

    function drawVehicles() {
      if (!route || !line) return;
      const live = liveVehicles(tracks, line, route.id);
      const seen = new Set();
      if (map) {
        const all = [{ r: route, vs: live }];
        for (const o of others.values()) if (o.route.id !== route.id) all.push({ r: o.route, vs: liveVehicles(tracks, o.line, o.route.id), other: true });
        for (const { r, vs, other } of all) for (const v of vs) {
          seen.add(v.vehicle);
          const color = r.color ? `#${r.color}` : PALETTE[0];
          const size = other ? 5 : 7;
          const style = { radius: v.bunched ? size + 2 : size, color: v.bunched ? BUNCH_COLOR : '#ffffff', weight: v.bunched ? 3 : 2, fillColor: color, fillOpacity: 1 };
          let m = vehicleMarkers.get(v.vehicle);
          if (!m) {
            m = L.circleMarker([v.lat, v.lon], style).addTo(map);
            vehicleMarkers.set(v.vehicle, m);
          } else {
            m.setLatLng([v.lat, v.lon]);
            m.setStyle(style);
          }
          m.bindTooltip(`${r.short_name || r.id} ${v.vehicle}${v.bunched ? ` · ${tt('bunched')}` : ''}`);
          if (m.getElement()) {
            m.getElement().setAttribute('data-vehicle', v.vehicle);
            m.getElement().setAttribute('data-route', r.id);
            m.getElement().classList.toggle('vehicle-bunched', v.bunched);
          }
        }
        for (const [id, m] of vehicleMarkers) if (!seen.has(id)) { m.remove(); vehicleMarkers.delete(id); }
      }
      if (!live.length) {
        replace(vehiclesEl, h('p', { class: 'muted', 'data-state': 'empty' }, tt('vehicles_none')));
        return;
      }
      replace(vehiclesEl, h('table', { class: 'table compact transit-vehicle-table' },
        h('thead', {}, h('tr', {}, [tt('vehicle'), tt('position'), tt('occupancy'), tt('updated'), tt('bunched')].map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', {}, live.map((v) => h('tr', { 'data-vehicle': v.vehicle, 'data-bunched': String(v.bunched), class: v.bunched ? 'row-bunched' : null },
          h('th', { scope: 'row' }, v.vehicle, v.trip ? h('span', { class: 'muted small' }, ` ${v.trip}`) : null),
          h('td', {}, tt('along', { km: num(v.dist / 1000, 1) }), v.dir ? ` · ${v.dir > 0 ? tt('direction_up') : tt('direction_down')}` : ''),
          h('td', { class: 'num' }, v.occupancy == null ? '–' : occupancyText(v.occupancy)),
          h('td', {}, timeOnly(v.t)),
          h('td', {}, v.bunched ? h('span', { class: 'bunch-flag', title: tt('bunched_with', { v: v.near }) }, `⚠ ${tt('bunched')}`) : '–'))))));
    }

    // ---------------------------------------------------------------- figures

    function drawPerformance(from) {
      if (perf instanceof Error) { replace(perfEl, unavailable(perf, `/api/v1/transit/routes/${route.id}/performance`, loadFigures)); return; }
      const fig = (key, label, value, help) => h('div', { class: 'transit-fig', 'data-kpi': key, 'data-value': value == null ? '' : String(value) },
        h('span', { class: 'fig-label' }, label),
        h('strong', { class: 'fig-value' }, value == null ? tt('no_data') : formatFig(key, value)),
        help ? h('span', { class: 'muted small' }, help) : null);
      replace(perfEl,
        h('p', { class: 'muted small' }, tt('perf_window', { from: `${dateOnly(Date.parse(from))} ${timeOnly(Date.parse(from))}` })),
        h('div', { class: 'transit-figs' },
          fig('excess_wait_min', tt('excess_wait'), perf.excess_wait_min, tt('excess_wait_help')),
          fig('headway_cv', tt('regularity'), perf.headway_cv, tt('regularity_help')),
          fig('on_time_pct', tt('on_time'), perf.on_time_pct),
          fig('bunching_events', tt('bunching_events'), perf.bunching_events)));
    }

    function formatFig(key, v) {
      if (key === 'excess_wait_min') return tt('minutes', { n: num(v, 1) });
      if (key === 'headway_cv') return num(v, 2);
      if (key === 'on_time_pct') return `${num(v, 1)}%`;
      return tt('times', { n: num(v, 0) });
    }

    function drawHeadways() {
      if (headways instanceof Error) { replace(headwaysEl, unavailable(headways, `/api/v1/transit/routes/${route.id}/headways`, loadFigures)); return; }
      const order = new Map((line?.stops || []).map((s, i) => [s.id, i]));
      const names = new Map((route.stops || []).map((s) => [s.id, s.name || s.id]));
      const rows = (headways.stops || []).map(stopFigures)
        .sort((a, b) => a.direction - b.direction || (order.get(a.stop) ?? 999) - (order.get(b.stop) ?? 999));
      if (!rows.length) { replace(headwaysEl, h('p', { class: 'muted', 'data-state': 'empty' }, tt('no_data'))); return; }
      const min = (v) => (v == null ? '–' : num(v, 1));
      replace(headwaysEl, h('table', { class: 'table compact transit-headway-table' },
        h('caption', { class: 'sr-only' }, tt('headways_caption')),
        h('thead', {}, h('tr', {}, [tt('stop'), tt('dir'), tt('arrivals'), `${tt('mean_headway')} (${tt('minutes', { n: '' }).trim() || 'min'})`,
          tt('wait'), tt('sched_wait'), tt('excess'), tt('cv')].map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', {}, rows.map((r) => h('tr', { 'data-stop': r.stop, 'data-direction': String(r.direction) },
          h('th', { scope: 'row' }, names.get(r.stop) || r.stop),
          h('td', {}, r.direction ? tt('direction_down') : tt('direction_up')),
          h('td', { class: 'num' }, num(r.arrivals, 0)),
          h('td', { class: 'num' }, min(r.mean_headway_min)),
          h('td', { class: 'num' }, min(r.wait_min)),
          h('td', { class: 'num' }, min(r.scheduled_wait_min)),
          h('td', { class: 'num', 'data-excess': r.excess_wait_min == null ? '' : String(r.excess_wait_min) }, min(r.excess_wait_min)),
          h('td', { class: 'num' }, r.cv == null ? '–' : num(r.cv, 2)))))));
    }

    function drawMarey() {
      if (!route || !line) return;
      const now = Date.now();
      const arrivals = headways instanceof Error || !headways ? [] : (headways.stops || []).flatMap((s) => (s.headways || []).map((x) => ({ stop: s.stop, ts: x.ts })));
      const m = mareyData(tracks, line, route.id, { from: now - MAREY_SPAN_MS, to: now, arrivals });
      mareyEl.dataset.vehicles = String(m.vehicles.length);
      mareyEl.dataset.arrivals = String(m.arrivals);
      if (!m.data[0].length) {
        if (chart) { chart.destroy(); chart = null; chartKey = ''; }
        replace(mareyEl, h('p', { class: 'muted', 'data-state': 'empty' }, tt('marey_empty')));
        mareyNote.textContent = '';
        return;
      }
      mareyNote.textContent = `${tt('vehicles')}: ${m.vehicles.join(', ') || '–'} · ${tt('marey_arrivals')}: ${m.arrivals}`;
      const key = `${route.id}|${m.vehicles.join(',')}`;
      if (chart && key === chartKey) { chart.setData(m.data); return; }
      if (chart) chart.destroy();
      replace(mareyEl);
      const series = [...m.vehicles.map((v, i) => ({ label: v, color: PALETTE[i % PALETTE.length], width: 2, spanGaps: true })),
        { label: tt('marey_arrivals'), color: '#e0e0e0', width: 0, points: true }];
      chart = makeChart(mareyEl, { series, data: m.data, height: 300, yLabel: tt('km'), valueFmt: (v) => (v == null ? '–' : `${num(v, 2)} km`) });
      chartKey = key;
    }

    function drawPlan() {
      if (plan instanceof Error) { replace(planEl, unavailable(plan, `/api/v1/transit/routes/${route.id}/plan`, loadFigures)); return; }
      const rows = planRows(plan);
      if (!rows.length) { replace(planEl, h('p', { class: 'muted', 'data-state': 'empty' }, tt('plan_empty'))); return; }
      const min = (v) => (v == null ? '–' : tt('minutes', { n: num(v, 1) }));
      const notes = [];
      if (plan?.basis === 'no_history') notes.push(h('p', { class: 'muted small', 'data-state': 'no-history' }, tt('plan_no_history')));
      if (plan?.flags?.holiday) notes.push(h('p', { class: 'muted small' }, tt('plan_holiday', { date: plan.date })));
      if (plan?.flags?.tourist_peak) notes.push(h('p', { class: 'muted small' }, tt('plan_tourist', { date: plan.date })));
      const several = new Set(rows.map((r) => r.direction)).size > 1;
      const label = (r) => [several && r.direction != null ? tt('direction', { n: r.direction }) : '',
        r.name ? tt(`period_${r.name}`) === `period_${r.name}` ? r.name : tt(`period_${r.name}`) : '', r.span].filter(Boolean).join(' ') || r.label;
      replace(planEl, ...notes, h('table', { class: 'table compact transit-plan-table' },
        h('thead', {}, h('tr', {}, [tt('period'), tt('today_headway'), tt('plan_headway'), tt('expected_load'), tt('load_factor'), tt('expected_wait'), tt('bound')].map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', {}, rows.map((r) => h('tr', { 'data-period': r.label, 'data-headway': r.headway ?? '', 'data-today': r.today ?? '' },
          h('th', { scope: 'row' }, label(r)),
          h('td', { class: 'num' }, min(r.today)),
          h('td', { class: 'num' }, min(r.headway)),
          h('td', { class: 'num' }, r.load == null ? '–' : num(r.load, 0)),
          h('td', { class: 'num' }, r.lf == null ? '–' : `${num(r.lf * 100, 0)}%`),
          h('td', { class: 'num' }, min(r.wait)),
          h('td', {}, r.bound ? (tt(`bound_${r.bound}`) === `bound_${r.bound}` ? r.bound : tt(`bound_${r.bound}`)) : '–'))))));
    }

    function tick() {
      drawVehicles();
      drawMarey();
    }
    watchers.add(tick);
    refreshTimer = setInterval(() => { if (!document.hidden) loadFigures(); }, REFRESH_MS);
    init();

    return {
      update() {},
      destroy() {
        destroyed = true;
        watchers.delete(tick);
        clearInterval(refreshTimer);
        if (chart) chart.destroy();
        if (map) map.remove();
        map = null;
      },
    };
  },
};

function routeName(r) {
  return [r.short_name, r.long_name].filter(Boolean).join(' ') || r.id;
}

function occupancyText(o) {
  const n = Number(o);
  if (!Number.isFinite(n)) return String(o);
  return n <= 1 ? `${num(n * 100, 0)}%` : num(n, 0);
}

// Rows of a plan answer (GET …/plan, API §11): one per direction and period, in the answer's order.
export function planRows(plan) {
  const finite = (x) => (Number.isFinite(x) ? x : null);
  const hour = (x) => `${String(x).padStart(2, '0')}:00`;
  return (plan?.directions || []).flatMap((d) => (d.periods || []).map((o) => {
    const span = Number.isFinite(o.start_hour) && Number.isFinite(o.end_hour) ? `${hour(o.start_hour)}–${hour(o.end_hour)}` : '';
    const name = o.name ?? '';
    return {
      label: [d.direction != null ? `${d.direction}` : '', name, span].filter(Boolean).join(' ') || '–',
      direction: d.direction ?? null,
      name,
      span,
      lf: finite(o.load_factor),
      bound: typeof o.bound === 'string' ? o.bound : null,
      headway: finite(o.headway_min),
      today: finite(o.scheduled_headway_min),
      load: finite(o.expected_load),
      wait: finite(o.avg_wait_min),
    };
  }));
}
