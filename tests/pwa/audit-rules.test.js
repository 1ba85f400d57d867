// The audit tour's rules on the phone (pwa/app/audit-rules.js): the running score from the
// checklist, the results and the server's policy; what submit still needs; the rectifications'
// default due times. `node --test tests/pwa/` (run by tests/test_pwa_node.py).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  auditScore, auditMissing, itemFailed, needsPhoto, dueWindow, rectificationChoices, templateFor, bySection, bandOf,
} from '../../pwa/app/audit-rules.js';

// What GET /api/v1/config publishes (DESIGN §5); the tests vary it to prove it is read, not copied.
const POLICY = { pass_percent: 80, bands: { green: 90, amber: 75 }, scale_fail_below: 0.5 };
const DUE_DAYS = { critical: 2, default: 7, max: 14 };
const DAY = 86400_000;

const check = (key, extra = {}) => ({ key, kind: 'check', weight: 1, critical: false, photo: 'none', section: { zh: '陈列', en: 'Display' }, ...extra });
const ITEMS = [
  check('door', { weight: 2, section: { zh: '门头与环境', en: 'Storefront' } }),
  check('clean', { section: { zh: '门头与环境', en: 'Storefront' }, photo: 'on_fail' }),
  { key: 'facings', kind: 'scale', scale_max: 4, weight: 2, critical: false, photo: 'none', section: { zh: '陈列', en: 'Display' } },
  { key: 'stock', kind: 'number', min: 10, max: 50, weight: 1, critical: true, photo: 'required', section: { zh: '库存', en: 'Stock' } },
  check('price', { critical: true, section: { zh: '价格与促销', en: 'Price' } }),
];

test('every item kind scores as DESIGN defines it; N/A leaves the item out of possible', () => {
  const score = auditScore(ITEMS, {
    door: { result: 'pass' }, // 2 of 2
    clean: { result: 'na' }, // out
    facings: { value: 3 }, // 2 × 3/4 = 1.5 of 2
    stock: { value: 30 }, // within 10..50: 1 of 1
    price: { result: 'pass' }, // 1 of 1
  }, POLICY);
  assert.equal(score.earned, 5.5);
  assert.equal(score.possible, 6);
  assert.equal(score.percent, 91.7); // 91.666… to one decimal
  assert.equal(score.band, 'green');
  assert.equal(score.passed, true);
  assert.deepEqual(score.failed, []);
  assert.equal(score.answered, 5);
  assert.equal(score.total, 5);
});

test('a scale below the policy mark and a number outside min..max fail and earn nothing', () => {
  const results = { facings: { value: 1 }, stock: { value: 60 } };
  const score = auditScore(ITEMS, results, POLICY);
  assert.deepEqual(score.failed, ['facings', 'stock']);
  assert.equal(score.earned, 0);
  assert.equal(score.possible, 3);
  assert.equal(score.percent, 0);
  assert.equal(score.band, 'red');
  // The mark comes from the policy: at 0.2 a 1 of 4 no longer fails.
  assert.equal(itemFailed(ITEMS[2], { value: 1 }, { ...POLICY, scale_fail_below: 0.2 }), false);
  assert.equal(itemFailed(ITEMS[2], { value: 2 }, POLICY), false); // exactly half passes
  assert.equal(itemFailed(ITEMS[3], { value: 10 }, POLICY), false); // the bounds are inside
  assert.equal(itemFailed(ITEMS[3], { value: 9.5 }, POLICY), true);
});

test('a failed critical item fails the audit whatever the percent', () => {
  const results = { door: { result: 'pass' }, clean: { result: 'pass' }, facings: { value: 4 }, stock: { value: 20 }, price: { result: 'fail' } };
  const score = auditScore(ITEMS, results, POLICY);
  assert.equal(score.percent, 85.7); // 6 of 7
  assert.equal(score.band, 'amber');
  assert.deepEqual(score.failed_critical, ['price']);
  assert.equal(score.passed, false);
  const clean = auditScore(ITEMS, { ...results, price: { result: 'pass' } }, POLICY);
  assert.equal(clean.passed, true);
  // A stricter pass mark from the server: 100 % pass only.
  assert.equal(auditScore(ITEMS, { ...results, facings: { value: 3 }, price: { result: 'pass' } }, { ...POLICY, pass_percent: 95 }).passed, false);
});

test('bands and the pass mark are the policy’s, at their boundaries; the percent rounds half up', () => {
  assert.equal(bandOf(90, POLICY), 'green');
  assert.equal(bandOf(89.9, POLICY), 'amber');
  assert.equal(bandOf(75, POLICY), 'amber');
  assert.equal(bandOf(74.9, POLICY), 'red');
  assert.equal(bandOf(80, { bands: { green: 80, amber: 60 } }), 'green');
  const eight = Array.from({ length: 8 }, (_, i) => check(`c${i}`));
  // 7 of 8 = 87.5 exactly; 5 of 6 = 83.333…
  const results = Object.fromEntries(eight.map((item, i) => [item.key, { result: i < 7 ? 'pass' : 'fail' }]));
  assert.equal(auditScore(eight, results, POLICY).percent, 87.5);
  const six = eight.slice(0, 6);
  assert.equal(auditScore(six, Object.fromEntries(six.map((item, i) => [item.key, { result: i < 5 ? 'pass' : 'fail' }])), POLICY).percent, 83.3);
  // 80 exactly passes (>=), 79.x does not.
  const five = eight.slice(0, 5);
  assert.equal(auditScore(five, Object.fromEntries(five.map((item, i) => [item.key, { result: i < 4 ? 'pass' : 'fail' }])), POLICY).passed, true);
});

