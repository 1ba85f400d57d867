// What the visit screen lists as missing before submit (pwa/app/submit-needs.js), from the
// server's `submit_requires` (GET /api/v1/config).
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { missingFor } from '../../pwa/app/submit-needs.js';

const REQUIRES = ['photo:storefront', 'photo:shelf', 'photo:conversation', 'answers', 'next_action'];

test('an untouched visit misses everything the server requires, in its order', () => {
  assert.deepEqual(missingFor(REQUIRES, { photos: {} }), REQUIRES);
});

test('photos count from the phone or the server; the form names its fields', () => {
  const value = { photos: { storefront: { uploaded: false } }, server: { photos: { shelf: {} }, form: { version: 1 } } };
  assert.deepEqual(missingFor(REQUIRES, value, { shop_size: 'Required' }), ['photo:conversation', 'field:shop_size', 'next_action']);
  assert.deepEqual(missingFor(REQUIRES, { ...value, next_action: { type: 'quote' } }, {}), ['photo:conversation']);
});

test('a visit whose server copy has no form needs no answers; an unknown need is the server’s', () => {
  assert.deepEqual(missingFor(['answers', 'audit:x'], { server: { form: null, photos: {} } }), []);
  assert.deepEqual(missingFor(['photo:storefront'], { photos: { storefront: {} } }), []);
  assert.deepEqual(missingFor(['photo:receipt'], { photos: {} }), ['photo:receipt']);
});
