// Doorstep PWA entry: client-side routes by role, tabs, the account menu (sign out), sync status,
// service worker and its update prompt.
import { applyLanguage, toggleLanguage, t } from './i18n.js';
import { h, clear, banner, removeBanner, showStorageError, confirmDialog } from './ui.js';
import { session, rememberUser, signOut } from './auth.js';
import * as outbox from './outbox.js';
import { api } from './api.js';
import { refreshMe, refreshReference, me as cachedMe } from './cache.js';
import { loadPolicy, refreshPolicy } from './policy.js';
import './visits.js'; // registers the outbox acknowledgement handler (audits.js: on demand)

const screens = {
  login: () => import('./screens/login.js'),
  today: () => import('./screens/today.js'),
  scan: () => import('./screens/scan.js'),
  checkin: () => import('./screens/checkin.js'),
  visit: () => import('./screens/visit.js'),
  summary: () => import('./screens/summary.js'),
  outbox: () => import('./screens/outbox.js'),
  review: () => import('./screens/review.js'),
  board: () => import('./screens/board.js'),
  inbox: () => import('./screens/inbox.js'),
  console: () => import('./screens/console.js'),
  // Audit tours and rectifications: on demand, never in the rep's first load.
  audit: () => import('./screens/audit.js'),
  rectifications: () => import('./screens/rectifications.js'),
  rectification: () => import('./screens/rectifications.js'),
  notfound: () => import('./screens/notfound.js'),
};

const UUID = '([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})';
const routes = [
  [/^\/login$/, 'login'],
  [/^\/$/, 'home'],
  [/^\/scan$/, 'scan'],
  [/^\/q\/([A-Za-z0-9_-]{1,200})\/?$/, 'checkin'],
  [new RegExp(`^/visits?/${UUID}$`), 'visit'],
  [new RegExp(`^/visits?/${UUID}/summary$`), 'summary'],
  [/^\/outbox$/, 'outbox'],
  [/^\/review$/, 'review'],
  [new RegExp(`^/review/${UUID}$`), 'review'],
  [/^\/board$/, 'board'],
  [/^\/inbox$/, 'inbox'],
  [new RegExp(`^/audits?/${UUID}$`), 'audit'],
  [/^\/rectifications$/, 'rectifications'],
  [new RegExp(`^/rectifications?/${UUID}$`), 'rectification'],
  [/^\/admin(\/.*)?$/, 'console'],
];

// Each role's home and screens (DESIGN §7). Any other screen is "not found" for that role, so
// nobody is offered what their role cannot do; a manager opening a rep's visit gets its read-only
// review instead of the rep's editable screen. A door code (checkin) starts a manager's audit
// tour instead of a check-in; a rep's is a check-in.
const MANAGER = ['review', 'board', 'scan', 'checkin', 'audit', 'rectifications', 'rectification', 'outbox', 'inbox'];
const ROLES = {
  rep: { home: 'today', screens: ['today', 'scan', 'checkin', 'visit', 'summary', 'outbox', 'inbox', 'rectification', 'rectifications'] },
  supervisor: { home: 'review', screens: MANAGER, visit: 'review' },
  admin: { home: 'console', screens: ['console', ...MANAGER], visit: 'review' },
};
const TABS = {
  rep: [['/', 'today', 'tab_today'], ['/scan', 'scan', 'tab_scan'], ['/inbox', 'inbox', 'tab_inbox'], ['/outbox', 'outbox', 'tab_outbox']],
  supervisor: [['/review', 'review', 'tab_review'], ['/board', 'board', 'tab_board'], ['/scan', 'scan', 'tab_audit'], ['/rectifications', 'rectifications', 'tab_rects'], ['/inbox', 'inbox', 'tab_inbox']],
  admin: [['/admin', 'console', 'tab_console'], ['/review', 'review', 'tab_review'], ['/board', 'board', 'tab_board'], ['/inbox', 'inbox', 'tab_inbox']],
};

async function currentRole() {
  const role = session()?.role || (await cachedMe())?.role;
  return ROLES[role] ? role : 'rep';
}

function screenFor(name, role) {
  const policy = ROLES[role];
  if (name === 'home') return policy.home;
  if ((name === 'visit' || name === 'summary') && policy.visit) return policy.visit;
  return policy.screens.includes(name) ? name : 'notfound';
}

let cleanup = null;
let renderCount = 0;

export function navigate(path, { replace = false } = {}) {
  if (replace) history.replaceState({}, '', path); else history.pushState({}, '', path);
  return render();
}

