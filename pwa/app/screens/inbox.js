// Inbox: the rep's (or supervisor's) notifications, newest first, in the current language.
// Unread ones are marked; tapping one marks it read (POST .../read) and opens its visit when
// the app has a screen for it. Drawn from the IndexedDB copy first, so it also opens offline.
import { h, add, t, clear, formatTime, pick, toast } from '../ui.js';
import { api } from '../api.js';
import { kvGet, kvSet } from '../db.js';
import { session } from '../auth.js';

async function load() {
  const page = await api('GET', '/api/v1/notifications?limit=100');
  const value = { items: page.items, unread_count: page.unread_count };
  await kvSet('inbox', value);
  return value;
}

function announceUnread(count) {
  window.dispatchEvent(new CustomEvent('doorstep:unread', { detail: { count } }));
}

/** Where a notification leads, if the app has a screen for its subject. */
function routeOf(item) {
  if (item.subject_type !== 'visit' || !item.subject_id) return null;
  return session()?.role === 'rep' || !session()?.role ? `/visit/${item.subject_id}` : `/review/${item.subject_id}`;
}

export async function render(main, _params, { navigate }) {
  document.title = `${t('inbox')} · Doorstep`;
  const list = h('div', { id: 'inbox-list' });
  const status = h('p', { class: 'muted', id: 'inbox-status', role: 'status' });
  add(main, h('h1', {}, t('inbox')), status, list);
  let data = null;

  const open = async (item, event) => {
    event.preventDefault();
    const target = routeOf(item);
    if (!item.read_at) {
      if (!navigator.onLine) { toast(t('inbox_offline')); }
      else {
        try {
          const read = await api('POST', `/api/v1/notifications/${item.id}/read`);
          item.read_at = read.read_at || new Date().toISOString();
          data.unread_count = Math.max(0, (data.unread_count || 1) - 1);
          await kvSet('inbox', data);
          announceUnread(data.unread_count);
        } catch (error) {
          toast(`${t('error')}: ${error.message}`);
        }
      }
    }
    if (target) navigate(target);
    else if (main.isConnected) draw();
  };

  const row = (item) => {
    const unread = !item.read_at;
    const target = routeOf(item);
    const title = pick(item.title);
    const content = [
      h('div', { class: 'row' },
        h('strong', { class: 'grow' }, title),
        unread ? h('span', { class: 'chip amber' }, t('unread')) : null),
      h('div', {}, pick(item.body)),
      h('div', { class: 'muted' }, formatTime(item.created_at)),
    ];
    const attrs = {
      class: `card notif${unread ? ' unread' : ''}`, dataset: { notificationId: item.id },
      onclick: (event) => open(item, event),
    };
    return h('li', {}, target ? h('a', { ...attrs, href: target }, content) : h('button', { ...attrs, type: 'button' }, content));
  };

  const draw = () => {
    if (!data) { clear(list, h('p', { class: 'muted' }, navigator.onLine ? t('loading') : t('offline_no_cache'))); return; }
    clear(list, data.items.length
      ? h('ul', { style: 'list-style:none;padding:0;margin:0' }, data.items.map(row))
      : h('p', { class: 'card', id: 'inbox-empty' }, t('inbox_empty')));
  };

  data = await kvGet('inbox');
  draw();
  if (navigator.onLine) {
    try {
      data = await load();
      announceUnread(data.unread_count);
      if (main.isConnected) draw();
    } catch (error) {
      if (!data) status.textContent = `${t('error')}: ${error.message}`;
    }
  } else {
    status.textContent = t('inbox_offline');
  }
}
