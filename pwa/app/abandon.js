// Abandoning a visit cannot be undone (it stays on record as abandoned): a reason is required,
// then a confirmation that names the store, and only then is the abandon queued.
import { h, t, confirmDialog, showStorageError } from './ui.js';
import { abandon } from './visits.js';

/** The reason field and its button; `onQueued()` runs once the abandon is in the outbox. */
export function abandonForm({ visitId, storeName, onQueued, id = 'abandon' }) {
  const reason = h('textarea', { id: `${id}-reason`, maxlength: 500, rows: 2, required: true, 'aria-required': 'true' });
  const error = h('p', { class: 'error-text', role: 'alert', id: `${id}-error` });
  const button = h('button', { class: 'danger wide', type: 'button', id: `${id}-button` }, t('abandon_visit_button'));
  reason.addEventListener('input', () => { error.textContent = ''; });
  button.addEventListener('click', async () => {
    const text = reason.value.trim();
    if (!text) { error.textContent = t('abandon_reason_required'); reason.focus(); return; }
    const sure = await confirmDialog({
      title: t('abandon_confirm_title', { store: storeName || t('the_store') }),
      body: [t('abandon_confirm_body'), t('abandon_reason_is', { reason: text })],
      confirm: t('abandon_confirm'), cancel: t('abandon_keep'), danger: true,
    });
    if (!sure) return;
    button.disabled = true;
    try {
      await abandon(visitId, text);
    } catch (err) {
      button.disabled = false;
      showStorageError(err);
      return;
    }
    await onQueued();
  });
  return h('div', { class: 'abandon-form' }, h('label', { for: reason.id }, t('abandon_reason')), reason, error, button);
}
