// The visit: a photo slot per kind (camera capture, downscaled on the phone before queueing), the
// form from its pinned definition, the next action (due within the server's horizon of the
// check-in) and submit, which lists everything still missing at once. The kinds, the horizon, the
// action types and what submit needs come from the server's policy (policy.js). Works the same
// offline: every write is queued.
//
// Drawn in named parts that share one `screen` (the draft, the policy, the rendered form):
// header, photoSlots, visitForm, nextAction, submitBar, then outboxState, which follows what
// waits in the outbox for this visit and what needs the rep.
import { h, add, t, clear, toast, formatTime, formatBytes, showStorageError, pick, problemText } from '../ui.js';
import { api, imageUrl } from '../api.js';
import { renderForm, serverErrors } from '../form.js';
import { downscale } from '../photos.js';
import * as visits from '../visits.js';
import * as outbox from '../outbox.js';
import { policy, actionLabel } from '../policy.js';
import { missingFor } from '../submit-needs.js';
import { statusChip } from './today.js';
import { abandonForm } from '../abandon.js';

const DAY_MS = 86400_000;
const kick = () => { if (navigator.onLine) outbox.replay(); };

function toLocalInput(ms) {
  const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60000);
  return d.toISOString().slice(0, 16);
}

const photoName = (kind) => t(`photo_${kind}`, { fallback: kind });

function missingLabel(entry, form) {
  if (entry.startsWith('photo:')) return t(`missing_photo_${entry.slice(6)}`, { fallback: photoName(entry.slice(6)) });
  if (entry.startsWith('field:')) {
    const field = (form?.fields || []).find((f) => f.key === entry.slice(6));
    return t('missing_field', { field: field ? pick(field.label) : entry.slice(6) });
  }
  return t(`missing_${entry}`, { fallback: entry });
}

/** The draft on this phone, else the server's visit adopted as a draft (online). */
async function loadVisit(id) {
  const value = await visits.draft(id);
  if (value || !navigator.onLine) return value || null;
  try { return await visits.adopt(await api('GET', `/api/v1/visits/${id}`)); } catch { return null; }
}

/** What the parts share. `edited()` runs after every change the rep makes. */
function visitScreen(id, value, rules) {
  return {
    id, value, rules, formApi: null, edited: () => {},
    async reload() { this.value = (await visits.draft(id)) || this.value; return this.value; },
    missing() { return missingFor(rules.submit_requires, this.value, this.formApi ? this.formApi.validate() : null); },
  };
}

// --- header: store, status, the supervisor's rework reason, sync state -------------------------
function header(screen) {
  const { value } = screen;
  const reviews = value.server?.reviews || [];
  const rejection = value.status === 'rejected' ? [...reviews].reverse().find((r) => r.decision === 'rejected') : null;
  const queueInfo = h('p', { class: 'muted', role: 'status', id: 'visit-sync' });
  const attentionBox = h('div', {});
  return {
    queueInfo, attentionBox,
    nodes: [
      h('h1', {}, value.store?.name || t('store_not_cached')),
      h('div', { class: 'row' }, statusChip(value.status), h('span', { class: 'muted' }, t('checked_in_at', { time: formatTime(value.checked_in_at) }))),
      rejection ? h('div', { class: 'card attention', role: 'alert', id: 'rework-reason' }, h('strong', {}, t('rework_title')), h('p', {}, rejection.comment)) : null,
      queueInfo, attentionBox],
  };
}

// --- photos: one slot per kind the server asks for ----------------------------------------------
function photoState(local, server) {
  if (local) return local.uploaded ? t('photo_uploaded') : t('photo_queued', { size: formatBytes(local.bytes) });
  return server ? t('photo_uploaded') : t('photo_take');
}

