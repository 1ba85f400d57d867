// A visit's photos, always in the server's order of kinds (storefront, shelf, conversation; GET
// /api/v1/config), each under its label, so a supervisor never has to guess which is which.
// Images need the bearer token: loaded as blobs.
import { h, t } from './ui.js';
import { imageUrl } from './api.js';
import { photoKinds } from './policy.js';

/** photos: {kind: {thumb_url, url?}}; a tap on one with a `url` opens the full image. */
export function photoGrid(photos = {}) {
  return h('div', { class: 'photo-row' }, photoKinds(photos).map((kind) => {
    const photo = photos[kind];
    const label = t(`photo_${kind}`, { fallback: kind });
    const img = h('img', { alt: label, loading: 'lazy' });
    if (photo?.thumb_url) imageUrl(photo.thumb_url).then((url) => { img.src = url; }).catch(() => {});
    const picture = photo?.url
      ? h('a', { class: 'photo-frame', href: photo.url, 'aria-label': label, onclick: async (event) => { event.preventDefault(); window.open(await imageUrl(photo.url), '_blank'); } }, img)
      : h('span', { class: 'photo-frame' }, photo ? img : '—');
    return h('figure', { dataset: { kind } }, picture, h('figcaption', {}, label));
  }));
}
