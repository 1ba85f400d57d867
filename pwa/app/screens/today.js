// Today: the open visit, my next actions by countdown (overdue in red), rework requests and
// recent visits with their review status. Drawn from the IndexedDB copy first (instant, and
// offline), then refreshed from the server when online.
import { h, add, t, clear, countdown, formatTime, learnServerTime, serverNow, toast, problemText, pick } from '../ui.js';
import { api } from '../api.js';
import { kvGet, kvSet } from '../db.js';
import { activeDrafts, drafts, adopt } from '../visits.js';
import * as outbox from '../outbox.js';
import { actionLabel, horizonDays } from '../policy.js';

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
  await fetchRectifications();
  return value;
}

/** The rectifications I owe (open, or reopened by the supervisor), by due time; kept for offline
 * use by Today and the visit screen (kv 'rectifications'). A failure keeps the last copy. */
async function fetchRectifications() {
  const pages = await Promise.all(['open', 'reopened'].map((status) => api('GET', `/api/v1/rectifications?assignee=me&status=${status}&limit=100`).catch(() => null)));
  if (pages.some((p) => !p)) return;
  const items = pages.flatMap((p) => p.items).sort((a, b) => a.due_at.localeCompare(b.due_at));
  await kvSet('rectifications', { items, server_time: pages[0].server_time || null });
}

/** Why the supervisor sent it back: the latest reopen's reason (history is oldest first). */
const reopenReason = (rect) => (rect.status === 'reopened' ? [...(rect.history || [])].reverse().find((e) => e.status === 'reopened')?.reason : null);

/** A rectification owed, with the same countdown as the next actions; overdue in red. */
function rectRow(rect, local) {
  const left = countdown(rect.due_at);
  const late = left.overdue || rect.overdue;
  return h('li', {}, h('a', { class: `card link${late ? ' attention' : ''}`, href: `/rectification/${rect.id}`, 'data-link': '', 'data-test': 'rect-row', dataset: { rectId: rect.id } },
    h('div', { class: 'row' },
      h('div', { class: 'grow' }, h('strong', {}, pick(rect.title)), h('div', { class: 'muted' }, rect.store?.name || '')),
      h('span', { class: late ? 'overdue countdown' : 'countdown', dataset: { due: rect.due_at } }, left.text)),
    local?.submit_queued ? h('span', { class: 'chip amber' }, t('rect_submit_queued'))
      : rect.status === 'reopened' ? h('span', { class: 'chip red' }, t('rect_reopened')) : null,
    !local?.submit_queued && reopenReason(rect) ? h('p', { class: 'muted', 'data-test': 'rect-reopen-reason' }, t('rect_reopen_reason', { reason: reopenReason(rect) })) : null));
}

function toLocalInput(ms) {
  const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60000);
  return d.toISOString().slice(0, 16);
}

/** A refusal the outbox kept for an item, in plain words. */
const refusalOf = (item) => problemText(item.last_error || {});

const ACTION_KINDS = ['complete_action', 'reschedule_action'];

/**
 * Queue a write about a next action (it has no visit of its own: `action:<id>` keeps its writes
 * in order). Online it is sent at once; a refusal is shown on the spot and not kept, since the
 * rep is looking and can change it. → 'sent' | 'queued' | null (refused or not stored).
 */
async function queueActionWrite(item, message) {
  try {
    await outbox.enqueue({ ...item, visit_id: `action:${item.action_id}`, idempotency_key: crypto.randomUUID() });
  } catch (error) {
    message.textContent = `${t('storage_error')} ${error?.message || error}`;
    return null;
  }
  if (!navigator.onLine) return 'queued';
  await outbox.replay().catch(() => {});
  const left = (await outbox.items()).find((i) => i.kind === item.kind && i.action_id === item.action_id);
  if (left?.state !== 'attention') return left ? 'queued' : 'sent';
  message.textContent = refusalOf(left);
  await outbox.discard(left.seq);
  return null;
}

/** A panel's confirm button: disabled while its write is queued, re-enabled on a refusal. */
function confirmButton(id, label, onConfirm) {
  const button = h('button', { type: 'button', class: 'primary', id, onclick: async () => {
    button.disabled = true;
    if (!(await onConfirm())) button.disabled = false;
  } }, label);
  return button;
}

/**
 * One open next action with "Done" (optional note) and "Reschedule" (new due time within the
 * server's horizon, GET /api/v1/config, and a required reason). Both go through the outbox, so they work offline; `queued` holds this
 * action's writes still waiting ({done, move, refused}). `onChanged` redraws the list.
 */
