// The outbox's replay rules (DESIGN §7, docs/pwa.md "The outbox"), with no I/O of their own:
// outbox.js hands in IndexedDB and the network, tests/pwa/ hands in arrays and fakes, so the
// rules run under `node --test` without a browser.
//
// - Order: oldest first (by seq) within each visit; a visit whose head item fails, waits or
//   needs attention is blocked for the rest of the pass, so its later items never overtake it.
//   Other visits go on. Another user's items wait for that user.
// - Transient failures (no network, 408, 429, 5xx, a full disk) go back with exponential backoff;
//   no network ends the pass.
// - Final refusals (any other API error) and client-side bugs (a TypeError or any other error
//   that is not an API answer) become "needs attention" with the error kept to show: a bug that
//   fails the same way on every attempt must not be retried forever, silently.
// - Signed out: the pass stops and says so; nothing changes.
// - Nothing is removed before the server has acknowledged it (2xx).

export const BACKOFF_BASE_MS = 2_000;
export const BACKOFF_MAX_MS = 5 * 60_000;

/** Delay before attempt `attempts + 1`: doubling from 2 s to 5 min, ±20 % jitter. */
export function backoff(attempts, random = Math.random) {
  const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.max(0, attempts - 1));
  return delay * (0.8 + random() * 0.4);
}

const isApiError = (error) => error?.name === 'ApiError' && typeof error.status === 'number';

/** What a failed attempt means: 'signed_out' | 'offline' | 'transient' | 'refused' | 'bug'. */
export function verdict(error) {
  if (error?.name === 'SignedOut') return 'signed_out';
  if (isApiError(error)) {
    if (error.status === 0) return 'offline';
    return error.transient ? 'transient' : 'refused';
  }
  // The phone's storage is full: not the item's fault, and it may pass once space is freed.
  if (error?.name === 'QuotaExceededError') return 'transient';
  return 'bug';
}

/** The error as kept on the item and shown to the rep. */
export function problemOf(error, now = Date.now()) {
  const api = isApiError(error);
  return {
    status: api ? error.status : 0,
    code: api ? error.code : 'client_error',
    detail: api ? error.message : `${error?.name || 'Error'}: ${error?.message ?? String(error)}`,
    problem: api ? error.problem || null : null,
    at: new Date(now).toISOString(),
  };
}

/** The item after a failed attempt (`kind`: a verdict other than 'signed_out'). */
export function afterFailure(item, error, now = Date.now(), random = Math.random) {
  const kind = verdict(error);
  const attempts = item.attempts + 1;
  const retry = kind === 'offline' || kind === 'transient';
  return {
    ...item, attempts, last_error: problemOf(error, now),
    state: retry ? 'pending' : 'attention',
    next_try_at: retry ? now + backoff(attempts, random) : 0,
  };
}

/** The body as this attempt sends it: `device_time` is the phone's clock now, never the time
 * of capture (the server reads receive time - device_time as the phone's clock error). */
export function stampedForSending(body, now = Date.now()) {
  if (!body || typeof body !== 'object' || !('device_time' in body)) return body;
  return { ...body, device_time: new Date(now).toISOString() };
}

/**
 * One pass over the queue. `io`:
 *   items()               → every queued item, any order
 *   fresh(item)           → the item as stored now, or null (superseded or discarded meanwhile)
 *   send(item)            → the server's answer; throws ApiError / SignedOut / anything
 *   acknowledge(item, r)  → records the answer and removes the item (one change)
 *   failed(item, next)    → stores the item after a failed attempt (skipped if it is gone)
 *   sending(seq | null)   → which item is on its way (enqueue must not supersede that one)
 *   changed()             → the queue changed (screens redraw)
 * `me`: the signed-in user's id; `now`: a clock.
 * → {progressed: at least one item acknowledged, stop: null | 'offline' | 'signed_out'}
 */
export async function replayPass(io, { me = null, now = () => Date.now(), random = Math.random } = {}) {
  const queued = [...(await io.items())].sort((a, b) => a.seq - b.seq);
  const blocked = new Set();
  let progressed = false;
  for (const listed of queued) {
    if (listed.user_id && me && listed.user_id !== me) continue;
    if (blocked.has(listed.visit_id)) continue;
    const item = await io.fresh(listed);
    if (!item) continue;
    if (item.state === 'attention' || item.next_try_at > now()) { blocked.add(item.visit_id); continue; }
    io.sending(item.seq);
    try {
      const result = await io.send(item);
      await io.acknowledge(item, result);
      progressed = true;
      io.changed();
    } catch (error) {
      blocked.add(item.visit_id);
      const kind = verdict(error);
      if (kind === 'signed_out') return { progressed, stop: 'signed_out' };
      await io.failed(item, afterFailure(item, error, now(), random));
      io.changed();
      if (kind === 'offline') return { progressed, stop: 'offline' };
    } finally {
      io.sending(null);
    }
  }
  return { progressed, stop: null };
}

/**
 * Consecutive result writes of one audit become one (DESIGN §7: a tap per checklist item would
 * otherwise queue dozens of PUTs). `queued`: the subject's items as stored; `item`: the new
 * write; `sendingSeq`: the item on its way, which is never touched (its answer decides it).
 * Only the subject's last item merges, and only when it is the same kind of merging write, so
 * nothing overtakes a photo or a submit queued after it; the server merges results item by
 * item, so sending the merged body equals sending both in order.
 * → {item: the write to queue, drop: the seq it replaces | null}
 */
export function coalesced(queued, item, sendingSeq = null) {
  if (!item.coalesce) return { item, drop: null };
  const tail = [...queued].sort((a, b) => b.seq - a.seq)[0];
  if (!tail || tail.seq === sendingSeq || tail.kind !== item.kind || tail.coalesce !== item.coalesce) return { item, drop: null };
  const results = { ...(tail.body?.results || {}), ...(item.body?.results || {}) };
  return { item: { ...item, body: { ...tail.body, ...item.body, results } }, drop: tail.seq };
}
