// The welfare officer's screen (API §9): the households of my zones — pseudonym, zone, last sign of life,
// the routine as a heat map, open alerts, consent — and a resident's card. The card's identity is asked of
// the server only when the officer says why (every opening is an access record with that purpose), is shown
// until hidden or the card is left, and is kept nowhere. Also: registering a resident, care details and
// renewed consent, each open case's escalation ladder (the alert and the incidents linked to it) with the
// officer's steps on it (acknowledge, send a visit, record the visit, call 119), the export (right of access)
// and erasure.
import { h, replace, toast, announce } from '../dom.js';
import { t } from '../i18n.js';
import { api, listAll, query } from '../api.js';
import { state, staleAfterMs, sortAlerts } from '../store.js';
import { dateTime, dateOnly, ago, int } from '../format.js';
import { unavailable, loading, sevBadge, stateBadge } from '../widgets.js';
import { field, showProblem, clearProblems } from '../forms.js';
import { alertTitle, noteDialog } from '../dialogs.js';
import { can } from '../session.js';
import { purposeDialog } from '../purpose.js';
import { registerDialog, consentFields } from '../resident-form.js';
import {
  RISKS, RISK_RANK, ROUTINE_DAYS, zoneName, summaryOf, zonesInScope, riskBadge, consentBadge, heatMap, ladder, routineOf,
  caseLinks, waitingVisit, caseDialog, VISIT_CATEGORY,
} from '../welfare-parts.js';

const DEVICE_METRICS = new Set(['battery_pct']); // a device reporting on itself is no sign of life
// The live feed carries no incident events, and the server opens care-loop incidents on its own (a visit task,
// 119): the incidents of a card with open cases are read again this often, after any alert event of the card,
// and after each step taken here.
const INCIDENTS_EVERY_S = 10;
const INCIDENTS_MAX = 5000;
const DAY_MS = 86400e3;

// The incidents that may be linked to cases opened at `since` or later: the list newest first (by id, so by
// creation), a page at a time, until a page reaches incidents reported before `since` (less a day, for a
// report dated back), at most INCIDENTS_MAX. Open and resolved alike: a visit task closed since is a step taken.
async function incidentsSince(since) {
  const stop = new Date(Date.parse(since) - DAY_MS).toISOString();
  const out = [];
  let cursor = null;
  do {
    const page = await api(`/api/v1/incidents${query({ limit: 1000, cursor })}`);
    const items = page.items || [];
    out.push(...items);
    cursor = page.next_cursor;
    if (!items.length || String(items[items.length - 1].reported_at) < stop) break;
  } while (cursor && out.length < INCIDENTS_MAX);
  return out;
}

