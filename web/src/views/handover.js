// Shift handover (API §12, GET /api/v1/handover?since=): for the operator taking over, what changed since the
// last shift began: open and changed alerts and incidents, playbook steps done and pending, notes. Printable
// (print CSS: the page alone, no header or buttons).
import { h, replace } from '../dom.js';
import { t, nameOf, shortName } from '../i18n.js';
import { api, query } from '../api.js';
import { state } from '../store.js';
import { dateTime } from '../format.js';
import { sevBadge, unavailable, loading } from '../widgets.js';
import { alertTitle, alertText, alertValues } from '../dialogs.js';
import { alertStateBadge } from '../shift.js';
import { session } from '../session.js';
import '../strings-ops.js';

const SPANS = [8, 12, 24];

function zoneName(id) { const z = state.zoneById.get(id); return z ? shortName(z.name, z.id) : (id || '–'); }
function catName(c) { const k = `cat_${c}`; const v = t(k); return v === k ? (c || '–') : v; }
function arr(v) { return Array.isArray(v) ? v : Array.isArray(v?.items) ? v.items : []; }

// The answer in one shape, whichever way the server groups it: {alerts:{open,changed}} or {open_alerts,...}.
export function normalizeHandover(r) {
  const pick = (obj, ...names) => { for (const n of names) { const v = n.split('.').reduce((o, k) => o?.[k], obj); if (v !== undefined) return arr(v); } return []; };
  const alertsOpen = pick(r, 'alerts.open', 'open_alerts');
  const alertsChanged = pick(r, 'alerts.changed', 'changed_alerts');
  const alertsAll = r && Array.isArray(r.alerts) ? r.alerts : [];
  const incOpen = pick(r, 'incidents.open', 'open_incidents');
  const incChanged = pick(r, 'incidents.changed', 'changed_incidents');
  const incAll = r && Array.isArray(r.incidents) ? r.incidents : [];
  return {
    since: r?.since || null,
    until: r?.until || r?.generated_at || r?.now || null,
    alertsOpen: alertsOpen.length || !alertsAll.length ? alertsOpen : alertsAll.filter((a) => a.state !== 'resolved'),
    alertsChanged: alertsChanged.length || !alertsAll.length ? alertsChanged : alertsAll.filter((a) => a.state === 'resolved'),
    incidentsOpen: incOpen.length || !incAll.length ? incOpen : incAll.filter((i) => i.state !== 'resolved'),
    incidentsChanged: incChanged.length || !incAll.length ? incChanged : incAll.filter((i) => i.state === 'resolved'),
    stepsDone: pick(r, 'steps.done', 'steps_done'),
    stepsPending: pick(r, 'steps.pending', 'steps_pending'),
    notes: pick(r, 'notes'),
  };
}

function localInput(ms) {
  const d = new Date(ms + 9 * 3600000); // the city's clock (+09:00) for <input type=datetime-local>
  return d.toISOString().slice(0, 16);
}

