// KPI explorer: one KPI over time per zone, zones compared, values as a table and as CSV.
import { h, replace, toast } from '../dom.js';
import { t, nameOf, shortName } from '../i18n.js';
import { api, query } from '../api.js';
import { state } from '../store.js';
import { kpiCatalogue, meets, periodEnd, periodProgress } from '../kpis.js';
import '../strings-ops.js';
import { num, dateOnly, isoDay, CITY_TZ, unitText } from '../format.js';
import { makeChart, PALETTE } from '../chart.js';
import { unavailable, loading } from '../widgets.js';

const PERIODS = ['day', 'week', 'month', 'year'];
const DEFAULT_SPAN_DAYS = { day: 30, week: 182, month: 730, year: 3650 };
const sel = { kpi: null, period: 'day', from: null, to: null, zones: null };

// The start (RFC 3339, UTC) of every period of `sel.period` from range.from up to range.to, in the city's
// calendar (weeks start on Monday, as the server's date_trunc has them).
function periodStarts({ from, to }, period) {
  const off = 9 * 3600000;
  const end = new Date(to).getTime();
  const local = new Date(new Date(from).getTime() + off);
  const y = local.getUTCFullYear(); let m = local.getUTCMonth(); let d = local.getUTCDate();
  if (period === 'month') d = 1;
  if (period === 'year') { m = 0; d = 1; }
  if (period === 'week') d -= (local.getUTCDay() + 6) % 7;
  let s = Date.UTC(y, m, d) - off;
  const out = [];
  while (s < end && out.length < 4000) {
    out.push(new Date(s).toISOString());
    s = periodEnd(new Date(s).toISOString(), period);
  }
  return out;
}

