// An audit tour's writes in the outbox (pwa/app/replay.js): consecutive result writes merge into
// one (coalesced), nothing overtakes a photo or submit, the item on its way is never touched,
// and replay keeps each audit's order while other subjects go on. `node --test tests/pwa/`.
import { test } from 'node:test';
import assert from 'node:assert/strict';

globalThis.localStorage ??= { getItem: () => null, setItem: () => {}, removeItem: () => {} };
globalThis.navigator ??= { languages: ['en'], onLine: true };
const { ApiError } = await import('../../pwa/app/api.js');
const { coalesced, replayPass } = await import('../../pwa/app/replay.js');

const A = 'audit:a1';
const results = (seq, entries, extra = {}) => ({ seq, visit_id: A, audit_id: 'a1', kind: 'audit_results', coalesce: 'results', body: { results: entries }, state: 'pending', attempts: 0, next_try_at: 0, user_id: 'me', ...extra });
const other = (seq, kind, subject = A, extra = {}) => ({ seq, visit_id: subject, kind, state: 'pending', attempts: 0, next_try_at: 0, user_id: 'me', ...extra });

/** The outbox as queueInto() keeps it: each new write coalesced against its subject's items. */
function queueAll(writes, sendingSeq = null) {
  const stored = [];
  let seq = 0;
  for (const write of writes) {
    const mine = stored.filter((i) => i.visit_id === write.visit_id);
    const { item, drop } = coalesced(mine, write, sendingSeq);
    if (drop !== null) stored.splice(stored.findIndex((i) => i.seq === drop), 1);
    stored.push({ ...item, seq: ++seq });
  }
  return stored;
}

test('consecutive result writes of an audit merge into one; the later answer of an item wins', () => {
  const stored = queueAll([
    other(0, 'audit_start'),
    results(0, { door: { result: 'pass' } }),
    results(0, { clean: { result: 'fail', note: '地面有水' } }),
    results(0, { door: { result: 'fail' } }),
  ]);
  assert.deepEqual(stored.map((i) => i.kind), ['audit_start', 'audit_results']);
  assert.deepEqual(stored[1].body.results, { door: { result: 'fail' }, clean: { result: 'fail', note: '地面有水' } });
});

test('a photo or submit between result writes is never overtaken: those results stay apart', () => {
  const stored = queueAll([
    results(0, { door: { result: 'fail' } }),
    other(0, 'audit_photo', A, { item_key: 'door' }),
    results(0, { clean: { result: 'pass' } }),
    results(0, { price: { result: 'pass' } }),
    other(0, 'audit_submit'),
  ]);
  assert.deepEqual(stored.map((i) => i.kind), ['audit_results', 'audit_photo', 'audit_results', 'audit_submit']);
  assert.deepEqual(Object.keys(stored[2].body.results), ['clean', 'price']);
  // Seqs only grow: the merged write takes the tail's place, after everything before it.
  assert.deepEqual(stored.map((i) => i.seq), [...stored.map((i) => i.seq)].sort((a, b) => a - b));
});

test('the write on its way is never merged into; another audit’s results are not either', () => {
  const first = results(7, { door: { result: 'pass' } });
  const { item, drop } = coalesced([first], results(0, { clean: { result: 'pass' } }), 7);
  assert.equal(drop, null);
  assert.deepEqual(item.body.results, { clean: { result: 'pass' } });
  const elsewhere = coalesced([], { ...results(0, { x: { result: 'na' } }), visit_id: 'audit:b2' });
  assert.equal(elsewhere.drop, null);
  // A write that does not coalesce (a photo) is queued as it is.
  const photo = other(0, 'audit_photo');
  assert.deepEqual(coalesced([first], photo), { item: photo, drop: null });
});

test('a merged write replaces one that needed attention (the fix supersedes it)', () => {
  const refused = results(3, { stock: { value: 'x' } }, { state: 'attention', attempts: 1, last_error: { code: 'invalid_audit' } });
  const { item, drop } = coalesced([refused], results(0, { stock: { value: 12 } }));
  assert.equal(drop, 3);
  assert.equal(item.state, 'pending');
  assert.deepEqual(item.body.results, { stock: { value: 12 } });
});

function fakeOutbox(list, answer) {
  const stored = new Map(list.map((i) => [i.seq, structuredClone(i)]));
  const sent = [];
  const io = {
    items: async () => [...stored.values()].map((i) => structuredClone(i)),
    fresh: async (i) => (stored.has(i.seq) ? structuredClone(stored.get(i.seq)) : null),
    send: async (i) => { sent.push(`${i.kind}#${i.seq}`); return answer(i); },
    acknowledge: async (i) => { stored.delete(i.seq); },
    failed: async (i, next) => { if (stored.has(i.seq)) stored.set(i.seq, next); },
    sending: () => {}, changed: () => {},
  };
  return { io, stored, sent };
}

test('replay: an audit in order, exactly once; a refused start holds its audit back, a visit goes on', async () => {
  const visit = 'v1';
  const queue = [
    other(1, 'audit_start'), results(2, { door: { result: 'fail' } }), other(3, 'audit_photo', A, { item_key: 'door' }), other(6, 'audit_submit'),
    // A rep's fix rides in the visit's own order: after its check-in, before its submit.
    other(4, 'check_in', visit), other(5, 'rect_photo', visit, { rectification_id: 'r1' }), other(7, 'rect_submit', visit, { rectification_id: 'r1' }), other(8, 'submit', visit),
  ];
  const ok = fakeOutbox(queue, () => ({ ok: true }));
  await replayPass(ok.io, { me: 'me', now: () => 0 });
  assert.deepEqual(ok.sent, ['audit_start#1', 'audit_results#2', 'audit_photo#3', 'check_in#4', 'rect_photo#5', 'audit_submit#6', 'rect_submit#7', 'submit#8']);
  assert.equal(ok.stored.size, 0);
  // Nothing left: a second pass sends nothing again.
  await replayPass(ok.io, { me: 'me', now: () => 0 });
  assert.equal(ok.sent.length, 8);

  const refusing = fakeOutbox(queue, (i) => { if (i.kind === 'audit_start') throw new ApiError(422, { code: 'invalid_qr' }); return {}; });
  await replayPass(refusing.io, { me: 'me', now: () => 0 });
  assert.deepEqual(refusing.sent, ['audit_start#1', 'check_in#4', 'rect_photo#5', 'rect_submit#7', 'submit#8']);
  assert.equal(refusing.stored.get(1).state, 'attention');
  assert.deepEqual([...refusing.stored.keys()].sort(), [1, 2, 3, 6]);
});

test('replay: a rectification photo refused not_at_store waits with the visit; its submit is not sent', async () => {
  const visit = 'v2';
  const { io, stored, sent } = fakeOutbox(
    [other(1, 'rect_photo', visit, { rectification_id: 'r1' }), other(2, 'rect_submit', visit, { rectification_id: 'r1' })],
    (i) => { if (i.kind === 'rect_photo') throw new ApiError(409, { code: 'not_at_store' }); return {}; },
  );
  await replayPass(io, { me: 'me', now: () => 0 });
  assert.deepEqual(sent, ['rect_photo#1']);
  assert.equal(stored.get(1).state, 'attention');
  assert.equal(stored.get(1).last_error.code, 'not_at_store');
  assert.equal(stored.get(2).attempts, 0);
});
