// Users (admins only): the accounts, a new account, role and scope changes, disable/enable, a new password,
// deletion, and each account's record of grants and changes (GET /api/v1/users/{username}/changes).
// The server's 422 problems are shown next to the field their `pointer` names.
import { h, replace, toast, announce } from '../dom.js';
import { t, nameOf, shortName } from '../i18n.js';
import { api, listAll } from '../api.js';
import { state, DOMAINS } from '../store.js';
import { session } from '../session.js';
import { dateTime } from '../format.js';
import { unavailable, loading } from '../widgets.js';
import { field, showProblem as showFieldProblem, clearProblems, confirmDialog } from '../forms.js';

const ROLES = ['admin', 'operator', 'analyst', 'welfare_officer'];
const MIN_PASSWORD = 12;

function zoneName(id) { const z = state.zoneById.get(id); return z ? nameOf(z.name, z.id) : id; }
function zonesText(list) { return list?.length ? list.map(zoneName).join(', ') : t('us_all_zones'); }
function domainsText(list) { return list?.length ? list.map((d) => t(`dom_${d}`)).join(', ') : t('us_all_domains'); }

// A group of checkboxes in a fieldset (zones, domains); `err` for a problem pointing into the list.
function checkGroup(id, legend, options, chosen, hint) {
  const err = h('p', { class: 'field-error', id: `${id}-err`, hidden: true });
  const boxes = options.map(([value, label]) => h('label', { class: 'check' },
    h('input', { type: 'checkbox', name: id, value, checked: chosen.includes(value) }), label));
  const wrap = h('fieldset', { class: 'check-group', id, 'aria-describedby': `${id}-hint ${id}-err` },
    h('legend', {}, legend), h('div', { class: 'checks' }, boxes),
    h('p', { class: 'hint', id: `${id}-hint` }, hint), err);
  const values = () => [...wrap.querySelectorAll('input:checked')].map((i) => i.value);
  return { wrap, err, values, input: wrap.querySelector('input') };
}

// The zone checkboxes in a slot that is drawn again (keeping what is ticked, and whatever else was typed in
// the form) when the zones arrive after the form was opened. `err`, `input` and `values` follow the drawing.
function zoneGroup(id, chosen, groups) {
  const slot = h('div', { class: 'zone-slot' });
  const g = { wrap: slot, err: null, input: null, values: () => [] };
  const draw = (ticked) => {
    const inner = checkGroup(id, t('us_zones'), zoneOptions(ticked), ticked, t('us_scope_hint'));
    replace(slot, inner.wrap);
    Object.assign(g, { err: inner.err, input: inner.input, values: inner.values });
  };
  draw(chosen);
  g.refresh = () => draw(g.values());
  groups.add(g);
  return g;
}

function zoneOptions(extra = []) {
  const ids = [...state.zones.map((z) => z.id), ...extra.filter((z) => !state.zoneById.has(z))];
  return ids.map((id) => { const z = state.zoneById.get(id); return [id, z ? shortName(z.name, id) : id]; });
}

// A problem of a user form: a taken username is said at the username field.
function showProblem(ex, fields, summary) {
  return showFieldProblem(ex, fields, summary, { conflict: { field: 'username', text: t('us_exists') }, fix: t('us_fix') });
}

function changeSummary(c) {
  const show = (k, v) => {
    if (k === 'zones') return zonesText(v);
    if (k === 'domains') return domainsText(v);
    if (k === 'role') return t(`role_${v}`);
    if (k === 'disabled') return v ? t('us_disabled') : t('us_active');
    if (k === 'password') return '';
    return String(v ?? '');
  };
  const label = { display_name: 'us_display_name', role: 'us_role', zones: 'us_zones', domains: 'us_domains', disabled: 'us_state' };
  const before = c.before || {};
  const after = c.after || {};
  if (c.action === 'create') {
    return ['role', 'zones', 'domains'].filter((k) => k in after).map((k) => `${t(label[k])}: ${show(k, after[k])}`).join(' · ');
  }
  if (c.action === 'change') {
    return Object.keys(after).filter((k) => label[k]).map((k) => `${t(label[k])}: ${show(k, before[k])} → ${show(k, after[k])}`).join(' · ');
  }
  return '';
}