function actionRow(action, storeName, { queued = {}, onChanged }) {
  const dueAt = queued.move?.body.due_at || action.due_at;
  const left = countdown(dueAt);
  const what = actionLabel(action.type);
  const slug = action.id;
  const panel = h('div', { class: 'action-panel', id: `action-panel-${slug}` });
  const message = h('p', { class: 'error-text', role: 'alert', id: `action-error-${slug}` }, queued.refused || '');
  const closePanel = () => { panel.replaceChildren(); message.textContent = ''; };
  const finish = (outcome, queuedText, sentText) => {
    if (!outcome) return false;
    toast(outcome === 'sent' ? sentText : queuedText);
    closePanel();
    onChanged();
    return true;
  };

  const openDone = () => {
    message.textContent = '';
    const note = h('textarea', { id: `done-note-${slug}`, maxlength: 1000, rows: 2 });
    const confirm = confirmButton(`done-confirm-${slug}`, t('confirm_done'), async () => finish(
      await queueActionWrite({ kind: 'complete_action', action_id: action.id, replaces: `complete:${action.id}`, body: { note: note.value.trim() } }, message),
      t('action_complete_queued'), t('action_completed')));
    panel.replaceChildren(h('div', { class: 'card', role: 'group', 'aria-label': t('action_done_for', { what }) },
      h('label', { for: note.id }, t('completion_note')), note,
      h('div', { class: 'row' }, confirm, h('button', { type: 'button', onclick: closePanel }, t('cancel')))));
    note.focus();
  };

  const openReschedule = () => {
    message.textContent = '';
    const now = serverNow();
    const days = horizonDays();
    const latest = days ? now + days * 86400_000 : Infinity;
    const suggested = Math.min(Math.max(Date.parse(dueAt), now) + 86400_000, latest - 60_000);
    const due = h('input', {
      id: `resched-due-${slug}`, type: 'datetime-local', required: true,
      min: toLocalInput(now + 60_000), max: days ? toLocalInput(latest - 60_000) : undefined, value: toLocalInput(suggested),
    });
    const reason = h('textarea', { id: `resched-reason-${slug}`, maxlength: 500, rows: 2, required: true, 'aria-required': 'true' });
    for (const el of [due, reason]) el.addEventListener('input', () => { message.textContent = ''; });
    const confirm = confirmButton(`resched-confirm-${slug}`, t('confirm_reschedule'), async () => {
      message.textContent = '';
      const when = due.value ? new Date(due.value).getTime() : NaN;
      if (!(when > serverNow()) || (days && when > serverNow() + days * 86400_000)) {
        message.textContent = days ? t('due_out_of_range', { latest: formatTime(new Date(latest).toISOString()) }) : t('due_in_past');
        due.focus();
        return false;
      }
      if (!reason.value.trim()) { message.textContent = t('reason_missing'); reason.focus(); return false; }
      const iso = new Date(when).toISOString().replace(/\.\d{3}Z$/, 'Z');
      return finish(await queueActionWrite({
        kind: 'reschedule_action', action_id: action.id, replaces: `reschedule:${action.id}`,
        body: { due_at: iso, reason: reason.value.trim() },
      }, message), t('action_reschedule_queued'), t('action_rescheduled'));
    });
    panel.replaceChildren(h('div', { class: 'card', role: 'group', 'aria-label': t('action_reschedule_for', { what }) },
      h('label', { for: due.id }, days ? t('new_due', { n: days }) : t('new_due_any')), due,
      h('label', { for: reason.id }, t('reschedule_reason')), reason,
      h('div', { class: 'row' }, confirm, h('button', { type: 'button', onclick: closePanel }, t('cancel')))));
    due.focus();
  };

  return h('li', { class: 'card', dataset: { actionId: action.id } },
    h('div', { class: 'row' },
      h('div', { class: 'grow' },
        h('strong', {}, what),
        h('div', { class: 'muted action-store' }, storeName),
        action.note ? h('div', {}, action.note) : null,
        action.reschedule_count ? h('div', { class: 'muted' }, t('rescheduled_n', { n: action.reschedule_count })) : null),
      h('span', { class: left.overdue ? 'overdue countdown' : 'countdown', dataset: { due: dueAt } }, left.text)),
    queued.move ? h('span', { class: 'chip amber', id: `move-queued-${slug}` }, t('action_reschedule_queued')) : null,
    queued.done ? h('span', { class: 'chip amber' }, t('action_complete_queued'))
      : h('div', { class: 'row' },
        h('button', { type: 'button', class: 'action-done', 'aria-label': t('action_done_for', { what }), onclick: openDone }, t('action_done')),
        h('button', { type: 'button', class: 'action-reschedule', 'aria-label': t('action_reschedule_for', { what }), onclick: openReschedule }, t('action_reschedule'))),
    message, panel);
}

