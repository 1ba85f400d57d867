// The supervisor's audit tour (巡店, DESIGN §5, §7): started at the door like a check-in
// (renderStart, from /q/<token>), then /audit/<id>: the store's last 7 days, the checklist by
// section (pass / fail / N/A, scales, numbers, a photo where asked), a running score from the
// server's policy, submit with the rectifications to confirm (assignee, due), abandon. Every
// write goes through the outbox (audits.js), so the tour works offline from door to submit.
// Loaded on demand: not part of the rep's first load.
import { h, add, t, clear, toast, formatTime, countdown, showStorageError, pick, problemText, confirmDialog } from '../ui.js';
import { api, imageUrl } from '../api.js';
import { kvGet, kvSet } from '../db.js';
import * as outbox from '../outbox.js';
import * as audits from '../audits.js';
import { auditScore, auditMissing, needsPhoto, itemFailed, dueWindow, rectificationChoices, templateFor, bySection } from '../audit-rules.js';
import { policy, auditPolicy, rectificationDueDays } from '../policy.js';
import { storeById, auditTemplates } from '../cache.js';
import { storeIdFrom } from '../qr.js';
import { downscale } from '../photos.js';
import { doorFix, doorRefusal, storeCard } from './checkin.js';

const kick = () => { if (navigator.onLine) outbox.replay(); };
const subject = (id) => `audit:${id}`;

function toLocalInput(ms) {
  const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60000);
  return d.toISOString().slice(0, 16);
}

const flagChips = (flags) => (flags || []).map((f) => h('span', { class: 'chip red', title: f.code }, t(`flag_${f.code}`, { fallback: f.code })));
const bandChip = (percent, band, extra = {}) => h('span', { class: `chip ${band || ''}`, ...extra }, percent == null ? '—' : `${percent}%`);

// --- the start at the door --------------------------------------------------------------------

function continueCard(audit, navigate) {
  return h('div', { class: 'card attention', role: 'alert', id: 'open-audit-notice' },
    h('p', {}, t('audit_already_open', { store: audit.store?.name || t('the_store') })),
    h('a', { class: 'button primary wide', href: `/audit/${audit.id}`, 'data-test': 'audit-continue', onclick: async (event) => {
      event.preventDefault();
      if (!(await audits.auditDraft(audit.id)) && navigator.onLine) await api('GET', `/api/v1/audits/${audit.id}`).then(audits.adoptAudit).catch(() => {});
      navigate(`/audit/${audit.id}`);
    } }, t('audit_continue')));
}

/** The checklist to render until the server answers: the cached template for this store. */
async function localTemplate(store) {
  const tpl = templateFor(await auditTemplates(), store?.customer_type);
  return tpl ? { key: tpl.key, version: tpl.checklist.version, items: tpl.checklist.items } : null;
}

export async function renderStart(main, token, { navigate }) {
  document.title = `${t('audit_start')} · Doorstep`;
  const store = await storeById(storeIdFrom(token));
  add(main, h('h1', {}, t('audit_start')), storeCard(store));
  const [open] = await audits.openAudits();
  if (open) { add(main, continueCard(open, navigate)); return null; }
  const { stop } = doorFix(main, store, { label: t('audit_start_here'), id: 'audit-start-button', dataTest: 'audit-start' }, async (fix, { button, result }) => {
    let audit;
    try {
      audit = await audits.startAudit({ token, position: fix, store, template: await localTemplate(store) });
    } catch (error) { showStorageError(error); button.disabled = false; return; }
    const go = (message) => { toast(message); stop(); navigate(`/audit/${audit.id}`, { replace: true }); };
    if (!navigator.onLine) { go(t('audit_started_offline')); return; }
    await outbox.replay();
    const [item] = await outbox.itemsFor(subject(audit.id));
    if (!item || item.kind !== 'audit_start' || item.state !== 'attention') { go(t('audit_started')); return; }
    // Refused at the door: the supervisor is standing there and can try again; nothing is kept.
    const problem = item.last_error?.problem || {};
    await audits.forgetAudit(audit.id);
    button.disabled = false;
    if (problem.code === 'audit_already_open') {
      result.append(continueCard({ id: problem.audit_id, store: problem.store_id === store?.id ? store : null }, navigate));
    } else result.append(doorRefusal(problem, store?.name, problemText(item.last_error)));
  });
  return () => stop();
}

