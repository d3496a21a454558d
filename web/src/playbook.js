// Playbooks (API §12): the steps an incident of a category calls for, who did each and when, and ticking one
// (POST /api/v1/incidents/{id}/steps/{step} {"done":true,"note"}), kept in the incident's timeline.
import { h, toast, announce } from './dom.js';
import { t, nameOf } from './i18n.js';
import { api } from './api.js';
import { dateTime } from './format.js';
import './strings-ops.js';

const playbooks = new Map(); // category → steps | null (none), for incidents that do not list their steps

// The incident's steps: its own `steps` when the server lists them, else its category's playbook with
// what the timeline says was done. Resolves to [{id, text, role, done, done_at, done_by, note}] or null.
export async function playbookSteps(inc) {
  if (Array.isArray(inc.steps)) return inc.steps.map(normalize);
  if (!playbooks.has(inc.category)) {
    try {
      const pb = await api(`/api/v1/playbooks/${encodeURIComponent(inc.category)}`);
      playbooks.set(inc.category, Array.isArray(pb?.steps) ? pb.steps : null);
    } catch {
      playbooks.set(inc.category, null);
    }
  }
  const steps = playbooks.get(inc.category);
  if (!steps) return null;
  const doneBy = new Map();
  for (const e of inc.timeline || []) if (e.step) doneBy.set(String(e.step), e);
  return steps.map((s) => {
    const e = doneBy.get(String(s.id));
    return normalize({ ...s, done: !!e, done_at: e?.at, done_by: e?.by, note: e?.note });
  });
}

function normalize(s) {
  return {
    id: s.id, text: s.text, role: s.role || null,
    done: !!(s.done || s.done_at), done_at: s.done_at || s.at || null, done_by: s.done_by || s.by || null, note: s.note || null,
  };
}

export function stepName(steps, id) {
  const s = (steps || []).find((x) => String(x.id) === String(id));
  return s ? nameOf(s.text, s.id) : String(id);
}

// The checklist: each step with its role, who did it and when; an open incident's pending step can be ticked
// with an optional note.
export function stepList(inc, steps, { writes, onDone }) {
  const done = steps.filter((s) => s.done).length;
  return h('section', { class: 'playbook', id: 'playbook', 'aria-labelledby': 'playbook-title' },
    h('h3', { class: 'sub-head', id: 'playbook-title' }, t('pb_title'), ' ', h('span', { class: 'muted small' }, t('pb_progress', { d: done, n: steps.length }))),
    h('ol', { class: 'pb-steps' }, steps.map((s) => h('li', { class: `pb-step ${s.done ? 'done' : ''}`, 'data-step': s.id, 'data-done': String(s.done) },
      h('span', { class: 'pb-mark', 'aria-hidden': 'true' }, s.done ? '✓' : '○'),
      h('div', { class: 'pb-body' },
        h('span', { class: 'pb-text' }, nameOf(s.text, s.id)),
        s.role ? h('span', { class: 'pb-role muted small' }, ` · ${t(`role_${s.role}`) === `role_${s.role}` ? s.role : t(`role_${s.role}`)}`) : null,
        s.done ? h('div', { class: 'pb-who muted small' }, t('pb_done_by', { who: s.done_by || '–', at: dateTime(s.done_at) }), s.note ? ` — ${s.note}` : '')
          : h('span', { class: 'sr-only' }, ` (${t('pb_pending')})`)),
      !s.done && writes ? h('button', {
        type: 'button', class: 'btn btn-small', 'data-action': 'tick',
        'aria-label': `${t('pb_tick')}: ${nameOf(s.text, s.id)}`,
        onclick: () => tickDialog(inc, s).then((ok) => { if (ok) onDone(); }),
      }, t('pb_tick')) : null))));
}

function tickDialog(inc, step) {
  return new Promise((resolve) => {
    const note = h('textarea', { name: 'note', id: 'step-note', rows: 3, maxlength: 2000 });
    const err = h('p', { class: 'form-error', role: 'alert', hidden: true });
    const submit = h('button', { type: 'submit', class: 'btn btn-primary', 'data-action': 'confirm-tick' }, t('pb_tick'));
    const form = h('form', { method: 'dialog', class: 'dialog-form' },
      h('h2', { class: 'dialog-title', id: 'tick-title' }, t('pb_tick_title')),
      h('p', {}, h('strong', {}, nameOf(step.text, step.id))),
      h('label', { for: 'step-note' }, t('al_note')), note, err,
      h('div', { class: 'dialog-actions' },
        h('button', { type: 'button', class: 'btn', onclick: () => dlg.close() }, t('cancel')), submit));
    const dlg = h('dialog', { class: 'dialog', 'aria-labelledby': 'tick-title', id: 'tick-dialog' }, form);
    let ok = false;
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      submit.disabled = true;
      try {
        const body = { done: true };
        if (note.value.trim()) body.note = note.value.trim();
        await api(`/api/v1/incidents/${encodeURIComponent(inc.id)}/steps/${encodeURIComponent(step.id)}`, { method: 'POST', body });
        ok = true;
        const msg = t('pb_ticked');
        toast(msg);
        announce(msg);
        dlg.close();
      } catch (ex) {
        submit.disabled = false;
        err.hidden = false;
        err.textContent = t('load_failed', { msg: ex.message });
      }
    });
    dlg.addEventListener('close', () => { dlg.remove(); resolve(ok); });
    document.body.append(dlg);
    dlg.showModal();
    note.focus();
  });
}
