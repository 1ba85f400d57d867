// Tokens: kept in localStorage so a closed app stays signed in. The access token is short-lived;
// the refresh token rotates on every use (the newest must be kept: reusing a spent one revokes the
// whole family) and lives 30 days idle, so a rep back after days offline is refreshed silently.
import { clearAll } from './db.js';

const KEY = 'doorstep.auth';
const EARLY_MS = 60_000; // refresh a minute before expiry, so a request never races the clock

export class SignedOut extends Error {
  constructor(message = 'signed out') { super(message); this.name = 'SignedOut'; }
}

export function session() {
  try { return JSON.parse(localStorage.getItem(KEY)) || null; } catch { return null; }
}

function save(tokens, extra = {}) {
  const value = {
    ...session(), ...extra,
    access_token: tokens.access_token,
    refresh_token: tokens.refresh_token,
    access_expires_at: Date.now() + (tokens.expires_in || 900) * 1000,
  };
  localStorage.setItem(KEY, JSON.stringify(value));
  return value;
}

export function rememberUser(me) {
  const current = session();
  if (current) localStorage.setItem(KEY, JSON.stringify({ ...current, user_id: me.id, role: me.role }));
}

export function lastUsername() { return localStorage.getItem('doorstep.username') || ''; }

async function tokenRequest(form) {
  const response = await fetch('/api/v1/auth/token', {
    method: 'POST', body: new URLSearchParams(form), headers: { Accept: 'application/json' },
  });
  const body = await response.json().catch(() => ({}));
  return { response, body };
}

export async function login(username, password) {
  const { response, body } = await tokenRequest({ grant_type: 'password', username, password });
  if (!response.ok) {
    const error = new Error(body.detail || response.statusText);
    error.status = response.status; error.code = body.code;
    throw error;
  }
  localStorage.setItem('doorstep.username', username);
  const previous = session();
  // A different user on this phone: their cached data is not ours to show.
  return save(body, { username, user_id: previous?.username === username ? previous.user_id : null });
}

/** Drop the tokens only (a spent refresh token): the outbox waits for the next sign-in. */
export function logout() { localStorage.removeItem(KEY); }

// What survives a sign-out: the language, a preference of the phone rather than of the user.
const KEPT_KEYS = new Set(['doorstep.lang']);

/** Sign out on purpose: tokens, IndexedDB (outbox, drafts, reference data), the app's own
 * storage keys and any Cache Storage of API data. The service worker's shell cache stays, so the
 * login still opens offline. */
export async function signOut() {
  logout();
  for (const key of Object.keys(localStorage)) if (key.startsWith('doorstep.') && !KEPT_KEYS.has(key)) localStorage.removeItem(key);
  sessionStorage.clear();
  await clearAll();
  const names = (await globalThis.caches?.keys?.()) || [];
  await Promise.all(names.filter((name) => !name.startsWith('doorstep-shell-')).map((name) => caches.delete(name)));
}

let refreshing = null;

/** Refresh once at a time, across tabs too (navigator.locks), re-reading the stored tokens inside
 * the lock: another tab may already have rotated them. */
export function refresh() {
  refreshing ??= withLock(async () => {
    const before = session();
    if (!before?.refresh_token) throw new SignedOut();
    if (before.access_expires_at - EARLY_MS > Date.now()) return before; // another tab did it
    const { response, body } = await tokenRequest({ grant_type: 'refresh_token', refresh_token: before.refresh_token });
    if (response.status === 400 || response.status === 401) {
      // The refresh token is spent, revoked or expired: only a new sign-in helps. The outbox
      // keeps everything meanwhile.
      if (session()?.refresh_token === before.refresh_token) logout();
      throw new SignedOut(body.detail);
    }
    if (!response.ok) {
      const error = new Error(body.detail || `refresh failed: ${response.status}`);
      error.transient = true;
      throw error;
    }
    return save(body);
  }).finally(() => { refreshing = null; });
  return refreshing;
}

function withLock(fn) {
  return navigator.locks ? navigator.locks.request('doorstep-auth', fn) : fn();
}

/** A valid access token, refreshed first when it is about to expire. */
export async function accessToken({ force = false } = {}) {
  const current = session();
  if (!current) throw new SignedOut();
  if (!force && current.access_expires_at - EARLY_MS > Date.now()) return current.access_token;
  if (force) {
    // Mark stale so the lock holder refreshes even if the clock says otherwise.
    localStorage.setItem(KEY, JSON.stringify({ ...current, access_expires_at: 0 }));
  }
  return (await refresh()).access_token;
}
