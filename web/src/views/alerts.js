// The alert queue: active alerts (live), grouped by the incident they belong to, else by zone; most severe
// and newest first; escalation shown; the current value beside the one at opening; a selection acknowledged
// at once; assigned to a person, and "mine"; acknowledge and resolve with a note; break the glass on an open
// critical welfare alert (the household's contacts, for a recorded reason).
import { h, replace } from '../dom.js';
import { t, nameOf, shortName } from '../i18n.js';
import { api, listAll, query } from '../api.js';
import { on } from '../bus.js';
import { state, activeAlerts, sortAlerts } from '../store.js';
import { alertDomains, session, can } from '../session.js';
import '../strings-ops.js';
import { dateTime, ago } from '../format.js';
import { sevBadge, unavailable, loading } from '../widgets.js';
import { alertTitle, alertText, alertValues, noteDialog, canReveal, revealDialog } from '../dialogs.js';
import { bulkAckDialog, assignTo, alertStateBadge } from '../shift.js';

const SEVS = ['critical', 'warning', 'info'];

export default {
  mount(el, { params, navigate }) {
    const f = {
      state: params.get('state') || 'active',
      severity: params.get('severity') || '',
      zone: params.get('zone') || '',
      domain: params.get('domain') || '',
      assignee: params.get('assignee') || '', // '' | 'me' | 'none'
    };
    const me = () => session.me?.name || '';
    const picked = new Set(); // ids of the selected alerts (bulk acknowledgement)
    let incidents = []; // open incidents, for grouping
    let incTimer = null;
    async function loadIncidents() {
      try { incidents = await listAll('/api/v1/incidents?state=open', { max: 2000 }); } catch { incidents = []; }
      render();
    }
    let selectedId = params.get('alert');
    let resolved = null; // fetched list when state=resolved
    const fresh = new Map(); // alert id → time it arrived live (highlight)

    const select = (name, options, label) => {
      const s = h('select', { class: 'input', name, 'aria-label': label, onchange: () => { f[name] = s.value; syncUrl(); load(); } },
        options.map(([v, text]) => h('option', { value: v, selected: f[name] === v }, text)));
      return h('label', { class: 'filter' }, h('span', {}, label), s);
    };
    const toolbar = h('div', { class: 'toolbar', role: 'search' });
    const fillToolbar = () => replace(toolbar,
      select('state', [['active', t('al_active')], ['open', t('state_open')], ['acknowledged', t('state_acknowledged')], ['resolved', t('state_resolved')]], t('al_filter_state')),
      select('severity', [['', t('all')], ...SEVS.map((s) => [s, t(`sev_${s}`)])], t('al_filter_severity')),
      select('zone', [['', t('all')], ...state.zones.map((z) => [z.id, shortName(z.name, z.id)])], t('al_filter_zone')),
      select('domain', [['', t('all')], ...alertDomains().map((d) => [d, t(`dom_${d}`)])], t('al_filter_domain')),
      select('assignee', [['', t('all')], ['me', t('al_mine')], ['none', t('al_unassigned')]], t('al_filter_assignee')));
    fillToolbar();
    const countEl = h('span', { class: 'muted', id: 'alert-count', 'aria-live': 'polite' });
    const bulkBtn = h('button', { type: 'button', class: 'btn btn-primary', id: 'bulk-ack', disabled: true, onclick: () => bulkAck() });
    const bulkBar = h('div', { class: 'bulk-bar', role: 'group', 'aria-label': t('al_selection') }, bulkBtn,
      h('button', { type: 'button', class: 'btn', id: 'bulk-clear', onclick: () => { picked.clear(); render(); } }, t('al_clear_selection')));
    const tableWrap = h('div', { class: 'table-wrap' });
    const detail = h('aside', { class: 'alert-detail', hidden: true, 'aria-label': t('al_history') });
    el.append(h('div', { class: 'page-head' }, h('h1', {}, t('al_title')), countEl), toolbar, bulkBar,
      h('div', { class: 'alerts-layout' }, tableWrap, detail));

    function syncUrl() {
      const q = query({ state: f.state === 'active' ? '' : f.state, severity: f.severity, zone: f.zone, domain: f.domain, assignee: f.assignee, alert: selectedId || '' });
      history.replaceState(null, '', `/alerts${q}`);
    }

    async function load() {
      if (f.state !== 'resolved') { resolved = null; render(); return; }
      replace(tableWrap, loading());
      try {
        resolved = await listAll(`/api/v1/alerts${query({ state: 'resolved', severity: f.severity, zone: f.zone, domain: f.domain, assignee: f.assignee === 'me' ? 'me' : '' })}`, { limit: 200, max: 200 });
      } catch (e) {
        replace(tableWrap, unavailable(e, '/api/v1/alerts', load));
        return;
      }
      render();
    }

    function mineOk(a) {
      if (f.assignee === 'me') return !!a.assignee && a.assignee === me();
      if (f.assignee === 'none') return !a.assignee;
      return true;
    }
    function rows() {
      if (f.state === 'resolved') return sortAlerts((resolved || []).filter(mineOk));
      return activeAlerts().filter((a) => (f.state === 'active' || a.state === f.state)
        && (!f.severity || a.severity === f.severity)
        && (!f.zone || a.zone === f.zone)
        && (!f.domain || a.domain === f.domain)
        && mineOk(a));
    }

    // Groups in the order of their most urgent alert: an open incident's alerts together, the others by zone.
    function groups(list) {
      const incOf = new Map();
      const incById = new Map(incidents.map((i) => [String(i.id), i]));
      for (const inc of incidents) for (const id of inc.alerts || []) incOf.set(String(id), inc);
      const out = new Map();
      for (const a of list) {
        // the alert's own `incident` (API §12), else the open incident that lists it
        const inc = (a.incident != null && (incById.get(String(a.incident)) || { id: a.incident, zone: a.zone })) || incOf.get(String(a.id));
        const key = inc ? `i:${inc.id}` : `z:${a.zone || ''}`;
        if (!out.has(key)) out.set(key, { key, incident: inc || null, zone: inc ? inc.zone : a.zone, alerts: [] });
        out.get(key).alerts.push(a);
      }
      return [...out.values()];
    }

    // What the incident's playbook says to do next (its first step not done), when the server lists them.
    function nextStep(inc) {
      if (!inc || !Array.isArray(inc.steps)) return '';
      const s = inc.steps.find((x) => !(x.done || x.done_at));
      return s ? nameOf(s.text, s.id) : '';
    }

    function groupTitle(g) {
      const zone = state.zoneById.get(g.zone);
      const zn = zone ? shortName(zone.name, zone.id) : (g.zone || t('al_no_zone'));
      if (g.incident) return [t('inc_title_n', { id: g.incident.id }), g.incident.category ? t(`cat_${g.incident.category}`) : null, zn].filter(Boolean).join(' · ');
      return zn;
    }

    function updateBulk(list) {
      const ids = new Set(list.map((a) => String(a.id)));
      for (const id of [...picked]) if (!ids.has(id)) picked.delete(id);
      const openPicked = list.filter((a) => picked.has(String(a.id)) && a.state === 'open').length;
      bulkBtn.textContent = t('al_bulk_ack', { n: openPicked });
      bulkBtn.disabled = openPicked === 0;
      bulkBar.hidden = f.state === 'resolved' || !can('alerts');
    }

    async function bulkAck() {
      const list = rows().filter((a) => picked.has(String(a.id)) && a.state === 'open');
      if (!list.length) return;
      const done = await bulkAckDialog(list);
      if (done) { picked.clear(); render(); bulkBtn.focus(); }
    }

    function countText(list) {
      const open = list.filter((a) => a.state === 'open').length;
      const acked = list.filter((a) => a.state === 'acknowledged').length;
      if (f.state === 'resolved') return t('al_count_resolved', { n: list.length });
      return t('al_count_states', { open, acked });
    }

    function render() {
      if (f.state !== 'resolved') {
        if (state.alertsStatus === 'loading') { replace(tableWrap, loading()); return; }
        if (state.alertsStatus !== 'ok') { replace(tableWrap, unavailable(state.alertsStatus, '/api/v1/alerts')); countEl.textContent = ''; return; }
      }
      const list = rows();
      countEl.textContent = countText(list);
      updateBulk(list);
      if (!list.length) { replace(tableWrap, h('p', { class: 'empty' }, t('al_empty'))); return; }
      const now = Date.now();
      const cols = [t('al_select'), t('al_filter_severity'), t('al_rule'), t('al_where'), t('al_value'), t('al_opened'), t('al_state'), t('al_assignee'), t('al_actions')];
      const table = h('table', { class: 'table alerts-table', id: 'alert-table' },
        h('thead', {}, h('tr', {}, cols.map((x, i) => h('th', { scope: 'col', class: i === 0 ? 'sel-col' : null }, i === 0 ? h('span', { class: 'sr-only' }, x) : x)))),
        groups(list).map((g) => {
          const openIds = g.alerts.filter((a) => a.state === 'open').map((a) => String(a.id));
          const allPicked = openIds.length > 0 && openIds.every((id) => picked.has(id));
          const gid = `grp-${g.key.replace(/[^\w-]/g, '_')}`;
          const title = groupTitle(g);
          const head = h('tr', { class: `group-row ${g.incident ? 'is-incident' : ''}`, 'data-group': g.key },
            h('td', { class: 'sel-col' }, openIds.length ? h('input', {
              type: 'checkbox', class: 'pick-group', checked: allPicked, 'aria-label': t('al_select_group', { g: title }),
              onchange: (e) => { for (const id of openIds) if (e.target.checked) picked.add(id); else picked.delete(id); render(); },
            }) : null),
            h('th', { scope: 'rowgroup', colspan: cols.length - 1, id: gid },
              g.incident ? h('a', { href: `/incidents?id=${g.incident.id}`, class: 'group-link' }, title) : h('span', {}, title),
              h('span', { class: 'muted small group-count' }, ` · ${t('al_group_count', { n: g.alerts.length, open: openIds.length })}`),
              nextStep(g.incident) ? h('span', { class: 'group-next' }, ` · ${t('al_next_step')}: `, h('a', { href: `/incidents?id=${g.incident.id}#playbook` }, nextStep(g.incident))) : null));
          return h('tbody', { 'aria-labelledby': gid }, head, g.alerts.map((a) => alertRow(a, now)));
        }));
      // Keep the keyboard focus where it was across live re-renders.
      const focused = document.activeElement;
      const row = focused && tableWrap.contains(focused) ? focused.closest('tr')?.dataset.alert : null;
      const what = focused?.dataset?.action || (focused?.classList?.contains('rule-link') ? 'rule' : null);
      replace(tableWrap, table);
      if (row) {
        const tr = table.querySelector(`tr[data-alert="${CSS.escape(row)}"]`);
        const target = tr && (what === 'rule' ? tr.querySelector('.rule-link') : tr.querySelector(`[data-action="${what}"]`) || tr.querySelector('button'));
        (target || table.querySelector('button'))?.focus();
      }
    }

    function alertRow(a, now) {
      const isNew = fresh.has(a.id) && now - fresh.get(a.id) < 8000;
      const v = alertValues(a);
      const text = alertText(a);
      return h('tr', {
        class: `alert-row sev-${a.severity} state-${a.state} ${a.escalated_at && a.state === 'open' ? 'is-escalated' : ''} ${isNew ? 'is-new' : ''} ${String(a.id) === String(selectedId) ? 'selected' : ''}`,
        'data-alert': a.id, 'data-severity': a.severity, 'data-state': a.state, 'data-escalated': a.escalated_at ? 'true' : 'false',
        'data-assignee': a.assignee || '',
      },
      h('td', { class: 'sel-col' }, a.state === 'open' ? h('input', {
        type: 'checkbox', class: 'pick', checked: picked.has(String(a.id)), 'aria-label': t('al_select_one', { a: alertTitle(a) }),
        onchange: (e) => { if (e.target.checked) picked.add(String(a.id)); else picked.delete(String(a.id)); render(); },
      }) : null),
      h('td', {}, sevBadge(a.severity)),
      h('td', {}, h('button', { type: 'button', class: 'link-btn rule-link', onclick: () => showDetail(a.id) }, alertTitle(a)),
        text ? h('div', { class: 'muted small alert-text' }, text) : null),
      h('td', {}, a.sensor ? h('a', { href: `/map?sensor=${encodeURIComponent(a.sensor)}`, class: 'mono' }, a.sensor)
        : a.household ? h('span', { class: 'mono', title: t('al_household') }, a.household) : '–',
      h('div', { class: 'muted small' }, state.zoneById.get(a.zone) ? shortName(state.zoneById.get(a.zone).name, a.zone) : (a.zone || ''))),
      h('td', { class: 'num values' },
        v.current ? h('div', { class: 'value-now' }, h('span', { class: 'sr-only' }, `${t('al_value_now')} `), v.current) : null,
        v.open ? h('div', { class: v.current ? 'muted small value-open' : 'value-open' }, v.current ? `${t('al_value_open')} ${v.open}` : v.open) : null,
        !v.current && !v.open ? '–' : null),
      h('td', {}, h('time', { datetime: a.opened_at, title: dateTime(a.opened_at) }, ago(a.opened_at, now)), h('div', { class: 'muted small' }, dateTime(a.opened_at))),
      h('td', {}, alertStateBadge(a), a.acknowledged_by && a.state !== 'open' ? h('div', { class: 'muted small' }, a.acknowledged_by) : null),
      h('td', { class: 'assignee' }, a.assignee ? h('span', { class: a.assignee === me() ? 'mine' : '' }, a.assignee === me() ? t('al_me', { n: a.assignee }) : a.assignee) : h('span', { class: 'muted' }, '–')),
      h('td', { class: 'actions' },
        a.state === 'open' ? h('button', { type: 'button', class: 'btn btn-small btn-primary', 'data-action': 'ack', onclick: () => act(a, 'ack') }, t('al_ack')) : null,
        a.state !== 'resolved' ? h('button', { type: 'button', class: 'btn btn-small', 'data-action': 'resolve', onclick: () => act(a, 'resolve') }, t('al_resolve')) : null));
    }

    async function act(a, action) {
      const res = await noteDialog(a, action);
      if (res) {
        if (f.state === 'resolved') load(); else render();
        if (String(selectedId) === String(a.id)) showDetail(a.id);
      }
    }

    async function showDetail(id) {
      selectedId = id;
      syncUrl();
      detail.hidden = false;
      const a = state.alerts.get(id) || (resolved || []).find((x) => String(x.id) === String(id));
      replace(detail, loading());
      let alert = a; let events = [];
      try {
        [alert, events] = await Promise.all([
          api(`/api/v1/alerts/${encodeURIComponent(id)}`).catch(() => a),
          api(`/api/v1/alerts/${encodeURIComponent(id)}/events`).then((r) => r.items || r.events || []).catch(() => []),
        ]);
      } catch { /* shown with what we have */ }
      if (String(selectedId) !== String(id)) return;
      if (!alert) { detail.hidden = true; return; }
      const zone = state.zoneById.get(alert.zone);
      replace(detail,
        h('div', { class: 'sp-title-row' },
          h('h2', { tabindex: '-1', id: 'alert-detail-title' }, alertTitle(alert)),
          h('button', { type: 'button', class: 'icon-btn', 'aria-label': t('close'), onclick: closeDetail }, '✕')),
        h('div', { class: 'detail-badges' }, sevBadge(alert.severity), alertStateBadge(alert)),
        alertText(alert) ? h('p', {}, alertText(alert)) : null,
        h('dl', { class: 'sp-facts' },
          h('dt', {}, t('al_zone')), h('dd', {}, zone ? nameOf(zone.name, zone.id) : (alert.zone || '–')),
          h('dt', {}, t('al_sensor')), h('dd', {}, alert.sensor ? h('a', { href: `/map?sensor=${encodeURIComponent(alert.sensor)}` }, alert.sensor)
            : alert.household ? h('span', { class: 'mono', title: t('al_household') }, alert.household) : '–'),
          h('dt', {}, t('al_value_now')), h('dd', { class: 'value-now' }, alertValues(alert).current || '–'),
          h('dt', {}, t('al_value_open')), h('dd', { class: 'value-open' }, alertValues(alert).open || '–'),
          h('dt', {}, t('al_opened')), h('dd', {}, dateTime(alert.opened_at)),
          alert.escalated_at ? [h('dt', {}, t('al_escalated_at')), h('dd', {}, dateTime(alert.escalated_at))] : null,
          h('dt', {}, t('al_assignee')), h('dd', { id: 'alert-assignee' }, alert.assignee || t('al_unassigned'))),
        alert.state !== 'resolved' && can('alerts') ? assignForm(alert) : null,
        h('div', { class: 'detail-actions' },
          alert.state === 'open' ? h('button', { type: 'button', class: 'btn btn-primary', onclick: () => act(alert, 'ack') }, t('al_ack')) : null,
          alert.state !== 'resolved' ? h('button', { type: 'button', class: 'btn', onclick: () => act(alert, 'resolve') }, t('al_resolve')) : null,
          h('a', { href: `/incidents?new=1&alert=${encodeURIComponent(alert.id)}&zone=${encodeURIComponent(alert.zone || '')}`, class: 'btn' }, t('al_incident')),
          canReveal(alert) ? h('button', {
            type: 'button', class: 'btn btn-danger', id: 'alert-reveal',
            onclick: async (e) => { const btn = e.currentTarget; await revealDialog(alert); if (btn.isConnected) btn.focus(); },
          }, t('al_reveal')) : null),
        h('h3', { class: 'sub-head' }, t('al_history')),
        events.length ? h('ol', { class: 'timeline' }, events.map((ev) => h('li', {},
          h('span', { class: 'tl-when' }, dateTime(ev.at || ev.created_at)),
          h('span', { class: 'tl-what' }, t(`ev_${ev.event || ev.what}`), (ev.actor || ev.by) ? ` · ${ev.actor || ev.by}` : ''),
          ev.note ? h('p', { class: 'tl-note' }, ev.note) : null)))
          : h('p', { class: 'muted' }, alert.note || t('none')));
      detail.querySelector('#alert-detail-title')?.focus();
      render();
    }

    // Assign to me, to a username, or to nobody (POST /api/v1/alerts/{id}/assign).
    function assignForm(alert) {
      const input = h('input', { class: 'input', id: 'assign-to', name: 'to', autocomplete: 'off', value: alert.assignee || '', spellcheck: 'false' });
      const go = async (to) => {
        const res = await assignTo(alert, to);
        if (res) showDetail(alert.id);
      };
      return h('form', {
        class: 'assign-form', id: 'assign-form',
        onsubmit: (e) => { e.preventDefault(); go(input.value.trim() || null); },
      },
      h('label', { for: 'assign-to' }, t('al_assign_to')),
      h('div', { class: 'assign-row' }, input,
        h('button', { type: 'submit', class: 'btn btn-small', 'data-action': 'assign' }, t('al_assign'))),
      h('div', { class: 'assign-row' },
        me() && alert.assignee !== me() ? h('button', { type: 'button', class: 'btn btn-small btn-primary', 'data-action': 'assign-me', onclick: () => go(me()) }, t('al_assign_me')) : null,
        alert.assignee ? h('button', { type: 'button', class: 'btn btn-small', 'data-action': 'unassign', onclick: () => go(null) }, t('al_unassign')) : null));
    }

    function closeDetail() {
      const id = selectedId;
      selectedId = null;
      detail.hidden = true;
      syncUrl();
      render();
      tableWrap.querySelector(`tr[data-alert="${CSS.escape(String(id))}"] .rule-link`)?.focus();
    }

    let ticks = 0;
    let incSoon = null;
    const off = on('alert-event', ({ event, alert }) => { if (event === 'opened') fresh.set(alert.id, Date.now()); });
    load();
    loadIncidents();
    incTimer = setInterval(loadIncidents, 30000);
    if (selectedId) showDetail(selectedId);
    return {
      update(c) {
        if (c.registry) fillToolbar();
        if (c.alerts || c.registry) {
          if (f.state === 'resolved') load(); else render();
          // an alert that became critical may have opened an incident (API §12): look again soon
          if (c.alerts) { clearTimeout(incSoon); incSoon = setTimeout(loadIncidents, 1500); }
        }
      },
      tick() {
        if (++ticks % 15 === 0 && f.state !== 'resolved') render(); // the "n min ago" column
      },
      destroy() { off(); clearInterval(incTimer); clearTimeout(incSoon); void navigate; },
    };
  },
};
