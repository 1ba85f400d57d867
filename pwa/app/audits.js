// Audit tours and rectification fixes on the phone: the local drafts the screens draw from while
// writes wait in the outbox, and the writes themselves. As with visits (visits.js), every
// operation is one IndexedDB transaction over the draft and its outbox items, and an
// acknowledgement updates the draft in the transaction that removes the item.
//
// Outbox subjects (replayed in order, oldest first, each independently of the others):
// - an audit's writes go under `audit:<id>`: audit_start, audit_results (consecutive ones merge,
//   replay.js coalesced()), audit_photo, audit_submit, audit_abandon;
// - a rectification's after photo and submit go under the rep's VISIT (its id), after that
//   visit's check-in and before its submit: the server takes the after photo only while the rep
//   has an open visit at that store (409 not_at_store), so they must never overtake either.
import { get, getAll, req, transact, kvGet } from './db.js';
import * as outbox from './outbox.js';
import { session } from './auth.js';
import { storeIdFrom } from './qr.js';

const subject = (id) => `audit:${id}`;
const stamped = (value) => ({ ...value, updated_at: new Date().toISOString() });

export const auditDraft = (id) => get('audits', id);

/** My audits still open on this phone, newest first. */
export async function openAudits() {
  const me = session()?.user_id;
  return (await getAll('audits'))
    .filter((a) => a.status === 'open' && !a.submit_queued && (!me || !a.user_id || a.user_id === me))
    .sort((a, b) => b.started_at.localeCompare(a.started_at));
}

/** One logical change to audit `id` (see visits.js change()): fn(draft, queue) → new draft,
 * null (delete) or undefined (leave). */
async function change(id, fn) {
  const value = await transact(['audits', 'outbox'], 'readwrite', async (stores) => {
    const queue = {
      add: (item) => outbox.queueInto(stores.outbox, { visit_id: subject(id), audit_id: id, ...item }),
      drop: (predicate) => outbox.dropFrom(stores.outbox, subject(id), predicate),
    };
    const next = await fn(await req(stores.audits.get(id)), queue);
    if (next === null) stores.audits.delete(id);
    else if (next !== undefined) stores.audits.put(stamped(next));
    return next;
  });
  outbox.changed();
  return value;
}

/** A change after submit was refused (incomplete): that submit goes, the audit is editable. */
async function reopen(value, queue) {
  if (!value) throw new Error('this audit is not on this phone');
  await queue.drop((item) => item.kind === 'audit_submit' && item.state === 'attention');
  return { ...value, submit_queued: false };
}

/**
 * Start at the door: the check-in body (what the supervisor did is fixed here; `device_time` is
 * re-stamped on every attempt by the outbox). `template`: the checklist to render until the
 * server answers ({key, version, items}, from the cached templates), or null.
 */
export function startAudit({ token, position, store, template }) {
  const id = crypto.randomUUID();
  const now = new Date().toISOString();
  const body = { id, qr: token, position, device_time: now, queued_offline: !navigator.onLine };
  if (template?.key) body.template_key = template.key;
  const value = {
    id, user_id: session()?.user_id || null, token, store_id: storeIdFrom(token), store, position,
    started_at: position.captured_at, status: 'open', template, results: {}, photos: {}, choices: {},
    server: null, submit_queued: false, created_at: now,
  };
  return change(id, async (_, queue) => {
    await queue.add({ kind: 'audit_start', body, replaces: 'audit_start' });
    return value;
  });
}

/** Forget an audit the server refused at the door (the supervisor is told why). */
export const forgetAudit = (id) => change(id, async (_, queue) => { await queue.drop(); return null; });

/** One item's answer ({result} | {value}, with its note); merged into the queued results. */
export function setResult(id, key, entry) {
  return change(id, async (value, queue) => {
    const next = await reopen(value, queue);
    next.results = { ...next.results, [key]: entry };
    await queue.add({ kind: 'audit_results', coalesce: 'results', body: { results: { [key]: entry } } });
    return next;
  });
}

export function setItemPhoto(id, key, shot) {
  return change(id, async (value, queue) => {
    const next = await reopen(value, queue);
    next.photos = { ...next.photos, [key]: { thumb: shot.thumb, bytes: shot.bytes, uploaded: false } };
    await queue.add({ kind: 'audit_photo', item_key: key, blob: shot.blob, replaces: `audit_photo:${key}` });
    return next;
  });
}

/** Back to editing after a refused submit: `keep` leaves the refused item in the outbox (its
 * explanation stays on show until the next change replaces it). */
export const reopenAudit = (id, { keep = false } = {}) => change(id, async (value, queue) => (keep
  ? (value ? { ...value, submit_queued: false } : undefined) : reopen(value, queue)));

/** Keep the supervisor's rectification choices on the phone (the confirm sheet). */
export const setChoices = (id, choices) => change(id, async (value) => (value ? { ...value, choices } : undefined));

export function submitAudit(id, rectifications) {
  return change(id, async (value, queue) => {
    if (!value) throw new Error('this audit is not on this phone');
    await queue.drop((item) => item.kind === 'audit_submit');
    await queue.add({ kind: 'audit_submit', body: { rectifications }, replaces: 'audit_submit' });
    return { ...value, submit_queued: true, submitted_locally_at: new Date().toISOString() };
  });
}

