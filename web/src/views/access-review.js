// The monthly access review (admins, API §9): per person who touched residents' personal data in a month,
// how many residents they read and how (reads, lists, lookups, reveals, exports, changes, erasures), the
// identity reads made while the household had no open alert, and whether the chain of access records is
// whole. One person's records of the month are listed on demand (GET /api/v1/audit/access).
import { h, replace, announce } from '../dom.js';
import { t } from '../i18n.js';
import { api, listAll, query } from '../api.js';
import { dateTime, int } from '../format.js';
import { unavailable, loading } from '../widgets.js';

const COUNTS = ['residents_read', 'reads', 'lists', 'lookups', 'reveals', 'exports', 'changes', 'erasures', 'outside_open_alert'];
const ACTIONS = ['create', 'list', 'read', 'lookup', 'export', 'reveal', 'change', 'erase'];

// YYYY-MM of a date in UTC (the review's months are UTC months).
function monthOf(d) { return d.toISOString().slice(0, 7); }
function shiftMonth(m, by) {
  const [y, mo] = m.split('-').map(Number);
  return monthOf(new Date(Date.UTC(y, mo - 1 + by, 1)));
}

export default {
  mount(el, { params }) {
    const thisMonth = monthOf(new Date());
    let month = /^\d{4}-\d{2}$/.test(params.get('month') || '') ? params.get('month') : thisMonth;
    let actor = params.get('actor') || null;
    let review = null;
    let destroyed = false;
    let seq = 0;

    const monthIn = h('input', { type: 'month', class: 'input', id: 'review-month', value: month, max: thisMonth, required: true });
    monthIn.addEventListener('change', () => { if (/^\d{4}-\d{2}$/.test(monthIn.value)) go(monthIn.value); });
    const prev = h('button', { type: 'button', class: 'btn btn-small', id: 'review-prev', onclick: () => go(shiftMonth(month, -1)) }, `‹ ${t('ar_prev')}`);
    const next = h('button', { type: 'button', class: 'btn btn-small', id: 'review-next', onclick: () => go(shiftMonth(month, 1)) }, `${t('ar_next')} ›`);
    const verifyBtn = h('button', { type: 'button', class: 'btn', id: 'review-verify', onclick: () => verify() }, t('ar_verify'));
    const chainEl = h('div', { class: 'chain', id: 'review-chain', 'aria-live': 'polite' });
    const tableEl = h('div', { class: 'review-table' });
    const recordsEl = h('section', { class: 'review-records', id: 'review-records', 'aria-labelledby': 'records-title', hidden: true });
    el.append(
      h('div', { class: 'page-head' }, h('h1', {}, t('ar_title')),
        h('div', { class: 'month-pick' }, prev, h('label', { for: 'review-month', class: 'sr-only' }, t('ar_month')), monthIn, next),
        verifyBtn),
      h('p', { class: 'muted small wf-lead' }, t('ar_lead')),
      chainEl, tableEl, recordsEl);

    function go(m) {
      month = m > thisMonth ? thisMonth : m;
      monthIn.value = month;
      actor = null;
      recordsEl.hidden = true;
      syncUrl();
      load();
    }

    function syncUrl() { history.replaceState(null, '', `/access-review${query({ month: month === thisMonth ? '' : month, actor: actor || '' })}`); }

    async function load() {
      const mine = ++seq;
      next.disabled = month >= thisMonth;
      replace(tableEl, loading());
      replace(chainEl);
      try {
        review = await api(`/api/v1/audit/review${query({ month })}`);
      } catch (e) {
        if (destroyed || mine !== seq) return;
        review = null;
        replace(tableEl, unavailable(e, '/api/v1/audit/review', load));
        return;
      }
      if (destroyed || mine !== seq) return;
      renderChain(review.chain);
      renderTable();
      if (actor && review.actors.some((a) => a.actor === actor)) showRecords(actor, false);
    }

    function renderChain(c) {
      if (!c) { replace(chainEl); return; }
      chainEl.dataset.ok = String(!!c.ok);
      replace(chainEl, h('p', { class: `chain-verdict ${c.ok ? 'good-box' : 'bad-box'}`, role: c.ok ? null : 'alert' },
        h('strong', {}, c.ok ? t('ar_chain_ok') : t('ar_chain_bad', { id: c.first_bad ?? '?' })),
        ' ', h('span', {}, t('ar_chain_records', { n: int(c.records) }))));
    }

    async function verify() {
      verifyBtn.disabled = true;
      try {
        const v = await api('/api/v1/audit/verify');
        renderChain(v);
        announce(v.ok ? t('ar_chain_ok') : t('ar_chain_bad', { id: v.first_bad ?? '?' }));
      } catch (e) {
        replace(chainEl, unavailable(e, '/api/v1/audit/verify'));
      } finally {
        verifyBtn.disabled = false;
      }
    }

    function renderTable() {
      const actors = [...review.actors].sort((a, b) => (b.outside_open_alert - a.outside_open_alert) || (b.residents_read - a.residents_read) || a.actor.localeCompare(b.actor));
      if (!actors.length) { replace(tableEl, h('p', { class: 'empty', id: 'review-empty' }, t('ar_empty', { m: month }))); return; }
      replace(tableEl, h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': t('ar_table', { m: month }) },
        h('table', { class: 'table review', id: 'review-table' },
          h('caption', { class: 'sr-only' }, t('ar_table', { m: month })),
          h('thead', {}, h('tr', {},
            h('th', { scope: 'col' }, t('ar_actor')), h('th', { scope: 'col' }, t('ar_role')),
            COUNTS.map((k) => h('th', { scope: 'col', class: 'num' }, t(`ar_${k}`))),
            h('th', { scope: 'col' }, h('span', { class: 'sr-only' }, t('ar_records'))))),
          h('tbody', {}, actors.map((a) => h('tr', {
            class: `review-row ${a.outside_open_alert ? 'attention' : ''} ${a.actor === actor ? 'active' : ''}`,
            'data-actor': a.actor, ...Object.fromEntries(COUNTS.map((k) => [`data-${k.replace(/_/g, '-')}`, a[k]])),
          },
          h('th', { scope: 'row', class: 'mono' }, a.actor),
          h('td', {}, t(`role_${a.role}`) === `role_${a.role}` ? a.role : t(`role_${a.role}`)),
          COUNTS.map((k) => h('td', { class: `num ${k === 'outside_open_alert' && a[k] ? 'bad strong' : ''}`, 'data-count': k }, int(a[k]))),
          h('td', {}, h('button', {
            type: 'button', class: 'btn btn-small', 'data-action': 'records', 'aria-label': t('ar_records_of', { a: a.actor }),
            onclick: () => showRecords(a.actor, true),
          }, t('ar_records')))))))));
    }

    async function showRecords(who, focus) {
      actor = who;
      syncUrl();
      for (const tr of tableEl.querySelectorAll('tr[data-actor]')) tr.classList.toggle('active', tr.dataset.actor === who);
      recordsEl.hidden = false;
      const body = h('div', {}, loading());
      replace(recordsEl,
        h('div', { class: 'sp-title-row' },
          h('h2', { id: 'records-title', tabindex: '-1' }, t('ar_records_title', { a: who, m: month })),
          h('button', { type: 'button', class: 'icon-btn', 'aria-label': t('close'), onclick: closeRecords }, '✕')),
        body);
      if (focus) recordsEl.querySelector('#records-title').focus();
      let rows;
      try {
        rows = await monthRecords(who);
      } catch (e) {
        if (!destroyed && actor === who) replace(body, unavailable(e, '/api/v1/audit/access'));
        return;
      }
      if (destroyed || actor !== who) return;
      if (!rows.length) { replace(body, h('p', { class: 'muted' }, t('none'))); return; }
      replace(body, h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': t('ar_records_title', { a: who, m: month }) },
        h('table', { class: 'table compact', id: 'records-table' },
          h('thead', {}, h('tr', {}, [t('ar_at'), t('ar_action'), t('ar_resident'), t('ar_alert'), t('ar_purpose'), t('ar_ip')].map((x) => h('th', { scope: 'col' }, x)))),
          h('tbody', {}, [...rows].reverse().map((r) => h('tr', { 'data-action': r.action, 'data-record': r.id },
            h('td', { class: 'nowrap' }, dateTime(r.at)),
            h('td', {}, ACTIONS.includes(r.action) ? t(`ar_action_${r.action}`) : r.action),
            h('td', { class: 'mono' }, r.resident || '–'),
            h('td', {}, r.alert ? h('a', { href: `/alerts?alert=${encodeURIComponent(r.alert)}` }, `#${r.alert}`) : '–'),
            h('td', {}, r.purpose || h('span', { class: 'bad' }, t('ar_no_purpose'))),
            h('td', { class: 'mono' }, r.ip || '–')))))));
    }

    // The person's records of the reviewed month, oldest first.
    async function monthRecords(who) {
      return listAll(`/api/v1/audit/access${query({ actor: who, from: review.from, to: review.to })}`, { limit: 1000, max: 10000 });
    }

    function closeRecords() {
      const who = actor;
      actor = null;
      syncUrl();
      recordsEl.hidden = true;
      for (const tr of tableEl.querySelectorAll('tr[data-actor]')) tr.classList.remove('active');
      tableEl.querySelector(`tr[data-actor="${CSS.escape(who || '')}"] [data-action="records"]`)?.focus();
    }

    load();
    return { destroy() { destroyed = true; } };
  },
};
