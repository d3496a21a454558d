// Pieces of the welfare screens: badges, the routine heat map and its words, an open case's escalation
// ladder, and what may be kept of a resident (never the identity).
import { h } from './dom.js';
import { t, shortName } from './i18n.js';
import { state } from './store.js';
import { session } from './session.js';
import { dateTime, int, weekHour } from './format.js';

export const RISKS = ['high', 'medium', 'low'];
export const RISK_RANK = { high: 0, medium: 1, low: 2 };
export const ROUTINE_DAYS = 28;
export const IDENTITY_KEYS = ['name', 'birth_year', 'phone', 'address', 'guardians', 'notes', 'key_id', 'identity_error'];

// The escalation ladder of a welfare case as far as the alert tells it: each stage names the alert's field
// that dates it (and who took it). Stages the server adds later (care worker called, officer, home visit,
// 119) are more rows here, with their label in i18n (wf_stage_<id>).
export const LADDER = [
  { id: 'opened', at: 'opened_at' },
  { id: 'acknowledged', at: 'acknowledged_at', by: 'acknowledged_by' },
  { id: 'escalated', at: 'escalated_at' },
];

export function zoneName(id) { const z = state.zoneById.get(id); return z ? shortName(z.name, z.id) : (id || '–'); }

// A resident without anything identifying (the create and change answers carry the identity: dropped).
export function summaryOf(card) {
  const out = { ...card };
  for (const k of IDENTITY_KEYS) delete out[k];
  delete out.open_alert;
  return out;
}

// The zones a resident may be registered in: the person's scope, or every zone.
export function zonesInScope() {
  const mine = session.me?.zones || [];
  return mine.length ? mine : state.zones.map((z) => z.id);
}

export function riskBadge(r) {
  return h('span', { class: `risk-badge risk-${r}` }, t(`wf_risk_${r}`));
}

export function consentBadge(c) {
  const st = c?.status === 'lapsed' ? 'lapsed' : 'active';
  return h('span', { class: `consent-badge consent-${st}` }, t(`wf_consent_${st}`));
}

// The 7×24 grid (Monday first, hours of the city's day) of reading counts, and its words for a screen reader.
export function routineWords(r) {
  const days = t('weekdays').split(',');
  let peak = null; let empty = 0;
  r.grid.forEach((row, d) => row.forEach((v, hr) => {
    if (!v) empty++;
    if (v && (!peak || v > peak.v)) peak = { v, d, hr };
  }));
  if (!r.total) return t('wf_routine_none', { days: ROUTINE_DAYS });
  return t('wf_routine_summary', {
    n: int(r.total), days: ROUTINE_DAYS, peak: `${days[peak.d]} ${String(peak.hr).padStart(2, '0')}:00`, empty,
  });
}

// A heat map of the routine: `big` adds the weekday and hour labels.
export function heatMap(r, big) {
  const cell = big ? 12 : 4; const gap = 1;
  const max = Math.max(1, ...r.grid.flat());
  const svg = h('svg', {
    class: 'heat', viewBox: `0 0 ${24 * (cell + gap)} ${7 * (cell + gap)}`, width: big ? null : 24 * (cell + gap),
    height: big ? null : 7 * (cell + gap), 'aria-hidden': 'true', focusable: 'false', preserveAspectRatio: 'none',
  });
  r.grid.forEach((row, d) => row.forEach((v, hr) => {
    svg.append(h('rect', {
      x: hr * (cell + gap), y: d * (cell + gap), width: cell, height: cell, rx: big ? 2 : 0.5,
      class: v ? 'heat-on' : 'heat-off', 'fill-opacity': v ? (0.25 + 0.75 * (v / max)).toFixed(2) : null,
    }));
  }));
  const words = routineWords(r);
  if (!big) return h('div', { class: 'heat-small', role: 'img', 'aria-label': words, title: words, 'data-total': r.total }, svg);
  const days = t('weekdays').split(',');
  return h('figure', { class: 'heat-big', 'data-total': r.total },
    h('div', { class: 'heat-grid', role: 'img', 'aria-label': words },
      h('div', { class: 'heat-days', 'aria-hidden': 'true' }, days.map((d) => h('span', {}, d))),
      svg,
      h('div', { class: 'heat-hours', 'aria-hidden': 'true' }, [0, 6, 12, 18, 24].map((x) => h('span', {}, String(x))))),
    h('figcaption', { class: 'muted small' }, words));
}

// The ladder of one open case: the stages reached, in the order they were reached, then those not (yet).
export function ladder(a) {
  const steps = LADDER.map((s, i) => ({ ...s, i, when: a[s.at] || null, who: s.by ? a[s.by] : null }));
  const done = steps.filter((s) => s.when).sort((x, y) => String(x.when).localeCompare(String(y.when)) || x.i - y.i);
  const pending = steps.filter((s) => !s.when);
  return h('ol', { class: 'ladder', 'aria-label': t('wf_ladder') }, [...done, ...pending].map((s) => h('li', {
    class: `ladder-step ${s.when ? 'done' : 'pending'}`, 'data-stage': s.id, 'data-done': String(!!s.when),
  },
  h('span', { class: 'ladder-label' }, t(`wf_stage_${s.id}`)),
  h('span', { class: 'ladder-time' }, s.when ? dateTime(s.when) : t('wf_stage_pending')),
  s.who ? h('span', { class: 'ladder-who' }, s.who) : null)));
}

// Counts per [day of the week][hour of the city's day] of a series' [ts, count] points.
export function routineOf(points) {
  const grid = Array.from({ length: 7 }, () => new Array(24).fill(0));
  let total = 0;
  for (const [ts, v] of points || []) {
    const [d, hr] = weekHour(ts);
    const n = Number(v) || 0;
    grid[d][hr] += n;
    total += n;
  }
  return { grid, total };
}