function photoSlots(screen) {
  const kinds = screen.rules.photo_kinds;
  const slots = Object.fromEntries(kinds.map((kind) => [kind, h('label', { class: 'slot', for: `photo-${kind}`, dataset: { kind } })]));

  const take = async (kind, file) => {
    const slot = slots[kind];
    slot.setAttribute('aria-busy', 'true');
    try {
      const shot = await downscale(file, screen.rules.photo_long_edge_px);
      if (shot.bytes > screen.rules.photo_max_bytes) throw new Error(t('code_photo_too_large'));
      await visits.setPhoto(screen.id, kind, shot);
      await screen.reload();
      screen.edited();
      kick();
    } catch (error) {
      if (error?.name === 'QuotaExceededError') showStorageError(error);
      else toast(t('photo_failed', { reason: error.message }));
    }
    slot.removeAttribute('aria-busy');
    draw(kind);
  };

  function draw(kind) {
    const slot = slots[kind];
    const local = screen.value.photos?.[kind];
    const server = screen.value.server?.photos?.[kind];
    let preview = null;
    if (local?.thumb) preview = h('img', { src: URL.createObjectURL(local.thumb), alt: '' });
    else if (server?.thumb_url && navigator.onLine) {
      preview = h('img', { alt: '' });
      imageUrl(server.thumb_url).then((url) => { preview.src = url; }).catch(() => {});
    }
    const input = h('input', {
      type: 'file', accept: 'image/*', capture: 'environment', class: 'visually-hidden', id: `photo-${kind}`,
      'aria-label': photoName(kind),
      onchange: (event) => { const file = event.target.files?.[0]; if (file) take(kind, file); },
    });
    slot.className = `slot${local || server ? ' filled' : ''}`;
    clear(slot, input, preview, h('strong', {}, photoName(kind)), h('span', { class: 'muted slot-state' }, photoState(local, server)));
  }

  for (const kind of kinds) draw(kind);
  return {
    nodes: [h('h2', {}, t('photos', { n: kinds.length })), h('div', { class: 'slots' }, Object.values(slots))],
    /** Mark the slots whose photo the server refused. */
    markRefused(stuck) {
      for (const kind of kinds) slots[kind].classList.toggle('attention', stuck.some((i) => i.kind === 'photo' && i.photo_kind === kind));
    },
    /** Queued → uploaded, as the outbox sends them. */
    showStates() {
      for (const kind of kinds) {
        const state = slots[kind].querySelector('.slot-state');
        const local = screen.value.photos?.[kind];
        if (state && local) state.textContent = photoState(local, null);
      }
    },
  };
}

// --- the form: always kept on the phone, queued once it is valid --------------------------------
function visitForm(screen) {
  const box = h('div', { id: 'visit-form' });
  let timer = 0;
  if (screen.value.form) {
    screen.formApi = renderForm(box, screen.value.form, screen.value.answers, {
      onChange: (answers) => {
        screen.edited();
        clearTimeout(timer);
        // A half-filled form would only come back as invalid_form and hold up the photos.
        timer = setTimeout(async () => {
          try {
            const valid = Object.keys(screen.formApi.validate()).length === 0;
            await visits.setAnswers(screen.id, answers, { queue: valid });
            await screen.reload();
            if (valid) kick();
          } catch (error) { showStorageError(error); }
        }, 600);
      },
    });
  } else {
    box.append(h('p', { class: 'muted' }, t('form_after_sync')));
  }
  return { nodes: [h('h2', {}, t('visit_form')), box], flush: () => clearTimeout(timer) };
}

// --- the next action: a type from the server's list, due within its horizon --------------------
/** Quick picks: 1 and 3 days and the whole horizon, none past it. */
const quickDays = (horizon) => [...new Set([1, 3, horizon])].filter((n) => n <= horizon);

