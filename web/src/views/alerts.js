// The alert queue: active alerts (live), most severe and newest first; acknowledge and resolve with a note;
// break the glass on an open critical welfare alert (the household's contacts, for a recorded reason).
import { h, replace } from '../dom.js';
import { t, nameOf, shortName } from '../i18n.js';
import { api, listAll, query } from '../api.js';
import { on } from '../bus.js';
import { state, activeAlerts, sortAlerts } from '../store.js';
import { alertDomains } from '../session.js';
import { dateTime, ago } from '../format.js';
import { sevBadge, stateBadge, unavailable, loading } from '../widgets.js';
import { alertTitle, alertValue, noteDialog, canReveal, revealDialog } from '../dialogs.js';

const SEVS = ['critical', 'warning', 'info'];

export default {
  mount(el, { params, navigate }) {
    const f = {
      state: params.get('state') || 'active',
      severity: params.get('severity') || '',
      zone: params.get('zone') || '',
      domain: params.get('domain') || '',
    };
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
      select('domain', [['', t('all')], ...alertDomains().map((d) => [d, t(`dom_${d}`)])], t('al_filter_domain')));
    fillToolbar();
    const countEl = h('span', { class: 'muted', 'aria-live': 'polite' });
    const tableWrap = h('div', { class: 'table-wrap' });
    const detail = h('aside', { class: 'alert-detail', hidden: true, 'aria-label': t('al_history') });
    el.append(h('div', { class: 'page-head' }, h('h1', {}, t('al_title')), countEl), toolbar,
      h('div', { class: 'alerts-layout' }, tableWrap, detail));

    function syncUrl() {
      const q = query({ state: f.state === 'active' ? '' : f.state, severity: f.severity, zone: f.zone, domain: f.domain, alert: selectedId || '' });
      history.replaceState(null, '', `/alerts${q}`);
    }

    async function load() {
      if (f.state !== 'resolved') { resolved = null; render(); return; }
      replace(tableWrap, loading());
      try {
        resolved = await listAll(`/api/v1/alerts${query({ state: 'resolved', severity: f.severity, zone: f.zone, domain: f.domain })}`, { limit: 200, max: 200 });
      } catch (e) {
        replace(tableWrap, unavailable(e, '/api/v1/alerts', load));
        return;
      }
      render();
    }

    function rows() {
      if (f.state === 'resolved') return sortAlerts(resolved || []);
      return activeAlerts().filter((a) => (f.state === 'active' || a.state === f.state)
        && (!f.severity || a.severity === f.severity)
        && (!f.zone || a.zone === f.zone)
        && (!f.domain || a.domain === f.domain));
    }

    function render() {
      if (f.state !== 'resolved') {
        if (state.alertsStatus === 'loading') { replace(tableWrap, loading()); return; }
        if (state.alertsStatus !== 'ok') { replace(tableWrap, unavailable(state.alertsStatus, '/api/v1/alerts')); countEl.textContent = ''; return; }
      }
      const list = rows();
      countEl.textContent = t('al_count', { n: list.length });
      if (!list.length) { replace(tableWrap, h('p', { class: 'empty' }, t('al_empty'))); return; }
      const now = Date.now();
      const table = h('table', { class: 'table alerts-table', id: 'alert-table' },
        h('thead', {}, h('tr', {},
          [t('al_filter_severity'), t('al_rule'), t('al_zone'), t('al_sensor'), t('al_value'), t('al_opened'), t('al_state'), t('al_actions')]
            .map((x) => h('th', { scope: 'col' }, x)))),
        h('tbody', {}, list.map((a) => {
          const zone = state.zoneById.get(a.zone);
          const isNew = fresh.has(a.id) && now - fresh.get(a.id) < 8000;
          const tr = h('tr', {
            class: `alert-row sev-${a.severity} state-${a.state} ${isNew ? 'is-new' : ''} ${String(a.id) === String(selectedId) ? 'selected' : ''}`,
            'data-alert': a.id, 'data-severity': a.severity, 'data-state': a.state,
          },
          h('td', {}, sevBadge(a.severity)),
          h('td', {}, h('button', { type: 'button', class: 'link-btn rule-link', onclick: () => showDetail(a.id) }, alertTitle(a)),
            a.message ? h('div', { class: 'muted small' }, a.message) : null),
          h('td', {}, zone ? nameOf(zone.name, zone.id) : (a.zone || '–')),
          h('td', {}, a.sensor ? h('a', { href: `/map?sensor=${encodeURIComponent(a.sensor)}`, class: 'mono' }, a.sensor)
            : a.household ? h('span', { class: 'mono', title: t('al_household') }, a.household) : '–'),
          h('td', { class: 'num' }, alertValue(a) || '–'),
          h('td', {}, h('time', { datetime: a.opened_at, title: dateTime(a.opened_at) }, ago(a.opened_at, now)), h('div', { class: 'muted small' }, dateTime(a.opened_at))),
          h('td', {}, stateBadge(a.state), a.acknowledged_by && a.state !== 'open' ? h('div', { class: 'muted small' }, a.acknowledged_by) : null),
          h('td', { class: 'actions' },
            a.state === 'open' ? h('button', { type: 'button', class: 'btn btn-small btn-primary', 'data-action': 'ack', onclick: () => act(a, 'ack') }, t('al_ack')) : null,
            a.state !== 'resolved' ? h('button', { type: 'button', class: 'btn btn-small', 'data-action': 'resolve', onclick: () => act(a, 'resolve') }, t('al_resolve')) : null));
          return tr;
        })));
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
        h('div', { class: 'detail-badges' }, sevBadge(alert.severity), stateBadge(alert.state)),
        alert.message ? h('p', {}, alert.message) : null,
        h('dl', { class: 'sp-facts' },
          h('dt', {}, t('al_zone')), h('dd', {}, zone ? nameOf(zone.name, zone.id) : (alert.zone || '–')),
          h('dt', {}, t('al_sensor')), h('dd', {}, alert.sensor ? h('a', { href: `/map?sensor=${encodeURIComponent(alert.sensor)}` }, alert.sensor)
            : alert.household ? h('span', { class: 'mono', title: t('al_household') }, alert.household) : '–'),
          h('dt', {}, t('al_value')), h('dd', {}, alertValue(alert) || '–'),
          h('dt', {}, t('al_opened')), h('dd', {}, dateTime(alert.opened_at))),
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

    function closeDetail() {
      const id = selectedId;
      selectedId = null;
      detail.hidden = true;
      syncUrl();
      render();
      tableWrap.querySelector(`tr[data-alert="${CSS.escape(String(id))}"] .rule-link`)?.focus();
    }

    let ticks = 0;
    const off = on('alert-event', ({ event, alert }) => { if (event === 'opened') fresh.set(alert.id, Date.now()); });
    load();
    if (selectedId) showDetail(selectedId);
    return {
      update(c) {
        if (c.registry) fillToolbar();
        if (c.alerts || c.registry) {
          if (f.state === 'resolved') load(); else render();
        }
      },
      tick() {
        if (++ticks % 15 === 0 && f.state !== 'resolved') render(); // the "n min ago" column
      },
      destroy() { off(); void navigate; },
    };
  },
};
