// The admin's home until the admin console lands (DESIGN §5): what it will hold, and where the
// same work can be done today (the API and its documentation, served by this server).
import { h, add, t } from '../ui.js';

const LINKS = [['/docs', 'console_docs'], ['/redoc', 'console_redoc']];

export async function render(main) {
  document.title = `${t('console_title')} · Doorstep`;
  add(main, h('h1', {}, t('console_title')),
    h('div', { class: 'card', id: 'console-placeholder' },
      h('p', {}, t('console_body')),
      h('ul', { class: 'link-list' }, LINKS.map(([href, label]) => h('li', {},
        h('a', { href, target: '_blank', rel: 'noopener' }, t(label)))))),
    h('div', { class: 'card' },
      h('p', {}, t('console_meanwhile')),
      h('div', { class: 'row' },
        h('a', { class: 'button grow', href: '/review', 'data-link': '' }, t('tab_review')),
        h('a', { class: 'button grow', href: '/board', 'data-link': '' }, t('tab_board')))));
  return null;
}