function nextAction(screen) {
  const horizon = screen.rules.next_action_horizon_days;
  const window_ = visits.actionWindow(screen.value, horizon);
  const current = screen.value.next_action;
  const typeSelect = h('select', { id: 'action-type' }, h('option', { value: '' }, '—'),
    screen.rules.next_action_types.map(({ value }) => h('option', { value, selected: current?.type === value }, actionLabel(value))));
  const dueInput = h('input', {
    id: 'action-due', type: 'datetime-local', min: toLocalInput(window_.earliest), max: toLocalInput(window_.latest),
    value: current ? toLocalInput(Date.parse(current.due_at)) : '',
  });
  const noteInput = h('input', { id: 'action-note', type: 'text', maxlength: 1000, value: current?.note || '' });
  const error = h('p', { class: 'error-text', role: 'alert', id: 'action-error' });

  // Refused here, before anything is queued: the server would refuse the same due time.
  const save = async () => {
    error.textContent = '';
    if (!typeSelect.value || !dueInput.value) return;
    const due = new Date(dueInput.value).getTime();
    if (!(due > Date.now()) || due > window_.latest) {
      error.textContent = t('due_out_of_range', { latest: formatTime(new Date(window_.latest).toISOString()) });
      return;
    }
    try {
      await visits.setNextAction(screen.id, { type: typeSelect.value, due_at: new Date(due).toISOString(), note: noteInput.value.trim() });
      await screen.reload();
      screen.edited();
      kick();
    } catch (err) { showStorageError(err); }
  };
  const quick = (days) => h('button', { type: 'button', onclick: () => {
    const due = new Date(Date.now() + days * DAY_MS); due.setHours(10, 0, 0, 0);
    dueInput.value = toLocalInput(Math.min(due.getTime(), window_.latest - 60_000));
    save();
  } }, t('in_days', { n: days }));
  for (const el of [typeSelect, dueInput, noteInput]) el.addEventListener('change', save);
  return {
    nodes: [h('h2', {}, t('next_action')),
      h('p', { class: 'muted' }, t('next_action_help', { n: horizon })),
      h('label', { for: 'action-type' }, t('action_type')), typeSelect,
      h('label', { for: 'action-due' }, t('action_due')), dueInput,
      h('div', { class: 'row', style: 'margin-top:.4rem' }, quickDays(horizon).map(quick)),
      h('label', { for: 'action-note' }, t('action_note')), noteInput, error],
  };
}

// --- submit: everything missing at once; then the list follows every edit ----------------------
function submitBar(screen, { navigate, form, onStuck }) {
  const missingBox = h('div', { id: 'missing', 'aria-live': 'polite' });
  const button = h('button', { class: 'primary wide', type: 'button', id: 'submit-visit' }, screen.value.status === 'rejected' ? t('resubmit') : t('submit'));
  // Once the rep has seen the list (a submit tap, or the server's refusal), it follows every
  // photo, answer and next action as it happens, instead of waiting for the next tap.
  let listShown = false;
  const showMissing = (entries) => {
    listShown = true;
    // No role=alert: the list changes with every edit; the polite live region reads it.
    clear(missingBox, entries.length ? h('div', { class: 'missing' },
      h('strong', {}, t('missing_title')), h('ul', {}, entries.map((e) => h('li', {}, missingLabel(e, screen.value.form))))) : null);
  };
  screen.edited = () => {
    if (!listShown) return;
    showMissing(screen.missing());
    if (screen.formApi) screen.formApi.showErrors(screen.formApi.validate());
  };

  button.addEventListener('click', async () => {
    form.flush();
    await screen.reload();
    const missing = screen.missing();
    showMissing(missing);
    if (screen.formApi) screen.formApi.showErrors(screen.formApi.validate());
    if (missing.length) { missingBox.scrollIntoView({ block: 'center' }); return; }
    button.disabled = true;
    try {
      if (screen.formApi) await visits.setAnswers(screen.id, screen.formApi.collect(), { queue: true });
      await visits.submit(screen.id);
    } catch (error) { showStorageError(error); button.disabled = false; return; }
    if (navigator.onLine) await outbox.replay();
    const left = await outbox.itemsFor(screen.id);
    if (left.some((i) => i.state === 'attention')) { button.disabled = false; await onStuck(); return; }
    toast(left.length ? t('submit_queued') : t('submitted'));
    navigate(`/visit/${screen.id}/summary`, { replace: true });
  });

  return { showMissing, nodes: [missingBox, button] };
}

