// Sign in. The username is remembered; tokens stay until the refresh token dies (30 days idle).
import { h, add, t } from '../ui.js';
import { login, lastUsername, session } from '../auth.js';
import { refreshMe } from '../cache.js';
import { rememberUser } from '../auth.js';

export async function render(main, _params, { navigate }) {
  document.title = `${t('sign_in')} · Doorstep`;
  const error = h('p', { class: 'error-text', role: 'alert', id: 'login-error' });
  const username = h('input', { id: 'username', type: 'text', autocomplete: 'username', autocapitalize: 'none', required: true, value: lastUsername() });
  const password = h('input', { id: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const button = h('button', { class: 'primary wide', type: 'submit' }, t('sign_in'));
  const form = h('form', {
    'aria-describedby': 'login-error',
    onsubmit: async (event) => {
      event.preventDefault();
      error.textContent = '';
      if (!navigator.onLine) { error.textContent = t('login_offline'); return; }
      button.disabled = true;
      try {
        await login(username.value.trim(), password.value);
        const who = await refreshMe();
        rememberUser(who);
        window.dispatchEvent(new CustomEvent('doorstep:signed-in'));
        const next = sessionStorage.getItem('doorstep.after_login');
        sessionStorage.removeItem('doorstep.after_login');
        // A QR link opened before signing in goes on to check-in; otherwise each role's home.
        const home = who.role === 'rep' ? '/' : '/review';
        await navigate(next && next !== '/login' && next !== '/' ? next : home, { replace: true });
      } catch (err) {
        error.textContent = err.status === 400 || err.status === 401 ? t('login_failed') : `${t('error')}: ${err.message}`;
      } finally {
        button.disabled = false;
      }
    },
  },
  h('label', { for: 'username' }, t('username')), username,
  h('label', { for: 'password' }, t('password')), password,
  error, button);
  add(main, h('h1', {}, t('app_name')), h('p', { class: 'muted' }, t('tagline')), form);
  if (session()) add(main, h('p', { class: 'muted' }, t('signed_in_as', { name: session().username || '' })));
  (username.value ? password : username).focus();
}
