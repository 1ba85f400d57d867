// The server's rules that the phone applies too (GET /api/v1/config, DESIGN §3 and §5): the
// next-action horizon, the next-action types with their labels, the photo kinds and limits, and
// what submit needs. The server is their one source; the phone keeps the last answer in IndexedDB
// (kv 'policy'), so it refuses offline exactly what the server would refuse. Fetched at start and
// on sign-in (with the reference data); until the first answer arrives there is no policy, and
// the visit screen says it needs the network once.
import { api } from './api.js';
import { kvGet, kvSet } from './db.js';
import { pick } from './i18n.js';

let current = null;

/** The cached copy, read once into memory (the app does it before its first screen). */
export async function loadPolicy() {
  current = (await kvGet('policy')) || current;
  return current;
}

/** Ask the server, keep the answer; on failure the cached copy stays in force. */
export async function refreshPolicy() {
  const fresh = await api('GET', '/api/v1/config');
  await kvSet('policy', fresh);
  current = fresh;
  return fresh;
}

/** The policy in force: in memory, else cached, else fetched now (online); null if none yet. */
export async function policy() {
  if (current) return current;
  if (await loadPolicy()) return current;
  if (navigator.onLine) return refreshPolicy().catch(() => null);
  return null;
}

/** The synchronous view for screens that draw lists (null before any answer). */
export const policyNow = () => current;

export const horizonDays = (p = current) => p?.next_action_horizon_days ?? null;

/** A next-action type in the current language; an unknown one reads as its value. */
export function actionLabel(type) {
  const entry = current?.next_action_types?.find((option) => option.value === type);
  return entry ? pick(entry.label) : String(type ?? '');
}

/** Photo kinds in the server's order; before any policy, the kinds that `photos` holds. */
export function photoKinds(photos = {}) {
  return current?.photo_kinds || Object.keys(photos || {});
}

/** The audit score's rules ({pass_percent, bands: {green, amber}, scale_fail_below}); null from
 * an older server or cached copy: the phone then shows the server's own score, no verdict. */
export const auditPolicy = (p = current) => p?.audit || null;

/** Rectification due days ({critical, default, max}); null: the server picks the due time. */
export const rectificationDueDays = (p = current) => p?.rectification_due_days || null;
