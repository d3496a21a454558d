// Small shared pieces: badges, placeholders, sparklines.
import { h } from './dom.js';
import { t } from './i18n.js';
import { ApiError } from './api.js';

export function sevBadge(sev) {
  return h('span', { class: `sev-badge sev-${sev}` }, t(`sev_${sev}`));
}

export function stateBadge(st) {
  return h('span', { class: `state-badge state-${st}` }, t(`state_${st}`));
}

export function sensorStateBadge(st) {
  return h('span', { class: `st-badge st-${st}` }, h('span', { class: 'st-dot', 'aria-hidden': 'true' }), t(`st_${st}`));
}

// A panel saying why something is not shown: not offered by the server yet, not allowed, or failed.
export function unavailable(err, path, onRetry) {
  if (err === 'unavailable' || (err instanceof ApiError && err.notAvailable)) {
    return h('div', { class: 'placeholder na', 'data-state': 'not-available' },
      h('strong', {}, t('not_available')),
      h('p', {}, t('not_available_long', { path })));
  }
  if (err === 'forbidden' || (err instanceof ApiError && err.forbidden)) {
    return h('div', { class: 'placeholder na', 'data-state': 'forbidden' }, h('p', {}, t('forbidden_long')));
  }
  return h('div', { class: 'placeholder error', 'data-state': 'error' },
    h('p', {}, t('load_failed', { msg: err?.message || String(err || '') })),
    onRetry ? h('button', { type: 'button', class: 'btn btn-small', onclick: onRetry }, t('retry')) : null);
}

export function loading() {
  return h('div', { class: 'placeholder loading', 'aria-busy': 'true' }, t('loading'));
}

// A tiny line of points [[x, y]...] as inline SVG.
export function sparkline(points, { width = 96, height = 26, cls = '' } = {}) {
  // Scales with its box (CSS), keeping its proportions; every point inside the view box. A missing value
  // (null) is a gap, not a line across it.
  const svg = h('svg', { class: `spark ${cls}`, viewBox: `0 0 ${width} ${height}`, width, height, preserveAspectRatio: 'none', 'aria-hidden': 'true', focusable: 'false' });
  const ys = points.map((p) => p[1]).filter((v) => typeof v === 'number' && Number.isFinite(v));
  if (ys.length < 2) return svg;
  const min = Math.min(...ys); const max = Math.max(...ys);
  const span = max - min || 1;
  const step = (width - 4) / (points.length - 1);
  let run = [];
  const flush = () => {
    if (run.length > 1) svg.append(h('polyline', { points: run.join(' '), fill: 'none', 'stroke-width': 1.8, 'stroke-linejoin': 'round', 'stroke-linecap': 'round' }));
    run = [];
  };
  points.forEach((p, i) => {
    if (typeof p[1] !== 'number' || !Number.isFinite(p[1])) { flush(); return; }
    run.push(`${(2 + i * step).toFixed(1)},${(height - 3 - ((p[1] - min) / span) * (height - 6)).toFixed(1)}`);
  });
  flush();
  return svg;
}

export function section(title, body, extra) {
  return h('section', { class: 'panel', 'aria-label': title },
    h('div', { class: 'panel-head' }, h('h2', {}, title), extra || null),
    body);
}
