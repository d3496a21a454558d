// Pieces of the welfare screens: badges, the routine heat map and its words, an open case's escalation
// ladder (from the alert and the incidents linked to it) and the confirmation of a step, and what may be kept
// of a resident (never the identity).
import { h } from './dom.js';
import { t, shortName } from './i18n.js';
import { state } from './store.js';
import { session } from './session.js';
import { dateTime, int, weekHour } from './format.js';
import { field, showProblem, clearProblems } from './forms.js';

export const RISKS = ['high', 'medium', 'low'];
export const RISK_RANK = { high: 0, medium: 1, low: 2 };
export const ROUTINE_DAYS = 28;
export const IDENTITY_KEYS = ['name', 'birth_year', 'phone', 'address', 'guardians', 'notes', 'key_id', 'identity_error'];

// The escalation ladder of a welfare case (docs/welfare.md, "The care loop"), in its order: the alert opened to
// the care worker, acknowledged, escalated to the welfare officer, a home visit (a `welfare_visit` incident
// linked to the alert), 119 (a `welfare_emergency` or `fire` incident linked to it). Labels: wf_stage_<id>.
export const LADDER = ['opened', 'acknowledged', 'escalated', 'visit', 'emergency'];
export const VISIT_CATEGORY = 'welfare_visit';
export const EMERGENCY_CATEGORIES = new Set(['welfare_emergency', 'fire']);
// Sensors whose critical alert the server takes straight to 119 (src/storage/operations.cpp, the ladder's step 2).
export const STRAIGHT_TO_119 = new Set(['emergency_button', 'fire', 'smoke', 'fire_detector', 'smoke_detector']);

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

// The incidents linked to alert `a` (of `incidents`, any order): its visit tasks and its 119 incidents, oldest
// first. Pure.
export function caseLinks(a, incidents) {
  const mine = [...incidents].filter((i) => (i.alerts || []).some((x) => String(x) === String(a.id)))
    .sort((x, y) => String(x.reported_at).localeCompare(String(y.reported_at)) || x.id - y.id);
  return {
    visits: mine.filter((i) => i.category === VISIT_CATEGORY),
    emergencies: mine.filter((i) => EMERGENCY_CATEGORIES.has(i.category)),
  };
}

// A visit task still waiting for the care worker: open and not on the scene (the server calls 119 on it once
// `welfare.emergency_after_s` has passed).
export function waitingVisit(links) {
  return links.visits.find((v) => !v.on_scene_at && !v.resolved_at) || null;
}

// Where case `a` stands, from the alert, its linked incidents (`links`, or null while they are not known) and
// the kind of its sensor. Pure: → {steps: [{id, when, who, incident, done, status}], current, next, end}, where
// `current` is the highest step reached, `next` {id, how} the step the server takes next by itself (how:
// 'unacked' | 'visit_late' | 'at_once'), or null with `end` saying why nothing more comes by itself
// ('called' | 'visited' | 'closed' | 'acknowledged' | 'resolved' | 'unknown').
export function caseLadder(a, links, sensorKind) {
  const visit = links?.visits[0] || null;
  const emergency = links?.emergencies[0] || null;
  const of = {
    opened: { when: a.opened_at },
    acknowledged: { when: a.acknowledged_at, who: a.acknowledged_by },
    escalated: { when: a.escalated_at },
    visit: { when: visit?.reported_at, who: visit?.created_by, incident: visit },
    emergency: { when: emergency?.reported_at, who: emergency?.created_by, incident: emergency },
  };
  const steps = LADDER.map((id) => ({ id, when: of[id].when || null, who: of[id].who || null, incident: of[id].incident || null }));
  let current = null;
  steps.forEach((s) => { s.done = !!s.when; if (s.done) current = s.id; });
  let next = null;
  let end = null;
  if (!links) end = 'unknown';
  else if (emergency) end = 'called';
  else if (visit) {
    if (waitingVisit(links)) next = { id: 'emergency', how: 'visit_late' };
    else end = links.visits.some((v) => v.on_scene_at) ? 'visited' : 'closed';
  } else if (a.state === 'resolved') end = 'resolved';
  else if (a.severity === 'critical' && STRAIGHT_TO_119.has(sensorKind)) next = { id: 'emergency', how: 'at_once' };
  else if (a.state !== 'open') end = 'acknowledged';
  else next = { id: a.escalated_at ? 'visit' : 'escalated', how: 'unacked' };
  for (const s of steps) {
    s.status = s.id === current ? 'current' : s.done ? 'done' : next?.id === s.id ? 'next' : 'pending';
  }
  return { steps, current, next, end };
}

