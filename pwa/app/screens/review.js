// Supervisor: the approval queue (oldest first) with trust flags and photos; approve, or reject
// with a reason (the visit goes back to the rep as rework). Reviews need the network. Any visit a
// manager opens (/visit/<id> too) is shown here read-only; the decision is offered only while
// the visit awaits review.
import { h, add, t, clear, toast, formatTime, pick } from '../ui.js';
import { actionLabel } from '../policy.js';
import { api } from '../api.js';
import { photoGrid } from '../photo-grid.js';
import { statusChip } from './today.js';

/** The supervisor's other work from home: an audit tour still open on this phone, starting
 * one at a door, and the rectifications waiting to be verified. */
async function toursAndFixes() {
  // audits.js on demand: it is not part of the first load.
  const [open] = await import('../audits.js').then((m) => m.openAudits()).catch(() => []);
  return h('div', { class: 'row home-links' },
    open ? h('a', { class: 'button primary grow', href: `/audit/${open.id}`, 'data-link': '', 'data-test': 'home-open-audit' }, t('audit_continue_at', { store: open.store?.name || t('the_store') }))
      : h('a', { class: 'button grow', href: '/scan', 'data-link': '', 'data-test': 'home-start-audit' }, t('audit_start_scan')),
    h('a', { class: 'button grow', href: '/rectifications', 'data-link': '', 'data-test': 'home-rects' }, t('rects_to_verify')));
}

function flags(visit) {
  return (visit.trust?.flags || []).map((f) => h('span', { class: 'chip red', title: f.code }, t(`flag_${f.code}`, { fallback: f.code })));
}

async function queue(main) {
  document.title = `${t('review_queue')} · Doorstep`;
  add(main, h('h1', {}, t('review_queue')), await toursAndFixes());
  if (!navigator.onLine) { add(main, h('p', { class: 'muted' }, t('review_offline'))); return; }
  const page = await api('GET', '/api/v1/review-queue?limit=50');
  if (!page.items.length) { add(main, h('p', { class: 'card', id: 'queue-empty' }, t('queue_empty'))); return; }
  add(main, h('ul', { style: 'list-style:none;padding:0;margin:0', id: 'review-list' }, page.items.map((visit) => h('li', { class: 'card', dataset: { visitId: visit.id } },
    h('a', { href: `/review/${visit.id}`, 'data-link': '', style: 'display:block;min-height:44px;color:inherit;text-decoration:none' },
      h('div', { class: 'row' }, h('strong', { class: 'grow' }, visit.store.name), h('span', { class: visit.trust.score < 70 ? 'chip red' : 'chip green' }, t('trust_n', { n: visit.trust.score }))),
      h('div', { class: 'muted' }, visit.rep.display_name, ' · ', formatTime(visit.submitted_at || visit.checked_in_at))),
    h('p', {}, flags(visit)), photoGrid(visit.photos)))));
}

function decisionForm(id, navigate) {
  const comment = h('textarea', { id: 'review-comment', maxlength: 1000 });
  const error = h('p', { class: 'error-text', role: 'alert', id: 'review-error' });
  const decide = async (decision) => {
    error.textContent = '';
    const text = comment.value.trim();
    if (decision === 'reject' && !text) { error.textContent = t('reason_required'); comment.focus(); return; }
    try {
      await api('POST', `/api/v1/visits/${id}/${decision}`, decision === 'reject' ? { reason: text } : { comment: text || null });
      toast(decision === 'reject' ? t('rejected_toast') : t('approved_toast'));
      navigate('/review', { replace: true });
    } catch (err) {
      error.textContent = navigator.onLine ? err.message : t('review_offline');
    }
  };
  return [h('label', { for: 'review-comment' }, t('review_comment')), comment, error,
    h('div', { class: 'row' },
      h('button', { class: 'primary grow', type: 'button', id: 'approve', onclick: () => decide('approve') }, t('approve')),
      h('button', { class: 'danger grow', type: 'button', id: 'reject', onclick: () => decide('reject') }, t('reject')))];
}

/** The latest review, said in words (who decided is on the server's record). */
function lastReview(visit) {
  const review = [...(visit.reviews || [])].reverse()[0];
  if (!review) return null;
  return h('div', { class: `card${review.decision === 'rejected' ? ' attention' : ''}`, id: 'last-review' },
    h('strong', {}, t(`visit_${review.decision}`)), ' · ', formatTime(review.at),
    review.comment ? h('p', {}, review.comment) : null);
}

async function detail(main, id, navigate) {
  const visit = await api('GET', `/api/v1/visits/${id}`);
  document.title = `${visit.store.name} · ${t('review')}`;
  const summary = visit.summary || {};
  const awaitsReview = visit.status === 'submitted';
  add(main,
    h('h1', {}, visit.store.name),
    h('p', { class: 'muted' }, visit.rep.display_name, ' · ', formatTime(visit.checked_in_at), summary.duration ? ` · ${pick(summary.duration)}` : ''),
    h('p', { id: 'visit-status' }, statusChip(visit.status), ' ', h('span', { class: visit.trust.score < 70 ? 'chip red' : 'chip green' }, t('trust_n', { n: visit.trust.score })), ' ', flags(visit)),
    h('p', { class: 'muted' }, t('check_in_distance', { distance: Math.round(visit.check_in.distance_m), accuracy: Math.round(visit.check_in.accuracy_m) })),
    photoGrid(visit.photos),
    (summary.answers || []).length ? h('dl', { class: 'facts' }, summary.answers.flatMap((a) => [h('dt', {}, pick(a.label)), h('dd', {}, pick(a.display))])) : null,
    visit.next_action ? h('p', {}, h('strong', {}, t('next_action'), t('label_colon')), actionLabel(visit.next_action.type), ' · ', formatTime(visit.next_action.due_at), visit.next_action.note ? ` · ${visit.next_action.note}` : '') : null,
    lastReview(visit),
    awaitsReview ? decisionForm(id, navigate) : h('p', { class: 'muted', id: 'read-only-note' }, t('read_only_visit')));
}

export async function render(main, [id], { navigate }) {
  try {
    if (id) await detail(main, id, navigate); else await queue(main);
  } catch (error) {
    clear(main, h('h1', {}, t('review_queue')), h('p', { class: 'error-text', role: 'alert' }, navigator.onLine ? error.message : t('review_offline')));
  }
  return null;
}
