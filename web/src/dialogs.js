// The note dialog for acknowledging and resolving alerts (a modal <dialog>: focus stays inside, Esc closes),
// and the break-the-glass dialog of a critical welfare alert.
import { h, toast, announce } from './dom.js';
import { t, nameOf, shortName } from './i18n.js';
import { api, ApiError } from './api.js';
import { applyAlert, state } from './store.js';
import { withUnit } from './format.js';
import { purposeDialog } from './purpose.js';

// The alert's title in the reader's language: its own `title` ({ko, en}, API §12) when it has one, else
// its rule's name.
export function alertTitle(a) {
  if (a.title && (typeof a.title === 'string' || a.title.ko || a.title.en)) return nameOf(a.title);
  return nameOf(a.rule_name, a.rule || a.kind || `#${a.id}`);
}

// Its text in the reader's language (`text`, API §12), else the server's message (a formula such as
// "level 3.12 >= 3 for 2m"), else ''.
export function alertText(a) {
  if (a.text && (typeof a.text === 'string' || a.text.ko || a.text.en)) return nameOf(a.text);
  return a.message || '';
}

function unitOf(a) {
  const s = state.sensors.get(a.sensor);
  return s?.metrics?.find((m) => m.name === a.metric)?.unit;
}

// The reading that opened the alert and the latest one of its metric (API §12 `value_at_open`,
// `current_value`), formatted in the reader's language with the unit; '' for what is unknown.
export function alertValues(a) {
  const unit = unitOf(a);
  const open = a.value_at_open ?? a.value;
  const cur = a.current_value ?? null;
  return {
    open: open === null || open === undefined ? '' : withUnit(open, unit),
    current: cur === null || cur === undefined ? '' : withUnit(cur, unit),
  };
}

export function alertWhere(a) {
  const zone = state.zoneById.get(a.zone);
  const parts = [];
  if (zone) parts.push(shortName(zone.name, zone.id)); else if (a.zone) parts.push(a.zone);
  if (a.sensor) parts.push(a.sensor);
  return parts.join(' · ');
}

// The value to show in one place: the current one when the server gives it, else the one at opening.
export function alertValue(a) {
  const v = alertValues(a);
  return v.current || v.open;
}

// action: 'ack' | 'resolve'. Resolves to the updated alert, or null when cancelled.
export function noteDialog(alert, action) {
  return new Promise((resolve) => {
    const title = action === 'ack' ? t('al_ack_title') : t('al_resolve_title');
    const note = h('textarea', { name: 'note', id: 'alert-note', rows: 3, maxlength: 2000, 'aria-describedby': 'alert-note-hint' });
    const err = h('p', { class: 'form-error', role: 'alert', hidden: true });
    const submit = h('button', { type: 'submit', class: `btn ${action === 'ack' ? 'btn-primary' : 'btn-ok'}`, 'data-action': `confirm-${action}` },
      action === 'ack' ? t('al_ack') : t('al_resolve'));
    const form = h('form', { method: 'dialog', class: 'dialog-form' },
      h('h2', { class: 'dialog-title' }, title),
      h('div', { class: `dialog-alert sev-${alert.severity}` },
        h('span', { class: `sev-badge sev-${alert.severity}` }, t(`sev_${alert.severity}`)),
        h('strong', {}, alertTitle(alert)),
        h('span', { class: 'muted' }, alertWhere(alert)),
        alertValue(alert) ? h('span', { class: 'mono' }, alertValue(alert)) : null),
      h('label', { for: 'alert-note' }, t('al_note')),
      note,
      h('p', { id: 'alert-note-hint', class: 'hint' }, t('al_note_hint')),
      err,
      h('div', { class: 'dialog-actions' },
        h('button', { type: 'button', class: 'btn', onclick: () => dlg.close('cancel') }, t('cancel')),
        submit));
    const dlg = h('dialog', { class: 'dialog', 'aria-label': title }, form);
    let result = null;
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      submit.disabled = true;
      err.hidden = true;
      try {
        const body = note.value.trim() ? { note: note.value.trim() } : {};
        result = await api(`/api/v1/alerts/${encodeURIComponent(alert.id)}/${action}`, { method: 'POST', body });
        applyAlert(result);
        const msg = action === 'ack' ? t('al_done_ack') : t('al_done_resolve');
        toast(msg);
        announce(msg);
        dlg.close('done');
      } catch (ex) {
        submit.disabled = false;
        err.hidden = false;
        err.textContent = ex instanceof ApiError && ex.status === 409 ? t('al_conflict') : t('load_failed', { msg: ex.message });
        if (ex instanceof ApiError && ex.status === 409) {
          api(`/api/v1/alerts/${encodeURIComponent(alert.id)}`).then(applyAlert).catch(() => {});
        }
      }
    });
    dlg.addEventListener('close', () => { dlg.remove(); resolve(result); });
    document.body.append(dlg);
    dlg.showModal();
    note.focus();
  });
}