// --- the store's last 7 days -------------------------------------------------------------------

async function timeline(storeId) {
  const key = `timeline:${storeId}`;
  if (navigator.onLine && storeId) {
    try {
      const fresh = await api('GET', `/api/v1/stores/${storeId}/timeline?days=7`);
      await kvSet(key, fresh);
      return fresh;
    } catch { /* the cached copy below */ }
  }
  return kvGet(key);
}

function historyPanel(data, auditId) {
  if (!data) return h('section', { class: 'card', 'data-test': 'audit-history' }, h('h2', {}, t('last_7_days')), h('p', { class: 'muted' }, t('offline_no_cache')));
  const visits = data.visits || [];
  const flags = visits.flatMap((v) => v.trust?.flags || []).slice(0, 6);
  const last = (data.audits || []).filter((a) => a.id !== auditId && a.percent != null)
    .sort((a, b) => String(b.submitted_at || b.started_at).localeCompare(String(a.submitted_at || a.started_at)))[0];
  const open = data.rectifications || [];
  return h('section', { class: 'card', 'data-test': 'audit-history', id: 'audit-history' },
    h('h2', {}, t('last_7_days')),
    h('p', {}, t('visits_n', { n: visits.length }), ' ', flags.length ? flagChips(flags) : h('span', { class: 'muted' }, t('no_flags'))),
    h('p', {}, t('last_audit'), t('label_colon'), last ? [bandChip(last.percent, last.band, { 'data-test': 'last-audit-score' }), ' ', h('span', { class: 'muted' }, formatTime(last.submitted_at || last.started_at))] : h('span', { class: 'muted' }, t('none'))),
    h('p', {}, t('open_rects_n', { n: open.length })),
    open.length ? h('ul', { class: 'compact' }, open.map((r) => {
      const left = countdown(r.due_at);
      return h('li', {}, h('a', { href: `/rectification/${r.id}`, 'data-link': '' }, pick(r.title)), ' · ', r.assignee?.display_name || '',
        ' · ', h('span', { class: left.overdue ? 'overdue' : 'muted' }, left.text));
    })) : null);
}

// --- the checklist -----------------------------------------------------------------------------

function choiceButton(label, pressed, cls, dataTest, onclick) {
  return h('button', { type: 'button', class: `choice ${cls}`, 'aria-pressed': pressed ? 'true' : 'false', 'data-test': dataTest, onclick }, label);
}

/** What the item's photo slot says: '' (none on the phone), 'queued' or 'uploaded'. */
const photoState = (screen, key) => {
  const local = screen.value.photos?.[key];
  return local ? (local.uploaded ? 'uploaded' : 'queued') : '';
};

