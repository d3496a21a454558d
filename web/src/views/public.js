// The public transparency page (no sign-in): /public/v1/kpis and /public/v1/report.
import { h, replace } from '../dom.js';
import { t, nameOf, shortName, lang, setLang } from '../i18n.js';
import { api, query } from '../api.js';
import { num, krw, dateTime, dateOnly } from '../format.js';
import { unavailable, loading } from '../widgets.js';
import { meets } from '../kpis.js';

export default {
  mount(el) {
    const thisYear = Number(new Intl.DateTimeFormat('en', { timeZone: 'Asia/Seoul', year: 'numeric' }).format(new Date()));
    let year = thisYear;
    let kpiNames = new Map();
    const kpisEl = h('div', {}, loading());
    const reportEl = h('div', {}, loading());
    const genEl = h('p', { class: 'muted small' });
    const yearSel = h('select', { id: 'pub-year', class: 'input', onchange: () => { year = Number(yearSel.value); loadReport(); } },
      [0, 1, 2, 3].map((d) => h('option', { value: thisYear - d, selected: d === 0 }, String(thisYear - d))));
    el.append(h('div', { class: 'public-page' },
      h('header', { class: 'public-head' },
        h('div', { class: 'brand' }, h('span', { class: 'brand-mark', 'aria-hidden': 'true' }, '⌂'),
          h('span', { class: 'brand-name' }, t('app_name')), h('span', { class: 'brand-sub' }, t('city'))),
        h('div', { class: 'top-right' },
          h('button', {
            type: 'button', class: 'lang-btn', id: 'lang-toggle', lang: lang() === 'ko' ? 'en' : 'ko',
            'aria-label': t('lang_switch_label'), onclick: () => setLang(lang() === 'ko' ? 'en' : 'ko'),
          }, t('lang_switch')),
          h('a', { href: '/login', class: 'btn btn-small' }, t('pub_signin')))),
      h('main', { id: 'main', class: 'public-main' },
        h('h1', {}, t('pub_title')),
        h('p', { class: 'lead' }, t('pub_lead')), genEl,
        h('section', { class: 'panel', 'aria-labelledby': 'pub-kpis' },
          h('div', { class: 'panel-head' }, h('h2', { id: 'pub-kpis' }, t('pub_kpis'))), kpisEl),
        h('section', { class: 'panel', 'aria-labelledby': 'pub-report' },
          h('div', { class: 'panel-head' }, h('h2', { id: 'pub-report' }, t('pub_report')),
            h('label', { class: 'filter inline', for: 'pub-year' }, h('span', {}, t('pub_year')), yearSel)),
          reportEl))));

    async function loadKpis() {
      let res;
      try {
        res = await api('/public/v1/kpis');
      } catch (e) {
        replace(kpisEl, unavailable(e, '/public/v1/kpis', loadKpis));
        return;
      }
      const items = res.items || [];
      kpiNames = new Map(items.map((i) => [i.kpi, i]));
      if (res.generated_at) genEl.textContent = t('pub_generated', { t: dateTime(res.generated_at) });
      if (!items.length) { replace(kpisEl, h('p', { class: 'empty' }, t('pub_empty'))); return; }
      const zoneIds = [...new Set(items.flatMap((i) => (i.zones || []).map((z) => z.zone)))];
      const zoneNames = new Map(items.flatMap((i) => (i.zones || []).map((z) => [z.zone, z.name])));
      // a scroll container of its own on a narrow screen, reachable by keyboard (WCAG 1.4.10, 2.1.1)
      replace(kpisEl, h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-labelledby': 'pub-kpis' }, h('table', { class: 'table public-table' },
        h('thead', {}, h('tr', {},
          h('th', { scope: 'col' }, t('kx_kpi')),
          h('th', { scope: 'col', class: 'num' }, t('pub_city')),
          h('th', { scope: 'col', class: 'num' }, t('kx_target')),
          zoneIds.map((z) => h('th', { scope: 'col', class: 'num', title: nameOf(zoneNames.get(z), z) }, shortName(zoneNames.get(z), z))))),
        h('tbody', {}, items.map((i) => {
          // a target "per day" is scaled to the period of the value shown (the server says which in city.target)
          const target = i.city?.target ?? i.target;
          const m = meets(i, i.city?.value, target);
          return h('tr', {},
            h('th', { scope: 'row' }, nameOf(i.name, i.kpi), h('div', { class: 'muted small' },
              [i.unit, i.direction ? t(i.direction === 'lower_is_better' ? 'kx_direction_lower' : 'kx_direction_higher') : null,
                i.city?.start ? dateOnly(i.city.start) : null].filter(Boolean).join(' · '))),
            h('td', { class: `num strong ${m === true ? 'good' : m === false ? 'bad' : ''}` },
              i.city?.value == null ? '–' : num(i.city.value), m === null ? '' : m ? ' ✓' : ' ✗'),
            h('td', { class: 'num' }, target == null ? '–' : num(target)),
            zoneIds.map((z) => { const v = (i.zones || []).find((x) => x.zone === z); return h('td', { class: 'num' }, v?.value == null ? '–' : num(v.value)); }));
        })))));
    }

    async function loadReport() {
      replace(reportEl, loading());
      let res;
      try {
        res = await api(`/public/v1/report${query({ year })}`);
      } catch (e) {
        replace(reportEl, unavailable(e, '/public/v1/report', loadReport));
        return;
      }
      const programs = res.programs || [];
      if (!programs.length) { replace(reportEl, h('p', { class: 'empty' }, t('pub_empty'))); return; }
      replace(reportEl, h('div', { class: 'programs' }, programs.map((p, n) => h('article', { class: 'program', 'aria-labelledby': `pub-program-${n}` },
        h('div', { class: 'program-head' },
          h('h3', { id: `pub-program-${n}` }, nameOf(p.program, p.id || '')),
          h('span', { class: 'program-amount' }, `${t('pub_amount')} ${krw(p.amount_krw)}`)),
        h('div', { class: 'table-wrap plain', tabindex: '0', role: 'region', 'aria-labelledby': `pub-program-${n}` }, h('table', { class: 'table compact' },
          h('thead', {}, h('tr', {}, [t('kx_kpi'), t('pub_start'), t('pub_latest'), t('kx_target'), t('pub_progress')].map((x) => h('th', { scope: 'col' }, x)))),
          h('tbody', {}, (p.kpis || []).map((k) => {
            const info = kpiNames.get(k.kpi);
            const kpiName = info ? nameOf(info.name, k.kpi) : k.kpi;
            const prog = typeof k.progress === 'number' ? Math.max(0, Math.min(1, k.progress)) : null;
            return h('tr', {},
              h('td', {}, kpiName),
              h('td', { class: 'num' }, k.start_value == null ? '–' : num(k.start_value)),
              h('td', { class: 'num' }, k.latest_value == null ? '–' : num(k.latest_value)),
              h('td', { class: 'num' }, k.target == null ? '–' : num(k.target)),
              h('td', {}, prog === null ? '–' : h('span', { class: 'progress' },
                h('span', {
                  class: 'progress-track', role: 'progressbar', 'aria-label': `${t('pub_progress')}: ${kpiName}`,
                  'aria-valuemin': 0, 'aria-valuemax': 100, 'aria-valuenow': Math.round(prog * 100),
                },
                  h('span', { class: 'progress-fill', style: { width: `${prog * 100}%` } })),
                h('span', { class: 'progress-text' }, `${Math.round(k.progress * 100)}%`))));
          }))))))));
    }

    loadKpis().then(loadReport);
    return {};
  },
};
