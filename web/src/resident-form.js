// The forms of a resident (API §9, ResidentInput): registering one, with identity, guardians, care and
// consent, and the consent fields the card reuses for a renewed consent. The server's 422 problems are
// shown at the field their pointer names (/consent/purpose, /guardians/0/phone, …).
import { h, replace } from './dom.js';
import { t } from './i18n.js';
import { api, query } from './api.js';
import { isoDay, cityDayStart } from './format.js';
import { field, showProblem, clearProblems } from './forms.js';
import { RISKS, zoneName } from './welfare-parts.js';

const MAX_GUARDIANS = 10;

// Purpose, basis, granted and expiry dates, and "the signed consent is in hand". `fields` is keyed by the
// problems' pointers; `value()` is the API's consent object (dates at the start of the city's day).
export function consentFields(prefix, { purpose, basis } = {}) {
  const today = isoDay(new Date());
  const inAYear = isoDay(new Date(Date.now() + 365 * 86400e3));
  const p = field(`${prefix}-consent-purpose`, t('wf_consent_purpose'), h('input', { type: 'text', class: 'input', maxlength: 500, required: true, value: purpose ?? t('wf_consent_purpose_default') }));
  const b = field(`${prefix}-consent-basis`, t('wf_consent_basis'), h('input', { type: 'text', class: 'input', maxlength: 200, required: true, value: basis ?? t('wf_consent_basis_default') }));
  const g = field(`${prefix}-consent-granted`, t('wf_consent_granted'), h('input', { type: 'date', class: 'input', required: true, value: today }));
  const x = field(`${prefix}-consent-expires`, t('wf_consent_expires'), h('input', { type: 'date', class: 'input', value: inAYear }), t('wf_consent_expires_hint'));
  const givenErr = h('p', { class: 'field-error', id: `${prefix}-consent-given-err`, hidden: true });
  const given = h('input', { type: 'checkbox', id: `${prefix}-consent-given`, name: 'consent_given', required: true, 'aria-describedby': `${prefix}-consent-given-err` });
  const givenWrap = h('div', { class: 'field' }, h('label', { class: 'check', for: `${prefix}-consent-given` }, given, t('wf_consent_given')), givenErr);
  return {
    wraps: [p.wrap, b.wrap, h('div', { class: 'field-row' }, g.wrap, x.wrap), givenWrap],
    fields: { 'consent/purpose': p, 'consent/basis': b, 'consent/granted_at': g, 'consent/expires_at': x, consent: { input: given, err: givenErr } },
    given: () => given.checked,
    // Says that the signed consent must be in hand first (nothing is sent without it).
    refuse() {
      givenErr.hidden = false;
      givenErr.textContent = t('wf_consent_given_needed');
      given.setAttribute('aria-invalid', 'true');
      given.focus();
    },
    value: () => ({
      purpose: p.input.value.trim(), basis: b.input.value.trim(),
      granted_at: g.input.value ? cityDayStart(g.input.value) : '',
      expires_at: x.input.value ? cityDayStart(x.input.value) : null,
    }),
  };
}

// One guardian's fields in a fieldset of its own; `onRemove(row)` takes it out of the list.
function guardianRow(i, onRemove) {
  const name = field(`rr-g${i}-name`, t('wf_guardian_name'), h('input', { type: 'text', class: 'input', maxlength: 200, autocomplete: 'off' }));
  const phone = field(`rr-g${i}-phone`, t('wf_guardian_phone'), h('input', { type: 'tel', class: 'input', maxlength: 40, autocomplete: 'off' }));
  const relation = field(`rr-g${i}-relation`, t('wf_guardian_relation'), h('input', { type: 'text', class: 'input', maxlength: 100, autocomplete: 'off' }));
  const row = { name, phone, relation };
  const remove = h('button', {
    type: 'button', class: 'btn btn-small', 'aria-label': t('wf_guardian_remove_n', { n: i + 1 }), onclick: () => onRemove(row),
  }, t('wf_guardian_remove'));
  row.el = h('fieldset', { class: 'guardian-row', 'data-guardian': i },
    h('legend', {}, t('wf_guardian_n', { n: i + 1 })), name.wrap, phone.wrap, relation.wrap, remove);
  row.empty = () => ![name, phone, relation].some((f) => f.input.value.trim());
  return row;
}