/** One item's card; `screen.set(key, entry)` / `screen.photo(key, file)` record the change. */
function itemCard(screen, item) {
  const rules = screen.rules;
  const result = screen.value.results?.[item.key];
  const failed = itemFailed(item, result, rules);
  const key = item.key;
  const withNote = (entry) => (result?.note ? { ...entry, note: result.note } : entry);
  const na = choiceButton(t('audit_na'), result?.result === 'na', 'na', `audit-na-${key}`, () => screen.set(key, withNote({ result: 'na' })));
  let controls;
  if (item.kind === 'check') {
    controls = [
      choiceButton(t('audit_pass'), result?.result === 'pass', 'pass', `audit-pass-${key}`, () => screen.set(key, withNote({ result: 'pass' }))),
      choiceButton(t('audit_fail'), result?.result === 'fail', 'fail', `audit-fail-${key}`, () => screen.set(key, withNote({ result: 'fail' }))), na];
  } else if (item.kind === 'scale') {
    const values = Array.from({ length: item.scale_max + 1 }, (_, n) => n);
    controls = [h('div', { class: 'seg', role: 'group', 'aria-label': pick(item.label) }, values.map((n) => choiceButton(String(n), result?.value === n && result?.result !== 'na', '', `audit-scale-${key}-${n}`, () => screen.set(key, withNote({ value: n }))))), na];
  } else {
    const input = h('input', {
      type: 'number', inputmode: 'decimal', step: 'any', id: `audit-number-${key}`, 'data-test': `audit-number-${key}`,
      value: result?.value ?? '', 'aria-label': pick(item.label),
      onchange: () => { if (input.value.trim() !== '' && Number.isFinite(Number(input.value))) screen.set(key, withNote({ value: Number(input.value) })); },
    });
    const range = item.min != null && item.max != null ? t('range_min_max', { min: item.min, max: item.max })
      : item.min != null ? t('range_min', { min: item.min }) : item.max != null ? t('range_max', { max: item.max }) : '';
    controls = [h('div', { class: 'grow' }, input, range ? h('div', { class: 'muted' }, range) : null), na];
  }
  const wantsPhoto = needsPhoto(item, result, rules) || item.photo === 'required';
  let photo = null;
  if (wantsPhoto) {
    const local = screen.value.photos?.[key];
    const server = screen.value.server?.results?.[key]?.photo_url;
    const preview = h('img', { alt: '' });
    if (local?.thumb) preview.src = URL.createObjectURL(local.thumb);
    else if (server && navigator.onLine) imageUrl(server).then((url) => { preview.src = url; }).catch(() => {});
    photo = h('label', { class: `slot small${local || server ? ' filled' : ''}`, for: `audit-photo-${key}` },
      h('input', { type: 'file', accept: 'image/*', capture: 'environment', class: 'visually-hidden', id: `audit-photo-${key}`, 'data-test': `audit-photo-${key}`,
        'aria-label': t('audit_photo_for', { item: pick(item.label) }),
        onchange: (event) => { const file = event.target.files?.[0]; if (file) screen.photo(key, file); } }),
      local?.thumb || server ? preview : null,
      h('span', {}, local ? (local.uploaded ? t('photo_uploaded') : t('photo_queued', { size: `${Math.round(local.bytes / 1024)} KB` })) : server ? t('photo_uploaded') : t(failed ? 'audit_photo_fail' : 'audit_photo_take')));
  }
  const note = failed ? h('input', {
    type: 'text', maxlength: 1000, value: result?.note || '', placeholder: t('audit_note'), 'aria-label': t('audit_note'), 'data-test': `audit-note-${key}`,
    onchange: (event) => screen.set(key, { ...result, note: event.target.value.trim() }),
  }) : null;
  return h('li', { class: `card audit-item${failed ? ' attention' : ''}`, 'data-test': 'audit-item', dataset: { itemKey: key, photoState: photoState(screen, key) } },
    h('div', { class: 'row' }, h('strong', { class: 'grow' }, pick(item.label)),
      item.critical ? h('span', { class: 'chip red' }, t('critical')) : null,
      failed ? h('span', { class: 'chip red' }, t('audit_failed')) : null),
    item.help ? h('p', { class: 'muted' }, pick(item.help)) : null,
    h('div', { class: 'row choices' }, controls), note, photo);
}

function scoreBar(screen) {
  const bar = h('div', { class: 'scorebar', 'data-test': 'audit-score', id: 'audit-score', role: 'status', 'aria-live': 'polite' });
  const draw = () => {
    const items = screen.value.template?.items || [];
    const score = auditScore(items, screen.value.results, screen.rules);
    // No audit rules on this phone yet (an older cached policy): the server's own score, no verdict.
    const server = !screen.rules ? screen.value.server?.score : null;
    const percent = server ? server.percent : score.percent;
    const band = server ? server.band : score.band;
    const passed = server ? screen.value.server?.passed : score.passed;
    const critical = score.failed_critical.map((k) => pick(items.find((i) => i.key === k)?.label));
    bar.className = `scorebar band-${band || 'none'}`;
    clear(bar,
      h('span', { class: 'score-value', 'data-test': 'audit-percent' }, percent == null ? '—' : `${percent}%`),
      h('span', { class: 'grow' },
        passed == null ? t('audit_no_verdict') : passed ? t('audit_passing') : t('audit_not_passing'),
        h('span', { class: 'muted' }, ' · ', t('answered_n', { n: score.answered, total: score.total }))),
      critical.length ? h('span', { class: 'score-critical', 'data-test': 'audit-critical' }, t('critical_failed', { items: critical.join(t('list_sep')) })) : null);
  };
  draw();
  return { node: bar, draw };
}

