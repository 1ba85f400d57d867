// A path the app has no screen for (or none for this role): say so, and offer the way home,
// instead of silently showing another screen.
import { h, add, t } from '../ui.js';

export async function render(main) {
  document.title = `${t('not_found_title')} · Doorstep`;
  add(main, h('h1', {}, t('not_found_title')),
    h('div', { class: 'card', id: 'not-found' },
      h('p', {}, t('not_found_body', { path: location.pathname })),
      h('a', { class: 'button primary wide', href: '/', 'data-link': '', id: 'go-home' }, t('go_home'))));
  return null;
}