// The registration dialog. `zones`: the zone ids offered, `zone` the one chosen first. Resolves to the
// server's answer (the card, identity included: the caller keeps only its summary), or null when cancelled.
export function registerDialog({ zones, zone }) {
  return new Promise((resolve) => {
    let result = null;
    const name = field('rr-name', t('wf_name'), h('input', { type: 'text', class: 'input', maxlength: 200, required: true, autocomplete: 'off' }));
    const birth = field('rr-birth-year', t('wf_birth_year'), h('input', { type: 'number', class: 'input', min: 1900, max: 2100, step: 1, inputmode: 'numeric' }));
    const phone = field('rr-phone', t('wf_phone'), h('input', { type: 'tel', class: 'input', maxlength: 40, autocomplete: 'off' }), t('wf_phone_hint'));
    const address = field('rr-address', t('wf_address'), h('input', { type: 'text', class: 'input', maxlength: 500, autocomplete: 'off' }));
    const zoneSel = field('rr-zone', t('wf_zone'), h('select', { class: 'input', required: true },
      zones.map((id) => h('option', { value: id, selected: id === zone }, zoneName(id)))));
    const worker = field('rr-care-worker', t('wf_care_worker'), h('input', { type: 'text', class: 'input', maxlength: 64, autocomplete: 'off', spellcheck: 'false' }), t('wf_care_worker_hint'));
    const risk = field('rr-risk', t('wf_risk'), h('select', { class: 'input' }, RISKS.map((x) => h('option', { value: x, selected: x === 'medium' }, t(`wf_risk_${x}`)))));
    const notes = field('rr-notes', t('wf_notes'), h('textarea', { class: 'input', rows: 2, maxlength: 4000 }), t('wf_notes_hint'));
    const consent = consentFields('rr');
    const err = h('p', { class: 'form-error', role: 'alert', hidden: true, id: 'rr-error' });

    const guardians = [];
    let nextGuardian = 0;
    const gList = h('div', { class: 'guardian-list' });
    const addBtn = h('button', { type: 'button', class: 'btn btn-small', id: 'rr-guardian-add' }, `+ ${t('wf_guardian_add')}`);
    const addGuardian = () => {
      if (guardians.length >= MAX_GUARDIANS) return null;
      const row = guardianRow(nextGuardian++, (r) => {
        guardians.splice(guardians.indexOf(r), 1);
        r.el.remove();
        addBtn.disabled = false;
        addBtn.focus();
      });
      guardians.push(row);
      gList.append(row.el);
      addBtn.disabled = guardians.length >= MAX_GUARDIANS;
      return row;
    };
    addBtn.addEventListener('click', () => addGuardian()?.name.input.focus());
    addGuardian();

    const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, t('wf_register_submit'));
    const form = h('form', { class: 'dialog-form user-form', method: 'dialog', id: 'resident-create', novalidate: true },
      h('h2', { class: 'dialog-title', id: 'rr-title' }, t('wf_register')),
      h('p', { class: 'hint', id: 'rr-lead' }, t('wf_register_lead')),
      h('fieldset', { class: 'check-group' }, h('legend', {}, t('wf_identity_fields')),
        name.wrap, h('div', { class: 'field-row' }, birth.wrap, phone.wrap), address.wrap, notes.wrap),
      h('fieldset', { class: 'check-group' }, h('legend', {}, t('wf_guardians')), gList, addBtn),
      h('fieldset', { class: 'check-group' }, h('legend', {}, t('wf_care')),
        h('div', { class: 'field-row' }, zoneSel.wrap, risk.wrap), worker.wrap),
      h('fieldset', { class: 'check-group' }, h('legend', {}, t('wf_consent')), consent.wraps),
      err,
      h('div', { class: 'dialog-actions' },
        h('button', { type: 'button', class: 'btn', onclick: () => dlg.close() }, t('cancel')), submit));
    const dlg = h('dialog', { class: 'dialog dialog-wide', 'aria-labelledby': 'rr-title', 'aria-describedby': 'rr-lead' }, form);

    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      // guardians left empty are not sent; the others' fields go by their index in the body
      const given = guardians.filter((g) => !g.empty());
      const fields = { name, birth_year: birth, phone, address, zone: zoneSel, care_worker: worker, risk_level: risk, notes, ...consent.fields };
      given.forEach((g, i) => Object.assign(fields, { [`guardians/${i}/name`]: g.name, [`guardians/${i}/phone`]: g.phone, [`guardians/${i}/relation`]: g.relation, [`guardians/${i}`]: g.name }));
      for (const g of guardians) clearProblems({ name: g.name, phone: g.phone, relation: g.relation }, err);
      clearProblems(fields, err);
      if (!consent.given()) { consent.refuse(); return; }
      const body = { name: name.input.value.trim(), zone: zoneSel.input.value, risk_level: risk.input.value, consent: consent.value() };
      const opt = (k, v) => { if (v !== '') body[k] = v; };
      opt('birth_year', birth.input.value.trim() === '' ? '' : Number(birth.input.value));
      opt('phone', phone.input.value.trim());
      opt('address', address.input.value.trim());
      opt('care_worker', worker.input.value.trim());
      opt('notes', notes.input.value.trim());
      if (given.length) {
        body.guardians = given.map((g) => {
          const out = { name: g.name.input.value.trim(), phone: g.phone.input.value.trim() };
          if (g.relation.input.value.trim()) out.relation = g.relation.input.value.trim();
          return out;
        });
      }
      submit.disabled = true;
      try {
        result = await api(`/api/v1/residents${query({ purpose: t('wf_purpose_register') })}`, { method: 'POST', body });
        dlg.close();
      } catch (ex) {
        showProblem(ex, fields, err);
      } finally {
        submit.disabled = false;
      }
    });
    // What was typed leaves the page with the dialog.
    dlg.addEventListener('close', () => { replace(form); dlg.remove(); resolve(result); });
    document.body.append(dlg);
    dlg.showModal();
    name.input.focus();
  });
}