// --- submit: failed items become rectifications to confirm -------------------------------------

/** Reps the supervisor can hand a fix to: the store's recent visits, the board, the admin's list. */
async function repChoices(screen) {
  const reps = new Map();
  for (const v of screen.history?.visits || []) if (v.rep) reps.set(v.rep.id, v.rep.display_name);
  for (const r of screen.history?.rectifications || []) if (r.assignee) reps.set(r.assignee.id, r.assignee.display_name);
  const board = await kvGet('board');
  for (const [id, name] of Object.entries(board?.names?.reps || {})) reps.set(id, name);
  if (screen.role === 'admin' && navigator.onLine) {
    const page = await api('GET', '/api/v1/users?role=rep&limit=200').catch(() => ({ items: [] }));
    for (const u of page.items || []) reps.set(u.id, u.display_name);
  }
  return [...reps].sort((a, b) => a[1].localeCompare(b[1]));
}

function missingLabel(entry, items) {
  const [kind, key] = [entry.slice(0, entry.indexOf(':')), entry.slice(entry.indexOf(':') + 1)];
  const label = pick(items.find((i) => i.key === key)?.label) || key;
  return t(`missing_audit_${kind}`, { item: label, fallback: entry });
}

/** The confirm sheet → Promise<choices | null>. `needAssignee`: keys the server could not assign. */
async function confirmSheet(screen, failedKeys, needAssignee = []) {
  const items = screen.value.template.items;
  const reps = await repChoices(screen);
  const days = rectificationDueDays();
  const now = Date.now();
  const saved = screen.value.choices || {};
  const rows = failedKeys.map((key) => {
    const item = items.find((i) => i.key === key);
    const window_ = dueWindow(item, now, days);
    const choice = saved[key] || {};
    const assignee = h('select', { 'data-test': `rect-assignee-${key}`, 'aria-label': t('rect_assignee'), class: needAssignee.includes(key) ? 'invalid' : '' },
      h('option', { value: '' }, t('rect_assignee_auto')),
      reps.map(([id, name]) => h('option', { value: id, selected: choice.assignee_id === id }, name)));
    const due = h('input', {
      type: 'datetime-local', 'data-test': `rect-due-${key}`, 'aria-label': t('rect_due'),
      min: toLocalInput(now + 60_000), max: window_.latest ? toLocalInput(window_.latest) : undefined,
      value: choice.due_at ? toLocalInput(Date.parse(choice.due_at)) : window_.due ? toLocalInput(window_.due) : '',
    });
    const note = h('input', { type: 'text', maxlength: 1000, value: choice.note || '', 'data-test': `rect-note-${key}`, 'aria-label': t('rect_note'), placeholder: t('rect_note') });
    const defaultDue = due.value;
    return { key, item, window_, assignee, due, note, defaultDue, node: h('li', { class: 'card', dataset: { itemKey: key } },
      h('strong', {}, pick(item?.label)), item?.critical ? h('span', { class: 'chip red' }, t('critical')) : null,
      h('label', {}, t('rect_assignee')), assignee, needAssignee.includes(key) ? h('p', { class: 'error-text' }, t('rect_assignee_needed')) : null,
      h('label', {}, days ? t('rect_due_within', { n: days.max }) : t('rect_due')), due, h('label', {}, t('rect_note')), note) };
  });
  const error = h('p', { class: 'error-text', role: 'alert', id: 'audit-confirm-error' });
  return new Promise((resolve) => {
    let answer = null;
    const dialog = h('dialog', { class: 'dialog sheet', id: 'audit-confirm', 'aria-labelledby': 'audit-confirm-title' },
      h('h2', { id: 'audit-confirm-title' }, t('audit_confirm_title')),
      h('p', {}, failedKeys.length ? t('audit_confirm_body', { n: failedKeys.length }) : t('audit_confirm_none')),
      h('ul', { class: 'plain' }, rows.map((r) => r.node)), error,
      h('div', { class: 'row' },
        h('button', { type: 'button', class: 'primary grow', 'data-test': 'audit-confirm', onclick: () => {
          const choices = {};
          for (const r of rows) {
            const when = r.due.value ? new Date(r.due.value).getTime() : null;
            if (when != null && (!(when > Date.now()) || (r.window_.latest && when > r.window_.latest + 60_000))) {
              error.textContent = t('rect_due_out_of_range', { item: pick(r.item?.label) }); r.due.focus(); return;
            }
            // The default due time is left to the server (counted from its own submit time).
            const due_at = when != null && r.due.value !== r.defaultDue ? new Date(when).toISOString() : null;
            choices[r.key] = { assignee_id: r.assignee.value || null, due_at, note: r.note.value.trim() };
          }
          answer = choices;
          dialog.close();
        } }, t('audit_confirm_submit')),
        h('button', { type: 'button', class: 'grow', 'data-test': 'audit-confirm-cancel', onclick: () => dialog.close() }, t('cancel'))));
    dialog.addEventListener('close', () => { dialog.remove(); resolve(answer); });
    document.body.append(dialog);
    dialog.showModal();
  });
}

