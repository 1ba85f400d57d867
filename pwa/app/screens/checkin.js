// Check-in at the door: the position with its accuracy, the distance to the store when it is
// cached, waiting for a better fix, and a plain-words explanation when the server refuses.
import { h, add, t, clear, toast, showStorageError } from '../ui.js';
import { storeById } from '../cache.js';
import { storeIdFrom, tokenFrom } from '../qr.js';
import { watchBestFix, distanceM, effectiveDistance } from '../geo.js';
import { activeDrafts, checkIn, forget, adopt, draft } from '../visits.js';
import * as outbox from '../outbox.js';
import { api } from '../api.js';
import { abandonForm } from '../abandon.js';

const GOOD_M = 30;
const FAIR_M = 100;

function quality(accuracy) {
  return accuracy <= GOOD_M ? ['ok', t('fix_good')] : accuracy <= FAIR_M ? ['warn', t('fix_fair')] : ['error-text', t('fix_poor')];
}

/** The outside_geofence refusal, in plain words. */
export function geofenceExplanation(problem, storeName) {
  const round = (n) => Math.round(Number(n) || 0);
  return h('div', { class: 'card attention', id: 'geofence-explanation', role: 'alert' },
    h('h2', {}, t('outside_title')),
    h('p', {}, t('outside_body', {
      store: storeName || t('the_store'), distance: round(problem.distance_m), radius: round(problem.radius_m),
      accuracy: round(problem.accuracy_m), effective: round(problem.effective_distance_m),
    })),
    h('p', {}, t('outside_advice')));
}

/** The store of the visit that is still open: from the refusal, the phone's drafts, or the server. */
async function openVisitStore(problem) {
  if (problem.store?.name) return problem.store;
  const local = await draft(problem.visit_id);
  if (local?.store?.name) return local.store;
  return api('GET', `/api/v1/visits/${problem.visit_id}`).then((visit) => visit.store, () => null);
}

/** "You already have a visit open at X": continue it, or give a reason and abandon it. */
function alreadyOpenCard({ visitId, store, navigate, onAbandoned }) {
  return h('div', { class: 'card attention', role: 'alert', id: 'open-visit-notice' },
    h('p', {}, store?.name ? t('already_open', { store: store.name }) : t('already_open_server')),
    h('a', { class: 'button primary wide', href: `/visit/${visitId}`, id: 'continue-open-visit', onclick: async (event) => {
      event.preventDefault();
      // The phone may not know that visit yet (checked in on another phone): fetch it first.
      if (!(await draft(visitId)) && navigator.onLine) await api('GET', `/api/v1/visits/${visitId}`).then(adopt).catch(() => {});
      navigate(`/visit/${visitId}`);
    } }, t('continue_visit')),
    h('details', { class: 'abandon-other' }, h('summary', {}, t('abandon_that_visit')),
      abandonForm({ visitId, storeName: store?.name, id: 'abandon-open', onQueued: onAbandoned })));
}

/** The door refusals a rep and a supervisor share (same bodies for check-in and audit start):
 * outside the fence and a bad code, in plain words; anything else as the server said it. */
export function doorRefusal(problem, storeName, detail) {
  if (problem.code === 'outside_geofence') return geofenceExplanation(problem, storeName);
  if (problem.code === 'invalid_qr') return h('div', { class: 'card attention', role: 'alert' }, h('p', {}, t('invalid_qr')));
  return h('p', { class: 'error-text', role: 'alert' }, detail || t('error'));
}

/** The store named at the top of the door screens. */
export function storeCard(store) {
  return h('div', { class: 'card' },
    h('strong', { id: 'store-name' }, store?.name || t('store_not_cached')),
    store ? h('div', { class: 'muted' }, store.address) : null);
}

/**
 * The position at the door (accuracy, distance to the cached store, wait for a better fix) and
 * the button that acts on the best fix: `onPress(fix, parts)` with parts = {button, result,
 * stop}. Shared by the rep's check-in and the supervisor's audit start. → parts
 */
