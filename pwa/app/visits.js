// Local visit drafts: what the rep sees while writes wait in the outbox. Every operation is one
// IndexedDB transaction over the draft and its outbox items (change()), so a failure part-way —
// a full disk above all — leaves neither a draft that claims a write nor a write without its
// draft. Acknowledgements from the server refresh the draft in the transaction that removes the
// item.
import { get, getAll, req, transact } from './db.js';
import * as outbox from './outbox.js';
import { session } from './auth.js';
import { storeById, formFor } from './cache.js';
import { storeIdFrom } from './qr.js';
import { horizonDays } from './policy.js';

export const draft = (id) => get('visits', id);

export async function drafts() {
  const me = session()?.user_id;
  return (await getAll('visits')).filter((d) => !me || !d.user_id || d.user_id === me);
}

/** Open (or rework) drafts that the rep is still working on, newest first. */
export async function activeDrafts() {
  return (await drafts())
    .filter((d) => ['open', 'rejected'].includes(d.status) && !d.submit_queued)
    .sort((a, b) => b.checked_in_at.localeCompare(a.checked_in_at));
}

export const isEditable = (d) => d && ['open', 'rejected'].includes(d.status) && !d.submit_queued;

const stamped = (value) => ({ ...value, updated_at: new Date().toISOString() });

/**
 * One logical change to visit `id`: `fn(draft, queue)` gets the stored draft (or undefined) and
 * `queue.add(item)` / `queue.drop(predicate)` on its outbox items, and returns the new draft
 * (`null`: delete it; `undefined`: leave it). All in one transaction. → the new draft.
 */
async function change(id, fn) {
  const value = await transact(['visits', 'outbox'], 'readwrite', async (stores) => {
    const queue = {
      add: (item) => outbox.queueInto(stores.outbox, { visit_id: id, ...item }),
      drop: (predicate) => outbox.dropFrom(stores.outbox, id, predicate),
    };
    const next = await fn(await req(stores.visits.get(id)), queue);
    if (next === null) stores.visits.delete(id);
    else if (next !== undefined) stores.visits.put(stamped(next));
    return next;
  });
  outbox.changed();
  return value;
}

/** A changed answer, photo or action replaces a submit the server refused as incomplete. */
async function reopen(value, queue) {
  if (!value) throw new Error('this visit is not on this phone');
  await queue.drop((item) => item.kind === 'submit' && item.state === 'attention');
  return { ...value, submit_queued: false };
}

export async function checkIn({ token, position }) {
  const storeId = storeIdFrom(token);
  const store = await storeById(storeId);
  const form = store ? await formFor(store.customer_type) : null;
  const id = crypto.randomUUID();
  const now = new Date().toISOString();
  const body = {
    // What the rep did is fixed here: the code, the position and its captured_at (the phone's
    // clock at the fix). device_time is re-stamped by the outbox on every attempt (the phone's
    // clock when it is sent), so the server's correction captured_at + (received - device_time)
    // holds after any time offline; the server's replay check ignores it.
    id, qr: token, position, device_time: now,
    queued_offline: !navigator.onLine,
  };
  const value = {
    id, user_id: session()?.user_id || null, token, store_id: storeId, store, form,
    position, checked_in_at: position.captured_at, status: 'open', submit_queued: false,
    photos: {}, answers: {}, next_action: null, server: null, created_at: now,
  };
  return change(id, async (_, queue) => {
    await queue.add({ kind: 'check_in', body, replaces: 'check_in' });
    return value;
  });
}

/** Forget a visit the server refused at check-in (the rep is told why and may try again). */
export async function forget(id) {
  await change(id, async (_, queue) => { await queue.drop(); return null; });
}

export function setPhoto(id, kind, shot) {
  return change(id, async (value, queue) => {
    const next = await reopen(value, queue);
    next.photos = { ...next.photos, [kind]: { thumb: shot.thumb, width: shot.width, height: shot.height, bytes: shot.bytes, uploaded: false } };
    await queue.add({ kind: 'photo', photo_kind: kind, blob: shot.blob, replaces: `photo:${kind}` });
    return next;
  });
}

