// Form pieces shared by the admin and welfare screens: a labelled field with its hint and error, the
// server's 422 problems shown next to the field their `pointer` names, and a modal confirmation.
import { h } from './dom.js';
import { t } from './i18n.js';
import { ApiError } from './api.js';

// A labelled field with a hint and a place for its error; `input` gets aria-describedby and aria-invalid.
export function field(id, label, input, hint) {
  const err = h('p', { class: 'field-error', id: `${id}-err`, hidden: true });
  const hintEl = hint ? h('p', { class: 'hint', id: `${id}-hint` }, hint) : null;
  input.id = id;
  input.setAttribute('aria-describedby', [hintEl ? `${id}-hint` : '', `${id}-err`].filter(Boolean).join(' '));
  const wrap = h('div', { class: 'field', 'data-field': id }, h('label', { for: id }, label), input, hintEl, err);
  return { wrap, input, err };
}

// The field a problem's pointer names: `fields` is keyed by the pointer without its leading slash
// ("consent/purpose", "guardians/0/phone") or by any of its leading segments ("consent", "username").
function fieldOf(fields, pointer) {
  const parts = (pointer || '').split('/').slice(1);
  for (let n = parts.length; n > 0; n--) {
    const f = fields[parts.slice(0, n).join('/')];
    if (f) return f;
  }
  return null;
}

// Shows a problem's errors next to their fields (see fieldOf); the rest, and the detail when no field
// matched, in `summary`. `opts.conflict`: {field, text} said for a 409 (a name that is taken); `opts.fix`:
// the summary when every error sits at its field. Returns the first field with an error (focused).
export function showProblem(ex, fields, summary, opts = {}) {
  clearProblems(fields, summary);
  let first = null;
  const rest = [];
  const problems = ex instanceof ApiError ? [...(ex.problem?.errors || [])] : [];
  const conflict = ex instanceof ApiError && ex.status === 409 ? opts.conflict : null;
  if (conflict?.field && fields[conflict.field]) problems.push({ pointer: `/${conflict.field}`, detail: conflict.text });
  for (const e of problems) {
    const f = fieldOf(fields, e.pointer);
    if (!f) { rest.push(e.detail); continue; }
    f.err.hidden = false;
    f.err.textContent = f.err.textContent ? `${f.err.textContent} ${e.detail}` : e.detail;
    f.input?.setAttribute('aria-invalid', 'true');
    if (!first) first = f;
  }
  summary.hidden = false;
  if (first && !rest.length) summary.textContent = opts.fix || t('form_fix');
  else summary.textContent = rest.length ? rest.join(' ') : conflict ? conflict.text : t('load_failed', { msg: ex.message });
  if (first?.input) first.input.focus();
  return first;
}

export function clearProblems(fields, summary) {
  for (const f of Object.values(fields)) { f.err.hidden = true; f.err.textContent = ''; f.input?.removeAttribute('aria-invalid'); }
  summary.hidden = true;
}

// A modal confirmation; resolves true when confirmed. Cancel has the focus first: a destructive step takes
// a deliberate second one.
export function confirmDialog(title, text, confirmLabel) {
  return new Promise((resolve) => {
    let ok = false;
    const yes = h('button', { type: 'submit', class: 'btn btn-danger', 'data-action': 'confirm' }, confirmLabel);
    const form = h('form', { method: 'dialog', class: 'dialog-form' },
      h('h2', { class: 'dialog-title', id: 'confirm-title' }, title),
      h('p', { id: 'confirm-text' }, text),
      h('div', { class: 'dialog-actions' },
        h('button', { type: 'button', class: 'btn', onclick: () => dlg.close() }, t('cancel')), yes));
    const dlg = h('dialog', { class: 'dialog', 'aria-labelledby': 'confirm-title', 'aria-describedby': 'confirm-text' }, form);
    form.addEventListener('submit', (e) => { e.preventDefault(); ok = true; dlg.close(); });
    dlg.addEventListener('close', () => { dlg.remove(); resolve(ok); });
    document.body.append(dlg);
    dlg.showModal();
    form.querySelector('button').focus();
  });
}