export default {
  mount(el, { params }) {
    if (params.get('kpi')) sel.kpi = params.get('kpi');
    let catalogue = null;
    let values = null;
    let chart = null;
    const controls = h('div', { class: 'toolbar kx-controls' });
    const head = h('div', { class: 'kx-head' });
    const chartEl = h('div', { class: 'kx-chart', id: 'kpi-chart' });
    const compareEl = h('div', { class: 'kx-compare' });
    const tableEl = h('div', { class: 'kx-table' });
    const body = h('div', { class: 'kx-body' },
      h('section', { class: 'panel' }, h('div', { class: 'panel-head' }, h('h2', {}, t('kx_chart'))), chartEl),
      h('section', { class: 'panel' }, h('div', { class: 'panel-head' }, h('h2', {}, t('kx_compare'))), compareEl),
      h('details', { class: 'panel kx-details' }, h('summary', {}, t('kx_table')), tableEl));
    el.append(h('div', { class: 'page-head' }, h('h1', {}, t('kx_title'))), controls, head, body);

    // Set when the person leaves the screen: a load still under way must not write the address bar (it would
    // take the URL back to /kpis while another screen is shown).
    let destroyed = false;
    async function init() {
      replace(controls, loading());
      try {
        catalogue = await kpiCatalogue();
        if (destroyed) return;
      } catch (e) {
        if (destroyed) return;
        replace(controls, unavailable(e, '/api/v1/kpis', init));
        body.hidden = true;
        return;
      }
      body.hidden = false;
      if (!catalogue.length) { replace(controls, h('p', { class: 'empty' }, t('kpi_no_value'))); return; }
      if (!sel.kpi || !catalogue.find((k) => k.id === sel.kpi)) {
        sel.kpi = catalogue[0].id;
        if (PERIODS.includes(catalogue[0].period)) { sel.period = catalogue[0].period; sel.from = null; }
      }
      if (!sel.zones) sel.zones = new Set(['', ...state.zones.map((z) => z.id)]);
      if (!sel.from) setSpan();
      renderControls();
      load();
    }

    function setSpan() {
      const now = new Date();
      sel.to = isoDay(now);
      sel.from = isoDay(new Date(now.getTime() - DEFAULT_SPAN_DAYS[sel.period] * 86400000));
    }

    function renderControls() {
      const kpiSel = h('select', {
        id: 'kx-kpi', class: 'input',
        onchange: () => { sel.kpi = kpiSel.value; const k = kpi(); if (k?.period && PERIODS.includes(k.period)) { sel.period = k.period; setSpan(); } renderControls(); load(); },
      },
        catalogue.map((k) => h('option', { value: k.id, selected: k.id === sel.kpi }, `${nameOf(k.name, k.id)}${k.domain ? ` · ${t(`dom_${k.domain}`)}` : ''}`)));
      const perSel = h('select', { id: 'kx-period', class: 'input', onchange: () => { sel.period = perSel.value; setSpan(); renderControls(); load(); } },
        PERIODS.map((p) => h('option', { value: p, selected: p === sel.period }, t(`period_${p}`))));
      const from = h('input', { type: 'date', id: 'kx-from', class: 'input', value: sel.from, onchange: () => { sel.from = from.value; load(); } });
      const to = h('input', { type: 'date', id: 'kx-to', class: 'input', value: sel.to, onchange: () => { sel.to = to.value; load(); } });
      const zoneBoxes = h('fieldset', { class: 'zone-checks' }, h('legend', {}, t('kx_zones')),
        [['', t('city_total')], ...state.zones.map((z) => [z.id, shortName(z.name, z.id)])].map(([id, name]) => h('label', { class: 'check' },
          h('input', { type: 'checkbox', checked: sel.zones.has(id), onchange: (e) => { if (e.target.checked) sel.zones.add(id); else sel.zones.delete(id); render(); } }),
          name)));
      const csv = h('button', { type: 'button', class: 'btn', id: 'kx-csv', onclick: downloadCsv }, `⤓ ${t('kx_csv')}`);
      replace(controls,
        h('label', { class: 'filter', for: 'kx-kpi' }, h('span', {}, t('kx_kpi')), kpiSel),
        h('label', { class: 'filter', for: 'kx-period' }, h('span', {}, t('kx_period')), perSel),
        h('label', { class: 'filter', for: 'kx-from' }, h('span', {}, t('kx_from')), from),
        h('label', { class: 'filter', for: 'kx-to' }, h('span', {}, t('kx_to')), to),
        zoneBoxes, csv);
    }

    function range() {
      // dates are the city's calendar days; `to` is inclusive in the form, exclusive in the API
      const off = '+09:00';
      const toNext = new Date(new Date(`${sel.to}T00:00:00${off}`).getTime() + 86400000);
      return { from: `${sel.from}T00:00:00${off}`, to: toNext.toISOString() };
    }

    let firstLoad = !params.get('kpi');
    let seq = 0; // an answer to an older choice (another KPI or period) arriving late is dropped
    async function load() {
      if (destroyed) return;
      const mine = ++seq;
      history.replaceState(null, '', `/kpis${query({ kpi: sel.kpi })}`);
      replace(chartEl, loading());
      const { from, to } = range();
      try {
        const got = await api(`/api/v1/kpis/${encodeURIComponent(sel.kpi)}/values${query({ period: sel.period, from, to })}`);
        if (destroyed || mine !== seq) return;
        values = got;
        // Opened without a choice: start on the first KPI that has values.
        if (firstLoad && !(values.values || []).length) {
          const i = catalogue.findIndex((k) => k.id === sel.kpi);
          if (i >= 0 && i + 1 < catalogue.length) {
            sel.kpi = catalogue[i + 1].id;
            if (PERIODS.includes(catalogue[i + 1].period)) { sel.period = catalogue[i + 1].period; setSpan(); }
            renderControls();
            load();
            return;
          }
        }
        firstLoad = false;
      } catch (e) {
        if (destroyed || mine !== seq) return;
        values = null;
        if (chart) { chart.destroy(); chart = null; }
        replace(chartEl, unavailable(e, `/api/v1/kpis/${sel.kpi}/values`, load));
        replace(compareEl); replace(tableEl);
        return;
      }
      render();
    }

    function kpi() { return catalogue.find((k) => k.id === sel.kpi); }

    function render() {
      if (!values) return;
      const k = kpi();
      const vals = (values.values || []).filter((v) => sel.zones.has(v.zone ?? ''));
      replace(head, h('div', { class: 'kx-kpi-head' },
        h('h2', {}, nameOf(k.name, k.id)),
        h('p', { class: 'muted' },
          [unitText(k.unit) || null, k.direction ? t(k.direction === 'lower_is_better' ? 'kx_direction_lower' : 'kx_direction_higher') : null,
            k.target !== undefined && k.target !== null ? `${t('kx_target')} ${num(k.target)}` : null,
            k.standard ? t('kx_standard', { s: k.standard }) : null].filter(Boolean).join(' · ')),
        k.description ? h('p', { class: 'small' }, nameOf(k.description)) : null));
      // chart
      if (chart) { chart.destroy(); chart = null; }
      replace(chartEl);
      const zonesShown = ['', ...state.zones.map((z) => z.id)].filter((z) => sel.zones.has(z));
      // Every period of the range on the axis, so that a period without a value is a gap in the line
      // (not a line drawn across it); values whose start is not on the grid are kept too.
      const have = [...new Set(vals.map((v) => v.start))];
      const xs = have.length ? [...new Set([...periodStarts(range(), sel.period), ...have])]
        .sort((a, b) => new Date(a) - new Date(b)) : [];
      if (!xs.length) {
        replace(chartEl, h('p', { class: 'empty' }, t('kx_no_data')));
      } else {
        const idx = new Map(xs.map((x, i) => [x, i]));
        const byTime = new Map(xs.map((x, i) => [new Date(x).getTime(), i]));
        for (const v of vals) if (!idx.has(v.start)) idx.set(v.start, byTime.get(new Date(v.start).getTime()));
        const seriesData = zonesShown.map((z) => {
          const ys = xs.map(() => null);
          for (const v of vals) if ((v.zone ?? '') === z) ys[idx.get(v.start)] = v.value;
          return ys;
        });
        const targets = xs.map((x) => { const v = vals.find((y) => y.start === x && y.target != null); return v ? v.target : null; });
        // One target for the whole range: a line across the chart; targets that change: a series of their own.
        const known = targets.filter((v) => v != null);
        const fixed = known.length > 0 ? known.every((v) => v === known[0]) : k.target != null;
        const fixedValue = known.length ? known[0] : k.target;
        chart = makeChart(chartEl, {
          height: 260,
          series: [...zonesShown.map((z, i) => ({ label: z ? shortName(state.zoneById.get(z)?.name, z) : t('city_total'), color: z ? PALETTE[(i) % PALETTE.length] : '#ffffff', width: z ? 1.8 : 3, points: xs.length < 60 })),
            ...(fixed ? [] : [{ label: t('kx_target'), color: '#ff6b6b', dash: [6, 4], width: 1.5, spanGaps: false }])],
          hlines: fixed ? [{ value: fixedValue, color: '#ff6b6b', label: `${t('kx_target')} ${num(fixedValue)}` }] : [],
          data: [xs.map((x) => new Date(x).getTime() / 1000), ...seriesData, ...(fixed ? [] : [targets])],
          valueFmt: (v) => (v == null ? '–' : num(v)),
          spanGaps: false,
          xPeriod: sel.period,
          xRange: () => { const r = range(); return [new Date(r.from).getTime() / 1000, new Date(r.to).getTime() / 1000]; },
        });
      }
      renderCompare(k, vals);
      renderTable(vals);
    }

    function renderCompare(k, vals) {
      const latest = new Map();
      for (const v of vals) { const key = v.zone ?? ''; const c = latest.get(key); if (!c || c.start < v.start) latest.set(key, v); }
      const rows = [...latest.entries()].sort((a, b) => (a[0] === '' ? -1 : b[0] === '' ? 1 : b[1].value - a[1].value));
      if (!rows.length) { replace(compareEl, h('p', { class: 'empty' }, t('kx_no_data'))); return; }
      const max = Math.max(...rows.map(([, v]) => Math.abs(v.value)), Math.abs(k.target || 0)) || 1;
      replace(compareEl, h('ul', { class: 'bars' }, rows.map(([z, v]) => {
        const m = meets(k, v.value, v.target ?? k.target);
        const target = v.target ?? k.target;
        return h('li', { class: `bar-row ${m === true ? 'meets' : m === false ? 'misses' : ''}` },
          h('span', { class: 'bar-label' }, z ? shortName(state.zoneById.get(z)?.name, z) : t('city_total')),
          h('span', { class: 'bar-track' },
            h('span', { class: 'bar-fill', style: { width: `${(Math.abs(v.value) / max) * 100}%` } }),
            target != null ? h('span', { class: 'bar-target', style: { left: `${(Math.abs(target) / max) * 100}%` }, title: `${t('kx_target')} ${num(target)}` }) : null),
          h('span', { class: 'bar-value' }, `${num(v.value)}${unitText(k.unit) ? ` ${unitText(k.unit)}` : ''}`, m === null ? '' : m ? ' ✓' : ' ✗'));
      })));
    }

    function renderTable(vals) {
      const sorted = [...vals].sort((a, b) => b.start.localeCompare(a.start) || String(a.zone ?? '').localeCompare(String(b.zone ?? '')));
      replace(tableEl, h('table', { class: 'table compact' },
        h('thead', {}, h('tr', {}, [t('kx_zones'), t('start'), t('value'), t('kx_target')].map((x) => h('th', { scope: 'col' }, x)))),
        h('tbody', {}, sorted.slice(0, 500).map((v) => h('tr', {},
          h('td', {}, v.zone ? shortName(state.zoneById.get(v.zone)?.name, v.zone) : t('city_total')),
          h('td', {}, dateOnly(v.start, sel.period), periodProgress(v.start, sel.period).inProgress ? ` ${t('kx_so_far')}` : ''),
          h('td', { class: 'num' }, num(v.value)),
          h('td', { class: 'num' }, v.target == null ? '–' : num(v.target)))))));
    }

    async function downloadCsv() {
      const { from, to } = range();
      try {
        const blob = await api(`/api/v1/kpis/${encodeURIComponent(sel.kpi)}/values${query({ period: sel.period, from, to, format: 'csv' })}`,
          { accept: 'text/csv', raw: 'blob' });
        const url = URL.createObjectURL(blob);
        const a = h('a', { href: url, download: `${sel.kpi}-${sel.period}-${sel.from}-${sel.to}.csv`, hidden: true });
        document.body.append(a);
        a.click();
        setTimeout(() => { URL.revokeObjectURL(url); a.remove(); }, 1000);
      } catch (e) {
        toast(t('load_failed', { msg: e.message }), 'error');
      }
    }

    init();
    void CITY_TZ;
    return {
      update(c) { if (c.registry && catalogue) { sel.zones = new Set(['', ...state.zones.map((z) => z.id)]); renderControls(); render(); } },
      destroy() { destroyed = true; if (chart) chart.destroy(); },
    };
  },
};
