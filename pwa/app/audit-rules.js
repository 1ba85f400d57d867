// The audit tour's rules as the phone applies them (DESIGN §5 "Audit tours"): the running score,
// what submit still needs, which items fail and want a photo, and the rectifications' default
// due times. The numbers (pass mark, bands, where a scale fails, due days) come from the server's
// policy (GET /api/v1/config `audit`, `rectification_due_days`), never from constants here: an
// old cached policy without them gives no verdict and no default, and the server decides.
// Pure: tested under `node --test` (tests/pwa/audit-rules.test.js).

const DAY_MS = 86400_000;

/** A result as entered ({result: pass|fail|na} or {value: n}); null when not answered. */
const entered = (result) => (result && (result.result || (result.value !== undefined && result.value !== null && result.value !== '')) ? result : null);

export const isNa = (result) => result?.result === 'na';

/** Did this answered item fail? check: fail; scale: below `scale_fail_below` × scale_max;
 * number: outside min..max. `policy`: the server's `audit` block (null: scales cannot judge). */
export function itemFailed(item, result, policy) {
  const answer = entered(result);
  if (!answer || isNa(answer)) return false;
  if (item.kind === 'check') return answer.result === 'fail';
  const value = Number(answer.value);
  if (!Number.isFinite(value)) return false;
  if (item.kind === 'scale') {
    const below = policy?.scale_fail_below;
    return below != null && value < below * item.scale_max;
  }
  if (item.kind === 'number') return (item.min != null && value < item.min) || (item.max != null && value > item.max);
  return false;
}

/** What the item earns of its weight (0 when failed). */
function earnedBy(item, answer, failed) {
  const weight = Number(item.weight ?? 1);
  if (failed) return 0;
  if (item.kind === 'check') return answer.result === 'pass' ? weight : 0;
  if (item.kind === 'scale') return (weight * Number(answer.value)) / item.scale_max;
  return weight; // a number within min..max
}

/** One decimal, half away from zero, as the server prints percentages. */
export const oneDecimal = (x) => Math.round(x * 10 + Number.EPSILON * Math.sign(x)) / 10;

/** The band of a percent from the policy's `bands` ({green: 90, amber: 75}); null without them. */
export function bandOf(percent, policy) {
  const bands = policy?.bands;
  if (percent == null || !bands) return null;
  if (percent >= bands.green) return 'green';
  if (percent >= bands.amber) return 'amber';
  return 'red';
}

/**
 * The running score over the items answered so far. items: the checklist; results: {item_key:
 * {result} | {value}}; policy: the server's `audit` block or null.
 * → {earned, possible, percent (null before any scored item), band, passed (null without a
 *    policy), failed: [item keys], failed_critical: [item keys], answered, total}
 */
export function auditScore(items, results = {}, policy = null) {
  let earned = 0; let possible = 0; let answered = 0;
  const failed = []; const failedCritical = [];
  for (const item of items || []) {
    const answer = entered(results?.[item.key]);
    if (!answer) continue;
    answered += 1;
    if (isNa(answer)) continue;
    const fails = itemFailed(item, answer, policy);
    if (fails) { failed.push(item.key); if (item.critical) failedCritical.push(item.key); }
    earned += earnedBy(item, answer, fails);
    possible += Number(item.weight ?? 1);
  }
  const percent = possible > 0 ? oneDecimal((100 * earned) / possible) : null;
  const passed = percent == null || policy?.pass_percent == null ? null
    : percent >= policy.pass_percent && failedCritical.length === 0;
  return {
    earned: Math.round(earned * 100) / 100, possible, percent, band: bandOf(percent, policy), passed,
    failed, failed_critical: failedCritical, answered, total: (items || []).length,
  };
}

/** Does this item want a photo now? required (unless N/A), or on_fail once it failed. */
export function needsPhoto(item, result, policy) {
  if (item.photo === 'required') return !isNa(result);
  return item.photo === 'on_fail' && itemFailed(item, result, policy);
}

/**
 * What submit still needs, in checklist order, as the server's `missing` says it: "item:<key>"
 * for an unanswered item, "photo:<key>" for a photo it wants and has neither on the phone nor on
 * the server. photos: {item_key: anything truthy}; serverResults: the audit read's `results`.
 */
export function auditMissing(items, results = {}, photos = {}, policy = null, serverResults = {}) {
  const missing = [];
  for (const item of items || []) {
    const result = results?.[item.key];
    if (!entered(result)) { missing.push(`item:${item.key}`); continue; }
    if (needsPhoto(item, result, policy) && !photos?.[item.key] && !serverResults?.[item.key]?.photo_url) missing.push(`photo:${item.key}`);
  }
  return missing;
}

/**
 * A rectification's default due time and the latest allowed (ms), from `rectification_due_days`
 * ({critical: 2, default: 7, max: 14}) counted from `now`. Without that policy: {due: null,
 * latest: null} — the server picks the due time.
 */
export function dueWindow(item, now, days) {
  if (!days) return { due: null, latest: null };
  const n = item?.critical ? days.critical : days.default;
  return {
    due: n != null ? now + n * DAY_MS : null,
    latest: days.max != null ? now + days.max * DAY_MS : null,
  };
}

/** The rectifications to send with submit: one entry per failed item the supervisor changed
 * (an empty choice is left to the server: the rep of the latest visit, the policy's due). */
export function rectificationChoices(failedKeys, choices = {}) {
  const out = [];
  for (const key of failedKeys) {
    const choice = choices[key] || {};
    const entry = { item_key: key };
    if (choice.assignee_id) entry.assignee_id = choice.assignee_id;
    if (choice.due_at) entry.due_at = choice.due_at;
    if (choice.note) entry.note = choice.note;
    if (Object.keys(entry).length > 1) out.push(entry);
  }
  return out;
}

/** The template an audit started offline renders from: the one for the store's customer type,
 * else one for every type; `standard` first among equals. templates: GET /api/v1/audit-templates. */
export function templateFor(templates, customerType) {
  const usable = (templates || []).filter((tpl) => tpl.checklist?.items?.length);
  const rank = (tpl) => ((tpl.customer_types || []).includes(customerType) ? 0 : (tpl.customer_types || []).length ? 9 : 1) + (tpl.key === 'standard' ? 0 : 0.5);
  return usable.filter((tpl) => rank(tpl) < 9).sort((a, b) => rank(a) - rank(b))[0] || null;
}

/** The checklist grouped by section, in order of first appearance. → [{section, items}] */
export function bySection(items) {
  const groups = [];
  const index = new Map();
  for (const item of items || []) {
    const name = JSON.stringify(item.section || '');
    if (!index.has(name)) { index.set(name, groups.length); groups.push({ section: item.section, items: [] }); }
    groups[index.get(name)].items.push(item);
  }
  return groups;
}
