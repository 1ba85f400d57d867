// Rectifications (整改, DESIGN §5): a failed audit item as a task for a rep, closed only with an
// after photo taken during a visit checked in at that store, then verified (or reopened with a
// reason) by a supervisor.
// - /rectification/<id>: the detail (before and after side by side, title, note, due, status,
//   history); the rep with an open visit at that store takes the after photo and submits there,
//   anyone else reads it; a supervisor verifies or reopens a submitted one.
// - /rectifications: a manager's list, submitted ones first (to verify), others by a filter;
//   a rep's own list.
// - fixesSection(): the visit screen's "this store's open rectifications" with "take the after
//   photo now". The rep's writes go through the outbox under the visit (audits.js).
// Loaded on demand: not part of the rep's first load.
import { h, add, t, clear, toast, formatTime, countdown, showStorageError, pick } from '../ui.js';
import { api, imageUrl } from '../api.js';
import { kvGet, kvSet } from '../db.js';
import * as outbox from '../outbox.js';
import { fixesOnPhone, takeAfterPhoto, submitFix } from '../audits.js';
import { activeDrafts } from '../visits.js';
import { policy } from '../policy.js';
import { downscale } from '../photos.js';
import { session } from '../auth.js';

const kick = () => { if (navigator.onLine) outbox.replay(); };
const OWED = ['open', 'reopened'];
const STATUS_CHIP = { open: 'amber', reopened: 'red', submitted: '', verified: 'green' };

export const rectChip = (rect, local) => (local?.submit_queued
  ? h('span', { class: 'chip amber', 'data-test': 'rect-status' }, t('rect_submit_queued'))
  : h('span', { class: `chip ${STATUS_CHIP[rect.status] || ''}`, 'data-test': 'rect-status' }, t(`rect_${rect.status}`, { fallback: rect.status })));

function frame(label, src, path) {
  const img = h('img', { alt: label });
  if (src) img.src = src;
  else if (path && navigator.onLine) imageUrl(path).then((url) => { img.src = url; }).catch(() => {});
  return h('figure', {}, h('span', { class: 'photo-frame' }, src || path ? img : '—'), h('figcaption', {}, label));
}

/** Before and after, side by side; the phone's own after photo first while it waits to sync. */
export function beforeAfter(rect, local) {
  // A photo the supervisor sent back (reopened: no longer current) is not the task's "after".
  const after = rect.after_photo?.current === false ? null : rect.after_photo_url;
  return h('div', { class: 'pair', 'data-test': 'rect-pair' },
    frame(t('rect_before'), null, rect.before_photo_url),
    frame(t('rect_after'), local?.thumb ? URL.createObjectURL(local.thumb) : null, after));
}

/** Why the supervisor sent it back: the latest reopen's reason (history is oldest first). */
const reopenReason = (rect) => (rect.status === 'reopened' ? [...(rect.history || [])].reverse().find((e) => e.status === 'reopened')?.reason : null);
const reasonLine = (rect) => (reopenReason(rect) ? h('p', { class: 'error-text', 'data-test': 'rect-reopen-reason' }, t('rect_reopen_reason', { reason: reopenReason(rect) })) : null);

function dueLine(rect) {
  if (rect.status === 'verified') return null; // closed: no countdown left
  const left = countdown(rect.due_at);
  return h('span', { class: left.overdue || rect.overdue ? 'overdue countdown' : 'countdown', dataset: { due: rect.due_at } }, left.text);
}

// --- the rep's fix: after photo (during the visit), then submit --------------------------------

/** The after-photo button, the note and submit for one rectification; `visitId`: the rep's
 * open visit at the rectification's store. `onChange` redraws. */
function fixControls(rect, local, visitId, onChange, notes = new Map()) {
  const id = rect.id;
  const error = h('p', { class: 'error-text', role: 'alert' });
  const input = h('input', {
    type: 'file', accept: 'image/*', capture: 'environment', class: 'visually-hidden', id: `rect-photo-${id}`, 'data-test': 'rect-after-photo',
    onchange: async (event) => {
      const file = event.target.files?.[0];
      if (!file) return;
      try {
        const rules = await policy();
        const shot = await downscale(file, rules?.photo_long_edge_px);
        if (rules?.photo_max_bytes && shot.bytes > rules.photo_max_bytes) throw new Error(t('code_photo_too_large'));
        await takeAfterPhoto(id, visitId, shot);
      } catch (err) {
        if (err?.name === 'QuotaExceededError') showStorageError(err); else error.textContent = t('photo_failed', { reason: err.message });
        return;
      }
      kick(); onChange();
    },
  });
  const hasPhoto = Boolean(local?.thumb || (rect.after_photo_url && rect.status !== 'reopened'));
  // What the rep typed survives a redraw (an acknowledged photo redraws the list).
  const note = h('textarea', { rows: 2, maxlength: 1000, id: `rect-note-${id}`, 'data-test': 'rect-submit-note', oninput: () => notes.set(id, note.value) });
  note.value = notes.get(id) || '';
  const submit = h('button', { type: 'button', class: 'primary grow', 'data-test': 'rect-submit', disabled: !hasPhoto || local?.submit_queued, onclick: async () => {
    submit.disabled = true;
    try { await submitFix(id, visitId, note.value.trim()); } catch (err) { showStorageError(err); submit.disabled = false; return; }
    kick(); toast(navigator.onLine ? t('rect_submitted_toast') : t('rect_submit_queued')); onChange();
  } }, t('rect_submit'));
  if (local?.submit_queued) return h('p', { class: 'chip amber' }, t('rect_submit_queued'));
  return h('div', { class: 'fix' },
    h('label', { class: 'button wide', for: input.id }, input, hasPhoto ? t('rect_retake') : t('rect_take_now')),
    h('label', { for: note.id }, t('rect_submit_note')), note, error,
    h('div', { class: 'row' }, submit));
}