// --- the screen ----------------------------------------------------------------------------------

async function loadAudit(id) {
  const value = await audits.auditDraft(id);
  if (value || !navigator.onLine) return value || null;
  try { return await audits.adoptAudit(await api('GET', `/api/v1/audits/${id}`)); } catch { return null; }
}

/** A submitted (or submitted-on-the-phone) audit: the score and the rectifications it made. */
function submittedView(main, value) {
  const server = value.server?.status === 'submitted' ? value.server : null;
  const local = auditScore(value.template?.items || [], value.results, auditPolicy());
  const score = server?.score || local;
  const passed = server ? server.passed : local.passed;
  add(main, h('h1', {}, value.store?.name || t('audit')),
    h('div', { class: `card scorecard band-${score.band || 'none'}`, id: 'audit-result', 'data-test': 'audit-result' },
      h('p', { class: 'score-value' }, score.percent == null ? '—' : `${score.percent}%`),
      h('p', {}, passed == null ? t('audit_no_verdict') : passed ? t('audit_passed') : t('audit_not_passed')),
      value.server?.previous ? h('p', { class: 'muted' }, t('audit_previous', { percent: value.server.previous.percent })) : null,
      server ? null : h('p', { class: 'muted' }, t('audit_submit_queued'))),
    server?.rectifications?.length ? [h('h2', {}, t('rects_created', { n: server.rectifications.length })),
      h('ul', { class: 'plain' }, server.rectifications.map((r) => h('li', {}, h('a', { class: 'card link', href: `/rectification/${r.id}`, 'data-link': '', 'data-test': 'audit-rect-row' },
        h('strong', {}, pick(r.title)), h('div', { class: 'muted' }, r.assignee?.display_name || '', ' · ', formatTime(r.due_at))))))] : null,
    h('a', { class: 'button wide', href: '/', 'data-link': '' }, t('go_home')));
}

