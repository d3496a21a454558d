// The Maeul operator dashboard: shell, routing, who is signed in (session.js), sign-out and session end.
import './styles.css';
import { h, replace, announce } from './dom.js';
import { on, emit } from './bus.js';
import { t, lang, setLang } from './i18n.js';
import { api } from './api.js';
import { state, loadRegistry, loadLatest, loadAlerts, resetStore } from './store.js';
import { session, loadMe, mode, wasSignedIn, forget, can, displayName } from './session.js';
import { startLive, stopLive, reconnectNow, POLL_EVERY_S } from './live.js';
import { clock, ago } from './format.js';
import { initCritical, soundEnabled, setSound } from './critical.js';

import loginView from './views/login.js';
import overviewView from './views/overview.js';
import mapView from './views/map.js';
import alertsView from './views/alerts.js';
import incidentsView from './views/incidents.js';
import kpisView from './views/kpis.js';
import publicView from './views/public.js';
import usersView from './views/users.js';
import welfareView from './views/welfare.js';
import accessReviewView from './views/access-review.js';
import transitView from './views/transit.js';

const routes = {
  '/': { view: overviewView, nav: 'nav_overview' },
  '/map': { view: mapView, nav: 'nav_map' },
  '/alerts': { view: alertsView, nav: 'nav_alerts', can: 'alerts' },
  '/incidents': { view: incidentsView, nav: 'nav_incidents' },
  '/kpis': { view: kpisView, nav: 'nav_kpis' },
  '/transit': { view: transitView, nav: 'nav_transit' },
  '/welfare': { view: welfareView, nav: 'nav_welfare', can: 'welfare-data' },
  '/users': { view: usersView, nav: 'nav_users', can: 'users' },
  '/access-review': { view: accessReviewView, nav: 'nav_access_review', can: 'access-review' },
  '/login': { view: loginView, bare: true, public: true },
  '/transparency': { view: publicView, bare: true, public: true },
};
const NAV = ['/', '/map', '/alerts', '/incidents', '/kpis', '/transit', '/welfare', '/users', '/access-review'];

const app = document.getElementById('app');
let current = null; // { path, view instance }
let sessionStarted = false;
let shell = null;
let focusContent = false; // after going to another screen, focus moves to its content (its h1, or main)

export function navigate(path, { replace: rep = false } = {}) {
  if (path === location.pathname + location.search) { render(); return; }
  focusContent = new URL(path, location.href).pathname !== location.pathname;
  if (rep) history.replaceState(null, '', path); else history.pushState(null, '', path);
  render();
}

// Focus on the new screen's heading (or its main), so that keyboard and screen reader users start there
// instead of on the link they followed. Views render their h1 when they mount.
function moveFocusToContent() {
  if (!focusContent) return;
  focusContent = false;
  const main = app.querySelector('main');
  const target = main?.querySelector('h1') || main;
  if (!target) return;
  if (!target.hasAttribute('tabindex')) target.setAttribute('tabindex', '-1');
  target.focus();
}
window.addEventListener('popstate', () => render());
on('navigate', (p) => navigate(p));

// Links inside the app change the route without a page load.
document.addEventListener('click', (e) => {
  const a = e.target.closest && e.target.closest('a[href]');
  if (!a || a.target || a.hasAttribute('download') || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin || url.pathname.startsWith('/api/') || url.pathname.startsWith('/public/v1')) return;
  if (!(url.pathname in routes)) return;
  e.preventDefault();
  navigate(url.pathname + url.search);
});

function startSession() {
  if (sessionStarted) return;
  sessionStarted = true;
  loadRegistry();
  loadLatest();
  if (can('alerts')) loadAlerts();
  startLive({ feed: can('live'), alerts: can('alerts') });
}

// Back to the sign-in page: `why` is 'expired' (a 401, or the live feed closed for the session) or
// 'signed-out'. What the last person saw is dropped; the language (localStorage) stays.
function endSession(why) {
  if (ending) return;
  ending = true;
  stopLive();
  sessionStarted = false;
  forget(why);
  // After a session end, signing in again goes back to the screen the person was on.
  if (why === 'expired' && routes[location.pathname] && !routes[location.pathname].public) {
    try { sessionStorage.setItem('maeul.next', location.pathname + location.search); } catch { /* ignore */ }
  }
  resetStore();
  shell = null;
  navigate('/login', { replace: true });
  ending = false;
}
let ending = false;
on('auth:lost', () => { if (sessionStarted || session.me) endSession('expired'); });
on('signed-in', () => {
  resetStore();
  startSession();
  let next = null;
  try { next = sessionStorage.getItem('maeul.next'); sessionStorage.removeItem('maeul.next'); } catch { /* ignore */ }
  const nextPath = next ? next.split('?')[0] : '';
  navigate(nextPath in routes && !routes[nextPath].public && allowed(routes[nextPath]) ? next : '/', { replace: true });
});

