// Sign-in: a token field; the token is checked against the API and kept in sessionStorage only.
import { h } from '../dom.js';
import { t, lang, setLang } from '../i18n.js';
import { api, setToken, ApiError } from '../api.js';
import { emit } from '../bus.js';

export default {
  mount(el) {
    let expired = false;
    try { expired = sessionStorage.getItem('maeul.expired') === '1'; sessionStorage.removeItem('maeul.expired'); } catch { /* ignore */ }
    const input = h('input', {
      name: 'token', id: 'token', type: 'password', autocomplete: 'off', spellcheck: 'false',
      required: true, 'aria-describedby': 'login-lead', autofocus: true,
    });
    const msg = h('p', { class: 'form-error', role: 'alert', id: 'login-error', hidden: !expired }, expired ? t('login_expired') : '');
    const button = h('button', { type: 'submit', class: 'btn btn-primary btn-wide' }, t('login_submit'));
    const form = h('form', { class: 'login-form', method: 'post', action: '/login', novalidate: true },
      h('label', { for: 'token' }, t('login_token')),
      input, msg, button);
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const tok = input.value.trim();
      if (!tok) { input.focus(); return; }
      button.disabled = true;
      button.textContent = t('login_checking');
      msg.hidden = true;
      try {
        await api('/api/v1/zones?limit=1', { token: tok });
        setToken(tok);
        input.value = '';
        emit('signed-in');
      } catch (ex) {
        msg.hidden = false;
        if (ex instanceof ApiError && ex.status === 401) msg.textContent = t('login_refused');
        else if (ex instanceof ApiError && ex.status === 403) msg.textContent = t('login_forbidden');
        else if (ex instanceof ApiError && ex.network) msg.textContent = t('login_unreachable');
        else msg.textContent = t('load_failed', { msg: ex.message });
        button.disabled = false;
        button.textContent = t('login_submit');
        input.select();
      }
    });
    el.append(h('main', { class: 'login-page', id: 'main' },
      h('div', { class: 'login-card' },
        h('div', { class: 'login-head' },
          h('span', { class: 'brand-mark big', 'aria-hidden': 'true' }, '⌂'),
          h('div', {},
            h('h1', {}, `${t('app_name')} · ${t('city')}`),
            h('p', { class: 'muted' }, t('app_sub'))),
          h('button', {
            type: 'button', class: 'lang-btn', id: 'lang-toggle', lang: lang() === 'ko' ? 'en' : 'ko',
            'aria-label': t('lang_switch_label'), onclick: () => setLang(lang() === 'ko' ? 'en' : 'ko'),
          }, t('lang_switch'))),
        h('h2', {}, t('login_title')),
        h('p', { id: 'login-lead', class: 'muted' }, t('login_lead')),
        form,
        h('p', { class: 'login-public' }, h('a', { href: '/transparency' }, t('login_public'))))));
    setTimeout(() => input.focus(), 0);
    return {};
  },
};