// Break the glass on an open critical welfare alert (API §8): the reason is asked first and recorded with
// the access; the household's address and contacts are then shown once, in a dialog, and kept nowhere
// (closing it removes them from the page). Resolves when the dialog is closed.
export function canReveal(a) {
  return !!a && a.domain === 'welfare' && a.severity === 'critical' && a.state !== 'resolved';
}

export async function revealDialog(alert) {
  const data = await purposeDialog({
    id: 'reveal', title: t('al_reveal_title'), lead: t('al_reveal_lead'), label: t('al_reveal_reason'), hint: t('al_reveal_hint'),
    submit: t('al_reveal_submit'), danger: true,
    run: (reason) => api(`/api/v1/alerts/${encodeURIComponent(alert.id)}/reveal`, { method: 'POST', body: { reason } }),
  });
  if (!data) return;
  await new Promise((resolve) => {
    const tel = (p) => (p ? h('a', { href: `tel:${String(p).replace(/[^\d+]/g, '')}` }, p) : '–');
    const guardians = data.guardians || [];
    const dlg = h('dialog', { class: 'dialog', 'aria-labelledby': 'reveal-result-title', 'aria-describedby': 'reveal-once', id: 'reveal-result' },
      h('div', { class: 'dialog-form' },
        h('h2', { class: 'dialog-title', id: 'reveal-result-title' }, t('al_reveal_result', { hh: data.household || '' })),
        h('p', { class: 'form-notice warn', id: 'reveal-once' }, t('al_reveal_once')),
        h('dl', { class: 'sp-facts' },
          h('dt', {}, t('wf_name')), h('dd', { 'data-id': 'name' }, data.name || '–'),
          h('dt', {}, t('wf_address')), h('dd', { 'data-id': 'address' }, data.address || '–'),
          h('dt', {}, t('wf_phone')), h('dd', { 'data-id': 'phone' }, tel(data.phone)),
          h('dt', {}, t('wf_care_worker')), h('dd', {}, data.care_worker || '–')),
        h('h3', { class: 'sub-head' }, t('wf_guardians')),
        guardians.length ? h('ul', { class: 'guardians' }, guardians.map((g) => h('li', {},
          h('strong', {}, g.name), g.relation ? ` (${g.relation})` : '', ' · ', tel(g.phone)))) : h('p', { class: 'muted' }, t('none')),
        h('div', { class: 'dialog-actions' }, h('button', { type: 'button', class: 'btn btn-primary', onclick: () => dlg.close() }, t('close')))));
    dlg.addEventListener('close', () => { dlg.remove(); resolve(); });
    document.body.append(dlg);
    dlg.showModal();
    dlg.querySelector('#reveal-result-title').setAttribute('tabindex', '-1');
    dlg.querySelector('#reveal-result-title').focus();
  });
}
