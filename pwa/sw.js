// Doorstep service worker. The server prepends `self.__DOORSTEP__ = {version, precache}`: the
// version is a hash of the app-shell files, so any change installs a new worker, which precaches
// the new shell under its own cache and then WAITS: the page offers "新版本可用，刷新" and only
// the rep's tap (SKIP_WAITING) swaps it in, never in the middle of a visit.
//
// Navigations (/, /q/<token>, /visit/...) get the cached index.html: the app opens instantly,
// online or not, and its outbox syncs in the background. Only the shell is cached: API calls
// (reads and writes) and server pages (/s/... share links, /docs) always go to the network;
// the app keeps what it needs offline in IndexedDB.
//
// LATER (the scan screen's QR decoder, /vendor/...) is not part of the first load: on the very
// first install it is cached once the app is up (warm(), on the next request the page makes); an
// update brings it along with the new shell. Until then the scan screen loads it from the network.
const { version: VERSION, precache: PRECACHE, later: LATER = [] } = self.__DOORSTEP__ || { version: 'dev', precache: ['/'] };
const CACHE = `doorstep-shell-${VERSION}`;
const SERVER_PATHS = /^\/(api\/|s\/|cal\/|docs|redoc|openapi\.json|healthz|readyz|metrics|sw\.js|app-version\.json)/;

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    // cache: 'no-cache' revalidates every file with the server (ETags): never a stale file in a
    // new version, yet files the page has just loaded cost a 304, not a second download.
    await cache.addAll(PRECACHE.map((url) => new Request(url, { cache: 'no-cache' })));
    // The very first install has no page to disturb: take over at once.
    const registration = self.registration;
    if (!registration.active) await self.skipWaiting();
    else await warm().catch(() => {}); // an update: the decoder comes with it (a 304 if unchanged)
  })());
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith('doorstep-shell-') && name !== CACHE) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

self.addEventListener('message', (event) => {
  if (event.data?.type === 'SKIP_WAITING') self.skipWaiting();
  if (event.data?.type === 'VERSION') event.source?.postMessage({ type: 'VERSION', version: VERSION });
});

// Cache the LATER files into this version's cache, once per worker life; a failure (offline)
// is retried on a later request.
let warming = null;
function warm() {
  warming ||= (async () => {
    const cache = await caches.open(CACHE);
    for (const url of LATER) {
      if (!(await cache.match(url))) await cache.add(new Request(url, { cache: 'no-cache' }));
    }
  })().catch((error) => { warming = null; throw error; });
  return warming;
}

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (LATER.length) event.waitUntil(warm().catch(() => {})); // also for API calls and writes
  if (request.method !== 'GET') return; // writes always go to the network, never cached
  const url = new URL(request.url);
  if (url.origin !== self.location.origin || SERVER_PATHS.test(url.pathname)) return;
  if (request.mode === 'navigate') {
    event.respondWith(shell(request));
    return;
  }
  event.respondWith((async () => {
    const cached = await caches.match(url.pathname, { cacheName: CACHE });
    return cached || fetch(request);
  })());
});

async function shell(request) {
  const cached = await caches.match('/', { cacheName: CACHE });
  if (cached) return cached;
  return fetch(request); // not precached yet (first visit): the server answers
}
