// The outbox (DESIGN §7): every write is stored here first, then replayed to the server.
//
// - Order: items replay oldest first (by seq) within each visit; a visit whose head item fails is
//   skipped for the rest of the round, so its later items never overtake it ("back to the front").
//   Other visits go on.
// - When: on app start, on the `online` event, every REPLAY_EVERY_MS, and on "retry now".
// - Transient failures (no network, timeouts, 408/429/5xx) retry with exponential backoff.
// - Final refusals (a 4xx such as invalid_qr, outside_geofence, invalid_form, visit_incomplete,
//   action_due_out_of_range, conflict) are NOT dropped: the item stays as "needs attention" with
//   the server's problem, blocks the rest of its visit, and is shown to the rep, who fixes the
//   cause (a new photo or answer replaces it), retries it, or discards it explicitly.
// - Nothing is deleted before a 2xx. Client-generated ids make every replay idempotent on the
//   server, so an item sent twice (answer lost on the way back) is harmless; a write that has no
//   id of its own (a reschedule) carries an Idempotency-Key made when it was queued.
// - A body's `device_time` is the phone's clock when each attempt is sent, never when the write
//   was captured: the server takes (its receive time - device_time) as the phone's clock error,
//   so a time frozen at capture would count the hours spent offline as a wrong clock.
import { transact, req, getAll, put, del } from './db.js';
import { api, ApiError, SignedOut } from './api.js';
import { session } from './auth.js';

const REPLAY_EVERY_MS = 20_000;
const BACKOFF_BASE_MS = 2_000;
const BACKOFF_MAX_MS = 5 * 60_000;

let ackHandler = async () => {};
let running = null;
let sendingSeq = null;
const listeners = new Set();

/** visits.js updates its drafts from each acknowledged item's response. */
export function onAcknowledged(handler) { ackHandler = handler; }

export function subscribe(listener) { listeners.add(listener); return () => listeners.delete(listener); }
function changed() { for (const listener of listeners) listener(); }

export async function items() {
  const all = await getAll('outbox');
  return all.sort((a, b) => a.seq - b.seq);
}

export async function itemsFor(visitId) {
  return (await items()).filter((item) => item.visit_id === visitId);
}

// Writes only a rep makes (DESIGN §1): a supervisor's or an admin's tap must never leave an item
// in their outbox that the server can only refuse ("没有权限").
const REP_ONLY = new Set(['check_in', 'photo', 'answers', 'next_action', 'submit', 'abandon', 'complete_action', 'reschedule_action']);

export class NotForRole extends Error {
  constructor(kind) { super(`not for this role: ${kind}`); this.name = 'NotForRole'; }
}

/**
 * Queue a write. `replaces`: a key (e.g. "photo:shelf", "answers"); a queued item of the same
 * visit and key that is not on its way right now is superseded (a new photo replaces the one
 * still waiting, a fix replaces the item that needed attention). Throws storage errors (quota!).
 */
export async function enqueue(item) {
  const role = session()?.role;
  if (role && role !== 'rep' && REP_ONLY.has(item.kind)) throw new NotForRole(item.kind);
  const record = {
    ...item,
    user_id: session()?.user_id || null,
    created_at: new Date().toISOString(),
    attempts: 0, state: 'pending', last_error: null, next_try_at: 0,
  };
  const seq = await transact('outbox', 'readwrite', async ({ outbox }) => {
    if (item.replaces) {
      const queued = await req(outbox.index('visit').getAll(item.visit_id));
      for (const old of queued) {
        if (old.replaces === item.replaces && old.seq !== sendingSeq) outbox.delete(old.seq);
      }
    }
    return req(outbox.add(record));
  });
  changed();
  return seq;
}

/** Remove a visit's queued items of one kind (e.g. an old submit before submitting again). */
export async function drop(visitId, predicate = () => true) {
  await transact('outbox', 'readwrite', async ({ outbox }) => {
    const queued = await req(outbox.index('visit').getAll(visitId));
    for (const item of queued) if (item.seq !== sendingSeq && predicate(item)) outbox.delete(item.seq);
  });
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
  const item = (await items()).find((i) => i.seq === seq);
  if (item) await put('outbox', { ...item, state: 'pending', next_try_at: 0 });
  changed();
  return replay();
}

function backoff(attempts) {
  const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.max(0, attempts - 1));
  return delay * (0.8 + Math.random() * 0.4);
}

/** The body as this attempt sends it: `device_time` is the phone's clock now (see the top). */
function stampedForSending(body) {
  if (!body || typeof body !== 'object' || !('device_time' in body)) return body;
  return { ...body, device_time: new Date().toISOString() };
}

function request(item) {
  const visit = `/api/v1/visits/${item.visit_id}`;
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
    default: throw new ApiError(400, { code: 'unknown_item', detail: item.kind });
  }
}

function problemOf(error) {
  return {
    status: error.status ?? 0, code: error.code || error.name, detail: error.message,
    problem: error.problem || null, at: new Date().toISOString(),
  };
}

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
  while (await replayPass());
}

/** One pass over the queue; true when at least one item was acknowledged. */
async function replayPass() {
  if (!navigator.onLine || !session()) return false;
  const me = session().user_id;
  const blocked = new Set();
  let progressed = false;
  for (const item of await items()) {
    // Another user's queue waits for them to sign in again on this phone.
    if (item.user_id && me && item.user_id !== me) continue;
    if (blocked.has(item.visit_id)) continue;
    if (item.state === 'attention' || item.next_try_at > Date.now()) { blocked.add(item.visit_id); continue; }
    sendingSeq = item.seq;
    try {
      const result = await request(item);
      await ackHandler(item, result);
      await del('outbox', item.seq);
      progressed = true;
      changed();
    } catch (error) {
      blocked.add(item.visit_id);
      if (error instanceof SignedOut) {
        window.dispatchEvent(new CustomEvent('doorstep:signed-out'));
        return false;
      }
      const transient = !(error instanceof ApiError) || error.transient;
      const attempts = item.attempts + 1;
      await put('outbox', {
        ...item, attempts, last_error: problemOf(error),
        state: transient ? 'pending' : 'attention',
        next_try_at: transient ? Date.now() + backoff(attempts) : 0,
      });
      changed();
      if (transient && error.status === 0) return false; // the network is gone: stop
    } finally {
      sendingSeq = null;
    }
  }
  return progressed;
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
