// Small DOM helpers shared by the screens: element building, toasts, banners, time formatting.
import { t, lang, pick } from './i18n.js';

/** h('button', {class: 'primary', onclick}, 'text', child...) — attributes and children. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key in el && typeof value !== 'string') el[key] = value;
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

/** el.append() that skips null/false children (the native one would print "null"). */
export function add(el, ...children) { append(el, children); return el; }

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function clear(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

let toastTimer = 0;
export function toast(message, ms = 3500) {
  const el = document.getElementById('toast');
  el.textContent = message;
  el.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { el.hidden = true; }, ms);
}

/** A banner that stays until dismissed or replaced (same id). */
export function banner(id, message, { error = false, action = null } = {}) {
  const box = document.getElementById('banners');
  document.getElementById(`banner-${id}`)?.remove();
  const el = h('div', { id: `banner-${id}`, class: error ? 'banner error' : 'banner', role: error ? 'alert' : 'status' },
    h('p', {}, message), action);
  box.append(el);
  return el;
}

export function removeBanner(id) { document.getElementById(`banner-${id}`)?.remove(); }

/**
 * A modal question → Promise<boolean> (true: confirmed). For what cannot be undone, so the rep
 * reads it once more: abandoning a visit, signing out with writes still waiting.
 */
export function confirmDialog({ title, body = [], confirm, cancel = t('cancel'), danger = false }) {
  return new Promise((resolve) => {
    const dialog = h('dialog', { class: 'dialog', id: 'confirm-dialog', 'aria-labelledby': 'confirm-title' },
      h('h2', { id: 'confirm-title' }, title), [body].flat().map((line) => h('p', {}, line)),
      h('div', { class: 'row' },
        h('button', { type: 'button', id: 'confirm-yes', class: danger ? 'danger grow' : 'primary grow', onclick: () => dialog.close('yes') }, confirm),
        h('button', { type: 'button', id: 'confirm-no', class: 'grow', onclick: () => dialog.close('no') }, cancel)));
    dialog.addEventListener('close', () => { dialog.remove(); resolve(dialog.returnValue === 'yes'); });
    document.body.append(dialog);
    dialog.showModal();
  });
}

/** The error an outbox item keeps, in plain words: the server's refusal by its code, else what
 * the phone saw (a client-side error shows its name and message). */
export function problemText(error) {
  if (!error) return '';
  const detail = error.detail || '';
  return t(`code_${error.problem?.code || error.code}`, { fallback: detail, detail });
}

/** Storage errors (quota above all) are shown, never swallowed. */
export function showStorageError(error) {
  const quota = error && (error.name === 'QuotaExceededError' || /quota/i.test(String(error.message)));
  banner('storage', quota ? t('quota_exceeded') : `${t('storage_error')} ${error?.message || error}`, { error: true });
  console.error(error);
}

// --- time ----------------------------------------------------------------------------------------

/** Offset (ms) to add to Date.now() to get server time, learnt from `server_time` fields. */
let serverOffsetMs = Number(localStorage.getItem('doorstep.server_offset_ms') || 0);
export function learnServerTime(serverTime) {
  if (!serverTime) return;
  serverOffsetMs = Date.parse(serverTime) - Date.now();
  localStorage.setItem('doorstep.server_offset_ms', String(serverOffsetMs));
}
export function serverNow() { return Date.now() + serverOffsetMs; }

/** "2 天 3 小时" / "in 2 d 3 h"; overdue gives "逾期 5 小时" / "5 h overdue". */
export function countdown(dueAt) {
  const ms = Date.parse(dueAt) - serverNow();
  const overdue = ms < 0;
  let minutes = Math.floor(Math.abs(ms) / 60000);
  const days = Math.floor(minutes / 1440); minutes -= days * 1440;
  const hours = Math.floor(minutes / 60); minutes -= hours * 60;
  const parts = days ? [t('n_days', { n: days }), t('n_hours', { n: hours })]
    : hours ? [t('n_hours', { n: hours }), t('n_minutes', { n: minutes })] : [t('n_minutes', { n: minutes })];
  const span = parts.join(' ');
  return { overdue, ms, text: overdue ? t('overdue_by', { span }) : t('due_in', { span }) };
}

export function formatTime(iso) {
  if (!iso) return '';
  return new Date(iso).toLocaleString(lang() === 'zh' ? 'zh-CN' : 'en-GB',
    { month: 'numeric', day: 'numeric', hour: '2-digit', minute: '2-digit' });
}

export function formatBytes(n) {
  return n >= 1048576 ? `${(n / 1048576).toFixed(1)} MB` : `${Math.round(n / 1024)} KB`;
}

export { t, pick };