export default {
  mount(el, { params }) {
    let since = params.get('since') || new Date(Date.now() - 8 * 3600000).toISOString();
    const body = h('div', { class: 'handover-body', id: 'handover' });
    const sinceInput = h('input', {
      type: 'datetime-local', id: 'ho-since', class: 'input', value: localInput(Date.parse(since)),
      onchange: () => { if (sinceInput.value) { since = new Date(`${sinceInput.value}:00+09:00`).toISOString(); load(); } },
    });
    const spans = SPANS.map((hrs) => h('button', {
      type: 'button', class: 'btn btn-small', 'data-hours': hrs,
      onclick: () => { since = new Date(Date.now() - hrs * 3600000).toISOString(); sinceInput.value = localInput(Date.parse(since)); load(); },
    }, t('ho_last_h', { n: hrs })));
    const printBtn = h('button', { type: 'button', class: 'btn btn-primary', id: 'ho-print', onclick: () => window.print() }, t('ho_print'));
    el.append(
      h('div', { class: 'page-head' }, h('h1', {}, t('ho_title'))),
      h('div', { class: 'toolbar no-print' },
        h('label', { class: 'filter', for: 'ho-since' }, h('span', {}, t('ho_since')), sinceInput),
        spans, printBtn),
      body);

    let destroyed = false;
    async function load() {
      history.replaceState(null, '', `/handover${query({ since })}`);
      replace(body, loading());
      let r;
      try {
        r = await api(`/api/v1/handover${query({ since })}`);
      } catch (e) {
        if (!destroyed) replace(body, unavailable(e, '/api/v1/handover', load));
        return;
      }
      if (destroyed) return;
      render(normalizeHandover(r));
    }

    function alertTable(list, id) {
      if (!list.length) return h('p', { class: 'muted' }, t('none'));
      return h('table', { class: 'table compact handover-table', id },
        h('thead', {}, h('tr', {}, [t('al_filter_severity'), t('al_rule'), t('al_zone'), t('al_value'), t('al_state'), t('al_assignee'), t('ho_last_note')]
          .map((x) => h('th', { scope: 'col' }, x)))),
        h('tbody', {}, list.map((a) => {
          const v = alertValues(a);
          return h('tr', { 'data-alert': a.id },
            h('td', {}, sevBadge(a.severity)),
            h('td', {}, h('a', { href: `/alerts?alert=${encodeURIComponent(a.id)}` }, alertTitle(a)), alertText(a) ? h('div', { class: 'muted small' }, alertText(a)) : null),
            h('td', {}, zoneName(a.zone)),
            h('td', { class: 'num' }, v.current ? `${v.current} (${t('al_value_open')} ${v.open || '–'})` : v.open || '–'),
            h('td', {}, alertStateBadge(a), a.acknowledged_by ? h('div', { class: 'muted small' }, a.acknowledged_by) : null),
            h('td', {}, a.assignee || '–'),
            h('td', {}, a.note || '–'));
        })));
    }

    function incidentList(list, id) {
      if (!list.length) return h('p', { class: 'muted' }, t('none'));
      return h('ul', { class: 'handover-incidents', id }, list.map((i) => {
        const steps = Array.isArray(i.steps) ? i.steps : [];
        const done = steps.filter((s) => s.done || s.done_at).length;
        return h('li', { 'data-incident': i.id },
          h('a', { href: `/incidents?id=${encodeURIComponent(i.id)}` }, `${t('inc_title_n', { id: i.id })} · ${catName(i.category)} · ${zoneName(i.zone)}`),
          ' ', h('span', { class: 'muted small' }, `${t('in_reported')} ${dateTime(i.reported_at)}`, i.resolved_at ? ` · ${t('in_resolved_at')} ${dateTime(i.resolved_at)}` : ''),
          steps.length ? h('div', { class: 'small' }, t('pb_progress', { d: done, n: steps.length })) : null);
      }));
    }

    function stepList(list, id, done) {
      if (!list.length) return h('p', { class: 'muted' }, t('none'));
      return h('ul', { class: 'handover-steps', id }, list.map((s) => h('li', { 'data-step': s.step || s.id, 'data-incident': s.incident ?? '' },
        h('span', { 'aria-hidden': 'true' }, done ? '✓ ' : '○ '),
        h('strong', {}, nameOf(s.text, s.step || s.id)),
        s.incident !== undefined ? h('span', { class: 'muted small' }, ` · ${t('inc_title_n', { id: s.incident })}`) : null,
        done ? h('span', { class: 'muted small' }, ` · ${s.by || s.done_by || '–'} · ${dateTime(s.at || s.done_at)}`) : null,
        s.note ? h('div', { class: 'small' }, s.note) : null)));
    }

    function render(d) {
      const mine = session.me?.name || '';
      const mineOpen = d.alertsOpen.filter((a) => a.assignee && a.assignee === mine).length;
      replace(body,
        h('p', { class: 'ho-span' }, t('ho_span', { from: dateTime(d.since || since), to: dateTime(d.until || new Date().toISOString()) })),
        h('ul', { class: 'ho-summary' },
          h('li', {}, t('ho_sum_alerts', { n: d.alertsOpen.length })),
          h('li', {}, t('ho_sum_incidents', { n: d.incidentsOpen.length })),
          h('li', {}, t('ho_sum_pending', { n: d.stepsPending.length })),
          mine ? h('li', {}, t('ho_sum_mine', { n: mineOpen })) : null),
        h('section', { class: 'panel', 'aria-labelledby': 'ho-h-alerts' }, h('h2', { id: 'ho-h-alerts' }, t('ho_alerts_open')), alertTable(d.alertsOpen, 'ho-alerts-open')),
        h('section', { class: 'panel', 'aria-labelledby': 'ho-h-alerts-changed' }, h('h2', { id: 'ho-h-alerts-changed' }, t('ho_alerts_changed')), alertTable(d.alertsChanged, 'ho-alerts-changed')),
        h('section', { class: 'panel', 'aria-labelledby': 'ho-h-inc' }, h('h2', { id: 'ho-h-inc' }, t('ho_incidents_open')), incidentList(d.incidentsOpen, 'ho-incidents-open')),
        h('section', { class: 'panel', 'aria-labelledby': 'ho-h-inc-changed' }, h('h2', { id: 'ho-h-inc-changed' }, t('ho_incidents_changed')), incidentList(d.incidentsChanged, 'ho-incidents-changed')),
        h('section', { class: 'panel', 'aria-labelledby': 'ho-h-pending' }, h('h2', { id: 'ho-h-pending' }, t('ho_steps_pending')), stepList(d.stepsPending, 'ho-steps-pending', false)),
        h('section', { class: 'panel', 'aria-labelledby': 'ho-h-done' }, h('h2', { id: 'ho-h-done' }, t('ho_steps_done')), stepList(d.stepsDone, 'ho-steps-done', true)),
        h('section', { class: 'panel', 'aria-labelledby': 'ho-h-notes' }, h('h2', { id: 'ho-h-notes' }, t('ho_notes')),
          d.notes.length ? h('ol', { class: 'timeline', id: 'ho-notes' }, d.notes.map((n) => h('li', {},
            h('span', { class: 'tl-when' }, dateTime(n.at)),
            h('span', { class: 'tl-what' }, n.alert !== undefined && n.alert !== null ? `#${n.alert}` : n.incident !== undefined && n.incident !== null ? t('inc_title_n', { id: n.incident }) : '', n.by ? ` · ${n.by}` : ''),
            h('p', { class: 'tl-note' }, n.note || n.text || '')))) : h('p', { class: 'muted' }, t('none'))));
    }

    load();
    return { destroy() { destroyed = true; } };
  },
};
