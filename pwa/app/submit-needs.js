// What submit still needs, read from the server's own list of requirements (GET /api/v1/config
// `submit_requires`, the same rule that fills the `missing` of a 422 visit_incomplete) against
// what the phone and the server have now. Pure: tested under `node --test` (tests/pwa/).

/**
 * requires: e.g. ["photo:storefront", "photo:shelf", "photo:conversation", "answers",
 * "next_action"]; value: the visit's draft; formErrors: {field_key: message} from the rendered
 * form, or null when the phone has no form for this visit. → the missing entries, in order
 * ("field:<key>" stands for the answers when the form says which fields).
 */
export function missingFor(requires, value, formErrors = null) {
  const missing = [];
  for (const need of requires || []) {
    if (need.startsWith('photo:')) {
      const kind = need.slice('photo:'.length);
      if (!value.photos?.[kind] && !value.server?.photos?.[kind]) missing.push(need);
    } else if (need === 'answers') {
      if (formErrors) missing.push(...Object.keys(formErrors).map((key) => `field:${key}`));
      else if (!value.server) missing.push(need); // offline: the form shows once the visit syncs
    } else if (need === 'next_action') {
      if (!value.next_action && !value.server?.next_action) missing.push(need);
    }
    // A requirement this release does not know: the server checks it when the visit is sent.
  }
  return missing;
}
