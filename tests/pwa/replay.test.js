// The outbox's replay rules (pwa/app/replay.js) under node's test runner: the real rules and the
// app's real ApiError, with an in-memory queue and a fake network in place of IndexedDB and
// fetch. `make test` runs these through tests/test_pwa_node.py; alone: `node --test tests/pwa/`.
import { test } from 'node:test';
import assert from 'node:assert/strict';

// api.js reads the language and the server clock offset when it loads (through ui.js).
globalThis.localStorage ??= { getItem: () => null, setItem: () => {}, removeItem: () => {} };
globalThis.navigator ??= { languages: ['en'], onLine: true };
const { ApiError, SignedOut } = await import('../../pwa/app/api.js');
const { replayPass, backoff, verdict, stampedForSending, BACKOFF_BASE_MS, BACKOFF_MAX_MS } = await import('../../pwa/app/replay.js');

const NOW = Date.parse('2024-05-01T02:00:00Z');

function item(seq, visit, extra = {}) {
  return { seq, visit_id: visit, kind: 'photo', user_id: 'me', attempts: 0, state: 'pending', last_error: null, next_try_at: 0, ...extra };
}

/** An outbox in memory; `answer(item)` plays the server (return a result or throw). */
function outbox(list, answer = () => ({ ok: true })) {
  const stored = new Map(list.map((i) => [i.seq, structuredClone(i)]));
  const sent = [];
  const io = {
    items: async () => [...stored.values()].map((i) => structuredClone(i)),
    fresh: async (i) => (stored.has(i.seq) ? structuredClone(stored.get(i.seq)) : null),
    send: async (i) => { sent.push(i.seq); return answer(i); },
    acknowledge: async (i, result) => { io.acknowledged.push([i.seq, result]); stored.delete(i.seq); },
    failed: async (i, next) => { if (stored.has(i.seq)) stored.set(i.seq, next); },
    sending: () => {},
    changed: () => {},
    acknowledged: [],
  };
  return { io, stored, sent };
}

const pass = (io) => replayPass(io, { me: 'me', now: () => NOW, random: () => 0.5 });

test('oldest first within a visit; a failed head holds its visit back, other visits go on', async () => {
  const { io, stored, sent } = outbox(
    [item(3, 'a'), item(1, 'a'), item(2, 'a'), item(4, 'b')],
    (i) => { if (i.seq === 1) throw new ApiError(503, { code: 'database_unavailable' }); return { seq: i.seq }; },
  );
  const result = await pass(io);
  assert.deepEqual(sent, [1, 4]);
  assert.deepEqual(result, { progressed: true, stop: null });
  const head = stored.get(1);
  assert.equal(head.state, 'pending');
  assert.equal(head.attempts, 1);
  assert.equal(head.next_try_at, NOW + BACKOFF_BASE_MS);
  assert.equal(head.last_error.code, 'database_unavailable');
  assert.deepEqual([...stored.keys()].sort(), [1, 2, 3]);
});

test('no network ends the pass: nothing after it is tried', async () => {
  const { io, sent, stored } = outbox([item(1, 'a'), item(2, 'b')], () => { throw new ApiError(0, { code: 'network' }); });
  assert.deepEqual(await pass(io), { progressed: false, stop: 'offline' });
  assert.deepEqual(sent, [1]);
  assert.equal(stored.get(1).state, 'pending');
  assert.equal(stored.get(2).attempts, 0);
});

test('408, 429 and 5xx are retried later; other refusals need attention and are kept', async () => {
  for (const status of [408, 429, 500, 503]) {
    assert.equal(verdict(new ApiError(status, {})), 'transient', String(status));
  }
  const problem = { code: 'visit_incomplete', detail: 'Photos missing', missing: ['photo:shelf'] };
  const { io, stored, sent } = outbox([item(1, 'a', { kind: 'submit' }), item(2, 'a'), item(3, 'b')],
    (i) => { if (i.seq === 1) throw new ApiError(422, problem); return {}; });
  await pass(io);
  assert.deepEqual(sent, [1, 3]);
  const refused = stored.get(1);
  assert.equal(refused.state, 'attention');
  assert.equal(refused.next_try_at, 0);
  assert.deepEqual(refused.last_error.problem, problem);
  assert.equal(refused.last_error.status, 422);
  // It stays, and keeps its visit's later items waiting, pass after pass: never dropped.
  await pass(io);
  assert.deepEqual(sent, [1, 3]);
  assert.deepEqual([...stored.keys()].sort(), [1, 2]);
});