export async function render(main, [id], { navigate, role }) {
  const value = await loadAudit(id);
  if (!value) { add(main, h('h1', {}, t('audit')), h('p', { class: 'error-text', id: 'audit-not-found' }, t('audit_not_found'))); return null; }
  document.title = `${value.store?.name || t('audit')} · ${t('audit')}`;
  if (value.status === 'abandoned') { add(main, h('h1', {}, value.store?.name || t('audit')), h('p', { class: 'card' }, t('audit_abandoned'))); return null; }
  let value_ = value;
  if (value.submit_queued) {
    // A submit refused after it left the phone (replayed later): back to the checklist, with why.
    const refused = (await outbox.itemsFor(subject(id))).find((i) => i.kind === 'audit_submit' && i.state === 'attention');
    if (refused) value_ = await audits.reopenAudit(id, { keep: true });
  }
  if (value_.submit_queued || value_.status === 'submitted') { submittedView(main, value_); return null; }
  await policy();
  const screen = { id, value: value_, role, rules: auditPolicy(), history: null, nodes: {} };
  const sync = h('p', { class: 'muted', role: 'status', id: 'audit-sync' });
  const attention = h('div', {});
  const historyBox = h('div', {}, historyPanel(await kvGet(`timeline:${value_.store_id}`), id));
  add(main, h('h1', {}, value_.store?.name || t('store_not_cached')),
    h('p', { class: 'muted' }, t('audit_started_at', { time: formatTime(value_.started_at) }), ' ', flagChips(value_.server?.trust?.flags)),
    sync, attention, historyBox);
  timeline(value_.store_id).then((data) => { screen.history = data; if (main.isConnected) clear(historyBox, historyPanel(data, id)); });

  const items = screen.value.template?.items;
  if (!items?.length) {
    add(main, h('p', { class: 'card attention', id: 'audit-no-checklist' }, t('audit_checklist_later')), abandonSection(screen, navigate));
    return followDraft(screen, navigate, async () => {});
  }
  const score = scoreBar(screen);
  const redraw = (key) => {
    const item = items.find((i) => i.key === key);
    const next = itemCard(screen, item);
    screen.nodes[key].replaceWith(next);
    screen.nodes[key] = next;
    score.draw();
    if (missingBox.firstChild) showMissing();
  };
  screen.set = async (key, entry) => {
    try { screen.value = await audits.setResult(id, key, entry); } catch (error) { showStorageError(error); return; }
    redraw(key); kick();
  };
  screen.photo = async (key, file) => {
    try {
      const rules = await policy();
      const shot = await downscale(file, rules?.photo_long_edge_px);
      if (rules?.photo_max_bytes && shot.bytes > rules.photo_max_bytes) throw new Error(t('code_photo_too_large'));
      screen.value = await audits.setItemPhoto(id, key, shot);
    } catch (error) {
      if (error?.name === 'QuotaExceededError') showStorageError(error); else toast(t('photo_failed', { reason: error.message }));
      return;
    }
    redraw(key); kick();
  };
  const sections = bySection(items).map(({ section, items: group }) => h('section', {},
    h('h2', {}, pick(section)),
    h('ul', { class: 'plain' }, group.map((item) => { screen.nodes[item.key] = itemCard(screen, item); return screen.nodes[item.key]; }))));

  const missingBox = h('div', { id: 'audit-missing', 'aria-live': 'polite' });
  const showMissing = (entries = auditMissing(items, screen.value.results, screen.value.photos, screen.rules, screen.value.server?.results)) => {
    clear(missingBox, entries.length ? h('div', { class: 'missing' }, h('strong', {}, t('missing_title')),
      h('ul', {}, entries.map((e) => h('li', {}, missingLabel(e, items))))) : null);
    return entries;
  };
  const submit = h('button', { class: 'primary wide', type: 'button', id: 'audit-submit', 'data-test': 'audit-submit', onclick: async () => {
    if (showMissing().length) { missingBox.scrollIntoView({ block: 'center' }); return; }
    await confirmAndSubmit();
  } }, t('audit_submit'));
  const confirmAndSubmit = async (needAssignee = []) => {
    const failed = auditScore(items, screen.value.results, screen.rules).failed;
    const choices = await confirmSheet(screen, failed, needAssignee);
    if (!choices) return;
    submit.disabled = true;
    try {
      await audits.setChoices(id, choices);
      await audits.submitAudit(id, rectificationChoices(failed, choices));
    } catch (error) { showStorageError(error); submit.disabled = false; return; }
    if (navigator.onLine) await outbox.replay();
    const left = await outbox.itemsFor(subject(id));
    const refused = left.find((i) => i.state === 'attention');
    if (refused?.kind === 'audit_submit') {
      // Refused while the supervisor looks: shown here, not kept (they fix it and submit again).
      submit.disabled = false;
      screen.value = await audits.reopenAudit(id);
      const missing = refused.last_error?.problem?.missing || [];
      showMissing(missing.length ? missing : undefined);
      if (!missing.length) toast(problemText(refused.last_error));
      await drawState();
      const assignees = missing.filter((m) => m.startsWith('assignee:')).map((m) => m.slice('assignee:'.length));
      if (assignees.length && missing.length === assignees.length) await confirmAndSubmit(assignees);
      return;
    }
    if (refused) { submit.disabled = false; screen.value = await audits.reopenAudit(id); await drawState(); return; }
    toast(left.length ? t('audit_submit_queued') : t('audit_submitted'));
    navigate(location.pathname, { replace: true });
  };

  add(main, sections, missingBox, score.node, submit, abandonSection(screen, navigate));

  const drawState = async () => {
    const queued = await outbox.itemsFor(subject(id));
    sync.textContent = queued.length ? t('visit_waiting', { n: queued.length }) : navigator.onLine ? t('visit_synced') : '';
    clear(attention, queued.filter((i) => i.state === 'attention').map((item) => h('div', { class: 'card attention', role: 'alert' },
      h('strong', {}, t(`item_${item.kind}`)), item.item_key ? ` · ${pick(items.find((i) => i.key === item.item_key)?.label)}` : '',
      h('p', {}, problemText(item.last_error)),
      (item.last_error?.problem?.missing || []).length ? h('ul', {}, item.last_error.problem.missing.map((e) => h('li', {}, missingLabel(e, items)))) : null,
      h('a', { href: '/outbox', 'data-link': '' }, t('open_outbox')))));
  };
  await drawState();
  const unsubscribe = followDraft(screen, navigate, async () => {
    // A photo acknowledged by the server: its slot says so instead of "queued".
    for (const key of Object.keys(screen.value.photos || {})) {
      if (screen.nodes[key] && screen.nodes[key].dataset.photoState !== photoState(screen, key)) redraw(key);
    }
    score.draw(); await drawState();
  });
  return () => unsubscribe();
}

