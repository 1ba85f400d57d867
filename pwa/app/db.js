// IndexedDB, promise-wrapped. Stores: outbox (the write queue), visits (local visit drafts),
// kv (cached reference data: me, stores, customer types, audit templates, lists for the Today
// screen), audits (local audit-tour drafts, version 2).
const NAME = 'doorstep';
const VERSION = 2;
const STORES = ['outbox', 'visits', 'kv', 'audits'];
let opening = null;

export function openDb() {
  opening ??= new Promise((resolve, reject) => {
    const request = indexedDB.open(NAME, VERSION);
    request.onupgradeneeded = (event) => {
      const db = request.result;
      // Step by step from the phone's version: an upgrade keeps the outbox and the drafts.
      if (event.oldVersion < 1) {
        const outbox = db.createObjectStore('outbox', { keyPath: 'seq', autoIncrement: true });
        // 'visit' orders replay per subject: a visit id, or 'audit:<id>', 'action:<id>'.
        outbox.createIndex('visit', 'visit_id');
        db.createObjectStore('visits', { keyPath: 'id' });
        db.createObjectStore('kv', { keyPath: 'key' });
      }
      if (event.oldVersion < 2) db.createObjectStore('audits', { keyPath: 'id' });
    };
    request.onsuccess = () => {
      const db = request.result;
      // Another tab upgrading the schema: let it, and reopen on next use.
      db.onversionchange = () => { db.close(); opening = null; };
      resolve(db);
    };
    request.onerror = () => reject(request.error);
    request.onblocked = () => reject(new Error('IndexedDB upgrade blocked by another tab'));
  });
  return opening;
}

/** Run fn(stores) in one transaction; resolves with fn's result once the transaction commits,
 * rejects (QuotaExceededError included) if it aborts. One logical change, one call: fn may await
 * the transaction's own requests, nothing else (any other wait lets the transaction commit). */
export async function transact(names, mode, fn) {
  const db = await openDb();
  return new Promise((resolve, reject) => {
    const tx = db.transaction(names, mode);
    const stores = Object.fromEntries([names].flat().map((n) => [n, tx.objectStore(n)]));
    let result;
    tx.oncomplete = () => resolve(result);
    tx.onabort = () => reject(tx.error || new Error('transaction aborted'));
    tx.onerror = () => {};
    // fn runs now (a throw included), so its requests are made while the transaction is active;
    // its failure aborts the whole transaction: nothing of the change is kept.
    new Promise((run) => run(fn(stores))).then((value) => { result = value; }, (error) => {
      try { tx.abort(); } catch { /* already finished */ }
      reject(error);
    });
  });
}

export const req = (request) => new Promise((resolve, reject) => {
  request.onsuccess = () => resolve(request.result);
  request.onerror = () => reject(request.error);
});

export const get = (store, key) => transact(store, 'readonly', (s) => req(s[store].get(key)));
export const getAll = (store) => transact(store, 'readonly', (s) => req(s[store].getAll()));
export const put = (store, value) => transact(store, 'readwrite', (s) => req(s[store].put(value)));
export const del = (store, key) => transact(store, 'readwrite', (s) => req(s[store].delete(key)));

export async function kvGet(key, fallback = null) {
  const row = await get('kv', key);
  return row ? row.value : fallback;
}
export const kvSet = (key, value) => put('kv', { key, value, saved_at: Date.now() });

/** Sign-out: every store emptied — the outbox, the drafts and the cached reference data. */
export async function clearAll() {
  await transact(STORES, 'readwrite', (s) => Promise.all(STORES.map((name) => req(s[name].clear()))));
}