// The ladder of one open case as an ordered list (all five steps in order, the current one aria-current="step",
// the next one said so), and under it what comes next. `links` null: the incidents are not known (yet), and
// `incidentsState` ('loading' | 'error') says why.
export function ladder(a, links, sensorKind, incidentsState) {
  const L = caseLadder(a, links, sensorKind);
  const detail = (s) => {
    if (s.id === 'opened') return t('wf_stage_opened_to');
    if (s.id === 'escalated') return t('wf_stage_escalated_to');
    if (s.id === 'visit' && s.incident) {
      const i = s.incident;
      if (i.on_scene_at) return t('wf_stage_visited', { at: dateTime(i.on_scene_at) });
      if (i.resolved_at) return t('wf_stage_task_closed', { at: dateTime(i.resolved_at) });
      return t('wf_stage_not_visited');
    }
    if (s.id === 'emergency' && s.incident?.category === 'fire') return t('wf_stage_fire');
    return null;
  };
  const list = h('ol', { class: 'ladder', 'aria-label': t('wf_ladder') }, L.steps.map((s) => {
    const waiting = !links && (s.id === 'visit' || s.id === 'emergency'); // steps only the incidents tell
    return h('li', {
      class: `ladder-step ${s.done ? 'done' : 'pending'} ${s.status}`, 'data-stage': s.id, 'data-done': String(s.done),
      'data-status': s.status, 'aria-current': s.status === 'current' ? 'step' : null,
      'data-incident': s.incident ? String(s.incident.id) : null,
    },
    h('span', { class: 'ladder-label' }, t(`wf_stage_${s.id}`)),
    s.status === 'current' ? h('span', { class: 'ladder-mark now' }, t('wf_stage_now'))
      : s.status === 'next' ? h('span', { class: 'ladder-mark next' }, t('wf_stage_next')) : null,
    h('span', { class: 'ladder-time' }, s.when ? h('time', { datetime: s.when }, dateTime(s.when))
      : waiting ? t(incidentsState === 'error' ? 'wf_stage_unknown' : 'wf_stage_loading') : t('wf_stage_pending')),
    s.who ? h('span', { class: 'ladder-who' }, s.who) : null,
    detail(s) ? h('span', { class: 'ladder-detail' }, detail(s)) : null);
  }));
  const nextText = L.next
    ? t(`wf_next_${L.next.how}`, { step: t(`wf_stage_${L.next.id}`) })
    : L.end === 'unknown' ? null : t(`wf_end_${L.end}`);
  return h('div', { class: 'ladder-wrap', 'data-current': L.current || '', 'data-next': L.next?.id || '' },
    list,
    nextText ? h('p', { class: 'ladder-next small', 'data-end': L.end || null }, nextText) : null);
}

// A confirmation for one step of a case, with an optional note for the incident's timeline; `run(note)` is
// called on submit, and its failure (problem+json) shown in the dialog, which stays open. → a promise of what
// `run` resolved to, or null when cancelled.
export function caseDialog({ id, title, lead, submit, danger, run }) {
  return new Promise((resolve) => {
    let result = null;
    const note = field(`${id}-note`, t('wf_case_note'),
      h('textarea', { class: 'input', rows: 2, maxlength: 2000, name: 'note' }), t('wf_case_note_hint'));
    const err = h('p', { class: 'form-error', role: 'alert', id: `${id}-error`, hidden: true });
    const yes = h('button', { type: 'submit', class: `btn ${danger ? 'btn-danger' : 'btn-primary'}`, 'data-action': 'confirm' }, submit);
    const form = h('form', { method: 'dialog', class: 'dialog-form', id: `${id}-form`, novalidate: true },
      h('h2', { class: 'dialog-title', id: `${id}-title` }, title),
      h('p', { class: 'dialog-lead', id: `${id}-lead` }, lead),
      note.wrap, err,
      h('div', { class: 'dialog-actions' },
        h('button', { type: 'button', class: 'btn', onclick: () => dlg.close() }, t('cancel')), yes));
    const dlg = h('dialog', { class: 'dialog', id, 'aria-labelledby': `${id}-title`, 'aria-describedby': `${id}-lead` }, form);
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      clearProblems({ note }, err);
      yes.disabled = true;
      try {
        result = await run(note.input.value.trim());
        dlg.close();
      } catch (ex) {
        yes.disabled = false;
        showProblem(ex, { note }, err);
      }
    });
    dlg.addEventListener('close', () => { dlg.remove(); resolve(result); });
    document.body.append(dlg);
    dlg.showModal();
    note.input.focus();
  });
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