/** Each action's writes still in the outbox: {action_id: {done, move, refused}}. */
function queuedActionWrites(items) {
  const byAction = {};
  for (const item of items.filter((i) => ACTION_KINDS.includes(i.kind))) {
    const entry = (byAction[item.action_id] ??= {});
    if (item.state === 'attention') entry.refused = refusalOf(item);
    else if (item.kind === 'complete_action') entry.done = item;
    else entry.move = item;
  }
  return byAction;
}

/** Store names the phone knows: the visits on Today, then every cached store. */
async function knownStoreNames(data) {
  const names = {};
  for (const store of Object.values((await kvGet('stores', {})) || {})) names[store.id] = store.name;
  for (const v of [...(data?.recent || []), ...(data?.open || []), ...(data?.rework || [])]) names[v.store.id] = v.store.name;
  return names;
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

const countQueuedActionWrites = (items) => items.filter((i) => ACTION_KINDS.includes(i.kind) && i.state !== 'attention').length;

export async function render(main) {
  document.title = `${t('today')} · Doorstep`;
  const sections = h('div', {});
  add(main, h('h1', {}, t('today')), sections);
  // Outside draw(): a refresh must not close it. Loaded on demand: not in the first load.
  import('../calendar-subscribe.js').then((m) => m.renderCalendarSubscribe(main)).catch(() => {});

  const draw = async (data) => {
    const local = await activeDrafts();
    const queuedSubmits = (await drafts()).filter((d) => d.submit_queued);
    const queue = await outbox.items();
    const attention = queue.filter((i) => i.state === 'attention');
    const localIds = new Set(local.map((d) => d.id));
    const serverOpen = (data?.open || []).filter((v) => !localIds.has(v.id));
    const storeNames = await knownStoreNames(data);
    const queuedWrites = queuedActionWrites(queue);
    queuedBefore = countQueuedActionWrites(queue);
    const actions = [...(data?.actions || [])].sort((a, b) => a.due_at.localeCompare(b.due_at));
    const rects = (await kvGet('rectifications'))?.items || [];
    const fixes = (await kvGet('rect_local', {})) || {};
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
        actions.length ? h('ul', { class: 'plain', style: 'list-style:none;padding:0;margin:0' }, actions.map((a) => actionRow(a, a.store?.name || storeNames[a.store_id] || '', { queued: queuedWrites[a.id], onChanged: refresh })))
          : h('p', { class: 'muted' }, t('no_actions'))),
      rects.length ? h('section', { 'aria-labelledby': 'h-rects' },
        h('h2', { id: 'h-rects' }, t('my_rects_n', { n: rects.length })),
        h('ul', { class: 'plain', id: 'today-rects' }, rects.map((r) => rectRow(r, fixes[r.id])))) : null,
      (data?.rework || []).length ? h('section', { 'aria-labelledby': 'h-rework' },
        h('h2', { id: 'h-rework' }, t('rework_requests')),
        data.rework.map((v) => visitRow(v))) : null,
      h('section', { 'aria-labelledby': 'h-recent' },
        h('h2', { id: 'h-recent' }, t('recent_visits')),
        queuedSubmits.map((d) => visitRow({ id: d.id, store: d.store || d.server?.store, status: 'submitted', checked_in_at: d.checked_in_at }, { queued: true })),
        (data?.recent || []).filter((v) => v.status !== 'open' && !queuedSubmits.some((d) => d.id === v.id)).map((v) => visitRow(v)),
        !data ? h('p', { class: 'muted' }, navigator.onLine ? t('loading') : t('offline_no_cache')) : null));
  };

  let queuedBefore = 0; // action writes waiting in the outbox at the last drawing
  const cached = await kvGet('today');
  const refresh = async () => {
    if (!navigator.onLine) { if (main.isConnected) await draw(await kvGet('today')); return; }
    await fetchToday().then(async (fresh) => {
      for (const visit of fresh.rework) await adopt(visit).catch(() => {});
      if (main.isConnected) await draw(fresh);
    }).catch(() => {});
  };
  await draw(cached);
  if (navigator.onLine) refresh();
  const unsubscribe = outbox.subscribe(async () => {
    // A queued action write was acknowledged: fetch the list again instead of the stale copy.
    const queued = countQueuedActionWrites(await outbox.items());
    if (queued < queuedBefore && navigator.onLine) { queuedBefore = queued; refresh(); return; }
    // Never redraw under the rep's fingers: a Done/Reschedule panel is open.
    if (main.querySelector('.action-panel:not(:empty)')) return;
    kvGet('today').then((d) => main.isConnected && draw(d));
  });
  const tick = setInterval(() => {
    for (const el of main.querySelectorAll('.countdown')) {
      const left = countdown(el.dataset.due);
      el.textContent = left.text;
      el.className = left.overdue ? 'overdue countdown' : 'countdown';
    }
  }, 30_000);
  return () => { clearInterval(tick); unsubscribe(); };
}
