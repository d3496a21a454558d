// Map: zone boundaries, facilities (shelters and clinics first), open incidents with their area, and sensors
// coloured by state, live; a click (or the list, by keyboard) opens a sensor. Layer switches and a legend.
// Leaflet with no base layer by default (works offline); web.tiles in the server's config (config.js) adds one.
import L from 'leaflet';
import 'leaflet/dist/leaflet.css';
import { h, replace } from '../dom.js';
import { t, nameOf, shortName, kindName } from '../i18n.js';
import { state, sensorState, DOMAINS } from '../store.js';
import { zoneSummary } from '../zones.js';
import { siteConfig } from '../config.js';
import { sensorDomains } from '../session.js';
import { sensorPanel } from '../sensor-panel.js';
import { unavailable, loading } from '../widgets.js';
import { layerOn, facilityLayers, incidentLayer, layerLegend, loadFacilities, loadOpenIncidents } from '../map-layers.js';
import '../strings-ops.js';

export const STATE_COLORS = {
  critical: '#ff4d57', warning: '#ffb020', info: '#ffe066', ok: '#2ed3a0', stale: '#98a4b1', nodata: '#5d6a78',
};
const ZONE_FILL = { critical: '#ff4d57', warning: '#ffb020', info: '#ffe066', ok: '#3d8bd9', stale: '#3d8bd9', nodata: '#3d8bd9' };
const STATES = ['critical', 'warning', 'info', 'ok', 'stale', 'nodata'];
const DOMAIN_SHAPE = { disaster: '◆', welfare: '●', mobility: '■', energy: '▲', environment: '⬟' };

// Filters survive leaving and coming back to the map (not a page reload).
const filters = { domains: new Set(DOMAINS), q: '' };

function escapeHtml(v) {
  return String(v).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
}

