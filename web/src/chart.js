// Time-series charts (uPlot) in the dashboard's colours, times in the city's time zone.
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { CITY_TZ, num } from './format.js';
import { locale, t } from './i18n.js';

export const PALETTE = ['#5cc8ff', '#ffd166', '#06d6a0', '#ef8fff', '#ff9f5a', '#a0b4ff', '#e0e0e0', '#7ee081'];

const axis = (extra = {}) => ({
  stroke: '#b7c6d6',
  grid: { stroke: 'rgba(160,180,200,0.12)', width: 1 },
  ticks: { stroke: 'rgba(160,180,200,0.25)', width: 1 },
  font: '12px system-ui, sans-serif',
  ...extra,
});

// series: [{label, color, dash, width, points?}] ; data: [xs(sec), ys...]
// hlines: [{value, color, label}] drawn across the plot (thresholds) and kept within the y range.
// xPeriod ('day'|'week'|'month'|'year'): the x axis and the legend name whole periods with their year.
export function makeChart(el, { series, data, height = 220, yLabel, valueFmt, spanGaps = false, xRange, hlines = [], xPeriod }) {
  const fmt = valueFmt || ((v) => (v == null ? '–' : num(v)));
  const width = Math.max(200, el.clientWidth || 400);
  const opts = {
    width,
    height,
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), CITY_TZ), // ticks on the city's hours and days
    cursor: { drag: { x: true, y: false }, focus: { prox: 24 } },
    legend: { live: true },
    scales: {
      x: xRange ? { time: true, range: () => xRange() } : { time: true },
      y: {
        range: (u, min, max) => {
          const vals = [min, max, ...hlines.map((l) => l.value)].filter((v) => typeof v === 'number' && Number.isFinite(v));
          if (!vals.length) return [0, 1];
          let lo = Math.min(...vals); let hi = Math.max(...vals);
          const pad = (hi - lo) * 0.08 || Math.abs(hi) * 0.1 || 1;
          lo -= pad; hi += pad;
          if (Math.min(...vals) >= 0 && lo < 0) lo = 0;
          return [lo, hi];
        },
      },
    },
    hooks: {
      draw: [(u) => {
        const { ctx } = u;
        const dpr = window.devicePixelRatio || 1;
        for (const l of hlines) {
          const y = Math.round(u.valToPos(l.value, 'y', true));
          ctx.save();
          ctx.strokeStyle = l.color;
          ctx.fillStyle = l.color;
          ctx.lineWidth = 1.5 * dpr;
          ctx.setLineDash([6 * dpr, 4 * dpr]);
          ctx.beginPath();
          ctx.moveTo(u.bbox.left, y);
          ctx.lineTo(u.bbox.left + u.bbox.width, y);
          ctx.stroke();
          if (l.label) {
            ctx.font = `${11 * dpr}px system-ui, sans-serif`;
            ctx.textAlign = 'left';
            ctx.textBaseline = 'bottom';
            ctx.fillText(l.label, u.bbox.left + 4 * dpr, y - 2 * dpr);
          }
          ctx.restore();
        }
      }],
    },
    axes: [axis({ values: xPeriod ? periodTicks(xPeriod) : xTicks, space: xPeriod ? 84 : 70 }), axis({ size: 56, values: (u, vals) => vals.map(fmt), label: yLabel, labelSize: yLabel ? 18 : 0 })],
    series: [{ label: t('time'), value: (u, v) => (v == null ? '–' : xPeriod ? fmtPeriod(xPeriod, v) : fmtFull(v)) },
      ...series.map((s, i) => ({
        label: s.label,
        stroke: s.color || PALETTE[i % PALETTE.length],
        width: s.width ?? 2,
        dash: s.dash,
        spanGaps: s.spanGaps ?? spanGaps,
        points: { show: s.points ?? false, size: 7 },
        value: (u, v) => fmt(v),
      }))],
  };
  const chart = new uPlot(opts, data, el);
  el.maeulChart = chart; // for diagnostics and the browser tests
  const ro = new ResizeObserver(() => {
    const w = Math.max(200, el.clientWidth);
    if (Math.abs(w - chart.width) > 2) chart.setSize({ width: w, height });
  });
  ro.observe(el);
  return {
    chart,
    setData(d) { chart.setData(d); },
    destroy() { ro.disconnect(); chart.destroy(); },
  };
}

// Ticks in the city's time: hours and minutes, with the date under the first tick of each day;
// dates only over longer spans.
function intl(opts) { return new Intl.DateTimeFormat(locale(), { timeZone: CITY_TZ, hour12: false, ...opts }); }
function fmtFull(sec) { return intl({ month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' }).format(new Date(sec * 1000)); }
function xTicks(u, splits) {
  const span = (u.scales.x.max ?? 0) - (u.scales.x.min ?? 0);
  const day = intl({ month: 'short', day: 'numeric' });
  const hm = intl({ hour: '2-digit', minute: '2-digit' });
  const key = (s) => day.format(new Date(s * 1000));
  if (span > 3 * 86400) return splits.map((s) => day.format(new Date(s * 1000)));
  return splits.map((s, i) => (i === 0 || key(splits[i - 1]) !== key(s) ? `${hm.format(new Date(s * 1000))}\n${key(s)}` : hm.format(new Date(s * 1000))));
}

// Ticks of a chart of whole periods: full dates (with the year) for days and weeks, month and year for
// months, the year for years; the year is written on the first tick and where it changes.
function fmtPeriod(period, sec) {
  const opts = period === 'year' ? { year: 'numeric' } : period === 'month' ? { year: 'numeric', month: 'short' }
    : { year: 'numeric', month: 'short', day: 'numeric' };
  return intl(opts).format(new Date(sec * 1000));
}
function periodTicks(period) {
  return (u, splits) => {
    const year = intl({ year: 'numeric' });
    const short = period === 'year' ? { year: 'numeric' } : period === 'month' ? { month: 'short' } : { month: 'short', day: 'numeric' };
    return splits.map((s, i) => {
      const d = new Date(s * 1000);
      if (period === 'year') return year.format(d);
      const first = i === 0 || year.format(new Date(splits[i - 1] * 1000)) !== year.format(d);
      return first ? `${intl(short).format(d)}\n${year.format(d)}` : intl(short).format(d);
    });
  };
}