export default {
  mount(el, { params }) {
    let residents = null; // summaries, no identity
    let sensors = []; // welfare sensors (attributes.household names their household)
    const latest = new Map(); // sensor id → newest reading time, from GET /api/v1/latest?domain=welfare
    const routines = new Map(); // household → {status, grid, total} (one series call per household)
    let zoneFilter = params.get('zone') || '';
    let selected = params.get('r');
    let destroyed = false;
    let observer = null;
    let incidents = null; // id → incident (incidentsSince the card's oldest open case), or null until read
    let incidentsState = 'idle'; // idle | loading | ok | error
    let incidentsError = null;
    let incidentsFrom = null; // the `since` of that read
    let incidentsSeq = 0; // only the newest read is taken
    let incidentsSoon = null; // a read asked for after alert events (at most one a second)
    // Steps on a case: welfare officers and admins (the screen is theirs; both may write incidents).
    const mayAct = can('welfare-data') && can('incidents-write');

    const countEl = h('span', { class: 'muted small', id: 'household-count' });
    const zoneSel = h('select', { class: 'input', id: 'wf-zone', onchange: () => { zoneFilter = zoneSel.value; syncUrl(); load(); } });
    const registerBtn = h('button', { type: 'button', class: 'btn btn-primary', id: 'welfare-register', onclick: () => openRegister() }, `+ ${t('wf_register')}`);
    const listEl = h('div', { class: 'households' });
    const cardEl = h('section', { class: 'resident-card', id: 'resident-card', 'aria-labelledby': 'resident-title' });
    el.append(
      h('div', { class: 'page-head' }, h('h1', {}, t('wf_title')), countEl,
        h('label', { class: 'filter inline', for: 'wf-zone' }, t('wf_zone')), zoneSel, registerBtn),
      h('p', { class: 'muted small wf-lead' }, t('wf_lead')),
      h('div', { class: 'welfare-layout' }, listEl, cardEl));

    function fillZones() {
      const ids = zonesInScope();
      replace(zoneSel, h('option', { value: '' }, t('wf_all_my_zones')),
        ids.map((id) => h('option', { value: id, selected: id === zoneFilter }, zoneName(id))));
    }

    function syncUrl() {
      history.replaceState(null, '', `/welfare${query({ zone: zoneFilter, r: selected || '' })}`);
    }

    async function load() {
      if (!residents) replace(listEl, loading());
      try {
        const [list, sens, lat] = await Promise.all([
          listAll(`/api/v1/residents${query({ zone: zoneFilter, purpose: t('wf_purpose_list') })}`, { limit: 200, max: 5000 }),
          listAll('/api/v1/sensors?domain=welfare', { limit: 1000, max: 20000 }),
          api('/api/v1/latest?domain=welfare').then((r) => r.items || []).catch(() => []),
        ]);
        residents = list;
        sensors = sens;
        for (const r of lat) {
          if (DEVICE_METRICS.has(r.metric)) continue;
          if (!latest.has(r.sensor) || latest.get(r.sensor) < r.ts) latest.set(r.sensor, r.ts);
        }
      } catch (e) {
        if (destroyed) return;
        residents = null;
        replace(listEl, unavailable(e, '/api/v1/residents', load));
        registerBtn.disabled = true;
        return;
      }
      if (destroyed) return;
      registerBtn.disabled = false;
      renderList();
      if (selected && residents.some((r) => r.id === selected)) showCard(selected, false);
      else { selected = null; emptyCard(); }
    }

    function emptyCard() {
      replace(cardEl, h('p', { class: 'empty' }, t('wf_pick')));
    }

    // ---------------------------------------------------------------- what the sensors and alerts say

    function sensorsOf(hh) { return sensors.filter((s) => s.attributes?.household === hh); }

    // The newest reading of the household's sensors, a device's own health (its battery) aside: {ts, late}
    // or null. (The newest values are all there is: a reading of no motion counts as one.)
    function lastSign(hh) {
      let best = null;
      for (const s of sensorsOf(hh)) {
        const live = Object.entries(state.latest.get(s.id) || {}).filter(([m]) => !DEVICE_METRICS.has(m)).map(([, v]) => v.ts);
        for (const ts of [latest.get(s.id), ...live].filter(Boolean)) if (!best || ts > best.ts) best = { ts, sensor: s };
      }
      if (!best) return null;
      return { ts: best.ts, late: Date.now() - new Date(best.ts).getTime() > staleAfterMs(best.sensor) };
    }

    // The household's active welfare alerts (by its sensors; or by the pseudonym, as other roles see them).
    function casesOf(hh) {
      const ids = new Set(sensorsOf(hh).map((s) => s.id));
      return sortAlerts([...state.alerts.values()].filter((a) => a.domain === 'welfare' && (a.household === hh || (a.sensor && ids.has(a.sensor)))));
    }

    function lastCell(hh) {
      if (!sensorsOf(hh).length) return h('span', { class: 'muted small' }, t('wf_no_sensor'));
      const s = lastSign(hh);
      if (!s) return h('span', { class: 'muted small' }, t('wf_no_readings'));
      return h('span', { class: `last-sign ${s.late ? 'late' : ''}` },
        h('time', { datetime: s.ts, title: dateTime(s.ts) }, ago(s.ts)),
        s.late ? h('span', { class: 'late-tag' }, ` · ${t('wf_late')}`) : null,
        h('span', { class: 'muted small block' }, dateTime(s.ts)));
    }

    function alertsCell(hh) {
      if (state.alertsStatus !== 'ok') return h('span', { class: 'muted small' }, '–');
      const cases = casesOf(hh);
      if (!cases.length) return h('span', { class: 'muted small' }, t('wf_no_open'));
      const worst = cases[0];
      return h('span', { class: 'hh-cases' }, sevBadge(worst.severity), ' ', t('wf_open_n', { n: cases.length }),
        h('span', { class: 'muted small block' }, alertTitle(worst)));
    }

    // ---------------------------------------------------------------- the list

    // Households with open cases first, then by risk, then by pseudonym.
    function sorted(list) {
      const open = new Map(list.map((r) => [r.id, casesOf(r.household).length ? 0 : 1]));
      return [...list].sort((a, b) => open.get(a.id) - open.get(b.id)
        || (RISK_RANK[a.risk_level] ?? 3) - (RISK_RANK[b.risk_level] ?? 3)
        || a.household.localeCompare(b.household));
    }

    function renderList() {
      if (observer) observer.disconnect();
      countEl.textContent = t(residents.length === 1 ? 'wf_count_one' : 'wf_count', { n: residents.length });
      if (!residents.length) {
        replace(listEl, h('p', { class: 'empty', id: 'households-empty' }, t(zoneFilter ? 'wf_empty_zone' : 'wf_empty')));
        return;
      }
      const table = h('table', { class: 'table households-table', id: 'households-table' },
        h('caption', { class: 'sr-only' }, t('wf_households')),
        h('thead', {}, h('tr', {},
          [t('wf_household'), t('wf_zone_care'), t('wf_last_sign'), t('wf_routine'), t('wf_open_alerts'), t('wf_consent')]
            .map((x) => h('th', { scope: 'col' }, x)))),
        h('tbody', {}, sorted(residents).map((r) => h('tr', {
          class: `household-row ${r.id === selected ? 'active' : ''}`, 'data-resident': r.id, 'data-household': r.household,
          'data-consent': r.consent?.status,
        },
        h('th', { scope: 'row' },
          h('button', { type: 'button', class: 'link-btn mono hh-open', 'aria-expanded': String(r.id === selected), 'aria-controls': 'resident-card', onclick: () => showCard(r.id, true) }, r.household),
          h('div', {}, riskBadge(r.risk_level))),
        h('td', {}, zoneName(r.zone), h('span', { class: 'muted small block' }, r.care_worker ? `${t('wf_care_worker')}: ${r.care_worker}` : t('wf_no_care_worker'))),
        h('td', { class: 'hh-last' }, lastCell(r.household)),
        h('td', { class: 'hh-routine' }, h('div', { class: 'routine-slot', 'data-household': r.household })),
        h('td', { class: 'hh-alerts' }, alertsCell(r.household)),
        h('td', { class: 'hh-consent' }, consentBadge(r.consent),
          h('span', { class: 'muted small block' }, r.consent?.expires_at ? t('wf_until', { d: dateOnly(r.consent.expires_at) }) : t('wf_no_expiry')),
          r.withheld_readings ? h('span', { class: 'muted small block' }, t('wf_withheld', { n: int(r.withheld_readings) })) : null)))));
      replace(listEl, h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': t('wf_households') }, table));
      // A household's routine is asked for once its row is on the screen (one series call each).
      observer = new IntersectionObserver((entries) => {
        for (const e of entries) {
          if (!e.isIntersecting) continue;
          observer.unobserve(e.target);
          loadRoutine(e.target.dataset.household);
        }
      });
      for (const slot of listEl.querySelectorAll('.routine-slot')) { drawRoutine(slot); observer.observe(slot); }
    }

    // The cells that follow readings (and, with `cases`, alerts), drawn again in place: the routines stay,
    // and so does the focus on a case's link.
    function refreshLive({ cases = false } = {}) {
      if (!residents) return;
      for (const tr of listEl.querySelectorAll('tr.household-row')) {
        replace(tr.querySelector('.hh-last'), lastCell(tr.dataset.household));
        if (cases) replace(tr.querySelector('.hh-alerts'), alertsCell(tr.dataset.household));
      }
      const r = residents.find((x) => x.id === selected);
      if (!r) return;
      const last = cardEl.querySelector('#card-last');
      if (last) replace(last, lastCell(r.household));
      if (cases) drawCases();
    }

    // The card's cases drawn again in place, the focus kept on the same case's link or button.
    function drawCases() {
      const r = residents?.find((x) => x.id === selected);
      const slot = cardEl.querySelector('#card-cases');
      if (!r || !slot) return;
      const active = slot.contains(document.activeElement) ? document.activeElement : null;
      const focused = active?.closest('[data-alert]')?.dataset.alert;
      const action = active?.dataset.action;
      replace(slot, casesBlock(r.household));
      if (focused) focusCase(focused, action);
    }

    // Focus on case `id`: its button `action` if there is one, else its first button, else its link.
    function focusCase(id, action) {
      const li = cardEl.querySelector(`#card-cases [data-alert="${CSS.escape(String(id))}"]`);
      if (!li) return;
      (action && li.querySelector(`button[data-action="${CSS.escape(action)}"]`) || li.querySelector('.case-actions button') || li.querySelector('a'))?.focus();
    }

    // ---------------------------------------------------------------- the incidents of the card's cases

    function cardCases() {
      const r = residents?.find((x) => x.id === selected);
      return r ? casesOf(r.household).filter((a) => a.kind !== 'consent') : [];
    }

    async function loadIncidents() {
      clearTimeout(incidentsSoon);
      incidentsSoon = null;
      const cases = cardCases();
      if (!cases.length || destroyed) return;
      const since = new Date(Math.min(...cases.map((a) => Date.parse(a.opened_at) || Date.now()))).toISOString();
      const seq = ++incidentsSeq;
      // A case older than the last read (another card): not known until read again.
      if (incidentsState !== 'ok' || since < incidentsFrom) { incidentsState = 'loading'; drawCases(); }
      let list;
      try {
        list = await incidentsSince(since);
      } catch (e) {
        if (seq !== incidentsSeq || destroyed) return;
        incidents = null;
        incidentsState = 'error';
        incidentsError = e;
        drawCases();
        return;
      }
      if (seq !== incidentsSeq || destroyed) return;
      const before = signature();
      incidents = new Map(list.map((i) => [i.id, i]));
      incidentsFrom = since;
      incidentsState = 'ok';
      incidentsError = null;
      if (signature() !== before || !cardEl.querySelector('#card-cases .ladder-wrap[data-incidents="ok"]')) drawCases();
    }

    // What the ladders of the card show of the incidents (a read that changed nothing draws nothing).
    function signature() {
      if (!incidents) return '';
      return JSON.stringify(cardCases().map((a) => {
        const l = caseLinks(a, incidents.values());
        return [...l.visits, ...l.emergencies].map((i) => [i.id, i.on_scene_at, i.resolved_at]);
      }));
    }

    function loadIncidentsSoon() {
      if (incidentsSoon || !cardCases().length) return;
      incidentsSoon = setTimeout(loadIncidents, 1000);
    }

    function takeIncident(inc) {
      if (!incidents) incidents = new Map();
      incidents.set(inc.id, inc);
    }

    // ---------------------------------------------------------------- routines

    function routineSource(hh) {
      const list = sensorsOf(hh);
      const act = list.find((s) => s.kind === 'home_activity' && s.metrics?.some((m) => m.name === 'motion'));
      if (act) return { sensor: act.id, metric: 'motion' };
      const s = list.find((x) => x.metrics?.length);
      return s ? { sensor: s.id, metric: s.metrics[0].name } : null;
    }

    async function loadRoutine(hh) {
      if (!hh || routines.has(hh)) return;
      const src = routineSource(hh);
      if (!src) { routines.set(hh, { status: 'none' }); drawRoutines(hh); return; }
      routines.set(hh, { status: 'loading' });
      drawRoutines(hh);
      const to = new Date(Math.ceil(Date.now() / 3600e3) * 3600e3);
      const from = new Date(to.getTime() - ROUTINE_DAYS * 86400e3);
      try {
        const res = await api(`/api/v1/sensors/${encodeURIComponent(src.sensor)}/series${query({
          metric: src.metric, bucket: '1h', agg: 'count', from: from.toISOString(), to: to.toISOString(),
        })}`);
        routines.set(hh, { status: 'ok', ...routineOf(res.points), src });
      } catch (e) {
        routines.set(hh, { status: 'error', error: e });
      }
      if (!destroyed) drawRoutines(hh);
    }

    function drawRoutines(hh) {
      for (const slot of el.querySelectorAll(`.routine-slot[data-household="${CSS.escape(hh)}"]`)) drawRoutine(slot);
    }

    function drawRoutine(slot) {
      const r = routines.get(slot.dataset.household);
      const big = slot.classList.contains('big');
      if (!r || r.status === 'loading') replace(slot, h('span', { class: 'muted small', 'aria-busy': 'true' }, t('loading')));
      else if (r.status === 'none') replace(slot, h('span', { class: 'muted small' }, t('wf_no_sensor')));
      else if (r.status === 'error') replace(slot, h('span', { class: 'muted small' }, t('wf_routine_failed')));
      else replace(slot, heatMap(r, big));
      slot.dataset.state = r?.status || 'pending';
    }

    // ---------------------------------------------------------------- the card

    function casesBlock(hh) {
      if (state.alertsStatus === 'loading') return loading();
      if (state.alertsStatus !== 'ok') return unavailable(state.alertsStatus, '/api/v1/alerts');
      const cases = casesOf(hh);
      if (!cases.length) return h('p', { class: 'muted' }, t('wf_no_open'));
      const r = residents.find((x) => x.household === hh);
      const known = incidentsState === 'ok' && incidents;
      return [
        h('ul', { class: 'cases' }, cases.map((a) => {
          const head = h('div', { class: 'case-head' }, sevBadge(a.severity), stateBadge(a.state),
            h('a', { href: `/alerts?alert=${encodeURIComponent(a.id)}` }, alertTitle(a)));
          if (a.kind === 'consent') {
            return h('li', { class: `case sev-${a.severity}`, 'data-alert': a.id }, head, h('p', { class: 'muted small' }, t('wf_no_ladder')));
          }
          const links = known ? caseLinks(a, incidents.values()) : null;
          const kind = sensors.find((s) => s.id === a.sensor)?.kind || state.sensors.get(a.sensor)?.kind;
          const lad = ladder(a, links, kind, incidentsState);
          lad.dataset.incidents = known ? 'ok' : incidentsState;
          return h('li', { class: `case sev-${a.severity}`, 'data-alert': a.id }, head, lad, caseActions(a, r, links));
        })),
        incidentsState === 'error'
          ? h('div', { class: 'form-notice warn', id: 'case-incidents-error' },
            t('wf_incidents_failed', { msg: incidentsError?.message || '' }), ' ',
            h('button', { type: 'button', class: 'btn btn-small', onclick: () => loadIncidents() }, t('retry')))
          : null,
        cases.some((a) => a.kind !== 'consent') ? h('p', { class: 'muted small' }, t('wf_next_settings')) : null,
      ];
    }

    // ---------------------------------------------------------------- steps on a case

    // The steps an officer may take on case `a` now: acknowledge an open alert; send a visit while none was
    // sent; record the visit of a task still waiting; call 119 while nobody has. The incident steps only once
    // the linked incidents are known (`links`), so that nothing is opened twice.
    function caseActions(a, r, links) {
      if (!mayAct) return null;
      const btn = (action, label, onclick, cls = 'btn') => h('button', { type: 'button', class: `${cls} btn-small`, 'data-action': action, onclick }, label);
      const waiting = links ? waitingVisit(links) : null;
      const list = [
        a.state === 'open' ? btn('ack', t('wf_act_ack'), () => ackCase(a)) : null,
        links && !links.visits.length ? btn('visit', t('wf_act_visit'), () => sendVisit(a, r)) : null,
        waiting ? btn('visited', t('wf_act_visited'), () => markVisited(a, waiting)) : null,
        links && !links.emergencies.length ? btn('call119', t('wf_act_119'), () => call119(a, r), 'btn btn-danger') : null,
      ].filter(Boolean);
      if (!list.length) return null;
      return h('div', { class: 'case-actions', role: 'group', 'aria-label': t('wf_case_actions', { title: alertTitle(a) }) }, list);
    }

    // After a step: the card's cases drawn at once, said, the focus back on the case; then the incidents read again.
    function stepDone(a, msg, action) {
      toast(msg);
      announce(msg);
      drawCases();
      focusCase(a.id, action);
      loadIncidents();
    }

    async function ackCase(a) {
      const res = await noteDialog(a, 'ack'); // POST /api/v1/alerts/{id}/ack {note}; the store takes the answer
      if (destroyed) return;
      if (!res) { focusCase(a.id, 'ack'); return; }
      drawCases();
      focusCase(a.id);
      loadIncidents();
    }

    function incidentBody(a, r, category, note) {
      // The zone only: a welfare incident never carries the home's location (docs/welfare.md).
      const body = { category, zone: a.zone || r?.zone, alerts: [Number(a.id)] };
      if (note) body.note = note;
      return body;
    }

    async function sendVisit(a, r) {
      const inc = await caseDialog({
        id: 'case-visit', title: t('wf_visit_title'), submit: t('wf_visit_submit'),
        lead: t('wf_visit_lead', { hh: r?.household || '', zone: zoneName(a.zone || r?.zone), id: a.id }),
        run: (note) => api('/api/v1/incidents', { method: 'POST', body: incidentBody(a, r, VISIT_CATEGORY, note) }),
      });
      if (destroyed) return;
      if (!inc) { focusCase(a.id, 'visit'); return; }
      takeIncident(inc);
      stepDone(a, t('wf_visit_done'), 'visited');
    }

    async function markVisited(a, visit) {
      const inc = await caseDialog({
        id: 'case-visited', title: t('wf_visited_title'), submit: t('wf_visited_submit'),
        lead: t('wf_visited_lead', { id: visit.id }),
        run: (note) => {
          // Now, and never before the task was reported (a clock behind the server's would be refused). maeuld
          // records on the scene only after a dispatch (409 "needs dispatched_at first"): a task nobody marked
          // as set off gets the same time for both, which claims no earlier departure than is known.
          const at = new Date(Math.max(Date.now(), Date.parse(visit.dispatched_at || visit.reported_at) || 0)).toISOString();
          const body = { on_scene_at: at };
          if (!visit.dispatched_at) body.dispatched_at = at;
          if (note) body.note = note;
          return api(`/api/v1/incidents/${encodeURIComponent(visit.id)}`, { method: 'PATCH', body });
        },
      });
      if (destroyed) return;
      if (!inc) { focusCase(a.id, 'visited'); return; }
      takeIncident(inc);
      stepDone(a, t('wf_visited_done'));
    }

    async function call119(a, r) {
      const inc = await caseDialog({
        id: 'case-119', title: t('wf_119_title'), submit: t('wf_119_submit'), danger: true,
        lead: t('wf_119_lead', { hh: r?.household || '', zone: zoneName(a.zone || r?.zone), id: a.id }),
        run: (note) => api('/api/v1/incidents', { method: 'POST', body: incidentBody(a, r, 'welfare_emergency', note) }),
      });
      if (destroyed) return;
      if (!inc) { focusCase(a.id, 'call119'); return; }
      takeIncident(inc);
      stepDone(a, t('wf_119_done'));
    }

    function showCard(id, focus) {
      const r = residents.find((x) => x.id === id);
      if (!r || destroyed) return;
      selected = id;
      syncUrl();
      for (const tr of listEl.querySelectorAll('tr.household-row')) {
        const on = tr.dataset.resident === id;
        tr.classList.toggle('active', on);
        tr.querySelector('.hh-open')?.setAttribute('aria-expanded', String(on));
      }
      const c = r.consent || {};
      const hhSensors = sensorsOf(r.household);
      const identityEl = h('div', { id: 'identity-slot' }, identityHidden(r));
      replace(cardEl,
        h('div', { class: 'sp-title-row' },
          h('h2', { id: 'resident-title', tabindex: '-1' }, h('span', { class: 'mono' }, r.household), ' ', riskBadge(r.risk_level)),
          h('button', { type: 'button', class: 'icon-btn', 'aria-label': t('close'), onclick: closeCard }, '✕')),
        h('dl', { class: 'sp-facts' },
          h('dt', {}, t('wf_zone')), h('dd', {}, zoneName(r.zone)),
          h('dt', {}, t('wf_care_worker')), h('dd', {}, r.care_worker || t('wf_no_care_worker')),
          h('dt', {}, t('wf_registered')), h('dd', {}, dateTime(r.created_at)),
          h('dt', {}, t('wf_sensors')), h('dd', {}, hhSensors.length ? h('span', { class: 'mono' }, hhSensors.map((s) => s.id).join(', ')) : t('wf_no_sensor')),
          h('dt', {}, t('wf_last_sign')), h('dd', { id: 'card-last' }, lastCell(r.household))),

        h('h3', { class: 'sub-head' }, t('wf_identity')),
        identityEl,

        h('h3', { class: 'sub-head' }, t('wf_open_cases')),
        h('div', { id: 'card-cases' }, casesBlock(r.household)),

        h('h3', { class: 'sub-head' }, t('wf_routine_title', { days: ROUTINE_DAYS })),
        h('div', { class: 'routine-slot big', 'data-household': r.household }),

        h('h3', { class: 'sub-head' }, t('wf_consent')),
        h('div', { class: 'consent-block', id: 'card-consent', 'data-consent': c.status },
          h('p', {}, consentBadge(c), ' ', c.expires_at ? t('wf_until', { d: dateOnly(c.expires_at) }) : t('wf_no_expiry')),
          h('dl', { class: 'sp-facts' },
            h('dt', {}, t('wf_consent_purpose')), h('dd', {}, c.purpose || '–'),
            h('dt', {}, t('wf_consent_basis')), h('dd', {}, c.basis || '–'),
            h('dt', {}, t('wf_consent_granted')), h('dd', {}, dateOnly(c.granted_at)),
            h('dt', {}, t('wf_consent_expires')), h('dd', {}, c.expires_at ? dateOnly(c.expires_at) : t('wf_no_expiry')),
            h('dt', {}, t('wf_withheld_label')), h('dd', {}, int(r.withheld_readings || 0))),
          c.status === 'lapsed' ? h('p', { class: 'form-notice warn' }, t('wf_lapsed_note')) : null),

        careForm(r),
        consentForm(r),

        h('h3', { class: 'sub-head' }, t('wf_records')),
        h('div', { class: 'account-actions' },
          h('button', { type: 'button', class: 'btn', id: 'resident-export', onclick: () => exportResident(r) }, t('wf_export')),
          h('button', { type: 'button', class: 'btn btn-danger', id: 'resident-erase', onclick: () => eraseResident(r) }, t('wf_erase'))));
      drawRoutines(r.household);
      loadRoutine(r.household);
      loadIncidents();
      if (focus) cardEl.querySelector('#resident-title').focus();
    }

    function closeCard() {
      const id = selected;
      selected = null;
      syncUrl();
      emptyCard();
      for (const tr of listEl.querySelectorAll('tr.household-row')) {
        tr.classList.remove('active');
        tr.querySelector('.hh-open')?.setAttribute('aria-expanded', 'false');
      }
      listEl.querySelector(`tr[data-resident="${CSS.escape(id || '')}"] .hh-open`)?.focus();
    }

    // ---------------------------------------------------------------- identity, on purpose only

    function identityHidden(r) {
      return h('div', { class: 'identity-hidden' },
        h('p', { class: 'muted' }, t('wf_identity_hidden')),
        h('button', { type: 'button', class: 'btn', id: 'identity-show', onclick: () => showIdentity(r) }, t('wf_identity_show')));
    }

    async function showIdentity(r) {
      const card = await purposeDialog({
        id: 'identity-purpose', title: t('wf_identity_why'), lead: t('wf_identity_lead', { hh: r.household }),
        submit: t('wf_identity_open'), suggestions: t('wf_purpose_suggestions').split('|'),
        run: (purpose) => api(`/api/v1/residents/${encodeURIComponent(r.id)}${query({ purpose })}`),
      });
      const slot = cardEl.querySelector('#identity-slot');
      if (!card || destroyed || selected !== r.id || !slot) { cardEl.querySelector('#identity-show')?.focus(); return; }
      replace(slot, identityView(r, card));
      announce(t('wf_identity_shown'));
      slot.querySelector('#identity-title')?.focus();
    }

    function identityView(r, card) {
      const hide = () => {
        const slot = cardEl.querySelector('#identity-slot');
        if (!slot) return;
        replace(slot, identityHidden(r));
        announce(t('wf_identity_hidden_done'));
        slot.querySelector('#identity-show')?.focus();
      };
      if (card.identity_error) {
        return h('section', { id: 'identity', class: 'identity', 'aria-labelledby': 'identity-title' },
          h('h4', { id: 'identity-title', tabindex: '-1' }, t('wf_identity')),
          h('p', { class: 'form-error' }, t('wf_identity_error')),
          h('button', { type: 'button', class: 'btn', id: 'identity-hide', onclick: hide }, t('wf_identity_hide')));
      }
      const age = card.birth_year ? new Date().getFullYear() - card.birth_year : null;
      const guardians = card.guardians || [];
      return h('section', { id: 'identity', class: 'identity', 'aria-labelledby': 'identity-title' },
        h('h4', { id: 'identity-title', tabindex: '-1' }, t('wf_identity_of', { hh: r.household })),
        h('dl', { class: 'sp-facts' },
          h('dt', {}, t('wf_name')), h('dd', { 'data-id': 'name' }, card.name || '–'),
          h('dt', {}, t('wf_birth_year')), h('dd', { 'data-id': 'birth_year' }, card.birth_year ? `${card.birth_year} (${t('wf_age', { n: age })})` : '–'),
          h('dt', {}, t('wf_phone')), h('dd', { 'data-id': 'phone' }, card.phone ? h('a', { href: `tel:${card.phone.replace(/[^\d+]/g, '')}` }, card.phone) : '–'),
          h('dt', {}, t('wf_address')), h('dd', { 'data-id': 'address' }, card.address || '–'),
          h('dt', {}, t('wf_notes')), h('dd', { 'data-id': 'notes', class: 'pre' }, card.notes || '–')),
        h('h5', { class: 'sub-head' }, t('wf_guardians')),
        guardians.length ? h('ul', { class: 'guardians' }, guardians.map((g) => h('li', {},
          h('strong', {}, g.name), g.relation ? ` (${g.relation})` : '', ' · ',
          h('a', { href: `tel:${String(g.phone).replace(/[^\d+]/g, '')}` }, g.phone))))
          : h('p', { class: 'muted' }, t('none')),
        card.open_alert ? h('p', { class: 'muted small' }, t('wf_read_with_alert', { id: card.open_alert })) : null,
        h('p', { class: 'muted small' }, t('wf_identity_recorded')),
        h('button', { type: 'button', class: 'btn', id: 'identity-hide', onclick: hide }, t('wf_identity_hide')));
    }

    // ---------------------------------------------------------------- changes, export, erasure

    function replaceResident(card) {
      const s = summaryOf(card);
      const i = residents.findIndex((x) => x.id === s.id);
      if (i >= 0) residents[i] = s; else residents.push(s);
    }

    // PATCH with the fields given; the answer's identity is dropped. Resolves true when saved.
    async function patch(r, body, fields, errEl, done) {
      try {
        const card = await api(`/api/v1/residents/${encodeURIComponent(r.id)}${query({ purpose: t('wf_purpose_change') })}`, { method: 'PATCH', body });
        replaceResident(card);
      } catch (ex) {
        showProblem(ex, fields, errEl);
        return false;
      }
      toast(done);
      announce(done);
      renderList();
      showCard(r.id, true); // drawn again: an identity on show is hidden (and asked for again with a purpose)
      return true;
    }

    function careForm(r) {
      const risk = field('cf-risk', t('wf_risk'), h('select', { class: 'input' }, RISKS.map((x) => h('option', { value: x, selected: x === r.risk_level }, t(`wf_risk_${x}`)))));
      const worker = field('cf-care-worker', t('wf_care_worker'), h('input', { type: 'text', class: 'input', value: r.care_worker || '', maxlength: 64, autocomplete: 'off', spellcheck: 'false' }), t('wf_care_worker_hint'));
      const err = h('p', { class: 'form-error', role: 'alert', hidden: true });
      const fields = { risk_level: risk, care_worker: worker };
      const form = h('form', { class: 'user-form', id: 'care-form', novalidate: true }, risk.wrap, worker.wrap, err,
        h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'btn' }, t('save'))));
      form.addEventListener('submit', async (e) => {
        e.preventDefault();
        clearProblems(fields, err);
        const body = {};
        if (risk.input.value !== r.risk_level) body.risk_level = risk.input.value;
        if (worker.input.value.trim() !== (r.care_worker || '')) body.care_worker = worker.input.value.trim();
        if (!Object.keys(body).length) { toast(t('us_no_change')); return; }
        await patch(r, body, fields, err, t('wf_saved'));
      });
      return h('details', { class: 'card-form' }, h('summary', {}, t('wf_change_care')), form);
    }

    function consentForm(r) {
      const c = r.consent || {};
      const f = consentFields('cn', { purpose: c.purpose, basis: c.basis });
      const err = h('p', { class: 'form-error', role: 'alert', hidden: true });
      const form = h('form', { class: 'user-form', id: 'consent-form', novalidate: true },
        h('p', { class: 'hint' }, t('wf_renew_lead')), f.wraps, err,
        h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'btn' }, t('wf_renew_save'))));
      form.addEventListener('submit', async (e) => {
        e.preventDefault();
        clearProblems(f.fields, err);
        if (!f.given()) { f.refuse(); return; }
        await patch(r, { consent: f.value() }, f.fields, err, t('wf_consent_saved'));
      });
      return h('details', { class: 'card-form' }, h('summary', {}, t('wf_renew')), form);
    }

    async function exportResident(r) {
      const data = await purposeDialog({
        id: 'export-purpose', title: t('wf_export_title'), lead: t('wf_export_lead', { hh: r.household }), submit: t('wf_export'),
        run: (purpose) => api(`/api/v1/residents/${encodeURIComponent(r.id)}/export${query({ purpose })}`),
      });
      if (!data) { cardEl.querySelector('#resident-export')?.focus(); return; }
      const url = URL.createObjectURL(new Blob([JSON.stringify(data, null, 2)], { type: 'application/json' }));
      const a = h('a', { href: url, download: `${r.id}.json`, hidden: true });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 0);
      toast(t('wf_exported'));
      cardEl.querySelector('#resident-export')?.focus();
    }

    async function eraseResident(r) {
      const done = await purposeDialog({
        id: 'erase-purpose', title: t('wf_erase_title'), lead: t('wf_erase_lead', { hh: r.household }), submit: t('wf_erase'),
        danger: true, label: t('wf_erase_why'), confirmText: r.household, confirmLabel: t('wf_erase_type', { hh: r.household }),
        run: (purpose) => api(`/api/v1/residents/${encodeURIComponent(r.id)}${query({ purpose })}`, { method: 'DELETE' }).then(() => true),
      });
      if (!done) { cardEl.querySelector('#resident-erase')?.focus(); return; }
      residents = residents.filter((x) => x.id !== r.id);
      routines.delete(r.household);
      selected = null;
      syncUrl();
      const msg = t('wf_erased', { hh: r.household });
      toast(msg);
      announce(msg);
      renderList();
      emptyCard();
      registerBtn.focus();
    }

    async function openRegister() {
      const card = await registerDialog({ zones: zonesInScope(), zone: zoneFilter });
      if (!card || destroyed) { if (!destroyed) registerBtn.focus(); return; }
      replaceResident(card);
      const msg = t('wf_registered_done', { hh: card.household });
      toast(msg);
      announce(msg);
      renderList();
      showCard(card.id, true);
    }

    fillZones();
    load();
    let ticks = 0;
    return {
      update(c) {
        if (c.registry) { fillZones(); if (residents) { renderList(); if (selected) showCard(selected, false); } }
        const mine = c.sensors && sensors.some((s) => c.sensors.has(s.id));
        if (c.alerts || mine) refreshLive({ cases: !!c.alerts });
        if (c.alerts) loadIncidentsSoon();
      },
      tick() {
        if (++ticks % 15 === 0) refreshLive(); // "n min ago"
        if (ticks % INCIDENTS_EVERY_S === 0 && cardCases().length) loadIncidents();
      },
      destroy() { destroyed = true; clearTimeout(incidentsSoon); if (observer) observer.disconnect(); },
    };
  },
};

