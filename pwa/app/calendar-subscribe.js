// "Subscribe in your calendar" on the rep's Today: a webcal:// link that opens the phone's
// calendar app on the feed, the https URL to copy (Google Calendar, Outlook on the web: "add by
// URL"), a line saying Google may take hours to refresh, and "new link" (the old one stops
// working, for a link that leaked). The secret URL comes from GET /api/v1/calendar-feed, only
// when the rep opens the block: Today's first load does not wait for it, and offline it says so.
import { h, t, toast, confirmDialog, problemText } from './ui.js';
import { lang } from './i18n.js';
import { api } from './api.js';

// The block's own strings, [zh, en] as in i18n.js; kept here so the module stands alone.
export const STRINGS = {
  cal_title: ['在日历中订阅', 'Subscribe in your calendar'],
  cal_body: ['你的下一步行动和整改会出现在手机日历里，提前 1 小时提醒；改期后日历跟着变。', 'Your next actions and rectifications show up in your phone’s calendar, with a reminder an hour before; a reschedule moves them there too.'],
  cal_open: ['在日历中打开', 'Open in my calendar'],
  cal_copy: ['复制链接', 'Copy the link'],
  cal_copied: ['链接已复制', 'Link copied'],
  cal_field: ['日历订阅链接', 'Calendar link'],
  cal_select: ['长按选中并复制这个链接：', 'Long-press to select and copy this link:'],
  cal_google: ['Google 日历可能要几个小时才会刷新，其他日历一般 1 小时内更新。', 'Google Calendar may take hours to refresh; other calendars usually update within the hour.'],
  cal_private: ['拿到这个链接的人都能看到你的日程，请勿外传。', 'Anyone with this link can read your calendar: keep it to yourself.'],
  cal_rotate: ['换一个新链接', 'Make a new link'],
  cal_rotate_title: ['换一个新链接？', 'Make a new link?'],
  cal_rotate_body: ['旧链接会立即失效，已订阅的日历需要用新链接重新订阅。', 'The old link stops working at once: calendars subscribed with it must subscribe again with the new one.'],
  cal_rotated: ['已换成新链接', 'New link made'],
  cal_offline: ['订阅日历需要网络。连上网络后再打开。', 'Subscribing needs the network. Open this again once you are online.'],
  cal_loading: ['加载中…', 'Loading…'],
};

export function tc(key) {
  const entry = STRINGS[key];
  return entry ? entry[lang() === 'zh' ? 0 : 1] : t(key);
}

/** The same feed as a webcal:// link, which phones hand to their calendar app. */
export function webcalUrl(url) {
  return String(url).replace(/^https?:\/\//i, 'webcal://');
}

async function copyUrl(url, fallbackBox) {
  try {
    await navigator.clipboard.writeText(url);
    toast(tc('cal_copied'));
    return;
  } catch { /* no clipboard here: let the rep copy it by hand */ }
  const field = h('textarea', { readonly: true, rows: 3, id: 'calendar-url-select', 'aria-label': tc('cal_field'), class: 'door-link-text' }, url);
  fallbackBox.replaceChildren(h('label', { for: field.id }, tc('cal_select')), field);
  field.focus();
  field.select();
  try { document.execCommand('copy'); } catch { /* the selection stays for a long-press */ }
}

/**
 * Render the block into `container` (appended); returns the block. The URL is fetched the first
 * time the rep opens it. `request` is the API call (tests pass their own).
 */
export function renderCalendarSubscribe(container, { request = api } = {}) {
  const content = h('div', { id: 'calendar-subscribe-content', 'aria-live': 'polite' });
  const block = h('details', { class: 'card', id: 'calendar-subscribe', 'data-test': 'calendar-subscribe' },
    h('summary', {}, h('strong', {}, tc('cal_title'))),
    content);
  let loaded = false;

  const show = (url) => {
    const fallbackBox = h('div', {});
    const field = h('input', { id: 'calendar-url', type: 'url', readonly: true, value: url, 'aria-label': tc('cal_field'), class: 'wide' });
    content.replaceChildren(
      h('p', {}, tc('cal_body')),
      h('a', { class: 'button primary wide', id: 'calendar-webcal', href: webcalUrl(url) }, tc('cal_open')),
      h('label', { for: field.id }, tc('cal_field')), field,
      h('div', { class: 'row' },
        h('button', { type: 'button', id: 'calendar-copy', onclick: () => copyUrl(url, fallbackBox) }, tc('cal_copy')),
        h('button', { type: 'button', id: 'calendar-rotate', onclick: rotate }, tc('cal_rotate'))),
      fallbackBox,
      h('p', { class: 'muted', id: 'calendar-google-note' }, tc('cal_google')),
      h('p', { class: 'muted' }, tc('cal_private')));
  };

  const failed = (error) => {
    loaded = false; // try again on the next opening
    const offline = !navigator.onLine || error?.status === 0; // ApiError(0): no answer
    content.replaceChildren(h('p', { class: 'error-text', role: 'alert' }, offline ? tc('cal_offline') : problemText(error || {})));
  };

  const load = async () => {
    if (loaded) return;
    loaded = true;
    if (!navigator.onLine) { failed(null); return; }
    content.replaceChildren(h('p', { class: 'muted' }, tc('cal_loading')));
    try {
      show((await request('GET', '/api/v1/calendar-feed')).url);
    } catch (error) {
      failed(error);
    }
  };

  async function rotate() {
    const sure = await confirmDialog({ title: tc('cal_rotate_title'), body: [tc('cal_rotate_body')], confirm: tc('cal_rotate'), danger: true });
    if (!sure) return;
    try {
      show((await request('POST', '/api/v1/calendar-feed/rotate')).url);
      toast(tc('cal_rotated'));
    } catch (error) {
      failed(error);
    }
  }

  block.addEventListener('toggle', () => { if (block.open) load(); });
  container.append(block);
  return block;
}
