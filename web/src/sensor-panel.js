// A sensor opened from the map or the list: its latest values, recent history as a chart (live), its alerts.
import { h, replace } from './dom.js';
import { t, nameOf, kindName, metricName } from './i18n.js';
import { api, query } from './api.js';
import { state, sensorState, activeAlerts } from './store.js';
import { withUnit, ago, dateTime, num } from './format.js';
import { makeChart, PALETTE } from './chart.js';
import { sensorStateBadge, sevBadge, stateBadge, unavailable } from './widgets.js';
import { alertTitle, noteDialog } from './dialogs.js';

const RANGES = { '1h': 3600, '6h': 6 * 3600, '24h': 86400, '7d': 7 * 86400 };

function bucketFor(rangeS, intervalS) {
  if (rangeS <= 3600) return null; // raw points
  const want = Math.max(intervalS || 60, rangeS / 360);
  for (const [s, label] of [[60, '1m'], [120, '2m'], [300, '5m'], [600, '10m'], [900, '15m'], [1800, '30m'], [3600, '1h'], [7200, '2h'], [21600, '6h'], [86400, '1d']]) {
    if (s >= want) return label;
  }
  return '1d';
}

export function sensorPanel(container, sensorId, { onClose } = {}) {
  const sensor = state.sensors.get(sensorId);
  let metric = sensor?.metrics?.[0]?.name;
  let range = '6h';
  let chart = null;
  let data = null; // [xs, ys]
  let loadSeq = 0;

  const root = h('section', { class: 'sensor-panel', 'aria-labelledby': 'sensor-title', 'data-sensor': sensorId });
  container.append(root);

  if (!sensor) {
    // Unknown, outside the person's scope, or a welfare sensor for a role that may not read it: the registry
    // does not list it, and nothing more is asked of the server.
    replace(root, h('p', { class: 'placeholder na', 'data-state': 'not-found' }, `${sensorId}: ${t('sensor_unknown')}`));
    return { update() {}, tick() {}, destroy() { root.remove(); } };
  }

  const head = h('div', { class: 'sp-head' });
  const metricsEl = h('div', { class: 'sp-metrics', role: 'group', 'aria-label': t('sensor_latest') });
  const rangeEl = h('div', { class: 'seg', role: 'group', 'aria-label': t('sensor_history') });
  const chartEl = h('div', { class: 'sp-chart', id: 'sensor-chart' });
  const chartMsg = h('p', { class: 'muted small', hidden: true });
  const alertsEl = h('div', { class: 'sp-alerts' });
  root.append(head,
    h('h3', { class: 'sub-head' }, t('sensor_latest')), metricsEl,
    h('div', { class: 'sp-chart-head' }, h('h3', { class: 'sub-head' }, t('sensor_history')), rangeEl),
    chartEl, chartMsg, alertsEl);

  const stateEl = h('div', { class: 'sp-state' });
  function renderHead() {
    const zone = state.zoneById.get(sensor.zone);
    const a = sensor.attributes || {};
    replace(head,
      h('div', { class: 'sp-title-row' },
        h('h2', { id: 'sensor-title', tabindex: '-1' }, sensor.name ? nameOf(sensor.name) : sensor.id),
        h('button', { type: 'button', class: 'icon-btn', 'aria-label': t('close'), onclick: () => onClose && onClose() }, '✕')),
      h('dl', { class: 'sp-facts' },
        h('dt', {}, t('sensor_kind')), h('dd', {}, `${kindName(sensor.kind)} · ${t(`dom_${sensor.domain}`)}`),
        h('dt', {}, t('sensor_zone')), h('dd', {}, zone ? nameOf(zone.name, zone.id) : (sensor.zone || '–')),
        a.site ? [h('dt', {}, t('sensor_site')), h('dd', {}, String(a.site))] : null,
        typeof a.warning_m === 'number' ? [h('dt', {}, t('warning_level')), h('dd', {}, `${num(a.warning_m)} m`)] : null,
        typeof a.danger_m === 'number' ? [h('dt', {}, t('danger_level')), h('dd', {}, `${num(a.danger_m)} m`)] : null),
      stateEl);
    renderState();
  }

  function renderState() {
    replace(stateEl, sensorStateBadge(sensorState(sensor)), h('span', { class: 'mono muted' }, sensor.id));
  }

  const metricEls = new Map();
  function renderMetrics() {
    metricEls.clear();
    replace(metricsEl, sensor.metrics.map((m) => {
      const valueEl = h('span', { class: 'metric-value' });
      const tsEl = h('span', { class: 'metric-ts muted' });
      const btn = h('button', {
        type: 'button', class: 'metric-btn', 'data-metric': m.name,
        onclick: () => { metric = m.name; refreshMetrics(); loadSeries(); },
      }, h('span', { class: 'metric-name' }, metricName(m.name)), valueEl, tsEl);
      metricEls.set(m.name, { btn, valueEl, tsEl, unit: m.unit });
      return btn;
    }));
    refreshMetrics();
  }

  function refreshMetrics() {
    const latest = state.latest.get(sensor.id) || {};
    for (const [name, e] of metricEls) {
      const v = latest[name];
      e.btn.classList.toggle('active', name === metric);
      e.btn.setAttribute('aria-pressed', String(name === metric));
      e.valueEl.textContent = v ? withUnit(v.value, e.unit) : '–';
      e.tsEl.textContent = v ? ago(v.ts) : t('st_nodata');
    }
  }

  function renderRange() {
    replace(rangeEl, Object.keys(RANGES).map((r) => h('button', {
      type: 'button', class: `seg-btn ${r === range ? 'active' : ''}`, 'aria-pressed': String(r === range),
      onclick: () => { range = r; renderRange(); loadSeries(); },
    }, t(`range_${r}`))));
  }

  function renderAlerts() {
    if (state.alertsStatus !== 'ok') { replace(alertsEl); return; }
    const list = activeAlerts().filter((a) => a.sensor === sensor.id);
    replace(alertsEl, list.length ? [h('h3', { class: 'sub-head' }, t('sensor_alerts')),
      h('ul', { class: 'mini-alerts' }, list.map((a) => h('li', { class: `mini-alert sev-${a.severity}` },
        sevBadge(a.severity), h('div', { class: 'mini-body' }, h('strong', {}, alertTitle(a)),
          h('span', { class: 'mini-meta muted small' }, dateTime(a.opened_at), stateBadge(a.state),
            a.state === 'open' ? h('button', { type: 'button', class: 'btn btn-small', onclick: () => noteDialog(a, 'ack'), 'aria-label': `${t('al_ack_short')}: ${alertTitle(a)}` }, t('al_ack_short')) : null)))))] : []);
  }

  function thresholds() {
    const a = sensor.attributes || {};
    if (metric !== 'level') return [];
    const out = [];
    if (typeof a.warning_m === 'number') out.push({ label: t('warning_level'), value: a.warning_m, color: '#ffb020' });
    if (typeof a.danger_m === 'number') out.push({ label: t('danger_level'), value: a.danger_m, color: '#ff5a5f' });
    return out;
  }

  async function loadSeries() {
    const seq = ++loadSeq;
    const m = sensor.metrics.find((x) => x.name === metric);
    const rangeS = RANGES[range];
    const bucket = bucketFor(rangeS, m?.interval_s);
    const from = new Date(Date.now() - rangeS * 1000).toISOString();
    chartMsg.hidden = true;
    let points = [];
    try {
      const res = await api(`/api/v1/sensors/${encodeURIComponent(sensor.id)}/series${query({
        metric, from, bucket: bucket || undefined, agg: bucket ? 'avg' : undefined, limit: bucket ? undefined : 5000,
      })}`);
      points = res.points || [];
    } catch (e) {
      if (seq !== loadSeq) return;
      if (chart) { chart.destroy(); chart = null; }
      replace(chartEl, unavailable(e, `/api/v1/sensors/${sensor.id}/series`, loadSeries));
      return;
    }
    if (seq !== loadSeq) return;
    const xs = points.map((p) => new Date(p[0]).getTime() / 1000);
    const ys = points.map((p) => p[1]);
    data = [xs, ys];
    drawChart(m);
    chartMsg.hidden = points.length > 0;
    chartMsg.textContent = t('sensor_no_history');
  }

  function fullData() { return [data[0], data[1]]; }

  function drawChart(m) {
    if (chart) { chart.destroy(); chart = null; }
    replace(chartEl);
    const th = thresholds();
    chart = makeChart(chartEl, {
      height: 200,
      series: [{ label: `${metricName(metric)}${m?.unit && m.unit !== 'count' ? ` (${m.unit})` : ''}`, color: PALETTE[0], points: data[0].length < 60 }],
      hlines: th.map((x) => ({ value: x.value, color: x.color, label: `${x.label} ${num(x.value)} m` })),
      data: fullData(),
      valueFmt: (v) => (v == null ? '–' : num(v)),
      xRange: () => [Date.now() / 1000 - RANGES[range], Date.now() / 1000 + 30],
    });
  }

  // A reading that arrived live: append it to the chart when it is of the metric shown.
  function appendLive() {
    if (!data || !chart) return;
    const v = state.latest.get(sensor.id)?.[metric];
    if (!v) return;
    const x = new Date(v.ts).getTime() / 1000;
    const xs = data[0];
    if (xs.length && x <= xs[xs.length - 1]) return;
    xs.push(x);
    data[1].push(v.value);
    const cutoff = Date.now() / 1000 - RANGES[range];
    while (xs.length > 2 && xs[0] < cutoff) { xs.shift(); data[1].shift(); }
    chart.setData(fullData());
    chartMsg.hidden = true;
  }

  renderHead();
  renderMetrics();
  renderRange();
  renderAlerts();
  loadSeries();

  return {
    sensorId,
    update(c) {
      if (c.sensors.has(sensor.id)) { refreshMetrics(); appendLive(); renderState(); }
      if (c.alerts) { renderAlerts(); renderState(); }
    },
    tick() { refreshMetrics(); },
    focus() { root.querySelector('#sensor-title')?.focus(); },
    destroy() { if (chart) chart.destroy(); root.remove(); },
  };
}
