// The outbox: what waits to be sent, the last error of each item, retry now. Items that need
// attention stay until the rep fixes, retries or discards them: nothing disappears silently.
import { h, add, t, clear, formatTime, formatBytes, problemText } from '../ui.js';
import * as outbox from '../outbox.js';
import * as visits from '../visits.js';
import { getAll } from '../db.js';

/** Where an item's subject is shown: its visit, its audit tour, or nowhere (a next action). */
function subjectLink(item) {
  const id = item.visit_id || '';
  if (id.startsWith('audit:')) return h('a', { class: 'button', href: `/audit/${id.slice(6)}`, 'data-link': '' }, t('open_audit_button'));
  if (!id || id.startsWith('action:')) return null;
  return h('a', { class: 'button', href: `/visit/${id}`, 'data-link': '' }, t('open_visit_button'));
}

export async function render(main) {
  document.title = `${t('outbox')} · Doorstep`;
  const list = h('div', { id: 'outbox-list' });
  const storage = h('p', { class: 'muted', id: 'storage' });
  const retry = h('button', { class: 'primary wide', type: 'button', id: 'retry-now', onclick: async () => {
    retry.disabled = true;
    await outbox.retryAll().catch(() => {});
    retry.disabled = false;
  } }, t('retry_now'));
  add(main, h('h1', {}, t('outbox')), retry, list, storage);

  const draw = async () => {
    const items = await outbox.items();
    const names = Object.fromEntries((await visits.drafts()).map((d) => [d.id, d.store?.name || '']));
    for (const a of await getAll('audits').catch(() => [])) names[`audit:${a.id}`] = a.store?.name || '';
    clear(list, items.length === 0 ? h('p', { class: 'card', id: 'outbox-empty' }, t('outbox_empty')) : h('ul', { style: 'list-style:none;padding:0;margin:0' }, items.map((item) => {
      const error = item.last_error;
      const attention = item.state === 'attention';
      return h('li', { class: `card${attention ? ' attention' : ''}`, dataset: { seq: item.seq, kind: item.kind } },
        h('div', { class: 'row' },
          h('strong', { class: 'grow' }, t(`item_${item.kind}`), item.photo_kind ? ` · ${t(`photo_${item.photo_kind}`)}` : ''),
          h('span', { class: `chip ${attention ? 'red' : 'amber'}` }, attention ? t('needs_attention') : t('waiting'))),
        h('div', { class: 'muted' }, names[item.visit_id] || '', ' · ', formatTime(item.created_at),
          item.blob instanceof Blob ? ` · ${formatBytes(item.blob.size)}` : '', item.attempts ? ` · ${t('attempts', { n: item.attempts })}` : ''),
        error ? h('p', { class: attention ? 'error-text' : 'muted' }, t('last_error'), ': ', problemText(error)) : null,
        attention ? h('div', { class: 'row' },
          h('button', { type: 'button', onclick: () => outbox.retryItem(item.seq) }, t('retry')),
          subjectLink(item),
          h('button', { type: 'button', class: 'danger', onclick: async () => {
            if (confirm(t('discard_confirm'))) await outbox.discard(item.seq);
          } }, t('discard'))) : null);
    })));
    const estimate = await navigator.storage?.estimate?.().catch(() => null);
    const persisted = await navigator.storage?.persisted?.().catch(() => false);
    storage.textContent = estimate ? t('storage_used', { used: formatBytes(estimate.usage || 0), quota: formatBytes(estimate.quota || 0) }) + (persisted ? ` · ${t('storage_persisted')}` : '') : '';
  };
  await draw();
  return outbox.subscribe(() => { if (main.isConnected) draw(); });
}