test('before anything is scored there is no percent; an old cached policy gives no verdict', () => {
  const empty = auditScore(ITEMS, {}, POLICY);
  assert.equal(empty.percent, null);
  assert.equal(empty.band, null);
  assert.equal(empty.passed, null);
  const allNa = auditScore(ITEMS, { door: { result: 'na' } }, POLICY);
  assert.equal(allNa.percent, null);
  assert.equal(allNa.answered, 1);
  const noPolicy = auditScore(ITEMS, { door: { result: 'pass' }, price: { result: 'fail' } }, null);
  assert.equal(noPolicy.percent, 66.7);
  assert.equal(noPolicy.band, null);
  assert.equal(noPolicy.passed, null);
  assert.deepEqual(noPolicy.failed_critical, ['price']); // a fail is still a fail
});

test('what submit still needs: every unanswered item and every photo asked for, in order', () => {
  assert.deepEqual(auditMissing(ITEMS, {}, {}, POLICY), ['item:door', 'item:clean', 'item:facings', 'item:stock', 'item:price']);
  const results = { door: { result: 'pass' }, clean: { result: 'fail' }, facings: { value: 2 }, stock: { value: 20 }, price: { result: 'pass' } };
  assert.deepEqual(auditMissing(ITEMS, results, {}, POLICY), ['photo:clean', 'photo:stock']);
  assert.deepEqual(auditMissing(ITEMS, results, { clean: { thumb: 1 } }, POLICY, { stock: { photo_url: '/p' } }), []);
  // A required photo is not asked of an item marked N/A; on_fail only once it failed.
  assert.equal(needsPhoto(ITEMS[3], { result: 'na' }, POLICY), false);
  assert.equal(needsPhoto(ITEMS[1], { result: 'pass' }, POLICY), false);
  assert.equal(needsPhoto(ITEMS[1], { result: 'fail' }, POLICY), true);
  assert.deepEqual(auditMissing(ITEMS, { ...results, clean: { result: 'na' }, stock: { result: 'na' } }, {}, POLICY), []);
});

test('default due: the policy’s days for critical and other items, bounded by its max', () => {
  const now = Date.parse('2026-12-02T02:00:00Z');
  assert.deepEqual(dueWindow(ITEMS[4], now, DUE_DAYS), { due: now + 2 * DAY, latest: now + 14 * DAY });
  assert.deepEqual(dueWindow(ITEMS[0], now, DUE_DAYS), { due: now + 7 * DAY, latest: now + 14 * DAY });
  assert.deepEqual(dueWindow(ITEMS[0], now, { critical: 1, default: 3, max: 5 }), { due: now + 3 * DAY, latest: now + 5 * DAY });
  // No policy on the phone: no default, the server picks.
  assert.deepEqual(dueWindow(ITEMS[0], now, null), { due: null, latest: null });
});

test('rectification choices: only what the supervisor set is sent; the rest is the server’s', () => {
  const choices = { door: { assignee_id: 'r1', due_at: null, note: '' }, price: { assignee_id: null, due_at: '2026-12-05T02:00:00.000Z', note: '换价签' }, clean: {} };
  assert.deepEqual(rectificationChoices(['door', 'price', 'clean'], choices), [
    { item_key: 'door', assignee_id: 'r1' },
    { item_key: 'price', due_at: '2026-12-05T02:00:00.000Z', note: '换价签' },
  ]);
  assert.deepEqual(rectificationChoices(['door'], {}), []);
});

test('offline start: the template for the store’s customer type, else one for every type', () => {
  const tpl = (key, types, n = 1) => ({ key, customer_types: types, checklist: { version: 1, items: Array.from({ length: n }, (_, i) => check(`i${i}`)) } });
  const templates = [tpl('pharmacy_only', ['pharmacy']), tpl('standard', []), tpl('other', [])];
  assert.equal(templateFor(templates, 'pharmacy').key, 'pharmacy_only');
  assert.equal(templateFor(templates, 'supermarket').key, 'standard');
  assert.equal(templateFor([tpl('clinic', ['clinic'])], 'supermarket'), null);
  assert.equal(templateFor([tpl('empty', [], 0)], 'x'), null);
});

test('the checklist groups by section in order of first appearance', () => {
  const groups = bySection(ITEMS);
  assert.deepEqual(groups.map((g) => g.section.en), ['Storefront', 'Display', 'Stock', 'Price']);
  assert.deepEqual(groups[0].items.map((i) => i.key), ['door', 'clean']);
});
