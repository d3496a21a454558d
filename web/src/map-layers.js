// What the map shows besides sensors, from Maeul's own data (so it works offline): facilities by category
// (shelters and clinics prominent) and open incidents with the area around them; their legend and switches.
import L from 'leaflet';
import { h } from './dom.js';
import { t, nameOf } from './i18n.js';
import { listAll } from './api.js';

// Facility groups: shelters and clinics (and pharmacies with them) drawn large, the rest small and grey.
export const FACILITY_GROUPS = [
  { id: 'shelter', cats: ['shelter'], glyph: '⌂', color: '#4fc3f7', size: 22 },
  { id: 'clinic', cats: ['clinic', 'pharmacy', 'hospital'], glyph: '+', color: '#ff7a85', size: 22 },
  { id: 'care', cats: ['care_center'], glyph: '♥', color: '#c79bff', size: 16 },
  { id: 'other', cats: null, glyph: '•', color: '#b8c2cc', size: 12 },
];
export function facilityGroup(category) {
  return FACILITY_GROUPS.find((g) => g.cats && g.cats.includes(category)) || FACILITY_GROUPS[FACILITY_GROUPS.length - 1];
}

// Metres around an open incident's location: its own `radius_m` when it has one, else by category.
const CATEGORY_RADIUS_M = { flood: 400, fire: 300, earthquake: 1000, environment: 500 };
export function incidentRadius(inc) {
  if (Number.isFinite(inc.radius_m) && inc.radius_m > 0) return inc.radius_m;
  return CATEGORY_RADIUS_M[inc.category] || 200;
}

// Layer switches that survive leaving and coming back to the map.
export const layerOn = { zones: true, shelter: true, clinic: true, care: true, other: false, incidents: true, sensors: true };

export async function loadFacilities() { return listAll('/api/v1/facilities'); }
export async function loadOpenIncidents() { return listAll('/api/v1/incidents?state=open'); }

// A Leaflet layer group per facility group, filled from `facilities`; markers are not keyboard stops
// (the map's sensor list is), their names are in their tooltips.
export function facilityLayers(facilities) {
  const groups = new Map(FACILITY_GROUPS.map((g) => [g.id, L.layerGroup()]));
  for (const f of facilities) {
    const c = f.location?.coordinates;
    if (!c) continue;
    const g = facilityGroup(f.category);
    const icon = L.divIcon({
      className: `fac-icon fac-${g.id}`,
      html: `<span aria-hidden="true">${g.glyph}</span>`,
      iconSize: [g.size, g.size],
      iconAnchor: [g.size / 2, g.size / 2],
    });
    const m = L.marker([c[1], c[0]], { icon, keyboard: false, riseOnHover: true, zIndexOffset: g.size > 20 ? 200 : 0 });
    m.bindTooltip(() => `${nameOf(f.name, f.id)} · ${t(`fac_${f.category}`) === `fac_${f.category}` ? f.category : t(`fac_${f.category}`)}`, { direction: 'top', offset: [0, -g.size / 2] });
    m.on('add', () => { const el = m.getElement(); if (el) { el.dataset.facility = f.id; el.dataset.category = f.category; } });
    groups.get(g.id).addLayer(m);
  }
  return groups;
}

// Open incidents: a dashed circle of the area around each and a marker at its centre.
export function incidentLayer(incidents, onClick) {
  const group = L.layerGroup();
  for (const inc of incidents) {
    const c = inc.location?.coordinates;
    if (!c || inc.state !== 'open') continue;
    const circle = L.circle([c[1], c[0]], {
      radius: incidentRadius(inc), color: '#ff4d57', weight: 2, dashArray: '4 4', fillColor: '#ff4d57', fillOpacity: 0.12,
      className: 'incident-area',
    });
    const icon = L.divIcon({ className: 'inc-icon', html: '<span aria-hidden="true">!</span>', iconSize: [24, 24], iconAnchor: [12, 12] });
    const m = L.marker([c[1], c[0]], { icon, keyboard: false, zIndexOffset: 400 });
    const label = () => `${t('inc_title_n', { id: inc.id })} · ${t(`cat_${inc.category}`)}`;
    m.bindTooltip(label, { direction: 'top', offset: [0, -12] });
    m.on('add', () => { const el = m.getElement(); if (el) el.dataset.incident = String(inc.id); });
    if (onClick) { m.on('click', () => onClick(inc)); circle.on('click', () => onClick(inc)); }
    group.addLayer(circle);
    group.addLayer(m);
  }
  return group;
}

// The legend of the non-sensor layers.
export function layerLegend() {
  return [
    ...FACILITY_GROUPS.map((g) => h('span', { class: 'legend-item' },
      h('span', { class: `legend-fac fac-${g.id}`, 'aria-hidden': 'true' }, g.glyph), t(`map_fac_${g.id}`))),
    h('span', { class: 'legend-item' }, h('span', { class: 'legend-inc', 'aria-hidden': 'true' }, '!'), t('map_incidents')),
    h('span', { class: 'legend-item' }, h('span', { class: 'legend-zone', 'aria-hidden': 'true' }), t('map_zones')),
  ];
}
