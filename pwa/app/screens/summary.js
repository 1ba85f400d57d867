// The summary card after submit (the server builds it), with a share link. Until the submit has
// synced, the card says so and shows what the phone already knows.
import { h, add, t, clear, toast, formatTime, countdown, pick } from '../ui.js';
import { actionLabel } from '../policy.js';
import { api } from '../api.js';
import { photoGrid } from '../photo-grid.js';
import * as visits from '../visits.js';
import * as outbox from '../outbox.js';
import { statusChip } from './today.js';

function card(summary, visit) {
  const action = visit?.next_action;
  const facts = [
    [t('time'), summary.local?.time_range ? `${summary.local.date} ${summary.local.time_range}` : formatTime(summary.checked_in_at)],
    [t('duration'), pick(summary.duration) || `${summary.duration_min} min`],
    [t('distance'), summary.distance_m != null ? t('distance_value', { distance: summary.distance_m, accuracy: summary.accuracy_m }) : ''],
    [t('trust_score'), `${summary.trust?.score ?? ''}`],
  ];
  return h('article', { class: 'card summary-card', id: 'summary-card' },
    h('h2', {}, summary.store?.name || ''),
    h('p', { class: 'muted' }, pick(summary.store?.customer_type?.name), ' · ', summary.rep?.display_name || ''),
    h('dl', { class: 'facts' }, facts.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])),
    (summary.trust?.flags || []).length ? h('p', {}, (summary.trust.flags).map((f) => h('span', { class: 'chip red' }, pick(f.detail) || f.code)), ' ') : null,
    Object.keys(summary.photos || {}).length ? photoGrid(summary.photos) : null,
    (summary.profile_tags || []).length ? h('p', {}, summary.profile_tags.map((tag) => [h('span', { class: 'chip' }, pick(tag.label)), ' '])) : null,
    (summary.answers || []).length ? h('dl', { class: 'facts' }, summary.answers.flatMap((a) => [h('dt', {}, pick(a.label)), h('dd', {}, pick(a.display))])) : null,
    (summary.pending || []).map((p) => h('div', {}, h('strong', {}, pick(p.label)), h('ul', {}, p.items.map((i) => h('li', {}, i))))),
    action ? h('p', {}, h('strong', {}, t('next_action'), t('label_colon')), actionLabel(action.type), ' · ',
      h('span', { class: countdown(action.due_at).overdue ? 'overdue' : '' }, countdown(action.due_at).text)) : null);
}

export async function render(main, [id]) {
  document.title = `${t('summary')} · Doorstep`;
  const value = await visits.draft(id);
  const waiting = await outbox.itemsFor(id);
  let server = value?.server || null;
  if (navigator.onLine && !waiting.length) {
    try { server = await api('GET', `/api/v1/visits/${id}`); if (value) await visits.adopt(server); } catch { /* keep the local copy */ }
  }
  add(main, h('h1', {}, t('summary')));
  if (waiting.length || !server?.summary) {
    add(main, h('div', { class: 'card', id: 'summary-pending', role: 'status' },
      h('h2', {}, value?.store?.name || server?.store?.name || ''),
      h('p', {}, statusChip('submitted', Boolean(waiting.length))),
      h('p', {}, waiting.length ? t('summary_waiting', { n: waiting.length }) : t('summary_not_ready')),
      h('a', { class: 'button wide', href: '/outbox', 'data-link': '' }, t('open_outbox'))));
    const unsubscribe = outbox.subscribe(async () => {
      if ((await outbox.itemsFor(id)).length === 0 && main.isConnected) {
        unsubscribe();
        clear(main);
        await render(main, [id]);
      }
    });
    return unsubscribe;
  }
  const rejection = server.status === 'rejected' ? [...(server.reviews || [])].reverse().find((r) => r.decision === 'rejected') : null;
  add(main, h('div', { class: 'row' }, statusChip(server.status)),
    rejection ? h('div', { class: 'card attention', role: 'alert' }, h('strong', {}, t('rework_title')), h('p', {}, rejection.comment),
      h('a', { class: 'button primary wide', href: `/visit/${id}`, 'data-link': '' }, t('do_rework'))) : null,
    card(server.summary, server));
  const shareBox = h('div', { 'aria-live': 'polite' });
  add(main, h('button', { class: 'primary wide', type: 'button', id: 'share', onclick: async () => {
    try {
      const link = await api('POST', `/api/v1/visits/${id}/share`, {});
      if (navigator.share) await navigator.share({ title: server.summary.store?.name, url: link.url }).catch(() => {});
      else await navigator.clipboard?.writeText(link.url).then(() => toast(t('link_copied'))).catch(() => {});
      clear(shareBox, h('p', {}, t('share_link'), ' ', h('a', { href: link.url, target: '_blank', rel: 'noopener', id: 'share-link' }, link.url)),
        h('p', { class: 'muted' }, t('link_expires', { time: formatTime(link.expires_at) })));
    } catch (error) {
      toast(navigator.onLine ? error.message : t('share_offline'));
    }
  } }, t('share')), shareBox, h('a', { class: 'button wide', href: '/', 'data-link': '' }, t('back_today')));
  return null;
}