test('a client-side bug needs attention with the error shown, instead of retrying forever', async () => {
  const { io, stored, sent } = outbox([item(1, 'a'), item(2, 'b')], (i) => {
    if (i.seq === 1) throw new TypeError("Failed to execute 'append' on 'FormData': parameter 2 is not of type 'Blob'.");
    return {};
  });
  await pass(io);
  const bug = stored.get(1);
  assert.equal(bug.state, 'attention');
  assert.equal(bug.last_error.code, 'client_error');
  assert.match(bug.last_error.detail, /^TypeError: Failed to execute 'append'/);
  assert.equal(bug.next_try_at, 0);
  for (let round = 0; round < 3; round += 1) await pass(io);
  assert.deepEqual(sent, [1, 2], 'sent once, not on every pass');
  assert.equal(stored.get(1).attempts, 1);
});

test('a bug while recording the answer keeps the item (the server has it: a retry is harmless)', async () => {
  const { io, stored } = outbox([item(1, 'a')]);
  io.acknowledge = async () => { throw new ReferenceError('photos is not defined'); };
  await pass(io);
  assert.equal(stored.get(1).state, 'attention');
  assert.equal(stored.get(1).last_error.detail, 'ReferenceError: photos is not defined');
});

test('a full disk is not the item’s fault: retried with backoff', async () => {
  const quota = Object.assign(new Error('quota'), { name: 'QuotaExceededError' });
  const { io, stored } = outbox([item(1, 'a')], () => { throw quota; });
  await pass(io);
  assert.equal(stored.get(1).state, 'pending');
  assert.ok(stored.get(1).next_try_at > NOW);
});

test('signed out: the pass stops and the item is left as it was', async () => {
  const { io, stored, sent } = outbox([item(1, 'a'), item(2, 'b')], () => { throw new SignedOut(); });
  assert.deepEqual(await pass(io), { progressed: false, stop: 'signed_out' });
  assert.deepEqual(sent, [1]);
  assert.deepEqual(stored.get(1), item(1, 'a'));
});

test('nothing is removed before the server acknowledged it', async () => {
  const { io, stored } = outbox([item(1, 'a'), item(2, 'a')], (i) => {
    if (i.seq === 2) throw new ApiError(500, {});
    return { id: 'server-1' };
  });
  await pass(io);
  assert.deepEqual(io.acknowledged, [[1, { id: 'server-1' }]]);
  assert.deepEqual([...stored.keys()], [2]);
});

test('another user’s items wait for them; an item still backing off holds its visit', async () => {
  const { io, sent } = outbox([
    item(1, 'a', { user_id: 'someone-else' }),
    item(2, 'b', { next_try_at: NOW + 60_000 }),
    item(3, 'b'),
    item(4, 'c'),
  ]);
  await pass(io);
  assert.deepEqual(sent, [4]);
});

test('an item superseded or discarded during the pass is neither sent nor brought back', async () => {
  const { io, stored, sent } = outbox([item(1, 'a'), item(2, 'b')], (i) => {
    if (i.seq === 1) { stored.delete(2); throw new ApiError(503, {}); } // 2 replaced meanwhile
    return {};
  });
  await pass(io);
  assert.deepEqual(sent, [1]);
  assert.deepEqual([...stored.keys()], [1]);
  const gone = outbox([item(1, 'a')], () => { throw new ApiError(503, {}); });
  gone.io.send = async () => { gone.stored.delete(1); throw new ApiError(503, {}); }; // discarded while on its way
  await pass(gone.io);
  assert.equal(gone.stored.size, 0);
});

test('backoff doubles from 2 s and stops at 5 minutes, with ±20 % jitter', () => {
  assert.equal(backoff(1, () => 0.5), 2_000);
  assert.equal(backoff(2, () => 0.5), 4_000);
  assert.equal(backoff(4, () => 0.5), 16_000);
  assert.equal(backoff(30, () => 0.5), BACKOFF_MAX_MS);
  assert.equal(backoff(1, () => 0), 1_600);
  assert.ok(Math.abs(backoff(30, () => 1) - BACKOFF_MAX_MS * 1.2) < 1e-6);
});

test('device_time is the clock of each attempt; what the rep captured is untouched', () => {
  const body = { qr: 'x', position: { captured_at: '2024-05-01T01:00:00Z' }, device_time: '2024-05-01T01:00:00Z' };
  const sent = stampedForSending(body, NOW);
  assert.equal(sent.device_time, '2024-05-01T02:00:00.000Z');
  assert.equal(sent.position, body.position);
  assert.equal(body.device_time, '2024-05-01T01:00:00Z');
  const answers = { answers: {} };
  assert.equal(stampedForSending(answers, NOW), answers);
  assert.equal(stampedForSending(undefined, NOW), undefined);
});
