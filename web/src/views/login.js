// Sign-in: username and password by default (a cookie session: the password is sent once and never kept,
// the session secret stays in the HttpOnly cookie), or an API token for a kiosk display (/login?with=token),
// checked with GET /api/v1/me and kept in sessionStorage only.
import { h } from '../dom.js';
import { t, lang, setLang } from '../i18n.js';
import { api, ApiError } from '../api.js';
import { emit } from '../bus.js';
import { session, signedInWithPassword, signedInWithToken, forget, signInReason, loadMe } from '../session.js';

// "3 minutes" / "40 seconds" for a Retry-After.
function waitText(s) {
  if (!Number.isFinite(s) || s <= 0) return t('login_wait_moment');
  if (s < 90) return t('login_wait_s', { n: Math.ceil(s) });
  return t('login_wait_m', { n: Math.ceil(s / 60) });
}

export default {
  mount(el) {
    const reason = signInReason();
    let withToken = new URLSearchParams(location.search).get('with') === 'token';

    const notice = h('p', {
      class: reason === 'expired' ? 'form-notice warn' : 'form-notice', id: 'login-reason', role: 'status', hidden: !reason,
    }, reason === 'expired' ? t('login_expired') : reason === 'signed-out' ? t('login_signed_out') : '');

    // ---------------------------------------------------------------- username and password
    const user = h('input', {
      name: 'username', id: 'username', type: 'text', autocomplete: 'username', autocapitalize: 'none',
      spellcheck: 'false', required: true, maxlength: 64, 'aria-describedby': reason ? 'login-reason login-error' : 'login-error',
    });
    const pass = h('input', {
      name: 'password', id: 'password', type: 'password', autocomplete: 'current-password', required: true,
      'aria-describedby': 'login-error',
    });
    const err = h('p', { class: 'form-error', role: 'alert', id: 'login-error', hidden: true });
    const submit = h('button', { type: 'submit', class: 'btn btn-primary btn-wide' }, t('login_submit'));
    const pwForm = h('form', { class: 'login-form', id: 'password-form', method: 'post', action: '/login', novalidate: true, hidden: withToken },
      h('label', { for: 'username' }, t('login_username')), user,
      h('label', { for: 'password' }, t('login_password')), pass,
      err, submit);

    function fail(msg, field) {
      err.hidden = false;
      err.textContent = msg;
      for (const i of [user, pass]) i.removeAttribute('aria-invalid');
      if (field) { field.setAttribute('aria-invalid', 'true'); field.focus(); if (field.select) field.select(); }
    }

    pwForm.addEventListener('submit', async (e) => {
      e.preventDefault();
      const username = user.value.trim();
      if (!username) { fail(t('login_need_username'), user); return; }
      if (!pass.value) { fail(t('login_need_password'), pass); return; }
      submit.disabled = true;
      submit.textContent = t('login_checking');
      err.hidden = true;
      try {
        const answer = await api('/api/v1/sessions', { method: 'POST', body: { username, password: pass.value }, token: '' });
        pass.value = '';
        signedInWithPassword(answer);
        // The cookie must come back with the next request; a browser that refuses it cannot use the dashboard.
        const me = await loadMe();
        if (!me) { forget(); fail(t('login_no_cookie')); return; }
        emit('signed-in');
      } catch (ex) {
        if (ex instanceof ApiError && ex.status === 401) fail(t('login_wrong'), pass);
        else if (ex instanceof ApiError && ex.status === 429) fail(t('login_locked', { wait: waitText(ex.retryAfter) }), pass);
        else if (ex instanceof ApiError && ex.status === 503) fail(t('login_busy'));
        else if (ex instanceof ApiError && ex.network) fail(t('login_unreachable'));
        else fail(t('load_failed', { msg: ex.message }));
      } finally {
        submit.disabled = false;
        submit.textContent = t('login_submit');
      }
    });

    // ---------------------------------------------------------------- API token (kiosk display)
    const tokenInput = h('input', {
      name: 'token', id: 'token', type: 'password', autocomplete: 'off', spellcheck: 'false',
      required: true, 'aria-describedby': 'token-lead token-error',
    });
    const tokenErr = h('p', { class: 'form-error', role: 'alert', id: 'token-error', hidden: true });
    const tokenSubmit = h('button', { type: 'submit', class: 'btn btn-primary btn-wide' }, t('login_submit'));
    const tokenForm = h('form', { class: 'login-form', id: 'token-form', method: 'post', action: '/login', novalidate: true, hidden: !withToken },
      h('p', { id: 'token-lead', class: 'muted small' }, t('login_token_lead')),
      h('label', { for: 'token' }, t('login_token')),
      tokenInput, tokenErr, tokenSubmit);
    tokenForm.addEventListener('submit', async (e) => {
      e.preventDefault();
      const tok = tokenInput.value.trim();
      if (!tok) { tokenInput.focus(); return; }
      tokenSubmit.disabled = true;
      tokenSubmit.textContent = t('login_checking');
      tokenErr.hidden = true;
      try {
        const me = await api('/api/v1/me', { token: tok });
        if (me.role === 'device') throw new ApiError(403, '/api/v1/me', { detail: 'device token' });
        signedInWithToken(tok);
        session.me = me;
        tokenInput.value = '';
        emit('signed-in');
      } catch (ex) {
        tokenErr.hidden = false;
        if (ex instanceof ApiError && ex.status === 401) tokenErr.textContent = t('login_refused');
        else if (ex instanceof ApiError && ex.status === 403) tokenErr.textContent = t('login_forbidden');
        else if (ex instanceof ApiError && ex.network) tokenErr.textContent = t('login_unreachable');
        else tokenErr.textContent = t('load_failed', { msg: ex.message });
        tokenSubmit.disabled = false;
        tokenSubmit.textContent = t('login_submit');
        tokenInput.select();
      }
    });

    const toggle = h('button', {
      type: 'button', class: 'link-btn', id: 'token-toggle', 'aria-expanded': String(withToken), 'aria-controls': 'token-form',
      onclick: () => show(!withToken, true),
    });
    function show(token, focus) {
      withToken = token;
      pwForm.hidden = token;
      tokenForm.hidden = !token;
      toggle.setAttribute('aria-expanded', String(token));
      toggle.textContent = token ? t('login_with_password') : t('login_with_token');
      history.replaceState(null, '', token ? '/login?with=token' : '/login');
      if (focus) (token ? tokenInput : user).focus();
    }
    show(withToken, false);

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
        notice,
        pwForm, tokenForm,
        h('p', { class: 'login-alt' }, toggle),
        h('p', { class: 'login-public' }, h('a', { href: '/transparency' }, t('login_public'))))));
    setTimeout(() => (withToken ? tokenInput : user).focus(), 0);
    return {};
  },
};