function abandonSection(screen, navigate) {
  return h('details', { class: 'card', id: 'abandon-section' }, h('summary', { style: 'min-height:44px;display:flex;align-items:center' }, t('abandon_visit')),
    abandonForm({
      visitId: screen.id, storeName: screen.value.store?.name,
      onQueued: async () => { kick(); toast(t('abandoned')); await navigate('/', { replace: true }); },
    }));
}

// --- what waits in the outbox for this visit, and what needs the rep ---------------------------
function outboxState(screen, { top, photos, submit }) {
  return async function draw() {
    const queued = await outbox.itemsFor(screen.id);
    top.queueInfo.textContent = queued.length ? t('visit_waiting', { n: queued.length }) : navigator.onLine ? t('visit_synced') : '';
    const stuck = queued.filter((i) => i.state === 'attention');
    clear(top.attentionBox, stuck.map((item) => {
      const problem = item.last_error?.problem || {};
      if (item.kind === 'answers' && screen.formApi) screen.formApi.showErrors(serverErrors(problem));
      if (item.kind === 'submit' && problem.missing) submit.showMissing(problem.missing);
      return h('div', { class: 'card attention', role: 'alert' },
        h('strong', {}, t(`item_${item.kind}`), item.photo_kind ? ` · ${photoName(item.photo_kind)}` : ''),
        h('p', {}, problemText(item.last_error)),
        h('a', { href: '/outbox', 'data-link': '' }, t('open_outbox')));
    }));
    photos.markRefused(stuck);
  };
}

export async function render(main, [id], { navigate }) {
  const value = await loadVisit(id);
  if (!value) {
    add(main, h('h1', {}, t('visit')), h('p', { class: 'error-text' }, t('visit_not_found')));
    return null;
  }
  if (!visits.isEditable(value) && value.status !== 'abandoned') { navigate(`/visit/${id}/summary`, { replace: true }); return null; }
  document.title = `${value.store?.name || t('visit')} · Doorstep`;
  const rules = await policy();
  const screen = visitScreen(id, value, rules);
  const top = header(screen);
  add(main, top.nodes);
  if (!rules) {
    // Never heard from the server yet (first start offline): its rules are not on this phone.
    add(main, h('p', { class: 'card attention', role: 'alert', id: 'policy-missing' }, t('policy_missing')), abandonSection(screen, navigate));
    return null;
  }
  const photos = photoSlots(screen);
  const form = visitForm(screen);
  let drawOutboxState = async () => {};
  const submit = submitBar(screen, { navigate, form, onStuck: () => drawOutboxState() });
  // The store's rectifications owed by the rep, fixed during this visit (loaded on demand).
  const fixes = h('div', { id: 'visit-fixes' });
  let stopFixes = () => { stopFixes = null; };
  if (value.status === 'open') {
    import('./rectifications.js').then((m) => m.fixesSection(fixes, screen.value))
      .then((stop) => { if (stopFixes) stopFixes = stop; else stop(); }).catch(() => {});
  }
  add(main, fixes, photos.nodes, form.nodes, nextAction(screen).nodes, submit.nodes, abandonSection(screen, navigate));
  drawOutboxState = outboxState(screen, { top, photos, submit });
  await drawOutboxState();
  const unsubscribe = outbox.subscribe(async () => {
    if (!main.isConnected) return;
    await screen.reload();
    await drawOutboxState();
    photos.showStates();
  });
  return () => { unsubscribe(); stopFixes(); form.flush(); };
}