function matchRoute(path) {
  for (const [pattern, screen] of routes) {
    const match = path.match(pattern);
    if (match) return [screen, match.slice(1)];
  }
  return ['notfound', []];
}

async function render() {
  const count = ++renderCount;
  const path = location.pathname;
  let [name, params] = matchRoute(path);
  if (name !== 'login' && !session()) {
    sessionStorage.setItem('doorstep.after_login', path);
    history.replaceState({}, '', '/login');
    name = 'login'; params = [];
  }
  const role = session() ? await currentRole() : null;
  if (name !== 'login') name = screenFor(name, role);
  const module = await screens[name]();
  if (count !== renderCount) return; // a newer navigation won
  if (cleanup) { try { cleanup(); } catch (error) { console.error(error); } }
  cleanup = null;
  const main = document.getElementById('main');
  clear(main);
  closeMenu();
  await drawTabs(name, role);
  try {
    cleanup = (await module.render(main, params, { navigate, rerender: render, role })) || null;
  } catch (error) {
    if (error?.name === 'QuotaExceededError') showStorageError(error);
    else { console.error(error); main.append(h('p', { class: 'error-text', role: 'alert' }, `${t('error')}: ${error.message}`)); }
  }
  window.dispatchEvent(new CustomEvent('doorstep:rendered', { detail: { screen: name } }));
}

async function drawTabs(current, role) {
  const nav = document.getElementById('tabs');
  const menuButton = document.getElementById('menu-button');
  menuButton.hidden = !role;
  menuButton.setAttribute('aria-label', t('account_menu'));
  if (current === 'login' || !role) { nav.hidden = true; return; }
  const pending = (await outbox.items()).length;
  const tabs = [...TABS[role]];
  // A manager's outbox is normally empty: its tab shows only when something waits there.
  if (role !== 'rep' && (pending || current === 'outbox')) tabs.push(['/outbox', 'outbox', 'tab_outbox']);
  clear(nav, tabs.map(([href, screen, label]) => h('a', {
    href, 'aria-current': screen === current ? 'page' : undefined, 'data-link': '',
  }, t(label),
  screen === 'outbox' ? h('span', { class: 'badge', id: 'outbox-badge', hidden: !pending }) : null,
  screen === 'inbox' ? h('span', { class: 'badge', id: 'inbox-badge', hidden: true }) : null)));
  nav.hidden = false;
  showPending(pending);
  showUnread(Number(localStorage.getItem('doorstep.unread') || 0));
  refreshUnread();
}

// --- the account menu: who is signed in, and sign out -------------------------------------------
function closeMenu() {
  document.getElementById('menu').hidden = true;
  document.getElementById('menu-button').setAttribute('aria-expanded', 'false');
}

async function openMenu() {
  const who = await cachedMe();
  const menu = document.getElementById('menu');
  clear(menu,
    h('p', { class: 'menu-who' }, h('strong', {}, who?.display_name || session()?.username || ''),
      h('span', { class: 'muted' }, who?.role ? t(`role_${who.role}`) : '')),
    h('button', { type: 'button', class: 'danger wide', id: 'sign-out', onclick: askSignOut }, t('sign_out')));
  menu.hidden = false;
  document.getElementById('menu-button').setAttribute('aria-expanded', 'true');
  menu.querySelector('button').focus();
}

/** Writes still waiting would be lost with the local data: say how many, and let them stay. */
async function askSignOut() {
  closeMenu();
  const waiting = (await outbox.items()).length;
  if (waiting && !(await confirmDialog({
    title: t('sign_out_title'), body: [t('sign_out_lose', { n: waiting }), t('sign_out_advice')],
    confirm: t('sign_out_anyway'), danger: true,
  }))) return;
  await signOut();
  removeBanner('signed-out');
  await navigate('/login', { replace: true });
  updateSyncStatus();
}

// --- the inbox tab's unread badge: GET /api/v1/notifications (unread_count), kept for offline ---
function showUnread(count) {
  localStorage.setItem('doorstep.unread', String(count));
  const badge = document.getElementById('inbox-badge');
  if (!badge) return;
  badge.textContent = String(count);
  badge.setAttribute('aria-label', t('unread_count', { n: count }));
  badge.hidden = !count;
}

let unreadCheck = null;
function refreshUnread() {
  if (!navigator.onLine || !session() || unreadCheck) return;
  unreadCheck = api('GET', '/api/v1/notifications?limit=1')
    .then((page) => showUnread(page.unread_count || 0))
    .catch(() => {})
    .finally(() => { unreadCheck = null; });
}
addEventListener('doorstep:unread', (event) => showUnread(event.detail.count));