export default {
  mount(el, { params, navigate }) {
    let selected = params.get('sensor');
    const focusZone = params.get('zone');
    const mapEl = h('div', { class: 'map-canvas', id: 'map', role: 'region', 'aria-label': t('map_title') });
    const listEl = h('ul', { class: 'sensor-list', id: 'sensor-list', 'aria-label': t('map_sensors') });
    const countEl = h('span', { class: 'muted small' });
    const search = h('input', {
      type: 'search', class: 'input', placeholder: t('map_search'), 'aria-label': t('map_search'), value: filters.q,
      oninput: () => { filters.q = search.value.trim().toLowerCase(); renderList(); applyVisibility(); },
    });
    // Only the domains whose sensors this person may see (no welfare layer for those who may not read it).
    const domainBoxes = h('fieldset', { class: 'domain-filter' },
      h('legend', {}, t('map_layers')),
      sensorDomains().map((d) => h('label', { class: 'check' },
        h('input', {
          type: 'checkbox', checked: filters.domains.has(d), 'data-domain': d,
          onchange: (e) => { if (e.target.checked) filters.domains.add(d); else filters.domains.delete(d); renderList(); applyVisibility(); },
        }),
        h('span', { class: 'dom-shape', 'aria-hidden': 'true' }, DOMAIN_SHAPE[d]), ' ', t(`dom_${d}`))));
    const legend = h('div', { class: 'legend', role: 'group', 'aria-label': t('map_legend'), id: 'map-legend' },
      STATES.map((s) => h('span', { class: 'legend-item' }, h('span', { class: `legend-dot ld-${s}`, style: { background: STATE_COLORS[s] } }), t(`st_${s}`))),
      layerLegend());
    // Layers other than sensors: zones, facility groups, open incidents (map-layers.js).
    const layerBoxes = h('fieldset', { class: 'layer-filter', id: 'layer-filter' },
      h('legend', {}, t('map_base_layers')),
      ['zones', 'shelter', 'clinic', 'care', 'other', 'incidents'].map((id) => h('label', { class: 'check' },
        h('input', {
          type: 'checkbox', checked: layerOn[id], 'data-layer': id,
          onchange: (e) => { layerOn[id] = e.target.checked; applyLayers(); },
        }), ' ', t(id === 'zones' ? 'map_zones' : id === 'incidents' ? 'map_incidents' : `map_fac_${id}`))));
    const panelEl = h('div', { class: 'map-panel', hidden: !selected });
    const side = h('aside', { class: 'map-side' },
      search, domainBoxes,
      h('div', { class: 'list-head' }, h('h2', {}, t('map_sensors')), countEl),
      listEl);
    const fitBtn = h('button', { type: 'button', class: 'btn btn-small map-fit', onclick: () => { userMoved = true; fitCity(); } }, t('map_fit'));
    const mapWrap = h('div', { class: 'map-wrap' }, mapEl, h('div', { class: 'map-overlay' }, legend, fitBtn),
      h('div', { class: 'map-layers-box' }, layerBoxes));
    el.append(h('h1', { class: 'sr-only' }, t('nav_map')), h('div', { class: 'map-layout' }, side, mapWrap, panelEl));

    let map = null;
    const markers = new Map(); // sensor id → circleMarker
    const zoneLayers = new Map(); // zone id → layer
    const listItems = new Map(); // sensor id → {li, dot}
    let panel = null;
    let destroyed = false;
    let userMoved = false;
    let resizeObs = null;
    let facGroups = null; // facility group id → layer group
    let incGroup = null;
    let incTimer = null;

    // Facilities once, open incidents now and every 30 s (the live feed has no incident events).
    function loadExtras() {
      loadFacilities().then((list) => {
        if (destroyed || !map) return;
        facGroups = facilityLayers(list);
        applyLayers();
      }, () => { /* no facilities for this role or server: the layer stays empty */ });
      const refreshIncidents = () => loadOpenIncidents().then((list) => {
        if (destroyed || !map) return;
        if (incGroup) incGroup.remove();
        incGroup = incidentLayer(list, (inc) => navigate(`/incidents?id=${inc.id}`));
        applyLayers();
      }, () => {});
      refreshIncidents();
      incTimer = setInterval(refreshIncidents, 30000);
    }

    function applyLayers() {
      if (!map) return;
      const show = (layer, on) => { if (!layer) return; if (on && !map.hasLayer(layer)) layer.addTo(map); else if (!on && map.hasLayer(layer)) layer.remove(); };
      for (const l of zoneLayers.values()) show(l, layerOn.zones);
      if (facGroups) for (const [id, g] of facGroups) show(g, layerOn[id]);
      show(incGroup, layerOn.incidents);
    }

    function visible(s) {
      if (!filters.domains.has(s.domain)) return false;
      if (!filters.q) return true;
      const z = state.zoneById.get(s.zone);
      const hay = `${s.id} ${s.kind} ${kindName(s.kind)} ${s.zone || ''} ${z ? nameOf(z.name) : ''} ${s.attributes?.site || ''}`.toLowerCase();
      return hay.includes(filters.q);
    }

    function markerStyle(s, st) {
      const sel = s.id === selected;
      const alarm = st === 'critical' || st === 'warning';
      return {
        radius: sel ? 10 : alarm ? 8 : 5.5,
        // no data: a hollow ring; late: grey; the rest filled in their state's colour
        color: sel ? '#ffffff' : st === 'nodata' ? '#8a96a3' : '#06121b',
        weight: sel ? 3 : st === 'nodata' ? 1.6 : 1.2,
        fillColor: STATE_COLORS[st],
        fillOpacity: st === 'nodata' ? 0.12 : 0.95,
      };
    }

    function build() {
      if (state.registry !== 'ok' || destroyed) return;
      if (!map) {
        map = L.map(mapEl, {
          zoomControl: true, attributionControl: true, preferCanvas: false, keyboard: true,
          zoomSnap: 0.25, minZoom: 10, maxZoom: 18,
        });
        // A view before any layer (Leaflet needs one to project them); fitted to the zones below.
        map.setView([38.2, 128.57], 13);
        for (const ev of ['mousedown', 'wheel', 'touchstart', 'keydown']) mapEl.addEventListener(ev, () => { userMoved = true; }, { passive: true });
        resizeObs = new ResizeObserver(() => {
          if (!map) return;
          map.invalidateSize();
          if (!userMoved) fitInitial();
        });
        resizeObs.observe(mapEl);
        map.attributionControl.setPrefix(false);
        siteConfig().then((cfg) => {
          if (cfg.tileUrl && map) {
            // The attribution is plain text from the config (Leaflet would read it as HTML).
            L.tileLayer(cfg.tileUrl, { attribution: escapeHtml(cfg.tileAttribution || ''), maxZoom: cfg.tileMaxZoom || 18 }).addTo(map);
            mapEl.classList.add('has-tiles');
            mapEl.dataset.tiles = 'on';
          } else if (map) {
            map.attributionControl.addAttribution(escapeHtml(t('map_no_tiles')));
            mapEl.dataset.tiles = 'off';
          }
        });
        loadExtras();
      }
      for (const z of state.zones) {
        if (zoneLayers.has(z.id) || !z.boundary) continue;
        const layer = L.geoJSON(z.boundary, { style: () => zoneStyle(z.id) });
        layer.bindTooltip(shortName(z.name, z.id), { permanent: true, direction: 'center', className: 'zone-label', interactive: false });
        layer.on('click', () => navigate(`/map?zone=${encodeURIComponent(z.id)}`));
        if (layerOn.zones) layer.addTo(map);
        zoneLayers.set(z.id, layer);
      }
      for (const s of state.sensors.values()) {
        if (markers.has(s.id) || !s.location?.coordinates) continue;
        const [lon, lat] = s.location.coordinates;
        const m = L.circleMarker([lat, lon], { ...markerStyle(s, sensorState(s)), className: 'sensor-marker' });
        m.on('add', () => m.getElement()?.setAttribute('data-sensor', s.id));
        m.bindTooltip(() => `${s.id} · ${kindName(s.kind)} · ${t(`st_${sensorState(s)}`)}`, { direction: 'top', offset: [0, -6] });
        m.on('click', () => select(s.id));
        markers.set(s.id, m);
        if (visible(s)) m.addTo(map);
      }
      map.invalidateSize();
      fitInitial();
      renderList();
      if (selected) openPanel(selected, false);
    }

    function zoneStyle(id) {
      const st = zoneSummary(id).status;
      const focus = id === focusZone;
      return {
        color: ['critical', 'warning', 'info'].includes(st) ? ZONE_FILL[st] : '#6fb3f2', weight: focus ? 3.5 : 2, opacity: 0.9,
        fillColor: st === 'critical' || st === 'warning' ? ZONE_FILL[st] : ZONE_FILL.ok, fillOpacity: st === 'critical' || st === 'warning' ? 0.16 : 0.06,
        dashArray: focus ? null : '6 4',
      };
    }

    function fitInitial() {
      if (focusZone && zoneLayers.has(focusZone)) map.fitBounds(zoneLayers.get(focusZone).getBounds(), { padding: [30, 30], animate: false });
      else fitCity(false);
    }

    function fitCity(animate = true) {
      if (!map) return;
      const layers = [...zoneLayers.values()];
      if (layers.length) map.fitBounds(L.featureGroup(layers).getBounds(), { padding: [20, 20], animate });
      else map.setView([38.2, 128.57], 13);
    }

    function applyVisibility() {
      if (!map) return;
      for (const [id, m] of markers) {
        const s = state.sensors.get(id);
        const v = visible(s);
        if (v && !map.hasLayer(m)) m.addTo(map);
        else if (!v && map.hasLayer(m)) m.remove();
      }
    }

    function renderList() {
      listItems.clear();
      const list = [...state.sensors.values()].filter(visible);
      const rank = { critical: 0, warning: 1, info: 2, stale: 3, nodata: 4, ok: 5 };
      const now = Date.now();
      list.sort((a, b) => rank[sensorState(a, now)] - rank[sensorState(b, now)] || a.id.localeCompare(b.id));
      countEl.textContent = t('map_count', { n: list.length });
      replace(listEl, list.map((s) => {
        const st = sensorState(s, now);
        const dot = h('span', { class: `st-dot ld-${st}`, style: { background: STATE_COLORS[st] }, title: t(`st_${st}`) });
        const label = h('span', { class: 'sr-only st-text' }, t(`st_${st}`));
        const btn = h('button', {
          type: 'button', class: `sensor-item ${s.id === selected ? 'active' : ''}`, 'data-sensor': s.id,
          'aria-current': s.id === selected ? 'true' : null, onclick: () => select(s.id),
        }, dot, label, h('span', { class: 'si-id' }, s.id), h('span', { class: 'si-kind muted' }, kindName(s.kind)));
        const li = h('li', {}, btn);
        listItems.set(s.id, { li, dot, label, btn });
        return li;
      }));
    }

    function refreshSensor(id, now) {
      const s = state.sensors.get(id);
      if (!s) return;
      const st = sensorState(s, now);
      const m = markers.get(id);
      if (m) {
        m.setStyle(markerStyle(s, st));
        if (st === 'critical' || st === 'warning' || id === selected) m.bringToFront();
      }
      const item = listItems.get(id);
      if (item) {
        item.dot.style.background = STATE_COLORS[st];
        item.dot.className = `st-dot ld-${st}`;
        item.dot.title = t(`st_${st}`);
        item.label.textContent = t(`st_${st}`);
      }
    }

    function refreshZones() {
      for (const [id, layer] of zoneLayers) layer.setStyle(zoneStyle(id));
    }

    function select(id) {
      if (selected === id) { panel?.focus(); return; }
      const prev = selected;
      selected = id;
      history.replaceState(null, '', `/map?sensor=${encodeURIComponent(id)}`);
      if (prev) refreshSensor(prev);
      refreshSensor(id);
      for (const [sid, it] of listItems) {
        it.btn.classList.toggle('active', sid === id);
        if (sid === id) it.btn.setAttribute('aria-current', 'true'); else it.btn.removeAttribute('aria-current');
      }
      openPanel(id, true);
    }

    function openPanel(id, focus) {
      if (panel) panel.destroy();
      panelEl.hidden = false;
      panel = sensorPanel(panelEl, id, { onClose: closePanel });
      const s = state.sensors.get(id);
      if (map && s?.location && userMoved) {
        const [lon, lat] = s.location.coordinates;
        if (!map.getBounds().pad(-0.1).contains([lat, lon])) map.panTo([lat, lon]);
      }
      setTimeout(() => map && map.invalidateSize(), 0);
      if (focus) panel.focus();
    }

    function closePanel() {
      const prev = selected;
      selected = null;
      if (panel) { panel.destroy(); panel = null; }
      panelEl.hidden = true;
      history.replaceState(null, '', '/map');
      if (prev) {
        refreshSensor(prev);
        const it = listItems.get(prev);
        if (it) { it.btn.classList.remove('active'); it.btn.focus(); }
      }
      setTimeout(() => map && map.invalidateSize(), 0);
    }

    el.addEventListener('keydown', (e) => { if (e.key === 'Escape' && selected && !document.querySelector('dialog[open]')) closePanel(); });

    if (state.registry === 'ok') setTimeout(build, 0);
    else if (state.registry === 'loading') replace(listEl, h('li', {}, loading()));
    else replace(listEl, h('li', {}, unavailable(state.registryError, '/api/v1/sensors')));

    let ticks = 0;
    return {
      update(c) {
        if (c.registry) { build(); return; }
        if (!map) return;
        const now = Date.now();
        if (c.alerts) { for (const id of markers.keys()) refreshSensor(id, now); refreshZones(); } else {
          for (const id of c.sensors) refreshSensor(id, now);
          if (c.sensors.size) refreshZones();
        }
        if (panel) panel.update(c);
      },
      tick() {
        if (panel) panel.tick();
        // sensors turn "late" with time, not only with readings
        if (++ticks % 15 === 0 && map) { const now = Date.now(); for (const id of markers.keys()) refreshSensor(id, now); }
      },
      destroy() {
        destroyed = true;
        if (incTimer) clearInterval(incTimer);
        if (resizeObs) resizeObs.disconnect();
        if (panel) panel.destroy();
        if (map) map.remove();
        map = null;
      },
    };
  },
};
