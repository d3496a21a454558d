// The operator's shift (API §12): an alert's state with its escalation, acknowledging a selection at once,
// assigning alerts to people.
import { h, toast, announce } from './dom.js';
import { t } from './i18n.js';
import { api, ApiError } from './api.js';
import { applyAlert, loadAlerts } from './store.js';
import { alertTitle, alertWhere } from './dialogs.js';
import './strings-ops.js';

// "Open", "Escalated" (open, past its escalation: never plain "Open"), "Acknowledged", "Resolved".
export function alertStateBadge(a) {
  const st = a.state === 'open' && a.escalated_at ? 'escalated' : a.state;
  return h('span', { class: `state-badge state-${st}`, 'data-state-shown': st }, t(`state_${st}`));
}

// Acknowledges `alerts` at once with one note: POST /api/v1/alerts/ack {"ids","note"}; against a server
// without it (404/405), one POST /api/v1/alerts/{id}/ack each. Resolves true when done, false when cancelled.
export function bulkAckDialog(alerts) {
  return new Promise((resolve) => {
    const title = t('al_bulk_title', { n: alerts.length });
    const note = h('textarea', { name: 'note', id: 'bulk-note', rows: 3, maxlength: 2000, 'aria-describedby': 'bulk-note-hint' });
    const err = h('p', { class: 'form-error', role: 'alert', hidden: true });
    const submit = h('button', { type: 'submit', class: 'btn btn-primary', 'data-action': 'confirm-bulk-ack' }, t('al_bulk_confirm', { n: alerts.length }));
    const form = h('form', { method: 'dialog', class: 'dialog-form' },
      h('h2', { class: 'dialog-title', id: 'bulk-title' }, title),
      h('ul', { class: 'bulk-list' }, alerts.map((a) => h('li', {},
        h('span', { class: `sev-badge sev-${a.severity}` }, t(`sev_${a.severity}`)), ' ',
        h('strong', {}, alertTitle(a)), ' ', h('span', { class: 'muted' }, alertWhere(a))))),
      h('label', { for: 'bulk-note' }, t('al_note')),
      note,
      h('p', { id: 'bulk-note-hint', class: 'hint' }, t('al_note_hint')),
      err,
      h('div', { class: 'dialog-actions' },
        h('button', { type: 'button', class: 'btn', onclick: () => dlg.close('cancel') }, t('cancel')),
        submit));
    const dlg = h('dialog', { class: 'dialog', 'aria-labelledby': 'bulk-title', id: 'bulk-dialog' }, form);
    let done = false;
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      submit.disabled = true;
      err.hidden = true;
      const ids = alerts.map((a) => a.id);
      const text = note.value.trim();
      try {
        let res;
        try {
          res = await api('/api/v1/alerts/ack', { method: 'POST', body: text ? { ids, note: text } : { ids } });
        } catch (ex) {
          if (!(ex instanceof ApiError && (ex.status === 404 || ex.status === 405))) throw ex;
          res = { items: [] };
          for (const id of ids) res.items.push(await api(`/api/v1/alerts/${encodeURIComponent(id)}/ack`, { method: 'POST', body: text ? { note: text } : {} }));
        }
        // {"items":[{"id","outcome","alert"}],"acknowledged":N}: each alert as it is now (one already
        // acknowledged, resolved or out of reach says so in its outcome)
        const items = Array.isArray(res?.items) ? res.items : [];
        for (const it of items) { const a = it && typeof it === 'object' && 'alert' in it ? it.alert : it; if (a && a.state) applyAlert(a); }
        if (!items.length) await loadAlerts();
        const n = typeof res?.acknowledged === 'number' ? res.acknowledged : ids.length;
        const msg = t('al_bulk_done', { n });
        toast(msg);
        announce(msg);
        done = true;
        dlg.close('done');
      } catch (ex) {
        submit.disabled = false;
        err.hidden = false;
        err.textContent = ex instanceof ApiError && ex.status === 409 ? t('al_conflict') : t('load_failed', { msg: ex.message });
        loadAlerts();
      }
    });
    dlg.addEventListener('close', () => { dlg.remove(); resolve(done); });
    document.body.append(dlg);
    dlg.showModal();
    note.focus();
  });
}

// Assigns an alert to a username, or to nobody (null). Resolves to the alert as the server has it, or null
// after saying why not.
export async function assignTo(alert, to) {
  try {
    const res = await api(`/api/v1/alerts/${encodeURIComponent(alert.id)}/assign`, { method: 'POST', body: { to } });
    const a = res && typeof res === 'object' && res.id !== undefined ? res : { ...alert, assignee: to };
    applyAlert(a);
    const msg = to ? t('al_assigned', { n: to }) : t('al_unassigned_done');
    toast(msg);
    announce(msg);
    return a;
  } catch (ex) {
    const msg = ex instanceof ApiError && ex.status === 422 ? t('al_assign_unknown', { n: to || '' })
      : ex instanceof ApiError && ex.notAvailable ? t('not_available') : t('load_failed', { msg: ex.message });
    toast(msg, 'error');
    announce(msg, true);
    return null;
  }
}
