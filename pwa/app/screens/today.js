// Today: the open visit, my next actions by countdown (overdue in red), rework requests and
// recent visits with their review status. Drawn from the IndexedDB copy first (instant, and
// offline), then refreshed from the server when online.
import { h, add, t, clear, countdown, formatTime, learnServerTime } from '../ui.js';
import { api } from '../api.js';
import { kvGet, kvSet } from '../db.js';
import { activeDrafts, drafts, adopt } from '../visits.js';
import * as outbox from '../outbox.js';

const STATUS_CHIP = { open: '', submitted: 'amber', approved: 'green', rejected: 'red', abandoned: '' };

export function statusChip(status, queued = false) {
  if (queued) return h('span', { class: 'chip amber' }, t('status_submit_queued'));
  return h('span', { class: `chip ${STATUS_CHIP[status] || ''}` }, t(`visit_${status}`));
}

async function fetchToday() {
  const [open, rework, recent, actions] = await Promise.all([
    api('GET', '/api/v1/visits?status=open&limit=5'),
    api('GET', '/api/v1/visits?status=rejected&limit=20'),
    api('GET', '/api/v1/visits?limit=10'),
    api('GET', '/api/v1/next-actions?assignee=me&status=open&limit=50').catch(() => ({ items: [] })),
  ]);
  const value = { open: open.items, rework: rework.items, recent: recent.items, actions: actions.items, server_time: actions.server_time || open.items[0]?.server_time };
  learnServerTime(value.server_time);
  await kvSet('today', value);
  return value;
}

function actionRow(action, storeNames) {
  const left = countdown(action.due_at);
  return h('li', { class: 'card', dataset: { actionId: action.id } },
    h('div', { class: 'row' },
      h('div', { class: 'grow' },
        h('strong', {}, t(`action_${action.type}`)),
        h('div', { class: 'muted' }, storeNames[action.store_id] || ''),
        action.note ? h('div', {}, action.note) : null),
      h('span', { class: left.overdue ? 'overdue countdown' : 'countdown', dataset: { due: action.due_at } }, left.text)));
}

function visitRow(visit, { queued = false } = {}) {
  const rejected = visit.status === 'rejected';
  const reason = rejected ? [...(visit.reviews || [])].reverse().find((r) => r.decision === 'rejected')?.comment : null;
  return h('a', { class: `card link${rejected ? ' attention' : ''}`, href: `/visit/${visit.id}`, 'data-link': '' },
    h('div', { class: 'row' },
      h('strong', { class: 'grow' }, visit.store?.name || t('unknown_store')),
      statusChip(visit.status, queued)),
    h('div', { class: 'muted' }, formatTime(visit.checked_in_at)),
    reason ? h('div', { class: 'error-text' }, t('rework_reason', { reason })) : null);
}

export async function render(main) {
  document.title = `${t('today')} · Doorstep`;
  const sections = h('div', {});
  add(main, h('h1', {}, t('today')), sections);

  const draw = async (data) => {
    const local = await activeDrafts();
    const queuedSubmits = (await drafts()).filter((d) => d.submit_queued);
    const attention = (await outbox.items()).filter((i) => i.state === 'attention');
    const localIds = new Set(local.map((d) => d.id));
    const serverOpen = (data?.open || []).filter((v) => !localIds.has(v.id));
    const storeNames = {};
    for (const v of [...(data?.recent || []), ...(data?.open || []), ...(data?.rework || [])]) storeNames[v.store.id] = v.store.name;
    const actions = [...(data?.actions || [])].sort((a, b) => a.due_at.localeCompare(b.due_at));
    const openVisits = [...local.filter((d) => d.status === 'open').map((d) => ({ ...(d.server || {}), id: d.id, store: d.store || d.server?.store, status: 'open', checked_in_at: d.checked_in_at })), ...serverOpen];
    clear(sections,
      attention.length ? h('a', { class: 'card link attention', href: '/outbox', 'data-link': '' }, t('attention_items', { n: attention.length })) : null,
      h('section', { 'aria-labelledby': 'h-open' },
        h('h2', { id: 'h-open' }, t('open_visit')),
        openVisits.length ? openVisits.map((v) => visitRow(v))
          : h('div', { class: 'card' }, h('p', {}, t('no_open_visit')),
            h('a', { class: 'button primary wide', href: '/scan', 'data-link': '' }, t('scan_to_check_in')))),
      h('section', { 'aria-labelledby': 'h-actions' },
        h('h2', { id: 'h-actions' }, t('my_next_actions')),
        actions.length ? h('ul', { class: 'plain', style: 'list-style:none;padding:0;margin:0' }, actions.map((a) => actionRow(a, storeNames)))
          : h('p', { class: 'muted' }, t('no_actions'))),
      (data?.rework || []).length ? h('section', { 'aria-labelledby': 'h-rework' },
        h('h2', { id: 'h-rework' }, t('rework_requests')),
        data.rework.map((v) => visitRow(v))) : null,
      h('section', { 'aria-labelledby': 'h-recent' },
        h('h2', { id: 'h-recent' }, t('recent_visits')),
        queuedSubmits.map((d) => visitRow({ id: d.id, store: d.store || d.server?.store, status: 'submitted', checked_in_at: d.checked_in_at }, { queued: true })),
        (data?.recent || []).filter((v) => v.status !== 'open' && !queuedSubmits.some((d) => d.id === v.id)).map((v) => visitRow(v)),
        !data ? h('p', { class: 'muted' }, navigator.onLine ? t('loading') : t('offline_no_cache')) : null));
  };

  const cached = await kvGet('today');
  await draw(cached);
  if (navigator.onLine) {
    fetchToday().then(async (fresh) => {
      for (const visit of fresh.rework) await adopt(visit).catch(() => {});
      if (main.isConnected) await draw(fresh);
    }).catch(() => {});
  }
  const unsubscribe = outbox.subscribe(() => { kvGet('today').then((d) => main.isConnected && draw(d)); });
  const tick = setInterval(() => {
    for (const el of main.querySelectorAll('.countdown')) {
      const left = countdown(el.dataset.due);
      el.textContent = left.text;
      el.className = left.overdue ? 'overdue countdown' : 'countdown';
    }
  }, 30_000);
  return () => { clearInterval(tick); unsubscribe(); };
}