// DELETE /api/v1/sessions/current ends the session on the server (and clears the cookie); a display token
// is only forgotten here (revoking it is an admin's job).
async function signOut() {
  if (mode() === 'password') {
    try { await api('/api/v1/sessions/current', { method: 'DELETE', quiet: true }); } catch { /* ended already, or unreachable */ }
  }
  endSession('signed-out');
}

function allowed(route) { return !route.can || can(route.can); }

// ------------------------------------------------------------------ shell

function buildShell() {
  const navLinks = NAV.filter((p) => allowed(routes[p])).map((p) => h('a', { href: p, 'data-nav': p, class: 'nav-link' },
    h('span', { class: 'nav-label' }, t(routes[p].nav)),
    // the count is a badge to the eye and part of the link's name in words (updateNav): "Alerts, 5 open"
    p === '/alerts' ? [' ', h('span', { class: 'nav-badge', id: 'nav-alert-count', 'aria-hidden': 'true', hidden: true })] : null));
  const livePill = h('button', {
    type: 'button', class: 'live-pill', id: 'live-status',
    onclick: () => reconnectNow(), title: t('live_retry_now'),
  });
  const soundBtn = h('button', {
    type: 'button', class: 'icon-btn', id: 'sound-toggle', 'aria-pressed': String(soundEnabled()),
    onclick: () => { setSound(!soundEnabled()); updateSound(); },
  });
  const langBtn = h('button', {
    type: 'button', class: 'lang-btn', id: 'lang-toggle', lang: lang() === 'ko' ? 'en' : 'ko',
    'aria-label': t('lang_switch_label'), onclick: () => setLang(lang() === 'ko' ? 'en' : 'ko'),
  }, t('lang_switch'));
  const signOutBtn = h('button', { type: 'button', class: 'link-btn', id: 'sign-out', onclick: () => signOut() }, t('sign_out'));
  const me = session.me || {};
  const who = h('span', { class: 'who', id: 'who', 'data-role': me.role, 'data-kind': me.kind },
    h('span', { class: 'who-name' }, displayName()),
    h('span', { class: 'who-role' }, me.kind === 'token' ? `${t(`role_${me.role}`)} · ${t('who_token')}` : t(`role_${me.role}`)));
  const header = h('header', { class: 'topbar' },
    h('a', { href: '/', class: 'brand', 'aria-label': `${t('app_name')} — ${t('city')} ${t('app_sub')}` },
      h('span', { class: 'brand-mark', 'aria-hidden': 'true' }, '⌂'),
      h('span', { class: 'brand-name' }, t('app_name')),
      h('span', { class: 'brand-sub' }, `${t('city')} · ${t('app_sub')}`)),
    h('nav', { class: 'mainnav', 'aria-label': t('main_nav') }, navLinks),
    h('div', { class: 'top-right' },
      livePill,
      h('time', { class: 'clock', id: 'clock' }, clock()),
      soundBtn, langBtn, who, signOutBtn));
  const banner = h('div', { id: 'crit-banner', class: 'crit-banner', role: 'alert', hidden: true });
  const main = h('main', { id: 'main', tabindex: '-1', class: 'main' });
  const root = h('div', { class: 'shell' },
    h('a', { href: '#main', class: 'skip-link', onclick: (e) => { e.preventDefault(); main.focus(); } }, t('skip')),
    header, banner, main,
    h('div', { id: 'sr-polite', class: 'sr-only', 'aria-live': 'polite' }),
    h('div', { id: 'sr-assertive', class: 'sr-only', 'aria-live': 'assertive' }));
  shell = { root, main, livePill, soundBtn, banner };
  updateSound();
  return root;
}

function updateSound() {
  if (!shell) return;
  const on = soundEnabled();
  shell.soundBtn.setAttribute('aria-pressed', String(on));
  shell.soundBtn.setAttribute('aria-label', on ? t('sound_on') : t('sound_off'));
  shell.soundBtn.title = on ? t('sound_on') : t('sound_off');
  replace(shell.soundBtn, h('svg', { viewBox: '0 0 24 24', 'aria-hidden': 'true', focusable: 'false' },
    h('path', { d: 'M6 8a6 6 0 0 1 12 0c0 7 3 9 3 9H3s3-2 3-9' }),
    h('path', { d: 'M10.3 21a1.94 1.94 0 0 0 3.4 0' }),
    on ? null : h('path', { d: 'M3 3l18 18' })));
}

