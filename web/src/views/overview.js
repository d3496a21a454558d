// Overview: the five living zones, KPI tiles by domain, open alerts by severity.
import { h, replace } from '../dom.js';
import { t, nameOf, shortName, nameDetail } from '../i18n.js';
import { state, activeAlerts, DOMAINS } from '../store.js';
import { zoneSummary } from '../zones.js';
import { kpiSummary, judge, additive } from '../kpis.js';
import '../strings-ops.js';
import { int, num, withUnit, ago, dateOnly, unitText } from '../format.js';
import { sevBadge, stateBadge, sensorStateBadge, unavailable, loading, sparkline, section } from '../widgets.js';
import { alertTitle, alertValue, noteDialog } from '../dialogs.js';
import { can } from '../session.js';

export default {
  mount(el) {
    const zonesBody = h('div', { class: 'zone-grid', id: 'zones' });
    const kpiBody = h('div', { class: 'kpi-area', id: 'kpis' }, loading());
    const alertsBody = h('div', { class: 'alert-summary', id: 'alert-summary' });
    // The alert panel only for roles that may read alerts (not an analyst).
    const alertsShown = can('alerts');
    el.append(h('h1', { class: 'sr-only' }, t('nav_overview')), h('div', { class: `overview ${alertsShown ? '' : 'no-side'}` },
      h('div', { class: 'ov-main' },
        section(t('ov_zones'), zonesBody),
        section(t('ov_kpis'), kpiBody)),
      alertsShown ? h('aside', { class: 'ov-side' },
        section(t('ov_alerts'), alertsBody, h('a', { href: '/alerts', class: 'panel-link' }, t('ov_all_alerts')))) : null));

    function renderZones() {
      if (state.registry === 'loading') { replace(zonesBody, loading()); return; }
      if (state.registry === 'error') { replace(zonesBody, unavailable(state.registryError, '/api/v1/zones')); return; }
      replace(zonesBody, state.zones.map((z) => zoneCard(z)));
    }

    function renderAlerts() {
      if (!alertsShown) return;
      if (state.alertsStatus === 'loading') { replace(alertsBody, loading()); return; }
      if (state.alertsStatus !== 'ok') { replace(alertsBody, unavailable(state.alertsStatus, '/api/v1/alerts')); return; }
      const list = activeAlerts();
      const count = (sev, st) => list.filter((a) => a.severity === sev && (!st || a.state === st)).length;
      const counters = h('div', { class: 'sev-counters' }, ['critical', 'warning', 'info'].map((sev) =>
        h('a', { href: `/alerts?severity=${sev}`, class: `sev-counter sev-${sev}`, 'data-severity': sev },
          h('span', { class: 'sev-count' }, int(count(sev))),
          h('span', { class: 'sev-name' }, t(`sev_${sev}`)),
          h('span', { class: 'sev-sub' }, `${t('open_short')} ${int(count(sev, 'open'))} · ${t('ack_short')} ${int(count(sev, 'acknowledged'))}`))));
      const recent = list.slice(0, 8);
      replace(alertsBody, counters,
        h('h3', { class: 'sub-head' }, t('ov_recent')),
        recent.length ? h('ul', { class: 'mini-alerts' }, recent.map((a) => h('li', { class: `mini-alert sev-${a.severity} state-${a.state}` },
          sevBadge(a.severity),
          h('div', { class: 'mini-body' },
            h('strong', {}, alertTitle(a)),
            h('span', { class: 'muted mini-where' },
              state.zoneById.get(a.zone) ? shortName(state.zoneById.get(a.zone).name, a.zone) : (a.zone || ''),
              a.sensor || a.household ? [' · ', h('span', { class: 'nowrap' }, a.sensor || a.household)] : null,
              alertValue(a) ? [' · ', h('span', { class: 'mini-value' }, alertValue(a))] : null),
            h('span', { class: 'mini-meta muted small' }, ago(a.opened_at), stateBadge(a.state),
              a.state === 'open' ? h('button', { type: 'button', class: 'btn btn-small', onclick: () => noteDialog(a, 'ack'), 'aria-label': `${t('al_ack_short')}: ${alertTitle(a)}` }, t('al_ack_short')) : null)))))
          : h('p', { class: 'empty' }, t('al_empty')));
    }

    let kpiData = null;
    let destroyed = false;
    function loadKpis(force) {
      // rendered as each KPI arrives, at most once a frame
      let queued = false;
      kpiSummary((d) => {
        kpiData = d;
        if (queued || destroyed) return;
        queued = true;
        requestAnimationFrame(() => { queued = false; if (!destroyed) renderKpis(); });
      }, { force });
    }
    function renderKpis() {
      if (!kpiData) return;
      if (kpiData.status !== 'ok') { replace(kpiBody, unavailable(kpiData.status === 'error' ? kpiData.error : kpiData.status, '/api/v1/kpis', () => loadKpis(true))); return; }
      if (!kpiData.items.length) { replace(kpiBody, h('p', { class: 'empty' }, t('kpi_no_value'))); return; }
      const rank = (d) => { const i = DOMAINS.indexOf(d); return i < 0 ? 99 : i; };
      const items = [...kpiData.items].sort((a, b) => rank(a.kpi.domain) - rank(b.kpi.domain));
      replace(kpiBody, h('div', { class: 'kpi-tiles' }, items.map(kpiTile)));
    }

    renderZones();
    renderAlerts();
    loadKpis(false);
    const kpiTimer = setInterval(() => loadKpis(true), 120000);
    let ticks = 0;
    return {
      update(c) {
        if (c.registry || c.sensors.size || c.alerts) renderZones();
        if (c.alerts || c.registry) renderAlerts();
      },
      tick() { if (++ticks % 10 === 0) renderZones(); }, // "reporting" counts age with time, not only with readings
      destroy() { destroyed = true; clearInterval(kpiTimer); },
    };
  },
};