/** The visit screen's list: this store's rectifications owed by the rep, each with its fix.
 * → stop(): unsubscribes from the outbox. */
export async function fixesSection(box, visit) {
  const storeId = visit.store_id || visit.store?.id;
  let items = (await kvGet('rectifications'))?.items || [];
  const notes = new Map(); // rect id → the note being typed
  const draw = async () => {
    if (!box.isConnected && box.childNodes.length) return;
    const local = await fixesOnPhone();
    const owed = items.filter((r) => r.store?.id === storeId && (OWED.includes(r.status) || local[r.id]?.submit_queued));
    clear(box, owed.length ? [h('h2', {}, t('store_rects', { n: owed.length })),
      h('ul', { class: 'plain', id: 'visit-rects' }, owed.map((r) => h('li', { class: 'card', 'data-test': 'visit-rect', dataset: { rectId: r.id } },
        h('div', { class: 'row' }, h('a', { class: 'grow rect-title', href: `/rectification/${r.id}`, 'data-link': '' }, h('strong', {}, pick(r.title))), rectChip(r, local[r.id]), dueLine(r)),
        r.note ? h('p', {}, r.note) : null,
        local[r.id]?.submit_queued ? null : reasonLine(r),
        beforeAfter(r, local[r.id]),
        fixControls(r, local[r.id], visit.id, draw, notes))))] : null);
  };
  const load = async () => {
    if (!navigator.onLine || !storeId) return;
    const page = await api('GET', `/api/v1/rectifications?assignee=me&store_id=${storeId}&limit=50`).catch(() => null);
    if (page) items = page.items;
  };
  await draw();
  await load();
  await draw();
  // A fix's write acknowledged: the server's copy (status, after photo) replaces the phone's.
  const pending = async () => (await outbox.items()).filter((i) => i.kind === 'rect_photo' || i.kind === 'rect_submit').length;
  let before = await pending();
  return outbox.subscribe(async () => {
    const now = await pending();
    if (now < before) await load();
    before = now;
    await draw();
  });
}

// --- a supervisor's decision ---------------------------------------------------------------------

function decision(rect, onDone) {
  const comment = h('textarea', { rows: 2, maxlength: 1000, 'data-test': 'rect-comment', 'aria-label': t('rect_comment') });
  const error = h('p', { class: 'error-text', role: 'alert' });
  const decide = async (verb) => {
    error.textContent = '';
    const text = comment.value.trim();
    if (verb === 'reopen' && !text) { error.textContent = t('rect_reason_required'); comment.focus(); return; }
    try {
      await api('POST', `/api/v1/rectifications/${rect.id}/${verb}`, verb === 'reopen' ? { reason: text } : { comment: text || null });
    } catch (err) { error.textContent = navigator.onLine ? err.message : t('rect_decide_offline'); return; }
    toast(verb === 'reopen' ? t('rect_reopened_toast') : t('rect_verified_toast'));
    onDone();
  };
  return h('div', { class: 'decision' },
    h('label', {}, t('rect_comment')), comment, error,
    h('div', { class: 'row' },
      h('button', { type: 'button', class: 'primary grow', 'data-test': 'rect-verify', onclick: () => decide('verify') }, t('rect_verify')),
      h('button', { type: 'button', class: 'danger grow', 'data-test': 'rect-reopen', onclick: () => decide('reopen') }, t('rect_reopen'))));
}

// --- the detail ----------------------------------------------------------------------------------

