// Sign in. The username is remembered; tokens stay until the refresh token dies (30 days idle).
// A door link (/q/...) opened where the app has no session — WeChat's in-app browser, Safari
// opened by the camera app — is most likely not the installed app: say so first, in plain words,
// with a button that copies the link, beside the normal sign-in.
import { h, add, t, toast } from '../ui.js';
import { login, lastUsername, session, rememberUser } from '../auth.js';
import { refreshMe } from '../cache.js';
import { refreshPolicy } from '../policy.js';

const DOOR_LINK = /^\/q\//;

function installedApp() {
  return matchMedia('(display-mode: standalone)').matches || navigator.standalone === true;
}

/** Copy with the Clipboard API; where it is missing or refused, a selected text field. */
async function copyLink(link, fallbackBox) {
  try {
    await navigator.clipboard.writeText(link);
    toast(t('link_copied'));
    return;
  } catch { /* no clipboard here: let the rep copy it by hand */ }
  // A text area, so the whole link shows (wrapped) and can be checked before it is pasted.
  const field = h('textarea', { readonly: true, rows: 3, id: 'door-link-text', 'aria-label': t('door_link_field'), class: 'door-link-text' }, link);
  fallbackBox.replaceChildren(h('label', { for: field.id }, t('door_link_select')), field);
  field.focus();
  field.select();
  try { document.execCommand('copy'); } catch { /* the selection stays for a long-press */ }
}

function doorLinkNotice(path) {
  const link = `${location.origin}${path}`;
  const fallbackBox = h('div', {});
  return h('div', { class: 'card notice', id: 'door-link-notice', role: 'note' },
    h('h2', {}, t('door_link_title')),
    h('p', {}, t('door_link_body')),
    h('ol', {}, h('li', {}, t('door_link_step_1')), h('li', {}, t('door_link_step_2'))),
    h('button', { type: 'button', class: 'primary wide', id: 'copy-door-link', onclick: () => copyLink(link, fallbackBox) }, t('copy_link')),
    fallbackBox,
    h('p', { class: 'muted' }, t('door_link_sign_in_here')));
}

export async function render(main, _params, { navigate }) {
  document.title = `${t('sign_in')} · Doorstep`;
  const next = sessionStorage.getItem('doorstep.after_login') || '';
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
        // Who this is, and the server's rules the screens apply (policy.js), before the first one.
        const [who] = await Promise.all([refreshMe(), refreshPolicy().catch(() => null)]);
        rememberUser(who);
        window.dispatchEvent(new CustomEvent('doorstep:signed-in'));
        sessionStorage.removeItem('doorstep.after_login');
        // A door link opened before signing in goes on to it; otherwise the role's home ('/').
        await navigate(next && next !== '/login' ? next : '/', { replace: true });
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
  const doorLink = DOOR_LINK.test(next) && !installedApp();
  add(main, h('h1', {}, t('app_name')),
    doorLink ? doorLinkNotice(next) : h('p', { class: 'muted' }, t('tagline')), form);
  if (session()) add(main, h('p', { class: 'muted' }, t('signed_in_as', { name: session().username || '' })));
  if (!doorLink) (username.value ? password : username).focus();
}
