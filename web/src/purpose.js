// The dialog that asks why personal data is opened (API §9: every read of a resident's identity, every
// export, erasure and break-the-glass is recorded with its purpose). Nothing is asked of the server until
// a purpose is given; the answer is handed to the caller and kept nowhere here.
import { h } from './dom.js';
import { t } from './i18n.js';
import { ApiError } from './api.js';

export const PURPOSE_MIN_BYTES = 5; // as the server asks of a break-the-glass reason
export const PURPOSE_MAX_BYTES = 500;

function bytes(s) { return new TextEncoder().encode(s).length; }

// purposeDialog({id, title, lead, label, hint, submit, danger, suggestions, confirmText, confirmLabel, run})
// → a promise of what `run(purpose)` resolved to, or null when cancelled. `run` is called only with a
// purpose of 5-500 bytes (and, with `confirmText`, once that text was typed again); its failure is shown in
// the dialog, which stays open.
export function purposeDialog(opts) {
  const id = opts.id || 'purpose';
  return new Promise((resolve) => {
    let result = null;
    const listId = `${id}-suggestions`;
    const input = h('input', {
      type: 'text', class: 'input', name: 'purpose', id: `${id}-input`, required: true, autocomplete: 'off',
      maxlength: PURPOSE_MAX_BYTES, list: opts.suggestions?.length ? listId : null,
      'aria-describedby': `${id}-hint ${id}-err`,
    });
    const fieldErr = h('p', { class: 'field-error', id: `${id}-err`, hidden: true });
    let confirm = null;
    let confirmErr = null;
    if (opts.confirmText) {
      confirmErr = h('p', { class: 'field-error', id: `${id}-confirm-err`, hidden: true });
      confirm = h('input', {
        type: 'text', class: 'input mono', name: 'confirm', id: `${id}-confirm`, required: true, autocomplete: 'off',
        spellcheck: 'false', autocapitalize: 'none', 'aria-describedby': `${id}-confirm-err`,
      });
    }
    const err = h('p', { class: 'form-error', role: 'alert', id: `${id}-error`, hidden: true });
    const submit = h('button', { type: 'submit', class: `btn ${opts.danger ? 'btn-danger' : 'btn-primary'}`, 'data-action': 'confirm' }, opts.submit);
    const form = h('form', { method: 'dialog', class: 'dialog-form', id: `${id}-form`, novalidate: true },
      h('h2', { class: 'dialog-title', id: `${id}-title` }, opts.title),
      opts.lead ? h('p', { class: 'dialog-lead', id: `${id}-lead` }, opts.lead) : null,
      h('label', { for: `${id}-input` }, opts.label || t('pp_purpose')),
      input,
      opts.suggestions?.length ? h('datalist', { id: listId }, opts.suggestions.map((s) => h('option', { value: s }))) : null,
      h('p', { class: 'hint', id: `${id}-hint` }, opts.hint || t('pp_hint')),
      fieldErr,
      confirm ? [h('label', { for: `${id}-confirm` }, opts.confirmLabel), confirm, confirmErr] : null,
      err,
      h('div', { class: 'dialog-actions' },
        h('button', { type: 'button', class: 'btn', onclick: () => dlg.close() }, t('cancel')), submit));
    const dlg = h('dialog', { class: 'dialog', 'aria-labelledby': `${id}-title`, 'aria-describedby': opts.lead ? `${id}-lead` : null }, form);

    function fieldProblem(el, errEl, text) {
      errEl.hidden = !text;
      errEl.textContent = text || '';
      if (text) el.setAttribute('aria-invalid', 'true'); else el.removeAttribute('aria-invalid');
    }

    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      err.hidden = true;
      const purpose = input.value.trim();
      const n = bytes(purpose);
      fieldProblem(input, fieldErr, n < PURPOSE_MIN_BYTES ? t('pp_too_short') : n > PURPOSE_MAX_BYTES ? t('pp_too_long') : '');
      let bad = !fieldErr.hidden ? input : null;
      if (confirm) {
        const same = confirm.value.trim() === opts.confirmText;
        fieldProblem(confirm, confirmErr, same ? '' : t('pp_confirm_mismatch'));
        if (!same && !bad) bad = confirm;
      }
      if (bad) { bad.focus(); return; }
      submit.disabled = true;
      try {
        result = await opts.run(purpose);
        dlg.close();
      } catch (ex) {
        submit.disabled = false;
        err.hidden = false;
        const detail = ex instanceof ApiError ? (ex.problem?.errors?.map((x) => x.detail).join(' ') || ex.problem?.detail || ex.message) : ex.message;
        err.textContent = ex instanceof ApiError && ex.status === 403 ? t('pp_refused', { msg: detail }) : t('load_failed', { msg: detail });
      }
    });
    dlg.addEventListener('close', () => { dlg.remove(); resolve(result); });
    document.body.append(dlg);
    dlg.showModal();
    input.focus();
  });
}
