// A critical alert draws attention at once: a banner on every screen, a count in the tab title, an assertive
// announcement for screen readers and (unless turned off) a short alarm tone.
import { h, replace, announce } from './dom.js';
import { on } from './bus.js';
import { t } from './i18n.js';
import { openCritical } from './store.js';
import { noteDialog, alertTitle, alertWhere, alertValue } from './dialogs.js';

const SOUND_KEY = 'maeul.sound';
let flashTimer = null;
let seen = new Set();

export function soundEnabled() {
  try { return localStorage.getItem(SOUND_KEY) !== 'off'; } catch { return true; }
}
export function setSound(onOff) {
  try { localStorage.setItem(SOUND_KEY, onOff ? 'on' : 'off'); } catch { /* ignore */ }
}

let audio = null;
// What the alarm did, for diagnostics and the browser tests (read-only on window.maeulSound): tones started,
// and the audio context's state and clock (a context that is 'running' with its clock moving is sounding).
export const soundStats = {
  played: 0,
  get state() { return audio ? audio.state : 'none'; },
  get time() { return audio ? audio.currentTime : 0; },
};
window.maeulSound = soundStats;
function beep() {
  if (!soundEnabled()) return;
  try {
    audio = audio || new (window.AudioContext || window.webkitAudioContext)();
    if (audio.state === 'suspended') audio.resume();
    const now = audio.currentTime;
    for (let i = 0; i < 3; i++) {
      const o = audio.createOscillator();
      const g = audio.createGain();
      o.type = 'square';
      o.frequency.value = i % 2 ? 660 : 880;
      g.gain.setValueAtTime(0.0001, now + i * 0.28);
      g.gain.exponentialRampToValueAtTime(0.12, now + i * 0.28 + 0.02);
      g.gain.exponentialRampToValueAtTime(0.0001, now + i * 0.28 + 0.22);
      o.connect(g).connect(audio.destination);
      o.start(now + i * 0.28);
      o.stop(now + i * 0.28 + 0.25);
    }
    soundStats.played++;
  } catch { /* no audio */ }
}

function renderBanner() {
  const el = document.getElementById('crit-banner');
  if (!el) return;
  const list = openCritical();
  if (!list.length) {
    el.hidden = true;
    el.classList.remove('flash');
    document.body.classList.remove('has-critical');
    setTitleCount(0);
    return;
  }
  const a = list[0];
  el.hidden = false;
  document.body.classList.add('has-critical');
  replace(el,
    h('span', { class: 'crit-icon', 'aria-hidden': 'true' }, '⚠'),
    h('strong', { class: 'crit-label' }, t('crit_banner')),
    h('span', { class: 'crit-text' },
      h('span', { class: 'crit-rule' }, alertTitle(a)),
      h('span', { class: 'crit-where' }, alertWhere(a)),
      alertValue(a) ? h('span', { class: 'crit-value' }, alertValue(a)) : null,
      list.length > 1 ? h('span', { class: 'crit-more' }, t('crit_more', { n: list.length - 1 })) : null),
    h('span', { class: 'crit-actions' },
      h('a', { href: '/alerts', class: 'btn btn-small btn-inverse' }, t('crit_view')),
      h('button', {
        type: 'button', class: 'btn btn-small btn-inverse', 'data-action': 'banner-ack',
        onclick: () => noteDialog(a, 'ack'),
      }, t('crit_ack'))));
  setTitleCount(list.length);
}

// The tab title carries one prefix, "(⚠ n) ", with the number of open critical alerts, and none without them.
// Screens set their plain title on every render (main.js); this only adds or strips the prefix.
const TITLE_PREFIX = /^\(⚠ \d+\) /;
function setTitleCount(n) {
  const plain = document.title.replace(TITLE_PREFIX, '');
  const want = n > 0 ? `(⚠ ${n}) ${plain}` : plain;
  if (document.title !== want) document.title = want;
}

function flash() {
  const el = document.getElementById('crit-banner');
  if (!el) return;
  el.classList.remove('flash');
  void el.offsetWidth; // restart the animation
  el.classList.add('flash');
  clearTimeout(flashTimer);
  flashTimer = setTimeout(() => el.classList.remove('flash'), 6000);
}

export function initCritical() {
  on('critical', (a) => {
    if (seen.has(a.id)) return;
    seen.add(a.id);
    renderBanner();
    flash();
    beep();
    announce(`${t('crit_banner')}: ${alertTitle(a)} — ${alertWhere(a)} ${alertValue(a)}`, true);
  });
  on('changes', (c) => { if (c.alerts || c.registry) renderBanner(); });
  on('shell', () => renderBanner());
}