async function detail(main, id, role, navigate) {
  const cached = ((await kvGet('rectifications'))?.items || []).find((r) => r.id === id);
  let rect = cached;
  if (navigator.onLine) rect = await api('GET', `/api/v1/rectifications/${id}`).catch(() => cached);
  if (!rect) { add(main, h('h1', {}, t('rect')), h('p', { class: 'error-text', id: 'rect-not-found' }, navigator.onLine ? t('rect_not_found') : t('offline_no_cache'))); return; }
  const local = (await fixesOnPhone())[id];
  document.title = `${pick(rect.title)} · Doorstep`;
  const mine = rect.assignee?.id === session()?.user_id;
  const visit = (await activeDrafts()).find((d) => d.status === 'open' && (d.store_id || d.store?.id) === rect.store?.id);
  let action = null;
  if (role === 'rep' && mine && OWED.includes(rect.status)) {
    action = visit ? fixControls(rect, local, visit.id, () => navigate(location.pathname, { replace: true }))
      : h('p', { class: 'card notice', id: 'rect-check-in-first' }, t('rect_check_in_first', { store: rect.store?.name || t('the_store') }), ' ',
        h('a', { href: '/scan', 'data-link': '' }, t('scan_to_check_in')));
  } else if (role !== 'rep' && rect.status === 'submitted') action = decision(rect, () => navigate(location.pathname, { replace: true }));
  add(main,
    h('h1', {}, pick(rect.title)),
    h('p', { class: 'row' }, rectChip(rect, local), rect.critical ? h('span', { class: 'chip red' }, t('critical')) : null, dueLine(rect)),
    h('p', { class: 'muted' }, rect.store?.name || '', ' · ', t('rect_assignee'), t('label_colon'), rect.assignee?.display_name || '', ' · ', t('rect_due'), t('label_colon'), formatTime(rect.due_at)),
    rect.note ? h('p', {}, rect.note) : null,
    reasonLine(rect),
    rect.submit_note ? h('p', { 'data-test': 'rect-done-note' }, h('strong', {}, t('rect_done_note'), t('label_colon')), rect.submit_note) : null,
    beforeAfter(rect, local), action,
    h('h2', {}, t('rect_history')),
    h('ol', { class: 'history', 'data-test': 'rect-history' }, (rect.history || []).map((e) => h('li', {},
      h('strong', {}, t(`rect_${e.status}`, { fallback: e.status })), ' · ', formatTime(e.at),
      e.by ? ` · ${e.by.display_name || e.by}` : '', e.reason ? h('div', { class: 'muted' }, e.reason) : null))),
    rect.audit_id && role !== 'rep' ? h('a', { href: `/audit/${rect.audit_id}`, 'data-link': '' }, t('rect_open_audit')) : null);
}

// --- the lists -----------------------------------------------------------------------------------

const FILTERS = ['submitted', 'open', 'reopened', 'verified'];

function row(rect, { manager, local, onDone }) {
  return h('li', { class: `card${rect.overdue ? ' attention' : ''}`, 'data-test': 'rect-list-row', dataset: { rectId: rect.id } },
    h('a', { href: `/rectification/${rect.id}`, 'data-link': '', class: 'row rect-head' },
      h('strong', { class: 'grow rect-title' }, pick(rect.title)), rectChip(rect, local), dueLine(rect)),
    h('div', { class: 'muted' }, rect.store?.name || '', ' · ', rect.assignee?.display_name || ''),
    rect.status === 'submitted' && rect.submit_note ? h('p', { 'data-test': 'rect-done-note' }, h('strong', {}, t('rect_done_note'), t('label_colon')), rect.submit_note) : null,
    beforeAfter(rect, local),
    manager && rect.status === 'submitted' ? decision(rect, onDone) : null);
}

async function list(main, role) {
  const manager = role !== 'rep';
  document.title = `${t('rects')} · Doorstep`;
  const params = new URLSearchParams(location.search);
  const status = FILTERS.includes(params.get('status')) ? params.get('status') : manager ? 'submitted' : 'open';
  const box = h('div', { id: 'rect-list' });
  add(main, h('h1', {}, manager ? t('rects_to_verify') : t('my_rects')),
    h('nav', { class: 'row filters', 'aria-label': t('rect_filter') }, FILTERS.map((s) => h('a', {
      class: 'chip', href: `/rectifications?status=${s}`, 'data-link': '', 'aria-current': s === status ? 'true' : undefined, 'data-test': `rect-filter-${s}`,
    }, t(`rect_${s}`)))), box);
  const key = `rect_list:${status}`;
  const draw = async (page) => {
    if (!page) { clear(box, h('p', { class: 'muted' }, navigator.onLine ? t('loading') : t('offline_no_cache'))); return; }
    const local = await fixesOnPhone();
    clear(box, page.items.length ? h('ul', { class: 'plain' }, page.items.map((r) => row(r, { manager, local: local[r.id], onDone: load }))) : h('p', { class: 'card', id: 'rect-list-empty' }, t('rects_none')));
  };
  const load = async () => {
    if (!navigator.onLine) return;
    const mine = manager ? '' : '&assignee=me';
    const page = await api('GET', `/api/v1/rectifications?status=${status}${mine}&limit=100`).catch(() => null);
    if (page) { await kvSet(key, page); if (box.isConnected) await draw(page); }
  };
  await draw(await kvGet(key));
  await load();
}

export async function render(main, [id], { role, navigate }) {
  try {
    if (id) await detail(main, id, role, navigate); else await list(main, role);
  } catch (error) {
    clear(main, h('h1', {}, t('rects')), h('p', { class: 'error-text', role: 'alert' }, navigator.onLine ? error.message : t('offline_no_cache')));
  }
  return null;
}
