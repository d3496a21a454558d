// Incidents: open and closed, each with its timeline (reported → dispatched → on scene → resolved) and the
// steps of its category's playbook (API §12): what to do, who did each and when; a step ticked with a note.
import { h, replace, toast } from '../dom.js';
import { t, nameOf } from '../i18n.js';
import { api, listAll, query } from '../api.js';
import { state } from '../store.js';
import { dateTime, ago } from '../format.js';
import { unavailable, loading } from '../widgets.js';
import { can } from '../session.js';
import { playbookSteps, stepList, stepName } from '../playbook.js';

const CATEGORIES = ['flood', 'fire', 'traffic', 'welfare', 'medical', 'earthquake', 'environment', 'other'];
const STEPS = [['reported_at', 'in_reported'], ['dispatched_at', 'in_dispatched'], ['on_scene_at', 'in_on_scene'], ['resolved_at', 'in_resolved_at']];

const WHAT = { reported: 'in_reported', dispatched: 'in_dispatched', on_scene: 'in_on_scene', resolved: 'in_resolved_at', note: 'in_note' };
function whatName(w) {
  if (WHAT[w]) return t(WHAT[w]);
  if (w === 'step' || w === 'step_done') return t('pb_step_done');
  if (w === 'step_undone') return t('pb_step_undone');
  if (w === 'alert_attached') return t('in_alert_attached');
  return (w || '').replace(/_/g, ' ');
}
// A step's timeline note is "STEP-ID" or "STEP-ID: note" (API §12): the step by its name in the reader's language.
function stepNote(e, steps) {
  if (!/^step_/.test(e.what || '') || !steps) return e.note;
  const m = /^([^:]+)(?::\s*([\s\S]*))?$/.exec(e.note);
  const s = m && steps.find((x) => String(x.id) === m[1]);
  return s ? `${nameOf(s.text, s.id)}${m[2] ? ` — ${m[2]}` : ''}` : e.note;
}
function catName(c) { return CATEGORIES.includes(c) ? t(`cat_${c}`) : (c || '–'); }
function zoneName(id) { const z = state.zoneById.get(id); return z ? nameOf(z.name, z.id) : (id || '–'); }