export function doorFix(main, store, { label, id, dataTest }, onPress) {
  const fixBox = h('div', { class: 'card', 'aria-live': 'polite', id: 'fix' }, h('p', {}, t('locating')));
  const result = h('div', {});
  const checkButton = h('button', { class: 'primary wide', type: 'button', disabled: true, id, 'data-test': dataTest }, label);
  const betterButton = h('button', { class: 'wide', type: 'button' }, t('wait_better_fix'));
  add(main, fixBox, checkButton, betterButton, result);

  let best = null;
  let stop = () => {};
  const startWatching = () => {
    stop();
    stop = watchBestFix((fix) => {
      best = fix;
      localStorage.setItem('doorstep.last_position', JSON.stringify({ lat: fix.lat, lng: fix.lng }));
      const [cls, label] = quality(fix.accuracy_m);
      const rows = [h('p', {}, t('accuracy'), ' ', h('span', { class: `meter ${cls}`, id: 'accuracy' }, t('accuracy_value', { accuracy: Math.round(fix.accuracy_m) })), ' ', h('span', { class: cls }, label))];
      if (store) {
        const distance = distanceM(fix, store);
        const effective = effectiveDistance(distance, fix.accuracy_m);
        const inside = effective <= store.geofence_radius_m;
        rows.push(h('p', { id: 'distance' }, t('distance_to_store', { distance: Math.round(distance), radius: store.geofence_radius_m })),
          h('p', { class: inside ? 'ok' : 'error-text' }, inside ? t('inside_fence') : t('outside_fence_hint')));
      }
      clear(fixBox, rows);
      checkButton.disabled = false;
    }, (error) => {
      clear(fixBox, h('p', { class: 'error-text', role: 'alert' }, error.code === 1 ? t('location_denied') : t('location_failed')));
    });
  };
  startWatching();
  betterButton.addEventListener('click', () => { best = null; checkButton.disabled = true; clear(fixBox, h('p', {}, t('waiting_fix'))); startWatching(); });

  const parts = { button: checkButton, result, stop: () => stop() };
  checkButton.addEventListener('click', async () => {
    if (!best) return;
    checkButton.disabled = true;
    clear(result);
    await onPress(best, parts);
  });
  return parts;
}

export async function render(main, [rawToken], { navigate, role }) {
  document.title = `${t('check_in')} · Doorstep`;
  const token = tokenFrom(rawToken);
  // A supervisor or an admin at a door code starts an audit tour of that store (DESIGN §5).
  if (role && role !== 'rep' && token) return (await import('./audit.js')).renderStart(main, token, { navigate });
  if (!token) {
    add(main, h('h1', {}, t('check_in')), h('p', { class: 'error-text', role: 'alert' }, t('not_a_door_code')),
      h('a', { class: 'button wide', href: '/scan', 'data-link': '' }, t('scan_again')));
    return null;
  }
  const store = await storeById(storeIdFrom(token));
  const open = (await activeDrafts()).find((d) => d.status === 'open');
  add(main, h('h1', {}, t('check_in')), storeCard(store));

  if (open) {
    add(main, alreadyOpenCard({
      visitId: open.id, store: open.store, navigate,
      onAbandoned: async () => { await outbox.replay().catch(() => {}); toast(t('abandoned')); navigate(location.pathname, { replace: true }); },
    }));
    return null;
  }

  const { stop } = doorFix(main, store, { label: t('check_in_here'), id: 'check-in-button', dataTest: 'check-in' }, async (best, { button: checkButton, result }) => {
    let visit;
    try {
      visit = await checkIn({ token, position: best });
    } catch (error) {
      showStorageError(error);
      checkButton.disabled = false;
      return;
    }
    if (!navigator.onLine) {
      toast(t('checked_in_offline'));
      stop();
      navigate(`/visit/${visit.id}`, { replace: true });
      return;
    }
    await outbox.replay();
    const [item] = await outbox.itemsFor(visit.id);
    if (!item || item.kind !== 'check_in') { stop(); navigate(`/visit/${visit.id}`, { replace: true }); return; }
    if (item.state !== 'attention') {
      toast(t('checked_in_queued'));
      stop();
      navigate(`/visit/${visit.id}`, { replace: true });
      return;
    }
    // Refused at the door: the rep is standing there and can try again, so nothing is kept.
    const problem = item.last_error?.problem || {};
    await forget(visit.id);
    checkButton.disabled = false;
    if (problem.code === 'visit_already_open') {
      result.append(alreadyOpenCard({
        visitId: problem.visit_id, store: await openVisitStore(problem), navigate,
        onAbandoned: async () => { await outbox.replay().catch(() => {}); toast(t('abandoned')); clear(result); },
      }));
    } else result.append(doorRefusal(problem, store?.name, item.last_error?.detail));
  });
  return () => stop();
}
