// The visit: three photo slots (camera capture, downscaled on the phone before queueing), the
// form from its pinned definition, the next action (due within 7 days of check-in) and submit,
// which lists everything still missing at once. Works the same offline: every write is queued.
import { h, add, t, clear, toast, formatTime, formatBytes, showStorageError, pick } from '../ui.js';
import { api, imageUrl } from '../api.js';
import { renderForm, serverErrors } from '../form.js';
import { downscale } from '../photos.js';
import * as visits from '../visits.js';
import * as outbox from '../outbox.js';
import { statusChip } from './today.js';
import { abandonForm } from '../abandon.js';

const kick = () => { if (navigator.onLine) outbox.replay(); };

function toLocalInput(ms) {
  const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60000);
  return d.toISOString().slice(0, 16);
}

function missingLabel(entry, form) {
  if (entry.startsWith('photo:')) return t(`missing_photo_${entry.slice(6)}`);
  if (entry.startsWith('field:')) {
    const field = (form?.fields || []).find((f) => f.key === entry.slice(6));
    return t('missing_field', { field: field ? pick(field.label) : entry.slice(6) });
  }
  return t(`missing_${entry}`);
}

export async function render(main, [id], { navigate }) {
  let value = await visits.draft(id);
  if (!value && navigator.onLine) {
    try { value = await visits.adopt(await api('GET', `/api/v1/visits/${id}`)); } catch { value = null; }
  }
  if (!value) {
    add(main, h('h1', {}, t('visit')), h('p', { class: 'error-text' }, t('visit_not_found')));
    return null;
  }
  if (!visits.isEditable(value) && value.status !== 'abandoned') { navigate(`/visit/${id}/summary`, { replace: true }); return null; }
  document.title = `${value.store?.name || t('visit')} · Doorstep`;

  const queueInfo = h('p', { class: 'muted', role: 'status', id: 'visit-sync' });
  const attentionBox = h('div', {});
  const reviews = value.server?.reviews || [];
  const rejection = value.status === 'rejected' ? [...reviews].reverse().find((r) => r.decision === 'rejected') : null;
  add(main, 
    h('h1', {}, value.store?.name || t('store_not_cached')),
    h('div', { class: 'row' }, statusChip(value.status), h('span', { class: 'muted' }, t('checked_in_at', { time: formatTime(value.checked_in_at) }))),
    rejection ? h('div', { class: 'card attention', role: 'alert', id: 'rework-reason' }, h('strong', {}, t('rework_title')), h('p', {}, rejection.comment)) : null,
    queueInfo, attentionBox);

  // --- photos ---------------------------------------------------------------------------------
  const slots = h('div', { class: 'slots' });
  add(main, h('h2', {}, t('photos')), slots);
  const drawSlot = async (kind, slot) => {
    const local = value.photos?.[kind];
    const server = value.server?.photos?.[kind];
    let preview = null;
    if (local?.thumb) preview = h('img', { src: URL.createObjectURL(local.thumb), alt: '' });
    else if (server?.thumb_url && navigator.onLine) {
      preview = h('img', { alt: '' });
      imageUrl(server.thumb_url).then((url) => { preview.src = url; }).catch(() => {});
    }
    const state = local ? (local.uploaded ? t('photo_uploaded') : t('photo_queued', { size: formatBytes(local.bytes) })) : server ? t('photo_uploaded') : t('photo_take');
    const input = h('input', {
      type: 'file', accept: 'image/*', capture: 'environment', class: 'visually-hidden', id: `photo-${kind}`,
      'aria-label': t(`photo_${kind}`),
      onchange: async (event) => {
        const file = event.target.files?.[0];
        if (!file) return;
        slot.setAttribute('aria-busy', 'true');
        try {
          const shot = await downscale(file);
          await visits.setPhoto(id, kind, shot);
          value = await visits.draft(id);
          refreshMissing();
          kick();
        } catch (error) {
          if (error?.name === 'QuotaExceededError') showStorageError(error);
          else toast(t('photo_failed', { reason: error.message }));
        }
        slot.removeAttribute('aria-busy');
        await drawSlot(kind, slot);
      },
    });
    slot.className = `slot${local || server ? ' filled' : ''}`;
    clear(slot, input, preview, h('strong', {}, t(`photo_${kind}`)), h('span', { class: 'muted slot-state' }, state));
  };
  const slotNodes = {};
  for (const kind of visits.PHOTO_KINDS) {
    slotNodes[kind] = h('label', { class: 'slot', for: `photo-${kind}`, dataset: { kind } });
    slots.append(slotNodes[kind]);
    await drawSlot(kind, slotNodes[kind]);
  }

  // --- form -----------------------------------------------------------------------------------
  const formBox = h('div', { id: 'visit-form' });
  add(main, h('h2', {}, t('visit_form')), formBox);
  let formApi = null;
  let answersTimer = 0;
  if (value.form) {
    formApi = renderForm(formBox, value.form, value.answers, {
      onChange: (answers) => {
        refreshMissing();
        clearTimeout(answersTimer);
        // Always kept on the phone; queued for the server once the form is valid (a half-filled
        // form would only come back as invalid_form and hold up the visit's photos).
        answersTimer = setTimeout(async () => {
          try {
            const valid = Object.keys(formApi.validate()).length === 0;
            await visits.setAnswers(id, answers, { queue: valid });
            value = await visits.draft(id);
            if (valid) kick();
          } catch (error) { showStorageError(error); }
        }, 600);
      },
    });
  } else {
    formBox.append(h('p', { class: 'muted' }, t('form_after_sync')));
  }

  // --- next action ----------------------------------------------------------------------------
  const window_ = visits.actionWindow(value);
  const current = value.next_action;
  const typeSelect = h('select', { id: 'action-type' }, h('option', { value: '' }, '—'),
    visits.ACTION_TYPES.map((type) => h('option', { value: type, selected: current?.type === type }, t(`action_${type}`))));
  const dueInput = h('input', {
    id: 'action-due', type: 'datetime-local', min: toLocalInput(window_.earliest), max: toLocalInput(window_.latest),
    value: current ? toLocalInput(Date.parse(current.due_at)) : '',
  });
  const noteInput = h('input', { id: 'action-note', type: 'text', maxlength: 1000, value: current?.note || '' });
  const actionError = h('p', { class: 'error-text', role: 'alert', id: 'action-error' });
  const quick = (days) => h('button', { type: 'button', onclick: () => {
    const due = new Date(Date.now() + days * 86400_000); due.setHours(10, 0, 0, 0);
    dueInput.value = toLocalInput(Math.min(due.getTime(), window_.latest - 60_000));
    saveAction();
  } }, t('in_days', { n: days }));
  const saveAction = async () => {
    actionError.textContent = '';
    if (!typeSelect.value || !dueInput.value) return;
    const due = new Date(dueInput.value).getTime();
    if (!(due > Date.now()) || due > window_.latest) { actionError.textContent = t('due_out_of_range', { latest: formatTime(new Date(window_.latest).toISOString()) }); return; }
    try {
      await visits.setNextAction(id, { type: typeSelect.value, due_at: new Date(due).toISOString(), note: noteInput.value.trim() });
      value = await visits.draft(id);
      refreshMissing();
      kick();
    } catch (error) { showStorageError(error); }
  };
  for (const el of [typeSelect, dueInput, noteInput]) el.addEventListener('change', saveAction);
  add(main, h('h2', {}, t('next_action')),
    h('p', { class: 'muted' }, t('next_action_help')),
    h('label', { for: 'action-type' }, t('action_type')), typeSelect,
    h('label', { for: 'action-due' }, t('action_due')), dueInput,
    h('div', { class: 'row', style: 'margin-top:.4rem' }, quick(1), quick(3), quick(7)),
    h('label', { for: 'action-note' }, t('action_note')), noteInput, actionError);

  // --- submit / abandon ------------------------------------------------------------------------
  const missingBox = h('div', { id: 'missing', 'aria-live': 'polite' });
  const submitButton = h('button', { class: 'primary wide', type: 'button', id: 'submit-visit' }, value.status === 'rejected' ? t('resubmit') : t('submit'));
  add(main, missingBox, submitButton,
    h('details', { class: 'card', id: 'abandon-section' }, h('summary', { style: 'min-height:44px;display:flex;align-items:center' }, t('abandon_visit')),
      abandonForm({
        visitId: id, storeName: value.store?.name,
        onQueued: async () => { kick(); toast(t('abandoned')); await navigate('/', { replace: true }); },
      })));

  const showMissing = (entries) => {
    // No role=alert: the list now changes with every edit; the polite live region reads it.
    clear(missingBox, entries.length ? h('div', { class: 'missing' },
      h('strong', {}, t('missing_title')), h('ul', {}, entries.map((e) => h('li', {}, missingLabel(e, value.form))))) : null);
  };
  /** What submit still needs, from what the phone and the server have now. */
  const missingNow = () => {
    const missing = visits.PHOTO_KINDS.filter((k) => !value.photos?.[k] && !value.server?.photos?.[k]).map((k) => `photo:${k}`);
    if (formApi) missing.push(...Object.keys(formApi.validate()).map((k) => `field:${k}`));
    else if (!value.server?.form) missing.push('answers');
    if (!value.next_action && !value.server?.next_action) missing.push('next_action');
    return missing;
  };
  // Once the rep has seen the list (a submit tap, or the server's refusal), it follows every
  // photo, answer and next action as it happens, instead of waiting for the next tap.
  let listShown = false;
  function refreshMissing() {
    if (!listShown) return;
    showMissing(missingNow());
    if (formApi) formApi.showErrors(formApi.validate());
  }

  submitButton.addEventListener('click', async () => {
    clearTimeout(answersTimer);
    value = await visits.draft(id);
    listShown = true;
    const missing = missingNow();
    refreshMissing();
    if (missing.length) { missingBox.scrollIntoView({ block: 'center' }); return; }
    submitButton.disabled = true;
    try {
      if (formApi) await visits.setAnswers(id, formApi.collect(), { queue: true });
      await visits.submit(id);
    } catch (error) { showStorageError(error); submitButton.disabled = false; return; }
    if (navigator.onLine) await outbox.replay();
    const left = await outbox.itemsFor(id);
    const stuck = left.find((i) => i.state === 'attention');
    if (stuck) { submitButton.disabled = false; await drawAttention(); return; }
    toast(left.length ? t('submit_queued') : t('submitted'));
    navigate(`/visit/${id}/summary`, { replace: true });
  });

  // --- what waits in the outbox for this visit, and what needs the rep -----------------------
  async function drawAttention() {
    const queued = await outbox.itemsFor(id);
    queueInfo.textContent = queued.length ? t('visit_waiting', { n: queued.length }) : navigator.onLine ? t('visit_synced') : '';
    const stuck = queued.filter((i) => i.state === 'attention');
    clear(attentionBox, stuck.map((item) => {
      const problem = item.last_error?.problem || {};
      if (item.kind === 'answers' && formApi) formApi.showErrors(serverErrors(problem));
      if (item.kind === 'submit' && problem.missing) { listShown = true; showMissing(problem.missing); }
      return h('div', { class: 'card attention', role: 'alert' },
        h('strong', {}, t(`item_${item.kind}`), item.photo_kind ? ` · ${t(`photo_${item.photo_kind}`)}` : ''),
        h('p', {}, t(`code_${problem.code}`, { fallback: item.last_error?.detail || '' })),
        h('a', { href: '/outbox', 'data-link': '' }, t('open_outbox')));
    }));
    for (const kind of visits.PHOTO_KINDS) {
      const bad = stuck.some((i) => i.kind === 'photo' && i.photo_kind === kind);
      slotNodes[kind].classList.toggle('attention', bad);
    }
  }
  await drawAttention();
  const unsubscribe = outbox.subscribe(async () => {
    if (!main.isConnected) return;
    value = await visits.draft(id) || value;
    await drawAttention();
    for (const kind of visits.PHOTO_KINDS) {
      const state = slotNodes[kind].querySelector('.slot-state');
      const local = value.photos?.[kind];
      if (state && local) state.textContent = local.uploaded ? t('photo_uploaded') : t('photo_queued', { size: formatBytes(local.bytes) });
    }
  });
  return () => { unsubscribe(); clearTimeout(answersTimer); };
}
