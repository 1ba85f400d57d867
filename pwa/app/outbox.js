// The outbox (DESIGN §7): every write is stored here first, then replayed to the server. The
// replay rules themselves (order, backoff, refusals, client-side bugs) are in replay.js, with no
// I/O, so they are tested without a browser; this module gives them IndexedDB and the network.
//
// - When: on app start, on the `online` event, every REPLAY_EVERY_MS, and on "retry now".
// - Final refusals (a 4xx such as invalid_qr, outside_geofence, invalid_form, visit_incomplete,
//   action_due_out_of_range, conflict) and client-side bugs are NOT dropped: the item stays as
//   "needs attention" with the error, blocks the rest of its visit, and is shown to the rep, who
//   fixes the cause (a new photo or answer replaces it), retries it, or discards it explicitly.
// - Nothing is deleted before a 2xx. Client-generated ids make every replay idempotent on the
//   server, so an item sent twice (answer lost on the way back) is harmless; a write that has no
//   id of its own (a reschedule) carries an Idempotency-Key made when it was queued.
// - A body's `device_time` is the phone's clock when each attempt is sent (replay.js).
// - One IndexedDB transaction per logical change: queueing an item together with the draft it
//   belongs to (queueInto/dropFrom inside the caller's transaction, see visits.js), and an
//   acknowledgement together with the draft update it brings (onAcknowledged).
import { transact, req, getAll, del } from './db.js';
import { api, ApiError } from './api.js';
import { session } from './auth.js';
import { replayPass, stampedForSending, coalesced } from './replay.js';

const REPLAY_EVERY_MS = 20_000;

const acks = [];
let running = null;
let sendingSeq = null;
const listeners = new Set();

/** visits.js and audits.js update their drafts from each acknowledged item's response:
 * `handler(item, result, stores)` runs inside the transaction that removes the item, with
 * `stores` (e.g. ['visits']); every registered handler sees every item. */
export function onAcknowledged(handler, { stores = [] } = {}) { acks.push({ stores, handler }); }
const ackStores = () => [...new Set(acks.flatMap((a) => a.stores))];
const LAZY_ACKS = /^(audit_|rect_)/;

export function subscribe(listener) { listeners.add(listener); return () => listeners.delete(listener); }
/** Tell the screens the queue changed (after a caller's own transaction). */
export function changed() { for (const listener of listeners) listener(); }

export async function items() {
  const all = await getAll('outbox');
  return all.sort((a, b) => a.seq - b.seq);
}

export async function itemsFor(visitId) {
  return (await items()).filter((item) => item.visit_id === visitId);
}

// Writes only a rep makes (DESIGN §1): a supervisor's or an admin's tap must never leave an item
// in their outbox that the server can only refuse ("没有权限").
const REP_ONLY = new Set(['check_in', 'photo', 'answers', 'next_action', 'submit', 'abandon', 'complete_action', 'reschedule_action', 'rect_photo', 'rect_submit']);
// And the audit tour is a manager's (a rep who opens a door code checks in).
const MANAGER_ONLY = new Set(['audit_start', 'audit_results', 'audit_photo', 'audit_submit', 'audit_abandon']);

export class NotForRole extends Error {
  constructor(kind) { super(`not for this role: ${kind}`); this.name = 'NotForRole'; }
}

/**
 * Queue a write inside the caller's transaction (`store`: its 'outbox' object store). `replaces`:
 * a key (e.g. "photo:shelf", "answers"); a queued item of the same visit and key that is not on
 * its way right now is superseded (a new photo replaces the one still waiting, a fix replaces the
 * item that needed attention). Throws (and so aborts the caller's transaction) for a write the
 * signed-in role may not make. → a promise of the new item's seq.
 */
export async function queueInto(store, item) {
  const role = session()?.role;
  if (role && role !== 'rep' && REP_ONLY.has(item.kind)) throw new NotForRole(item.kind);
  if (role === 'rep' && MANAGER_ONLY.has(item.kind)) throw new NotForRole(item.kind);
  if (item.coalesce) {
    const merged = coalesced(await req(store.index('visit').getAll(item.visit_id)), item, sendingSeq);
    if (merged.drop !== null) store.delete(merged.drop);
    item = merged.item;
  }
  const record = {
    ...item,
    user_id: session()?.user_id || null,
    created_at: new Date().toISOString(),
    attempts: 0, state: 'pending', last_error: null, next_try_at: 0,
  };
  if (item.replaces) await dropFrom(store, item.visit_id, (old) => old.replaces === item.replaces);
  return req(store.add(record));
}

/** Inside the caller's transaction: remove a visit's queued items that match (never the one
 * being sent: its answer decides what happens to it). */
export async function dropFrom(store, visitId, predicate = () => true) {
  const queued = await req(store.index('visit').getAll(visitId));
  for (const item of queued) if (item.seq !== sendingSeq && predicate(item)) store.delete(item.seq);
}

/** Queue a write on its own (one transaction). Throws storage errors (quota!). */
export async function enqueue(item) {
  const seq = await transact('outbox', 'readwrite', ({ outbox }) => queueInto(outbox, item));
  changed();
  return seq;
}

/** Remove a visit's queued items of one kind (e.g. an old submit before submitting again). */
export async function drop(visitId, predicate = () => true) {
  await transact('outbox', 'readwrite', ({ outbox }) => dropFrom(outbox, visitId, predicate));
  changed();
}

