// Doorstep PWA entry: client-side routes, tabs, sync status, service worker and its update prompt.
import { applyLanguage, toggleLanguage, t } from './i18n.js';
import { h, clear, banner, removeBanner, showStorageError } from './ui.js';
import { session, rememberUser } from './auth.js';
import * as outbox from './outbox.js';
import { api } from './api.js';
import { refreshMe, refreshReference, me as cachedMe } from './cache.js';
import './visits.js'; // registers the outbox acknowledgement handler

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
};

const UUID = '([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})';
const routes = [
  [/^\/login$/, 'login'],
  [/^\/$/, 'today'],
  [/^\/scan$/, 'scan'],
  [/^\/q\/([A-Za-z0-9_-]{1,200})\/?$/, 'checkin'],
  [new RegExp(`^/visit/${UUID}$`), 'visit'],
  [new RegExp(`^/visit/${UUID}/summary$`), 'summary'],
  [/^\/outbox$/, 'outbox'],
  [/^\/review$/, 'review'],
  [new RegExp(`^/review/${UUID}$`), 'review'],
  [/^\/board$/, 'board'],
  [/^\/inbox$/, 'inbox'],
];

let cleanup = null;
let renderCount = 0;

export function navigate(path, { replace = false } = {}) {
  if (replace) history.replaceState({}, '', path); else history.pushState({}, '', path);
  return render();
}

async function render() {
  const count = ++renderCount;
  const path = location.pathname;
  let name = 'today';
  let params = [];
  for (const [pattern, screen] of routes) {
    const match = path.match(pattern);
    if (match) { name = screen; params = match.slice(1); break; }
  }
  if (name !== 'login' && !session()) {
    sessionStorage.setItem('doorstep.after_login', path);
    history.replaceState({}, '', '/login');
    name = 'login'; params = [];
  }
  const module = await screens[name]();
  if (count !== renderCount) return; // a newer navigation won
  if (cleanup) { try { cleanup(); } catch (error) { console.error(error); } }
  cleanup = null;
  const main = document.getElementById('main');
  clear(main);
  await drawTabs(name);
  try {
    cleanup = (await module.render(main, params, { navigate, rerender: render })) || null;
  } catch (error) {
    if (error?.name === 'QuotaExceededError') showStorageError(error);
    else { console.error(error); main.append(h('p', { class: 'error-text', role: 'alert' }, `${t('error')}: ${error.message}`)); }
  }
  window.dispatchEvent(new CustomEvent('doorstep:rendered', { detail: { screen: name } }));
}

async function drawTabs(current) {
  const nav = document.getElementById('tabs');
  if (current === 'login' || !session()) { nav.hidden = true; return; }
  const role = session().role || (await cachedMe())?.role || 'rep';
  const pending = (await outbox.items()).length;
  const tabs = role === 'rep'
    ? [['/', 'today', t('tab_today')], ['/scan', 'scan', t('tab_scan')], ['/inbox', 'inbox', t('tab_inbox')], ['/outbox', 'outbox', t('tab_outbox')]]
    : [['/review', 'review', t('tab_review')], ['/board', 'board', t('tab_board')], ['/', 'today', t('tab_today')], ['/inbox', 'inbox', t('tab_inbox')], ['/outbox', 'outbox', t('tab_outbox')]];
  clear(nav, tabs.map(([href, screen, label]) => h('a', {
    href, 'aria-current': screen === current ? 'page' : undefined, 'data-link': '',
  }, label,
  screen === 'outbox' && pending ? h('span', { class: 'badge', id: 'outbox-badge', 'aria-label': t('pending_count', { n: pending }) }, pending) : null,
  screen === 'inbox' ? h('span', { class: 'badge', id: 'inbox-badge', hidden: true }) : null)));
  nav.hidden = false;
  showUnread(Number(localStorage.getItem('doorstep.unread') || 0));
  refreshUnread();
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
    : attention ? t('status_attention', { n: attention })
      : all.length ? t('status_pending', { n: all.length }) : t('status_synced');
  el.textContent = text;
  const badge = document.getElementById('outbox-badge');
  if (badge) badge.textContent = String(all.length);
}

// Same-origin links go through the router.
document.addEventListener('click', (event) => {
  const link = event.target.closest('a[href]');
  if (!link || event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey) return;
  const url = new URL(link.href, location.href);
  if (url.origin !== location.origin || link.target || link.hasAttribute('download')) return;
  if (/^\/(api|s|docs)\//.test(url.pathname)) return;
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
  outbox.subscribe(updateSyncStatus);
  addEventListener('online', () => { updateSyncStatus(); syncReference(); });
  addEventListener('offline', updateSyncStatus);
  addEventListener('doorstep:signed-out', () => {
    banner('signed-out', t('signed_out_keep'), { error: true, action: h('a', { class: 'button', href: '/login', 'data-link': '' }, t('sign_in')) });
  });
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