export function abandonAudit(id, reason) {
  return change(id, async (value, queue) => {
    await queue.drop((item) => item.kind === 'audit_submit');
    await queue.add({ kind: 'audit_abandon', body: { reason }, replaces: 'audit_abandon' });
    return value ? { ...value, status: 'abandoned' } : undefined;
  });
}

/** The server's results as entries the phone sends ({result} | {value}, note). */
function entriesOf(results = {}) {
  const out = {};
  for (const [key, r] of Object.entries(results || {})) {
    const entry = r.result === 'na' || r.result === 'pass' || r.result === 'fail' ? { result: r.result }
      : r.value != null ? { value: r.value } : null;
    if (entry) out[key] = r.note ? { ...entry, note: r.note } : entry;
  }
  return out;
}

/** The draft with the server's audit read in it; what the phone still holds unsent wins. */
function withServer(value, audit) {
  return {
    ...value,
    server: audit, status: value.submit_queued && audit.status === 'open' ? value.status : audit.status,
    store: audit.store || value.store, store_id: audit.store?.id || value.store_id,
    template: audit.template ? { key: audit.template.key || audit.template.template_key, ...audit.template } : value.template,
    started_at: audit.started_at || value.started_at,
    results: { ...entriesOf(audit.results), ...(value.results || {}) },
  };
}

/** A draft built from a server audit (opened on another phone, or after the fact). */
export function adoptAudit(audit) {
  return change(audit.id, async (existing) => withServer(existing || {
    id: audit.id, user_id: audit.auditor?.id || null, photos: {}, choices: {}, results: {}, submit_queued: false,
  }, audit));
}

function acknowledged(value, item, result) {
  switch (item.kind) {
    case 'audit_start': case 'audit_results':
      return result?.id ? withServer(value, result) : value;
    case 'audit_photo':
      return { ...value, photos: { ...value.photos, [item.item_key]: { ...(value.photos?.[item.item_key] || {}), uploaded: true } } };
    case 'audit_submit':
      return { ...withServer(value, result), submit_queued: false, status: result?.status || 'submitted' };
    case 'audit_abandon':
      return null;
    default:
      return value;
  }
}

// --- rectification fixes (the rep, during a visit at the store) --------------------------------

/** What the phone holds about fixes not yet on the server: {rect_id: {thumb, bytes,
 * photo_uploaded, submit_queued, note}} (kv 'rect_local'). */
export const fixesOnPhone = async () => (await kvGet('rect_local', {})) || {};

async function changeFix(rectId, fn) {
  await transact(['kv', 'outbox'], 'readwrite', async ({ kv, outbox: store }) => {
    const row = await req(kv.get('rect_local'));
    const all = row?.value || {};
    const next = await fn(all[rectId] || {}, (item) => outbox.queueInto(store, { rectification_id: rectId, ...item }));
    kv.put({ key: 'rect_local', value: { ...all, [rectId]: next }, saved_at: Date.now() });
  });
  outbox.changed();
}

/** The after photo, queued under the rep's open visit `visitId` (see the header). */
export const takeAfterPhoto = (rectId, visitId, shot) => changeFix(rectId, async (local, add) => {
  await add({ kind: 'rect_photo', visit_id: visitId, blob: shot.blob, replaces: `rect_photo:${rectId}` });
  return { ...local, thumb: shot.thumb, bytes: shot.bytes, photo_uploaded: false, submit_queued: false };
});

export const submitFix = (rectId, visitId, note) => changeFix(rectId, async (local, add) => {
  await add({ kind: 'rect_submit', visit_id: visitId, body: { note }, idempotency_key: crypto.randomUUID(), replaces: `rect_submit:${rectId}` });
  return { ...local, submit_queued: true, note };
});

/** A rectification read replaces the cached copy on Today (kv 'rectifications'). */
function cacheRect(row, rect) {
  if (!row?.value || !rect?.id) return null;
  return { ...row, value: { ...row.value, items: (row.value.items || []).map((r) => (r.id === rect.id ? rect : r)) } };
}

outbox.onAcknowledged(async (item, result, { audits, kv }) => {
  if (item.kind?.startsWith('audit_')) {
    const value = await req(audits.get(item.audit_id));
    if (!value) return;
    const next = acknowledged(value, item, result);
    if (next === null) audits.delete(item.audit_id); else audits.put(stamped(next));
  } else if (item.kind === 'rect_photo' || item.kind === 'rect_submit') {
    const row = await req(kv.get('rect_local'));
    const all = { ...(row?.value || {}) };
    // Once the submit is in, the server holds the whole fix: the phone's copy goes (a reopened
    // rectification then asks for a new after photo, not this one).
    if (item.kind === 'rect_submit') delete all[item.rectification_id];
    else all[item.rectification_id] = { ...(all[item.rectification_id] || {}), photo_uploaded: true };
    kv.put({ key: 'rect_local', value: all, saved_at: Date.now() });
    const cached = cacheRect(await req(kv.get('rectifications')), result?.status ? result : null);
    if (cached) kv.put(cached);
  }
}, { stores: ['audits', 'kv'] });
