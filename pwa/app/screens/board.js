// Supervisor: the team board of open next actions with countdowns, overdue first and in red.
import { h, add, t, countdown, learnServerTime } from '../ui.js';
import { actionLabel } from '../policy.js';
import { api } from '../api.js';
import { kvGet, kvSet } from '../db.js';

async function load() {
  const [actions, recent] = await Promise.all([
    api('GET', '/api/v1/next-actions?status=open&limit=200'),
    api('GET', '/api/v1/visits?limit=200'),
  ]);
  learnServerTime(actions.server_time);
  const names = { reps: {}, stores: {} };
  for (const visit of recent.items) { names.reps[visit.rep.id] = visit.rep.display_name; names.stores[visit.store.id] = visit.store.name; }
  const value = { items: actions.items, names };
  await kvSet('board', value);
  return value;
}

export async function render(main) {
  document.title = `${t('team_board')} · Doorstep`;
  add(main, h('h1', {}, t('team_board')));
  const box = h('div', { id: 'board' });
  add(main, box);
  const draw = (data) => {
    if (!data) { box.replaceChildren(h('p', { class: 'muted' }, t('offline_no_cache'))); return; }
    const items = [...data.items].sort((a, b) => a.due_at.localeCompare(b.due_at));
    const overdue = items.filter((a) => countdown(a.due_at).overdue);
    const open = items.filter((a) => !countdown(a.due_at).overdue);
    const row = (a) => {
      const left = countdown(a.due_at);
      return h('li', { class: `card${left.overdue ? ' attention' : ''}` },
        h('div', { class: 'row' }, h('strong', { class: 'grow' }, data.names.reps[a.assignee_id] || a.assignee_id.slice(0, 8)),
          h('span', { class: left.overdue ? 'overdue countdown' : 'countdown', dataset: { due: a.due_at } }, left.text)),
        h('div', {}, actionLabel(a.type), ' · ', a.store?.name || data.names.stores[a.store_id] || ''),
        a.reschedule_count ? h('div', { class: 'muted' }, t('rescheduled_n', { n: a.reschedule_count })) : null);
    };
    box.replaceChildren(
      h('h2', { class: 'overdue' }, t('overdue_n', { n: overdue.length })),
      h('ul', { style: 'list-style:none;padding:0;margin:0', id: 'board-overdue' }, overdue.map(row)),
      h('h2', {}, t('open_n', { n: open.length })),
      h('ul', { style: 'list-style:none;padding:0;margin:0', id: 'board-open' }, open.map(row)));
  };
  draw(await kvGet('board'));
  if (navigator.onLine) load().then((d) => main.isConnected && draw(d)).catch(() => {});
  const tick = setInterval(() => {
    for (const el of main.querySelectorAll('.countdown')) {
      const left = countdown(el.dataset.due);
      el.textContent = left.text;
    }
  }, 30_000);
  return () => clearInterval(tick);
}
