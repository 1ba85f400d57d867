// Reference data kept in IndexedDB so the app works offline: who I am, the stores near me (for
// the distance shown at check-in), the customer types with their visit forms (so a visit
// checked in offline can be filled in before the server has pinned its form) and the server's
// policy (policy.js: horizon, action types, photo kinds, what submit needs).
import { api } from './api.js';
import { kvGet, kvSet } from './db.js';
import { refreshPolicy } from './policy.js';

export const me = () => kvGet('me');

export async function refreshMe() {
  const value = await api('GET', '/api/v1/me');
  await kvSet('me', value);
  return value;
}

export async function refreshReference(position = null) {
  const near = position ? `&near=${position.lat.toFixed(5)},${position.lng.toFixed(5)}` : '';
  const [types, stores] = await Promise.all([
    api('GET', '/api/v1/customer-types'),
    api('GET', `/api/v1/stores?limit=200${near}`),
    refreshPolicy(),
  ]);
  await kvSet('customer_types', types);
  const known = (await kvGet('stores', {})) || {};
  for (const store of stores.items) known[store.id] = store;
  await kvSet('stores', known);
  await refreshAuditTemplates();
  // Written last: a phone with this key holds a complete set of reference data for offline use
  // ('stores' alone may only hold a store looked up one at a time).
  await kvSet('reference_synced_at', Date.now());
}

/** A manager's audit templates (GET /api/v1/audit-templates), kept so an audit started offline
 * renders its checklist before the server has pinned one. Reps have none to fetch. */
async function refreshAuditTemplates() {
  const role = (await me())?.role;
  if (role !== 'supervisor' && role !== 'admin') return;
  const templates = await api('GET', '/api/v1/audit-templates').catch(() => null);
  if (Array.isArray(templates)) await kvSet('audit_templates', templates);
  else if (Array.isArray(templates?.items)) await kvSet('audit_templates', templates.items);
}

export const auditTemplates = async () => (await kvGet('audit_templates', [])) || [];

export async function storeById(id, { online = navigator.onLine } = {}) {
  const known = (await kvGet('stores', {})) || {};
  if (known[id]) return known[id];
  if (!online || !id) return null;
  try {
    const store = await api('GET', `/api/v1/stores/${id}`);
    known[id] = store;
    await kvSet('stores', known);
    return store;
  } catch {
    return null;
  }
}

/** The current visit form of a customer type, as cached ({customer_type, version, fields}). */
export async function formFor(customerType) {
  const types = (await kvGet('customer_types', [])) || [];
  const type = types.find((item) => item.key === customerType);
  if (!type?.visit_form) return null;
  return { customer_type: type.key, version: type.visit_form.version, fields: type.visit_form.fields };
}

export async function customerTypeName(key) {
  const types = (await kvGet('customer_types', [])) || [];
  return types.find((item) => item.key === key) || null;
}