/** Redraw as the outbox moves; a start acknowledged with the server's own checklist (another
 * version than the cached one, or none was cached) draws the screen again from it. */
function followDraft(screen, navigate, onChange) {
  const shown = screen.value.template;
  return outbox.subscribe(async () => {
    if (!document.getElementById('main').contains(document.getElementById('audit-sync'))) return;
    const fresh = await audits.auditDraft(screen.id);
    if (!fresh) return;
    screen.value = fresh;
    const tpl = fresh.template;
    if (tpl?.items?.length && (tpl.key !== shown?.key || tpl.version !== shown?.version)) { navigate(location.pathname, { replace: true }); return; }
    await onChange();
  });
}

function abandonSection(screen, navigate) {
  const reason = h('textarea', { id: 'audit-abandon-reason', 'data-test': 'audit-abandon-reason', maxlength: 500, rows: 2, required: true });
  const error = h('p', { class: 'error-text', role: 'alert' });
  const button = h('button', { class: 'danger wide', type: 'button', 'data-test': 'audit-abandon', onclick: async () => {
    const text = reason.value.trim();
    if (!text) { error.textContent = t('abandon_reason_required'); reason.focus(); return; }
    const sure = await confirmDialog({
      title: t('audit_abandon_title', { store: screen.value.store?.name || t('the_store') }),
      body: [t('audit_abandon_body'), t('abandon_reason_is', { reason: text })],
      confirm: t('audit_abandon_confirm'), cancel: t('audit_abandon_keep'), danger: true,
    });
    if (!sure) return;
    try { await audits.abandonAudit(screen.id, text); } catch (err) { showStorageError(err); return; }
    kick(); toast(t('audit_abandoned')); navigate('/', { replace: true });
  } }, t('audit_abandon'));
  return h('details', { class: 'card', id: 'audit-abandon-section' }, h('summary', { class: 'summary-tap' }, t('audit_abandon')),
    h('label', { for: reason.id }, t('abandon_reason')), reason, error, button);
}