async function updateSyncStatus() {
  const el = document.getElementById('sync-status');
  const all = await outbox.items().catch(() => []);
  const attention = all.filter((i) => i.state === 'attention').length;
  const text = !navigator.onLine ? t('status_offline')
    : !session() ? ''
      : attention ? t('status_attention', { n: attention })
      : all.length ? t('status_pending', { n: all.length }) : t('status_synced');
  el.textContent = text;
  showPending(all.length);
}

/** The outbox tab's badge follows the queue as items are added and sent, not only on render. */
function showPending(count) {
  const badge = document.getElementById('outbox-badge');
  if (!badge) return;
  badge.textContent = String(count);
  badge.setAttribute('aria-label', t('pending_count', { n: count }));
  badge.hidden = !count;
}

// Same-origin links go through the router.
document.addEventListener('click', (event) => {
  const link = event.target.closest('a[href]');
  if (!link || event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey) return;
  const url = new URL(link.href, location.href);
  if (url.origin !== location.origin || link.target || link.hasAttribute('download')) return;
  if (/^\/(api|s|cal|docs|redoc|openapi\.json)(\/|$)/.test(url.pathname)) return; // server pages
  event.preventDefault();
  navigate(url.pathname + url.search);
});
addEventListener('popstate', () => render());

// --- service worker: precached shell; a new version waits for the rep's tap ---------------------
let updateRequested = false;
async function registerServiceWorker() {
  if (!('serviceWorker' in navigator)) return;
  const registration = await navigator.serviceWorker.register('/sw.js', { scope: '/', updateViaCache: 'none' });
  const offer = (worker) => banner('update', t('update_ready'), {
    action: h('button', { class: 'primary', type: 'button', onclick: () => { updateRequested = true; worker.postMessage({ type: 'SKIP_WAITING' }); } }, t('refresh')),
  });
  if (registration.waiting && navigator.serviceWorker.controller) offer(registration.waiting);
  registration.addEventListener('updatefound', () => {
    const worker = registration.installing;
    worker?.addEventListener('statechange', () => {
      if (worker.state === 'installed' && navigator.serviceWorker.controller) offer(worker);
    });
  });
  navigator.serviceWorker.addEventListener('controllerchange', () => {
    // Only when the rep asked: the first install also changes controller, and must not reload.
    if (updateRequested) location.reload();
  });
  setInterval(() => registration.update().catch(() => {}), 30 * 60_000);
}

async function syncReference() {
  if (!navigator.onLine || !session()) return;
  try {
    const who = await refreshMe();
    rememberUser(who);
    const last = JSON.parse(localStorage.getItem('doorstep.last_position') || 'null');
    await refreshReference(last);
  } catch (error) {
    if (error?.name === 'QuotaExceededError') showStorageError(error);
  }
}

async function start() {
  applyLanguage();
  document.getElementById('lang-switch').addEventListener('click', () => { toggleLanguage(); render(); updateSyncStatus(); });
  document.getElementById('menu-button').addEventListener('click', () => {
    if (document.getElementById('menu').hidden) openMenu(); else closeMenu();
  });
  document.addEventListener('keydown', (event) => { if (event.key === 'Escape') closeMenu(); });
  document.addEventListener('click', (event) => {
    if (!event.target.closest('#menu, #menu-button')) closeMenu();
  });
  outbox.subscribe(updateSyncStatus);
  addEventListener('online', () => { updateSyncStatus(); syncReference(); });
  addEventListener('offline', updateSyncStatus);
  addEventListener('doorstep:signed-out', () => {
    banner('signed-out', t('signed_out_keep'), { error: true, action: h('a', { class: 'button', href: '/login', 'data-link': '' }, t('sign_in')) });
  });
  // The server's rules as last heard (policy.js), so every screen draws from them, offline too;
  // a phone that has never heard them asks before its first screen.
  const known = await loadPolicy().catch(() => null);
  if (!known && session() && navigator.onLine) await refreshPolicy().catch(() => null);
  addEventListener('doorstep:signed-in', async () => {
    removeBanner('signed-out');
    await syncReference();
    outbox.start();
    outbox.retryAll();
  });
  await render();
  updateSyncStatus();
  registerServiceWorker().catch((error) => console.warn('service worker', error));
  // Ask the browser not to evict the outbox under storage pressure.
  navigator.storage?.persist?.().catch(() => {});
  if (session()) {
    outbox.start();
    syncReference();
  }
}

start();