function zoneCard(z) {
  const s = zoneSummary(z.id);
  const fig = (label, value, cls) => h('div', { class: `fig ${cls || ''}` }, h('span', { class: 'fig-label' }, label), h('span', { class: 'fig-value' }, value));
  const a = s.alerts;
  return h('a', { href: `/map?zone=${encodeURIComponent(z.id)}`, class: `zone-card zs-${s.status}`, 'data-zone': z.id },
    h('div', { class: 'zone-title' },
      h('h3', { class: 'zone-name' }, shortName(z.name, z.id)),
      nameDetail(z.name) ? h('span', { class: 'zone-detail muted' }, nameDetail(z.name)) : null),
    h('div', { class: 'zone-state' }, sensorStateBadge(s.status)),
    h('p', { class: 'zone-meta muted' },
      t('zone_population', { n: int(z.population) }), ' · ', t('zone_sensors', { ok: int(s.reporting), n: int(s.total) })),
    h('div', { class: 'figs' },
      fig(t('zone_temp'), s.temp === null ? '–' : `${num(s.temp, 1)} °C`),
      fig(t('zone_pm25'), s.pm25 === null ? '–' : `${num(s.pm25, 0)} µg/m³`, s.pm25 > 75 ? 'bad' : s.pm25 > 35 ? 'warn' : ''),
      fig(t('zone_level'), s.water ? `${num(s.water.value, 2)} m` + (s.water.warning ? ` / ${num(s.water.warning, 1)}` : '') : '–',
        s.water?.stage ? `lvl-${s.water.stage}` : ''),
      fig(t('zone_speed'), s.speed === null ? '–' : `${num(s.speed, 0)} km/h`),
      fig(t('zone_power'), s.power === null ? '–' : withUnit(s.power, 'kW', 0)),
      fig(t('zone_rain'), s.rain === null ? '–' : `${num(s.rain, 1)} mm`)),
    h('div', { class: 'zone-alerts' },
      a.critical + a.warning + a.info === 0 ? h('span', { class: 'muted' }, t('zone_alerts_none'))
        : ['critical', 'warning', 'info'].filter((k) => a[k]).map((k) => h('span', { class: `zone-alert-count sev-${k}` }, `${t(`sev_${k}`)} ${a[k]}`)),
      s.calls ? h('span', { class: 'zone-alert-count sev-critical' }, `${t('zone_calls')} ${s.calls}`) : null));
}

function kpiTile(item) {
  const k = item.kpi;
  // A period in progress is judged against the part of it that has passed (kpis.js judge).
  const j = judge(k, item.value, item.target, item.start, item.period);
  const m = j.meets;
  // A total of a period in progress is not comparable with whole periods: the trend's direction leaves it out.
  const tr = j.soFar && j.prorated ? item.trend.slice(0, -1) : item.trend;
  let dir = null;
  if (tr.length >= 2) {
    const d = tr[tr.length - 1][1] - tr[0][1];
    const rel = Math.abs(d) / (Math.abs(tr[0][1]) || 1);
    dir = rel < 0.01 ? 'flat' : d > 0 ? 'up' : 'down';
  }
  const good = dir === null || dir === 'flat' ? null : (dir === 'down') === (k.direction === 'lower_is_better');
  return h('div', { class: `kpi-tile ${m === true ? 'meets' : m === false ? 'misses' : ''}`, 'data-kpi': k.id },
    h('div', { class: 'kpi-name' },
      k.domain ? h('span', { class: `dom-chip dom-${k.domain}` }, t(`dom_${k.domain}`)) : null,
      h('span', {}, nameOf(k.name, k.id))),
    h('div', { class: 'kpi-value' },
      h('span', { class: 'kpi-number' }, item.value === null ? (item.pending ? '…' : '–') : num(item.value)),
      h('span', { class: 'kpi-unit' }, unitText(k.unit))),
    h('div', { class: 'kpi-meta' },
      h('span', { class: 'kpi-target', title: j.prorated ? t('kpi_target_full', { v: num(j.fullTarget) }) : null },
        j.target === null || j.target === undefined ? t('kpi_target', { v: '–' })
          : !item.start && additive(k) ? t('kpi_target_day', { v: num(j.target) })
          : j.prorated ? t('kpi_target_so_far', { v: num(j.target) }) : t('kpi_target', { v: num(j.target) })),
      item.period ? h('span', { class: 'kpi-period' }, j.soFar && j.days > 1
        ? t('kpi_so_far', { p: t(`per_${item.period}`), d: Math.max(1, Math.ceil(j.elapsedDays)), n: Math.round(j.days) })
        : item.start && !j.soFar ? dateOnly(item.start, item.period) : t(`per_${item.period}`)) : null,
      m === null ? null : h('span', { class: `kpi-status ${m ? 'ok' : 'bad'}` },
        j.soFar ? (m ? `✓ ${t('kpi_on_track')}` : `✗ ${t('kpi_behind')}`) : (m ? `✓ ${t('kpi_meets')}` : `✗ ${t('kpi_misses')}`))),
    h('div', { class: 'kpi-trend', title: item.period ? t('kpi_trend', { p: t(`period_${item.period}`) }) : '' },
      sparkline(item.trend, { cls: good === null ? '' : good ? 'good' : 'bad' }),
      dir ? h('span', { class: `trend-arrow ${good === null ? '' : good ? 'good' : 'bad'}`, 'aria-label': t(`kpi_${dir}`) },
        dir === 'up' ? '▲' : dir === 'down' ? '▼' : '▬', h('span', { class: 'sr-only' }, t(`kpi_${dir}`))) : null));
}