function updateLive() {
  if (!shell) return;
  const pill = shell.livePill;
  const s = state.live.status;
  let text; let cls;
  if (!state.online) { text = t('net_offline'); cls = 'offline'; }
  else if (s === 'live') { text = t('live_live'); cls = 'live'; }
  else if (s === 'connecting') { text = t('live_connecting'); cls = 'connecting'; }
  else if (s === 'retrying') {
    text = `${t('live_offline')} · ${t('live_retry', { s: Math.max(0, Math.ceil((state.live.retryAt - Date.now()) / 1000)) })}`;
    cls = 'offline';
  } else if (s === 'polling') { text = t('live_polling', { s: POLL_EVERY_S }); cls = 'polling'; }
  else if (s === 'forbidden') { text = t('live_forbidden'); cls = 'polling'; }
  else { text = t('live_offline'); cls = 'offline'; }
  if (pill.dataset.state && pill.dataset.state !== cls) announce(text);
  pill.className = `live-pill ${cls}`;
  pill.dataset.state = cls;
  const last = state.lastReadingAt ? ` · ${t('last_data', { t: ago(state.lastReadingAt) })}` : '';
  replace(pill, h('span', { class: 'dot', 'aria-hidden': 'true' }), h('span', { class: 'live-text' }, text),
    cls === 'live' ? h('span', { class: 'live-last' }, last) : null);
  pill.disabled = cls === 'live' || cls === 'connecting';
  document.body.classList.toggle('is-offline', cls === 'offline');
}

function updateNav(path) {
  if (!shell) return;
  for (const a of shell.root.querySelectorAll('[data-nav]')) {
    const active = a.dataset.nav === path;
    a.classList.toggle('active', active);
    if (active) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
  const badge = document.getElementById('nav-alert-count');
  if (badge) {
    let n = 0; let crit = 0;
    for (const a of state.alerts.values()) { if (a.state === 'open') n++; if (a.severity === 'critical' && a.state === 'open') crit++; }
    badge.hidden = n === 0;
    badge.textContent = String(n);
    badge.classList.toggle('crit', crit > 0);
    const link = badge.closest('a');
    if (n) link.setAttribute('aria-label', `${t('nav_alerts')}, ${t('nav_alerts_open', { n })}`);
    else link.removeAttribute('aria-label');
  }
}

// ------------------------------------------------------------------ rendering

function render() {
  const path = location.pathname.replace(/\/+$/, '') || '/';
  let route = routes[path];
  if (!route) { navigate('/', { replace: true }); return; }
  if (!route.public && !session.me) {
    // Who is signed in (a cookie of this or another tab, a token of this tab)? Asked once, then drawn again.
    const want = path + location.search;
    if (current?.instance?.destroy) current.instance.destroy();
    current = null;
    shell = null;
    replace(app, h('main', { class: 'boot', id: 'main', 'aria-busy': 'true' }, h('p', { class: 'muted' }, t('loading'))));
    loadMe().then((me) => {
      if (me && me.role !== 'device') { render(); return; }
      forget(wasSignedIn() ? 'expired' : null);
      try { sessionStorage.setItem('maeul.next', want); } catch { /* ignore */ }
      history.replaceState(null, '', '/login');
      render();
    }, () => {
      // The server cannot be reached: the sign-in page says so when it is tried.
      history.replaceState(null, '', '/login');
      render();
    });
    return;
  }
  if (current?.instance?.destroy) current.instance.destroy();
  current = null;
  const routePath = route === routes['/login'] ? '/login' : path;
  document.title = titleFor(route);
  if (route.bare) {
    shell = null;
    const el = h('div', { class: 'bare' });
    replace(app, el);
    current = { path: routePath, instance: route.view.mount(el, { navigate }) };
    moveFocusToContent();
    return;
  }
  startSession();
  if (!shell || !app.contains(shell.root)) replace(app, buildShell());
  updateNav(routePath);
  updateLive();
  emit('shell');
  replace(shell.main);
  const el = h('div', { class: `view view-${routePath.slice(1) || 'overview'}` });
  shell.main.append(el);
  if (!allowed(route)) {
    el.append(h('h1', {}, t(route.nav)), h('div', { class: 'placeholder na', 'data-state': 'forbidden' }, h('p', {}, t('forbidden_role'))));
    current = { path: routePath, instance: {} };
  } else {
    current = { path: routePath, instance: route.view.mount(el, { navigate, params: new URLSearchParams(location.search) }) };
  }
  moveFocusToContent();
}

function titleFor(route) {
  const base = `${t('app_name')} · ${t('city')}`;
  if (route === routes['/login']) return `${t('login_title')} · ${base}`;
  if (route === routes['/transparency']) return t('pub_title');
  return `${t(route.nav)} · ${base}`;
}

on('changes', (c) => {
  if (c.live || c.alerts) { updateLive(); updateNav(current?.path); }
  if (current?.instance?.update) current.instance.update(c);
});

on('lang', () => {
  shell = null; // rebuilt in the new language
  render();
});

// Once a second: the clock, the reconnect countdown, "n s ago".
setInterval(() => {
  const c = document.getElementById('clock');
  if (c) c.textContent = clock();
  if (state.live.status !== 'live' || state.lastReadingAt) updateLive();
  if (current?.instance?.tick) current.instance.tick();
}, 1000);

initCritical();
render();