export default {
  mount(el, { params }) {
    let users = null;
    let selected = params.get('u');
    let destroyed = false;
    const zoneGroups = new Set(); // open forms' zone checkboxes (zoneGroup)
    const countEl = h('span', { class: 'muted small', id: 'user-count' });
    const listEl = h('div', { class: 'users-list' });
    const detailEl = h('section', { class: 'user-detail', id: 'user-detail', 'aria-labelledby': 'user-title' });
    const newBtn = h('button', { type: 'button', class: 'btn btn-primary', id: 'user-new', onclick: () => openCreate() }, `+ ${t('us_new')}`);
    el.append(h('div', { class: 'page-head' }, h('h1', {}, t('us_title')), countEl, newBtn),
      h('div', { class: 'users-layout' }, listEl, detailEl));

    async function load() {
      if (!users) replace(listEl, loading());
      try {
        users = await listAll('/api/v1/users', { limit: 1000, max: 10000 });
      } catch (e) {
        if (destroyed) return;
        users = null;
        replace(listEl, unavailable(e, '/api/v1/users', load));
        newBtn.disabled = true;
        replace(detailEl);
        return;
      }
      if (destroyed) return;
      newBtn.disabled = false;
      users.sort((a, b) => a.username.localeCompare(b.username));
      renderList();
      if (selected && users.some((u) => u.username === selected)) showDetail(selected, false);
      else { selected = null; replace(detailEl, h('p', { class: 'empty' }, t('us_pick'))); }
    }

    function renderList() {
      countEl.textContent = t('us_count', { n: users.length });
      const me = session.me?.kind === 'user' ? session.me.name : null;
      replace(listEl, h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': t('us_title') },
        h('table', { class: 'table users-table', id: 'users-table' },
          h('thead', {}, h('tr', {},
            h('th', { scope: 'col' }, t('us_username')),
            h('th', { scope: 'col' }, t('us_display_name')),
            h('th', { scope: 'col' }, t('us_role')),
            h('th', { scope: 'col' }, t('us_zones')),
            h('th', { scope: 'col' }, t('us_domains')),
            h('th', { scope: 'col' }, t('us_state')),
            h('th', { scope: 'col' }, h('span', { class: 'sr-only' }, t('us_manage'))))),
          h('tbody', {}, users.map((u) => h('tr', {
            class: `user-row ${u.username === selected ? 'active' : ''} ${u.disabled ? 'is-disabled' : ''}`,
            'data-user': u.username, 'data-role': u.role, 'data-disabled': String(u.disabled),
          },
          h('th', { scope: 'row', class: 'mono' }, u.username, u.username === me ? h('span', { class: 'you-tag' }, ` (${t('us_you')})`) : null),
          h('td', {}, u.display_name),
          h('td', {}, t(`role_${u.role}`)),
          h('td', {}, zonesText(u.zones)),
          h('td', {}, domainsText(u.domains)),
          h('td', {}, h('span', { class: `state-badge ${u.disabled ? 'state-open' : 'state-resolved'}` }, u.disabled ? t('us_disabled') : t('us_active'))),
          h('td', {}, h('button', {
            type: 'button', class: 'btn btn-small', 'data-action': 'manage',
            'aria-label': t('us_manage_label', { u: u.username }), onclick: () => showDetail(u.username, true),
          }, t('us_manage')))))))));
    }

    function replaceUser(u) {
      const i = users.findIndex((x) => x.username === u.username);
      if (i >= 0) users[i] = u; else users.push(u);
      users.sort((a, b) => a.username.localeCompare(b.username));
    }

    function showDetail(username, focus) {
      const u = users.find((x) => x.username === username);
      if (!u || destroyed) return;
      selected = username;
      history.replaceState(null, '', `/users?u=${encodeURIComponent(username)}`);
      for (const r of listEl.querySelectorAll('tr[data-user]')) r.classList.toggle('active', r.dataset.user === username);

      // ---------------------------------------------------------------- role, scope, name
      const name = field('ed-display-name', t('us_display_name'), h('input', { type: 'text', class: 'input', value: u.display_name, maxlength: 200, required: true }));
      const role = field('ed-role', t('us_role'), h('select', { class: 'input' }, ROLES.map((r) => h('option', { value: r, selected: r === u.role }, t(`role_${r}`)))));
      const zones = zoneGroup('ed-zones', u.zones, zoneGroups);
      const domains = checkGroup('ed-domains', t('us_domains'), DOMAINS.map((d) => [d, t(`dom_${d}`)]), u.domains, t('us_scope_hint'));
      const editErr = h('p', { class: 'form-error', role: 'alert', hidden: true });
      const editFields = { display_name: name, role, zones, domains };
      const editForm = h('form', { class: 'user-form', id: 'user-edit', novalidate: true },
        name.wrap, role.wrap, zones.wrap, domains.wrap, editErr,
        h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'btn btn-primary' }, t('save'))));
      editForm.addEventListener('submit', async (e) => {
        e.preventDefault();
        clearProblems(editFields, editErr);
        const body = {};
        const dn = name.input.value.trim();
        if (dn !== u.display_name) body.display_name = dn;
        if (role.input.value !== u.role) body.role = role.input.value;
        const same = (a, b) => a.length === b.length && a.every((x) => b.includes(x));
        if (!same(zones.values(), u.zones)) body.zones = zones.values();
        if (!same(domains.values(), u.domains)) body.domains = domains.values();
        if (!Object.keys(body).length) { toast(t('us_no_change')); return; }
        await patch(body, editFields, editErr, t('us_saved'));
      });

      // ---------------------------------------------------------------- password
      const pw = field('ed-password', t('us_new_password'), h('input', { type: 'password', class: 'input', autocomplete: 'new-password', minlength: MIN_PASSWORD }), t('us_password_hint'));
      const pwErr = h('p', { class: 'form-error', role: 'alert', hidden: true });
      const pwForm = h('form', { class: 'user-form inline-form', id: 'user-password', novalidate: true },
        pw.wrap, pwErr, h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'btn' }, t('us_reset_password'))));
      pwForm.addEventListener('submit', async (e) => {
        e.preventDefault();
        clearProblems({ password: pw }, pwErr);
        if (await patch({ password: pw.input.value }, { password: pw }, pwErr, t('us_password_done'))) pw.input.value = '';
      });

      // ---------------------------------------------------------------- disable, enable, delete
      const accountErr = h('p', { class: 'form-error', role: 'alert', hidden: true });
      const toggleBtn = h('button', {
        type: 'button', class: 'btn', id: 'user-toggle', 'data-action': u.disabled ? 'enable' : 'disable',
        onclick: () => patch({ disabled: !u.disabled }, {}, accountErr, t(u.disabled ? 'us_enabled_done' : 'us_disabled_done', { u: u.username })),
      }, u.disabled ? t('us_enable') : t('us_disable'));
      const deleteBtn = h('button', {
        type: 'button', class: 'btn btn-danger', id: 'user-delete', 'data-action': 'delete',
        onclick: async () => {
          if (!(await confirmDialog(t('us_delete_title'), t('us_delete_confirm', { u: u.username }), t('us_delete')))) { deleteBtn.focus(); return; }
          try {
            await api(`/api/v1/users/${encodeURIComponent(u.username)}`, { method: 'DELETE' });
          } catch (ex) {
            showProblem(ex, {}, accountErr);
            return;
          }
          users = users.filter((x) => x.username !== u.username);
          selected = null;
          history.replaceState(null, '', '/users');
          const msg = t('us_deleted', { u: u.username });
          toast(msg);
          announce(msg);
          renderList();
          replace(detailEl, h('p', { class: 'empty' }, t('us_pick')));
          newBtn.focus();
        },
      }, t('us_delete'));

      async function patch(body, fields, errEl, done) {
        try {
          const updated = await api(`/api/v1/users/${encodeURIComponent(u.username)}`, { method: 'PATCH', body });
          replaceUser(updated);
          toast(done);
          announce(done);
          renderList();
          showDetail(updated.username, false);
          return true;
        } catch (ex) {
          showProblem(ex, Object.fromEntries(Object.entries(fields)), errEl);
          return false;
        }
      }

      const historyEl = h('div', { class: 'user-history', id: 'user-history' }, loading());
      replace(detailEl,
        h('h2', { id: 'user-title', tabindex: '-1' }, u.display_name, ' ', h('span', { class: 'mono muted' }, u.username)),
        h('p', { class: 'user-meta muted small' },
          h('span', { class: `state-badge ${u.disabled ? 'state-open' : 'state-resolved'}` }, u.disabled ? t('us_disabled') : t('us_active')),
          ` ${t('role_' + u.role)} · ${dateTime(u.created_at)}`),
        editForm,
        h('h3', { class: 'sub-head' }, t('us_reset_password')), pwForm,
        h('h3', { class: 'sub-head' }, t('us_account')),
        h('div', { class: 'account-actions' }, toggleBtn, deleteBtn), accountErr,
        h('h3', { class: 'sub-head' }, t('us_history')), historyEl);
      if (focus) detailEl.querySelector('#user-title').focus();
      loadHistory(u.username, historyEl);
    }

    async function loadHistory(username, target) {
      let rows;
      try {
        rows = await listAll(`/api/v1/users/${encodeURIComponent(username)}/changes`, { limit: 1000, max: 5000 });
      } catch (e) {
        if (!destroyed) replace(target, unavailable(e, `/api/v1/users/${username}/changes`));
        return;
      }
      if (destroyed || selected !== username) return;
      if (!rows.length) { replace(target, h('p', { class: 'muted' }, t('us_history_empty'))); return; }
      // newest first
      replace(target, h('ol', { class: 'timeline' }, [...rows].reverse().map((c) => h('li', { 'data-action': c.action },
        h('span', { class: 'tl-when' }, dateTime(c.at)),
        h('span', { class: 'tl-what' }, t(`ch_${c.action}`) || c.action, ' · ', `${t('us_actor')}: ${c.actor}`),
        changeSummary(c) ? h('p', { class: 'tl-note' }, changeSummary(c)) : null))));
    }

    function openCreate() {
      const username = field('nu-username', t('us_username'), h('input', {
        type: 'text', class: 'input', required: true, maxlength: 64, autocomplete: 'off', autocapitalize: 'none', spellcheck: 'false',
      }), t('us_username_hint'));
      const name = field('nu-display-name', t('us_display_name'), h('input', { type: 'text', class: 'input', required: true, maxlength: 200 }));
      const role = field('nu-role', t('us_role'), h('select', { class: 'input' }, ROLES.map((r) => h('option', { value: r, selected: r === 'operator' }, t(`role_${r}`)))));
      const password = field('nu-password', t('us_password'), h('input', { type: 'password', class: 'input', required: true, autocomplete: 'new-password', minlength: MIN_PASSWORD }), t('us_password_hint'));
      const zones = zoneGroup('nu-zones', [], zoneGroups);
      const domains = checkGroup('nu-domains', t('us_domains'), DOMAINS.map((d) => [d, t(`dom_${d}`)]), [], t('us_scope_hint'));
      const err = h('p', { class: 'form-error', role: 'alert', hidden: true, id: 'nu-error' });
      const fields = { username, display_name: name, role, password, zones, domains };
      const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, t('us_create'));
      const form = h('form', { class: 'dialog-form user-form', method: 'dialog', id: 'user-create', novalidate: true },
        h('h2', { class: 'dialog-title', id: 'nu-title' }, t('us_new')),
        username.wrap, name.wrap, role.wrap, password.wrap, zones.wrap, domains.wrap, err,
        h('div', { class: 'dialog-actions' },
          h('button', { type: 'button', class: 'btn', onclick: () => dlg.close() }, t('cancel')), submit));
      const dlg = h('dialog', { class: 'dialog dialog-wide', 'aria-labelledby': 'nu-title' }, form);
      form.addEventListener('submit', async (e) => {
        e.preventDefault();
        clearProblems(fields, err);
        const body = {
          username: username.input.value.trim(), display_name: name.input.value.trim(), role: role.input.value,
          password: password.input.value, zones: zones.values(), domains: domains.values(),
        };
        submit.disabled = true;
        try {
          const u = await api('/api/v1/users', { method: 'POST', body });
          password.input.value = '';
          dlg.close();
          replaceUser(u);
          const msg = t('us_created', { u: u.username });
          toast(msg);
          announce(msg);
          renderList();
          showDetail(u.username, true);
        } catch (ex) {
          showProblem(ex, fields, err);
        } finally {
          submit.disabled = false;
        }
      });
      dlg.addEventListener('close', () => { dlg.remove(); if (document.activeElement === document.body) newBtn.focus(); });
      document.body.append(dlg);
      dlg.showModal();
      username.input.focus();
    }

    load();
    return {
      // The zones arrived (names in the list, checkboxes in open forms): nothing typed in a form is lost.
      update(c) {
        if (!c.registry) return;
        if (users) renderList();
        for (const g of zoneGroups) { if (g.wrap.isConnected) g.refresh(); else zoneGroups.delete(g); }
      },
      destroy() { destroyed = true; },
    };
  },
};