/** Answers are always kept on the phone; `queue`: also sent (once the form is valid). */
export function setAnswers(id, answers, { queue: send = true } = {}) {
  return change(id, async (value, queue) => {
    let next = { ...value, answers, answers_dirty: !send };
    if (send) {
      next = await reopen(next, queue);
      await queue.add({ kind: 'answers', body: { answers }, replaces: 'answers' });
    }
    return next;
  });
}

export function setNextAction(id, { type, due_at, note }) {
  // A new id for every change: the server replaces the visit's action (same id + new content
  // would be a 409 conflict).
  const action = { id: crypto.randomUUID(), type, due_at, note: note || '' };
  return change(id, async (value, queue) => {
    const next = await reopen(value, queue);
    next.next_action = action;
    await queue.add({ kind: 'next_action', body: action, replaces: 'next_action' });
    return next;
  });
}

export function submit(id) {
  return change(id, async (value, queue) => {
    if (!value) throw new Error('this visit is not on this phone');
    await queue.drop((item) => item.kind === 'submit');
    if (value.answers_dirty) await queue.add({ kind: 'answers', body: { answers: value.answers }, replaces: 'answers' });
    await queue.add({ kind: 'submit', replaces: 'submit' });
    return { ...value, answers_dirty: false, submit_queued: true, submitted_locally_at: new Date().toISOString() };
  });
}

export function abandon(id, reason) {
  return change(id, async (value, queue) => {
    await queue.add({ kind: 'abandon', body: { reason }, replaces: 'abandon' });
    return value ? { ...value, status: 'abandoned' } : undefined;
  });
}

/** The window the next action's due time must fall in: after now, within the server's horizon
 * (GET /api/v1/config) of the check-in; no upper bound before the phone has heard the policy. */
export function actionWindow(value, days = horizonDays()) {
  const checkedIn = Date.parse(value.server?.checked_in_at || value.checked_in_at);
  return { earliest: Date.now(), latest: days ? checkedIn + days * 86400_000 : Infinity };
}

/** A draft built from a server visit (an open visit found on the server, or rework). */
export function adopt(visit) {
  return change(visit.id, async (existing) => {
    const value = {
      ...(existing || {}),
      id: visit.id, user_id: visit.rep.id, store_id: visit.store.id, store: visit.store,
      form: visit.form || existing?.form || null, position: existing?.position || null,
      checked_in_at: visit.checked_in_at, status: visit.status, server: visit,
      submit_queued: existing?.submit_queued && visit.status !== 'submitted' ? existing.submit_queued : false,
      photos: existing?.photos || {}, answers: existing?.answers || visit.answers || {},
      next_action: existing?.next_action || visit.next_action || null,
    };
    if (!existing || !existing.answers || !Object.keys(existing.answers).length) value.answers = visit.answers || {};
    return value;
  });
}

/** What an acknowledged item changes in its draft (inside the outbox's acknowledgement). */
function acknowledged(value, item, result) {
  switch (item.kind) {
    case 'check_in':
      return { ...value, server: result, status: result.status, form: result.form || value.form, store: result.store, checked_in_at: result.checked_in_at };
    case 'photo':
      return { ...value, photos: { ...value.photos, [item.photo_kind]: { ...(value.photos[item.photo_kind] || {}), uploaded: true, server: result } } };
    case 'answers':
      return { ...value, server: result };
    case 'next_action':
      return { ...value, next_action_saved: result };
    case 'submit':
      return { ...value, server: result, status: result.status, submit_queued: false };
    case 'abandon':
      return null;
    default:
      return value;
  }
}

outbox.onAcknowledged(async (item, result, { visits }) => {
  const value = await req(visits.get(item.visit_id));
  if (!value) return;
  const next = acknowledged(value, item, result);
  if (next === null) visits.delete(item.visit_id);
  else visits.put(stamped(next));
}, { stores: ['visits'] });
