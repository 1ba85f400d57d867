// Local visit drafts: what the rep sees while writes wait in the outbox. Every operation updates
// the draft and queues the write in one go; acknowledgements from the server refresh the draft.
import { get, put, del, getAll } from './db.js';
import * as outbox from './outbox.js';
import { session } from './auth.js';
import { storeById, formFor } from './cache.js';
import { storeIdFrom } from './qr.js';

export const PHOTO_KINDS = ['storefront', 'shelf', 'conversation'];
export const ACTION_TYPES = ['send_sample', 'quote', 'demo', 'follow_up_call', 'other'];
const HORIZON_DAYS = 7;

export const draft = (id) => get('visits', id);
export const saveDraft = (value) => put('visits', { ...value, updated_at: new Date().toISOString() });

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
  await saveDraft(value);
  try {
    await outbox.enqueue({ kind: 'check_in', visit_id: id, body, replaces: 'check_in' });
  } catch (error) {
    await del('visits', id);
    throw error;
  }
  return value;
}

/** Forget a visit the server refused at check-in (the rep is told why and may try again). */
export async function forget(id) {
  await outbox.drop(id);
  await del('visits', id);
}

export async function setPhoto(id, kind, shot) {
  const value = await draft(id);
  value.photos = { ...value.photos, [kind]: { thumb: shot.thumb, width: shot.width, height: shot.height, bytes: shot.bytes, uploaded: false } };
  await clearSubmitAttention(id);
  await outbox.enqueue({ kind: 'photo', visit_id: id, photo_kind: kind, blob: shot.blob, replaces: `photo:${kind}` });
  await saveDraft(value);
}

export async function setAnswers(id, answers, { queue = true } = {}) {
  const value = await draft(id);
  value.answers = answers;
  value.answers_dirty = !queue;
  await saveDraft(value);
  if (queue) {
    await clearSubmitAttention(id);
    await outbox.enqueue({ kind: 'answers', visit_id: id, body: { answers }, replaces: 'answers' });
  }
}

export async function setNextAction(id, { type, due_at, note }) {
  const value = await draft(id);
  // A new id for every change: the server replaces the visit's action (same id + new content
  // would be a 409 conflict).
  const action = { id: crypto.randomUUID(), type, due_at, note: note || '' };
  value.next_action = action;
  await clearSubmitAttention(id);
  await outbox.enqueue({ kind: 'next_action', visit_id: id, body: action, replaces: 'next_action' });
  await saveDraft(value);
}

export async function submit(id) {
  const value = await draft(id);
  await outbox.drop(id, (item) => item.kind === 'submit');
  if (value.answers_dirty) {
    await outbox.enqueue({ kind: 'answers', visit_id: id, body: { answers: value.answers }, replaces: 'answers' });
    value.answers_dirty = false;
  }
  await outbox.enqueue({ kind: 'submit', visit_id: id, replaces: 'submit' });
  value.submit_queued = true;
  value.submitted_locally_at = new Date().toISOString();
  await saveDraft(value);
}

export async function abandon(id, reason) {
  const value = await draft(id);
  await outbox.enqueue({ kind: 'abandon', visit_id: id, body: { reason }, replaces: 'abandon' });
  if (value) await saveDraft({ ...value, status: 'abandoned' });
}

async function clearSubmitAttention(id) {
  await outbox.drop(id, (item) => item.kind === 'submit' && item.state === 'attention');
  const value = await draft(id);
  if (value?.submit_queued) await saveDraft({ ...value, submit_queued: false });
}

/** The window the next action's due time must fall in (DESIGN §5: within 7 days of check-in). */
export function actionWindow(value) {
  const checkedIn = Date.parse(value.server?.checked_in_at || value.checked_in_at);
  return { earliest: Date.now(), latest: checkedIn + HORIZON_DAYS * 86400_000 };
}

/** A draft built from a server visit (an open visit found on the server, or rework). */
export async function adopt(visit) {
  const existing = await draft(visit.id);
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
  await saveDraft(value);
  return value;
}

/** Outbox acknowledgements land here. */
outbox.onAcknowledged(async (item, result) => {
  const value = await draft(item.visit_id);
  if (!value) return;
  switch (item.kind) {
    case 'check_in':
      Object.assign(value, {
        server: result, status: result.status, form: result.form || value.form,
        store: result.store, checked_in_at: result.checked_in_at,
      });
      break;
    case 'photo':
      value.photos = { ...value.photos, [item.photo_kind]: { ...(value.photos[item.photo_kind] || {}), uploaded: true, server: result } };
      break;
    case 'answers':
      value.server = result;
      break;
    case 'next_action':
      value.next_action_saved = result;
      break;
    case 'submit':
      Object.assign(value, { server: result, status: result.status, submit_queued: false });
      break;
    case 'abandon':
      await del('visits', item.visit_id);
      return;
    default:
      break;
  }
  await saveDraft(value);
});