export async function discard(seq) { await del('outbox', seq); changed(); }

/** Make every item due now (the network is back, or the rep tapped "retry"). */
export async function retryAll({ includeAttention = false } = {}) {
  await transact('outbox', 'readwrite', async ({ outbox }) => {
    for (const item of await req(outbox.getAll())) {
      if (item.state === 'attention' && !includeAttention) continue;
      outbox.put({ ...item, state: 'pending', next_try_at: 0 });
    }
  });
  changed();
  return replay();
}

export async function retryItem(seq) {
  await update(seq, (item) => ({ ...item, state: 'pending', next_try_at: 0 }));
  changed();
  return replay();
}

/** Read-modify-write of one item in one transaction; an item that is gone stays gone. */
function update(seq, fn) {
  return transact('outbox', 'readwrite', async ({ outbox }) => {
    const item = await req(outbox.get(seq));
    if (item) outbox.put(fn(item));
  });
}

function upload(blob, name) {
  const form = new FormData();
  form.append('file', blob, name);
  return form;
}

function request(item) {
  const visit = `/api/v1/visits/${item.visit_id}`;
  const audit = `/api/v1/audits/${item.audit_id}`;
  const fix = `/api/v1/rectifications/${item.rectification_id}`;
  const action = `/api/v1/next-actions/${item.action_id}`;
  const once = item.idempotency_key ? { headers: { 'Idempotency-Key': item.idempotency_key } } : {};
  const body = stampedForSending(item.body);
  switch (item.kind) {
    case 'check_in': return api('POST', '/api/v1/visits', body);
    case 'photo': {
      const form = new FormData();
      form.append('file', item.blob, `${item.photo_kind}.jpg`);
      return api('PUT', `${visit}/photos/${item.photo_kind}`, form, { timeout: 120_000 });
    }
    case 'answers': return api('PUT', `${visit}/answers`, body);
    case 'next_action': return api('PUT', `${visit}/next-action`, body);
    case 'submit': return api('POST', `${visit}/submit`);
    case 'abandon': return api('POST', `${visit}/abandon`, body);
    case 'complete_action': return api('POST', `${action}/complete`, body, once);
    case 'reschedule_action': return api('POST', `${action}/reschedule`, body, once);
    case 'audit_start': return api('POST', '/api/v1/audits', body);
    case 'audit_results': return api('PUT', `${audit}/results`, body);
    case 'audit_photo': return api('PUT', `${audit}/items/${encodeURIComponent(item.item_key)}/photo`, upload(item.blob, `${item.item_key}.jpg`), { timeout: 120_000 });
    case 'audit_submit': return api('POST', `${audit}/submit`, body);
    case 'audit_abandon': return api('POST', `${audit}/abandon`, body);
    case 'rect_photo': return api('PUT', `${fix}/after-photo`, upload(item.blob, 'after.jpg'), { timeout: 120_000 });
    case 'rect_submit': return api('POST', `${fix}/submit`, body, once);
    default: throw new ApiError(400, { code: 'unknown_item', detail: item.kind });
  }
}

/** The replay rules' I/O: IndexedDB and the API. */
const io = {
  items: () => getAll('outbox'),
  fresh: (item) => transact('outbox', 'readonly', ({ outbox }) => req(outbox.get(item.seq))),
  send: request,
  // The answer and the item's removal are one change: a draft never shows a write as pending
  // that the outbox no longer holds, nor the other way round.
  acknowledge: async (item, result) => {
    // Audit tours and fixes keep their drafts in audits.js, loaded only once such an item is
    // acknowledged (it registers its handler), never in the rep's first load; before the
    // transaction, which any other wait would commit.
    if (LAZY_ACKS.test(item.kind)) await import('./audits.js');
    return transact(['outbox', ...ackStores()], 'readwrite', async (stores) => {
      for (const { handler } of acks) await handler(item, result, stores);
      stores.outbox.delete(item.seq);
    });
  },
  failed: (item, next) => update(item.seq, () => next),
  sending: (seq) => { sendingSeq = seq; },
  changed,
};

/** One replay round. Concurrent calls share the round in progress; other tabs are skipped. */
let again = false;
export function replay() {
  if (running) { again = true; return running; }
  running = withLock(replayRound).finally(() => {
    running = null;
    changed();
    // Something was queued while the round ran (a photo taken during an upload): go on.
    if (again) { again = false; replay(); }
  });
  return running;
}

function withLock(fn) {
  return navigator.locks
    ? navigator.locks.request('doorstep-outbox', { ifAvailable: true }, (lock) => (lock ? fn() : null))
    : fn();
}

async function replayRound() {
  // Passes until one sends nothing: items queued during a pass are picked up by the next one.
  for (;;) {
    if (!navigator.onLine || !session()) return;
    const { progressed, stop } = await replayPass(io, { me: session().user_id });
    if (stop === 'signed_out') window.dispatchEvent(new CustomEvent('doorstep:signed-out'));
    if (stop || !progressed) return;
  }
}

/** Start replaying: now, when the network returns, and on a timer. */
let started = false;
export function start() {
  if (started) return replay();
  started = true;
  addEventListener('online', () => { retryAll(); });
  setInterval(() => { replay(); }, REPLAY_EVERY_MS);
  document.addEventListener('visibilitychange', () => { if (!document.hidden) replay(); });
  return replay();
}