export default {
  mount(el, { params }) {
    let tab = params.get('state') === 'resolved' ? 'resolved' : 'open';
    let selectedId = params.get('id');
    let items = null;
    const listEl = h('div', { class: 'incident-list' });
    const detailEl = h('section', { class: 'incident-detail', 'aria-live': 'polite' });
    const tabs = h('div', { class: 'seg', role: 'group', 'aria-label': t('in_title') });
    // An analyst reads incidents but may not open or update them: no buttons that could only answer 403.
    const writes = can('incidents-write');
    const newBtn = writes ? h('button', { type: 'button', class: 'btn btn-primary', onclick: () => openCreate() }, `+ ${t('in_new')}`) : null;
    el.append(h('div', { class: 'page-head' }, h('h1', {}, t('in_title')), tabs, newBtn),
      h('div', { class: 'incidents-layout' }, listEl, detailEl));

    function renderTabs() {
      replace(tabs, ['open', 'resolved'].map((s) => h('button', {
        type: 'button', class: `seg-btn ${tab === s ? 'active' : ''}`, 'aria-pressed': String(tab === s),
        onclick: () => { tab = s; renderTabs(); load(); },
      }, t(s === 'open' ? 'in_open' : 'in_resolved'))));
    }

    async function load() {
      replace(listEl, loading());
      try {
        items = await listAll(`/api/v1/incidents${query({ state: tab })}`, { limit: 200, max: 500 });
      } catch (e) {
        items = null;
        replace(listEl, unavailable(e, '/api/v1/incidents', load));
        if (newBtn) newBtn.disabled = e.notAvailable;
        replace(detailEl);
        return;
      }
      if (newBtn) newBtn.disabled = false;
      items.sort((a, b) => String(b.reported_at).localeCompare(String(a.reported_at)));
      renderList();
      if (selectedId) showDetail(selectedId);
      else replace(detailEl, h('p', { class: 'empty' }, t('in_pick')));
    }

    function renderList() {
      if (!items.length) { replace(listEl, h('p', { class: 'empty' }, t('in_empty'))); return; }
      replace(listEl, h('ul', { class: 'cards' }, items.map((i) => h('li', {},
        h('button', {
          type: 'button', class: `incident-card ${String(i.id) === String(selectedId) ? 'active' : ''}`, 'data-incident': i.id,
          onclick: () => showDetail(i.id),
        },
        h('span', { class: 'ic-cat' }, catName(i.category)),
        h('span', { class: 'ic-zone' }, zoneName(i.zone)),
        h('span', { class: 'ic-when muted small' }, `${t('in_reported')} ${ago(i.reported_at)}`),
        h('span', { class: 'ic-steps', 'aria-hidden': 'true' }, STEPS.map(([k]) => h('span', { class: `step-dot ${i[k] ? 'done' : ''}` }))))))));
    }

    async function showDetail(id) {
      selectedId = id;
      history.replaceState(null, '', `/incidents${query({ state: tab === 'resolved' ? 'resolved' : '', id })}`);
      for (const b of listEl.querySelectorAll('[data-incident]')) b.classList.toggle('active', b.dataset.incident === String(id));
      let inc;
      try {
        inc = await api(`/api/v1/incidents/${encodeURIComponent(id)}`);
      } catch (e) {
        replace(detailEl, unavailable(e, `/api/v1/incidents/${id}`));
        return;
      }
      const steps = await playbookSteps(inc);
      if (String(selectedId) !== String(id)) return;
      const next = STEPS.find(([k]) => !inc[k]);
      const note = h('textarea', { id: 'incident-note', rows: 2, class: 'input', maxlength: 2000 });
      const stepForm = next && writes ? h('form', {
        class: 'step-form',
        onsubmit: async (e) => {
          e.preventDefault();
          const body = { [next[0]]: new Date().toISOString() };
          if (note.value.trim()) body.note = note.value.trim();
          try {
            await api(`/api/v1/incidents/${encodeURIComponent(id)}`, { method: 'PATCH', body });
            toast(t(next[1]));
            await load();
          } catch (ex) { toast(t('load_failed', { msg: ex.message }), 'error'); }
        },
      },
      h('label', { for: 'incident-note' }, t('in_note')), note,
      h('button', { type: 'submit', class: 'btn btn-primary' },
        t({ dispatched_at: 'in_mark_dispatched', on_scene_at: 'in_mark_on_scene', resolved_at: 'in_mark_resolved' }[next[0]]))) : null;
      replace(detailEl,
        h('h2', {}, `${catName(inc.category)} · ${zoneName(inc.zone)}`),
        h('ol', { class: 'stepper' }, STEPS.map(([k, label]) => h('li', { class: inc[k] ? 'done' : '' },
          h('span', { class: 'step-label' }, t(label)),
          h('span', { class: 'step-time' }, inc[k] ? dateTime(inc[k]) : '–')))),
        inc.alerts?.length ? h('p', {}, `${t('in_alerts')}: `, inc.alerts.map((a, n) => [n ? ', ' : '', h('a', { href: `/alerts?alert=${encodeURIComponent(a)}` }, `#${a}`)])) : null,
        stepForm,
        steps ? stepList(inc, steps, { writes: writes && inc.state !== 'resolved', onDone: () => showDetail(id) }) : null,
        h('h3', { class: 'sub-head' }, t('in_timeline')),
        inc.timeline?.length ? h('ol', { class: 'timeline' }, inc.timeline.map((e) => h('li', {},
          h('span', { class: 'tl-when' }, dateTime(e.at)),
          h('span', { class: 'tl-what' }, whatName(e.what), e.step ? `: ${stepName(steps, e.step)}` : '', e.by ? ` · ${e.by}` : ''),
          e.note ? h('p', { class: 'tl-note' }, stepNote(e, steps)) : null))) : h('p', { class: 'muted' }, t('none')));
    }

    function openCreate(prefill = {}) {
      const cat = h('select', { id: 'inc-cat', class: 'input', required: true }, CATEGORIES.map((c) => h('option', { value: c, selected: prefill.category === c }, catName(c))));
      const zone = h('select', { id: 'inc-zone', class: 'input', required: true }, state.zones.map((z) => h('option', { value: z.id, selected: prefill.zone === z.id }, nameOf(z.name, z.id))));
      const note = h('textarea', { id: 'inc-note', class: 'input', rows: 3 });
      const err = h('p', { class: 'form-error', role: 'alert', hidden: true });
      const form = h('form', { class: 'dialog-form', method: 'dialog' },
        h('h2', { class: 'dialog-title' }, t('in_new')),
        h('label', { for: 'inc-cat' }, t('in_category')), cat,
        h('label', { for: 'inc-zone' }, t('in_zone')), zone,
        prefill.alert ? h('p', { class: 'muted' }, `${t('in_alerts')}: #${prefill.alert}`) : null,
        h('label', { for: 'inc-note' }, t('in_note')), note, err,
        h('div', { class: 'dialog-actions' },
          h('button', { type: 'button', class: 'btn', onclick: () => dlg.close() }, t('cancel')),
          h('button', { type: 'submit', class: 'btn btn-primary' }, t('in_create'))));
      const dlg = h('dialog', { class: 'dialog', 'aria-label': t('in_new') }, form);
      form.addEventListener('submit', async (e) => {
        e.preventDefault();
        const body = { category: cat.value, zone: zone.value, reported_at: new Date().toISOString() };
        if (note.value.trim()) body.note = note.value.trim();
        if (prefill.alert) body.alerts = [/^\d+$/.test(prefill.alert) ? Number(prefill.alert) : prefill.alert];
        const z = state.zoneById.get(zone.value);
        if (z?.attributes?.center) body.location = { type: 'Point', coordinates: z.attributes.center };
        try {
          const inc = await api('/api/v1/incidents', { method: 'POST', body });
          dlg.close();
          toast(t('in_created'));
          tab = 'open';
          selectedId = inc.id;
          renderTabs();
          load();
        } catch (ex) {
          err.hidden = false;
          err.textContent = t('load_failed', { msg: ex.message });
        }
      });
      dlg.addEventListener('close', () => dlg.remove());
      document.body.append(dlg);
      dlg.showModal();
      cat.focus();
    }

    renderTabs();
    load();
    const onRegistry = () => { if (items) { renderList(); if (selectedId) showDetail(selectedId); } };
    if (params.get('new') && writes) {
      const cats = { disaster: 'flood', welfare: 'welfare', mobility: 'traffic', environment: 'environment' };
      const a = state.alerts.get(params.get('alert')) || [...state.alerts.values()].find((x) => String(x.id) === params.get('alert'));
      openCreate({ zone: params.get('zone'), alert: params.get('alert'), category: a ? cats[a.domain] : undefined });
    }
    return { update(c) { if (c.registry) onRegistry(); } };
  },
};
